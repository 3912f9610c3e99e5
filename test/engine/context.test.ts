import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ExecutorCore, Flujo, PipelineContextInitializationError, pipeline, Step } from "../../src/index.js";

const counterSchema = z.looseObject({
  counter: z.number().int().default(0),
  nestedItem: z.object({ value: z.number() }).optional(),
  items: z.array(z.string()).default([]),
});

describe("context (cases 49-50 and isolation)", () => {
  it("case 50: an updatesContext output is merged and validated against the schema", async () => {
    const step = Step.fromCallable(async () => ({ nestedItem: { value: 123 } }), {
      name: "nest",
      updatesContext: true,
    });
    const result = await new Flujo(step, { contextSchema: counterSchema }).run("x");
    expect(result.success).toBe(true);
    expect(result.finalPipelineContext?.nestedItem).toEqual({ value: 123 });
  });

  it("case 50: an invalid update fails the step and rolls the field back", async () => {
    const step = Step.fromCallable(async () => ({ counter: "not-an-int" }), {
      name: "bad",
      updatesContext: true,
    });
    const result = await new Flujo(step, { contextSchema: counterSchema }).run("x");
    expect(result.success).toBe(false);
    expect(result.stepHistory[0].feedback).toMatch(/^Context validation failed: counter: /);
    expect(result.finalPipelineContext?.counter).toBe(0);
  });

  it("case 50: a whole-object refinement failure rolls back every updated field", async () => {
    const schema = z
      .looseObject({ low: z.number().default(0), high: z.number().default(10) })
      .refine((c) => c.low <= c.high, { message: "low must not exceed high" });
    const step = Step.fromCallable(async () => ({ low: 50, extra: "x" }), {
      name: "r",
      updatesContext: true,
    });
    const result = await new Flujo(step, { contextSchema: schema }).run("x");
    expect(result.success).toBe(false);
    expect(result.stepHistory[0].feedback).toContain("low must not exceed high");
    expect(result.finalPipelineContext?.low).toBe(0);
    expect(result.finalPipelineContext && "extra" in result.finalPipelineContext).toBe(false);
  });

  it("case 50: a string output with updatesContext leaves the context alone and succeeds", async () => {
    const step = Step.fromCallable(async () => "hello", { name: "s", updatesContext: true });
    const result = await new Flujo(step, { contextSchema: counterSchema }).run("x");
    expect(result.success).toBe(true);
    expect(result.finalPipelineContext?.counter).toBe(0);
  });

  it("an initial context that fails the schema raises PipelineContextInitializationError", async () => {
    const runner = new Flujo(
      Step.fromCallable(async (x: unknown) => x, { name: "id" }),
      { contextSchema: counterSchema },
    );
    const err = await runner.run("x", { initialContextData: { counter: "nope" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineContextInitializationError);
    expect((err as Error).message).toContain(
      "Failed to initialize context with model contextSchema and initial data.",
    );
    expect((err as Error).message).toContain("counter");
  });

  it("a scratchpad key in the initial data is rejected", async () => {
    const runner = new Flujo(Step.fromCallable(async (x: unknown) => x, { name: "id" }));
    await expect(runner.run("x", { initialContextData: { scratchpad: {} } })).rejects.toThrow(
      "'scratchpad' has been removed",
    );
  });

  it("the context has Flujo's defaults, the run id and the initial prompt", async () => {
    const result = await new Flujo(Step.fromCallable(async (x: unknown) => x, { name: "id" })).run(
      "question?",
      { runId: "run_1" },
    );
    const ctx = result.finalPipelineContext!;
    expect(ctx.runId).toBe("run_1");
    expect(ctx.initialPrompt).toBe("question?");
    expect(ctx.status).toBe("completed");
    expect(ctx.hitlHistory).toEqual([]);
    expect(ctx.stepOutputs).toEqual({ id: "question?" });
  });

  it("initial data is copied per run, so one run's changes never leak into the next", async () => {
    const step = Step.fromCallable(
      async (_x: unknown, { context }) => {
        (context.tags as string[]).push("touched");
        return (context.tags as string[]).length;
      },
      { name: "tagger" },
    );
    const runner = new Flujo(step, { initialContextData: { tags: ["a"] }, enableCache: false });
    const r1 = await runner.run(1);
    const r2 = await runner.run(2);
    expect(r1.output).toBe(2);
    expect(r2.output).toBe(2);
  });

  it("a failed attempt's context changes are discarded; the successful attempt's are kept", async () => {
    let attempt = 0;
    const step = Step.fromCallable(
      async (_x: unknown, { context }) => {
        attempt++;
        context.log = [...((context.log as string[]) ?? []), `attempt ${attempt}`];
        (context.nested as { n: number }).n = attempt;
        if (attempt === 1) throw new Error("first fails");
        return "ok";
      },
      { name: "retrying", maxRetries: 1 },
    );
    const result = await new Flujo(step, { initialContextData: { nested: { n: 0 } } }).run("x");
    expect(result.success).toBe(true);
    expect(result.finalPipelineContext?.log).toEqual(["attempt 2"]);
    expect(result.finalPipelineContext?.nested).toEqual({ n: 2 });
  });

  it("context changes made by an agent flow to the next step", async () => {
    const a = Step.fromCallable(
      async (_x: unknown, { context }) => {
        context.counter = 41;
        return "a";
      },
      { name: "a" },
    );
    const b = Step.fromCallable(async (_x: unknown, { context }) => (context.counter as number) + 1, {
      name: "b",
    });
    const result = await new Flujo(pipeline(a, b)).run("x");
    expect(result.output).toBe(42);
  });

  it("sinkTo writes the output to a dotted context path", async () => {
    const step = Step.fromCallable(async (x: number) => x * 2, { name: "double", sinkTo: "result.value" });
    const result = await new Flujo(step).run(21);
    expect(result.finalPipelineContext?.result).toEqual({ value: 42 });
  });

  it("ExecutorCore.execute without a context uses a fresh PipelineContext", async () => {
    let seen: unknown;
    const step = Step.fromCallable(
      async (_x: unknown, { context }) => {
        seen = context.status;
        return 1;
      },
      { name: "peek" },
    );
    await new ExecutorCore().execute(step, 0);
    expect(seen).toBe("running");
  });

  it("the live context given to ExecutorCore.execute receives the step's changes", async () => {
    const ctx: Record<string, unknown> = { hits: 0 };
    const step = Step.fromCallable(
      async (_x: unknown, { context }) => {
        context.hits = (context.hits as number) + 1;
        return 1;
      },
      { name: "hit" },
    );
    await new ExecutorCore().execute(step, 0, { context: ctx });
    expect(ctx.hits).toBe(1);
  });

  it("merging agent changes is safe against prototype pollution", async () => {
    const step = Step.fromCallable(async () => JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'), {
      name: "evil",
      updatesContext: true,
    });
    const result = await new Flujo(step).run("x");
    expect(result.finalPipelineContext?.ok).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
