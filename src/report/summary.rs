//! The end-of-run summary: per step ok / failed / (interrupted) / skipped /
//! up to date, the sum of its task times and its wall time, then one
//! `FAILED:` block per failure with the command to copy, how
//! it ended and the tail of its stderr.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{Fanout, Pipeline, WorkerProgram};
use crate::exec::task::{Outcome, TaskResult};
use crate::plan::{CallCommand, Command, Plan, Task, display_os, display_path};

/// Counts of one step, or of the whole run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Ran and succeeded.
    pub(crate) ok: usize,
    /// Ran and failed.
    pub(crate) failed: usize,
    /// Stopped by an interrupt (not their own fault).
    pub(crate) interrupted: usize,
    /// Not run: upstream failed, or the run stopped.
    pub(crate) skipped: usize,
    /// Not run: nothing changed since the last success.
    pub(crate) up_to_date: usize,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Succeeded => self.ok += 1,
            Outcome::Failed(f) if f.interrupted => self.interrupted += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::UpToDate => self.up_to_date += 1,
            Outcome::SkippedUpstream(_) | Outcome::NotRun => self.skipped += 1,
        }
    }
}

/// Everything the summary needs from a finished run.
pub(crate) struct RunReport<'a> {
    /// The pipeline.
    pub(crate) pipeline: &'a Pipeline,
    /// Its plan.
    pub(crate) plan: &'a Plan,
    /// Per task, its result (`None` = not part of this run).
    pub(crate) results: &'a [Option<TaskResult>],
    /// Wall time of the run.
    pub(crate) wall: Duration,
    /// Under `--quiet`: failures that are the same as last time, shown as
    /// one line instead of their blocks.
    pub(crate) unchanged: Option<&'a Unchanged>,
}

/// Failures that are the same as in the task's previous run (same
/// fingerprint, reason and output), for `--quiet` (cron mails only news).
#[derive(Debug, Default)]
pub(crate) struct Unchanged {
    /// The tasks, sorted.
    pub(crate) tasks: Vec<usize>,
    /// When the oldest of them started failing that way (RFC 3339).
    pub(crate) since: String,
}

impl RunReport<'_> {
    /// Counts over every task.
    pub(crate) fn totals(&self) -> Tally {
        let mut t = Tally::default();
        for r in self.results.iter().flatten() {
            t.add(&r.outcome);
        }
        t
    }

    /// Per step: its counts, the summed run time of its tasks, and its
    /// wall time (from its first task's start to its last task's end).
    pub(crate) fn per_step(&self) -> Vec<(Tally, Duration, Duration)> {
        self.plan
            .step_tasks
            .iter()
            .map(|ids| {
                let mut tally = Tally::default();
                let mut time = Duration::ZERO;
                let mut span: Option<(std::time::SystemTime, std::time::SystemTime)> = None;
                for r in ids.iter().filter_map(|&id| self.results[id].as_ref()) {
                    tally.add(&r.outcome);
                    time += r.duration;
                    if let Some(start) = r.started_at {
                        let end = start + r.duration;
                        span = Some(match span {
                            None => (start, end),
                            Some((s, e)) => (s.min(start), e.max(end)),
                        });
                    }
                }
                let wall = span.map_or(Duration::ZERO, |(s, e)| {
                    e.duration_since(s).unwrap_or(Duration::ZERO)
                });
                (tally, time, wall)
            })
            .collect()
    }

    /// `step/key` of some tasks, at most 5 of them and how many more.
    fn names(&self, tasks: &[&Task]) -> String {
        const SHOWN: usize = 5;
        let mut names: Vec<String> = tasks
            .iter()
            .take(SHOWN)
            .map(|t| crate::exec::task_name(self.pipeline, t))
            .collect();
        if tasks.len() > SHOWN {
            names.push(format!("and {} more", tasks.len() - SHOWN));
        }
        names.join(", ")
    }

    /// The summary text (several lines, ends with a newline).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let mut failures: Vec<(&Task, &TaskResult)> = Vec::new();
        let mut interrupted: Vec<&Task> = Vec::new();
        // Per failed task, the tasks skipped because of it.
        let mut skipped_by: std::collections::HashMap<usize, Vec<&Task>> = Default::default();
        let mut partial: Vec<String> = Vec::new();
        // Per step: its tasks that failed because its worker could not
        // start, shown as one entry (issue 9).
        let mut step_wide: Vec<Vec<(&Task, &TaskResult)>> =
            vec![Vec::new(); self.pipeline.steps.len()];
        for task in &self.plan.tasks {
            let Some(r) = &self.results[task.id] else {
                continue;
            };
            let unchanged = self
                .unchanged
                .is_some_and(|u| u.tasks.binary_search(&task.id).is_ok());
            match &r.outcome {
                Outcome::Failed(f) if f.interrupted => interrupted.push(task),
                Outcome::Failed(_) if unchanged => {}
                Outcome::Failed(f) if f.step_wide => {
                    if step_wide[task.step].is_empty() {
                        failures.push((task, r));
                    }
                    step_wide[task.step].push((task, r));
                }
                Outcome::Failed(_) => failures.push((task, r)),
                Outcome::SkippedUpstream(cause) => skipped_by.entry(*cause).or_default().push(task),
                _ => {}
            }
            if let Some(n) = &r.narrowed {
                partial.push(format!(
                    "{}: {}",
                    crate::exec::task_name(self.pipeline, task),
                    crate::exec::partial_note(self.pipeline, self.plan, &n.failed)
                ));
            }
        }
        for (task, result) in &failures {
            let Outcome::Failed(f) = &result.outcome else {
                continue;
            };
            let step = &self.pipeline.steps[task.step];
            let (task, result, f) = if f.step_wide {
                // The task that tried to start the worker has its output.
                let (task, tried) = step_wide[task.step]
                    .iter()
                    .find(|(_, r)| r.stderr_log.is_some() || r.stdout_log.is_some())
                    .copied()
                    .unwrap_or((task, result));
                let Outcome::Failed(tried_f) = &tried.outcome else {
                    continue;
                };
                let n = step_wide[task.step].len();
                let _ = writeln!(
                    out,
                    "FAILED: {} ({n} task{}: every task of the step fails this way)",
                    step.name,
                    if n == 1 { "" } else { "s" }
                );
                (task, tried, tried_f)
            } else {
                let _ = writeln!(out, "FAILED: {} {}", step.name, task.key);
                (*task, *result, f)
            };
            let _ = writeln!(out, "  command: {}", command_line(self.pipeline, task));
            let attempts = if result.attempts > 1 {
                format!(" (after {} attempts)", result.attempts)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  status:  {}{attempts}", f.reason);
            if let Some(log) = &result.stderr_log {
                let _ = writeln!(out, "  log:     {}", log.display());
            }
            if !f.stderr_tail.is_empty() {
                let _ = writeln!(out, "  last lines of output:");
                for line in &f.stderr_tail {
                    let _ = writeln!(out, "    | {line}");
                }
            }
            if let Some(skipped) = skipped_by.get(&task.id) {
                let _ = writeln!(out, "  skipped: {}", self.names(skipped));
            }
            out.push('\n');
        }
        if !interrupted.is_empty() {
            let _ = writeln!(out, "interrupted: {}\n", self.names(&interrupted));
        }
        if let Some(u) = self.unchanged.filter(|u| !u.tasks.is_empty()) {
            let n = u.tasks.len();
            let _ = writeln!(
                out,
                "{n} failure{} unchanged since {}\n",
                if n == 1 { "" } else { "s" },
                u.since
            );
        }
        for line in &partial {
            let _ = writeln!(out, "{line}");
        }
        if !partial.is_empty() {
            out.push('\n');
        }

        let width = self
            .pipeline
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let t = self.totals();
        // The interrupted column only when something was.
        let stopped = t.interrupted > 0;
        let row = |out: &mut String, cells: [&str; 8]| {
            let _ = write!(
                out,
                "{:<width$}  {:>6}  {:>6}",
                cells[0], cells[1], cells[2]
            );
            if stopped {
                let _ = write!(out, "  {:>11}", cells[3]);
            }
            let _ = writeln!(
                out,
                "  {:>7}  {:>10}  {:>12}  {:>8}",
                cells[4], cells[5], cells[6], cells[7]
            );
        };
        row(
            &mut out,
            [
                "step",
                "ok",
                "failed",
                "interrupted",
                "skipped",
                "up to date",
                "sum of tasks",
                "wall",
            ],
        );
        for (step, (tally, time, wall)) in self.pipeline.steps.iter().zip(self.per_step()) {
            if tally == Tally::default() {
                continue;
            }
            row(
                &mut out,
                [
                    &step.name,
                    &tally.ok.to_string(),
                    &tally.failed.to_string(),
                    &tally.interrupted.to_string(),
                    &tally.skipped.to_string(),
                    &tally.up_to_date.to_string(),
                    &seconds(time),
                    &seconds(wall),
                ],
            );
        }
        let verdict = if stopped {
            "INTERRUPTED"
        } else if t.failed > 0 {
            "FAILED"
        } else {
            "ok"
        };
        let interrupted = if stopped {
            format!("{} interrupted, ", t.interrupted)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{verdict}: {} ok, {} failed, {interrupted}{} skipped, {} up to date in {}",
            t.ok,
            t.failed,
            t.skipped,
            t.up_to_date,
            seconds(self.wall)
        );
        out
    }
}

/// A duration as `1.23s`.
pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2}s")
    } else if s < 100.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// A call step's task as a call: `python scripts/a.py:f(input="data/a.csv",
/// out="build/a.png", dpi=120)`, with the final output paths. The task's
/// names shown are those a command uses most; every other name is passed
/// too, and a function receives those it declares.
pub(crate) fn call_line(pipeline: &Pipeline, task: &Task, call: &CallCommand) -> String {
    let step = &pipeline.steps[task.step];
    let callee = match &call.spec.worker {
        WorkerProgram::Python {
            module, function, ..
        } => format!("python {}:{function}", display_path(module)),
        WorkerProgram::Argv { argv, .. } => format!("worker {}", argv.join(" ")),
    };
    let text = |p: &std::path::Path| serde_json::Value::from(display_path(p)).to_string();
    let list = |paths: &[std::path::PathBuf]| {
        let items: Vec<String> = paths.iter().map(|p| text(p)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut args = Vec::new();
    match (step.fanout, task.inputs.as_ref()) {
        (Fanout::Each, [input, ..]) => args.push(format!("input={}", text(input))),
        (_, inputs) => args.push(format!("inputs={}", list(inputs))),
    }
    match task.outputs.as_ref() {
        [] => {}
        [one] => args.push(format!("out={}", text(one))),
        outs => args.push(format!("outs={}", list(outs))),
    }
    for (key, value) in &call.with {
        args.push(format!("{key}={value}"));
    }
    format!("{callee}({})", args.join(", "))
}

/// What a task done inside runner reads and writes, in place of a command
/// line: `(plot: data/a.csv -> out/a.svg)`.
fn inside_runner(what: &str, task: &Task) -> String {
    let inputs: Vec<String> = task.inputs.iter().map(|p| display_path(p)).collect();
    let outputs: Vec<String> = task.outputs.iter().map(|p| display_path(p)).collect();
    format!("({what}: {} -> {})", inputs.join(" "), outputs.join(" "))
}

/// The task's command as one line to paste into a shell: `cd ROOT &&`, the
/// step's declared environment, then the quoted argv (or `sh -c '...'`).
pub(crate) fn command_line(pipeline: &Pipeline, task: &Task) -> String {
    let step = &pipeline.steps[task.step];
    let quote = |s: &str| {
        shlex::try_quote(s)
            .map(|q| q.into_owned())
            .unwrap_or_else(|_| format!("{s:?}"))
    };
    let mut line = format!("cd {} &&", quote(&pipeline.root.display().to_string()));
    for (key, value) in step.env.iter() {
        let _ = write!(line, " {key}={}", quote(value));
    }
    match &task.command {
        Command::Argv(shown) => {
            for arg in shown {
                line.push(' ');
                line.push_str(&quote(&display_os(arg)));
            }
        }
        Command::Shell(shown) => {
            // A one-line script pastes as it is; more lines go through `sh -c`
            // so that all of them run in root.
            if step.env.is_empty() && !shown.contains('\n') {
                let _ = write!(line, " {shown}");
            } else {
                let _ = write!(line, " sh -c {}", quote(shown));
            }
        }
        Command::Builtin(builtin) => {
            line = inside_runner(&format!("built-in `{}`", builtin.name), task);
        }
        Command::Plot(_) => line = inside_runner("plot", task),
        Command::Call(call) => return call_line(pipeline, task, call),
    }
    if step.stdout_to_out
        && let Some(out) = task.outputs.first()
    {
        let _ = write!(line, " > {}", quote(&display_path(out)));
    }
    line
}
