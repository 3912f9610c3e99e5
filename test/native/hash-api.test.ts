import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backend, canonicalHash, canonicalHashJson } from "../../src/index.js";
import { loadGolden } from "./helpers.js";

describe(`canonicalHash and canonicalHashJson (public, ${backend} backend)`, () => {
  it("give the golden hashes", () => {
    for (const v of loadGolden().hashJson) {
      expect(canonicalHashJson(v.json), v.name).toBe(v.hash);
      expect(canonicalHash(JSON.parse(v.json)), v.name).toBe(v.hash);
    }
  });

  it("hashing text equals hashing the value it parses to, and key order or spacing do not matter", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const hash = canonicalHash(JSON.parse(text));
        expect(canonicalHashJson(text)).toBe(hash);
        expect(canonicalHashJson(new TextEncoder().encode(JSON.stringify(JSON.parse(text), null, 2)))).toBe(
          hash,
        );
      }),
      { numRuns: 300 },
    );
    expect(canonicalHash({ a: 1, b: [2, { c: 3, d: 4 }] })).toBe(
      canonicalHashJson('{"b":[2,{"d":4,"c":3}],"a":1.0}'),
    );
  });

  it("refuses text that is not JSON, or not UTF-8, with a SyntaxError", () => {
    expect(() => canonicalHashJson("{bad")).toThrow(SyntaxError);
    expect(() => canonicalHashJson(new Uint8Array([0x22, 0xff, 0x22]))).toThrow(SyntaxError);
    expect(() => canonicalHashJson("[".repeat(100_000))).toThrow(/canonicalHashJson: not hashable JSON text/);
  });
});
