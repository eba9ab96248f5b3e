//! `csv.stats`: per-column statistics of one table (count, missing, min, max,
//! mean, std of numbers; count, distinct values and number cells of text;
//! first, last and span of times), written as JSON, CSV, TSV or JSON lines
//! according to each output's extension.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{
    BuiltinCall, OptionError, StepError, check_keys, output_kind, read_options, write_file,
};
use crate::cancel::Cancel;
use crate::error::Internal;
use crate::table::{self, Column, Table, TableRead, Text, Times, Values, format_number};

/// Bumped whenever the output of the same input changes.
/// 2: whole-column types, time columns, `numeric`, `invalid`, `span`.
pub(super) const VERSION: u32 = 2;

const OPTIONS: &[&str] = &["layout"];

/// How a table output (CSV, TSV, JSON lines) lays out the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One row per column of the input.
    Long,
    /// One row for the whole file, `COLUMN.STAT` headers.
    Wide,
}

fn layout(options: &toml::Table) -> Result<Layout, OptionError> {
    match options.get("layout") {
        None => Ok(Layout::Long),
        Some(toml::Value::String(s)) if s == "long" => Ok(Layout::Long),
        Some(toml::Value::String(s)) if s == "wide" => Ok(Layout::Wide),
        Some(other) => Err(OptionError::new(
            "layout",
            format!(
                "`layout` of `csv.stats` must be \"long\" (a row per column) or \"wide\" (one row), found {other}"
            ),
        )),
    }
}

/// Each task reads its one table whole, text included.
pub(super) fn table_reads(options: &toml::Table, inputs: &[std::path::PathBuf]) -> Vec<TableRead> {
    let Ok(options) = read_options(options) else {
        return Vec::new();
    };
    inputs
        .iter()
        .map(|path| TableRead::whole(path, &options))
        .collect()
}

/// Checks `with = {...}`.
pub(super) fn check(options: &toml::Table) -> Result<(), OptionError> {
    check_keys("csv.stats", options, OPTIONS)?;
    read_options(options)?;
    layout(options)?;
    Ok(())
}

/// A statistic's value: a number, or ISO text for times.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Value {
    Number(f64),
    Text(String),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Number(n) => format_number(*n),
            Value::Text(s) => s.clone(),
        }
    }
}

/// Statistics of one column; `None` fields are not statistics of its type.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
struct ColumnStats {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    /// Values present (numbers: finite ones).
    count: usize,
    /// Missing cells (the `na` list).
    missing: usize,
    /// Numbers: infinities.
    #[serde(skip_serializing_if = "Option::is_none")]
    non_finite: Option<usize>,
    /// Numbers and times: cells not of the type `types` forces.
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid: Option<usize>,
    // Outer `None`: not a statistic of this type; inner: no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<Option<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<Option<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    std: Option<Option<f64>>,
    /// Times: max - min, as `1096d 4h`.
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<Option<String>>,
    /// Text: distinct values.
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct: Option<usize>,
    /// Text: cells that are numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    numeric: Option<usize>,
}

/// Statistics of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Stats {
    rows: usize,
    columns: Vec<ColumnStats>,
    /// What the reader noticed (a `types` entry for no column...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

/// Rows between two checks of the cancellation flag.
const CHUNK: usize = 64 * 1024;

fn number_stats(
    column: &Column,
    values: &[f64],
    cancel: &Cancel,
) -> Result<ColumnStats, StepError> {
    let mut tally = Tally::default();
    for chunk in values.chunks(CHUNK) {
        cancel.check()?;
        tally.add(chunk);
    }
    let Tally {
        count,
        missing,
        non_finite,
        ..
    } = tally;
    let (min, max) = tally.min_max();
    // `0` and `-0` are equal, and which one `f64::min` keeps depends on
    // the order it meets them (the lanes change it; so did the compiler's
    // code for one pass, and pandas' answer too depends on the order): a
    // bound that is zero has the sign of the first zero in the column.
    let first_zero = || values.iter().copied().find(|&v| v == 0.0);
    let min = if min == 0.0 {
        first_zero().unwrap_or(min)
    } else {
        min
    };
    let max = if max == 0.0 {
        first_zero().unwrap_or(max)
    } else {
        max
    };
    let (mean, m2) = mean_and_squares(values, count);
    let finite = |v: f64| v.is_finite().then_some(v);
    Ok(ColumnStats {
        name: column.name.clone(),
        kind: "number",
        count,
        // Invalid cells are stored as missing, but counted apart.
        missing: missing.saturating_sub(column.invalid),
        non_finite: Some(non_finite),
        invalid: Some(column.invalid),
        min: Some((count > 0).then_some(Value::Number(min))),
        max: Some((count > 0).then_some(Value::Number(max))),
        mean: Some((count > 0).then_some(mean).and_then(finite)),
        std: Some(
            (count > 1)
                .then(|| (m2 / (count - 1) as f64).sqrt())
                .and_then(finite),
        ),
        ..ColumnStats::default()
    })
}

/// Lanes of `Tally`: independent counts, minima and maxima, so that each
/// value waits for the one eight places before it, not the one before it,
/// and the compiler does eight at a time in vector registers.
const LANES: usize = 8;

/// What one pass over a number column counts, with the least and greatest
/// finite value per lane.
struct Tally {
    count: usize,
    missing: usize,
    non_finite: usize,
    min: [f64; LANES],
    max: [f64; LANES],
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            count: 0,
            missing: 0,
            non_finite: 0,
            min: [f64::INFINITY; LANES],
            max: [f64::NEG_INFINITY; LANES],
        }
    }
}

impl Tally {
    /// Counts `values`, value `i` in lane `i % LANES` (chunks are a
    /// multiple of `LANES` long but the last).
    ///
    /// Written so that it vectorizes: comparisons and selects, no
    /// `f64::min` (whose NaN rule is a branch or a blend per value; a value
    /// that is not finite is replaced before the comparison, so none is
    /// NaN there), and counts per lane (the loop of `f64::min` and running
    /// counts it replaces took about 2 ns a value).
    fn add(&mut self, values: &[f64]) {
        let mut finite = [0u64; LANES];
        let mut nan = [0u64; LANES];
        let (mut min, mut max) = (self.min, self.max);
        let mut groups = values.chunks_exact(LANES);
        for group in &mut groups {
            for lane in 0..LANES {
                let v = group[lane];
                // False for infinities and NaN.
                let is_finite = v.abs() < f64::INFINITY;
                finite[lane] += u64::from(is_finite);
                nan[lane] += u64::from(v.is_nan());
                let low = if is_finite { v } else { f64::INFINITY };
                let high = if is_finite { v } else { f64::NEG_INFINITY };
                min[lane] = if low < min[lane] { low } else { min[lane] };
                max[lane] = if high > max[lane] { high } else { max[lane] };
            }
        }
        for (lane, &v) in groups.remainder().iter().enumerate() {
            let is_finite = v.is_finite();
            finite[lane] += u64::from(is_finite);
            nan[lane] += u64::from(v.is_nan());
            if is_finite {
                min[lane] = if v < min[lane] { v } else { min[lane] };
                max[lane] = if v > max[lane] { v } else { max[lane] };
            }
        }
        (self.min, self.max) = (min, max);
        let finite = finite.iter().sum::<u64>() as usize;
        let nan = nan.iter().sum::<u64>() as usize;
        self.count += finite;
        self.missing += nan;
        self.non_finite += values.len() - finite - nan;
    }

    /// The least and greatest finite value (infinities when there is none).
    fn min_max(&self) -> (f64, f64) {
        (
            self.min.iter().copied().fold(f64::INFINITY, f64::min),
            self.max.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    }
}

/// The mean of the finite `values` (`count` of them) and the sum of their
/// squared deviations from it, as pandas computes `mean()` and `std()`:
/// numpy's pairwise sums with missing values as 0, so both are pandas' to
/// the last digit (issue 11; Welford's one pass, used before, differed in
/// the last digits and divided once per value). A sum too large for a
/// double falls back to Welford, which never overflows.
fn mean_and_squares(values: &[f64], count: usize) -> (f64, f64) {
    if count == 0 {
        return (0.0, 0.0);
    }
    let finite_or_zero = |v: f64| if v.is_finite() { v } else { 0.0 };
    let mean = pairwise_sum(values, finite_or_zero) / count as f64;
    if !mean.is_finite() {
        return welford(values);
    }
    let square = |v: f64| {
        if v.is_finite() {
            (mean - v) * (mean - v)
        } else {
            0.0
        }
    };
    (mean, pairwise_sum(values, square))
}

/// The sum of `term(v)` over `values` as numpy's `add.reduce` sums a
/// contiguous float64 array (`pairwise_sum` in numpy's loops): eight running
/// sums over blocks of at most 128 values, blocks halved and added
/// recursively.
fn pairwise_sum(values: &[f64], term: impl Fn(f64) -> f64 + Copy) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |sum, &v| sum + term(v));
    }
    if n <= BLOCK {
        let mut r = [0.0f64; 8];
        for (r, &v) in r.iter_mut().zip(&values[..8]) {
            *r = term(v);
        }
        let whole = n - n % 8;
        for block in values[8..whole].chunks_exact(8) {
            for (r, &v) in r.iter_mut().zip(block) {
                *r += term(v);
            }
        }
        let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        return values[whole..].iter().fold(sum, |sum, &v| sum + term(v));
    }
    let half = n / 2 - (n / 2) % 8;
    pairwise_sum(&values[..half], term) + pairwise_sum(&values[half..], term)
}

/// The mean and sum of squared deviations of the finite `values` in one
/// pass (Welford): no running sum to overflow.
fn welford(values: &[f64]) -> (f64, f64) {
    let (mut count, mut mean, mut m2) = (0usize, 0.0f64, 0.0f64);
    for &v in values.iter().filter(|v| v.is_finite()) {
        count += 1;
        let delta = v - mean;
        mean += delta / count as f64;
        m2 += delta * (v - mean);
    }
    (mean, m2)
}

fn time_stats(column: &Column, times: &Times, cancel: &Cancel) -> Result<ColumnStats, StepError> {
    // Selects and counts, no branch per cell: the loop vectorizes.
    let (mut lo, mut hi, mut count) = (i64::MAX, i64::MIN, 0usize);
    for chunk in times.micros.chunks(CHUNK) {
        cancel.check()?;
        for &t in chunk {
            let present = t != table::MISSING_TIME;
            count += usize::from(present);
            lo = lo.min(if present { t } else { i64::MAX });
            hi = hi.max(t);
        }
    }
    let range = (count > 0).then_some((lo, hi));
    Ok(ColumnStats {
        name: column.name.clone(),
        kind: "time",
        count,
        missing: (times.micros.len() - count).saturating_sub(column.invalid),
        invalid: Some(column.invalid),
        min: Some(range.map(|(lo, _)| Value::Text(times.style.format(lo)))),
        max: Some(range.map(|(_, hi)| Value::Text(times.style.format(hi)))),
        span: Some(range.map(|(lo, hi)| table::format_span(hi.saturating_sub(lo)))),
        ..ColumnStats::default()
    })
}

fn text_stats(column: &Column, text: &Text) -> ColumnStats {
    let count = text.present();
    ColumnStats {
        name: column.name.clone(),
        kind: "text",
        count,
        missing: text.len() - count,
        distinct: Some(text.dictionary().len()),
        numeric: Some(text.numeric()),
        ..ColumnStats::default()
    }
}

fn stats(table: &Table, cancel: &Cancel) -> Result<Stats, StepError> {
    let columns = table
        .columns
        .iter()
        .map(|c| match &c.values {
            Values::Numbers(v) => number_stats(c, v, cancel),
            Values::Time(t) => time_stats(c, t, cancel),
            Values::Text(t) => Ok(text_stats(c, t)),
        })
        .collect::<Result<_, _>>()?;
    Ok(Stats {
        rows: table.rows,
        columns,
        notes: table.notes.clone(),
    })
}

const LONG_HEADER: &[&str] = &[
    "column",
    "type",
    "count",
    "missing",
    "non_finite",
    "min",
    "max",
    "mean",
    "std",
    "distinct",
    "numeric",
    "invalid",
    "span",
];

fn opt_value(v: &Option<Option<Value>>) -> String {
    v.as_ref()
        .and_then(|v| v.as_ref())
        .map(Value::text)
        .unwrap_or_default()
}

fn opt_num(v: Option<Option<f64>>) -> String {
    v.flatten().map(format_number).unwrap_or_default()
}

fn opt_count(v: Option<usize>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn opt_text(v: &Option<Option<String>>) -> String {
    v.clone().flatten().unwrap_or_default()
}

/// The statistics as rows of strings: a header, then the rows.
fn rows(stats: &Stats, layout: Layout) -> (Vec<String>, Vec<Vec<String>>) {
    match layout {
        Layout::Long => {
            let header = LONG_HEADER.iter().map(|s| (*s).to_owned()).collect();
            let rows = stats
                .columns
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.kind.to_owned(),
                        c.count.to_string(),
                        c.missing.to_string(),
                        opt_count(c.non_finite),
                        opt_value(&c.min),
                        opt_value(&c.max),
                        opt_num(c.mean),
                        opt_num(c.std),
                        opt_count(c.distinct),
                        opt_count(c.numeric),
                        opt_count(c.invalid),
                        opt_text(&c.span),
                    ]
                })
                .collect();
            (header, rows)
        }
        Layout::Wide => {
            let mut header = vec!["rows".to_owned()];
            let mut row = vec![stats.rows.to_string()];
            for c in &stats.columns {
                let mut push = |stat: &str, value: String| {
                    header.push(format!("{}.{stat}", c.name));
                    row.push(value);
                };
                push("count", c.count.to_string());
                push("missing", c.missing.to_string());
                match c.kind {
                    "number" => {
                        push("non_finite", opt_count(c.non_finite));
                        push("invalid", opt_count(c.invalid));
                        push("min", opt_value(&c.min));
                        push("max", opt_value(&c.max));
                        push("mean", opt_num(c.mean));
                        push("std", opt_num(c.std));
                    }
                    "time" => {
                        push("invalid", opt_count(c.invalid));
                        push("min", opt_value(&c.min));
                        push("max", opt_value(&c.max));
                        push("span", opt_text(&c.span));
                    }
                    _ => {
                        push("distinct", opt_count(c.distinct));
                        push("numeric", opt_count(c.numeric));
                    }
                }
            }
            (header, vec![row])
        }
    }
}

fn json_line(header: &[String], row: &[String]) -> String {
    let mut map = serde_json::Map::new();
    for (key, value) in header.iter().zip(row) {
        let json = if value.is_empty() {
            serde_json::Value::Null
        } else if let Ok(n) = value.parse::<serde_json::Number>() {
            serde_json::Value::Number(n)
        } else {
            serde_json::Value::String(value.clone())
        };
        map.insert(key.clone(), json);
    }
    serde_json::Value::Object(map).to_string()
}

fn render(stats: &Stats, out: &Path, layout: Layout) -> Result<Vec<u8>, StepError> {
    let kind = output_kind("csv.stats", out, &["json", "csv", "tsv", "jsonl"])?;
    let internal = |e: &dyn std::fmt::Display| {
        StepError::from(Internal::new(format!("cannot write the statistics: {e}")))
    };
    if kind == "json" {
        let mut text = serde_json::to_string_pretty(stats).map_err(|e| internal(&e))?;
        text.push('\n');
        return Ok(text.into_bytes());
    }
    let (header, rows) = rows(stats, layout);
    let mut bytes = Vec::new();
    if kind == "jsonl" {
        for row in &rows {
            writeln!(bytes, "{}", json_line(&header, row)).map_err(|e| internal(&e))?;
        }
        return Ok(bytes);
    }
    let delimiter = if kind == "tsv" { b'\t' } else { b',' };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(&mut bytes);
    writer.write_record(&header).map_err(|e| internal(&e))?;
    for row in &rows {
        writer.write_record(row).map_err(|e| internal(&e))?;
    }
    writer.flush().map_err(|e| internal(&e))?;
    drop(writer);
    Ok(bytes)
}

/// Runs `csv.stats` on one input.
pub(super) fn run(call: &BuiltinCall<'_>) -> Result<(), StepError> {
    let [input] = call.inputs else {
        return Err(StepError::Usage(format!(
            "`csv.stats` reads one table per task, and this task has {} inputs; use `each = ...`",
            call.inputs.len()
        )));
    };
    if call.outputs.is_empty() {
        return Err(StepError::Usage(
            "`csv.stats` needs an `out` to write to".to_owned(),
        ));
    }
    let invalid = |e: OptionError| StepError::Usage(e.message);
    let options = read_options(call.options).map_err(invalid)?;
    let layout = layout(call.options).map_err(invalid)?;
    let table = call
        .tables
        .read(&TableRead::whole(input, &options), call.cancel)?;
    if table.rows == 0 {
        return Err(StepError::Nothing {
            path: input.clone(),
            what: "the file has a header but no data rows, so there is nothing to count",
        });
    }
    let stats = stats(&table, call.cancel)?;
    // Render everything first: a failure writes nothing.
    let rendered: Vec<Vec<u8>> = call
        .outputs
        .iter()
        .map(|out| render(&stats, out, layout))
        .collect::<Result<_, _>>()?;
    for (out, bytes) in call.outputs.iter().zip(rendered) {
        write_file(out, &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_with(
        inputs: &[std::path::PathBuf],
        outputs: &[std::path::PathBuf],
        options: &toml::Table,
    ) -> Result<(), String> {
        run(&BuiltinCall {
            inputs,
            outputs,
            options,
            tables: &table::TaskTables::new(&table::SharedTables::new(
                std::path::Path::new("/"),
                [],
                false,
            )),
            cancel: &Cancel::never(),
        })
        .map_err(|e| crate::error::chain(&e))
    }

    /// The tally in lanes counts and finds what one value at a time
    /// does: every length up to a few lanes past a chunk, with NaN and
    /// infinities anywhere, or nothing finite at all.
    #[test]
    fn the_tally_in_lanes_is_the_plain_one() {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for len in (0..40).chain([1000, 1001, 1003]) {
            for round in 0..20 {
                let values: Vec<f64> = (0..len)
                    .map(|_| {
                        seed = crate::test_rng::xorshift(seed);
                        match (seed % 10, round) {
                            (_, 0) => f64::NAN,
                            (0, _) => f64::NAN,
                            (1, _) => f64::INFINITY,
                            (2, _) => f64::NEG_INFINITY,
                            _ => (seed >> 11) as f64 / 1e12 - 4e3,
                        }
                    })
                    .collect();
                let mut tally = Tally::default();
                for chunk in values.chunks(8) {
                    tally.add(chunk);
                }
                let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
                assert_eq!(tally.count, finite.len());
                assert_eq!(tally.missing, values.iter().filter(|v| v.is_nan()).count());
                assert_eq!(tally.count + tally.missing + tally.non_finite, len);
                let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
                let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(tally.min_max(), (min, max), "{len} {round}");
            }
        }
    }

    /// A column's least or greatest value that is zero has the sign of the
    /// first zero in the column: `0` and `-0` compare equal, so which one
    /// `f64::min` / `max` keeps depends on the order it meets them in (the
    /// lanes change it, and so does the compiler's code for one pass: at
    /// 01eb3b2, `1,0,0,0,-0` gave `"min": 0.0` and the lanes `-0.0`; an
    /// adversarial pass found it). Every sequence of up to 6 of `0, -0, 1,
    /// -1`.
    #[test]
    fn a_zero_bound_has_the_sign_of_the_first_zero() {
        let mut cases: Vec<Vec<f64>> = vec![
            vec![1.0, 0.0, 0.0, 0.0, -0.0],
            vec![-1.0, -0.0, -1.0, -1.0, 0.0],
        ];
        // Every sequence of up to 6 values of 0, -0, 1, -1.
        for len in 1..=6u32 {
            for mut n in 0..4usize.pow(len) {
                let mut v = Vec::new();
                for _ in 0..len {
                    v.push([0.0, -0.0, 1.0, -1.0][n % 4]);
                    n /= 4;
                }
                cases.push(v);
            }
        }
        let bits = |v: f64| v.to_bits();
        for values in &cases {
            let first_zero = values.iter().copied().find(|&v| v == 0.0);
            let bound = |b: f64| if b == 0.0 { first_zero.unwrap_or(b) } else { b };
            let min = bound(values.iter().copied().fold(f64::INFINITY, f64::min));
            let max = bound(values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            let s = numbers(values);
            let (Some(Some(Value::Number(lo))), Some(Some(Value::Number(hi)))) = (&s.min, &s.max)
            else {
                panic!("{values:?}: {s:?}");
            };
            assert_eq!(
                (bits(*lo), bits(*hi)),
                (bits(min), bits(max)),
                "{values:?}: ({lo:?}, {hi:?}) where the rule gives ({min:?}, {max:?})"
            );
        }
    }

    fn column(name: &str, values: Values) -> Column {
        Column {
            name: name.into(),
            values,
            invalid: 0,
        }
    }

    fn numbers(values: &[f64]) -> ColumnStats {
        let c = column("v", Values::Numbers(values.to_vec()));
        let Values::Numbers(v) = &c.values else {
            unreachable!()
        };
        number_stats(&c, v, &Cancel::never()).unwrap()
    }

    #[test]
    fn numbers_and_text() {
        let s = numbers(&[1.0, f64::NAN, 3.0, f64::INFINITY, 2.0]);
        assert_eq!(s.count, 3);
        assert_eq!(s.missing, 1);
        assert_eq!(s.non_finite, Some(1));
        assert_eq!(
            (s.min, s.max, s.mean),
            (
                Some(Some(Value::Number(1.0))),
                Some(Some(Value::Number(3.0))),
                Some(Some(2.0))
            )
        );
        assert_eq!(s.std, Some(Some(1.0)));
        let s = numbers(&[f64::NAN, f64::NAN]);
        assert_eq!(
            (s.count, s.missing, s.min, s.mean, s.std),
            (0, 2, Some(None), Some(None), Some(None))
        );
        let s = numbers(&[5.0]);
        assert_eq!((s.mean, s.std), (Some(Some(5.0)), Some(None)));
        let text = Text::from_cells([Some("a"), None, Some("b"), Some("a"), Some("3")]);
        let s = text_stats(&column("s", Values::Text(text.clone())), &text);
        assert_eq!((s.count, s.missing, s.distinct), (4, 1, Some(3)));
    }

    /// Mean and standard deviation as numpy and pandas give them: exact on
    /// values far from zero, and sums beyond a double's range still give
    /// the mean (Welford's one pass).
    #[test]
    fn mean_and_std_are_accurate_and_never_overflow() {
        let s = numbers(&[1e9 + 4.0, 1e9 + 7.0, f64::NAN, 1e9 + 13.0, 1e9 + 16.0]);
        assert_eq!(
            (s.mean, s.std),
            (Some(Some(1e9 + 10.0)), Some(Some(30f64.sqrt())))
        );
        let s = numbers(&[1e308, 1e308, 1e308]);
        assert_eq!((s.mean, s.std), (Some(Some(1e308)), Some(Some(0.0))));
        let s = numbers(&[-1e308, 1e308, -1e308, 1e308]);
        assert_eq!(s.mean, Some(Some(0.0)));
        // Against pandas (Series.mean(), .std()) on 0.1, 0.2, ..., 1.0, and
        // on 1,000 values (pairwise blocks) with every 7th missing:
        // `pd.Series([np.nan if i % 7 == 0 else (i * 0.37) % 11.3 for i in
        // range(1000)])`.
        let tenths: Vec<f64> = (1..=10).map(|i| f64::from(i) / 10.0).collect();
        let s = numbers(&tenths);
        assert_eq!(
            (s.mean, s.std),
            (Some(Some(0.55)), Some(Some(0.302_765_035_409_749_14)))
        );
        let thousand: Vec<f64> = (0..1000)
            .map(|i| match i % 7 {
                0 => f64::NAN,
                _ => (f64::from(i) * 0.37) % 11.3,
            })
            .collect();
        let s = numbers(&thousand);
        assert_eq!(
            (s.mean, s.std),
            (
                Some(Some(5.632_940_490_081_665_5)),
                Some(Some(3.254_939_199_721_608))
            )
        );
    }

    #[test]
    fn writes_json_and_csv_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.csv");
        std::fs::write(&input, "t,v,s\n0,1,x\n1,,y\n2,3,x\n").unwrap();
        let outs = [
            dir.path().join("a.json"),
            dir.path().join("a.csv.out.csv"),
            dir.path().join("w.tsv"),
        ];
        let mut options = toml::Table::new();
        call_with(std::slice::from_ref(&input), &outs[..2], &options).unwrap();
        let json = std::fs::read_to_string(&outs[0]).unwrap();
        assert_eq!(
            json,
            r#"{
  "rows": 3,
  "columns": [
    {
      "name": "t",
      "type": "number",
      "count": 3,
      "missing": 0,
      "non_finite": 0,
      "invalid": 0,
      "min": 0.0,
      "max": 2.0,
      "mean": 1.0,
      "std": 1.0
    },
    {
      "name": "v",
      "type": "number",
      "count": 2,
      "missing": 1,
      "non_finite": 0,
      "invalid": 0,
      "min": 1.0,
      "max": 3.0,
      "mean": 2.0,
      "std": 1.4142135623730951
    },
    {
      "name": "s",
      "type": "text",
      "count": 3,
      "missing": 0,
      "distinct": 2,
      "numeric": 0
    }
  ]
}
"#
        );
        assert_eq!(
            std::fs::read_to_string(&outs[1]).unwrap(),
            "column,type,count,missing,non_finite,min,max,mean,std,distinct,numeric,invalid,span\n\
             t,number,3,0,0,0,2,1,1,,,0,\n\
             v,number,2,1,0,1,3,2,1.4142135623730951,,,0,\n\
             s,text,3,0,,,,,,2,0,,\n"
        );
        options.insert("layout".into(), "wide".into());
        call_with(&[input], &outs[2..], &options).unwrap();
        let wide = std::fs::read_to_string(&outs[2]).unwrap();
        let mut lines = wide.lines();
        assert_eq!(
            lines.next().unwrap(),
            "rows\tt.count\tt.missing\tt.non_finite\tt.invalid\tt.min\tt.max\tt.mean\tt.std\tv.count\tv.missing\tv.non_finite\tv.invalid\tv.min\tv.max\tv.mean\tv.std\ts.count\ts.missing\ts.distinct\ts.numeric"
        );
        assert_eq!(
            lines.next().unwrap(),
            "3\t3\t0\t0\t0\t0\t2\t1\t1\t2\t1\t0\t0\t1\t3\t2\t1.4142135623730951\t3\t0\t2\t0"
        );
    }

    #[test]
    fn bad_input_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.json");
        for (name, text, expected) in [
            (
                "h.csv",
                "a,b\n",
                "h.csv: the file has a header but no data rows",
            ),
            ("r.csv", "a,b\n1,2\n3\n", "r.csv:3: this row has 1 field"),
            ("e.csv", "", "e.csv: the file is empty"),
            (
                "q.csv",
                "t,v\n1,\"abc\n2,3\n",
                "q.csv:2: a quote (\") opened on this line is never closed",
            ),
        ] {
            let input = dir.path().join(name);
            std::fs::write(&input, text).unwrap();
            let err =
                call_with(&[input], std::slice::from_ref(&out), &toml::Table::new()).unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert!(!out.exists());
        }
        let input = dir.path().join("ok.csv");
        std::fs::write(&input, "a\n1\n").unwrap();
        let err =
            call_with(&[input], &[dir.path().join("o.xlsx")], &toml::Table::new()).unwrap_err();
        assert!(err.contains("writes .json, .csv, .tsv or .jsonl"), "{err}");
    }

    #[test]
    fn options_are_checked() {
        let t = |s: &str| -> toml::Table { toml::from_str(s).unwrap() };
        assert!(check(&t("format = 'tsv'\nlayout = 'wide'")).is_ok());
        let err = check(&t("layot = 'wide'")).unwrap_err();
        assert!(err.message.contains("did you mean `layout`?"), "{err:?}");
        assert_eq!(err.key.as_deref(), Some("layot"));
        let err = check(&t("decimal = ';'")).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("decimal"));
        assert!(check(&t("layout = 'tall'")).is_err());
        assert!(check(&t("format = 'xls'")).is_err());
    }
}
