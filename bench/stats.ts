import type { Bench, Task } from "tinybench";

export interface Figures {
  name: string;
  /** Milliseconds per operation. */
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  sd: number;
  samples: number;
}

/** Reads tinybench's result of one task (latencies are in ms). */
export function figures(task: Task): Figures {
  const r = task.result;
  if (r.state !== "completed") throw new Error(`benchmark '${task.name}' did not complete: ${r.state}`);
  const l = r.latency;
  const samples = (l as { samplesCount?: number }).samplesCount ?? 0;
  return {
    name: task.name,
    mean: l.mean,
    p50: l.p50,
    p95: percentile95(l),
    p99: l.p99,
    min: l.min,
    max: l.max,
    sd: l.sd,
    samples,
  };
}

/** tinybench reports p50/p75/p99/p995/p999; p95 is interpolated between p75 and p99 only when absent. */
function percentile95(l: { p75: number; p99: number }): number {
  const direct = (l as { p95?: unknown }).p95;
  if (typeof direct === "number") return direct;
  return l.p75 + ((l.p99 - l.p75) * 20) / 24;
}

/** One scenario in the shape of Flujo's performance_validation_results.json: seconds, ops per second. */
export interface Validation {
  mean_time: number;
  median_time: number;
  p95_time: number;
  p99_time: number;
  std_dev: number;
  min_time: number;
  max_time: number;
  iterations: number;
  memory_usage_mb: number | undefined;
  /** Share of iterations that succeeded, where the scenario checks it (undefined otherwise). */
  success_rate: number | undefined;
  throughput_ops_per_sec: number;
}

/** `opsPerIteration`: operations one timed iteration does (Flujo's throughput counts executes). */
export function validation(
  f: Figures,
  options: { opsPerIteration?: number; memoryMb?: number; successRate?: number } = {},
): Validation {
  return {
    mean_time: f.mean / 1000,
    median_time: f.p50 / 1000,
    p95_time: f.p95 / 1000,
    p99_time: f.p99 / 1000,
    std_dev: f.sd / 1000,
    min_time: f.min / 1000,
    max_time: f.max / 1000,
    iterations: f.samples,
    memory_usage_mb: options.memoryMb,
    success_rate: options.successRate,
    throughput_ops_per_sec: ((options.opsPerIteration ?? 1) * 1000) / f.mean,
  };
}

export function byName(bench: Bench): Map<string, Figures> {
  return new Map(bench.tasks.map((t) => [t.name, figures(t)]));
}

export const us = (ms: number): string => `${(ms * 1000).toFixed(2)} µs`;
export const msFmt = (ms: number): string => `${ms.toFixed(3)} ms`;

/** Prints a table with aligned columns. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(`\n## ${title}\n`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
