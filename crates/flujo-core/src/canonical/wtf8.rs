//! JavaScript strings in Rust. A JS string is a sequence of UTF-16 code units and may hold lone
//! surrogates (`JSON.parse('"\\ud800"')`), which a Rust `String` cannot. We store it as WTF-8
//! (UTF-8 that also encodes lone surrogates as three-byte sequences), which is exactly the string
//! payload of the canonical encoding, so encoding a string is a plain copy.

use std::cmp::Ordering;
use std::fmt;

/// A JavaScript string, stored as well-formed WTF-8.
///
/// Invariant: `wtf8` is generalized UTF-8 in which a high surrogate is never directly followed by
/// a low surrogate (such a pair is always written as one four-byte sequence).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct JsString {
    wtf8: Vec<u8>,
}

impl JsString {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a string from UTF-16 code units; unpaired surrogates are kept.
    pub fn from_code_units(units: &[u16]) -> Self {
        let mut s = Self::new();
        for decoded in char::decode_utf16(units.iter().copied()) {
            match decoded {
                Ok(c) => s.push_code_point(u32::from(c)),
                Err(lone) => s.push_code_point(u32::from(lone.unpaired_surrogate())),
            }
        }
        s
    }

    /// The WTF-8 bytes (the canonical encoding's string payload).
    pub fn as_wtf8(&self) -> &[u8] {
        &self.wtf8
    }

    /// The UTF-16 code units, as JavaScript sees them.
    pub fn code_units(&self) -> CodeUnits<'_> {
        CodeUnits::new(&self.wtf8)
    }

    /// Compares by UTF-16 code units, JavaScript's default string order. This differs from byte
    /// (code point) order when a character at or above U+10000 meets one in U+E000..=U+FFFF, and
    /// around lone surrogates.
    pub fn cmp_code_units(&self, other: &Self) -> Ordering {
        cmp_code_units(&self.wtf8, &other.wtf8)
    }

    /// Wraps bytes the parser produced. They must be well-formed WTF-8 (see the invariant).
    pub(crate) fn from_wtf8_unchecked(wtf8: Vec<u8>) -> Self {
        Self { wtf8 }
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            wtf8: Vec::with_capacity(capacity),
        }
    }

    /// Appends well-formed UTF-8 text.
    pub(crate) fn push_str(&mut self, text: &str) {
        self.wtf8.extend_from_slice(text.as_bytes());
    }

    /// Appends one code point, which may be a surrogate. The caller must not append a low
    /// surrogate right after a high one (it must combine them first), to keep the invariant.
    pub(crate) fn push_code_point(&mut self, cp: u32) {
        push_code_point(&mut self.wtf8, cp);
    }
}

/// Appends one code point (surrogates included) as generalized UTF-8: the same bit layout as
/// UTF-8, applied to surrogates as well.
pub(crate) fn push_code_point(bytes: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        bytes.push(cp as u8);
    } else if cp < 0x800 {
        bytes.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x1_0000 {
        bytes.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        bytes.extend_from_slice(&[
            0xF0 | ((cp >> 18) & 0x07) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

/// Compares two WTF-8 strings by UTF-16 code units, JavaScript's default string order. This
/// differs from byte (code point) order when a character at or above U+10000 meets one in
/// U+E000..=U+FFFF, and around lone surrogates.
pub(crate) fn cmp_code_units(a: &[u8], b: &[u8]) -> Ordering {
    let Some(first_diff) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return a.len().cmp(&b.len());
    };
    // Both strings agree up to `first_diff`, so they share the character boundary before it;
    // compare code units from there on (in practice one or two characters).
    let mut start = first_diff;
    while start > 0 && a.get(start).is_some_and(|&byte| is_continuation(byte)) {
        start -= 1;
    }
    let tail_a = CodeUnits::new(a.get(start..).unwrap_or_default());
    let tail_b = CodeUnits::new(b.get(start..).unwrap_or_default());
    tail_a.cmp(tail_b)
}

impl From<&str> for JsString {
    fn from(text: &str) -> Self {
        let mut s = Self::with_capacity(text.len());
        s.push_str(text);
        s
    }
}

impl fmt::Debug for JsString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = char::decode_utf16(self.code_units())
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        write!(f, "{text:?}")
    }
}

fn is_continuation(byte: u8) -> bool {
    byte & 0xC0 == 0x80
}

/// Iterator over the UTF-16 code units of a WTF-8 byte string.
#[derive(Clone)]
pub struct CodeUnits<'a> {
    bytes: std::slice::Iter<'a, u8>,
    /// Second half of a surrogate pair whose first half was just returned.
    pending_low: Option<u16>,
}

impl<'a> CodeUnits<'a> {
    fn new(wtf8: &'a [u8]) -> Self {
        Self {
            bytes: wtf8.iter(),
            pending_low: None,
        }
    }

    fn continuation(&mut self) -> u32 {
        // Malformed input cannot occur (JsString's invariant); degrade rather than panic.
        self.bytes.next().map_or(0, |&b| u32::from(b & 0x3F))
    }
}

impl Iterator for CodeUnits<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        if let Some(low) = self.pending_low.take() {
            return Some(low);
        }
        let lead = u32::from(*self.bytes.next()?);
        let cp = if lead < 0x80 {
            lead
        } else if lead < 0xE0 {
            ((lead & 0x1F) << 6) | self.continuation()
        } else if lead < 0xF0 {
            let hi = self.continuation();
            ((lead & 0x0F) << 12) | (hi << 6) | self.continuation()
        } else {
            let b1 = self.continuation();
            let b2 = self.continuation();
            let b3 = self.continuation();
            ((lead & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3
        };
        if cp < 0x1_0000 {
            Some(cp as u16)
        } else {
            let offset = cp - 0x1_0000;
            self.pending_low = Some(0xDC00 | (offset & 0x3FF) as u16);
            Some(0xD800 | ((offset >> 10) & 0x3FF) as u16)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &JsString) -> Vec<u16> {
        s.code_units().collect()
    }

    #[test]
    fn round_trips_code_units_including_lone_surrogates() {
        let cases: [&[u16]; 6] = [
            &[],
            &[0x61, 0xE9, 0x4E2D],
            &[0xD83D, 0xDE00],
            &[0xD800],
            &[0xDC00, 0xD800],
            &[0xD800, 0xD800, 0xDC00, 0xDFFF],
        ];
        for case in cases {
            assert_eq!(units(&JsString::from_code_units(case)), case);
        }
    }

    #[test]
    fn lone_surrogate_is_three_byte_generalized_utf8() {
        assert_eq!(
            JsString::from_code_units(&[0xD800]).as_wtf8(),
            [0xED, 0xA0, 0x80]
        );
        assert_eq!(
            JsString::from_code_units(&[0xDFFF]).as_wtf8(),
            [0xED, 0xBF, 0xBF]
        );
    }

    #[test]
    fn pair_is_four_byte_utf8() {
        let s = JsString::from_code_units(&[0xD83D, 0xDE00]);
        assert_eq!(s.as_wtf8(), "😀".as_bytes());
    }

    #[test]
    fn order_is_utf16_not_code_point() {
        let bmp_high = JsString::from("\u{E000}");
        let astral = JsString::from("\u{10000}");
        // Code point order would put U+E000 first; UTF-16 puts D800 DC00 first.
        assert_eq!(astral.cmp_code_units(&bmp_high), Ordering::Less);
        let lone_then_e000 = JsString::from_code_units(&[0xD800, 0xE000]);
        let pair = JsString::from_code_units(&[0xD800, 0xDC00]);
        assert_eq!(pair.cmp_code_units(&lone_then_e000), Ordering::Less);
        let lone_then_a = JsString::from_code_units(&[0xD800, 0x61]);
        assert_eq!(lone_then_a.cmp_code_units(&pair), Ordering::Less);
        assert_eq!(
            JsString::from("10").cmp_code_units(&JsString::from("9")),
            Ordering::Less
        );
        assert_eq!(
            JsString::from("a").cmp_code_units(&JsString::from("ab")),
            Ordering::Less
        );
        assert_eq!(
            JsString::from("é").cmp_code_units(&JsString::from("é")),
            Ordering::Equal
        );
    }
}
