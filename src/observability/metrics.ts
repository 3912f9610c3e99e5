import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { RunStatus, StepResult } from "../domain/results.js";
import { ENGINE_SLOTS, type Step } from "../dsl/step.js";
import { LatencyHistogram, type LatencySummary, Ring } from "./histogram.js";
import { toPrometheus } from "./prometheus.js";

export interface StepMetrics {
  count: number;
  successes: number;
  failures: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** Times the step's fallback ran. */
  fallbacks: number;
  cacheHits: number;
  /** cacheHits / count (0 when the step never ran). */
  cacheHitRatio: number;
  costUsd: number;
  tokens: number;
  latencyMs: LatencySummary;
}

export interface PipelineMetrics {
  runs: number;
  completed: number;
  failed: number;
  paused: number;
  costUsd: number;
  tokens: number;
  latencyMs: LatencySummary;
}

export interface ResourceMetrics {
  heapUsedMb: number;
  rssMb: number;
  /** Event-loop delay since the monitor started (undefined unless it is on: `eventLoopDelay: true` or a rule). */
  eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number } | undefined;
  activeRuns: number;
  inFlightSteps: number;
  /** Parallel branches waiting for a slot of their step's concurrencyLimit: the engine's queue. */
  queuedBranches: number;
}

/** `metrics.snapshot()`: plain data, safe to JSON.stringify or send anywhere. */
export interface MetricsSnapshot {
  steps: Record<string, StepMetrics>;
  pipelines: Record<string, PipelineMetrics>;
  resources: ResourceMetrics;
}

export interface Bottleneck {
  step: string;
  /** The step's total time over every run of every pipeline's total run time (inclusive: a loop counts its body). */
  shareOfTotalTime: number;
  totalMs: number;
  p95Ms: number;
  count: number;
}

export interface BottleneckReport {
  totalRunMs: number;
  /** Steps with the largest share of the total time, largest first. */
  byTotalTime: Bottleneck[];
  /** Steps with the highest p95 latency, highest first. */
  byP95: Bottleneck[];
}

export interface MetricsOptions {
  /** Sample event-loop delay (perf_hooks.monitorEventLoopDelay) for `resources`; default false. */
  eventLoopDelay?: boolean;
}

/**
 * What is kept per step name; recorded once per execution, after the step completed. A successful
 * execution that cost nothing adds only a latency: the count is the histogram's, the successes are the
 * count less the failures. Such executions reach these stats through their owner's log (Metrics): the
 * readers of what they change settle the log first.
 */
export class StepStats {
  /** The Metrics these belong to; undefined once it was reset. */
  owner: Metrics | undefined;
  /** Where the owner keeps them (its log names stats by index). */
  readonly index: number;
  readonly #latency = new LatencyHistogram();
  failures = 0;
  retries = 0;
  fallbacks = 0;
  cacheHits = 0;
  costUsd = 0;
  tokens = 0;
  /** Recent latencies (ms) and outcomes (1 = failed), only for steps an alert rule watches (read through `Metrics.step`). */
  latencyWindow: Ring | undefined = undefined;
  failureWindow: Ring | undefined = undefined;

  constructor(owner: Metrics, index: number) {
    this.owner = owner;
    this.index = index;
  }

  get latency(): LatencyHistogram {
    this.owner?.settle();
    return this.#latency;
  }

  get count(): number {
    return this.latency.count;
  }

  get successes(): number {
    return this.latency.count - this.failures;
  }

  /** One execution's latency and outcome into the histogram and the alert windows. */
  took(ms: number, failed: boolean): void {
    this.#latency.record(ms);
    if (this.latencyWindow !== undefined) this.latencyWindow.push(ms);
    if (this.failureWindow !== undefined) this.failureWindow.push(failed ? 1 : 0);
  }
}

/** Steps the log holds before it is applied (pairs of doubles: 8 KB). */
const LOG_STEPS = 512;

export class PipelineStats {
  readonly latency = new LatencyHistogram();
  runs = 0;
  completed = 0;
  failed = 0;
  paused = 0;
  costUsd = 0;
  tokens = 0;
  lastCostUsd = 0;
  readonly failureWindow = new Ring(100);
}

/**
 * Latency histograms and counters per step name and per pipeline, and resource figures. One Metrics may
 * be shared by several runners (`new Flujo(p, { metrics })`); each records into it as its runs go.
 */
export class Metrics {
  readonly #steps = new Map<string, StepStats>();
  #byIndex: StepStats[] = [];
  /**
   * Successful, free executions not yet added to their stats: (stats index, ms) pairs, in the order the
   * steps ended. Writing two numbers here is what a step's metrics cost on the engine's path; adding
   * them to 100 different histograms one per step cost four times as much, the stats being cold in the
   * CPU's caches by then (docs/observability.md, Overhead). Anything that reads or changes the stats
   * applies the log first, so no reader sees the difference.
   */
  readonly #log = new Float64Array(2 * LOG_STEPS);
  #logged = 0;
  /** Bumped by reset(): the stats indexes steps remember from before are stale. */
  #epoch = 0;
  readonly #pipelines = new Map<string, PipelineStats>();
  /** Failure outcomes of the last runs of any pipeline (1 = failed), for run-level failure-rate rules. */
  readonly runFailures = new Ring(1000);
  activeRuns = 0;
  inFlightSteps = 0;
  queuedBranches = 0;
  #loop: IntervalHistogram | undefined;
  #loopUsers = 0;

  constructor(options: MetricsOptions = {}) {
    if (options.eventLoopDelay === true) this.watchEventLoop();
  }

  /** The stats of a step name (created on first use). */
  step(name: string): StepStats {
    this.settle();
    let s = this.#steps.get(name);
    if (s === undefined) {
      s = new StepStats(this, this.#byIndex.length);
      this.#byIndex.push(s);
      this.#steps.set(name, s);
    }
    return s;
  }

  pipeline(name: string): PipelineStats {
    let p = this.#pipelines.get(name);
    if (p === undefined) {
      p = new PipelineStats();
      this.#pipelines.set(name, p);
    }
    return p;
  }

  /**
   * The engine's record of a completed step (its wall time in ms and its result): found through the
   * step object, no lookup by name. A successful, free execution goes into the log.
   */
  stepDone(step: Step, ms: number, result: StepResult): void {
    const slots = step[ENGINE_SLOTS];
    if (
      slots.metrics === this &&
      slots.metricsEpoch === this.#epoch &&
      result.success &&
      result.costUsd === 0 &&
      result.tokenCounts === 0 &&
      result.metadata.cacheHit !== true
    ) {
      const log = this.#log;
      const at = this.#logged;
      log[at] = slots.statsIndex;
      log[at + 1] = ms;
      this.#logged = at + 2;
      if (at + 2 === log.length) this.settle();
      return;
    }
    let s: StepStats;
    if (slots.metrics === this && slots.metricsEpoch === this.#epoch) s = this.#byIndex[slots.statsIndex];
    else {
      s = this.step(step.name);
      slots.metrics = this;
      slots.metricsEpoch = this.#epoch;
      slots.statsIndex = s.index;
    }
    this.record(s, ms, result);
  }

  /** Adds the logged executions to their stats. */
  settle(): void {
    const n = this.#logged;
    if (n === 0) return;
    this.#logged = 0;
    const log = this.#log;
    const byIndex = this.#byIndex;
    for (let i = 0; i < n; i += 2) byIndex[log[i]].took(log[i + 1], false);
  }

  /** Records a completed step: its wall time in ms and its result. */
  recordStep(name: string, ms: number, result: StepResult): void {
    this.record(this.step(name), ms, result);
  }

  /** recordStep with the stats in hand. */
  record(s: StepStats, ms: number, result: StepResult): void {
    // After what the log holds: the alert windows keep the order the steps ended in.
    this.settle();
    s.took(ms, !result.success);
    if (!result.success) s.failures++;
    if (result.metadata.cacheHit === true) s.cacheHits++;
    // Most steps cost nothing: no write (a float field is a box of its own in memory).
    if (result.costUsd !== 0) s.costUsd += result.costUsd;
    if (result.tokenCounts !== 0) s.tokens += result.tokenCounts;
  }

  recordRun(pipeline: string, ms: number, status: RunStatus, costUsd: number, tokens: number): void {
    const p = this.pipeline(pipeline);
    p.latency.record(ms);
    p.runs++;
    if (status === "completed") p.completed++;
    else if (status === "paused") p.paused++;
    else p.failed++;
    p.costUsd += costUsd;
    p.tokens += tokens;
    p.lastCostUsd = costUsd;
    const failed = status === "failed" ? 1 : 0;
    p.failureWindow.push(failed);
    this.runFailures.push(failed);
  }

  /** Starts sampling event-loop delay (reference-counted; `unwatchEventLoop` stops it). */
  watchEventLoop(): void {
    if (this.#loopUsers++ === 0) {
      this.#loop = monitorEventLoopDelay({ resolution: 10 });
      this.#loop.enable();
    }
  }

  unwatchEventLoop(): void {
    if (this.#loopUsers > 0 && --this.#loopUsers === 0) {
      this.#loop?.disable();
      this.#loop = undefined;
    }
  }

  /** Event-loop delay p99 (ms) since the last call, then starts a new interval; undefined when not watched. */
  takeEventLoopP99(): number | undefined {
    const h = this.#loop;
    if (h === undefined || h.count === 0) return undefined;
    const p99 = h.percentile(99) / 1e6;
    h.reset();
    return p99;
  }

  resources(): ResourceMetrics {
    const mem = process.memoryUsage();
    const h = this.#loop;
    return {
      heapUsedMb: mem.heapUsed / 1048576,
      rssMb: mem.rss / 1048576,
      eventLoopDelayMs:
        h === undefined || h.count === 0
          ? undefined
          : {
              mean: h.mean / 1e6,
              p50: h.percentile(50) / 1e6,
              p99: h.percentile(99) / 1e6,
              max: h.max / 1e6,
            },
      activeRuns: this.activeRuns,
      inFlightSteps: this.inFlightSteps,
      queuedBranches: this.queuedBranches,
    };
  }

  snapshot(): MetricsSnapshot {
    this.settle();
    const steps: Record<string, StepMetrics> = {};
    for (const [name, s] of this.#steps) {
      steps[name] = {
        count: s.count,
        successes: s.successes,
        failures: s.failures,
        retries: s.retries,
        fallbacks: s.fallbacks,
        cacheHits: s.cacheHits,
        cacheHitRatio: s.count === 0 ? 0 : s.cacheHits / s.count,
        costUsd: s.costUsd,
        tokens: s.tokens,
        latencyMs: s.latency.summary(),
      };
    }
    const pipelines: Record<string, PipelineMetrics> = {};
    for (const [name, p] of this.#pipelines) {
      pipelines[name] = {
        runs: p.runs,
        completed: p.completed,
        failed: p.failed,
        paused: p.paused,
        costUsd: p.costUsd,
        tokens: p.tokens,
        latencyMs: p.latency.summary(),
      };
    }
    return { steps, pipelines, resources: this.resources() };
  }

  /** The snapshot in the Prometheus text exposition format (version 0.0.4). */
  prometheus(): string {
    return toPrometheus(this.snapshot());
  }

  /** Where the time goes: the steps with the largest share of the total run time, and the highest p95. */
  bottlenecks(top = 5): BottleneckReport {
    this.settle();
    let totalRunMs = 0;
    for (const p of this.#pipelines.values()) totalRunMs += p.latency.sumMs;
    const all: Bottleneck[] = [];
    for (const [name, s] of this.#steps) {
      const totalMs = s.latency.sumMs;
      all.push({
        step: name,
        shareOfTotalTime: totalRunMs === 0 ? 0 : totalMs / totalRunMs,
        totalMs,
        p95Ms: s.latency.percentile(95),
        count: s.count,
      });
    }
    return {
      totalRunMs,
      byTotalTime: [...all].sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
      byP95: [...all].sort((a, b) => b.p95Ms - a.p95Ms).slice(0, top),
    };
  }

  /** Forgets every figure (the event-loop monitor keeps running if it was on). */
  reset(): void {
    for (const s of this.#steps.values()) s.owner = undefined;
    this.#steps.clear();
    this.#byIndex = [];
    this.#logged = 0;
    this.#epoch++;
    this.#pipelines.clear();
    this.#loop?.reset();
  }
}
