import type { UsageEstimate } from "../domain/usage.js";
import { ENGINE_SLOTS, type Step } from "../dsl/step.js";
import type { Agent, AgentRunOptions, Plugin, Processor, Validator } from "../dsl/types.js";

type AgentCall = (this: unknown, input: unknown, options: AgentRunOptions) => unknown;
type AgentStream = (this: unknown, input: unknown, options: AgentRunOptions) => AsyncIterable<unknown>;

/**
 * Everything the agent policy needs to know about a step, worked out once per step object so the per-call
 * path only executes it: no reflection, no sorting, no option parsing per call.
 */
export interface AgentPlan {
  readonly call: AgentCall | undefined;
  readonly stream: AgentStream | undefined;
  readonly agentThis: unknown;
  /** maxRetries + 1, or 1 when the step has plugins and no fallback (Flujo's rule). */
  readonly attempts: number;
  readonly timeoutMs: number | undefined;
  /** Plugins in descending priority; a stable sort keeps declaration order among equals. */
  readonly plugins: readonly Plugin[];
  readonly validators: readonly Validator[];
  readonly promptProcessors: readonly Processor[];
  readonly outputProcessors: readonly Processor[];
  readonly fallback: Step | undefined;
  readonly estimate: UsageEstimate;
  /** Sampling settings passed to the agent, or undefined when none is set. */
  readonly sampling: { temperature?: number; topK?: number; topP?: number } | undefined;
  /** True when nothing but the agent call happens: lets the policy skip every optional phase at once. */
  readonly bare: boolean;
}

/** A step's plan, compiled on its first execution and kept in its engine slots (steps are immutable). */
export function agentPlan(step: Step): AgentPlan {
  const slots = step[ENGINE_SLOTS];
  let plan = slots.plan as AgentPlan | undefined;
  if (plan === undefined) {
    plan = compile(step);
    slots.plan = plan;
  }
  return plan;
}

function compile(step: Step): AgentPlan {
  const agent = step.agent;
  let call: AgentCall | undefined;
  let stream: AgentStream | undefined;
  let agentThis: unknown;
  if (typeof agent === "function") {
    call = agent as AgentCall;
  } else if (agent !== undefined) {
    call = (agent as Agent).run as AgentCall;
    stream =
      typeof (agent as Agent).stream === "function" ? ((agent as Agent).stream as AgentStream) : undefined;
    agentThis = agent;
  }
  const { config } = step;
  const plugins = [...step.plugins].sort((a, b) => b[1] - a[1]).map(([p]) => p);
  const fallback = step.fallbackStep;
  const sampling: { temperature?: number; topK?: number; topP?: number } = {};
  if (config.temperature !== undefined) sampling.temperature = config.temperature;
  if (config.topK !== undefined) sampling.topK = config.topK;
  if (config.topP !== undefined) sampling.topP = config.topP;
  const promptProcessors = step.processors.promptProcessors;
  const outputProcessors = step.processors.outputProcessors;
  return Object.freeze({
    call,
    stream,
    agentThis,
    attempts: plugins.length > 0 && fallback === undefined ? 1 : config.maxRetries + 1,
    timeoutMs: config.timeoutS === undefined ? undefined : config.timeoutS * 1000,
    plugins,
    validators: step.validators,
    promptProcessors,
    outputProcessors,
    fallback,
    estimate: Object.freeze({ costUsd: config.expectedCostUsd ?? 0, tokens: config.expectedTokens ?? 0 }),
    sampling: Object.keys(sampling).length > 0 ? sampling : undefined,
    bare:
      plugins.length === 0 &&
      step.validators.length === 0 &&
      promptProcessors.length === 0 &&
      outputProcessors.length === 0 &&
      step.inputSchema === undefined,
  });
}
