//! Typed columns from the cells of a whole column, as pandas, polars and
//! csvkit decide them: numbers when every non-missing cell is a number,
//! times when every one is an ISO 8601 date or date-time, text otherwise
//! (never an error); or the type `types` forces, counting the cells that do
//! not fit as `invalid`.

use super::options::{ColumnType, ReadOptions};
use super::text::{Text, TextBuilder};
use super::time::{MISSING_TIME, TimeFormat, TimeOffset, TimeStyle, parse_iso, parse_with};
use super::{Cell, Column, Columns, Sink, Table, Times, Values, parse_number_with, trim};

/// Collects a table's selected columns, typing each as its cells come.
pub(super) struct TableBuilder<'a> {
    options: &'a ReadOptions,
    select: Selector,
    keep_text: bool,
    names: Vec<String>,
    /// Per column of the file: its builder, `None` when not selected.
    columns: Vec<Option<ColumnBuilder>>,
    rows: usize,
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

/// One column being read.
pub(super) struct ColumnBuilder {
    forced: Option<ColumnType>,
    time_format: TimeFormat,
    state: State,
    /// Cells that are numbers.
    numeric: usize,
    /// Cells not of the forced type.
    invalid: usize,
    /// It became text after cells that were kept as numbers or times: its
    /// text is read in a second pass.
    reread: bool,
}

enum State {
    /// Only missing cells so far (this many).
    Pending(usize),
    Numbers(Vec<f64>),
    /// Instants and the style of the cells so far (`None`: none yet).
    Times(Vec<i64>, Option<TimeStyle>),
    /// Text; `None` when the cells are not kept (or come in a second pass).
    Text(Option<TextBuilder>),
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
        }
    }

    /// Indexes of the columns whose text needs a second pass.
    pub(super) fn rereads(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| self.columns[i].as_ref().is_some_and(|c| c.reread))
            .collect()
    }

    /// The table, with the text of `rereads` from the second pass.
    pub(super) fn finish(
        self,
        path: &std::path::Path,
        mut reread: Vec<(usize, TextBuilder)>,
    ) -> Table {
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
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            if let Some(column) = column {
                column.push(&cell, self.options, self.keep_text);
            }
        }
        self.rows += 1;
        Ok(())
    }
}

/// Fills the text of columns that became text late, in a second pass.
pub(super) struct TextPass<'a> {
    options: &'a ReadOptions,
    /// (column index, its text so far).
    pub(super) columns: Vec<(usize, TextBuilder)>,
}

impl<'a> TextPass<'a> {
    /// A pass over the columns `indexes`.
    pub(super) fn new(options: &'a ReadOptions, indexes: &[usize]) -> Self {
        TextPass {
            options,
            columns: indexes
                .iter()
                .map(|&i| (i, TextBuilder::default()))
                .collect(),
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
                next += 1;
                if is_missing(&cell, self.options) {
                    builder.push_missing();
                } else {
                    builder.push(&cell.text());
                }
            }
        }
        // JSON lines: a row may stop before a late column.
        for (_, builder) in &mut self.columns[next..] {
            builder.push_missing();
        }
        Ok(())
    }
}

fn raw<'c>(cell: &'c Cell<'_>) -> Option<&'c [u8]> {
    match cell {
        Cell::Bytes(b) => Some(trim(b)),
        Cell::Text(s) => Some(trim(s.as_bytes())),
        _ => None,
    }
}

fn is_missing(cell: &Cell<'_>, options: &ReadOptions) -> bool {
    match cell {
        Cell::Missing => true,
        _ => raw(cell).is_some_and(|r| options.is_missing(r)),
    }
}

impl ColumnBuilder {
    /// A builder of column `name` of type `kind` (`None`: from its cells),
    /// whose first `missing` rows are missing.
    pub(super) fn new(
        name: &str,
        kind: Option<ColumnType>,
        options: &ReadOptions,
        keep_text: bool,
        missing: usize,
    ) -> ColumnBuilder {
        let state = match kind {
            None => State::Pending(missing),
            Some(ColumnType::Number) => State::Numbers(vec![f64::NAN; missing]),
            Some(ColumnType::Time) => State::Times(vec![MISSING_TIME; missing], None),
            Some(ColumnType::Text) => State::Text(keep_text.then(|| {
                let mut b = TextBuilder::default();
                b.push_missing_n(missing);
                b
            })),
        };
        ColumnBuilder {
            forced: kind,
            time_format: options.time_format.of(name).clone(),
            state,
            numeric: 0,
            invalid: 0,
            reread: false,
        }
    }

    /// Appends a cell.
    pub(super) fn push(&mut self, cell: &Cell<'_>, options: &ReadOptions, keep_text: bool) {
        if is_missing(cell, options) {
            match &mut self.state {
                State::Pending(n) => *n += 1,
                State::Numbers(v) => v.push(f64::NAN),
                State::Times(v, _) => v.push(MISSING_TIME),
                State::Text(Some(b)) => b.push_missing(),
                State::Text(None) => {}
            }
            return;
        }
        let raw = raw(cell);
        let number = match (cell, raw) {
            (Cell::Number(n), _) => Some(*n),
            (_, Some(raw)) => parse_number_with(raw, options.decimal),
            _ => None,
        };
        if number.is_some() {
            self.numeric += 1;
        }
        match self.forced {
            None => self.push_auto(cell, raw, number, keep_text),
            Some(forced) => self.push_forced(forced, cell, raw, number),
        }
    }

    /// A cell of a column whose type is not forced.
    fn push_auto(&mut self, cell: &Cell<'_>, raw: Option<&[u8]>, number: Option<f64>, keep: bool) {
        let time = || match cell {
            Cell::Time(micros, style) => Some((*micros, *style)),
            _ => raw.and_then(parse_iso),
        };
        match &mut self.state {
            State::Pending(missing) => {
                let missing = *missing;
                self.state = if let Some(n) = number {
                    let mut v = vec![f64::NAN; missing];
                    v.push(n);
                    State::Numbers(v)
                } else if let Some((t, style)) = time() {
                    let mut v = vec![MISSING_TIME; missing];
                    v.push(t);
                    State::Times(v, Some(style))
                } else {
                    State::Text(keep.then(|| {
                        let mut b = TextBuilder::default();
                        b.push_missing_n(missing);
                        b.push(&cell.text());
                        b
                    }))
                };
            }
            State::Numbers(v) => match number {
                Some(n) => v.push(n),
                None => self.demote(keep),
            },
            State::Times(v, style) => {
                let merged = time().and_then(|(t, s)| {
                    let merged = style.map_or(Some(s), |old| old.merge(s))?;
                    Some((t, merged))
                });
                match merged {
                    Some((t, s)) => {
                        v.push(t);
                        *style = Some(s);
                    }
                    None => self.demote(keep),
                }
            }
            State::Text(Some(b)) => b.push(&cell.text()),
            State::Text(None) => {}
        }
    }

    /// Numbers or times so far, and now a cell that is neither: the column
    /// is text, whose earlier cells a second pass reads (when kept).
    fn demote(&mut self, keep: bool) {
        self.state = State::Text(None);
        self.reread = keep;
    }

    /// A cell of a column of a forced type.
    fn push_forced(
        &mut self,
        forced: ColumnType,
        cell: &Cell<'_>,
        raw: Option<&[u8]>,
        number: Option<f64>,
    ) {
        match (&mut self.state, forced) {
            (State::Numbers(v), _) => match number {
                Some(n) => v.push(n),
                None => {
                    v.push(f64::NAN);
                    self.invalid += 1;
                }
            },
            (State::Times(v, style), _) => {
                let parsed = match cell {
                    Cell::Time(micros, style) => Some((*micros, *style)),
                    _ => parse_with(raw.unwrap_or_default(), &self.time_format, number),
                };
                match parsed {
                    Some((t, s)) => {
                        v.push(t);
                        *style = Some(match style {
                            None => s,
                            Some(old) => old.merge(s).unwrap_or(TimeStyle {
                                date_only: false,
                                offset: TimeOffset::Mixed,
                            }),
                        });
                    }
                    None => {
                        v.push(MISSING_TIME);
                        self.invalid += 1;
                    }
                }
            }
            (State::Text(Some(b)), _) => b.push(&cell.text()),
            (State::Text(None), _) | (State::Pending(_), _) => {}
        }
    }

    /// The column's values and invalid count; `reread` gives the text of a
    /// column that became text late.
    pub(super) fn finish(
        self,
        rows: usize,
        reread: impl FnOnce() -> Option<TextBuilder>,
    ) -> (Values, usize) {
        let values = match self.state {
            State::Pending(_) => Values::Numbers(vec![f64::NAN; rows]),
            State::Numbers(mut v) => {
                v.resize(rows, f64::NAN);
                v.shrink_to_fit();
                Values::Numbers(v)
            }
            State::Times(mut v, style) => {
                v.resize(rows, MISSING_TIME);
                v.shrink_to_fit();
                Values::Time(Times {
                    micros: v,
                    style: style.unwrap_or(TimeStyle::CIVIL),
                })
            }
            State::Text(builder) => {
                let mut text = match builder.or_else(reread) {
                    Some(b) => b.finish(self.numeric),
                    None => Text::not_kept(rows, self.numeric),
                };
                text.pad(rows);
                Values::Text(text)
            }
        };
        (values, self.invalid)
    }
}
