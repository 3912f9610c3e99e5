/**
 * The canonical encoding (docs/canonical-encoding.md, version 1) of JavaScript values. This writer is
 * the reference implementation; the Rust encoder in crates/flujo-core must match it byte for byte.
 *
 * It runs on the engine's per-step hot path (cache keys), so small values must be cheap: one growable
 * buffer is reused across calls, nothing is allocated per value on the happy path, and error paths
 * (building `$.a[2].b`, telling a cycle from deep nesting) are paid for only when an error is thrown.
 */

declare global {
  // ES2024 (`lib.es2024.string`); present in every Node version we support (>= 20).
  interface String {
    isWellFormed(): boolean;
  }
}

const TAG_NULL = 0x00;
const TAG_UNDEFINED = 0x01;
const TAG_FALSE = 0x02;
const TAG_TRUE = 0x03;
const TAG_NUMBER = 0x04;
const TAG_BIGINT = 0x05;
const TAG_STRING = 0x06;
const TAG_DATE = 0x07;
const TAG_BYTES = 0x08;
const TAG_ARRAY = 0x10;
const TAG_OBJECT = 0x11;

/** Deepest nesting of arrays and objects: a top-level container is at depth 1. Same limit in Rust. */
export const MAX_DEPTH = 512;

const U32_MAX = 0xffff_ffff;
const INITIAL_CAPACITY = 1024;
/** A writer that grew past this for one large value gives the memory back on the next reset(). */
const RETAINED_CAPACITY = 1 << 20;
/** Below this many UTF-16 units a JS loop beats a call into TextEncoder. */
const SHORT_STRING = 48;

const objectProto = Object.prototype;
const textEncoder = new TextEncoder();

/** What made a value not encodable. */
export type NotEncodableKind =
  | "function"
  | "symbol"
  | "Map"
  | "Set"
  | "WeakMap"
  | "WeakSet"
  | "Promise"
  | "class instance"
  | "cycle"
  | "depth";

/** A value (at `path`, e.g. `$.items[2].fn`) that the canonical encoding cannot represent. */
export class NotEncodableError extends Error {
  override readonly name = "NotEncodableError";
  readonly path: string;
  readonly kind: NotEncodableKind;

  constructor(path: string, kind: NotEncodableKind) {
    super(`cannot encode ${describeKind(kind)} at ${path}`);
    this.path = path;
    this.kind = kind;
  }
}

function describeKind(kind: NotEncodableKind): string {
  switch (kind) {
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "cycle":
      return "a cycle (the value contains itself)";
    case "depth":
      return `a value nested deeper than ${MAX_DEPTH} levels`;
    case "class instance":
      return "a class instance without a toJSON() method (give it one, or pass plain data)";
    default:
      return `a ${kind}`;
  }
}

/**
 * Thrown inside the writer and filled in while the stack unwinds: each enclosing container adds the key
 * that led to the failure and itself. Turned into a NotEncodableError at the top.
 */
class EncodeFailure {
  readonly segments: (string | number)[] = [];
  readonly containers: object[] = [];
  constructor(readonly kind: NotEncodableKind) {}
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatPath(root: string, segments: readonly (string | number)[]): string {
  let path = root;
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function toPublicError(failure: EncodeFailure, root: string): NotEncodableError {
  // Unwinding collected the path innermost first.
  const segments = failure.segments.slice().reverse();
  const containers = failure.containers.slice().reverse();
  if (failure.kind === "depth") {
    // Deep nesting is usually a cycle. Cycles are not tracked on the happy path (it would cost a
    // stack per call); instead, a container that repeats among the ancestors is a cycle, reported
    // at the first point where it comes back.
    const seen = new Set<object>();
    for (let i = 0; i < containers.length; i++) {
      if (seen.has(containers[i]))
        return new NotEncodableError(formatPath(root, segments.slice(0, i)), "cycle");
      seen.add(containers[i]);
    }
  }
  return new NotEncodableError(formatPath(root, segments), failure.kind);
}

/**
 * Reusable canonical writer: `reset()`, any number of `writeValue()` calls (their encodings are
 * concatenated), then `bytes()`. Not re-entrant: a `toJSON` that uses the same writer corrupts it.
 */
export class CanonicalWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = INITIAL_CAPACITY) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Forgets what was written (and, after one very large value, its buffer). */
  reset(): void {
    this.pos = 0;
    if (this.buf.length > RETAINED_CAPACITY) {
      this.buf = new Uint8Array(INITIAL_CAPACITY);
      this.view = new DataView(this.buf.buffer);
    }
  }

  /** Bytes written since the last reset(). A view into the writer's buffer: valid until the next write or reset. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Number of bytes written since the last reset(). */
  get length(): number {
    return this.pos;
  }

  /**
   * Appends the canonical encoding of `value`. On error nothing is appended, and a NotEncodableError
   * names the offending place, starting from `path` (e.g. `$.items[2].fn`). Errors thrown by `toJSON`
   * methods or getters propagate unchanged.
   */
  writeValue(value: unknown, path = "$"): void {
    const start = this.pos;
    try {
      this.writeAny(value, 0);
    } catch (error) {
      this.pos = start;
      if (error instanceof EncodeFailure) throw toPublicError(error, path);
      throw error;
    }
  }

  /** Appends bytes that are already a canonical encoding (one written earlier and kept). */
  writeEncoded(encoded: Uint8Array): void {
    this.ensure(encoded.length);
    this.buf.set(encoded, this.pos);
    this.pos += encoded.length;
  }

  private ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private writeU32(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = n >>> 24;
    buf[pos++] = (n >>> 16) & 0xff;
    buf[pos++] = (n >>> 8) & 0xff;
    buf[pos++] = n & 0xff;
    this.pos = pos;
  }

  /** `depth` is the number of arrays and objects enclosing `value`. */
  private writeAny(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        this.ensure(1);
        this.buf[this.pos++] = TAG_STRING;
        this.writeStr(value);
        return;
      case "number":
        this.writeFloat(TAG_NUMBER, value);
        return;
      case "boolean":
        this.ensure(1);
        this.buf[this.pos++] = value ? TAG_TRUE : TAG_FALSE;
        return;
      case "undefined":
        this.ensure(1);
        this.buf[this.pos++] = TAG_UNDEFINED;
        return;
      case "object":
        if (value === null) {
          this.ensure(1);
          this.buf[this.pos++] = TAG_NULL;
        } else {
          this.writeObjectLike(value, depth, true);
        }
        return;
      case "bigint":
        this.writeBigInt(value);
        return;
      case "function":
        throw new EncodeFailure("function");
      default:
        throw new EncodeFailure("symbol");
    }
  }

  private writeObjectLike(value: object, depth: number, allowToJSON: boolean): void {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === objectProto || proto === null) {
      if (allowToJSON && typeof (value as { toJSON?: unknown }).toJSON === "function") {
        this.writeToJSON(value, depth);
      } else {
        this.writeObject(value as Record<string, unknown>, depth);
      }
    } else if (Array.isArray(value)) {
      if (allowToJSON && typeof (value as { toJSON?: unknown }).toJSON === "function") {
        this.writeToJSON(value, depth);
      } else {
        this.writeArray(value, depth);
      }
    } else if (value instanceof Uint8Array) {
      // Bytes and Dates come before toJSON: Buffer and Date both have one, and the spec gives them tags.
      this.writeBytes(value);
    } else if (value instanceof Date) {
      this.writeFloat(TAG_DATE, value.getTime());
    } else if (allowToJSON && typeof (value as { toJSON?: unknown }).toJSON === "function") {
      this.writeToJSON(value, depth);
    } else if (value instanceof Map) {
      throw new EncodeFailure("Map");
    } else if (value instanceof Set) {
      throw new EncodeFailure("Set");
    } else if (value instanceof WeakMap) {
      throw new EncodeFailure("WeakMap");
    } else if (value instanceof WeakSet) {
      throw new EncodeFailure("WeakSet");
    } else if (value instanceof Promise) {
      throw new EncodeFailure("Promise");
    } else if (!allowToJSON) {
      // What a toJSON returned is the representation its author chose: encode it by its own properties.
      this.writeObject(value as Record<string, unknown>, depth);
    } else {
      // Class instances without toJSON (including ArrayBuffer, RegExp, Error, other typed arrays) are
      // refused: their state often lives in private fields or internal slots that own properties do not
      // show, so encoding them as their own properties would give different values one key.
      throw new EncodeFailure("class instance");
    }
  }

  /** Encodes what `toJSON("")` returns, without calling `toJSON` on that result again (as JSON.stringify). */
  private writeToJSON(value: object, depth: number): void {
    const replaced: unknown = (value as { toJSON(key: string): unknown }).toJSON("");
    if (typeof replaced === "object" && replaced !== null) this.writeObjectLike(replaced, depth, false);
    else this.writeAny(replaced, depth);
  }

  private writeArray(items: readonly unknown[], depth: number): void {
    const inner = depth + 1;
    if (inner > MAX_DEPTH) throw new EncodeFailure("depth");
    const n = items.length;
    this.ensure(5);
    this.buf[this.pos++] = TAG_ARRAY;
    this.writeU32(n);
    let i = 0;
    try {
      for (; i < n; i++) this.writeAny(items[i], inner);
    } catch (error) {
      if (error instanceof EncodeFailure) {
        error.segments.push(i);
        error.containers.push(items);
      }
      throw error;
    }
  }

  private writeObject(obj: Record<string, unknown>, depth: number): void {
    const inner = depth + 1;
    if (inner > MAX_DEPTH) throw new EncodeFailure("depth");
    const keys = Object.keys(obj);
    sortKeys(keys);
    this.ensure(5);
    this.buf[this.pos++] = TAG_OBJECT;
    const countAt = this.pos;
    this.pos += 4;
    let count = 0;
    let key = "";
    try {
      for (let i = 0; i < keys.length; i++) {
        key = keys[i];
        const value = obj[key];
        if (value === undefined) continue;
        const entryStart = this.pos;
        this.writeStr(key);
        const valueAt = this.pos;
        this.writeAny(value, inner);
        // A toJSON that returned undefined: leave the entry out, as for an undefined value.
        if (this.pos === valueAt + 1 && this.buf[valueAt] === TAG_UNDEFINED) {
          this.pos = entryStart;
          continue;
        }
        count++;
      }
    } catch (error) {
      if (error instanceof EncodeFailure) {
        error.segments.push(key);
        error.containers.push(obj);
      }
      throw error;
    }
    const end = this.pos;
    this.pos = countAt;
    this.writeU32(count);
    this.pos = end;
  }

  private writeFloat(tag: number, n: number): void {
    this.ensure(9);
    const pos = this.pos;
    this.buf[pos] = tag;
    if (Number.isNaN(n)) {
      // One NaN: the spec's 7ff8000000000000, whatever payload this NaN carries.
      this.view.setUint32(pos + 1, 0x7ff8_0000);
      this.view.setUint32(pos + 5, 0);
    } else {
      this.view.setFloat64(pos + 1, n);
    }
    this.pos = pos + 9;
  }

  private writeBigInt(n: bigint): void {
    const negative = n < 0n;
    let hex = negative ? (-n).toString(16) : n.toString(16);
    if (hex === "0") hex = "";
    else if (hex.length % 2 === 1) hex = `0${hex}`;
    const len = hex.length / 2;
    if (len > U32_MAX) throw new RangeError("bigint too large for the canonical encoding");
    this.ensure(6 + len);
    this.buf[this.pos++] = TAG_BIGINT;
    this.buf[this.pos++] = negative ? 1 : 0;
    this.writeU32(len);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < hex.length; i += 2) buf[pos++] = Number.parseInt(hex.slice(i, i + 2), 16);
    this.pos = pos;
  }

  private writeBytes(bytes: Uint8Array): void {
    const len = bytes.length;
    if (len > U32_MAX) throw new RangeError("byte array too large for the canonical encoding");
    this.ensure(5 + len);
    this.buf[this.pos++] = TAG_BYTES;
    this.writeU32(len);
    this.buf.set(bytes, this.pos);
    this.pos += len;
  }

  /** u32 byte length, then WTF-8 (UTF-8 that keeps lone surrogates as three-byte sequences). */
  private writeStr(s: string): void {
    const units = s.length;
    // At most 3 bytes per UTF-16 unit (a pair of units takes 4 bytes), so this never overflows.
    this.ensure(4 + units * 3);
    const lenAt = this.pos;
    if (units >= SHORT_STRING && s.isWellFormed()) {
      const written = textEncoder.encodeInto(s, this.buf.subarray(lenAt + 4)).written;
      this.writeU32(written);
      this.pos = lenAt + 4 + written;
      return;
    }
    const buf = this.buf;
    let pos = lenAt + 4;
    for (let i = 0; i < units; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[pos++] = c;
      } else if (c < 0x800) {
        buf[pos++] = 0xc0 | (c >> 6);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
          const next = s.charCodeAt(i + 1);
          if (next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            i++;
            buf[pos++] = 0xf0 | (c >> 18);
            buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
            buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
            buf[pos++] = 0x80 | (c & 0x3f);
            continue;
          }
        }
        // BMP characters and lone surrogates alike: three bytes of generalized UTF-8.
        buf[pos++] = 0xe0 | (c >> 12);
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
        buf[pos++] = 0x80 | (c & 0x3f);
      }
    }
    this.pos = lenAt;
    this.writeU32(pos - lenAt - 4);
    this.pos = pos;
  }
}

/**
 * Sorts by UTF-16 code units, the order the spec asks for (both `<` on strings and the default
 * `Array.prototype.sort` compare that way). Most objects have a handful of keys, where an inline
 * insertion sort is several times faster than calling `sort()`.
 */
function sortKeys(keys: string[]): void {
  const n = keys.length;
  if (n > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const key = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
}

const shared = new CanonicalWriter();
let sharedBusy = false;

/**
 * Runs `use` with a reset writer: the shared one normally, a fresh one when re-entered (a `toJSON`
 * that itself encodes something). The writer's bytes are only valid inside `use`.
 */
export function withWriter<T>(use: (writer: CanonicalWriter) => T): T {
  if (sharedBusy) return use(new CanonicalWriter(64));
  sharedBusy = true;
  try {
    shared.reset();
    return use(shared);
  } finally {
    sharedBusy = false;
  }
}

/** Canonical encoding of `value`, as a fresh Uint8Array the caller owns. */
export function encodeCanonical(value: unknown): Uint8Array {
  return withWriter((writer) => {
    writer.writeValue(value);
    return writer.bytes().slice();
  });
}
