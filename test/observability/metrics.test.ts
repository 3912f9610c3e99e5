import { describe, expect, it } from "vitest";
import { Flujo, LatencyHistogram, Metrics, pipeline, Step, stepResult } from "../../src/index.js";
import { Ring } from "../../src/observability/histogram.js";
import { RuntimeError, StubAgent } from "../support/agents.js";

const id = (name: string) => Step.fromCallable(async (x: unknown) => x, { name });

describe("latency histogram", () => {
  it("gives count, mean, p50, p90, p95, p99 and max of a known distribution (within HDR's 0.1%)", () => {
    const h = new LatencyHistogram();
    // 1..10,000 ms, shuffled: percentile p is p% of 10,000.
    const values = Array.from({ length: 10_000 }, (_, i) => i + 1);
    for (let i = values.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [values[i], values[j]] = [values[j], values[i]];
    }
    for (const v of values) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.mean).toBeCloseTo(5000.5, 6);
    const near = (actual: number, expected: number) =>
      expect(Math.abs(actual - expected) / expected).toBeLessThan(0.001);
    near(s.p50, 5000);
    near(s.p90, 9000);
    near(s.p95, 9500);
    near(s.p99, 9900);
    near(s.max, 10_000);
  });

  it("a skewed distribution: 99 fast values and one slow one", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 99; i++) h.record(2);
    h.record(500);
    const s = h.summary();
    expect(s.p50).toBeCloseTo(2, 2);
    expect(s.p99).toBeCloseTo(2, 2);
    expect(s.max).toBeCloseTo(500, 0);
    expect(s.mean).toBeCloseTo((99 * 2 + 500) / 100, 6);
  });

  it("counts recorded in bulk (recordMicros) give the same figures as recording each value", () => {
    const h = new LatencyHistogram();
    const exact = new LatencyHistogram();
    h.recordMicros(3, 4);
    h.recordMicros(250, 1);
    h.recordMicros(7000, 2);
    for (const ms of [0.003, 0.003, 0.003, 0.003, 0.25, 7, 7]) exact.record(ms);
    expect(h.summary()).toEqual(exact.summary());
    expect(h.sumMs).toBeCloseTo(0.012 + 0.25 + 14, 9);
  });

  it("is empty after reset", () => {
    const h = new LatencyHistogram();
    h.record(3);
    h.reset();
    expect(h.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 });
  });
});

describe("metrics", () => {
  it("percentiles per step from recorded latencies", () => {
    const m = new Metrics();
    for (let i = 1; i <= 100; i++) m.recordStep("s", i, stepResult("s"));
    const s = m.snapshot().steps.s;
    expect(s.count).toBe(100);
    expect(s.latencyMs.p50).toBeCloseTo(50, 1);
    expect(s.latencyMs.p95).toBeCloseTo(95, 1);
    expect(s.latencyMs.p99).toBeCloseTo(99, 1);
    expect(s.latencyMs.max).toBeCloseTo(100, 1);
  });

  it("counts successes, failures, retries, fallbacks, cache hits, cost and tokens per step and per pipeline", async () => {
    const flaky = new Step({
      name: "flaky",
      agent: new StubAgent([new RuntimeError("boom"), { output: "ok", costUsd: 0.5, tokenCounts: 7 }]),
      config: { maxRetries: 1 },
    });
    const primary = new Step({
      name: "primary",
      agent: new StubAgent([new RuntimeError("down")]),
      config: { maxRetries: 0 },
      fallbackStep: id("backup"),
    });
    const runner = new Flujo(pipeline(id("cached"), flaky, primary), { metrics: true, pipelineName: "p" });
    await runner.run("same");
    await runner.run("same");
    const snap = runner.metrics!.snapshot();
    expect(snap.steps.cached).toMatchObject({ count: 2, successes: 2, cacheHits: 1, cacheHitRatio: 0.5 });
    // Second run: flaky's agent now succeeds at once, but the executor cache hits first.
    expect(snap.steps.flaky).toMatchObject({ count: 2, successes: 2, retries: 1, costUsd: 1, tokens: 14 });
    expect(snap.steps.primary).toMatchObject({ successes: 2, fallbacks: 1 });
    expect(snap.steps.backup.count).toBe(1);
    expect(snap.pipelines.p).toMatchObject({ runs: 2, completed: 2, failed: 0, costUsd: 1 });
    // The run's tokens are its top-level steps' (a fallback's usage is in the step it stands in for).
    expect(snap.pipelines.p.tokens).toBe(
      snap.steps.cached.tokens + snap.steps.flaky.tokens + snap.steps.primary.tokens,
    );
    expect(snap.pipelines.p.latencyMs.count).toBe(2);
    expect(snap.resources).toMatchObject({ activeRuns: 0, inFlightSteps: 0 });
    expect(snap.resources.heapUsedMb).toBeGreaterThan(0);
    expect(snap.resources.rssMb).toBeGreaterThan(0);
    // A snapshot is plain data.
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  it("counts failed runs and failed steps, nested steps included", async () => {
    const runner = new Flujo(
      Step.loopUntil({
        name: "loop",
        body: new Step({
          name: "inner",
          agent: new StubAgent([new RuntimeError("x")]),
          config: { maxRetries: 0 },
        }),
        maxLoops: 3,
        exitCondition: () => false,
      }),
      { metrics: true },
    );
    await runner.run(1);
    const snap = runner.metrics!.snapshot();
    expect(snap.steps.inner).toMatchObject({ count: 3, failures: 3, successes: 0 });
    expect(snap.steps.loop).toMatchObject({ count: 1, failures: 1 });
    expect(snap.pipelines.unnamed).toMatchObject({ runs: 1, failed: 1 });
  });

  it("active runs and in-flight steps while a run is in progress", async () => {
    const metrics = new Metrics();
    let seen: { activeRuns: number; inFlightSteps: number } | undefined;
    const probe = Step.fromCallable(
      async (x: unknown) => {
        const r = metrics.resources();
        seen = { activeRuns: r.activeRuns, inFlightSteps: r.inFlightSteps };
        return x;
      },
      { name: "probe" },
    );
    await new Flujo(Step.loopUntil({ name: "outer", body: probe, maxLoops: 1, exitCondition: () => true }), {
      metrics,
    }).run(1);
    expect(seen).toEqual({ activeRuns: 1, inFlightSteps: 2 });
    expect(metrics.resources()).toMatchObject({ activeRuns: 0, inFlightSteps: 0 });
  });

  it("queue length: parallel branches waiting for a concurrencyLimit slot", async () => {
    const metrics = new Metrics();
    const waiting: number[] = [];
    const probe = (name: string) =>
      Step.fromCallable(
        async (x: unknown) => {
          waiting.push(metrics.resources().queuedBranches);
          await new Promise((r) => setImmediate(r));
          return x;
        },
        { name },
      );
    const par = Step.parallel({
      name: "fan",
      branches: { a: probe("a"), b: probe("b"), c: probe("c"), d: probe("d") },
      concurrencyLimit: 1,
    });
    await new Flujo(par, { metrics }).run(1);
    expect(waiting).toEqual([3, 2, 1, 0]);
    expect(metrics.resources().queuedBranches).toBe(0);
  });

  it("one Metrics shared by two runners adds up", async () => {
    const metrics = new Metrics();
    await new Flujo(id("s"), { metrics, enableCache: false, pipelineName: "a" }).run(1);
    await new Flujo(id("s"), { metrics, enableCache: false, pipelineName: "b" }).run(2);
    const snap = metrics.snapshot();
    expect(snap.steps.s.count).toBe(2);
    expect(Object.keys(snap.pipelines).sort()).toEqual(["a", "b"]);
  });

  it("bottleneck report: largest share of the total time and highest p95", () => {
    const m = new Metrics();
    for (let i = 0; i < 200; i++) m.recordStep("many-small", 5, stepResult("many-small"));
    for (let i = 0; i < 100; i++) m.recordStep("rare-slow", i === 0 ? 60 : 1, stepResult("rare-slow"));
    for (let i = 0; i < 10; i++) m.recordRun("p", 200, "completed", 0, 0);
    const report = m.bottlenecks();
    expect(report.totalRunMs).toBe(2000);
    expect(report.byTotalTime.map((b) => b.step)).toEqual(["many-small", "rare-slow"]);
    expect(report.byTotalTime[0].totalMs).toBe(1000);
    expect(report.byTotalTime[0].shareOfTotalTime).toBeCloseTo(0.5, 6);
    expect(report.byP95.map((b) => b.step)).toEqual(["many-small", "rare-slow"]);
    for (let i = 0; i < 10; i++) m.recordStep("rare-slow", 90, stepResult("rare-slow"));
    expect(m.bottlenecks().byP95[0]).toMatchObject({ step: "rare-slow", count: 110 });
    expect(m.bottlenecks().byP95[0].p95Ms).toBeCloseTo(90, 0);
  });

  it("reset forgets the figures", () => {
    const m = new Metrics();
    m.recordStep("s", 1, stepResult("s"));
    m.reset();
    expect(m.snapshot().steps).toEqual({});
  });

  it("engine records (short ones counted in a table until read) are exact at every read: mid-run, after a reset", async () => {
    const metrics = new Metrics();
    const seen: number[] = [];
    const probe = Step.fromCallable(
      async (x: unknown) => {
        seen.push(metrics.step("a").count);
        return x;
      },
      { name: "probe" },
    );
    const runner = new Flujo(pipeline(id("a"), id("b"), probe), { metrics, enableCache: false });
    for (let i = 0; i < 400; i++) await runner.run(i);
    // 1,200 executions, most of them under 64 µs (counted in the table), and `probe` read it 400 times.
    expect(seen).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const snap = metrics.snapshot().steps;
    expect([snap.a.count, snap.b.count, snap.probe.count]).toEqual([400, 400, 400]);
    expect(snap.b.successes).toBe(400);
    expect(snap.b.latencyMs.count).toBe(400);
    expect(metrics.bottlenecks().byTotalTime.map((b) => b.count)).toEqual([400, 400, 400]);
    const step = id("c");
    metrics.stepDone(step, 1, stepResult("c"));
    metrics.stepDone(step, 1, stepResult("c"));
    metrics.reset();
    expect(metrics.snapshot().steps).toEqual({});
    metrics.stepDone(step, 1, stepResult("c"));
    expect(metrics.snapshot().steps.c.count).toBe(1);
  });

  it("alert windows keep the order steps ended in, whether their records were logged or not", () => {
    const metrics = new Metrics();
    const step = id("s");
    const stats = metrics.step("s");
    stats.latencyWindow = new Ring(10);
    stats.failureWindow = new Ring(10);
    const ok = stepResult("s");
    const failed = stepResult("s", { success: false });
    const paid = stepResult("s", { costUsd: 0.5 });
    for (const [ms, r] of [
      [1, ok],
      [2, ok],
      [3, failed],
      [4, ok],
      [5, paid],
      [6, ok],
    ] as const)
      metrics.stepDone(step, ms, r);
    const s = metrics.step("s");
    expect([...s.latencyWindow!.values()]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...s.failureWindow!.values()]).toEqual([0, 0, 1, 0, 0, 0]);
    expect([s.count, s.failures, s.costUsd]).toEqual([6, 1, 0.5]);
  });

  it("latencies below and above the table's 64 µs from the engine give the figures of recording each", () => {
    const metrics = new Metrics();
    const exact = new LatencyHistogram();
    const step = id("s");
    // 0..200 µs in a shuffled order, and a failure and a paid step (not counted in the table) among them.
    for (let k = 0; k <= 200; k++) {
      const us = (k * 37) % 201;
      const r = stepResult("s", { latencyS: us / 1e6, success: k !== 50, costUsd: k === 60 ? 0.1 : 0 });
      metrics.stepDone(step, us / 1000, r);
      exact.record(us / 1000);
      if (k === 100) expect(metrics.step("s").count).toBe(101);
    }
    const s = metrics.snapshot().steps.s;
    expect(s.latencyMs).toEqual(exact.summary());
    expect([s.count, s.failures, s.costUsd]).toEqual([201, 1, 0.1]);
    expect(metrics.bottlenecks().byTotalTime[0].totalMs).toBeCloseTo(exact.sumMs, 9);
  });

  it("a window added after a step first recorded sees every later execution", () => {
    const metrics = new Metrics();
    const step = id("w");
    const quick = stepResult("w", { latencyS: 0.000002 });
    metrics.stepDone(step, 0.002, quick);
    metrics.stepDone(step, 0.002, quick);
    metrics.step("w").latencyWindow = new Ring(5);
    metrics.stepDone(step, 0.002, quick);
    metrics.stepDone(step, 0.002, quick);
    expect([...metrics.step("w").latencyWindow!.values()]).toEqual([0.002, 0.002]);
    expect(metrics.step("w").count).toBe(4);
    metrics.step("w").latencyWindow = undefined;
    metrics.stepDone(step, 0.002, quick);
    expect(metrics.step("w").count).toBe(5);
  });

  it("a runner's steps record into the metrics they run with, after a reset and beside other metrics", async () => {
    const steps = pipeline(id("a"), id("b"));
    const first = new Metrics();
    const second = new Metrics();
    const one = new Flujo(steps, { metrics: first });
    const other = new Flujo(steps, { metrics: second });
    await one.run(1);
    await other.run(1);
    await one.run(1);
    expect(first.snapshot().steps.a.count).toBe(2);
    expect(second.snapshot().steps.a.count).toBe(1);
    first.reset();
    await one.run(1);
    expect(first.snapshot().steps.a.count).toBe(1);
    expect(first.snapshot().steps.b.latencyMs.count).toBe(1);
    expect(second.snapshot().steps.b.count).toBe(1);
  });
});
