/**
 * Many runs in flight in one process: K concurrent runs of a 3-step pipeline whose middle step waits for
 * a 1 ms timer (cache off). Reported: that all complete, run latency p50/p95/p99 (from the run's start to
 * its result; the timer and the event loop's queue are in it), throughput, and the heap held per run
 * while every run is parked in its middle step (measured after a forced GC, beyond the runs' own data).
 * Then a burst far beyond `maxConcurrentRuns`, against the same burst unlimited: the excess queues.
 */
import { Flujo, pipeline, Step } from "flujo";
import { gc, printTable } from "./stats.js";

export interface ConcurrencyReport {
  rows: Array<{
    runs: number;
    completed: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
    runsPerS: number;
    heapPerParkedRunBytes: number | undefined;
  }>;
  targetHeapPerRunBytes: number;
  burst: BurstRow[];
}

/** A burst far beyond `maxConcurrentRuns`: the excess must queue, not fail or exhaust memory. */
interface BurstRow {
  runs: number;
  limit: number | undefined;
  completed: number;
  peakQueued: number;
  p50Ms: number;
  p99Ms: number;
  runsPerS: number;
  /** Highest heap used, sampled every 20 ms, minus the heap before the burst (after a forced GC). */
  peakHeapBytes: number;
}

const TARGET_HEAP = 2048;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Latency and throughput of `k` runs started at once, each waiting 1 ms in its middle step. */
async function timed(k: number): Promise<Omit<ConcurrencyReport["rows"][number], "heapPerParkedRunBytes">> {
  const runner = new Flujo(
    pipeline(
      Step.fromCallable(async (x: number) => x + 1, { name: "a" }),
      Step.fromCallable((x: number) => new Promise<number>((r) => setTimeout(() => r(x + 1), 1)), {
        name: "wait",
      }),
      Step.fromCallable(async (x: number) => x + 1, { name: "c" }),
    ),
    { enableCache: false },
  );
  const latencies: number[] = new Array(k);
  const start = performance.now();
  const results = await Promise.all(
    Array.from({ length: k }, (_, i) => {
      const t0 = performance.now();
      return runner.run(i).then((r) => {
        latencies[i] = performance.now() - t0;
        return r;
      });
    }),
  );
  const elapsed = performance.now() - start;
  const completed = results.filter((r, i) => r.status === "completed" && r.output === i + 3).length;
  latencies.sort((a, b) => a - b);
  return {
    runs: k,
    completed,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    p99Ms: quantile(latencies, 0.99),
    runsPerS: k / (elapsed / 1000),
  };
}

/**
 * Heap bytes per run while `k` runs are all parked in their middle step (needs --expose-gc). The figure
 * includes the bench's own resolver closure per run, about 0.1 KB.
 */
async function parkedHeap(k: number): Promise<number | undefined> {
  if (!(globalThis as { gc?: unknown }).gc) return undefined;
  let parked = 0;
  const release: Array<() => void> = [];
  const runner = new Flujo(
    pipeline(
      Step.fromCallable(async (x: number) => x + 1, { name: "a" }),
      Step.fromCallable(
        (x: number) =>
          new Promise<number>((resolve) => {
            parked++;
            release.push(() => resolve(x + 1));
          }),
        { name: "wait" },
      ),
      Step.fromCallable(async (x: number) => x + 1, { name: "c" }),
    ),
    { enableCache: false },
  );
  gc();
  const before = process.memoryUsage().heapUsed;
  const runs = Array.from({ length: k }, (_, i) => runner.run(i));
  while (parked < k) await new Promise((r) => setImmediate(r));
  gc();
  const during = process.memoryUsage().heapUsed;
  for (const r of release) r();
  await Promise.all(runs);
  return (during - before) / k;
}

async function burst(k: number, limit: number | undefined): Promise<BurstRow> {
  const runner = new Flujo(
    pipeline(
      Step.fromCallable(async (x: number) => x + 1, { name: "a" }),
      Step.fromCallable((x: number) => new Promise<number>((r) => setTimeout(() => r(x + 1), 1)), {
        name: "wait",
      }),
      Step.fromCallable(async (x: number) => x + 1, { name: "c" }),
    ),
    { enableCache: false, maxConcurrentRuns: limit },
  );
  gc();
  const base = process.memoryUsage().heapUsed;
  let peakHeap = base;
  let peakQueued = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    peakQueued = Math.max(peakQueued, runner.runs.queued);
  }, 20);
  const latencies: number[] = new Array(k);
  const start = performance.now();
  const results = await Promise.all(
    Array.from({ length: k }, (_, i) => {
      const t0 = performance.now();
      return runner.run(i).then((r) => {
        latencies[i] = performance.now() - t0;
        return r;
      });
    }),
  );
  const elapsed = performance.now() - start;
  clearInterval(sampler);
  peakQueued = Math.max(peakQueued, k - Math.min(k, limit ?? k));
  latencies.sort((a, b) => a - b);
  return {
    runs: k,
    limit,
    completed: results.filter((r, i) => r.status === "completed" && r.output === i + 3).length,
    peakQueued,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    runsPerS: k / (elapsed / 1000),
    peakHeapBytes: peakHeap - base,
  };
}

export async function concurrencyBench(quick: boolean): Promise<ConcurrencyReport> {
  const sizes = quick ? [1000, 10_000] : [1000, 10_000, 100_000];
  const rows: ConcurrencyReport["rows"] = [];
  for (const k of sizes) {
    await timed(Math.min(k, 1000)); // warm-up
    const row = await timed(k);
    rows.push({ ...row, heapPerParkedRunBytes: await parkedHeap(k) });
  }
  printTable(
    "Concurrent runs in one process (3 steps, the middle one waits 1 ms; cache off)",
    ["runs", "completed", "p50 latency", "p95", "p99", "runs/s", "heap per parked run", "target"],
    rows.map((r) => [
      String(r.runs),
      String(r.completed),
      `${r.p50Ms.toFixed(1)} ms`,
      `${r.p95Ms.toFixed(1)} ms`,
      `${r.p99Ms.toFixed(1)} ms`,
      r.runsPerS.toFixed(0),
      r.heapPerParkedRunBytes === undefined ? "-" : `${r.heapPerParkedRunBytes.toFixed(0)} B`,
      `≤ ${TARGET_HEAP} B`,
    ]),
  );
  const burstRuns = quick ? 10_000 : 100_000;
  const bursts = [await burst(burstRuns, 1000), await burst(burstRuns, undefined)];
  printTable(
    `A burst of ${burstRuns.toLocaleString("en")} runs started at once, with and without maxConcurrentRuns (same pipeline)`,
    [
      "maxConcurrentRuns",
      "completed",
      "peak queued",
      "p50 latency",
      "p99",
      "runs/s",
      "peak heap over the burst",
    ],
    bursts.map((b) => [
      b.limit === undefined ? "unlimited" : String(b.limit),
      String(b.completed),
      String(b.peakQueued),
      `${b.p50Ms.toFixed(1)} ms`,
      `${b.p99Ms.toFixed(1)} ms`,
      b.runsPerS.toFixed(0),
      `${(b.peakHeapBytes / 1024 / 1024).toFixed(1)} MB`,
    ]),
  );
  for (const r of [...rows, ...bursts]) {
    if (r.completed !== r.runs)
      throw new Error(`concurrency bench: ${r.runs - r.completed} of ${r.runs} runs did not complete`);
  }
  return { rows, targetHeapPerRunBytes: TARGET_HEAP, burst: bursts };
}
