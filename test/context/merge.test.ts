import { describe, expect, it } from "vitest";
import { isolate, mergeInto } from "../../src/context/index.js";
import { ConfigurationError } from "../../src/domain/errors.js";
import { MergeStrategy } from "../../src/domain/strategies.js";
import { deepFreeze } from "./data-helpers.js";

type Ctx = Record<string, unknown>;

function merged(target: Ctx, source: Ctx, strategy?: MergeStrategy): Ctx {
  mergeInto(target, source, strategy);
  return target;
}

const CONFLICT_ADVICE = "Set an explicit merge strategy or field_mapping in your ParallelStep.";

describe("default merge (merge_strategy=None)", () => {
  it("never lets a null or undefined source value overwrite", () => {
    expect(merged({ a: 1, b: "x" }, { a: null, b: undefined })).toEqual({ a: 1, b: "x" });
  });

  it("skips private keys and the excluded fields", () => {
    const target = { _secret: 1, commandLog: ["old"], treeSearchState: { n: 1 } };
    mergeInto(target, {
      _secret: 2,
      _new: 3,
      commandLog: ["new"],
      cacheKeys: ["k"],
      treeSearchState: { n: 2 },
    });
    expect(target).toEqual({ _secret: 1, commandLog: ["old"], treeSearchState: { n: 1 } });
  });

  it("sets keys the target does not have", () => {
    expect(merged({ a: 1 }, { b: { c: 2 } })).toEqual({ a: 1, b: { c: 2 } });
  });

  it("deep-merges a dict field (case 37)", () => {
    expect(merged({ data: { key_a: 1 } }, { data: { key_b: 2 } })).toEqual({ data: { key_a: 1, key_b: 2 } });
  });

  it("appends the top-level list items not already present, by canonical equality", () => {
    const target = { items: [1, { a: 1, b: 2 }] };
    mergeInto(target, { items: [{ b: 2, a: 1 }, 1, 3, 3, { c: 1 }] });
    expect(target.items).toEqual([1, { a: 1, b: 2 }, 3, { c: 1 }]);
  });

  it("loses removals and reorderings of a list, as Flujo does", () => {
    expect(merged({ items: [1, 2, 3] }, { items: [3, 1] })).toEqual({ items: [1, 2, 3] });
  });

  it("appends to nested lists the same way", () => {
    expect(merged({ d: { list: ["a"] } }, { d: { list: ["a", "b", "b"] } })).toEqual({
      d: { list: ["a", "b"] },
    });
  });

  it("ORs nested booleans", () => {
    expect(merged({ d: { on: true, off: false } }, { d: { on: false, off: true } })).toEqual({
      d: { on: true, off: true },
    });
  });

  it("keeps the max of nested numbers but replaces a top-level number", () => {
    expect(merged({ d: { n: 5, m: 1 } }, { d: { n: 2, m: 7 } })).toEqual({ d: { n: 5, m: 7 } });
    expect(merged({ n: 5 }, { n: 2 })).toEqual({ n: 2 });
  });

  it("takes the source value for other nested leaves, null included", () => {
    expect(merged({ d: { s: "a", x: 1, gone: "v" } }, { d: { s: "b", x: "str", gone: null } })).toEqual({
      d: { s: "b", x: "str", gone: null },
    });
  });

  it("treats an undefined nested value as no value", () => {
    expect(merged({ d: { s: "a" } }, { d: { s: undefined, t: undefined } })).toEqual({ d: { s: "a" } });
  });

  it("keeps a nested pauseMessage the target already has", () => {
    expect(merged({ d: { pauseMessage: "keep" } }, { d: { pauseMessage: "other" } })).toEqual({
      d: { pauseMessage: "keep" },
    });
    expect(merged({ d: { pauseMessage: null } }, { d: { pauseMessage: "set" } })).toEqual({
      d: { pauseMessage: "set" },
    });
  });

  it("replaces other top-level values when they differ", () => {
    expect(merged({ s: "a", o: { k: 1 } }, { s: "b", o: "now a string" })).toEqual({
      s: "b",
      o: "now a string",
    });
  });

  it("never mutates nested containers of the target or the source, and shares what did not change", () => {
    const untouched = { big: [1, 2, 3] };
    const target: Ctx = deepFreeze({ d: { list: [1], inner: { n: 1 }, untouched } });
    const live: Ctx = { ...target };
    const source = deepFreeze({ d: { list: [2], inner: { n: 3 } } });
    mergeInto(live, source);

    expect(live).toEqual({ d: { list: [1, 2], inner: { n: 3 }, untouched } });
    expect((live.d as Ctx).untouched).toBe(untouched);
    expect(live.d).not.toBe(target.d);
  });

  it("leaves the target's object in place when a nested merge changes nothing", () => {
    const d = { list: [1, 2], n: 5 };
    const target: Ctx = { d };
    mergeInto(target, { d: { list: [2], n: 1 } });
    expect(target.d).toBe(d);
  });
});

describe("merge conflicts (case 36)", () => {
  for (const strategy of [MergeStrategy.CONTEXT_UPDATE, MergeStrategy.ERROR_ON_CONFLICT]) {
    it(`${strategy}: a differing top-level scalar throws naming the key`, () => {
      const run = () => mergeInto({ counter: 1 }, { counter: 2 }, strategy);
      expect(run).toThrow(ConfigurationError);
      expect(run).toThrow(`Merge conflict for key 'counter'. ${CONFLICT_ADVICE}`);
    });

    it(`${strategy}: equal values and a null target are fine`, () => {
      expect(merged({ counter: 1 }, { counter: 1 }, strategy)).toEqual({ counter: 1 });
      expect(merged({ counter: null }, { counter: 4 }, strategy)).toEqual({ counter: 4 });
    });
  }

  it("OVERWRITE: the same change is fine and takes the source value", () => {
    expect(merged({ counter: 1 }, { counter: 2 }, MergeStrategy.OVERWRITE)).toEqual({ counter: 2 });
  });

  it("ERROR_ON_CONFLICT: a nested conflict names the dotted path", () => {
    expect(() =>
      mergeInto(
        { x: { payload: { key: 1 } } },
        { x: { payload: { key: 2 } } },
        MergeStrategy.ERROR_ON_CONFLICT,
      ),
    ).toThrow("Merge conflict for key 'x.payload.key'");
  });

  it("ERROR_ON_CONFLICT: differing lists conflict, equal ones merge, new nested keys are added", () => {
    expect(() => mergeInto({ l: [1] }, { l: [1, 2] }, MergeStrategy.ERROR_ON_CONFLICT)).toThrow(
      "Merge conflict for key 'l'",
    );
    expect(() => mergeInto({ d: { l: [1] } }, { d: { l: [2] } }, MergeStrategy.ERROR_ON_CONFLICT)).toThrow(
      "Merge conflict for key 'd.l'",
    );
    expect(
      merged({ l: [1], d: { a: 1 } }, { l: [1], d: { a: 1, b: 2 } }, MergeStrategy.ERROR_ON_CONFLICT),
    ).toEqual({
      l: [1],
      d: { a: 1, b: 2 },
    });
  });

  it("CONTEXT_UPDATE: nested differences and containers do not conflict; they merge by the default rules", () => {
    expect(
      merged({ d: { n: 1, s: "a" }, l: [1] }, { d: { n: 3, s: "b" }, l: [2] }, MergeStrategy.CONTEXT_UPDATE),
    ).toEqual({
      d: { n: 3, s: "b" },
      l: [1, 2],
    });
    expect(merged({ d: { k: 1 } }, { d: "text" }, MergeStrategy.CONTEXT_UPDATE)).toEqual({ d: "text" });
  });

  it("KEEP_FIRST keeps existing values and adds new keys, recursively", () => {
    expect(merged({ a: { b: 1 } }, { a: { b: 2, c: 3 }, d: 4 }, MergeStrategy.KEEP_FIRST)).toEqual({
      a: { b: 1, c: 3 },
      d: 4,
    });
    expect(merged({ l: [1], s: "x", n: null }, { l: [2], s: "y", n: 5 }, MergeStrategy.KEEP_FIRST)).toEqual({
      l: [1],
      s: "x",
      n: 5,
    });
  });
});

describe("OVERWRITE", () => {
  it("overwrites nested primitives instead of OR/max, and replaces lists at every depth", () => {
    const target = { payload: { count: 5, flag: true, keep: "me", list: [1, 2] }, top: [1, 2] };
    mergeInto(target, { payload: { count: 2, flag: false, list: [3] }, top: [9] }, MergeStrategy.OVERWRITE);
    expect(target).toEqual({ payload: { count: 2, flag: false, keep: "me", list: [3] }, top: [9] });
  });

  it("still never writes null over a top-level value", () => {
    expect(merged({ a: 1 }, { a: null }, MergeStrategy.OVERWRITE)).toEqual({ a: 1 });
  });
});

describe("NO_MERGE (case 30 at the merge level)", () => {
  it("changes nothing", () => {
    expect(merged({ val: 0 }, { val: 2, other: 1 }, MergeStrategy.NO_MERGE)).toEqual({ val: 0 });
  });
});

describe("merging isolated changes back into the live context", () => {
  it("merges just the successful branch's changes (case 32)", () => {
    const live: Ctx = { importArtifacts: {}, value: "start" };
    const good = isolate(live);
    (good.view.importArtifacts as Ctx).a = 1;
    const bad = isolate(live);
    bad.view.value = "from failed branch";

    mergeInto(live, good.changes());
    expect(live).toEqual({ importArtifacts: { a: 1 }, value: "start" });
  });

  it("merges a change deep inside a large context without touching the rest", () => {
    const big = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, { i }]));
    const live: Ctx = { big, settings: { model: "a" } };
    const step = isolate(live);
    (step.view.settings as Ctx).model = "b";
    const changes = step.changes();
    expect(Object.keys(changes)).toEqual(["settings"]);
    mergeInto(live, changes);
    expect(live.big).toBe(big);
    expect(live.settings).toEqual({ model: "b" });
  });
});
