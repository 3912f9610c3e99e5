/**
 * Durable state: N sequential steps through the runner (cache off), each changing one small context field
 * (a top-level counter, or a key of a small nested object), over a ~100 KB context, with runs persisted to
 * a SQLite file (default durability "normal"), to a MemoryBackend, and not at all. Figures are per step:
 * ms per run / N. Every timed run has a fresh runId (a stored runId would resume its completed run); the
 * store keeps the last WINDOW runs, older ones are deleted after each iteration (outside the timed window).
 *
 * Bytes per step come from one separate run per N on a fresh file: the stored step rows
 * (`length(result) + length(patch)`) plus the run's snapshot, and what the backend was handed in all
 * (every snapshot written, including the starting one that the last replaced).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  Flujo,
  MemoryBackend,
  Pipeline,
  type RunProgress,
  type RunRow,
  type SnapshotRow,
  SQLiteBackend,
  type StateBackend,
  Step,
  type StepRow,
} from "flujo";
import { Bench } from "tinybench";
import { byName, gc, msFmt, printTable } from "./stats.js";

const SIZES = [10, 100, 1000];
/** Runs kept in a store while it is timed; older ones are deleted. */
const WINDOW = 50;
const TARGET_US = 25;
const PAYLOAD_ENTRIES = 800;

type Ctx = Record<string, unknown>;

/**
 * The peers' durable runs on file SQLite, ms per run (/work/shared/docs/peers.md §8.2, W3: 2 vCPU, Node
 * 20.20.2; LangGraph.js 1.7.3 SqliteSaver in each durability mode, Mastra 1.71.0 LibSQLStore).
 */
const PEERS: Record<
  number,
  { langgraphSync: number; langgraphAsync: number; langgraphExit: number; mastra: number }
> = {
  10: { langgraphSync: 7.05, langgraphAsync: 5.95, langgraphExit: 3.35, mastra: 2.59 },
  100: { langgraphSync: 51.0, langgraphAsync: 48.1, langgraphExit: 22.9, mastra: 49.6 },
};

export interface StateReport {
  /** JSON size of the context's initial data (the payload and the small fields the steps change). */
  contextJsonBytes: number;
  /** Runs kept in the store while it is timed. */
  window: number;
  targetUsPerStep: number;
  /** µs per bare autocommitted INSERT of one small row on this machine: the floor of a commit per step. */
  commitFloorUs: number;
  perStep: Array<{
    n: number;
    noneUs: number;
    memoryUs: number;
    sqliteUs: number;
    /** SQLite with durability "batched": the step rows of one event-loop turn in one commit. */
    batchedUs: number;
    noneMs: number;
    memoryMs: number;
    sqliteMs: number;
    sqliteP99Ms: number;
    /** SQLite cost of the steps beyond the previous N: (ms(N) - ms(prev N)) / (N - prev N); none for N=10. */
    marginalSqliteUs: number | undefined;
    marginalNoneUs: number | undefined;
  }>;
  bytes: Array<{
    n: number;
    stepRows: number;
    stepRowBytes: number;
    /** The run's stored snapshot (the last one written). */
    snapshotBytes: number;
    /** (step row bytes + snapshot bytes) / N. */
    bytesPerStep: number;
    /** Everything handed to the backend (step rows and every snapshot) / N. */
    writtenBytesPerStep: number;
    snapshotsWritten: number;
    step10RowBytes: number;
    lastStepRowBytes: number;
  }>;
  peers: Array<{
    n: number;
    flujoUs: number;
    langgraphSyncUs: number;
    langgraphAsyncUs: number;
    langgraphExitUs: number;
    mastraUs: number;
    /** Peer µs per step / flujo-ts µs per step: the lowest and the highest of the four peer figures. */
    ratioMin: number;
    ratioMax: number;
  }>;
}

export function initialData(): Ctx {
  const payload = Array.from({ length: PAYLOAD_ENTRIES }, (_, i) => ({
    id: i,
    text: `${i}:`.padEnd(100, "x"),
  }));
  return { payload, counter: -1, meta: { last: -1 } };
}

/** Step i sets `counter` (even i) or `meta.last` (odd i) to i and passes its input on. */
export function statePipeline(n: number): Pipeline {
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) {
    steps.push(
      Step.fromCallable(
        async (x: unknown, { context }) => {
          if (i % 2 === 0) context.counter = i;
          else (context.meta as Ctx).last = i;
          return x;
        },
        { name: `s${i}` },
      ),
    );
  }
  return new Pipeline(steps);
}

/** A SQLiteBackend that counts the bytes it is handed (step results, patches, snapshots). */
class CountingSQLite extends SQLiteBackend {
  written = 0;
  snapshots = 0;

  #snapshot(snapshot: SnapshotRow | undefined): void {
    if (snapshot === undefined) return;
    this.written += snapshot.context.byteLength;
    this.snapshots++;
  }

  override writeRun(run: RunRow, snapshot: SnapshotRow, steps: readonly StepRow[]): void {
    this.#snapshot(snapshot);
    for (const s of steps) this.written += s.result.byteLength + (s.patch?.byteLength ?? 0);
    super.writeRun(run, snapshot, steps);
  }

  override appendStep(runId: string, step: StepRow, snapshot: SnapshotRow | undefined): void {
    this.written += step.result.byteLength + (step.patch?.byteLength ?? 0);
    this.#snapshot(snapshot);
    super.appendStep(runId, step, snapshot);
  }

  override updateRun(runId: string, progress: RunProgress, snapshot: SnapshotRow | undefined): void {
    this.#snapshot(snapshot);
    super.updateRun(runId, progress, snapshot);
  }
}

/** Checks that a stored run completed with every step's change in its context. */
async function checkStored(backend: StateBackend, runId: string, n: number): Promise<void> {
  const state = await backend.loadState(runId);
  if (state === undefined) throw new Error(`state bench: run '${runId}' was not stored`);
  const ctx = state.pipelineContext;
  const lastEven = n % 2 === 0 ? n - 2 : n - 1;
  const lastOdd = n % 2 === 0 ? n - 1 : n - 2;
  if (
    state.status !== "completed" ||
    state.stepHistory.length !== n ||
    ctx.counter !== lastEven ||
    (ctx.meta as Ctx).last !== lastOdd ||
    (ctx.payload as unknown[]).length !== PAYLOAD_ENTRIES
  )
    throw new Error(`state bench: stored run '${runId}' (N=${n}) is not the completed run`);
}

async function measureBytes(dir: string, n: number): Promise<StateReport["bytes"][number]> {
  const file = join(dir, `bytes-${n}.db`);
  const backend = new CountingSQLite(file);
  const runId = `bytes-${n}`;
  const runner = new Flujo(statePipeline(n), {
    enableCache: false,
    initialContextData: initialData(),
    stateBackend: backend,
  });
  const r = await runner.run(0, { runId });
  if (!r.success) throw new Error(`state bench: the bytes run of N=${n} failed`);
  await checkStored(backend, runId, n);
  const { written, snapshots } = backend;
  backend.close();
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(
        "SELECT count(*) AS c, sum(length(result) + coalesce(length(patch), 0)) AS b FROM steps WHERE run_id = ?",
      )
      .get(runId) as { c: number; b: number };
    const snap = db.prepare("SELECT length(context) AS b FROM snapshots WHERE run_id = ?").get(runId) as {
      b: number;
    };
    const rowAt = db.prepare(
      "SELECT length(result) + coalesce(length(patch), 0) AS b FROM steps WHERE run_id = ? AND seq = ?",
    );
    const at = (seq: number) => (rowAt.get(runId, seq) as { b: number }).b;
    if (rows.c !== n) throw new Error(`state bench: the bytes run of N=${n} stored ${rows.c} step rows`);
    return {
      n,
      stepRows: rows.c,
      stepRowBytes: rows.b,
      snapshotBytes: snap.b,
      bytesPerStep: (rows.b + snap.b) / n,
      writtenBytesPerStep: written / n,
      snapshotsWritten: snapshots,
      step10RowBytes: at(10),
      lastStepRowBytes: at(n),
    };
  } finally {
    db.close();
  }
}

export async function stateBench(time: number): Promise<StateReport> {
  const dir = mkdtempSync(join(tmpdir(), "flujo-state-bench-"));
  const perStep: StateReport["perStep"] = [];
  const bytes: StateReport["bytes"] = [];
  try {
    for (const n of SIZES) {
      const pipeline = statePipeline(n);
      const data = initialData();
      const sqlite = new SQLiteBackend(join(dir, `timed-${n}.db`));
      const batched = new SQLiteBackend(join(dir, `batched-${n}.db`), { durability: "batched" });
      const memory = new MemoryBackend();
      const none = new Flujo(pipeline, { enableCache: false, initialContextData: data, persistState: false });
      const onSqlite = new Flujo(pipeline, {
        enableCache: false,
        initialContextData: data,
        stateBackend: sqlite,
      });
      const onBatched = new Flujo(pipeline, {
        enableCache: false,
        initialContextData: data,
        stateBackend: batched,
      });
      const onMemory = new Flujo(pipeline, {
        enableCache: false,
        initialContextData: data,
        stateBackend: memory,
      });
      for (const [backend, runner] of [
        [sqlite, onSqlite],
        [batched, onBatched],
        [memory, onMemory],
      ] as const) {
        const r = await runner.run(0, { runId: `check-${n}` });
        if (!r.success) throw new Error(`state bench: the check run of N=${n} failed`);
        await checkStored(backend, `check-${n}`, n);
        await backend.deleteState(`check-${n}`);
      }

      let unique = 0;
      /** A timed task on `runner`, deleting its runs older than the last WINDOW after each iteration. */
      const task = (runner: Flujo, backend: StateBackend | undefined) => {
        const kept: string[] = [];
        let last = "";
        return [
          async () => {
            last = `r${n}-${unique++}`;
            const r = await runner.run(0, { runId: last });
            if (!r.success) throw new Error(`state bench: run '${last}' failed`);
          },
          {
            afterEach: async () => {
              if (backend === undefined) return;
              kept.push(last);
              if (kept.length > WINDOW) await backend.deleteState(kept.shift()!);
            },
          },
        ] as const;
      };
      // Bigger pipelines take longer per run; give each size about the same number of steps in total.
      const bench = new Bench({ time: time * (n >= 1000 ? 2 : 1), warmupTime: Math.min(200, time / 2) });
      bench
        .add("none", ...task(none, undefined))
        .add("memory", ...task(onMemory, memory))
        .add("sqlite", ...task(onSqlite, sqlite))
        .add("batched", ...task(onBatched, batched));
      gc();
      await bench.run();
      sqlite.close();
      batched.close();
      const f = byName(bench);
      const prev = perStep[perStep.length - 1];
      const none_ = f.get("none")!;
      const mem = f.get("memory")!;
      const sql = f.get("sqlite")!;
      perStep.push({
        n,
        noneUs: (none_.mean * 1000) / n,
        memoryUs: (mem.mean * 1000) / n,
        sqliteUs: (sql.mean * 1000) / n,
        batchedUs: (f.get("batched")!.mean * 1000) / n,
        noneMs: none_.mean,
        memoryMs: mem.mean,
        sqliteMs: sql.mean,
        sqliteP99Ms: sql.p99,
        marginalSqliteUs: prev === undefined ? undefined : ((sql.mean - prev.sqliteMs) * 1000) / (n - prev.n),
        marginalNoneUs: prev === undefined ? undefined : ((none_.mean - prev.noneMs) * 1000) / (n - prev.n),
      });
      bytes.push(await measureBytes(dir, n));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const floorDir = mkdtempSync(join(tmpdir(), "flujo-commit-floor-"));
  let floorUs: number;
  try {
    floorUs = commitFloor(floorDir);
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
  }
  const peers: StateReport["peers"] = perStep
    .filter((r) => PEERS[r.n] !== undefined)
    .map((r) => {
      const p = PEERS[r.n];
      const perStepUs = (ms: number) => (ms * 1000) / r.n;
      const figs = [p.langgraphSync, p.langgraphAsync, p.langgraphExit, p.mastra].map(perStepUs);
      return {
        n: r.n,
        flujoUs: r.sqliteUs,
        langgraphSyncUs: perStepUs(p.langgraphSync),
        langgraphAsyncUs: perStepUs(p.langgraphAsync),
        langgraphExitUs: perStepUs(p.langgraphExit),
        mastraUs: perStepUs(p.mastra),
        ratioMin: Math.min(...figs) / r.sqliteUs,
        ratioMax: Math.max(...figs) / r.sqliteUs,
      };
    });
  const report: StateReport = {
    contextJsonBytes: JSON.stringify(initialData()).length,
    window: WINDOW,
    targetUsPerStep: TARGET_US,
    perStep,
    bytes,
    peers,
    commitFloorUs: floorUs,
  };

  const usFmt = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(2)} µs`);
  printTable(
    `Durable state per step (runner, cache off, N sequential steps each changing one field of a ${(report.contextJsonBytes / 1024).toFixed(0)} KB context; µs per step = ms per run / N; marginal = extra ms / extra steps from the previous N)`,
    [
      "N",
      "no persistence",
      "MemoryBackend",
      "SQLite (normal)",
      "SQLite (batched)",
      "SQLite − none",
      "marginal SQLite",
      "marginal none",
      "ms/run SQLite",
      "p99 ms/run SQLite",
      "target",
    ],
    perStep.map((r) => [
      String(r.n),
      usFmt(r.noneUs),
      usFmt(r.memoryUs),
      usFmt(r.sqliteUs),
      usFmt(r.batchedUs),
      usFmt(r.sqliteUs - r.noneUs),
      usFmt(r.marginalSqliteUs),
      usFmt(r.marginalNoneUs),
      msFmt(r.sqliteMs),
      msFmt(r.sqliteP99Ms),
      `≤ ${TARGET_US} µs`,
    ]),
  );
  printTable(
    "Bytes per step on SQLite (one run per N on a fresh file; stored = step rows + the run's snapshot; written = all the backend was handed, every snapshot included)",
    [
      "N",
      "step rows",
      "step-row bytes",
      "snapshot bytes",
      "stored bytes/step",
      "written bytes/step",
      "snapshots written",
      "row bytes step 10",
      "row bytes last step",
    ],
    bytes.map((b) => [
      String(b.n),
      String(b.stepRows),
      String(b.stepRowBytes),
      String(b.snapshotBytes),
      b.bytesPerStep.toFixed(1),
      b.writtenBytesPerStep.toFixed(1),
      String(b.snapshotsWritten),
      String(b.step10RowBytes),
      String(b.lastStepRowBytes),
    ]),
  );
  printTable(
    "Durable runs on file SQLite against the peers (peers.md §8.2 W3, 2 vCPU, Node 20.20.2; µs per step)",
    ["N", "flujo-ts SQLite", "LangGraph.js sync", "async", "exit", "Mastra LibSQL", "peer / flujo-ts"],
    peers.map((p) => [
      String(p.n),
      usFmt(p.flujoUs),
      usFmt(p.langgraphSyncUs),
      usFmt(p.langgraphAsyncUs),
      usFmt(p.langgraphExitUs),
      usFmt(p.mastraUs),
      `${p.ratioMin.toFixed(1)}x – ${p.ratioMax.toFixed(1)}x`,
    ]),
  );
  const flat = bytes.map((b) => `N=${b.n}: ${b.step10RowBytes} B → ${b.lastStepRowBytes} B`).join(", ");
  console.log(
    `\nstep-row bytes, step 10 → last step (target: flat as the history grows): ${flat}; per-step target ≤ ${TARGET_US} µs amortized`,
  );
  console.log(
    `the floor of a commit per step on this machine: a bare better-sqlite3 INSERT of a ${FLOOR_ROW_BYTES}-byte row, autocommit, WAL, synchronous=NORMAL: ${report.commitFloorUs.toFixed(2)} µs`,
  );
  return report;
}

const FLOOR_ROW_BYTES = 166;

/** µs per autocommitted INSERT of one small row: what one commit per step costs at the least. */
function commitFloor(dir: string): number {
  const db = new Database(join(dir, "floor.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec("CREATE TABLE t (run TEXT, seq INTEGER, row BLOB, PRIMARY KEY (run, seq)) WITHOUT ROWID");
    const insert = db.prepare("INSERT INTO t VALUES (?, ?, ?)");
    const row = Buffer.alloc(FLOOR_ROW_BYTES, 1);
    for (let i = 0; i < 500; i++) insert.run("warm", i, row);
    const n = 5000;
    const start = performance.now();
    for (let i = 0; i < n; i++) insert.run("floor", i, row);
    return ((performance.now() - start) * 1000) / n;
  } finally {
    db.close();
  }
}
