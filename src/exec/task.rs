//! Running one task where it stands: output folders, stale temporary files,
//! the action itself (command, built-in or plot) with retries, captured logs,
//! and the atomic rename of every output into place.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustc_hash::FxHashMap;

use crate::config::{Action, Fanout, Pipeline, Step, WorkerProgram};
use crate::exec::error::TaskError;
use crate::exec::group::{Group, Isolation};
use crate::exec::process::{self, Children, Exit, Log, Ran, RunError, Spawn, StdoutTo};
use crate::exec::worker::{self, Call, CallOutcome, Called, FoundDeps, WorkerPool};
use crate::plan::{
    CallCommand, Command, Plan, Task, TaskId, display_path, exec_command, narrowed, temp_path,
};
use crate::state::Verdict;
use crate::state::db::{self, Last};
use crate::state::fingerprint::{self, Files, Fingerprint, NewHash, Reason};
use crate::state::{Registration, Writer};
use crate::table::{ReadFrom, SharedTables, TableRead, TaskTables};
use std::sync::Arc;

/// Lines of stderr kept for the summary.
pub(crate) const TAIL_LINES: usize = 20;

/// How a task ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Ran and wrote every output.
    Succeeded,
    /// Ran and failed.
    Failed(Failure),
    /// Its fingerprint matched the last successful run.
    UpToDate,
    /// Not run because a task it needs failed: the failed task (the first
    /// cause, when a chain of tasks is skipped).
    SkippedUpstream(TaskId),
    /// Not run because the run stopped early (`--fail-fast`, interrupt).
    NotRun,
}

/// Why a task failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// What happened, in one line.
    pub(crate) reason: String,
    /// The exit code, when the command exited.
    pub(crate) exit_code: Option<i32>,
    /// The signal that killed its process (or its worker), when one did
    /// and it was not runner's.
    pub(crate) signal: Option<i32>,
    /// The last lines of its stderr.
    pub(crate) stderr_tail: Vec<String>,
    /// Whether it was interrupted (not its own fault).
    pub(crate) interrupted: bool,
    /// Every task of its step fails this way (its worker could not start):
    /// reported once for the step, not once per task.
    pub(crate) step_wide: bool,
}

/// What the state remembers of a successful task, taken by the worker.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// Its fingerprint, taken before it ran.
    pub(crate) fingerprint: Box<Fingerprint>,
    /// `HASH  PATH` lines of its inputs and deps, as they were read.
    pub(crate) inputs: String,
    /// `HASH  PATH` lines of its outputs after it ran.
    pub(crate) outputs: String,
    /// Files under root its worker loaded code from, one per line.
    pub(crate) found_deps: Option<String>,
}

/// A finished task.
#[derive(Debug, Clone)]
pub(crate) struct TaskResult {
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// When it started.
    pub(crate) started_at: Option<SystemTime>,
    /// For the state: set when it succeeded.
    pub(crate) record: Option<Record>,
    /// Files hashed on the way, for the state's cache.
    pub(crate) new_hashes: Vec<NewHash>,
    /// Time spent, all attempts.
    pub(crate) duration: Duration,
    /// Attempts made (0 if not run).
    pub(crate) attempts: u32,
    /// Full stderr log, when there was any.
    pub(crate) stderr_log: Option<PathBuf>,
    /// Full stdout log, when there was any.
    pub(crate) stdout_log: Option<PathBuf>,
    /// The most memory its commands used, in bytes (largest attempt).
    pub(crate) peak_memory: Option<u64>,
    /// The fingerprint it ran with (also when it failed: a failure with the
    /// same fingerprint and error as last time is not news).
    pub(crate) fingerprint: Option<blake3::Hash>,
    /// A partial task that ran without some upstream tasks: what it ran over.
    pub(crate) narrowed: Option<Narrowed>,
    /// The pool slot it ran in (the lowest of those it took).
    pub(crate) slot: Option<usize>,
}

/// What a partial task ran over when some upstream tasks failed.
#[derive(Debug, Clone)]
pub(crate) struct Narrowed {
    /// The outputs of the upstream tasks that succeeded.
    pub(crate) inputs: Arc<[PathBuf]>,
    /// The upstream tasks that did not (`failed` in templates: their keys).
    pub(crate) failed: Vec<TaskId>,
}

impl TaskResult {
    /// A result for a task that did not run.
    pub(crate) fn not_run(outcome: Outcome) -> TaskResult {
        TaskResult {
            outcome,
            started_at: None,
            record: None,
            new_hashes: Vec::new(),
            duration: Duration::ZERO,
            attempts: 0,
            stderr_log: None,
            stdout_log: None,
            fingerprint: None,
            narrowed: None,
            peak_memory: None,
            slot: None,
        }
    }

    /// The result of a task whose run panicked: a bug, but it must not
    /// hang or end the run, so the task fails with the bug's message.
    pub(crate) fn panicked() -> TaskResult {
        TaskResult::not_run(Outcome::Failed(Failure {
            reason: crate::error::Internal::new("running this task panicked").to_string(),
            exit_code: None,
            signal: None,
            stderr_tail: Vec::new(),
            interrupted: false,
            step_wide: false,
        }))
    }
}

/// Runs tasks on this machine.
pub(crate) struct LocalTasks<'a> {
    /// The pipeline the tasks come from.
    pub(crate) pipeline: &'a Pipeline,
    /// Its plan (a partial task reads its upstream tasks' outputs and keys).
    pub(crate) plan: &'a Plan,
    /// Where this run's logs go (absolute).
    pub(crate) log_dir: PathBuf,
    /// This run's part of temporary output names (see `exec::Traces`).
    pub(crate) run_tag: String,
    /// How commands' processes are kept together; found at the first
    /// command (a run with nothing to do makes no cgroup).
    pub(crate) isolation: &'a std::sync::OnceLock<Isolation>,
    /// Where attempts register what they may leave behind.
    pub(crate) registry: &'a Writer,
    /// Running process groups.
    pub(crate) children: Children,
    /// The worker processes of `python` and `worker` steps.
    pub(crate) workers: &'a WorkerPool<'a>,
    /// Fingerprints taken before the run, and file hashes known.
    pub(crate) fingerprints: FingerprintInputs<'a>,
    /// Tables that more than one task of the run reads.
    pub(crate) tables: SharedTables,
    /// Raised by `stop`: built-in steps and plots check it.
    pub(crate) cancel: crate::cancel::Cancel,
    /// Where outputs may land, as links resolve.
    pub(crate) folders: crate::exec::folders::OutputFolders,
}

/// What a worker needs to fingerprint a task.
pub(crate) struct FingerprintInputs<'a> {
    /// Every task's last result (for the files its worker loaded, and to
    /// check a partial task again once its upstream tasks are done).
    pub(crate) latest: &'a FxHashMap<u128, Last>,
    /// Per task: the verdict (with a fingerprint when one was taken).
    pub(crate) verdicts: &'a [Option<Verdict>],
    /// Per step: what its tasks depend on beyond their inputs.
    pub(crate) step_deps: Vec<fingerprint::StepDeps>,
    /// Content hashes known from earlier runs.
    pub(crate) files: Files<'a>,
    /// Fingerprint and record tasks (off with `--no-state`).
    pub(crate) record: bool,
}

impl LocalTasks<'_> {
    /// Runs a task in `lane` (the pool slot of the caller: a call step's
    /// task may wait there for the worker of the task running in it); a
    /// partial one over the outputs of its upstream tasks that succeeded
    /// (`failed`: the others), after checking again whether it is up to
    /// date now that they are done.
    pub(crate) fn run(&self, task: &Task, failed: &[TaskId], lane: usize) -> TaskResult {
        if task.failed.is_none() {
            return self.run_task(task, None, lane);
        }
        let mut failed = failed.to_vec();
        failed.sort_unstable();
        let inputs: Arc<[PathBuf]> = task
            .upstream
            .iter()
            .filter(|u| failed.binary_search(u).is_err())
            .flat_map(|&u| self.plan.tasks[u].outputs.iter().cloned())
            .collect();
        let mut keys: Vec<String> = failed
            .iter()
            .map(|&u| self.plan.tasks[u].key.clone())
            .collect();
        keys.sort();
        let narrowed_task = match narrowed(self.pipeline, task, inputs.clone(), keys.into()) {
            Ok(t) => t,
            Err(err) => {
                return TaskResult {
                    outcome: Outcome::Failed(TaskError::Narrow(err).into()),
                    ..TaskResult::not_run(Outcome::NotRun)
                };
            }
        };
        let narrowing = (!failed.is_empty()).then_some(Narrowed { inputs, failed });
        // Its upstream tasks ran, so it was not checked before the run; it
        // runs only if its inputs or the failed set changed.
        let precomputed = match &self.fingerprints.verdicts[task.id] {
            Some(Verdict::Run(Reason::UpstreamRuns(_), _)) if self.fingerprints.record => {
                match self.still_up_to_date(&narrowed_task) {
                    Ok(result) => return result,
                    Err(fp) => fp,
                }
            }
            // Taken before the run, when nothing upstream was to run (so
            // nothing failed): still right.
            Some(Verdict::Run(_, Some(fp))) if narrowing.is_none() => Some(fp.clone()),
            _ => None,
        };
        let mut result = self.run_task(&narrowed_task, Some(precomputed), lane);
        result.narrowed = narrowing;
        result
    }

    /// The deps of a task's fingerprint: `base` (its step's and those its
    /// command names), and for a call step the files its worker loaded
    /// last time.
    fn task_deps<'b>(&self, task: &Task, base: &'b [PathBuf]) -> std::borrow::Cow<'b, [PathBuf]> {
        let step = &self.pipeline.steps[task.step];
        match &step.action {
            Action::Call(_) if self.fingerprints.record => {
                let last = self
                    .fingerprints
                    .latest
                    .get(&db::task_id(&step.name, &task.key));
                fingerprint::task_deps(base, last.and_then(|l| l.found_deps.as_deref()))
            }
            _ => std::borrow::Cow::Borrowed(base),
        }
    }

    /// For a partial task whose upstream tasks ran: an up-to-date result if
    /// its fingerprint (with the set of failed upstream tasks) and outputs
    /// are those of its last success; else its fingerprint, for the run.
    fn still_up_to_date(&self, task: &Task) -> Result<TaskResult, Option<Box<Fingerprint>>> {
        let step = &self.pipeline.steps[task.step];
        let base = self.fingerprints.step_deps[task.step].of_task(task);
        let deps = &self.task_deps(task, &base);
        let Ok(mut fp) =
            fingerprint::fingerprint(self.pipeline, task, &base, deps, &self.fingerprints.files)
        else {
            return Err(None);
        };
        let mut hashes = std::mem::take(&mut fp.new_hashes);
        let latest = self
            .fingerprints
            .latest
            .get(&db::task_id(&step.name, &task.key));
        match fingerprint::compare(
            task,
            deps,
            &fp,
            latest,
            &self.fingerprints.files,
            &mut hashes,
        ) {
            Ok(()) => Ok(TaskResult {
                new_hashes: hashes,
                ..TaskResult::not_run(Outcome::UpToDate)
            }),
            Err(_) => {
                fp.new_hashes = hashes;
                Err(Some(Box::new(fp)))
            }
        }
    }

    /// Runs a task with its retries; never panics on bad input. With
    /// `precomputed`, the fingerprint given (or to take now, if `None`)
    /// instead of the one the check before the run took.
    fn run_task(
        &self,
        task: &Task,
        precomputed: Option<Option<Box<Fingerprint>>>,
        lane: usize,
    ) -> TaskResult {
        let mut started = Instant::now();
        let mut started_at = SystemTime::now();
        let step = &self.pipeline.steps[task.step];
        if let Some(message) = &task.invalid {
            return TaskResult {
                outcome: Outcome::Failed(Failure {
                    reason: message.clone(),
                    exit_code: None,
                    signal: None,
                    stderr_tail: Vec::new(),
                    interrupted: false,
                    step_wide: false,
                }),
                ..TaskResult::not_run(Outcome::NotRun)
            };
        }
        // The fingerprint is of the inputs as the task reads them: taken
        // before it runs (now, if the check before the run could not).
        let mut new_hashes = Vec::new();
        // Its deps: those of its step and those its command names (issue
        // 10, item 1), with the files its worker loaded last time (issue 9);
        // the ones found when its fingerprint was taken, if it was taken
        // before (by the check before the run, or for a partial task).
        let taken = match precomputed {
            Some(given) => given,
            None => match &self.fingerprints.verdicts[task.id] {
                Some(Verdict::Run(_, Some(fp))) => Some(fp.clone()),
                _ => None,
            },
        };
        let base = match &taken {
            Some(fp) => fp.base_deps.clone(),
            None if self.fingerprints.record => {
                self.fingerprints.step_deps[task.step].of_task(task)
            }
            None => Vec::new(),
        };
        let deps = self.task_deps(task, &base);
        // Inputs read as tables are hashed as they are read: each file is
        // read once, and the record names the bytes the result came from.
        let as_read = match &taken {
            None if self.fingerprints.record => self.hashed_as_read(task),
            _ => Vec::new(),
        };
        let fingerprint = match taken {
            _ if !self.fingerprints.record => None,
            Some(mut fp) => {
                new_hashes.append(&mut fp.new_hashes);
                Some(fp)
            }
            None => fingerprint::fingerprint_but(
                self.pipeline,
                task,
                &base,
                &deps,
                &self.fingerprints.files,
                &as_read,
            )
            .ok()
            .map(|mut fp| {
                new_hashes.append(&mut fp.new_hashes);
                Box::new(fp)
            }),
        };
        let mut read_from = Vec::new();
        let root = &self.pipeline.root;
        let (out_path, err_path) = log_paths(&self.log_dir, &step.name, &task.key);
        let mut logs = Logs {
            stdout: Log::new(out_path),
            stderr: Log::new(err_path),
        };
        let mut attempts = 0;
        let mut peak_memory = None;
        let mut found = None;
        let outcome = loop {
            attempts += 1;
            if attempts > 1 {
                logs.stdout.mark(format!("[runner] attempt {attempts}"));
                logs.stderr.mark(format!("[runner] attempt {attempts}"));
            }
            // Each attempt writes temporary outputs of its own, registered
            // (with its processes, once they run) until it ends.
            let tag = format!("{}-{attempts}", self.run_tag);
            let temps: Vec<PathBuf> = task.outputs.iter().map(|o| temp_path(o, &tag)).collect();
            let slot = self.registry.register(Registration {
                owner: format!("task {} {} (attempt {attempts})", step.name, task.key),
                temps: temps.iter().map(|t| root.join(t)).collect(),
                cgroup: None,
            });
            let attempt = Attempt {
                task,
                step,
                temps: &temps,
                slot,
                lane,
            };
            let mut began = None;
            read_from.clear();
            let result = self.attempt(
                &attempt,
                &mut logs,
                &mut peak_memory,
                &mut began,
                &mut read_from,
            );
            // A first call that waited behind another task's: the task's
            // time counts from when its call began.
            if let (1, Some((instant, at))) = (attempts, began) {
                (started, started_at) = (instant, at);
            }
            // Whatever happened, no temporary output stays behind.
            if !matches!(result, Ok(Attempted::Ran(_))) {
                for temp in &temps {
                    let _ = fs::remove_file(root.join(temp));
                }
            }
            self.registry.release(slot);
            match result {
                Ok(Attempted::Ran(deps)) => {
                    found = deps;
                    break Outcome::Succeeded;
                }
                Ok(Attempted::NotStarted) => break Outcome::NotRun,
                Err(failure)
                    if failure.interrupted || failure.step_wide || attempts > step.retries =>
                {
                    break Outcome::Failed(failure);
                }
                Err(_) => continue,
            }
        };
        let (stdout_log, stdout_lost) = split_finished(logs.stdout.finish());
        let (stderr_log, stderr_lost) = split_finished(logs.stderr.finish());
        // Queued behind a call and the run stopped first: it never ran.
        if matches!(outcome, Outcome::NotRun) {
            return TaskResult::not_run(Outcome::NotRun);
        }
        // What a task printed is kept, or the task fails (a full disk).
        let outcome = match (outcome, stdout_lost.or(stderr_lost)) {
            (Outcome::Succeeded, Some((log, source))) => Outcome::Failed(
                TaskError::Log {
                    program: program_label(&task.command),
                    log,
                    source,
                }
                .into(),
            ),
            (outcome, _) => outcome,
        };
        let outcome = match outcome {
            Outcome::Failed(mut f) => {
                // The tail of stderr, or of stdout when stderr was empty.
                f.stderr_tail = stderr_log
                    .as_ref()
                    .or(stdout_log.as_ref())
                    .map(|p| tail(p, TAIL_LINES))
                    .unwrap_or_default();
                Outcome::Failed(f)
            }
            other => other,
        };
        let fingerprint = fingerprint.map(|fp| {
            let read = self.read_hashes(task, &read_from, &mut new_hashes);
            let succeeded = matches!(outcome, Outcome::Succeeded);
            let files = &self.fingerprints.files;
            Box::new(fingerprint::settle(
                task, &deps, *fp, &read, &as_read, succeeded, files,
            ))
        });
        let fingerprint_hash = fingerprint.as_ref().map(|fp| fp.fingerprint);
        let record = match (&outcome, fingerprint) {
            (Outcome::Succeeded, Some(fingerprint)) => {
                // The files its worker loaded join its deps (issue 9).
                let (fingerprint, deps, found_deps) = match found {
                    Some(found) => self.with_found_deps(task, fingerprint, &base, &deps, &found),
                    None => (fingerprint, deps.into_owned(), None),
                };
                fingerprint::output_hashes(task, &self.fingerprints.files, &mut new_hashes)
                    .ok()
                    .map(|outputs| Record {
                        inputs: fingerprint::to_hash_lines(&fingerprint::input_pairs(
                            task,
                            &deps,
                            &fingerprint,
                        )),
                        fingerprint,
                        outputs,
                        found_deps,
                    })
            }
            // A failure is remembered with the fingerprint it failed with
            // (no outputs), so that the next run can say what changed since.
            (Outcome::Failed(_), Some(fingerprint)) => Some(Record {
                inputs: fingerprint::to_hash_lines(&fingerprint::input_pairs(
                    task,
                    &deps,
                    &fingerprint,
                )),
                fingerprint,
                outputs: String::new(),
                found_deps: None,
            }),
            _ => None,
        };
        TaskResult {
            outcome,
            started_at: Some(started_at),
            record,
            new_hashes,
            duration: started.elapsed(),
            attempts,
            stderr_log,
            stdout_log,
            fingerprint: fingerprint_hash,
            narrowed: None,
            peak_memory,
            slot: None,
        }
    }

    /// The fingerprint, deps and stored list of a task whose worker reported
    /// the files its code came from. A file not hashed before the call is
    /// hashed now; a file the worker loaded is taken as changed if it was
    /// modified after the worker started (it may have loaded either
    /// version), even when this task's fingerprint, taken later, hashed the
    /// new one.
    fn with_found_deps(
        &self,
        task: &Task,
        before: Box<Fingerprint>,
        step_deps: &[PathBuf],
        before_deps: &[PathBuf],
        found: &FoundDeps,
    ) -> (Box<Fingerprint>, Vec<PathBuf>, Option<String>) {
        let deps = fingerprint::task_deps(step_deps, Some(&found.paths)).into_owned();
        let listed = &deps[step_deps.len()..];
        let stored = (!listed.is_empty()).then(|| {
            listed
                .iter()
                .map(|p| display_path(p))
                .collect::<Vec<_>>()
                .join("\n")
        });
        let files = &self.fingerprints.files;
        let loaded: Vec<&Path> = found.paths.iter().map(PathBuf::as_path).collect();
        // Only a fingerprint hashed after the worker started can hold a
        // newer file than the worker loaded.
        let changed_since = |path: &Path| {
            before.hashed_at > found.since && !files.unchanged_since(path, found.since)
        };
        if deps == before_deps && !loaded.iter().any(|p| changed_since(p)) {
            return (before, deps, stored);
        }
        let after = fingerprint::with_deps(task, &before, before_deps, &deps, |path, known| {
            if loaded.contains(&path) && changed_since(path) {
                return fingerprint::CHANGED_DURING_RUN;
            }
            known.unwrap_or_else(|| {
                files
                    .hash_unchanged_since(path, found.since)
                    .unwrap_or(fingerprint::CHANGED_DURING_RUN)
            })
        });
        (Box::new(after), deps, stored)
    }

    /// A call to the step's worker; the files its code came from, or
    /// `None` when it never began (the run stopped while it waited behind
    /// another call); `began` set when it waited.
    fn call(
        &self,
        attempt: &Attempt<'_>,
        call: &CallCommand,
        logs: &mut Logs,
        began: &mut Option<(Instant, SystemTime)>,
    ) -> Result<Option<FoundDeps>, Failure> {
        let (task, step) = (attempt.task, attempt.step);
        let request = Call {
            step: task.step,
            step_name: &step.name,
            function: call.spec.worker.function(),
            args: worker::task_args(
                self.workers.shared(),
                task,
                step.fanout == Fanout::Each,
                attempt.temps,
                &call.with,
            ),
            timeout: step.timeout,
            max_tasks: call.spec.max_tasks,
        };
        let Called { outcome, began: at } =
            self.workers
                .call(request, attempt.lane, &mut logs.stdout, &mut logs.stderr);
        *began = at;
        match outcome {
            CallOutcome::Done(deps) => Ok(Some(deps)),
            CallOutcome::NotStarted => Ok(None),
            CallOutcome::Failed(f) => Err(Failure {
                reason: f.reason,
                exit_code: f.exit_code,
                signal: f.signal,
                stderr_tail: Vec::new(),
                interrupted: f.interrupted,
                step_wide: f.step_wide,
            }),
        }
    }

    /// Per input of `task`, the hashes its table reads took of it as they
    /// read it (`read_from`), each also remembered as the file's hash; a
    /// read whose hash is not of the bytes its table came from (the file was
    /// written between its two passes) counts as `CHANGED_DURING_RUN`.
    fn read_hashes(
        &self,
        task: &Task,
        read_from: &[(PathBuf, Option<ReadFrom>)],
        new_hashes: &mut Vec<NewHash>,
    ) -> Vec<Vec<[u8; 32]>> {
        if read_from.is_empty() {
            return Vec::new();
        }
        let root = &self.pipeline.root;
        task.inputs
            .iter()
            .map(|input| {
                let abs = root.join(input);
                let files = &self.fingerprints.files;
                read_from
                    .iter()
                    .filter(|(path, _)| *path == abs)
                    .filter_map(|(_, from)| from.as_ref())
                    .map(|from| {
                        if !files.trusts(from) {
                            // Written while it was read: run again next time.
                            return fingerprint::CHANGED_DURING_RUN;
                        }
                        new_hashes.extend(files.remember_read(input, from));
                        from.hash
                    })
                    .collect()
            })
            .collect()
    }

    /// Per input of `task`: whether the task hashes it as it reads it (as
    /// a table, whole, from a CSV, TSV or JSON lines file, every time it
    /// reads it).
    fn hashed_as_read(&self, task: &Task) -> Vec<bool> {
        let reads = crate::exec::table_reads(self.pipeline, task);
        if reads.is_empty() {
            return Vec::new();
        }
        let root = &self.pipeline.root;
        task.inputs
            .iter()
            .map(|input| {
                let abs = root.join(input);
                let mut of_input = reads.iter().filter(|r| r.path == abs).peekable();
                of_input.peek().is_some() && of_input.all(TableRead::hashed_as_read)
            })
            .collect()
    }

    /// One attempt at a task; the tables it read, with what each file was
    /// when read, go to `read_from`.
    fn attempt(
        &self,
        attempt: &Attempt<'_>,
        logs: &mut Logs,
        peak_memory: &mut Option<u64>,
        began: &mut Option<(Instant, SystemTime)>,
        read_from: &mut Vec<(PathBuf, Option<ReadFrom>)>,
    ) -> Result<Attempted, Failure> {
        let task = attempt.task;
        let root = &self.pipeline.root;
        for out in task.outputs.iter() {
            if let Some(parent) = out.parent() {
                let parent_abs = root.join(parent);
                // Usually there already (one `stat`; its check is
                // remembered for the run).
                if fs::metadata(&parent_abs).is_ok_and(|m| m.is_dir()) {
                    self.folders
                        .check(&parent_abs)
                        .map_err(TaskError::OutputFolder)?;
                    continue;
                }
                self.folders
                    .check_before_create(&parent_abs)
                    .map_err(TaskError::OutputFolder)?;
                fs::create_dir_all(&parent_abs).map_err(|source| TaskError::CreateFolder {
                    path: parent.to_owned(),
                    source,
                })?;
                self.folders
                    .check(&parent_abs)
                    .map_err(TaskError::OutputFolder)?;
            }
        }
        let command = exec_command(self.pipeline, task, attempt.temps).map_err(TaskError::from)?;
        let temps: Vec<PathBuf> = attempt.temps.iter().map(|t| root.join(t)).collect();
        // Nothing may stand where this attempt writes (a planted link would
        // be followed by a built-in): the name is removed, never followed.
        for temp in &temps {
            let _ = fs::remove_file(temp);
        }

        let mut spawn = |argv: Vec<std::ffi::OsString>| -> Result<(), Failure> {
            let ran = self.spawn(attempt, logs, argv);
            if let Some(peak) = ran.as_ref().ok().and_then(|r| r.peak_memory) {
                *peak_memory = Some(peak_memory.map_or(peak, |p: u64| p.max(peak)));
            }
            ran.map(|_| ())
        };
        let mut found = None;
        match &command {
            Command::Argv(argv) => spawn(argv.clone())?,
            Command::Call(call) => match self.call(attempt, call, logs, began)? {
                Some(deps) => found = Some(deps),
                None => return Ok(Attempted::NotStarted),
            },
            Command::Shell(script) => {
                spawn(vec!["sh".into(), "-c".into(), script.into()])?;
            }
            Command::Builtin(builtin) => {
                let inputs: Vec<PathBuf> = task.inputs.iter().map(|i| root.join(i)).collect();
                let tables = TaskTables::new(&self.tables);
                let call = crate::steps::BuiltinCall {
                    inputs: &inputs,
                    outputs: &temps,
                    options: &builtin.options,
                    tables: &tables,
                    cancel: &self.cancel,
                };
                let result = crate::steps::run(&builtin.name, &call);
                *read_from = tables.read_from();
                // Stopped by a signal: interrupted, never `ok` (issue 10,
                // item 9), even when it managed to finish.
                if self.cancel.is_cancelled() || result.as_ref().is_err_and(|e| e.is_interrupted())
                {
                    return Err(interrupted());
                }
                result.map_err(|e| TaskError::Step(e.relative_to(root)))?;
            }
            Command::Plot(plot) => {
                let inputs: Vec<PathBuf> = task.inputs.iter().map(|i| root.join(i)).collect();
                let texts = crate::plot::Texts {
                    title: plot.title.as_deref(),
                    x_label: plot.x_label.as_deref(),
                    y_label: plot.y_label.as_deref(),
                };
                let tables = TaskTables::new(&self.tables);
                let result = crate::plot::render(
                    &plot.spec,
                    &texts,
                    root,
                    &tables,
                    &inputs,
                    &temps,
                    &self.cancel,
                );
                *read_from = tables.read_from();
                // Stopped by a signal: interrupted, never `ok` (issue 10,
                // item 9), even when it managed to finish.
                if self.cancel.is_cancelled() || result.as_ref().is_err_and(|e| e.is_interrupted())
                {
                    return Err(interrupted());
                }
                result.map_err(|e| TaskError::Plot(e.relative_to(root)))?;
            }
        }

        // Every declared output must exist; then each is renamed into place.
        for (out, temp) in task.outputs.iter().zip(&temps) {
            let written = fs::symlink_metadata(temp);
            if written.is_err() {
                return Err(TaskError::NotWritten {
                    path: out.clone(),
                    wrote_final: root.join(out).exists(),
                    call: matches!(command, Command::Call(_)),
                }
                .into());
            }
            // A FIFO, a folder or a device is no output: hashing it could
            // wait forever (a FIFO) or mean nothing. (One `stat` when it is
            // a plain file: issue 9's 5,000 calls a second.)
            let regular =
                written.is_ok_and(|m| m.is_file()) || fs::metadata(temp).is_ok_and(|m| m.is_file());
            if !regular {
                return Err(TaskError::NotAFile { path: out.clone() }.into());
            }
        }
        for (out, temp) in task.outputs.iter().zip(&temps) {
            fs::rename(temp, root.join(out)).map_err(|source| TaskError::Rename {
                path: out.clone(),
                source,
            })?;
        }
        Ok(Attempted::Ran(found))
    }

    /// Runs one attempt's command; `Ok` when it exited 0 (with what it
    /// used), else why the attempt failed.
    fn spawn(
        &self,
        attempt: &Attempt<'_>,
        logs: &mut Logs,
        argv: Vec<std::ffi::OsString>,
    ) -> Result<Ran, Failure> {
        let step = attempt.step;
        let root = &self.pipeline.root;
        let stdout = if step.stdout_to_out {
            let temp = &attempt.temps[0];
            // A new file, never one that is there (nor a link).
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(root.join(temp))
                .map_err(|source| TaskError::CreateStdout {
                    path: temp.clone(),
                    source,
                })?;
            StdoutTo::File(file)
        } else {
            StdoutTo::Log(&mut logs.stdout)
        };
        let isolation = self.isolation.get_or_init(Isolation::detect);
        let on_start = |group: &Group| self.registry.spawned(attempt.slot, group.record());
        let spawn = Spawn {
            argv: &argv,
            cwd: root,
            env: &step.env,
            stdout,
            stderr: &mut logs.stderr,
            timeout: step.timeout,
            isolation,
            on_start: &on_start,
        };
        let program = || {
            argv.first()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let ran = match process::run(spawn, &self.children) {
            Ok(ran) => ran,
            Err(RunError::Spawn(source)) if source.kind() == io::ErrorKind::NotFound => {
                return Err(TaskError::ProgramNotFound { program: program() }.into());
            }
            Err(RunError::Spawn(source)) => {
                return Err(TaskError::Spawn {
                    program: program(),
                    source,
                }
                .into());
            }
            // The command ran: say what failed around it (issue 10, item 16).
            Err(RunError::Log(log, source)) => {
                return Err(TaskError::Log {
                    program: program(),
                    log,
                    source,
                }
                .into());
            }
            Err(RunError::Wait(source)) => {
                return Err(TaskError::Wait {
                    program: program(),
                    source,
                }
                .into());
            }
        };
        let failed = match ran.exit {
            Exit::Code(0) => return Ok(ran),
            Exit::Code(code) => TaskError::ExitCode(code),
            Exit::Signal(sig) => TaskError::Signal(sig),
            Exit::TimedOut(t) => TaskError::TimedOut(t),
            Exit::Interrupted => TaskError::Interrupted,
        };
        Err(failed.into())
    }
}

/// One attempt of a task.
struct Attempt<'a> {
    task: &'a Task,
    step: &'a Step,
    /// Its temporary outputs, relative to root (one per output).
    temps: &'a [PathBuf],
    /// Its registration in the state.
    slot: u64,
    /// The pool slot it runs in (a call waits there behind another's).
    lane: usize,
}

/// How an attempt that did not fail went.
enum Attempted {
    /// It ran; for a call, the files its worker's code came from.
    Ran(Option<FoundDeps>),
    /// Its call waited behind another and the run stopped first.
    NotStarted,
}

/// A task stopped because the run was interrupted.
fn interrupted() -> Failure {
    TaskError::Interrupted.into()
}

/// A task's two captured streams.
struct Logs {
    stdout: Log,
    stderr: Log,
}

/// Where a task's logs go: `LOGS/STEP/KEY.out|.err`.
fn log_paths(log_dir: &Path, step: &str, key: &str) -> (PathBuf, PathBuf) {
    let base = log_dir.join(step).join(key);
    let with = |ext: &str| {
        let mut name = base.clone().into_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    (with(".out"), with(".err"))
}

/// The last `n` lines of a file (reading at most its last 64 KiB).
pub(crate) fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut file) = File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // probably cut in the middle
    }
    let skip = lines.len().saturating_sub(n);
    lines[skip..].iter().map(|l| (*l).to_owned()).collect()
}

/// A finished log: its path, or what kept it from being written.
fn split_finished(
    finished: Result<Option<PathBuf>, (PathBuf, io::Error)>,
) -> (Option<PathBuf>, Option<(PathBuf, io::Error)>) {
    match finished {
        Ok(path) => (path, None),
        Err((path, source)) => (None, Some((path, source))),
    }
}

/// The program a task runs, as its failures name it.
fn program_label(command: &Command) -> String {
    match command {
        Command::Argv(argv) => argv
            .first()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Command::Shell(_) => "sh".to_owned(),
        Command::Builtin(builtin) => builtin.name.clone(),
        Command::Plot(_) => "plot".to_owned(),
        Command::Call(call) => match &call.spec.worker {
            WorkerProgram::Python { function, .. } => function.clone(),
            WorkerProgram::Argv { argv, .. } => argv.first().cloned().unwrap_or_default(),
        },
    }
}
