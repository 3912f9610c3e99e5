//! `hash128`: the first 16 bytes of SHA-256. SHA-256 is what the Python engine uses for cache keys;
//! truncating to 128 bits keeps keys short while collisions stay out of reach.

use sha2::{Digest, Sha256};

/// First 16 bytes of SHA-256 over `bytes`.
pub fn hash128_bytes(bytes: &[u8]) -> [u8; 16] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; 16];
    for (dst, src) in out.iter_mut().zip(digest.iter()) {
        *dst = *src;
    }
    out
}

/// First 16 bytes of SHA-256 over `bytes`, as 32 lowercase hex characters.
pub fn hash128(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(32);
    for byte in hash128_bytes(bytes) {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + (nibble - 10)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_prefix_of_sha256_of_empty() {
        // SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855
        assert_eq!(hash128(b""), "e3b0c44298fc1c149afbf4c8996fb924");
    }

    #[test]
    fn abc() {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
        assert_eq!(hash128(b"abc"), "ba7816bf8f01cfea414140de5dae2223");
    }

    #[test]
    fn output_shape() {
        let h = hash128(&[0xff; 1000]);
        assert_eq!(h.len(), 32);
        assert!(h
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
