import type { RunStatus } from "../domain/results.js";
import type { Logger } from "../telemetry/hooks.js";
import { Ring } from "./histogram.js";
import type { Metrics } from "./metrics.js";

/** What a rule watches. */
export type AlertMetric =
  /** p95 latency (ms) of one step over its last `window` executions (one per run for a top-level step). */
  | "step_p95_ms"
  /** Share of failures (0-1) over the last `window` runs, or over a step's last `window` executions. */
  | "failure_rate"
  /** p99 event-loop delay (ms) over the last sampling interval. */
  | "event_loop_delay_ms"
  /** V8 heap in use, in MB. */
  | "heap_mb"
  /** Cost of a run in USD: the last run's, or the mean of the last `window` runs when `window` is set. */
  | "cost_per_run_usd";

export interface AlertRule {
  metric: AlertMetric;
  /** The rule fires when the value goes above this. */
  threshold: number;
  /** Required by step_p95_ms; optional for failure_rate (default: the runs). */
  step?: string;
  /** How many recent runs or executions the value is computed over (default 20; 1 for cost_per_run_usd). */
  window?: number;
  /**
   * No value is judged before the window holds this many samples: default the whole window for
   * failure_rate and step_p95_ms (a rate or a p95 of a few samples says little), 1 otherwise.
   */
  minSamples?: number;
  /**
   * A firing rule resolves only once the value is at or below threshold × (1 − hysteresis), default 0.1:
   * a value hovering around the threshold does not fire and resolve on every run.
   */
  hysteresis?: number;
  /** Shown in payloads and warnings; default derived from the metric, step and threshold. */
  name?: string;
}

interface AlertFields {
  rule: string;
  metric: AlertMetric;
  value: number;
  threshold: number;
  step: string | undefined;
  pipelineName: string;
  message: string;
  /** Date.now() when the breach (or its end) was seen. */
  timestamp: number;
  isBackground: boolean;
}

/** An `alert` hook event: a rule's value went above its threshold. Sent once per breach. */
export interface AlertPayload extends AlertFields {
  eventName: "alert";
}

/** An `alert_resolved` hook event: a firing rule's value came back below its clear level. */
export interface AlertResolvedPayload extends AlertFields {
  eventName: "alert_resolved";
}

/** The milliseconds between resource samples (event-loop delay, heap) while runs are in progress. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 1000;

interface RuleState {
  readonly rule: AlertRule;
  readonly name: string;
  readonly clearAt: number;
  readonly window: number;
  /** Run-level rules keep their own window of per-run values. */
  readonly runs: Ring | undefined;
  firing: boolean;
}

function ruleName(rule: AlertRule): string {
  if (rule.name !== undefined) return rule.name;
  return rule.step === undefined
    ? `${rule.metric} > ${rule.threshold}`
    : `${rule.metric}(${rule.step}) > ${rule.threshold}`;
}

/** Checks the rules of one runner, at the end of each run and (resource rules) on a timer while runs go on. */
export class AlertMonitor {
  readonly #states: RuleState[];
  readonly #metrics: Metrics;
  readonly #pipeline: string;
  readonly #emit: (payload: AlertPayload | AlertResolvedPayload) => Promise<void>;
  readonly #sampled: boolean;
  readonly #intervalMs: number;
  #active = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** When the sampling timer last fired (or started): how late its next tick is, is the loop's delay. */
  #lastTick = 0;
  /** The sampling timer's lateness seen when the last run ended, judged by the final sample. */
  #endLag = 0;

  constructor(
    rules: readonly AlertRule[],
    metrics: Metrics,
    pipelineName: string,
    emit: (payload: AlertPayload | AlertResolvedPayload) => Promise<void>,
    intervalMs = DEFAULT_SAMPLE_INTERVAL_MS,
  ) {
    this.#metrics = metrics;
    this.#pipeline = pipelineName;
    this.#emit = emit;
    this.#intervalMs = intervalMs;
    this.#states = rules.map((rule) => {
      if (!Number.isFinite(rule.threshold))
        throw new TypeError(`alert rule ${ruleName(rule)}: threshold must be a number`);
      if (rule.metric === "step_p95_ms" && rule.step === undefined)
        throw new TypeError(`alert rule ${ruleName(rule)}: step_p95_ms needs a step`);
      const window = Math.max(1, rule.window ?? (rule.metric === "cost_per_run_usd" ? 1 : 20));
      const runLevel =
        rule.metric === "cost_per_run_usd" || (rule.metric === "failure_rate" && rule.step === undefined);
      return {
        rule,
        name: ruleName(rule),
        clearAt: rule.threshold * (1 - (rule.hysteresis ?? 0.1)),
        window,
        runs: runLevel ? new Ring(window) : undefined,
        firing: false,
      };
    });
    this.#sampled = rules.some((r) => r.metric === "event_loop_delay_ms" || r.metric === "heap_mb");
    this.#watchSteps();
  }

  /** Step rules need the step's recent values; a window is added to its stats (kept across metrics.reset). */
  #watchSteps(): void {
    for (const s of this.#states) {
      const step = s.rule.step;
      if (step === undefined) continue;
      const stats = this.#metrics.step(step);
      if (s.rule.metric === "step_p95_ms" && (stats.latencyWindow?.capacity ?? 0) < s.window)
        stats.latencyWindow = new Ring(s.window);
      if (s.rule.metric === "failure_rate" && (stats.failureWindow?.capacity ?? 0) < s.window)
        stats.failureWindow = new Ring(s.window);
    }
  }

  /** A run started: resource sampling runs while at least one run is in progress. */
  runStarted(): void {
    if (this.#active++ === 0 && this.#sampled) {
      if (this.#states.some((s) => s.rule.metric === "event_loop_delay_ms")) this.#metrics.watchEventLoop();
      this.#lastTick = performance.now();
      this.#timer = setInterval(() => void this.#evaluate(true), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** A run ended: feeds the run-level windows and checks every rule. */
  async runEnded(status: RunStatus, costUsd: number): Promise<void> {
    for (const s of this.#states) {
      if (s.runs === undefined) continue;
      s.runs.push(s.rule.metric === "cost_per_run_usd" ? costUsd : status === "failed" ? 1 : 0);
    }
    if (--this.#active === 0 && this.#timer !== undefined) {
      // A run that ends right after blocking the loop ends before any timer can fire: the block is
      // measured here, as the lateness of the tick the sampling timer has not had yet.
      this.#endLag = this.#lag();
      clearInterval(this.#timer);
      this.#timer = undefined;
      if (this.#states.some((s) => s.rule.metric === "event_loop_delay_ms")) {
        // A last sample once the monitor has seen the end of the run (a block is measured when the
        // monitor's 10 ms timer fires after it); the run does not wait for it.
        const last = setTimeout(() => {
          void this.#evaluate(true).finally(() => this.#metrics.unwatchEventLoop());
        }, 25);
        last.unref();
      }
    }
    await this.#evaluate(false);
  }

  /** Milliseconds the sampling timer is late now (0 when on time), and the tick counted as taken. */
  #lag(): number {
    const now = performance.now();
    const late = now - this.#lastTick - this.#intervalMs;
    this.#lastTick = now;
    return Math.max(late, 0);
  }

  /** The rule's current value, or undefined when there is not enough data to judge. */
  #value(s: RuleState, sampling: boolean, loopDelay: number | undefined): number | undefined {
    const rule = s.rule;
    const min =
      rule.minSamples ?? (rule.metric === "failure_rate" || rule.metric === "step_p95_ms" ? s.window : 1);
    switch (rule.metric) {
      case "event_loop_delay_ms":
        return sampling ? loopDelay : undefined;
      case "heap_mb":
        return process.memoryUsage().heapUsed / 1048576;
      case "step_p95_ms": {
        const w = this.#metrics.step(rule.step!).latencyWindow;
        return w === undefined || w.size < min ? undefined : w.percentile(95);
      }
      case "failure_rate": {
        const w = s.runs ?? this.#metrics.step(rule.step!).failureWindow;
        return w === undefined || w.size < min ? undefined : w.mean();
      }
      case "cost_per_run_usd":
        return s.runs === undefined || s.runs.size < min ? undefined : s.runs.mean();
    }
  }

  /**
   * One event-loop sample for every rule that judges it: perf_hooks' p99 since the last sample, or the
   * sampling timer's own lateness, whichever is larger (on a busy machine the monitor's timer can miss
   * a block that ours saw, and back). Taking either resets it, so it is taken once per evaluation.
   */
  #loopDelay(): number | undefined {
    const p99 = this.#metrics.takeEventLoopP99();
    const lag = Math.max(this.#timer === undefined ? 0 : this.#lag(), this.#endLag);
    this.#endLag = 0;
    return p99 === undefined && lag === 0 ? undefined : Math.max(p99 ?? 0, lag);
  }

  async #evaluate(sampling: boolean): Promise<void> {
    this.#watchSteps();
    const loopDelay =
      sampling && this.#states.some((s) => s.rule.metric === "event_loop_delay_ms")
        ? this.#loopDelay()
        : undefined;
    for (const s of this.#states) {
      const resource = s.rule.metric === "event_loop_delay_ms" || s.rule.metric === "heap_mb";
      // Resource rules are judged on samples; the others at the end of runs.
      if (resource !== sampling && s.rule.metric !== "heap_mb") continue;
      const value = this.#value(s, sampling, loopDelay);
      if (value === undefined) continue;
      if (!s.firing && value > s.rule.threshold) {
        s.firing = true;
        await this.#send("alert", s, value);
      } else if (s.firing && value <= s.clearAt) {
        s.firing = false;
        await this.#send("alert_resolved", s, value);
      }
    }
  }

  async #send(eventName: "alert" | "alert_resolved", s: RuleState, value: number): Promise<void> {
    const step = s.rule.step;
    const what = `${s.rule.metric}${step === undefined ? "" : ` of step '${step}'`}`;
    const message =
      eventName === "alert"
        ? `${what} is ${round(value)}, above ${s.rule.threshold} (rule '${s.name}', pipeline '${this.#pipeline}')`
        : `${what} is back to ${round(value)} (rule '${s.name}', pipeline '${this.#pipeline}')`;
    await this.#emit({
      eventName,
      rule: s.name,
      metric: s.rule.metric,
      value,
      threshold: s.rule.threshold,
      step,
      pipelineName: this.#pipeline,
      message,
      timestamp: Date.now(),
      isBackground: false,
    } as AlertPayload | AlertResolvedPayload);
  }

  /** Which rules are firing now (by name). */
  get firing(): string[] {
    return this.#states.filter((s) => s.firing).map((s) => s.name);
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Logs alerts as warnings: what the runner does with them when it has no hooks. */
export function warnAlert(logger: Logger, payload: AlertPayload | AlertResolvedPayload): void {
  logger.warn(`[flujo ${payload.eventName === "alert" ? "alert" : "alert resolved"}] ${payload.message}`);
}
