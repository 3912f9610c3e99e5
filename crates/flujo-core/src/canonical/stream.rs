//! The canonical encoding written straight from parser events, without building a [`Value`]
//! tree: no allocation per string, array or object, only a few buffers that grow to the largest
//! document seen. This is what `canonicalize_json` uses; the tree path ([`super::encode`] over
//! [`super::parse_json`]) must give the same bytes (a property test checks it).
//!
//! Arrays and objects get a placeholder count that is filled in at their end. An object's entries
//! are written in source order and, if their keys are not already strictly ascending (UTF-16
//! order), reordered in place at the end of the object, keeping the last of repeated keys.
//!
//! [`Value`]: super::Value

use super::encode::{
    write_len, write_number, write_wtf8, TAG_ARRAY, TAG_FALSE, TAG_NULL, TAG_OBJECT, TAG_STRING,
    TAG_TRUE,
};
use super::parse::Sink;
use super::wtf8::cmp_code_units;
use super::CanonicalError;

#[derive(Default)]
pub(crate) struct StreamEncoder {
    out: Vec<u8>,
    /// Where each open array's or object's count goes, and where its entries start in `entries`.
    open: Vec<Open>,
    /// The entries of all open objects, innermost last.
    entries: Vec<Entry>,
    /// Reused while reordering an object.
    order: Vec<usize>,
    scratch: Vec<u8>,
}

struct Open {
    count_at: usize,
    first_entry: usize,
}

/// One object entry in `out`: it starts at `start` (the key's length) and its key's WTF-8 bytes
/// are `key_start..key_end`. It ends where the next entry starts, or at the object's end.
#[derive(Clone, Copy)]
struct Entry {
    start: usize,
    key_start: usize,
    key_end: usize,
}

impl StreamEncoder {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn open(&mut self, tag: u8) {
        self.out.push(tag);
        self.open.push(Open {
            count_at: self.out.len(),
            first_entry: self.entries.len(),
        });
        self.out.extend_from_slice(&[0; 4]);
    }

    fn close(&mut self, count: usize) -> Result<(), CanonicalError> {
        let Some(open) = self.open.pop() else {
            return Ok(());
        };
        let count = u32::try_from(count).map_err(|_| CanonicalError::TooLarge)?;
        if let Some(slot) = self.out.get_mut(open.count_at..open.count_at + 4) {
            slot.copy_from_slice(&count.to_be_bytes());
        }
        self.entries.truncate(open.first_entry);
        Ok(())
    }

    fn key_of(&self, entry: &Entry) -> &[u8] {
        self.out
            .get(entry.key_start..entry.key_end)
            .unwrap_or_default()
    }

    /// Sorts the entries `first..` of the innermost object (which ends at the end of `out`) and
    /// drops repeated keys but the last; returns how many entries are left.
    fn sort_entries(&mut self, first: usize) -> usize {
        let entries = self.entries.get(first..).unwrap_or_default();
        let sorted = entries.windows(2).all(
            |pair| matches!(pair, [a, b] if cmp_code_units(self.key_of(a), self.key_of(b)).is_lt()),
        );
        if sorted {
            return entries.len();
        }

        // Stable sort: among equal keys the source order is kept, so the last one wins below.
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..entries.len());
        order.sort_by(|&i, &j| match (entries.get(i), entries.get(j)) {
            (Some(a), Some(b)) => cmp_code_units(self.key_of(a), self.key_of(b)),
            _ => std::cmp::Ordering::Equal,
        });
        let mut kept = 0;
        for k in 0..order.len() {
            let current = order.get(k).copied().unwrap_or_default();
            let same_key_as_kept = kept > 0
                && match (
                    order.get(kept - 1).and_then(|&i| entries.get(i)),
                    entries.get(current),
                ) {
                    (Some(a), Some(b)) => self.key_of(a) == self.key_of(b),
                    _ => false,
                };
            if same_key_as_kept {
                kept -= 1;
            }
            if let Some(slot) = order.get_mut(kept) {
                *slot = current;
            }
            kept += 1;
        }
        order.truncate(kept);

        // Move the object's entry bytes aside and write them back in order.
        let region_start = entries.first().map_or(self.out.len(), |e| e.start);
        let end = self.out.len();
        self.scratch.clear();
        self.scratch
            .extend_from_slice(self.out.get(region_start..).unwrap_or_default());
        self.out.truncate(region_start);
        for &i in &order {
            let start = entries.get(i).map_or(end, |e| e.start);
            let stop = entries.get(i + 1).map_or(end, |e| e.start);
            let bytes = self
                .scratch
                .get(start - region_start..stop - region_start)
                .unwrap_or_default();
            self.out.extend_from_slice(bytes);
        }
        self.order = order;
        kept
    }
}

impl Sink for StreamEncoder {
    fn null(&mut self) -> Result<(), CanonicalError> {
        self.out.push(TAG_NULL);
        Ok(())
    }

    fn boolean(&mut self, value: bool) -> Result<(), CanonicalError> {
        self.out.push(if value { TAG_TRUE } else { TAG_FALSE });
        Ok(())
    }

    fn number(&mut self, value: f64) -> Result<(), CanonicalError> {
        write_number(&mut self.out, value);
        Ok(())
    }

    fn string(&mut self, wtf8: &[u8]) -> Result<(), CanonicalError> {
        self.out.push(TAG_STRING);
        write_wtf8(&mut self.out, wtf8)
    }

    fn begin_array(&mut self) -> Result<(), CanonicalError> {
        self.open(TAG_ARRAY);
        Ok(())
    }

    fn end_array(&mut self, len: usize) -> Result<(), CanonicalError> {
        self.close(len)
    }

    fn begin_object(&mut self) -> Result<(), CanonicalError> {
        self.open(TAG_OBJECT);
        Ok(())
    }

    fn key(&mut self, wtf8: &[u8]) -> Result<(), CanonicalError> {
        let start = self.out.len();
        write_len(&mut self.out, wtf8.len())?;
        self.out.extend_from_slice(wtf8);
        self.entries.push(Entry {
            start,
            key_start: start + 4,
            key_end: self.out.len(),
        });
        Ok(())
    }

    fn end_object(&mut self) -> Result<(), CanonicalError> {
        let first = self.open.last().map_or(0, |open| open.first_entry);
        let count = self.sort_entries(first);
        self.close(count)
    }
}
