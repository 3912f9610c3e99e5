//! The canonical encoding (docs/canonical-encoding.md, version 1) of JSON values, and a strict
//! JSON parser that accepts exactly what JavaScript's `JSON.parse` accepts.
//!
//! Only the JSON subset of the value model appears here (null, booleans, numbers, strings, arrays,
//! objects): `undefined`, bigint, Date and bytes cannot come out of JSON text, so only the
//! TypeScript writer produces those tags.

mod encode;
mod parse;
mod stream;
mod wtf8;

use std::fmt;

pub use encode::encode;
pub use parse::parse_json;
pub use wtf8::JsString;

/// Deepest nesting of arrays and objects accepted: a top-level container is at depth 1, so 512
/// nested `[` are fine and 513 are an error. Both backends enforce the same limit.
pub const MAX_DEPTH: usize = 512;

/// A JSON value as `JSON.parse` would produce it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Every JSON number is a binary64, as in JavaScript.
    Number(f64),
    String(JsString),
    Array(Vec<Value>),
    /// Entries in any order; the encoder sorts them and, for a repeated key, keeps the last one
    /// (the parser already hands them over sorted and unique).
    Object(Vec<(JsString, Value)>),
}

/// Why a JSON text could not be parsed or a value could not be encoded. Offsets are byte offsets
/// into the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanonicalError {
    /// The input is not valid UTF-8.
    InvalidUtf8 { offset: usize },
    /// The input ended inside a value (or was empty).
    UnexpectedEnd,
    /// A byte that cannot start or continue a value at this point.
    UnexpectedByte { offset: usize, byte: u8 },
    /// A number that does not follow the JSON number grammar.
    InvalidNumber { offset: usize },
    /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
    InvalidEscape { offset: usize },
    /// An unescaped control character (below U+0020) inside a string.
    ControlCharacter { offset: usize },
    /// Something other than whitespace after the top-level value.
    TrailingData { offset: usize },
    /// Arrays and objects nested deeper than [`MAX_DEPTH`] (the offset is known when parsing).
    TooDeep { offset: Option<usize> },
    /// A length or count that does not fit the format's u32 fields.
    TooLarge,
}

impl fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUtf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            Self::UnexpectedEnd => write!(f, "unexpected end of JSON input"),
            Self::UnexpectedByte { offset, byte } => {
                write!(f, "unexpected byte 0x{byte:02x} in JSON at byte {offset}")
            }
            Self::InvalidNumber { offset } => write!(f, "invalid number in JSON at byte {offset}"),
            Self::InvalidEscape { offset } => {
                write!(f, "invalid escape in JSON string at byte {offset}")
            }
            Self::ControlCharacter { offset } => {
                write!(
                    f,
                    "unescaped control character in JSON string at byte {offset}"
                )
            }
            Self::TrailingData { offset } => {
                write!(f, "unexpected data after JSON value at byte {offset}")
            }
            Self::TooDeep {
                offset: Some(offset),
            } => write!(
                f,
                "JSON nested deeper than {MAX_DEPTH} levels at byte {offset}"
            ),
            Self::TooDeep { offset: None } => {
                write!(f, "value nested deeper than {MAX_DEPTH} levels")
            }
            Self::TooLarge => write!(f, "value too large for the canonical encoding (u32 length)"),
        }
    }
}

impl std::error::Error for CanonicalError {}

/// Canonical encoding of the value `JSON.parse` would produce from this UTF-8 JSON text.
pub fn canonicalize_json(json: &[u8]) -> Result<Vec<u8>, CanonicalError> {
    let mut encoder = stream::StreamEncoder::default();
    parse::parse_into(json, &mut encoder)?;
    Ok(encoder.into_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn canon(json: &str) -> Result<Vec<u8>, CanonicalError> {
        canonicalize_json(json.as_bytes())
    }

    fn number(json: &str) -> f64 {
        match parse_json(json.as_bytes()) {
            Ok(Value::Number(n)) => n,
            other => panic!("{json}: {other:?}"),
        }
    }

    fn string_units(json: &str) -> Vec<u16> {
        match parse_json(json.as_bytes()) {
            Ok(Value::String(s)) => s.code_units().collect(),
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(canon("null").unwrap(), [0x00]);
        assert_eq!(canon("false").unwrap(), [0x02]);
        assert_eq!(canon(" \t\r\ntrue\n").unwrap(), [0x03]);
        assert_eq!(canon("1").unwrap(), [0x04, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(canon("\"a\"").unwrap(), [0x06, 0, 0, 0, 1, b'a']);
    }

    #[test]
    fn numbers_round_like_javascript() {
        assert_eq!(number("-0").to_bits(), (-0.0f64).to_bits());
        assert_eq!(number("-0.0e5").to_bits(), (-0.0f64).to_bits());
        assert_eq!(number("1e400"), f64::INFINITY);
        assert_eq!(number("-1e400"), f64::NEG_INFINITY);
        assert_eq!(number("1e99999999999999999999999"), f64::INFINITY);
        assert_eq!(number("1e-99999999999999999999999").to_bits(), 0);
        assert_eq!(number("12345678901234567890"), 12_345_678_901_234_567_000.0);
        assert_eq!(number("0.1"), 0.1);
        assert_eq!(
            number("2.2250738585072011e-308"),
            2.225_073_858_507_201e-308
        );
        assert_eq!(number("5e-324"), 5e-324);
        assert_eq!(number("1E+2"), 100.0);
        let long = format!("0.{}1", "0".repeat(2000));
        assert_eq!(number(&long).to_bits(), 0);
    }

    #[test]
    fn rejects_what_json_parse_rejects() {
        let bad = [
            "",
            " ",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "1e",
            "1e+",
            "0x10",
            "NaN",
            "Infinity",
            "-Infinity",
            "[1,]",
            "{\"a\":1,}",
            "[1 2]",
            "{\"a\" 1}",
            "{a:1}",
            "'a'",
            "\"a",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            "\"\t\"",
            "\"\n\"",
            "tru",
            "nul",
            "truex",
            "[",
            "{",
            "[1",
            "{\"a\":",
            "1 2",
            "/* c */1",
            "// c\n1",
            "\u{FEFF}1",
            "\u{00A0}1",
            "[1]]",
            "{}}",
            "\"\\",
            "\"\\u",
        ];
        for text in bad {
            assert!(canon(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn accepts_what_json_parse_accepts() {
        let good = [
            "0",
            "-0",
            "0.5e-3",
            "1E5",
            "[]",
            "{}",
            " [ ] ",
            "[[[]]]",
            "{\"\":{}}",
            "\"\\/\"",
            "\"\u{7f}\u{2028}\u{2029}\"",
            "\"\\uD83D\\uDE00\"",
            "\"\\ud800\"",
            "[1,\"a\",null,true,{}]",
        ];
        for text in good {
            assert!(canon(text).is_ok(), "rejected {text:?}");
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(
            string_units(r#""\"\\\/\b\f\n\r\t\u0041\u00e9""#),
            [0x22, 0x5c, 0x2f, 0x08, 0x0c, 0x0a, 0x0d, 0x09, 0x41, 0xe9]
        );
        assert_eq!(string_units(r#""\uD83D\uDE00""#), [0xD83D, 0xDE00]);
        assert_eq!(string_units(r#""\ud83d😀""#), [0xD83D, 0xD83D, 0xDE00]);
        assert_eq!(string_units(r#""\uDE00\uD83D""#), [0xDE00, 0xD83D]);
        assert_eq!(
            string_units(r#""\uD800\uD800\uDC00""#),
            [0xD800, 0xD800, 0xDC00]
        );
        assert_eq!(string_units(r#""\uD800\n""#), [0xD800, 0x0A]);
        assert!(canon(r#""\uD800\u12""#).is_err());
    }

    #[test]
    fn lone_surrogate_is_wtf8_and_differs_from_replacement_char() {
        let lone = canon(r#""\ud800""#).unwrap();
        assert_eq!(lone, [0x06, 0, 0, 0, 3, 0xED, 0xA0, 0x80]);
        assert_ne!(lone, canon(r#""\ufffd""#).unwrap());
    }

    #[test]
    fn keys_sorted_by_utf16_and_last_duplicate_wins() {
        assert_eq!(
            canon(r#"{"b":1,"a":2,"b":3}"#).unwrap(),
            canon(r#"{"a":2,"b":3}"#).unwrap()
        );
        assert_eq!(
            canon(r#"{"9":0,"10":0}"#).unwrap(),
            canon(r#"{"10":0,"9":0}"#).unwrap()
        );
        let encoded = canon("{\"\u{E000}\":0,\"\u{10000}\":1}").unwrap();
        // count, then the astral key (F0 90 80 80) first.
        assert_eq!(&encoded[..10], [0x11, 0, 0, 0, 2, 0, 0, 0, 4, 0xF0]);
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(canon(&ok).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            canon(&too_deep),
            Err(CanonicalError::TooDeep { .. })
        ));
        let objects = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(
            canon(&objects),
            Err(CanonicalError::TooDeep { .. })
        ));
        // Unclosed deep input is rejected without recursing further.
        assert!(canon(&"[".repeat(1_000_000)).is_err());
    }

    #[test]
    fn encoder_enforces_depth_and_sorts_hand_built_objects() {
        let mut deep = Value::Null;
        for _ in 0..=MAX_DEPTH {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(encode(&deep), Err(CanonicalError::TooDeep { offset: None }));
        let hand_built = Value::Object(vec![
            (JsString::from("b"), Value::Null),
            (JsString::from("a"), Value::Bool(true)),
            (JsString::from("b"), Value::Bool(false)),
        ]);
        assert_eq!(encode(&hand_built), canon(r#"{"a":true,"b":false}"#));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        for bytes in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"\xef\xbb\xbf1",
        ] {
            let result = canonicalize_json(bytes);
            assert!(result.is_err(), "{bytes:?}");
        }
        assert_eq!(
            canonicalize_json(b"[\"\xff\"]"),
            Err(CanonicalError::InvalidUtf8 { offset: 2 })
        );
    }

    #[test]
    fn nan_is_canonical() {
        let encoded = encode(&Value::Number(f64::from_bits(0x7ff0_0000_0000_0001))).unwrap();
        assert_eq!(encoded, [0x04, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn errors_display() {
        let err = canon("[1,]").unwrap_err();
        assert_eq!(err.to_string(), "unexpected byte 0x5d in JSON at byte 3");
    }
}
