import { type UsageEstimate, ZERO_USAGE } from "../domain/usage.js";
import type { AgentUsage } from "../dsl/types.js";

const RESULT_KEYS = new Set(["output", "costUsd", "tokenCounts", "usage"]);

/**
 * An agent's return value is an AgentResult when it is a plain object with an `output` key and nothing but
 * usage fields beside it. Anything else is the output itself (no guessing from other key names).
 */
export function isAgentResult(
  value: unknown,
): value is { output: unknown; costUsd?: unknown; tokenCounts?: unknown; usage?: unknown } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && !(value instanceof AgentOutput)) return false;
  if (!Object.hasOwn(value, "output")) return false;
  for (const key in value) if (!RESULT_KEYS.has(key)) return false;
  return true;
}

/** A class form of AgentResult, for agents that prefer `return new AgentOutput(text, { costUsd: 0.01 })`. */
export class AgentOutput<Out = unknown> {
  readonly output: Out;
  readonly costUsd: number | undefined;
  readonly tokenCounts: number | undefined;
  constructor(output: Out, usage: { costUsd?: number; tokenCounts?: number } = {}) {
    this.output = output;
    this.costUsd = usage.costUsd;
    this.tokenCounts = usage.tokenCounts;
  }
}

/**
 * Usage of one agent call, in Flujo's priority order: an AgentResult's usage() or its explicit fields; any
 * object with a numeric `costUsd`; a string output counts as 1 token; an object with `usage()`; else zero.
 */
export function extractUsage(raw: unknown, stepName: string): UsageEstimate {
  if (typeof raw === "string") return ONE_TOKEN;
  if (typeof raw !== "object" || raw === null) return ZERO_USAGE;
  const obj = raw as { costUsd?: unknown; tokenCounts?: unknown; usage?: unknown; output?: unknown };
  if (isAgentResult(raw)) {
    if (typeof obj.usage === "function") return fromUsage(obj.usage() as AgentUsage, obj.costUsd, stepName);
    return {
      costUsd: checked(obj.costUsd ?? 0, "costUsd", stepName),
      tokens: checked(obj.tokenCounts ?? (typeof obj.output === "string" ? 1 : 0), "tokenCounts", stepName),
    };
  }
  if (typeof obj.costUsd === "number") {
    return {
      costUsd: checked(obj.costUsd, "costUsd", stepName),
      tokens: checked(obj.tokenCounts ?? 0, "tokenCounts", stepName),
    };
  }
  if (typeof obj.usage === "function") return fromUsage(obj.usage() as AgentUsage, undefined, stepName);
  return ZERO_USAGE;
}

/** Shared results for the common cases, so extracting usage allocates nothing per call. */
const ONE_TOKEN: UsageEstimate = Object.freeze({ costUsd: 0, tokens: 1 });

function fromUsage(usage: AgentUsage | undefined, explicitCost: unknown, stepName: string): UsageEstimate {
  const u = usage ?? {};
  const input = u.inputTokens ?? u.requestTokens ?? 0;
  const output = u.outputTokens ?? u.responseTokens ?? 0;
  return {
    costUsd: checked(u.costUsd ?? explicitCost ?? 0, "costUsd", stepName),
    tokens: checked(input, "inputTokens", stepName) + checked(output, "outputTokens", stepName),
  };
}

/** Budgets are only as good as the numbers reported, so a bad figure fails the attempt instead of being ignored. */
function checked(value: unknown, field: string, stepName: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `Step '${stepName}': the agent reported ${field}=${String(value)}; usage must be a finite non-negative number`,
    );
  }
  return value;
}
