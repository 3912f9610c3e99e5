/**
 * Loop overhead: a LoopStep of 1000 iterations over a one-step no-op body, and a MapStep over 10,000
 * context items with the same body, both through the runner with the executor cache off (it is off inside
 * loop bodies anyway). Figures are per iteration / per item: ms per run / N.
 */

import { Flujo, Step } from "flujo";
import { Bench } from "tinybench";
import { byName, gc, msFmt, printTable } from "./stats.js";

const LOOP_ITERATIONS = 1000;
const MAP_ITEMS = 10_000;

export interface LoopReport {
  loop: { iterations: number; usPerIteration: number; msPerRun: number; p99MsPerRun: number };
  map: { items: number; usPerItem: number; msPerRun: number; p99MsPerRun: number };
}

export async function loopBench(time: number): Promise<LoopReport> {
  const next = Step.fromCallable((x: number) => x + 1, { name: "next" });
  const loop = new Flujo(
    Step.loopUntil({
      name: "loop",
      body: next,
      maxLoops: LOOP_ITERATIONS,
      exitCondition: (out) => (out as number) >= LOOP_ITERATIONS,
    }),
    { enableCache: false },
  );
  const same = Step.fromCallable((x: unknown) => x, { name: "same" });
  const map = new Flujo(Step.mapOver({ name: "map", body: same, iterableInput: "items" }), {
    enableCache: false,
    initialContextData: { items: Array.from({ length: MAP_ITEMS }, (_, i) => i) },
  });
  // Sanity: the figures are only meaningful if the runs do what they claim.
  const loopCheck = await loop.run(0);
  const mapCheck = await map.run(null);
  if (loopCheck.output !== LOOP_ITERATIONS || !loopCheck.success)
    throw new Error("loop bench: the loop did not run its 1000 iterations");
  if ((mapCheck.output as unknown[]).length !== MAP_ITEMS || !mapCheck.success)
    throw new Error("loop bench: the map did not map its 10,000 items");

  const bench = new Bench({ time: time * 2, warmupTime: Math.min(200, time / 2) });
  bench
    .add("loop", async () => {
      await loop.run(0);
    })
    .add("map", async () => {
      await map.run(null);
    });
  gc();
  await bench.run();
  const f = byName(bench);
  const l = f.get("loop")!;
  const m = f.get("map")!;
  const report: LoopReport = {
    loop: {
      iterations: LOOP_ITERATIONS,
      usPerIteration: (l.mean * 1000) / LOOP_ITERATIONS,
      msPerRun: l.mean,
      p99MsPerRun: l.p99,
    },
    map: {
      items: MAP_ITEMS,
      usPerItem: (m.mean * 1000) / MAP_ITEMS,
      msPerRun: m.mean,
      p99MsPerRun: m.p99,
    },
  };
  printTable(
    "Loops (runner, cache off, one-step no-op body; per iteration = ms per run / N)",
    ["case", "N", "per iteration", "ms/run", "p99 ms/run", "target"],
    [
      [
        "LoopStep",
        String(LOOP_ITERATIONS),
        `${report.loop.usPerIteration.toFixed(3)} µs`,
        msFmt(report.loop.msPerRun),
        msFmt(report.loop.p99MsPerRun),
        "≤ 2 µs",
      ],
      [
        "MapStep",
        String(MAP_ITEMS),
        `${report.map.usPerItem.toFixed(3)} µs`,
        msFmt(report.map.msPerRun),
        msFmt(report.map.p99MsPerRun),
        "",
      ],
    ],
  );
  return report;
}
