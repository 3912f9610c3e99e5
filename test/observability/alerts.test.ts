import { describe, expect, it } from "vitest";
import {
  type AlertPayload,
  type AlertResolvedPayload,
  Flujo,
  type HookPayload,
  Metrics,
  Pipeline,
  pipeline,
  Step,
  stepResult,
} from "../../src/index.js";
import { AlertMonitor } from "../../src/observability/alerts.js";
import { memoryLogger } from "../support/agents.js";

type Alert = AlertPayload | AlertResolvedPayload;

function collector(): { alerts: Alert[]; hook: (p: HookPayload) => void } {
  const alerts: Alert[] = [];
  return {
    alerts,
    hook: (p) => {
      if (p.eventName === "alert" || p.eventName === "alert_resolved") alerts.push(p);
    },
  };
}

/** A step that fails when its input says so and costs what its input says. */
const worker = new Step({
  name: "work",
  agent: {
    run: async (input: { fail?: boolean; cost?: number }) => {
      if (input.fail === true) throw new Error("failed on purpose");
      return { output: "ok", costUsd: input.cost ?? 0 };
    },
  },
  config: { maxRetries: 0 },
});

describe("alerts", () => {
  it("a failure-rate rule fires once per breach and resolves once the rate clears", async () => {
    const c = collector();
    const runner = new Flujo(worker, {
      enableCache: false,
      hooks: [c.hook],
      alerts: [{ metric: "failure_rate", threshold: 0.5, window: 4, name: "errors" }],
    });
    const outcomes = [false, true, true, true, true, false, false, false];
    const after: string[] = [];
    for (const fail of outcomes) {
      await runner.run({ fail });
      after.push(c.alerts.map((a) => a.eventName).join(","));
    }
    // Window of 4 runs: 3/4 failed at run 4 (fires); still above at run 5 (no second alert); 1/4 at run 8.
    expect(after).toEqual(["", "", "", "alert", "alert", "alert", "alert", "alert,alert_resolved"]);
    expect(c.alerts[0]).toMatchObject({
      eventName: "alert",
      rule: "errors",
      metric: "failure_rate",
      value: 0.75,
      threshold: 0.5,
      step: undefined,
      pipelineName: "unnamed",
    });
    expect(c.alerts[1]).toMatchObject({ eventName: "alert_resolved", value: 0.25 });
  });

  it("hysteresis: a value hovering at the threshold does not flap", async () => {
    const c = collector();
    const runner = new Flujo(worker, {
      enableCache: false,
      hooks: [c.hook],
      alerts: [{ metric: "cost_per_run_usd", threshold: 1, hysteresis: 0.2 }],
    });
    for (const cost of [1.1, 0.95, 1.05, 0.9, 1.01, 0.7, 1.2]) await runner.run({ cost });
    // Fires above 1; resolves only at or below 0.8.
    expect(c.alerts.map((a) => [a.eventName, a.value])).toEqual([
      ["alert", 1.1],
      ["alert_resolved", 0.7],
      ["alert", 1.2],
    ]);
    expect(c.alerts[0].rule).toBe("cost_per_run_usd > 1");
  });

  it("a step p95 rule over the last N executions (latencies recorded directly)", async () => {
    const metrics = new Metrics();
    const alerts: Alert[] = [];
    const monitor = new AlertMonitor(
      [{ metric: "step_p95_ms", step: "llm", threshold: 100, window: 20 }],
      metrics,
      "p",
      async (a) => void alerts.push(a),
    );
    const run = async (latencies: number[]) => {
      monitor.runStarted();
      for (const ms of latencies) metrics.recordStep("llm", ms, stepResult("llm"));
      await monitor.runEnded("completed", 0);
    };
    for (let i = 0; i < 19; i++) await run([10]);
    expect(alerts).toEqual([]);
    // Two slow values out of 20: the p95 (the 19th of 20) is slow.
    await run([150]);
    expect(alerts).toEqual([]);
    await run([150]);
    expect(alerts.map((a) => a.eventName)).toEqual(["alert"]);
    expect(alerts[0]).toMatchObject({ step: "llm", value: 150, threshold: 100 });
    expect(alerts[0].message).toContain("step 'llm'");
    for (let i = 0; i < 5; i++) await run([150]);
    expect(alerts).toHaveLength(1);
    // The slow values leave the window of 20 after 20 fast ones.
    for (let i = 0; i < 20; i++) await run([10]);
    expect(alerts.map((a) => a.eventName)).toEqual(["alert", "alert_resolved"]);
    expect(monitor.firing).toEqual([]);
  });

  it("a step failure-rate rule watches that step's executions", async () => {
    const metrics = new Metrics();
    const alerts: Alert[] = [];
    const monitor = new AlertMonitor(
      [{ metric: "failure_rate", step: "s", threshold: 0.3, window: 10, minSamples: 10 }],
      metrics,
      "p",
      async (a) => void alerts.push(a),
    );
    monitor.runStarted();
    for (let i = 0; i < 9; i++) metrics.recordStep("s", 1, stepResult("s", { success: false }));
    await monitor.runEnded("completed", 0);
    expect(alerts).toEqual([]); // fewer than minSamples
    monitor.runStarted();
    metrics.recordStep("s", 1, stepResult("s"));
    await monitor.runEnded("completed", 0);
    expect(alerts.map((a) => [a.eventName, a.value])).toEqual([["alert", 0.9]]);
  });

  it("a heap rule is judged at the end of runs too", async () => {
    const c = collector();
    const runner = new Flujo(worker, {
      hooks: [c.hook],
      alerts: [{ metric: "heap_mb", threshold: 0.001 }],
    });
    await runner.run({});
    await runner.run({});
    expect(c.alerts.map((a) => a.eventName)).toEqual(["alert"]);
    expect(c.alerts[0].value).toBeGreaterThan(0.001);
  });

  it("an event-loop delay rule fires when a step blocks the loop", async () => {
    const c = collector();
    const blocking = Step.fromCallable(
      (x: unknown) => {
        const until = Date.now() + 150;
        while (Date.now() < until) {
          // blocks the event loop on purpose
        }
        return x;
      },
      { name: "blocking" },
    );
    // The monitor needs a few turns of the loop before a block to measure it.
    const settle = Step.fromCallable(async (x: unknown) => new Promise((r) => setTimeout(() => r(x), 40)), {
      name: "settle",
    });
    const runner = new Flujo(pipeline(settle, blocking), {
      hooks: [c.hook],
      alerts: [{ metric: "event_loop_delay_ms", threshold: 20 }],
      alertSampleIntervalMs: 10,
    });
    await runner.run(1);
    // The last sample is taken once the loop turns after the run (the run does not wait for it).
    for (let i = 0; i < 50 && c.alerts.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.alerts.map((a) => a.eventName)).toEqual(["alert"]);
    expect(c.alerts[0].value).toBeGreaterThan(20);
  });

  it("with no hook registered, alerts are logged as warnings", async () => {
    const logger = memoryLogger();
    const runner = new Flujo(worker, {
      logger,
      alerts: [{ metric: "cost_per_run_usd", threshold: 0.5 }],
    });
    await runner.run({ cost: 2 });
    await runner.run({ cost: 0.1 });
    expect(logger.warnings).toEqual([
      expect.stringContaining("[flujo alert] cost_per_run_usd is 2, above 0.5"),
      expect.stringContaining("[flujo alert resolved] cost_per_run_usd is back to 0.1"),
    ]);
  });

  it("an onFinish hook hears no alerts, so they are logged as warnings too", async () => {
    const logger = memoryLogger();
    const finished: string[] = [];
    const runner = new Flujo(new Pipeline([worker], { onFinish: [() => void finished.push("done")] }), {
      logger,
      alerts: [{ metric: "cost_per_run_usd", threshold: 0.5 }],
    });
    await runner.run({ cost: 2 });
    expect(finished).toEqual(["done"]);
    expect(logger.warnings).toEqual([
      expect.stringContaining("[flujo alert] cost_per_run_usd is 2, above 0.5"),
    ]);
  });

  it("alerts with metrics: false are refused, naming both options", () => {
    expect(
      () => new Flujo(worker, { metrics: false, alerts: [{ metric: "heap_mb", threshold: 1 }] }),
    ).toThrow(/alerts are judged on metrics; remove metrics: false or the alerts/);
  });

  it("alerts turn metrics on; a rule without its step is refused", () => {
    expect(new Flujo(worker, { alerts: [{ metric: "heap_mb", threshold: 1e9 }] }).metrics).toBeInstanceOf(
      Metrics,
    );
    expect(() => new Flujo(worker, { alerts: [{ metric: "step_p95_ms", threshold: 1 }] })).toThrow(
      /needs a step/,
    );
    expect(new Flujo(worker).metrics).toBeUndefined();
  });
});
