//! The time a run has left, from the task times of the same steps in
//! earlier runs (the median of their last successful tasks) until this run
//! has timed enough tasks of its own: so the first minutes of a long run
//! already show a sensible estimate (issue 14).

use std::time::Duration;

use crate::config::Pipeline;
use crate::exec::task::{Outcome, TaskResult};
use crate::plan::Plan;

/// Tasks of a step this run must have timed before their mean replaces the
/// earlier runs' median (at least this many, and at least one per slot).
const OWN_TIMINGS: usize = 3;

/// Per step: tasks left, and what one of them takes.
pub(crate) struct Estimator {
    jobs: usize,
    /// Per step: the median task time of earlier runs.
    earlier: Vec<Option<Duration>>,
    /// Per step: pool slots one task takes.
    threads: Vec<usize>,
    /// Per step: wanted tasks not finished yet.
    left: Vec<usize>,
    /// Per step: the summed time and the number of tasks that ran in this run.
    timed: Vec<(Duration, usize)>,
}

impl Estimator {
    /// Counts the tasks of every step that will run (`to_run`: wanted and
    /// not up to date); `earlier` is per step.
    pub(crate) fn new(
        pipeline: &Pipeline,
        plan: &Plan,
        to_run: &[bool],
        earlier: &[Option<Duration>],
        jobs: usize,
    ) -> Estimator {
        let steps = pipeline.steps.len();
        Estimator {
            jobs: jobs.max(1),
            earlier: (0..steps)
                .map(|s| earlier.get(s).copied().flatten())
                .collect(),
            threads: pipeline
                .steps
                .iter()
                .map(|s| s.threads.clamp(1, jobs.max(1)))
                .collect(),
            left: plan
                .step_tasks
                .iter()
                .map(|ids| ids.iter().filter(|&&id| to_run[id]).count())
                .collect(),
            timed: vec![(Duration::ZERO, 0); steps],
        }
    }

    /// A task of `step` finished or was skipped (one found up to date was
    /// never counted).
    pub(crate) fn finished(&mut self, step: usize, result: &TaskResult) {
        if matches!(result.outcome, Outcome::UpToDate) {
            return;
        }
        self.left[step] = self.left[step].saturating_sub(1);
        let ran = match &result.outcome {
            Outcome::Succeeded => true,
            Outcome::Failed(f) => !f.interrupted && result.attempts > 0,
            _ => false,
        };
        if ran {
            let (sum, count) = &mut self.timed[step];
            *sum += result.duration;
            *count += 1;
        }
    }

    /// What one task of `step` takes: this run's mean once it has timed
    /// enough of them (or when earlier runs did not), else earlier runs'.
    fn task_time(&self, step: usize) -> Option<Duration> {
        let (sum, count) = self.timed[step];
        let own = (count > 0).then(|| sum / count as u32);
        if count >= OWN_TIMINGS.max(self.jobs) {
            own
        } else {
            self.earlier[step].or(own)
        }
    }

    /// Time left for the steps in `steps`, sharing the pool: their work
    /// spread over the slots their tasks can fill; `None` when a step with
    /// tasks left has no time to go by.
    fn left_for(&self, steps: impl Iterator<Item = usize>) -> Option<Duration> {
        let mut work = Duration::ZERO;
        let mut slots = 0;
        for s in steps.filter(|&s| self.left[s] > 0) {
            let per_task = self.task_time(s)?;
            work += per_task * (self.left[s] * self.threads[s]) as u32;
            slots += self.left[s] * self.threads[s];
        }
        Some(work / slots.clamp(1, self.jobs) as u32)
    }

    /// Time left for the whole run.
    pub(crate) fn total_left(&self) -> Option<Duration> {
        self.left_for(0..self.left.len())
    }

    /// Time left for one step's tasks, were they alone on the pool.
    pub(crate) fn step_left(&self, step: usize) -> Option<Duration> {
        self.left_for(std::iter::once(step))
    }
}

/// The median of some durations (the mean of the middle two for an even
/// count); `None` for none.
pub(crate) fn median(mut times: Vec<Duration>) -> Option<Duration> {
    if times.is_empty() {
        return None;
    }
    times.sort_unstable();
    let mid = times.len() / 2;
    Some(if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimator(left: Vec<usize>, earlier: Vec<Option<Duration>>, jobs: usize) -> Estimator {
        let steps = left.len();
        Estimator {
            jobs,
            earlier,
            threads: vec![1; steps],
            left,
            timed: vec![(Duration::ZERO, 0); steps],
        }
    }

    fn ok(ms: u64) -> TaskResult {
        TaskResult {
            duration: Duration::from_millis(ms),
            attempts: 1,
            ..TaskResult::not_run(Outcome::Succeeded)
        }
    }

    #[test]
    fn earlier_runs_then_this_one() {
        let s = Duration::from_secs;
        // 10 tasks of 2 s and 4 of 1 s on 2 slots: 24 s of work, 12 s.
        let mut e = estimator(vec![10, 4], vec![Some(s(2)), Some(s(1))], 2);
        assert_eq!(e.total_left(), Some(s(12)));
        assert_eq!(e.step_left(1), Some(s(2)));
        // Two tasks of this run took 4 s: not enough to trust yet.
        e.finished(0, &ok(4000));
        e.finished(0, &ok(4000));
        assert_eq!(e.step_left(0), Some(s(8)));
        e.finished(0, &ok(4000));
        // Three timed: their mean (4 s) counts now, 7 left: 14 s.
        assert_eq!(e.step_left(0), Some(s(14)));
        // One task left, on one slot: its whole time.
        let mut e = estimator(vec![1], vec![Some(s(3))], 4);
        assert_eq!(e.total_left(), Some(s(3)));
        e.finished(0, &TaskResult::not_run(Outcome::SkippedUpstream(0)));
        assert_eq!(e.total_left(), Some(Duration::ZERO));
    }

    #[test]
    fn unknown_without_earlier_runs_until_a_task_ends() {
        let mut e = estimator(vec![3], vec![None], 1);
        assert_eq!(e.total_left(), None);
        e.finished(0, &ok(1000));
        assert_eq!(e.total_left(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn medians() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), Some(ms(3)));
        assert_eq!(median(vec![ms(4), ms(1), ms(2), ms(9)]), Some(ms(3)));
    }
}
