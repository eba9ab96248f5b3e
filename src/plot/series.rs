//! Which columns of which tables a plot draws: `x` by name (or the row
//! number), `y` by names (which must exist) and globs (over numeric columns
//! only, so one entry can draw a folder of files whose columns differ), capped
//! at `max_series`.

use crate::config::PlotSpec;
use crate::table::{self, Column, Table, Text, Values};
use std::sync::Arc;

/// The x values of a series.
#[derive(Debug, Clone, Copy)]
pub(crate) enum XValues<'a> {
    /// The row number, from 0.
    Row,
    /// A numeric column.
    Numbers(&'a [f64]),
    /// A text column (categories of a bar chart).
    Text(&'a Text),
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

    /// The one column name every series draws, if there is one.
    pub(crate) fn single_column(&self) -> Option<&str> {
        let first = self.series.first()?.column;
        self.series
            .iter()
            .all(|s| s.column == first)
            .then_some(first)
    }
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Chooses the series of a plot. `text_x` allows a text x column (bar charts);
/// `use_x` is false for histograms, which have no x column.
pub(crate) fn select<'a>(
    spec: &PlotSpec,
    tables: &'a [Arc<Table>],
    text_x: bool,
    use_x: bool,
) -> Result<Selection<'a>, String> {
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
        let file = table::display(&table.path);
        let x = match &selection.x_name {
            None => XValues::Row,
            Some(name) => match table.column(name) {
                None => {
                    return Err(format!(
                        "{file}: there is no column `{name}` for `x` (its columns: {})",
                        table.column_list()
                    ));
                }
                Some(Column {
                    values: Values::Numbers(v),
                    ..
                }) => XValues::Numbers(v),
                Some(Column {
                    values: Values::Text(v),
                    ..
                }) if text_x => XValues::Text(v),
                Some(Column {
                    values: Values::Time(_),
                    ..
                }) => {
                    return Err(format!(
                        "{file}: column `{name}` for `x` holds times, which this plot cannot draw on its x axis yet"
                    ));
                }
                Some(_) => {
                    return Err(format!(
                        "{file}: column `{name}` for `x` holds text, not numbers"
                    ));
                }
            },
        };
        let mut columns: Vec<&'a Column> = Vec::new();
        for (glob, pattern, compiled) in &patterns {
            if *glob {
                let Some(compiled) = compiled else { continue };
                for column in &table.columns {
                    let numeric = matches!(column.values, Values::Numbers(_));
                    let is_x = selection.x_name.as_deref() == Some(column.name.as_str());
                    if numeric
                        && !is_x
                        && compiled.matches(&column.name)
                        && !columns.iter().any(|c| c.name == column.name)
                    {
                        columns.push(column);
                    }
                }
            } else {
                match table.column(pattern) {
                    None => {
                        return Err(format!(
                            "{file}: there is no column `{pattern}` (its columns: {}); \
                             to draw columns that only some files have, use a glob such as `{pattern}*`",
                            table.column_list()
                        ));
                    }
                    Some(Column {
                        values: values @ (Values::Text(_) | Values::Time(_)),
                        ..
                    }) => {
                        return Err(format!(
                            "{file}: column `{pattern}` holds {}, not numbers, so it cannot be drawn on the y axis",
                            if matches!(values, Values::Time(_)) {
                                "times"
                            } else {
                                "text"
                            }
                        ));
                    }
                    Some(column) => {
                        if !columns.iter().any(|c| c.name == column.name) {
                            columns.push(column);
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
            selection.series.push(SeriesData {
                column: &column.name,
                table: index,
                stem: table::stem(&table.path),
                x,
                y,
            });
        }
    }
    if selection.series.len() > spec.max_series {
        selection.dropped = selection.series.len() - spec.max_series;
        selection.series.truncate(spec.max_series);
    }
    Ok(selection)
}
