import { describe, expect, it } from "vitest";
import { detectSiblingConflicts, isolate } from "../../src/context/index.js";
import { ConfigurationError } from "../../src/domain/errors.js";

type Ctx = Record<string, unknown>;

function conflict(branches: Array<[string, Ctx]>, base?: Ctx): string | undefined {
  try {
    detectSiblingConflicts(branches, base);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
}

describe("detectSiblingConflicts (CONTEXT_UPDATE, §2.8 step 8.1)", () => {
  it("rejects two branches setting different strings (case 35)", () => {
    expect(
      conflict([
        ["a", { value: "A" }],
        ["b", { value: "B" }],
      ]),
    ).toBe(
      "Merge conflict for key 'value'. Branches 'a' and 'b' set different values. Set an explicit merge strategy or field_mapping in your ParallelStep.",
    );
  });

  it("names a nested path and the first conflicting pair in order", () => {
    expect(
      conflict([
        ["a", { d: { inner: { s: "x" } } }],
        ["b", { d: { inner: { s: "x" } } }],
        ["c", { d: { inner: { s: "y" } } }],
      ]),
    ).toContain("key 'd.inner.s'. Branches 'a' and 'c'");
  });

  it("skips numbers, booleans, lists, nulls, private keys, merged-on-purpose keys and one-sided keys", () => {
    expect(
      conflict([
        [
          "a",
          {
            n: 1,
            flag: true,
            list: [1],
            gone: null,
            _p: "x",
            branchResults: { r: 1 },
            d: { _q: "x" },
            only: "a",
          },
        ],
        ["b", { n: 2, flag: false, list: [2], gone: "v", _p: "y", branchResults: { r: 2 }, d: { _q: "y" } }],
      ]),
    ).toBeUndefined();
  });

  it("treats a type mismatch between non-null leaves as a conflict", () => {
    expect(
      conflict([
        ["a", { v: { k: 1 } }],
        ["b", { v: "text" }],
      ]),
    ).toContain("key 'v'");
  });

  it("with the parent context, ignores a nested value only one branch changed", () => {
    const parent: Ctx = { d: { x: "p", y: "p" } };
    const left = isolate(parent);
    (left.view.d as Ctx).x = "left";
    const right = isolate(parent);
    (right.view.d as Ctx).y = "right";
    const branches: Array<[string, Ctx]> = [
      ["left", left.changes()],
      ["right", right.changes()],
    ];

    expect(conflict(branches, parent)).toBeUndefined();
    // Flujo's whole-context comparison sees left's x against right's untouched copy of x.
    expect(conflict(branches)).toContain("key 'd.x'");
  });

  it("with the parent context, still rejects a leaf both branches changed differently", () => {
    const parent: Ctx = { d: { x: "p" } };
    expect(
      conflict(
        [
          ["a", { d: { x: "one" } }],
          ["b", { d: { x: "two" } }],
        ],
        parent,
      ),
    ).toContain("key 'd.x'");
  });

  it("accepts identical values and a single branch", () => {
    expect(
      conflict([
        ["a", { s: "same", d: { k: "v" } }],
        ["b", { s: "same", d: { k: "v" } }],
      ]),
    ).toBeUndefined();
    expect(conflict([["only", { s: "x" }]])).toBeUndefined();
  });
});
