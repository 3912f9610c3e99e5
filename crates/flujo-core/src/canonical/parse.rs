//! A strict JSON parser that accepts exactly the texts JavaScript's `JSON.parse` accepts
//! (ECMA-262 JSON grammar = RFC 8259) and reports the value it would produce as events to a
//! [`Sink`]: one sink builds a [`Value`] tree, the other ([`super::stream`]) writes the canonical
//! encoding directly, without building a tree.
//!
//! Hostile input is expected: every failure is a `CanonicalError`, nothing indexes past the end,
//! nesting is bounded by `MAX_DEPTH` (so recursion is bounded), and nothing is allocated from a
//! length read from the input (JSON has none; buffers grow with what was actually read).

use super::wtf8::push_code_point;
use super::{CanonicalError, JsString, Value, MAX_DEPTH};

/// Receives a JSON value as a sequence of events, in document order. Strings arrive as WTF-8.
pub(crate) trait Sink {
    fn null(&mut self) -> Result<(), CanonicalError>;
    fn boolean(&mut self, value: bool) -> Result<(), CanonicalError>;
    fn number(&mut self, value: f64) -> Result<(), CanonicalError>;
    fn string(&mut self, wtf8: &[u8]) -> Result<(), CanonicalError>;
    fn begin_array(&mut self) -> Result<(), CanonicalError>;
    fn end_array(&mut self, len: usize) -> Result<(), CanonicalError>;
    fn begin_object(&mut self) -> Result<(), CanonicalError>;
    /// The key of the next entry; its value's events follow.
    fn key(&mut self, wtf8: &[u8]) -> Result<(), CanonicalError>;
    fn end_object(&mut self) -> Result<(), CanonicalError>;
}

/// Parses UTF-8 JSON text into a [`Value`]. Its objects come back with their keys sorted by
/// UTF-16 code units and unique (a repeated key keeps its last value, as in `JSON.parse`).
pub fn parse_json(input: &[u8]) -> Result<Value, CanonicalError> {
    let mut builder = TreeBuilder::default();
    parse_into(input, &mut builder)?;
    builder.root.ok_or(CanonicalError::UnexpectedEnd)
}

/// Parses `input`, reporting the value to `sink`.
pub(crate) fn parse_into<S: Sink>(input: &[u8], sink: &mut S) -> Result<(), CanonicalError> {
    // Validating once up front lets the string scanner copy raw runs without re-checking them.
    // A byte-order mark is not skipped: `JSON.parse("\u{FEFF}1")` throws too.
    if let Err(err) = std::str::from_utf8(input) {
        return Err(CanonicalError::InvalidUtf8 {
            offset: err.valid_up_to(),
        });
    }
    let mut parser = Parser {
        input,
        pos: 0,
        scratch: Vec::new(),
    };
    parser.skip_whitespace();
    parser.value(sink, 0)?;
    parser.skip_whitespace();
    if parser.pos < input.len() {
        return Err(CanonicalError::TrailingData { offset: parser.pos });
    }
    Ok(())
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// Decoded text of the last string that contained escapes (reused across strings).
    scratch: Vec<u8>,
}

/// Where the text of a parsed string lives.
enum Text {
    /// Bytes `start..end` of the input (no escapes: the raw UTF-8 is already the WTF-8).
    Input(usize, usize),
    Scratch,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn text(&self, text: &Text) -> &[u8] {
        match *text {
            Text::Input(start, end) => self.input.get(start..end).unwrap_or_default(),
            Text::Scratch => &self.scratch,
        }
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
    fn value<S: Sink>(&mut self, sink: &mut S, depth: usize) -> Result<(), CanonicalError> {
        match self.peek() {
            Some(b'{') => self.object(sink, depth + 1),
            Some(b'[') => self.array(sink, depth + 1),
            Some(b'"') => {
                let text = self.string()?;
                sink.string(self.text(&text))
            }
            Some(b't') => {
                self.literal(b"true")?;
                sink.boolean(true)
            }
            Some(b'f') => {
                self.literal(b"false")?;
                sink.boolean(false)
            }
            Some(b'n') => {
                self.literal(b"null")?;
                sink.null()
            }
            Some(b'-' | b'0'..=b'9') => {
                let n = self.number()?;
                sink.number(n)
            }
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

    fn literal(&mut self, word: &[u8]) -> Result<(), CanonicalError> {
        for &expected in word {
            self.expect(expected)?;
        }
        Ok(())
    }

    fn array<S: Sink>(&mut self, sink: &mut S, depth: usize) -> Result<(), CanonicalError> {
        self.check_depth(depth)?;
        self.pos += 1; // '['
        sink.begin_array()?;
        let mut len = 0usize;
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return sink.end_array(len);
        }
        loop {
            self.skip_whitespace();
            self.value(sink, depth)?;
            len += 1;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return sink.end_array(len);
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn object<S: Sink>(&mut self, sink: &mut S, depth: usize) -> Result<(), CanonicalError> {
        self.check_depth(depth)?;
        self.pos += 1; // '{'
        sink.begin_object()?;
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return sink.end_object();
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            sink.key(self.text(&key))?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            self.value(sink, depth)?;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return sink.end_object();
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    /// Scans a string starting at its opening quote. Without escapes the text stays in the input;
    /// otherwise it is decoded into `scratch`.
    fn string(&mut self) -> Result<Text, CanonicalError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        self.skip_plain();
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                return Ok(Text::Input(start, self.pos - 1));
            }
            Some(b'\\') => {}
            Some(_) => return Err(CanonicalError::ControlCharacter { offset: self.pos }),
            None => return Err(CanonicalError::UnexpectedEnd),
        }
        self.scratch.clear();
        let plain = self.input.get(start..self.pos).unwrap_or_default();
        self.scratch.extend_from_slice(plain);
        loop {
            self.escape()?;
            let run_start = self.pos;
            self.skip_plain();
            let run = self.input.get(run_start..self.pos).unwrap_or_default();
            self.scratch.extend_from_slice(run);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Text::Scratch);
                }
                Some(b'\\') => {}
                Some(_) => return Err(CanonicalError::ControlCharacter { offset: self.pos }),
                None => return Err(CanonicalError::UnexpectedEnd),
            }
        }
    }

    /// Skips bytes that stand for themselves. The whole input is valid UTF-8 and every byte of a
    /// multi-byte sequence is >= 0x80, so a run always ends on a character boundary.
    fn skip_plain(&mut self) {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let run = rest
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
            .unwrap_or(rest.len());
        self.pos += run;
    }

    /// Decodes one escape (at a backslash) into `scratch`.
    fn escape(&mut self) -> Result<(), CanonicalError> {
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
                let cp = self.combine_surrogates(unit);
                push_code_point(&mut self.scratch, cp);
                return Ok(());
            }
            _ => return Err(CanonicalError::InvalidEscape { offset }),
        };
        self.scratch.push(simple);
        Ok(())
    }

    /// A `\uD800`-`\uDBFF` escape directly followed by a `\uDC00`-`\uDFFF` escape is one
    /// character in JavaScript; any other surrogate stays a lone code unit. (A raw character in
    /// valid UTF-8 is never a surrogate, so only escapes can pair up.)
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

    fn number(&mut self) -> Result<f64, CanonicalError> {
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
            .map_err(|_| CanonicalError::InvalidNumber { offset: start })
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

/// Builds a [`Value`] tree from parser events.
#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    root: Option<Value>,
}

enum Frame {
    Array(Vec<Value>),
    Object(Vec<(JsString, Value)>, JsString),
}

impl TreeBuilder {
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Array(items)) => items.push(value),
            Some(Frame::Object(entries, key)) => entries.push((std::mem::take(key), value)),
        }
    }
}

impl Sink for TreeBuilder {
    fn null(&mut self) -> Result<(), CanonicalError> {
        self.push(Value::Null);
        Ok(())
    }

    fn boolean(&mut self, value: bool) -> Result<(), CanonicalError> {
        self.push(Value::Bool(value));
        Ok(())
    }

    fn number(&mut self, value: f64) -> Result<(), CanonicalError> {
        self.push(Value::Number(value));
        Ok(())
    }

    fn string(&mut self, wtf8: &[u8]) -> Result<(), CanonicalError> {
        self.push(Value::String(JsString::from_wtf8_unchecked(wtf8.to_vec())));
        Ok(())
    }

    fn begin_array(&mut self) -> Result<(), CanonicalError> {
        self.stack.push(Frame::Array(Vec::new()));
        Ok(())
    }

    fn end_array(&mut self, _len: usize) -> Result<(), CanonicalError> {
        if let Some(Frame::Array(items)) = self.stack.pop() {
            self.push(Value::Array(items));
        }
        Ok(())
    }

    fn begin_object(&mut self) -> Result<(), CanonicalError> {
        self.stack.push(Frame::Object(Vec::new(), JsString::new()));
        Ok(())
    }

    fn key(&mut self, wtf8: &[u8]) -> Result<(), CanonicalError> {
        if let Some(Frame::Object(_, key)) = self.stack.last_mut() {
            *key = JsString::from_wtf8_unchecked(wtf8.to_vec());
        }
        Ok(())
    }

    fn end_object(&mut self) -> Result<(), CanonicalError> {
        if let Some(Frame::Object(mut entries, _)) = self.stack.pop() {
            normalize_entries(&mut entries);
            self.push(Value::Object(entries));
        }
        Ok(())
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
