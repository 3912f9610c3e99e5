/**
 * The seam between the engine and its hot paths. Two implementations exist: `js/` (pure TypeScript,
 * the reference semantics) and the napi-rs addon built from `crates/flujo-node`. Both must return
 * byte-identical results for every function (see docs/canonical-encoding.md); the loader in
 * `loader.ts` binds one of them once, at module load.
 *
 * Everything crosses the boundary as bytes or strings, never as object graphs: walking a JS object
 * from Rust costs one N-API call per property, which is slower than doing the work in JS.
 */
export interface Backend {
  readonly kind: BackendKind;
  /** Version of the wire formats; the loader refuses an addon whose version differs from ABI_VERSION. */
  abiVersion(): number;
  /** First 16 bytes of SHA-256, as 32 lowercase hex characters. */
  hash128(bytes: Uint8Array): string;
  /** Canonical encoding of the value that `JSON.parse` would produce from this UTF-8 JSON text. */
  canonicalizeJson(json: Uint8Array): Uint8Array;
  /** `hash128(canonicalizeJson(json))` in one call. */
  hashJson(json: Uint8Array): string;
}

export type BackendKind = "native" | "js";

/** Bumped whenever an encoding or a function's contract changes; both backends must agree. */
export const ABI_VERSION = 1;
