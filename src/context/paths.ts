/** Dotted paths into a context, for `sinkTo` ("result", "importArtifacts.summary"). */
import { hasOwn, isUnsafeKey, shallowCopy } from "./containers.js";
import { isIsolatedView } from "./cow.js";

/**
 * Writes `value` at `path`, creating missing intermediate plain objects; a path without a dot sets a
 * top-level key. Throws (naming the path) on an empty segment, a prototype key, or an intermediate
 * value that exists but is not an object, rather than silently replacing it.
 *
 * Only the top level of `target` is written in place: each nested object on the path is replaced by a
 * copy (a view is written in place, since it copies on write itself). Nested data of a live context may
 * be shared with snapshots and cached results, which must not change under them.
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = splitPath(path);
  const first = segments[0];
  if (segments.length === 1) {
    target[first] = value;
    return;
  }
  target[first] = withPath(hasOwn(target, first) ? target[first] : undefined, segments, 1, path, value);
}

function withPath(node: unknown, segments: string[], i: number, path: string, value: unknown): unknown {
  let out: Record<string, unknown>;
  if (node === undefined || node === null) out = {};
  else if (typeof node === "object")
    out = isIsolatedView(node)
      ? (node as Record<string, unknown>)
      : shallowCopy(node as Record<string, unknown>);
  else throw new Error(`Cannot set '${path}': '${segments.slice(0, i).join(".")}' is not an object`);
  const key = segments[i];
  if (i === segments.length - 1) out[key] = value;
  else out[key] = withPath(hasOwn(out, key) ? out[key] : undefined, segments, i + 1, path, value);
  return out;
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
