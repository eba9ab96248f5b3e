//! A table from its rows: the selected columns (each typed by
//! `column::ColumnBuilder`), CSV/TSV rows given to them in batches (where
//! the reader has them, or copied when it reads them one by one), a column
//! at a time, and the second pass that reads the first rows of a column
//! that turned text late.

use super::column::{ColumnBuilder, push_text};
use super::options::ReadOptions;
use super::records::{Record, RecordBatch};
use super::text::TextBuilder;
use super::{Cell, Column, Columns, Sink, Table};

/// Collects a table's selected columns, typing each as its cells come.
pub(super) struct TableBuilder<'a> {
    options: &'a ReadOptions,
    select: Selector,
    keep_text: bool,
    names: Vec<String>,
    /// Per column of the file: its builder, `None` when not selected.
    columns: Vec<Option<ColumnBuilder>>,
    /// Rows read (also those still in `batch`).
    rows: usize,
    /// CSV/TSV rows not yet given to their columns.
    batch: Batch,
}

/// Rows of a CSV/TSV file that the reader gave one by one (a row that
/// needed more bytes read, or `csv_core`), copied until their cells go to
/// their columns, a column at a time: each column's state is looked at
/// once per batch, not once per cell, and its cells go through a loop of
/// their own (issue 11: the per-cell dispatch was a tenth of reading a
/// file). Plain rows come in batches where the reader has them.
#[derive(Default)]
struct Batch {
    /// The rows' bytes, one after the other.
    bytes: Vec<u8>,
    /// Where each cell starts and ends in `bytes`, row by row.
    bounds: Vec<(u32, u32)>,
    /// Rows held.
    rows: usize,
}

/// Rows a batch holds before its cells go to their columns: a batch of a
/// usual table (its bytes and its cells' bounds) stays in the first-level
/// cache while each column walks it.
const BATCH_ROWS: usize = 128;

/// Bytes a batch holds before its cells go to their columns (rows of long
/// text fill it before `BATCH_ROWS`).
const BATCH_BYTES: usize = 1 << 20;

impl Batch {
    /// The cell of column `column` (of `width`) in the batch's row `row`.
    #[inline(always)]
    fn cell(&self, row: usize, column: usize, width: usize) -> &[u8] {
        let (start, end) = self.bounds[row * width + column];
        &self.bytes[start as usize..end as usize]
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.bounds.clear();
        self.rows = 0;
    }
}

/// Gives the cells of `rows` rows (from row `first` of the table on;
/// `cell(row, column)`) to their columns, a column at a time.
fn push_rows<'b>(
    columns: &mut [Option<ColumnBuilder>],
    first: usize,
    rows: usize,
    cell: impl Fn(usize, usize) -> &'b [u8] + Copy,
    options: &ReadOptions,
    keep_text: bool,
) {
    for (index, column) in columns.iter_mut().enumerate() {
        if let Some(column) = column {
            column.push_batch(rows, |row| cell(row, index), first, options, keep_text);
        }
    }
}

/// Which columns to keep, with globs compiled once.
pub(super) struct Selector(Option<Vec<(String, Option<glob::Pattern>)>>);

impl Selector {
    /// The columns `columns` names.
    pub(super) fn new(columns: &Columns) -> Selector {
        match columns {
            Columns::All => Selector(None),
            Columns::Only(names) => Selector(Some(
                names
                    .iter()
                    .map(|n| {
                        let glob = n
                            .contains(['*', '?', '['])
                            .then(|| glob::Pattern::new(n).ok())
                            .flatten();
                        (n.clone(), glob)
                    })
                    .collect(),
            )),
        }
    }

    /// Whether column `name` is wanted.
    pub(super) fn wants(&self, name: &str) -> bool {
        match &self.0 {
            None => true,
            Some(list) => list.iter().any(|(n, glob)| match glob {
                Some(g) => g.matches(name),
                None => n == name,
            }),
        }
    }
}

impl<'a> TableBuilder<'a> {
    /// A builder of the `select`ed columns; text cells only if `keep_text`.
    pub(super) fn new(options: &'a ReadOptions, select: &Columns, keep_text: bool) -> Self {
        TableBuilder {
            options,
            select: Selector::new(select),
            keep_text,
            names: Vec::new(),
            columns: Vec::new(),
            rows: 0,
            batch: Batch::default(),
        }
    }

    /// Gives the cells of the rows in `batch` to their columns.
    fn flush(&mut self) {
        let batch = &self.batch;
        if batch.rows == 0 {
            return;
        }
        let width = self.columns.len();
        let first = self.rows - batch.rows;
        let cell = |row: usize, column: usize| batch.cell(row, column, width);
        push_rows(
            &mut self.columns,
            first,
            batch.rows,
            cell,
            self.options,
            self.keep_text,
        );
        self.batch.clear();
    }

    /// The columns whose first rows need a second pass: (column index, rows
    /// to read). Called after the last row.
    pub(super) fn rereads(&mut self) -> Vec<(usize, usize)> {
        self.flush();
        (0..self.columns.len())
            .filter_map(|i| Some((i, self.columns[i].as_ref()?.reread?)))
            .collect()
    }

    /// The table, with the first rows of `rereads` from the second pass.
    pub(super) fn finish(
        mut self,
        path: &std::path::Path,
        mut reread: Vec<(usize, TextBuilder)>,
    ) -> Table {
        self.flush();
        let rows = self.rows;
        let mut columns = Vec::new();
        let mut notes = Vec::new();
        for (i, (name, builder)) in self.names.iter().zip(self.columns).enumerate() {
            let Some(builder) = builder else { continue };
            let (values, invalid) = builder.finish(rows, || {
                reread
                    .iter()
                    .position(|(j, _)| *j == i)
                    .map(|at| reread.swap_remove(at).1)
            });
            columns.push(Column {
                name: name.clone(),
                values,
                invalid,
            });
        }
        for (name, kind) in &self.options.types {
            if !self.names.contains(name) {
                notes.push(format!(
                    "`types` makes `{name}` {}, but there is no such column",
                    kind.name()
                ));
            }
        }
        Table {
            path: path.to_owned(),
            columns,
            names: self.names,
            rows,
            notes,
        }
    }
}

impl Sink for TableBuilder<'_> {
    fn byte_row(&mut self, _line: u64, record: &Record<'_>) -> std::io::Result<()> {
        let batched = record.len() == self.columns.len()
            && record.copy_into(&mut self.batch.bytes, &mut self.batch.bounds);
        if !batched {
            // A row of another width (the CSV reader turns those away) or
            // of more than 4 GiB: cell by cell.
            self.flush();
            for (column, bytes) in self.columns.iter_mut().zip(record.iter()) {
                if let Some(column) = column {
                    column.push(&Cell::Bytes(bytes), self.rows, self.options, self.keep_text);
                }
            }
            self.rows += 1;
            return Ok(());
        }
        self.batch.rows += 1;
        self.rows += 1;
        if self.batch.rows == BATCH_ROWS || self.batch.bytes.len() >= BATCH_BYTES {
            self.flush();
        }
        Ok(())
    }

    fn batch_rows(&self) -> usize {
        BATCH_ROWS
    }

    fn byte_rows(&mut self, batch: &RecordBatch<'_>) -> std::io::Result<()> {
        // Rows taken one by one before these go first.
        self.flush();
        let rows = batch.len();
        let first = self.rows;
        self.rows += rows;
        let cell = |row: usize, column: usize| batch.field(row, column);
        push_rows(
            &mut self.columns,
            first,
            rows,
            cell,
            self.options,
            self.keep_text,
        );
        Ok(())
    }

    fn expect_rows(&mut self, rows: usize) {
        let more = rows.saturating_sub(self.rows);
        for column in self.columns.iter_mut().flatten() {
            column.reserve(more);
        }
    }

    fn column(&mut self, name: String) {
        let builder = self.select.wants(&name).then(|| {
            let forced = self.options.forced(&name);
            ColumnBuilder::new(&name, forced, self.options, self.keep_text, self.rows)
        });
        self.names.push(name);
        self.columns.push(builder);
    }

    fn row(
        &mut self,
        _line: u64,
        cells: &mut dyn Iterator<Item = Cell<'_>>,
    ) -> std::io::Result<()> {
        self.flush();
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            if let Some(column) = column {
                column.push(&cell, self.rows, self.options, self.keep_text);
            }
        }
        self.rows += 1;
        Ok(())
    }
}

/// Reads the text of the first rows of columns that became text late, in a
/// second pass that stops after the last row it needs (usually early: a
/// mixed column shows its first non-number soon).
pub(super) struct TextPass<'a> {
    options: &'a ReadOptions,
    /// (column index, its text so far), by column index.
    pub(super) columns: Vec<(usize, TextBuilder)>,
    /// Rows to read per column, as `columns`.
    wanted: Vec<usize>,
    /// Rows read so far.
    rows: usize,
}

impl<'a> TextPass<'a> {
    /// A pass over the first rows of columns: (column index, rows).
    pub(super) fn new(options: &'a ReadOptions, rereads: &[(usize, usize)]) -> Self {
        TextPass {
            options,
            columns: rereads
                .iter()
                .map(|&(i, _)| (i, TextBuilder::default()))
                .collect(),
            wanted: rereads.iter().map(|&(_, rows)| rows).collect(),
            rows: 0,
        }
    }
}

impl Sink for TextPass<'_> {
    fn column(&mut self, _name: String) {}

    fn row(
        &mut self,
        _line: u64,
        cells: &mut dyn Iterator<Item = Cell<'_>>,
    ) -> std::io::Result<()> {
        let mut next = 0;
        for (i, cell) in cells.enumerate() {
            let Some((index, builder)) = self.columns.get_mut(next) else {
                break;
            };
            if *index == i {
                if self.rows < self.wanted[next] {
                    push_text(builder, &cell, self.options);
                }
                next += 1;
            }
        }
        // JSON lines: a row may stop before a late column.
        for (at, (_, builder)) in self.columns.iter_mut().enumerate().skip(next) {
            if self.rows < self.wanted[at] {
                builder.push_missing();
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn done(&self) -> bool {
        self.wanted.iter().all(|&rows| self.rows >= rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::column::{is_missing, raw};
    use super::super::time::{MISSING_TIME, parse_iso};
    use super::super::{TableRead, Values, parse_number_with, scan, trim};
    use super::*;
    use crate::cancel::Cancel;
    use std::sync::Arc;

    /// Every cell of a file the slow, obvious way: `None` when missing,
    /// else its text as `Cell::text` shows it (lossy UTF-8).
    #[derive(Default)]
    struct AllCells<'a> {
        options: Option<&'a ReadOptions>,
        names: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
        numbers: Vec<Vec<bool>>,
    }

    impl Sink for AllCells<'_> {
        fn column(&mut self, name: String) {
            self.names.push(name);
        }

        fn row(
            &mut self,
            _: u64,
            cells: &mut dyn Iterator<Item = Cell<'_>>,
        ) -> std::io::Result<()> {
            let options = self.options.unwrap();
            let mut row = vec![None; self.names.len()];
            let mut numbers = vec![false; self.names.len()];
            for (i, cell) in cells.enumerate() {
                if !is_missing(&cell, options) {
                    row[i] = Some(cell.text().into_owned());
                    numbers[i] = match (&cell, raw(&cell)) {
                        (Cell::Number(_), _) => true,
                        (_, Some(r)) => parse_number_with(r, options.decimal).is_some(),
                        _ => false,
                    };
                }
            }
            self.rows.push(row);
            self.numbers.push(numbers);
            Ok(())
        }
    }

    /// Reads `text` both ways and checks that every text column holds
    /// exactly the cells the slow way sees, with its dictionary in order of
    /// first appearance and its numbers counted; a column with a cell that
    /// is neither a number nor a date must be text.
    fn same_as_slow_path(name: &str, text: &[u8], options: ReadOptions) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut slow = AllCells {
            options: Some(&options),
            ..AllCells::default()
        };
        scan(&path, &options, &mut slow, &Cancel::never()).unwrap();
        let options = Arc::new(options.clone());
        let table = super::super::read(&TableRead::whole(&path, &options), &Cancel::never())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(table.rows, slow.rows.len(), "{name}");
        for (i, column_name) in slow.names.iter().enumerate() {
            let cells: Vec<Option<&str>> = slow
                .rows
                .iter()
                .map(|row| row.get(i).and_then(|c| c.as_deref()))
                .collect();
            let numeric = slow
                .numbers
                .iter()
                .filter(|n| n.get(i).copied().unwrap_or(false))
                .count();
            let must_be_text = cells.iter().zip(&slow.numbers).any(|(c, n)| {
                c.is_some_and(|c| parse_iso(trim(c.as_bytes())).is_none())
                    && !n.get(i).copied().unwrap_or(false)
            });
            let column = table.column(column_name).unwrap();
            match &column.values {
                Values::Text(t) => {
                    let what = format!("{name}: column `{column_name}`");
                    assert_eq!(t.iter().collect::<Vec<_>>(), cells, "{what}");
                    let mut distinct: Vec<&str> = Vec::new();
                    for c in cells.iter().flatten() {
                        if !distinct.contains(c) {
                            distinct.push(c);
                        }
                    }
                    assert_eq!(
                        t.dictionary().iter().collect::<Vec<_>>(),
                        distinct,
                        "{what}"
                    );
                    assert_eq!(t.numeric(), numeric, "{what}");
                }
                Values::Numbers(v) => {
                    assert!(!must_be_text, "{name}: `{column_name}` is numbers");
                    let slow: Vec<f64> = cells
                        .iter()
                        .map(|c| match c {
                            None => f64::NAN,
                            Some(c) => parse_number_with(trim(c.as_bytes()), options.decimal)
                                .unwrap_or_else(|| panic!("{name}: `{c}` is no number")),
                        })
                        .collect();
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(v), bits(&slow), "{name}: column `{column_name}`");
                }
                Values::Time(t) => {
                    assert!(!must_be_text, "{name}: `{column_name}` is times");
                    let slow: Vec<i64> = cells
                        .iter()
                        .map(|c| match c {
                            None => MISSING_TIME,
                            Some(c) => {
                                parse_iso(trim(c.as_bytes()))
                                    .unwrap_or_else(|| panic!("{name}: `{c}` is no time"))
                                    .0
                            }
                        })
                        .collect();
                    assert_eq!(t.micros, slow, "{name}: column `{column_name}`");
                }
            }
        }
    }

    /// Issue 11 (reading speed): text cells found by their bytes, columns
    /// that turn text late keeping their text from there on and reading
    /// only the rows before in a second pass, give the table the obvious
    /// way gives, on the edge cases of real files.
    #[test]
    fn fast_text_paths_give_the_same_table_as_the_slow_path() {
        let numbers: String = (0..300).map(|i| format!("{i},{}.5\n", i % 7)).collect();
        // Batches of rows: types that change inside one and across two,
        // and rows long enough to end a batch by its size.
        let times: String = (0..700)
            .map(|i| match i {
                333 => "soon,1,x\n".to_owned(),
                500 => ",NA,5\n".to_owned(),
                _ => format!(
                    "2024-03-01 {:02}:{:02},{i}.5,{}\n",
                    i / 60 % 24,
                    i % 60,
                    i % 3
                ),
            })
            .collect();
        let long: String = (0..400)
            .map(|i| format!("{i},{}\n", "x".repeat(4000 + i % 7)))
            .collect();
        let cases: Vec<(&str, Vec<u8>, ReadOptions)> = vec![
            (
                "quoted.csv",
                b"a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",x\n3,x,\"x\"\n".to_vec(),
                ReadOptions::new(),
            ),
            (
                "crlf_bom.csv",
                b"\xef\xbb\xbfa,b\r\n1,ok\r\n2,5+\r\n3,ok\r\n,NA\r\n".to_vec(),
                ReadOptions::new(),
            ),
            (
                "invalid_utf8.csv",
                b"name,v\nK\xf6ln,1\nK\xfcln,2\nK\xf6ln,3\nK\xef\xbf\xbdln,4\n\xff,5\n".to_vec(),
                ReadOptions::new(),
            ),
            (
                "latin1.csv",
                b"name,v\nK\xf6ln,1\nS\xe3o Paulo,x\nK\xf6ln,2\n".to_vec(),
                ReadOptions::from_toml(&toml::from_str("encoding = 'latin1'").unwrap()).unwrap(),
            ),
            (
                "second_row.csv",
                b"v,w\n1,2\nT,3\n1,4\n,5\n1.50,6\nT,7\n".to_vec(),
                ReadOptions::new(),
            ),
            (
                "last_row.csv",
                format!("v,w\n{numbers}T,x\n").into_bytes(),
                ReadOptions::new(),
            ),
            (
                "middle.csv",
                format!("v,w\n{numbers}<5,NA\n{numbers}").into_bytes(),
                ReadOptions::new(),
            ),
            (
                "batches.csv",
                format!("t,v,w\n{times}").into_bytes(),
                ReadOptions::new(),
            ),
            (
                "long_rows.csv",
                format!("n,text\n{long}").into_bytes(),
                ReadOptions::new(),
            ),
            (
                "two_late_columns.csv",
                b"a,b,c\n1,2,x\n1.0,3,y\n01,?,x\n1e0,4,y\n,NA,x\n1,5,z\nT,6,x\n1,7,y\n".to_vec(),
                ReadOptions::new(),
            ),
            (
                "late_time.csv",
                b"t,v\n2024-03-01,1\n2024-03-02 10:00,2\n,3\nsoon,4\n2024-03-03,5\n".to_vec(),
                ReadOptions::new(),
            ),
            (
                "decimal_comma.csv",
                b"v;w\n1,5;a\n2;b\n1.5;c\n1,5;d\n".to_vec(),
                ReadOptions::from_toml(
                    &toml::from_str("delimiter = ';'\ndecimal = ','").unwrap(),
                )
                .unwrap(),
            ),
            (
                "custom_na.csv",
                b"v\n1\n.\n2\nx\n?\n3\n".to_vec(),
                ReadOptions::from_toml(&toml::from_str("na = ['.', '?']").unwrap()).unwrap(),
            ),
            (
                "numbers_and_times.csv",
                b"n,t,m\n1.5,2024-03-01 00:10,NA\n, 2024-03-01 00:20 ,-2\nNA,,1e3\n-0.25,2024-03-02T00:10,nan\n"
                    .to_vec(),
                ReadOptions::new(),
            ),
            (
                "numbers_custom_na.csv",
                b"n,t\n1.5,2024-03-01\n-999,2024-03-02\n,-999\n2,2024-03-02\n".to_vec(),
                ReadOptions::from_toml(&toml::from_str("na = ['-999']").unwrap()).unwrap(),
            ),
            (
                "late.jsonl",
                b"{\"a\": 1}\n{\"a\": 2, \"b\": 3}\n{\"b\": 4}\n{\"a\": \"x\", \"b\": 5.50}\n{\"b\": \"y\"}\n{\"a\": 1, \"c\": true}\n"
                    .to_vec(),
                ReadOptions::new(),
            ),
        ];
        for (name, text, options) in cases {
            same_as_slow_path(name, &text, options);
        }
    }

    #[test]
    fn the_second_pass_stops_at_the_last_row_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let rows: String = (0..10_000).map(|i| format!("{i},{i}\n")).collect();
        // `1.0` and `2.0` are not their numbers' shortest texts: the text
        // of `a` and `b` before their `T` and `<5` is read again.
        std::fs::write(&path, format!("a,b\n1.0,2.0\nT,3\n4,<5\n{rows}")).unwrap();
        let options = ReadOptions::new();
        let mut builder = TableBuilder::new(&options, &Columns::All, true);
        scan(&path, &options, &mut builder, &Cancel::never()).unwrap();
        assert_eq!(builder.rereads(), vec![(0, 1), (1, 2)]);
        let mut pass = TextPass::new(&options, &builder.rereads());
        scan(&path, &options, &mut pass, &Cancel::never()).unwrap();
        assert_eq!(pass.rows, 2, "stops after row 2 of 10,003");
        let table = builder.finish(&path, pass.columns);
        let Values::Text(b) = &table.columns[1].values else {
            panic!("`b` is not text")
        };
        assert_eq!(b.len(), 10_003);
        assert_eq!(
            (b.get(0), b.get(2), b.get(10_002)),
            (Some("2.0"), Some("<5"), Some("9999"))
        );
    }

    /// A column of integers that turns text late (counts with a `T` or
    /// `<5` among them) writes the text of its first rows from its numbers
    /// when every cell was its number's shortest text: no second pass,
    /// the same table. Any other way of writing a number there (`+7`,
    /// `007`, ` 7`, `7.0`, `-0`, `1e3`, 16 digits, `7,0` with a decimal
    /// comma) is read again, since the text keeps it as written.
    #[test]
    fn a_late_text_column_of_integers_is_written_from_its_numbers() {
        let read = |text: &str, options: &ReadOptions| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.csv");
            std::fs::write(&path, text).unwrap();
            let mut builder = TableBuilder::new(options, &Columns::All, true);
            scan(&path, options, &mut builder, &Cancel::never()).unwrap();
            same_as_slow_path("c.csv", text.as_bytes(), options.clone());
            builder.rereads()
        };
        let plain = ReadOptions::new();
        let counts: String = (0..300)
            .map(|i| format!("{},{i}\n", i * 37 - 5000))
            .collect();
        for (cells, rereads) in [
            (
                &["0", "7", "-12", "", "NA", "123456789012345", "7"][..],
                false,
            ),
            (&["7", "+7"], true),
            (&["7", "007"], true),
            (&["7", " 7"], true),
            (&["7", "7 "], true),
            (&["7", "7.0"], true),
            (&["7", "-0"], true),
            (&["1000", "1e3"], true),
            // As many bytes as the shortest texts (3 + 2 = 4 + 1): the
            // exponent is what tells.
            (&["1e3", "+7"], true),
            (&["1", "1234567890123456"], true),
            (&["7", "7.5"], true),
            (&["7", "inf"], true),
        ] {
            let rows: String = cells.iter().map(|c| format!("{c},1\n")).collect();
            let text = format!("n,m\n{rows}T,x\n1,y\n");
            let expected = if rereads {
                vec![(0, cells.len())]
            } else {
                vec![]
            };
            let mut got = read(&text, &plain);
            got.retain(|&(column, _)| column == 0);
            assert_eq!(got, expected, "{cells:?}");
        }
        assert_eq!(
            read(&format!("n,i\n{counts}<5,T\n{counts}"), &plain),
            vec![]
        );
        let comma =
            ReadOptions::from_toml(&toml::from_str("delimiter = ';'\ndecimal = ','").unwrap())
                .unwrap();
        assert_eq!(read("n;m\n7;1\n7,0;2\nT;3\n", &comma), vec![(0, 2)]);
        assert_eq!(read("n;m\n7;1\n-8;2\nT;3\n", &comma), vec![]);
        let jsonl = |text: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.jsonl");
            std::fs::write(&path, text).unwrap();
            let mut builder = TableBuilder::new(&plain, &Columns::All, true);
            scan(&path, &plain, &mut builder, &Cancel::never()).unwrap();
            same_as_slow_path("c.jsonl", text.as_bytes(), plain.clone());
            builder.rereads()
        };
        assert_eq!(
            jsonl("{\"a\": 1}\n{\"a\": -2.0}\n{\"a\": \"7\"}\n{\"a\": \"x\"}\n"),
            vec![]
        );
        assert_eq!(
            jsonl("{\"a\": 1}\n{\"a\": \" 7\"}\n{\"a\": \"x\"}\n"),
            vec![(0, 2)]
        );
        assert_eq!(jsonl("{\"a\": 1.5}\n{\"a\": \"x\"}\n"), vec![(0, 1)]);
    }

    /// Random columns of numbers written every way (shortest texts of
    /// integers most often, and `+7`, `07`, ` 7`, `7.0`, `-0`, `1e1`,
    /// decimals, 16 digits, missing cells) that turn text at a random row
    /// give the table the obvious way gives, whether their first rows are
    /// written from their numbers or read again.
    #[test]
    fn random_late_text_columns_give_the_same_table_as_the_slow_path() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed = crate::test_rng::xorshift(seed);
            seed
        };
        let (mut rebuilt, mut reread) = (0, 0);
        for file in 0..300 {
            let rows = 1 + (next() % 400) as usize;
            let turn = (next() % rows as u64) as usize;
            let odd_every = [0, 0, 5, 50, 1000][(next() % 5) as usize];
            let mut text = String::from("n,m\n");
            for row in 0..rows {
                let r = next();
                let cell = if row == turn {
                    ["T", "<5", "5+", "x"][(r % 4) as usize].to_owned()
                } else if odd_every > 0 && r % odd_every == 0 {
                    let v = (r >> 8) % 1000;
                    match (r >> 20) % 9 {
                        0 => format!("+{v}"),
                        1 => format!("0{v}"),
                        2 => format!(" {v}"),
                        3 => format!("{v}.0"),
                        4 => "-0".to_owned(),
                        5 if r >> 40 & 1 == 0 => format!("{v}e1"),
                        // Shorter than its shortest text by one byte.
                        5 => format!("{}e3", v % 9 + 1),
                        6 => format!("{v}.25"),
                        7 => format!("1{v:015}"),
                        _ => format!("{v} "),
                    }
                } else {
                    match r % 10 {
                        0 => String::new(),
                        1 => "NA".to_owned(),
                        2 => format!("-{}", (r >> 8) % 100_000),
                        3 => "0".to_owned(),
                        _ => format!("{}", (r >> 8) % 999_999_999_999_999),
                    }
                };
                text.push_str(&format!("{cell},{file}\n"));
            }
            let options = ReadOptions::new();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("r.csv");
            std::fs::write(&path, &text).unwrap();
            let mut builder = TableBuilder::new(&options, &Columns::All, true);
            scan(&path, &options, &mut builder, &Cancel::never()).unwrap();
            if builder.rereads().is_empty() {
                rebuilt += 1;
            } else {
                reread += 1;
            }
            same_as_slow_path(&format!("random {file}"), text.as_bytes(), options);
        }
        assert!(
            rebuilt > 50 && reread > 50,
            "{rebuilt} rebuilt, {reread} read again"
        );
    }
}
