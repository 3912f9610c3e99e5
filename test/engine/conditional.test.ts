import { describe, expect, it } from "vitest";
import { ConditionalStep } from "../../src/dsl/conditional.js";
import {
  ConfigurationError,
  ExecutorCore,
  Flujo,
  PausedException,
  PipelineAbortSignal,
  pipeline,
  Step,
  UsageLimitExceededError,
} from "../../src/index.js";
import { costly, FailingAgent, ScriptedPlugin, StubAgent } from "../support/agents.js";

const constant = (name: string, output: unknown) => new Step({ name, agent: new StubAgent([output]) });
const echo = (name: string) => Step.fromCallable(async (x: unknown) => x, { name });
const byInput = (branches: Record<string, Step | ReturnType<typeof pipeline>>, extra = {}) =>
  Step.branchOn({ name: "branch", condition: (data) => data as string, branches, ...extra });

describe("branchOn (case 48)", () => {
  it("runs the branch whose key the condition returns", async () => {
    const step = byInput({ a: constant("a", "A"), b: constant("b", "B") });
    const result = await new Flujo(pipeline(constant("classify", "b"), step)).run("in");
    const sr = result.stepHistory[1];
    expect(sr).toMatchObject({ name: "branch", success: true, output: "B", attempts: 1 });
    expect(sr.metadata).toEqual({ executedBranchKey: "b" });
  });

  it("case 48: an unmatched key runs the default branch and still reports the evaluated key", async () => {
    const step = byInput({ a: constant("a", "A") }, { defaultBranch: constant("def", "DEF") });
    const result = await new Flujo(step).run("x");
    expect(result.output).toBe("DEF");
    expect(result.stepHistory[0].metadata).toEqual({ executedBranchKey: "x" });
  });

  it("case 48: no match and no default fails the step", async () => {
    const result = await new Flujo(byInput({ a: constant("a", "A") })).run("x");
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.feedback).toBe("No branch found for key 'x' and no default branch provided");
    expect(sr.feedback?.toLowerCase()).toContain("no default");
    expect(sr.metadata.executedBranchKey).toBe("x");
  });

  it("case 48: input and output mappers compose (+1 then x10 gives 20)", async () => {
    const step = Step.branchOn({
      name: "branch",
      condition: () => "x",
      branches: { x: echo("same") },
      branchInputMapper: (data) => (data as number) + 1,
      branchOutputMapper: (out, key) => {
        expect(key).toBe("x");
        return (out as number) * 10;
      },
    });
    expect((await new Flujo(step).run(1)).output).toBe(20);
  });

  it("case 48: an exception in the condition fails the step", async () => {
    const step = Step.branchOn({
      name: "branch",
      condition: () => {
        throw new Error("boom");
      },
      branches: { a: echo("a") },
    });
    const result = await new Flujo(step).run(1);
    expect(result.stepHistory[0].success).toBe(false);
    expect(result.stepHistory[0].feedback).toBe("Error executing conditional logic or branch: boom");
  });

  it("input and output mapper errors have Flujo's messages", async () => {
    const broken = () => {
      throw new Error("mapper broke");
    };
    const input = await new Flujo(byInput({ a: echo("a") }, { branchInputMapper: broken })).run("a");
    expect(input.stepHistory[0].feedback).toBe("Error executing conditional logic or branch: mapper broke");
    const output = await new Flujo(byInput({ a: echo("a") }, { branchOutputMapper: broken })).run("a");
    expect(output.stepHistory[0].feedback).toBe("Branch output mapper raised an exception: mapper broke");
  });

  it("the condition sees the step's input and the live context, and may be async", async () => {
    const step = Step.branchOn({
      name: "branch",
      condition: async (data, ctx) => `${ctx.flag}${data}`,
      branches: { b1: constant("b1", "B1") },
    });
    const result = await new Flujo(step, { initialContextData: { flag: "b" } }).run(1);
    expect(result.output).toBe("B1");
  });

  it("boolean and number keys read as their strings", async () => {
    const step = Step.branchOn({
      name: "branch",
      condition: (data) => data as boolean | number,
      branches: { true: constant("yes", "Y"), false: constant("no", "N"), 3: constant("three", "T") },
    });
    const runner = new Flujo(step);
    const t = await runner.run(true);
    expect(t.output).toBe("Y");
    expect(t.stepHistory[0].metadata).toEqual({ executedBranchKey: true });
    expect((await runner.run(false)).output).toBe("N");
    expect((await runner.run(3)).output).toBe("T");
  });

  it("a case-insensitive match comes after the default branch and records the resolved key", async () => {
    const branches = { yes: constant("yes", "Y") };
    const loose = await new Flujo(byInput(branches)).run("YES");
    expect(loose.output).toBe("Y");
    expect(loose.stepHistory[0].metadata).toEqual({ executedBranchKey: "YES", resolvedBranchKey: "yes" });
    const withDefault = await new Flujo(byInput(branches, { defaultBranch: constant("d", "D") })).run("YES");
    expect(withDefault.output).toBe("D");
  });

  it("keys are only the given ones: 'toString' or '__proto__' do not reach Object.prototype", async () => {
    const runner = new Flujo(byInput({ a: echo("a") }));
    for (const key of ["toString", "__proto__", "constructor"]) {
      const r = await runner.run(key);
      expect(r.stepHistory[0].success).toBe(false);
      expect(r.stepHistory[0].feedback).toContain("No branch found");
    }
    const proto = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    const odd = Step.branchOn({
      name: "odd",
      condition: () => "__proto__",
      branches: Object.fromEntries(Object.keys(proto).map((k) => [k, constant("p", "P")])),
    });
    expect((await new Flujo(odd).run(0)).output).toBe("P");
  });

  it("a multi-step branch chains its steps and sums their usage", async () => {
    const inc = Step.fromCallable(async (x: number) => x + 1, { name: "inc" });
    const step = byInput({
      go: pipeline(
        Step.fromCallable(async () => 10, { name: "start" }),
        inc,
        new Step({ name: "paid", agent: costly(99, 0.25, 4) }),
        new Step({ name: "paid2", agent: costly(100, 0.5, 6) }),
      ),
    });
    const result = await new Flujo(step).run("go");
    const sr = result.stepHistory[0];
    expect(sr.output).toBe(100);
    expect(sr.costUsd).toBeCloseTo(0.75);
    expect(sr.tokenCounts).toBe(10);
    expect(sr.attempts).toBe(1);
    expect(sr.stepHistory.map((r) => r.name)).toEqual(["start", "inc", "paid", "paid2"]);
    expect(result.totalCostUsd).toBeCloseTo(0.75);
  });

  it("stops at the first failed step and does not merge the branch's context", async () => {
    const after = new StubAgent(["never"]);
    const write = Step.fromCallable(
      async (_x: unknown, { context }) => {
        context.touched = true;
        return 1;
      },
      { name: "write" },
    );
    const bad = new Step({
      name: "bad",
      agent: costly("oops", 0.1, 1),
      plugins: [new ScriptedPlugin([{ success: false, feedback: "bad" }])],
    });
    const step = byInput({ a: pipeline(write, bad, new Step({ name: "after", agent: after })) });
    const result = await new Flujo(step, { initialContextData: { touched: false } }).run("a");
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.feedback).toMatch(/^Failure in branch 'a': .*Plugin validation failed: bad$/);
    expect(after.calls).toBe(0);
    expect(sr.costUsd).toBeCloseTo(0.1);
    expect(result.finalPipelineContext?.touched).toBe(false);
  });

  it("merges the branch's context on success; the output mapper sees the branch context", async () => {
    const write = Step.fromCallable(
      async (x: number, { context }) => {
        context.count = (context.count as number) + x;
        return x;
      },
      { name: "write" },
    );
    const step = byInput(
      { a: write },
      {
        condition: () => "a",
        branchOutputMapper: (out: unknown, _key: unknown, ctx: Record<string, unknown>) => [out, ctx.count],
      },
    );
    const result = await new Flujo(step, { initialContextData: { count: 1 } }).run(5);
    expect(result.output).toEqual([5, 6]);
    expect(result.finalPipelineContext?.count).toBe(6);
  });

  it("a usage-limit breach in a branch propagates with the conditional's result", async () => {
    const step = byInput({
      a: pipeline(
        new Step({ name: "s1", agent: costly(1, 0.3, 1) }),
        new Step({ name: "s2", agent: costly(2, 0.3, 1) }),
      ),
    });
    const err = await new Flujo(step, { usageLimits: { totalCostUsdLimit: 0.5 } })
      .run("a")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
    const e = err as UsageLimitExceededError;
    expect(e.message).toBe("Cost limit of $0.5 exceeded");
    expect(e.result?.stepHistory).toHaveLength(1);
    expect(e.result?.stepHistory[0].name).toBe("branch");
    expect(e.result?.totalCostUsd).toBeCloseTo(0.6);
  });

  it("pauses and aborts raised inside a branch propagate, with the branch's context merged", async () => {
    const core = new ExecutorCore({ enableCache: false });
    for (const error of [new PausedException("wait"), new PipelineAbortSignal("stop")]) {
      const write = Step.fromCallable(
        async (_x: unknown, { context }) => {
          context.before = "seen";
          return 1;
        },
        { name: "write" },
      );
      const step = byInput({
        a: pipeline(write, new Step({ name: "raise", agent: new FailingAgent(() => error) })),
      });
      const context: Record<string, unknown> = {};
      await expect(core.execute(step, "a", { context })).rejects.toBe(error);
      expect(context.before).toBe("seen");
    }
  });

  it("validates its options at build time, naming the step", () => {
    expect(() => Step.branchOn({ name: "c", condition: () => "a", branches: {} })).toThrow(
      "ConditionalStep 'c': 'branches' dictionary cannot be empty.",
    );
    expect(() => Step.branchOn({ name: "c", condition: () => "a", branches: {} })).toThrow(
      ConfigurationError,
    );
    expect(() => Step.branchOn({ name: "c", condition: "a" as never, branches: { a: echo("a") } })).toThrow(
      "ConditionalStep 'c': condition must be a function",
    );
    expect(() => Step.branchOn({ name: "c", condition: () => "a", branches: { a: 1 as never } })).toThrow(
      "ConditionalStep 'c': branch 'a' must be a Pipeline or a Step, got 1",
    );
    expect(() =>
      Step.branchOn({
        name: "c",
        condition: () => "a",
        branches: { a: echo("a") },
        defaultBranch: {} as never,
      }),
    ).toThrow("ConditionalStep 'c': defaultBranch must be a Pipeline or a Step");
    const step = byInput({ a: echo("a") });
    expect(step).toBeInstanceOf(ConditionalStep);
    expect(step.isComplex).toBe(true);
    expect(Object.isFrozen(step)).toBe(true);
    expect(Object.isFrozen(step.branches)).toBe(true);
  });
});

describe("nested constructs (case 59)", () => {
  const inc = Step.fromCallable(async (x: number) => x + 1, { name: "inc" });

  it("a loop in a loop", async () => {
    const inner = Step.loopUntil({
      name: "inner",
      body: inc,
      exitCondition: (out) => (out as number) >= 1,
      maxLoops: 2,
    });
    const outer = Step.loopUntil({
      name: "outer",
      body: inner,
      exitCondition: (out) => (out as number) >= 2,
      maxLoops: 3,
    });
    const sr = (await new Flujo(outer).run(0)).stepHistory[0];
    expect(sr).toMatchObject({ success: true, attempts: 2, output: 2 });
  });

  it("a conditional in a loop", async () => {
    const cond = Step.branchOn({
      name: "cond",
      condition: () => "inc",
      branches: { inc: inc.with({ name: "inc2" }) },
    });
    const loop = Step.loopUntil({
      name: "loop_cond",
      body: pipeline(inc, cond),
      exitCondition: (out) => (out as number) >= 4,
      maxLoops: 3,
    });
    const sr = (await new Flujo(loop).run(0)).stepHistory[0];
    expect(sr).toMatchObject({ success: true, attempts: 2, output: 4 });
  });

  it("a loop in a conditional branch, and a conditional in a conditional", async () => {
    const loop = Step.loopUntil({
      name: "loop_inner",
      body: inc,
      exitCondition: (out) => (out as number) >= 2,
      maxLoops: 3,
    });
    const cond = Step.branchOn({ name: "branch", condition: () => "loop", branches: { loop } });
    expect((await new Flujo(cond).run(0)).stepHistory[0]).toMatchObject({ success: true, output: 2 });
    const innerCond = Step.branchOn({ name: "inner", condition: () => "b", branches: { b: inc } });
    const outerCond = Step.branchOn({
      name: "outer",
      condition: () => "inner",
      branches: { inner: innerCond },
    });
    expect((await new Flujo(outerCond).run(0)).stepHistory[0]).toMatchObject({ success: true, output: 1 });
  });

  it("case 59: usage aggregates up through a loop in a conditional (0.5 / 5)", async () => {
    const loop = Step.loopUntil({
      name: "inner",
      body: new Step({ name: "cost", agent: costly(1, 0.5, 5) }),
      exitCondition: () => true,
    });
    const cond = Step.branchOn({ name: "branch", condition: () => "loop", branches: { loop } });
    const result = await new Flujo(cond).run(0);
    expect(result.stepHistory[0].costUsd).toBe(0.5);
    expect(result.stepHistory[0].tokenCounts).toBe(5);
    expect(result.totalCostUsd).toBe(0.5);
    expect(result.totalTokens).toBe(5);
  });

  it("case 59: usage aggregates up through a loop in a loop (0.5 / 5)", async () => {
    const inner = Step.loopUntil({
      name: "inner",
      body: new Step({ name: "cost", agent: costly(1, 0.5, 5) }),
      exitCondition: () => true,
    });
    const outer = Step.loopUntil({ name: "outer", body: inner, exitCondition: () => true });
    const result = await new Flujo(outer).run(0);
    expect(result.stepHistory[0]).toMatchObject({ success: true, attempts: 1, costUsd: 0.5, tokenCounts: 5 });
    expect(result.stepHistory[0].stepHistory[0]).toMatchObject({ name: "inner", attempts: 1, costUsd: 0.5 });
    expect([result.totalCostUsd, result.totalTokens]).toEqual([0.5, 5]);
  });

  it("cost, tokens and attempts aggregate through a loop in a loop", async () => {
    let calls = 0;
    const paidInc = Step.fromCallable(
      async (x: number) => {
        calls++;
        return { output: x + 1, costUsd: 0.125, tokenCounts: 1 };
      },
      { name: "paid_inc" },
    );
    // Each inner run does two iterations (it stops at an even number); the outer one stops at 4.
    const inner = Step.loopUntil({
      name: "inner",
      body: paidInc,
      exitCondition: (out) => (out as number) % 2 === 0,
    });
    const outer = Step.loopUntil({
      name: "outer",
      body: inner,
      exitCondition: (out) => (out as number) >= 4,
    });
    const result = await new Flujo(outer).run(0);
    const sr = result.stepHistory[0];
    expect(sr).toMatchObject({ success: true, attempts: 2, output: 4, costUsd: 0.5, tokenCounts: 4 });
    expect(sr.stepHistory.map((r) => [r.name, r.attempts, r.costUsd, r.tokenCounts])).toEqual([
      ["inner", 2, 0.25, 2],
      ["inner", 2, 0.25, 2],
    ]);
    expect(result.totalCostUsd).toBe(0.5);
    expect(result.totalTokens).toBe(4);
    expect(calls).toBe(4);
  });

  it("an inner loop that runs out of iterations is a failed body step of the outer one", async () => {
    const inner = Step.loopUntil({
      name: "inner",
      body: new Step({ name: "cost", agent: costly("y", 0.125, 2) }),
      maxLoops: 2,
      exitCondition: () => false,
    });
    const result = await new Flujo(
      Step.loopUntil({ name: "outer", body: inner, exitCondition: () => true }),
    ).run(0);
    expect(result.stepHistory[0]).toMatchObject({
      success: false,
      attempts: 1,
      costUsd: 0.25,
      tokenCounts: 4,
    });
    expect(result.stepHistory[0].feedback).toBe("Loop body failed: reached max_loops");
  });

  it("context changes made by mappers at every level carry through (val ends at 4)", async () => {
    const bump = (ctx: Record<string, unknown>) => {
      ctx.val = (ctx.val as number) + 1;
    };
    const inner = Step.loopUntil({ name: "inner", body: inc, exitCondition: (out) => (out as number) >= 1 });
    const outer = Step.loopUntil({
      name: "outer",
      body: inner,
      exitCondition: (_out, ctx) => (ctx.val as number) >= 3,
      initialInputMapper: (input, ctx) => {
        bump(ctx);
        return input;
      },
      iterationInputMapper: (out, ctx) => {
        bump(ctx);
        return out;
      },
      loopOutputMapper: (out, ctx) => {
        bump(ctx);
        return out;
      },
      maxLoops: 5,
    });
    const result = await new Flujo(outer, { initialContextData: { val: 0 } }).run(0);
    expect(result.finalPipelineContext?.val).toBe(4);
  });

  it("a failure deep inside nested loops fails the outer loop", async () => {
    const bad = new Step({
      name: "bad",
      agent: new StubAgent(["oops"]),
      plugins: [new ScriptedPlugin([{ success: false, feedback: "bad" }])],
    });
    const inner = Step.loopUntil({ name: "inner", body: bad, exitCondition: () => true });
    const outer = Step.loopUntil({ name: "outer", body: inner, exitCondition: () => true });
    const sr = (await new Flujo(outer).run("in")).stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.feedback).toContain("Loop body failed");
  });
});
