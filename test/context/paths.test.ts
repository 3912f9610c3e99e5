import { describe, expect, it } from "vitest";
import { getPath, setPath } from "../../src/context/index.js";

type Ctx = Record<string, unknown>;

describe("setPath (sinkTo)", () => {
  it("sets a top-level key when the path has no dot", () => {
    const ctx: Ctx = { a: 1 };
    setPath(ctx, "result", { x: 1 });
    expect(ctx).toEqual({ a: 1, result: { x: 1 } });
  });

  it("creates missing intermediate objects and keeps existing ones", () => {
    const ctx: Ctx = { importArtifacts: { kept: true } };
    setPath(ctx, "importArtifacts.summary.text", "hi");
    setPath(ctx, "fresh.deep.value", 2);
    expect(ctx).toEqual({
      importArtifacts: { kept: true, summary: { text: "hi" } },
      fresh: { deep: { value: 2 } },
    });
  });

  it("replaces a null intermediate and walks into arrays by index", () => {
    const ctx: Ctx = { a: null, list: [{ v: 1 }] };
    setPath(ctx, "a.b", 1);
    setPath(ctx, "list.0.v", 5);
    expect(ctx).toEqual({ a: { b: 1 }, list: [{ v: 5 }] });
  });

  it("refuses to walk through a scalar, and empty segments, naming the path", () => {
    const ctx: Ctx = { count: 3 };
    expect(() => setPath(ctx, "count.x", 1)).toThrow("Cannot set 'count.x': 'count' is not an object");
    expect(() => setPath(ctx, "a..b", 1)).toThrow("Cannot set 'a..b'");
    expect(() => setPath(ctx, "", 1)).toThrow("Cannot set ''");
    expect(ctx).toEqual({ count: 3 });
  });
});

describe("getPath", () => {
  it("reads own values along a dotted path and undefined for anything missing", () => {
    const ctx: Ctx = { a: { b: [10, { c: "deep" }] }, n: 0 };
    expect(getPath(ctx, "a.b.1.c")).toBe("deep");
    expect(getPath(ctx, "n")).toBe(0);
    expect(getPath(ctx, "a.missing.c")).toBeUndefined();
    expect(getPath(ctx, "n.toFixed")).toBeUndefined();
    expect(getPath(ctx, "constructor")).toBeUndefined();
    expect(getPath(ctx, "a.__proto__")).toBeUndefined();
  });
});
