/**
 * The runner's side of durable state: what is written when (flujo-behaviour.md §3.4, without Flujo's
 * double-counted step index).
 *
 * - run start: the run row and a snapshot of the starting context;
 * - after every top-level step, successful or not: its result and a patch of what it changed in the
 *   context (bytes proportional to the step's changes), with the run's progress, in one atomic write;
 * - a full snapshot instead of the patch whenever the patches written since the last snapshot add up to
 *   more than that snapshot: a load replays at most about one snapshot's worth of patches, and snapshots
 *   never cost more bytes than the patches they stand in for;
 * - a pause, a resume, the end: the run's status with a snapshot.
 */
import type { PipelineContext } from "../domain/context.js";
import type { PipelineResult, RunStatus, StepResult } from "../domain/results.js";
import type { Awaitable, RunProgress, RunRow, SnapshotRow, StateBackend } from "./backend.js";
import { encodeState } from "./codec.js";
import { ContextTracker } from "./patch.js";
import { encodeResult, stepRow } from "./workflow.js";

export interface RunIdentity {
  pipelineName: string;
  pipelineVersion: string;
  pipelineHash: string;
  totalSteps: number;
}

export class RunRecorder {
  readonly #backend: StateBackend;
  readonly #ctx: PipelineContext;
  readonly #tracker: ContextTracker;
  readonly #what: string;
  #seq: number;
  #snapshotBytes = 0;
  #sinceSnapshot = 0;

  private constructor(backend: StateBackend, ctx: PipelineContext, seq: number) {
    this.#backend = backend;
    this.#ctx = ctx;
    this.#seq = seq;
    this.#what = `run '${ctx.runId}'`;
    this.#tracker = new ContextTracker(ctx);
  }

  /** A new run: writes its row and the starting snapshot. */
  static async start(
    backend: StateBackend,
    ctx: PipelineContext,
    identity: RunIdentity,
  ): Promise<RunRecorder> {
    const recorder = new RunRecorder(backend, ctx, 0);
    const now = new Date().toISOString();
    const run: RunRow = {
      runId: ctx.runId,
      ...identity,
      status: "running",
      currentStepIndex: 0,
      lastSeq: 0,
      totalCostUsd: 0,
      totalTokens: 0,
      createdAt: now,
      updatedAt: now,
      errorMessage: undefined,
    };
    await backend.writeRun(run, recorder.#snapshot(), []);
    return recorder;
  }

  /**
   * A stored run going on (a resume, or a re-run of a crashed run): its status goes back to running, with
   * a snapshot of the context it continues from (which a resume may have changed).
   */
  static async continue(
    backend: StateBackend,
    ctx: PipelineContext,
    lastSeq: number,
    result: PipelineResult,
    currentStepIndex: number,
  ): Promise<RunRecorder> {
    const recorder = new RunRecorder(backend, ctx, lastSeq);
    await recorder.status("running", currentStepIndex, result, undefined);
    return recorder;
  }

  /** Records a top-level step's result at `historyIndex` of the run's history. */
  step(stepIndex: number, historyIndex: number, sr: StepResult): Awaitable<void> {
    const seq = ++this.#seq;
    const patch = this.#tracker.diff();
    let snapshot: SnapshotRow | undefined;
    let encodedPatch: Uint8Array | undefined;
    if (patch === null) {
      snapshot = this.#snapshot();
    } else if (patch.length > 0) {
      encodedPatch = encodeState(patch, `${this.#what}: context changes of step '${sr.name}'`);
      this.#sinceSnapshot += encodedPatch.byteLength;
      if (this.#sinceSnapshot > this.#snapshotBytes) {
        snapshot = this.#snapshot();
        encodedPatch = undefined;
      }
    }
    const now = new Date().toISOString();
    const row = stepRow(seq, stepIndex, historyIndex, sr, encodeResult(sr, this.#what), encodedPatch, now);
    return this.#backend.appendStep(this.#ctx.runId, row, snapshot);
  }

  /** A status change (pause, end, failure) with a full snapshot. */
  status(
    status: RunStatus,
    currentStepIndex: number,
    result: PipelineResult,
    errorMessage: string | undefined,
  ): Awaitable<void> {
    const now = new Date().toISOString();
    const progress = this.#progress(status, currentStepIndex, result, now);
    progress.errorMessage = errorMessage;
    return this.#backend.updateRun(this.#ctx.runId, progress, this.#snapshot());
  }

  /** Stops tracking the context (the run is over in this process). */
  stop(): void {
    this.#tracker.stop();
  }

  #snapshot(): SnapshotRow {
    const context = encodeState(this.#ctx, `${this.#what}: context`);
    this.#tracker.reset();
    this.#snapshotBytes = context.byteLength;
    this.#sinceSnapshot = 0;
    return { seq: this.#seq, context };
  }

  #progress(status: RunStatus, currentStepIndex: number, result: PipelineResult, now: string): RunProgress {
    return {
      status,
      currentStepIndex,
      lastSeq: this.#seq,
      totalCostUsd: result.totalCostUsd,
      totalTokens: result.totalTokens,
      updatedAt: now,
      errorMessage: undefined,
    };
  }
}
