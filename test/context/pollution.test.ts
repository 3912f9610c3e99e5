import { afterEach, describe, expect, it } from "vitest";
import {
  applyOutputToContext,
  detectSiblingConflicts,
  isolate,
  mergeInto,
  setPath,
} from "../../src/context/index.js";
import { MergeStrategy } from "../../src/domain/strategies.js";

type Ctx = Record<string, unknown>;

const hostile = [
  '{"__proto__": {"polluted": 1}}',
  '{"constructor": {"prototype": {"polluted": 1}}}',
  '{"prototype": {"polluted": 1}}',
  '{"nested": {"__proto__": {"polluted": 1}}}',
  '{"nested": {"deeper": {"constructor": {"prototype": {"polluted": 1}}}}}',
  '{"list": [{"__proto__": {"polluted": 1}}]}',
];

function notPolluted(): void {
  expect(({} as Ctx).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty("polluted");
}

afterEach(() => {
  delete (Object.prototype as Ctx).polluted;
});

describe("prototype pollution", () => {
  const strategies = [undefined, ...Object.values(MergeStrategy)];

  for (const text of hostile) {
    for (const strategy of strategies) {
      it(`mergeInto(${strategy ?? "default"}) ignores ${text}`, () => {
        const target: Ctx = { nested: { deeper: {} } };
        mergeInto(target, JSON.parse(text) as Ctx, strategy);
        notPolluted();
        expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
        expect(Object.getPrototypeOf(target.nested)).toBe(Object.prototype);
        expect(Object.hasOwn(target, "constructor")).toBe(false);
      });
    }

    it(`applyOutputToContext ignores ${text}`, () => {
      const context: Ctx = { nested: {} };
      applyOutputToContext(context, JSON.parse(text));
      applyOutputToContext(context, { importArtifacts: JSON.parse(text), steps: JSON.parse(text) });
      notPolluted();
      expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(context.importArtifacts)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(context.stepOutputs)).toBe(Object.prototype);
    });

    it(`detectSiblingConflicts and isolation stay safe with ${text}`, () => {
      detectSiblingConflicts([
        ["a", JSON.parse(text) as Ctx],
        ["b", JSON.parse(text.replace("1", "2")) as Ctx],
      ]);
      const iso = isolate(JSON.parse(text) as Ctx);
      Object.assign(iso.view, JSON.parse(text));
      iso.materialize();
      notPolluted();
    });
  }

  it("setPath refuses prototype keys anywhere in the path, naming the path", () => {
    const target: Ctx = {};
    expect(() => setPath(target, "__proto__.polluted", 1)).toThrow("__proto__.polluted");
    expect(() => setPath(target, "a.constructor.prototype.polluted", 1)).toThrow(
      "a.constructor.prototype.polluted",
    );
    expect(() => setPath(target, "prototype", 1)).toThrow("'prototype'");
    notPolluted();
    expect(target).toEqual({});
  });
});
