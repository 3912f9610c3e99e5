import { describe, expect, it } from "vitest";
import type { HookPayload } from "../../src/index.js";
import {
  Flujo,
  Pipeline,
  PipelineAbortSignal,
  pipeline,
  Step,
  UsageLimitExceededError,
} from "../../src/index.js";
import { costly, memoryLogger, recorder, ScriptedPlugin, StubAgent } from "../support/agents.js";

const ok = (name: string, out: unknown = name) => new Step({ name, agent: new StubAgent([out]) });

describe("hooks (cases 1-5)", () => {
  it("case 1: a two-step success fires pre_run, pre_step, post_step, pre_step, post_step, post_run", async () => {
    const rec = recorder();
    await new Flujo(pipeline(ok("s1"), ok("s2")), { hooks: [rec.hook] }).run("in");
    expect(rec.names).toEqual(["pre_run", "pre_step", "post_step", "pre_step", "post_step", "post_run"]);
  });

  it("case 2: a failing second step fires on_step_failure instead of its post_step", async () => {
    const rec = recorder();
    const s2 = new Step({
      name: "s2",
      agent: new StubAgent(["x"]),
      plugins: [new ScriptedPlugin([{ success: false, feedback: "nope" }])],
    });
    const result = await new Flujo(pipeline(ok("s1"), s2), { hooks: [rec.hook] }).run("in");
    expect(rec.names).toEqual([
      "pre_run",
      "pre_step",
      "post_step",
      "pre_step",
      "on_step_failure",
      "post_run",
    ]);
    expect(result.success).toBe(false);
    expect(result.status).toBe("failed");
  });

  it("case 3: a hook that throws is logged and the step still succeeds", async () => {
    const logger = memoryLogger();
    const bad = function badHook(): void {
      throw new TypeError("hook exploded");
    };
    const result = await new Flujo(pipeline(ok("s1")), { hooks: [bad], logger }).run("in");
    expect(result.success).toBe(true);
    expect(result.stepHistory[0].success).toBe(true);
    expect(logger.errors.some((m) => m.includes("Error in hook") && m.includes("hook exploded"))).toBe(true);
    expect(logger.errors[0]).toContain("badHook");
  });

  it("case 4: pipeline hooks see every event and onFinish hooks see only post_run", async () => {
    const all = recorder();
    const fin = recorder();
    const p = new Pipeline([ok("a"), ok("b")], { hooks: [all.hook], onFinish: [fin.hook] });
    await new Flujo(p).run("in");
    expect(all.names).toEqual(["pre_run", "pre_step", "post_step", "pre_step", "post_step", "post_run"]);
    expect(fin.names).toEqual(["post_run"]);
  });

  it("case 4b: composing pipelines concatenates their hooks", async () => {
    const h1 = recorder();
    const h2 = recorder();
    const p = new Pipeline([ok("a")], { hooks: [h1.hook] }).pipe(
      new Pipeline([ok("b")], { onFinish: [h2.hook] }),
    );
    await new Flujo(p).run(1);
    expect(h1.names).toHaveLength(6);
    expect(h2.names).toEqual(["post_run"]);
  });

  it("case 5: PipelineAbortSignal in post_run keeps a successful result", async () => {
    const abort = (p: HookPayload) => {
      if (p.eventName === "post_run") throw new PipelineAbortSignal("stop");
    };
    const result = await new Flujo(pipeline(ok("a")), { hooks: [abort], logger: memoryLogger() }).run("x");
    expect(result.success).toBe(true);
    expect(result.status).toBe("completed");
  });

  it("case 5b: PipelineAbortSignal in post_run does not mask a usage-limit breach", async () => {
    const abort = (p: HookPayload) => {
      if (p.eventName === "post_run") throw new PipelineAbortSignal("stop");
    };
    const step = new Step({ name: "pricey", agent: costly("x", 0.5, 1) });
    const runner = new Flujo(pipeline(step), {
      hooks: [abort],
      usageLimits: { totalCostUsdLimit: 0.25 },
      logger: memoryLogger(),
    });
    await expect(runner.run("x")).rejects.toBeInstanceOf(UsageLimitExceededError);
  });

  it("PipelineAbortSignal from pre_step ends the run with a paused-style result", async () => {
    const abort = (p: HookPayload) => {
      if (p.eventName === "pre_step" && p.step.name === "b") throw new PipelineAbortSignal("wait for me");
    };
    const result = await new Flujo(pipeline(ok("a"), ok("b")), { hooks: [abort] }).run("x");
    expect(result.status).toBe("paused");
    expect(result.success).toBe(false);
    expect(result.stepHistory.map((r) => r.name)).toEqual(["a"]);
    expect(result.finalPipelineContext?.pauseMessage).toBe("wait for me");
  });

  it("PipelineAbortSignal from on_step_failure ends the run gracefully", async () => {
    const abort = (p: HookPayload) => {
      if (p.eventName === "on_step_failure") throw new PipelineAbortSignal("halt");
    };
    const failing = new Step({
      name: "f",
      agent: new StubAgent([new Error("x")]),
      config: { maxRetries: 0 },
    });
    const result = await new Flujo(pipeline(failing, ok("never")), { hooks: [abort] }).run("x");
    expect(result.status).toBe("paused");
  });

  it("hook payloads carry the step, its input, the context and the quota", async () => {
    const seen: HookPayload[] = [];
    await new Flujo(pipeline(ok("a", 42)), {
      hooks: [(p) => void seen.push(p)],
      usageLimits: { totalCostUsdLimit: 2 },
      resources: { db: 1 },
    }).run("hello", { runId: "run_fixed" });
    const pre = seen.find((p) => p.eventName === "pre_run");
    expect(pre).toMatchObject({
      initialInput: "hello",
      runId: "run_fixed",
      initialBudgetCostUsd: 2,
      resources: { db: 1 },
    });
    const preStep = seen.find((p) => p.eventName === "pre_step");
    expect(preStep).toMatchObject({ stepInput: "hello", quotaBeforeUsd: 2, cacheHit: false });
    const post = seen.find((p) => p.eventName === "post_step");
    expect(post?.eventName === "post_step" && post.stepResult.output).toBe(42);
    const end = seen.find((p) => p.eventName === "post_run");
    expect(end?.eventName === "post_run" && end.pipelineResult.output).toBe(42);
  });

  it("FLUJO_STRICT_HOOKS=1 re-raises hook errors", async () => {
    process.env.FLUJO_STRICT_HOOKS = "1";
    try {
      const bad = () => {
        throw new Error("strict boom");
      };
      await expect(
        new Flujo(pipeline(ok("a")), { hooks: [bad], logger: memoryLogger() }).run("x"),
      ).rejects.toThrow("strict boom");
    } finally {
      delete process.env.FLUJO_STRICT_HOOKS;
    }
  });
});
