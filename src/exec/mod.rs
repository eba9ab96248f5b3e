//! Execution of a plan: which tasks to run, on how many slots, with which
//! progress display; the scheduler and the local task runner do the work.

pub(crate) mod process;
pub(crate) mod progress;
pub(crate) mod scheduler;
pub(crate) mod task;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::config::{Pipeline, Upstream};
use crate::plan::{Plan, Task};
use progress::{Bars, Lines, Progress, Silent};
use scheduler::{Executor, Schedule};
use task::{LocalTasks, TaskResult};

/// How the user asked for the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOptions {
    /// `-j N`; `None` = the pipeline's `jobs`, else auto.
    pub(crate) jobs: Option<usize>,
    /// `--fail-fast`
    pub(crate) fail_fast: bool,
    /// `--quiet`
    pub(crate) quiet: bool,
    /// `--verbose`: print every task's command and output.
    pub(crate) verbose: bool,
    /// `--only STEP`: these steps and what they need.
    pub(crate) only: Vec<usize>,
}

/// A finished run.
pub(crate) struct RunResult {
    /// Per task, its result (`None` = not part of this run).
    pub(crate) results: Vec<Option<TaskResult>>,
    /// Wall time.
    pub(crate) wall: Duration,
    /// When it started.
    pub(crate) started: Instant,
}

/// The pool size: `-j`, else the file's `jobs`, else the cores this process may use.
pub(crate) fn pool_size(pipeline: &Pipeline, options: &RunOptions) -> usize {
    options
        .jobs
        .or(pipeline.jobs)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Which tasks take part: everything, or the `--only` steps and every task
/// they need (transitively).
pub(crate) fn wanted_tasks(plan: &Plan, only: &[usize]) -> Vec<bool> {
    if only.is_empty() {
        return vec![true; plan.tasks.len()];
    }
    let mut wanted = vec![false; plan.tasks.len()];
    let mut stack: Vec<usize> = only
        .iter()
        .flat_map(|&s| plan.step_tasks[s].iter().copied())
        .collect();
    while let Some(id) = stack.pop() {
        if !wanted[id] {
            wanted[id] = true;
            stack.extend(&plan.tasks[id].upstream);
        }
    }
    wanted
}

/// Per step, how far it is from the inputs; deeper steps run first among
/// ready tasks, so each file goes all the way through as soon as it can.
fn step_depths(pipeline: &Pipeline) -> Vec<usize> {
    let mut depth = vec![0; pipeline.steps.len()];
    for (i, step) in pipeline.steps.iter().enumerate() {
        if let Upstream::Step(up) = step.upstream {
            depth[i] = depth[up] + 1;
        }
    }
    depth
}

impl Executor for LocalTasks<'_> {
    fn run(&self, task: &Task) -> TaskResult {
        LocalTasks::run(self, task)
    }

    fn stop(&self) {
        self.children.stop_all();
    }
}

/// Runs the plan on this machine with logs under `log_dir`.
pub(crate) fn execute(
    pipeline: &Pipeline,
    plan: &Plan,
    options: &RunOptions,
    log_dir: PathBuf,
    interrupt: &AtomicBool,
) -> RunResult {
    let started = Instant::now();
    let jobs = pool_size(pipeline, options);
    let wanted = wanted_tasks(plan, &options.only);
    let depths = step_depths(pipeline);
    let schedule = Schedule {
        plan,
        wanted: &wanted,
        slots: plan
            .tasks
            .iter()
            .map(|t| pipeline.steps[t.step].threads)
            .collect(),
        priority: plan.tasks.iter().map(|t| depths[t.step]).collect(),
        jobs,
        fail_fast: options.fail_fast,
    };
    let executor = LocalTasks {
        pipeline,
        log_dir,
        children: Default::default(),
    };
    let total = wanted.iter().filter(|&&w| w).count();
    let mut progress: Box<dyn Progress> = if options.quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::new(pipeline, plan, &wanted, jobs, options.verbose))
    } else {
        Box::new(Lines::new(pipeline, total, jobs, options.verbose))
    };
    let results = scheduler::run(&schedule, &executor, progress.as_mut(), interrupt);
    progress.finish();
    RunResult {
        results,
        wall: started.elapsed(),
        started,
    }
}
