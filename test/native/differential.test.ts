import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCanonical, hot, jsBackend, MAX_DEPTH } from "../../src/native/index.js";
import { hex, utf8 } from "./helpers.js";

// Differential properties: the live backend, the JS backend and the JS writer over JSON.parse must agree
// byte for byte. In the js lane `hot` is the JS backend, so these still pin canonicalizeJson to
// encodeCanonical; in the native lane they pin Rust to the reference.

const fromCode = (code: number): string => String.fromCharCode(code);

/** FLUJO_FC_SCALE=20 npm test -- test/native runs every property 20 times longer. */
const runs = (n: number): number => Math.ceil(n * Number(process.env.FLUJO_FC_SCALE ?? 1));

/** One UTF-16 unit or one code point, weighted towards the cases backends get wrong. */
const anyUnit = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map(fromCode),
  fc.integer({ min: 0, max: 0x1f }).map(fromCode),
  fc.integer({ min: 0xd800, max: 0xdfff }).map(fromCode), // lone surrogates
  fc.integer({ min: 0x80, max: 0xffff }).map(fromCode),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
  fc.constantFrom("\ue000", "\uffff", "\ufffd", "\u2028", '"', "\\"),
);
const anyString = fc.string({ unit: anyUnit, maxLength: 12 });

/** All three paths from one JSON text; undefined when the text is rejected. */
function encodeAll(json: Uint8Array): { hot: string; js: string; writer: string } {
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(json);
  return {
    hot: hex(hot.canonicalizeJson(json)),
    js: hex(jsBackend.canonicalizeJson(json)),
    writer: hex(encodeCanonical(JSON.parse(text))),
  };
}

function expectAllEqual(json: Uint8Array): void {
  const out = encodeAll(json);
  expect(out.hot).toBe(out.writer);
  expect(out.js).toBe(out.writer);
  expect(hot.hashJson(json)).toBe(jsBackend.hash128(jsBackend.canonicalizeJson(json)));
  expect(jsBackend.hashJson(json)).toBe(hot.hash128(hot.canonicalizeJson(json)));
}

type Outcome = { ok: string } | { error: true };
function outcome(run: () => Uint8Array): Outcome {
  try {
    return { ok: hex(run()) };
  } catch {
    return { error: true };
  }
}

// JSON text written the way odd producers write it: optional whitespace, \u escapes (any case) for any
// unit, number spellings JSON.stringify never emits, duplicate and integer-like keys, __proto__.
const ws = fc.constantFrom("", "", " ", "\n", "\t", "\r\n  ");
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
  fc.constantFrom(
    "-0",
    "-0.0",
    "0e0",
    "1e400",
    "-1e400",
    "1E-400",
    "12345678901234567890",
    "9007199254740993",
    "0.1",
    "5e-324",
    "2.2250738585072011e-308",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
  ),
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?$/),
);
const escapedUnit = (unit: string): fc.Arbitrary<string> =>
  fc.boolean().map((upper) => {
    const code = unit.charCodeAt(0).toString(16).padStart(4, "0");
    return `\\u${upper ? code.toUpperCase() : code}`;
  });
const stringText = fc
  .array(
    anyUnit.chain((unit) => {
      const plain = JSON.stringify(unit).slice(1, -1);
      // Escape each UTF-16 unit separately, so escaped pairs and lone halves both appear.
      const units = unit.split("");
      const escaped = fc.tuple(...units.map(escapedUnit)).map((parts) => parts.join(""));
      return fc.oneof(fc.constant(plain), escaped);
    }),
    { maxLength: 8 },
  )
  .map((parts) => `"${parts.join("")}"`);
const keyText = fc.oneof(
  stringText,
  fc.nat({ max: 20 }).map((n) => `"${n}"`),
  fc.constantFrom('"__proto__"', '"constructor"', '"toJSON"', '"a"', '"\\u0061"', '""'),
);
const { jsonText } = fc.letrec<{ jsonText: string; array: string; object: string }>((tie) => ({
  jsonText: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("null", "true", "false"),
    numberText,
    stringText,
    tie("array"),
    tie("object"),
  ),
  array: fc
    .array(fc.tuple(ws, tie("jsonText"), ws), { maxLength: 5 })
    .map((items) => `[${items.map((parts) => parts.join("")).join(",")}]`),
  object: fc
    .array(fc.tuple(ws, keyText, ws, ws, tie("jsonText"), ws), { maxLength: 5 })
    .map((entries) => `{${entries.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(",")}}`),
}));

describe(`differential: ${hot.kind} backend vs JS reference`, () => {
  it("agrees on JSON.stringify of arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: anyUnit })), (value) => {
        expectAllEqual(utf8(JSON.stringify(value)));
      }),
      { numRuns: runs(300) },
    );
  });

  it("agrees on hand-written JSON text (escapes, -0, big numbers, odd keys, whitespace)", () => {
    fc.assert(
      fc.property(ws, jsonText, ws, (before, text, after) => {
        expectAllEqual(utf8(before + text + after));
      }),
      { numRuns: runs(500) },
    );
  });

  it("agrees on objects with integer-like, duplicate and __proto__ keys", () => {
    const key = fc.oneof(
      fc.nat({ max: 1000 }).map(String),
      fc.constantFrom("__proto__", "-1", "01", "1.5"),
      anyString,
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.jsonValue({ maxDepth: 1 })), { maxLength: 8 }), (entries) => {
        const body = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",");
        expectAllEqual(utf8(`{${body}}`));
      }),
    );
  });

  it("sorts objects with many keys the same way (JS switches sort strategy past 16 keys)", () => {
    const key = fc.oneof(fc.nat({ max: 100 }).map(String), anyString);
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 10, maxLength: 40 }), (keys) => {
        const forward = Object.fromEntries(keys.map((k, i) => [k, i]));
        const backward = Object.fromEntries(
          keys
            .map((k, i) => [k, i] as const)
            .slice()
            .reverse(),
        );
        expect(hex(encodeCanonical(backward))).toBe(hex(encodeCanonical(forward)));
        expectAllEqual(utf8(JSON.stringify(forward)));
      }),
      { numRuns: runs(200) },
    );
  });

  it("agrees on nesting up to the depth limit, and both reject one level more", () => {
    const opener = fc.constantFrom("[", '{"k":', '[1,{"":');
    fc.assert(
      fc.property(fc.array(opener, { minLength: 1, maxLength: MAX_DEPTH + 8 }), (openers) => {
        const open = openers.join("");
        const close = openers
          .map((o) => (o === "[" ? "]" : o === '{"k":' ? "}" : "}]"))
          .reverse()
          .join("");
        const depth = openers.reduce((n, o) => n + (o === '[1,{"":' ? 2 : 1), 0);
        const json = utf8(`${open}null${close}`);
        if (depth <= MAX_DEPTH) {
          expectAllEqual(json);
        } else {
          expect(() => hot.canonicalizeJson(json)).toThrow();
          expect(() => jsBackend.canonicalizeJson(json)).toThrow();
          expect(() => hot.hashJson(json)).toThrow();
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it("accepts and rejects the same inputs (token soup)", () => {
    const token = fc.oneof(
      fc.constantFrom(
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"',
        "\\",
        "\\u",
        "d800",
        "DC00",
        "-",
        "0",
        "1",
        ".",
        "e",
      ),
      fc.constantFrom("true", "nul", " ", "\u00a0", "\ufeff", "/*", "'", "\u0000", "\n", "\ud800"),
      jsonText,
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
        const json = utf8(tokens.join(""));
        expect(outcome(() => hot.canonicalizeJson(json))).toEqual(
          outcome(() => jsBackend.canonicalizeJson(json)),
        );
      }),
      { numRuns: runs(1000) },
    );
  });

  it("agrees on arbitrary bytes (mostly invalid UTF-8 or JSON)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(outcome(() => hot.canonicalizeJson(bytes))).toEqual(
          outcome(() => jsBackend.canonicalizeJson(bytes)),
        );
      }),
      { numRuns: runs(500) },
    );
  });

  it("hash128 agrees on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const expected = hot.hash128(bytes);
        expect(expected).toMatch(/^[0-9a-f]{32}$/);
        expect(jsBackend.hash128(bytes)).toBe(expected);
      }),
      { numRuns: runs(300) },
    );
  });

  it("hash128 reads exactly the view it is given", () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    expect(hot.hash128(view)).toBe(jsBackend.hash128(new Uint8Array([1, 2, 3])));
    expect(hex(hot.canonicalizeJson(utf8(" 7").subarray(1)))).toBe(
      hex(jsBackend.canonicalizeJson(utf8("7"))),
    );
  });

  it("returns a plain Uint8Array the caller owns", () => {
    const out = hot.canonicalizeJson(utf8("[1]"));
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    const again = hot.canonicalizeJson(utf8("[1]"));
    out[0] = 0xff;
    expect(again[0]).toBe(0x10);
  });
});
