//! Built-in steps (`use = "..."`): each a plain function from input paths to
//! output files, with its own version number (part of the fingerprint).
//! One built-in per file; this file is the registry and shared helpers.

mod csv_stats;
mod error;
mod table_concat;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use error::StepError;

use crate::cancel::Cancel;
use crate::error::Internal;
use crate::table::{ReadOptions, TableRead};

/// What a built-in step is given: absolute paths.
pub(crate) struct BuiltinCall<'a> {
    /// Every input of the task, in order.
    pub(crate) inputs: &'a [PathBuf],
    /// Where to write; temporary paths that keep the final extension.
    pub(crate) outputs: &'a [PathBuf],
    /// `with = {...}`, already checked by `check_options`.
    pub(crate) options: &'a toml::Table,
    /// Tables other tasks of the run read too.
    pub(crate) tables: &'a crate::table::TaskTables<'a>,
    /// Raised when the run must stop: built-ins check it between rows and
    /// chunks and stop with `StepError::Interrupted` (issue 10, item 9).
    pub(crate) cancel: &'a Cancel,
}

/// One built-in step.
struct Builtin {
    name: &'static str,
    version: u32,
    check: fn(&toml::Table) -> Result<(), OptionError>,
    run: fn(&BuiltinCall<'_>) -> Result<(), StepError>,
    /// The tables a task reads whole (shared with other tasks that read them).
    table_reads: fn(&toml::Table, &[PathBuf]) -> Vec<TableRead>,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "csv.stats",
        version: csv_stats::VERSION,
        check: csv_stats::check,
        run: csv_stats::run,
        table_reads: csv_stats::table_reads,
    },
    Builtin {
        name: "table.concat",
        version: table_concat::VERSION,
        check: table_concat::check,
        run: table_concat::run,
        // Streams its inputs row by row: nothing to share.
        table_reads: |_, _| Vec::new(),
    },
];

fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Whether `name` is a built-in step.
pub(crate) fn is_builtin(name: &str) -> bool {
    find(name).is_some()
}

/// Names of every built-in step.
pub(crate) fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// The built-in's own version (part of the fingerprint).
pub(crate) fn version(name: &str) -> u32 {
    find(name).map_or(0, |b| b.version)
}

/// The tables a task of built-in `name` reads whole, given its inputs
/// (absolute paths).
pub(crate) fn table_reads(name: &str, options: &toml::Table, inputs: &[PathBuf]) -> Vec<TableRead> {
    find(name).map_or_else(Vec::new, |b| (b.table_reads)(options, inputs))
}

/// A wrong `with = {...}` option: which key (when one is to blame) and what
/// is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OptionError {
    /// The key, so the diagnostic can point at it.
    pub(crate) key: Option<String>,
    /// What is wrong, with a hint.
    pub(crate) message: String,
}

impl OptionError {
    fn new(key: &str, message: impl Into<String>) -> OptionError {
        OptionError {
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }
}

/// Checks `with = {...}` for a built-in at load time.
pub(crate) fn check_options(name: &str, options: &toml::Table) -> Result<(), OptionError> {
    match find(name) {
        Some(b) => (b.check)(options),
        None => Err(OptionError {
            key: None,
            message: format!("unknown built-in step `{name}`"),
        }),
    }
}

/// Runs a built-in step; the error (with its causes) is the task's failure
/// message.
pub(crate) fn run(name: &str, call: &BuiltinCall<'_>) -> Result<(), StepError> {
    match find(name) {
        Some(b) => (b.run)(call),
        None => Err(Internal::new(format!("unknown built-in step `{name}`")).into()),
    }
}

/// Rejects option keys a built-in does not know (its own `known` and the
/// table options every built-in takes), with a suggestion.
fn check_keys(step: &str, options: &toml::Table, known: &[&str]) -> Result<(), OptionError> {
    let all: Vec<&str> = known
        .iter()
        .chain(crate::table::OPTION_KEYS)
        .copied()
        .collect();
    for key in options.keys() {
        if !all.contains(&key.as_str()) {
            let hint = crate::diag::did_you_mean(key, all.iter().copied())
                .unwrap_or_else(|| format!("its options: {}", all.join(", ")));
            return Err(OptionError::new(
                key,
                format!("`{step}` has no option `{key}`; {hint}"),
            ));
        }
    }
    Ok(())
}

/// The table options of `with = {...}` (checked at load time).
fn read_options(options: &toml::Table) -> Result<Arc<ReadOptions>, OptionError> {
    ReadOptions::from_toml(options)
        .map(Arc::new)
        .map_err(|(key, e)| OptionError::new(&key, crate::error::chain(&e)))
}

/// The output's extension (lowercase) if it is one of `allowed`.
fn output_kind(
    step: &str,
    out: &Path,
    allowed: &[&'static str],
) -> Result<&'static str, StepError> {
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    allowed.iter().copied().find(|a| *a == ext).ok_or_else(|| {
        let list: Vec<String> = allowed.iter().map(|a| format!(".{a}")).collect();
        let (init, last) = list.split_at(list.len() - 1);
        let names = if init.is_empty() {
            last[0].clone()
        } else {
            format!("{} or {}", init.join(", "), last[0])
        };
        let found = if ext.is_empty() {
            "an output without an extension".to_owned()
        } else {
            format!("`.{ext}`")
        };
        StepError::Usage(format!(
            "`{step}` writes {names}, and {found} is none of them"
        ))
    })
}

/// Writes a whole output file.
fn write_file(out: &Path, bytes: &[u8]) -> Result<(), StepError> {
    std::fs::write(out, bytes).map_err(|source| StepError::Write {
        path: out.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry() {
        assert_eq!(names(), vec!["csv.stats", "table.concat"]);
        assert!(is_builtin("csv.stats"));
        assert!(version("table.concat") >= 1);
        assert!(check_options("csv.stats", &toml::Table::new()).is_ok());
        assert!(check_options("csv.stat", &toml::Table::new()).is_err());
    }

    #[test]
    fn output_kinds() {
        assert_eq!(
            output_kind("s", Path::new("a/.x.tmp-1.CSV"), &["json", "csv"]).unwrap(),
            "csv"
        );
        assert_eq!(
            output_kind("s", Path::new("x.txt"), &["json", "csv", "tsv"])
                .unwrap_err()
                .to_string(),
            "`s` writes .json, .csv or .tsv, and `.txt` is none of them"
        );
        assert!(
            output_kind("s", Path::new("x"), &["csv"])
                .unwrap_err()
                .to_string()
                .contains("without an extension")
        );
    }
}
