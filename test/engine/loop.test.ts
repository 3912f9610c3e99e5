import { describe, expect, it } from "vitest";
import {
  ConfigurationError,
  Flujo,
  LoopStep,
  pipeline,
  Step,
  UsageLimitExceededError,
} from "../../src/index.js";
import { costly, ScriptedPlugin, StubAgent } from "../support/agents.js";

const inc = Step.fromCallable(async (x: number) => x + 1, { name: "inc" });

describe("loops (cases 18, 27, 39-46, 60)", () => {
  it("case 18: inside a loop a failing plugin goes straight to the fallback, without a retry", async () => {
    const bodyAgent = new StubAgent(["first", "done"]);
    const fbAgent = new StubAgent(["patched"]);
    let checks = 0;
    const plugin = {
      validate: async () => (checks++ === 0 ? { success: false, feedback: "not yet" } : { success: true }),
    };
    const body = new Step({
      name: "work",
      agent: bodyAgent,
      plugins: [plugin],
      fallbackStep: new Step({ name: "work_fb", agent: fbAgent }),
    });
    const loop = Step.loopUntil({ name: "loop", body, exitCondition: (out) => out === "done", maxLoops: 3 });
    const result = await new Flujo(loop).run("go");
    expect(bodyAgent.calls).toBe(2);
    expect(fbAgent.calls).toBe(1);
    expect(result.output).toBe("done");
    expect(result.success).toBe(true);
  });

  it("case 27: a loop spending $0.30 per iteration under a $1 limit raises with the completed iterations only", async () => {
    const loop = Step.loopUntil({
      name: "spender",
      body: new Step({ name: "spend", agent: costly("x", 0.3, 1) }),
      maxLoops: 10,
    });
    const err = await new Flujo(loop, { usageLimits: { totalCostUsdLimit: 1 } })
      .run("go")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
    const e = err as UsageLimitExceededError;
    expect(e.message).toBe("Cost limit of $1 exceeded");
    expect(e.result?.stepHistory).toHaveLength(1);
    expect(e.result?.stepHistory[0].metadata.exitReason).toBe("quota_limit_exceeded");
    expect(e.result?.totalCostUsd).toBeCloseTo(0.9);
  });

  it("case 39: loop until the output reaches 3", async () => {
    const result = await new Flujo(
      Step.loopUntil({ name: "l", body: inc, exitCondition: (out) => (out as number) >= 3 }),
    ).run(0);
    const sr = result.stepHistory[0];
    expect(sr).toMatchObject({ success: true, attempts: 3, output: 3 });
    expect(sr.metadata).toMatchObject({ exitReason: "condition", iterations: 3 });
  });

  it("case 40: an exit condition never met fails with reached max_loops and halts the pipeline", async () => {
    const after = new StubAgent(["never"]);
    const loop = Step.loopUntil({ name: "l", body: inc, exitCondition: () => false, maxLoops: 2 });
    const result = await new Flujo(pipeline(loop, new Step({ name: "after", agent: after }))).run(0);
    expect(result.stepHistory[0]).toMatchObject({
      success: false,
      attempts: 2,
      feedback: "reached max_loops",
    });
    expect(after.calls).toBe(0);
  });

  it("case 41: the iteration mapper is not called after the last allowed iteration", async () => {
    const seen: number[] = [];
    const loop = Step.loopUntil({
      name: "l",
      body: inc,
      exitCondition: () => false,
      maxLoops: 2,
      iterationInputMapper: (out, _ctx, i) => {
        seen.push(i);
        return out;
      },
    });
    await new Flujo(loop).run(0);
    expect(seen).toEqual([1]);
  });

  it("case 42: context changes of one iteration are seen by the next", async () => {
    const seen: number[] = [];
    const body = Step.fromCallable(
      async (x: number, { context }) => {
        seen.push(context.counter as number);
        context.counter = (context.counter as number) + 1;
        return x;
      },
      { name: "count" },
    );
    const result = await new Flujo(Step.loopUntil({ name: "l", body, maxLoops: 2 }), {
      initialContextData: { counter: 0 },
    }).run(0);
    expect(seen).toEqual([0, 1]);
    expect(result.finalPipelineContext?.counter).toBe(2);
  });

  it("case 43: an exit condition that throws fails the loop with the message and stops the pipeline", async () => {
    const after = new StubAgent(["never"]);
    const loop = Step.loopUntil({
      name: "l",
      body: inc,
      exitCondition: () => {
        throw new Error("boom");
      },
    });
    const result = await new Flujo(pipeline(loop, new Step({ name: "after", agent: after }))).run(0);
    expect(result.stepHistory[0].success).toBe(false);
    expect(result.stepHistory[0].feedback).toContain("boom");
    expect(after.calls).toBe(0);
  });

  it("case 44: mapper failures: initial gives attempts 0, iteration gives attempts 1, output fails with the message", async () => {
    const fail = () => {
      throw new Error("mapper broke");
    };
    const r1 = await new Flujo(Step.loopUntil({ name: "l", body: inc, initialInputMapper: fail })).run(0);
    expect(r1.stepHistory[0]).toMatchObject({ success: false, attempts: 0 });
    expect(r1.stepHistory[0].metadata.exitReason).toBe("initial_input_mapper_error");
    expect(r1.stepHistory[0].feedback).toBe(
      "Error in initial_input_to_loop_body_mapper for LoopStep 'l': mapper broke",
    );
    const r2 = await new Flujo(
      Step.loopUntil({ name: "l", body: inc, exitCondition: () => false, iterationInputMapper: fail }),
    ).run(0);
    expect(r2.stepHistory[0]).toMatchObject({ success: false, attempts: 1 });
    expect(r2.stepHistory[0].metadata.exitReason).toBe("iteration_input_mapper_error");
    const r3 = await new Flujo(
      Step.loopUntil({ name: "l", body: inc, exitCondition: () => true, loopOutputMapper: fail }),
    ).run(0);
    expect(r3.stepHistory[0].success).toBe(false);
    expect(r3.stepHistory[0].feedback).toContain("mapper broke");
    expect(r3.stepHistory[0].metadata.exitReason).toBe("loop_output_mapper_error");
  });

  it("case 45: a body plugin failure with an always-true exit fails the loop with the plugin's feedback", async () => {
    const body = new Step({
      name: "b",
      agent: new StubAgent(["x"]),
      plugins: [new ScriptedPlugin([{ success: false, feedback: "bad" }])],
    });
    const result = await new Flujo(Step.loopUntil({ name: "l", body, exitCondition: () => true })).run(0);
    const fb = result.stepHistory[0].feedback ?? "";
    expect(result.stepHistory[0].success).toBe(false);
    expect(fb).toContain("Loop body failed");
    expect(fb).toContain("Plugin validation failed");
    expect(fb).toContain("bad");
  });

  it("case 46: without an exit condition the loop runs maxLoops times; mappers compose", async () => {
    const agent = new StubAgent([1, 2, 3]);
    const result = await new Flujo(
      Step.loopUntil({ name: "l", body: new Step({ name: "b", agent }), maxLoops: 3 }),
    ).run(0);
    const sr = result.stepHistory[0];
    expect(sr.output).toBe(3);
    expect(sr.metadata).toMatchObject({ exitReason: "max_loops", iterations: 3 });
    expect(sr.stepHistory).toHaveLength(3);
    const mapped = Step.loopUntil({
      name: "m",
      body: inc,
      initialInputMapper: (x: number) => x + 1,
      exitCondition: (out) => (out as number) >= 2,
      loopOutputMapper: (out) => (out as number) * 2,
    });
    expect((await new Flujo(mapped).run(0)).output).toBe(4);
  });

  it("case 60: maxLoops 0 is a ConfigurationError and the default is 5", () => {
    expect(() => Step.loopUntil({ name: "l", body: inc, maxLoops: 0 })).toThrow(ConfigurationError);
    expect(() => Step.loopUntil({ name: "l", body: inc, maxLoops: 0 })).toThrow(
      "LoopStep 'l': maxLoops must be an integer >= 1, got 0",
    );
    expect(Step.loopUntil({ name: "l", body: inc }).maxLoops).toBe(5);
    expect(new LoopStep({ name: "direct", body: inc }).isComplex).toBe(true);
  });

  it("loops aggregate the cost and tokens of their iterations", async () => {
    const loop = Step.loopUntil({
      name: "l",
      body: new Step({ name: "s", agent: costly("x", 0.25, 3) }),
      maxLoops: 2,
    });
    const result = await new Flujo(loop).run(0);
    expect(result.totalCostUsd).toBeCloseTo(0.5);
    expect(result.totalTokens).toBe(6);
  });

  it("the executor cache is off inside loop bodies", async () => {
    const agent = new StubAgent(["same"]);
    await new Flujo(Step.loopUntil({ name: "l", body: new Step({ name: "s", agent }), maxLoops: 3 })).run(
      "x",
    );
    expect(agent.calls).toBe(3);
  });

  it("stepOutputs holds each body step's latest output, for single- and multi-step bodies (our difference)", async () => {
    const dec = Step.fromCallable(async (x: number) => x - 1, { name: "dec" });
    const flip = Step.fromCallable(async (x: number) => x, { name: "same" });
    for (const body of [dec, pipeline(dec, flip)]) {
      const result = await new Flujo(
        Step.loopUntil({ name: "l", body, maxLoops: 3, exitCondition: () => false }),
      ).run(10);
      const outputs = result.finalPipelineContext?.stepOutputs as Record<string, unknown>;
      expect(result.output).toBe(7);
      expect(outputs.dec).toBe(7);
    }
  });

  it("a single-step body's context changes still merge with Flujo's default rules", async () => {
    // Nested numbers keep the larger value under the default merge, in Flujo and here, with or without
    // an iteration copy: each attempt of the step is isolated and merged.
    const body = Step.fromCallable(
      async (x: number, { context }: { context?: Record<string, unknown> }) => {
        const stats = context?.stats as { left: number; seen: number[] };
        stats.left -= 1;
        stats.seen.push(x);
        return x + 1;
      },
      { name: "count" },
    );
    const result = await new Flujo(
      Step.loopUntil({ name: "l", body, maxLoops: 3, exitCondition: () => false }),
      { initialContextData: { stats: { left: 5, seen: [] } } },
    ).run(0);
    expect(result.finalPipelineContext?.stats).toEqual({ left: 5, seen: [0, 1, 2] });
  });

  it("a multi-step body stops at its first failed step and drops that iteration's context changes", async () => {
    const seen: unknown[] = [];
    const mark = Step.fromCallable(
      async (x: number, { context }: { context?: Record<string, unknown> }) => {
        const marks = context?.marks as number[];
        marks.push(x);
        context!.lastMark = x;
        return x;
      },
      { name: "mark" },
    );
    const failOnSecond = Step.fromCallable(
      async (x: number) => {
        if (x === 2) throw new Error("second iteration broke");
        return x + 1;
      },
      { name: "check", maxRetries: 0 },
    );
    const never = Step.fromCallable(
      async (x: number) => {
        seen.push(x);
        return x;
      },
      { name: "never_after_failure" },
    );
    const loop = Step.loopUntil({
      name: "l",
      body: pipeline(mark, failOnSecond, never),
      maxLoops: 5,
      exitCondition: () => false,
    });
    const result = await new Flujo(loop, { initialContextData: { marks: [], lastMark: 0 } }).run(1);
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.metadata.exitReason).toBe("body_step_error");
    expect(sr.feedback).toContain("second iteration broke");
    // Iteration 1 ran all three steps; iteration 2 stopped at `check`, before `never_after_failure`.
    expect(seen).toEqual([2]);
    // Iteration 1's writes were merged; iteration 2's (marks 2, lastMark 2) were dropped with it.
    expect(result.finalPipelineContext?.marks).toEqual([1]);
    expect(result.finalPipelineContext?.lastMark).toBe(1);
  });
});
