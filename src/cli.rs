//! The command line (clap derive). No file I/O here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Runs declarative data pipelines: input globs, batches, per-file steps and
/// plots, on a sized pool with live progress.
#[derive(Debug, Parser)]
#[command(
    name = "runner",
    version,
    after_help = "`runner PIPELINE.toml` is short for `runner run PIPELINE.toml`.\n\
Exit codes: 0 ok, 1 some tasks failed, 2 bad pipeline file or command line,\n\
3 another run holds the lock, 4 runner itself failed, 130/143 interrupted."
)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
    /// Run the pipeline (the default).
    Run(RunArgs),
    /// Validate the pipeline file and print the plan; runs nothing.
    Check {
        /// The pipeline file.
        pipeline: PathBuf,
    },
    /// Print the step graph as Graphviz DOT.
    Graph {
        /// The pipeline file.
        pipeline: PathBuf,
    },
    /// Show recent runs, or the failed tasks of the last run.
    History(HistoryArgs),
    /// List (and with --yes delete) the outputs earlier runs wrote that no
    /// task declares any more.
    Clean(CleanArgs),
    /// Write the HTML report of a recorded run (the last one by default).
    Report(ReportArgs),
    /// Print the JSON Schema of the pipeline file format (for editors).
    Schema,
    /// Run one element of a SLURM array (started by SLURM, not by hand).
    #[command(hide = true)]
    Worker {
        /// The array's folder in the state.
        array_dir: PathBuf,
        /// The element (default: `$SLURM_ARRAY_TASK_ID`).
        #[arg(long)]
        element: Option<usize>,
    },
}

/// `runner history`
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// The pipeline file.
    pub(crate) pipeline: PathBuf,
    /// List the failed tasks of the last run, with their stderr tails and logs.
    #[arg(long)]
    pub(crate) failed: bool,
    /// Print JSON, for scripts.
    #[arg(long)]
    pub(crate) json: bool,
    /// How many runs to show.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub(crate) limit: usize,
}

/// `runner clean`
#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// The pipeline file.
    pub(crate) pipeline: PathBuf,
    /// Delete them (without it, only say what would be deleted).
    #[arg(long)]
    pub(crate) yes: bool,
    /// Every output runner wrote, and the state folder (a fresh start).
    #[arg(long)]
    pub(crate) all: bool,
}

/// `runner report`
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The pipeline file.
    pub(crate) pipeline: PathBuf,
    /// The run to report on (an id from `runner history`; default: the last).
    #[arg(long, value_name = "ID")]
    pub(crate) run: Option<i64>,
    /// Where to write the page (default: `[report] out`, else `report.html`
    /// in the output folder).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Open the page with the desktop's opener (xdg-open, open) when there
    /// is one.
    #[arg(long)]
    pub(crate) open: bool,
}

/// `runner run`
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The pipeline file.
    pub(crate) pipeline: PathBuf,
    /// Build only these outputs (paths, or folders of outputs) and what they
    /// need, as `make TARGET`.
    #[arg(value_name = "OUTPUT")]
    pub(crate) targets: Vec<PathBuf>,
    /// Pool size: a number, or "auto" for the cores this process may use.
    #[arg(short, long, value_name = "N", value_parser = parse_jobs)]
    pub(crate) jobs: Option<JobsArg>,
    /// Print each command that would run (not up to date), and run nothing.
    #[arg(short = 'n', long)]
    pub(crate) dry_run: bool,
    /// With --dry-run: say why each task would run.
    #[arg(long, requires = "dry_run")]
    pub(crate) explain: bool,
    /// Run tasks even if up to date: all of them, or (`--force=STEP`) that
    /// step and everything that reads it.
    #[arg(long, value_name = "STEP", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub(crate) force: Vec<String>,
    /// If another run holds the lock, wait for it instead of exiting with 3.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Run every task and record nothing: no up-to-date check, no lock, no
    /// history; logs go to a temporary folder.
    #[arg(long, conflicts_with_all = ["force", "wait", "dry_run"])]
    pub(crate) no_state: bool,
    /// Stop starting tasks after the first failure.
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// Print nothing unless something failed (for cron).
    #[arg(short, long, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print every task's command and output as it finishes.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Override a `[vars]` value for this run, typed as in the file
    /// (repeatable); recorded in the run's history.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub(crate) set: Vec<String>,
    /// Run only this step (or its tasks whose keys match, `STEP:KEYGLOB`)
    /// and what they need (repeatable).
    #[arg(long, value_name = "STEP[:KEYGLOB]")]
    pub(crate) only: Vec<String>,
    /// Where tasks run: `local` (this machine) or `slurm` (job arrays);
    /// overrides `[executor] kind`.
    #[arg(long, value_name = "KIND", value_enum)]
    pub(crate) executor: Option<ExecutorArg>,
}

/// `--executor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExecutorArg {
    /// This machine's pool; every step.
    Local,
    /// SLURM job arrays.
    Slurm,
}

/// `-j N` or `-j auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobsArg {
    /// The cores this process may use.
    Auto,
    /// Exactly N.
    Count(usize),
}

fn parse_jobs(s: &str) -> Result<JobsArg, String> {
    if s == "auto" {
        return Ok(JobsArg::Auto);
    }
    match s.parse::<usize>() {
        Ok(n) if (1..=crate::config::MAX_JOBS as usize).contains(&n) => Ok(JobsArg::Count(n)),
        _ => Err(format!(
            "expected a number of jobs (1 to {}) or `auto`, found `{s}`",
            crate::config::MAX_JOBS
        )),
    }
}

const SUBCOMMANDS: &[&str] = &[
    "run", "check", "graph", "history", "report", "clean", "schema", "worker", "help",
];

/// Makes `runner FILE [flags]` and `runner [flags] FILE` mean `runner run ...`.
pub(crate) fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let is_meta = matches!(first, "-h" | "--help" | "-V" | "--version");
    if args.len() > 1 && !SUBCOMMANDS.contains(&first) && !is_meta {
        args.insert(1, OsString::from("run"));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        let args = with_default_subcommand(args.iter().map(OsString::from).collect());
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn run_is_the_default() {
        let Cmd::Run(a) = parse(&["runner", "p.toml", "-j", "3"]).command else {
            panic!("expected run")
        };
        assert_eq!(a.jobs, Some(JobsArg::Count(3)));
        let Cmd::Run(a) = parse(&["runner", "--fail-fast", "p.toml"]).command else {
            panic!("expected run")
        };
        assert!(a.fail_fast);
        assert!(matches!(
            parse(&["runner", "check", "p.toml"]).command,
            Cmd::Check { .. }
        ));
        assert!(matches!(parse(&["runner", "schema"]).command, Cmd::Schema));
    }

    #[test]
    fn force_with_and_without_a_step() {
        let Cmd::Run(a) = parse(&["runner", "p.toml", "--force"]).command else {
            panic!("expected run")
        };
        assert_eq!(a.force, vec![String::new()]);
        let Cmd::Run(a) = parse(&["runner", "p.toml", "--force=clean", "--force=plot"]).command
        else {
            panic!("expected run")
        };
        assert_eq!(a.force, vec!["clean".to_owned(), "plot".to_owned()]);
        let Cmd::Run(a) = parse(&["runner", "p.toml"]).command else {
            panic!("expected run")
        };
        assert!(a.force.is_empty());
    }

    #[test]
    fn jobs_values() {
        assert_eq!(parse_jobs("auto"), Ok(JobsArg::Auto));
        assert!(parse_jobs("0").is_err());
        assert!(parse_jobs("x").is_err());
    }
}
