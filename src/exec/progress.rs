//! Progress on stderr: indicatif bars per step on a terminal; plain,
//! timestamped lines anywhere else (cron, CI, pipes); nothing with `--quiet`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Pipeline;
use crate::exec::eta::Estimator;
use crate::exec::task::{Failure, Outcome, TaskResult};
use crate::exec::term;
use crate::plan::{Plan, Task};
use crate::report;

/// Receives the scheduler's events. `task_started` and `task_finished` are
/// called by the pool's worker threads, `tick` by the thread that started
/// the run, always under the scheduler's lock: one call at a time, in the
/// order things happened, while every other worker waits for the lock. So an
/// implementation must be `Send` (not `Sync`) and quick.
pub(crate) trait Progress {
    /// A task was handed to the pool.
    fn task_started(&mut self, task: &Task);
    /// A task ended (or was skipped).
    fn task_finished(&mut self, task: &Task, result: &TaskResult);
    /// Nothing happened for a while.
    fn tick(&mut self) {}
    /// The run is being stopped (an interrupt): the tasks in `stopping`
    /// are being told to stop, and no other will start.
    fn stopping(&mut self, _stopping: Stopping) {}
    /// The run is over; clear bars before the summary is printed.
    fn finish(&mut self) {}
}

/// What an interrupt stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stopping {
    /// This many tasks running in the pool here.
    Running(usize),
    /// This many tasks submitted to SLURM (running or still queued), whose
    /// arrays are being cancelled.
    Submitted(usize),
}

/// Where the tasks run, as the start line and the total bar say it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RunsOn {
    /// A pool of this many slots here.
    Jobs(usize),
    /// SLURM job arrays.
    Slurm,
}

impl RunsOn {
    /// `2 jobs`, `SLURM`.
    fn long(&self) -> String {
        match self {
            RunsOn::Jobs(1) => "1 job".to_owned(),
            RunsOn::Jobs(n) => format!("{n} jobs"),
            RunsOn::Slurm => "SLURM".to_owned(),
        }
    }

    /// `2j`, `slurm`.
    fn short(&self) -> String {
        match self {
            RunsOn::Jobs(n) => format!("{n}j"),
            RunsOn::Slurm => "slurm".to_owned(),
        }
    }
}

/// Prints nothing (`--quiet`, tests).
pub(crate) struct Silent;

impl Progress for Silent {
    fn task_started(&mut self, _: &Task) {}
    fn task_finished(&mut self, _: &Task, _: &TaskResult) {}
}

/// How far one step (or the whole run) has come.
#[derive(Debug, Default, Clone, Copy)]
struct StepProgress {
    total: usize,
    done: usize,
    failed: usize,
    skipped: usize,
}

/// A timestamp for plain lines (UTC, to the second).
pub(crate) fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Per-task output blocks for `--verbose`, printed whole so that two tasks'
/// output never interleave.
fn verbose_block(pipeline: &Pipeline, task: &Task, result: &TaskResult) -> Option<String> {
    // A step whose worker could not start: only the task that tried has
    // something to show.
    if let Outcome::Failed(f) = &result.outcome
        && f.step_wide
        && result.stdout_log.is_none()
        && result.stderr_log.is_none()
    {
        return None;
    }
    if matches!(
        result.outcome,
        Outcome::SkippedUpstream(_) | Outcome::NotRun | Outcome::UpToDate
    ) {
        return None;
    }
    let step = &pipeline.steps[task.step].name;
    let status = match &result.outcome {
        Outcome::Succeeded => "ok".to_owned(),
        Outcome::Failed(f) => format!("FAILED: {}", f.reason),
        _ => String::new(),
    };
    let mut block = format!(
        "── {step} {} ({status}, {})\n$ {}\n",
        task.key,
        report::seconds(result.duration),
        report::command_line(pipeline, task)
    );
    for log in [&result.stdout_log, &result.stderr_log]
        .into_iter()
        .flatten()
    {
        if let Ok(bytes) = std::fs::read(log) {
            let text = String::from_utf8_lossy(&bytes);
            block.push_str(&text);
            if !text.ends_with('\n') {
                block.push('\n');
            }
        }
    }
    Some(block)
}

/// The `FAILED` line of a failure, except that a failure of a whole step
/// (its worker could not start) is shown for its first task only.
#[derive(Default)]
struct StepWide {
    shown: Vec<usize>,
}

impl StepWide {
    fn line(&mut self, pipeline: &Pipeline, task: &Task, f: &Failure) -> Option<String> {
        let step = &pipeline.steps[task.step].name;
        if !f.step_wide {
            return Some(format!("FAILED {step} {}: {}", task.key, f.reason));
        }
        if self.shown.contains(&task.step) {
            return None;
        }
        self.shown.push(task.step);
        Some(format!(
            "FAILED {step} (every task of the step fails this way): {}",
            f.reason
        ))
    }
}

/// Plain lines: a start line, one per failure, progress at most every few
/// seconds.
pub(crate) struct Lines<'a> {
    pipeline: &'a Pipeline,
    plan: &'a Plan,
    once: StepWide,
    counts: StepProgress,
    eta: Estimator,
    verbose: bool,
    last_line: Instant,
    started: Instant,
    every: Duration,
}

impl<'a> Lines<'a> {
    /// Prints the start line, with the time earlier runs suggest when
    /// they timed every step that has tasks to run.
    pub(crate) fn new(
        pipeline: &'a Pipeline,
        plan: &'a Plan,
        total: usize,
        runs_on: &RunsOn,
        verbose: bool,
        eta: Estimator,
    ) -> Lines<'a> {
        let estimate = match eta.total_left() {
            Some(left) if !left.is_zero() => {
                format!(" (about {} by earlier runs)", report::seconds(left))
            }
            _ => String::new(),
        };
        eprintln!(
            "{} runner: {}: {total} task{} on {}{estimate}",
            timestamp(),
            pipeline.name,
            if total == 1 { "" } else { "s" },
            runs_on.long(),
        );
        Lines {
            pipeline,
            plan,
            once: StepWide::default(),
            counts: StepProgress {
                total,
                ..StepProgress::default()
            },
            eta,
            verbose,
            last_line: Instant::now(),
            started: Instant::now(),
            every: Duration::from_secs(5),
        }
    }

    fn maybe_line(&mut self) {
        if self.last_line.elapsed() >= self.every {
            self.last_line = Instant::now();
            let c = self.counts;
            let left = match self.eta.total_left() {
                Some(left) => format!(", about {} left", report::seconds(left)),
                None => String::new(),
            };
            eprintln!(
                "{} progress: {}/{} done, {} failed, {} skipped ({} elapsed{left})",
                timestamp(),
                c.done,
                c.total,
                c.failed,
                c.skipped,
                report::seconds(self.started.elapsed())
            );
        }
    }
}

impl Progress for Lines<'_> {
    fn task_started(&mut self, _: &Task) {}

    fn task_finished(&mut self, task: &Task, result: &TaskResult) {
        self.counts.done += 1;
        self.eta.finished(task.step, result);
        match &result.outcome {
            // Said once by `stopping`, and listed in the summary.
            Outcome::Failed(f) if f.interrupted => self.counts.skipped += 1,
            Outcome::Failed(f) => {
                self.counts.failed += 1;
                if let Some(line) = self.once.line(self.pipeline, task, f) {
                    eprintln!("{} {line}", timestamp());
                }
            }
            Outcome::SkippedUpstream(cause) => {
                self.counts.skipped += 1;
                eprintln!(
                    "{} SKIPPED {} {}: {}",
                    timestamp(),
                    self.pipeline.steps[task.step].name,
                    task.key,
                    crate::exec::skip_reason(self.pipeline, self.plan, *cause)
                );
            }
            Outcome::NotRun => self.counts.skipped += 1,
            _ => {}
        }
        if self.verbose
            && let Some(block) = verbose_block(self.pipeline, task, result)
        {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(block.as_bytes());
        }
        self.maybe_line();
    }

    fn tick(&mut self) {
        self.maybe_line();
    }

    fn stopping(&mut self, stopping: Stopping) {
        eprintln!("{} {}", timestamp(), stopping_message(stopping));
    }
}

/// What is said when a run is being stopped.
fn stopping_message(stopping: Stopping) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match stopping {
        Stopping::Running(n) => format!("interrupted: stopping {n} running task{}", plural(n)),
        Stopping::Submitted(n) => format!(
            "interrupted: cancelling {n} submitted task{} (scancel of their arrays)",
            plural(n)
        ),
    }
}

/// When a bar's tasks should be done, as the estimator last said, for its
/// `{eta}`: milliseconds after `base`, or `u64::MAX` for no estimate (then
/// the bar shows indicatif's own, from its rate so far).
#[derive(Clone)]
struct Deadline {
    base: Instant,
    at_ms: Arc<AtomicU64>,
}

impl Deadline {
    fn new(base: Instant) -> Deadline {
        Deadline {
            base,
            at_ms: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }

    /// The estimate from now: `left` more, or none.
    fn set(&self, left: Option<Duration>) {
        let at = left.map_or(u64::MAX, |left| {
            (self.base.elapsed() + left).as_millis() as u64
        });
        self.at_ms.store(at, Ordering::Relaxed);
    }

    /// The bar style of `template` (laid out for the terminal's width),
    /// its `{eta}` counting down to this deadline.
    fn style(&self, template: &str) -> ProgressStyle {
        let deadline = self.clone();
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .with_key(
                "eta",
                move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let at = deadline.at_ms.load(Ordering::Relaxed);
                    let left = if at == u64::MAX {
                        state.eta()
                    } else {
                        Duration::from_millis(at).saturating_sub(deadline.base.elapsed())
                    };
                    let _ = write!(w, "{:#}", HumanDuration(left));
                },
            )
    }
}

/// One bar with what it counts and its estimate.
struct Bar {
    bar: ProgressBar,
    counts: StepProgress,
    deadline: Deadline,
}

/// indicatif bars: one per step with tasks, and one for the whole run.
pub(crate) struct Bars<'a> {
    pipeline: &'a Pipeline,
    once: StepWide,
    multi: MultiProgress,
    steps: Vec<Option<Bar>>,
    total: Bar,
    eta: Estimator,
    verbose: bool,
    /// The terminal width the bars are laid out for.
    width: usize,
    /// Name and count widths of the layout.
    name_width: usize,
    digits: usize,
    /// When the width was last read.
    checked: Instant,
    /// Cleared for good (the run is being stopped).
    hidden: bool,
}

impl<'a> Bars<'a> {
    /// Draws a bar for every step with wanted tasks.
    pub(crate) fn new(
        pipeline: &'a Pipeline,
        plan: &Plan,
        wanted: &[bool],
        runs_on: &RunsOn,
        verbose: bool,
        eta: Estimator,
    ) -> Bars<'a> {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let wanted_total = wanted.iter().filter(|&&w| w).count();
        let digits = wanted_total.max(1).to_string().len();
        let total_prefix = format!("total ({})", runs_on.short());
        let name_width = pipeline
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .chain([total_prefix.chars().count()])
            .max()
            .unwrap_or(5)
            .min(term::NAME_WIDTH);
        let width = term::stderr_width().unwrap_or(80);
        let template = term::bar_template(width, name_width, digits).0;
        let base = Instant::now();
        let mut steps = Vec::new();
        let mut all = 0;
        for (i, step) in pipeline.steps.iter().enumerate() {
            let count = plan.step_tasks[i].iter().filter(|&&t| wanted[t]).count();
            if count == 0 {
                steps.push(None);
                continue;
            }
            all += count;
            let deadline = Deadline::new(base);
            deadline.set(eta.step_left(i));
            let bar = multi.add(ProgressBar::new(count as u64));
            bar.set_style(deadline.style(&template));
            bar.set_prefix(truncate(&step.name, name_width));
            steps.push(Some(Bar {
                bar,
                counts: StepProgress {
                    total: count,
                    ..StepProgress::default()
                },
                deadline,
            }));
        }
        let deadline = Deadline::new(base);
        deadline.set(eta.total_left());
        let total = multi.add(ProgressBar::new(all as u64));
        total.set_style(deadline.style(&template));
        total.set_prefix(total_prefix);
        total.enable_steady_tick(Duration::from_millis(200));
        Bars {
            pipeline,
            once: StepWide::default(),
            multi,
            steps,
            total: Bar {
                bar: total,
                counts: StepProgress {
                    total: all,
                    ..StepProgress::default()
                },
                deadline,
            },
            eta,
            verbose,
            width,
            name_width,
            digits,
            checked: Instant::now(),
            hidden: false,
        }
    }

    /// Lays the bars out again when the terminal was resized (read at most
    /// ten times a second).
    fn follow_width(&mut self) {
        if self.hidden || self.checked.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.checked = Instant::now();
        let Some(width) = term::stderr_width() else {
            return;
        };
        if width == self.width {
            return;
        }
        self.width = width;
        let template = term::bar_template(width, self.name_width, self.digits).0;
        for bar in self.steps.iter().flatten() {
            bar.bar.set_style(bar.deadline.style(&template));
        }
        self.total
            .bar
            .set_style(self.total.deadline.style(&template));
    }
}

fn truncate(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_owned()
    } else {
        let mut s: String = name.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}

fn counts_message(c: &StepProgress) -> String {
    let mut parts = Vec::new();
    if c.failed > 0 {
        parts.push(format!("{} failed", c.failed));
    }
    if c.skipped > 0 {
        parts.push(format!("{} skipped", c.skipped));
    }
    parts.join(", ")
}

impl Progress for Bars<'_> {
    fn task_started(&mut self, _: &Task) {}

    fn task_finished(&mut self, task: &Task, result: &TaskResult) {
        self.follow_width();
        let failed = matches!(&result.outcome, Outcome::Failed(f) if !f.interrupted);
        let skipped = matches!(
            result.outcome,
            Outcome::SkippedUpstream(_) | Outcome::NotRun
        );
        self.eta.finished(task.step, result);
        let step_left = self.eta.step_left(task.step);
        let total_left = self.eta.total_left();
        for (bar, left) in self.steps[task.step]
            .iter_mut()
            .map(|b| (b, step_left))
            .chain(std::iter::once((&mut self.total, total_left)))
        {
            let counts = &mut bar.counts;
            counts.done += 1;
            counts.failed += usize::from(failed);
            counts.skipped += usize::from(skipped);
            bar.deadline.set(left);
            bar.bar.inc(1);
            if failed || skipped {
                bar.bar.set_message(counts_message(counts));
            }
        }
        if let Outcome::Failed(f) = &result.outcome
            && !f.interrupted
            && let Some(line) = self.once.line(self.pipeline, task, f)
        {
            let _ = self.multi.println(line);
        }
        if self.verbose
            && let Some(block) = verbose_block(self.pipeline, task, result)
        {
            self.multi.suspend(|| {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(block.as_bytes());
            });
        }
    }

    fn tick(&mut self) {
        self.follow_width();
    }

    /// Clears the bars at once (Ctrl-C), so that what follows (the tasks
    /// being stopped, then the summary) prints on a clean screen.
    fn stopping(&mut self, stopping: Stopping) {
        if !self.hidden {
            self.hidden = true;
            self.total.bar.disable_steady_tick();
            let _ = self.multi.clear();
            self.multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        eprintln!("{}", stopping_message(stopping));
    }

    fn finish(&mut self) {
        for bar in self.steps.iter().flatten() {
            bar.bar.finish();
        }
        self.total.bar.finish();
        let _ = self.multi.clear();
    }
}
