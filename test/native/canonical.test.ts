import { describe, expect, it } from "vitest";
import { CanonicalWriter, encodeCanonical, MAX_DEPTH, NotEncodableError } from "../../src/native/index.js";
import { hex } from "./helpers.js";

const enc = (value: unknown): string => hex(encodeCanonical(value));

function notEncodable(value: unknown): NotEncodableError {
  try {
    encodeCanonical(value);
  } catch (error) {
    expect(error).toBeInstanceOf(NotEncodableError);
    return error as NotEncodableError;
  }
  throw new Error("expected a NotEncodableError");
}

describe("NotEncodableError", () => {
  it("names the path and the kind of a function", () => {
    const error = notEncodable({ items: [1, 2, { fn: () => 1 }] });
    expect(error.path).toBe("$.items[2].fn");
    expect(error.kind).toBe("function");
    expect(error.message).toBe("cannot encode a function at $.items[2].fn");
    expect(error.name).toBe("NotEncodableError");
    expect(error).toBeInstanceOf(Error);
  });

  it.each([
    ["Map", new Map()],
    ["Set", new Set()],
    ["WeakMap", new WeakMap()],
    ["WeakSet", new WeakSet()],
    ["Promise", Promise.resolve(1)],
  ])("rejects a %s", (kind, value) => {
    const error = notEncodable({ a: { b: value } });
    expect(error.kind).toBe(kind);
    expect(error.path).toBe("$.a.b");
    expect(error.message).toContain(kind);
  });

  it("rejects a symbol value (symbol keys are not own string keys and are ignored)", () => {
    const error = notEncodable([Symbol("s")]);
    expect(error.kind).toBe("symbol");
    expect(error.path).toBe("$[0]");
    expect(enc({ [Symbol("k")]: 1, a: 1 })).toBe(enc({ a: 1 }));
  });

  it("rejects a function at the top level", () => {
    expect(notEncodable(() => 1).path).toBe("$");
  });

  it("reports a cycle where the value comes back", () => {
    const self: Record<string, unknown> = { a: 1 };
    self.self = self;
    const selfError = notEncodable(self);
    expect(selfError.kind).toBe("cycle");
    expect(selfError.path).toBe("$.self");
    expect(selfError.message).toContain("$.self");

    const root: Record<string, unknown> = {};
    const list: unknown[] = [0, { back: root }];
    root.list = list;
    const indirect = notEncodable({ wrapper: root });
    expect(indirect.kind).toBe("cycle");
    expect(indirect.path).toBe("$.wrapper.list[1].back");
  });

  it("does not mistake a shared (non-cyclic) object for a cycle", () => {
    const shared = { x: 1 };
    expect(enc({ a: shared, b: [shared, shared] })).toBe(enc({ a: { x: 1 }, b: [{ x: 1 }, { x: 1 }] }));
  });

  it("rejects nesting deeper than the limit, and accepts the limit", () => {
    let ok: unknown = null;
    for (let i = 0; i < MAX_DEPTH; i++) ok = [ok];
    expect(() => encodeCanonical(ok)).not.toThrow();
    const error = notEncodable([ok]);
    expect(error.kind).toBe("depth");
    expect(error.path).toBe(`$${"[0]".repeat(MAX_DEPTH)}`);
    let objects: unknown = 1;
    for (let i = 0; i <= MAX_DEPTH; i++) objects = { k: objects };
    expect(notEncodable(objects).kind).toBe("depth");
  });

  it("quotes keys that are not identifiers", () => {
    const error = notEncodable({ "a b": { 0: { $ok: { "x.y": Symbol() } } } });
    expect(error.path).toBe('$["a b"]["0"].$ok["x.y"]');
  });

  it("starts the path at the given root", () => {
    const writer = new CanonicalWriter();
    expect(() => writer.writeValue({ f() {} }, "input")).toThrow(/at input\.f$/);
  });
});

describe("CanonicalWriter", () => {
  it("concatenates values until reset, and restores itself after an error", () => {
    const writer = new CanonicalWriter(16);
    writer.writeValue("fp");
    writer.writeValue({ a: [1, 2, 3] });
    const both = hex(writer.bytes());
    expect(both).toBe(enc("fp") + enc({ a: [1, 2, 3] }));
    expect(() => writer.writeValue({ ok: 1, bad: new Map() })).toThrow(NotEncodableError);
    expect(hex(writer.bytes())).toBe(both);
    writer.reset();
    expect(writer.bytes().length).toBe(0);
    writer.writeValue(null);
    expect(hex(writer.bytes())).toBe("00");
  });

  it("grows past its initial capacity", () => {
    const writer = new CanonicalWriter(16);
    const long = "é".repeat(10_000);
    writer.writeValue([long, long]);
    expect(hex(writer.bytes())).toBe(enc([long, long]));
    expect(writer.length).toBe(5 + 2 * (5 + 20_000));
  });

  it("encodeCanonical returns a fresh copy", () => {
    const first = encodeCanonical("a");
    const second = encodeCanonical("b");
    expect(hex(first)).toBe("060000000161");
    expect(hex(second)).toBe("060000000162");
    expect(first.buffer).not.toBe(second.buffer);
    expect(Object.getPrototypeOf(first)).toBe(Uint8Array.prototype);
  });

  it("is safe to re-enter from toJSON", () => {
    const inner = { toJSON: () => hex(encodeCanonical({ nested: true })) };
    expect(enc({ x: inner })).toBe(enc({ x: enc({ nested: true }) }));
  });
});

describe("value model", () => {
  it("sorts keys by UTF-16 code units, so insertion order does not matter", () => {
    expect(enc({ b: 1, a: 2, 10: 3, 9: 4 })).toBe(enc({ 9: 4, 10: 3, a: 2, b: 1 }));
    const astral = "\u{1F600}";
    const bmpHigh = "\uE000";
    const encoded = enc({ [bmpHigh]: 1, [astral]: 2 });
    expect(encoded.slice(0, 20)).toBe("1100000002" + "00000004f0");
  });

  it("omits undefined entries but keeps undefined array elements", () => {
    expect(enc({ a: undefined, b: 1 })).toBe(enc({ b: 1 }));
    expect(enc([undefined])).toBe("100000000101");
    // biome-ignore lint/suspicious/noSparseArray: a hole reads as undefined
    expect(enc([, 1])).toBe(enc([undefined, 1]));
  });

  it("distinguishes -0 from 0, bigint from number, string from number", () => {
    expect(enc(-0)).not.toBe(enc(0));
    expect(enc(1n)).not.toBe(enc(1));
    expect(enc("1")).not.toBe(enc(1));
    expect(enc(Number.NaN)).toBe(enc(0 / 0));
    expect(enc(Number.NaN)).toBe("047ff8000000000000");
  });

  it("keeps lone surrogates distinct from U+FFFD", () => {
    expect(enc("\ud800")).toBe("0600000003eda080");
    expect(enc("\ud800")).not.toBe(enc("\ufffd"));
    expect(enc("\udc00\ud800")).toBe("0600000006edb080eda080");
  });

  it("uses the same bytes for long strings (TextEncoder path) as for short ones", () => {
    const pieces = ["a", "é", "€", "\u{1F600}", "\ud800", "\udfff", "z"];
    for (const piece of pieces) {
      const long = piece.repeat(100);
      const viaShort = Array.from({ length: 100 }, () => hex(encodeCanonical(piece)).slice(10)).join("");
      expect(hex(encodeCanonical(long)).slice(10)).toBe(viaShort);
    }
    const mixed = `${"x".repeat(60)}\ud800${"y".repeat(60)}`;
    expect(hex(encodeCanonical(mixed))).toContain("eda080");
  });

  it("encodes Buffer and Uint8Array as bytes, Date by its time", () => {
    expect(enc(Buffer.from([1, 2]))).toBe(enc(new Uint8Array([1, 2])));
    expect(enc(Buffer.from([1, 2]))).toBe("08000000020102");
    expect(enc(new Date(0))).toBe("070000000000000000");
    expect(enc(new Date(Number.NaN))).toBe("077ff8000000000000");
    class Stamp extends Date {}
    expect(enc(new Stamp(5))).toBe(enc(new Date(5)));
  });

  it("refuses class instances without toJSON (their state may be private), but encodes null-prototype objects", () => {
    class Point {
      y = 2;
      x = 1;
      get sum() {
        return this.x + this.y;
      }
      norm() {
        return 0;
      }
    }
    const point = new Point();
    Object.defineProperty(point, "hidden", { value: 1, enumerable: false });
    expect(() => enc(point)).toThrow(NotEncodableError);
    expect(() => enc({ p: point })).toThrow("class instance without a toJSON() method");
    expect(() => enc(new Error("x"))).toThrow(NotEncodableError);
    expect(() => enc(/re/)).toThrow(NotEncodableError);
    expect(() => enc(new ArrayBuffer(2))).toThrow(NotEncodableError);
    expect(enc(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe(enc({ a: 2, b: 1 }));
  });

  it('uses toJSON("") once, and leaves out an entry whose toJSON returns undefined', () => {
    const calls: unknown[] = [];
    class Amount {
      amount = 5;
      toJSON() {
        calls.push("again");
        return "not called";
      }
    }
    const money = {
      toJSON(key: unknown) {
        calls.push(key);
        return new Amount();
      },
    };
    expect(enc({ price: money })).toBe(enc({ price: { amount: 5 } }));
    expect(calls).toEqual([""]);
    expect(enc({ a: { toJSON: () => undefined }, b: 1 })).toBe(enc({ b: 1 }));
    expect(enc([{ toJSON: () => undefined }])).toBe(enc([undefined]));
    class Id {
      constructor(readonly value: string) {}
      toJSON() {
        return `id:${this.value}`;
      }
    }
    expect(enc(new Id("7"))).toBe(enc("id:7"));
  });

  it("propagates errors thrown by toJSON and getters unchanged", () => {
    const boom = new RangeError("boom");
    expect(() =>
      encodeCanonical({
        toJSON() {
          throw boom;
        },
      }),
    ).toThrow(boom);
    expect(() =>
      encodeCanonical({
        get x() {
          throw boom;
        },
      }),
    ).toThrow(boom);
  });

  it("encodes bigints of any size and sign", () => {
    expect(enc(0n)).toBe("050000000000");
    expect(enc(-0n)).toBe("050000000000");
    expect(enc(-1n)).toBe("05010000000101");
    expect(enc(0x1234n)).toBe("0500000000021234");
    expect(enc(-(2n ** 64n))).toBe("050100000009010000000000000000");
    expect(enc(2n ** 1000n).slice(0, 14)).toBe("05000000007e01");
  });
});
