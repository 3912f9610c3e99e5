/**
 * Observability overhead: bench/observability-lane.ts, run in several processes one after the other.
 * A figure per scenario is the median over the processes, with the range of their on/off ratios: one
 * process alone moved by as much as 0.25 in ratio from one run of the bench to the next.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ObservabilityRow, STEPS } from "./observability-lane.js";
import { printTable } from "./stats.js";

export interface ObservabilityFigure extends ObservabilityRow {
  /** Lowest and highest on/off ratio of one process. */
  ratioRange: [number, number];
}

export interface ObservabilityReport {
  steps: number;
  processes: number;
  rows: ObservabilityFigure[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function lane(time: number): ObservabilityRow[] {
  const path = fileURLToPath(new URL("./observability-lane.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", path], {
    env: { ...process.env, BENCH_TIME: String(time) },
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`observability bench: a lane failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as ObservabilityRow[];
}

export async function observabilityBench(time: number, quick: boolean): Promise<ObservabilityReport> {
  const processes = quick ? 1 : 11;
  const lanes: ObservabilityRow[][] = [];
  for (let i = 0; i < processes; i++) lanes.push(lane(time));
  const rows = lanes[0].map((first, k): ObservabilityFigure => {
    const all = lanes.map((l) => l[k]);
    const ratios = all.map((r) => r.ratio);
    const bytes = (pick: (r: ObservabilityRow) => number | undefined) => {
      const known = all.map(pick).filter((b): b is number => b !== undefined);
      return known.length === 0 ? undefined : median(known);
    };
    return {
      scenario: first.scenario,
      offUs: median(all.map((r) => r.offUs)),
      onUs: median(all.map((r) => r.onUs)),
      ratio: median(ratios),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      offBytesPerStep: bytes((r) => r.offBytesPerStep),
      onBytesPerStep: bytes((r) => r.onBytesPerStep),
    };
  });
  const bytes = (b: number | undefined) => (b === undefined ? "n/a" : `${b.toFixed(0)} B`);
  printTable(
    `Observability overhead (runner, ${STEPS} sequential no-op steps; tracing + metrics on vs everything off; medians over ${processes} processes of alternating rounds)`,
    [
      "scenario",
      "off µs/step",
      "on µs/step",
      "on/off",
      "on/off by process",
      "off alloc/step",
      "on alloc/step",
    ],
    rows.map((r) => [
      r.scenario,
      `${r.offUs.toFixed(3)} µs`,
      `${r.onUs.toFixed(3)} µs`,
      `${r.ratio.toFixed(2)}x`,
      `${r.ratioRange[0].toFixed(2)}-${r.ratioRange[1].toFixed(2)}x`,
      bytes(r.offBytesPerStep),
      bytes(r.onBytesPerStep),
    ]),
  );
  return { steps: STEPS, processes, rows };
}
