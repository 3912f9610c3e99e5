//! Canonical encoding and hashing for flujo, shared by the Node-API binding (`flujo-node`) and
//! anything else that needs byte-identical cache keys. No Node-API here, so everything can be
//! tested and benchmarked as plain Rust.
//!
//! The format is specified in `docs/canonical-encoding.md`; the TypeScript writer in
//! `src/native/js/canonical.ts` is the reference implementation and both must agree byte for byte.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod canonical;
pub mod hash;

pub use canonical::{
    canonicalize_json, encode, parse_json, CanonicalError, JsString, Value, MAX_DEPTH,
};
pub use hash::{hash128, hash128_bytes};

/// `hash128(canonicalize_json(json))`, the cache-key primitive.
pub fn hash_json(json: &[u8]) -> Result<String, CanonicalError> {
    canonicalize_json(json).map(|bytes| hash128(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_json_is_hash_of_canonical_bytes() {
        let json = br#"{"b":[1,2],"a":"x"}"#;
        let canonical = canonicalize_json(json).unwrap_or_default();
        assert_eq!(hash_json(json), Ok(hash128(&canonical)));
    }

    #[test]
    fn hash_json_propagates_errors() {
        assert!(hash_json(b"{").is_err());
    }
}
