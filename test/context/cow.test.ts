import { describe, expect, it } from "vitest";
import { isIsolatedView, isolate, mergeInto, unwrap } from "../../src/context/index.js";
import { containsView, deepFreeze } from "./data-helpers.js";

interface Ctx {
  counter: number;
  name: string;
  settings: { model: string; limits: { tokens: number; cost: number } };
  items: Array<{ id: number; tags: string[] }>;
  log: string[];
  [key: string]: unknown;
}

function sample(): Ctx {
  return {
    counter: 0,
    name: "run",
    settings: { model: "m1", limits: { tokens: 100, cost: 1 } },
    items: [
      { id: 3, tags: ["c"] },
      { id: 1, tags: ["a"] },
      { id: 2, tags: ["b"] },
    ],
    log: ["start"],
  };
}

describe("isolate: the base is never written", () => {
  it("accepts every kind of write on a deep-frozen base and leaves it equal to a snapshot", () => {
    const base = deepFreeze(sample());
    const before = structuredClone(base);
    const { view } = isolate(base);

    view.counter += 1;
    view.settings.limits.tokens = 5;
    view.items[0].tags.push("z");
    view.items.sort((a, b) => a.id - b.id);
    view.items.splice(1, 1);
    view.log.unshift("first");
    Object.assign(view.settings, { model: "m2", extra: true });
    delete (view as Record<string, unknown>).name;
    view.log.length = 1;

    expect(base).toEqual(before);
  });

  it("keeps an own __proto__ key as data and never swaps a prototype", () => {
    const base = deepFreeze(
      JSON.parse('{"__proto__": {"x": 1}, "a": {"__proto__": {"y": 2}}}') as Record<string, unknown>,
    );
    const iso = isolate(base);
    (iso.view.a as Record<string, unknown>).z = 3;
    const out = iso.materialize() as Record<string, unknown>;

    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.a)).toBe(Object.prototype);
    expect(Object.keys(out.a as object)).toEqual(["__proto__", "z"]);
    expect(({} as Record<string, unknown>).y).toBeUndefined();
  });
});

describe("isolate: what the step sees", () => {
  it("reads its own writes at every depth", () => {
    const { view } = isolate(sample());
    view.settings.limits.cost = 9;
    view.items[1].tags[0] = "changed";
    (view as Record<string, unknown>).fresh = { deep: [1] };

    expect(view.settings.limits.cost).toBe(9);
    expect(view.items[1].tags).toEqual(["changed"]);
    expect((view.fresh as { deep: number[] }).deep[0]).toBe(1);
  });

  it("returns the same proxy for the same nested object, before and after writes", () => {
    const { view } = isolate(sample());
    const settings = view.settings;
    expect(view.settings).toBe(settings);
    settings.limits.tokens = 1;
    expect(view.settings).toBe(settings);
    expect(view.items[0]).toBe(view.items[0]);
  });

  it("behaves like an array for array views", () => {
    const { view } = isolate(sample());
    const items = view.items;

    expect(Array.isArray(items)).toBe(true);
    expect(items.length).toBe(3);
    expect([...items].map((item) => item.id)).toEqual([3, 1, 2]);
    const ids: number[] = [];
    for (const item of items) ids.push(item.id);
    expect(ids).toEqual([3, 1, 2]);
    expect(items.map((item) => item.id)).toEqual([3, 1, 2]);
    expect(items.filter((item) => item.id > 1)).toHaveLength(2);
    expect(items.indexOf(items[2])).toBe(2);
    expect(items.includes(items[1])).toBe(true);
    expect(0 in items).toBe(true);

    expect(items.pop()?.id).toBe(2);
    items.push({ id: 9, tags: [] });
    expect(items.shift()?.id).toBe(3);
    items.unshift({ id: 0, tags: [] });
    items.reverse();
    expect(items.map((item) => item.id)).toEqual([9, 1, 0]);
    items.fill(items[0], 2);
    expect(items.map((item) => item.id)).toEqual([9, 1, 9]);
  });

  it("supports the object protocols: keys, entries, spread, in, hasOwnProperty, JSON", () => {
    const { view } = isolate(sample());
    view.counter = 4;
    delete (view as Record<string, unknown>).log;

    expect(Object.keys(view)).toEqual(["counter", "name", "settings", "items"]);
    expect(Object.entries(view.settings.limits)).toEqual([
      ["tokens", 100],
      ["cost", 1],
    ]);
    expect({ ...view.settings }.model).toBe("m1");
    expect("log" in view).toBe(false);
    expect(Object.hasOwn(view, "counter")).toBe(true);
    expect(Object.hasOwn(view, "name")).toBe(true);
    expect(JSON.parse(JSON.stringify(view))).toEqual({
      counter: 4,
      name: "run",
      settings: { model: "m1", limits: { tokens: 100, cost: 1 } },
      items: sample().items,
    });
  });

  it("hands out other objects as they are", () => {
    const when = new Date(0);
    const { view } = isolate({ when, tags: new Set(["a"]) });
    expect(view.when).toBe(when);
    expect(isIsolatedView(view.tags)).toBe(false);
  });

  it("accepts plain data properties through defineProperty and refuses what it cannot isolate", () => {
    const { view } = isolate(sample());
    Object.defineProperty(view, "added", { value: 1, writable: true, enumerable: true, configurable: true });
    expect((view as Record<string, unknown>).added).toBe(1);
    expect(() => Object.defineProperty(view, "getter", { get: () => 1 })).toThrow(TypeError);
    expect(() => Object.freeze(view)).toThrow(TypeError);
  });
});

describe("isolate: changedKeys, changes, materialize", () => {
  it("reports nothing before any write, and ignores writes of the value already there", () => {
    const iso = isolate(sample());
    expect(iso.hasChanges()).toBe(false);
    iso.view.counter = 0;
    iso.view.items.sort((a, b) => a.id - b.id);
    iso.view.items.sort((a, b) => b.id - a.id);
    expect(iso.changedKeys()).toEqual(["items"]);
    const fresh = isolate(sample());
    fresh.view.name = "run";
    fresh.view.settings.limits.tokens = 100;
    expect(fresh.hasChanges()).toBe(false);
    expect(fresh.changes()).toEqual({});
  });

  it("names top-level keys for nested writes and deletes, with deleted keys mapped to undefined", () => {
    const iso = isolate(sample());
    iso.view.settings.limits.tokens = 7;
    delete (iso.view as Record<string, unknown>).name;
    iso.view.log.push("more");

    expect(iso.hasChanges()).toBe(true);
    expect(iso.changedKeys().sort()).toEqual(["log", "name", "settings"]);
    const changes = iso.changes();
    expect(changes).toEqual({
      settings: { model: "m1", limits: { tokens: 7, cost: 1 } },
      name: undefined,
      log: ["start", "more"],
    });
    expect(Object.hasOwn(changes, "name")).toBe(true);
  });

  it("shares untouched subtrees with the base and copies the touched path", () => {
    const base = sample();
    const iso = isolate(base);
    iso.view.items[1].tags.push("x");
    const out = iso.materialize();

    expect(out).not.toBe(base);
    expect(out.settings).toBe(base.settings);
    expect(out.log).toBe(base.log);
    expect(out.items).not.toBe(base.items);
    expect(out.items[0]).toBe(base.items[0]);
    expect(out.items[1]).not.toBe(base.items[1]);
    expect(out.items[1].tags).toEqual(["a", "x"]);
    expect(iso.changes().items).toEqual(out.items);
  });

  it("returns the base itself when nothing changed", () => {
    const base = sample();
    expect(isolate(base).materialize()).toBe(base);
  });

  it("exports plain data when the step assigned views or data holding views", () => {
    const iso = isolate(sample());
    const { view } = iso;
    view.items = view.items.filter((item) => item.id !== 1);
    (view as Record<string, unknown>).pair = { first: view.items[0], settings: view.settings };
    (view as Record<string, unknown>).alias = view.settings.limits;

    const changes = iso.changes();
    const out = iso.materialize();
    expect(containsView(changes)).toBe(false);
    expect(containsView(out)).toBe(false);
    expect(out.items.map((item) => item.id)).toEqual([3, 2]);
    expect(out.pair).toEqual({ first: { id: 3, tags: ["c"] }, settings: sample().settings });
    expect(out.alias).toEqual({ tokens: 100, cost: 1 });
  });

  it("keeps aliasing made through the view, like ordinary objects", () => {
    const iso = isolate(sample());
    const { view } = iso;
    (view as Record<string, unknown>).copyOfLimits = view.settings.limits;
    view.settings.limits.tokens = 1;

    expect((view.copyOfLimits as { tokens: number }).tokens).toBe(1);
    const out = iso.materialize();
    expect(out.copyOfLimits).toBe(out.settings.limits);
  });

  it("turns a cycle made through the view into a plain cycle", () => {
    const iso = isolate({ node: { name: "n" } as Record<string, unknown> });
    iso.view.node.self = iso.view.node;
    const out = iso.materialize();
    expect(out.node.self).toBe(out.node);
    expect(containsView(out)).toBe(false);
  });

  it("never mutates a value the step assigned when the step later writes under it", () => {
    const assigned = deepFreeze({ inner: { n: 1 }, list: [1] });
    const iso = isolate(sample());
    (iso.view as Record<string, unknown>).mine = assigned;
    const mine = iso.view.mine as typeof assigned;
    mine.inner.n = 2;
    mine.list.push(2);

    expect(assigned).toEqual({ inner: { n: 1 }, list: [1] });
    expect(iso.materialize().mine).toEqual({ inner: { n: 2 }, list: [1, 2] });
  });

  it("keeps exported data stable when the step writes again afterwards", () => {
    const iso = isolate(sample());
    iso.view.settings.limits.tokens = 1;
    const first = iso.materialize();
    const firstChanges = iso.changes();
    const snapshot = structuredClone(first);

    iso.view.settings.limits.tokens = 2;
    iso.view.settings.model = "m9";
    iso.view.items[0].tags.push("later");

    expect(first).toEqual(snapshot);
    expect(firstChanges.settings).toEqual(snapshot.settings);
    expect(iso.materialize().settings.limits.tokens).toBe(2);
  });
});

describe("isolate: nested isolation", () => {
  it("isolates a view from the view's current data and merges back through the outer view", () => {
    const base = deepFreeze(sample());
    const outer = isolate(base);
    outer.view.settings.limits.tokens = 50;

    const inner = isolate(outer.view);
    expect(isIsolatedView(inner.view)).toBe(true);
    expect(inner.view.settings.limits.tokens).toBe(50);
    inner.view.settings.model = "inner";
    inner.view.counter = 3;
    expect(outer.view.settings.model).toBe("m1");

    mergeInto(outer.view, inner.changes());
    expect(outer.view.settings.model).toBe("inner");
    expect(outer.view.counter).toBe(3);
    expect(outer.materialize().settings).toEqual({ model: "inner", limits: { tokens: 50, cost: 1 } });
    expect(containsView(outer.changes())).toBe(false);
    expect(base.settings.model).toBe("m1");
  });
});

describe("isolate with includeKeys (Flujo's context_include_keys)", () => {
  it("reads non-included keys as their defaults and included keys from the base", () => {
    const base = { field_1: "one", field_2: "two", field_3: "three", extra: 1 };
    const defaults = deepFreeze({ field_1: "", field_2: "", field_3: "default", nested: { n: 0 } });
    const iso = isolate(base, { includeKeys: ["field_1"], defaults });

    expect(iso.view.field_1).toBe("one");
    expect(iso.view.field_3).toBe("default");
    expect("extra" in iso.view).toBe(false);
    expect(iso.hasChanges()).toBe(false);

    (iso.view as unknown as typeof defaults).nested.n = 5;
    expect(defaults.nested.n).toBe(0);
    expect(iso.changes()).toEqual({ nested: { n: 5 } });
  });
});

describe("unwrap and isIsolatedView", () => {
  it("returns non-view values untouched and views as plain data", () => {
    const plain = { a: [1, { b: 2 }] };
    expect(unwrap(plain)).toBe(plain);
    expect(unwrap(5)).toBe(5);
    expect(unwrap(null)).toBe(null);

    const iso = isolate(sample());
    iso.view.settings.model = "m2";
    const out = unwrap(iso.view.settings);
    expect(isIsolatedView(iso.view.settings)).toBe(true);
    expect(isIsolatedView(out)).toBe(false);
    expect(out).toEqual({ model: "m2", limits: { tokens: 100, cost: 1 } });

    const holder = [iso.view.items[0], { at: iso.view.log }];
    const unwrapped = unwrap(holder);
    expect(unwrapped).not.toBe(holder);
    expect(containsView(unwrapped)).toBe(false);
    expect(unwrapped).toEqual([{ id: 3, tags: ["c"] }, { at: ["start"] }]);
    expect(isIsolatedView({})).toBe(false);
  });
});

describe("loop-style use: iteration changes carry forward (case 42)", () => {
  it("sees [0, 1] across two iterations that read and increment a counter", () => {
    const live: Record<string, unknown> = { counter: 0 };
    const seen: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const iteration = isolate(live);
      const view = iteration.view as { counter: number };
      seen.push(view.counter);
      view.counter += 1;
      mergeInto(live, iteration.changes());
    }
    expect(seen).toEqual([0, 1]);
    expect(live.counter).toBe(2);
  });
});
