/**
 * Copy-on-write isolation of a context: what Flujo gets from `model_copy(deep=True)` per attempt, loop
 * iteration and branch, at a cost of O(what the step touches) instead of O(context size).
 *
 * The step mutates `view` freely; writes land in shallow copies of the nodes on the written path, and
 * the base is never written. What is NOT isolated: objects other than arrays and plain objects (Date,
 * Map, Set, class instances) are handed out as they are, so mutating their insides (`date.setTime`,
 * `map.set`) reaches the base. Assigning a new value to the key that holds them is isolated as usual.
 *
 * Other limits of a view: `structuredClone(view)` throws (it refuses proxies; use `unwrap` or
 * `materialize`); `Object.freeze(view)` and `Object.setPrototypeOf(view)` are refused; accessor and
 * non-writable property definitions are refused; named (non-index) properties on an array are dropped
 * when the array is copied; and one object reachable by two paths of the base is isolated separately per
 * path. Contexts are JSON-like trees, so the last two only matter for hand-built data.
 */
import { type Container, hasOwn, isContainer, putOwn } from "./containers.js";
import { Exporter } from "./view-export.js";
import { nodeOfView, ViewNode } from "./view-node.js";

export interface Isolated<T extends object> {
  /** What the step sees and may mutate freely, nested values included. */
  readonly view: T;
  hasChanges(): boolean;
  /** Top-level keys written or deleted, or with a nested value changed under them. */
  changedKeys(): string[];
  /**
   * Top-level key -> new value as plain data (a deleted key maps to undefined). Untouched subtrees are
   * shared with the base; touched ones are copies. Later writes through the view never alter it.
   */
  changes(): Record<string, unknown>;
  /** The base with the changes applied, as plain data sharing untouched subtrees with the base. */
  materialize(): T;
}

export interface IsolateOptions {
  /**
   * Flujo's `context_include_keys`: only these top-level keys keep the base's values; every other key
   * reads as its value in `defaults`, or is absent when `defaults` has none.
   */
  readonly includeKeys?: readonly string[];
  readonly defaults?: Readonly<Record<string, unknown>>;
}

export function isolate<T extends object>(base: T, options?: IsolateOptions): Isolated<T> {
  // Isolating a view (a loop body inside a branch) starts from its current plain data: O(its changes).
  let root: unknown = isIsolatedView(base) ? unwrap(base) : base;
  if (!isContainer(root)) throw new TypeError("isolate() needs a plain object or an array");
  if (options?.includeKeys !== undefined)
    root = onlyIncluded(root, options.includeKeys, options.defaults ?? {});
  return new Isolation<T>(new ViewNode({ epoch: 0 }, root as Container, true, undefined, ""));
}

/**
 * Plain data for a value that is, or contains, a view. Views are replaced by their current data and
 * plain arrays and objects are walked to find views inside them (O(size of what is walked)); anything
 * else is returned as is. The result may share structure with an isolation's base: treat it as read-only.
 */
export function unwrap<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  const exporter = new Exporter();
  const plain = exporter.value(value);
  exporter.finish();
  return plain as T;
}

export function isIsolatedView(value: unknown): boolean {
  return typeof value === "object" && value !== null && nodeOfView(value) !== undefined;
}

class Isolation<T extends object> implements Isolated<T> {
  private readonly root: ViewNode;

  constructor(root: ViewNode) {
    this.root = root;
  }

  get view(): T {
    return this.root.proxy as unknown as T;
  }

  hasChanges(): boolean {
    return (this.root.touched?.size ?? 0) > 0;
  }

  changedKeys(): string[] {
    const keys: string[] = [];
    for (const key of this.root.touched ?? []) if (typeof key === "string") keys.push(key);
    return keys;
  }

  changes(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const root = this.root;
    if (root.touched === undefined) return out;
    const source = root.copy ?? root.base;
    const exporter = new Exporter();
    for (const key of root.touched) {
      if (typeof key !== "string") continue;
      putOwn(out, key, hasOwn(source, key) ? exporter.valueAt(root, key) : undefined);
    }
    exporter.finish();
    return out;
  }

  materialize(): T {
    const exporter = new Exporter();
    const plain = exporter.node(this.root);
    exporter.finish();
    return plain as T;
  }
}

function onlyIncluded(
  base: Container,
  includeKeys: readonly string[],
  defaults: Readonly<Record<string, unknown>>,
): Container {
  const root: Container = {};
  for (const key of Object.keys(defaults)) putOwn(root, key, defaults[key]);
  for (const key of includeKeys) if (hasOwn(base, key)) putOwn(root, key, base[key]);
  return root;
}
