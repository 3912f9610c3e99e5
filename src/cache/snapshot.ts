import type { StepResult } from "../domain/results.js";

/**
 * Makes a result safe to share between runs: the output is copied once, at store time, into frozen plain
 * data, so a hit can hand out the same object to every reader without a deep copy. Returns undefined when
 * the output holds something that cannot be frozen faithfully (class instances, Maps, functions), in which
 * case the result is not cached: a hit would otherwise return a different kind of value than the miss did.
 */
export function freezeForCache(result: StepResult): StepResult | undefined {
  const output = frozenCopy(result.output, 0);
  if (output === UNCACHEABLE) return undefined;
  let history = EMPTY_HISTORY;
  if (result.stepHistory.length > 0) {
    history = [];
    for (const r of result.stepHistory) {
      const frozen = freezeForCache(r);
      if (frozen === undefined) return undefined;
      history.push(frozen);
    }
    Object.freeze(history);
  }
  // Cached entries live long enough to reach the old generation, so each one is kept to one object when it can be.
  let metadata = EMPTY_METADATA;
  for (const _ in result.metadata) {
    metadata = Object.freeze({ ...result.metadata });
    break;
  }
  return Object.freeze({
    name: result.name,
    output,
    success: result.success,
    attempts: result.attempts,
    latencyS: result.latencyS,
    tokenCounts: result.tokenCounts,
    costUsd: result.costUsd,
    feedback: result.feedback,
    branchContext: undefined,
    metadata,
    stepHistory: history,
  });
}

const EMPTY_HISTORY: StepResult[] = Object.freeze([]) as unknown as StepResult[];
const EMPTY_METADATA: Record<string, unknown> = Object.freeze({});

/** A cache hit as a fresh result object (cheap: the output and history stay shared and frozen). */
export function resultFromCache(stored: StepResult): StepResult {
  return {
    name: stored.name,
    output: stored.output,
    success: stored.success,
    attempts: stored.attempts,
    latencyS: stored.latencyS,
    tokenCounts: stored.tokenCounts,
    costUsd: stored.costUsd,
    feedback: stored.feedback,
    branchContext: undefined,
    metadata: { ...stored.metadata, cacheHit: true },
    stepHistory: stored.stepHistory,
  };
}

const UNCACHEABLE = Symbol("uncacheable");
/** Objects this module froze itself, so they are known to be deeply frozen and can be shared as they are. */
const deeplyFrozen = new WeakSet<object>();
const MAX_DEPTH = 512;

function frozenCopy(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") {
    return typeof value === "function" || typeof value === "symbol" ? UNCACHEABLE : value;
  }
  if (deeplyFrozen.has(value)) return value;
  if (depth > MAX_DEPTH) return UNCACHEABLE;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = frozenCopy(value[i], depth + 1);
      if (item === UNCACHEABLE) return UNCACHEABLE;
      out[i] = item;
    }
    deeplyFrozen.add(out);
    return Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = proto === null ? Object.create(null) : {};
    for (const key of Object.keys(value)) {
      const item = frozenCopy((value as Record<string, unknown>)[key], depth + 1);
      if (item === UNCACHEABLE) return UNCACHEABLE;
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    }
    deeplyFrozen.add(out);
    return Object.freeze(out);
  }
  if (value instanceof Date) return Object.freeze(new Date(value.getTime()));
  return UNCACHEABLE;
}
