/**
 * Flujo's `updates_context=True`: a step's object output written into the context key by key, with a
 * rollback for when the engine's validation of the updated context fails.
 */
import { ConfigurationError } from "../domain/errors.js";
import { hasOwn, isPlainObject, isUnsafeKey } from "./containers.js";
import { isIsolatedView, unwrap } from "./cow.js";

export interface AppliedOutput {
  /** False when the output was not a plain object and the context was left alone. */
  readonly applied: boolean;
  /** Restores every key this application wrote to its previous value, or removes it if it was absent. */
  rollback(): void;
}

export const SCRATCHPAD_REMOVED_MESSAGE = "'scratchpad' has been removed; use typed context fields instead.";

interface Previous {
  readonly key: string;
  readonly existed: boolean;
  readonly value: unknown;
}

const NOT_APPLIED: AppliedOutput = { applied: false, rollback() {} };

/**
 * Applies a plain-object output: every key is assigned as is (objects replace, they are not
 * deep-merged), except `importArtifacts`, which is shallow-merged into the current artifacts, and
 * `steps`, which is deep-merged into `stepOutputs`. A `scratchpad` key throws ConfigurationError
 * before anything is written. Strings, numbers, arrays, null and class instances are ignored.
 *
 * Cost is O(keys of the output). A view found directly under a key (a step returning part of its
 * context) is unwrapped; views nested deeper inside the output are the caller's to unwrap.
 */
export function applyOutputToContext(context: Record<string, unknown>, output: unknown): AppliedOutput {
  const update = isIsolatedView(output) ? unwrap(output) : output;
  if (!isPlainObject(update)) return NOT_APPLIED;
  if (hasOwn(update, "scratchpad")) throw new ConfigurationError(SCRATCHPAD_REMOVED_MESSAGE);

  const previous: Previous[] = [];
  const write = (key: string, value: unknown): void => {
    previous.push({ key, existed: hasOwn(context, key), value: context[key] });
    context[key] = value;
  };

  for (const key of Object.keys(update)) {
    if (isUnsafeKey(key)) continue;
    const value = unwrapView(update[key]);
    if (key === "importArtifacts") {
      write(key, mergedArtifacts(context[key], value));
    } else if (key === "steps") {
      const outputs = isPlainObject(context.stepOutputs) ? context.stepOutputs : {};
      write("stepOutputs", deepMerge(outputs, isPlainObject(value) ? value : { value }));
    } else {
      write(key, value);
    }
  }

  return {
    applied: true,
    rollback() {
      for (let i = previous.length - 1; i >= 0; i--) {
        const { key, existed, value } = previous[i];
        if (existed) context[key] = value;
        else delete context[key];
      }
    },
  };
}

function unwrapView(value: unknown): unknown {
  return isIsolatedView(value) ? unwrap(value) : value;
}

/** Flujo updates the artifacts in place with a dict and ignores anything else once artifacts exist. */
function mergedArtifacts(current: unknown, incoming: unknown): unknown {
  if (!isPlainObject(current)) return incoming;
  if (!isPlainObject(incoming)) return current;
  const merged: Record<string, unknown> = { ...current };
  for (const key of Object.keys(incoming)) if (!isUnsafeKey(key)) merged[key] = incoming[key];
  return merged;
}

/** Nested objects recurse; anything else (arrays included) replaces. Returns a new object. */
function deepMerge(base: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const key of Object.keys(update)) {
    if (isUnsafeKey(key)) continue;
    const current = merged[key];
    const incoming = update[key];
    merged[key] =
      hasOwn(base, key) && isPlainObject(current) && isPlainObject(incoming)
        ? deepMerge(current, incoming)
        : incoming;
  }
  return merged;
}
