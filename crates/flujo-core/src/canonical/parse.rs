//! A strict JSON parser that accepts exactly the texts JavaScript's `JSON.parse` accepts
//! (ECMA-262 JSON grammar = RFC 8259) and produces the value it would produce.
//!
//! Hostile input is expected: every failure is a `CanonicalError`, nothing indexes past the end,
//! nesting is bounded by `MAX_DEPTH` (so recursion is bounded), and nothing is allocated from a
//! length read from the input (JSON has none; buffers grow with what was actually read).

use super::{CanonicalError, JsString, Value, MAX_DEPTH};

/// Parses UTF-8 JSON text. The value's objects come back with their keys sorted by UTF-16 code
/// units and unique (a repeated key keeps its last value, as in `JSON.parse`).
pub fn parse_json(input: &[u8]) -> Result<Value, CanonicalError> {
    // Validating once up front lets the string scanner copy raw runs without re-checking them.
    // A byte-order mark is not skipped: `JSON.parse("\u{FEFF}1")` throws too.
    if let Err(err) = std::str::from_utf8(input) {
        return Err(CanonicalError::InvalidUtf8 {
            offset: err.valid_up_to(),
        });
    }
    let mut parser = Parser { input, pos: 0 };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < input.len() {
        return Err(CanonicalError::TrailingData { offset: parser.pos });
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> CanonicalError {
        match self.peek() {
            Some(byte) => CanonicalError::UnexpectedByte {
                offset: self.pos,
                byte,
            },
            None => CanonicalError::UnexpectedEnd,
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), CanonicalError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// `depth` is the number of arrays and objects enclosing this value.
    fn value(&mut self, depth: usize) -> Result<Value, CanonicalError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), CanonicalError> {
        if depth > MAX_DEPTH {
            Err(CanonicalError::TooDeep {
                offset: Some(self.pos),
            })
        } else {
            Ok(())
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, CanonicalError> {
        for &expected in word {
            self.expect(expected)?;
        }
        Ok(value)
    }

    fn array(&mut self, depth: usize) -> Result<Value, CanonicalError> {
        self.check_depth(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, CanonicalError> {
        self.check_depth(depth)?;
        self.pos += 1; // '{'
        let mut entries: Vec<(JsString, Value)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(entries));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            let value = self.value(depth)?;
            entries.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    normalize_entries(&mut entries);
                    return Ok(Value::Object(entries));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn string(&mut self) -> Result<JsString, CanonicalError> {
        self.pos += 1; // opening quote
        let mut out = JsString::new();
        loop {
            // Copy the longest run that needs no decoding. The whole input is valid UTF-8 and
            // every byte of a multi-byte sequence is >= 0x80, so the run ends on a boundary.
            let run_start = self.pos;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if self.pos > run_start {
                let run = self.input.get(run_start..self.pos).unwrap_or_default();
                let text = std::str::from_utf8(run).map_err(|err| CanonicalError::InvalidUtf8 {
                    offset: run_start + err.valid_up_to(),
                })?;
                out.push_str(text);
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Err(CanonicalError::ControlCharacter { offset: self.pos }),
                None => return Err(CanonicalError::UnexpectedEnd),
            }
        }
    }

    fn escape(&mut self, out: &mut JsString) -> Result<(), CanonicalError> {
        let offset = self.pos;
        self.pos += 1; // backslash
        let Some(kind) = self.peek() else {
            return Err(CanonicalError::UnexpectedEnd);
        };
        self.pos += 1;
        let simple = match kind {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let unit = self.hex4()?;
                out.push_code_point(self.combine_surrogates(unit));
                return Ok(());
            }
            _ => return Err(CanonicalError::InvalidEscape { offset }),
        };
        out.push_code_point(u32::from(simple));
        Ok(())
    }

    /// A `\uD800`-`\uDBFF` escape directly followed by a `\uDC00`-`\uDFFF` escape is one
    /// character in JavaScript; any other surrogate stays a lone code unit.
    fn combine_surrogates(&mut self, unit: u16) -> u32 {
        if !(0xD800..0xDC00).contains(&unit) {
            return u32::from(unit);
        }
        let next_is_escape = self.input.get(self.pos..self.pos + 2) == Some(b"\\u".as_slice());
        if next_is_escape {
            let saved = self.pos;
            self.pos += 2;
            match self.hex4() {
                Ok(low @ 0xDC00..=0xDFFF) => {
                    let high = u32::from(unit) - 0xD800;
                    return 0x1_0000 + (high << 10) + (u32::from(low) - 0xDC00);
                }
                // Not a low surrogate (or malformed: reported when the escape is parsed again).
                _ => self.pos = saved,
            }
        }
        u32::from(unit)
    }

    fn hex4(&mut self) -> Result<u16, CanonicalError> {
        let mut unit: u16 = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(byte @ b'0'..=b'9') => byte - b'0',
                Some(byte @ b'a'..=b'f') => byte - b'a' + 10,
                Some(byte @ b'A'..=b'F') => byte - b'A' + 10,
                Some(_) => return Err(CanonicalError::InvalidEscape { offset: self.pos }),
                None => return Err(CanonicalError::UnexpectedEnd),
            };
            unit = (unit << 4) | u16::from(digit);
            self.pos += 1;
        }
        Ok(unit)
    }

    fn number(&mut self) -> Result<Value, CanonicalError> {
        let start = self.pos;
        let invalid = |parser: &Self| match parser.peek() {
            Some(_) => CanonicalError::InvalidNumber { offset: start },
            None => CanonicalError::UnexpectedEnd,
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(invalid(self)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(invalid(self));
            }
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(invalid(self));
            }
            self.skip_digits();
        }
        // The grammar is checked above; Rust's parser then rounds correctly to the nearest
        // binary64 for any number of digits and any exponent (overflow gives +-inf, as in JS).
        let text = self
            .input
            .get(start..self.pos)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .ok_or(CanonicalError::InvalidNumber { offset: start })?;
        text.parse::<f64>()
            .map(Value::Number)
            .map_err(|_| CanonicalError::InvalidNumber { offset: start })
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

/// Sorts entries by key in UTF-16 order and keeps only the last value of a repeated key.
pub(super) fn normalize_entries(entries: &mut Vec<(JsString, Value)>) {
    // Stable, so equal keys keep their source order and the last one is the one to keep.
    entries.sort_by(|a, b| a.0.cmp_code_units(&b.0));
    entries.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            std::mem::swap(&mut later.1, &mut kept.1);
            true
        } else {
            false
        }
    });
}
