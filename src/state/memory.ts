import { StateBackendError } from "../domain/errors.js";
import type { RunFilter, RunProgress, RunRow, SnapshotRow, StepRow, StoredRun } from "./backend.js";
import { StateBackend } from "./backend.js";
import { decodeState, encodeState } from "./codec.js";

interface Entry {
  run: RunRow;
  snapshot: SnapshotRow;
  steps: StepRow[];
}

/**
 * Runs kept in this process's memory (Flujo's InMemoryBackend): what tests and short-lived runs use.
 * It stores the same encoded bytes as SQLiteBackend and hands out copies, so a run read back never
 * shares objects with the run that wrote it.
 */
export class MemoryBackend extends StateBackend {
  readonly #runs = new Map<string, Entry>();
  readonly #traces = new Map<string, Uint8Array>();

  writeRun(run: RunRow, snapshot: SnapshotRow, steps: readonly StepRow[]): void {
    this.#runs.set(run.runId, {
      run: { ...run },
      snapshot: { ...snapshot },
      steps: steps.map((s) => ({ ...s })),
    });
  }

  appendStep(runId: string, step: StepRow, snapshot: SnapshotRow | undefined): void {
    const entry = this.#entry(runId);
    entry.steps.push({ ...step });
    if (snapshot !== undefined) entry.snapshot = { ...snapshot };
  }

  updateRun(runId: string, progress: RunProgress, snapshot: SnapshotRow | undefined): void {
    this.#progress(this.#entry(runId), progress, snapshot);
  }

  readRun(runId: string): StoredRun | undefined {
    const entry = this.#runs.get(runId);
    if (entry === undefined) return undefined;
    return {
      run: { ...entry.run },
      snapshot: { ...entry.snapshot },
      steps: entry.steps.map((s) => ({ ...s })),
    };
  }

  listRuns(filter: RunFilter = {}): RunRow[] {
    const rows = [...this.#runs.values()]
      .map((e) => e.run)
      .filter((r) => filter.status === undefined || r.status === filter.status)
      .filter((r) => filter.pipelineName === undefined || r.pipelineName === filter.pipelineName)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    const offset = filter.offset ?? 0;
    return rows.slice(offset, offset + (filter.limit ?? 50)).map((r) => ({ ...r }));
  }

  deleteState(runId: string): void {
    this.#runs.delete(runId);
    this.#traces.delete(runId);
  }

  saveTrace(runId: string, trace: unknown): void {
    this.#traces.set(runId, encodeState(trace, `run '${runId}': trace`));
  }

  getTrace(runId: string): unknown {
    const bytes = this.#traces.get(runId);
    return bytes === undefined ? undefined : decodeState(bytes, `run '${runId}': trace`);
  }

  close(): void {}

  #entry(runId: string): Entry {
    const entry = this.#runs.get(runId);
    if (entry === undefined) throw new StateBackendError(`MemoryBackend: no run '${runId}'`);
    return entry;
  }

  #progress(entry: Entry, progress: RunProgress, snapshot: SnapshotRow | undefined): void {
    entry.run = { ...entry.run, ...progress };
    if (snapshot !== undefined) entry.snapshot = { ...snapshot };
  }
}
