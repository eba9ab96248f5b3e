//! Starting a kind's workers: an idle one, or a new one started and
//! waited for until its hello; a kind's first start is made by one thread
//! while the others wait, so that a module that cannot be imported is
//! reported once, and a kind that cannot start is broken for the run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::process::{Event, Worker};
use super::protocol::{self, Hello, MIN_BOUNDARY};
use super::{CallFailure, Status, WorkerPool, died};
use crate::error::chain;
use crate::exec::group::Isolation;
use crate::exec::process::Log;
use crate::state::Registration;

impl WorkerPool<'_> {
    /// An idle worker of `kind`, or a new one; the failure of the step
    /// when its workers cannot start.
    pub(super) fn checkout(
        &self,
        kind: usize,
        step: usize,
        step_name: &str,
        out: &mut Log,
        err: &mut Log,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Worker, CallFailure> {
        let mut state = self.lock();
        loop {
            self.reap_leaving(&mut state);
            if self.stopping() {
                return Err(CallFailure::interrupted());
            }
            if let Some(reason) = &state.broken_steps[step] {
                return Err(CallFailure::step(reason.as_ref()));
            }
            match &state.kinds[kind].status {
                Status::Broken(reason) => return Err(CallFailure::step(reason.as_ref())),
                Status::Starting => {
                    state = self.started.wait(state).unwrap_or_else(|e| e.into_inner());
                    continue;
                }
                Status::Untried | Status::Ready => {}
            }
            while let Some(worker) = state.kinds[kind].idle.pop() {
                if !worker.gone() {
                    return Ok(worker);
                }
                self.end(worker);
            }
            let first = matches!(state.kinds[kind].status, Status::Untried);
            if first {
                state.kinds[kind].status = Status::Starting;
            }
            drop(state);
            // Should starting panic (a bug), the threads waiting for the
            // first start must not wait forever.
            let guard = StartGuard {
                pool: self,
                kind,
                armed: first,
            };
            let result = self.start(kind, step_name, out, err, deadline);
            std::mem::forget(guard);
            state = self.lock();
            let status = &mut state.kinds[kind].status;
            match result {
                Ok(worker) => {
                    if first {
                        *status = Status::Ready;
                        self.started.notify_all();
                    }
                    return Ok(worker);
                }
                Err((failure, breaks)) => {
                    if breaks {
                        *status = Status::Broken(Arc::from(failure.reason.as_str()));
                    } else if first {
                        *status = Status::Untried;
                    }
                    self.started.notify_all();
                    return Err(failure);
                }
            }
        }
    }

    /// Starts a worker (in a cgroup of its own where the run uses them,
    /// registered in the state while it lives) and waits for its hello; on
    /// failure, whether the kind is broken (an interrupt is not the
    /// worker's fault).
    fn start(
        &self,
        kind: usize,
        step_name: &str,
        out: &mut Log,
        err: &mut Log,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Worker, (CallFailure, bool)> {
        let command = &self.commands[kind];
        let program = command
            .argv
            .first()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cgroup = self.isolation.get_or_init(Isolation::detect).cgroup();
        let mut worker = self.spawner.start(command.clone(), cgroup).map_err(|e| {
            let reason = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "cannot start the worker: `{program}` is not found (is it on the task's PATH?)"
                )
            } else {
                format!("cannot start the worker `{program}`: {e}")
            };
            (CallFailure::step(reason), true)
        })?;
        let slot = self.registry.register(Registration {
            owner: format!("worker {} of step {step_name}", worker.pid()),
            temps: Vec::new(),
            cgroup: None,
        });
        self.registry.spawned(slot, worker.record());
        worker.slot = Some(slot);
        match self.hello(&mut worker, out, err, deadline) {
            Ok(()) => Ok(worker),
            Err(failure) => {
                self.end(worker);
                Err(failure)
            }
        }
    }

    /// Waits for a new worker's first line: ready (with the files its code
    /// came from), or why not.
    fn hello(
        &self,
        worker: &mut Worker,
        out: &mut Log,
        err: &mut Log,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(), (CallFailure, bool)> {
        let stop = || self.stopping();
        let event = worker.next_line(out, err, deadline, &stop).map_err(|e| {
            (
                CallFailure::step(format!("cannot talk to the worker: {e}")),
                true,
            )
        })?;
        match event {
            Event::Line(line) => match protocol::parse::<Hello>(&line) {
                Ok(hello) if hello.ready => {
                    worker.deps = hello.deps.into_iter().map(PathBuf::from).collect();
                    worker.boundary = hello
                        .boundary
                        .filter(|b| b.len() >= MIN_BOUNDARY)
                        .map(|b| b.into_bytes().into_boxed_slice());
                    Ok(())
                }
                Ok(hello) => {
                    let reason = hello
                        .error
                        .unwrap_or_else(|| "the worker said it cannot start".to_owned());
                    Err((CallFailure::step(reason), true))
                }
                Err(broken) => {
                    let _ = worker.terminate(out, err);
                    Err((CallFailure::step(chain(&broken)), true))
                }
            },
            Event::Died(exit) => Err((
                CallFailure {
                    step_wide: true,
                    ..died(exit, "before it was ready")
                },
                true,
            )),
            Event::TimedOut(t) => Err((
                CallFailure::step(format!(
                    "timed out after {} while the worker was starting (its processes were killed)",
                    humantime::format_duration(t)
                )),
                true,
            )),
            Event::Interrupted => Err((CallFailure::interrupted(), false)),
        }
    }
}

/// Puts a kind whose first start was cut short by a panic back to
/// `Untried`, waking the threads that wait for it.
struct StartGuard<'a> {
    pool: &'a WorkerPool<'a>,
    kind: usize,
    armed: bool,
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut state = self.pool.lock();
            if matches!(state.kinds[self.kind].status, Status::Starting) {
                state.kinds[self.kind].status = Status::Untried;
            }
            self.pool.started.notify_all();
        }
    }
}
