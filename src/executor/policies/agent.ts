import { isIsolatedView, mergeInto, unwrap } from "../../context/index.js";
import {
  CancelledError,
  errorMessage,
  errorName,
  InfiniteRedirectError,
  isControlError,
  MissingAgentError,
  PluginError,
  TypeMismatchError,
  UsageLimitExceededError,
} from "../../domain/errors.js";
import { PipelineResult, type StepResult, stepResult } from "../../domain/results.js";
import { type UsageEstimate, ZERO_USAGE } from "../../domain/usage.js";
import { describe } from "../../dsl/config.js";
import type { Step } from "../../dsl/step.js";
import type {
  Agent,
  AgentFunction,
  PluginOutcome,
  Processor,
  ValidationResult,
  Validator,
} from "../../dsl/types.js";
import { CallOptions, invokeAgent } from "../call.js";
import { now, stepStart } from "../clock.js";
import type { Frame } from "../frame.js";
import { type AgentPlan, agentPlan } from "../plan.js";
import type { Policy } from "../registry.js";
import { extractUsage, isAgentResult } from "../usage.js";
import { applyOutputEffects, formatIssues, wroteContext } from "./effects.js";

/** Fallback chains longer than this are treated as loops, as in Flujo. */
const MAX_FALLBACK_DEPTH = 10;
/** Rounds of plugin `newSolution` repairs before the step gives up (Flujo loops without a bound). */
const MAX_PLUGIN_ROUNDS = 10;

/**
 * Flujo's simple-step algorithm (flujo-behaviour.md §2.4-§2.5): retries on isolated contexts, timeouts,
 * processors, plugins with redirects, validators, fallback with its accounting, usage reservation.
 *
 * A bare step (nothing but the agent call) makes its first attempt without an async frame: the agent's
 * promise is continued with `.then`, so a run parked in an agent call holds two small closures instead
 * of a suspended generator with its register file (0.3 KB less per in-flight run). Every other case, and
 * every retry, goes through `attemptLoop`, the algorithm written once.
 */
export const agentPolicy: Policy = (frame, step, data) => {
  const plan = agentPlan(step);
  if (plan.call === undefined || !plan.bare) return preparedAttempts(frame, step, data, plan);
  const start = stepStart(frame);
  const options = new CallOptions(frame, plan);
  const estimate = plan.estimate;
  if (!frame.quota.reserve(estimate)) return Promise.reject(quotaDenied(frame, step, estimate));
  let raw: unknown;
  try {
    raw = invokeAgent(plan, data, options, frame, step.name);
  } catch (err) {
    return retryAfter(frame, step, plan, data, start, estimate, err);
  }
  if (!isThenable(raw)) {
    try {
      return Promise.resolve(firstSucceeded(frame, step, plan, data, start, estimate, options, raw));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return Promise.resolve(raw).then(
    (value) => firstSucceeded(frame, step, plan, data, start, estimate, options, value),
    (err: unknown) => retryAfter(frame, step, plan, data, start, estimate, err),
  );
};

/** The first attempt's agent call returned: its usage, then the bare step's completion. */
function firstSucceeded(
  frame: Frame,
  step: Step,
  plan: AgentPlan,
  data: unknown,
  start: number,
  estimate: UsageEstimate,
  options: CallOptions,
  raw: unknown,
): StepResult | Promise<StepResult> {
  let usage: { costUsd: number; tokens: number };
  try {
    usage = extractUsage(raw, step.name);
  } catch (err) {
    return retryAfter(frame, step, plan, data, start, estimate, err);
  }
  const output = isAgentResult(raw) ? raw.output : raw;
  const breach = frame.quota.reclaim(estimate, usage);
  if (breach !== undefined) throw breachError(step, output, 1, usage.tokens, usage.costUsd, start, breach);
  return succeeded(frame, step, options, output, 1, usage.tokens, usage.costUsd, start);
}

/** The first attempt's call failed: what the loop would have done with it, then the loop from attempt 2. */
function retryAfter(
  frame: Frame,
  step: Step,
  plan: AgentPlan,
  data: unknown,
  start: number,
  estimate: UsageEstimate,
  err: unknown,
): Promise<StepResult> {
  try {
    const feedback = callFailure(frame, estimate, err);
    if (frame.observer !== undefined)
      frame.observer.attemptFailed(frame, 1, feedback, 1 < attemptsOf(frame, plan));
    return attemptLoop(frame, step, plan, data, data, start, 2, 0, 0, feedback);
  } catch (control) {
    return Promise.reject(control);
  }
}

/** Inside a fallback the step gets exactly one attempt. */
function attemptsOf(frame: Frame, plan: AgentPlan): number {
  return frame.fallbackChain.length > 0 ? 1 : plan.attempts;
}

/** Input checks and prompt processors, then the attempts. */
async function preparedAttempts(
  frame: Frame,
  step: Step,
  data: unknown,
  plan: AgentPlan,
): Promise<StepResult> {
  if (plan.call === undefined) throw new MissingAgentError(`Step '${step.name}' has no agent configured`);
  const start = stepStart(frame);
  let input = data;
  if (!plan.bare) {
    if (step.inputSchema !== undefined) await checkInput(step, data);
    if (plan.promptProcessors.length > 0) {
      try {
        input = await runProcessors(plan.promptProcessors, input, new CallOptions(frame, plan));
      } catch (err) {
        if (isControlError(err)) throw err;
        return finish(
          start,
          stepResult(step.name, {
            success: false,
            attempts: 1,
            feedback: `Agent execution failed: ${errorMessage(err)}`,
          }),
        );
      }
    }
  }
  return attemptLoop(frame, step, plan, data, input, start, 1, 0, 0, undefined);
}

/** Attempts `from` to the last, then the fallback or the failure; `tokens`/`cost`/`feedback` carry earlier attempts. */
async function attemptLoop(
  frame: Frame,
  step: Step,
  plan: AgentPlan,
  data: unknown,
  input: unknown,
  start: number,
  from: number,
  tokens: number,
  cost: number,
  feedback: string | undefined,
): Promise<StepResult> {
  const attempts = attemptsOf(frame, plan);
  let made = from - 1;
  for (let attempt = from; attempt <= attempts; attempt++) {
    made = attempt;
    const options = new CallOptions(frame, plan);
    const estimate = plan.estimate;
    if (!frame.quota.reserve(estimate)) throw quotaDenied(frame, step, estimate);
    let raw: unknown;
    let usage: { costUsd: number; tokens: number };
    try {
      raw = invokeAgent(plan, input, options, frame, step.name);
      if (isThenable(raw)) raw = await raw;
      usage = extractUsage(raw, step.name);
    } catch (err) {
      feedback = callFailure(frame, estimate, err);
      if (frame.observer !== undefined)
        frame.observer.attemptFailed(frame, attempt, feedback, attempt < attempts);
      continue;
    }
    tokens += usage.tokens;
    cost += usage.costUsd;
    let output = isAgentResult(raw) ? raw.output : raw;
    const breach = frame.quota.reclaim(estimate, usage);
    if (breach !== undefined) throw breachError(step, output, attempt, tokens, cost, start, breach);

    if (!plan.bare) {
      if (plan.outputProcessors.length > 0) {
        try {
          output = await runProcessors(plan.outputProcessors, output, options);
        } catch (err) {
          if (isControlError(err)) throw err;
          feedback = `Processor failed: ${errorMessage(err)}`;
          if (frame.observer !== undefined)
            frame.observer.attemptFailed(frame, attempt, feedback, attempt < attempts);
          continue;
        }
      }
      if (plan.plugins.length > 0) {
        try {
          const repaired = await runPlugins(frame, step, plan, output, input, options);
          output = repaired.output;
          tokens += repaired.tokens;
          cost += repaired.costUsd;
        } catch (err) {
          if (isControlError(err)) throw err;
          feedback = `Plugin execution failed: ${errorMessage(err)}`;
          // Inside a loop Flujo goes straight to the fallback instead of retrying the primary.
          const toFallback = plan.fallback !== undefined && frame.inLoop;
          if (frame.observer !== undefined)
            frame.observer.attemptFailed(frame, attempt, feedback, !toFallback && attempt < attempts);
          if (toFallback) break;
          continue;
        }
      }
      if (plan.validators.length > 0) {
        const invalid = await runValidators(plan.validators, output, options);
        if (invalid !== undefined) {
          if (frame.observer !== undefined)
            frame.observer.attemptFailed(frame, attempt, `Validation failed: ${invalid}`, false);
          if (plan.fallback !== undefined) {
            return runFallback(frame, step, plan, data, invalid, tokens, attempt, start, {
              validationFailure: invalid,
              validationFallbackUsed: true,
            });
          }
          return finish(
            start,
            stepResult(step.name, {
              output,
              success: false,
              attempts: attempt,
              tokenCounts: tokens,
              costUsd: cost,
              feedback: `Validation failed: ${formatFeedback(invalid)}`,
              metadata: { validationFallbackUsed: false },
            }),
          );
        }
      }
    }
    return succeeded(frame, step, options, output, attempt, tokens, cost, start);
  }

  if (plan.fallback !== undefined)
    return runFallback(frame, step, plan, data, feedback ?? "", tokens, made, start, {});
  return finish(
    start,
    stepResult(step.name, { success: false, attempts: made, tokenCounts: tokens, costUsd: cost, feedback }),
  );
}

/**
 * An attempt's call threw (or its usage was unreadable): the reservation is returned, control errors
 * propagate, anything else becomes the feedback of a failed attempt.
 */
function callFailure(frame: Frame, estimate: UsageEstimate, err: unknown): string {
  frame.quota.reclaim(estimate, ZERO_USAGE);
  if (frame.signal.aborted && !(err instanceof CancelledError))
    throw new CancelledError("Run cancelled", { cause: err });
  if (isControlError(err)) throw err;
  return `Agent execution failed with ${errorName(err)}: ${errorMessage(err)}`;
}

function quotaDenied(frame: Frame, step: Step, estimate: UsageEstimate): UsageLimitExceededError {
  return new UsageLimitExceededError(
    frame.quota.denial(estimate),
    new PipelineResult({
      stepHistory: [
        stepResult(step.name, {
          success: false,
          attempts: 0,
          metadata: { exitReason: "quota_reservation_denied" },
        }),
      ],
    }),
  );
}

/** Flujo records the step whose usage crossed the limit as successful, then stops the run. */
function breachError(
  step: Step,
  output: unknown,
  attempt: number,
  tokens: number,
  cost: number,
  start: number,
  breach: string,
): UsageLimitExceededError {
  const breaching = stepResult(step.name, {
    output,
    success: true,
    attempts: attempt,
    tokenCounts: tokens,
    costUsd: cost,
  });
  return new UsageLimitExceededError(breach, new PipelineResult({ stepHistory: [finish(start, breaching)] }));
}

/** A successful attempt: its result, the isolated context's changes merged, the output's effects applied. */
function succeeded(
  frame: Frame,
  step: Step,
  options: CallOptions,
  value: unknown,
  attempt: number,
  tokens: number,
  cost: number,
  start: number,
): StepResult | Promise<StepResult> {
  const output = typeof value === "object" && value !== null && isIsolatedView(value) ? unwrap(value) : value;
  // A literal with every field: one allocation and one hidden class on the hot path.
  const result: StepResult = {
    name: step.name,
    output,
    success: true,
    attempts: attempt,
    latencyS: 0,
    tokenCounts: tokens,
    costUsd: cost,
    feedback: undefined,
    branchContext: frame.context,
    metadata: {},
    stepHistory: [],
  };
  const isolation = options.isolation;
  if (isolation?.hasChanges()) {
    mergeInto(frame.context, isolation.changes());
    wroteContext.add(result);
  }
  const effectFailure = applyOutputEffects(frame, step, output);
  if (effectFailure instanceof Promise)
    return effectFailure.then((failure) => finishWith(start, result, failure));
  return finishWith(start, result, effectFailure);
}

/** Finishes a result, failed with `failure` as its feedback when an output effect was refused. */
function finishWith(start: number, result: StepResult, failure: string | undefined): StepResult {
  if (failure !== undefined) {
    result.success = false;
    result.feedback = failure;
  }
  return finish(start, result);
}

/** Agents may return any thenable (a Bluebird or a custom promise), not only a native Promise. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

function finish(start: number, result: StepResult): StepResult {
  result.latencyS = (now() - start) / 1000;
  return result;
}

/**
 * Runs the fallback on the original input (§2.5). A successful fallback's result stands for the step: its
 * name, output and cost, with the primary's tokens and attempts added. A cycle of fallbacks is reported as
 * a failed step, not raised.
 */
async function runFallback(
  frame: Frame,
  step: Step,
  plan: AgentPlan,
  data: unknown,
  primaryFeedback: string,
  primaryTokens: number,
  primaryAttempts: number,
  start: number,
  extraMetadata: Record<string, unknown>,
): Promise<StepResult> {
  const fallback = plan.fallback!;
  const chain = [...frame.fallbackChain, step.name];
  if (chain.includes(fallback.name) || chain.length > MAX_FALLBACK_DEPTH) {
    return finish(
      start,
      stepResult(step.name, {
        success: false,
        attempts: primaryAttempts,
        tokenCounts: primaryTokens,
        feedback: `Fallback loop detected for step '${step.name}'`,
        metadata: { fallbackTriggered: true, originalError: primaryFeedback },
      }),
    );
  }
  let fbFrame: Frame = { ...frame, fallbackChain: chain };
  if (fbFrame.observer !== undefined) fbFrame = fbFrame.observer.fallback(fbFrame, primaryFeedback);
  const fb = await frame.core.run(fbFrame, fallback, data);
  const metadata = {
    ...fb.metadata,
    ...extraMetadata,
    fallbackTriggered: true,
    originalError: primaryFeedback,
  };
  if (fb.success) {
    return finish(start, {
      ...fb,
      tokenCounts: primaryTokens + fb.tokenCounts,
      attempts: primaryAttempts + fb.attempts,
      feedback: step.config.preserveFallbackDiagnostics
        ? `Primary agent failed: ${primaryFeedback}`
        : undefined,
      metadata,
    });
  }
  return finish(start, {
    ...fb,
    name: step.name,
    success: false,
    tokenCounts: primaryTokens + fb.tokenCounts,
    attempts: primaryAttempts + fb.attempts,
    feedback: `Original error: ${primaryFeedback}; Fallback error: ${fb.feedback ?? ""}`,
    metadata,
  });
}

async function checkInput(step: Step, data: unknown): Promise<void> {
  let outcome = step.inputSchema!["~standard"].validate(data);
  if (outcome instanceof Promise) outcome = await outcome;
  if (outcome.issues !== undefined) {
    throw new TypeMismatchError(
      `Type mismatch: the input of step '${step.name}' does not match its inputSchema: ${formatIssues(outcome.issues)} (got ${describe(data)})`,
    );
  }
}

async function runProcessors(
  processors: readonly Processor[],
  data: unknown,
  options: CallOptions,
): Promise<unknown> {
  let current = data;
  for (const p of processors) {
    current = typeof p === "function" ? await p(current, options) : await p.process(current, options);
  }
  return current;
}

/** Flujo hands plugins a dict: a plain-object output as it is, anything else as `{ output }`. */
function pluginData(output: unknown): Record<string, unknown> {
  if (
    typeof output === "object" &&
    output !== null &&
    !Array.isArray(output) &&
    Object.getPrototypeOf(output) === Object.prototype
  ) {
    return output as Record<string, unknown>;
  }
  return { output };
}

function nameOf(target: unknown): string {
  if (typeof target === "function") return target.name || "anonymous";
  const obj = target as { name?: unknown; constructor?: { name?: string } };
  if (typeof obj.name === "string" && obj.name) return obj.name;
  return obj.constructor?.name ?? "anonymous";
}

/**
 * Runs the plugins in priority order until they all pass (§2.4 step 11). A redirect re-runs another agent on
 * the original input; a new solution replaces the output; either starts another round.
 */
async function runPlugins(
  frame: Frame,
  step: Step,
  plan: AgentPlan,
  output: unknown,
  originalInput: unknown,
  options: CallOptions,
): Promise<{ output: unknown; tokens: number; costUsd: number }> {
  let current = output;
  let tokens = 0;
  let costUsd = 0;
  const redirected = new Set<unknown>();
  for (let round = 0; round < MAX_PLUGIN_ROUNDS; round++) {
    let again = false;
    for (const plugin of plan.plugins) {
      let outcome: PluginOutcome;
      try {
        outcome = await plugin.validate(pluginData(current), options);
      } catch (err) {
        if (isControlError(err)) throw err;
        throw new PluginError(`Plugin ${nameOf(plugin)} failed: ${errorMessage(err)}`);
      }
      if (typeof outcome !== "object" || outcome === null || typeof outcome.success !== "boolean") {
        throw new PluginError(
          `Plugin ${nameOf(plugin)} returned ${describe(outcome)}; expected { success, feedback?, redirectTo?, newSolution? }`,
        );
      }
      if (outcome.redirectTo !== undefined && outcome.redirectTo !== null) {
        const target = outcome.redirectTo;
        if (redirected.has(target)) {
          throw new InfiniteRedirectError(
            `Redirect loop detected in step '${step.name}': agent '${nameOf(target)}' was already redirected to`,
          );
        }
        redirected.add(target);
        const raw = await callRedirect(target, originalInput, options);
        const usage = extractUsage(raw, step.name);
        tokens += usage.tokens;
        costUsd += usage.costUsd;
        const breach = frame.quota.reclaim(ZERO_USAGE, usage);
        if (breach !== undefined) throw new UsageLimitExceededError(breach);
        current = isAgentResult(raw) ? raw.output : raw;
        again = true;
        break;
      }
      if (!outcome.success) {
        throw new PluginError(
          `Plugin validation failed: ${outcome.feedback || "Plugin failed without feedback"}`,
        );
      }
      if (outcome.newSolution !== undefined) {
        current = outcome.newSolution;
        again = true;
        break;
      }
    }
    if (!again) return { output: current, tokens, costUsd };
  }
  throw new PluginError(
    `Plugins of step '${step.name}' kept redirecting or repairing after ${MAX_PLUGIN_ROUNDS} rounds`,
  );
}

function callRedirect(target: Agent | AgentFunction, input: unknown, options: CallOptions): unknown {
  if (typeof target === "function") return target(input, options);
  if (typeof target === "object" && target !== null && typeof target.run === "function")
    return target.run(input, options);
  throw new PluginError(
    `redirectTo must be an agent (a function or an object with run()), got ${describe(target)}`,
  );
}

/** Returns the first invalid result's feedback, or undefined when every validator passes. Validators never retry. */
async function runValidators(
  validators: readonly Validator[],
  output: unknown,
  options: CallOptions,
): Promise<string | undefined> {
  for (const v of validators) {
    let result: ValidationResult;
    try {
      result = typeof v === "function" ? await v(output, options) : await v.validate(output, options);
    } catch (err) {
      if (isControlError(err)) throw err;
      return `Validator ${nameOf(v)} failed: ${errorMessage(err)}`;
    }
    if (typeof result !== "object" || result === null || typeof result.isValid !== "boolean") {
      return `Validator ${nameOf(v)} returned ${describe(result)}; expected { isValid, feedback? }`;
    }
    if (!result.isValid) return result.feedback ?? `Validator ${nameOf(v)} rejected the output`;
  }
  return undefined;
}

/** Flujo's format_feedback: a message that names no error or exception gets an "Agent exception: " prefix. */
function formatFeedback(message: string): string {
  const lower = message.toLowerCase();
  return lower.includes("error") || lower.includes("exception") ? message : `Agent exception: ${message}`;
}
