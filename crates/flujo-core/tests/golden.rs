//! The shared golden vectors (test/golden/canonical.json), read with our own parser: the `json` and
//! `hash128` sections must come out byte for byte as the file says, as they do for the JS backend.

use flujo_core::{canonicalize_json, hash128, hash_json, parse_json, JsString, Value};

const GOLDEN: &str = include_str!("../../../test/golden/canonical.json");

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    let Value::Object(entries) = value else {
        panic!("expected an object with {name}");
    };
    let key = JsString::from(name);
    entries
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("missing field {name}"))
}

fn text(value: &Value) -> String {
    let Value::String(s) = value else {
        panic!("expected a string");
    };
    String::from_utf8(s.as_wtf8().to_vec()).expect("golden strings are well-formed")
}

fn items<'a>(golden: &'a Value, section: &str) -> &'a [Value] {
    let Value::Array(items) = field(golden, section) else {
        panic!("{section} is not an array");
    };
    assert!(!items.is_empty(), "{section} is empty");
    items
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn canonicalize_json_matches_golden_vectors() {
    let golden = parse_json(GOLDEN.as_bytes()).expect("golden file parses");
    for vector in items(&golden, "json") {
        let name = text(field(vector, "name"));
        let json = text(field(vector, "json"));
        let encoded = canonicalize_json(json.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(to_hex(&encoded), text(field(vector, "hex")), "{name}");
    }
}

#[test]
fn hashes_match_golden_vectors() {
    let golden = parse_json(GOLDEN.as_bytes()).expect("golden file parses");
    for vector in items(&golden, "hash128") {
        let input = from_hex(&text(field(vector, "input")));
        assert_eq!(hash128(&input), text(field(vector, "hash")));
    }
    for vector in items(&golden, "hashJson") {
        let json = text(field(vector, "json"));
        assert_eq!(hash_json(json.as_bytes()), Ok(text(field(vector, "hash"))));
    }
}
