//! Property tests: the parser never panics on arbitrary bytes, and parse-then-encode is a
//! deterministic function of the value (whitespace, key order and escaping do not matter).

use std::fmt::Write as _;

use flujo_core::{canonicalize_json, encode, hash_json, parse_json, JsString, Value};
use proptest::prelude::*;

/// JSON text for a value, written the way a hostile or quirky producer might: optional
/// whitespace, keys in the given order, every char optionally escaped as `\uXXXX`.
fn to_json(value: &Value, pretty: bool, escape_all: bool, out: &mut String) {
    let ws = if pretty { " \n\t" } else { "" };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // Debug prints the shortest round-tripping form, in JSON's number grammar for finite
        // values ("1.0", "-0.0", "1e300", "5e-324").
        Value::Number(n) => {
            let _ = write!(out, "{n:?}");
        }
        Value::String(s) => string_json(s, escape_all, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws);
                to_json(item, pretty, escape_all, out);
            }
            out.push_str(ws);
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws);
                string_json(key, escape_all, out);
                out.push_str(ws);
                out.push(':');
                to_json(item, pretty, escape_all, out);
            }
            out.push('}');
        }
    }
}

fn string_json(s: &JsString, escape_all: bool, out: &mut String) {
    out.push('"');
    for decoded in char::decode_utf16(s.code_units()) {
        match decoded {
            Ok(c) if !escape_all && c != '"' && c != '\\' && c >= ' ' => out.push(c),
            Ok(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            Err(lone) => {
                let _ = write!(out, "\\u{:04X}", lone.unpaired_surrogate());
            }
        }
    }
    out.push('"');
}

fn js_string() -> impl Strategy<Value = JsString> {
    prop_oneof![
        "[a-z0-9]{0,6}".prop_map(|s| JsString::from(s.as_str())),
        // Few distinct keys, so objects often repeat one.
        "[ab]{0,2}".prop_map(|s| JsString::from(s.as_str())),
        any::<String>().prop_map(|s| JsString::from(s.as_str())),
        // Raw code units: lone surrogates and surrogate pairs in any arrangement.
        prop::collection::vec(
            prop_oneof![any::<u16>(), 0xD800u16..0xE000, Just(0xE000u16)],
            0..6
        )
        .prop_map(|units| JsString::from_code_units(&units)),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
        Just(-0.0),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
        Just(9_007_199_254_740_993.0),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        finite_f64().prop_map(Value::Number),
        js_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((js_string(), inner), 0..6).prop_map(Value::Object),
        ]
    })
}

/// Fragments that drive the parser into its interesting states.
fn json_ish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b":".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\\u".to_vec()),
        Just(b"d800".to_vec()),
        Just(b"DC00".to_vec()),
        Just(b"-0.5e+7".to_vec()),
        Just(b"1e400".to_vec()),
        Just(b"true".to_vec()),
        Just(b"null".to_vec()),
        Just(b" ".to_vec()),
        Just(vec![0xF0, 0x9F]),
        Just(vec![0xED, 0xA0, 0x80]),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = canonicalize_json(&bytes);
    }

    #[test]
    fn parser_never_panics_on_json_ish_bytes(bytes in json_ish()) {
        let first = canonicalize_json(&bytes);
        // Deterministic, including which error.
        prop_assert_eq!(first.clone(), canonicalize_json(&bytes));
        prop_assert_eq!(first.map(|b| flujo_core::hash128(&b)), hash_json(&bytes));
    }

    #[test]
    fn parse_then_encode_is_a_function_of_the_value(
        value in json_value(),
        pretty in any::<bool>(),
        escape_all in any::<bool>(),
    ) {
        let mut compact = String::new();
        to_json(&value, false, false, &mut compact);
        let mut variant = String::new();
        to_json(&value, pretty, escape_all, &mut variant);

        let expected = encode(&value);
        prop_assert!(expected.is_ok());
        prop_assert_eq!(canonicalize_json(compact.as_bytes()), expected.clone());
        prop_assert_eq!(canonicalize_json(variant.as_bytes()), expected);
    }

    #[test]
    fn streaming_encoder_matches_the_tree_encoder(bytes in json_ish(), value in json_value()) {
        // Token soup (mostly errors) and generated documents (with repeated keys, unsorted keys).
        let mut text = String::new();
        to_json(&value, false, false, &mut text);
        for input in [bytes.as_slice(), text.as_bytes()] {
            let via_tree = parse_json(input).and_then(|v| encode(&v));
            prop_assert_eq!(canonicalize_json(input), via_tree);
        }
    }

    #[test]
    fn reparsing_is_stable(value in json_value()) {
        let mut text = String::new();
        to_json(&value, false, false, &mut text);
        let parsed = parse_json(text.as_bytes());
        prop_assert!(parsed.is_ok());
        if let Ok(parsed) = parsed {
            let mut again = String::new();
            to_json(&parsed, false, false, &mut again);
            prop_assert_eq!(parse_json(again.as_bytes()), Ok(parsed));
        }
    }
}
