//! What each subcommand does: load the file, plan, check what is up to
//! date, run or show, report, and turn the outcome into an exit code.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::cli::{CleanArgs, Cli, Cmd, ExecutorArg, HistoryArgs, JobsArg, ReportArgs, RunArgs};
use crate::config::{self, ExecutorKind, Pipeline};
use crate::error::{EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_TASKS_FAILED, Error, chain};
use crate::exec::{self, RunOptions};
use crate::plan::{self, Plan, display_path};
use crate::report::{self, RunReport, Tally};
use crate::show;
use crate::state::{self, Force, OpenState, StateError, db};
use crate::targets;

/// Runs a parsed command line; returns the exit code.
pub(crate) fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Cmd::Run(args) => run(&args),
        Cmd::Check { pipeline } => {
            let pipeline = load(&pipeline)?;
            let plan = make_plan(&pipeline)?;
            // What would make a call step fail as a whole (issue 9); a run
            // goes on without them, `check` is strict.
            let problems = plan::call_checks(&pipeline);
            if !problems.is_empty() {
                return Err(config::LoadError {
                    source: pipeline.source.clone(),
                    diagnostics: problems,
                }
                .into());
            }
            let jobs = exec::pool_size(&pipeline, &RunOptions::default());
            print_stdout(&show::plan_summary(&pipeline, &plan, jobs))?;
            Ok(EXIT_OK)
        }
        Cmd::Graph { pipeline } => {
            let pipeline = load(&pipeline)?;
            print_stdout(&show::dot(&pipeline))?;
            Ok(EXIT_OK)
        }
        Cmd::History(args) => history(&args),
        Cmd::Clean(args) => clean(&args),
        Cmd::Report(args) => report(&args),
        Cmd::Schema => {
            print_stdout(&config::json_schema())?;
            Ok(EXIT_OK)
        }
        Cmd::Worker { array_dir, element } => exec::slurm::worker::run(&array_dir, element),
    }
}

/// Loads and validates a pipeline file.
fn load(path: &Path) -> Result<Pipeline, Error> {
    Ok(config::load(path)?)
}

/// Plans a pipeline; a problem found planning is one of the file.
fn make_plan(pipeline: &Pipeline) -> Result<Plan, Error> {
    Ok(plan::build(pipeline)?)
}

fn print_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `runner check p.toml | head` closes the pipe early; that is fine.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Stdout(e)),
    }
}

/// Resolves step names given on the command line.
fn step_names(
    pipeline: &Pipeline,
    names: &[String],
    flag: &'static str,
) -> Result<Vec<usize>, Error> {
    names
        .iter()
        .map(|name| {
            targets::step_index(pipeline, name, &format!("{flag} {name}")).map_err(Error::from)
        })
        .collect()
}

/// SIGINT / SIGTERM: the first asks the run to stop (tasks are terminated and
/// recorded as interrupted); a second one exits at once.
struct Interrupts {
    received: Arc<AtomicUsize>,
}

impl Interrupts {
    fn install() -> Interrupts {
        let received = Arc::new(AtomicUsize::new(0));
        let second = Arc::new(AtomicBool::new(false));
        for (signal, code) in [
            (signal_hook::consts::SIGINT, EXIT_SIGINT),
            (signal_hook::consts::SIGTERM, EXIT_SIGTERM),
        ] {
            let _ = signal_hook::flag::register_conditional_shutdown(signal, code, second.clone());
            let _ = signal_hook::flag::register(signal, second.clone());
            let _ = signal_hook::flag::register_usize(signal, received.clone(), code as usize);
        }
        Interrupts { received }
    }

    /// The exit code of the signal received, if one was.
    fn exit_code(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code as i32),
        }
    }
}

/// With `RUNNER_TIMINGS` set, how long each phase took, on stderr (for
/// benchmarks: where does a no-op run spend its time?).
fn phase(label: &str, since: &mut std::time::Instant) {
    if std::env::var_os("RUNNER_TIMINGS").is_some() {
        // SAFETY: getrusage only fills the struct it is given.
        let cpu = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
            ms(usage.ru_utime) + ms(usage.ru_stime)
        };
        eprintln!(
            "timing: {label:<10} {:>8.1} ms (process CPU so far {cpu:.0} ms)",
            since.elapsed().as_secs_f64() * 1000.0
        );
    }
    *since = std::time::Instant::now();
}

/// The flags of a run that change what runs or how, one string each as it
/// could be typed again (`--force=clean`, `--only=plot`, `--jobs=4`), for the
/// run's record (`history`, the report).
fn run_flags(args: &RunArgs) -> Vec<String> {
    let mut flags = Vec::new();
    match args.jobs {
        Some(JobsArg::Count(n)) => flags.push(format!("--jobs={n}")),
        Some(JobsArg::Auto) => flags.push("--jobs=auto".to_owned()),
        None => {}
    }
    for step in &args.force {
        flags.push(if step.is_empty() {
            "--force".to_owned()
        } else {
            format!("--force={step}")
        });
    }
    for step in &args.only {
        flags.push(format!("--only={step}"));
    }
    // Output paths asked for (issue 12), as typed.
    flags.extend(args.targets.iter().map(|t| t.display().to_string()));
    for (on, flag) in [
        (args.fail_fast, "--fail-fast"),
        (args.wait, "--wait"),
        (args.quiet, "--quiet"),
        (args.verbose, "--verbose"),
    ] {
        if on {
            flags.push(flag.to_owned());
        }
    }
    flags
}

/// The `--set` overrides as applied (typed as in `[vars]`), as flags that
/// could be typed again (`--set=n=4`, `--set=label=Test`), for the run's
/// record.
fn set_flags(overrides: &toml::Table) -> Vec<String> {
    overrides
        .iter()
        .map(|(name, value)| match value {
            toml::Value::String(text) => format!("--set={name}={text}"),
            other => format!("--set={name}={other}"),
        })
        .collect()
}

fn run(args: &RunArgs) -> Result<i32, Error> {
    let mut clock = std::time::Instant::now();
    // What git says about the pipeline file is asked for at once, in the
    // background: it is recorded when the run ends, and nothing waits on it.
    let pipeline_file = args.pipeline.clone();
    let git = (!args.dry_run && !args.no_state)
        .then(|| std::thread::spawn(move || state::git::state_of(&pipeline_file)));
    let mut pipeline = load(&args.pipeline)?;
    // This run's cgroups carry its pipeline's mark: it cleans up after dead
    // runs of its own pipeline only.
    exec::cgroup::set_owner(&pipeline.root.join(&pipeline.state_dir));
    let overrides = pipeline.set_vars(&args.set)?;
    phase("load", &mut clock);
    let force = if args.force.iter().any(String::is_empty) {
        Force::All
    } else if args.force.is_empty() {
        Force::None
    } else {
        Force::Steps(step_names(&pipeline, &args.force, "--force")?)
    };
    let options = RunOptions {
        jobs: match args.jobs {
            Some(JobsArg::Count(n)) => Some(n),
            Some(JobsArg::Auto) => {
                Some(std::thread::available_parallelism().map_or(1, |n| n.get()))
            }
            None => None,
        },
        fail_fast: args.fail_fast,
        quiet: args.quiet,
        verbose: args.verbose,
        targets: None,
    };
    // The plan (globs, templates) and the last results are independent:
    // read them at the same time. The state is read without the lock, so
    // that a broken file leaves no trace; once the plan is good, the lock is
    // taken and the snapshot read again if a run wrote in between.
    let state_dir = pipeline.abs(&pipeline.state_dir);
    let (plan, snapshot) = std::thread::scope(|scope| {
        let snapshot = scope.spawn(|| {
            let mut clock = std::time::Instant::now();
            let snapshot = state::read_snapshot(&state_dir, args.explain);
            phase("snapshot", &mut clock);
            snapshot
        });
        let mut clock = std::time::Instant::now();
        let plan = make_plan(&pipeline);
        phase("plan", &mut clock);
        (plan, snapshot.join())
    });
    let plan = plan?;
    let cwd = std::env::current_dir().map_err(Error::WorkingDir)?;
    let options = RunOptions {
        targets: targets::select(&pipeline, &plan, &args.only, &args.targets, &cwd)?,
        ..options
    };
    let on_slurm = match args.executor {
        Some(ExecutorArg::Local) => false,
        Some(ExecutorArg::Slurm) => true,
        None => pipeline.executor.kind == ExecutorKind::Slurm,
    };
    if args.no_state {
        if on_slurm {
            return Err(exec::slurm::SlurmError::NoState.into());
        }
        return run_without_state(&pipeline, &plan, &options);
    }
    let snapshot = snapshot.map_err(|_| Error::internal("the state reader panicked"))?;
    let (state, snapshot) = if args.dry_run {
        // Nothing else will look at the state: a dry run that cannot read
        // it says so, rather than show every task as new without a word.
        let snapshot = snapshot.unwrap_or_else(|(path, err)| {
            eprintln!(
                "warning: cannot read the state database `{}` ({err}): every task is shown as if it had never run",
                path.display()
            );
            state::Snapshot::default()
        });
        (None, snapshot)
    } else {
        // Read again under the lock below (`refresh`), or set aside if it
        // is damaged.
        let snapshot = snapshot.unwrap_or_default();
        let mut state = match OpenState::open(&pipeline, args.wait, args.quiet) {
            Ok(state) => state,
            Err(err) if args.quiet && locked_recently(&err, pipeline.lock_warning) => {
                return Ok(Error::from(err).code());
            }
            Err(err) => return Err(err.into()),
        };
        stop_leftovers(&mut state, &pipeline, &plan, options.quiet)?;
        let snapshot = state.refresh(snapshot)?;
        (Some(state), snapshot)
    };
    let wanted = exec::wanted_tasks(&plan, options.targets.as_deref());
    phase("plan+state", &mut clock);
    let (verdicts, hashes) = state::assess(&pipeline, &plan, &wanted, &snapshot, &force);
    phase("assess", &mut clock);
    let Some(mut state) = state else {
        print_stdout(&show::dry_run(&pipeline, &plan, &verdicts, args.explain))?;
        return Ok(EXIT_OK);
    };
    // Nothing is submitted unless SLURM is there and takes the options.
    let earlier_arrays = if on_slurm {
        exec::slurm::preflight(&pipeline, &plan, &wanted, &verdicts)?;
        state.unfinished_arrays()?
    } else {
        Vec::new()
    };

    // Steps with tasks to run get an estimate of their task time from
    // earlier runs, for the progress' time left.
    let mut needed = vec![false; pipeline.steps.len()];
    for task in &plan.tasks {
        if matches!(verdicts[task.id], Some(state::Verdict::Run(..))) {
            needed[task.step] = true;
        }
    }
    let earlier_times = state.earlier_task_times(&pipeline, &needed);

    let interrupts = Interrupts::install();
    let argv: Vec<String> = std::env::args().collect();
    let jobs = exec::pool_size(&pipeline, &options);
    let mut flags = run_flags(args);
    flags.extend(set_flags(&overrides));
    state.begin(&pipeline, &argv.join(" "), flags, jobs)?;
    let writer = state.writer()?;
    writer.hashes(hashes);
    let write_failed = writer.failed_flag();
    let stop = || interrupts.exit_code().is_some() || write_failed.load(Ordering::SeqCst);
    let site = if on_slurm {
        exec::Site::Slurm(exec::slurm::Cluster {
            settings: &pipeline.executor,
            state_dir: state.dir.clone(),
            run_id: state.run_id,
            earlier: earlier_arrays,
            writer: &writer,
            keep: pipeline.keep_logs,
        })
    } else {
        exec::Site::Local
    };
    let result = exec::execute(
        &pipeline,
        &plan,
        &options,
        &wanted,
        exec::StateView {
            verdicts: &verdicts,
            snapshot: &snapshot,
            writer: &writer,
            record: true,
            earlier_times: &earlier_times,
        },
        exec::Traces {
            log_dir: state.log_dir.clone(),
            run_tag: run_tag(state.run_id),
        },
        site,
        &stop,
    );
    phase("execute", &mut clock);
    // A write that failed stopped the run; this says why (after the report).
    let joined = state.join(writer);

    let mut report = RunReport {
        pipeline: &pipeline,
        plan: &plan,
        results: &result.results,
        wall: result.wall,
        unchanged: None,
    };
    let totals = report.totals();
    // Under --quiet (cron), failures that are the same as last time are
    // not news: one line for them, and nothing at all when nothing is new.
    let unchanged = match (options.quiet && totals.failed > 0, &joined) {
        (true, Ok(())) => Some(unchanged_failures(
            &state,
            &pipeline,
            &plan,
            &result.results,
        )?),
        _ => None,
    };
    report.unchanged = unchanged.as_ref();
    let news = totals.failed > unchanged.as_ref().map_or(0, |u| u.tasks.len());
    if !options.quiet || news || interrupts.exit_code().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(report.render().as_bytes());
    }
    let code = match interrupts.exit_code() {
        Some(code) => code,
        None if totals.failed > 0 => EXIT_TASKS_FAILED,
        None => EXIT_OK,
    };
    joined?;
    let counts = run_counts(totals);
    let steps = pipeline
        .steps
        .iter()
        .zip(report.per_step())
        .filter(|(_, (tally, _, _))| *tally != Tally::default())
        .map(|(step, (tally, _, _))| (step.name.clone(), run_counts(tally)))
        .collect();
    state.end(db::RunEnd {
        exit_code: code,
        wall_ms: result.wall.as_millis() as i64,
        counts,
        steps,
        git: git.and_then(|handle| handle.join().ok()).flatten(),
        isolation: result.isolation,
        ..db::RunEnd::default()
    })?;
    if code == EXIT_OK && pipeline.prune {
        prune(&pipeline, &plan, &state, options.quiet)?;
    }
    // `[report]`: the page of this run, from what the state recorded (the
    // same path as `runner report`), also after failures and interrupts. A
    // page that cannot be written is a warning: the run's verdict stands.
    if pipeline.report.is_some() {
        let written = state
            .connection()
            .map_err(report::ReportError::from)
            .and_then(|conn| {
                report::write_page(
                    &pipeline,
                    &plan,
                    conn,
                    Some(state.run_id),
                    &report_path(&pipeline),
                    &state.db_path(),
                )
            });
        match written {
            Ok(w) if !options.quiet => eprintln!("report: {}", w.path.display()),
            Ok(_) => {}
            Err(e) => eprintln!("warning: the report was not written: {}", chain(&e)),
        }
    }
    if totals.failed > 0 && !pipeline.on_failure.is_empty() {
        let run = FinishedRun {
            id: state.run_id,
            db: state.db_path(),
            log_dir: state.log_dir.clone(),
            counts,
        };
        // The hook runs with the lock released: a slow hook must not make
        // the next run (cron's) find the pipeline locked (issue 10 item 11).
        drop(state);
        on_failure(&pipeline, &run);
    }
    phase("end", &mut clock);
    // Freeing a large plan and snapshot one allocation at a time is work
    // nobody waits for: the process ends here.
    std::mem::forget(plan);
    std::mem::forget(snapshot);
    Ok(code)
}

/// A run's counts as the state records them.
fn run_counts(tally: Tally) -> db::RunCounts {
    db::RunCounts {
        ok: tally.ok,
        // No column of their own in `runs`: tasks stopped by an interrupt
        // are counted with the failures there, as before (the run's exit
        // code and the tasks' `interrupted` status say why); the terminal
        // summary counts them apart.
        failed: tally.failed + tally.interrupted,
        skipped: tally.skipped,
        up_to_date: tally.up_to_date,
    }
}

/// This run's part of temporary output names: its id, and a few random
/// characters, since ids start again at 1 when the state is deleted, and a
/// command left running by a killed run of the old state must never share
/// a temporary name with a new run's (issue 10, item 2).
fn run_tag(run_id: i64) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&std::process::id().to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.update(&now.as_nanos().to_le_bytes());
    format!("{run_id}.{}", &h.finalize().to_hex()[..4])
}

/// Stops what runs that died left running (their commands' processes) and
/// removes their temporary outputs, before anything runs (issue 10, item 2):
/// those registered, and after a run that never ended, those of this plan's
/// outputs that it wrote without registering them.
fn stop_leftovers(
    state: &mut OpenState,
    pipeline: &Pipeline,
    plan: &Plan,
    quiet: bool,
) -> Result<(), Error> {
    let leftovers = state.leftovers()?;
    let notes = exec::group::reap_leftovers(&leftovers);
    if !leftovers.is_empty() || state.last_run_unfinished()? {
        // Not those of tasks an earlier run's SLURM arrays hold: their
        // elements may still be writing them (a later run adopts them).
        let held = exec::slurm::held_outputs(&state.unfinished_arrays()?);
        let outputs = plan
            .tasks
            .iter()
            .flat_map(|t| t.outputs.iter())
            .filter(|o| !held.contains(o.as_path()));
        exec::group::remove_unregistered_temps(&pipeline.root, outputs.map(|o| o.as_path()));
    }
    state.forget(&leftovers)?;
    if !quiet {
        for note in notes {
            eprintln!("note: {note}");
        }
    }
    Ok(())
}

/// Whether an error is "another run holds the lock" from a run that started
/// less than `warning` ago (under `--quiet`, not worth a mail; a run stuck
/// for longer must reach someone).
fn locked_recently(err: &StateError, warning: std::time::Duration) -> bool {
    let StateError::Locked { started, .. } = err else {
        return false;
    };
    humantime::parse_rfc3339(started).is_ok_and(|start| {
        std::time::SystemTime::now()
            .duration_since(start)
            .is_ok_and(|age| age < warning)
    })
}

/// The failures of this run that are the same as the task's previous result
/// (fingerprint, reason, output tail), and since when.
fn unchanged_failures(
    state: &OpenState,
    pipeline: &Pipeline,
    plan: &Plan,
    results: &[Option<exec::task::TaskResult>],
) -> Result<crate::report::Unchanged, Error> {
    let mut ids = Vec::new();
    let mut seen = Vec::new();
    for task in &plan.tasks {
        let Some(result) = &results[task.id] else {
            continue;
        };
        if let exec::task::Outcome::Failed(f) = &result.outcome
            && !f.interrupted
        {
            ids.push(task.id);
            seen.push(db::FailureSeen {
                step: pipeline.steps[task.step].name.clone(),
                key: task.key.clone(),
                fingerprint: result.fingerprint.map(|h| h.to_hex().to_string()),
                reason: f.reason.clone(),
                tail: f.stderr_tail.join("\n"),
            });
        }
    }
    let since = state.unchanged_failures(&seen)?;
    let mut unchanged = crate::report::Unchanged::default();
    for (id, since) in ids.into_iter().zip(since) {
        if let Some(since) = since {
            unchanged.tasks.push(id);
            if unchanged.since.is_empty() || since < unchanged.since {
                unchanged.since = since;
            }
        }
    }
    Ok(unchanged)
}

/// `--no-state`: every wanted task runs, nothing is read or recorded.
fn run_without_state(pipeline: &Pipeline, plan: &Plan, options: &RunOptions) -> Result<i32, Error> {
    let interrupts = Interrupts::install();
    let wanted = exec::wanted_tasks(plan, options.targets.as_deref());
    let verdicts: Vec<Option<state::Verdict>> = wanted
        .iter()
        .map(|&w| {
            w.then_some(state::Verdict::Run(
                state::fingerprint::Reason::Forced,
                None,
            ))
        })
        .collect();
    let snapshot = state::Snapshot::default();
    let writer = state::Writer::disabled();
    let log_dir = std::env::temp_dir().join(format!("runner-{}-logs", std::process::id()));
    let stop = || interrupts.exit_code().is_some();
    let result = exec::execute(
        pipeline,
        plan,
        options,
        &wanted,
        exec::StateView {
            verdicts: &verdicts,
            snapshot: &snapshot,
            writer: &writer,
            record: false,
            earlier_times: &[],
        },
        exec::Traces {
            log_dir: log_dir.clone(),
            run_tag: format!("n{}", std::process::id()),
        },
        exec::Site::Local,
        &stop,
    );
    let report = RunReport {
        pipeline,
        plan,
        results: &result.results,
        wall: result.wall,
        unchanged: None,
    };
    let totals = report.totals();
    if !options.quiet || totals.failed > 0 || interrupts.exit_code().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(report.render().as_bytes());
    }
    // Nothing records them: the logs stay only when the summary above
    // points at them (a task failed, or the run was stopped).
    if totals.failed == 0 && interrupts.exit_code().is_none() {
        let _ = std::fs::remove_dir_all(&log_dir);
    } else {
        let _ = std::fs::remove_dir(&log_dir);
    }
    Ok(match interrupts.exit_code() {
        Some(code) => code,
        None if totals.failed > 0 => EXIT_TASKS_FAILED,
        None => EXIT_OK,
    })
}

/// What `on_failure` is told about the run that just ended.
struct FinishedRun {
    id: i64,
    db: std::path::PathBuf,
    log_dir: std::path::PathBuf,
    counts: db::RunCounts,
}

/// Runs `[pipeline] on_failure` with the run's id and counts in its
/// environment, for at most `on_failure_timeout` (then its process group is
/// killed); its own failure is only reported.
fn on_failure(pipeline: &Pipeline, run: &FinishedRun) {
    let (program, args) = pipeline
        .on_failure
        .split_first()
        .expect("checked non-empty");
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .current_dir(&pipeline.root)
        .envs(pipeline.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUNNER_PIPELINE", &pipeline.name)
        .env("RUNNER_RUN_ID", run.id.to_string())
        .env("RUNNER_OK", run.counts.ok.to_string())
        .env("RUNNER_FAILED", run.counts.failed.to_string())
        .env("RUNNER_SKIPPED", run.counts.skipped.to_string())
        .env("RUNNER_UP_TO_DATE", run.counts.up_to_date.to_string())
        .env("RUNNER_STATE_DB", &run.db)
        .env("RUNNER_LOG_DIR", &run.log_dir)
        .stdin(std::process::Stdio::null());
    match exec::process::run_limited(&mut command, pipeline.on_failure_timeout) {
        Ok(exec::process::Exit::Code(0)) => {}
        Ok(exec::process::Exit::Code(code)) => {
            eprintln!("warning: `on_failure` command `{program}` ended with exit code {code}")
        }
        Ok(exec::process::Exit::Signal(sig)) => eprintln!(
            "warning: `on_failure` command `{program}` was killed by signal {sig} ({})",
            exec::process::signal_name(sig)
        ),
        Ok(exec::process::Exit::TimedOut(t)) => eprintln!(
            "warning: `on_failure` command `{program}` timed out after {} and was killed (`on_failure_timeout`)",
            humantime::format_duration(t)
        ),
        Ok(exec::process::Exit::Interrupted) => {}
        Err(e) => eprintln!("warning: cannot run the `on_failure` command `{program}`: {e}"),
    }
}

/// `runner clean`: the outputs earlier runs wrote that no task declares
/// (every output, and the state, with `--all`); deleted with `--yes`.
fn clean(args: &CleanArgs) -> Result<i32, Error> {
    let pipeline = load(&args.pipeline)?;
    // `--all` needs no plan: a pipeline whose globs match nothing any more
    // can still be cleaned.
    let plan = if args.all {
        None
    } else {
        Some(make_plan(&pipeline)?)
    };
    let state_dir = pipeline.abs(&pipeline.state_dir);
    let db_path = state_dir.join(state::DB_FILE);
    if !db_path.exists() {
        print_stdout(&format!(
            "nothing to clean: no run of `{}` recorded\n",
            pipeline.name
        ))?;
        return Ok(EXIT_OK);
    }
    let lock = if args.yes {
        Some(state::lock::acquire(&state_dir, false, |_| {})?)
    } else {
        None
    };
    let conn = db::open_read_only(&db_path).map_err(|e| StateError::database(&db_path, e))?;
    let found = crate::clean::find(&pipeline, plan.as_ref(), &conn)
        .map_err(|e| StateError::database(&db_path, e))?;
    drop(conn);
    let mut text = String::new();
    for name in &found.unreadable {
        text.push_str(&format!(
            "cannot clean `{name}`: its recorded name is not plain text; delete it by hand\n"
        ));
    }
    for path in &found.kept {
        text.push_str(&format!(
            "keeping {}: changed since runner wrote it\n",
            crate::clean::shown(path)
        ));
    }
    let bytes: u64 = found.delete.iter().map(|(_, n)| n).sum();
    let count = found.delete.len();
    let files = format!(
        "{count} file{} ({})",
        if count == 1 { "" } else { "s" },
        crate::clean::size(bytes)
    );
    let state_shown = display_path(&pipeline.state_dir);
    if !args.yes {
        for (path, _) in &found.delete {
            text.push_str(&format!("would delete {}\n", crate::clean::shown(path)));
        }
        if args.all {
            text.push_str(&format!("would remove the state folder {state_shown}\n"));
        }
        if count == 0 && !args.all {
            text.push_str("nothing to clean\n");
        } else {
            text.push_str(&format!(
                "{files}; run `runner clean {}{} --yes` to delete {}\n",
                args.pipeline.display(),
                if args.all { " --all" } else { "" },
                if args.all {
                    "them and the state"
                } else {
                    "them"
                }
            ));
        }
        print_stdout(&text)?;
        return Ok(EXIT_OK);
    }
    let (deleted, problems) = crate::clean::delete(&pipeline, &found);
    for (path, _) in &found.delete {
        text.push_str(&format!("deleted {}\n", crate::clean::shown(path)));
    }
    text.push_str(&format!(
        "deleted {deleted} file{}",
        if deleted == 1 { "" } else { "s" }
    ));
    text.push_str(&format!(" ({})\n", crate::clean::size(bytes)));
    if args.all && problems.is_empty() {
        drop(lock);
        std::fs::remove_dir_all(&state_dir).map_err(|source| Error::RemoveState {
            path: state_dir.clone(),
            source,
        })?;
        text.push_str(&format!("removed the state folder {state_shown}\n"));
    }
    print_stdout(&text)?;
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    Ok(if problems.is_empty() {
        EXIT_OK
    } else {
        crate::error::EXIT_INTERNAL
    })
}

/// `[pipeline] prune = true`: after a successful run, the dead outputs go.
fn prune(pipeline: &Pipeline, plan: &Plan, state: &OpenState, quiet: bool) -> Result<(), Error> {
    let found = crate::clean::find(pipeline, Some(plan), state.conn()?)
        .map_err(|e| StateError::database(state.db_path(), e))?;
    if found.delete.is_empty() {
        return Ok(());
    }
    let (deleted, problems) = crate::clean::delete(pipeline, &found);
    if !quiet {
        eprintln!(
            "pruned {deleted} output{} that no task declares any more",
            if deleted == 1 { "" } else { "s" }
        );
    }
    for problem in &problems {
        eprintln!("warning: prune: {problem}");
    }
    Ok(())
}

fn history(args: &HistoryArgs) -> Result<i32, Error> {
    let pipeline = load(&args.pipeline)?;
    let db_path = pipeline.abs(&pipeline.state_dir).join(state::DB_FILE);
    if !db_path.exists() {
        if args.json {
            print_stdout("[]\n")?;
        } else {
            print_stdout(&format!("no runs of `{}` recorded yet\n", pipeline.name))?;
        }
        return Ok(EXIT_OK);
    }
    let read_error = |source| StateError::Database {
        what: "cannot read the history in",
        path: db_path.clone(),
        source,
    };
    let conn = db::open_read_only(&db_path).map_err(|source| StateError::Database {
        what: "cannot read the state database",
        path: db_path.clone(),
        source,
    })?;
    let text = if args.failed {
        let failed = db::last_run_failures(&conn).map_err(read_error)?;
        show::failed_tasks(failed, args.json)
    } else {
        let runs = state::recorded::recent_runs(&conn, args.limit).map_err(read_error)?;
        show::runs(&runs, args.json)
    };
    print_stdout(&text)?;
    Ok(EXIT_OK)
}

/// Where the report of `pipeline` goes when the command line does not say:
/// `[report] out` (relative to the output folder), else `report.html` there.
fn report_path(pipeline: &Pipeline) -> std::path::PathBuf {
    match &pipeline.report {
        Some(report) => pipeline.abs(&report.path),
        None => pipeline.abs(&pipeline.out_dir).join("report.html"),
    }
}

/// `runner report`: the page of a recorded run, from the state alone.
fn report(args: &ReportArgs) -> Result<i32, Error> {
    let pipeline = load(&args.pipeline)?;
    let db_path = pipeline.abs(&pipeline.state_dir).join(state::DB_FILE);
    if !db_path.exists() {
        return Err(report::ReportError::NoRun {
            pipeline: pipeline.name.clone(),
        }
        .into());
    }
    let plan = make_plan(&pipeline)?;
    let conn = db::open_read_only(&db_path).map_err(|source| StateError::Database {
        what: "cannot read the state database",
        path: db_path.clone(),
        source,
    })?;
    let out = match &args.out {
        Some(path) => std::path::absolute(path).map_err(|source| report::ReportError::Write {
            path: path.clone(),
            source,
        })?,
        None => report_path(&pipeline),
    };
    let written = report::write_page(&pipeline, &plan, &conn, args.run, &out, &db_path)?;
    print_stdout(&format!(
        "wrote the report of run {} ({} plot{}) to {}\n",
        written.run_id,
        written.plots,
        if written.plots == 1 { "" } else { "s" },
        written.path.display()
    ))?;
    if args.open {
        report::open_in_browser(&written.path);
    }
    Ok(EXIT_OK)
}
