//! What each subcommand does: load the file, plan, run or show, report, and
//! turn the outcome into an exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::cli::{Cli, Cmd, Jobs, RunArgs};
use crate::config::{self, Pipeline};
use crate::diag::{self, did_you_mean};
use crate::error::{EXIT_OK, EXIT_TASKS_FAILED, Error};
use crate::exec::{self, RunOptions};
use crate::plan::{self, Plan};
use crate::report::RunReport;
use crate::show;

/// Runs a parsed command line; returns the exit code.
pub(crate) fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Cmd::Run(args) => run(&args),
        Cmd::Check { pipeline } => {
            let pipeline = load(&pipeline)?;
            let plan = make_plan(&pipeline)?;
            let jobs = exec::pool_size(&pipeline, &RunOptions::default());
            print_stdout(&show::plan_summary(&pipeline, &plan, jobs))?;
            Ok(EXIT_OK)
        }
        Cmd::Graph { pipeline } => {
            let pipeline = load(&pipeline)?;
            print_stdout(&show::dot(&pipeline))?;
            Ok(EXIT_OK)
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Loads and validates a pipeline file, rendering every diagnostic on failure.
fn load(path: &Path) -> Result<Pipeline, Error> {
    config::load(path).map_err(|err| {
        Error::Load(diag::render(
            &err.diagnostics,
            &err.source.path,
            &err.source.text,
            color(),
        ))
    })
}

fn make_plan(pipeline: &Pipeline) -> Result<Plan, Error> {
    plan::build(pipeline).map_err(|diagnostics| {
        Error::Load(diag::render(
            &diagnostics,
            &pipeline.source.path,
            &pipeline.source.text,
            color(),
        ))
    })
}

fn print_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `runner check p.toml | head` closes the pipe early; that is fine.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("cannot write to standard output", e)),
    }
}

fn run(args: &RunArgs) -> Result<i32, Error> {
    let pipeline = load(&args.pipeline)?;
    let mut only = Vec::new();
    for name in &args.only {
        match pipeline.step_index(name) {
            Some(i) => only.push(i),
            None => {
                let known: Vec<&str> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
                let hint = did_you_mean(name, known.iter().copied())
                    .unwrap_or_else(|| format!("steps: {}", known.join(", ")));
                return Err(Error::Usage(format!(
                    "error: `--only {name}`: no step `{name}` in `{}`; {hint}",
                    args.pipeline.display()
                )));
            }
        }
    }
    let options = RunOptions {
        jobs: match args.jobs {
            Some(Jobs::Count(n)) => Some(n),
            Some(Jobs::Auto) => Some(std::thread::available_parallelism().map_or(1, |n| n.get())),
            None => None,
        },
        fail_fast: args.fail_fast,
        quiet: args.quiet,
        verbose: args.verbose,
        only,
    };
    let plan = make_plan(&pipeline)?;
    if args.dry_run {
        let wanted = exec::wanted_tasks(&plan, &options.only);
        print_stdout(&show::dry_run(&pipeline, &plan, &wanted))?;
        return Ok(EXIT_OK);
    }

    let state_dir = pipeline.abs(&pipeline.state_dir);
    let log_dir = state_dir.join("logs").join(run_stamp());
    std::fs::create_dir_all(&log_dir).map_err(|e| {
        Error::io(
            format!("cannot create the log folder `{}`", log_dir.display()),
            e,
        )
    })?;
    ignore_state_in_git(&pipeline);

    let interrupt = AtomicBool::new(false);
    let result = exec::execute(&pipeline, &plan, &options, log_dir, &interrupt);
    let report = RunReport {
        pipeline: &pipeline,
        plan: &plan,
        results: &result.results,
        wall: result.wall,
        started: result.started,
    };
    let totals = report.totals();
    if !options.quiet || totals.failed > 0 {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(report.render().as_bytes());
    }
    Ok(if totals.failed > 0 {
        EXIT_TASKS_FAILED
    } else {
        EXIT_OK
    })
}

/// A folder name for this run's logs: UTC time and pid.
fn run_stamp() -> String {
    let t = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!("{}-{}", t.replace([':', '-'], ""), std::process::id())
}

/// `.runner/` holds a `.gitignore` of `*`, so state is never committed.
fn ignore_state_in_git(pipeline: &Pipeline) {
    let dot_runner = pipeline.root.join(".runner");
    if pipeline.abs(&pipeline.state_dir).starts_with(&dot_runner) {
        let ignore = dot_runner.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(ignore, "*\n");
        }
    }
}
