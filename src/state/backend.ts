/**
 * Where durable runs live. A backend stores each run as an append-only log: one row per top-level step
 * (its StepResult and a patch of what it changed in the context) plus the latest full snapshot of the
 * context, so a write costs what the step changed and a load replays at most the patches since the
 * snapshot. Backends store bytes (state/codec.ts) and never look inside them; encoding, patches and
 * replay are shared (state/recorder.ts, state/workflow.ts). See docs/state.md.
 */
import { ResumeError } from "../domain/errors.js";
import type { RunStatus, StepResult } from "../domain/results.js";
import { readWorkflow, type WorkflowState, writeWorkflow } from "./workflow.js";

export type Awaitable<T> = T | Promise<T>;

/** One run's row: who ran it, where it is, and how to check that the same pipeline resumes it. */
export interface RunRow {
  runId: string;
  pipelineName: string;
  pipelineVersion: string;
  /** Names and kinds of the pipeline's top-level steps, hashed: a different pipeline is refused on resume. */
  pipelineHash: string;
  status: RunStatus;
  /**
   * The index of the next top-level step to run, as of the last status change; step rows written after
   * it (seq > lastSeq) move it on (see WorkflowState.currentStepIndex).
   */
  currentStepIndex: number;
  totalSteps: number;
  /** The sequence number of the last step row at the last status change (0 before the first step). */
  lastSeq: number;
  totalCostUsd: number;
  totalTokens: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  updatedAt: string;
  errorMessage: string | undefined;
}

/** What a run row changes to after a step or a status change. */
export type RunProgress = Pick<
  RunRow,
  "status" | "currentStepIndex" | "lastSeq" | "totalCostUsd" | "totalTokens" | "updatedAt" | "errorMessage"
>;

export interface StepRow {
  /** 1, 2, ... in the order the steps ran; a step that ran again after a failure or crash gets a new seq. */
  seq: number;
  /** The top-level step's index in the pipeline. */
  stepIndex: number;
  /**
   * Where the result stands in the run's history: a row at position p replaces whatever was at p and
   * after it, so a step re-run after a failure or a crash takes the place of its earlier attempt.
   */
  historyIndex: number;
  stepName: string;
  success: boolean;
  costUsd: number;
  tokenCounts: number;
  latencyS: number;
  createdAt: string;
  /** The encoded StepResult (without its context). */
  result: Uint8Array;
  /** The encoded patch from the context after seq-1 to the context after this step; absent when none. */
  patch: Uint8Array | undefined;
}

/** The whole context as it was after step `seq` (0: at the start). */
export interface SnapshotRow {
  seq: number;
  context: Uint8Array;
}

/** A run as stored: its row, its latest snapshot, and every step row in seq order. */
export interface StoredRun {
  run: RunRow;
  snapshot: SnapshotRow;
  steps: StepRow[];
}

export interface RunFilter {
  status?: RunStatus;
  pipelineName?: string;
  /** Default 50. */
  limit?: number;
  offset?: number;
}

/** One step row for listings (`flujo runs show`): its StepResult decoded. */
export type RunStep = Omit<StepRow, "historyIndex" | "result" | "patch"> & { result: StepResult };

/**
 * A state backend: the storage primitives are abstract; loading, saving and listing are built on them
 * once, here, so every backend behaves the same. Primitives that write take effect atomically: a
 * crash leaves either all of a call's writes or none.
 */
export abstract class StateBackend {
  /** Creates a run (or replaces it, with all its steps) from a snapshot and step rows. */
  abstract writeRun(run: RunRow, snapshot: SnapshotRow, steps: readonly StepRow[]): Awaitable<void>;
  /**
   * Appends one step row; with a snapshot, it replaces the previous one. The run row is not touched:
   * where the run stands after its step rows is read from them (state/workflow.ts), so a step costs one
   * row written, not two.
   */
  abstract appendStep(runId: string, step: StepRow, snapshot: SnapshotRow | undefined): Awaitable<void>;
  /** Updates the run row (a pause, the end); with a snapshot, it replaces the previous one. */
  abstract updateRun(
    runId: string,
    progress: RunProgress,
    snapshot: SnapshotRow | undefined,
  ): Awaitable<void>;
  abstract readRun(runId: string): Awaitable<StoredRun | undefined>;
  abstract listRuns(filter?: RunFilter): Awaitable<RunRow[]>;
  abstract deleteState(runId: string): Awaitable<void>;
  abstract saveTrace(runId: string, trace: unknown): Awaitable<void>;
  abstract getTrace(runId: string): Awaitable<unknown>;
  /** Releases the backend's resources (files, connections). */
  abstract close(): Awaitable<void>;

  /** The run as a WorkflowState (its context replayed from the snapshot and the patches after it). */
  async loadState(runId: string): Promise<WorkflowState | undefined> {
    const stored = await this.readRun(runId);
    return stored === undefined ? undefined : readWorkflow(stored);
  }

  /** Writes a whole WorkflowState, replacing the run if it exists (Flujo's `save_state`). */
  async saveState(runId: string, state: WorkflowState): Promise<void> {
    if (state.runId !== runId)
      throw new ResumeError(`saveState: the state's runId '${state.runId}' is not '${runId}'`);
    const { run, snapshot, steps } = writeWorkflow(state);
    await this.writeRun(run, snapshot, steps);
  }

  async getRunDetails(runId: string): Promise<RunRow | undefined> {
    return (await this.readRun(runId))?.run;
  }

  /** The run's step rows in the order they ran, with their results decoded. */
  async listRunSteps(runId: string): Promise<RunStep[]> {
    const state = await this.loadState(runId);
    return state?.steps ?? [];
  }
}
