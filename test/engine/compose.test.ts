import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Flujo, PipelineResult, pipeline, Step } from "../../src/index.js";
import { asStep } from "../../src/runner/compose.js"; // the function behind runner.asStep
import { costly } from "../support/agents.js";

describe("composition: a runner as a step (case 58)", () => {
  it("runs the child pipeline, returns its result and aggregates its usage upward", async () => {
    const child = new Flujo(
      pipeline(
        new Step({ name: "c1", agent: costly("one", 0.25, 2) }),
        new Step({ name: "c2", agent: costly("two", 0.25, 3) }),
      ),
    );
    const parent = new Flujo(
      pipeline(
        Step.fromCallable(async (x: string) => x, { name: "first" }),
        asStep(child, "sub"),
      ),
    );
    const result = await parent.run("in");
    expect(result.success).toBe(true);
    const sub = result.stepHistory[1];
    expect(sub.output).toBeInstanceOf(PipelineResult);
    expect((sub.output as PipelineResult).output).toBe("two");
    expect(sub.costUsd).toBeCloseTo(0.5);
    expect(sub.tokenCounts).toBe(5);
    expect(result.totalCostUsd).toBeCloseTo(0.5);
  });

  it("inherits the parent's context and writes the child's fields back", async () => {
    const childStep = Step.fromCallable(
      async (_x: unknown, { context }) => {
        context.seenByChild = context.parentField;
        context.counter = (context.counter as number) + 1;
        return "done";
      },
      { name: "child" },
    );
    const parent = new Flujo(asStep(new Flujo(childStep), "sub"), {
      initialContextData: { parentField: "p", counter: 1 },
    });
    const result = await parent.run("x");
    expect(result.finalPipelineContext?.seenByChild).toBe("p");
    expect(result.finalPipelineContext?.counter).toBe(2);
    expect(result.finalPipelineContext?.runId).not.toBe(undefined);
  });

  it("a child context schema the parent cannot satisfy fails the step naming the missing field", async () => {
    const child = new Flujo(
      Step.fromCallable(async (x: unknown) => x, { name: "c" }),
      {
        contextSchema: z.looseObject({ requiredThing: z.string() }),
      },
    );
    const result = await new Flujo(asStep(child, "sub")).run("x");
    expect(result.success).toBe(false);
    const feedback = result.stepHistory[0].feedback ?? "";
    expect(feedback).toContain("Failed to inherit context");
    expect(feedback).toContain("requiredThing");
  });

  it("runner.asStep and pipeline.asStep build the same kind of step", async () => {
    const inner = pipeline(Step.fromCallable(async (x: number) => x * 3, { name: "triple" }));
    const viaRunner = new Flujo(inner).asStep("viaRunner");
    const viaPipeline = inner.asStep("viaPipeline");
    const result = await new Flujo(
      pipeline(
        viaRunner,
        Step.fromCallable(async (r: PipelineResult) => r.output, { name: "unwrap" }),
        viaPipeline,
      ),
    ).run(2);
    expect((result.output as PipelineResult).output).toBe(18);
  });

  it("a failing child fails the step with the child's failure", async () => {
    const child = new Flujo(
      Step.fromCallable(async () => Promise.reject(new Error("deep failure")), { name: "c", maxRetries: 0 }),
    );
    const result = await new Flujo(asStep(child, "sub")).run("x");
    expect(result.success).toBe(false);
    expect(result.stepHistory[0].feedback).toContain("deep failure");
  });

  it("inheritContext: false starts the child from a fresh context and writes nothing back", async () => {
    const childStep = Step.fromCallable(
      async (_x: unknown, { context }) => {
        context.childSaw = context.parentField ?? "nothing";
        return "done";
      },
      { name: "child" },
    );
    const result = await new Flujo(asStep(new Flujo(childStep), "sub", { inheritContext: false }), {
      initialContextData: { parentField: "p" },
    }).run("x");
    expect(result.success).toBe(true);
    const child = result.stepHistory[0].output as PipelineResult;
    expect(child.finalPipelineContext?.childSaw).toBe("nothing");
    expect(result.finalPipelineContext?.childSaw).toBeUndefined();
    expect(result.finalPipelineContext?.parentField).toBe("p");
  });
});
