/** Dotted paths into a context, for `sinkTo` ("result", "importArtifacts.summary"). */
import { hasOwn, isUnsafeKey } from "./containers.js";

/**
 * Writes `value` at `path`, creating missing intermediate plain objects; a path without a dot sets a
 * top-level key. Throws (naming the path) on an empty segment, a prototype key, or an intermediate
 * value that exists but is not an object, rather than silently replacing it.
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = splitPath(path);
  let node: Record<string, unknown> = target;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i];
    const next = hasOwn(node, segment) ? node[segment] : undefined;
    if (next === undefined || next === null) {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    } else if (typeof next === "object") {
      node = next as Record<string, unknown>;
    } else {
      throw new Error(`Cannot set '${path}': '${segments.slice(0, i + 1).join(".")}' is not an object`);
    }
  }
  node[segments[segments.length - 1]] = value;
}

/** The value at `path`, or undefined when any segment is missing; only own properties are followed. */
export function getPath(target: unknown, path: string): unknown {
  let node: unknown = target;
  for (const segment of path.split(".")) {
    if (typeof node !== "object" || node === null || isUnsafeKey(segment) || !hasOwn(node, segment))
      return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function splitPath(path: string): string[] {
  const segments = path.split(".");
  for (const segment of segments) {
    if (segment === "") throw new Error(`Cannot set '${path}': empty path segment`);
    if (isUnsafeKey(segment))
      throw new Error(`Cannot set '${path}': '${segment}' is not allowed in a context path`);
  }
  return segments;
}
