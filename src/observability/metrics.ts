import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { RunStatus, StepResult } from "../domain/results.js";
import { ENGINE_SLOTS, type Step } from "../dsl/step.js";
import { LatencyHistogram, type LatencySummary, Ring, toMicros } from "./histogram.js";
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
 * Latencies below this many µs are counted in a row of Metrics' table of small latencies, one row per
 * step name (512 bytes), and reach the step's histogram when it is read.
 */
const SMALL_US = 64;
/** Rows the table starts with (it doubles as step names are added). */
const SMALL_ROWS = 16;

/**
 * What is kept per step name; recorded once per execution, after the step completed. A successful
 * execution that cost nothing adds only a latency: the count is the histogram's, the successes are the
 * count less the failures.
 */
export class StepStats {
  /** The Metrics these belong to; undefined once it was reset. */
  owner: Metrics | undefined;
  /** Where the owner keeps them: the row of its table of small latencies. */
  readonly index: number;
  readonly #latency = new LatencyHistogram();
  failures = 0;
  retries = 0;
  fallbacks = 0;
  cacheHits = 0;
  costUsd = 0;
  tokens = 0;
  #latencyWindow: Ring | undefined = undefined;
  #failureWindow: Ring | undefined = undefined;

  constructor(owner: Metrics, index: number) {
    this.owner = owner;
    this.index = index;
  }

  /** Every latency recorded, those counted in the owner's table of small latencies included. */
  get latency(): LatencyHistogram {
    this.owner?.flushSmall(this);
    return this.#latency;
  }

  get count(): number {
    return this.latency.count;
  }

  get successes(): number {
    return this.latency.count - this.failures;
  }

  /**
   * Recent latencies (ms) and outcomes (1 = failed), only for steps an alert rule watches: each of
   * their executions reaches them, in the order they ended (none goes through the table).
   */
  get latencyWindow(): Ring | undefined {
    return this.#latencyWindow;
  }

  set latencyWindow(ring: Ring | undefined) {
    this.#latencyWindow = ring;
    this.owner?.watchChanged();
  }

  get failureWindow(): Ring | undefined {
    return this.#failureWindow;
  }

  set failureWindow(ring: Ring | undefined) {
    this.#failureWindow = ring;
    this.owner?.watchChanged();
  }

  get watched(): boolean {
    return this.#latencyWindow !== undefined || this.#failureWindow !== undefined;
  }

  /** One execution's latency and outcome into the histogram and the alert windows. */
  took(ms: number, failed: boolean): void {
    this.#latency.record(ms);
    if (this.#latencyWindow !== undefined) this.#latencyWindow.push(ms);
    if (this.#failureWindow !== undefined) this.#failureWindow.push(failed ? 1 : 0);
  }

  /** `count` executions of `us` µs, from the owner's table. */
  tookMicros(us: number, count: number): void {
    this.#latency.recordMicros(us, count);
  }
}

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
   * Counts of successful, free executions of under SMALL_US µs, not yet in their stats' histograms: a
   * row of SMALL_US per stats index. Counting a no-op step here is one increment in a small, contiguous
   * table; recording it in its step's own histogram (or logging it to record later) cost a no-op step
   * on the runner 4-8% of its time more (docs/observability.md, Overhead). Rows reach the histograms
   * when they are read.
   */
  #small = new Float64Array(SMALL_US * SMALL_ROWS);
  /**
   * What a step remembers of its stats is current while its key is one of these: renewed by reset()
   * and when alert windows change. `#key` marks stats no alert rule watches, which the table may count.
   */
  #key: object = {};
  #watchedKey: object = {};
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
    let s = this.#steps.get(name);
    if (s === undefined) {
      s = new StepStats(this, this.#byIndex.length);
      this.#byIndex.push(s);
      this.#steps.set(name, s);
      const need = this.#byIndex.length * SMALL_US;
      if (need > this.#small.length) {
        const grown = new Float64Array(need * 2);
        grown.set(this.#small);
        this.#small = grown;
      }
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
   * step object, no lookup by name. A successful, free and short execution of a step no alert rule
   * watches is counted in the table of small latencies.
   */
  stepDone(step: Step, ms: number, result: StepResult): void {
    const slots = step[ENGINE_SLOTS];
    const key = slots.metricsKey;
    if (key !== this.#key && key !== this.#watchedKey) this.#remember(step);
    if (
      slots.metricsKey === this.#key &&
      result.success &&
      result.costUsd === 0 &&
      result.tokenCounts === 0 &&
      result.metadata.cacheHit !== true
    ) {
      const us = toMicros(ms);
      if (us < SMALL_US) {
        this.#small[slots.statsIndex * SMALL_US + us]++;
        return;
      }
    }
    this.record(this.#byIndex[slots.statsIndex], ms, result);
  }

  #remember(step: Step): void {
    const slots = step[ENGINE_SLOTS];
    const s = this.step(step.name);
    slots.metricsKey = s.watched ? this.#watchedKey : this.#key;
    slots.statsIndex = s.index;
  }

  /** Moves the stats' row of the table of small latencies into their histogram. */
  flushSmall(s: StepStats): void {
    const small = this.#small;
    const row = s.index * SMALL_US;
    for (let us = 0; us < SMALL_US; us++) {
      const n = small[row + us];
      if (n !== 0) {
        s.tookMicros(us, n);
        small[row + us] = 0;
      }
    }
  }

  /** A step's alert windows changed: whether steps' stats are watched, as they remember it, may be stale. */
  watchChanged(): void {
    this.#key = {};
    this.#watchedKey = {};
  }

  /** Records a completed step: its wall time in ms and its result. */
  recordStep(name: string, ms: number, result: StepResult): void {
    this.record(this.step(name), ms, result);
  }

  /** recordStep with the stats in hand. */
  record(s: StepStats, ms: number, result: StepResult): void {
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
    this.#small = new Float64Array(SMALL_US * SMALL_ROWS);
    this.watchChanged();
    this.#pipelines.clear();
    this.#loop?.reset();
  }
}
