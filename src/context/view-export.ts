import { type Container, hasOwn, isContainer, putOwn, shallowCopy } from "./containers.js";
import { type IsolationState, nodeOfView, type ViewNode } from "./view-node.js";

interface Frame {
  readonly source: Container;
  /** The plain result, made only when some value under `source` had to be replaced. */
  out: Container | undefined;
  done: boolean;
}

/**
 * Turns views (and data holding views) into plain data for one export. Untouched subtrees and clean
 * copies are returned as they are; a new container is made only where a view had to be replaced, so an
 * export costs O(touched nodes + data the step assigned), not O(context).
 *
 * Frames are memoized per node and per container: data aliased within the export stays aliased, and a
 * cycle (a view assigned under itself) becomes a cycle in the plain result instead of endless recursion.
 */
export class Exporter {
  private readonly frames = new Map<object, Frame>();
  private readonly isolations = new Set<IsolationState>();

  value(value: unknown): unknown {
    if (typeof value !== "object" || value === null) return value;
    const node = nodeOfView(value);
    if (node !== undefined) return this.node(node);
    if (!isContainer(value)) return value;
    const seen = this.frames.get(value);
    if (seen !== undefined) return reenter(seen);
    const frame: Frame = { source: value, out: undefined, done: false };
    this.frames.set(value, frame);
    // Object.keys also covers array indices (skipping holes) and anything a step named on an array.
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (typeof item !== "object" || item === null) continue;
      const plain = this.value(item);
      if (plain !== item) putOwn(outOf(frame), key, plain);
    }
    frame.done = true;
    return frame.out ?? value;
  }

  node(node: ViewNode): unknown {
    const copy = node.copy;
    if (copy === undefined) return node.baseClean ? node.base : this.value(node.base);
    this.isolations.add(node.iso);
    const seen = this.frames.get(node);
    if (seen !== undefined) return reenter(seen);
    const frame: Frame = { source: copy, out: undefined, done: false };
    this.frames.set(node, frame);
    if (!node.baseClean) {
      for (const key of Object.keys(copy)) this.exportKey(node, frame, key);
    } else if (node.touched !== undefined) {
      // Keys never touched still hold clean base values, so only touched keys can hold views.
      for (const key of node.touched) this.exportKey(node, frame, key);
    }
    frame.done = true;
    return frame.out ?? copy;
  }

  /** The plain value now at `key` of a node: what `changes()` reports for a top-level key. */
  valueAt(node: ViewNode, key: PropertyKey): unknown {
    const source = node.copy ?? node.base;
    const child = node.children?.get(key);
    return child !== undefined ? this.node(child) : this.value(source[key]);
  }

  /** Marks every copy handed out by this export as shared, so later writes through the view copy again. */
  finish(): void {
    for (const isolation of this.isolations) isolation.epoch++;
  }

  private exportKey(node: ViewNode, frame: Frame, key: PropertyKey): void {
    const source = frame.source;
    if (!hasOwn(source, key)) return;
    const current = source[key];
    const plain = this.valueAt(node, key);
    if (plain !== current) putOwn(outOf(frame), key, plain);
  }
}

function outOf(frame: Frame): Container {
  frame.out ??= shallowCopy(frame.source);
  return frame.out;
}

function reenter(frame: Frame): Container {
  if (frame.done) return frame.out ?? frame.source;
  // Re-entered while still being built: that is a cycle, which can only close on a fresh container.
  return outOf(frame);
}
