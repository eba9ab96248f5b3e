//! runner: turns a TOML pipeline file into parallel work (input globs,
//! batches, per-file / per-batch / whole-set steps and plots) run on a sized
//! pool with live progress. Data flows config -> plan -> exec -> report.

mod cancel;
mod clean;
mod cli;
mod commands;
mod config;
mod diag;
mod error;
mod exec;
mod malloc;
mod plan;
mod plot;
mod report;
mod show;
mod state;
mod steps;
mod table;
mod targets;
mod template;
#[cfg(test)]
mod test_rng;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Parser;

/// Runs runner with these arguments (the program name first); returns the
/// exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    malloc::tune();
    let args = cli::with_default_subcommand(args);
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                error::EXIT_USAGE
            } else {
                error::EXIT_OK
            };
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none();
            eprintln!("{}", err.report(color));
            err.code()
        }
    }
}

/// Parses, validates and plans a pipeline file's contents in a scratch
/// folder with a few data files, renders whatever diagnostics come out, and
/// checks that each points inside the text. For the fuzz target in `fuzz/`
/// (issue 5): no input may make it panic, since any panic here is one the
/// binary would hit on the same file.
#[doc(hidden)]
pub fn fuzz_load(data: &[u8]) {
    let root = fuzz_root();
    let path = root.join("pipeline.toml");
    let (diagnostics, text) = match config::from_bytes(&path, data.to_vec()) {
        Ok(pipeline) => {
            // Globs that leave the scratch folder would walk the whole disk.
            if !pipeline.root.starts_with(root) || pipeline.inputs.iter().any(leaves_root) {
                return;
            }
            match plan::build(&pipeline) {
                Ok(plan) => {
                    let _ = show::plan_summary(&pipeline, &plan, 2);
                    let _ = show::dot(&pipeline);
                    return;
                }
                Err(err) => (err.diagnostics, err.source.text),
            }
        }
        Err(err) => (err.diagnostics, err.source.text),
    };
    let text = text.as_str();
    assert!(!diagnostics.is_empty(), "a failure without a diagnostic");
    for d in &diagnostics {
        if let Some(span) = &d.span {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "span {span:?} outside the text ({} bytes): {}",
                text.len(),
                d.message
            );
            let (line, col) = diag::line_col(text, span.start);
            let back = diag::offset_at(text, line, col);
            assert!(
                back.is_some_and(|b| b <= span.start && text.is_char_boundary(b)),
                "line:col {line}:{col} of offset {} maps back to {back:?}",
                span.start
            );
        }
    }
    let _ = diag::render(&diagnostics, &path, text, false);
    let _ = diag::render(&diagnostics, &path, text, true);
}

/// Whether a glob of the set can reach outside the pipeline's root, or the
/// set reads a list (a file anywhere, or standard input, which would block).
fn leaves_root(set: &config::InputSet) -> bool {
    set.from.is_some()
        || set
            .globs
            .iter()
            .map(|(g, _)| g)
            .chain(&set.exclude)
            .any(|g| g.starts_with('/') || g.contains(".."))
}

/// The fuzz target's scratch root, made once per process.
fn fuzz_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        // One fixed folder (same contents for every process), so fuzzing
        // jobs do not litter the temp dir.
        let dir = std::env::temp_dir().join("runner-fuzz-root");
        for (file, content) in [
            ("data/a.csv", "t,v\n1,2\n"),
            ("data/b.csv", "t,v\n3,4\n"),
            ("data/2024/c.csv", "t,v\n5,6\n"),
            ("data/x.tsv", "t\tv\n1\t2\n"),
            ("scripts/run.sh", "#!/bin/sh\n"),
        ] {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(&path, content);
        }
        std::fs::canonicalize(&dir).unwrap_or(dir)
    })
}
