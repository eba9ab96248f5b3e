//! `table.concat`: one table from every input table, rows in input order,
//! columns the union of theirs (in order of first appearance) after a
//! `source` column holding each file's stem. Cells are copied as written.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{BuiltinCall, OptionError, StepError, check_keys, output_kind, read_options};
use crate::cancel::Cancel;
use crate::table::{self, Cell, ReadOptions, Sink, format_number};

/// Bumped whenever the output of the same inputs changes.
pub(super) const VERSION: u32 = 1;

const OPTIONS: &[&str] = &["source"];

fn source_name(options: &toml::Table) -> Result<String, OptionError> {
    match options.get("source") {
        None => Ok("source".to_owned()),
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(other) => Err(OptionError::new(
            "source",
            format!(
                "`source` of `table.concat` names the column that holds each file's stem, \
                 and must be a non-empty string, found {other}"
            ),
        )),
    }
}

/// Checks `with = {...}`.
pub(super) fn check(options: &toml::Table) -> Result<(), OptionError> {
    check_keys("table.concat", options, OPTIONS)?;
    read_options(options)?;
    source_name(options)?;
    Ok(())
}

/// Where rows go: CSV/TSV or JSON lines.
enum Output {
    Delimited(Box<csv::Writer<BufWriter<File>>>),
    JsonLines(BufWriter<File>),
}

/// Streams the rows of one input into the output, mapping its columns.
struct Rows<'a> {
    output: &'a mut Output,
    columns: &'a [String],
    options: &'a ReadOptions,
    /// Per input column, its output column (`None`: a column the first
    /// reading did not see, left out).
    map: Vec<Option<usize>>,
    /// The stem, unless the input has its own source column.
    source: Option<String>,
}

impl Sink for Rows<'_> {
    fn column(&mut self, name: String) {
        let at = self.columns.iter().position(|c| *c == name);
        if at == Some(0) {
            self.source = None;
        }
        self.map.push(at);
    }

    fn row(
        &mut self,
        _line: u64,
        cells: &mut dyn Iterator<Item = Cell<'_>>,
    ) -> std::io::Result<()> {
        let mut out: Vec<Cell<'_>> = vec![Cell::Missing; self.columns.len()];
        if let Some(stem) = &self.source {
            out[0] = Cell::Text(Cow::Borrowed(stem.as_str()));
        }
        for (i, cell) in cells.enumerate() {
            if let Some(&Some(j)) = self.map.get(i) {
                out[j] = cell;
            }
        }
        match self.output {
            Output::Delimited(w) => w
                .write_record(out.iter().map(csv_bytes))
                .map_err(std::io::Error::other),
            Output::JsonLines(w) => write_json(w, self.columns, &out, self.options),
        }
    }
}

fn csv_bytes<'c>(cell: &'c Cell<'_>) -> Cow<'c, [u8]> {
    match cell {
        Cell::Missing => Cow::Borrowed(b""),
        Cell::Bytes(b) => Cow::Borrowed(b),
        Cell::Number(n) => Cow::Owned(format_number(*n).into_bytes()),
        Cell::Text(s) => Cow::Borrowed(s.as_bytes()),
        Cell::Other(s) => Cow::Borrowed(s.as_bytes()),
        Cell::Time(micros, style) => Cow::Owned(style.format(*micros).into_bytes()),
    }
}

/// One JSON object: numbers stay numbers (as written), missing cells are null.
fn write_json(
    w: &mut impl Write,
    columns: &[String],
    cells: &[Cell<'_>],
    options: &ReadOptions,
) -> std::io::Result<()> {
    let mut line = String::from("{");
    for (i, (name, cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&serde_json::Value::String(name.clone()).to_string());
        line.push(':');
        match cell {
            Cell::Missing => line.push_str("null"),
            Cell::Bytes(b) => {
                let trimmed = b.trim_ascii();
                let text = String::from_utf8_lossy(trimmed);
                if options.is_missing(trimmed) {
                    line.push_str("null");
                } else if text.parse::<serde_json::Number>().is_ok() {
                    line.push_str(&text);
                } else {
                    line.push_str(
                        &serde_json::Value::String(String::from_utf8_lossy(b).into_owned())
                            .to_string(),
                    );
                }
            }
            Cell::Number(n) if n.is_finite() => line.push_str(&format_number(*n)),
            Cell::Number(_) => line.push_str("null"),
            Cell::Text(s) => line.push_str(&serde_json::Value::String(s.to_string()).to_string()),
            Cell::Other(raw) => line.push_str(raw),
            Cell::Time(micros, style) => {
                line.push_str(&serde_json::Value::String(style.format(*micros)).to_string());
            }
        }
    }
    line.push_str("}\n");
    w.write_all(line.as_bytes())
}

fn concat(
    inputs: &[PathBuf],
    out: &Path,
    options: &toml::Table,
    cancel: &Cancel,
) -> Result<(), StepError> {
    let invalid = |e: OptionError| StepError::Usage(e.message);
    let read = read_options(options).map_err(invalid)?;
    let source = source_name(options).map_err(invalid)?;
    let kind = output_kind("table.concat", out, &["csv", "tsv", "jsonl"])?;
    let write_error = |source| StepError::Write {
        path: out.to_owned(),
        source,
    };

    // First reading: the union of the columns.
    let mut columns = vec![source.clone()];
    for input in inputs {
        cancel.check()?;
        for name in table::columns(input, &read, cancel)? {
            if !columns.contains(&name) {
                columns.push(name);
            }
        }
    }

    let file = File::create(out).map_err(write_error)?;
    let buffered = BufWriter::with_capacity(256 * 1024, file);
    let mut output = match kind {
        "jsonl" => Output::JsonLines(buffered),
        _ => {
            let mut w = csv::WriterBuilder::new()
                .delimiter(if kind == "tsv" { b'\t' } else { b',' })
                .from_writer(buffered);
            w.write_record(&columns)
                .map_err(|e| write_error(std::io::Error::other(e)))?;
            Output::Delimited(Box::new(w))
        }
    };
    for input in inputs {
        cancel.check()?;
        let mut rows = Rows {
            output: &mut output,
            columns: &columns,
            options: &read,
            map: Vec::new(),
            source: Some(table::stem(input)),
        };
        table::scan(input, &read, &mut rows, cancel)?;
    }
    let flushed = match output {
        Output::Delimited(mut w) => w.flush(),
        Output::JsonLines(mut w) => w.flush(),
    };
    flushed.map_err(write_error)
}

/// Runs `table.concat` over every input of the task (checking the
/// cancellation flag between inputs and every few thousand rows).
pub(super) fn run(call: &BuiltinCall<'_>) -> Result<(), StepError> {
    let [out] = call.outputs else {
        return Err(StepError::Usage(format!(
            "`table.concat` writes one table, and this task has {} outputs",
            call.outputs.len()
        )));
    };
    let result = concat(call.inputs, out, call.options, call.cancel);
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_concat(inputs: &[PathBuf], out: &Path, options: &str) -> Result<(), String> {
        let options: toml::Table = toml::from_str(options).unwrap();
        run(&BuiltinCall {
            inputs,
            outputs: &[out.to_owned()],
            options: &options,
            tables: &crate::table::TaskTables::new(&crate::table::SharedTables::new(
                Path::new("/"),
                [],
                false,
            )),
            cancel: &Cancel::never(),
        })
        .map_err(|e| crate::error::chain(&e))
    }

    #[test]
    fn union_of_columns_with_source() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("alpha.csv");
        let b = dir.path().join("bravo.tsv");
        let c = dir.path().join("charlie.jsonl");
        std::fs::write(&a, "t,value\n0,0.500\n1,NA\n").unwrap();
        std::fs::write(&b, "t\tstatus\n0\t\"ok, fine\"\n").unwrap();
        std::fs::write(&c, "{\"t\": 5, \"value\": 1.5, \"x\": null}\n").unwrap();
        let out = dir.path().join("all.csv");
        run_concat(&[a.clone(), b.clone(), c.clone()], &out, "").unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "source,t,value,status,x\n\
             alpha,0,0.500,,\n\
             alpha,1,NA,,\n\
             bravo,0,,\"ok, fine\",\n\
             charlie,5,1.5,,\n"
        );
        let out = dir.path().join("all.jsonl");
        run_concat(&[a, b, c], &out, "source = 'file'").unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"file\":\"alpha\",\"t\":0,\"value\":0.500,\"status\":null,\"x\":null}\n\
             {\"file\":\"alpha\",\"t\":1,\"value\":null,\"status\":null,\"x\":null}\n\
             {\"file\":\"bravo\",\"t\":0,\"value\":null,\"status\":\"ok, fine\",\"x\":null}\n\
             {\"file\":\"charlie\",\"t\":5,\"value\":1.5,\"status\":null,\"x\":null}\n"
        );
    }

    #[test]
    fn a_source_column_of_an_input_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let batch = dir.path().join("batch-0.csv");
        let other = dir.path().join("delta.csv");
        std::fs::write(&batch, "source,v\nalpha,1\nbravo,2\n").unwrap();
        std::fs::write(&other, "v\n3\n").unwrap();
        let out = dir.path().join("all.csv");
        run_concat(&[batch, other], &out, "").unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "source,v\nalpha,1\nbravo,2\ndelta,3\n"
        );
    }

    #[test]
    fn a_broken_input_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.csv");
        let bad = dir.path().join("bad.csv");
        std::fs::write(&good, "a,b\n1,2\n").unwrap();
        std::fs::write(&bad, "a,b\n1,2\n3,4,5\n").unwrap();
        let out = dir.path().join("all.csv");
        let err = run_concat(&[good, bad], &out, "").unwrap_err();
        assert!(
            err.contains("bad.csv:3: this row has 3 fields, but the header has 2"),
            "{err}"
        );
        assert!(!out.exists());
        let err = run_concat(&[dir.path().join("nope.csv")], &out, "").unwrap_err();
        assert!(err.contains("nope.csv: cannot open"), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn options_are_checked() {
        let t = |s: &str| -> toml::Table { toml::from_str(s).unwrap() };
        assert!(check(&t("source = 'file'\nformat = 'csv'")).is_ok());
        assert!(check(&t("source = ''")).is_err());
        assert!(
            check(&t("sorce = 'x'"))
                .unwrap_err()
                .message
                .contains("did you mean `source`?")
        );
        assert!(check(&t("delimiter = ';'\nencoding = 'latin1'")).is_ok());
    }
}
