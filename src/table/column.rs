//! One column of a table from its cells, typed by the whole column as
//! pandas, polars and csvkit type it: numbers when every non-missing cell
//! is a number, times when every one is an ISO 8601 date or date-time,
//! text otherwise (never an error); or the type `types` forces, counting
//! the cells that do not fit as `invalid`.

use super::options::{ColumnType, ReadOptions};
use super::text::{Text, TextBuilder};
use super::time::{IsoCells, MISSING_TIME, TimeFormat, TimeOffset, TimeStyle, parse_with};
use super::{Cell, Times, Values, parse_number_with, parse_number_with_noting, trim};

/// One column being read.
pub(super) struct ColumnBuilder {
    forced: Option<ColumnType>,
    time_format: TimeFormat,
    state: State,
    /// Cells that are numbers.
    numeric: usize,
    /// Cells not of the forced type.
    invalid: usize,
    /// It became text at this row, after cells that were kept as numbers
    /// or times: the text of the rows before it is read in a second pass
    /// that stops there (the rest is kept as it comes).
    pub(super) reread: Option<usize>,
    /// Reads its ISO cells, remembering the dates and times of day that
    /// repeat down the column.
    iso: IsoCells,
    /// How its cells kept as numbers were written: a column of integers
    /// that turns text late rebuilds the text of its first rows from them
    /// instead of reading them again.
    written: Written,
}

/// How the number cells of a column were written: their bytes in all, as
/// the file has them (untrimmed: as a text column keeps them), and whether
/// every one was a plain decimal. A plain decimal is never shorter than
/// its value's shortest text (`-12`, no `+`, no leading zero, no point, no
/// space around) and as long only when it is that text. So when the values
/// are integers whose shortest texts add up to `bytes`, every cell was
/// its value's shortest text, and the text of the rows is written from the
/// numbers (`rebuilt`).
#[derive(Debug, Clone, Copy)]
struct Written {
    bytes: u64,
    plain: bool,
}

impl Default for Written {
    fn default() -> Written {
        Written {
            bytes: 0,
            plain: true,
        }
    }
}

impl Written {
    /// Counts a cell of `len` bytes kept as a number.
    #[inline(always)]
    fn note(&mut self, len: usize, plain: bool) {
        self.bytes += len as u64;
        self.plain &= plain;
    }
}

/// The bytes of a number cell as a text column would keep them: a JSON
/// number as `format_number` writes it (the shortest text, for an
/// integer), any other cell as it is.
fn written_len(cell: &Cell<'_>) -> usize {
    match cell {
        Cell::Bytes(b) => b.len(),
        Cell::Text(s) => s.len(),
        Cell::Number(n) => shortest_len(*n).unwrap_or(0),
        Cell::Missing | Cell::Other(_) | Cell::Time(..) => 0,
    }
}

/// The length of the shortest text of `value`, when it is an integer of
/// at most 15 digits (`format_number`'s text of it: `-0` is `0`).
fn shortest_len(value: f64) -> Option<usize> {
    if value.fract() != 0.0 || value.abs() >= 1e15 {
        return None;
    }
    Some(itoa::Buffer::new().format(value as i64).len())
}

/// The text of rows whose numbers are `values` (NaN: missing), if their
/// cells were written as `written` says their values' shortest texts are
/// (see `Written`); `None` otherwise.
fn rebuilt(values: &[f64], written: Written) -> Option<TextBuilder> {
    if !written.plain {
        return None;
    }
    let mut bytes = 0;
    for &v in values.iter().filter(|v| !v.is_nan()) {
        bytes += shortest_len(v)? as u64;
    }
    if bytes != written.bytes {
        return None;
    }
    let mut text = TextBuilder::default();
    let mut buffer = itoa::Buffer::new();
    for &v in values {
        if v.is_nan() {
            text.push_missing();
        } else {
            text.push_bytes(buffer.format(v as i64).as_bytes());
        }
    }
    Some(text)
}

enum State {
    /// Only missing cells so far (this many).
    Pending(usize),
    Numbers(Vec<f64>),
    /// Instants and the style of the cells so far (`None`: none yet).
    Times(Vec<i64>, Option<TimeStyle>),
    /// Text; `None` when the cells are not kept.
    Text(Option<TextBuilder>),
}

/// Appends a cell to a text column.
pub(super) fn push_text(builder: &mut TextBuilder, cell: &Cell<'_>, options: &ReadOptions) {
    if is_missing(cell, options) {
        builder.push_missing();
    } else {
        push_present(builder, cell);
    }
}

/// Appends a cell known not to be missing to a text column.
fn push_present(builder: &mut TextBuilder, cell: &Cell<'_>) {
    match cell {
        Cell::Bytes(bytes) => builder.push_bytes(bytes),
        _ => builder.push(&cell.text()),
    }
}

pub(super) fn raw<'c>(cell: &'c Cell<'_>) -> Option<&'c [u8]> {
    match cell {
        Cell::Bytes(b) => Some(trim(b)),
        Cell::Text(s) => Some(trim(s.as_bytes())),
        _ => None,
    }
}

pub(super) fn is_missing(cell: &Cell<'_>, options: &ReadOptions) -> bool {
    match cell {
        Cell::Missing => true,
        _ => raw(cell).is_some_and(|r| options.is_missing(r)),
    }
}

/// Appends the cells of rows `from..to` to a column of numbers (the
/// default `na` list: no missing marker is a number) while they are
/// numbers; gives the first row that is not.
#[inline(always)]
fn take_numbers<'b>(
    values: &mut Vec<f64>,
    numeric: &mut usize,
    written: &mut Written,
    from: usize,
    to: usize,
    cell: impl Fn(usize) -> &'b [u8],
    decimal: u8,
) -> usize {
    for row in from..to {
        let bytes = cell(row);
        match parse_number_with_noting(trim(bytes), decimal) {
            Some((n, plain)) => {
                values.push(n);
                written.note(bytes.len(), plain);
            }
            None => {
                *numeric += row - from;
                return row;
            }
        }
    }
    *numeric += to - from;
    to
}

/// Appends the cells of rows `from..to` to a column of times found by
/// their cells (not forced) while they are ISO 8601 times in a style that
/// goes with the column's, or missing; gives the first row that is not.
#[inline(always)]
fn take_times<'b>(
    values: &mut Vec<i64>,
    style: &mut Option<TimeStyle>,
    iso: &mut IsoCells,
    from: usize,
    to: usize,
    cell: impl Fn(usize) -> &'b [u8],
    options: &ReadOptions,
) -> usize {
    for row in from..to {
        let raw = trim(cell(row));
        if options.is_missing(raw) {
            values.push(MISSING_TIME);
            continue;
        }
        let Some((t, s)) = iso.parse(raw) else {
            return row;
        };
        let Some(merged) = style.map_or(Some(s), |old| old.merge(s)) else {
            return row;
        };
        values.push(t);
        *style = Some(merged);
    }
    to
}

/// Appends the cells of rows `from..to` to a text column (kept when
/// `builder` is given: a chunk at a time, so that the dictionary can look
/// up a cell while the next ones' places are fetched); gives how many are
/// numbers.
#[inline(always)]
fn take_text<'b>(
    mut builder: Option<&mut TextBuilder>,
    from: usize,
    to: usize,
    cell: impl Fn(usize) -> &'b [u8],
    options: &ReadOptions,
) -> usize {
    let is_number = |bytes: &[u8]| parse_number_with(trim(bytes), options.decimal).is_some();
    let mut numeric = 0;
    let mut start = from;
    while start < to {
        let end = to.min(start + TEXT_CHUNK);
        // On the stack, written in place: a `Vec` per batch and a push per
        // cell cost a tenth of a text column.
        let mut cells: [Option<&[u8]>; TEXT_CHUNK] = [None; TEXT_CHUNK];
        for (slot, row) in cells.iter_mut().zip(start..end) {
            let bytes = cell(row);
            if !options.is_missing(trim(bytes)) {
                *slot = Some(bytes);
            }
        }
        let cells = &cells[..end - start];
        numeric += match builder.as_deref_mut() {
            // Each distinct string checked once.
            Some(builder) => builder.push_many_counting(cells, is_number),
            None => cells.iter().flatten().filter(|b| is_number(b)).count(),
        };
        start = end;
    }
    numeric
}

/// Text cells `take_text` gives the dictionary at once: a batch of rows.
const TEXT_CHUNK: usize = 128;

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
            reread: None,
            iso: IsoCells::default(),
            written: Written::default(),
        }
    }

    /// Appends the cell of row `row` (0-based).
    ///
    /// Inlined into each reader's loop, where the kind of cell is known
    /// (CSV: always bytes), so the checks of the other kinds fall away.
    #[inline(always)]
    pub(super) fn push(
        &mut self,
        cell: &Cell<'_>,
        row: usize,
        options: &ReadOptions,
        keep_text: bool,
    ) {
        let raw = raw(cell);
        // The bulk of a data file: a number in a column of numbers (found
        // or forced). No marker of the default `na` list is a number, so
        // with that list a number needs no check against it.
        if options.na.is_none()
            && let (State::Numbers(v), Some(raw)) = (&mut self.state, raw)
            && let Some((n, plain)) = parse_number_with_noting(raw, options.decimal)
        {
            self.numeric += 1;
            v.push(n);
            self.written.note(written_len(cell), plain);
            return;
        }
        let missing = match cell {
            Cell::Missing => true,
            _ => raw.is_some_and(|r| options.is_missing(r)),
        };
        if missing {
            self.push_missing();
            return;
        }
        // The bulk of a time column: a time. A cell that `parse_iso` reads
        // is never a number (four digits and a `-`), so it is not tried as
        // one (`numeric` counts only numbers).
        if self.forced.is_none()
            && let (State::Times(v, style), Some(raw)) = (&mut self.state, raw)
            && let Some((t, s)) = self.iso.parse(raw)
            && let Some(merged) = style.map_or(Some(s), |old| old.merge(s))
        {
            v.push(t);
            *style = Some(merged);
            return;
        }
        let noted = match (cell, raw) {
            (Cell::Number(n), _) => Some((*n, true)),
            (_, Some(raw)) => parse_number_with_noting(raw, options.decimal),
            _ => None,
        };
        let number = noted.map(|(n, _)| n);
        if let Some((n, plain)) = noted {
            self.numeric += 1;
            // The bulk of a data file: a number in a column of numbers
            // (found or forced).
            match &mut self.state {
                State::Numbers(v) => {
                    v.push(n);
                    self.written.note(written_len(cell), plain);
                    return;
                }
                // The column's first number (`push_auto` keeps it).
                State::Pending(_) => self.written.note(written_len(cell), plain),
                State::Times(..) | State::Text(_) => {}
            }
        }
        // The bulk of a text column (found or forced, the same): its text,
        // if kept.
        if let State::Text(builder) = &mut self.state {
            if let Some(builder) = builder {
                push_present(builder, cell);
            }
            return;
        }
        match self.forced {
            None => self.push_auto(cell, row, raw, number, keep_text),
            Some(forced) => self.push_forced(forced, cell, raw, number),
        }
    }

    /// Appends this column's cells of `rows` rows, `cell(i)` the one of the
    /// `i`th (the first is row `first` of the file). The bulk of a column,
    /// cells of the type it has so far, goes through a loop of its own;
    /// any other cell through `push`, which may change the column's type,
    /// and the loop of the new type takes the cells after it. The same as
    /// `push` cell by cell.
    pub(super) fn push_batch<'b>(
        &mut self,
        rows: usize,
        cell: impl Fn(usize) -> &'b [u8] + Copy,
        first: usize,
        options: &ReadOptions,
        keep_text: bool,
    ) {
        let mut row = 0;
        while row < rows {
            row = match &mut self.state {
                State::Numbers(v) if options.na.is_none() => take_numbers(
                    v,
                    &mut self.numeric,
                    &mut self.written,
                    row,
                    rows,
                    cell,
                    options.decimal,
                ),
                State::Times(v, style) if self.forced.is_none() => {
                    take_times(v, style, &mut self.iso, row, rows, cell, options)
                }
                State::Text(builder) => {
                    self.numeric += take_text(builder.as_mut(), row, rows, cell, options);
                    rows
                }
                _ => row,
            };
            if row < rows {
                self.push(&Cell::Bytes(cell(row)), first + row, options, keep_text);
                row += 1;
            }
        }
    }

    /// Makes room for `more` cells.
    pub(super) fn reserve(&mut self, more: usize) {
        match &mut self.state {
            State::Pending(_) | State::Text(None) => {}
            State::Numbers(v) => v.reserve(more),
            State::Times(v, _) => v.reserve(more),
            State::Text(Some(b)) => b.reserve(more),
        }
    }

    /// Appends a missing cell.
    fn push_missing(&mut self) {
        match &mut self.state {
            State::Pending(n) => *n += 1,
            State::Numbers(v) => v.push(f64::NAN),
            State::Times(v, _) => v.push(MISSING_TIME),
            State::Text(Some(b)) => b.push_missing(),
            State::Text(None) => {}
        }
    }

    /// A cell of a column whose type is not forced.
    fn push_auto(
        &mut self,
        cell: &Cell<'_>,
        row: usize,
        raw: Option<&[u8]>,
        number: Option<f64>,
        keep: bool,
    ) {
        let time = |iso: &mut IsoCells| match cell {
            Cell::Time(micros, style) => Some((*micros, *style)),
            _ => raw.and_then(|raw| iso.parse(raw)),
        };
        match &mut self.state {
            State::Pending(missing) => {
                let missing = *missing;
                self.state = if let Some(n) = number {
                    let mut v = vec![f64::NAN; missing];
                    v.push(n);
                    State::Numbers(v)
                } else if let Some((t, style)) = time(&mut self.iso) {
                    let mut v = vec![MISSING_TIME; missing];
                    v.push(t);
                    State::Times(v, Some(style))
                } else {
                    State::Text(keep.then(|| {
                        let mut b = TextBuilder::default();
                        b.push_missing_n(missing);
                        push_present(&mut b, cell);
                        b
                    }))
                };
            }
            State::Numbers(v) => match number {
                Some(n) => v.push(n),
                None => self.demote(cell, row, keep),
            },
            State::Times(v, style) => {
                let merged = time(&mut self.iso).and_then(|(t, s)| {
                    let merged = style.map_or(Some(s), |old| old.merge(s))?;
                    Some((t, merged))
                });
                match merged {
                    Some((t, s)) => {
                        v.push(t);
                        *style = Some(s);
                    }
                    None => self.demote(cell, row, keep),
                }
            }
            State::Text(Some(b)) => push_present(b, cell),
            State::Text(None) => {}
        }
    }

    /// Numbers or times so far, and now (at row `row`) a cell that is
    /// neither: the column is text. When text is kept, it is kept from this
    /// cell on; the text of the rows before it is written from their
    /// numbers when each was its number's shortest text (a column of
    /// counts with a `T` or `<5` in it: `Written`), else a second pass
    /// reads it.
    fn demote(&mut self, cell: &Cell<'_>, row: usize, keep: bool) {
        let before = std::mem::replace(&mut self.state, State::Text(None));
        let first = match &before {
            State::Numbers(v) if keep => rebuilt(v, self.written),
            _ => None,
        };
        self.reread = (keep && first.is_none()).then_some(row);
        self.state = State::Text(keep.then(|| {
            let mut b = first.unwrap_or_default();
            push_present(&mut b, cell);
            b
        }));
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
                    _ => match &self.time_format {
                        TimeFormat::Iso => self.iso.parse(raw.unwrap_or_default()),
                        format => parse_with(raw.unwrap_or_default(), format, number),
                    },
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
            (State::Text(Some(b)), _) => push_present(b, cell),
            (State::Text(None), _) | (State::Pending(_), _) => {}
        }
    }

    /// The column's values and invalid count; `reread` gives the text of
    /// the first rows of a column that became text late.
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
                let builder = match (self.reread, builder) {
                    (Some(_), Some(later)) => reread().map(|mut first| {
                        first.append(later);
                        first
                    }),
                    (_, builder) => builder,
                };
                let mut text = match builder {
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
