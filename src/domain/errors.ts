import type { PipelineResult } from "./results.js";

/**
 * Flujo's exception hierarchy, with its names. `message` is always the plain text; `toString()` adds the
 * suggestion and code the way Flujo's `str()` does when either is set.
 */
export class FlujoError extends Error {
  readonly suggestion: string | undefined;
  readonly code: string | undefined;
  constructor(message: string, options: { suggestion?: string; code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.suggestion = options.suggestion;
    this.code = options.code;
  }
  override toString(): string {
    if (this.suggestion === undefined && this.code === undefined) return `${this.name}: ${this.message}`;
    let text = `[Flujo] ${this.message}`;
    if (this.suggestion !== undefined) text += `\n  Suggestion: ${this.suggestion}`;
    if (this.code !== undefined) text += `\n  Error Code: ${this.code}`;
    return text;
  }
}

export class ConfigurationError extends FlujoError {}
export class SettingsError extends ConfigurationError {}
export class PricingNotConfiguredError extends ConfigurationError {}
export class MissingAgentError extends ConfigurationError {}
export class HitlPolicyError extends ConfigurationError {}

export class ExecutionError extends FlujoError {}
export class UsageLimitExceededError extends ExecutionError {
  /** The partial run: completed steps plus the step whose usage crossed the limit. */
  result: PipelineResult | undefined;
  constructor(message: string, result?: PipelineResult) {
    super(message);
    this.result = result;
  }
}
export class ResumeError extends ExecutionError {}
/** A state store that cannot be opened, read or written: names the file or the run. */
export class StateBackendError extends ExecutionError {}
export class ReplayError extends ExecutionError {}
export class NonRetryableError extends ExecutionError {}
export class PluginError extends ExecutionError {}
export class StepInvocationError extends ExecutionError {}
export class ParallelStepError extends ExecutionError {}

export class ControlFlowError extends FlujoError {}
export class InfiniteRedirectError extends ControlFlowError {}
export class InfiniteFallbackError extends ControlFlowError {}
/** Raised by a hook to end the run gracefully: the run returns a paused-style result instead of throwing. */
export class PipelineAbortSignal extends ControlFlowError {
  constructor(message = "Pipeline aborted") {
    super(message, { code: "PIPELINE_ABORT" });
  }
}
/** Where a loop stopped when a step of its body paused; plain data, kept in the paused context. */
export interface LoopPause {
  /** The loop's name (a sanity check when the loop re-enters on resume). */
  loop: string;
  /** The iteration that paused (1-based). */
  iteration: number;
  /** Index in the loop body of the step that paused; resume re-runs that step. */
  stepIndex: number;
  stepName: string;
  /** The input the paused step received. */
  lastOutput: unknown;
  /** Usage of the loop's body steps that completed before the pause. */
  costUsd: number;
  tokens: number;
}

/**
 * Raised by a human-in-the-loop step to pause the run. The runner turns it into a paused PipelineResult.
 * Loops add where they stopped to `loops` (innermost first) as the pause propagates outward.
 */
export class PausedException extends ControlFlowError {
  /** The HITL step that paused, when one did. */
  readonly stepName: string | undefined;
  /** The input of that step. */
  readonly stepInput: unknown;
  readonly loops: LoopPause[] = [];
  constructor(message = "Paused for HITL", options: { stepName?: string; stepInput?: unknown } = {}) {
    super(message, { code: "PAUSED" });
    this.stepName = options.stepName;
    this.stepInput = options.stepInput;
  }
}

export class ContextError extends FlujoError {}
export class PipelineContextInitializationError extends ContextError {
  /** The top-level context fields the schema rejected (missing or invalid). */
  readonly fields: readonly string[];
  constructor(message: string, options: { fields?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.fields = options.fields ?? [];
  }
}
export class ContextInheritanceError extends ContextError {
  readonly missingFields: string[];
  readonly parentContextKeys: string[];
  readonly childModelName: string;
  constructor(message: string, missingFields: string[], parentContextKeys: string[], childModelName: string) {
    super(message, { code: "CONTEXT_INHERITANCE_ERROR" });
    this.missingFields = missingFields;
    this.parentContextKeys = parentContextKeys;
    this.childModelName = childModelName;
  }
}
export class ContextMergeError extends ContextError {}

export class ValidationError extends FlujoError {}
export class TypeMismatchError extends ValidationError {}
/**
 * `runner.resume` got a human input that the paused HITL step's `inputSchema` rejects. Nothing was changed:
 * the paused result can be resumed again with a valid input.
 */
export class HumanInputValidationError extends ValidationError {
  readonly stepName: string;
  readonly issues: ReadonlyArray<{
    message: string;
    path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  }>;
  constructor(
    message: string,
    stepName: string,
    issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }>,
  ) {
    super(message);
    this.stepName = stepName;
    this.issues = issues;
  }
}

/** Errors that pass through the executor untouched instead of becoming a failed StepResult. */
export function isControlError(err: unknown): boolean {
  return (
    err instanceof UsageLimitExceededError ||
    err instanceof PricingNotConfiguredError ||
    err instanceof InfiniteFallbackError ||
    err instanceof InfiniteRedirectError ||
    err instanceof PausedException ||
    err instanceof PipelineAbortSignal ||
    err instanceof MissingAgentError ||
    err instanceof CancelledError ||
    err instanceof TypeMismatchError
  );
}

/** "{Type}: {message}" the way Flujo formats an exception in feedback. */
export function describeError(err: unknown): string {
  return `${errorName(err)}: ${errorMessage(err)}`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The error's class name, like Python's `type(e).__name__`: `class RuntimeError extends Error {}` gives "RuntimeError". */
export function errorName(err: unknown): string {
  if (!(err instanceof Error)) return "Error";
  if (err.name !== "Error") return err.name;
  const ctor = (err as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === "string" && ctor.name !== "" ? ctor.name : "Error";
}

/** The run was cancelled through its AbortSignal. The runner turns it into a result with status "failed". */
export class CancelledError extends ControlFlowError {}

/** An agent call ran past its step's `timeoutS`. Its name reads as "TimeoutError" in feedback, as in Flujo. */
export class StepTimeoutError extends ExecutionError {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}
