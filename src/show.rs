//! Views of a pipeline that run nothing: the plan summary of `runner check`,
//! the DOT graph of `runner graph`, and the command list of `--dry-run`.

use std::fmt::Write as _;

use crate::config::{Action, Batching, Pipeline, StepKind, Upstream};
use crate::plan::{Plan, display_path};
use crate::report::command_line;
use crate::state::Verdict;
use crate::state::db::FailedRow;
use crate::state::fingerprint::StepDeps;
use crate::state::recorded::RunRow;

/// `runner check`: what the file declares and how many tasks each step makes.
pub(crate) fn plan_summary(pipeline: &Pipeline, plan: &Plan, jobs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pipeline `{}` ({})",
        pipeline.name,
        pipeline.source.path.display()
    );
    let _ = writeln!(out, "  root: {}", pipeline.root.display());
    let _ = writeln!(out, "  out:  {}", display_path(&pipeline.out_dir));
    let _ = writeln!(out, "  jobs: {jobs}");
    let name_width = pipeline
        .inputs
        .iter()
        .map(|i| i.name.len())
        .chain(pipeline.steps.iter().map(|s| s.name.len()))
        .max()
        .unwrap_or(4);
    if !pipeline.inputs.is_empty() {
        let _ = writeln!(out, "inputs:");
    }
    for (set, files) in pipeline.inputs.iter().zip(&plan.input_files) {
        let batches = match set.batching {
            Some(b) => {
                let n = crate::plan::batches(files.len(), b).len();
                let how = match b {
                    Batching::Count(c) => format!("batches = {c}"),
                    Batching::Size(k) => format!("batch_size = {k}"),
                };
                format!(", {n} batch{} ({how})", if n == 1 { "" } else { "es" })
            }
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<name_width$}  {} file{}{batches}",
            set.name,
            files.len(),
            if files.len() == 1 { "" } else { "s" },
        );
    }
    let _ = writeln!(out, "steps:");
    for (i, step) in pipeline.steps.iter().enumerate() {
        let upstream = match step.upstream {
            Upstream::Inputs(s) => &pipeline.inputs[s].name,
            Upstream::Step(s) => &pipeline.steps[s].name,
        };
        let action = match &step.action {
            Action::Run(argv) => format!("run {}", argv.first().map_or("", |a| a.text.as_str())),
            Action::Shell(_) => "shell".to_owned(),
            Action::Builtin(builtin) => format!("use {}", builtin.name),
            Action::Plot(_) => "plot".to_owned(),
            Action::Call(spec) => match &spec.worker {
                crate::config::WorkerProgram::Python {
                    module, function, ..
                } => format!("python {}:{function}", display_path(module)),
                crate::config::WorkerProgram::Argv { argv, .. } => {
                    format!("worker {}", argv.first().map_or("", String::as_str))
                }
            },
        };
        let n = plan.step_tasks[i].len();
        let kind = if step.kind == StepKind::Plot {
            "plot "
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<name_width$}  {kind}{} {upstream}: {n} task{} ({action})",
            step.name,
            step.fanout.keyword(),
            if n == 1 { "" } else { "s" },
        );
    }
    let invalid: Vec<_> = plan.tasks.iter().filter(|t| t.invalid.is_some()).collect();
    for task in &invalid {
        let _ = writeln!(
            out,
            "warning: task {} {} will fail: {}",
            pipeline.steps[task.step].name,
            task.key,
            task.invalid.as_deref().unwrap_or_default()
        );
    }
    let _ = writeln!(out, "ok: {} tasks", plan.tasks.len());
    out
}

/// `runner graph`: inputs, steps and plots as a Graphviz digraph.
pub(crate) fn dot(pipeline: &Pipeline) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", q(&pipeline.name));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [fontname=\"Helvetica\"];");
    for set in &pipeline.inputs {
        let globs: Vec<&str> = set.globs.iter().map(|(g, _)| g.as_str()).collect();
        let source = match &set.from {
            Some((list, _)) => format!("from {list}"),
            None => globs.join(" "),
        };
        let label = format!("{}\\n{}", set.name, source.replace('"', "\\\""));
        let _ = writeln!(
            out,
            "  {} [shape=folder, label=\"{label}\"];",
            q(&format!("inputs.{}", set.name))
        );
    }
    for step in &pipeline.steps {
        let shape = if step.kind == StepKind::Plot {
            "note"
        } else {
            "box"
        };
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label={}];",
            q(&step.name),
            q(&step.name)
        );
    }
    for step in &pipeline.steps {
        let from = match step.upstream {
            Upstream::Inputs(s) => format!("inputs.{}", pipeline.inputs[s].name),
            Upstream::Step(s) => pipeline.steps[s].name.clone(),
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            q(&from),
            q(&step.name),
            q(step.fanout.keyword())
        );
    }
    out.push_str("}\n");
    out
}

/// `--dry-run`: every command that would run (tasks not up to date), one
/// per line, ready for `sh`; with `explain`, why each one runs.
pub(crate) fn dry_run(
    pipeline: &Pipeline,
    plan: &Plan,
    verdicts: &[Option<Verdict>],
    explain: bool,
) -> String {
    let mut out = String::new();
    let root = shlex::try_quote(&pipeline.root.display().to_string())
        .map(|q| q.into_owned())
        .unwrap_or_default();
    let _ = writeln!(out, "cd {root}");
    let mut up_to_date = 0;
    // With `--explain`: the files each command names, which are part of
    // its fingerprint (issue 10, item 1).
    let deps: Vec<StepDeps> = if explain {
        pipeline
            .steps
            .iter()
            .map(|s| StepDeps::new(pipeline, s))
            .collect()
    } else {
        Vec::new()
    };
    for task in &plan.tasks {
        let reason = match &verdicts[task.id] {
            None => continue,
            Some(Verdict::UpToDate) => {
                up_to_date += 1;
                continue;
            }
            Some(Verdict::Run(reason, _)) => reason,
        };
        let step = &pipeline.steps[task.step];
        if explain {
            let _ = writeln!(out, "# {} {}: {reason}", step.name, task.key);
            let named = deps[task.step].named_by_command(task);
            if !named.is_empty() {
                let named: Vec<String> = named.iter().map(|p| display_path(p)).collect();
                let _ = writeln!(
                    out,
                    "# {} {}: reads {} (named by its command)",
                    step.name,
                    task.key,
                    named.join(", ")
                );
            }
        }
        let line = command_line(pipeline, task);
        let line = line
            .strip_prefix(&format!("cd {root} && "))
            .unwrap_or(&line);
        if task.command.is_process() {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "# {} {}: {line}", step.name, task.key);
        }
    }
    if up_to_date > 0 {
        let _ = writeln!(
            out,
            "# {up_to_date} task{} up to date",
            if up_to_date == 1 { "" } else { "s" }
        );
    }
    out
}

/// `runner history`: recent runs, newest first.
pub(crate) fn runs(runs: &[RunRow], json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(runs).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5}  {:<20}  {:>9}  {:>6}  {:>6}  {:>10}  {:>7}  {:>4}  flags",
        "run", "started", "duration", "ok", "failed", "up to date", "skipped", "exit"
    );
    for run in runs {
        let duration = match (
            humantime::parse_rfc3339(&run.started_at),
            run.ended_at.as_deref().map(humantime::parse_rfc3339),
        ) {
            (Ok(start), Some(Ok(end))) => end
                .duration_since(start)
                .map(|d| humantime::format_duration(d).to_string())
                .unwrap_or_default(),
            (_, None) => "-".to_owned(),
            _ => "?".to_owned(),
        };
        let exit = match run.exit_code {
            Some(code) => code.to_string(),
            None if run.ended_at.is_none() => "killed or running".to_owned(),
            None => "?".to_owned(),
        };
        let line = format!(
            "{:>5}  {:<20}  {:>9}  {:>6}  {:>6}  {:>10}  {:>7}  {:>4}  {}",
            run.id,
            run.started_at,
            duration,
            run.ok,
            run.failed,
            run.up_to_date,
            run.skipped,
            exit,
            run.flags.join(" ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `runner history --failed`: the failed tasks of the last run.
pub(crate) fn failed_tasks(failed: Option<(i64, Vec<FailedRow>)>, json: bool) -> String {
    let (run_id, rows) = failed.unwrap_or((0, Vec::new()));
    if json {
        return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
    }
    if rows.is_empty() {
        return if run_id == 0 {
            "no runs recorded yet\n".to_owned()
        } else {
            format!("run {run_id}: no failed tasks\n")
        };
    }
    let mut out = format!(
        "run {run_id}: {} failed task{}\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    for row in rows {
        let _ = writeln!(
            out,
            "\nFAILED: {} {} ({})",
            row.step,
            row.key,
            row.reason.as_deref().unwrap_or(row.status.as_str())
        );
        if let Some(log) = &row.log_path {
            let _ = writeln!(out, "  log: {log}");
        }
        for line in row.stderr_tail.as_deref().unwrap_or("").lines() {
            let _ = writeln!(out, "    | {line}");
        }
    }
    out
}
