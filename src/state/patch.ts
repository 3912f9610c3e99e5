/**
 * Context patches for delta persistence: what changed in a run's context since the previous record, in
 * O(what changed), without serializing or walking the whole context.
 *
 * The diff compares by identity. It relies on the engine's rule for the live context: nested objects
 * and arrays are never mutated in place, they are replaced by copies that share what did not change
 * (merges, `sinkTo`, HITL bookkeeping all follow it), so an unchanged reference is an unchanged subtree.
 * The one in-place write the engine makes, `stepOutputs[name] = output`, is reported to the tracker
 * (see `noteStepOutput`), since copying `stepOutputs` per step would make long runs quadratic. A hook
 * that mutates nested context data in place breaks the rule; such a change reaches the store with the
 * next full snapshot (docs/state.md).
 */
import { hasOwn, isPlainObject, isUnsafeKey, putOwn, shallowCopy } from "../context/containers.js";

/** Sets `value` at `path`. */
export type SetOp = [0, string[], unknown];
/** Deletes the key at `path`. */
export type DeleteOp = [1, string[]];
/** Appends `items` to the array at `path` (histories grow this way, so a long history costs its new items). */
export type AppendOp = [2, string[], unknown[]];
export type PatchOp = SetOp | DeleteOp | AppendOp;
export type Patch = PatchOp[];

type Ctx = Record<string, unknown>;

/** Contexts whose `stepOutputs` writes are being tracked, with the names written since the last diff. */
const outputWrites = new WeakMap<object, Set<string>>();

/** Called where the engine writes `ctx.stepOutputs[name]` in place; a no-op for untracked contexts. */
export function noteStepOutput(ctx: object, name: string): void {
  outputWrites.get(ctx)?.add(name);
}

/** Remembers a context's state at its last record and produces patches against it. */
export class ContextTracker {
  readonly #ctx: Ctx;
  /** The context's top level as it was at the last record: nested values are shared, never copied. */
  #previous: Ctx;
  readonly #written = new Set<string>();

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
    this.#previous = shallowCopy(ctx);
    outputWrites.set(ctx, this.#written);
  }

  /**
   * The ops that turn the last recorded context into the current one; the current one becomes the last.
   * Null when the change is one a patch cannot carry (a top-level `__proto__`, `constructor` or
   * `prototype` key changed): the caller writes a full snapshot instead.
   */
  diff(): Patch | null {
    const ops: Patch = [];
    const ctx = this.#ctx;
    if (diffInto(ops, [], this.#previous, ctx)) {
      this.reset();
      return null;
    }
    const outputs = ctx.stepOutputs;
    // Not only when `stepOutputs` is the recorded object: if it was written in place and then replaced,
    // the diff above compared the replacement against the mutated object, which is not what was stored.
    if (this.#written.size > 0 && isPlainObject(outputs)) {
      for (const name of this.#written)
        if (hasOwn(outputs, name)) ops.push([0, ["stepOutputs", name], outputs[name]]);
    }
    this.#written.clear();
    this.#previous = shallowCopy(ctx);
    return ops;
  }

  /** Takes the current context as the last recorded one (after a full snapshot). */
  reset(): void {
    this.#written.clear();
    this.#previous = shallowCopy(this.#ctx);
  }

  stop(): void {
    outputWrites.delete(this.#ctx);
  }
}

/**
 * Pushes the ops that turn `previous` into `next`. Patches never hold a path through a prototype key
 * (applyPatch refuses them), so when such a key changed in an object this returns true and the caller
 * writes the whole object instead: the codec then stores it as it stores a snapshot.
 */
function diffInto(ops: Patch, path: string[], previous: Ctx, next: Ctx): boolean {
  let unsafeChanged = false;
  for (const key of Object.keys(next)) {
    const value = next[key];
    if (!hasOwn(previous, key)) {
      if (isUnsafeKey(key)) unsafeChanged = true;
      else ops.push([0, [...path, key], value]);
      continue;
    }
    const before = previous[key];
    if (before === value) continue;
    if (isUnsafeKey(key)) {
      unsafeChanged = true;
    } else if (isPlainObject(before) && isPlainObject(value)) {
      const mark = ops.length;
      const at = [...path, key];
      if (diffInto(ops, at, before, value)) {
        ops.length = mark;
        ops.push([0, at, value]);
      }
    } else if (Array.isArray(before) && Array.isArray(value) && extends_(before, value)) {
      ops.push([2, [...path, key], value.slice(before.length)]);
    } else {
      ops.push([0, [...path, key], value]);
    }
  }
  for (const key of Object.keys(previous)) {
    if (hasOwn(next, key)) continue;
    if (isUnsafeKey(key)) unsafeChanged = true;
    else ops.push([1, [...path, key]]);
  }
  return unsafeChanged;
}

/** True when `next` is `before` plus items at the end (compared by identity). */
function extends_(before: readonly unknown[], next: readonly unknown[]): boolean {
  if (next.length <= before.length) return false;
  for (let i = 0; i < before.length; i++) if (before[i] !== next[i]) return false;
  return true;
}

/**
 * Applies a patch to a context decoded from the store (plain data owned by the caller, so it is changed
 * in place). A path through a missing or non-object value creates the object, as the original write did.
 */
export function applyPatch(ctx: Ctx, patch: readonly PatchOp[]): void {
  for (const op of patch) {
    const path = op[1];
    if (path.length === 0 || path.some(isUnsafeKey)) continue;
    let node = ctx;
    for (let i = 0; i < path.length - 1; i++) {
      const next = node[path[i]];
      if (isPlainObject(next)) node = next;
      else {
        const created: Ctx = {};
        putOwn(node, path[i], created);
        node = created;
      }
    }
    const key = path[path.length - 1];
    if (op[0] === 0) putOwn(node, key, op[2]);
    else if (op[0] === 1) delete node[key];
    else {
      const current = node[key];
      if (Array.isArray(current)) for (const item of op[2]) current.push(item);
      else putOwn(node, key, op[2].slice());
    }
  }
}

/** True when `value` has the shape of a patch (a check for bytes read back from the store). */
export function isPatch(value: unknown): value is Patch {
  return (
    Array.isArray(value) &&
    value.every(
      (op) =>
        Array.isArray(op) &&
        (op[0] === 0 || op[0] === 1 || (op[0] === 2 && Array.isArray(op[2]))) &&
        Array.isArray(op[1]) &&
        (op[1] as unknown[]).every((k) => typeof k === "string"),
    )
  );
}
