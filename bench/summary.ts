/**
 * The targets of the performance work (issue 8) in one Markdown table, each figure beside its target and
 * its baselines (the physical floor, Flujo's published figures, and the peers when `npm run bench:peers`
 * has written its results), plus every timed scenario in the field names of Flujo's
 * performance_validation_results.json. `npm run bench` prints the table and writes both.
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus, freemem, platform, release, totalmem } from "node:os";
import type { ConcurrencyReport } from "./concurrency.js";
import type { EngineReport } from "./engine.js";
import type { MemoryReport } from "./memory.js";
import type { ObservabilityReport } from "./observability.js";
import type { ParallelReport } from "./parallel.js";
import type { Validation } from "./stats.js";

/** Flujo's published per-step figures (flujo-optimization-history.md §4, macOS M1, Nov 2025), µs. */
const FLUJO_UNCACHED_STEP_US = 65;
const FLUJO_CONTEXT_STEP_US = 200;
const FLUJO_CACHE_HIT_US = 66;

export interface Machine {
  cpu: string;
  cores: number;
  memGb: number;
  os: string;
  node: string;
  backend: string;
}

export function machine(backend: string): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memGb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    backend,
  };
}

interface Row {
  scenario: string;
  measured: string;
  target: string;
  holds: boolean | undefined;
  baselines: string;
}

interface PeerW1 {
  date: string;
  /** N → fastest peer µs per step / flujo µs per step, both from the peers run. */
  ratios: Array<{ n: number; fastest: string; ratio: number }>;
}

/** The peers harness's own side-by-side W1 ratio, when it has been run (bench/peers/results/latest.json). */
function peersW1(): PeerW1 | undefined {
  const file = new URL("./peers/results/latest.json", import.meta.url);
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, "utf8")) as {
    date?: string;
    w1?: Record<string, Record<string, { usPerStep?: number }>>;
  };
  if (data.w1 === undefined) return undefined;
  const ratios: PeerW1["ratios"] = [];
  for (const [n, engines] of Object.entries(data.w1)) {
    const flujo = engines["flujo (cache off)"]?.usPerStep;
    const peers = Object.entries(engines)
      .filter(([name]) => name === "langgraph" || name === "mastra")
      .filter(([, f]) => typeof f.usPerStep === "number") as Array<[string, { usPerStep: number }]>;
    if (flujo === undefined || peers.length === 0) continue;
    const [fastest, f] = peers.reduce((a, b) => (b[1].usPerStep < a[1].usPerStep ? b : a));
    ratios.push({ n: Number(n), fastest, ratio: f.usPerStep / flujo });
  }
  return { date: data.date ?? "unknown date", ratios };
}

const usF = (x: number) => `${x < 10 ? x.toFixed(3) : x.toFixed(1)} µs`;
const x = (r: number) => `${r >= 100 ? r.toFixed(0) : r.toFixed(1)}x`;

export function targetRows(reports: {
  engine: EngineReport | undefined;
  parallel: ParallelReport | undefined;
  concurrency: ConcurrencyReport | undefined;
  memory: MemoryReport | undefined;
  observability: ObservabilityReport | undefined;
}): Row[] {
  const rows: Row[] = [];
  const { engine, parallel, concurrency, memory, observability } = reports;
  if (engine !== undefined) {
    const worst = engine.perStep.reduce((a, b) => (b.cacheOffUs > a.cacheOffUs ? b : a));
    const first = engine.perStep[0];
    const last = engine.perStep[engine.perStep.length - 1];
    rows.push({
      scenario: `Step overhead (W1, cache off), worst of N=${first.n}..${last.n}`,
      measured: `${usF(worst.cacheOffUs)}/step (N=${worst.n})`,
      target: "≤ 1 µs",
      holds: worst.cacheOffUs <= 1,
      baselines: `floor ${usF(worst.floorUs)} (${x(worst.cacheOffUs / worst.floorUs)} of it); Flujo ≥ ${FLUJO_UNCACHED_STEP_US} µs (${x(FLUJO_UNCACHED_STEP_US / worst.cacheOffUs)} less)`,
    });
    rows.push({
      scenario: `Flat to N=${last.n}`,
      measured: `${usF(last.cacheOffUs)} at N=${last.n} vs ${usF(first.cacheOffUs)} at N=${first.n}`,
      target: "flat (≤ 2x)",
      holds: last.cacheOffUs <= 2 * first.cacheOffUs,
      baselines: `floor ${usF(last.floorUs)} vs ${usF(first.floorUs)}`,
    });
    const typed = engine.perStep.find((r) => r.n === 100) ?? worst;
    rows.push({
      scenario: "Default settings with a typed (zod) context, N=100",
      measured: `${usF(typed.typedUs)}/step`,
      target: "≤ 5 µs",
      holds: typed.typedUs <= 5,
      baselines: `Flujo ${FLUJO_CONTEXT_STEP_US}-460 µs (${x(FLUJO_CONTEXT_STEP_US / typed.typedUs)} less)`,
    });
    const hit = engine.perStep.reduce((a, b) => (b.cacheHitUs > a.cacheHitUs ? b : a));
    rows.push({
      scenario: `Cache hit, worst of N=${first.n}..${last.n}`,
      measured: `${usF(hit.cacheHitUs)}/step (N=${hit.n})`,
      target: "≤ 2 µs",
      holds: hit.cacheHitUs <= 2,
      baselines: `Flujo ${FLUJO_CACHE_HIT_US}-72 µs (${x(FLUJO_CACHE_HIT_US / hit.cacheHitUs)} less)`,
    });
  }
  if (parallel !== undefined) {
    const r = Math.max(parallel.ratio1MbTo1Kb.topLevel, parallel.ratio1MbTo1Kb.nested);
    rows.push({
      scenario: `Context isolation + merge, ${parallel.merge[0]?.branches ?? "?"} branches, 1 KB → 1 MB context (worst of a top-level and a nested write)`,
      measured: `${x(r)} the 1 KB cost per branch`,
      target: "≤ 2x",
      holds: r <= 2,
      baselines: "Flujo deep-copies the context per branch (cost grows with its size)",
    });
  }
  if (concurrency !== undefined) {
    const all = concurrency.rows.every((r) => r.completed === r.runs);
    const biggest = concurrency.rows[concurrency.rows.length - 1];
    rows.push({
      scenario: `Concurrent runs: ${concurrency.rows.map((r) => r.runs.toLocaleString("en")).join(" / ")} (1 ms step)`,
      measured: `${all ? "all complete" : "some failed"}; p99 ${biggest.p99Ms.toFixed(0)} ms, ${biggest.runsPerS.toFixed(0)} runs/s at ${biggest.runs.toLocaleString("en")}`,
      target: "all complete",
      holds: all,
      baselines: "",
    });
    if (biggest.heapPerParkedRunBytes !== undefined && biggest.floorHeapPerParkedRunBytes !== undefined) {
      const beyond = biggest.heapPerParkedRunBytes - biggest.floorHeapPerParkedRunBytes;
      rows.push({
        scenario: `Heap per in-flight run beyond the user's data (${biggest.runs.toLocaleString("en")} parked)`,
        measured: `${beyond.toFixed(0)} B (${biggest.heapPerParkedRunBytes.toFixed(0)} B in all)`,
        target: `≤ ${concurrency.targetHeapPerRunBytes} B`,
        holds: beyond <= concurrency.targetHeapPerRunBytes,
        baselines: `floor: the same functions as an async chain, ${biggest.floorHeapPerParkedRunBytes.toFixed(0)} B`,
      });
    }
    const limited = concurrency.burst.find((b) => b.limit !== undefined);
    const unlimited = concurrency.burst.find((b) => b.limit === undefined);
    if (limited !== undefined && unlimited !== undefined) {
      rows.push({
        scenario: `Burst of ${limited.runs.toLocaleString("en")} runs, maxConcurrentRuns ${limited.limit}`,
        measured: `${limited.completed === limited.runs ? "all complete" : "some failed"}, ${limited.peakQueued.toLocaleString("en")} queued at peak, p99 ${limited.p99Ms.toFixed(0)} ms, peak heap ${(limited.peakHeapBytes / 2 ** 20).toFixed(0)} MB`,
        target: "queues, completes",
        holds: limited.completed === limited.runs && limited.peakQueued > 0,
        baselines: `unlimited: p99 ${unlimited.p99Ms.toFixed(0)} ms, peak heap ${(unlimited.peakHeapBytes / 2 ** 20).toFixed(0)} MB`,
      });
    }
  }
  if (memory !== undefined && memory.heapGrowthBytes !== undefined) {
    rows.push({
      scenario: `${memory.runs.toLocaleString("en")} sequential runs: heap growth after GC`,
      measured: `${(memory.heapGrowthBytes / 2 ** 20).toFixed(2)} MB; GC per 10k steps ${memory.gcPer10kSteps.pauseMs.toFixed(2)} ms, longest ${memory.gcPer10kSteps.maxPauseMs.toFixed(1)} ms`,
      target: "≤ 1 MB",
      holds: memory.heapGrowthBytes <= memory.targetGrowthBytes,
      baselines: "",
    });
  }
  if (observability !== undefined) {
    for (const r of observability.rows) {
      rows.push({
        scenario: `Tracing + metrics on vs off: ${r.scenario}, ${observability.steps} steps`,
        measured: `${r.ratio.toFixed(2)}x (${usF(r.offUs)} → ${usF(r.onUs)}/step; median of ${observability.processes} processes, ${r.ratioRange[0].toFixed(2)}-${r.ratioRange[1].toFixed(2)}x)`,
        target: "≤ 1.2x",
        holds: r.ratio <= 1.2,
        baselines: "",
      });
    }
  }
  const peers = peersW1();
  if (peers !== undefined && peers.ratios.length > 0) {
    const least = peers.ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    rows.push({
      scenario: "W1 against the fastest peer (npm run bench:peers, side by side)",
      measured: `${x(least.ratio)} less per step at worst (N=${least.n}, vs ${least.fastest}; run of ${peers.date.slice(0, 10)})`,
      target: "≥ 25x",
      holds: least.ratio >= 25,
      baselines: peers.ratios.map((r) => `N=${r.n}: ${x(r.ratio)}`).join(", "),
    });
  }
  return rows;
}

export function markdown(rows: Row[], m: Machine, quick: boolean): string {
  const holds = (h: boolean | undefined) => (h === undefined ? "" : h ? "yes" : "**no**");
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGb} GiB, ${m.os}, Node ${m.node}, ${m.backend} backend${quick ? " (quick run: figures are not meaningful)" : ""}.`,
    "",
    "| scenario | flujo-ts | target | holds | baselines |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) => `| ${r.scenario} | ${r.measured} | ${r.target} | ${holds(r.holds)} | ${r.baselines} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** Every timed scenario in Flujo's field names (seconds), keyed by a stable name. */
export function validationScenarios(engine: EngineReport | undefined): Record<string, Validation> {
  const out: Record<string, Validation> = {};
  if (engine === undefined) return out;
  for (const r of engine.perStep) {
    for (const [variant, v] of Object.entries(r.validation)) out[`w1_n${r.n}_${variant}`] = v;
  }
  for (const s of engine.flujo) out[`flujo_${s.name}`] = s.validation;
  return out;
}

/** Free memory when the run started, for the JSON (a loaded machine explains noisy figures). */
export function freeMemGb(): number {
  return Math.round((freemem() / 2 ** 30) * 10) / 10;
}
