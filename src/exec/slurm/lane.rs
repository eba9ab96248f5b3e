//! The coordinator's own pool for the steps that say `executor = "local"`
//! (a cheap `all` step on the login node): a few threads running tasks
//! with the local task runner, fed and drained through channels so that
//! their results come back through the same `collect` as the elements'.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;
use std::time::Duration;

use crate::exec::task::{LocalTasks, TaskResult};
use crate::plan::{Plan, TaskId};

/// Threads running local tasks during a SLURM run.
pub(crate) struct LocalLane {
    tasks: Option<Sender<(TaskId, Vec<TaskId>)>>,
    results: Receiver<(TaskId, TaskResult)>,
}

impl LocalLane {
    /// Starts `threads` threads in `scope` (none when `threads` is 0).
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        threads: usize,
        local: &'env LocalTasks<'env>,
        plan: &'env Plan,
    ) -> LocalLane {
        let (task_tx, task_rx) = mpsc::channel::<(TaskId, Vec<TaskId>)>();
        let (result_tx, result_rx) = mpsc::channel();
        let task_rx = Arc::new(Mutex::new(task_rx));
        for i in 0..threads {
            let task_rx = task_rx.clone();
            let result_tx = result_tx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("runner-local-{i}"))
                .spawn_scoped(scope, move || {
                    loop {
                        let next = task_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((id, failed)) = next else { break };
                        let task = &plan.tasks[id];
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            local.run(task, &failed, i)
                        }))
                        .unwrap_or_else(|_| TaskResult::panicked());
                        if result_tx.send((id, result)).is_err() {
                            break;
                        }
                    }
                });
        }
        LocalLane {
            tasks: Some(task_tx),
            results: result_rx,
        }
    }

    /// Queues a task, with its upstream tasks that did not succeed (see
    /// `LocalTasks::run`).
    pub(crate) fn run(&self, id: TaskId, failed: Vec<TaskId>) {
        if let Some(tx) = &self.tasks {
            let _ = tx.send((id, failed));
        }
    }

    /// Results that came in, waiting at most `timeout` for the first.
    pub(crate) fn results(&self, timeout: Duration) -> Vec<(TaskId, TaskResult)> {
        let mut out = Vec::new();
        match self.results.recv_timeout(timeout) {
            Ok(first) => out.push(first),
            Err(RecvTimeoutError::Timeout) => return out,
            // No thread left (none started): wait as asked.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout);
                return out;
            }
        }
        out.extend(self.results.try_iter());
        out
    }
}

impl Drop for LocalLane {
    fn drop(&mut self) {
        // The threads end when the queue closes.
        self.tasks.take();
    }
}
