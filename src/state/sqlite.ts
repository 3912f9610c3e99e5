/**
 * Durable runs in one SQLite file (better-sqlite3): the embedded default of the CLI (`.flujo/state.db`).
 *
 * WAL journal, `synchronous=NORMAL` by default (a committed step survives a crash of the process; a power
 * loss may lose the last few commits) or FULL with `durability: "full"`, a busy timeout so several
 * processes can share the file, versioned migrations through `PRAGMA user_version`, prepared statements,
 * and every write in one IMMEDIATE transaction. Errors name the file (and the run, where there is one).
 *
 * A commit costs about 25 µs on a small VM whatever it holds (bench/state.ts), which is most of a fast
 * step's cost; `durability: "batched"` commits the step rows written before the process next yields to
 * the event loop together, and always before a status change, a read or close.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { errorMessage, StateBackendError } from "../domain/errors.js";
import type { RunStatus } from "../domain/results.js";
import {
  type RunFilter,
  type RunProgress,
  type RunRow,
  type SnapshotRow,
  StateBackend,
  type StepRow,
  type StoredRun,
} from "./backend.js";
import { decodeState, encodeState } from "./codec.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

export interface SQLiteBackendOptions {
  /**
   * "normal" (default): a commit per step, WAL with synchronous=NORMAL. "full": synchronous=FULL, an
   * fsync per commit. "batched": as "normal", but the step rows of one event-loop turn are committed
   * together; a crash loses the steps not yet committed, which run again when the run is resumed.
   */
  durability?: "normal" | "full" | "batched";
  /** How long a write waits for another connection's lock before failing, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

type Db = Database.Database;
type Statement = Database.Statement;

interface RunDbRow {
  run_id: string;
  pipeline_name: string;
  pipeline_version: string;
  pipeline_hash: string;
  status: string;
  current_step_index: number;
  total_steps: number;
  last_seq: number;
  total_cost_usd: number;
  total_tokens: number;
  created_at: string;
  updated_at: string;
  error_message: string | null;
}

interface StepDbRow {
  seq: number;
  step_index: number;
  history_index: number;
  step_name: string;
  success: number;
  cost_usd: number;
  token_counts: number;
  latency_s: number;
  created_at: string;
  result: Uint8Array;
  patch: Uint8Array | null;
}

const STATUSES: ReadonlySet<string> = new Set(["running", "paused", "completed", "failed"]);

export class SQLiteBackend extends StateBackend {
  /** The database file, as an absolute path. */
  readonly path: string;
  /** The open connection; SQLiteCache shares it. */
  readonly db: Db;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #tx: ReturnType<typeof transactions>;
  readonly #batched: boolean;
  /** Step rows waiting for the next batched commit. */
  #pending: Array<{ runId: string; step: StepRow; snapshot: SnapshotRow | undefined }> = [];
  #scheduled = false;
  /** A batched commit that failed after its steps had returned: thrown by the next call. */
  #failure: unknown;

  constructor(path: string, options: SQLiteBackendOptions = {}) {
    super();
    this.path = path === ":memory:" ? path : resolve(path);
    this.db = open(this.path, options);
    this.#batched = options.durability === "batched";
    try {
      migrate(this.db, this.path);
      this.#statements = prepare(this.db);
      this.#tx = transactions(this.db, this.#statements);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  writeRun(run: RunRow, snapshot: SnapshotRow, steps: readonly StepRow[]): void {
    this.#write(`writing run '${run.runId}'`, () => this.#tx.writeRun.immediate(run, snapshot, steps));
  }

  appendStep(runId: string, step: StepRow, snapshot: SnapshotRow | undefined): void {
    if (this.#batched) {
      this.#throwFailure();
      this.#pending.push({ runId, step, snapshot });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#commitQuietly());
      }
      return;
    }
    const s = this.#statements;
    const what = `recording step '${step.stepName}' of run '${runId}'`;
    // One statement is its own transaction; a snapshot goes with its step in one.
    if (snapshot === undefined) this.#write(what, () => s.insertStep.run(stepParams(runId, step)));
    else this.#write(what, () => this.#tx.appendWithSnapshot.immediate(runId, step, snapshot));
  }

  updateRun(runId: string, progress: RunProgress, snapshot: SnapshotRow | undefined): void {
    this.#write(`updating run '${runId}'`, () => this.#tx.updateRun.immediate(runId, progress, snapshot));
  }

  readRun(runId: string): StoredRun | undefined {
    const stored = this.#read(`reading run '${runId}'`, () => this.#tx.readRun(runId));
    if (stored === null)
      throw new StateBackendError(
        `${this.path}: run '${runId}' has no context snapshot (the row is damaged)`,
      );
    return stored === undefined ? undefined : { ...stored, run: runFromDb(stored.run, this.path) };
  }

  listRuns(filter: RunFilter = {}): RunRow[] {
    return this.#read("listing runs", () => {
      const rows = this.#statements.listRuns.all({
        status: filter.status ?? null,
        pipeline: filter.pipelineName ?? null,
        limit: filter.limit ?? 50,
        offset: filter.offset ?? 0,
      }) as RunDbRow[];
      return rows.map((r) => runFromDb(r, this.path));
    });
  }

  deleteState(runId: string): void {
    this.#write(`deleting run '${runId}'`, () => this.#tx.deleteRun.immediate(runId));
  }

  saveTrace(runId: string, trace: unknown): void {
    const bytes = encodeState(trace, `run '${runId}': trace`);
    this.#write(`saving the trace of run '${runId}'`, () => {
      this.#statements.putTrace.run(runId, bytes, new Date().toISOString());
    });
  }

  getTrace(runId: string): unknown {
    const row = this.#read(`reading the trace of run '${runId}'`, () =>
      this.#statements.getTrace.get(runId),
    ) as { trace: Uint8Array } | undefined;
    return row === undefined ? undefined : decodeState(row.trace, `${this.path}: trace of run '${runId}'`);
  }

  /** Commits the batched step rows now (a no-op unless durability is "batched"). */
  flush(): void {
    this.#throwFailure();
    this.#commit();
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.flush();
    } finally {
      this.db.close();
    }
  }

  #commit(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    try {
      this.#tx.appendMany.immediate(pending);
    } catch (err) {
      throw wrap(err, this.path, `recording ${pending.length} batched step rows`);
    }
  }

  #commitQuietly(): void {
    if (!this.#scheduled || !this.db.open) return;
    try {
      this.#commit();
    } catch (err) {
      this.#failure ??= err;
    }
  }

  #throwFailure(): void {
    const failure = this.#failure;
    if (failure === undefined) return;
    this.#failure = undefined;
    throw failure;
  }

  /** `fn` writes in one IMMEDIATE transaction or one statement, so concurrent writers queue on the busy timeout. */
  #write(what: string, fn: () => unknown): void {
    this.flush();
    try {
      fn();
    } catch (err) {
      throw wrap(err, this.path, what);
    }
  }

  #read<T>(what: string, fn: () => T): T {
    this.flush();
    try {
      return fn();
    } catch (err) {
      throw wrap(err, this.path, what);
    }
  }
}

function open(path: string, options: SQLiteBackendOptions): Db {
  const durability = options.durability ?? "normal";
  if (durability !== "normal" && durability !== "full" && durability !== "batched")
    throw new StateBackendError(
      `SQLiteBackend: durability must be "normal", "full" or "batched", got ${String(durability)}`,
    );
  const busy = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busy) || busy < 0)
    throw new StateBackendError(`SQLiteBackend: busyTimeoutMs must be a non-negative integer, got ${busy}`);
  if (path !== ":memory:") {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StateBackendError(
        `Cannot create the directory of state database '${path}': ${errorMessage(err)}`,
      );
    }
  }
  let db: Db;
  try {
    db = new Database(path, { timeout: busy });
  } catch (err) {
    throw new StateBackendError(
      `Cannot open state database '${path}': ${errorMessage(err)}. Check that the directory is writable.`,
      { cause: err },
    );
  }
  try {
    db.pragma(`busy_timeout = ${busy}`);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
    db.pragma("foreign_keys = ON");
    db.pragma("temp_store = MEMORY");
  } catch (err) {
    db.close();
    throw wrap(err, path, "opening");
  }
  return db;
}

function migrate(db: Db, path: string): void {
  const version = () => Number(db.pragma("user_version", { simple: true }));
  let current: number;
  try {
    current = version();
  } catch (err) {
    throw wrap(err, path, "reading the schema version");
  }
  if (current > SCHEMA_VERSION) {
    throw new StateBackendError(
      `State database '${path}' has schema version ${current}, newer than this flujo reads (${SCHEMA_VERSION}). Upgrade flujo, or use another state file.`,
    );
  }
  if (current === SCHEMA_VERSION) return;
  try {
    db.transaction(() => {
      // Another process may have migrated between the check above and this (IMMEDIATE) transaction.
      for (let v = version(); v < SCHEMA_VERSION; v++) {
        db.exec(MIGRATIONS[v]);
        db.pragma(`user_version = ${v + 1}`);
      }
    }).immediate();
  } catch (err) {
    throw wrap(err, path, "migrating the schema");
  }
}

function prepare(db: Db) {
  const st = (sql: string): Statement => db.prepare(sql);
  return {
    insertRun: st(`INSERT INTO runs (run_id, pipeline_name, pipeline_version, pipeline_hash, status,
      current_step_index, total_steps, last_seq, total_cost_usd, total_tokens, created_at, updated_at, error_message)
      VALUES (@runId, @pipelineName, @pipelineVersion, @pipelineHash, @status, @currentStepIndex, @totalSteps,
      @lastSeq, @totalCostUsd, @totalTokens, @createdAt, @updatedAt, @errorMessage)`),
    updateRun:
      st(`UPDATE runs SET status = @status, current_step_index = @currentStepIndex, last_seq = @lastSeq,
      total_cost_usd = @totalCostUsd, total_tokens = @totalTokens, updated_at = @updatedAt,
      error_message = @errorMessage WHERE run_id = @runId`),
    deleteRun: st("DELETE FROM runs WHERE run_id = ?"),
    getRun: st("SELECT * FROM runs WHERE run_id = ?"),
    listRuns: st(`SELECT * FROM runs WHERE (@status IS NULL OR status = @status)
      AND (@pipeline IS NULL OR pipeline_name = @pipeline)
      ORDER BY created_at DESC, run_id LIMIT @limit OFFSET @offset`),
    insertStep: st(`INSERT INTO steps (run_id, seq, step_index, history_index, step_name, success, cost_usd,
      token_counts, latency_s, created_at, result, patch) VALUES (@runId, @seq, @stepIndex, @historyIndex,
      @stepName, @success, @costUsd, @tokenCounts, @latencyS, @createdAt, @result, @patch)`),
    getSteps: st("SELECT * FROM steps WHERE run_id = ? ORDER BY seq"),
    putSnapshot: st("INSERT OR REPLACE INTO snapshots (run_id, seq, context) VALUES (?, ?, ?)"),
    getSnapshot: st("SELECT seq, context FROM snapshots WHERE run_id = ?"),
    putTrace: st("INSERT OR REPLACE INTO traces (run_id, trace, created_at) VALUES (?, ?, ?)"),
    getTrace: st("SELECT trace FROM traces WHERE run_id = ?"),
    deleteTrace: st("DELETE FROM traces WHERE run_id = ?"),
  };
}

/**
 * The multi-statement writes, wrapped once (better-sqlite3 builds a wrapper per `transaction()` call).
 * Writes run IMMEDIATE: the write lock is taken at BEGIN, so two processes never deadlock upgrading a
 * read lock. The read is one deferred transaction: a consistent view of a run another process is writing.
 */
function transactions(db: Db, s: ReturnType<typeof prepare>) {
  return {
    writeRun: db.transaction((run: RunRow, snapshot: SnapshotRow, steps: readonly StepRow[]) => {
      s.deleteRun.run(run.runId);
      s.deleteTrace.run(run.runId);
      s.insertRun.run(runParams(run));
      for (const step of steps) s.insertStep.run(stepParams(run.runId, step));
      s.putSnapshot.run(run.runId, snapshot.seq, snapshot.context);
    }),
    appendWithSnapshot: db.transaction((runId: string, step: StepRow, snapshot: SnapshotRow) => {
      s.insertStep.run(stepParams(runId, step));
      s.putSnapshot.run(runId, snapshot.seq, snapshot.context);
    }),
    appendMany: db.transaction(
      (rows: ReadonlyArray<{ runId: string; step: StepRow; snapshot: SnapshotRow | undefined }>) => {
        for (const { runId, step, snapshot } of rows) {
          s.insertStep.run(stepParams(runId, step));
          if (snapshot !== undefined) s.putSnapshot.run(runId, snapshot.seq, snapshot.context);
        }
      },
    ),
    updateRun: db.transaction((runId: string, progress: RunProgress, snapshot: SnapshotRow | undefined) => {
      if (s.updateRun.run(progressParams(runId, progress)).changes === 0) throw missingRun(runId);
      if (snapshot !== undefined) s.putSnapshot.run(runId, snapshot.seq, snapshot.context);
    }),
    deleteRun: db.transaction((runId: string) => {
      s.deleteRun.run(runId);
      s.deleteTrace.run(runId);
    }),
    readRun: db.transaction((runId: string) => {
      const run = s.getRun.get(runId) as RunDbRow | undefined;
      if (run === undefined) return undefined;
      const snap = s.getSnapshot.get(runId) as { seq: number; context: Uint8Array } | undefined;
      if (snap === undefined) return null;
      const steps = (s.getSteps.all(runId) as StepDbRow[]).map(stepFromDb);
      return { run, snapshot: { seq: snap.seq, context: snap.context }, steps };
    }),
  };
}

function runParams(run: RunRow): Record<string, unknown> {
  return { ...run, errorMessage: run.errorMessage ?? null };
}

function progressParams(runId: string, p: RunProgress): Record<string, unknown> {
  return {
    runId,
    status: p.status,
    currentStepIndex: p.currentStepIndex,
    lastSeq: p.lastSeq,
    totalCostUsd: p.totalCostUsd,
    totalTokens: p.totalTokens,
    updatedAt: p.updatedAt,
    errorMessage: p.errorMessage ?? null,
  };
}

function stepParams(runId: string, s: StepRow): Record<string, unknown> {
  return {
    runId,
    seq: s.seq,
    stepIndex: s.stepIndex,
    historyIndex: s.historyIndex,
    stepName: s.stepName,
    success: s.success ? 1 : 0,
    costUsd: s.costUsd,
    tokenCounts: s.tokenCounts,
    latencyS: s.latencyS,
    createdAt: s.createdAt,
    result: s.result,
    patch: s.patch ?? null,
  };
}

function runFromDb(r: RunDbRow, path: string): RunRow {
  if (!STATUSES.has(r.status))
    throw new StateBackendError(`${path}: run '${r.run_id}' has an unknown status '${r.status}'`);
  return {
    runId: r.run_id,
    pipelineName: r.pipeline_name,
    pipelineVersion: r.pipeline_version,
    pipelineHash: r.pipeline_hash,
    status: r.status as RunStatus,
    currentStepIndex: r.current_step_index,
    totalSteps: r.total_steps,
    lastSeq: r.last_seq,
    totalCostUsd: r.total_cost_usd,
    totalTokens: r.total_tokens,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    errorMessage: r.error_message ?? undefined,
  };
}

function stepFromDb(r: StepDbRow): StepRow {
  return {
    seq: r.seq,
    stepIndex: r.step_index,
    historyIndex: r.history_index,
    stepName: r.step_name,
    success: r.success === 1,
    costUsd: r.cost_usd,
    tokenCounts: r.token_counts,
    latencyS: r.latency_s,
    createdAt: r.created_at,
    result: r.result,
    patch: r.patch ?? undefined,
  };
}

function missingRun(runId: string): StateBackendError {
  return new StateBackendError(`run '${runId}' is not in the state database (was it deleted?)`);
}

function wrap(err: unknown, path: string, what: string): StateBackendError {
  if (err instanceof StateBackendError) return err;
  const code = (err as { code?: unknown }).code;
  const detail = errorMessage(err);
  if (code === "SQLITE_NOTADB")
    return new StateBackendError(`'${path}' is not a SQLite database (${detail})`, { cause: err });
  if (code === "SQLITE_CORRUPT")
    return new StateBackendError(`State database '${path}' is corrupt (${detail}), while ${what}`, {
      cause: err,
    });
  if (code === "SQLITE_READONLY" || code === "SQLITE_CANTOPEN")
    return new StateBackendError(
      `State database '${path}' cannot be written (${detail}), while ${what}. Check the permissions of the file and its directory.`,
      { cause: err },
    );
  return new StateBackendError(`State database '${path}': ${detail}, while ${what}`, { cause: err });
}
