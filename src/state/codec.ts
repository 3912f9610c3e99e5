/**
 * How durable state is written: MessagePack (msgpackr), which keeps what JSON loses in a context
 * (undefined, Dates, NaN, BigInt) and is several times smaller and faster than JSON for
 * the small patches written after every step. Decoding is strict: truncated, corrupt or hostile bytes
 * (huge length prefixes, nesting past the stack) give a StateBackendError naming what was read, never
 * a crash. What MessagePack cannot carry is documented in docs/state.md: functions become undefined,
 * class instances and Maps become plain objects, -0 becomes 0, and an own `__proto__` key is renamed.
 */
import { C1, Packr, Unpackr } from "msgpackr";
import { errorMessage, StateBackendError } from "../domain/errors.js";

// variableMapSize: without it msgpackr refuses objects of more than 65,535 keys (a long run's stepOutputs).
const packr = new Packr({ useRecords: false, useBigIntExtension: true, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, int64AsType: "bigint" });

/** `what` names the value for the error ("run 'x': context patch of step 'y'"). */
export function encodeState(value: unknown, what: string): Uint8Array {
  try {
    return packr.pack(value);
  } catch (err) {
    throw new StateBackendError(`${what}: cannot be stored: ${errorMessage(err)}`, { cause: err });
  }
}

export function decodeState(bytes: Uint8Array, what: string): unknown {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    throw new StateBackendError(`${what}: stored bytes are unreadable (${errorMessage(err)})`, {
      cause: err,
    });
  }
  if (holdsNeverUsed(value))
    throw new StateBackendError(`${what}: stored bytes are unreadable (the never-used byte 0xc1)`);
  return value;
}

/**
 * msgpackr decodes 0xc1, a byte MessagePack never writes, to a marker object instead of failing; so a
 * decoded value is checked for it (O(size), like the decoding itself).
 */
function holdsNeverUsed(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (value === C1) return true;
  if (Array.isArray(value)) return value.some(holdsNeverUsed);
  if (value instanceof Date || ArrayBuffer.isView(value)) return false;
  for (const key of Object.keys(value))
    if (holdsNeverUsed((value as Record<string, unknown>)[key])) return true;
  return false;
}
