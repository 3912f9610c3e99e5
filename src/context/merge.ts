/**
 * Flujo's context merges (`safe_merge_context_updates`), applied to a live context in place.
 *
 * Only the target's top-level keys are assigned. Nested objects and arrays are never mutated: a changed
 * one is replaced by a new container that shares everything unchanged (copy on need). The live context
 * can therefore share subtrees with snapshots, cached results and isolations' exported changes without
 * a merge reaching into them, and the cost is O(size of the source), so the engine passes just
 * `isolated.changes()`.
 *
 * Keys `__proto__`, `constructor` and `prototype` in a source are skipped at every depth.
 */
import { MERGE_EXCLUDED_FIELDS } from "../domain/context.js";
import { MergeStrategy } from "../domain/strategies.js";
import { canonicalKey, sameData } from "./canonical-key.js";
import { joinPath, mergeConflict } from "./conflicts.js";
import { hasOwn, isNone, isPlainObject, isUnsafeKey, shallowCopy } from "./containers.js";
import { nodeOfView } from "./view-node.js";

export { detectSiblingConflicts } from "./conflicts.js";

type Rule = MergeStrategy | undefined;

/**
 * Merges `source` into `target` with `strategy`, or with Flujo's default rules (merge_strategy=None)
 * when it is undefined:
 * - top level: null/undefined never overwrites; `_x` keys and MERGE_EXCLUDED_FIELDS are skipped; a
 *   missing key is set; object+object deep-merges; array+array appends the items not already present
 *   (canonical JSON equality); anything else is replaced (so a top-level number can decrease);
 * - nested: objects recurse, arrays append as above, booleans OR, numbers take the max, anything else
 *   takes the source value (null included), and a non-null `pauseMessage` already in the target stays.
 *
 * OVERWRITE replaces arrays and leaves at every depth (objects still recurse). ERROR_ON_CONFLICT throws
 * on any differing non-null leaf or array, naming the dotted path. CONTEXT_UPDATE throws on a differing
 * non-null top-level non-container value. KEEP_FIRST keeps non-null values and only adds new keys.
 * Both conflict strategies otherwise merge like the default. NO_MERGE does nothing.
 */
export function mergeInto(
  target: Record<string, unknown>,
  source: Readonly<Record<string, unknown>>,
  strategy?: MergeStrategy,
): void {
  if (strategy === MergeStrategy.NO_MERGE) return;
  const data = dataOf(target);
  for (const key of Object.keys(source)) {
    if (key.startsWith("_") || isUnsafeKey(key) || MERGE_EXCLUDED_FIELDS.has(key)) continue;
    const incoming = source[key];
    if (isNone(incoming)) continue;
    if (!hasOwn(data, key)) {
      target[key] = incoming;
      continue;
    }
    if (data[key] === incoming) continue;
    const current = target[key];
    if (current === incoming) continue;
    const merged = mergeTopLevel(current, incoming, key, strategy);
    if (merged !== current) target[key] = merged;
  }
}

function mergeTopLevel(current: unknown, incoming: unknown, key: string, strategy: Rule): unknown {
  const bothObjects = isPlainObject(current) && isPlainObject(incoming);
  if (key === "stepOutputs" && strategy === undefined && bothObjects)
    return replaceEntries(current, incoming);
  if (strategy === MergeStrategy.KEEP_FIRST) {
    if (bothObjects) return mergeObjects(current, incoming, strategy, key);
    return isNone(current) ? incoming : current;
  }
  if (
    (strategy === MergeStrategy.ERROR_ON_CONFLICT || strategy === MergeStrategy.CONTEXT_UPDATE) &&
    !isListOrObject(current) &&
    !isListOrObject(incoming) &&
    !isNone(current) &&
    !sameData(current, incoming)
  ) {
    throw mergeConflict(key);
  }
  if (bothObjects) return mergeObjects(current, incoming, strategy, key);
  if (Array.isArray(current) && Array.isArray(incoming)) {
    if (strategy === MergeStrategy.OVERWRITE) return incoming;
    if (strategy === MergeStrategy.ERROR_ON_CONFLICT && !sameData(current, incoming))
      throw mergeConflict(key);
    return appendMissing(current, incoming);
  }
  return incoming;
}

/**
 * `stepOutputs` under the default rules: each step's entry is its latest output, replaced whole (our
 * difference: Flujo's nested rules would keep the larger of two numeric outputs, OR booleans and union
 * lists, so a loop body's recorded output could be one it never produced last).
 */
function replaceEntries(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
): Record<string, unknown> {
  const out = new Written(target);
  for (const key of Object.keys(source)) {
    const incoming = source[key];
    if (isUnsafeKey(key) || incoming === undefined || out.data[key] === incoming) continue;
    out.set(key, incoming);
  }
  return out.result();
}

/** `target` itself when nothing changed, otherwise a shallow copy carrying the merged keys. */
function mergeObjects(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
  strategy: Rule,
  path: string,
): Record<string, unknown> {
  const out = new Written(target);
  const data = out.data;
  for (const key of Object.keys(source)) {
    if (isUnsafeKey(key)) continue;
    const incoming = source[key];
    let merged: unknown;
    if (hasOwn(data, key)) {
      if (data[key] === incoming) continue;
      // Read through the view only for keys that differ: reading wraps the child in a view of its own.
      const current = target[key];
      if (current === incoming) continue;
      merged = mergeNested(current, incoming, strategy, joinPath(path, key), key);
      if (merged === current) continue;
    } else {
      // JSON has no undefined: an undefined value means "no value", never a key to add.
      if (incoming === undefined) continue;
      merged = incoming;
    }
    out.set(key, merged);
  }
  return out.result();
}

/**
 * Where a nested merge writes: plain data is never mutated (a changed object becomes a shallow copy),
 * but a copy-on-write view is written in place, since it copies the written path itself. Copying a view
 * instead would wrap every child of the copied level and hand the export plain data it must walk.
 */
class Written {
  /** What the target holds now, without wrapping: for comparisons that must not create views. */
  readonly data: Record<string, unknown>;
  readonly #target: Record<string, unknown>;
  readonly #inPlace: boolean;
  #out: Record<string, unknown> | undefined;

  constructor(target: Record<string, unknown>) {
    this.#target = target;
    this.data = dataOf(target);
    this.#inPlace = this.data !== target;
  }

  set(key: string, value: unknown): void {
    if (this.#inPlace) {
      this.#target[key] = value;
      return;
    }
    this.#out ??= shallowCopy(this.#target);
    this.#out[key] = value;
  }

  result(): Record<string, unknown> {
    return this.#out ?? this.#target;
  }
}

function mergeNested(
  current: unknown,
  incoming: unknown,
  strategy: Rule,
  path: string,
  key: string,
): unknown {
  const bothObjects = isPlainObject(current) && isPlainObject(incoming);
  if (strategy === MergeStrategy.KEEP_FIRST) {
    if (bothObjects) return mergeObjects(current, incoming, strategy, path);
    return isNone(current) && incoming !== undefined ? incoming : current;
  }
  // Nested objects check their own keys when they recurse below.
  if (strategy === MergeStrategy.ERROR_ON_CONFLICT && !bothObjects)
    checkLeafConflict(current, incoming, path);
  if (key === "pauseMessage" && !isNone(current)) return current;
  if (incoming === undefined) return current;
  if (bothObjects) return mergeObjects(current, incoming, strategy, path);
  if (Array.isArray(current) && Array.isArray(incoming)) {
    return strategy === MergeStrategy.OVERWRITE ? incoming : appendMissing(current, incoming);
  }
  if (strategy === MergeStrategy.OVERWRITE) return incoming;
  if (typeof current === "boolean" && typeof incoming === "boolean") return current || incoming;
  if (typeof current === "number" && typeof incoming === "number")
    return incoming > current ? incoming : current;
  return incoming;
}

function checkLeafConflict(current: unknown, incoming: unknown, path: string): void {
  if (Array.isArray(current) && Array.isArray(incoming)) {
    if (!sameData(current, incoming)) throw mergeConflict(path);
    return;
  }
  if (!isNone(current) && !isNone(incoming) && !sameData(current, incoming)) throw mergeConflict(path);
}

/**
 * `current` plus the items of `incoming` not already present, compared by canonical JSON; duplicates
 * inside `incoming` collapse too, as in Flujo. Items shared by reference are recognized without
 * serializing them, so a source that is the target's list plus new items serializes little.
 */
function appendMissing(current: readonly unknown[], incoming: readonly unknown[]): readonly unknown[] {
  if (incoming.length === 0) return current;
  const present = new Set<unknown>(current);
  let keys: Set<string> | undefined;
  let out: unknown[] | undefined;
  for (const item of incoming) {
    if (present.has(item)) continue;
    keys ??= new Set(Array.from(current, canonicalKey));
    const key = canonicalKey(item);
    if (keys.has(key)) continue;
    keys.add(key);
    present.add(item);
    out ??= current.slice();
    out.push(item);
  }
  return out ?? current;
}

/**
 * The data a copy-on-write view reads from (its copy, else its base), or the value itself when it is plain.
 * A step nested in a branch or a loop iteration merges into a view, whose children read back as new views,
 * never as the plain objects its changes share: comparing against the view's data keeps a merge
 * O(changes) instead of walking (and wrapping) every unchanged subtree.
 */
function dataOf(value: Record<string, unknown>): Record<string, unknown> {
  const node = nodeOfView(value);
  return node === undefined ? value : ((node.copy ?? node.base) as Record<string, unknown>);
}

function isListOrObject(value: unknown): boolean {
  return Array.isArray(value) || isPlainObject(value);
}
