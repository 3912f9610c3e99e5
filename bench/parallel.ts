/**
 * Parallel steps: fan-out of K no-op branches through the runner (cache off), and isolation + merge of
 * branch contexts over a 1 KB, 100 KB and 1 MB context where each branch changes one field, either a
 * top-level field of its own or a new key on a leaf deep inside the large tree (ExecutorCore.execute on a
 * prepared context, so building the run's context is not measured). Figures are per branch: ms per run / K.
 */

import { type AgentRunOptions, defaultPipelineContext, ExecutorCore, Flujo, Step } from "flujo";
import { Bench } from "tinybench";
import { byName, gc, msFmt, printTable } from "./stats.js";

const FANOUT = [10, 100, 1000];
const MERGE_BRANCHES = 100;
const SIZES: Array<[string, number]> = [
  ["1 KB", 1024],
  ["100 KB", 100 * 1024],
  ["1 MB", 1024 * 1024],
];

type Ctx = Record<string, unknown>;

export interface ParallelReport {
  fanout: Array<{ branches: number; usPerBranch: number; msPerRun: number; p99MsPerRun: number }>;
  merge: Array<{
    size: string;
    bytes: number;
    branches: number;
    topLevelUsPerBranch: number;
    nestedUsPerBranch: number;
  }>;
  /** Per-branch cost of the 1 MB context over the 1 KB one (top-level, nested). */
  ratio1MbTo1Kb: { topLevel: number; nested: number };
}

function noopBranches(k: number): Record<string, Step> {
  const branches: Record<string, Step> = {};
  for (let i = 0; i < k; i++)
    branches[`b${i}`] = Step.fromCallable(async (x: unknown) => x, { name: `s${i}` });
  return branches;
}

/** A JSON-like tree of ~`bytes` bytes, at most `width` keys per object; returns it and its leaves. */
function bigTree(bytes: number, width = 32): { tree: Ctx; leaves: Ctx[] } {
  const leaves: Ctx[] = [];
  const leafBytes = JSON.stringify({ id: 0, text: "x".repeat(100) }).length + 8;
  const count = Math.max(1, Math.round(bytes / leafBytes));
  for (let i = 0; i < count; i++) leaves.push({ id: i, text: `${i}:`.padEnd(100, "x") });
  let level: unknown[] = leaves;
  while (level.length > width) {
    const next: Ctx[] = [];
    for (let i = 0; i < level.length; i += width) {
      const node: Ctx = {};
      level.slice(i, i + width).forEach((child, j) => {
        node[`n${j}`] = child;
      });
      next.push(node);
    }
    level = next;
  }
  const tree: Ctx = {};
  level.forEach((child, j) => {
    tree[`n${j}`] = child;
  });
  return { tree, leaves };
}

/** The path of keys from the tree's root to each leaf, in leaf order. */
function leafPaths(tree: Ctx): string[][] {
  const paths: string[][] = [];
  const walk = (node: Ctx, path: string[]) => {
    if ("text" in node) {
      paths.push(path);
      return;
    }
    for (const key of Object.keys(node)) walk(node[key] as Ctx, [...path, key]);
  };
  walk(tree, []);
  return paths;
}

export async function parallelBench(time: number): Promise<ParallelReport> {
  const fanout: ParallelReport["fanout"] = [];
  const bench = new Bench({ time: time * 2, warmupTime: Math.min(200, time / 2) });
  for (const k of FANOUT) {
    const runner = new Flujo(Step.parallel({ name: "fan", branches: noopBranches(k) }), {
      enableCache: false,
    });
    const check = await runner.run(1);
    if (!check.success || Object.keys(check.output as Ctx).length !== k)
      throw new Error(`parallel bench: the fan-out of ${k} did not run its branches`);
    bench.add(`fanout ${k}`, async () => {
      await runner.run(1);
    });
  }

  const core = new ExecutorCore({ enableCache: false });
  const contexts = new Map<string, Ctx>();
  const steps = new Map<string, Step>();
  for (const [label, bytes] of SIZES) {
    const { tree } = bigTree(bytes);
    const paths = leafPaths(tree);
    const base: Ctx = { ...defaultPipelineContext("bench"), payload: tree };
    const topLevel: Record<string, Step> = {};
    const nested: Record<string, Step> = {};
    for (let i = 0; i < MERGE_BRANCHES; i++) {
      topLevel[`b${i}`] = Step.fromCallable(
        async (x: unknown, o: AgentRunOptions) => {
          (o.context as Ctx)[`field${i}`] = i;
          return x;
        },
        { name: `top${i}` },
      );
      const path = paths[i % paths.length];
      nested[`b${i}`] = Step.fromCallable(
        async (x: unknown, o: AgentRunOptions) => {
          let node = (o.context as Ctx).payload as Ctx;
          for (const key of path) node = node[key] as Ctx;
          node[`b${i}`] = i;
          return x;
        },
        { name: `nested${i}` },
      );
    }
    contexts.set(label, base);
    steps.set(`${label} top`, Step.parallel({ name: "iso", branches: topLevel }));
    steps.set(`${label} nested`, Step.parallel({ name: "iso", branches: nested }));
    // Sanity: every branch's change reached the context, and the large tree was not copied wholesale.
    for (const kind of ["top", "nested"]) {
      const ctx = { ...base };
      const r = await core.execute(steps.get(`${label} ${kind}`)!, 0, { context: ctx });
      if (!r.success) throw new Error(`parallel bench: ${label} ${kind} failed: ${r.feedback}`);
      if (kind === "top" && ctx.field99 !== 99)
        throw new Error("parallel bench: top-level changes were not merged");
      if (kind === "nested") {
        const path = paths[99 % paths.length];
        let node = ctx.payload as Ctx;
        for (const key of path) node = node[key] as Ctx;
        if (node.b99 !== 99) throw new Error("parallel bench: nested changes were not merged");
        if (base.payload === ctx.payload)
          throw new Error("parallel bench: the nested merge did not copy its path");
      }
    }
    for (const kind of ["top", "nested"]) {
      const step = steps.get(`${label} ${kind}`)!;
      bench.add(`${label} ${kind}`, async () => {
        // A fresh top level per run: merges replace top-level keys, never the shared tree under them.
        await core.execute(step, 0, { context: { ...base } });
      });
    }
  }
  gc();
  await bench.run();
  const f = byName(bench);
  for (const k of FANOUT) {
    const fig = f.get(`fanout ${k}`)!;
    fanout.push({
      branches: k,
      usPerBranch: (fig.mean * 1000) / k,
      msPerRun: fig.mean,
      p99MsPerRun: fig.p99,
    });
  }
  const merge: ParallelReport["merge"] = SIZES.map(([label]) => ({
    size: label,
    bytes: bytesOf(contexts.get(label)),
    branches: MERGE_BRANCHES,
    topLevelUsPerBranch: (f.get(`${label} top`)!.mean * 1000) / MERGE_BRANCHES,
    nestedUsPerBranch: (f.get(`${label} nested`)!.mean * 1000) / MERGE_BRANCHES,
  }));
  const small = merge[0];
  const large = merge[merge.length - 1];
  const report: ParallelReport = {
    fanout,
    merge,
    ratio1MbTo1Kb: {
      topLevel: large.topLevelUsPerBranch / small.topLevelUsPerBranch,
      nested: large.nestedUsPerBranch / small.nestedUsPerBranch,
    },
  };
  printTable(
    "Parallel fan-out (runner, cache off, K no-op branches; per branch = ms per run / K)",
    ["K", "per branch", "ms/run", "p99 ms/run", "target"],
    fanout.map((r) => [
      String(r.branches),
      `${r.usPerBranch.toFixed(3)} µs`,
      msFmt(r.msPerRun),
      msFmt(r.p99MsPerRun),
      "≤ 10 µs",
    ]),
  );
  printTable(
    `Parallel isolation + merge (${MERGE_BRANCHES} branches, CONTEXT_UPDATE, each branch changes one field; per branch)`,
    ["context", "JSON bytes", "top-level field", "nested field"],
    merge.map((r) => [
      r.size,
      String(r.bytes),
      `${r.topLevelUsPerBranch.toFixed(3)} µs`,
      `${r.nestedUsPerBranch.toFixed(3)} µs`,
    ]),
  );
  console.log(
    `\n1 MB / 1 KB per branch: top-level ${report.ratio1MbTo1Kb.topLevel.toFixed(2)}x, nested ${report.ratio1MbTo1Kb.nested.toFixed(2)}x (target ≤ 2x)`,
  );
  return report;
}

function bytesOf(value: unknown): number {
  return JSON.stringify(value).length;
}
