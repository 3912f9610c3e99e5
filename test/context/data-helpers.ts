import { isIsolatedView } from "../../src/context/index.js";

/** Freezes every array and plain object under `value`, so any write into it throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** True when a view is anywhere under `value` (tests that exported data is plain). */
export function containsView(value: unknown, seen: Set<object> = new Set()): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (isIsolatedView(value)) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  return Object.keys(value).some((key) => containsView((value as Record<string, unknown>)[key], seen));
}
