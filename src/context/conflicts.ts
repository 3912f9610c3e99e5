import { ConfigurationError } from "../domain/errors.js";
import { sameData } from "./canonical-key.js";
import { hasOwn, isNone, isPlainObject, isUnsafeKey } from "./containers.js";

const ADVICE = "Set an explicit merge strategy or field_mapping in your ParallelStep.";

export function mergeConflict(path: string): ConfigurationError {
  return new ConfigurationError(`Merge conflict for key '${path || "<root>"}'. ${ADVICE}`);
}

export function joinPath(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}.${key}`;
}

/** Top-level keys Flujo merges on purpose across siblings, so they are never a conflict. */
const MERGED_ON_PURPOSE: ReadonlySet<string> = new Set(["branchResults", "contextUpdates"]);

/** Marks "no parent context given": every differing leaf is then compared, as in Flujo. */
const NO_BASE: unique symbol = Symbol("no base");

/**
 * CONTEXT_UPDATE's check between sibling branches (Flujo §2.8 step 8.1), pair by pair in the given
 * order: objects are walked over their common keys (skipping `_` keys), arrays are skipped, numbers and
 * booleans are skipped (Flujo skips `int`/`float`, and Python's `bool` is an `int`), and any other pair
 * of differing non-null leaves throws ConfigurationError naming the dotted path and both branches.
 *
 * The engine passes each branch's `changes()`, so only keys both branches changed are compared; Flujo
 * compares whole contexts, where a value one branch changed conflicts with its sibling's untouched copy.
 * With `base` (the parent context the branches started from), that quirk is also gone inside nested
 * objects: a leaf conflicts only when both branches moved it away from the parent's value.
 * Shared (identical) subtrees are skipped at once, so the walk is O(what the branches changed).
 */
export function detectSiblingConflicts(
  branches: ReadonlyArray<readonly [string, Readonly<Record<string, unknown>>]>,
  base?: Readonly<Record<string, unknown>>,
): void {
  for (let i = 0; i < branches.length; i++) {
    const [nameA, contextA] = branches[i];
    for (let j = i + 1; j < branches.length; j++) {
      const [nameB, contextB] = branches[j];
      for (const key of Object.keys(contextA)) {
        if (key.startsWith("_") || isUnsafeKey(key) || MERGED_ON_PURPOSE.has(key) || !hasOwn(contextB, key))
          continue;
        const baseValue = base === undefined ? NO_BASE : childOf(base, key);
        walk(contextA[key], contextB[key], baseValue, key, nameA, nameB);
      }
    }
  }
}

function walk(a: unknown, b: unknown, base: unknown, path: string, nameA: string, nameB: string): void {
  if (a === b) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of Object.keys(a)) {
      if (key.startsWith("_") || isUnsafeKey(key) || !hasOwn(b, key)) continue;
      walk(
        a[key],
        b[key],
        base === NO_BASE ? NO_BASE : childOf(base, key),
        joinPath(path, key),
        nameA,
        nameB,
      );
    }
    return;
  }
  if (Array.isArray(a) || Array.isArray(b) || isNone(a) || isNone(b)) return;
  if (isNumeric(a) && isNumeric(b)) return;
  if (sameData(a, b)) return;
  if (base !== NO_BASE && (sameData(a, base) || sameData(b, base))) return;
  throw new ConfigurationError(
    `Merge conflict for key '${path}'. Branches '${nameA}' and '${nameB}' set different values. ${ADVICE}`,
  );
}

function isNumeric(value: unknown): boolean {
  return typeof value === "number" || typeof value === "boolean";
}

function childOf(parent: unknown, key: string): unknown {
  return isPlainObject(parent) && hasOwn(parent, key) ? parent[key] : undefined;
}
