//! `csv.stats`: per-column statistics of one table (count, missing, min, max,
//! mean, std of numbers; count and distinct values of text), written as JSON,
//! CSV, TSV or JSON lines according to each output's extension.

use rustc_hash::FxHashSet as HashSet;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{BuiltinCall, check_keys, output_kind, write_file};
use crate::table::{self, Table, TableRead, Values, format_number};

/// Bumped whenever the output of the same input changes.
pub(super) const VERSION: u32 = 1;

const OPTIONS: &[&str] = &["format", "layout"];

/// How a table output (CSV, TSV, JSON lines) lays out the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One row per column of the input.
    Long,
    /// One row for the whole file, `COLUMN.STAT` headers.
    Wide,
}

fn layout(options: &toml::Table) -> Result<Layout, String> {
    match options.get("layout") {
        None => Ok(Layout::Long),
        Some(toml::Value::String(s)) if s == "long" => Ok(Layout::Long),
        Some(toml::Value::String(s)) if s == "wide" => Ok(Layout::Wide),
        Some(other) => Err(format!(
            "`layout` of `csv.stats` must be \"long\" (a row per column) or \"wide\" (one row), found {other}"
        )),
    }
}

/// Each task reads its one table whole, text included.
pub(super) fn table_reads(options: &toml::Table, inputs: &[std::path::PathBuf]) -> Vec<TableRead> {
    let format = table::format_option(options.get("format")).ok().flatten();
    inputs
        .iter()
        .map(|path| TableRead {
            path: path.clone(),
            format,
            keep_text: true,
        })
        .collect()
}

/// Checks `with = {...}`.
pub(super) fn check(options: &toml::Table) -> Result<(), String> {
    check_keys("csv.stats", options, OPTIONS)?;
    table::format_option(options.get("format"))?;
    layout(options)?;
    Ok(())
}

/// Statistics of one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct ColumnStats {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    /// Values present (numbers: finite ones).
    count: usize,
    /// Empty, NA, NaN, null cells.
    missing: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    non_finite: Option<usize>,
    // Outer `None`: not a statistic of this type (text); inner: no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    std: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct: Option<usize>,
}

/// Statistics of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Stats {
    rows: usize,
    columns: Vec<ColumnStats>,
}

fn number_stats(name: &str, values: &[f64]) -> ColumnStats {
    let mut count = 0usize;
    let mut missing = 0usize;
    let mut non_finite = 0usize;
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    // Welford: no overflow of a running sum, one pass.
    let (mut mean, mut m2) = (0.0f64, 0.0f64);
    for &v in values {
        if v.is_nan() {
            missing += 1;
        } else if v.is_infinite() {
            non_finite += 1;
        } else {
            count += 1;
            min = min.min(v);
            max = max.max(v);
            let delta = v - mean;
            mean += delta / count as f64;
            m2 += delta * (v - mean);
        }
    }
    let finite = |v: f64| v.is_finite().then_some(v);
    ColumnStats {
        name: name.to_owned(),
        kind: "number",
        count,
        missing,
        non_finite: Some(non_finite),
        min: Some((count > 0).then_some(min)),
        max: Some((count > 0).then_some(max)),
        mean: Some((count > 0).then_some(mean).and_then(finite)),
        std: Some(
            (count > 1)
                .then(|| (m2 / (count - 1) as f64).sqrt())
                .and_then(finite),
        ),
        distinct: None,
    }
}

fn text_stats(name: &str, values: &[Option<String>]) -> ColumnStats {
    let mut distinct: HashSet<&str> = HashSet::default();
    let mut missing = 0;
    for v in values {
        match v {
            Some(s) => {
                distinct.insert(s);
            }
            None => missing += 1,
        }
    }
    ColumnStats {
        name: name.to_owned(),
        kind: "text",
        count: values.len() - missing,
        missing,
        non_finite: None,
        min: None,
        max: None,
        mean: None,
        std: None,
        distinct: Some(distinct.len()),
    }
}

fn stats(table: &Table) -> Stats {
    Stats {
        rows: table.rows,
        columns: table
            .columns
            .iter()
            .map(|c| match &c.values {
                Values::Numbers(v) => number_stats(&c.name, v),
                Values::Text(v) => text_stats(&c.name, v),
            })
            .collect(),
    }
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
];

fn opt_num(v: Option<Option<f64>>) -> String {
    v.flatten().map(format_number).unwrap_or_default()
}

fn opt_count(v: Option<usize>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
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
                        opt_num(c.min),
                        opt_num(c.max),
                        opt_num(c.mean),
                        opt_num(c.std),
                        opt_count(c.distinct),
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
                if c.kind == "number" {
                    push("non_finite", opt_count(c.non_finite));
                    push("min", opt_num(c.min));
                    push("max", opt_num(c.max));
                    push("mean", opt_num(c.mean));
                    push("std", opt_num(c.std));
                } else {
                    push("distinct", opt_count(c.distinct));
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

fn render(stats: &Stats, out: &Path, layout: Layout) -> Result<Vec<u8>, String> {
    let kind = output_kind("csv.stats", out, &["json", "csv", "tsv", "jsonl"])?;
    if kind == "json" {
        let mut text = serde_json::to_string_pretty(stats)
            .map_err(|e| format!("cannot write JSON: {e} (bug in runner, please report it)"))?;
        text.push('\n');
        return Ok(text.into_bytes());
    }
    let (header, rows) = rows(stats, layout);
    let mut bytes = Vec::new();
    if kind == "jsonl" {
        for row in &rows {
            writeln!(bytes, "{}", json_line(&header, row)).map_err(|e| e.to_string())?;
        }
        return Ok(bytes);
    }
    let delimiter = if kind == "tsv" { b'\t' } else { b',' };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(&mut bytes);
    writer.write_record(&header).map_err(|e| e.to_string())?;
    for row in &rows {
        writer.write_record(row).map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())?;
    drop(writer);
    Ok(bytes)
}

/// Runs `csv.stats` on one input.
pub(super) fn run(call: &BuiltinCall<'_>) -> Result<(), String> {
    let [input] = call.inputs else {
        return Err(format!(
            "`csv.stats` reads one table per task, and this task has {} inputs; use `each = ...`",
            call.inputs.len()
        ));
    };
    if call.outputs.is_empty() {
        return Err("`csv.stats` needs an `out` to write to".to_owned());
    }
    let format = table::format_option(call.options.get("format"))?;
    let layout = layout(call.options)?;
    let table = call.tables.read(input, format, true)?;
    if table.rows == 0 {
        return Err(format!(
            "{}: the file has a header but no data rows, so there is nothing to count",
            table::display(input)
        ));
    }
    let stats = stats(&table);
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
            tables: &table::SharedTables::new(std::path::Path::new("/"), []),
        })
    }

    #[test]
    fn numbers_and_text() {
        let s = number_stats("v", &[1.0, f64::NAN, 3.0, f64::INFINITY, 2.0]);
        assert_eq!(s.count, 3);
        assert_eq!(s.missing, 1);
        assert_eq!(s.non_finite, Some(1));
        assert_eq!(
            (s.min, s.max, s.mean),
            (Some(Some(1.0)), Some(Some(3.0)), Some(Some(2.0)))
        );
        assert_eq!(s.std, Some(Some(1.0)));
        let s = number_stats("v", &[f64::NAN, f64::NAN]);
        assert_eq!(
            (s.count, s.missing, s.min, s.mean, s.std),
            (0, 2, Some(None), Some(None), Some(None))
        );
        let s = number_stats("v", &[5.0]);
        assert_eq!((s.mean, s.std), (Some(Some(5.0)), Some(None)));
        let s = text_stats(
            "s",
            &[Some("a".into()), None, Some("b".into()), Some("a".into())],
        );
        assert_eq!((s.count, s.missing, s.distinct), (3, 1, Some(2)));
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
      "distinct": 2
    }
  ]
}
"#
        );
        assert_eq!(
            std::fs::read_to_string(&outs[1]).unwrap(),
            "column,type,count,missing,non_finite,min,max,mean,std,distinct\n\
             t,number,3,0,0,0,2,1,1,\n\
             v,number,2,1,0,1,3,2,1.4142135623730951,\n\
             s,text,3,0,,,,,,2\n"
        );
        options.insert("layout".into(), "wide".into());
        call_with(&[input], &outs[2..], &options).unwrap();
        let wide = std::fs::read_to_string(&outs[2]).unwrap();
        let mut lines = wide.lines();
        assert_eq!(
            lines.next().unwrap(),
            "rows\tt.count\tt.missing\tt.non_finite\tt.min\tt.max\tt.mean\tt.std\tv.count\tv.missing\tv.non_finite\tv.min\tv.max\tv.mean\tv.std\ts.count\ts.missing\ts.distinct"
        );
        assert_eq!(
            lines.next().unwrap(),
            "3\t3\t0\t0\t0\t2\t1\t1\t2\t1\t0\t1\t3\t2\t1.4142135623730951\t3\t0\t2"
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
            ("n.csv", "a\n1\nx\n", "n.csv:3: column `a` holds numbers"),
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
        assert!(err.contains("did you mean `layout`?"), "{err}");
        assert!(check(&t("layout = 'tall'")).is_err());
        assert!(check(&t("format = 'xls'")).is_err());
    }
}
