export {
  type Awaitable,
  type RunFilter,
  type RunProgress,
  type RunRow,
  type RunStep,
  type SnapshotRow,
  StateBackend,
  type StepRow,
  type StoredRun,
} from "./backend.js";
export { decodeState, encodeState } from "./codec.js";
export { MemoryBackend } from "./memory.js";
export { applyPatch, ContextTracker, noteStepOutput, type Patch, type PatchOp } from "./patch.js";
export { type RunIdentity, RunRecorder } from "./recorder.js";
export { SQLiteBackend, type SQLiteBackendOptions } from "./sqlite.js";
export { DEFAULT_STATE_URI, stateBackendFromEnv, stateBackendFromUri } from "./uri.js";
export { readWorkflow, type WorkflowState, writeWorkflow } from "./workflow.js";
