//! Text columns stored once per distinct value: a dictionary (one buffer of
//! every distinct string) and a code per row, as narrow as the dictionary
//! allows (1, 2 or 4 bytes), so a million repeated labels cost about a
//! megabyte (issue 11, bounded memory).

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// The distinct strings of a column, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dictionary {
    /// Every string, one after the other.
    bytes: String,
    /// Where each string ends in `bytes`.
    ends: Vec<u32>,
}

impl Dictionary {
    /// How many distinct strings.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The string with index `i` (0-based, in order of first appearance).
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    /// The bytes of the string with index `i`: what the hash table compares
    /// (no check of a char boundary per lookup).
    fn get_bytes(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes.as_bytes()[start..self.ends[i] as usize]
    }

    /// Every distinct string.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn push(&mut self, text: &str) -> usize {
        self.bytes.push_str(text);
        self.ends.push(self.bytes.len() as u32);
        self.ends.len() - 1
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4
    }
}

/// Per-row codes: 0 = missing, `n` = the dictionary's string `n - 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Default for Codes {
    fn default() -> Codes {
        Codes::U8(Vec::new())
    }
}

impl Codes {
    fn len(&self) -> usize {
        match self {
            Codes::U8(v) => v.len(),
            Codes::U16(v) => v.len(),
            Codes::U32(v) => v.len(),
        }
    }

    fn get(&self, row: usize) -> u32 {
        match self {
            Codes::U8(v) => u32::from(v[row]),
            Codes::U16(v) => u32::from(v[row]),
            Codes::U32(v) => v[row],
        }
    }

    /// Appends a code, widening the storage when it does not fit.
    fn push(&mut self, code: u32) {
        match self {
            Codes::U8(v) => match u8::try_from(code) {
                Ok(c) => v.push(c),
                Err(_) => {
                    let mut wide: Vec<u16> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                    wide.extend(v.iter().map(|&c| u16::from(c)));
                    *self = Codes::U16(wide);
                    self.push(code);
                }
            },
            Codes::U16(v) => match u16::try_from(code) {
                Ok(c) => v.push(c),
                Err(_) => {
                    let mut wide: Vec<u32> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                    wide.extend(v.iter().map(|&c| u32::from(c)));
                    *self = Codes::U32(wide);
                    self.push(code);
                }
            },
            Codes::U32(v) => v.push(code),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Codes::U8(v) => v.capacity(),
            Codes::U16(v) => v.capacity() * 2,
            Codes::U32(v) => v.capacity() * 4,
        }
    }
}

/// The cells of a text column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    dictionary: Dictionary,
    codes: Codes,
    /// Rows, also when the cells were not kept.
    rows: usize,
    /// Cells that are numbers (a "mostly numbers" column shows here).
    numeric: usize,
    /// Whether the cells were kept (readers that draw numbers skip them).
    kept: bool,
}

impl Text {
    /// A text column whose cells were not kept: `rows` rows, all `None`.
    pub(crate) fn not_kept(rows: usize, numeric: usize) -> Text {
        Text {
            dictionary: Dictionary::default(),
            codes: Codes::U8(Vec::new()),
            rows,
            numeric,
            kept: false,
        }
    }

    /// A column of these cells (for tests and small tables).
    #[cfg(test)]
    pub(crate) fn from_cells<'a>(cells: impl IntoIterator<Item = Option<&'a str>>) -> Text {
        let mut builder = TextBuilder::default();
        for cell in cells {
            match cell {
                Some(s) => builder.push(s),
                None => builder.push_missing(),
            }
        }
        builder.finish(0)
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// The cell of `row`; `None` when missing (or not kept).
    pub(crate) fn get(&self, row: usize) -> Option<&str> {
        self.code(row).map(|c| self.dictionary.get(c))
    }

    /// The dictionary index of the cell of `row`; `None` when missing (or
    /// not kept). Equal strings have equal codes.
    pub(crate) fn code(&self, row: usize) -> Option<usize> {
        if !self.kept || row >= self.codes.len() {
            return None;
        }
        match self.codes.get(row) {
            0 => None,
            c => Some(c as usize - 1),
        }
    }

    /// Every cell, in row order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.rows).map(|row| self.get(row))
    }

    /// The distinct strings, in order of first appearance.
    pub(crate) fn dictionary(&self) -> &Dictionary {
        &self.dictionary
    }

    /// How many cells are present (not missing); 0 when not kept.
    pub(crate) fn present(&self) -> usize {
        (0..self.codes.len())
            .filter(|&r| self.codes.get(r) != 0)
            .count()
    }

    /// How many cells are numbers.
    pub(crate) fn numeric(&self) -> usize {
        self.numeric
    }

    /// Whether the cells were kept.
    #[cfg(test)]
    pub(crate) fn is_kept(&self) -> bool {
        self.kept
    }

    /// About how much memory the column holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.dictionary.heap_bytes() + self.codes.heap_bytes()
    }

    /// Pads the column with missing cells up to `rows`.
    pub(crate) fn pad(&mut self, rows: usize) {
        if self.kept {
            while self.codes.len() < rows {
                self.codes.push(0);
            }
        }
        self.rows = self.rows.max(rows);
    }
}

/// Builds a `Text` column cell by cell, finding each string's code with a
/// hash table over the dictionary (dropped when the column is finished).
#[derive(Default)]
pub(crate) struct TextBuilder {
    dictionary: Dictionary,
    /// Dictionary indexes with their strings' hashes (kept, so that growing
    /// the table does not hash every string again).
    index: HashTable<(u64, u32)>,
    hasher: rustc_hash::FxBuildHasher,
    codes: Codes,
}

impl TextBuilder {
    /// Appends a cell.
    pub(crate) fn push(&mut self, text: &str) {
        let index = self.intern(text);
        self.codes.push(index + 1);
    }

    /// Appends a cell given as the bytes of a file: a string already in the
    /// dictionary is found by its bytes, without checking them as UTF-8
    /// again; bytes that are not UTF-8 are stored lossily (U+FFFD), as
    /// `String::from_utf8_lossy` shows them, so two cells that show the
    /// same share one code.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) {
        let hash = self.hasher.hash_one(bytes);
        let index = match self.find(hash, bytes) {
            Some(i) => i,
            None => match std::str::from_utf8(bytes) {
                Ok(text) => self.insert(hash, text),
                Err(_) => self.intern(&String::from_utf8_lossy(bytes)),
            },
        };
        self.codes.push(index + 1);
    }

    /// The dictionary index of `text`, added when new.
    fn intern(&mut self, text: &str) -> u32 {
        let hash = self.hasher.hash_one(text.as_bytes());
        match self.find(hash, text.as_bytes()) {
            Some(i) => i,
            None => self.insert(hash, text),
        }
    }

    fn find(&self, hash: u64, bytes: &[u8]) -> Option<u32> {
        let dictionary = &self.dictionary;
        self.index
            .find(hash, |&(h, i)| {
                h == hash && dictionary.get_bytes(i as usize) == bytes
            })
            .map(|&(_, i)| i)
    }

    /// Adds `text` (not yet in the dictionary, hashing to `hash`).
    fn insert(&mut self, hash: u64, text: &str) -> u32 {
        let i = self.dictionary.push(text) as u32;
        self.index.insert_unique(hash, (hash, i), |&(h, _)| h);
        i
    }

    /// Appends the cells of `later`, the rows after this builder's (a
    /// column that turned text late: its first rows come from a second
    /// pass, the rest from the first): the same column as one builder fed
    /// every row in order, dictionary order included.
    pub(crate) fn append(&mut self, later: TextBuilder) {
        let codes: Vec<u32> = (0..later.dictionary.len())
            .map(|i| self.intern(later.dictionary.get(i)) + 1)
            .collect();
        for row in 0..later.codes.len() {
            match later.codes.get(row) {
                0 => self.push_missing(),
                c => self.codes.push(codes[c as usize - 1]),
            }
        }
    }

    /// Appends a missing cell.
    pub(crate) fn push_missing(&mut self) {
        self.codes.push(0);
    }

    /// Appends `n` missing cells.
    pub(crate) fn push_missing_n(&mut self, n: usize) {
        for _ in 0..n {
            self.push_missing();
        }
    }

    /// The column; `numeric` is how many cells are numbers.
    pub(crate) fn finish(self, numeric: usize) -> Text {
        let codes = self.codes;
        let rows = codes.len();
        let mut dictionary = self.dictionary;
        dictionary.bytes.shrink_to_fit();
        dictionary.ends.shrink_to_fit();
        Text {
            dictionary,
            codes,
            rows,
            numeric,
            kept: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_strings_are_stored_once() {
        let t = Text::from_cells([Some("a"), None, Some("bb"), Some("a"), Some("")]);
        assert_eq!(t.len(), 5);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            vec![Some("a"), None, Some("bb"), Some("a"), Some("")]
        );
        assert_eq!(
            t.dictionary().iter().collect::<Vec<_>>(),
            vec!["a", "bb", ""]
        );
        assert_eq!(t.code(0), t.code(3));
        assert_eq!(t.present(), 4);
    }

    #[test]
    fn codes_widen_past_255_and_65535_distinct_values() {
        let cells: Vec<String> = (0..70_000).map(|i| format!("v{}", i % 66_000)).collect();
        let t = Text::from_cells(cells.iter().map(|s| Some(s.as_str())));
        assert!(matches!(t.codes, Codes::U32(_)));
        assert_eq!(t.dictionary().len(), 66_000);
        assert_eq!(t.get(69_999), Some("v3999"));
        assert_eq!(t.get(300), Some("v300"));
        let t = Text::from_cells((0..300).map(|i| if i % 2 == 0 { Some("x") } else { None }));
        assert!(matches!(t.codes, Codes::U8(_)));
    }

    /// Bytes that are not UTF-8 are stored as `String::from_utf8_lossy`
    /// shows them; cells that show the same share a code, whether they come
    /// as bytes or as text.
    #[test]
    fn cells_as_bytes_are_cells_as_text() {
        let cells: [&[u8]; 7] = [
            b"K\xf6ln",
            b"ok",
            b"K\xfcln",
            b"K\xef\xbf\xbdln",
            b"",
            b"ok",
            b"\xff",
        ];
        let mut by_bytes = TextBuilder::default();
        let mut by_text = TextBuilder::default();
        for cell in cells {
            by_bytes.push_bytes(cell);
            by_text.push(&String::from_utf8_lossy(cell));
        }
        let (by_bytes, by_text) = (by_bytes.finish(0), by_text.finish(0));
        assert_eq!(by_bytes, by_text);
        assert_eq!(
            by_bytes.dictionary().iter().collect::<Vec<_>>(),
            vec!["K\u{fffd}ln", "ok", "", "\u{fffd}"]
        );
        assert_eq!(by_bytes.code(0), by_bytes.code(2));
    }

    #[test]
    fn appending_later_rows_is_pushing_them_in_order() {
        let first = [Some("b"), None, Some("a")];
        let later = [Some("c"), Some("a"), None, Some("d"), Some("c")];
        let mut whole = TextBuilder::default();
        let mut start = TextBuilder::default();
        let mut end = TextBuilder::default();
        for (cells, parts) in [(&first[..], &mut start), (&later[..], &mut end)] {
            for cell in cells {
                for b in [&mut whole, &mut *parts] {
                    match cell {
                        Some(s) => b.push(s),
                        None => b.push_missing(),
                    }
                }
            }
        }
        start.append(end);
        assert_eq!(start.finish(0), whole.finish(0));
    }

    #[test]
    fn not_kept_is_all_missing() {
        let t = Text::not_kept(3, 1);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![None, None, None]);
        assert_eq!((t.numeric(), t.is_kept(), t.present()), (1, false, 0));
    }
}
