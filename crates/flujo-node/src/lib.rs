//! Node-API binding of `flujo-core`: thin wrappers only. Bytes in, bytes or strings out (walking
//! JS objects from Rust costs one N-API call per property; see src/native/backend.ts).
//!
//! Every export uses `catch_unwind`, so even a bug that panics becomes a JS `Error` instead of
//! aborting the process (the release profile keeps `panic = "unwind"` for this).

#![deny(clippy::all)]

use napi::bindgen_prelude::{Env, Error, Result, Status, Uint8ArraySlice};
use napi_derive::napi;

/// Version of the wire formats; must equal `ABI_VERSION` in src/native/backend.ts.
const ABI_VERSION: u32 = 1;

fn to_js_error(err: flujo_core::CanonicalError) -> Error {
    Error::new(Status::InvalidArg, format!("flujo: {err}"))
}

#[napi(catch_unwind)]
pub fn abi_version() -> u32 {
    ABI_VERSION
}

/// First 16 bytes of SHA-256, as 32 lowercase hex characters.
#[napi(catch_unwind)]
pub fn hash128(bytes: &[u8]) -> String {
    flujo_core::hash128(bytes)
}

/// Canonical encoding of the value `JSON.parse` would produce from this UTF-8 JSON text.
/// A plain `Uint8Array` (not a `Buffer`), exactly like the JS backend's result.
#[napi(catch_unwind)]
pub fn canonicalize_json<'env>(env: &'env Env, json: &[u8]) -> Result<Uint8ArraySlice<'env>> {
    let bytes = flujo_core::canonicalize_json(json).map_err(to_js_error)?;
    // Copied into a JS-owned buffer: cheaper than handing V8 an external buffer with a finalizer
    // for the small outputs this is mostly called with, and a copy is cheap next to the parse.
    Uint8ArraySlice::copy_from(env, bytes)
}

/// `hash128(canonicalizeJson(json))` in one call.
#[napi(catch_unwind)]
pub fn hash_json(json: &[u8]) -> Result<String> {
    flujo_core::hash_json(json).map_err(to_js_error)
}
