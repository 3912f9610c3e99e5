import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ParallelStep } from "../../src/dsl/parallel.js";
import {
  type AgentRunOptions,
  BranchFailureStrategy,
  ConfigurationError,
  ExecutorCore,
  Flujo,
  MergeStrategy,
  MissingAgentError,
  PausedException,
  Pipeline,
  PipelineAbortSignal,
  pipeline,
  Step,
  type StepResult,
  stepResult,
  UsageLimitExceededError,
} from "../../src/index.js";
import { costly, RuntimeError, StubAgent } from "../support/agents.js";

type Ctx = Record<string, unknown>;

/** A step whose function gets (input, context) and returns what `fn` returns. */
function fn(name: string, body: (input: unknown, ctx: Ctx) => unknown, extra: object = {}): Step {
  return Step.fromCallable(async (input: unknown, o: AgentRunOptions) => body(input, o.context as Ctx), {
    name,
    ...extra,
  });
}

let waiters = 0;

/** An agent that waits until its signal fires (it records that), then rejects with the reason. */
function waitForAbort(seen: AbortSignal[]): Step {
  return Step.fromCallable(
    (_: unknown, { signal }: AgentRunOptions) =>
      new Promise((_resolve, reject) => {
        seen.push(signal);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    { name: `waiter${waiters++}` },
  );
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("parallel steps: Flujo cases 29-38", () => {
  it("case 29: five branches each spending just over limit/5 breach the limit, and all five started", async () => {
    const started: string[] = [];
    const branches: Record<string, Step> = {};
    for (const b of ["a", "b", "c", "d", "e"]) {
      branches[b] = Step.fromCallable(
        async () => {
          started.push(b);
          await tick();
          return { output: b, costUsd: 0.21, tokenCounts: 1 };
        },
        { name: `spend_${b}` },
      );
    }
    const par = Step.parallel({ name: "p", branches });
    const err = await new Flujo(par, { usageLimits: { totalCostUsdLimit: 1 } })
      .run(0)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
    expect((err as Error).message).toBe("Cost limit of $1 exceeded");
    expect(started.sort()).toEqual(["a", "b", "c", "d", "e"]);
    const history = (err as UsageLimitExceededError).result?.stepHistory ?? [];
    expect(history.length).toBeGreaterThan(0);
    expect(history.every((r) => r.costUsd === 0.21)).toBe(true);
  });

  it("case 29: a branch is capped at limit/n even when the run's total would fit", async () => {
    const par = Step.parallel({
      name: "p",
      branches: { big: new Step({ name: "big", agent: costly("x", 0.6, 1) }), small: fn("small", () => 1) },
    });
    const err = await new Flujo(par, { usageLimits: { totalCostUsdLimit: 1 } })
      .run(0)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
    expect((err as UsageLimitExceededError).result?.finalPipelineContext).toBeDefined();
  });

  it("case 30: NO_MERGE keeps each branch's context changes out of the run's context", async () => {
    const add = (inc: number) =>
      fn(`add${inc}`, (x, ctx) => {
        ctx.val = (ctx.val as number) + inc;
        return (x as number) + inc;
      });
    const par = Step.parallel({
      name: "par",
      branches: { a: add(1), b: add(2) },
      mergeStrategy: MergeStrategy.NO_MERGE,
    });
    const result = await new Flujo(par).run(0, { initialContextData: { val: 0 } });
    expect(result.stepHistory[0].output).toEqual({ a: 1, b: 2 });
    expect(result.finalPipelineContext?.val).toBe(0);
  });

  it("case 31: OVERWRITE takes the last successful branch in declared order, not completion order", async () => {
    const setV = (name: string, v: number, delayed: boolean) =>
      fn(name, async (x, ctx) => {
        if (delayed) for (let i = 0; i < 5; i++) await tick();
        (ctx.importArtifacts as Ctx).v = v;
        return (x as number) + v;
      });
    const par = Step.parallel({
      name: "overwrite_order",
      // branch10 is declared last but finishes first.
      branches: { branch2: setV("branch2", 2, true), branch10: setV("branch10", 10, false) },
      mergeStrategy: MergeStrategy.OVERWRITE,
    });
    const result = await new Flujo(par).run(0, {
      initialContextData: { executedBranches: [], branchResults: {} },
    });
    const ctx = result.finalPipelineContext!;
    expect(ctx.executedBranches).toEqual(["branch10"]);
    expect(ctx.branchResults).toEqual({ branch10: 10 });
    expect((ctx.importArtifacts as Ctx).v).toBe(10);
  });

  it("case 32: PROPAGATE fails the step, the failed branch's output is its StepResult, the good branch still merges", async () => {
    const par = Step.parallel({
      name: "fail_prop",
      branches: {
        good: fn("good", (x, ctx) => {
          (ctx.importArtifacts as Ctx).a = 1;
          return (x as number) + 1;
        }),
        bad: Step.fromCallable(
          async () => {
            throw new RuntimeError("boom");
          },
          { name: "bad", maxRetries: 0 },
        ),
      },
      onBranchFailure: BranchFailureStrategy.PROPAGATE,
    });
    const result = await new Flujo(par).run(0);
    const sr = result.stepHistory[0];
    expect(sr.success).toBe(false);
    const bad = (sr.output as Record<string, StepResult>).bad;
    expect(bad).toMatchObject({ name: "fail_prop_bad", success: false, attempts: 1 });
    expect(bad.feedback).toBe("Pipeline failed - step 'bad': Agent execution failed with RuntimeError: boom");
    expect(sr.feedback).toBe(`branch 'bad' failed: ${bad.feedback}`);
    expect((sr.output as Ctx).good).toBe(1);
    expect((result.finalPipelineContext!.importArtifacts as Ctx).a).toBe(1);
  });

  it("case 33: IGNORE succeeds with one failed branch and fails when every branch fails", async () => {
    const boom = (name: string) => new Step({ name, agent: new StubAgent([new Error("no")]) });
    const one = Step.parallel({
      name: "p",
      branches: { ok: fn("ok", () => "fine"), ko: boom("ko") },
      onBranchFailure: BranchFailureStrategy.IGNORE,
    });
    const r1 = (await new Flujo(one).run(0)).stepHistory[0];
    expect(r1.success).toBe(true);
    expect(r1.feedback).toBe("Parallel step completed with 1 branch failures (ignored)");
    expect((r1.output as Ctx).ok).toBe("fine");

    const all = Step.parallel({
      name: "p",
      branches: { x: boom("x"), y: boom("y"), z: fn("z", () => 1) },
      onBranchFailure: BranchFailureStrategy.IGNORE,
    });
    const allFail = Step.parallel({
      name: "p",
      branches: { x: boom("x"), y: boom("y") },
      onBranchFailure: BranchFailureStrategy.IGNORE,
    });
    expect((await new Flujo(all).run(0)).stepHistory[0].success).toBe(true);
    const r2 = (await new Flujo(allFail).run(0)).stepHistory[0];
    expect(r2.success).toBe(false);
    expect(Object.values(r2.output as Ctx).every((v) => (v as StepResult).success === false)).toBe(true);
    expect(r2.feedback).toMatch(
      /^Parallel step failed: 2 of 2 branches failed\. Failures: branch 'x' failed: .*; branch 'y' failed: /,
    );
  });

  it("case 34: cost and tokens include the failed branch's spending", async () => {
    const par = Step.parallel({
      name: "parallel_cost",
      branches: {
        good: new Step({ name: "good", agent: costly(1, 0.05, 5) }),
        bad: pipeline(
          new Step({ name: "cost", agent: costly(2, 0.1, 10) }),
          new Step({ name: "fail", agent: new StubAgent([new RuntimeError("boom")]) }),
        ),
      },
    });
    const sr = (await new Flujo(par).run(0)).stepHistory[0];
    expect(sr.success).toBe(false);
    expect(sr.costUsd).toBeCloseTo(0.15);
    expect(sr.tokenCounts).toBe(15);
    expect(sr.feedback).toMatch(/^branch 'bad' failed: Pipeline failed - step 'fail' \(after 2 attempts\): /);
  });

  it("case 35: CONTEXT_UPDATE fails on two branches setting different strings; OVERWRITE takes the last", async () => {
    const set = (v: string) =>
      fn(`set${v}`, (_x, ctx) => {
        ctx.value = v;
        return v;
      });
    const branches = { a: set("A"), b: set("B") };
    const conflict = await new Flujo(Step.parallel({ name: "p", branches })).run(0, {
      initialContextData: { value: "" },
    });
    expect(conflict.success).toBe(false);
    expect(conflict.stepHistory[0].feedback).toBe(
      "Merge conflict for key 'value'. Branches 'a' and 'b' set different values. Set an explicit merge strategy or field_mapping in your ParallelStep.",
    );
    const over = await new Flujo(
      Step.parallel({ name: "p", branches, mergeStrategy: MergeStrategy.OVERWRITE }),
    ).run(0, { initialContextData: { value: "" } });
    expect(over.success).toBe(true);
    expect(over.finalPipelineContext?.value).toBe("B");
  });

  it("case 35 (our difference): a value changed by one branch only is not a conflict", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          ctx.value = "A";
          (ctx.nested as Ctx).s = "changed";
        }),
        b: fn("b", (_x, ctx) => {
          ctx.other = "B";
        }),
      },
    });
    const result = await new Flujo(par).run(0, {
      initialContextData: { value: "p", nested: { s: "p", t: "p" } },
    });
    expect(result.success).toBe(true);
    const ctx = result.finalPipelineContext!;
    expect([ctx.value, ctx.other, ctx.nested]).toEqual(["A", "B", { s: "changed", t: "p" }]);
  });

  it("case 35: a nested conflict names the dotted path", async () => {
    const set = (v: string) =>
      fn(`n${v}`, (_x, ctx) => {
        ((ctx.x as Ctx).payload as Ctx).key = v;
      });
    const result = await new Flujo(Step.parallel({ name: "p", branches: { a: set("1"), b: set("2") } })).run(
      0,
      {
        initialContextData: { x: { payload: { key: "0" } } },
      },
    );
    expect(result.stepHistory[0].feedback).toContain(
      "Merge conflict for key 'x.payload.key'. Branches 'a' and 'b'",
    );
  });

  it("case 36 at the runner: ERROR_ON_CONFLICT fails on a changed value, KEEP_FIRST keeps existing values", async () => {
    const bump = fn("bump", (_x, ctx) => {
      ctx.counter = 2;
    });
    const strict = await new Flujo(
      Step.parallel({
        name: "p",
        branches: { a: bump },
        mergeStrategy: MergeStrategy.ERROR_ON_CONFLICT,
      }),
    ).run(0, { initialContextData: { counter: 1 } });
    expect(strict.stepHistory[0].success).toBe(false);
    expect(strict.stepHistory[0].feedback).toContain("Merge conflict for key 'counter'");

    const keep = await new Flujo(
      Step.parallel({
        name: "p",
        branches: {
          a: fn("k", (_x, ctx) => {
            (ctx.a as Ctx).b = 2;
            (ctx.a as Ctx).c = 3;
            ctx.d = 4;
          }),
        },
        mergeStrategy: MergeStrategy.KEEP_FIRST,
      }),
    ).run(0, { initialContextData: { a: { b: 1 } } });
    expect(keep.success).toBe(true);
    expect(keep.finalPipelineContext?.a).toEqual({ b: 1, c: 3 });
    expect(keep.finalPipelineContext?.d).toBe(4);
  });

  it("case 37 at the runner: a branch's new nested key joins the parent's dict", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          (ctx.data as Ctx).keyB = 2;
        }),
      },
    });
    const result = await new Flujo(par).run(0, { initialContextData: { data: { keyA: 1 } } });
    expect(result.finalPipelineContext?.data).toEqual({ keyA: 1, keyB: 2 });
  });

  it("case 38: with contextIncludeKeys a branch sees only those keys; the others read as defaults", async () => {
    const schema = z.looseObject({
      field1: z.string().default("d1"),
      field2: z.string(),
      field3: z.string().default("default"),
    });
    const seen: Ctx[] = [];
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          seen.push({ field1: ctx.field1, field2: ctx.field2, field3: ctx.field3, extra: ctx.extra });
          ctx.field1 = "from a";
        }),
      },
      contextIncludeKeys: ["field1"],
    });
    const result = await new Flujo(par, { contextSchema: schema }).run(0, {
      initialContextData: { field1: "one", field2: "required", field3: "three", extra: "x" },
    });
    expect(result.success).toBe(true);
    // field2 has no default, so it keeps its value (Flujo keeps required fields); extras are dropped.
    expect(seen).toEqual([{ field1: "one", field2: "required", field3: "default", extra: undefined }]);
    const ctx = result.finalPipelineContext!;
    expect([ctx.field1, ctx.field2, ctx.field3, ctx.extra]).toEqual(["from a", "required", "three", "x"]);
  });

  it("case 38 without a schema: keys not included are absent in the branch, PipelineContext fields are defaults", async () => {
    let seen: Ctx = {};
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          seen = { f1: ctx.field1, f3: ctx.field3, artifacts: ctx.importArtifacts, runId: ctx.runId };
        }),
      },
      contextIncludeKeys: ["field1"],
    });
    const result = await new Flujo(par).run(0, {
      initialContextData: { field1: "one", field3: "three", importArtifacts: { k: 1 } },
    });
    expect(seen).toEqual({
      f1: "one",
      f3: undefined,
      artifacts: {},
      runId: result.finalPipelineContext?.runId,
    });
    expect(result.finalPipelineContext?.importArtifacts).toEqual({ k: 1 });
  });
});

describe("parallel steps: results, reduce and merges", () => {
  it("runs every branch on the same input and names branch results {parallel}_{branch}", async () => {
    const inputs: unknown[] = [];
    const rec = (name: string) =>
      fn(name, (x) => {
        inputs.push(x);
        return `${name}:${x}`;
      });
    const par = Step.parallel({ name: "fan", branches: { a: rec("a"), b: rec("b") } });
    const sr = (await new Flujo(par).run("in")).stepHistory[0];
    expect(inputs).toEqual(["in", "in"]);
    expect(sr).toMatchObject({
      success: true,
      attempts: 1,
      output: { a: "a:in", b: "b:in" },
      feedback: "All 2 branches executed successfully",
      metadata: { executedBranches: ["a", "b"] },
    });
    expect(sr.stepHistory.map((r) => r.name)).toEqual(["fan_a", "fan_b"]);
    expect(sr.stepHistory[0].metadata).toEqual({ failedStepsCount: 0, totalStepsCount: 1 });
  });

  it("a pipeline branch keeps going after a failed step, with the last output that was not undefined", async () => {
    const seen: unknown[] = [];
    const branch = pipeline(
      fn("first", (x) => `${x}!`),
      new Step({ name: "broken", agent: new StubAgent([new Error("nope")]), config: { maxRetries: 0 } }),
      fn("after", (x) => {
        seen.push(x);
        return "end";
      }),
    );
    const sr = (await new Flujo(Step.parallel({ name: "p", branches: { a: branch } })).run("x"))
      .stepHistory[0];
    expect(seen).toEqual(["x!"]);
    const a = (sr.output as Record<string, StepResult>).a;
    expect(a.success).toBe(false);
    expect(a.output).toBe("end");
    expect(a.feedback).toBe("Pipeline failed - step 'broken': Agent execution failed with Error: nope");
    expect(a.metadata).toEqual({ failedStepsCount: 1, totalStepsCount: 3 });
  });

  it("several failures are listed in the feedback with the number that succeeded", async () => {
    const bad = (n: string) =>
      new Step({ name: n, agent: new StubAgent([new Error(n)]), config: { maxRetries: 0 } });
    const sr = (
      await new Flujo(
        Step.parallel({ name: "p", branches: { x: bad("x"), y: bad("y"), z: fn("z", () => 1) } }),
      ).run(0)
    ).stepHistory[0];
    expect(sr.feedback).toBe(
      "Parallel step failed: 2 of 3 branches failed (1 succeeded). Failures: branch 'x' failed: Pipeline failed - step 'x': Agent execution failed with Error: x; branch 'y' failed: Pipeline failed - step 'y': Agent execution failed with Error: y",
    );
  });

  it("a step with no branches fails", async () => {
    const sr = (await new Flujo(Step.parallel({ name: "empty", branches: {} })).run(0)).stepHistory[0];
    expect(sr).toMatchObject({
      success: false,
      feedback: "Parallel step has no branches to execute",
      output: {},
    });
  });

  it("reduce gets the results in declared order, the context and the outputs; its value becomes the output", async () => {
    const calls: unknown[] = [];
    const par = Step.parallel({
      name: "p",
      branches: { a: fn("a", () => 1), b: fn("b", () => 2) },
      reduce: (results, ctx, outputs) => {
        calls.push([results.map((r) => r.name), typeof ctx.runId, outputs]);
        return results.reduce((sum, r) => sum + (r.output as number), 0);
      },
    });
    const sr = (await new Flujo(par).run(0)).stepHistory[0];
    expect(sr.output).toBe(3);
    expect(calls).toEqual([[["p_a", "p_b"], "string", { a: 1, b: 2 }]]);
  });

  it("an async reducer returning a StepResult overrides output and success and records reducedFrom", async () => {
    const par = Step.parallel({
      name: "p",
      branches: { a: fn("a", () => "yes"), b: fn("b", () => "no") },
      reduce: async function majority(results) {
        await tick();
        return stepResult("verdict", { output: results[0].output, success: false, feedback: "judged" });
      },
    });
    const sr = (await new Flujo(par).run(0)).stepHistory[0];
    expect(sr).toMatchObject({ output: "yes", success: false, feedback: "judged" });
    expect(sr.metadata.reducedFrom).toEqual({ strategy: "majority", selectedStep: "verdict" });
  });

  it("a reducer that throws, or rejects, keeps the output map", async () => {
    for (const reduce of [
      () => {
        throw new Error("reducer broke");
      },
      async () => {
        throw new Error("reducer broke");
      },
    ]) {
      const par = Step.parallel({ name: "p", branches: { a: fn("a", () => 1) }, reduce });
      const sr = (await new Flujo(par).run(0)).stepHistory[0];
      expect(sr.success).toBe(true);
      expect(sr.output).toEqual({ a: 1 });
    }
  });

  it("a reducer returning undefined keeps the output map", async () => {
    const par = Step.parallel({ name: "p", branches: { a: fn("a", () => 1) }, reduce: () => undefined });
    expect((await new Flujo(par).run(0)).stepHistory[0].output).toEqual({ a: 1 });
  });

  it("fieldMapping takes only the mapped fields a branch changed", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          ctx.x = "from a";
          ctx.y = "also a";
        }),
        b: fn("b", (_x, ctx) => {
          ctx.z = "from b";
        }),
      },
      fieldMapping: { a: ["x", "w"] },
    });
    const ctx = (await new Flujo(par).run(0, { initialContextData: { w: "kept" } })).finalPipelineContext!;
    expect([ctx.x, ctx.y, ctx.z, ctx.w]).toEqual(["from a", undefined, "from b", "kept"]);
  });

  it("a custom merge function gets the live context and each successful branch's context as plain data", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          ctx.score = 3;
        }),
        b: fn("b", (_x, ctx) => {
          ctx.score = 5;
        }),
        c: new Step({ name: "c", agent: new StubAgent([new Error("x")]), config: { maxRetries: 0 } }),
      },
      onBranchFailure: BranchFailureStrategy.IGNORE,
      mergeStrategy: (ctx, branches) => {
        ctx.total = Object.values(branches).reduce((s, b) => s + (b.score as number), 0);
        ctx.names = Object.keys(branches);
      },
    });
    const ctx = (await new Flujo(par).run(0, { initialContextData: { score: 0 } })).finalPipelineContext!;
    expect([ctx.total, ctx.names, ctx.score]).toEqual([8, ["a", "b"], 0]);
  });

  it("executedBranches and branchResults are maintained for contexts that have them", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          (ctx.branchResults as Ctx).a = "ra";
        }),
        b: fn("b", (_x, ctx) => {
          (ctx.branchResults as Ctx).b = "rb";
        }),
        c: new Step({ name: "c", agent: new StubAgent([new Error("x")]), config: { maxRetries: 0 } }),
      },
      onBranchFailure: BranchFailureStrategy.IGNORE,
    });
    const ctx = (
      await new Flujo(par).run(0, {
        initialContextData: { executedBranches: ["earlier"], branchResults: { earlier: 1 } },
      })
    ).finalPipelineContext!;
    expect(ctx.executedBranches).toEqual(["earlier", "a", "b"]);
    expect(ctx.branchResults).toEqual({ earlier: 1, a: "ra", b: "rb" });
  });

  it("every branch's step outputs reach the run's stepOutputs", async () => {
    const branches: Record<string, Step> = {};
    for (let i = 0; i < 20; i++) branches[`b${i}`] = fn(`s${i}`, () => i);
    const ctx = (await new Flujo(Step.parallel({ name: "p", branches }), { enableCache: false }).run(0))
      .finalPipelineContext!;
    const outputs = ctx.stepOutputs as Ctx;
    for (let i = 0; i < 20; i++) expect(outputs[`s${i}`]).toBe(i);
  });

  it("a branch writing __proto__ keys pollutes nothing", async () => {
    const evil = () => JSON.parse('{"__proto__": {"polluted": true}, "fine": 1}') as Ctx;
    const branches = {
      a: fn("a", (_x, ctx) => {
        ctx.importArtifacts = evil();
        ctx.fresh = evil();
      }),
      b: fn("b", (_x, ctx) => {
        ctx.importArtifacts = evil();
        (ctx.data as Ctx).nested = evil();
      }),
    };
    for (const mergeStrategy of [
      MergeStrategy.CONTEXT_UPDATE,
      MergeStrategy.OVERWRITE,
      MergeStrategy.KEEP_FIRST,
      MergeStrategy.ERROR_ON_CONFLICT,
    ]) {
      const result = await new Flujo(Step.parallel({ name: "p", branches, mergeStrategy })).run(0, {
        initialContextData: { data: {} },
      });
      const ctx = result.finalPipelineContext!;
      expect(({} as Ctx).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(ctx.importArtifacts)).toBe(Object.prototype);
      expect((ctx.importArtifacts as Ctx).polluted).toBeUndefined();
      if (mergeStrategy !== MergeStrategy.ERROR_ON_CONFLICT) {
        expect(result.success).toBe(true);
        expect((ctx.importArtifacts as Ctx).fine).toBe(1);
      }
    }
  });

  it("a branch that throws synchronously becomes a failed branch result", async () => {
    class Exploding extends Step {}
    class Kaboom extends Error {}
    const core = new ExecutorCore();
    core.registerPolicy(Exploding, () => {
      throw new Kaboom("sync boom");
    });
    const par = Step.parallel({
      name: "p",
      branches: { bad: new Exploding({ name: "x" }), good: fn("good", () => "ok") },
      onBranchFailure: BranchFailureStrategy.IGNORE,
    });
    const sr = (await new Flujo(par, { executor: core }).run(0)).stepHistory[0];
    expect(sr.success).toBe(true);
    const bad = (sr.output as Record<string, StepResult>).bad;
    expect(bad).toMatchObject({
      name: "p_bad",
      success: false,
      feedback: "Branch execution failed with Kaboom: sync boom",
      metadata: { exceptionType: "Kaboom" },
    });
    expect((sr.output as Ctx).good).toBe("ok");
  });

  it("validates its options with errors naming the step and the field", () => {
    const ok = fn("ok", () => 1);
    const bad: Array<[object, string]> = [
      [{ branches: { a: "nope" } }, "branch 'a' must be a Step or a Pipeline"],
      [{ branches: [ok] }, "branches must be an object"],
      [{ branches: { a: ok }, mergeStrategy: "merge_scratchpad" }, "MERGE_SCRATCHPAD is removed"],
      [{ branches: { a: ok }, mergeStrategy: "whatever" }, "mergeStrategy must be"],
      [{ branches: { a: ok }, onBranchFailure: "fail_fast" }, "onBranchFailure must be"],
      [{ branches: { a: ok }, fieldMapping: { b: ["x"] } }, "fieldMapping names an unknown branch 'b'"],
      [{ branches: { a: ok }, contextIncludeKeys: ["__proto__"] }, "contextIncludeKeys must hold"],
      [{ branches: { a: ok }, reduce: 3 }, "reduce must be a function"],
      [{ branches: { a: ok }, concurrencyLimit: 0 }, "concurrencyLimit must be an integer >= 1"],
    ];
    for (const [options, message] of bad) {
      expect(() => Step.parallel({ name: "par", ...options } as never)).toThrow(ConfigurationError);
      expect(() => Step.parallel({ name: "par", ...options } as never)).toThrow(`ParallelStep 'par'`);
      expect(() => Step.parallel({ name: "par", ...options } as never)).toThrow(message);
    }
    const par = Step.parallel({ name: "par", branches: { a: ok, b: pipeline(ok, ok) } });
    expect(par).toBeInstanceOf(ParallelStep);
    expect(Object.isFrozen(par)).toBe(true);
    expect(par.branches.a).toBeInstanceOf(Pipeline);
    expect(par.mergeStrategy).toBe(MergeStrategy.CONTEXT_UPDATE);
  });
});

describe("parallel steps: control flow, cancellation and budgets", () => {
  it("a pausing branch cancels its siblings, keeps its own context changes and re-raises", async () => {
    const seen: AbortSignal[] = [];
    const par = Step.parallel({
      name: "p",
      branches: {
        pausing: pipeline(
          fn("note", (_x, ctx) => {
            (ctx.importArtifacts as Ctx).noted = true;
          }),
          fn("ask", () => {
            throw new PausedException("need a human");
          }),
        ),
        slow: waitForAbort(seen),
      },
    });
    const context = new ExecutorCore().frame({}).context;
    const err = await new ExecutorCore().execute(par, 0, { context }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PausedException);
    expect((err as Error).message).toBe("need a human");
    expect(seen).toHaveLength(1);
    expect(seen[0].aborted).toBe(true);
    expect((context.importArtifacts as Ctx).noted).toBe(true);
  });

  it("PipelineAbortSignal and other control errors from a branch cancel the siblings and propagate", async () => {
    for (const [branch, type] of [
      [
        fn("abort", () => {
          throw new PipelineAbortSignal("stop");
        }),
        PipelineAbortSignal,
      ],
      [new Step({ name: "no_agent" }), MissingAgentError],
    ] as const) {
      const seen: AbortSignal[] = [];
      const par = Step.parallel({ name: "p", branches: { a: branch, slow: waitForAbort(seen) } });
      const err = await new ExecutorCore().execute(par, 0).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect(seen.every((s) => s.aborted)).toBe(true);
    }
  });

  it("a usage-limit breach in one branch cancels the siblings still running after the grace window", async () => {
    const seen: AbortSignal[] = [];
    const par = Step.parallel({
      name: "p",
      branches: {
        spender: new Step({ name: "spender", agent: costly("x", 0.9, 1) }),
        slow: waitForAbort(seen),
      },
    });
    const err = await new Flujo(par, { usageLimits: { totalCostUsdLimit: 1 } })
      .run(0)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageLimitExceededError);
    expect((err as Error).message).toBe("Cost limit of $1 exceeded");
    expect(seen).toHaveLength(1);
    expect(seen[0].aborted).toBe(true);
  });

  it("cancelling the run mid-parallel stops every branch and ends the run with status failed", async () => {
    const seen: AbortSignal[] = [];
    const branches: Record<string, Step> = {};
    for (let i = 0; i < 5; i++) branches[`b${i}`] = waitForAbort(seen);
    const after = new StubAgent(["never"]);
    const controller = new AbortController();
    const runner = new Flujo(
      pipeline(Step.parallel({ name: "p", branches }), new Step({ name: "after", agent: after })),
    );
    const running = runner.run(0, { signal: controller.signal });
    while (seen.length < 5) await tick();
    controller.abort();
    const result = await running;
    expect(result.status).toBe("failed");
    expect(result.success).toBe(false);
    expect(seen.every((s) => s.aborted)).toBe(true);
    expect(after.calls).toBe(0);
  });

  it("cancellation also reaches branches whose agents ignore their signal", async () => {
    let started = 0;
    const stuck = (name: string) =>
      Step.fromCallable(
        () => {
          started++;
          return new Promise(() => {});
        },
        { name },
      );
    const controller = new AbortController();
    const running = new Flujo(Step.parallel({ name: "p", branches: { a: stuck("a"), b: stuck("b") } })).run(
      0,
      {
        signal: controller.signal,
      },
    );
    while (started < 2) await tick();
    controller.abort();
    expect((await running).status).toBe("failed");
  });

  it("concurrencyLimit bounds how many branches run at once", async () => {
    let inFlight = 0;
    let max = 0;
    const branches: Record<string, Step> = {};
    for (let i = 0; i < 7; i++) {
      branches[`b${i}`] = fn(`s${i}`, async () => {
        inFlight++;
        max = Math.max(max, inFlight);
        for (let k = 0; k < 3; k++) await tick();
        inFlight--;
        return i;
      });
    }
    const sr = (await new Flujo(Step.parallel({ name: "p", branches, concurrencyLimit: 2 })).run(0))
      .stepHistory[0];
    expect(max).toBe(2);
    expect(Object.keys(sr.output as Ctx)).toHaveLength(7);
    expect(sr.success).toBe(true);
  });

  it("unused branch quota is refunded to the run after the step", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: new Step({ name: "a", agent: costly("a", 0.1, 1) }),
        b: new Step({ name: "b", agent: costly("b", 0.1, 1) }),
      },
    });
    const fits = await new Flujo(pipeline(par, new Step({ name: "big", agent: costly("c", 0.7, 1) })), {
      usageLimits: { totalCostUsdLimit: 1 },
    }).run(0);
    expect(fits.success).toBe(true);
    expect(fits.totalCostUsd).toBeCloseTo(0.9);
    const breaks = await new Flujo(pipeline(par, new Step({ name: "big", agent: costly("c", 0.85, 1) })), {
      usageLimits: { totalCostUsdLimit: 1 },
    })
      .run(0)
      .catch((e: unknown) => e);
    expect(breaks).toBeInstanceOf(UsageLimitExceededError);
  });

  it("a token limit is split with the remainder going to the first branches", async () => {
    // 10 tokens over 3 branches: 4, 3, 3. A branch spending 4 tokens fits only in the first share.
    const spend = (name: string) => new Step({ name, agent: costly(name, 0, 4) });
    const first = Step.parallel({
      name: "p",
      branches: { a: spend("a"), b: fn("b", () => 1), c: fn("c", () => 1) },
    });
    expect(
      (await new Flujo(first, { usageLimits: { totalTokensLimit: 10 }, enableCache: false }).run(0)).success,
    ).toBe(true);
    const second = Step.parallel({
      name: "p",
      branches: { b: fn("b", () => 1), a: spend("a"), c: fn("c", () => 1) },
    });
    const err = await new Flujo(second, { usageLimits: { totalTokensLimit: 10 }, enableCache: false })
      .run(0)
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("Token limit of 10 exceeded");
  });

  it("a parallel step nested in a loop aggregates cost into the loop", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: new Step({ name: "a", agent: costly("a", 0.1, 1) }),
        b: new Step({ name: "b", agent: costly("b", 0.2, 2) }),
      },
    });
    const loop = Step.loopUntil({ name: "l", body: par, maxLoops: 3, exitCondition: () => false });
    const result = await new Flujo(loop, { enableCache: false }).run(0);
    const sr = result.stepHistory[0];
    expect(sr.attempts).toBe(3);
    expect(sr.costUsd).toBeCloseTo(0.9);
    expect(sr.tokenCounts).toBe(9);
    expect(result.totalCostUsd).toBeCloseTo(0.9);
  });

  it("a parallel step inside a loop merges its branches' changes into the iteration", async () => {
    const par = Step.parallel({
      name: "p",
      branches: {
        a: fn("a", (_x, ctx) => {
          ctx.a = ((ctx.a as number) ?? 0) + 1;
        }),
        b: fn("b", (_x, ctx) => {
          ctx.b = ((ctx.b as number) ?? 0) + 10;
        }),
      },
    });
    const loop = Step.loopUntil({ name: "l", body: par, maxLoops: 3, exitCondition: () => false });
    const ctx = (await new Flujo(loop, { enableCache: false }).run(0)).finalPipelineContext!;
    expect([ctx.a, ctx.b]).toEqual([3, 30]);
  });

  it("fans out to 1000 branches without listener warnings and without leaving timers", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    try {
      const branches: Record<string, Step> = {};
      for (let i = 0; i < 1000; i++) {
        branches[`b${i}`] = Step.fromCallable(
          async (x: number, { signal }: AgentRunOptions) => {
            signal.addEventListener("abort", () => {});
            await tick();
            return x + i;
          },
          { name: `s${i}`, timeoutS: 30 },
        );
      }
      const nested = Step.parallel({ name: "inner", branches: { x: fn("x", () => 1), y: fn("y", () => 2) } });
      const outer = Step.parallel({ name: "outer", branches: { ...branches, nested } });
      const controller = new AbortController();
      const result = await new Flujo(outer, { enableCache: false }).run(1, { signal: controller.signal });
      expect(result.success).toBe(true);
      const output = result.stepHistory[0].output as Ctx;
      expect(output.b999).toBe(1000);
      expect(Object.keys(result.finalPipelineContext?.stepOutputs as Ctx)).toHaveLength(1002);
      await tick();
      await tick();
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      expect(timers()).toBeLessThanOrEqual(before);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("parallel merges cost what the branches changed", () => {
  /** An object whose property reads are counted: a merge that walks it reads them. */
  function watched(reads: { n: number }): Ctx {
    const obj: Ctx = {};
    for (let i = 0; i < 8; i++) {
      Object.defineProperty(obj, `k${i}`, {
        enumerable: true,
        configurable: true,
        get: () => {
          reads.n++;
          return { leaf: i };
        },
      });
    }
    return obj;
  }

  it("a nested change inside a branch never reads the untouched siblings of the changed path", async () => {
    const reads = { n: 0 };
    const branches: Record<string, Step> = {};
    for (const name of ["a", "b", "c"]) {
      branches[name] = fn(`set_${name}`, (x, ctx) => {
        ((ctx.payload as Ctx).touched as Ctx)[name] = true;
        return x;
      });
    }
    const context: Ctx = {
      ...(await new Flujo(fn("noop", (x) => x)).run(0)).finalPipelineContext,
      payload: { big: watched(reads), touched: {} },
    };
    const result = await new ExecutorCore({ enableCache: false }).execute(
      Step.parallel({ name: "p", branches }),
      0,
      { context },
    );
    expect(result.success).toBe(true);
    expect((context.payload as Ctx).touched).toEqual({ a: true, b: true, c: true });
    expect(reads.n).toBe(0);
  });
});
