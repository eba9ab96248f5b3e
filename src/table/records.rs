//! Splits delimited text into records exactly as the `csv` crate does
//! (`csv_core`: a quote opens a quoted field only at a field's start, `""`
//! inside one is a quote, `\r`, `\n` and `\r\n` end a record, blank lines
//! are skipped): plain records (whole quoted fields allowed, no bare `\r`)
//! are found 64 bytes at a time (a mask each of delimiters, line ends and
//! quotes; a record starts in the block the one before ended in) and
//! handed over in place, in a large buffer; every other record goes
//! through `csv_core` itself.

use std::io::{self, Read};

use memchr::{memchr, memchr2};

mod masks;

use masks::{BLOCK, Finder, Masks};

/// Bytes read at a time (more when one record is longer).
const CHUNK: usize = 1 << 18;

/// The most bytes a record may have: fields' bounds are 32 bits (which
/// keeps a batch's bounds half as large: 1% of the realworld plot job's
/// CPU), and the buffer, which grows to hold a whole record, doubles.
const MAX_RECORD: usize = 1 << 31;

/// Bytes read first: the buffer doubles at each read up to `CHUNK`, so
/// that a reader that stops early (a file's header, the first rows of a
/// column that turned text) reads and zeroes a few pages, not a quarter
/// of a megabyte (that cost 1.7% of the realworld plot job's CPU).
const FIRST_CHUNK: usize = 1 << 14;

/// A UTF-8 byte-order mark, which `csv_core` drops at the start of the text.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Where a record starts: the offset of its first byte in the text and its
/// line (1 + the `\n` before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    /// Bytes of the text before the record.
    pub(super) byte: u64,
    /// The record's first line.
    pub(super) line: u64,
}

/// The fields of one record.
pub(crate) struct Record<'a> {
    /// The bytes the fields are in.
    bytes: &'a [u8],
    /// Where each field starts and ends in `bytes`.
    bounds: &'a [(u32, u32)],
}

impl<'a> Record<'a> {
    /// How many fields.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Appends the record's bytes (from its first field's start to its last
    /// field's end, in one copy) to `bytes`, and its fields' bounds in
    /// `bytes` to `bounds` (32 bits each, so that a batch's bounds stay in
    /// the cache); `false`, and nothing appended, when they would not fit
    /// in 32 bits.
    pub(crate) fn copy_into(&self, bytes: &mut Vec<u8>, bounds: &mut Vec<(u32, u32)>) -> bool {
        let (Some(first), Some(last)) = (self.bounds.first(), self.bounds.last()) else {
            return true;
        };
        // Fields are in order, each after the one before.
        let (first, last) = (
            (first.0 as usize, first.1 as usize),
            (last.0 as usize, last.1 as usize),
        );
        let Ok(end) = u32::try_from(bytes.len() + (last.1 - first.0)) else {
            return false;
        };
        let shift = bytes.len() as isize - first.0 as isize;
        bytes.extend_from_slice(&self.bytes[first.0..last.1]);
        let at = |i: u32| (i as usize).wrapping_add_signed(shift) as u32;
        bounds.extend(self.bounds.iter().map(|&(start, end)| (at(start), at(end))));
        debug_assert!(bounds.last().is_none_or(|b| b.1 <= end));
        true
    }

    /// Every field, in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + use<'a> {
        let bytes = self.bytes;
        self.bounds
            .iter()
            .map(move |&(start, end)| &bytes[start as usize..end as usize])
    }
}

/// Plain records read one after the other without the buffer moving,
/// their fields where they are in it (`Records::next_batched`): a sink
/// takes their cells a column at a time, copying nothing.
pub(crate) struct RecordBatch<'a> {
    /// The bytes the fields are in.
    bytes: &'a [u8],
    /// Where each field starts and ends in `bytes`, record by record.
    bounds: &'a [(u32, u32)],
    /// Fields per record.
    width: usize,
}

impl<'a> RecordBatch<'a> {
    /// How many records.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len().checked_div(self.width).unwrap_or(0)
    }

    /// Field `field` of record `record`.
    #[inline(always)]
    pub(crate) fn field(&self, record: usize, field: usize) -> &'a [u8] {
        let (start, end) = self.bounds[record * self.width + field];
        &self.bytes[start as usize..end as usize]
    }

    /// Record `record`.
    pub(crate) fn record(&self, record: usize) -> Record<'a> {
        Record {
            bytes: self.bytes,
            bounds: &self.bounds[record * self.width..(record + 1) * self.width],
        }
    }
}

/// How the fast path ended with a record.
enum Fast {
    /// A record, ending (its terminator included) at this offset.
    Record(usize),
    /// The buffer ends inside the record: read more, then try again.
    More,
    /// A record `csv_core` must read.
    Slow,
}

/// Reads the records of a text, one at a time.
pub(super) struct Records<R> {
    source: R,
    delimiter: u8,
    finder: Finder,
    /// Whether the fast path may be used (a delimiter other than a quote or
    /// a line end).
    fast: bool,
    buf: Vec<u8>,
    /// The size `buf` grows to at its reads (it grows beyond only for a
    /// record longer than it).
    chunk: usize,
    /// The size neither `buf` nor `out` may grow beyond (`MAX_RECORD`;
    /// less in tests): a longer record is an error.
    most: usize,
    /// The next byte to read in `buf`.
    start: usize,
    /// The end of the bytes read into `buf`.
    filled: usize,
    /// Whether the source has no more bytes.
    eof: bool,
    /// Whether `buf[..filled]` holds a `\r` (else no record needs a look
    /// for a bare one).
    has_cr: bool,
    /// Bytes of the text before `buf[0]`.
    offset: u64,
    /// A full block of `buf` the fast path looked at last and its masks,
    /// where the record after it may start (until the buffer moves).
    block: Option<(usize, Masks)>,
    /// The line of `buf[start]`.
    line: u64,
    /// Whether the first bytes were read (and a byte-order mark dropped).
    started: bool,
    core: csv_core::Reader,
    /// The current record's fields, in `buf` (fast path) or in `out`; or
    /// those of the records of a batch, in `buf`.
    bounds: Vec<(u32, u32)>,
    /// Whether `bounds` are those of a batch (`next_batched`).
    in_batch: bool,
    /// Whether the current record is in `out`.
    slow: bool,
    /// Whether the current record was read by `csv_core` up to the end of
    /// the text, where a quoted field may still be open.
    slow_to_end: bool,
    /// `csv_core`'s output: the fields, one after the other, and their ends.
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: Read> Records<R> {
    /// Records of `source`, fields separated by `delimiter`.
    pub(super) fn new(source: R, delimiter: u8) -> Records<R> {
        Records::growing(source, delimiter, FIRST_CHUNK, CHUNK)
    }

    /// The same, reading `chunk` bytes at a time.
    #[cfg(test)]
    pub(super) fn with_buffer(source: R, delimiter: u8, chunk: usize) -> Records<R> {
        Records::growing(source, delimiter, chunk, chunk)
    }

    /// The same, reading `first` bytes first, the buffer doubling at each
    /// read up to `chunk`.
    fn growing(source: R, delimiter: u8, first: usize, chunk: usize) -> Records<R> {
        let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        // A blank line leaves csv_core at the start of a record, and from
        // now on it no longer looks for a byte-order mark (that is done
        // here, at the start of the text only).
        let (mut out, mut ends) = ([0u8; 1], [0usize; 1]);
        core.read_record(b"\n", &mut out, &mut ends);
        Records {
            source,
            delimiter,
            finder: Finder::new(delimiter),
            fast: !matches!(delimiter, b'"' | b'\n' | b'\r'),
            buf: vec![0; first],
            chunk,
            most: MAX_RECORD,
            start: 0,
            filled: 0,
            eof: false,
            has_cr: false,
            offset: 0,
            block: None,
            line: 1,
            started: false,
            core,
            bounds: Vec::new(),
            in_batch: false,
            slow: false,
            slow_to_end: false,
            out: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// The record `next` read last (until `next_batched` is called).
    pub(super) fn record(&self) -> Record<'_> {
        Record {
            bytes: if self.slow { &self.out } else { &self.buf },
            bounds: &self.bounds,
        }
    }

    /// Whether the record read last may hold a quote that never closes:
    /// only one that `csv_core` read to the end of the text can (the fast
    /// path takes a quoted field only when it closes).
    pub(super) fn may_hold_an_open_quote(&self) -> bool {
        self.slow && self.slow_to_end
    }

    /// Reads the next record (then `record` has it); `None` at the end.
    /// The records of a batch (`next_batched`) are forgotten.
    pub(super) fn next(&mut self) -> io::Result<Option<Position>> {
        if !self.started {
            self.started = true;
            self.fill()?;
            if self.buf[..self.filled].starts_with(BOM) {
                self.start = BOM.len();
            }
        }
        // Blank lines (and line ends left by the record before).
        loop {
            self.skip_blank_lines();
            if self.start < self.filled {
                break;
            }
            if self.eof {
                return Ok(None);
            }
            self.fill()?;
        }
        let position = self.position();
        self.in_batch = false;
        loop {
            self.bounds.clear();
            match self.fast_record() {
                Fast::Record(end) => {
                    self.take(end);
                    return Ok(Some(position));
                }
                Fast::More => self.fill()?,
                Fast::Slow => {
                    self.slow_record()?;
                    return Ok(Some(position));
                }
            }
        }
    }

    /// Reads the next record into the batch (after the records before it,
    /// which stay where they are) when that needs neither more bytes read
    /// nor `csv_core`: its position and how many fields it has. `None`
    /// leaves the record (and the batch) as they were, for `next`.
    pub(super) fn next_batched(&mut self) -> Option<(Position, usize)> {
        if !self.started {
            return None;
        }
        if !self.in_batch {
            // The record `next` read last is the caller's no longer.
            self.bounds.clear();
            self.in_batch = true;
        }
        self.skip_blank_lines();
        if self.start == self.filled {
            return None;
        }
        let position = self.position();
        let before = self.bounds.len();
        match self.fast_record() {
            Fast::Record(end) => {
                self.take(end);
                Some((position, self.bounds.len() - before))
            }
            Fast::More | Fast::Slow => {
                self.bounds.truncate(before);
                None
            }
        }
    }

    /// The records `next_batched` read since the last `next`, each of
    /// `width` fields (any other makes the batch empty).
    pub(super) fn batch(&self, width: usize) -> RecordBatch<'_> {
        let whole = self.in_batch && width > 0 && self.bounds.len().is_multiple_of(width);
        RecordBatch {
            bytes: &self.buf,
            bounds: if whole { &self.bounds } else { &[] },
            width,
        }
    }

    /// Forgets the records of the batch.
    pub(super) fn clear_batch(&mut self) {
        if self.in_batch {
            self.bounds.clear();
        }
    }

    /// Moves past blank lines (and line ends left by the record before).
    fn skip_blank_lines(&mut self) {
        while self.start < self.filled && matches!(self.buf[self.start], b'\n' | b'\r') {
            self.line += u64::from(self.buf[self.start] == b'\n');
            self.start += 1;
        }
    }

    /// Where the record at `start` is.
    fn position(&self) -> Position {
        Position {
            byte: self.offset + self.start as u64,
            line: self.line,
        }
    }

    /// Takes the plain record at `start`, which ends at `end`.
    fn take(&mut self, end: usize) {
        self.line += u64::from(self.buf[end - 1] == b'\n');
        self.start = end;
        self.slow = false;
    }

    /// Keeps the unread bytes, at the start of the buffer, and reads more
    /// after them (the buffer doubles when they fill it).
    fn fill(&mut self) -> io::Result<()> {
        self.block = None;
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.offset += self.start as u64;
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.buf.len() || self.buf.len() < self.chunk {
            self.buf
                .resize(self.grown(self.buf.len(), self.buf.len() * 2)?, 0);
        }
        while !self.eof && self.filled < self.buf.len() {
            match self.source.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.has_cr = memchr(b'\r', &self.buf[..self.filled]).is_some();
        Ok(())
    }

    /// The record at `start` if it is plain: fields of bytes other than the
    /// delimiter, a quote and a line end, or quoted without a quote or line
    /// end inside; ended by `\n`, `\r\n` or the end of the text. Its
    /// fields' bounds are appended to `bounds` (also when it is not plain).
    fn fast_record(&mut self) -> Fast {
        if !self.fast {
            return Fast::Slow;
        }
        let text = &self.buf[..self.filled];
        let finder = self.finder;
        let bounds = &mut self.bounds;
        // The field being read starts at `field`; the block at `at` is the
        // one looked at, its bits before `field` clear. The record before
        // ended in the block it left (when it left one): usually this one
        // starts there too.
        let mut field = self.start;
        let (mut at, mut masks) = match self.block.take() {
            Some((at, masks)) if (at..at + BLOCK).contains(&field) => (at, masks.from(field - at)),
            _ if field < text.len() => (field, finder.find_at(text, field)),
            _ => (field, Masks::default()),
        };
        loop {
            if at >= text.len() {
                // The end of the bytes read, inside the record.
                if !self.eof {
                    return Fast::More;
                }
                let end = strip_cr(text, field, text.len());
                bounds.push((field as u32, end as u32));
                return self.plain(end, text.len());
            }
            // The bits before the first line end.
            let newline = masks.newlines.trailing_zeros() as usize;
            let before = masks.before(newline);
            if before.quotes == 0 {
                let mut delimiters = before.delimiters;
                while delimiters != 0 {
                    let i = at + delimiters.trailing_zeros() as usize;
                    delimiters &= delimiters - 1;
                    bounds.push((field as u32, i as u32));
                    field = i + 1;
                }
                if newline < BLOCK {
                    let i = at + newline;
                    if at + BLOCK <= text.len() {
                        self.block = Some((at, masks));
                    }
                    let end = strip_cr(text, field, i);
                    bounds.push((field as u32, end as u32));
                    return self.plain(end, i + 1);
                }
                at += BLOCK;
                if at < text.len() {
                    masks = finder.find_at(text, at);
                }
                continue;
            }
            // A quote: plain only as a whole quoted field.
            let quote = before.quotes.trailing_zeros() as usize;
            let mut delimiters = before.before(quote).delimiters;
            while delimiters != 0 {
                let i = at + delimiters.trailing_zeros() as usize;
                delimiters &= delimiters - 1;
                bounds.push((field as u32, i as u32));
                field = i + 1;
            }
            let i = at + quote;
            if i != field {
                return Fast::Slow;
            }
            let close = match memchr2(b'"', b'\n', &text[i + 1..]) {
                Some(n) if text[i + 1 + n] == b'"' => i + 1 + n,
                Some(_) => return Fast::Slow,
                None if self.eof => return Fast::Slow,
                None => return Fast::More,
            };
            bounds.push(((i + 1) as u32, close as u32));
            match text.get(close + 1) {
                Some(&b) if b == self.delimiter => {
                    field = close + 2;
                    at = field;
                    if at < text.len() {
                        masks = finder.find_at(text, at);
                    }
                }
                Some(b'\n') => return self.plain(close, close + 2),
                Some(b'\r') => match text.get(close + 2) {
                    Some(b'\n') => return self.plain(close, close + 3),
                    None if !self.eof => return Fast::More,
                    _ => return Fast::Slow,
                },
                None if self.eof => return self.plain(close, close + 1),
                None => return Fast::More,
                Some(_) => return Fast::Slow,
            }
        }
    }

    /// A record found plain, whose fields end at `last` and which ends at
    /// `end`: plain indeed unless a `\r` before `last` ends it earlier (or
    /// is in a quoted field: `csv_core` reads those).
    fn plain(&self, last: usize, end: usize) -> Fast {
        if self.has_cr && memchr(b'\r', &self.buf[self.start..last]).is_some() {
            return Fast::Slow;
        }
        Fast::Record(end)
    }

    /// The new size of a buffer of `len` bytes that should grow to `size`:
    /// at most `most`; an error when it is that large already (the record
    /// in it is longer).
    fn grown(&self, len: usize, size: usize) -> io::Result<usize> {
        if len >= self.most {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "line {}: a record of more than {} bytes, more than runner reads",
                    self.line, self.most,
                ),
            ));
        }
        Ok(size.min(self.most))
    }

    /// Reads the record at `start` with `csv_core`.
    fn slow_record(&mut self) -> io::Result<()> {
        use csv_core::ReadRecordResult;
        self.core.set_line(self.line);
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            // A call with no input left ends the record at the end of the
            // text (a line end would have ended it before).
            self.slow_to_end = self.eof && self.start == self.filled;
            if out_len == self.out.len() {
                self.out.resize(
                    self.grown(self.out.len(), (self.out.len() * 2).max(1024))?,
                    0,
                );
            }
            if ends_len == self.ends.len() {
                self.ends.resize((self.ends.len() * 2).max(64), 0);
            }
            let (result, read, written, ended) = self.core.read_record(
                &self.buf[self.start..self.filled],
                &mut self.out[out_len..],
                &mut self.ends[ends_len..],
            );
            self.start += read;
            out_len += written;
            ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty if !self.eof => self.fill()?,
                // At the end of the text, the next call (with no input)
                // ends the record.
                ReadRecordResult::InputEmpty
                | ReadRecordResult::OutputFull
                | ReadRecordResult::OutputEndsFull => {}
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        self.line = self.core.line();
        self.bounds.clear();
        let mut start = 0;
        for &end in &self.ends[..ends_len] {
            self.bounds.push((start as u32, end as u32));
            start = end;
        }
        self.slow = true;
        Ok(())
    }
}

/// The end of a field that ends at `end`, before a line end: without the
/// `\r` of a `\r\n`.
fn strip_cr(text: &[u8], field: usize, end: usize) -> usize {
    if end > field && text[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records as the `csv` crate reads them (its reader as `runner` used
    /// it before), and the line each starts on.
    fn by_csv(text: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let mut records = Vec::new();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap() {
            records.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        records
    }

    /// A reader that gives at most `step` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn by_us(
        source: impl Read,
        delimiter: u8,
        (first, chunk): (usize, usize),
    ) -> Vec<(Position, Vec<Vec<u8>>)> {
        let mut records = Records::growing(source, delimiter, first, chunk);
        let mut out = Vec::new();
        while let Some(position) = records.next().unwrap() {
            out.push((
                position,
                records.record().iter().map(<[u8]>::to_vec).collect(),
            ));
        }
        out
    }

    /// `by_us` as the table reader reads: plain records in batches of up
    /// to `batch` where the buffer has them (`next_batched`), the others
    /// one by one.
    fn by_us_batched(
        source: impl Read,
        delimiter: u8,
        (first, chunk): (usize, usize),
        batch: usize,
    ) -> Vec<(Position, Vec<Vec<u8>>)> {
        let mut records = Records::growing(source, delimiter, first, chunk);
        let mut out = Vec::new();
        loop {
            let mut widths = Vec::new();
            while widths.len() < batch
                && let Some((position, fields)) = records.next_batched()
            {
                widths.push((position, fields));
            }
            if !widths.is_empty() {
                let mut at = 0;
                for (position, fields) in widths {
                    let record = Record {
                        bytes: &records.buf,
                        bounds: &records.bounds[at..at + fields],
                    };
                    out.push((position, record.iter().map(<[u8]>::to_vec).collect()));
                    at += fields;
                }
                assert_eq!(at, records.bounds.len());
                records.clear_batch();
                continue;
            }
            let Some(position) = records.next().unwrap() else {
                break;
            };
            out.push((
                position,
                records.record().iter().map(<[u8]>::to_vec).collect(),
            ));
        }
        out
    }

    /// The same records as the `csv` crate, read whole or a few bytes at a
    /// time (records across buffer refills), with a small buffer too; each
    /// record's position is where its first byte is.
    fn check(text: &[u8], delimiter: u8) {
        check_sizes(
            text,
            delimiter,
            &[
                (usize::MAX, FIRST_CHUNK, CHUNK),
                (1, 4, 4),
                (3, 5, 5),
                (7, 8, 8),
                (5, 16, 16),
                (3, 4, 64),
            ],
        );
    }

    /// `check`, reading `step` bytes at a time into a buffer of `first`
    /// bytes that doubles at each read up to `chunk`.
    fn check_sizes(text: &[u8], delimiter: u8, sizes: &[(usize, usize, usize)]) {
        let expected = by_csv(text, delimiter);
        for &(step, first, chunk) in sizes {
            let chunk = (first, chunk);
            let ours = by_us(Trickle(text, step), delimiter, chunk);
            for batch in [1, 3, 128] {
                let batched = by_us_batched(Trickle(text, step), delimiter, chunk, batch);
                assert_eq!(
                    batched,
                    ours,
                    "{:?} batches of {batch}",
                    String::from_utf8_lossy(text)
                );
            }
            let fields: Vec<_> = ours.iter().map(|(_, f)| f.clone()).collect();
            assert_eq!(
                fields,
                expected,
                "{:?} step {step}",
                String::from_utf8_lossy(text)
            );
            for (position, _) in &ours {
                let at = position.byte as usize;
                let lines = text[..at].iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(position.line, lines + 1, "{text:?}");
                assert!(!matches!(text[at], b'\n' | b'\r'), "{text:?} at {at}");
            }
        }
    }

    #[test]
    fn records_are_those_of_the_csv_crate() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n\n\r\n",
            b"a,b\n1,2\n",
            b"a,b\n1,2",
            b"a,b\r\n1,2\r\n\r\n3,4",
            b"a,b\r1,2\r3,4\r",
            b"a,b\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",x\n",
            b"a,b\n1,ab\"c\n2,\"x\"y\n3,\"x\" ,z\n",
            b"a,b\n1,\"abc\n2,3\n",
            b"a,b\n1,\"abc\"",
            b"a,b\n1,\"abc\"\r",
            b"a,b\n1,\"abc\"\r\n2,\"\"\n",
            b"a,b\n1,\"a\rb\"\n2,x\ry\n",
            b"\xef\xbb\xbfa,b\n1,2\n",
            b"\xef\xbb\xbf\xef\xbb\xbfa,b\n1,2\n",
            b"a\n\xef\xbb\xbfb\n",
            b"a,b\n1\n1,2,3\n,\n,,\n \n",
            b"\"a\",\"b\"\n\"1\",\"2\"\n",
            b"a,b\n\"\",\"\"\n\",\",\"\n\"\n",
        ];
        for text in cases {
            check(text, b',');
        }
        check(b"a;b\n1,5;\"x;y\"\n", b';');
        check(b"a\tb\n1\t\"2\"\n", b'\t');
        check(b"a\"b\n1\"2\n", b'"');
    }

    /// Random texts of the bytes that matter: the same records as the `csv`
    /// crate, whatever the order of quotes, delimiters and line ends.
    #[test]
    fn random_texts_read_as_the_csv_crate_reads_them() {
        let alphabet = b"ab,,,\"\"\n\r \xef";
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut random = move || {
            seed = crate::test_rng::xorshift(seed);
            seed
        };
        for _ in 0..3000 {
            let len = (random() % 40) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(random() % alphabet.len() as u64) as usize])
                .collect();
            check(&text, b',');
        }
    }

    /// Longer random texts, mostly plain records of a few fields: records
    /// that cross blocks, start where the record before ended (in the block
    /// it left) and cross the ends of small buffers.
    #[test]
    fn long_random_texts_read_as_the_csv_crate_reads_them() {
        let alphabet = b"abcdefghijk,,,,,\"\n\n\r \xef";
        let mut seed: u64 = 0x51_7CC1_B727_220A;
        let mut random = move || {
            seed = crate::test_rng::xorshift(seed);
            seed
        };
        for _ in 0..600 {
            let len = (random() % 400) as usize;
            let quotes = random() % 4 == 0;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(random() % alphabet.len() as u64) as usize])
                .filter(|&b| quotes || b != b'"')
                .collect();
            check_sizes(
                &text,
                b',',
                &[
                    (usize::MAX, FIRST_CHUNK, CHUNK),
                    (17, 64, 64),
                    (64, 65, 65),
                    (5, 100, 100),
                    (200, 128, 128),
                    (9, 16, 512),
                ],
            );
        }
    }

    /// Records whose delimiters, quotes and line ends fall on every byte
    /// around the ends of blocks (64 bytes) and of the buffer.
    #[test]
    fn bytes_that_matter_at_the_ends_of_blocks() {
        let templates = [
            "{x}\n{y}\n",
            "{x},{y}\r\n{y},{x}",
            "{x},\"{y}\"\n\"{x}\",{y}\r\n",
            "\"{x}\",\"a,b\"\n{y},\"\"\n",
            "{x},{y}\"z\n{y}\n",
            "{x},\"{y}\n{x}\"\n{y}",
            "{x},{y}\r{y}\n",
            "\u{feff}{x},{y}\n{y},{x}\n",
            "{x}\n\n\r\n{y},\"{x}\"",
            "{x},\"{y}\"\"q\"\n{y}\n",
        ];
        for template in templates {
            for x in 0..140 {
                for y in [0, 1, 2, 30, 61, 62, 63, 64, 65] {
                    let text = template
                        .replace("{x}", &"x".repeat(x))
                        .replace("{y}", &"y".repeat(y));
                    check_sizes(
                        text.as_bytes(),
                        b',',
                        &[
                            (usize::MAX, FIRST_CHUNK, CHUNK),
                            (64, 64, 64),
                            (7, 65, 65),
                            (100, 128, 128),
                            (100, 64, 256),
                        ],
                    );
                }
            }
        }
    }

    /// A record longer than a buffer may grow (2 GiB; 64 bytes here) is
    /// an error at its line, on the fast path and on `csv_core`'s; one
    /// that fits is read, also when it makes the buffer grow to the most.
    #[test]
    fn a_record_longer_than_the_most_is_an_error_at_its_line() {
        let read = |text: &[u8]| -> io::Result<Vec<Vec<Vec<u8>>>> {
            let mut records = Records::growing(text, b',', 4, 16);
            records.most = 64;
            let mut out = Vec::new();
            while records.next()?.is_some() {
                out.push(records.record().iter().map(<[u8]>::to_vec).collect());
            }
            Ok(out)
        };
        let field = |n: usize| "x".repeat(n);
        for long in [
            format!("a,b\n1,2\n{},y\n", field(70)),
            format!("a,b\n1,2\n\"{}\n{}\",y\n", field(30), field(40)),
        ] {
            let err = read(long.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(
                err.to_string(),
                "line 3: a record of more than 64 bytes, more than runner reads"
            );
        }
        for fits in [
            format!("a,b\n{},y\n", field(50)),
            format!("a,b\n\"{}\n{}\",y\n", field(20), field(20)),
        ] {
            let records = read(fits.as_bytes()).unwrap();
            assert_eq!(records, by_csv(fits.as_bytes(), b','));
        }
    }

    /// Records longer than the buffer: it grows.
    #[test]
    fn a_record_longer_than_the_buffer() {
        let long = "x".repeat(CHUNK + 10);
        let text = format!("a,b\n{long},\"{long}\"\n1,2\n");
        check(text.as_bytes(), b',');
    }
}
