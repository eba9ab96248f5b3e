//! Lanes: the calls of one pool slot. One call runs in a lane at a time,
//! its worker owned by the thread making it; the scheduler may start a
//! second task in the lane (a thread that holds no slot), whose call waits
//! behind the running one. When the worker marks the ends of its calls
//! (a boundary in its hello), the waiting call's request goes into the
//! worker's pipe at once, so the worker starts it the moment it replies to
//! the running one, without sleeping between the two (issue 9: 5,000
//! calls a second). When the running call ends, its thread hands the
//! worker over; when the worker died, timed out or was recycled, it hands
//! none, and the waiting call takes a new worker (not a retry), or, when
//! the run is stopping, does not begin.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use super::WorkerPool;
use super::process::Worker;
use crate::exec::process::Log;

/// The calls of one lane.
#[derive(Default)]
pub(super) struct Lane {
    /// The call running here.
    running: Option<Running>,
    /// A thread waiting for the running call's worker.
    waiter: Option<Waiter>,
}

/// The call running in a lane.
struct Running {
    /// Its kind of worker.
    kind: usize,
    /// Its worker's request pipe while a request may be queued behind the
    /// call (the worker marks its calls' ends, and may run one more task
    /// before it is recycled); taken by the call that is.
    queue_to: Option<Arc<File>>,
}

/// A thread waiting for the worker of the call running in its lane.
struct Waiter {
    /// Its kind of worker.
    kind: usize,
    /// Its request, until it is in the worker's pipe.
    request: Option<Vec<u8>>,
    /// Its request is in that worker's pipe.
    sent: bool,
    /// Set when the running call ends: its worker, or none.
    handed: Option<Option<Worker>>,
}

impl Waiter {
    /// Writes its request into `pipe` (under the pool's lock, so that two
    /// requests never cross; one line never fills a pipe a worker reads).
    fn send(&mut self, pipe: &File) {
        if let Some(request) = self.request.take() {
            // A worker that died meanwhile fails the write: its call's
            // thread finds it dead and hands over none.
            self.sent = (&*pipe).write_all(&request).is_ok();
        }
    }
}

/// How a call found its lane.
pub(super) enum Entry {
    /// Nothing ran in it: the call finds a worker of its own.
    Free,
    /// It waited for the running call's worker: given (with the id of the
    /// request sent to it already, if one was), or not.
    Handed {
        /// The worker, if it can serve (boxed: a worker is large).
        worker: Option<Box<Worker>>,
        /// The id of the request it has already.
        sent: Option<u64>,
    },
}

impl WorkerPool<'_> {
    /// Takes a call's place in `lane`: its own, or behind the running call,
    /// whose worker it waits for; its request (made by `request` from an
    /// id) goes into that worker's pipe as soon as the worker takes queued
    /// requests (at once, or when the running call's request is in).
    pub(super) fn enter(
        &self,
        lane: usize,
        kind: usize,
        request: &dyn Fn(u64) -> Vec<u8>,
    ) -> Entry {
        let mut state = self.lock();
        if state.lanes.len() <= lane {
            state.lanes.resize_with(lane + 1, Lane::default);
        }
        // One call waits in a lane at a time (a task's retry behind the
        // task queued after it waits for that one to be handed its worker).
        while state.lanes[lane].waiter.is_some() {
            state = self.handover.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        let here = &mut state.lanes[lane];
        let Some(running) = &mut here.running else {
            here.running = Some(Running {
                kind,
                queue_to: None,
            });
            return Entry::Free;
        };
        let id = self.next_id();
        let mut waiter = Waiter {
            kind,
            request: Some(request(id)),
            sent: false,
            handed: None,
        };
        if running.kind == kind
            && let Some(pipe) = running.queue_to.take()
        {
            waiter.send(&pipe);
        }
        here.waiter = Some(waiter);
        let (worker, sent) = loop {
            let waiter = state.lanes[lane]
                .waiter
                .as_mut()
                .expect("a waiter leaves its place itself");
            if let Some(handed) = waiter.handed.take() {
                break (handed, waiter.sent);
            }
            state = self.handover.wait(state).unwrap_or_else(|e| e.into_inner());
        };
        state.lanes[lane].waiter = None;
        drop(state);
        self.handover.notify_all();
        Entry::Handed {
            sent: (sent && worker.is_some()).then_some(id),
            worker: worker.map(Box::new),
        }
    }

    /// The running call's request is in its worker: a call may now queue
    /// behind it (the one waiting already, if any, at once), if the worker
    /// marks its calls' ends and has room for one more task before
    /// `max_tasks`.
    pub(super) fn publish(
        &self,
        lane: usize,
        kind: usize,
        worker: &Worker,
        max_tasks: Option<u32>,
    ) {
        let room = max_tasks.is_none_or(|max| worker.tasks.saturating_add(2) <= max);
        let mut queue_to = if room && worker.boundary.is_some() && !self.stopping() {
            worker.request_pipe()
        } else {
            None
        };
        let mut state = self.lock();
        let here = &mut state.lanes[lane];
        if let Some(waiter) = here.waiter.as_mut().filter(|w| w.handed.is_none())
            && waiter.kind == kind
            && let Some(pipe) = queue_to.take()
        {
            waiter.send(&pipe);
        }
        if let Some(running) = &mut here.running {
            running.kind = kind;
            running.queue_to = queue_to;
        }
    }

    /// A call in `lane` ended, its worker kept (`Some`) or ended: handed to
    /// the call waiting behind it if it may serve on, else idle again or
    /// asked to exit (after `max_tasks`, when the run stops, or when its
    /// steps have no task left). A worker not handed over with a request
    /// in its pipe is killed (`out`, `err`: the ended call's logs).
    pub(super) fn leave(
        &self,
        lane: usize,
        kind: usize,
        worker: Option<Worker>,
        max_tasks: Option<u32>,
        out: &mut Log,
        err: &mut Log,
    ) {
        let mut worker = worker;
        let mut state = self.lock();
        let waiting = state.lanes[lane]
            .waiter
            .as_ref()
            .filter(|w| w.handed.is_none())
            .map(|w| w.sent);
        if let Some(w) = &worker {
            let done = max_tasks.is_some_and(|max| w.tasks >= max);
            let unneeded = waiting.is_none() && state.kinds[kind].pending == 0;
            if done || unneeded || self.stopping() {
                let mut w = worker.take().expect("checked above");
                if waiting == Some(true) {
                    drop(state);
                    let _ = w.terminate(out, err);
                    self.end(w);
                    state = self.lock();
                } else {
                    w.close();
                    state.leaving.push(w);
                }
            }
        }
        let state = &mut *state;
        let here = &mut state.lanes[lane];
        match here.waiter.as_mut().filter(|w| w.handed.is_none()) {
            Some(waiter) => {
                // (The scheduler queues only tasks of the lane's kind; a
                // waiter of another kind would start its own worker.)
                let (give, keep) = if waiter.kind == kind {
                    (worker, None)
                } else {
                    (None, worker)
                };
                waiter.handed = Some(give);
                here.running = Some(Running {
                    kind: waiter.kind,
                    queue_to: None,
                });
                if let Some(worker) = keep {
                    state.kinds[kind].idle.push(worker);
                }
            }
            None => {
                here.running = None;
                if let Some(worker) = worker {
                    state.kinds[kind].idle.push(worker);
                }
            }
        }
        self.handover.notify_all();
    }
}

/// Frees a lane whose call was cut short by a panic (a bug), so that the
/// call waiting behind it does not wait forever.
pub(super) struct LaneGuard<'p, 'a> {
    pool: &'p WorkerPool<'a>,
    lane: usize,
    kind: usize,
    armed: bool,
}

impl<'p, 'a> LaneGuard<'p, 'a> {
    /// Guards the running call of `lane`.
    pub(super) fn new(pool: &'p WorkerPool<'a>, lane: usize, kind: usize) -> Self {
        LaneGuard {
            pool,
            lane,
            kind,
            armed: true,
        }
    }

    /// The call ended normally (and left its lane).
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for LaneGuard<'_, '_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut state = self.pool.lock();
        if let Some(here) = state.lanes.get_mut(self.lane) {
            match here.waiter.as_mut().filter(|w| w.handed.is_none()) {
                Some(waiter) => {
                    waiter.handed = Some(None);
                    here.running = Some(Running {
                        kind: self.kind,
                        queue_to: None,
                    });
                }
                None => here.running = None,
            }
        }
        self.pool.handover.notify_all();
    }
}
