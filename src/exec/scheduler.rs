//! The ready-queue scheduler: starts each task as soon as everything it needs
//! is done (no stage barrier), within the pool's slots (which task goes
//! first: ready.rs), and skips what depends on a failure. A task of a
//! "line" (a call step's kind of worker) may also start behind a running
//! task of its line, holding no slot: it waits in that task's lane and
//! takes the lane's slot over (its request queued in that task's worker).

use std::cmp::Reverse;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::exec::progress::{Progress, Stopping};
use crate::exec::ready::{Choice, Rank, ReadyQueue};
use crate::exec::task::{Outcome, TaskResult};
use crate::plan::{Plan, Task, TaskId};

/// Runs single tasks; the local pool, or a fake in tests.
pub(crate) trait Executor: Sync {
    /// Runs one task to its end in `lane` (the first pool slot it holds, or
    /// the one of the task it was started behind); `failed` lists its
    /// upstream tasks that did not succeed (only ever non-empty for a
    /// partial task). A task started behind another returns `NotRun` if it
    /// never began (the run stopped).
    fn run(&self, task: &Task, failed: &[TaskId], lane: usize) -> TaskResult;
    /// Stops everything running now (interrupt).
    fn stop(&self);
    /// The task's line, if it may start behind a running task of the same
    /// line (and wait for it in its lane); `None`: it never does.
    fn line(&self, _task: &Task) -> Option<usize> {
        None
    }
}

/// What to schedule and how.
pub(crate) struct Schedule<'a> {
    /// The tasks.
    pub(crate) plan: &'a Plan,
    /// Per task: whether to run it at all (`--only`); closed over upstream.
    pub(crate) wanted: &'a [bool],
    /// Per task: nothing changed since its last success; counts as done.
    pub(crate) up_to_date: &'a [bool],
    /// Per task: pool slots it takes.
    pub(crate) slots: Vec<usize>,
    /// Per task: higher runs first among ready tasks.
    pub(crate) priority: Vec<usize>,
    /// Per task: among ready tasks of equal priority, lower runs first (then
    /// the lower id).
    pub(crate) order: Vec<usize>,
    /// Pool size.
    pub(crate) jobs: usize,
    /// Stop starting tasks after the first failure.
    pub(crate) fail_fast: bool,
    /// Per task: partial (runs over the upstream tasks that succeeded);
    /// empty = none is.
    pub(crate) partial: Vec<bool>,
}

impl Schedule<'_> {
    /// Whether a task runs when some of its upstream tasks failed.
    fn is_partial(&self, id: TaskId) -> bool {
        self.partial.get(id).copied().unwrap_or(false)
    }

    /// Where a ready task goes in the queue: the greatest runs first.
    fn rank(&self, id: TaskId) -> Rank {
        (self.priority[id], Reverse(self.order[id]), Reverse(id))
    }

    /// The pool slots task `id` takes (at least 1, at most the pool).
    fn need(&self, id: TaskId) -> usize {
        self.slots[id].clamp(1, self.jobs.max(1))
    }

    /// Puts a task that became ready into the queue.
    fn enqueue(&self, ready: &mut ReadyQueue, id: TaskId) {
        ready.push(self.need(id), self.rank(id));
    }
}

/// The bookkeeping every way of running a schedule shares (the local pool
/// here, the waves of `waves.rs`): per task its result, how many of the
/// tasks it reads are not done yet, and the queue of ready tasks.
pub(crate) struct Ledger<'a, 'p> {
    /// Per task, its result once it has one.
    pub(crate) results: Vec<Option<TaskResult>>,
    waiting: Vec<usize>,
    /// Per partial task: its upstream tasks that did not succeed.
    pub(crate) missing: Vec<Vec<TaskId>>,
    /// Ready tasks, the one to run first on top (ready.rs).
    pub(crate) ready: ReadyQueue,
    /// Where every start and end goes.
    pub(crate) progress: &'p mut (dyn Progress + Send + 'a),
}

impl<'a, 'p> Ledger<'a, 'p> {
    /// Up-to-date tasks done (their dependents a step closer to ready), and
    /// every wanted task with nothing to wait for in the ready queue.
    pub(crate) fn new(
        schedule: &Schedule<'_>,
        downstream: &[Vec<TaskId>],
        progress: &'p mut (dyn Progress + Send + 'a),
    ) -> Self {
        let plan = schedule.plan;
        let mut ledger = Ledger {
            results: vec![None; plan.tasks.len()],
            waiting: plan.tasks.iter().map(|t| t.upstream.len()).collect(),
            missing: vec![Vec::new(); plan.tasks.len()],
            ready: ReadyQueue::default(),
            progress,
        };
        for task in &plan.tasks {
            if schedule.wanted[task.id] && schedule.up_to_date[task.id] {
                let result = TaskResult::not_run(Outcome::UpToDate);
                ledger.progress.task_finished(task, &result);
                ledger.results[task.id] = Some(result);
                for &d in &downstream[task.id] {
                    ledger.waiting[d] -= 1;
                }
            }
        }
        for task in &plan.tasks {
            if schedule.wanted[task.id]
                && ledger.results[task.id].is_none()
                && ledger.waiting[task.id] == 0
            {
                schedule.enqueue(&mut ledger.ready, task.id);
            }
        }
        ledger
    }

    /// Records the end of task `id`: its dependents come closer to ready,
    /// or, when it failed, are skipped. Returns whether the run should stop
    /// starting tasks (an interrupt, or `--fail-fast`).
    pub(crate) fn settle(
        &mut self,
        schedule: &Schedule<'_>,
        downstream: &[Vec<TaskId>],
        id: TaskId,
        result: TaskResult,
    ) -> bool {
        let plan = schedule.plan;
        self.progress.task_finished(&plan.tasks[id], &result);
        let mut stop = false;
        match &result.outcome {
            Outcome::Succeeded | Outcome::UpToDate => {
                for &d in &downstream[id] {
                    self.waiting[d] -= 1;
                    if self.waiting[d] == 0 && schedule.wanted[d] && self.results[d].is_none() {
                        schedule.enqueue(&mut self.ready, d);
                    }
                }
            }
            Outcome::Failed(failure) => {
                stop = failure.interrupted || schedule.fail_fast;
                skip_downstream(id, schedule, downstream, self);
            }
            Outcome::SkippedUpstream(_) | Outcome::NotRun => {}
        }
        self.results[id] = Some(result);
        stop
    }

    /// Every result, with the wanted tasks that never ran as not run.
    pub(crate) fn finish(mut self, schedule: &Schedule<'_>) -> Vec<Option<TaskResult>> {
        for task in &schedule.plan.tasks {
            if schedule.wanted[task.id] && self.results[task.id].is_none() {
                let result = TaskResult::not_run(Outcome::NotRun);
                self.progress.task_finished(task, &result);
                self.results[task.id] = Some(result);
            }
        }
        self.results
    }
}

/// What the workers share, behind one mutex.
struct Board<'a, 'p> {
    ledger: Ledger<'a, 'p>,
    /// Per task: how often a lower-ranked task started while it was first
    /// in the queue but did not fit (ready.rs: at most `jobs` times).
    passed_over: Vec<u32>,
    free: usize,
    /// Per pool slot (lane): the running tasks holding it, the one that
    /// took it and the one started behind it. A task takes the lowest free
    /// slots; the first is its lane in the report's timeline.
    holders: Vec<u8>,
    /// Per pool slot: the line of the one-slot task that took it, which a
    /// task of that line may start behind.
    lines: Vec<Option<usize>>,
    /// Per task: its line (empty when no task may start behind another).
    task_lines: Vec<Option<usize>>,
    running: usize,
    /// Workers waiting for a ready task that fits.
    idle: usize,
    stopped: bool,
}

impl Board<'_, '_> {
    /// Nothing left to start and nothing running: the workers can go.
    fn finished(&self) -> bool {
        self.running == 0 && (self.stopped || self.ledger.ready.is_empty())
    }

    /// With no slot free: the best ready task, if it needs one slot and a
    /// lane runs a task of its line alone; that task and the lane. (Only
    /// the best: a task never passes a better one by queueing.)
    fn behind(&self) -> Option<(Choice, usize)> {
        let top = self.ledger.ready.top()?;
        let line = self.task_lines.get(top.id).copied().flatten()?;
        if top.need != 1 {
            return None;
        }
        let lane = (0..self.holders.len())
            .find(|&s| self.holders[s] == 1 && self.lines[s] == Some(line))?;
        Some((top, lane))
    }
}

/// How often the calling thread looks at `stop` while no task ends: an
/// interrupt (a flag set by the signal handler, which cannot wake a
/// condition variable) is acted on within this, so a task that was running
/// when it came is stopped, not let finish.
const STOP_POLL: Duration = Duration::from_millis(20);

/// How often the progress is ticked.
const TICK: Duration = Duration::from_millis(200);

/// Runs the schedule on a pool of `jobs` threads; returns a result for every
/// wanted task (`None` for the others). Each worker takes the next ready
/// task itself as soon as it is free (no round trip through a coordinator);
/// the calling thread only watches for `stop` and ticks the progress.
pub(crate) fn run<'a>(
    schedule: &Schedule<'_>,
    executor: &dyn Executor,
    progress: &mut (dyn Progress + Send + 'a),
    stop: &dyn Fn() -> bool,
) -> Vec<Option<TaskResult>> {
    let downstream = schedule.plan.downstream();
    let jobs = schedule.jobs.max(1);
    // Tasks start behind others (one per lane) unless `--fail-fast`: a
    // queued request would run even after a failure.
    let task_lines: Vec<Option<usize>> = if schedule.fail_fast {
        Vec::new()
    } else {
        schedule
            .plan
            .tasks
            .iter()
            .map(|t| executor.line(t).filter(|_| schedule.wanted[t.id]))
            .collect()
    };
    let threads = if task_lines.iter().any(Option::is_some) {
        2 * jobs
    } else {
        jobs
    };
    let board = Board {
        ledger: Ledger::new(schedule, &downstream, progress),
        passed_over: vec![0; schedule.plan.tasks.len()],
        free: jobs,
        holders: vec![0; jobs],
        lines: vec![None; jobs],
        task_lines,
        running: 0,
        idle: 0,
        stopped: false,
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("runner-worker-{i}"))
        .build()
    {
        Ok(pool) => pool,
        Err(_) => rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a one-thread pool can always be built"),
    };
    let board = Mutex::new(board);
    // Two condition variables: the workers wait on `changed` (a task became
    // ready, slots came free), the calling thread on `finished`, so that a
    // task's end wakes no one when every worker is busy.
    let changed = Condvar::new();
    let finished = Condvar::new();
    let wakeups = Wakeups {
        changed: &changed,
        finished: &finished,
    };
    let lock = || board.lock().unwrap_or_else(|e| e.into_inner());

    pool.in_place_scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| {
                worker(schedule, executor, &downstream, &board, &wakeups);
            });
        }
        let mut interrupted = false;
        let mut ticked = Instant::now();
        let mut guard = lock();
        while !guard.finished() {
            let (g, _) = finished
                .wait_timeout(guard, STOP_POLL)
                .unwrap_or_else(|e| e.into_inner());
            guard = g;
            if ticked.elapsed() >= TICK {
                ticked = Instant::now();
                guard.ledger.progress.tick();
            }
            if !interrupted && stop() {
                interrupted = true;
                guard.stopped = true;
                let running = guard.running;
                guard.ledger.progress.stopping(Stopping::Running(running));
                changed.notify_all();
                drop(guard);
                executor.stop();
                guard = lock();
            }
        }
    });

    let board = board.into_inner().unwrap_or_else(|e| e.into_inner());
    board.ledger.finish(schedule)
}

/// One pool thread: take the next ready task that fits (or that may start
/// behind a running one), run it, record it, until there is nothing left.
fn worker(
    schedule: &Schedule<'_>,
    executor: &dyn Executor,
    downstream: &[Vec<TaskId>],
    board: &Mutex<Board<'_, '_>>,
    wakeups: &Wakeups<'_>,
) {
    let plan = schedule.plan;
    let jobs = schedule.jobs.max(1);
    let mut guard = board.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if guard.finished() {
            wakeups.changed.notify_all();
            wakeups.finished.notify_all();
            return;
        }
        let limit = u32::try_from(jobs).unwrap_or(u32::MAX);
        let next = if guard.stopped {
            None
        } else {
            guard
                .ledger
                .ready
                .choose(guard.free, &guard.passed_over, limit)
        };
        let behind = match next {
            None if !guard.stopped => guard.behind(),
            _ => None,
        };
        let (id, taken) = if let Some(choice) = next {
            guard.ledger.ready.take(choice);
            if let Some(passed) = choice.passes {
                guard.passed_over[passed] += 1;
            }
            guard.free -= choice.need;
            let taken: Vec<usize> = (0..jobs)
                .filter(|&s| guard.holders[s] == 0)
                .take(choice.need)
                .collect();
            let line = guard.task_lines.get(choice.id).copied().flatten();
            for &s in &taken {
                guard.holders[s] = 1;
                guard.lines[s] = line.filter(|_| choice.need == 1);
            }
            // A thread may start a task behind this one.
            if line.is_some() && guard.idle > 0 && !guard.ledger.ready.is_empty() {
                wakeups.changed.notify_all();
            }
            (choice.id, taken)
        } else if let Some((choice, lane)) = behind {
            guard.ledger.ready.take(choice);
            guard.holders[lane] += 1;
            (choice.id, vec![lane])
        } else {
            guard.idle += 1;
            guard = wakeups
                .changed
                .wait(guard)
                .unwrap_or_else(|e| e.into_inner());
            guard.idle -= 1;
            continue;
        };
        guard.running += 1;
        let task = &plan.tasks[id];
        guard.ledger.progress.task_started(task);
        let missing = std::mem::take(&mut guard.ledger.missing[id]);
        drop(guard);

        // A panic is a bug, but it must not hang the run: it fails the task.
        let lane = taken.first().copied().unwrap_or(0);
        let mut result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            executor.run(task, &missing, lane)
        }))
        .unwrap_or_else(|_| TaskResult::panicked());
        result.slot = Some(lane);

        guard = board.lock().unwrap_or_else(|e| e.into_inner());
        guard.running -= 1;
        // A slot is free when the last task in its lane ended.
        for &s in &taken {
            guard.holders[s] -= 1;
            if guard.holders[s] == 0 {
                guard.free += 1;
                guard.lines[s] = None;
            }
        }
        if guard.ledger.settle(schedule, downstream, id, result) {
            guard.stopped = true;
        }
        if guard.idle > 0 {
            wakeups.changed.notify_all();
        }
    }
}

/// The condition variables of a run.
struct Wakeups<'a> {
    changed: &'a Condvar,
    finished: &'a Condvar,
}

/// Marks every wanted task that depends on `failed` as skipped (naming
/// it as the cause), except partial tasks: those only note the upstream
/// task that did not succeed, and become ready once the others are done
/// (skipped too if none of them succeeded).
fn skip_downstream(
    failed: TaskId,
    schedule: &Schedule<'_>,
    downstream: &[Vec<TaskId>],
    board: &mut Ledger<'_, '_>,
) {
    let plan = schedule.plan;
    let mut stack: Vec<(TaskId, TaskId)> =
        downstream[failed].iter().map(|&d| (d, failed)).collect();
    while let Some((id, via)) = stack.pop() {
        if !schedule.wanted[id] || board.results[id].is_some() {
            continue;
        }
        if schedule.is_partial(id) {
            board.missing[id].push(via);
            board.waiting[id] -= 1;
            if board.waiting[id] > 0 {
                continue;
            }
            if board.missing[id].len() < plan.tasks[id].upstream.len() {
                schedule.enqueue(&mut board.ready, id);
                continue;
            }
        }
        let result = TaskResult::not_run(Outcome::SkippedUpstream(failed));
        board.progress.task_finished(&plan.tasks[id], &result);
        board.results[id] = Some(result);
        stack.extend(downstream[id].iter().map(|&d| (d, id)));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::exec::progress::Silent;
    use crate::exec::task::Failure;
    use crate::plan::Command;
    use proptest::prelude::*;
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering::SeqCst;

    /// A fake executor's result: ok, or failed with exit code 1.
    pub(crate) fn finished(failed: bool) -> TaskResult {
        let outcome = if failed {
            Outcome::Failed(Failure {
                reason: "exit code 1".into(),
                exit_code: Some(1),
                signal: None,
                stderr_tail: vec![],
                interrupted: false,
                step_wide: false,
            })
        } else {
            Outcome::Succeeded
        };
        TaskResult {
            attempts: 1,
            ..TaskResult::not_run(outcome)
        }
    }

    /// Records the order tasks start in; fails the keys it is told to.
    struct Fake {
        started: Mutex<Vec<String>>,
        fail: Vec<&'static str>,
    }

    impl Executor for Fake {
        fn run(&self, task: &Task, _failed: &[TaskId], _lane: usize) -> TaskResult {
            self.started.lock().unwrap().push(task.key.clone());
            finished(self.fail.contains(&task.key.as_str()))
        }
        fn stop(&self) {}
    }

    fn task(id: usize, key: &str, upstream: Vec<usize>) -> Task {
        Task {
            id,
            step: 0,
            key: key.to_owned(),
            inputs: Vec::new().into(),
            outputs: vec![PathBuf::from(key)].into(),
            batch: None,
            upstream,
            command: Command::Argv(Vec::new()),
            invalid: None,
            failed: None,
        }
    }

    /// a -> c, b -> d, (c, d) -> e
    fn diamond() -> Plan {
        Plan {
            tasks: vec![
                task(0, "a", vec![]),
                task(1, "b", vec![]),
                task(2, "c", vec![0]),
                task(3, "d", vec![1]),
                task(4, "e", vec![2, 3]),
            ],
            step_tasks: vec![],
            input_files: vec![],
        }
    }

    const NONE_DONE: &[bool] = &[false; 5];

    fn schedule<'a>(plan: &'a Plan, wanted: &'a [bool], fail_fast: bool) -> Schedule<'a> {
        Schedule {
            plan,
            wanted,
            up_to_date: NONE_DONE,
            slots: vec![1; plan.tasks.len()],
            priority: vec![0, 0, 1, 1, 2],
            order: vec![0; 5],
            jobs: 1,
            fail_fast,
            partial: Vec::new(),
        }
    }

    #[test]
    fn downstream_runs_before_other_roots_with_one_slot() {
        let plan = diamond();
        let wanted = vec![true; 5];
        let fake = Fake {
            started: Mutex::new(vec![]),
            fail: vec![],
        };
        let results = run(
            &schedule(&plan, &wanted, false),
            &fake,
            &mut Silent,
            &|| false,
        );
        assert!(
            results
                .iter()
                .all(|r| matches!(r.as_ref().unwrap().outcome, Outcome::Succeeded))
        );
        // `c` is preferred over the other root `b` as soon as `a` is done.
        assert_eq!(*fake.started.lock().unwrap(), vec!["a", "c", "b", "d", "e"]);
    }

    #[test]
    fn equal_priority_goes_by_order_then_id() {
        // Two steps over the same two inputs: a0 a1 (step a), b0 b1 (step b).
        let plan = Plan {
            tasks: ["a0", "a1", "b0", "b1"]
                .iter()
                .enumerate()
                .map(|(id, key)| task(id, key, vec![]))
                .collect(),
            step_tasks: vec![],
            input_files: vec![],
        };
        let wanted = vec![true; 4];
        let fake = Fake {
            started: Mutex::new(vec![]),
            fail: vec![],
        };
        let schedule = Schedule {
            priority: vec![0; 4],
            order: vec![0, 1, 0, 1],
            up_to_date: &[false; 4],
            slots: vec![1; 4],
            ..schedule(&plan, &wanted, false)
        };
        run(&schedule, &fake, &mut Silent, &|| false);
        // The tasks of one input run one after the other.
        assert_eq!(*fake.started.lock().unwrap(), vec!["a0", "b0", "a1", "b1"]);
    }

    #[test]
    fn failure_skips_only_dependents() {
        let plan = diamond();
        let wanted = vec![true; 5];
        let fake = Fake {
            started: Mutex::new(vec![]),
            fail: vec!["a"],
        };
        let results = run(
            &schedule(&plan, &wanted, false),
            &fake,
            &mut Silent,
            &|| false,
        );
        let outcome = |i: usize| results[i].as_ref().unwrap().outcome.clone();
        assert!(matches!(outcome(0), Outcome::Failed(_)));
        assert!(matches!(outcome(1), Outcome::Succeeded));
        assert!(matches!(outcome(2), Outcome::SkippedUpstream(_)));
        assert!(matches!(outcome(3), Outcome::Succeeded));
        assert!(matches!(outcome(4), Outcome::SkippedUpstream(_)));
    }

    /// Records what each task was told had failed upstream of it.
    struct Partial {
        told: Mutex<Vec<(String, Vec<usize>)>>,
        fail: Vec<&'static str>,
    }

    impl Executor for Partial {
        fn run(&self, task: &Task, failed: &[TaskId], _lane: usize) -> TaskResult {
            self.told
                .lock()
                .unwrap()
                .push((task.key.clone(), failed.to_vec()));
            finished(self.fail.contains(&task.key.as_str()))
        }
        fn stop(&self) {}
    }

    #[test]
    fn a_partial_task_runs_without_what_failed_and_a_skip_names_its_cause() {
        // a -> c, b -> d, (c, d) -> e; a fails: c is skipped because of a;
        // e is partial and runs, told that c did not succeed.
        let plan = diamond();
        let wanted = vec![true; 5];
        let executor = Partial {
            told: Mutex::new(vec![]),
            fail: vec!["a"],
        };
        let mut s = schedule(&plan, &wanted, false);
        s.partial = vec![false, false, false, false, true];
        let results = run(&s, &executor, &mut Silent, &|| false);
        assert!(matches!(
            results[2].as_ref().unwrap().outcome,
            Outcome::SkippedUpstream(0)
        ));
        assert!(matches!(
            results[4].as_ref().unwrap().outcome,
            Outcome::Succeeded
        ));
        let told = executor.told.lock().unwrap();
        assert!(told.contains(&("e".to_owned(), vec![2])), "{told:?}");

        // Both sides failed: nothing to run over, so it is skipped.
        let executor = Partial {
            told: Mutex::new(vec![]),
            fail: vec!["a", "b"],
        };
        let results = run(&s, &executor, &mut Silent, &|| false);
        assert!(matches!(
            results[4].as_ref().unwrap().outcome,
            Outcome::SkippedUpstream(_)
        ));
        assert!(!executor.told.lock().unwrap().iter().any(|(k, _)| k == "e"));
    }

    #[test]
    fn fail_fast_starts_nothing_more() {
        let plan = diamond();
        let wanted = vec![true; 5];
        let fake = Fake {
            started: Mutex::new(vec![]),
            fail: vec!["a"],
        };
        let results = run(&schedule(&plan, &wanted, true), &fake, &mut Silent, &|| {
            false
        });
        assert_eq!(*fake.started.lock().unwrap(), vec!["a"]);
        assert!(matches!(
            results[1].as_ref().unwrap().outcome,
            Outcome::NotRun
        ));
    }

    #[test]
    fn up_to_date_tasks_count_as_done() {
        let plan = diamond();
        let wanted = vec![true; 5];
        let fake = Fake {
            started: Mutex::new(vec![]),
            fail: vec![],
        };
        let mut s = schedule(&plan, &wanted, false);
        let done = [true, true, false, true, false];
        s.up_to_date = &done;
        let results = run(&s, &fake, &mut Silent, &|| false);
        assert_eq!(*fake.started.lock().unwrap(), vec!["c", "e"]);
        assert!(matches!(
            results[0].as_ref().unwrap().outcome,
            Outcome::UpToDate
        ));
    }

    /// Stamps each task's start and end on one clock, fails the tasks it is
    /// told to, and tracks the pool slots in use.
    struct Clock {
        now: AtomicUsize,
        started: Mutex<Vec<Option<usize>>>,
        finished: Mutex<Vec<Option<usize>>>,
        fail: Vec<bool>,
        slots: Vec<usize>,
        in_use: AtomicUsize,
        most_in_use: AtomicUsize,
    }

    impl Executor for Clock {
        fn run(&self, task: &Task, _failed: &[TaskId], _lane: usize) -> TaskResult {
            let slots = self.slots[task.id];
            let in_use = self.in_use.fetch_add(slots, SeqCst) + slots;
            self.most_in_use.fetch_max(in_use, SeqCst);
            let start = self.now.fetch_add(1, SeqCst);
            self.started.lock().unwrap()[task.id] = Some(start);
            std::thread::yield_now();
            self.in_use.fetch_sub(slots, SeqCst);
            let end = self.now.fetch_add(1, SeqCst);
            self.finished.lock().unwrap()[task.id] = Some(end);
            finished(self.fail[task.id])
        }
        fn stop(&self) {}
    }

    /// A random DAG: task `order[j]` reads a random subset of the tasks
    /// placed before it, so ids are in no particular order.
    /// A random DAG and how to run it.
    #[derive(Debug, Clone)]
    struct Dag {
        upstream: Vec<Vec<usize>>,
        fail: Vec<bool>,
        slots: Vec<usize>,
        priority: Vec<usize>,
        order: Vec<usize>,
        jobs: usize,
    }

    fn dag() -> impl Strategy<Value = Dag> {
        (1usize..24).prop_flat_map(|n| {
            (
                proptest::collection::vec(
                    proptest::collection::vec(proptest::bool::weighted(0.2), n),
                    n,
                ),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                proptest::collection::vec(proptest::bool::weighted(0.1), n),
                proptest::collection::vec(1usize..4, n),
                proptest::collection::vec(0usize..4, n),
                proptest::collection::vec(0usize..8, n),
                1usize..5,
            )
                .prop_map(|(edges, order, fail, slots, priority, rank, jobs)| {
                    let n = order.len();
                    let mut upstream = vec![Vec::new(); n];
                    for j in 0..n {
                        for i in 0..j {
                            if edges[j][i] {
                                upstream[order[j]].push(order[i]);
                            }
                        }
                    }
                    Dag {
                        upstream,
                        fail,
                        slots,
                        priority,
                        order: rank,
                        jobs,
                    }
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Whatever order the scheduler picks: a task starts only after
        /// every task it reads has finished and succeeded, a task under a
        /// failure never starts, every other task runs once, and the pool's
        /// slots are never overbooked.
        #[test]
        fn every_order_respects_every_edge(dag in dag()) {
            let Dag { upstream, fail, slots, priority, order, jobs } = dag;
            let n = upstream.len();
            let plan = Plan {
                tasks: upstream
                    .iter()
                    .enumerate()
                    .map(|(id, up)| task(id, &format!("t{id}"), up.clone()))
                    .collect(),
                step_tasks: vec![],
                input_files: vec![],
            };
            let wanted = vec![true; n];
            let up_to_date = vec![false; n];
            let clock = Clock {
                now: AtomicUsize::new(0),
                started: Mutex::new(vec![None; n]),
                finished: Mutex::new(vec![None; n]),
                fail: fail.clone(),
                slots: slots.iter().map(|s| (*s).clamp(1, jobs)).collect(),
                in_use: AtomicUsize::new(0),
                most_in_use: AtomicUsize::new(0),
            };
            let schedule = Schedule {
                plan: &plan,
                wanted: &wanted,
                up_to_date: &up_to_date,
                slots: slots.clone(),
                priority,
                order,
                jobs,
                fail_fast: false,
                partial: Vec::new(),
            };
            let results = run(&schedule, &clock, &mut Silent, &|| false);
            let started = clock.started.lock().unwrap().clone();
            let finished = clock.finished.lock().unwrap().clone();
            // Tasks with a failed task upstream (in id order of a DAG walk).
            let mut doomed = vec![false; n];
            let mut changed = true;
            while changed {
                changed = false;
                for id in 0..n {
                    let bad = upstream[id].iter().any(|&u| fail[u] || doomed[u]);
                    if bad && !doomed[id] {
                        doomed[id] = true;
                        changed = true;
                    }
                }
            }
            for id in 0..n {
                let outcome = &results[id].as_ref().unwrap().outcome;
                if doomed[id] {
                    prop_assert!(started[id].is_none(), "task {id} started under a failure");
                    prop_assert!(matches!(outcome, Outcome::SkippedUpstream(_)), "{id}: {outcome:?}");
                    continue;
                }
                let start = started[id];
                prop_assert!(start.is_some(), "task {id} never started");
                for &up in &upstream[id] {
                    prop_assert!(
                        finished[up].is_some_and(|end| end < start.unwrap()),
                        "task {id} started at {start:?} before {up} finished at {:?}",
                        finished[up]
                    );
                }
                if fail[id] {
                    prop_assert!(matches!(outcome, Outcome::Failed(_)), "{id}: {outcome:?}");
                } else {
                    prop_assert!(matches!(outcome, Outcome::Succeeded), "{id}: {outcome:?}");
                }
            }
            prop_assert!(clock.most_in_use.load(SeqCst) <= jobs);
        }
    }

    /// Task `long` runs until `s1` has finished.
    struct Gate {
        small_done: Mutex<std::sync::mpsc::Sender<()>>,
        long_waits: Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Executor for Gate {
        fn run(&self, task: &Task, _failed: &[TaskId], _lane: usize) -> TaskResult {
            let outcome = match task.key.as_str() {
                // A hang guard, not a time limit: the old rule never starts
                // `s1` while `long` runs, so `long` would wait forever.
                "long" => match self
                    .long_waits
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(60))
                {
                    Ok(()) => Outcome::Succeeded,
                    Err(_) => Outcome::Failed(Failure {
                        reason: "no small task ran beside it".into(),
                        exit_code: None,
                        signal: None,
                        stderr_tail: vec![],
                        interrupted: false,
                        step_wide: false,
                    }),
                },
                "s1" => {
                    let _ = self.small_done.lock().unwrap().send(());
                    Outcome::Succeeded
                }
                _ => Outcome::Succeeded,
            };
            TaskResult {
                attempts: 1,
                ..TaskResult::not_run(outcome)
            }
        }
        fn stop(&self) {}
    }

    /// Two slots. `long` (1 slot) runs first; `big` (2 slots) ranks next and
    /// cannot start beside it; `s1`, `s2`, `s3` (1 slot) rank last. The free
    /// slot is not left idle: small tasks start beside `long`, but at most
    /// `jobs` (2) of them pass `big`, which then starts before `s3`.
    #[test]
    fn small_tasks_use_free_slots_but_a_big_task_is_not_starved() {
        let plan = Plan {
            tasks: ["long", "big", "s1", "s2", "s3"]
                .iter()
                .enumerate()
                .map(|(id, key)| task(id, key, vec![]))
                .collect(),
            step_tasks: vec![],
            input_files: vec![],
        };
        let wanted = vec![true; 5];
        let (small_done, long_waits) = std::sync::mpsc::channel();
        let gate = Gate {
            small_done: Mutex::new(small_done),
            long_waits: Mutex::new(long_waits),
        };
        let schedule = Schedule {
            slots: vec![1, 2, 1, 1, 1],
            priority: vec![3, 2, 1, 1, 1],
            order: vec![0; 5],
            jobs: 2,
            up_to_date: &[false; 5],
            ..schedule(&plan, &wanted, false)
        };
        let mut starts = Starts(vec![]);
        let results = run(&schedule, &gate, &mut starts, &|| false);
        assert!(
            results
                .iter()
                .all(|r| matches!(r.as_ref().unwrap().outcome, Outcome::Succeeded)),
            "{results:?}"
        );
        assert_eq!(starts.0, vec!["long", "s1", "s2", "big", "s3"]);
    }

    /// The order in which the scheduler starts tasks (recorded under its
    /// lock, so in the order it decided).
    struct Starts(Vec<String>);

    impl Progress for Starts {
        fn task_started(&mut self, task: &Task) {
            self.0.push(task.key.clone());
        }
        fn task_finished(&mut self, _: &Task, _: &TaskResult) {}
    }

    #[test]
    fn unwanted_tasks_are_left_alone() {
        let plan = diamond();
        let wanted = vec![true, false, true, false, false];
        let fake = Fake {
            started: Mutex::new(vec![]),
            fail: vec![],
        };
        let results = run(
            &schedule(&plan, &wanted, false),
            &fake,
            &mut Silent,
            &|| false,
        );
        assert_eq!(*fake.started.lock().unwrap(), vec!["a", "c"]);
        assert!(results[4].is_none());
    }
}
