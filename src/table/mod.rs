//! Tables: reads CSV, TSV and JSON lines files into named columns of numbers
//! or text (decided per column), for built-in steps and plots. A broken file
//! is an error that names the file and the line, never a panic.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

mod shared;
pub(crate) use shared::{SharedTables, TableRead};

/// The file formats a table can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    /// Comma-separated, header row first.
    Csv,
    /// Tab-separated, header row first.
    Tsv,
    /// One JSON object per line; keys are columns.
    JsonLines,
}

impl Format {
    /// The names `format = "..."` accepts.
    pub(crate) const NAMES: &'static [&'static str] = &["csv", "tsv", "jsonl"];

    /// The format called `name` (`csv`, `tsv`, `jsonl`, and a few aliases).
    pub(crate) fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// The format a file's extension names, if it names one.
    pub(crate) fn of_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_name)
    }

    /// The format to read `path` with: `given`, else by extension, else CSV.
    pub(crate) fn for_path(path: &Path, given: Option<Format>) -> Format {
        given
            .or_else(|| Format::of_path(path))
            .unwrap_or(Format::Csv)
    }
}

/// Checks a `format = "..."` option of a built-in step or plot.
pub(crate) fn format_option(value: Option<&toml::Value>) -> Result<Option<Format>, String> {
    match value {
        None => Ok(None),
        Some(toml::Value::String(name)) => Format::from_name(name).map(Some).ok_or_else(|| {
            format!(
                "unknown table format `{name}`; known formats: {}",
                Format::NAMES.join(", ")
            )
        }),
        Some(other) => Err(format!(
            "`format` must be a string ({}), found {}",
            Format::NAMES.join(", "),
            other.type_str()
        )),
    }
}

/// A table file that cannot be read: `file:line: what is wrong`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableError {
    /// The file.
    pub(crate) path: PathBuf,
    /// The line (1-based) where the problem is, when there is one.
    pub(crate) line: Option<u64>,
    /// What is wrong, in lowercase words.
    pub(crate) message: String,
}

impl TableError {
    fn new(path: &Path, line: Option<u64>, message: impl Into<String>) -> TableError {
        TableError {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", display(&self.path), self.message),
            None => write!(f, "{}: {}", display(&self.path), self.message),
        }
    }
}

impl From<TableError> for String {
    fn from(err: TableError) -> String {
        err.to_string()
    }
}

/// A path for messages, as it is (built-ins get absolute paths; the
/// executor shows them relative to the pipeline's root).
pub(crate) fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The stem of a file name (`alpha` for `data/alpha.csv`), lossy for names
/// that are not UTF-8.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One cell as a reader found it.
#[derive(Debug, Clone)]
pub(crate) enum Cell<'a> {
    /// No value: an absent JSON key or `null`.
    Missing,
    /// The bytes of a CSV/TSV field, as written.
    Bytes(&'a [u8]),
    /// A JSON number.
    Number(f64),
    /// A JSON string.
    Text(Cow<'a, str>),
    /// A JSON boolean, array or object, as compact JSON text: never a number.
    Other(String),
}

impl Cell<'_> {
    /// The cell as text, as it would be written back to a CSV file.
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Missing => Cow::Borrowed(""),
            Cell::Bytes(b) => String::from_utf8_lossy(b),
            Cell::Number(n) => Cow::Owned(format_number(*n)),
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Other(s) => Cow::Borrowed(s),
        }
    }
}

/// Whether a (trimmed) cell marks a missing value: empty, `NA`, `N/A`,
/// `NaN` in any case, `null`.
pub(crate) fn is_missing(cell: &[u8]) -> bool {
    matches!(cell, b"" | b"NA" | b"N/A" | b"n/a" | b"null" | b"NULL")
        || cell.eq_ignore_ascii_case(b"nan")
}

/// Exact powers of ten a double holds.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Plain decimals (`-12.375`) of at most 15 digits, the bulk of any data
/// file: the digits as an integer divided by an exact power of ten, which is
/// correctly rounded (Clinger's fast path). `None` for anything else.
fn parse_plain_decimal(cell: &[u8]) -> Option<f64> {
    let (negative, digits) = match cell.first()? {
        b'-' => (true, &cell[1..]),
        b'+' => (false, &cell[1..]),
        _ => (false, cell),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut decimals = 0usize;
    let mut point = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
                if point {
                    decimals += 1;
                }
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    let value = mantissa as f64 / POW10[decimals];
    Some(if negative { -value } else { value })
}

/// A cell as a number: `Some(NaN)` never happens (NaN is missing).
pub(crate) fn parse_number(cell: &[u8]) -> Option<f64> {
    if let Some(value) = parse_plain_decimal(cell) {
        return Some(value);
    }
    let text = std::str::from_utf8(cell).ok()?;
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// Formats a number the short way: integers without a point, others with
/// the fewest digits that read back the same, exponents when very large or
/// small. No `-0`.
pub(crate) fn format_number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let value = value + 0.0; // -0.0 -> 0.0
    if value == value.trunc() && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// What a reader hands its rows to.
pub(crate) trait Sink {
    /// A new column, in the order columns are found.
    fn column(&mut self, name: String) -> Result<(), String>;
    /// One row: one cell per column known so far, in column order.
    fn row(&mut self, line: u64, cells: &mut dyn Iterator<Item = Cell<'_>>) -> Result<(), String>;
}

/// Reads every row of a table file into `sink`. The first CSV/TSV line is the
/// header; JSON lines files get a column for every key, in order of first use.
pub(crate) fn scan(path: &Path, format: Format, sink: &mut dyn Sink) -> Result<(), TableError> {
    let file =
        File::open(path).map_err(|e| TableError::new(path, None, format!("cannot open: {e}")))?;
    match format {
        Format::Csv => scan_delimited(path, file, b',', sink),
        Format::Tsv => scan_delimited(path, file, b'\t', sink),
        Format::JsonLines => scan_json_lines(path, file, sink),
    }
}

fn scan_delimited(
    path: &Path,
    file: File,
    delimiter: u8,
    sink: &mut dyn Sink,
) -> Result<(), TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(256 * 1024)
        .from_reader(file);
    let headers = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && trim(&headers[0]).is_empty()) {
        return Err(TableError::new(
            path,
            None,
            "the file is empty: no header row",
        ));
    }
    for name in header_names(
        path,
        headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned()),
    )? {
        sink.column(name)
            .map_err(|m| TableError::new(path, Some(1), m))?;
    }
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        let mut cells = record.iter().map(Cell::Bytes);
        sink.row(line, &mut cells)
            .map_err(|m| TableError::new(path, Some(line), m))?;
    }
    Ok(())
}

/// Header names, trimmed; an empty name becomes `column_N`; a name used twice
/// is an error.
fn header_names(
    path: &Path,
    names: impl Iterator<Item = String>,
) -> Result<Vec<String>, TableError> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, name) in names.enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}').trim().to_owned();
        let name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name
        };
        if let Some(first) = seen.get(&name) {
            return Err(TableError::new(
                path,
                Some(1),
                format!(
                    "the header names column `{name}` twice (columns {} and {})",
                    first + 1,
                    i + 1
                ),
            ));
        }
        seen.insert(name.clone(), i);
        out.push(name);
    }
    Ok(out)
}

fn csv_error(path: &Path, err: csv::Error) -> TableError {
    let line = err.position().map(|p| p.line());
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "this row has {len} field{}, but the header has {expected_len}",
            if *len == 1 { "" } else { "s" }
        ),
        csv::ErrorKind::Io(e) => format!("cannot read: {e}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("not valid UTF-8: {err}"),
        _ => err.to_string(),
    };
    TableError::new(path, line, message)
}

/// A JSON object with its keys in file order.
struct JsonRow(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for JsonRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = JsonRow;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonRow, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = map.next_entry::<String, serde_json::Value>()? {
                    items.push(item);
                }
                Ok(JsonRow(items))
            }
        }
        deserializer.deserialize_map(RowVisitor)
    }
}

fn json_cell(value: &serde_json::Value) -> Cell<'_> {
    match value {
        serde_json::Value::Null => Cell::Missing,
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) => Cell::Number(f),
            None => Cell::Other(n.to_string()),
        },
        serde_json::Value::String(s) => Cell::Text(Cow::Borrowed(s)),
        other => Cell::Other(other.to_string()),
    }
}

/// serde_json's message without its " at line 1 column 7" (every line is line 1 to it).
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    format!("invalid JSON at column {}: {message}", err.column())
}

fn scan_json_lines(path: &Path, file: File, sink: &mut dyn Sink) -> Result<(), TableError> {
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut columns: HashMap<String, usize> = HashMap::new();
    let mut bytes = Vec::new();
    let mut line: u64 = 0;
    let mut rows = 0usize;
    loop {
        bytes.clear();
        let n = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| TableError::new(path, None, format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        line += 1;
        let at = Some(line);
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| TableError::new(path, at, format!("not valid UTF-8: {e}")))?;
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        if !text.starts_with('{') {
            return Err(TableError::new(
                path,
                at,
                "expected one JSON object per line (JSON lines), found something else",
            ));
        }
        let row: JsonRow =
            serde_json::from_str(text).map_err(|e| TableError::new(path, at, json_message(&e)))?;
        for (key, _) in &row.0 {
            if !columns.contains_key(key) {
                columns.insert(key.clone(), columns.len());
                sink.column(key.clone())
                    .map_err(|m| TableError::new(path, at, m))?;
            }
        }
        let mut cells: Vec<Cell<'_>> = vec![Cell::Missing; columns.len()];
        let mut filled = vec![false; columns.len()];
        for (key, value) in &row.0 {
            let i = columns[key];
            if std::mem::replace(&mut filled[i], true) {
                return Err(TableError::new(
                    path,
                    at,
                    format!("the key `{key}` appears twice"),
                ));
            }
            cells[i] = json_cell(value);
        }
        sink.row(line, &mut cells.into_iter())
            .map_err(|m| TableError::new(path, at, m))?;
        rows += 1;
    }
    if line == 0 || (rows == 0 && columns.is_empty()) {
        return Err(TableError::new(
            path,
            None,
            "the file is empty: no JSON object in it",
        ));
    }
    Ok(())
}

/// The column names of a table file, without keeping its rows (for JSON
/// lines, every line is still read and checked).
pub(crate) fn columns(path: &Path, format: Format) -> Result<Vec<String>, TableError> {
    struct Names(Vec<String>);
    impl Sink for Names {
        fn column(&mut self, name: String) -> Result<(), String> {
            self.0.push(name);
            Ok(())
        }
        fn row(&mut self, _: u64, _: &mut dyn Iterator<Item = Cell<'_>>) -> Result<(), String> {
            Ok(())
        }
    }
    if format != Format::JsonLines {
        let file = File::open(path)
            .map_err(|e| TableError::new(path, None, format!("cannot open: {e}")))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
            .from_reader(file);
        let headers = reader.byte_headers().map_err(|e| csv_error(path, e))?;
        if headers.is_empty() || (headers.len() == 1 && trim(&headers[0]).is_empty()) {
            return Err(TableError::new(
                path,
                None,
                "the file is empty: no header row",
            ));
        }
        return header_names(
            path,
            headers
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned()),
        );
    }
    let mut names = Names(Vec::new());
    scan(path, format, &mut names)?;
    Ok(names.0)
}

/// A table in memory.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    /// Its columns, in file order.
    pub(crate) columns: Vec<Column>,
    /// Number of data rows.
    pub(crate) rows: usize,
}

/// One named column.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// The header's name for it.
    pub(crate) name: String,
    /// Its cells.
    pub(crate) values: Values,
}

/// The cells of a column: numbers (missing = NaN) or text (missing = None).
/// A column whose every cell is missing is numbers, all NaN.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Numbers; NaN marks a missing cell, infinities are kept.
    Numbers(Vec<f64>),
    /// Text.
    Text(Vec<Option<String>>),
}

impl Table {
    /// The column called `name`.
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column names, comma-separated, for messages: the first 20, then
    /// how many more (a file may have hundreds of thousands).
    pub(crate) fn column_list(&self) -> String {
        const SHOWN: usize = 20;
        let names: Vec<&str> = self
            .columns
            .iter()
            .take(SHOWN)
            .map(|c| c.name.as_str())
            .collect();
        match self.columns.len().saturating_sub(SHOWN) {
            0 => names.join(", "),
            more => format!("{}, and {more} more", names.join(", ")),
        }
    }
}

/// Reads a whole table, deciding each column's type by its first non-missing
/// cell: a number makes a numeric column, where a later cell that is not a
/// number (nor missing) is an error; anything else makes a text column.
/// Without `keep_text`, text columns are typed and
/// checked but their cells are not kept (all `None`): plots of numbers need
/// no text, and a million strings cost more than the numbers.
pub(crate) fn read_with(
    path: &Path,
    format: Option<Format>,
    keep_text: bool,
) -> Result<Table, TableError> {
    let format = Format::for_path(path, format);
    let mut builder = TableBuilder {
        keep_text,
        ..TableBuilder::default()
    };
    scan(path, format, &mut builder)?;
    Ok(builder.finish(path))
}

#[derive(Default)]
struct TableBuilder {
    names: Vec<String>,
    columns: Vec<ColumnBuilder>,
    rows: usize,
    keep_text: bool,
}

enum ColumnBuilder {
    /// Only missing cells so far.
    Pending(usize),
    /// Numbers, with the line of the first one.
    Numbers(Vec<f64>, u64),
    Text(Vec<Option<String>>),
}

impl Sink for TableBuilder {
    fn column(&mut self, name: String) -> Result<(), String> {
        self.names.push(name);
        self.columns.push(ColumnBuilder::Pending(self.rows));
        Ok(())
    }

    fn row(&mut self, line: u64, cells: &mut dyn Iterator<Item = Cell<'_>>) -> Result<(), String> {
        for (i, cell) in cells.enumerate() {
            let Some(column) = self.columns.get_mut(i) else {
                break;
            };
            column.push(cell, line, &self.names[i], self.keep_text)?;
        }
        self.rows += 1;
        Ok(())
    }
}

/// A cell's text for a message: lossy, cut to 40 characters.
fn shown_cell(cell: &Cell<'_>) -> String {
    let text = cell.text();
    let mut shown: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        shown.push('…');
    }
    shown
}

impl ColumnBuilder {
    fn push(&mut self, cell: Cell<'_>, line: u64, name: &str, keep: bool) -> Result<(), String> {
        // The cell's bytes, for the kinds that are text in the file.
        let raw: Option<&[u8]> = match &cell {
            Cell::Bytes(b) => Some(trim(b)),
            Cell::Text(s) => Some(trim(s.as_bytes())),
            _ => None,
        };
        let missing = matches!(cell, Cell::Missing) || raw.is_some_and(is_missing);
        match self {
            ColumnBuilder::Pending(count) => {
                if missing {
                    *count += 1;
                    return Ok(());
                }
                let number = match (&cell, raw) {
                    (Cell::Number(n), _) => Some(*n),
                    (_, Some(raw)) => parse_number(raw),
                    _ => None,
                };
                *self = match number {
                    Some(n) => {
                        let mut v = vec![f64::NAN; *count];
                        v.push(n);
                        ColumnBuilder::Numbers(v, line)
                    }
                    None => {
                        let mut v = vec![None; *count];
                        v.push(keep.then(|| cell.text().into_owned()));
                        ColumnBuilder::Text(v)
                    }
                };
            }
            ColumnBuilder::Numbers(values, first) => {
                if missing {
                    values.push(f64::NAN);
                    return Ok(());
                }
                let number = match (&cell, raw) {
                    (Cell::Number(n), _) => Some(*n),
                    (_, Some(raw)) => parse_number(raw),
                    _ => None,
                };
                match number {
                    Some(n) => values.push(n),
                    None => {
                        return Err(format!(
                            "column `{name}` holds numbers (from line {first} on), but this row has `{}`; \
                             write a missing value as an empty cell, NA or NaN",
                            shown_cell(&cell)
                        ));
                    }
                }
            }
            ColumnBuilder::Text(values) => {
                if missing || !keep {
                    values.push(None);
                } else {
                    values.push(Some(cell.text().into_owned()));
                }
            }
        }
        Ok(())
    }
}

impl TableBuilder {
    fn finish(self, path: &Path) -> Table {
        let rows = self.rows;
        let columns = self
            .names
            .into_iter()
            .zip(self.columns)
            .map(|(name, column)| {
                let mut values = match column {
                    ColumnBuilder::Pending(_) => Values::Numbers(Vec::new()),
                    ColumnBuilder::Numbers(v, _) => Values::Numbers(v),
                    ColumnBuilder::Text(v) => Values::Text(v),
                };
                // JSON lines: a column first seen late, or absent at the end.
                match &mut values {
                    Values::Numbers(v) => v.resize(rows, f64::NAN),
                    Values::Text(v) => v.resize(rows, None),
                }
                Column { name, values }
            })
            .collect();
        Table {
            path: path.to_owned(),
            columns,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path, format: Option<Format>) -> Result<Table, TableError> {
        read_with(path, format, true)
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn nums(table: &Table, name: &str) -> Vec<f64> {
        match &table.column(name).unwrap().values {
            Values::Numbers(v) => v.clone(),
            Values::Text(_) => panic!("`{name}` is text"),
        }
    }

    #[test]
    fn csv_columns_are_typed_per_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "a.csv",
            "t, value ,status,empty\n0,1.5,ok,\n1,NA,\"a, b\",NA\n2, -3e2 ,ok,\n",
        );
        let t = read(&path, None).unwrap();
        assert_eq!(t.rows, 3);
        assert_eq!(t.column_list(), "t, value, status, empty");
        assert_eq!(nums(&t, "t"), vec![0.0, 1.0, 2.0]);
        let v = nums(&t, "value");
        assert_eq!(v[0], 1.5);
        assert!(v[1].is_nan());
        assert_eq!(v[2], -300.0);
        assert_eq!(
            t.column("status").unwrap().values,
            Values::Text(vec![
                Some("ok".into()),
                Some("a, b".into()),
                Some("ok".into())
            ])
        );
        assert!(nums(&t, "empty").iter().all(|v| v.is_nan()));
        assert_eq!(nums(&t, "empty").len(), 3);
    }

    #[test]
    fn missing_markers_and_infinities() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "m.csv", "x\nNaN\nnan\nN/A\nnull\n\n1\ninf\n-inf\n");
        let t = read(&path, None).unwrap();
        let x = nums(&t, "x");
        // Blank lines are not rows (as in pandas).
        assert_eq!(x.len(), 7);
        assert!(x[..4].iter().all(|v| v.is_nan()));
        assert_eq!(x[4], 1.0);
        assert_eq!(x[5], f64::INFINITY);
        assert_eq!(x[6], f64::NEG_INFINITY);
    }

    #[test]
    fn text_column_keeps_later_numbers_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "t.csv", "id\nA1\n2\n");
        let t = read(&path, None).unwrap();
        assert_eq!(
            t.column("id").unwrap().values,
            Values::Text(vec![Some("A1".into()), Some("2".into())])
        );
    }

    #[test]
    fn tsv_by_extension_and_by_option() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a.tsv", "a\tb\n1\t2\n");
        assert_eq!(nums(&read(&path, None).unwrap(), "b"), vec![2.0]);
        let path = write(&dir, "a.txt", "a\tb\n1\t2\n");
        assert_eq!(
            nums(&read(&path, Some(Format::Tsv)).unwrap(), "b"),
            vec![2.0]
        );
    }

    #[test]
    fn bad_tables_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "ragged.csv",
                "a,b\n1,2\n3\n",
                "ragged.csv:3: this row has 1 field, but the header has 2",
            ),
            (
                "ragged2.csv",
                "a,b\n1,2,3\n",
                "ragged2.csv:2: this row has 3 fields, but the header has 2",
            ),
            (
                "word.csv",
                "a,b\n1,2\n3,x\n",
                "word.csv:3: column `b` holds numbers (from line 2 on), but this row has `x`",
            ),
            (
                "empty.csv",
                "",
                "empty.csv: the file is empty: no header row",
            ),
            (
                "twice.csv",
                "a,b,a\n1,2,3\n",
                "twice.csv:1: the header names column `a` twice (columns 1 and 3)",
            ),
            (
                "bad.jsonl",
                "{\"a\": 1}\n{\"a\": \n",
                "bad.jsonl:2: invalid JSON at column",
            ),
            (
                "list.jsonl",
                "[1, 2]\n",
                "list.jsonl:1: expected one JSON object per line",
            ),
            ("empty.jsonl", "\n\n", "empty.jsonl: the file is empty"),
            (
                "dup.jsonl",
                "{\"a\": 1, \"a\": 2}\n",
                "dup.jsonl:1: the key `a` appears twice",
            ),
        ];
        for (name, text, expected) in cases {
            let path = write(&dir, name, text);
            let err = read(&path, None).unwrap_err().to_string();
            assert!(err.contains(expected), "{name}: {err}");
            assert!(err.starts_with(&display(&path)), "{err}");
        }
    }

    #[test]
    fn text_can_be_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "t.csv", "v,s\n1,a\n2,b\n");
        let t = read_with(&path, None, false).unwrap();
        assert_eq!(nums(&t, "v"), vec![1.0, 2.0]);
        assert_eq!(
            t.column("s").unwrap().values,
            Values::Text(vec![None, None])
        );
    }

    #[test]
    fn header_only_is_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "h.csv", "a,b\n");
        let t = read(&path, None).unwrap();
        assert_eq!(t.rows, 0);
        assert_eq!(t.columns.len(), 2);
    }

    #[test]
    fn json_lines_columns_in_order_of_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "a.jsonl",
            "{\"t\": 0, \"v\": 1.5}\n\n{\"t\": 1, \"v\": null, \"s\": \"x\"}\n{\"t\": 2, \"v\": \"NA\", \"s\": true}\n",
        );
        let t = read(&path, None).unwrap();
        assert_eq!(t.column_list(), "t, v, s");
        assert_eq!(nums(&t, "t"), vec![0.0, 1.0, 2.0]);
        let v = nums(&t, "v");
        assert_eq!(v[0], 1.5);
        assert!(v[1].is_nan() && v[2].is_nan());
        assert_eq!(
            t.column("s").unwrap().values,
            Values::Text(vec![None, Some("x".into()), Some("true".into())])
        );
    }

    #[test]
    fn bom_and_blank_header_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "b.csv", "\u{feff}a,,c\n1,2,3\n");
        let t = read(&path, None).unwrap();
        assert_eq!(t.column_list(), "a, column_2, c");
    }

    #[test]
    fn plain_decimals_parse_exactly_like_std() {
        let mut seed: u64 = 88172645463325252;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 15 + 1) as usize;
            let mut text: String = (0..digits)
                .map(|i| char::from(b'0' + ((seed >> (i * 4)) % 10) as u8))
                .collect();
            let point = (seed >> 60) as usize % (digits + 1);
            if point < digits {
                text.insert(point, '.');
            }
            if seed & 1 == 1 {
                text.insert(0, '-');
            }
            let std: f64 = text.parse().unwrap();
            assert_eq!(parse_number(text.as_bytes()), Some(std), "{text}");
        }
        for text in [
            "1e5",
            "0x10",
            ".5",
            "5.",
            "1.2.3",
            "-",
            "+3",
            "1234567890123456",
        ] {
            assert_eq!(
                parse_number(text.as_bytes()),
                text.parse::<f64>().ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn numbers_format_short() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(1.5e-7), "1.5e-7");
        assert_eq!(format_number(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn format_options() {
        assert_eq!(format_option(None), Ok(None));
        assert_eq!(
            format_option(Some(&toml::Value::String("tsv".into()))),
            Ok(Some(Format::Tsv))
        );
        assert!(
            format_option(Some(&toml::Value::String("xls".into())))
                .unwrap_err()
                .contains("known formats: csv, tsv, jsonl")
        );
        assert!(format_option(Some(&toml::Value::Integer(1))).is_err());
    }
}
