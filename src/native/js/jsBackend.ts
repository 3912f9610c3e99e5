import * as crypto from "node:crypto";
import { ABI_VERSION, type Backend } from "../backend.js";
import { withWriter } from "./canonical.js";

/**
 * The pure-TypeScript backend: the reference semantics, and what runs wherever the addon is missing.
 */

// `crypto.hash` (Node >= 20.12) skips the Hash object; older Node 20 lines fall back to createHash.
const oneShotHash = (crypto as { hash?: typeof crypto.hash }).hash;

const sha256Hex: (bytes: Uint8Array) => string =
  typeof oneShotHash === "function"
    ? (bytes) => oneShotHash("sha256", bytes, "hex")
    : (bytes) => crypto.createHash("sha256").update(bytes).digest("hex");

// `ignoreBOM: true` keeps a leading U+FEFF in the text, so JSON.parse rejects it as the Rust parser
// does (a default TextDecoder would silently strip it).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function hash128(bytes: Uint8Array): string {
  return sha256Hex(bytes).slice(0, 32);
}

function parseJson(json: Uint8Array): unknown {
  // Both throw on bad input: TypeError for invalid UTF-8, SyntaxError for invalid JSON. Nesting
  // deeper than MAX_DEPTH is rejected by the writer (NotEncodableError, kind "depth").
  return JSON.parse(utf8.decode(json));
}

export const jsBackend: Backend = {
  kind: "js",
  abiVersion: () => ABI_VERSION,
  hash128,
  canonicalizeJson(json) {
    const value = parseJson(json);
    return withWriter((writer) => {
      writer.writeValue(value);
      return writer.bytes().slice();
    });
  },
  hashJson(json) {
    const value = parseJson(json);
    // Hash the writer's buffer in place: no copy of the encoding.
    return withWriter((writer) => {
      writer.writeValue(value);
      return hash128(writer.bytes());
    });
  },
};
