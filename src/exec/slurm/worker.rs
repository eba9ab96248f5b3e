//! `runner worker ARRAY_DIR`: what one array element runs. It reads the
//! array's manifest and its own list of tasks (never globbing or planning),
//! parses the pipeline file's text the coordinator saved, runs the tasks on
//! the element's CPUs (`SLURM_CPUS_PER_TASK`) with the same local task runner
//! and scheduler as a local run, and writes one result file per task as it
//! ends, then `done`. It never opens the state database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rustc_hash::FxHashMap;

use crate::config::Pipeline;
use crate::error::{EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, Error};
use crate::exec::folders::OutputFolders;
use crate::exec::group::Isolation;
use crate::exec::progress::{Progress, timestamp};
use crate::exec::scheduler::{self, Executor};
use crate::exec::slurm::SlurmError;
use crate::exec::task::{self, LocalTasks, Outcome, TaskResult};
use crate::exec::worker::WorkerPool;
use crate::exec::{schedule, shared_tables};
use crate::plan::{Plan, Task};
use crate::state::db::{Last, TaskStatus, task_id};
use crate::state::fingerprint::{Files, Reason, StepDeps};
use crate::state::{Verdict, Writer};

use super::element::{
    ArrayDir, ArrayManifest, FORMAT, ResultFile, TaskSpec, read_json, write_json,
};

/// Runs element `element` (else `$SLURM_ARRAY_TASK_ID`) of the array in
/// `array_dir`; returns the exit code.
pub(crate) fn run(array_dir: &Path, element: Option<usize>) -> Result<i32, Error> {
    let element = match element {
        Some(e) => e,
        None => std::env::var("SLURM_ARRAY_TASK_ID")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or(SlurmError::NoElement)?,
    };
    let dir = ArrayDir(array_dir.to_owned());
    let manifest: ArrayManifest = read("the array's manifest", dir.manifest())?;
    if manifest.format != FORMAT {
        return Err(SlurmError::Format {
            dir: dir.0.clone(),
            found: manifest.format,
        }
        .into());
    }
    let specs: Vec<TaskSpec> = read("the element's task list", dir.tasks(element))?;
    let mut pipeline = crate::config::from_bytes(
        Path::new(&manifest.pipeline_path.0),
        manifest.pipeline_text.clone().into_bytes(),
    )?;
    // The coordinator's `[vars]`, `--set` included: calls are given them.
    if let Some(text) = &manifest.vars {
        let vars: toml::Table = toml::from_str(text).map_err(SlurmError::Vars)?;
        pipeline.replace_vars(vars);
    }
    let tasks = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| spec.to_task(i, &pipeline))
        .collect::<Result<Vec<Task>, SlurmError>>()?;
    let plan = element_plan(&pipeline, tasks);
    let verdicts: Vec<Option<Verdict>> = specs
        .iter()
        .map(|s| {
            let fp = s.fingerprint.as_ref().and_then(|f| f.to_fingerprint());
            Some(Verdict::Run(Reason::New, fp.map(Box::new)))
        })
        .collect();
    // What a task depends on beyond its inputs, found as a local run finds
    // it (the step's `deps`, the files its command names).
    let step_deps = pipeline
        .steps
        .iter()
        .map(|s| StepDeps::new(&pipeline, s))
        .collect();
    // A call step's files its worker loaded last time, which the task
    // runner reads from the last results (nothing else of them is read).
    let latest = last_found_deps(&specs);
    let jobs = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let wanted = vec![true; plan.tasks.len()];
    let none_done = vec![false; plan.tasks.len()];
    let cache = FxHashMap::default();
    // No state here: nothing registers the tasks' processes (SLURM keeps
    // track of an element's processes and ends them with it), and they are
    // kept together by process groups, inside whatever SLURM gives the
    // element. Temporary outputs are named after the array and the element.
    let registry = Writer::disabled();
    let isolation = std::sync::OnceLock::from(Isolation::ProcessGroups);
    let log_dir: PathBuf = manifest.log_dir.0.clone().into();
    let run_tag = format!("{}e{element}", manifest.tag);
    // `python` / `worker` steps: at most one worker per CPU of the element,
    // their logs apart from other elements'.
    let mut to_run = vec![0; pipeline.steps.len()];
    for task in &plan.tasks {
        to_run[task.step] += 1;
    }
    let workers = WorkerPool::new(
        &pipeline,
        &to_run,
        log_dir.join("workers").join(&run_tag),
        &registry,
        &isolation,
    );
    let local = LocalTasks {
        pipeline: &pipeline,
        plan: &plan,
        log_dir,
        run_tag,
        isolation: &isolation,
        registry: &registry,
        children: Default::default(),
        workers: &workers,
        cancel: Default::default(),
        folders: OutputFolders::new(&pipeline),
        fingerprints: task::FingerprintInputs {
            latest: &latest,
            verdicts: &verdicts,
            step_deps,
            files: Files::new(&pipeline.root, &cache),
            record: true,
        },
        tables: shared_tables(&pipeline, &plan, &wanted, &none_done, true),
    };
    let schedule = schedule(&pipeline, &plan, &wanted, &none_done, jobs, false);

    // SLURM sends SIGTERM at the time limit and on `scancel`, to every
    // process of the element: a thread stops the tasks at once (no task
    // starts after it), and the failures that follow are not written (the
    // coordinator reports the element's end instead).
    let signal = AtomicUsize::new(0);
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(SlurmError::Signals)?;
    let signals_handle = signals.handle();
    let started = Instant::now();
    eprintln!(
        "{} runner worker: element {element} of `{}`: {} task{} on {jobs} CPU{}",
        timestamp(),
        dir.0.display(),
        specs.len(),
        if specs.len() == 1 { "" } else { "s" },
        if jobs == 1 { "" } else { "s" }
    );
    let mut results = ResultFiles {
        pipeline: &pipeline,
        dir: &dir,
        element,
        specs: &specs,
        signal: &signal,
        workers: &workers,
        ok: 0,
        failed: 0,
    };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            if let Some(sig) = signals.forever().next() {
                let code = if sig == signal_hook::consts::SIGINT {
                    EXIT_SIGINT
                } else {
                    EXIT_SIGTERM
                };
                signal.store(code as usize, Ordering::SeqCst);
                Executor::stop(&local);
            }
        });
        let stop = || signal.load(Ordering::SeqCst) != 0;
        scheduler::run(&schedule, &local, &mut results, &stop);
        workers.shutdown();
        signals_handle.close();
    });
    let code = match signal.load(Ordering::SeqCst) {
        0 => EXIT_OK,
        code => code as i32,
    };
    eprintln!(
        "{} runner worker: element {element}: {} ok, {} failed in {:.1}s{}",
        timestamp(),
        results.ok,
        results.failed,
        started.elapsed().as_secs_f64(),
        if code == EXIT_OK {
            ""
        } else {
            " (stopped by a signal)"
        }
    );
    if code == EXIT_OK {
        let path = dir.done(element);
        std::fs::write(&path, b"").map_err(|source| SlurmError::Done { path, source })?;
    }
    Ok(code)
}

/// A JSON file of the array, or which one could not be read.
fn read<T: serde::de::DeserializeOwned>(
    what: &'static str,
    path: PathBuf,
) -> Result<T, SlurmError> {
    read_json(&path).map_err(|source| SlurmError::Read { what, path, source })
}

/// Per call task of the list, the files its worker loaded last time, as
/// the task runner looks them up among the last results (by step and key).
fn last_found_deps(specs: &[TaskSpec]) -> FxHashMap<u128, Last> {
    specs
        .iter()
        .filter_map(|spec| {
            let found: Arc<[PathBuf]> =
                spec.found_deps.as_ref()?.iter().map(|p| p.path()).collect();
            let unused = blake3::Hash::from_bytes([0; 32]);
            let last = Last {
                status: TaskStatus::Ok,
                fingerprint: unused,
                action: unused,
                inputs: None,
                outputs: String::new(),
                failure: None,
                found_deps: Some(found),
            };
            Some((task_id(&spec.step, &spec.key), last))
        })
        .collect()
}

/// The element's tasks as a plan without edges (they were all ready when
/// the wave went out).
fn element_plan(pipeline: &Pipeline, tasks: Vec<Task>) -> Plan {
    let mut step_tasks = vec![Vec::new(); pipeline.steps.len()];
    for task in &tasks {
        step_tasks[task.step].push(task.id);
    }
    Plan {
        tasks,
        step_tasks,
        input_files: Vec::new(),
    }
}

/// Writes each task's result file as it ends, and a line to the element's log.
struct ResultFiles<'a> {
    pipeline: &'a Pipeline,
    dir: &'a ArrayDir,
    element: usize,
    specs: &'a [TaskSpec],
    /// Set by SIGTERM / SIGINT: a task that fails after it was most likely
    /// failed by the signal (SLURM signals every process of the element),
    /// so no result is written for it; the coordinator reports the
    /// element's end instead. A success is still a success.
    signal: &'a AtomicUsize,
    /// The element's `python` / `worker` processes.
    workers: &'a WorkerPool<'a>,
    ok: usize,
    failed: usize,
}

/// How long a task killed by a signal waits for its element's own signal.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

impl ResultFiles<'_> {
    /// Whether the element was signalled. SLURM signals every process of a
    /// cancelled or failed element in no set order (its node went down, its
    /// time ran out), so a task killed by a signal may end before this
    /// runner gets its own: it waits a moment for it before taking the
    /// task's death as the task's own failure.
    fn signalled(&self, result: &TaskResult) -> bool {
        let now = || self.signal.load(Ordering::SeqCst) != 0;
        if now() {
            return true;
        }
        let killed = matches!(&result.outcome, Outcome::Failed(f) if f.signal.is_some());
        if !killed {
            return false;
        }
        let until = std::time::Instant::now() + SIGNAL_GRACE;
        while std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
            if now() {
                return true;
            }
        }
        false
    }
}

impl Progress for ResultFiles<'_> {
    fn task_started(&mut self, _: &Task) {}

    fn task_finished(&mut self, task: &Task, result: &TaskResult) {
        self.workers.settled(task.step);
        let spec = &self.specs[task.id];
        let signalled = self.signalled(result);
        let status = match &result.outcome {
            Outcome::Succeeded => {
                self.ok += 1;
                "ok".to_owned()
            }
            Outcome::Failed(f) if !f.interrupted && !signalled => {
                self.failed += 1;
                format!("FAILED ({})", f.reason)
            }
            _ => return,
        };
        eprintln!(
            "{} {status}: {} {} ({:.2}s)",
            timestamp(),
            self.pipeline.steps[task.step].name,
            task.key,
            result.duration.as_secs_f64()
        );
        if let Some(file) = ResultFile::of(spec, result)
            && let Err(e) = write_json(&self.dir.result(self.element, task.id), &file)
        {
            // The coordinator fails the task with the element's log.
            eprintln!(
                "runner worker: cannot write the result of {} {}: {e}",
                spec.step, spec.key
            );
        }
    }
}
