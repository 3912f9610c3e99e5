/**
 * A stored run as one value (Flujo's WorkflowState) and back: decoding the snapshot, replaying the
 * patches written after it, and rebuilding the history from the step rows.
 */
import { isPlainObject } from "../context/containers.js";
import { StateBackendError } from "../domain/errors.js";
import { type StepResult, stepResultFromPlain, stepResultToPlain } from "../domain/results.js";
import type { RunRow, RunStep, SnapshotRow, StepRow, StoredRun } from "./backend.js";
import { decodeState, encodeState } from "./codec.js";
import { applyPatch, isPatch } from "./patch.js";

/** A run as one value (Flujo's WorkflowState): its row's fields, with where it stands read exactly. */
export interface WorkflowState extends Omit<RunRow, "lastSeq"> {
  /** The index of the next top-level step to run, counting the step rows written after the run row. */
  currentStepIndex: number;
  pipelineContext: Record<string, unknown>;
  /** The output of the last completed step: the input of the step at currentStepIndex. */
  lastStepOutput: unknown;
  /** The run's history: each position holds the latest result recorded for it. */
  stepHistory: StepResult[];
  /** Every step row in the order the steps ran, failed attempts that were re-run included. */
  steps: RunStep[];
}

export function readWorkflow(stored: StoredRun): WorkflowState {
  const { run, snapshot } = stored;
  const what = `run '${run.runId}'`;
  const context = decodeState(snapshot.context, `${what}: context snapshot (after step row ${snapshot.seq})`);
  if (!isPlainObject(context))
    throw new StateBackendError(`${what}: the stored context snapshot is not an object`);
  const history: StepResult[] = [];
  const steps: RunStep[] = [];
  for (const row of stored.steps) {
    const where = `${what}: step row ${row.seq} ('${row.stepName}')`;
    const result = decodeResult(row.result, where);
    const { historyIndex: _h, result: _r, patch: _p, ...fields } = row;
    steps.push({ ...fields, result });
    if (row.historyIndex < 0 || row.historyIndex > history.length)
      throw new StateBackendError(`${where}: history position ${row.historyIndex} is out of order`);
    history.length = row.historyIndex;
    history.push(result);
    if (row.seq > snapshot.seq && row.patch !== undefined) {
      const patch = decodeState(row.patch, `${where}: context patch`);
      if (!isPatch(patch)) throw new StateBackendError(`${where}: the stored context patch is malformed`);
      applyPatch(context, patch);
    }
  }
  // Step rows after the last status change (a run still going, or one whose process died) say where the
  // run stands: after a successful step, at the next one; after a failed one, at that step again.
  let currentStepIndex = run.currentStepIndex;
  const lastRow = stored.steps[stored.steps.length - 1];
  const moved = lastRow !== undefined && lastRow.seq > run.lastSeq;
  if (moved) currentStepIndex = lastRow.success ? lastRow.stepIndex + 1 : lastRow.stepIndex;
  const last = currentStepIndex > 0 ? history[currentStepIndex - 1] : undefined;
  let totalCostUsd = 0;
  let totalTokens = 0;
  for (const r of history) {
    totalCostUsd += r.costUsd;
    totalTokens += r.tokenCounts;
  }
  return {
    runId: run.runId,
    pipelineName: run.pipelineName,
    pipelineVersion: run.pipelineVersion,
    pipelineHash: run.pipelineHash,
    status: run.status,
    currentStepIndex,
    totalSteps: run.totalSteps,
    pipelineContext: context,
    lastStepOutput: last?.output,
    stepHistory: history,
    steps,
    totalCostUsd,
    totalTokens,
    createdAt: run.createdAt,
    updatedAt: moved ? lastRow.createdAt : run.updatedAt,
    errorMessage: run.errorMessage,
  };
}

/** The rows that store `state` whole: one snapshot after the last step, and a row per history entry. */
export function writeWorkflow(state: WorkflowState): {
  run: RunRow;
  snapshot: SnapshotRow;
  steps: StepRow[];
} {
  const what = `run '${state.runId}'`;
  const steps = state.stepHistory.map((r, i) =>
    stepRow(i + 1, i, i, r, encodeResult(r, what), undefined, state.updatedAt),
  );
  return {
    run: {
      runId: state.runId,
      pipelineName: state.pipelineName,
      pipelineVersion: state.pipelineVersion,
      pipelineHash: state.pipelineHash,
      status: state.status,
      currentStepIndex: state.currentStepIndex,
      totalSteps: state.totalSteps,
      lastSeq: steps.length,
      totalCostUsd: state.totalCostUsd,
      totalTokens: state.totalTokens,
      createdAt: state.createdAt,
      updatedAt: state.updatedAt,
      errorMessage: state.errorMessage,
    },
    snapshot: { seq: steps.length, context: encodeState(state.pipelineContext, `${what}: context`) },
    steps,
  };
}

export function stepRow(
  seq: number,
  stepIndex: number,
  historyIndex: number,
  result: StepResult,
  encoded: Uint8Array,
  patch: Uint8Array | undefined,
  createdAt: string,
): StepRow {
  return {
    seq,
    stepIndex,
    historyIndex,
    stepName: result.name,
    success: result.success,
    costUsd: result.costUsd,
    tokenCounts: result.tokenCounts,
    latencyS: result.latencyS,
    createdAt,
    result: encoded,
    patch,
  };
}

export function encodeResult(result: StepResult, what: string): Uint8Array {
  return encodeState(stepResultToPlain(result), `${what}: result of step '${result.name}'`);
}

function decodeResult(bytes: Uint8Array, where: string): StepResult {
  const plain = decodeState(bytes, `${where}: result`);
  try {
    return stepResultFromPlain(plain);
  } catch (err) {
    throw new StateBackendError(`${where}: the stored result is malformed`, { cause: err });
  }
}
