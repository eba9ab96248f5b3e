//! The queue of ready tasks and the rule that picks the next one to start
//! when tasks need different numbers of pool slots (`threads`):
//!
//! - The highest-ranked ready task starts as soon as it fits in the free
//!   slots.
//! - When it does not fit (it needs more slots than are free), the
//!   highest-ranked ready task that does fit starts instead, so that free
//!   slots do not sit idle while smaller tasks wait ("backfilling").
//! - But a task that does not fit can be passed over at most `jobs` times
//!   (the pool's size); after that nothing else starts before it, the slots
//!   drain as running tasks end, and it starts. So a task that needs many
//!   slots is delayed by at most `jobs` smaller tasks, never starved.
//!   (Tasks ranked above it still go first: they would have anyway.)

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::plan::TaskId;

/// Where a ready task stands in the queue: the greatest starts first
/// (priority, then the lower order, then the lower id).
pub(crate) type Rank = (usize, Reverse<usize>, Reverse<TaskId>);

/// The task of a rank.
fn id_of(rank: Rank) -> TaskId {
    rank.2.0
}

/// Ready tasks: one heap per number of slots needed (there are few such
/// numbers), so that the best task that fits is found without a scan.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    /// (slots a task needs, the ready tasks that need that many).
    by_need: Vec<(usize, BinaryHeap<Rank>)>,
}

/// What to start next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    /// The task.
    pub(crate) id: TaskId,
    /// The slots it takes.
    pub(crate) need: usize,
    /// The higher-ranked task it passes over, which did not fit.
    pub(crate) passes: Option<TaskId>,
}

impl ReadyQueue {
    /// Adds a ready task that needs `need` slots.
    pub(crate) fn push(&mut self, need: usize, rank: Rank) {
        match self.by_need.iter_mut().find(|(n, _)| *n == need) {
            Some((_, heap)) => heap.push(rank),
            None => self.by_need.push((need, BinaryHeap::from([rank]))),
        }
    }

    /// No task is ready.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_need.iter().all(|(_, heap)| heap.is_empty())
    }

    /// How many tasks are ready.
    pub(crate) fn len(&self) -> usize {
        self.by_need.iter().map(|(_, heap)| heap.len()).sum()
    }

    /// Takes the best ready task out, whatever it needs (SLURM's waves,
    /// where slots are not counted here).
    pub(crate) fn pop(&mut self) -> Option<TaskId> {
        let (need, _) = self.best(usize::MAX)?;
        let (_, heap) = self.by_need.iter_mut().find(|(n, _)| *n == need)?;
        heap.pop().map(id_of)
    }

    /// The best ready task, whatever it needs (left in the queue).
    pub(crate) fn top(&self) -> Option<Choice> {
        let (need, rank) = self.best(usize::MAX)?;
        Some(Choice {
            id: id_of(rank),
            need,
            passes: None,
        })
    }

    /// The best ready task among those needing at most `free` slots.
    fn best(&self, free: usize) -> Option<(usize, Rank)> {
        self.by_need
            .iter()
            .filter(|(need, _)| *need <= free)
            .filter_map(|(need, heap)| heap.peek().map(|&rank| (*need, rank)))
            .max_by_key(|&(_, rank)| rank)
    }

    /// The task to start with `free` slots by the rule of this module, given
    /// how often each task was passed over (`passed_over[id]`) and the most
    /// it may be (`limit`); `None`: nothing may start now.
    pub(crate) fn choose(&self, free: usize, passed_over: &[u32], limit: u32) -> Option<Choice> {
        let (need, top) = self.best(usize::MAX)?;
        if need <= free {
            return Some(Choice {
                id: id_of(top),
                need,
                passes: None,
            });
        }
        if passed_over[id_of(top)] >= limit {
            return None; // drain the pool for it
        }
        let (need, rank) = self.best(free)?;
        Some(Choice {
            id: id_of(rank),
            need,
            passes: Some(id_of(top)),
        })
    }

    /// Takes the chosen task out of the queue.
    pub(crate) fn take(&mut self, choice: Choice) {
        if let Some((_, heap)) = self.by_need.iter_mut().find(|(n, _)| *n == choice.need) {
            let popped = heap.pop().map(id_of);
            debug_assert_eq!(popped, Some(choice.id), "the chosen task tops its heap");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(priority: usize, id: TaskId) -> Rank {
        (priority, Reverse(0), Reverse(id))
    }

    #[test]
    fn the_best_task_that_fits_starts_and_a_big_one_is_not_starved() {
        // Task 0 needs 4 slots and ranks first; 1, 2, 3 need one each.
        let mut queue = ReadyQueue::default();
        queue.push(4, rank(9, 0));
        for id in 1..=3 {
            queue.push(1, rank(5 - id, id));
        }
        let mut passed = vec![0u32; 4];
        // All 4 slots free: the big task starts first.
        let choice = queue.choose(4, &passed, 4).unwrap();
        assert_eq!(
            choice,
            Choice {
                id: 0,
                need: 4,
                passes: None
            }
        );
        // Only 2 free: the best small one starts, passing the big one.
        let choice = queue.choose(2, &passed, 4).unwrap();
        assert_eq!(
            choice,
            Choice {
                id: 1,
                need: 1,
                passes: Some(0)
            }
        );
        // Passed over `limit` times: nothing else starts before it.
        passed[0] = 4;
        assert_eq!(queue.choose(2, &passed, 4), None);
        assert_eq!(queue.choose(4, &passed, 4).unwrap().id, 0);
        // Nothing fits and nothing may pass: nothing.
        passed[0] = 0;
        let mut big_only = ReadyQueue::default();
        big_only.push(3, rank(1, 7));
        assert_eq!(big_only.choose(2, &[0; 8], 4), None);
    }

    #[test]
    fn take_removes_the_chosen_task() {
        let mut queue = ReadyQueue::default();
        queue.push(2, rank(1, 0));
        queue.push(1, rank(0, 1));
        let first = queue.choose(1, &[0, 0], 2).unwrap();
        assert_eq!(first.id, 1);
        queue.take(first);
        assert!(!queue.is_empty());
        let second = queue.choose(2, &[1, 0], 2).unwrap();
        assert_eq!(second.id, 0);
        queue.take(second);
        assert!(queue.is_empty());
    }
}
