import { describe, expect, it } from "vitest";
import { applyOutputToContext, isIsolatedView, isolate } from "../../src/context/index.js";
import { ConfigurationError } from "../../src/domain/errors.js";
import { deepFreeze } from "./data-helpers.js";

type Ctx = Record<string, unknown>;

function context(): Ctx {
  return {
    counter: 0,
    settings: { model: "m1", temperature: 0 },
    importArtifacts: { a: 1, b: 2 },
    stepOutputs: { s1: { out: "x", meta: { n: 1 } } },
  };
}

describe("applyOutputToContext (updates_context=True)", () => {
  it("assigns known and unknown keys, replacing objects instead of deep-merging them", () => {
    const ctx = context();
    const result = applyOutputToContext(ctx, { counter: 3, settings: { model: "m2" }, brandNew: [1] });
    expect(result.applied).toBe(true);
    expect(ctx.counter).toBe(3);
    expect(ctx.settings).toEqual({ model: "m2" });
    expect(ctx.brandNew).toEqual([1]);
  });

  it("stores a nested object output as given (case 50: nestedItem)", () => {
    const ctx = context();
    applyOutputToContext(ctx, { nestedItem: { value: 123 } });
    expect(ctx.nestedItem).toEqual({ value: 123 });
  });

  it("shallow-merges importArtifacts", () => {
    const ctx = context();
    applyOutputToContext(ctx, { importArtifacts: { b: 20, c: 30 } });
    expect(ctx.importArtifacts).toEqual({ a: 1, b: 20, c: 30 });
  });

  it("deep-merges a steps key into stepOutputs and never stores a steps key", () => {
    const ctx = context();
    applyOutputToContext(ctx, { steps: { s1: { meta: { m: 2 } }, s2: "y" } });
    expect(ctx.stepOutputs).toEqual({ s1: { out: "x", meta: { n: 1, m: 2 } }, s2: "y" });
    expect("steps" in ctx).toBe(false);

    applyOutputToContext(ctx, { steps: 7 });
    expect((ctx.stepOutputs as Ctx).value).toBe(7);
  });

  it("does not mutate the objects it merges into", () => {
    const ctx = deepFreeze(context());
    const live: Ctx = { ...ctx };
    applyOutputToContext(live, { importArtifacts: { z: 1 }, steps: { s1: { meta: { m: 2 } } } });
    expect(ctx).toEqual(context());
  });

  it("rejects a scratchpad key before writing anything", () => {
    const ctx = context();
    const run = () => applyOutputToContext(ctx, { counter: 9, scratchpad: { a: 1 } });
    expect(run).toThrow(ConfigurationError);
    expect(run).toThrow("'scratchpad' has been removed; use typed context fields instead.");
    expect(ctx).toEqual(context());
  });

  it("ignores outputs that are not plain objects", () => {
    for (const output of ["hello", 42, [1, 2], null, undefined, new Date(0), new Map([["a", 1]])]) {
      const ctx = context();
      const result = applyOutputToContext(ctx, output);
      expect(result.applied).toBe(false);
      result.rollback();
      expect(ctx).toEqual(context());
    }
  });

  it("rolls back to exactly the previous state, removing keys that did not exist", () => {
    const ctx = context();
    const before = structuredClone(ctx);
    const result = applyOutputToContext(ctx, {
      counter: "not-an-int",
      settings: { other: true },
      added: 1,
      importArtifacts: { c: 3 },
      steps: { s9: 1 },
      stepOutputs: { replaced: true },
    });
    result.rollback();
    expect(ctx).toEqual(before);
    expect(Object.keys(ctx)).toEqual(Object.keys(before));
    expect("added" in ctx).toBe(false);
  });

  it("works on an isolated view and unwraps a view returned as the output", () => {
    const iso = isolate(context());
    const output = isolate({ settings: { model: "from-view" } }).view;
    applyOutputToContext(iso.view, output);
    expect(isIsolatedView(iso.changes().settings)).toBe(false);
    expect(iso.materialize().settings).toEqual({ model: "from-view" });
  });
});
