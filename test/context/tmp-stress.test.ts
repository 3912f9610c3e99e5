import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isolate } from "../../src/context/index.js";
import { containsView, deepFreeze } from "./data-helpers.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Box = Record<string, unknown>;

/**
 * A mutation described by seeds, resolved against the reference (the structuredClone) when it runs,
 * then replayed on the view along the same keys.
 */
type Op =
  | { kind: "set"; at: number[]; pick: number; name: string; value: Json }
  | { kind: "delete"; at: number[]; pick: number }
  | { kind: "push"; at: number[]; value: Json }
  | { kind: "splice"; at: number[]; start: number; count: number; items: Json[] }
  | { kind: "sort"; at: number[] }
  | { kind: "reverse"; at: number[] }
  | { kind: "pop"; at: number[] }
  | { kind: "unshift"; at: number[]; value: Json }
  | { kind: "truncate"; at: number[]; length: number }
  | { kind: "assign"; at: number[]; value: { [key: string]: Json } }
  | { kind: "alias"; from: number[]; at: number[]; name: string };

const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const seeds = fc.array(fc.nat(), { maxLength: 4 });
const names = fc.constantFrom("a", "b", "c", "list", "obj", "0", "1");

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: seeds, pick: fc.nat(), name: names, value: json }),
  fc.record({ kind: fc.constant("delete" as const), at: seeds, pick: fc.nat() }),
  fc.record({ kind: fc.constant("push" as const), at: seeds, value: json }),
  fc.record({
    kind: fc.constant("splice" as const),
    at: seeds,
    start: fc.nat(5),
    count: fc.nat(3),
    items: fc.array(json, { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant("sort" as const), at: seeds }),
  fc.record({ kind: fc.constant("reverse" as const), at: seeds }),
  fc.record({ kind: fc.constant("pop" as const), at: seeds }),
  fc.record({ kind: fc.constant("unshift" as const), at: seeds, value: json }),
  fc.record({ kind: fc.constant("truncate" as const), at: seeds, length: fc.nat(3) }),
  fc.record({
    kind: fc.constant("assign" as const),
    at: seeds,
    value: fc.dictionary(names, json, { maxKeys: 3 }),
  }),
  fc.record({ kind: fc.constant("alias" as const), from: seeds, at: seeds, name: names }),
);

const base = fc.dictionary(
  fc.constantFrom("a", "b", "c", "list", "obj", "n"),
  fc.oneof(json, fc.array(json, { maxLength: 4 }), fc.dictionary(names, json, { maxKeys: 4 })),
  { maxKeys: 6 },
);

function isBox(value: unknown): value is Box {
  return typeof value === "object" && value !== null;
}

/** Keys leading from the root to a container, chosen by the seeds on the reference data. */
function containerPath(root: Box, at: number[]): string[] {
  const path: string[] = [];
  let node = root;
  for (const seed of at) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[seed % keys.length];
    const next = node[key];
    if (!isBox(next)) break;
    path.push(key);
    node = next;
  }
  return path;
}

function follow(root: Box, path: string[]): Box {
  return path.reduce<Box>((node, key) => node[key] as Box, root);
}

function reaches(from: unknown, target: object, seen = new Set<object>()): boolean {
  if (!isBox(from)) return false;
  if (from === target) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  return Object.keys(from).some((key) => reaches(from[key], target, seen));
}

const byJson = (a: unknown, b: unknown): number => {
  const x = JSON.stringify(a) ?? "";
  const y = JSON.stringify(b) ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Applies `op` to the reference and the view; the view's copy of a new value is frozen to prove it is never written. */
function apply(reference: Box, view: Box, op: Op): void {
  const path = containerPath(reference, op.at);
  const ref = follow(reference, path);
  const target = follow(view, path);
  const fresh = <T>(value: T): [T, T] => [structuredClone(value), deepFreeze(structuredClone(value))];
  const refList = ref as unknown as Json[];
  const viewList = target as unknown as unknown[];
  switch (op.kind) {
    case "set": {
      const keys = Object.keys(ref);
      const key = Array.isArray(ref)
        ? String(op.pick % (ref.length + 1))
        : keys.length > 0 && op.pick % 2 === 0
          ? keys[op.pick % keys.length]
          : op.name;
      const [forRef, forView] = fresh(op.value);
      ref[key] = forRef;
      target[key] = forView;
      return;
    }
    case "delete": {
      const keys = Object.keys(ref);
      if (keys.length === 0) return;
      const key = keys[op.pick % keys.length];
      delete ref[key];
      delete target[key];
      return;
    }
    case "assign": {
      if (Array.isArray(ref)) return;
      const [forRef, forView] = fresh(op.value);
      Object.assign(ref, forRef);
      Object.assign(target, forView);
      return;
    }
    case "alias": {
      const sourcePath = containerPath(reference, op.from);
      const source = follow(reference, sourcePath);
      // An alias that makes the data contain itself cannot be compared as JSON; skip it on both sides.
      if (reaches(source, ref)) return;
      // Arrays get the alias as a new item: named properties on arrays are not JSON data.
      const key = Array.isArray(ref) ? String(ref.length) : op.name;
      ref[key] = source;
      target[key] = follow(view, sourcePath);
      return;
    }
  }
  if (!Array.isArray(ref)) return;
  switch (op.kind) {
    case "push": {
      const [forRef, forView] = fresh(op.value);
      refList.push(forRef);
      viewList.push(forView);
      return;
    }
    case "unshift": {
      const [forRef, forView] = fresh(op.value);
      refList.unshift(forRef);
      viewList.unshift(forView);
      return;
    }
    case "splice": {
      const [forRef, forView] = fresh(op.items);
      refList.splice(op.start, op.count, ...forRef);
      viewList.splice(op.start, op.count, ...forView);
      return;
    }
    case "sort":
      refList.sort(byJson);
      viewList.sort(byJson);
      return;
    case "reverse":
      refList.reverse();
      viewList.reverse();
      return;
    case "pop":
      refList.pop();
      viewList.pop();
      return;
    case "truncate":
      refList.length = Math.min(refList.length, op.length);
      viewList.length = Math.min(viewList.length, op.length);
      return;
  }
}

describe("isolate: property — a view behaves like a structuredClone", () => {
  it("materializes to what the same mutations give on a clone, and never writes the base", () => {
    fc.assert(
      fc.property(base, fc.array(op, { maxLength: 25 }), fc.nat(25), (start, ops, split) => {
        const frozenBase = deepFreeze(structuredClone(start)) as Box;
        const reference = structuredClone(start) as Box;
        const iso = isolate(frozenBase);

        let midway: unknown;
        let midwayJson = "";
        ops.forEach((each, index) => {
          if (index === split) {
            midway = iso.materialize();
            midwayJson = JSON.stringify(midway);
          }
          apply(reference, iso.view, each);
        });

        const out = iso.materialize();
        expect(out).toEqual(reference);
        expect(JSON.stringify(iso.view)).toBe(JSON.stringify(reference));
        expect(containsView(out)).toBe(false);
        expect(frozenBase).toEqual(start);
        if (midway !== undefined) expect(JSON.stringify(midway)).toBe(midwayJson);

        const rebuilt = structuredClone(start) as Box;
        const changes = iso.changes();
        expect(containsView(changes)).toBe(false);
        for (const key of Object.keys(changes)) {
          if (changes[key] === undefined) delete rebuilt[key];
          else rebuilt[key] = structuredClone(changes[key]);
        }
        expect(rebuilt).toEqual(structuredClone(reference));
      }),
      { numRuns: 10000 },
    );
  }, 300_000);

  it("isolates a view like a clone of its current data, leaving the outer view as it was", () => {
    // No aliases before the inner isolation: aliasing inside a base is isolated per path (documented).
    const outerOp = op.filter((each) => each.kind !== "alias");
    fc.assert(
      fc.property(
        base,
        fc.array(outerOp, { maxLength: 12 }),
        fc.array(op, { maxLength: 12 }),
        (start, outerOps, innerOps) => {
          const frozenBase = deepFreeze(structuredClone(start)) as Box;
          const outerReference = structuredClone(start) as Box;
          const outer = isolate(frozenBase);
          for (const each of outerOps) apply(outerReference, outer.view, each);

          const innerReference = structuredClone(outerReference);
          const inner = isolate(outer.view);
          for (const each of innerOps) apply(innerReference, inner.view, each);

          expect(inner.materialize()).toEqual(innerReference);
          expect(outer.materialize()).toEqual(outerReference);
          expect(frozenBase).toEqual(start);
        },
      ),
      { numRuns: 10000 },
    );
  }, 300_000);
});
