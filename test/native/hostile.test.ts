import { describe, expect, it } from "vitest";
import { type Backend, hot, jsBackend, MAX_DEPTH } from "../../src/native/index.js";
import { hex, utf8 } from "./helpers.js";

// Hostile input must give an exception on both backends: never a crash, a hang or a silent result.
const backends: [string, Backend][] = [
  [`hot (${hot.kind})`, hot],
  ["js", jsBackend],
];

const bytes = (...values: number[]) => new Uint8Array(values);

const invalidUtf8: [string, Uint8Array][] = [
  ["a lone continuation byte", bytes(0x22, 0x80, 0x22)],
  ["0xFF", bytes(0x22, 0xff, 0x22)],
  ["an overlong NUL", bytes(0x22, 0xc0, 0x80, 0x22)],
  ["an encoded surrogate (CESU/WTF-8 is not UTF-8)", bytes(0x22, 0xed, 0xa0, 0x80, 0x22)],
  ["a truncated four-byte sequence", bytes(0x22, 0xf0, 0x9f, 0x98, 0x22)],
  ["a code point above U+10FFFF", bytes(0x22, 0xf4, 0x90, 0x80, 0x80, 0x22)],
  ["invalid UTF-8 outside a string", bytes(0x5b, 0xff, 0x5d)],
];

const invalidJson = [
  "",
  "   ",
  "{",
  "[1,",
  '{"a":',
  '{"a"',
  '"abc',
  '"\\u12',
  "[1,]",
  '{"a":1,}',
  "01",
  "1.",
  "-",
  ".5",
  "+1",
  "NaN",
  "Infinity",
  "undefined",
  "'single'",
  "{a:1}",
  "[1] [2]",
  "/* comment */ 1",
  "\ufeff1",
  "\u00a01",
  '"\t"',
  '"\\x41"',
  "tru",
  "nulll",
];

describe.each(backends)("hostile input: %s", (_, backend) => {
  it.each(invalidUtf8)("rejects %s", (_, input) => {
    expect(() => backend.canonicalizeJson(input)).toThrow();
    expect(() => backend.hashJson(input)).toThrow();
  });

  it.each(invalidJson)("rejects invalid JSON %j", (text) => {
    expect(() => backend.canonicalizeJson(utf8(text))).toThrow();
    expect(() => backend.hashJson(utf8(text))).toThrow();
  });

  it("rejects every truncation of a valid document", () => {
    const doc = '{"a":[1,-2.5e3,"x\\u00e9\\ud83d\\ude00",{"b":null}],"c":true}';
    for (let end = 0; end < doc.length; end++) {
      if (/^\s*-?\d+$/.test(doc.slice(0, end))) continue; // a bare number prefix is itself valid
      expect(() => backend.canonicalizeJson(utf8(doc.slice(0, end))), doc.slice(0, end)).toThrow();
    }
  });

  it("rejects nesting one level past the limit, for arrays and objects", () => {
    const arrays = `${"[".repeat(MAX_DEPTH + 1)}${"]".repeat(MAX_DEPTH + 1)}`;
    const objects = `${'{"a":'.repeat(MAX_DEPTH + 1)}0${"}".repeat(MAX_DEPTH + 1)}`;
    expect(() => backend.canonicalizeJson(utf8(arrays))).toThrow(/deeper than 512/);
    expect(() => backend.canonicalizeJson(utf8(objects))).toThrow(/deeper than 512/);
    expect(() =>
      backend.canonicalizeJson(utf8(`${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)}`)),
    ).not.toThrow();
  });

  it("rejects very deep unclosed input without overflowing the stack", () => {
    expect(() => backend.canonicalizeJson(utf8("[".repeat(1_000_000)))).toThrow();
    expect(() => backend.canonicalizeJson(utf8('{"a":'.repeat(200_000)))).toThrow();
  });

  it("turns huge numbers into the nearest binary64 (as JSON.parse), not an error", () => {
    const inf = hex(backend.canonicalizeJson(utf8("1e400")));
    expect(inf).toBe("047ff0000000000000");
    expect(hex(backend.canonicalizeJson(utf8("1e99999999999999999999")))).toBe(inf);
    expect(hex(backend.canonicalizeJson(utf8("-1e99999999999999999999")))).toBe("04fff0000000000000");
    expect(hex(backend.canonicalizeJson(utf8("1e-99999999999999999999")))).toBe("040000000000000000");
    const manyDigits = `1${"0".repeat(100_000)}`;
    expect(hex(backend.canonicalizeJson(utf8(manyDigits)))).toBe(inf);
    const longFraction = `0.${"3".repeat(50_000)}`;
    expect(hex(backend.canonicalizeJson(utf8(longFraction)))).toBe(
      hex(jsBackend.canonicalizeJson(utf8(`${1 / 3}`))),
    );
  });

  it("handles large documents", () => {
    const big = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => ({ i, s: `v${i}` })) });
    const out = backend.canonicalizeJson(utf8(big));
    expect(hex(out)).toBe(hex(jsBackend.canonicalizeJson(utf8(big))));
    expect(() => backend.canonicalizeJson(utf8(`"${"x".repeat(5_000_000)}"`))).not.toThrow();
  });

  it("errors are Error instances with a message", () => {
    try {
      backend.canonicalizeJson(utf8("[1,]"));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message.length).toBeGreaterThan(0);
    }
  });
});

describe.runIf(hot.kind === "native")("native boundary", () => {
  it("rejects non-byte arguments with an exception, not a crash", () => {
    const loose = hot as unknown as Record<string, (arg: unknown) => unknown>;
    for (const name of ["hash128", "canonicalizeJson", "hashJson"]) {
      for (const arg of ["text", 1, null, undefined, {}, [1, 2]]) {
        expect(() => loose[name](arg), `${name}(${String(arg)})`).toThrow();
      }
    }
  });

  it("accepts any Uint8Array, including a Buffer and a view at an offset", () => {
    const buf = Buffer.from(' {"a":1} ', "utf8");
    expect(hex(hot.canonicalizeJson(buf))).toBe(hex(jsBackend.canonicalizeJson(buf)));
    expect(hex(hot.canonicalizeJson(buf.subarray(1, 8)))).toBe(
      hex(jsBackend.canonicalizeJson(utf8('{"a":1}'))),
    );
  });
});
