//! CSV and TSV (any one-byte delimiter): the header row, then every row
//! into a `Sink`; the text decoded from the file's encoding (a byte-order
//! mark removed); ragged rows and a quote that is never closed are errors
//! at their line.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use encoding_rs_io::DecodeReaderBytesBuilder;

use super::error::{TableError, TableErrorKind};
use super::options::{Encoding, ReadOptions};
use super::records::{Position, Record, Records};
use super::source::{ContentHasher, Hashed};
use super::{Sink, trim};
use crate::cancel::Cancel;

/// Rows between two checks of the cancellation flag.
pub(super) const CHECK_EVERY: u64 = 4096;

/// Rows read before the sink is told how many to expect in all.
const ESTIMATE_AFTER: u64 = 1000;

/// The file's bytes as UTF-8 (or, for UTF-8 files, as they are: invalid
/// bytes are shown lossily later), without a byte-order mark. Opening the
/// same file twice gives the same bytes, so byte offsets agree. The file's
/// own bytes are hashed into `hasher`, when given, as they are read.
pub(super) fn open<'a>(
    path: &Path,
    encoding: Encoding,
    hasher: Option<&'a mut ContentHasher>,
) -> Result<Box<dyn Read + 'a>, TableError> {
    let file = File::open(path)
        .map_err(|e| TableError::new(path, None, TableErrorKind::Open(Arc::new(e))))?;
    let mut file = Hashed::new(file, hasher);
    let mut start = Vec::with_capacity(3);
    if encoding == Encoding::Utf8 {
        // Most files: UTF-8 without a UTF-16 byte-order mark, read as they
        // are, straight from the file (the decoder would copy every byte,
        // in small reads); a UTF-8 byte-order mark is dropped here, as the
        // decoder drops it.
        (&mut file)
            .take(3)
            .read_to_end(&mut start)
            .map_err(|e| read_error(path, e))?;
        if !start.starts_with(&[0xFF, 0xFE]) && !start.starts_with(&[0xFE, 0xFF]) {
            if start == [0xEF, 0xBB, 0xBF] {
                start.clear();
            }
            return Ok(Box::new(io::Cursor::new(start).chain(file)));
        }
    }
    let source = io::Cursor::new(start).chain(file);
    let mut builder = DecodeReaderBytesBuilder::new();
    builder.strip_bom(true);
    match encoding {
        // A UTF-16 byte-order mark still switches to UTF-16.
        Encoding::Utf8 => builder.utf8_passthru(true),
        Encoding::Windows1252 => builder.encoding(Some(encoding_rs::WINDOWS_1252)),
    };
    Ok(Box::new(builder.build(source)))
}

fn read_error(path: &Path, err: io::Error) -> TableError {
    TableError::new(path, None, TableErrorKind::Read(Arc::new(err)))
}

/// The records of a delimited file (its bytes hashed into `hasher`).
fn records<'a>(
    path: &Path,
    options: &ReadOptions,
    delimiter: u8,
    hasher: Option<&'a mut ContentHasher>,
) -> Result<Records<Box<dyn Read + 'a>>, TableError> {
    Ok(Records::new(
        open(path, options.encoding, hasher)?,
        delimiter,
    ))
}

/// The header's column names (trimmed; an empty one becomes `column_N`).
pub(super) fn header(
    path: &Path,
    options: &ReadOptions,
    delimiter: u8,
) -> Result<Vec<String>, TableError> {
    let mut records = records(path, options, delimiter, None)?;
    if records.next().map_err(|e| read_error(path, e))?.is_none() {
        return Err(empty(path));
    }
    names(path, &records.record())
}

fn empty(path: &Path) -> TableError {
    TableError::new(path, None, TableErrorKind::Empty("no header row"))
}

fn names(path: &Path, header: &Record<'_>) -> Result<Vec<String>, TableError> {
    let mut fields = header.iter();
    if header.len() == 0 || (header.len() == 1 && fields.next().is_some_and(|f| trim(f).is_empty()))
    {
        return Err(empty(path));
    }
    super::header_names(
        path,
        header
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned()),
    )
}

/// Reads every row of a delimited file into `sink` (its bytes hashed into
/// `hasher`).
pub(super) fn scan(
    path: &Path,
    options: &ReadOptions,
    delimiter: u8,
    sink: &mut dyn Sink,
    cancel: &Cancel,
    hasher: Option<&mut ContentHasher>,
) -> Result<(), TableError> {
    let mut records = records(path, options, delimiter, hasher)?;
    let next = |records: &mut Records<_>| records.next().map_err(|e| read_error(path, e));
    let Some(mut last) = next(&mut records)? else {
        return Err(empty(path));
    };
    let mut last_may_be_open = records.may_hold_an_open_quote();
    let header = names(path, &records.record())?;
    let expected = header.len();
    for name in header {
        sink.column(name);
    }
    let mut count = RowCount {
        path,
        options,
        delimiter,
        expected,
        rows: 0,
        first: None,
    };
    let batch_rows = sink.batch_rows();
    loop {
        // Plain rows the buffer holds, where they are, a batch at a time.
        if batch_rows > 0 {
            let mut taken = 0;
            while taken < batch_rows
                && let Some((position, fields)) = records.next_batched()
            {
                count.row(&position, fields, sink, cancel)?;
                taken += 1;
                last = position;
                last_may_be_open = false;
            }
            if taken > 0 {
                sink.byte_rows(&records.batch(expected))
                    .map_err(|e| output_error(path, last.line, e))?;
                records.clear_batch();
                if sink.done() {
                    return Ok(());
                }
                continue;
            }
        }
        // The rest (and every row of a sink that takes them one by one):
        // a row that needs more bytes read, or `csv_core`.
        let Some(position) = next(&mut records)? else {
            break;
        };
        let record = records.record();
        count.row(&position, record.len(), sink, cancel)?;
        sink.byte_row(position.line, &record)
            .map_err(|e| output_error(path, position.line, e))?;
        if sink.done() {
            // The rest was checked by an earlier pass (or is not wanted).
            return Ok(());
        }
        last = position;
        last_may_be_open = records.may_hold_an_open_quote();
    }
    // Only the last row (or the header) can hold a quote that never closes:
    // it runs to the end of the file. Read again only when it may (most
    // files end with a plain record; the second read is from its start).
    if last_may_be_open && let Some(opened) = unclosed_quote(path, options, delimiter, &last)? {
        return Err(unterminated(path, opened));
    }
    Ok(())
}

/// The rows of a file read so far, each checked as it comes.
struct RowCount<'a> {
    path: &'a Path,
    options: &'a ReadOptions,
    delimiter: u8,
    /// Fields per row: the header's.
    expected: usize,
    rows: u64,
    /// Where the first row starts.
    first: Option<u64>,
}

impl RowCount<'_> {
    /// Counts the row at `position`, of `fields` fields: an error when it
    /// is ragged, or when the read is cancelled; after the first rows, the
    /// sink hears how many to expect.
    fn row(
        &mut self,
        position: &Position,
        fields: usize,
        sink: &mut dyn Sink,
        cancel: &Cancel,
    ) -> Result<(), TableError> {
        let path = self.path;
        let first = *self.first.get_or_insert(position.byte);
        if fields != self.expected {
            // A quote that never closes swallows the rest of the file into
            // one row (the last), whose length is then wrong: say what
            // really is.
            if let Some(opened) = unclosed_quote(path, self.options, self.delimiter, position)? {
                return Err(unterminated(path, opened));
            }
            return Err(TableError::new(
                path,
                Some(position.line),
                TableErrorKind::Ragged {
                    found: fields as u64,
                    expected: self.expected as u64,
                },
            ));
        }
        self.rows += 1;
        if self.rows == ESTIMATE_AFTER {
            expect_rows(path, sink, first, position.byte, self.rows);
        }
        if self.rows.is_multiple_of(CHECK_EVERY) && cancel.is_cancelled() {
            return Err(TableError::new(path, None, TableErrorKind::Interrupted));
        }
        Ok(())
    }
}

/// Tells `sink` about how many rows the file has: as many as its size
/// holds, at the size of the `rows` rows from byte `first` to byte `now`
/// (and a little more; a file read through a decoder is about as long).
fn expect_rows(path: &Path, sink: &mut dyn Sink, first: u64, now: u64, rows: u64) {
    let Ok(size) = std::fs::metadata(path).map(|m| m.len()) else {
        return;
    };
    let per_row = (now - first) / (rows - 1);
    if let Some(expected) = size.checked_div(per_row) {
        sink.expect_rows((expected + expected / 16) as usize);
    }
}

pub(super) fn output_error(path: &Path, line: u64, err: io::Error) -> TableError {
    TableError::new(path, Some(line), TableErrorKind::Output(Arc::new(err)))
}

fn unterminated(path: &Path, line: u64) -> TableError {
    TableError::new(path, Some(line), TableErrorKind::UnterminatedQuote)
}

/// Reads the record at `from` again, as the CSV parser does (a quote opens
/// a quoted field only at the start of a field; `""` inside one is a
/// quote), and gives the line where a quoted field opened that is still
/// open at the end of the file; `None` when the record ends (a line end
/// outside quotes) or every quote closes.
fn unclosed_quote(
    path: &Path,
    options: &ReadOptions,
    delimiter: u8,
    from: &Position,
) -> Result<Option<u64>, TableError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut source = open(path, options.encoding, None)?;
    io::copy(&mut (&mut source).take(from.byte), &mut io::sink())
        .map_err(|e| read_error(path, e))?;
    let mut state = State::FieldStart;
    let mut line = from.line;
    let mut opened = line;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(path, e)),
        };
        for &b in &buf[..n] {
            state = match (state, b) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (State::FieldStart, b'"') => {
                    opened = line;
                    State::Quoted
                }
                // The record ends here: its quotes all closed.
                (_, b'\n' | b'\r') => return Ok(None),
                (_, b) if b == delimiter => State::FieldStart,
                _ => State::Unquoted,
            };
            if b == b'\n' {
                line += 1;
            }
        }
    }
    Ok((state == State::Quoted).then_some(opened))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line where a quote opened that never closes, in the record that
    /// starts after the header line.
    fn check(text: &str) -> Option<u64> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.csv");
        std::fs::write(&path, text).unwrap();
        let from = Position {
            byte: text.find('\n').unwrap() as u64 + 1,
            line: 2,
        };
        unclosed_quote(&path, &ReadOptions::new(), b',', &from).unwrap()
    }

    /// A UTF-8 file is read straight from the file; the bytes are those the
    /// decoder gives (byte-order marks dropped, UTF-16 still decoded).
    #[test]
    fn utf8_files_read_as_the_decoder_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.csv");
        let cases: [&[u8]; 12] = [
            b"",
            b"a",
            b"ab",
            b"\xef\xbb",
            b"\xef\xbb\xbf",
            b"\xef\xbb\xbfa,b\n1,2\n",
            b"a,b\r\nK\xf6ln,\xff\xfe\n",
            b"\xff",
            b"\xff\xfea\x00,\x00b\x00\n\x00",
            b"\xfe\xff\x00a\x00,\x00b",
            b"\xef\xbb\xbf\xef\xbb\xbfa",
            b"\xfe",
        ];
        for bytes in cases {
            std::fs::write(&path, bytes).unwrap();
            let mut ours = Vec::new();
            open(&path, Encoding::Utf8, None)
                .unwrap()
                .read_to_end(&mut ours)
                .unwrap();
            let mut decoder = DecodeReaderBytesBuilder::new()
                .strip_bom(true)
                .utf8_passthru(true)
                .build(File::open(&path).unwrap());
            let mut theirs = Vec::new();
            decoder.read_to_end(&mut theirs).unwrap();
            assert_eq!(ours, theirs, "{bytes:?}");
        }
    }

    #[test]
    fn quotes_that_close_and_quotes_that_do_not() {
        assert_eq!(check("a,b\n1,\"x\ny\"\n"), None);
        assert_eq!(check("a,b\n1,\"say \"\"hi\"\"\"\n"), None);
        assert_eq!(
            check("a,b\n1,ab\"c\n"),
            None,
            "a quote inside a field is text"
        );
        assert_eq!(check("a,b\n1,\"x\"y\n"), None);
        assert_eq!(check("t,v\n1,\"abc\n2,3\n"), Some(2));
        assert_eq!(check("t,v\n1,\"a\nb\n3,c\n"), Some(2));
        assert_eq!(check("t,v\n1,\"a\nb\n3,\"c\n"), None, "closed at `3,\"`");
        assert_eq!(check("t,v\r\n3,\"a\"\"\r\n"), Some(2));
        // A later record's quote is that record's problem, not this one's.
        assert_eq!(check("t,v\n1,2\n3,\"x\n"), None);
    }

    /// `scan` reads the last record again only when `Records` says it may
    /// hold an open quote: never when it does not. Every text of up to
    /// four pieces, in every buffer size that splits them differently.
    #[test]
    fn the_last_record_is_checked_whenever_a_quote_may_be_open() {
        let pieces = [
            "a", "\"x", "\"x\"", ",", "\n", "\r\n", "\"\"", "\"a,b\"", "\r",
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.csv");
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend(longer);
        }
        texts.sort();
        texts.dedup();
        let (mut unclosed, mut checked) = (0, 0);
        for text in &texts {
            std::fs::write(&path, format!("h\n{text}")).unwrap();
            for chunk in [1, 3, 1 << 18] {
                let source = open(&path, Encoding::Utf8, None).unwrap();
                let mut records = Records::with_buffer(source, b',', chunk);
                let (mut last, mut may_be_open) = (None, false);
                while let Some(position) = records.next().unwrap() {
                    last = Some(position);
                    may_be_open = records.may_hold_an_open_quote();
                }
                let last = last.unwrap();
                let opened = unclosed_quote(&path, &ReadOptions::new(), b',', &last).unwrap();
                assert!(opened.is_none() || may_be_open, "{text:?}, chunk {chunk}");
                unclosed += usize::from(opened.is_some());
                checked += usize::from(may_be_open);
            }
        }
        assert!(
            unclosed > 100 && checked < texts.len() * 3,
            "{unclosed} unclosed, {checked} checked"
        );
    }
}
