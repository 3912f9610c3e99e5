/**
 * The runner's use of durable state: which backend, how a stored run is checked before it continues,
 * and the pipeline's identity stamp. What is written when is in state/recorder.ts.
 */
import { ExecutionError, ResumeError } from "../domain/errors.js";
import type { Pipeline } from "../dsl/pipeline.js";
import { encodeCanonical, hot } from "../native/index.js";
import type { StateBackend } from "../state/backend.js";
import { stateBackendFromEnv } from "../state/uri.js";
import type { WorkflowState } from "../state/workflow.js";

export interface DurableOptions {
  stateBackend?: StateBackend;
  persistState?: boolean;
}

/** The explicit backend; else FLUJO_STATE_URI's; none when persistState is false. */
export function resolveStateBackend(options: DurableOptions): StateBackend | undefined {
  if (options.persistState === false) return undefined;
  return options.stateBackend ?? stateBackendFromEnv();
}

/** A stamp of the pipeline's shape: the names and kinds of its top-level steps, in order. */
export function pipelineHash(pipeline: Pipeline): string {
  return hot.hash128(encodeCanonical(pipeline.steps.map((s) => [s.name, s.constructor.name])));
}

/**
 * Refuses to continue a stored run that this pipeline cannot continue: an index past its steps
 * (Flujo's message), or a run recorded by another pipeline version or shape, which would otherwise
 * resume at the wrong step with a context the steps do not expect.
 */
export function checkStoredRun(
  state: WorkflowState,
  pipeline: Pipeline,
  pipelineVersion: string,
  hash: string,
): void {
  const n = pipeline.steps.length;
  if (state.currentStepIndex > n)
    throw new ExecutionError(
      `Invalid persisted step index ${state.currentStepIndex} for pipeline with ${n} steps`,
    );
  if (state.pipelineVersion !== pipelineVersion || state.pipelineHash !== hash) {
    const what =
      state.pipelineVersion !== pipelineVersion
        ? `version '${state.pipelineVersion}', and this runner's is '${pipelineVersion}'`
        : `version '${state.pipelineVersion}' with other steps than this runner's pipeline (${n} steps: ${pipeline.steps.map((s) => s.name).join(", ")})`;
    throw new ResumeError(
      `Run '${state.runId}' was recorded by pipeline '${state.pipelineName}' ${what}. Continue it with the pipeline that started it, or start a new run id.`,
    );
  }
}
