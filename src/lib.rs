//! runner: turns a TOML pipeline file into parallel work (input globs,
//! batches, per-file / per-batch / whole-set steps and plots) run on a sized
//! pool with live progress. Data flows config -> plan -> exec -> report.

mod cli;
mod commands;
mod config;
mod diag;
mod error;
mod exec;
mod plan;
mod plot;
mod report;
mod show;
mod steps;
mod table;
mod template;

use std::ffi::OsString;

use clap::Parser;

/// Runs runner with these arguments (the program name first); returns the
/// exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
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
            let mut message = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            if matches!(err, error::Error::Load(_) | error::Error::Usage(_)) {
                eprintln!("{message}");
            } else {
                eprintln!("error: {message}");
            }
            err.code()
        }
    }
}
