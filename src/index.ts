// The public API of flujo: re-exports only.

export type { CacheBackend } from "./cache/backend.js";
export type { InMemoryCacheOptions } from "./cache/memory.js";
export { InMemoryCache } from "./cache/memory.js";
export type { SQLiteCacheOptions } from "./cache/sqlite.js";
export { SQLiteCache } from "./cache/sqlite.js";
export type { ConversationTurn, HumanInteraction, PipelineContext } from "./domain/context.js";
export { defaultPipelineContext } from "./domain/context.js";
export * from "./domain/errors.js";
export type { RunStatus, StepResult } from "./domain/results.js";
export { PipelineResult, stepResult } from "./domain/results.js";
export type { MergeFunction } from "./domain/strategies.js";
export { BranchFailureStrategy, MergeStrategy } from "./domain/strategies.js";
export type { Span } from "./domain/trace.js";
export type { UsageEstimate, UsageLimits } from "./domain/usage.js";
export { Quota } from "./domain/usage.js";
export type { BranchKey, BranchOptions } from "./dsl/conditional.js";
export { ConditionalStep } from "./dsl/conditional.js";
export type { StepConfig, StepConfigInput } from "./dsl/config.js";
export { DEFAULT_STEP_CONFIG } from "./dsl/config.js";
export type { HumanInTheLoopOptions } from "./dsl/hitl.js";
export { HumanInTheLoopStep } from "./dsl/hitl.js";
export type { LoopOptions } from "./dsl/loop.js";
export { LoopStep } from "./dsl/loop.js";
export type { MapOptions } from "./dsl/map.js";
export { MapStep } from "./dsl/map.js";
export type { ParallelOptions, ParallelReducer } from "./dsl/parallel.js";
export { ParallelStep } from "./dsl/parallel.js";
export type { PipelineOptions } from "./dsl/pipeline.js";
export { Pipeline, pipeline } from "./dsl/pipeline.js";
export type { RefinementCheck, RefinementInput, RefineOptions } from "./dsl/refine.js";
export { RefinementLoopStep } from "./dsl/refine.js";
export type { RouterOptions } from "./dsl/router.js";
export { DynamicParallelRouterStep } from "./dsl/router.js";
export type { StateMachineOptions, TransitionPayload, TransitionRule } from "./dsl/stateMachine.js";
export { StateMachineStep } from "./dsl/stateMachine.js";
export type { CallableStepOptions, FailureHandler, StepOptions } from "./dsl/step.js";
export { CacheStep, Step } from "./dsl/step.js";
export type {
  Agent,
  AgentFunction,
  AgentProcessors,
  AgentResult,
  AgentRunOptions,
  AgentUsage,
  Plugin,
  PluginOutcome,
  Processor,
  RunOptions,
  Schema,
  ValidationResult,
  Validator,
} from "./dsl/types.js";
export type { ValidateGraphOptions, ValidationFinding, ValidationReport } from "./dsl/validate.js";
export { validateGraph } from "./dsl/validate.js";
export type { ExecuteOptions, ExecutorCoreOptions } from "./executor/core.js";
export { ExecutorCore } from "./executor/core.js";
export type { Frame } from "./executor/frame.js";
export type { Policy, StepClass } from "./executor/registry.js";
export { AgentOutput } from "./executor/usage.js";
export type { BackendKind } from "./native/backend.js";
export { backend, canonicalHash, canonicalHashJson, nativeLoadError } from "./native/index.js";
export type {
  AlertMetric,
  AlertPayload,
  AlertResolvedPayload,
  AlertRule,
} from "./observability/alerts.js";
export type { ConsoleTracerOptions } from "./observability/console-tracer.js";
export { consoleTracer } from "./observability/console-tracer.js";
export type { FailureDiagnostics } from "./observability/diagnostics.js";
export { diagnosticsOf, failureReport, preview, rootCause } from "./observability/diagnostics.js";
export type { LatencySummary } from "./observability/histogram.js";
export { LatencyHistogram } from "./observability/histogram.js";
export type {
  Bottleneck,
  BottleneckReport,
  MetricsOptions,
  MetricsSnapshot,
  PipelineMetrics,
  ResourceMetrics,
  StepMetrics,
} from "./observability/metrics.js";
export { Metrics } from "./observability/metrics.js";
export { toPrometheus } from "./observability/prometheus.js";
export { findSpans, toPlainSpan } from "./observability/span.js";
export type { AsStepOptions } from "./runner/compose.js";
export type { ChunkEvent, RunEvent, StepEvent } from "./runner/events.js";
export type { FlujoOptions, RunCallOptions, TracingOptions } from "./runner/flujo.js";
export { Flujo } from "./runner/flujo.js";
export type {
  Awaitable,
  RunFilter,
  RunProgress,
  RunRow,
  RunStep,
  SnapshotRow,
  StepRow,
  StoredRun,
} from "./state/backend.js";
export { StateBackend } from "./state/backend.js";
export { MemoryBackend } from "./state/memory.js";
export type { SQLiteBackendOptions } from "./state/sqlite.js";
export { SQLiteBackend } from "./state/sqlite.js";
export { DEFAULT_STATE_URI, stateBackendFromUri } from "./state/uri.js";
export type { WorkflowState } from "./state/workflow.js";
export type {
  HookEventName,
  HookFunction,
  HookPayload,
  OnStepFailurePayload,
  PostRunPayload,
  PostStepPayload,
  PreRunPayload,
  PreStepPayload,
} from "./telemetry/events.js";
export type { Logger } from "./telemetry/hooks.js";
export type {
  CompiledExpression,
  CompiledTemplate,
  LoadedPipeline,
  LoadPipelineOptions,
  SourceLocation,
} from "./yaml/index.js";
export {
  BlueprintError,
  BlueprintImportError,
  compileExpression,
  compileTemplate,
  ExpressionError,
  loadPipelineFromString,
  loadPipelineYaml,
} from "./yaml/index.js";
