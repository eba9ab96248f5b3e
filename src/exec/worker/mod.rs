//! Long-lived worker processes for `python` and `worker` steps (issue 9):
//! started when a task first needs one, reused task after task, replaced
//! when one dies, recycled after `max_tasks_per_worker`, asked to exit when
//! their steps have nothing left to run, and never left behind.
//!
//! Steps whose workers would be started the same way (same argv, root and
//! environment: two functions of one module) share them. Calls run in
//! lanes (a pool slot each, lane.rs): one call per lane at a time, so at
//! most `jobs` workers of a kind are ever busy, and a second call may
//! queue its request behind the running one; see DESIGN.md for how many
//! are alive.

mod command;
mod lane;
mod process;
mod protocol;
mod split;
mod start;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::config::Pipeline;
use crate::error::chain;
use crate::exec::group::Isolation;
use crate::exec::process::{Exit, KILL_GRACE, Log, signal_name};
use crate::state::Writer;
use command::worker_command;
use lane::{Entry, Lane, LaneGuard};
use process::{Event, Spawner, Worker, WorkerCommand};
use protocol::Reply;
pub(crate) use protocol::{SHIM, Shared, task_args};

/// The version of the embedded shim's behaviour, part of the fingerprint of
/// `python` tasks: bumped when a change to `shim.py` can change what a
/// function does.
pub(crate) const SHIM_VERSION: u32 = 1;

/// The shortest time a worker may take to start (import its module) when
/// its step has a `timeout`: a task's timeout is for its own work, and
/// imports are slow on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The worker processes of one run.
pub(crate) struct WorkerPool<'a> {
    /// Per step: which kind of worker serves it (`None`: not a call step).
    step_kind: Vec<Option<usize>>,
    /// Per kind: how its workers are started.
    commands: Vec<WorkerCommand>,
    /// What every request shares.
    shared: Shared,
    state: Mutex<PoolState>,
    /// A kind's first start ended (others wait for it).
    started: Condvar,
    /// A call on a lane ended (the call queued behind it goes on).
    handover: Condvar,
    /// The id of the next request (unique in the run).
    next_id: AtomicU64,
    stopping: AtomicBool,
    spawner: Spawner,
    /// Where output a worker writes between two tasks goes
    /// (`PID.out`, `PID.err`; only if there is any).
    log_dir: PathBuf,
    /// Where workers register their processes while they live.
    registry: &'a Writer,
    /// How the run keeps processes together (shared with commands).
    isolation: &'a OnceLock<Isolation>,
}

struct PoolState {
    kinds: Vec<Kind>,
    /// Per step: set when a reply said that every task of it would fail.
    broken_steps: Vec<Option<Arc<str>>>,
    /// Asked to exit, not reaped yet.
    leaving: Vec<Worker>,
    /// Per lane (a pool slot): the call running there, and the one queued
    /// behind it.
    lanes: Vec<Lane>,
}

/// The workers of one kind.
struct Kind {
    idle: Vec<Worker>,
    status: Status,
    /// Tasks of its steps not settled yet (to run, or to be skipped).
    pending: usize,
}

/// Whether a kind's workers can start.
enum Status {
    /// None started yet.
    Untried,
    /// The first one is starting: wait for it, so that a broken module is
    /// reported once, not once per pool slot.
    Starting,
    /// One started.
    Ready,
    /// Starting one failed; every task of its steps fails with this.
    Broken(Arc<str>),
}

/// How a call ended.
#[derive(Debug)]
pub(crate) enum CallOutcome {
    /// The task succeeded; the files its worker's code came from.
    Done(FoundDeps),
    /// It failed.
    Failed(CallFailure),
    /// It was queued behind another call and the run stopped before it
    /// began: not run.
    NotStarted,
}

/// A call's end.
#[derive(Debug)]
pub(crate) struct Called {
    /// How it ended.
    pub(crate) outcome: CallOutcome,
    /// When it began, if it waited for a worker busy with another call
    /// first (its task's time counts from then).
    pub(crate) began: Option<(Instant, SystemTime)>,
}

/// Files under root that a worker loaded its code from, as it reported them.
#[derive(Debug, Clone)]
pub(crate) struct FoundDeps {
    /// Relative to root.
    pub(crate) paths: Vec<PathBuf>,
    /// When the worker started: a file modified after this may have been
    /// loaded in either version.
    pub(crate) since: SystemTime,
}

/// A failed call.
#[derive(Debug, Clone)]
pub(crate) struct CallFailure {
    /// What happened, in one line.
    pub(crate) reason: String,
    /// The worker's exit code, when it exited.
    pub(crate) exit_code: Option<i32>,
    /// The signal that killed the worker, when one did.
    pub(crate) signal: Option<i32>,
    /// Every task of the step fails the same way (it could not start).
    pub(crate) step_wide: bool,
    /// The run is being interrupted.
    pub(crate) interrupted: bool,
}

impl CallFailure {
    fn task(reason: impl Into<String>) -> CallFailure {
        CallFailure {
            reason: reason.into(),
            exit_code: None,
            signal: None,
            step_wide: false,
            interrupted: false,
        }
    }

    fn step(reason: impl Into<String>) -> CallFailure {
        CallFailure {
            step_wide: true,
            ..CallFailure::task(reason)
        }
    }

    fn interrupted() -> CallFailure {
        CallFailure {
            interrupted: true,
            ..CallFailure::task("interrupted")
        }
    }
}

/// One call to make.
pub(crate) struct Call<'a> {
    /// The step's index.
    pub(crate) step: usize,
    /// Its name.
    pub(crate) step_name: &'a str,
    /// The function, for the Python shim.
    pub(crate) function: Option<&'a str>,
    /// Its keyword arguments.
    pub(crate) args: serde_json::Map<String, serde_json::Value>,
    /// The step's timeout, for the call (a worker's start has its own).
    pub(crate) timeout: Option<Duration>,
    /// Recycle the worker after this many tasks.
    pub(crate) max_tasks: Option<u32>,
}

impl<'a> WorkerPool<'a> {
    /// The pool of a run; `pending[step]` = its tasks that will run.
    pub(crate) fn new(
        pipeline: &Pipeline,
        pending: &[usize],
        log_dir: PathBuf,
        registry: &'a Writer,
        isolation: &'a OnceLock<Isolation>,
    ) -> WorkerPool<'a> {
        let mut commands: Vec<WorkerCommand> = Vec::new();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut step_kind = Vec::with_capacity(pipeline.steps.len());
        for (i, step) in pipeline.steps.iter().enumerate() {
            let Some(command) = worker_command(pipeline, step) else {
                step_kind.push(None);
                continue;
            };
            let kind = match commands.iter().position(|c| *c == command) {
                Some(kind) => kind,
                None => {
                    commands.push(command);
                    kinds.push(Kind {
                        idle: Vec::new(),
                        status: Status::Untried,
                        pending: 0,
                    });
                    commands.len() - 1
                }
            };
            kinds[kind].pending += pending.get(i).copied().unwrap_or(0);
            step_kind.push(Some(kind));
        }
        WorkerPool {
            step_kind,
            commands,
            shared: Shared::new(pipeline),
            state: Mutex::new(PoolState {
                kinds,
                broken_steps: vec![None; pipeline.steps.len()],
                leaving: Vec::new(),
                lanes: Vec::new(),
            }),
            started: Condvar::new(),
            handover: Condvar::new(),
            next_id: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            spawner: Spawner::default(),
            log_dir,
            registry,
            isolation,
        }
    }

    /// What every request shares.
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The kind of worker that serves `step`'s tasks, if it is a call
    /// step: calls of one kind may queue behind each other on a lane.
    pub(crate) fn kind_of(&self, step: usize) -> Option<usize> {
        self.step_kind.get(step).copied().flatten()
    }

    /// Runs one call in `lane` (the caller's pool slot): behind the call
    /// running there, if one is, on its worker (the request sent at once
    /// when the worker marks the ends of its calls), else on an idle
    /// worker of its kind or a new one; its output going into `out` and
    /// `err`.
    pub(crate) fn call(&self, call: Call<'_>, lane: usize, out: &mut Log, err: &mut Log) -> Called {
        let Some(kind) = self.kind_of(call.step) else {
            return Called {
                outcome: CallOutcome::Failed(CallFailure::task(
                    crate::error::Internal::new("a call for a step without a worker").to_string(),
                )),
                began: None,
            };
        };
        let request = |id| protocol::request(id, call.step_name, call.function, &call.args);
        let entry = self.enter(lane, kind, &request);
        let mut guard = LaneGuard::new(self, lane, kind);
        let began =
            matches!(entry, Entry::Handed { .. }).then(|| (Instant::now(), SystemTime::now()));
        let (worker, outcome) = self.run_call(&call, kind, lane, entry, out, err);
        guard.disarm();
        self.leave(lane, kind, worker, call.max_tasks, out, err);
        Called { outcome, began }
    }

    /// The request id of a new call.
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes a call once it has its place in the lane; the worker to keep
    /// (`None` when it was ended) and how the call went.
    fn run_call(
        &self,
        call: &Call<'_>,
        kind: usize,
        lane: usize,
        entry: Entry,
        out: &mut Log,
        err: &mut Log,
    ) -> (Option<Worker>, CallOutcome) {
        let (mut worker, id) = match entry {
            // Queued: the worker began it as soon as the last call ended.
            Entry::Handed {
                worker: Some(worker),
                sent: Some(id),
            } => {
                let mut worker = *worker;
                if let Err(e) = worker.begin(out, err) {
                    let _ = worker.terminate(out, err);
                    self.end(worker);
                    return (None, log_failure(e));
                }
                (worker, id)
            }
            Entry::Handed { worker: None, .. } if self.stopping() => {
                return (None, CallOutcome::NotStarted);
            }
            // A worker given without a request in it (it does not mark the
            // ends of its calls), none (the last call's died or was
            // recycled: a new one, not a retry), or a lane of its own.
            Entry::Handed { worker, .. } => {
                match self.send(worker.map(|w| *w), kind, call, out, err) {
                    Ok(sent) => sent,
                    Err(outcome) => return (None, outcome),
                }
            }
            Entry::Free => match self.send(None, kind, call, out, err) {
                Ok(sent) => sent,
                Err(outcome) => return (None, outcome),
            },
        };
        self.publish(lane, kind, &worker, call.max_tasks);
        let stop = || self.stopping();
        let deadline = call.timeout.map(|t| (Instant::now() + t, t));
        let event = match worker.next_line(out, err, deadline, &stop) {
            Ok(event) => event,
            Err(e) => {
                let _ = worker.terminate(out, err);
                self.end(worker);
                return (
                    None,
                    CallOutcome::Failed(CallFailure::task(format!(
                        "cannot talk to the worker: {e}"
                    ))),
                );
            }
        };
        let failed = |f: CallFailure| CallOutcome::Failed(f);
        match event {
            Event::Line(line) => match protocol::parse::<Reply>(&line) {
                Ok(reply) if reply.id != id => {
                    let _ = worker.terminate(out, err);
                    self.end(worker);
                    let reason = format!(
                        "the worker broke the protocol: it answered request {} to request {id}",
                        reply.id
                    );
                    (None, failed(CallFailure::task(reason)))
                }
                Ok(reply) => {
                    worker.tasks += 1;
                    for dep in reply.deps {
                        let dep = PathBuf::from(dep);
                        if !worker.deps.contains(&dep) {
                            worker.deps.push(dep);
                        }
                    }
                    let found = FoundDeps {
                        paths: worker.deps.clone(),
                        since: worker.started,
                    };
                    let outcome = if reply.ok {
                        CallOutcome::Done(found)
                    } else {
                        let reason = reply
                            .error
                            .unwrap_or_else(|| "the worker reported a failure".to_owned());
                        if reply.fatal {
                            let mut state = self.lock();
                            state.broken_steps[call.step] = Some(Arc::from(reason.as_str()));
                            failed(CallFailure::step(reason))
                        } else {
                            failed(CallFailure::task(reason))
                        }
                    };
                    (Some(worker), outcome)
                }
                Err(broken) => {
                    let _ = worker.terminate(out, err);
                    self.end(worker);
                    (None, failed(CallFailure::task(chain(&broken))))
                }
            },
            Event::Died(exit) => {
                self.end(worker);
                (None, failed(died(exit, "while running this task")))
            }
            Event::TimedOut(t) => {
                self.end(worker);
                (
                    None,
                    failed(CallFailure::task(format!(
                        "timed out after {} (its worker's processes were killed; a fresh worker takes the next task)",
                        humantime::format_duration(t)
                    ))),
                )
            }
            Event::Interrupted => {
                self.end(worker);
                (None, failed(CallFailure::interrupted()))
            }
        }
    }

    /// Sends a call's request to `given` (a worker handed over idle) or to
    /// an idle or new worker of its kind, after copying what the worker
    /// wrote since its last call to its own logs; the worker and the
    /// request's id.
    fn send(
        &self,
        given: Option<Worker>,
        kind: usize,
        call: &Call<'_>,
        out: &mut Log,
        err: &mut Log,
    ) -> Result<(Worker, u64), CallOutcome> {
        // A worker's start (its imports) is not the task's work: it may take
        // the step's timeout or START_TIMEOUT, whichever is longer.
        let start_deadline = call.timeout.map(|t| {
            let t = t.max(START_TIMEOUT);
            (Instant::now() + t, t)
        });
        let mut given = given;
        let mut tries = 0;
        loop {
            let mut worker = match given.take() {
                Some(worker) => {
                    // A reply said that every task of the step fails.
                    let broken = self.lock().broken_steps[call.step].clone();
                    if let Some(reason) = broken {
                        self.give_back(kind, worker, call.max_tasks);
                        return Err(CallOutcome::Failed(CallFailure::step(reason.as_ref())));
                    }
                    worker
                }
                None => self
                    .checkout(kind, call.step, call.step_name, out, err, start_deadline)
                    .map_err(CallOutcome::Failed)?,
            };
            // What it wrote since its last task (a thread it left running)
            // is no part of this one's output.
            if let Err(e) = worker
                .drain_between(&self.log_dir)
                .and_then(|()| worker.begin(out, err))
            {
                self.give_back(kind, worker, call.max_tasks);
                return Err(log_failure(e));
            }
            let id = self.next_id();
            let line = protocol::request(id, call.step_name, call.function, &call.args);
            tries += 1;
            match worker.send(&line) {
                Ok(()) => return Ok((worker, id)),
                // An idle worker that died since its last task (the OOM
                // killer, say) did not get this task: a fresh one does.
                Err(_) if tries < 3 => {
                    let _ = worker.terminate(out, err);
                    self.end(worker);
                }
                Err(e) => {
                    let _ = worker.terminate(out, err);
                    self.end(worker);
                    return Err(CallOutcome::Failed(CallFailure::task(format!(
                        "cannot send the task to the worker: {e}"
                    ))));
                }
            }
        }
    }

    /// A worker that is done with (asked to exit or dead): waited for
    /// (killed after the grace period), and its registration released.
    fn end(&self, mut worker: Worker) {
        worker.finish(KILL_GRACE);
        if let Some(slot) = worker.slot.take() {
            self.registry.release(slot);
        }
    }

    /// Ends the workers that were asked to exit and have.
    fn reap_leaving(&self, state: &mut PoolState) {
        let mut i = 0;
        while i < state.leaving.len() {
            if state.leaving[i].exited() {
                let worker = state.leaving.swap_remove(i);
                self.end(worker);
            } else {
                i += 1;
            }
        }
    }

    /// Returns a worker after a task: idle again, or asked to exit when it
    /// has run `max_tasks`.
    fn give_back(&self, kind: usize, mut worker: Worker, max_tasks: Option<u32>) {
        let mut state = self.lock();
        let done = max_tasks.is_some_and(|max| worker.tasks >= max);
        if done || self.stopping() || state.kinds[kind].pending == 0 {
            worker.close();
            state.leaving.push(worker);
        } else {
            state.kinds[kind].idle.push(worker);
        }
    }

    /// A task of `step` ran or was skipped: when its kind has no task left,
    /// its idle workers are asked to exit at once (not at the end of the run).
    pub(crate) fn settled(&self, step: usize) {
        let Some(kind) = self.step_kind.get(step).copied().flatten() else {
            return;
        };
        let mut state = self.lock();
        let state = &mut *state;
        let k = &mut state.kinds[kind];
        k.pending = k.pending.saturating_sub(1);
        if k.pending == 0 {
            for mut worker in k.idle.drain(..) {
                worker.close();
                state.leaving.push(worker);
            }
        }
    }

    /// The run is being interrupted: busy workers are killed by the threads
    /// waiting on them; no new worker starts.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let mut state = self.lock();
        let state = &mut *state;
        for kind in &mut state.kinds {
            for mut worker in kind.idle.drain(..) {
                worker.close();
                state.leaving.push(worker);
            }
        }
    }

    /// Ends every worker (asked to exit, killed after a grace period) and
    /// waits for them; call when no task runs any more.
    pub(crate) fn shutdown(&self) {
        let mut workers: Vec<Worker> = {
            let mut state = self.lock();
            let state = &mut *state;
            let mut all: Vec<Worker> = state.leaving.drain(..).collect();
            for kind in &mut state.kinds {
                all.append(&mut kind.idle);
            }
            all
        };
        for worker in &mut workers {
            worker.close();
        }
        for worker in workers {
            self.end(worker);
        }
        self.spawner.close();
    }
}

impl Drop for WorkerPool<'_> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A call that failed because its log could not be written.
fn log_failure(e: std::io::Error) -> CallOutcome {
    CallOutcome::Failed(CallFailure::task(format!(
        "cannot write the worker's log: {e}"
    )))
}

/// The failure of a worker that ended `when` (before it was ready, or
/// while running a task).
fn died(exit: Exit, when: &str) -> CallFailure {
    match exit {
        Exit::Code(code) => CallFailure {
            exit_code: Some(code),
            ..CallFailure::task(format!("the worker exited with code {code} {when}"))
        },
        Exit::Signal(sig) => CallFailure {
            signal: Some(sig),
            ..CallFailure::task(format!(
                "the worker was killed by signal {sig} ({}) {when}",
                signal_name(sig)
            ))
        },
        Exit::TimedOut(_) | Exit::Interrupted => CallFailure::interrupted(),
    }
}
