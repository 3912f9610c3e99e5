//! The canonical encoder (docs/canonical-encoding.md) for JSON values.

use super::{CanonicalError, JsString, Value, MAX_DEPTH};

pub(super) const TAG_NULL: u8 = 0x00;
pub(super) const TAG_FALSE: u8 = 0x02;
pub(super) const TAG_TRUE: u8 = 0x03;
pub(super) const TAG_NUMBER: u8 = 0x04;
pub(super) const TAG_STRING: u8 = 0x06;
pub(super) const TAG_ARRAY: u8 = 0x10;
pub(super) const TAG_OBJECT: u8 = 0x11;

/// The one NaN bit pattern the format allows, whatever NaN the value holds.
const CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

/// Tag and payload of a number.
pub(super) fn write_number(out: &mut Vec<u8>, n: f64) {
    let bits = if n.is_nan() {
        CANONICAL_NAN
    } else {
        n.to_bits()
    };
    out.push(TAG_NUMBER);
    out.extend_from_slice(&bits.to_be_bytes());
}

/// Canonical encoding of `value`. Fails only for nesting deeper than [`MAX_DEPTH`] or a length
/// beyond the format's u32 fields.
pub fn encode(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_value(&mut out, value, 0)?;
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push(TAG_NULL),
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Number(n) => {
            out.push(TAG_NUMBER);
            let bits = if n.is_nan() {
                CANONICAL_NAN
            } else {
                n.to_bits()
            };
            out.extend_from_slice(&bits.to_be_bytes());
        }
        Value::String(s) => {
            out.push(TAG_STRING);
            write_str(out, s)?;
        }
        Value::Array(items) => {
            let depth = enter(depth)?;
            out.push(TAG_ARRAY);
            write_len(out, items.len())?;
            for item in items {
                write_value(out, item, depth)?;
            }
        }
        Value::Object(entries) => {
            let depth = enter(depth)?;
            out.push(TAG_OBJECT);
            write_object(out, entries, depth)?;
        }
    }
    Ok(())
}

fn write_object(
    out: &mut Vec<u8>,
    entries: &[(JsString, Value)],
    depth: usize,
) -> Result<(), CanonicalError> {
    let strictly_sorted = entries
        .windows(2)
        .all(|pair| matches!(pair, [a, b] if a.0.cmp_code_units(&b.0).is_lt()));
    if strictly_sorted {
        // What the parser produces: no copy needed.
        write_len(out, entries.len())?;
        for (key, value) in entries {
            write_str(out, key)?;
            write_value(out, value, depth)?;
        }
        return Ok(());
    }
    // A hand-built value: sort references (stable) and let the last of equal keys win, as it
    // would in a JavaScript object.
    let mut sorted: Vec<&(JsString, Value)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp_code_units(&b.0));
    let mut unique: Vec<&(JsString, Value)> = Vec::with_capacity(sorted.len());
    for entry in sorted {
        match unique.last_mut() {
            Some(last) if last.0 == entry.0 => *last = entry,
            _ => unique.push(entry),
        }
    }
    write_len(out, unique.len())?;
    for (key, value) in unique {
        write_str(out, key)?;
        write_value(out, value, depth)?;
    }
    Ok(())
}

fn enter(depth: usize) -> Result<usize, CanonicalError> {
    let inner = depth + 1;
    if inner > MAX_DEPTH {
        Err(CanonicalError::TooDeep { offset: None })
    } else {
        Ok(inner)
    }
}

fn write_str(out: &mut Vec<u8>, s: &JsString) -> Result<(), CanonicalError> {
    write_wtf8(out, s.as_wtf8())
}

/// u32 byte length, then the bytes.
pub(super) fn write_wtf8(out: &mut Vec<u8>, wtf8: &[u8]) -> Result<(), CanonicalError> {
    write_len(out, wtf8.len())?;
    out.extend_from_slice(wtf8);
    Ok(())
}

pub(super) fn write_len(out: &mut Vec<u8>, len: usize) -> Result<(), CanonicalError> {
    let len = u32::try_from(len).map_err(|_| CanonicalError::TooLarge)?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}
