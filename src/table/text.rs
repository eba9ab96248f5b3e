//! Text columns stored once per distinct value: a dictionary (one buffer of
//! every distinct string) and a code per row, as narrow as the dictionary
//! allows (1, 2 or 4 bytes), so a million repeated labels cost about a
//! megabyte (issue 11, bounded memory).

mod index;

use index::{HIGH_BITS, Index, Key, Probe, Slot, key_and_high_bits, key_of};

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

    /// Every distinct string.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4
    }
}

/// The dictionary while its column is built: the strings' bytes, each
/// checked as UTF-8 when added, by a quick ASCII check for most (one
/// check of them all at the end makes the `Dictionary`'s `String`: a
/// `from_utf8` per string cost more).
#[derive(Default)]
struct Strings {
    /// Every string, one after the other: UTF-8.
    bytes: Vec<u8>,
    /// Where each string ends in `bytes`.
    ends: Vec<u32>,
}

impl Strings {
    /// The string with index `i`.
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    /// Adds `text` (UTF-8); its code (its index + 1).
    fn push(&mut self, text: &[u8]) -> u32 {
        self.bytes.extend_from_slice(text);
        self.ends.push(self.bytes.len() as u32);
        self.ends.len() as u32
    }

    /// The dictionary of these strings.
    fn finish(mut self) -> Dictionary {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        let bytes = String::from_utf8(self.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Dictionary {
            bytes,
            ends: self.ends,
        }
    }
}

/// Whether `bytes` are UTF-8: ASCII, most often, is checked a word at a
/// time.
#[inline(always)]
fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
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

    /// Appends a code, widening the storage when it does not fit. Inlined
    /// into the loop over a column's cells (a call per cell cost about as
    /// much as the push); widening, once or twice per column, is not.
    #[inline(always)]
    fn push(&mut self, code: u32) {
        match self {
            Codes::U8(v) if code <= u32::from(u8::MAX) => v.push(code as u8),
            Codes::U16(v) if code <= u32::from(u16::MAX) => v.push(code as u16),
            Codes::U32(v) => v.push(code),
            _ => self.widen_and_push(code),
        }
    }

    /// Appends a code that does not fit the storage: widens it first.
    #[cold]
    #[inline(never)]
    fn widen_and_push(&mut self, code: u32) {
        self.widen_to_fit(code);
        self.push(code);
    }

    /// Appends `codes`, none above `largest` (the dictionary's size: the
    /// largest code pushed, since each string's code is pushed when it is
    /// added), widening the storage once for it.
    fn extend(&mut self, codes: &[u32], largest: u32) {
        debug_assert!(codes.iter().all(|&c| c <= largest));
        self.widen_to_fit(largest);
        match self {
            Codes::U8(v) => v.extend(codes.iter().map(|&c| c as u8)),
            Codes::U16(v) => v.extend(codes.iter().map(|&c| c as u16)),
            Codes::U32(v) => v.extend_from_slice(codes),
        }
    }

    /// Widens the storage until `code` fits.
    fn widen_to_fit(&mut self, code: u32) {
        match self {
            Codes::U8(v) if code > u32::from(u8::MAX) => {
                let mut wide: Vec<u16> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                wide.extend(v.iter().map(|&c| u16::from(c)));
                *self = Codes::U16(wide);
                self.widen_to_fit(code);
            }
            Codes::U16(v) if code > u32::from(u16::MAX) => {
                let mut wide: Vec<u32> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                wide.extend(v.iter().map(|&c| u32::from(c)));
                *self = Codes::U32(wide);
            }
            _ => {}
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
        // A loop per width, which the compiler vectorizes.
        match &self.codes {
            Codes::U8(v) => v.iter().filter(|&&c| c != 0).count(),
            Codes::U16(v) => v.iter().filter(|&&c| c != 0).count(),
            Codes::U32(v) => v.iter().filter(|&&c| c != 0).count(),
        }
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
    strings: Strings,
    /// Where each string is, by its hash.
    index: Index,
    codes: Codes,
    /// Whether each string is a number, by code (`[0]`, missing: no), for
    /// `push_many_counting`; filled in by it, so it may lag the dictionary.
    numbers: Vec<u8>,
    /// How many of `numbers` are.
    number_strings: usize,
}

/// How many of `codes` are of numbers, `numbers` saying which codes are.
#[inline(always)]
fn count_numbers<C: Copy>(codes: &[C], numbers: &[u8], index: impl Fn(C) -> usize) -> usize {
    codes.iter().map(|&c| usize::from(numbers[index(c)])).sum()
}

/// Cells `push_many` hashes before it looks them up: as many as the
/// reader gives it at once (`TEXT_CHUNK`). Its arrays are set to zero per
/// batch, and with 256 a column of labels spent a tenth of its time there.
const BATCH: usize = 128;

/// How many cells ahead `push_many` prefetches a cell's slot: enough for
/// the loads of a column of mostly distinct strings (a table bigger than
/// the caches) to overlap.
const AHEAD: usize = 8;

impl TextBuilder {
    /// Appends a cell.
    pub(crate) fn push(&mut self, text: &str) {
        let code = self.intern(text.as_bytes());
        self.codes.push(code);
    }

    /// Appends a cell given as the bytes of a file: a string already in the
    /// dictionary is found by its bytes, without checking them as UTF-8
    /// again; bytes that are not UTF-8 are stored lossily (U+FFFD), as
    /// `String::from_utf8_lossy` shows them, so two cells that show the
    /// same share one code.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) {
        let code = self.code_of(key_of(bytes), bytes);
        self.codes.push(code);
    }

    /// Appends `cells` in order: `None` is a missing cell (as
    /// `push_missing`), `Some(bytes)` a cell as `push_bytes` takes it
    /// (untrimmed, maybe not UTF-8). The same column as pushing them one
    /// by one, faster: the cells are hashed first, and each cell's slot is
    /// loaded a few cells ahead of its lookup.
    pub(crate) fn push_many(&mut self, cells: &[Option<&[u8]>]) {
        for batch in cells.chunks(BATCH) {
            self.push_batch(batch);
        }
    }

    /// `push_many`, giving how many of `cells` are numbers by
    /// `is_number` (of a cell's bytes as stored, untrimmed). Each distinct
    /// string is checked once, when first met, not every cell: a text
    /// column of digits (a flag of `1`..`9` with a `T` among them) parsed
    /// every cell again. A cell that is not UTF-8 is stored as
    /// `String::from_utf8_lossy` shows it, and so is checked in that form:
    /// a number in neither (a number's bytes are ASCII).
    pub(crate) fn push_many_counting(
        &mut self,
        cells: &[Option<&[u8]>],
        is_number: impl Fn(&[u8]) -> bool,
    ) -> usize {
        self.push_many(cells);
        if self.numbers.is_empty() {
            self.numbers.push(0);
        }
        for i in self.numbers.len() - 1..self.strings.ends.len() {
            let number = is_number(self.strings.get(i));
            self.numbers.push(u8::from(number));
            self.number_strings += usize::from(number);
        }
        // Most text columns (labels, comments) hold no number at all.
        if self.number_strings == 0 {
            return 0;
        }
        let numbers = &self.numbers[..];
        let from = self.codes.len() - cells.len();
        match &self.codes {
            Codes::U8(v) => count_numbers(&v[from..], numbers, usize::from),
            Codes::U16(v) => count_numbers(&v[from..], numbers, usize::from),
            Codes::U32(v) => count_numbers(&v[from..], numbers, |c| c as usize),
        }
    }

    /// `push_many` of at most `BATCH` cells. Their hashes come with
    /// whether they are all ASCII (then a new string is not checked as
    /// UTF-8 again) and their length, room for which is made once.
    fn push_batch(&mut self, cells: &[Option<&[u8]>]) {
        let mut keys = [Key::default(); BATCH];
        let (mut bits, mut bytes) = (0, 0);
        for (key, cell) in keys.iter_mut().zip(cells) {
            if let Some(cell) = cell {
                let (k, b) = key_and_high_bits(cell);
                *key = k;
                bits |= b;
                bytes += cell.len();
            }
        }
        let ascii = bits & HIGH_BITS == 0;
        self.strings.bytes.reserve(bytes);
        let mut codes = [0; BATCH];
        for (at, cell) in cells.iter().enumerate() {
            if at + AHEAD < cells.len() {
                self.index.prefetch(keys[at + AHEAD].hash);
            }
            if let Some(bytes) = cell {
                let key = keys[at];
                codes[at] = match self.index.probe(&self.strings.bytes, key, bytes) {
                    Probe::Found(code) => code,
                    Probe::Vacant(at) if ascii => self.insert(at, key, bytes),
                    Probe::Vacant(at) => self.add(at, key, bytes),
                };
            }
        }
        let largest = self.strings.ends.len() as u32;
        self.codes.extend(&codes[..cells.len()], largest);
    }

    /// The code of a cell's bytes (of key `key`), its string added when
    /// new. Inlined into the loops over a column's cells: most cells are
    /// found (a column of a few labels).
    #[inline(always)]
    fn code_of(&mut self, key: Key, bytes: &[u8]) -> u32 {
        match self.index.probe(&self.strings.bytes, key, bytes) {
            Probe::Found(code) => code,
            Probe::Vacant(at) => self.add(at, key, bytes),
        }
    }

    /// The code of a cell's bytes not in the index (their probe stopped at
    /// the empty slot `at`): added as they are when UTF-8, else as
    /// `String::from_utf8_lossy` shows them (maybe there already).
    fn add(&mut self, at: usize, key: Key, bytes: &[u8]) -> u32 {
        if is_utf8(bytes) {
            self.insert(at, key, bytes)
        } else {
            self.intern(String::from_utf8_lossy(bytes).as_bytes())
        }
    }

    /// The code of `text` (UTF-8), added when new.
    fn intern(&mut self, text: &[u8]) -> u32 {
        let key = key_of(text);
        match self.index.probe(&self.strings.bytes, key, text) {
            Probe::Found(code) => code,
            Probe::Vacant(at) => self.insert(at, key, text),
        }
    }

    /// Adds `text` (not in the dictionary yet, of key `key`, whose probe
    /// stopped at the empty slot `at`); its code.
    #[inline]
    fn insert(&mut self, at: usize, key: Key, text: &[u8]) -> u32 {
        let start = self.strings.bytes.len() as u32;
        let code = self.strings.push(text);
        self.index
            .insert(at, Slot::new(key, code, start, text.len()));
        code
    }

    /// Appends the cells of `later`, the rows after this builder's (a
    /// column that turned text late: its first rows come from a second
    /// pass, the rest from the first): the same column as one builder fed
    /// every row in order, dictionary order included.
    pub(crate) fn append(&mut self, later: TextBuilder) {
        // Their codes here, by their codes there (0: missing in both).
        let codes: Vec<u32> = std::iter::once(0)
            .chain((0..later.strings.ends.len()).map(|i| self.intern(later.strings.get(i))))
            .collect();
        let map = |c: u32| codes[c as usize];
        let mapped: Vec<u32> = match &later.codes {
            Codes::U8(v) => v.iter().map(|&c| map(u32::from(c))).collect(),
            Codes::U16(v) => v.iter().map(|&c| map(u32::from(c))).collect(),
            Codes::U32(v) => v.iter().map(|&c| map(c)).collect(),
        };
        let largest = self.strings.ends.len() as u32;
        self.codes.extend(&mapped, largest);
    }

    /// Makes room for `more` cells: their codes, and, in a column of mostly
    /// distinct strings (free comments), as many new strings as the cells
    /// so far suggest (their index then never grows, hashing nothing again).
    pub(crate) fn reserve(&mut self, more: usize) {
        let rows = self.codes.len();
        match &mut self.codes {
            Codes::U8(v) => v.reserve(more),
            Codes::U16(v) => v.reserve(more),
            Codes::U32(v) => v.reserve(more),
        }
        let distinct = self.strings.ends.len();
        if distinct * 2 > rows {
            let strings = more * distinct / rows;
            self.index.reserve(strings);
            self.strings.ends.reserve(strings);
            let bytes = more * self.strings.bytes.len() / rows;
            self.strings.bytes.reserve(bytes);
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
        Text {
            dictionary: self.strings.finish(),
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
        assert_eq!(t.present(), 70_000);
        let t = Text::from_cells((0..300).map(|i| if i % 2 == 0 { Some("x") } else { None }));
        assert!(matches!(t.codes, Codes::U8(_)));
        assert_eq!(t.present(), 150);
        let t = Text::from_cells(
            (0..1000)
                .map(|i| (i % 3 != 0).then(|| format!("w{i}")))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_deref()),
        );
        assert!(matches!(t.codes, Codes::U16(_)));
        assert_eq!(t.present(), 666);
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

    /// Random cells: missing, empty, not UTF-8, long, repeated, and enough
    /// distinct ones to widen the codes past 255 and 65535.
    fn random_cells(seed: u64, count: usize) -> Vec<Option<Vec<u8>>> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let r = next();
                match r % 16 {
                    0 => None,
                    1 => Some(Vec::new()),
                    2 => Some(vec![b'K', 0xf6 + (r >> 8) as u8 % 4, b'l', b'n']),
                    3 => Some(format!("{:>100}ö", (r >> 8) % 50).into_bytes()),
                    4..=6 => Some(format!("label{}", (r >> 8) % 7).into_bytes()),
                    _ => Some(format!("free comment {}", (r >> 8) % 200_000).into_bytes()),
                }
            })
            .collect()
    }

    /// `push_many` is `push_bytes` and `push_missing` cell by cell, in
    /// batches of every size.
    #[test]
    fn pushing_many_is_pushing_one_by_one() {
        let cells = random_cells(7, 150_000);
        let mut one_by_one = TextBuilder::default();
        for cell in &cells {
            match cell {
                Some(bytes) => one_by_one.push_bytes(bytes),
                None => one_by_one.push_missing(),
            }
        }
        let one_by_one = one_by_one.finish(0);
        assert!(matches!(one_by_one.codes, Codes::U32(_)));
        for batch in [1, 3, 64, 300, 1000] {
            let mut many = TextBuilder::default();
            let cells: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
            for chunk in cells.chunks(batch) {
                many.push_many(chunk);
            }
            assert_eq!(many.finish(0), one_by_one, "batches of {batch}");
        }
    }

    /// `push_many` is `push_bytes` cell by cell, and `push` of the lossy
    /// text, on the edges of the hash and of the batch's ASCII check: every
    /// length around the words the hash reads, empty strings, strings past
    /// 4 KiB, bytes that are not UTF-8 in a batch of ASCII (and a batch of
    /// ASCII after them), a string equal to another's lossy text, and so
    /// many strings in an index that starts at 16 slots that their probes
    /// meet.
    #[test]
    fn pushing_many_is_pushing_one_by_one_on_edges() {
        let mut cells: Vec<Option<Vec<u8>>> = Vec::new();
        for len in 0..40 {
            cells.push(Some(vec![b'a'; len]));
            cells.push(Some((0..len).map(|i| b'a' + (i % 26) as u8).collect()));
            cells.push(None);
        }
        cells.push(Some(vec![b'x'; 5000]));
        let mut long = vec![b'x'; 5000];
        long[4999] = b'y';
        cells.push(Some(long.clone()));
        long[2500] = 0xff;
        cells.push(Some(long));
        cells.push(Some(b"K\xf6ln".to_vec()));
        cells.push(Some("K\u{fffd}ln".as_bytes().to_vec()));
        cells.push(Some(b"\xe2\x82".to_vec()));
        cells.push(Some("Z\u{fc}rich".as_bytes().to_vec()));
        cells.extend((0..300).map(|i| Some(format!("s{i}").into_bytes())));
        cells.push(Some(Vec::new()));
        let doubled: Vec<Option<Vec<u8>>> = cells.iter().chain(&cells).cloned().collect();
        let mut one_by_one = TextBuilder::default();
        let mut as_text = TextBuilder::default();
        for cell in &doubled {
            match cell {
                Some(bytes) => {
                    one_by_one.push_bytes(bytes);
                    as_text.push(&String::from_utf8_lossy(bytes));
                }
                None => {
                    one_by_one.push_missing();
                    as_text.push_missing();
                }
            }
        }
        let one_by_one = one_by_one.finish(0);
        assert_eq!(one_by_one, as_text.finish(0));
        let cells: Vec<Option<&[u8]>> = doubled.iter().map(|c| c.as_deref()).collect();
        for batch in [1, 2, 7, 128, 1000] {
            let mut many = TextBuilder::default();
            for chunk in cells.chunks(batch) {
                many.push_many(chunk);
            }
            assert_eq!(many.finish(0), one_by_one, "batches of {batch}");
        }
    }

    /// `push_many_counting` counts the cells that are numbers as a check
    /// of every cell does, though it checks each distinct string once:
    /// numbers padded with spaces, in other forms (`1e5`, `-inf`), almost
    /// numbers (`5+`), bytes that are not UTF-8 around digits, codes past
    /// 255 and 65535, and strings added before by `push_bytes` (which
    /// checks none).
    #[test]
    fn counting_numbers_checks_each_string_once_and_every_cell() {
        let is_number =
            |b: &[u8]| crate::table::parse_number_with(crate::table::trim(b), b'.').is_some();
        let mut cells = random_cells(3, 80_000);
        let forms: [&[u8]; 10] = [
            b"12", b" 3.5 ", b"1e5", b"-inf", b"5+", b"<5", b"\xff1", b"1\xff", b"7", b"",
        ];
        for (i, cell) in cells.iter_mut().enumerate().filter(|(i, _)| i % 3 == 0) {
            *cell = Some(forms[i % forms.len()].to_vec());
        }
        cells.extend((0..70_000).map(|i| Some(format!("{i}").into_bytes())));
        let cells: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
        let expected = cells.iter().flatten().filter(|b| is_number(b)).count();
        assert!(expected > 80_000, "{expected}");
        for batch in [1, 5, 128, 1000] {
            let mut builder = TextBuilder::default();
            let (first, rest) = cells.split_at(1000);
            let mut counted = first.iter().flatten().filter(|b| is_number(b)).count();
            for cell in first {
                match cell {
                    Some(bytes) => builder.push_bytes(bytes),
                    None => builder.push_missing(),
                }
            }
            for chunk in rest.chunks(batch) {
                counted += builder.push_many_counting(chunk, is_number);
            }
            assert_eq!(counted, expected, "batches of {batch}");
            assert!(matches!(builder.codes, Codes::U32(_)));
        }
    }

    /// Making room (as the reader does once it knows about how many rows
    /// a file has) changes no code and no string.
    #[test]
    fn reserving_room_changes_nothing() {
        let cells = random_cells(11, 20_000);
        let (mut plain, mut reserved) = (TextBuilder::default(), TextBuilder::default());
        for (row, cell) in cells.iter().enumerate() {
            if row == 1000 {
                reserved.reserve(19_000);
            }
            for b in [&mut plain, &mut reserved] {
                match cell {
                    Some(bytes) => b.push_bytes(bytes),
                    None => b.push_missing(),
                }
            }
        }
        assert_eq!(reserved.finish(0), plain.finish(0));
    }

    #[test]
    fn not_kept_is_all_missing() {
        let t = Text::not_kept(3, 1);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![None, None, None]);
        assert_eq!((t.numeric(), t.is_kept(), t.present()), (1, false, 0));
    }
}
