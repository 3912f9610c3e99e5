/**
 * Many runs in flight in one process: K concurrent runs of a 3-step pipeline whose middle step waits for
 * a 1 ms timer (cache off). Reported: that all complete, run latency p50/p95/p99 (from the run's start to
 * its result; the timer and the event loop's queue are in it), throughput, and the heap held per run
 * while every run is parked in its middle step (measured after a forced GC, beyond the runs' own data).
 * Then a burst far beyond `maxConcurrentRuns`, against the same burst unlimited: the excess queues.
 */
import { Flujo, type PipelineResult, pipeline, Step } from "flujo";
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
    /** The same three functions as a plain async chain (`await a; await wait; await c`), parked alike. */
    floorHeapPerParkedRunBytes: number | undefined;
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

/** The 3-step pipeline whose middle step waits for a 1 ms timer, cache off. */
function timerRunner(limit: number | undefined): Flujo<number, number> {
  return new Flujo(
    pipeline(
      Step.fromCallable(async (x: number) => x + 1, { name: "a" }),
      Step.fromCallable((x: number) => new Promise<number>((r) => setTimeout(() => r(x + 1), 1)), {
        name: "wait",
      }),
      Step.fromCallable(async (x: number) => x + 1, { name: "c" }),
    ),
    { enableCache: false, maxConcurrentRuns: limit },
  );
}

/** Starts `k` runs at once; each run's latency is from its start to its result (sorted on return). */
async function startAll(
  runner: Flujo<number, number>,
  k: number,
): Promise<{ results: PipelineResult[]; latencies: number[]; elapsed: number }> {
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
  return { results, latencies, elapsed: performance.now() - start };
}

/** Latency and throughput of `k` runs started at once, each waiting 1 ms in its middle step. */
async function timed(
  k: number,
): Promise<Omit<ConcurrencyReport["rows"][number], "heapPerParkedRunBytes" | "floorHeapPerParkedRunBytes">> {
  const runner = timerRunner(undefined);
  const { results, latencies, elapsed } = await startAll(runner, k);
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
 * Heap bytes per run while `k` runs are all parked in their middle step (needs --expose-gc): through the
 * runner, and through the physical floor, a plain async function awaiting the same three functions. Both
 * include the user's data (the parked promise, its resolver, the bench's release closure); the
 * difference is what the engine holds per in-flight run.
 */
async function parkedHeap(k: number): Promise<{ flujo: number; floor: number } | undefined> {
  if (!(globalThis as { gc?: unknown }).gc) return undefined;
  let parked = 0;
  const release: Array<() => void> = [];
  const a = async (x: number) => x + 1;
  const wait = (x: number) =>
    new Promise<number>((resolve) => {
      parked++;
      release.push(() => resolve(x + 1));
    });
  const c = async (x: number) => x + 1;
  const runner = new Flujo(
    pipeline(
      Step.fromCallable(a, { name: "a" }),
      Step.fromCallable(wait, { name: "wait" }),
      Step.fromCallable(c, { name: "c" }),
    ),
    { enableCache: false },
  );
  const chain = async (x: number) => c(await wait(await a(x)));
  const measure = async (start: (i: number) => Promise<unknown>): Promise<number> => {
    parked = 0;
    release.length = 0;
    gc();
    const before = process.memoryUsage().heapUsed;
    const runs = Array.from({ length: k }, (_, i) => start(i));
    while (parked < k) await new Promise((r) => setImmediate(r));
    gc();
    const during = process.memoryUsage().heapUsed;
    for (const r of release) r();
    await Promise.all(runs);
    return (during - before) / k;
  };
  // Alternating, three of each, medians: one measurement of a few thousand runs moves by a page or two.
  await measure((i) => runner.run(i)); // warm-up: the runner's code and hidden classes
  const flujo: number[] = [];
  const floor: number[] = [];
  for (let round = 0; round < 3; round++) {
    floor.push(await measure(chain));
    flujo.push(await measure((i) => runner.run(i)));
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[1];
  return { flujo: median(flujo), floor: median(floor) };
}

async function burst(k: number, limit: number | undefined): Promise<BurstRow> {
  const runner = timerRunner(limit);
  gc();
  const base = process.memoryUsage().heapUsed;
  let peakHeap = base;
  let peakQueued = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    peakQueued = Math.max(peakQueued, runner.runs.queued);
  }, 20);
  const { results, latencies, elapsed } = await startAll(runner, k);
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
    const heap = await parkedHeap(k);
    rows.push({ ...row, heapPerParkedRunBytes: heap?.flujo, floorHeapPerParkedRunBytes: heap?.floor });
  }
  printTable(
    "Concurrent runs in one process (3 steps, the middle one waits 1 ms; cache off)",
    [
      "runs",
      "completed",
      "p50 latency",
      "p95",
      "p99",
      "runs/s",
      "heap per parked run",
      "floor (async chain)",
      "beyond the floor",
      "target",
    ],
    rows.map((r) => [
      String(r.runs),
      String(r.completed),
      `${r.p50Ms.toFixed(1)} ms`,
      `${r.p95Ms.toFixed(1)} ms`,
      `${r.p99Ms.toFixed(1)} ms`,
      r.runsPerS.toFixed(0),
      r.heapPerParkedRunBytes === undefined ? "-" : `${r.heapPerParkedRunBytes.toFixed(0)} B`,
      r.floorHeapPerParkedRunBytes === undefined ? "-" : `${r.floorHeapPerParkedRunBytes.toFixed(0)} B`,
      r.heapPerParkedRunBytes === undefined || r.floorHeapPerParkedRunBytes === undefined
        ? "-"
        : `${(r.heapPerParkedRunBytes - r.floorHeapPerParkedRunBytes).toFixed(0)} B`,
      `≤ ${TARGET_HEAP} B beyond`,
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
