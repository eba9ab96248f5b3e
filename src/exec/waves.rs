//! The scheduler driven by waves, for executors that start many tasks with
//! one call (SLURM: one `sbatch --array` per wave): every ready task is
//! handed over at once, results come back in any order and whenever they
//! do, and a task's dependents become ready as soon as it is done (no stage
//! barrier, no job dependencies inside the cluster). The bookkeeping
//! (ready queue, skipping what depends on a failure) is the local
//! scheduler's `Ledger`.

use std::time::{Duration, Instant};

use crate::exec::progress::{Progress, Stopping};
use crate::exec::scheduler::{Ledger, Schedule};
use crate::exec::task::TaskResult;
use crate::plan::TaskId;

/// How long `collect` may wait before the scheduler looks again (ticks the
/// progress, checks for an interrupt, submits what became ready).
const TICK: Duration = Duration::from_millis(200);

/// When the ready tasks are worth a wave. With nothing in flight they go
/// at once; else at most one wave per `min_gap`, when `full` tasks are
/// ready or the oldest has waited `linger` (so that the tasks a running wave
/// frees one by one go out together, not one `sbatch` each).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packing {
    /// This many ready tasks make a wave worth it (a full array element).
    pub(crate) full: usize,
    /// Fewer go once the oldest of them has waited this long.
    pub(crate) linger: Duration,
    /// The shortest time between two waves while tasks are in flight.
    pub(crate) min_gap: Duration,
}

/// Starts tasks in waves and reports each task's end when it comes.
pub(crate) trait WaveExecutor {
    /// When to hand over a wave.
    fn packing(&self) -> Packing;
    /// Starts every task of a wave (ready now, in the order to run them),
    /// each with its upstream tasks that did not succeed (only ever
    /// non-empty for a partial task). Never fails: a task that cannot be
    /// started comes back from `collect` as failed.
    fn submit(&mut self, wave: &[(TaskId, Vec<TaskId>)]);
    /// Waits at most `timeout` for tasks to end; returns those that did
    /// since the last call. Every submitted task comes back exactly once.
    fn collect(&mut self, timeout: Duration) -> Vec<(TaskId, TaskResult)>;
    /// Stops everything submitted (an interrupt); what has not ended comes
    /// back from `collect` as interrupted or not run.
    fn cancel(&mut self);
}

/// Runs the schedule through a wave executor; returns a result for every
/// wanted task (`None` for the others). `stop` is polled to end the run early.
pub(crate) fn run<'a>(
    schedule: &Schedule<'_>,
    executor: &mut dyn WaveExecutor,
    progress: &mut (dyn Progress + Send + 'a),
    stop: &dyn Fn() -> bool,
) -> Vec<Option<TaskResult>> {
    let downstream = schedule.plan.downstream();
    let mut ledger = Ledger::new(schedule, &downstream, progress);
    let packing = executor.packing();
    let mut in_flight = 0usize;
    let mut stopped = false;
    let mut interrupted = false;
    let mut ready_since: Option<Instant> = None;
    let mut last_wave: Option<Instant> = None;
    loop {
        if !stopped && !ledger.ready.is_empty() {
            let since = *ready_since.get_or_insert_with(Instant::now);
            let gap = last_wave.is_none_or(|t| t.elapsed() >= packing.min_gap);
            let worth = ledger.ready.len() >= packing.full || since.elapsed() >= packing.linger;
            if in_flight == 0 || (gap && worth) {
                let mut wave = Vec::with_capacity(ledger.ready.len());
                while let Some(id) = ledger.ready.pop() {
                    ledger.progress.task_started(&schedule.plan.tasks[id]);
                    wave.push((id, std::mem::take(&mut ledger.missing[id])));
                }
                in_flight += wave.len();
                ready_since = None;
                last_wave = Some(Instant::now());
                executor.submit(&wave);
            }
        }
        if in_flight == 0 && (stopped || ledger.ready.is_empty()) {
            break;
        }
        for (id, result) in executor.collect(TICK) {
            if ledger.results[id].is_some() {
                continue; // a bug in the executor; the first result stands
            }
            in_flight = in_flight.saturating_sub(1);
            if ledger.settle(schedule, &downstream, id, result) {
                stopped = true;
            }
        }
        ledger.progress.tick();
        if !interrupted && stop() {
            interrupted = true;
            stopped = true;
            ledger.progress.stopping(Stopping::Submitted(in_flight));
            executor.cancel();
        }
    }
    ledger.finish(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::progress::Silent;
    use crate::exec::task::Outcome;
    use crate::plan::{Command, Plan, Task};
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// Runs each wave at once, in the order given, and remembers the waves;
    /// fails the tasks it is told to; when `hold` is set, a task's result
    /// comes one `collect` after its wave (so waves can overlap).
    struct Fake {
        waves: Vec<Vec<TaskId>>,
        fail: Vec<bool>,
        done: Vec<(TaskId, TaskResult)>,
        later: Vec<TaskId>,
        cancelled: bool,
        full: usize,
    }

    impl Fake {
        fn new(n: usize, fail: &[usize], full: usize) -> Fake {
            Fake {
                waves: Vec::new(),
                fail: (0..n).map(|i| fail.contains(&i)).collect(),
                done: Vec::new(),
                later: Vec::new(),
                cancelled: false,
                full,
            }
        }

        fn result(&self, id: TaskId) -> TaskResult {
            crate::exec::scheduler::tests::finished(self.fail[id])
        }
    }

    impl WaveExecutor for Fake {
        fn packing(&self) -> Packing {
            Packing {
                full: self.full,
                linger: Duration::ZERO,
                min_gap: Duration::ZERO,
            }
        }
        fn submit(&mut self, wave: &[(TaskId, Vec<TaskId>)]) {
            let ids: Vec<TaskId> = wave.iter().map(|(id, _)| *id).collect();
            self.waves.push(ids.clone());
            self.later.extend(ids);
        }
        fn collect(&mut self, _: Duration) -> Vec<(TaskId, TaskResult)> {
            let ended: Vec<TaskId> = std::mem::take(&mut self.later);
            let mut out = std::mem::take(&mut self.done);
            for id in ended {
                out.push((id, self.result(id)));
            }
            out
        }
        fn cancel(&mut self) {
            self.cancelled = true;
        }
    }

    fn task(id: usize, upstream: Vec<usize>) -> Task {
        Task {
            id,
            step: 0,
            key: format!("t{id}"),
            inputs: Vec::new().into(),
            outputs: vec![PathBuf::from(format!("t{id}"))].into(),
            batch: None,
            upstream,
            command: Command::Argv(Vec::new()),
            invalid: None,
            failed: None,
        }
    }

    fn schedule<'a>(plan: &'a Plan, wanted: &'a [bool], up_to_date: &'a [bool]) -> Schedule<'a> {
        let n = plan.tasks.len();
        Schedule {
            plan,
            wanted,
            up_to_date,
            slots: vec![1; n],
            priority: vec![0; n],
            order: vec![0; n],
            jobs: 1,
            fail_fast: false,
            partial: Vec::new(),
        }
    }

    fn plan(upstream: Vec<Vec<usize>>) -> Plan {
        Plan {
            tasks: upstream
                .into_iter()
                .enumerate()
                .map(|(id, up)| task(id, up))
                .collect(),
            step_tasks: vec![],
            input_files: vec![],
        }
    }

    #[test]
    fn every_ready_task_goes_in_one_wave_and_dependents_in_the_next() {
        // Four roots, each with one dependent.
        let plan = plan(vec![
            vec![],
            vec![],
            vec![],
            vec![],
            vec![0],
            vec![1],
            vec![2],
            vec![3],
        ]);
        let wanted = vec![true; 8];
        let none = vec![false; 8];
        let mut fake = Fake::new(8, &[], 1);
        let results = run(
            &schedule(&plan, &wanted, &none),
            &mut fake,
            &mut Silent,
            &|| false,
        );
        assert_eq!(fake.waves, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        assert!(
            results
                .iter()
                .all(|r| matches!(r.as_ref().unwrap().outcome, Outcome::Succeeded))
        );
    }

    #[test]
    fn a_failure_skips_its_dependents_only() {
        let plan = plan(vec![vec![], vec![], vec![0], vec![1]]);
        let wanted = vec![true; 4];
        let none = vec![false; 4];
        let mut fake = Fake::new(4, &[0], 1);
        let results = run(
            &schedule(&plan, &wanted, &none),
            &mut fake,
            &mut Silent,
            &|| false,
        );
        assert_eq!(fake.waves, vec![vec![0, 1], vec![3]]);
        let outcome = |i: usize| results[i].as_ref().unwrap().outcome.clone();
        assert!(matches!(outcome(0), Outcome::Failed(_)));
        assert!(matches!(outcome(2), Outcome::SkippedUpstream(_)));
        assert!(matches!(outcome(3), Outcome::Succeeded));
    }

    #[test]
    fn an_interrupt_cancels_and_starts_nothing_more() {
        let plan = plan(vec![vec![], vec![0]]);
        let wanted = vec![true; 2];
        let none = vec![false; 2];
        let mut fake = Fake::new(2, &[], 1);
        let results = run(
            &schedule(&plan, &wanted, &none),
            &mut fake,
            &mut Silent,
            &|| true,
        );
        assert!(fake.cancelled);
        assert_eq!(fake.waves, vec![vec![0]]);
        assert!(matches!(
            results[1].as_ref().unwrap().outcome,
            Outcome::NotRun
        ));
    }

    #[test]
    fn up_to_date_tasks_are_not_submitted() {
        let plan = plan(vec![vec![], vec![0], vec![]]);
        let wanted = vec![true; 3];
        let done = vec![true, false, false];
        let mut fake = Fake::new(3, &[], 1);
        run(
            &schedule(&plan, &wanted, &done),
            &mut fake,
            &mut Silent,
            &|| false,
        );
        assert_eq!(fake.waves, vec![vec![1, 2]]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the graph: every task is submitted at most once, only
        /// after every task it reads succeeded; tasks under a failure never
        /// are; every other task ends as it ran.
        #[test]
        fn waves_respect_every_edge(
            edges in proptest::collection::vec(proptest::collection::vec(proptest::bool::weighted(0.25), 16), 16),
            fail in proptest::collection::vec(proptest::bool::weighted(0.15), 16),
            full in 1usize..6,
        ) {
            let upstream: Vec<Vec<usize>> = (0..16)
                .map(|j| (0..j).filter(|&i| edges[j][i]).collect())
                .collect();
            let plan = plan(upstream.clone());
            let wanted = vec![true; 16];
            let none = vec![false; 16];
            let failing: Vec<usize> = (0..16).filter(|&i| fail[i]).collect();
            let mut fake = Fake::new(16, &failing, full);
            let results = run(&schedule(&plan, &wanted, &none), &mut fake, &mut Silent, &|| false);
            let mut wave_of = vec![None; 16];
            for (w, wave) in fake.waves.iter().enumerate() {
                for &id in wave {
                    prop_assert!(wave_of[id].is_none(), "task {id} submitted twice");
                    wave_of[id] = Some(w);
                }
            }
            for id in 0..16 {
                let doomed = {
                    let mut stack = upstream[id].clone();
                    let mut bad = false;
                    while let Some(u) = stack.pop() {
                        bad |= fail[u];
                        stack.extend(&upstream[u]);
                    }
                    bad
                };
                let outcome = &results[id].as_ref().unwrap().outcome;
                if doomed {
                    prop_assert!(wave_of[id].is_none());
                    prop_assert!(matches!(outcome, Outcome::SkippedUpstream(_)));
                    continue;
                }
                let w = wave_of[id].expect("submitted");
                for &u in &upstream[id] {
                    prop_assert!(wave_of[u].is_some_and(|wu| wu < w), "{id} before {u}");
                }
                prop_assert_eq!(matches!(outcome, Outcome::Failed(_)), fail[id]);
            }
        }
    }
}
