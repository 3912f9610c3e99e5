/**
 * Memory over time and GC: 1,000,000 sequential runs of a 3-step pipeline with default settings (so the
 * executor cache is on and sees 1,000,000 distinct inputs: its LRU bound is part of what is checked).
 * Reported: heap after a forced GC before and after (growth target ≤ 1 MB), and the GC pauses seen by a
 * PerformanceObserver ('gc' entries), per 10,000 steps, split by kind (minor scavenges, major
 * mark-compacts).
 */
import { constants, PerformanceObserver } from "node:perf_hooks";
import { Flujo, pipeline, Step } from "flujo";
import { gc, printTable } from "./stats.js";

export interface MemoryReport {
  runs: number;
  steps: number;
  heapBeforeBytes: number | undefined;
  heapAfterBytes: number | undefined;
  heapGrowthBytes: number | undefined;
  targetGrowthBytes: number;
  gcPer10kSteps: { minor: number; major: number; other: number; pauseMs: number; maxPauseMs: number };
  usPerRun: number;
}

const TARGET_GROWTH = 1024 * 1024;

export async function memoryBench(quick: boolean): Promise<MemoryReport> {
  const runs = quick ? 20_000 : 1_000_000;
  const runner = new Flujo(
    pipeline(
      Step.fromCallable(async (x: number) => x + 1, { name: "a" }),
      Step.fromCallable(async (x: number) => x * 2, { name: "b" }),
      Step.fromCallable(async (x: number) => x - 1, { name: "c" }),
    ),
  );
  // Warm-up: the JIT, the cache filling to its bound, the hidden classes.
  for (let i = 0; i < 5000; i++) await runner.run(-i);
  const hasGc = (globalThis as { gc?: unknown }).gc !== undefined;
  gc();
  const before = hasGc ? process.memoryUsage().heapUsed : undefined;

  const counts = { minor: 0, major: 0, other: 0, pauseMs: 0, maxPauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
      else counts.other++;
      counts.pauseMs += entry.duration;
      counts.maxPauseMs = Math.max(counts.maxPauseMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    const r = await runner.run(i);
    if (r.output !== i * 2 + 1) throw new Error(`memory bench: run ${i} gave ${String(r.output)}`);
  }
  const elapsed = performance.now() - t0;
  // Let the last GC entries arrive before disconnecting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  gc();
  const after = hasGc ? process.memoryUsage().heapUsed : undefined;
  const steps = runs * 3;
  const per = (n: number) => (n * 10_000) / steps;
  const report: MemoryReport = {
    runs,
    steps,
    heapBeforeBytes: before,
    heapAfterBytes: after,
    heapGrowthBytes: before === undefined || after === undefined ? undefined : after - before,
    targetGrowthBytes: TARGET_GROWTH,
    gcPer10kSteps: {
      minor: per(counts.minor),
      major: per(counts.major),
      other: per(counts.other),
      pauseMs: per(counts.pauseMs),
      maxPauseMs: counts.maxPauseMs,
    },
    usPerRun: (elapsed * 1000) / runs,
  };
  const mb = (b: number | undefined) => (b === undefined ? "-" : `${(b / 1024 / 1024).toFixed(2)} MB`);
  printTable(
    `Memory over ${runs.toLocaleString("en")} sequential runs (3 steps, default settings: cache on, every input new)`,
    [
      "heap before (after GC)",
      "heap after (after GC)",
      "growth",
      "target",
      "µs per run",
      "GC per 10k steps: minor",
      "major",
      "pause ms",
      "longest pause",
    ],
    [
      [
        mb(before),
        mb(after),
        mb(report.heapGrowthBytes),
        `≤ ${mb(TARGET_GROWTH)}`,
        report.usPerRun.toFixed(2),
        report.gcPer10kSteps.minor.toFixed(2),
        report.gcPer10kSteps.major.toFixed(3),
        report.gcPer10kSteps.pauseMs.toFixed(3),
        `${counts.maxPauseMs.toFixed(2)} ms`,
      ],
    ],
  );
  return report;
}
