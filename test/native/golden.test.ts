import { describe, expect, it } from "vitest";
import { encodeCanonical, hot, jsBackend } from "../../src/native/index.js";
import { decodeTagged, fromHex, hex, loadGolden, utf8 } from "./helpers.js";

// Hand-checked vectors (test/golden/canonical.json), checked against the live backend (so each lane
// checks its own) and against the JS writer. crates/flujo-core/tests/golden.rs reads the same file.
const golden = loadGolden();

describe(`golden vectors (${hot.kind} backend)`, () => {
  it.each(golden.json)("canonicalizeJson: $name", ({ json, hex: expected }) => {
    expect(hex(hot.canonicalizeJson(utf8(json)))).toBe(expected);
    expect(hex(jsBackend.canonicalizeJson(utf8(json)))).toBe(expected);
  });

  it.each(golden.json)("encodeCanonical(JSON.parse): $name", ({ json, hex: expected }) => {
    expect(hex(encodeCanonical(JSON.parse(json)))).toBe(expected);
  });

  it.each(golden.value)("encodeCanonical: $name", ({ value, hex: expected }) => {
    expect(hex(encodeCanonical(decodeTagged(value)))).toBe(expected);
  });

  it.each(golden.hash128)("hash128: $name", ({ input, hash }) => {
    expect(hot.hash128(fromHex(input))).toBe(hash);
    expect(jsBackend.hash128(fromHex(input))).toBe(hash);
  });

  it.each(golden.hashJson)("hashJson: $name", ({ json, hash }) => {
    expect(hot.hashJson(utf8(json))).toBe(hash);
    expect(jsBackend.hashJson(utf8(json))).toBe(hash);
  });

  it("covers every tag", () => {
    const tags = new Set([...golden.json, ...golden.value].map((v) => v.hex.slice(0, 2)));
    expect([...tags].sort()).toEqual(["00", "01", "02", "03", "04", "05", "06", "07", "08", "10", "11"]);
  });

  it("reports the ABI version the loader expects", () => {
    expect(hot.abiVersion()).toBe(1);
  });
});
