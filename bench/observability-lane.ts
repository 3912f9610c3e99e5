/**
 * One lane of the observability-overhead figure (bench/observability.ts spawns it several times: V8
 * optimises the engine's code once per process, and how well it does varies from one process to the
 * next by more than the overhead being measured). W1 (N sequential no-op steps through the runner) with
 * the executor cache off and with default settings, each with observability off and with tracing +
 * metrics on. The variants run in alternating rounds in this process, after a quarter as many rounds
 * again unmeasured: V8 is still optimising the engine's code over the first rounds (their ratios ran
 * about 0.1 above the later ones). Figures are the median over the measured rounds of µs per step, and
 * the ratio is the median of each round's on/off ratio (the two halves of a round run back to back, so a
 * slow spell of the machine moves both). Allocation per step: heap used after a
 * batch of runs minus before (gc first, no gc during), over the steps run. Prints one JSON line.
 */

import { Flujo, Pipeline, Step } from "flujo";
import { gc } from "./stats.js";

const N = 100;

function w1(n: number): Pipeline {
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) steps.push(Step.fromCallable(async (x: unknown) => x, { name: `s${i}` }));
  return new Pipeline(steps);
}

interface Variant {
  name: string;
  runner: Flujo;
  samples: number[];
}

export const STEPS = N;

export interface ObservabilityRow {
  scenario: string;
  offUs: number;
  onUs: number;
  ratio: number;
  offBytesPerStep: number | undefined;
  onBytesPerStep: number | undefined;
}

let unique = 0;

async function timeRuns(runner: Flujo, runs: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await runner.run(unique++);
  return performance.now() - t0;
}

/** Bytes allocated per step: heap growth over a batch small enough to run without a collection. */
async function bytesPerStep(runner: Flujo, runs: number): Promise<number | undefined> {
  if (!(globalThis as { gc?: unknown }).gc) return undefined;
  const deltas: number[] = [];
  for (let attempt = 0; attempt < 7; attempt++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < runs; i++) await runner.run(unique++);
    const after = process.memoryUsage().heapUsed;
    // A collection during the batch shrinks the heap: that sample says nothing.
    if (after > before) deltas.push((after - before) / (runs * N));
  }
  if (deltas.length === 0) return undefined;
  deltas.sort((a, b) => a - b);
  return deltas[Math.floor(deltas.length / 2)];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function measure(time: number): Promise<ObservabilityRow[]> {
  const pipe = w1(N);
  const scenarios = [
    { scenario: "W1, cache off", base: { enableCache: false } },
    { scenario: "W1, default settings (cache on, misses)", base: {} },
  ];
  const rows: ObservabilityRow[] = [];
  // Rounds of `runs` runs per variant, alternating; about `time` ms per variant in total.
  const rounds = Math.max(3, Math.round(time / 25));
  for (const { scenario, base } of scenarios) {
    const off: Variant = { name: "off", runner: new Flujo(pipe, base), samples: [] };
    const on: Variant = {
      name: "on",
      runner: new Flujo(pipe, { ...base, tracing: true, metrics: true }),
      samples: [],
    };
    const variants = [off, on];
    // A batch size that takes about 25 ms, then the unmeasured rounds.
    for (const v of variants) await timeRuns(v.runner, 20);
    const probe = await timeRuns(off.runner, 20);
    const runs = Math.max(5, Math.round((25 / probe) * 20));
    const warmUp = Math.max(2, Math.round(rounds / 4));
    for (let r = 0; r < warmUp; r++) for (const v of variants) await timeRuns(v.runner, runs);
    gc();
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) v.samples.push(((await timeRuns(v.runner, runs)) * 1000) / (runs * N));
      ratios.push(on.samples[r] / off.samples[r]);
    }
    const allocRuns = Math.max(2, Math.min(20, Math.round(2000 / N)));
    const offUs = median(off.samples);
    const onUs = median(on.samples);
    rows.push({
      scenario,
      offUs,
      onUs,
      ratio: median(ratios),
      offBytesPerStep: await bytesPerStep(off.runner, allocRuns),
      onBytesPerStep: await bytesPerStep(on.runner, allocRuns),
    });
  }
  return rows;
}

// Run as a lane (not when imported for its types and constants).
if (process.argv[1]?.endsWith("observability-lane.ts")) {
  const rows = await measure(Number(process.env.BENCH_TIME ?? 1000));
  console.log(JSON.stringify(rows));
}
