//! The HTML page of a recorded run: reads the run from the state database,
//! puts together what each part of the page shows, and renders the
//! embedded template. The same path serves the end of a run and
//! `runner report`.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, Value};
use rusqlite::Connection;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::config::{Pipeline, StepKind};
use crate::plan::Plan;
use crate::report::failures::{self, FailureGroup};
use crate::report::gallery::{self, PlotState, Section};
use crate::report::stats::{self, StepStats};
use crate::report::timeline::{self, Timeline};
use crate::report::trend::{self, Trend};
use crate::state::db::TaskStatus;
use crate::state::recorded::{self, RunRow, TaskRecord};

/// Runs shown in the history chart.
const TREND_RUNS: usize = 20;

/// The header's facts about the run.
#[derive(Debug, Serialize)]
struct Header {
    pipeline: String,
    file: String,
    run: i64,
    /// `ok`, `failed`, `interrupted`, `unfinished` or `error`.
    status: &'static str,
    status_text: String,
    started: String,
    duration: String,
    exit_code: Option<i32>,
    ok: i64,
    failed: i64,
    skipped: i64,
    up_to_date: i64,
    flags: Vec<String>,
    jobs: Option<i64>,
    git_commit: Option<String>,
    git_dirty: Option<bool>,
    version: &'static str,
}

/// A failure group with the command that runs its tasks again.
#[derive(Debug, Serialize)]
struct Failures {
    #[serde(flatten)]
    group: FailureGroup,
    rerun: String,
    /// Failed tasks of the step in every group, when the command runs them
    /// all: a group too big to name its tasks, in a step with other groups.
    step_failed: Option<usize>,
}

/// Everything the template shows.
#[derive(Debug, Serialize)]
struct Page<'a> {
    header: Header,
    steps: Vec<StepStats>,
    /// Whether any task's peak memory is known (the column shows then).
    memory: bool,
    timeline: Option<Timeline>,
    failures: Vec<Failures>,
    failed_tasks: usize,
    gallery: Vec<Section>,
    plots: usize,
    /// Whether the pipeline has `[[plots]]` at all.
    plot_steps: bool,
    trend: Trend,
    state_db: String,
    colors: BTreeMap<&'a str, &'static str>,
}

/// The page as HTML, and what it holds.
pub(crate) struct Rendered {
    /// The HTML.
    pub(crate) html: String,
    /// The run it shows.
    pub(crate) run_id: i64,
    /// Pictures in the gallery.
    pub(crate) plots: usize,
}

/// Why a page could not be built.
#[derive(Debug)]
pub(crate) enum PageError {
    /// No run of that id (or none at all when `None`).
    NoRun(Option<i64>),
    /// The database could not be read.
    Db(rusqlite::Error),
    /// The template failed (a bug).
    Template(String),
}

impl From<rusqlite::Error> for PageError {
    fn from(e: rusqlite::Error) -> Self {
        PageError::Db(e)
    }
}

/// Builds the page of run `run_id` (the newest when `None`) of `pipeline`,
/// for a file written in `report_dir` (absolute; the gallery's paths are
/// relative to it).
pub(crate) fn render(
    pipeline: &Pipeline,
    plan: &Plan,
    conn: &Connection,
    run_id: Option<i64>,
    report_dir: &Path,
    state_db: &Path,
) -> Result<Rendered, PageError> {
    let run = recorded::run(conn, run_id)?.ok_or(PageError::NoRun(run_id))?;
    let tasks = recorded::run_tasks(conn, run.id)?;
    let step_counts = recorded::run_steps(conn, run.id)?;
    // The pipeline's steps, then those of the run that the file no longer
    // has: their order gives the colours.
    let mut step_names: Vec<&str> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
    for t in &tasks {
        if !step_names.contains(&t.step.as_str()) {
            step_names.push(&t.step);
        }
    }
    let colors: BTreeMap<&str, &str> = step_names
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, timeline::PALETTE[i % timeline::PALETTE.len()]))
        .collect();
    let kinds: Vec<(&str, bool)> = pipeline
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.kind == StepKind::Plot))
        .collect();

    let mut last = HashMap::default();
    let mut this_run = HashMap::default();
    for step in pipeline.steps.iter().filter(|s| s.kind == StepKind::Plot) {
        last.insert(step.name.clone(), recorded::last_results(conn, &step.name)?);
    }
    for t in tasks.iter().filter(|t| last.contains_key(&t.step)) {
        this_run.insert((t.step.clone(), t.key.clone()), t.status);
    }
    let gallery = gallery::build(
        pipeline,
        plan,
        &PlotState {
            this_run: &this_run,
            last: &last,
            run_id: run.id,
        },
        report_dir,
    );

    let file = std::path::absolute(&pipeline.source.path)
        .unwrap_or_else(|_| pipeline.source.path.clone())
        .display()
        .to_string();
    let groups = failures::group(&tasks, &step_names);
    let failures: Vec<Failures> = groups
        .iter()
        .map(|group| {
            let of_step = groups
                .iter()
                .filter(|g| g.step == group.step && !g.interrupted);
            let whole_step = !group.interrupted && group.every_key.len() > RERUN_KEYS;
            Failures {
                rerun: rerun_command(&file, group),
                step_failed: (whole_step && of_step.clone().count() > 1)
                    .then(|| of_step.map(|g| g.count).sum()),
                group: group.clone(),
            }
        })
        .collect();
    let history = recorded::runs_up_to(conn, run.id, TREND_RUNS)?;
    let page = Page {
        header: header(pipeline, &run, &tasks, file),
        steps: stats::per_step(&kinds, &step_counts, &tasks),
        memory: tasks.iter().any(|t| t.peak_memory.is_some()),
        timeline: timeline::build(&tasks, &step_names, run.jobs.map(|j| j.max(1) as usize)),
        failed_tasks: failures
            .iter()
            .filter(|f| !f.group.interrupted)
            .map(|f| f.group.count)
            .sum(),
        failures,
        plots: gallery.iter().map(|s| s.items.len()).sum(),
        plot_steps: pipeline.steps.iter().any(|s| s.kind == StepKind::Plot),
        gallery,
        trend: trend::build(&history, run.id),
        state_db: state_db.display().to_string(),
        colors,
    };
    let html = environment()
        .get_template("report.html")
        .and_then(|t| t.render(Value::from(minijinja::value::Serde(&page))))
        .map_err(|e| PageError::Template(format!("{e:#}")))?;
    Ok(Rendered {
        html,
        run_id: run.id,
        plots: page.plots,
    })
}

/// The header of `run`. A run that did not end has no counts in its row:
/// they come from its task rows (up-to-date tasks are not among them).
fn header(pipeline: &Pipeline, run: &RunRow, tasks: &[TaskRecord], file: String) -> Header {
    let (mut ok, mut failed, mut skipped) = (run.ok, run.failed, run.skipped);
    if run.ended_at.is_none() {
        (ok, failed, skipped) = (0, 0, 0);
        for t in tasks {
            match t.status {
                TaskStatus::Ok => ok += 1,
                TaskStatus::Failed | TaskStatus::Interrupted => failed += 1,
                TaskStatus::Skipped | TaskStatus::NotRun => skipped += 1,
            }
        }
    }
    let (status, status_text) = match run.exit_code {
        None => (
            "unfinished",
            "did not end (killed, or still running)".to_owned(),
        ),
        Some(130) => ("interrupted", "interrupted (SIGINT)".to_owned()),
        Some(143) => ("interrupted", "interrupted (SIGTERM)".to_owned()),
        Some(0) => ("ok", "ok".to_owned()),
        Some(1) => ("failed", "failed".to_owned()),
        Some(code) => ("error", format!("runner stopped (exit {code})")),
    };
    let duration = match run.wall_ms {
        Some(ms) => stats::duration(stats::millis(Some(ms))),
        None => match (
            humantime::parse_rfc3339(&run.started_at),
            run.ended_at.as_deref().map(humantime::parse_rfc3339),
        ) {
            (Ok(start), Some(Ok(end))) => end
                .duration_since(start)
                .map(stats::duration)
                .unwrap_or_default(),
            _ => "?".to_owned(),
        },
    };
    Header {
        pipeline: pipeline.name.clone(),
        file,
        run: run.id,
        status,
        status_text,
        started: run.started_at.replacen('T', " ", 1).replace('Z', " UTC"),
        duration,
        exit_code: run.exit_code,
        ok,
        failed,
        skipped,
        up_to_date: run.up_to_date,
        flags: run.flags.clone(),
        jobs: run.jobs,
        git_commit: run.git_commit.clone(),
        git_dirty: run.git_dirty,
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// The most tasks a failure group's command names one by one; a bigger
/// group's command runs its whole step (`--only STEP`).
const RERUN_KEYS: usize = 50;

/// The command that runs the tasks of a failure group again: one
/// `--only STEP:KEY` per task (the key escaped as a glob, so it matches
/// itself only), which runs those tasks and what they need; for a group of
/// more than `RERUN_KEYS` tasks, `--only STEP`, of whose tasks only those
/// not up to date run (the step's failed ones). Interrupted tasks run
/// again with a plain run.
fn rerun_command(file: &str, group: &FailureGroup) -> String {
    let quote = |s: &str| {
        shlex::try_quote(s)
            .map(|q| q.into_owned())
            .unwrap_or_else(|_| format!("{s:?}"))
    };
    let mut command = format!("runner {}", quote(file));
    if group.interrupted {
        return command;
    }
    if group.every_key.len() > RERUN_KEYS {
        command.push_str(&format!(" --only {}", quote(&group.step)));
        return command;
    }
    for key in &group.every_key {
        let only = format!("{}:{}", group.step, glob::Pattern::escape(key));
        command.push_str(&format!(" --only {}", quote(&only)));
    }
    command
}

/// The template environment: the page, its style and script embedded.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("report.html", include_str!("templates/report.html.j2"))
        .expect("the report template compiles (tested)");
    env.add_global(
        "style",
        Value::from_safe_string(include_str!("templates/report.css").to_owned()),
    );
    env.add_global(
        "script",
        Value::from_safe_string(include_str!("templates/report.js").to_owned()),
    );
    env.add_filter("num", thousands);
    env.add_filter("f1", |x: f64| format!("{x:.1}"));
    env
}

/// `12345` as `12,345`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_of(keys: &[&str]) -> FailureGroup {
        FailureGroup {
            step: "check".to_owned(),
            signature: "failed".to_owned(),
            count: keys.len(),
            keys: Vec::new(),
            more: 0,
            every_key: keys.iter().map(|k| (*k).to_owned()).collect(),
            example_key: keys[0].to_owned(),
            example_reason: "exit code 1".to_owned(),
            example_lines: Vec::new(),
            log_path: None,
            interrupted: false,
        }
    }

    #[test]
    fn a_groups_command_names_its_tasks_as_patterns_that_match_only_them() {
        let cmd = rerun_command("/p/x.toml", &group_of(&["a", "sub/b[1]", "it's *"]));
        let words = shlex::split(&cmd).unwrap();
        assert_eq!(
            words,
            [
                "runner",
                "/p/x.toml",
                "--only",
                "check:a",
                "--only",
                "check:sub/b[[]1[]]",
                "--only",
                "check:it's [*]"
            ]
        );
        let pattern = glob::Pattern::new(words[5].split_once(':').unwrap().1).unwrap();
        assert!(pattern.matches("sub/b[1]") && !pattern.matches("sub/b1"));
    }

    #[test]
    fn a_big_groups_command_runs_its_step() {
        let keys: Vec<String> = (0..=RERUN_KEYS).map(|i| format!("k{i}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(
            rerun_command("x.toml", &group_of(&keys)),
            "runner x.toml --only check"
        );
        let mut interrupted = group_of(&["a"]);
        interrupted.interrupted = true;
        assert_eq!(rerun_command("x.toml", &interrupted), "runner x.toml");
    }

    #[test]
    fn numbers_with_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-4500), "-4,500");
    }

    #[test]
    fn the_template_compiles() {
        let _ = environment();
    }
}
