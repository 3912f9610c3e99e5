import { ConfigurationError } from "./errors.js";

/** Run-wide budgets. A limit that is not set is unlimited. */
export interface UsageLimits {
  totalCostUsdLimit?: number | undefined;
  totalTokensLimit?: number | undefined;
}

export interface UsageEstimate {
  costUsd: number;
  tokens: number;
}

export const ZERO_USAGE: Readonly<UsageEstimate> = Object.freeze({ costUsd: 0, tokens: 0 });

/** Flujo's default when no token limit is set. */
const UNLIMITED_TOKENS = 2 ** 31 - 1;
/** Float slack so that 0.1 + 0.2 spent against a 0.3 limit is not a breach. */
const COST_EPSILON = 1e-9;

export function checkUsageLimits(limits: UsageLimits | undefined): void {
  if (limits === undefined) return;
  for (const field of ["totalCostUsdLimit", "totalTokensLimit"] as const) {
    const v = limits[field];
    if (v !== undefined && v !== null && !(typeof v === "number" && v >= 0 && !Number.isNaN(v))) {
      throw new ConfigurationError(`usageLimits.${field} must be a non-negative number, got ${String(v)}`);
    }
  }
}

/** Shared by every run without limits (a Quota only reads its limits). */
const NO_LIMITS: UsageLimits = Object.freeze({});

/**
 * The run's remaining budget. Usage is reserved before each agent call and reconciled after it, so the
 * step whose real usage crosses a limit is the one that reports the breach. JavaScript is single-threaded,
 * so plain arithmetic is atomic here: no locks.
 */
export class Quota {
  readonly limits: UsageLimits;
  /** A limit is set (read per step by the observer: a field, not a getter). */
  readonly limited: boolean;
  remainingCostUsd: number;
  remainingTokens: number;

  constructor(limits: UsageLimits = NO_LIMITS) {
    this.limits = limits;
    this.limited = limits.totalCostUsdLimit !== undefined || limits.totalTokensLimit !== undefined;
    this.remainingCostUsd = limits.totalCostUsdLimit ?? Number.POSITIVE_INFINITY;
    this.remainingTokens = limits.totalTokensLimit ?? UNLIMITED_TOKENS;
  }

  /** Takes the estimate out of the budget; false (and nothing taken) if it does not fit. */
  reserve(estimate: UsageEstimate): boolean {
    if (estimate.costUsd > this.remainingCostUsd + COST_EPSILON || estimate.tokens > this.remainingTokens)
      return false;
    this.remainingCostUsd -= estimate.costUsd;
    this.remainingTokens -= estimate.tokens;
    return true;
  }

  /** Replaces the reserved estimate by the actual usage; returns the breach message if a limit is now exceeded. */
  reclaim(estimate: UsageEstimate, actual: UsageEstimate): string | undefined {
    this.remainingCostUsd += estimate.costUsd - actual.costUsd;
    this.remainingTokens += estimate.tokens - actual.tokens;
    return this.breach();
  }

  breach(): string | undefined {
    if (this.remainingCostUsd < -COST_EPSILON && this.limits.totalCostUsdLimit !== undefined) {
      return costLimitMessage(this.limits.totalCostUsdLimit);
    }
    if (this.remainingTokens < 0 && this.limits.totalTokensLimit !== undefined) {
      return tokenLimitMessage(this.limits.totalTokensLimit);
    }
    return undefined;
  }

  /** The message for a reservation that does not fit. */
  denial(estimate: UsageEstimate): string {
    if (
      estimate.costUsd > this.remainingCostUsd + COST_EPSILON &&
      this.limits.totalCostUsdLimit !== undefined
    ) {
      return costLimitMessage(this.limits.totalCostUsdLimit);
    }
    if (this.limits.totalTokensLimit !== undefined) return tokenLimitMessage(this.limits.totalTokensLimit);
    return "Insufficient quota";
  }
}

/** Flujo's exact text; `String(1.2)` drops trailing zeros the way Flujo's format_cost does. */
export function costLimitMessage(limit: number): string {
  return `Cost limit of $${String(limit)} exceeded`;
}

export function tokenLimitMessage(limit: number): string {
  return `Token limit of ${String(limit)} exceeded`;
}
