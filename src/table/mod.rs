//! Tables: reads CSV, TSV, JSON lines and Parquet files into named, typed columns
//! (numbers, text stored once per distinct value, or times) for built-in
//! steps and plots. A column's type comes from the whole column (or from
//! `types`); a broken file is an error that names the file and the line,
//! never a panic.
//!
//! The model other modules build on: a `Table` has `columns` (those asked
//! for, in file order), each a `Column` with `Values`:
//! - `Values::Numbers(Vec<f64>)`: NaN marks a missing cell;
//! - `Values::Text(Text)`: dictionary codes, `get(row) -> Option<&str>`;
//! - `Values::Time(Times)`: `micros[row]` is microseconds since the Unix
//!   epoch (UTC), `MISSING_TIME` when missing; `style.format(micros)` writes
//!   an instant back as ISO text the way the file wrote it.
//!
//! Readers ask with a `TableRead`: the file, its `ReadOptions`, which
//! `Columns` they need and whether they need text cells.

mod builder;
mod cell;
mod column;
mod delimited;
mod error;
mod jsonl;
mod options;
mod parquet;
mod records;
mod shared;
mod source;
mod text;
mod time;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cancel::Cancel;

pub(crate) use cell::{Cell, format_number};
use cell::{parse_number_with, parse_number_with_noting, trim};
pub(crate) use error::{TableError, TableErrorKind};
#[cfg(test)]
pub(crate) use options::ColumnType;
pub(crate) use options::{Encoding, KEYS as OPTION_KEYS, ReadOptions, TimeFormats};
pub(crate) use shared::{SharedTables, TaskTables};
use source::ContentHasher;
pub(crate) use source::ReadFrom;
pub(crate) use text::Text;
#[cfg(test)]
pub(crate) use time::TimeFormat;
pub(crate) use time::{MISSING_TIME, TimeOffset, TimeStyle, format_span};

/// The file formats a table can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    /// Comma-separated (or `delimiter`), header row first.
    Csv,
    /// Tab-separated, header row first.
    Tsv,
    /// One JSON object per line; keys are columns.
    JsonLines,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The names `format = "..."` accepts.
    pub(crate) const NAMES: &'static [&'static str] = &["csv", "tsv", "jsonl", "parquet"];

    /// The format called `name` (`csv`, `tsv`, `jsonl`, `parquet`, and a
    /// few aliases).
    pub(crate) fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// Its name in `format = "..."`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
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

/// What a reader hands its rows to.
pub(crate) trait Sink {
    /// A new column, in the order columns are found.
    fn column(&mut self, name: String);
    /// One row: one cell per column known so far, in column order. An
    /// error (writing what was read) stops the reading.
    fn row(&mut self, line: u64, cells: &mut dyn Iterator<Item = Cell<'_>>) -> std::io::Result<()>;
    /// One CSV/TSV row: the same as `row` with every cell `Cell::Bytes`
    /// (what it does by default); a sink that reads every cell may take
    /// them faster straight from the record.
    fn byte_row(&mut self, line: u64, record: &records::Record<'_>) -> std::io::Result<()> {
        self.row(line, &mut record.iter().map(Cell::Bytes))
    }
    /// How many CSV/TSV rows the sink takes at a time in `byte_rows`
    /// (0: one at a time, in `byte_row`).
    fn batch_rows(&self) -> usize {
        0
    }
    /// Plain CSV/TSV rows, at most `batch_rows` of them, each as wide as
    /// the header, their cells where the reader has them. Given only to a
    /// sink whose `batch_rows` is not 0; their lines are not counted (this
    /// default gives `byte_row` line 0).
    fn byte_rows(&mut self, batch: &records::RecordBatch<'_>) -> std::io::Result<()> {
        for i in 0..batch.len() {
            self.byte_row(0, &batch.record(i))?;
        }
        Ok(())
    }
    /// Whether the sink needs no more rows: the reader may stop early
    /// (after checking the rows it has given).
    fn done(&self) -> bool {
        false
    }
    /// About how many rows the file has in all (from its size and its
    /// first rows), so that columns can make room once.
    fn expect_rows(&mut self, _rows: usize) {}
}

/// The delimiter of a delimited file: the option, else by format.
fn delimiter(options: &ReadOptions, format: Format) -> u8 {
    options.delimiter.unwrap_or(match format {
        Format::Tsv => b'\t',
        _ => b',',
    })
}

/// Reads every row of a table file into `sink`, as written. The first
/// CSV/TSV line is the header; JSON lines files get a column for every key,
/// in order of first use.
pub(crate) fn scan(
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn Sink,
    cancel: &Cancel,
) -> Result<(), TableError> {
    scan_hashing(path, options, sink, cancel, None)
}

/// `scan`, the bytes of a CSV, TSV or JSON lines file hashed into `hasher`
/// (when given) as they are read.
fn scan_hashing(
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn Sink,
    cancel: &Cancel,
    hasher: Option<&mut ContentHasher>,
) -> Result<(), TableError> {
    match Format::for_path(path, options.format) {
        Format::JsonLines => jsonl::scan(path, options, sink, cancel, hasher),
        Format::Parquet => parquet::scan(path, options, sink, cancel),
        format => {
            let delimiter = delimiter(options, format);
            delimited::scan(path, options, delimiter, sink, cancel, hasher)
        }
    }
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
                TableErrorKind::DuplicateHeader {
                    name,
                    first: first + 1,
                    second: i + 1,
                },
            ));
        }
        seen.insert(name.clone(), i);
        out.push(name);
    }
    Ok(out)
}

/// The column names of a table file, without keeping its rows (for JSON
/// lines, every line is still read and checked).
pub(crate) fn columns(
    path: &Path,
    options: &ReadOptions,
    cancel: &Cancel,
) -> Result<Vec<String>, TableError> {
    struct Names(Vec<String>);
    impl Sink for Names {
        fn column(&mut self, name: String) {
            self.0.push(name);
        }
        fn row(&mut self, _: u64, _: &mut dyn Iterator<Item = Cell<'_>>) -> std::io::Result<()> {
            Ok(())
        }
    }
    match Format::for_path(path, options.format) {
        Format::JsonLines => {
            let mut names = Names(Vec::new());
            jsonl::scan(path, options, &mut names, cancel, None)?;
            Ok(names.0)
        }
        Format::Parquet => parquet::names(path),
        format => delimited::header(path, options, delimiter(options, format)),
    }
}

/// A table in memory.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    /// The columns read (every one, or those asked for), in file order.
    pub(crate) columns: Vec<Column>,
    /// Every column of the file, read or not, in file order.
    pub(crate) names: Vec<String>,
    /// Number of data rows.
    pub(crate) rows: usize,
    /// What the reader noticed and the reader's user may want to say (a
    /// `types` entry for a column the file does not have, a Parquet column
    /// of a type that cannot be read).
    pub(crate) notes: Vec<String>,
}

/// One named column.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// The header's name for it.
    pub(crate) name: String,
    /// Its cells.
    pub(crate) values: Values,
    /// Cells that were not missing but not of the type `types` forces (not
    /// numbers in a `number` column, not times in a `time` one): they are
    /// read as missing, as `pandas.to_numeric(errors="coerce")` does.
    pub(crate) invalid: usize,
}

/// The cells of a column. A column whose every cell is missing is numbers,
/// all NaN (unless `types` says otherwise).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Numbers; NaN marks a missing cell, infinities are kept.
    Numbers(Vec<f64>),
    /// Text, each distinct string stored once.
    Text(Text),
    /// Instants.
    Time(Times),
}

impl Values {
    /// The type's name, as `csv.stats` and user templates show it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Values::Numbers(_) => "number",
            Values::Text(_) => "text",
            Values::Time(_) => "time",
        }
    }
}

/// The cells of a time column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Times {
    /// Microseconds since the Unix epoch (UTC); `MISSING_TIME` when missing.
    /// A civil time without an offset (`2024-03-01 12:30`) is stored as if
    /// it were UTC.
    pub(crate) micros: Vec<i64>,
    /// How the cells were written (date only or date and time, the offset).
    pub(crate) style: TimeStyle,
}

impl Times {
    /// The instant of `row`, `None` when missing.
    pub(crate) fn get(&self, row: usize) -> Option<i64> {
        self.micros.get(row).copied().filter(|&m| m != MISSING_TIME)
    }

    /// The instant of `row` as ISO text in the column's style ("" when
    /// missing).
    #[cfg(test)]
    pub(crate) fn text(&self, row: usize) -> String {
        self.get(row)
            .map(|m| self.style.format(m))
            .unwrap_or_default()
    }
}

/// Which columns a reader needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Columns {
    /// Every column.
    All,
    /// The columns with these names, or matching these globs (`temp*`).
    Only(Vec<String>),
}

impl Columns {
    /// The columns either reader needs.
    pub(crate) fn union(&self, other: &Columns) -> Columns {
        match (self, other) {
            (Columns::Only(a), Columns::Only(b)) => {
                let mut names = a.clone();
                names.extend(b.iter().filter(|n| !a.contains(n)).cloned());
                Columns::Only(names)
            }
            _ => Columns::All,
        }
    }
}

/// One read of a table that a task makes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TableRead {
    /// The file, as the task is given it (absolute).
    pub(crate) path: PathBuf,
    /// How to read it.
    pub(crate) options: Arc<ReadOptions>,
    /// The columns the reader needs.
    pub(crate) columns: Columns,
    /// Whether the reader needs the text of text cells.
    pub(crate) keep_text: bool,
}

impl TableRead {
    /// Whether reading it reads its whole file, hashing it as it goes
    /// (`read_hashing`): every format but Parquet, which is read in parts.
    pub(crate) fn hashed_as_read(&self) -> bool {
        Format::for_path(&self.path, self.options.format) != Format::Parquet
    }

    /// Every column of `path`, text included, read with `options`.
    pub(crate) fn whole(path: &Path, options: &Arc<ReadOptions>) -> TableRead {
        TableRead {
            path: path.to_owned(),
            options: options.clone(),
            columns: Columns::All,
            keep_text: true,
        }
    }
}

impl Table {
    /// The column called `name` (if it was read).
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column names of the file, comma-separated, for messages: the
    /// first 20, then how many more (a file may have hundreds of thousands).
    pub(crate) fn column_list(&self) -> String {
        const SHOWN: usize = 20;
        let shown = self.names.len().min(SHOWN);
        match self.names.len() - shown {
            0 => self.names.join(", "),
            more => format!("{}, and {more} more", self.names[..shown].join(", ")),
        }
    }

    /// About how much memory the table holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.columns
            .iter()
            .map(|c| match &c.values {
                Values::Numbers(v) => v.capacity() * size_of::<f64>(),
                Values::Time(t) => t.micros.capacity() * size_of::<i64>(),
                Values::Text(t) => t.heap_bytes(),
            })
            .sum::<usize>()
            + 64
    }
}

/// Reads a table: the columns `read` asks for, each typed by its whole
/// column (numbers if every non-missing cell is a number, times if every
/// one is an ISO 8601 date or date-time, else text), by the Parquet schema,
/// or by `types`. Text
/// cells are kept only when asked (plots of numbers need none). A column
/// that turns out to be text after numbers keeps its text from there on;
/// the text of the rows before is read in a second pass over the start of
/// the file, which stops at the last row it needs.
pub(crate) fn read(read: &TableRead, cancel: &Cancel) -> Result<Table, TableError> {
    Ok(read_into(read, cancel, None)?.0)
}

/// `read`, the file hashed as it is read: also what the table was read
/// from (`None` for Parquet, which is read in parts).
pub(crate) fn read_hashing(
    read: &TableRead,
    cancel: &Cancel,
) -> Result<(Table, Option<ReadFrom>), TableError> {
    let mut hasher = ContentHasher::default();
    let (table, second_pass) = read_into(read, cancel, Some(&mut hasher))?;
    let mut from = hasher.finish();
    if second_pass {
        from = from.and_then(|mut from| {
            // Gone since: not as it was either.
            from.after_second_pass = Some(std::fs::metadata(&read.path).ok()?);
            Some(from)
        });
    }
    Ok((table, from))
}

/// `read`, the file's bytes hashed into `hasher` (when given) by the first
/// pass, the one that reads the whole file; and whether a second pass read
/// the first rows again.
fn read_into(
    read: &TableRead,
    cancel: &Cancel,
    hasher: Option<&mut ContentHasher>,
) -> Result<(Table, bool), TableError> {
    if Format::for_path(&read.path, read.options.format) == Format::Parquet {
        return Ok((parquet::read(read, cancel)?, false));
    }
    let path = &read.path;
    let options = &read.options;
    let mut builder = builder::TableBuilder::new(options, &read.columns, read.keep_text);
    scan_hashing(path, options, &mut builder, cancel, hasher)?;
    let rereads = builder.rereads();
    let mut texts = Vec::new();
    if !rereads.is_empty() {
        let mut pass = builder::TextPass::new(options, &rereads);
        scan(path, options, &mut pass, cancel)?;
        texts = pass.columns;
    }
    Ok((builder.finish(path, texts), !rereads.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_opts(path: &Path, options: ReadOptions, keep_text: bool) -> Result<Table, TableError> {
        let request = TableRead {
            keep_text,
            ..TableRead::whole(path, &Arc::new(options))
        };
        super::read(&request, &Cancel::never())
    }

    fn read_all(path: &Path) -> Result<Table, TableError> {
        read_opts(path, ReadOptions::new(), true)
    }

    fn with(text: &str) -> ReadOptions {
        ReadOptions::from_toml(&toml::from_str(text).unwrap()).unwrap()
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn nums(table: &Table, name: &str) -> Vec<f64> {
        match &table.column(name).unwrap().values {
            Values::Numbers(v) => v.clone(),
            other => panic!("`{name}` is {}", other.kind()),
        }
    }

    fn texts(table: &Table, name: &str) -> Vec<Option<String>> {
        match &table.column(name).unwrap().values {
            Values::Text(t) => t.iter().map(|s| s.map(str::to_owned)).collect(),
            other => panic!("`{name}` is {}", other.kind()),
        }
    }

    fn some(cells: &[&str]) -> Vec<Option<String>> {
        cells.iter().map(|s| Some((*s).to_owned())).collect()
    }

    #[test]
    fn csv_columns_are_typed_per_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "a.csv",
            "t, value ,status,empty\n0,1.5,ok,\n1,NA,\"a, b\",NA\n2, -3e2 ,ok,\n",
        );
        let t = read_all(&path).unwrap();
        assert_eq!(t.rows, 3);
        assert_eq!(t.column_list(), "t, value, status, empty");
        assert_eq!(nums(&t, "t"), vec![0.0, 1.0, 2.0]);
        let v = nums(&t, "value");
        assert_eq!(v[0], 1.5);
        assert!(v[1].is_nan());
        assert_eq!(v[2], -300.0);
        assert_eq!(texts(&t, "status"), some(&["ok", "a, b", "ok"]));
        assert!(nums(&t, "empty").iter().all(|v| v.is_nan()));
        assert_eq!(nums(&t, "empty").len(), 3);
    }

    #[test]
    fn missing_markers_and_infinities() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "m.csv", "x\nNaN\nnan\nN/A\nnull\n\n1\ninf\n-inf\n");
        let x = nums(&read_all(&path).unwrap(), "x");
        // Blank lines are not rows (as in pandas).
        assert_eq!(x.len(), 7);
        assert!(x[..4].iter().all(|v| v.is_nan()));
        assert_eq!(x[4..], [1.0, f64::INFINITY, f64::NEG_INFINITY]);
    }

    /// Issue 11: every mixed column seen in 2,293 real data sets is text,
    /// with its number cells counted; no file fails for it.
    #[test]
    fn mixed_columns_are_text_with_their_numbers_counted() {
        let dir = tempfile::tempdir().unwrap();
        for odd in [
            "5+", "<5", ">3", "2-10", "1-19", "7p", "41B", "136A", "2014Q1", "C", "J", "rotary",
            "some", "T", ".", "?", "*", "5' 4\"", "1, 5, 8", "6.2\u{1}",
        ] {
            let cell = format!("\"{}\"", odd.replace('"', "\"\""));
            let text = format!("id,v\n1,1.5\n2,{cell}\n3,\n4,7\n");
            let path = write(&dir, "mixed.csv", &text);
            let t = read_all(&path).unwrap_or_else(|e| panic!("{odd}: {e}"));
            assert_eq!(
                texts(&t, "v"),
                vec![Some("1.5".into()), Some(odd.into()), None, Some("7".into())],
                "{odd}"
            );
            let Values::Text(v) = &t.column("v").unwrap().values else {
                unreachable!()
            };
            assert_eq!(v.numeric(), 2, "{odd}");
            assert_eq!(nums(&t, "id"), vec![1.0, 2.0, 3.0, 4.0]);
        }
    }

    #[test]
    fn a_late_text_cell_makes_text_even_without_keeping_text() {
        let dir = tempfile::tempdir().unwrap();
        let rows: String = (0..10_000).map(|i| format!("{i}\n")).collect();
        let path = write(&dir, "late.csv", format!("v\n{rows}x\n"));
        let t = read_all(&path).unwrap();
        let Values::Text(v) = &t.column("v").unwrap().values else {
            panic!()
        };
        assert_eq!(
            (v.len(), v.numeric(), v.dictionary().len()),
            (10_001, 10_000, 10_001)
        );
        assert_eq!(v.get(42), Some("42"));
        assert_eq!(v.get(10_000), Some("x"));
        let t = read_opts(&path, ReadOptions::new(), false).unwrap();
        assert!(
            matches!(&t.column("v").unwrap().values, Values::Text(v) if !v.is_kept() && v.len() == 10_001)
        );
    }

    #[test]
    fn forced_types_count_what_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "f.csv",
            "a,b,c,d\n1,x,01/02/2024,5\n<5,2,bad,\n3,3,03/02/2024,6\n",
        );
        let t = read_opts(
            &path,
            with("types = { a = 'number', b = 'number', c = 'time', d = 'text', zz = 'time' }\ntime_format = '%d/%m/%Y'"),
            true,
        )
        .unwrap();
        let a = nums(&t, "a");
        assert!(a[0] == 1.0 && a[1].is_nan() && a[2] == 3.0);
        assert_eq!(t.column("a").unwrap().invalid, 1);
        assert_eq!(t.column("b").unwrap().invalid, 1);
        let Values::Time(c) = &t.column("c").unwrap().values else {
            panic!()
        };
        assert_eq!(
            (c.text(0).as_str(), c.get(1), c.text(2).as_str()),
            ("2024-02-01", None, "2024-02-03")
        );
        assert_eq!(t.column("c").unwrap().invalid, 1);
        assert_eq!(
            texts(&t, "d"),
            vec![Some("5".into()), None, Some("6".into())]
        );
        assert_eq!(
            t.notes,
            vec!["`types` makes `zz` time, but there is no such column".to_owned()]
        );
    }

    #[test]
    fn iso_cells_make_time_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "t.csv",
            "d,dt,z,mixed,naive_and_z\n\
             2024-03-01,2024-03-01 12:30,2024-03-01T12:30:00Z,2024-03-01,2024-03-01T00:00\n\
             ,2024-03-01T12:30:15.5,2024-03-01T13:30:00+01:00,x,2024-03-01T00:00Z\n",
        );
        let t = read_all(&path).unwrap();
        let time = |name: &str| match &t.column(name).unwrap().values {
            Values::Time(v) => v.clone(),
            other => panic!("{name} is {}", other.kind()),
        };
        let d = time("d");
        assert_eq!((d.text(0).as_str(), d.get(1)), ("2024-03-01", None));
        let dt = time("dt");
        assert_eq!(dt.text(1), "2024-03-01T12:30:15.5");
        let z = time("z");
        assert_eq!(z.get(0), z.get(1), "the same instant");
        assert_eq!(z.style.offset, TimeOffset::Mixed);
        assert_eq!(z.text(1), "2024-03-01T12:30:00Z");
        assert_eq!(texts(&t, "mixed"), some(&["2024-03-01", "x"]));
        assert_eq!(
            texts(&t, "naive_and_z"),
            some(&["2024-03-01T00:00", "2024-03-01T00:00Z"])
        );
    }

    #[test]
    fn semicolons_decimal_commas_latin1_bom_and_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "eu.csv",
            b"\xef\xbb\xbfort;wert\r\nK\xc3\xb6ln;1,5\r\nBonn;-2\r\n",
        );
        let t = read_opts(&path, with("delimiter = ';'\ndecimal = ','"), true).unwrap();
        assert_eq!(t.column_list(), "ort, wert");
        assert_eq!(nums(&t, "wert"), vec![1.5, -2.0]);
        assert_eq!(texts(&t, "ort"), some(&["Köln", "Bonn"]));
        let path = write(&dir, "latin1.csv", b"name,v\nK\xf6ln,1\nS\xe3o Paulo,2\n");
        let t = read_opts(&path, with("encoding = 'latin1'"), true).unwrap();
        assert_eq!(texts(&t, "name"), some(&["Köln", "São Paulo"]));
        // Read as UTF-8, the bytes are shown lossily, not an error.
        let t = read_all(&path).unwrap();
        assert_eq!(texts(&t, "name")[0].as_deref(), Some("K\u{fffd}ln"));
        // With decimal commas, a point makes text.
        let path = write(&dir, "pt.csv", "v\n1,5\n1.5\n");
        let t = read_opts(&path, with("decimal = ','\ndelimiter = ';'"), true).unwrap();
        assert_eq!(texts(&t, "v"), some(&["1,5", "1.5"]));
    }

    #[test]
    fn quoted_newlines_all_missing_and_one_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "q.csv",
            "id,note,nothing\n1,\"two\nlines\",\n2,plain,NA\n",
        );
        let t = read_all(&path).unwrap();
        assert_eq!(texts(&t, "note"), some(&["two\nlines", "plain"]));
        assert!(nums(&t, "nothing").iter().all(|v| v.is_nan()));
        let path = write(&dir, "one.csv", "a,b\n1,x\n");
        let t = read_all(&path).unwrap();
        assert_eq!((t.rows, nums(&t, "a")), (1, vec![1.0]));
    }

    #[test]
    fn custom_na_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "na.csv", "v\n1\n.\n?\nNA\n");
        let t = read_opts(&path, with("na = ['', '.', '?', 'NA']"), true).unwrap();
        let v = nums(&t, "v");
        assert!(v[0] == 1.0 && v[1..].iter().all(|x| x.is_nan()));
        // Without it, `.` and `?` are text.
        assert!(matches!(
            read_all(&path).unwrap().column("v").unwrap().values,
            Values::Text(_)
        ));
    }

    #[test]
    fn only_the_columns_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "c.csv", "t,temp_a,temp_b,s\n1,2,3,x\n");
        let request = TableRead {
            columns: Columns::Only(vec!["t".into(), "temp_*".into()]),
            keep_text: false,
            ..TableRead::whole(&path, &Arc::new(ReadOptions::new()))
        };
        let t = super::read(&request, &Cancel::never()).unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["t", "temp_a", "temp_b"]);
        assert_eq!(t.column_list(), "t, temp_a, temp_b, s");
    }

    #[test]
    fn tsv_by_extension_and_by_option() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a.tsv", "a\tb\n1\t2\n");
        assert_eq!(nums(&read_all(&path).unwrap(), "b"), vec![2.0]);
        let path = write(&dir, "a.txt", "a\tb\n1\t2\n");
        assert_eq!(
            nums(
                &read_opts(&path, with("format = 'tsv'"), true).unwrap(),
                "b"
            ),
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
            // The line a row starts on, also after CRLF line ends and
            // blank lines.
            (
                "ragged_crlf.csv",
                "a,b\r\n1,2\r\n3,4,5\r\n",
                "ragged_crlf.csv:3: this row has 3 fields, but the header has 2",
            ),
            (
                "ragged_blank.csv",
                "a,b\n1,2\n\n\n3,4,5\n",
                "ragged_blank.csv:5: this row has 3 fields, but the header has 2",
            ),
            (
                "quote_crlf.csv",
                "t,v\r\n1,2\r\n3,\"abc\r\n4,5\r\n",
                "quote_crlf.csv:3: a quote (\") opened on this line is never closed",
            ),
            (
                "quote.csv",
                "t,v\n1,\"abc\n2,3\n",
                "quote.csv:2: a quote (\") opened on this line is never closed",
            ),
            (
                "quote2.csv",
                "t,v\n1,2\n3,4\n\"5,6\n7,8\n",
                "quote2.csv:4: a quote (\") opened on this line",
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
            ("nope.csv", "", "nope.csv: cannot open: No such file"),
        ];
        for (name, text, expected) in cases {
            let path = write(&dir, name, text);
            if name == "nope.csv" {
                std::fs::remove_file(&path).unwrap();
            }
            let err = String::from(read_all(&path).unwrap_err());
            assert!(err.contains(expected), "{name}: {err}");
            assert!(err.starts_with(&display(&path)), "{err}");
        }
    }

    #[test]
    fn a_raised_cancel_flag_stops_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let rows: String = (0..10_000).map(|i| format!("{i}\n")).collect();
        let path = write(&dir, "big.csv", format!("v\n{rows}"));
        let cancel = Cancel::never();
        cancel.cancel();
        let request = TableRead::whole(&path, &Arc::new(ReadOptions::new()));
        assert!(super::read(&request, &cancel).unwrap_err().is_interrupted());
    }

    #[test]
    fn header_only_is_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let t = read_all(&write(&dir, "h.csv", "a,b\n")).unwrap();
        assert_eq!((t.rows, t.columns.len()), (0, 2));
    }

    #[test]
    fn json_lines_columns_in_order_of_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "a.jsonl",
            "{\"t\": 0, \"v\": 1.5}\n\n{\"t\": 1, \"v\": null, \"s\": \"x\"}\n{\"t\": 2, \"v\": \"NA\", \"s\": true}\n",
        );
        let t = read_all(&path).unwrap();
        assert_eq!(t.column_list(), "t, v, s");
        assert_eq!(nums(&t, "t"), vec![0.0, 1.0, 2.0]);
        let v = nums(&t, "v");
        assert!(v[0] == 1.5 && v[1].is_nan() && v[2].is_nan());
        assert_eq!(
            texts(&t, "s"),
            vec![None, Some("x".into()), Some("true".into())]
        );
    }

    #[test]
    fn json_lines_late_text_keeps_the_text_of_its_first_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "l.jsonl",
            "{\"a\": 1}\n{\"a\": 2, \"b\": 3}\n{\"a\": \"x\", \"b\": \"y\"}\n",
        );
        let t = read_all(&path).unwrap();
        assert_eq!(texts(&t, "a"), some(&["1", "2", "x"]));
        assert_eq!(
            texts(&t, "b"),
            vec![None, Some("3".into()), Some("y".into())]
        );
    }

    #[test]
    fn bom_and_blank_header_names() {
        let dir = tempfile::tempdir().unwrap();
        let t = read_all(&write(&dir, "b.csv", "\u{feff}a,,c\n1,2,3\n")).unwrap();
        assert_eq!(t.column_list(), "a, column_2, c");
    }
}
