import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StateBackendError } from "../../src/index.js";
import { decodeState, encodeState } from "../../src/state/codec.js";

const hostile: Record<string, number[]> = {
  "array32 of 4G items in 5 bytes": [0xdd, 0xff, 0xff, 0xff, 0xff],
  "map32 of 4G entries": [0xdf, 0xff, 0xff, 0xff, 0xff],
  "str32 of 4 GB": [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61],
  "bin32 of 4 GB": [0xc6, 0xff, 0xff, 0xff, 0xff],
  "ext32 of 4 GB": [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01],
  "array32 of 1M items, 10 present": [0xdd, 0x00, 0x10, 0x00, 0x00, ...new Array(10).fill(0xc0)],
  "200,000 nested arrays": [...new Array(200_000).fill(0x91), 0xc0],
  "100,000 nested maps": [...Array.from({ length: 100_000 }, () => [0x81, 0xa1, 0x61]).flat(), 0xc0],
  truncated: [0x92, 0x01],
  "the never-used byte": [0x91, 0xc1],
};

describe("state codec: hostile bytes", () => {
  for (const [name, bytes] of Object.entries(hostile)) {
    it(`${name}: a StateBackendError naming what was read`, () => {
      expect(() => decodeState(Uint8Array.from(bytes), "run 'r': context")).toThrow(StateBackendError);
      expect(() => decodeState(Uint8Array.from(bytes), "run 'r': context")).toThrow(
        /^run 'r': context: stored bytes are unreadable/,
      );
    });
  }

  it("arbitrary bytes decode or give a StateBackendError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeState(bytes, "x");
        } catch (err) {
          expect(err).toBeInstanceOf(StateBackendError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("a stored value with one byte flipped or cut decodes or fails cleanly", () => {
    const bytes = encodeState({ a: [1, 2, { b: "text", c: 1.5 }], d: new Date(0), e: 2n ** 70n }, "x");
    for (let i = 0; i < bytes.length; i++) {
      for (const mutated of [bytes.slice(0, i), Uint8Array.from(bytes, (b, j) => (j === i ? b ^ 0xff : b))]) {
        try {
          decodeState(mutated, "x");
        } catch (err) {
          expect(err).toBeInstanceOf(StateBackendError);
        }
      }
    }
  });
});
