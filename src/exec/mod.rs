//! Execution of a plan: which tasks to run, on how many slots, with which
//! progress display; the scheduler and the local task runner do the work.

pub(crate) mod cgroup;
mod error;
pub(crate) mod eta;
pub(crate) mod folders;
pub(crate) mod group;
pub(crate) mod log;
pub(crate) mod process;
pub(crate) mod progress;
mod ready;
pub(crate) mod scheduler;
pub(crate) mod slurm;
pub(crate) mod task;
pub(crate) mod term;
pub(crate) mod waves;
pub(crate) mod worker;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::{Action, Pipeline, Upstream};
use crate::plan::{Plan, Task, TaskId};
use crate::state::db::{Latest, TaskRow, TaskStatus};
use crate::state::fingerprint::{self, Files};
use crate::state::{Snapshot, Verdict, Writer, paths_json};
use crate::table::{SharedTables, TableRead};
use progress::{Bars, Lines, Progress, Silent};
use scheduler::{Executor, Schedule};
use task::{LocalTasks, Outcome, TaskResult};
use worker::WorkerPool;

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
    /// `--only` and output paths: these tasks and what they need; `None` =
    /// every task.
    pub(crate) targets: Option<Vec<TaskId>>,
}

/// A finished run.
pub(crate) struct RunResult {
    /// Per task, its result (`None` = not part of this run).
    pub(crate) results: Vec<Option<TaskResult>>,
    /// Wall time.
    pub(crate) wall: Duration,
    /// How commands' processes were kept together (`None`: no command ran).
    pub(crate) isolation: Option<&'static str>,
}

/// The pool size: `-j`, else the file's `jobs`, else the cores this process may use.
pub(crate) fn pool_size(pipeline: &Pipeline, options: &RunOptions) -> usize {
    options
        .jobs
        .or(pipeline.jobs)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Which tasks take part: everything, or the tasks asked for (`--only`,
/// output paths) and every task they need (transitively).
pub(crate) fn wanted_tasks(plan: &Plan, targets: Option<&[TaskId]>) -> Vec<bool> {
    let Some(targets) = targets else {
        return vec![true; plan.tasks.len()];
    };
    let mut wanted = vec![false; plan.tasks.len()];
    let mut stack: Vec<usize> = targets.to_vec();
    while let Some(id) = stack.pop() {
        if !wanted[id] {
            wanted[id] = true;
            stack.extend(&plan.tasks[id].upstream);
        }
    }
    wanted
}

/// The tables that the tasks about to run read whole, for sharing those that
/// several of them read; with `hash`, each file hashed as it is read.
pub(crate) fn shared_tables(
    pipeline: &Pipeline,
    plan: &Plan,
    wanted: &[bool],
    up_to_date: &[bool],
    hash: bool,
) -> SharedTables {
    let reads = plan
        .tasks
        .iter()
        .filter(|t| wanted[t.id] && !up_to_date[t.id])
        .flat_map(|t| table_reads(pipeline, t));
    SharedTables::new(&pipeline.root, reads, hash)
}

/// The tables a task reads (a built-in step's or a plot's; a process reads
/// its files itself), their paths absolute.
pub(crate) fn table_reads(pipeline: &Pipeline, task: &Task) -> Vec<TableRead> {
    let inputs = || {
        task.inputs
            .iter()
            .map(|i| pipeline.root.join(i))
            .collect::<Vec<_>>()
    };
    match &pipeline.steps[task.step].action {
        Action::Builtin(builtin) => {
            crate::steps::table_reads(&builtin.name, &builtin.options, &inputs())
        }
        Action::Plot(spec) => crate::plot::table_reads(spec, &inputs()),
        Action::Run(_) | Action::Shell(_) | Action::Call(_) => Vec::new(),
    }
}

/// Per task: its position within its step, in groups of `jobs`. Among ready
/// tasks of equal depth, the scheduler takes the lowest group first, and in
/// a group, the lowest id: with `jobs = 2`, `stats` of files 1 and 2, then
/// the plots of files 1 and 2, then `stats` of files 3 and 4... So the tasks
/// of one input run close together and share its parsed table
/// (`table::SharedTables`), and yet the pool's workers seldom read the same
/// file at the same time (the second would wait for the first).
fn input_groups(tasks: usize, step_tasks: &[Vec<TaskId>], jobs: usize) -> Vec<usize> {
    let mut group = vec![0; tasks];
    for ids in step_tasks {
        for (i, &id) in ids.iter().enumerate() {
            group[id] = i / jobs.max(1);
        }
    }
    group
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

/// How to schedule the wanted tasks that are not up to date on `jobs` slots.
pub(crate) fn schedule<'a>(
    pipeline: &Pipeline,
    plan: &'a Plan,
    wanted: &'a [bool],
    up_to_date: &'a [bool],
    jobs: usize,
    fail_fast: bool,
) -> Schedule<'a> {
    let depths = step_depths(pipeline);
    Schedule {
        plan,
        wanted,
        up_to_date,
        slots: plan
            .tasks
            .iter()
            .map(|t| pipeline.steps[t.step].threads)
            .collect(),
        priority: plan.tasks.iter().map(|t| depths[t.step]).collect(),
        order: input_groups(plan.tasks.len(), &plan.step_tasks, jobs),
        jobs,
        fail_fast,
        partial: plan
            .tasks
            .iter()
            .map(|t| pipeline.steps[t.step].partial)
            .collect(),
    }
}

impl Executor for LocalTasks<'_> {
    fn run(&self, task: &Task, failed: &[TaskId], lane: usize) -> TaskResult {
        LocalTasks::run(self, task, failed, lane)
    }

    fn line(&self, task: &Task) -> Option<usize> {
        self.workers.kind_of(task.step)
    }

    fn stop(&self) {
        // Built-ins and plots run in this process: they see the flag.
        self.cancel.cancel();
        self.children.stop_all();
        self.workers.stop();
    }
}

/// What the state knows, for the run.
pub(crate) struct StateView<'a> {
    /// Per task: up to date, or why it runs.
    pub(crate) verdicts: &'a [Option<Verdict>],
    /// File hashes and last results.
    pub(crate) snapshot: &'a Snapshot,
    /// Where results are committed as they come.
    pub(crate) writer: &'a Writer,
    /// Whether to fingerprint and record tasks at all.
    pub(crate) record: bool,
    /// Per step: the median task time of earlier runs, for the estimate of
    /// the time left.
    pub(crate) earlier_times: &'a [Option<Duration>],
}

/// Where a run's tasks go.
pub(crate) enum Site<'a> {
    /// This machine's pool.
    Local,
    /// SLURM job arrays (steps with `executor = "local"` stay here).
    Slurm(slurm::Cluster<'a>),
}

/// Where this run's tasks leave their traces.
pub(crate) struct Traces {
    /// This run's log folder (absolute).
    pub(crate) log_dir: PathBuf,
    /// Names this run among all runs of the pipeline, in temporary output
    /// names (`12.a3f0`: run 12, and random characters, as ids start again
    /// when the state is deleted; `n4321`: a `--no-state` run of pid 4321).
    pub(crate) run_tag: String,
}

/// Runs the wanted tasks that are not up to date, here or on SLURM, with
/// logs under `traces.log_dir`; `stop` is polled to end the run early.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    pipeline: &Pipeline,
    plan: &Plan,
    options: &RunOptions,
    wanted: &[bool],
    state: StateView<'_>,
    traces: Traces,
    site: Site<'_>,
    stop: &dyn Fn() -> bool,
) -> RunResult {
    let started = Instant::now();
    let jobs = pool_size(pipeline, options);
    let up_to_date: Vec<bool> = state
        .verdicts
        .iter()
        .map(|v| matches!(v, Some(Verdict::UpToDate)))
        .collect();
    let schedule = schedule(pipeline, plan, wanted, &up_to_date, jobs, options.fail_fast);
    // On SLURM, only the local steps' tables are read in this process.
    let here: Vec<bool> = match &site {
        Site::Local => wanted.to_vec(),
        Site::Slurm(_) => (0..plan.tasks.len())
            .map(|id| wanted[id] && !slurm::on_cluster(pipeline, plan, id))
            .collect(),
    };
    // Per step, its tasks that will run: a kind of worker whose steps have
    // none left stops its workers at once.
    let mut to_run = vec![0; pipeline.steps.len()];
    for task in &plan.tasks {
        if wanted[task.id] && !up_to_date[task.id] {
            to_run[task.step] += 1;
        }
    }
    // How commands' and workers' processes are kept together; found at the
    // first of them (a run with nothing to do makes no cgroup).
    let isolation = std::sync::OnceLock::new();
    let workers = WorkerPool::new(
        pipeline,
        &to_run,
        traces.log_dir.join("workers"),
        state.writer,
        &isolation,
    );
    let executor = LocalTasks {
        pipeline,
        plan,
        log_dir: traces.log_dir,
        run_tag: traces.run_tag,
        isolation: &isolation,
        registry: state.writer,
        children: Default::default(),
        workers: &workers,
        cancel: Default::default(),
        folders: folders::OutputFolders::new(pipeline),
        fingerprints: task::FingerprintInputs {
            latest: &state.snapshot.latest,
            verdicts: state.verdicts,
            step_deps: pipeline
                .steps
                .iter()
                .map(|s| fingerprint::StepDeps::new(pipeline, s))
                .collect(),
            files: Files::new(&pipeline.root, &state.snapshot.files),
            record: state.record,
        },
        tables: shared_tables(pipeline, plan, &here, &up_to_date, state.record),
    };
    let total = wanted.iter().filter(|&&w| w).count();
    let to_run: Vec<bool> = wanted
        .iter()
        .zip(&up_to_date)
        .map(|(&w, &u)| w && !u)
        .collect();
    // How many tasks run at once: the pool here; on SLURM, `max_array`
    // elements of `cpus_per_task` slots (all of them, without a limit).
    let (shown, parallel) = match &site {
        Site::Local => (progress::RunsOn::Jobs(jobs), jobs),
        Site::Slurm(cluster) => (
            progress::RunsOn::Slurm,
            cluster.settings.max_array.map_or(total.max(1), |m| {
                m * cluster.settings.cpus_per_task.unwrap_or(1).max(1)
            }),
        ),
    };
    let eta = eta::Estimator::new(pipeline, plan, &to_run, state.earlier_times, parallel);
    let display: Box<dyn Progress + Send> = if options.quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::new(
            pipeline,
            plan,
            wanted,
            &shown,
            options.verbose,
            eta,
        ))
    } else {
        Box::new(Lines::new(
            pipeline,
            plan,
            total,
            &shown,
            options.verbose,
            eta,
        ))
    };
    let mut progress = Tee {
        display,
        recorder: Recorder {
            pipeline,
            plan,
            writer: state.writer,
        },
        workers: &workers,
    };
    let results = match site {
        Site::Local => scheduler::run(&schedule, &executor, &mut progress, stop),
        Site::Slurm(cluster) => std::thread::scope(|scope| {
            // Local steps, and partial steps (run here over what their
            // upstream tasks left), need the coordinator's own threads.
            let local_steps = pipeline
                .steps
                .iter()
                .any(|s| s.placement.local || s.partial);
            let lane =
                slurm::LocalLane::start(scope, if local_steps { jobs } else { 0 }, &executor, plan);
            let mut slurm =
                slurm::SlurmExecutor::new(pipeline, plan, state.verdicts, cluster, &executor, lane);
            let results = waves::run(&schedule, &mut slurm, &mut progress, stop);
            slurm.finish();
            results
        }),
    };
    // No task runs any more: no worker stays behind (issue 9).
    workers.shutdown();
    progress.display.finish();
    RunResult {
        results,
        wall: started.elapsed(),
        isolation: executor.isolation.get().map(group::Isolation::name),
    }
}

/// Sends every event to the display and to the state.
struct Tee<'a> {
    display: Box<dyn Progress + Send + 'a>,
    recorder: Recorder<'a>,
    workers: &'a WorkerPool<'a>,
}

impl Progress for Tee<'_> {
    fn task_started(&mut self, task: &Task) {
        self.display.task_started(task);
    }

    fn task_finished(&mut self, task: &Task, result: &TaskResult) {
        self.display.task_finished(task, result);
        self.recorder.task_finished(task, result);
        if !matches!(result.outcome, Outcome::UpToDate) {
            self.workers.settled(task.step);
        }
    }

    fn tick(&mut self) {
        self.display.tick();
    }

    fn stopping(&mut self, stopping: progress::Stopping) {
        self.display.stopping(stopping);
    }
}

/// Commits each finished task to the state as it comes.
struct Recorder<'a> {
    pipeline: &'a Pipeline,
    plan: &'a Plan,
    writer: &'a Writer,
}

impl Recorder<'_> {
    fn task_finished(&mut self, task: &Task, result: &TaskResult) {
        let (status, exit_code, reason, tail) = match &result.outcome {
            Outcome::UpToDate => return,
            Outcome::Succeeded => (TaskStatus::Ok, None, None, None),
            Outcome::Failed(f) => (
                if f.interrupted {
                    TaskStatus::Interrupted
                } else {
                    TaskStatus::Failed
                },
                f.exit_code,
                Some(f.reason.clone()),
                Some(f.stderr_tail.join("\n")),
            ),
            Outcome::SkippedUpstream(cause) => (
                TaskStatus::Skipped,
                None,
                Some(skip_reason(self.pipeline, self.plan, *cause)),
                None,
            ),
            Outcome::NotRun => (TaskStatus::NotRun, None, None, None),
        };
        // A partial task that ran without some upstream tasks says so.
        let reason = reason.or_else(|| {
            result
                .narrowed
                .as_ref()
                .map(|n| partial_note(self.pipeline, self.plan, &n.failed))
        });
        let inputs = match &result.narrowed {
            Some(n) => &n.inputs,
            None => &task.inputs,
        };
        let latest = result.record.as_ref().map(|r| Latest {
            fingerprint: r.fingerprint.fingerprint.to_hex().to_string(),
            action: r.fingerprint.action.to_hex().to_string(),
            inputs: r.inputs.clone(),
            outputs: r.outputs.clone(),
            found_deps: r.found_deps.clone(),
        });
        let row = TaskRow {
            step: self.pipeline.steps[task.step].name.clone(),
            key: task.key.clone(),
            status,
            exit_code,
            reason,
            inputs_json: paths_json(inputs),
            fingerprint: result.fingerprint.map(|h| h.to_hex().to_string()),
            outputs_json: paths_json(&task.outputs),
            started_at: result
                .started_at
                .map(|t| humantime::format_rfc3339_millis(t).to_string()),
            duration_ms: result.duration.as_millis() as i64,
            attempts: result.attempts,
            stderr_tail: tail,
            log_path: result.stderr_log.as_ref().map(|p| p.display().to_string()),
            peak_memory: result.peak_memory,
            slot: result.slot,
            latest,
        };
        self.writer.task(row, result.new_hashes.clone());
    }
}

/// `step/key`: how a task is named in messages and the state's `reason`.
pub(crate) fn task_name(pipeline: &Pipeline, task: &Task) -> String {
    format!("{}/{}", pipeline.steps[task.step].name, task.key)
}

/// Why a task was skipped: `stats/sub1/st1_05 failed` (the first failure
/// upstream of it).
pub(crate) fn skip_reason(pipeline: &Pipeline, plan: &Plan, cause: TaskId) -> String {
    format!("{} failed", task_name(pipeline, &plan.tasks[cause]))
}

/// What a partial task ran without: `without stats/x, stats/y (failed)`.
pub(crate) fn partial_note(pipeline: &Pipeline, plan: &Plan, failed: &[TaskId]) -> String {
    let names: Vec<String> = failed
        .iter()
        .map(|&id| task_name(pipeline, &plan.tasks[id]))
        .collect();
    format!("partial: without {} (failed)", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_groups_pair_the_steps_of_each_input() {
        // Two steps of four tasks each (ids 0-3 and 4-7), two jobs.
        let steps = vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]];
        assert_eq!(input_groups(8, &steps, 2), vec![0, 0, 1, 1, 0, 0, 1, 1]);
        assert_eq!(input_groups(8, &steps, 1), vec![0, 1, 2, 3, 0, 1, 2, 3]);
    }
}
