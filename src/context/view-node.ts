import { type Container, hasOwn, isContainer, putOwn, shallowCopy } from "./containers.js";

/** State shared by all nodes of one isolation. */
export interface IsolationState {
  /**
   * Bumped by every export. A copy made in an older epoch may be referenced by exported data, so it is
   * treated as shared: the next write copies it again instead of mutating what a caller already holds.
   */
  epoch: number;
}

/**
 * A view answers this module-private key with its node (see `get`). A WeakMap from proxy to node did the
 * same job but cost a weak-table entry per view, which the GC must trace: a loop iteration creates views
 * and the WeakMap made that loop about three times slower (bench/loop.ts).
 */
const NODE: unique symbol = Symbol("flujo.viewNode");

export function nodeOfView(value: object): ViewNode | undefined {
  const node = (value as { [NODE]?: unknown })[NODE];
  return node instanceof ViewNode ? node : undefined;
}

/**
 * One array or plain object as seen through an isolation, and the proxy handler for its view.
 *
 * The node reads from `base` until its first write, then from its own shallow `copy`; that first write
 * also links the copy into the parent's copy (path copying), so an untouched subtree is never copied and
 * the base is never written. Child containers are wrapped lazily on read and cached, so reading the same
 * nested object twice returns the same proxy.
 *
 * The proxy target is an empty stand-in, not the base: a frozen base would otherwise make the Proxy
 * invariants forbid returning wrapped values. The stand-in is an array for arrays so `Array.isArray`
 * and `JSON.stringify` see an array.
 */
export class ViewNode implements ProxyHandler<Container> {
  readonly iso: IsolationState;
  readonly base: Container;
  /**
   * True when `base` holds no views: it came from the data given to `isolate`. A base the step assigned
   * may contain views, so exporting it must walk it; a clean base can be shared as is.
   */
  readonly baseClean: boolean;
  readonly isArray: boolean;
  readonly proxy: Container;
  copy: Container | undefined = undefined;
  copyEpoch = -1;
  /** Where a first write links the copy; cleared when the parent's key is reassigned or deleted. */
  parent: ViewNode | undefined;
  key: PropertyKey;
  children: Map<PropertyKey, ViewNode> | undefined = undefined;
  /** Keys written, deleted, or holding a copied child; for the root, the changed top-level keys. */
  touched: Set<PropertyKey> | undefined = undefined;

  constructor(
    iso: IsolationState,
    base: Container,
    baseClean: boolean,
    parent: ViewNode | undefined,
    key: PropertyKey,
  ) {
    this.iso = iso;
    this.base = base;
    this.baseClean = baseClean;
    this.parent = parent;
    this.key = key;
    this.isArray = Array.isArray(base);
    const standIn: Container = this.isArray
      ? ([] as unknown as Container)
      : (Object.create(Object.getPrototypeOf(base) as object | null) as Container);
    this.proxy = new Proxy(standIn, this);
  }

  get(_standIn: Container, key: PropertyKey): unknown {
    if (key === NODE) return this;
    const child = this.children?.get(key);
    if (child !== undefined) return child.proxy;
    const source = this.copy ?? this.base;
    const value = source[key];
    if (typeof value !== "object" || value === null) return value;
    return this.wrap(key, value, source);
  }

  set(_standIn: Container, key: PropertyKey, value: unknown): boolean {
    const source = this.copy ?? this.base;
    const child = this.children?.get(key);
    // A write of the value already there (sort and splice do many) must not count as a change.
    if (child !== undefined ? child.proxy === value : hasOwn(source, key) && Object.is(source[key], value)) {
      return true;
    }
    const copy = this.writable();
    if (this.isArray && key === "length") {
      (copy as unknown as unknown[]).length = value as number;
      this.dropChildrenFrom((copy as unknown as unknown[]).length);
    } else {
      if (child !== undefined) this.detach(key, child);
      putOwn(copy, key, value);
    }
    this.touch(key);
    return true;
  }

  deleteProperty(_standIn: Container, key: PropertyKey): boolean {
    const source = this.copy ?? this.base;
    if (!hasOwn(source, key)) return true;
    if (this.isArray && key === "length") return false;
    const copy = this.writable();
    const child = this.children?.get(key);
    if (child !== undefined) this.detach(key, child);
    delete copy[key];
    this.touch(key);
    return true;
  }

  has(_standIn: Container, key: PropertyKey): boolean {
    return key in (this.copy ?? this.base);
  }

  ownKeys(): ArrayLike<string | symbol> {
    return Reflect.ownKeys(this.copy ?? this.base);
  }

  getOwnPropertyDescriptor(standIn: Container, key: PropertyKey): PropertyDescriptor | undefined {
    const source = this.copy ?? this.base;
    const own = Reflect.getOwnPropertyDescriptor(source, key);
    if (own === undefined) return undefined;
    if (this.isArray && key === "length") {
      // Must match the stand-in's own non-configurable `length`, or the Proxy invariants throw.
      return {
        value: (source as unknown as unknown[]).length,
        writable: true,
        enumerable: false,
        configurable: false,
      };
    }
    return {
      value: this.get(standIn, key),
      writable: true,
      enumerable: own.enumerable ?? true,
      configurable: true,
    };
  }

  defineProperty(standIn: Container, key: PropertyKey, desc: PropertyDescriptor): boolean {
    // Only plain writable data properties can be represented in a copy-on-write view.
    if ("get" in desc || "set" in desc || desc.writable === false || desc.configurable === false)
      return false;
    if (desc.enumerable === false && !(this.isArray && key === "length")) return false;
    if (!("value" in desc)) return hasOwn(this.copy ?? this.base, key) || this.set(standIn, key, undefined);
    return this.set(standIn, key, desc.value);
  }

  setPrototypeOf(): boolean {
    return false;
  }

  preventExtensions(): boolean {
    return false;
  }

  /** This node's copy for writing: made on the first write (or the first after an export) and linked upward. */
  writable(): Container {
    const current = this.copy;
    if (current !== undefined && this.copyEpoch === this.iso.epoch) return current;
    const fresh = shallowCopy(current ?? this.base);
    this.copy = fresh;
    this.copyEpoch = this.iso.epoch;
    const parent = this.parent;
    if (parent !== undefined) {
      putOwn(parent.writable(), this.key, fresh);
      parent.touch(this.key);
    }
    return fresh;
  }

  private wrap(key: PropertyKey, value: object, source: Container): unknown {
    const owner = nodeOfView(value);
    // A view of this same isolation is already protected; returning it keeps aliasing (a = b) intact.
    if (owner !== undefined && owner.iso === this.iso) return value;
    if (!isContainer(value) || !hasOwn(source, key)) return value;
    const clean = this.baseClean && owner === undefined && !(this.touched?.has(key) ?? false);
    const child = new ViewNode(this.iso, value, clean, this, key);
    if (this.children === undefined) this.children = new Map();
    this.children.set(key, child);
    return child.proxy;
  }

  private touch(key: PropertyKey): void {
    if (this.touched === undefined) this.touched = new Set();
    this.touched.add(key);
  }

  private detach(key: PropertyKey, child: ViewNode): void {
    child.parent = undefined;
    this.children?.delete(key);
  }

  private dropChildrenFrom(length: number): void {
    if (this.children === undefined) return;
    for (const [key, child] of this.children) {
      if (typeof key === "string" && Number(key) >= length) this.detach(key, child);
    }
  }
}
