// The public API of flujo: re-exports only.
export { Step, CacheStep } from "./dsl/step.js";
export type { StepOptions, CallableStepOptions, FailureHandler } from "./dsl/step.js";
export { LoopStep } from "./dsl/loop.js";
export type { LoopOptions } from "./dsl/loop.js";
export { Pipeline, pipeline } from "./dsl/pipeline.js";
export type { PipelineOptions } from "./dsl/pipeline.js";
export type { StepConfig, StepConfigInput } from "./dsl/config.js";
export { DEFAULT_STEP_CONFIG } from "./dsl/config.js";
export type {
  Agent,
  AgentFunction,
  AgentResult,
  AgentRunOptions,
  AgentUsage,
  AgentProcessors,
  Plugin,
  PluginOutcome,
  Processor,
  RunOptions,
  Schema,
  ValidationResult,
  Validator,
} from "./dsl/types.js";
export { AgentOutput } from "./executor/usage.js";

export { Flujo } from "./runner/flujo.js";
export type { FlujoOptions, RunCallOptions } from "./runner/flujo.js";
export type { RunEvent, StepEvent, ChunkEvent } from "./runner/events.js";

export { ExecutorCore } from "./executor/core.js";
export type { ExecutorCoreOptions, ExecuteOptions } from "./executor/core.js";
export type { Policy, StepClass } from "./executor/registry.js";
export type { Frame } from "./executor/frame.js";

export { PipelineResult, stepResult } from "./domain/results.js";
export type { StepResult, RunStatus } from "./domain/results.js";
export type { Span } from "./domain/trace.js";
export { defaultPipelineContext } from "./domain/context.js";
export type { PipelineContext, HumanInteraction, ConversationTurn } from "./domain/context.js";
export { Quota } from "./domain/usage.js";
export type { UsageLimits, UsageEstimate } from "./domain/usage.js";
export { MergeStrategy, BranchFailureStrategy } from "./domain/strategies.js";
export type { MergeFunction } from "./domain/strategies.js";
export * from "./domain/errors.js";

export type { CacheBackend } from "./cache/backend.js";
export { InMemoryCache } from "./cache/memory.js";
export type { InMemoryCacheOptions } from "./cache/memory.js";

export type {
  HookFunction,
  HookPayload,
  HookEventName,
  PreRunPayload,
  PreStepPayload,
  PostStepPayload,
  OnStepFailurePayload,
  PostRunPayload,
} from "./telemetry/events.js";
export type { Logger } from "./telemetry/hooks.js";

export { backend, nativeLoadError } from "./native/index.js";
export type { BackendKind } from "./native/backend.js";
