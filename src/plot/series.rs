//! Which columns of which tables a plot draws: `x` by name (or the row
//! number), `y` by names (which must exist) and globs (over numeric columns
//! only, so one entry can draw a folder of files whose columns differ), capped
//! at `max_series`.

use std::sync::Arc;

use super::error::PlotError;
use crate::cancel::Cancel;
use crate::config::PlotSpec;
use crate::table::{self, Column, Table, Text, TimeOffset, Times, Values};

/// The x values of a series.
#[derive(Debug, Clone, Copy)]
pub(crate) enum XValues<'a> {
    /// The row number, from 0.
    Row,
    /// A numeric column.
    Numbers(&'a [f64]),
    /// A time column.
    Time(&'a Times),
    /// A text column (categories of a bar chart).
    Text(&'a Text),
}

impl XValues<'_> {
    /// The x values of the first `rows` rows as numbers: NaN when missing.
    /// A time is in microseconds since the epoch, shifted into the offset the
    /// file wrote it with (so that ticks fall on its midnights, not UTC's).
    /// Computed once per table: its series share them.
    pub(crate) fn numbers(self, rows: usize) -> Vec<f64> {
        match self {
            XValues::Row | XValues::Text(_) => (0..rows).map(|i| i as f64).collect(),
            XValues::Numbers(v) => v[..rows].to_vec(),
            XValues::Time(t) => {
                let shift = shift(t);
                (0..rows)
                    .map(|i| t.get(i).map_or(f64::NAN, |us| (us + shift) as f64))
                    .collect()
            }
        }
    }
}

/// How far a time column's instants are moved to show them in the offset
/// its cells were written with (µs): none for civil times, UTC and mixed
/// offsets (shown in UTC).
pub(crate) fn shift(times: &Times) -> i64 {
    match times.style.offset {
        TimeOffset::Fixed { seconds, .. } => i64::from(seconds) * 1_000_000,
        TimeOffset::Civil | TimeOffset::Mixed => 0,
    }
}

/// One column to draw.
#[derive(Debug, Clone)]
pub(crate) struct SeriesData<'a> {
    /// The column's name.
    pub(crate) column: &'a str,
    /// Index of its table.
    pub(crate) table: usize,
    /// The stem of its table's file.
    pub(crate) stem: String,
    /// Its x values.
    pub(crate) x: XValues<'a>,
    /// Its y values (NaN = missing).
    pub(crate) y: &'a [f64],
    /// Cells of its column (and of its x column) that `types` forced and
    /// that were not numbers (or times): read as missing.
    pub(crate) invalid: usize,
}

/// The chosen series and what the note should say about the choice.
#[derive(Debug, Default)]
pub(crate) struct Selection<'a> {
    /// In order: tables, then `y` patterns, then column order.
    pub(crate) series: Vec<SeriesData<'a>>,
    /// Series left out by `max_series`.
    pub(crate) dropped: usize,
    /// Tables that gave no series: their stem and why.
    pub(crate) nothing: Vec<(String, String)>,
    /// The name of the x column, if one was given.
    pub(crate) x_name: Option<String>,
}

impl Selection<'_> {
    /// The series' names for the legend: the column, the file's stem, or
    /// both, whichever tells them apart.
    pub(crate) fn names(&self) -> Vec<String> {
        let one_table = self.series.iter().all(|s| s.table == self.series[0].table);
        let one_column = self
            .series
            .iter()
            .all(|s| s.column == self.series[0].column);
        self.series
            .iter()
            .map(|s| {
                if one_table {
                    s.column.to_owned()
                } else if one_column {
                    s.stem.clone()
                } else {
                    format!("{}: {}", s.stem, s.column)
                }
            })
            .collect()
    }

    /// The distinct column names of the series, in order: what a shared y
    /// axis shows (`pressure, humidity`).
    pub(crate) fn columns(&self) -> Vec<&str> {
        let mut seen = rustc_hash::FxHashSet::default();
        self.series
            .iter()
            .map(|s| s.column)
            .filter(|c| seen.insert(*c))
            .collect()
    }

    /// The time column on the x axis, if every series has one.
    pub(crate) fn x_times(&self) -> Option<&Times> {
        let mut times = self.series.iter().map(|s| match s.x {
            XValues::Time(t) => Some(t),
            _ => None,
        });
        let first = times.next()??;
        times.all(|t| t.is_some()).then_some(first)
    }
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// What a column holds, for messages.
fn holds(values: &Values) -> &'static str {
    match values {
        Values::Numbers(_) => "numbers",
        Values::Text(_) => "text",
        Values::Time(_) => "times",
    }
}

/// Chooses the series of a plot. `text_x` allows a text x column (bar
/// charts); `use_x` is false for histograms, which have no x column. Checks
/// `cancel` between tables.
pub(crate) fn select<'a>(
    spec: &PlotSpec,
    tables: &'a [Arc<Table>],
    text_x: bool,
    use_x: bool,
    cancel: &Cancel,
) -> Result<Selection<'a>, PlotError> {
    let mut selection = Selection {
        x_name: spec.x.clone().filter(|_| use_x),
        ..Selection::default()
    };
    let patterns: Vec<(bool, &str, Option<glob::Pattern>)> = spec
        .y
        .iter()
        .map(|p| {
            let glob = is_glob(p).then(|| glob::Pattern::new(p).ok()).flatten();
            (is_glob(p), p.as_str(), glob)
        })
        .collect();
    for (index, table) in tables.iter().enumerate() {
        cancel.check()?;
        let file = table::display(&table.path);
        let mut x_invalid = 0;
        let x = match &selection.x_name {
            None => XValues::Row,
            Some(name) => {
                let Some(column) = table.column(name) else {
                    return Err(PlotError::NoXColumn {
                        file,
                        name: name.clone(),
                        columns: table.column_list(),
                    });
                };
                x_invalid = column.invalid;
                match &column.values {
                    Values::Numbers(v) => XValues::Numbers(v),
                    Values::Time(t) => XValues::Time(t),
                    Values::Text(v) if text_x => XValues::Text(v),
                    values => {
                        return Err(PlotError::BadXColumn {
                            file,
                            name: name.clone(),
                            holds: holds(values),
                            hint: " or times (a bar chart takes text as categories)",
                        });
                    }
                }
            }
        };
        // Chosen columns by index, in the order the patterns choose them; a
        // flag per column keeps this linear in the number of columns (a
        // 500,000-column file took minutes when each match searched the
        // list: issue 10, item 10).
        let mut columns: Vec<&'a Column> = Vec::new();
        let mut chosen = vec![false; table.columns.len()];
        let x_index = selection
            .x_name
            .as_deref()
            .and_then(|x| table.columns.iter().position(|c| c.name == x));
        for (glob, pattern, compiled) in &patterns {
            if *glob {
                let Some(compiled) = compiled else { continue };
                for (i, column) in table.columns.iter().enumerate() {
                    let numeric = matches!(column.values, Values::Numbers(_));
                    if numeric && !chosen[i] && x_index != Some(i) && compiled.matches(&column.name)
                    {
                        chosen[i] = true;
                        columns.push(column);
                    }
                }
            } else {
                match table.columns.iter().position(|c| c.name == *pattern) {
                    None => {
                        return Err(PlotError::NoYColumn {
                            file,
                            name: (*pattern).to_owned(),
                            columns: table.column_list(),
                        });
                    }
                    Some(i) if !matches!(table.columns[i].values, Values::Numbers(_)) => {
                        return Err(PlotError::BadYColumn {
                            file,
                            name: (*pattern).to_owned(),
                            holds: holds(&table.columns[i].values),
                        });
                    }
                    Some(i) => {
                        if !chosen[i] {
                            chosen[i] = true;
                            columns.push(&table.columns[i]);
                        }
                    }
                }
            }
        }
        if table.rows == 0 {
            selection.nothing.push((
                table::stem(&table.path),
                format!("{file} has a header but no data rows"),
            ));
            continue;
        }
        if columns.is_empty() {
            selection.nothing.push((
                table::stem(&table.path),
                format!(
                    "{file} has no numeric column matching `y` ({})",
                    spec.y.join(", ")
                ),
            ));
            continue;
        }
        for column in columns {
            let Values::Numbers(y) = &column.values else {
                continue;
            };
            if selection.series.len() >= spec.max_series {
                selection.dropped += 1;
                continue;
            }
            selection.series.push(SeriesData {
                column: &column.name,
                table: index,
                stem: table::stem(&table.path),
                x,
                y,
                invalid: column.invalid + x_invalid,
            });
        }
    }
    Ok(selection)
}
