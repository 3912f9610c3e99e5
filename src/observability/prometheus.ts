import type { LatencySummary } from "./histogram.js";
import type { MetricsSnapshot } from "./metrics.js";

/** A label value in the text format: backslash, double quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function num(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

class Writer {
  readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "summary", help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${label(v)}"`);
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${num(value)}`);
  }

  /** A latency summary in seconds: quantiles, _sum and _count. */
  summary(name: string, labels: Record<string, string>, s: LatencySummary): void {
    for (const [q, v] of [
      ["0.5", s.p50],
      ["0.9", s.p90],
      ["0.95", s.p95],
      ["0.99", s.p99],
    ] as const) {
      this.sample(name, { ...labels, quantile: q }, v / 1000);
    }
    this.sample(`${name}_sum`, labels, (s.mean * s.count) / 1000);
    this.sample(`${name}_count`, labels, s.count);
  }
}

/**
 * The snapshot in the Prometheus text exposition format 0.0.4: latencies as summaries in seconds
 * (quantiles 0.5/0.9/0.95/0.99 from the HDR histograms), counts and totals as counters, resources as
 * gauges. Serve it with `Content-Type: text/plain; version=0.0.4`.
 */
export function toPrometheus(snapshot: MetricsSnapshot): string {
  const w = new Writer();
  const steps = Object.entries(snapshot.steps);
  const pipelines = Object.entries(snapshot.pipelines);

  w.family("flujo_step_duration_seconds", "summary", "Wall time of each step execution.");
  for (const [step, s] of steps) w.summary("flujo_step_duration_seconds", { step }, s.latencyMs);
  w.family("flujo_step_executions_total", "counter", "Step executions by outcome.");
  for (const [step, s] of steps) {
    w.sample("flujo_step_executions_total", { step, outcome: "success" }, s.successes);
    w.sample("flujo_step_executions_total", { step, outcome: "failure" }, s.failures);
  }
  const counters: Array<[string, string, (s: MetricsSnapshot["steps"][string]) => number]> = [
    ["flujo_step_retries_total", "Failed attempts that were retried.", (s) => s.retries],
    ["flujo_step_fallbacks_total", "Times a step's fallback ran.", (s) => s.fallbacks],
    ["flujo_step_cache_hits_total", "Executor or Step.cached cache hits.", (s) => s.cacheHits],
    ["flujo_step_cost_usd_total", "Cost reported by the step's agents, in USD.", (s) => s.costUsd],
    ["flujo_step_tokens_total", "Tokens reported by the step's agents.", (s) => s.tokens],
  ];
  for (const [name, help, get] of counters) {
    w.family(name, "counter", help);
    for (const [step, s] of steps) w.sample(name, { step }, get(s));
  }
  w.family("flujo_step_cache_hit_ratio", "gauge", "Cache hits over executions.");
  for (const [step, s] of steps) w.sample("flujo_step_cache_hit_ratio", { step }, s.cacheHitRatio);

  w.family("flujo_pipeline_duration_seconds", "summary", "Wall time of each run.");
  for (const [pipeline, p] of pipelines)
    w.summary("flujo_pipeline_duration_seconds", { pipeline }, p.latencyMs);
  w.family("flujo_pipeline_runs_total", "counter", "Runs by final status.");
  for (const [pipeline, p] of pipelines) {
    w.sample("flujo_pipeline_runs_total", { pipeline, status: "completed" }, p.completed);
    w.sample("flujo_pipeline_runs_total", { pipeline, status: "failed" }, p.failed);
    w.sample("flujo_pipeline_runs_total", { pipeline, status: "paused" }, p.paused);
  }
  w.family("flujo_pipeline_cost_usd_total", "counter", "Cost of the runs, in USD.");
  for (const [pipeline, p] of pipelines) w.sample("flujo_pipeline_cost_usd_total", { pipeline }, p.costUsd);
  w.family("flujo_pipeline_tokens_total", "counter", "Tokens of the runs.");
  for (const [pipeline, p] of pipelines) w.sample("flujo_pipeline_tokens_total", { pipeline }, p.tokens);

  const r = snapshot.resources;
  w.family("flujo_active_runs", "gauge", "Runs in progress.");
  w.sample("flujo_active_runs", {}, r.activeRuns);
  w.family("flujo_inflight_steps", "gauge", "Steps in progress (nested steps included).");
  w.sample("flujo_inflight_steps", {}, r.inFlightSteps);
  w.family("flujo_queued_branches", "gauge", "Parallel branches waiting for a concurrencyLimit slot.");
  w.sample("flujo_queued_branches", {}, r.queuedBranches);
  w.family("flujo_heap_used_bytes", "gauge", "V8 heap in use.");
  w.sample("flujo_heap_used_bytes", {}, Math.round(r.heapUsedMb * 1048576));
  w.family("flujo_rss_bytes", "gauge", "Resident set size.");
  w.sample("flujo_rss_bytes", {}, Math.round(r.rssMb * 1048576));
  if (r.eventLoopDelayMs !== undefined) {
    const d = r.eventLoopDelayMs;
    w.family("flujo_event_loop_delay_seconds", "gauge", "Event-loop delay (perf_hooks).");
    w.sample("flujo_event_loop_delay_seconds", { stat: "mean" }, d.mean / 1000);
    w.sample("flujo_event_loop_delay_seconds", { stat: "p50" }, d.p50 / 1000);
    w.sample("flujo_event_loop_delay_seconds", { stat: "p99" }, d.p99 / 1000);
    w.sample("flujo_event_loop_delay_seconds", { stat: "max" }, d.max / 1000);
  }
  return `${w.lines.join("\n")}\n`;
}
