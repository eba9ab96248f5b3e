//! Per step of a recorded run: its counts, the total and the spread of its
//! task times (p50, p95, max) and its slowest tasks.

use std::time::Duration;

use serde::Serialize;

use crate::state::db::{RunCounts, TaskStatus};
use crate::state::recorded::TaskRecord;

/// Slowest tasks listed per step.
const SLOWEST: usize = 5;

/// One slow task.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SlowTask {
    /// Its key.
    pub(crate) key: String,
    /// How long it took.
    pub(crate) time: String,
    /// How it ended.
    pub(crate) status: TaskStatus,
}

/// One row of the steps table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StepStats {
    /// Step name.
    pub(crate) name: String,
    /// `step` or `plot`.
    pub(crate) kind: &'static str,
    /// Tasks in the run (up to date ones included).
    pub(crate) tasks: usize,
    /// Succeeded.
    pub(crate) ok: usize,
    /// Failed (or interrupted).
    pub(crate) failed: usize,
    /// Not run.
    pub(crate) skipped: usize,
    /// Up to date.
    pub(crate) up_to_date: usize,
    /// Summed time of its tasks.
    pub(crate) total: String,
    /// Median task time ("" when none ran).
    pub(crate) p50: String,
    /// 95th percentile of task times.
    pub(crate) p95: String,
    /// Longest task.
    pub(crate) max: String,
    /// The most memory one of its tasks used ("" when unknown).
    pub(crate) memory: String,
    /// Which task that was.
    pub(crate) memory_key: String,
    /// The slowest tasks, slowest first.
    pub(crate) slowest: Vec<SlowTask>,
}

/// The rows of the steps table, in `steps` order (name and whether it is a
/// plot), for the steps with tasks in the run. `counts` are the run's
/// recorded per-step counts; a run that did not end has none, and its counts
/// come from its task rows.
pub(crate) fn per_step(
    steps: &[(&str, bool)],
    counts: &[(String, RunCounts)],
    tasks: &[TaskRecord],
) -> Vec<StepStats> {
    steps
        .iter()
        .filter_map(|&(name, is_plot)| {
            let rows: Vec<&TaskRecord> = tasks.iter().filter(|t| t.step == name).collect();
            let c = counts
                .iter()
                .find(|(s, _)| s == name)
                .map(|(_, c)| *c)
                .unwrap_or_else(|| counts_of(&rows));
            let tasks = c.ok + c.failed + c.skipped + c.up_to_date;
            if tasks == 0 {
                return None;
            }
            let mut ran: Vec<(&TaskRecord, Duration)> = rows
                .iter()
                .filter(|t| {
                    matches!(
                        t.status,
                        TaskStatus::Ok | TaskStatus::Failed | TaskStatus::Interrupted
                    )
                })
                .map(|t| (*t, millis(t.duration_ms)))
                .collect();
            ran.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.key.cmp(&b.0.key)));
            let mut times: Vec<Duration> = ran.iter().map(|(_, d)| *d).collect();
            times.sort_unstable();
            let shown = |d: Option<Duration>| d.map(duration).unwrap_or_default();
            let hungriest = rows
                .iter()
                .filter_map(|t| Some((t.peak_memory?, &t.key)))
                .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)));
            Some(StepStats {
                name: name.to_owned(),
                kind: if is_plot { "plot" } else { "step" },
                tasks,
                ok: c.ok,
                failed: c.failed,
                skipped: c.skipped,
                up_to_date: c.up_to_date,
                total: if times.is_empty() {
                    String::new()
                } else {
                    duration(times.iter().sum())
                },
                p50: shown(percentile(&times, 50)),
                p95: shown(percentile(&times, 95)),
                max: shown(times.last().copied()),
                memory: hungriest.map(|(m, _)| bytes(m)).unwrap_or_default(),
                memory_key: hungriest.map(|(_, k)| k.clone()).unwrap_or_default(),
                slowest: ran
                    .iter()
                    .take(SLOWEST)
                    .map(|(t, d)| SlowTask {
                        key: t.key.clone(),
                        time: duration(*d),
                        status: t.status,
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Counts from task rows alone (a run that did not end).
fn counts_of(rows: &[&TaskRecord]) -> RunCounts {
    let mut c = RunCounts::default();
    for t in rows {
        match t.status {
            TaskStatus::Ok => c.ok += 1,
            TaskStatus::Failed | TaskStatus::Interrupted => c.failed += 1,
            TaskStatus::Skipped | TaskStatus::NotRun => c.skipped += 1,
        }
    }
    c
}

/// A recorded duration.
pub(crate) fn millis(ms: Option<i64>) -> Duration {
    Duration::from_millis(ms.unwrap_or(0).max(0) as u64)
}

/// The `p`th percentile of sorted times (nearest rank).
fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// A size in bytes for people: `812 KB`, `1.4 MB`, `12 GB` (powers of 1024).
pub(crate) fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// A duration for people: `4ms`, `420ms`, `1.42s`, `12.3s`, `4m05s`, `2h07m`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{}ms", d.as_millis())
    } else if s < 60.0 {
        crate::report::seconds(d)
    } else if s < 3600.0 {
        let s = s.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let m = (s / 60.0).round() as u64;
        format!("{}h{:02}m", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(step: &str, key: &str, status: &str, ms: i64) -> TaskRecord {
        let status = TaskStatus::parse(status).unwrap();
        TaskRecord {
            step: step.into(),
            key: key.into(),
            status,
            reason: None,
            started_at: None,
            duration_ms: Some(ms),
            stderr_tail: None,
            log_path: None,
            slot: None,
            peak_memory: Some(ms * 1024),
        }
    }

    #[test]
    fn percentiles_and_slowest() {
        let tasks: Vec<TaskRecord> = (1..=20)
            .map(|i| {
                task(
                    "a",
                    &format!("k{i}"),
                    if i == 7 { "failed" } else { "ok" },
                    i * 100,
                )
            })
            .chain([task("a", "s", "skipped", 0)])
            .collect();
        let counts = vec![(
            "a".to_owned(),
            RunCounts {
                ok: 19,
                failed: 1,
                skipped: 1,
                up_to_date: 4,
            },
        )];
        let stats = per_step(&[("a", false), ("b", true)], &counts, &tasks);
        assert_eq!(stats.len(), 1, "a step without tasks has no row");
        let a = &stats[0];
        assert_eq!(a.tasks, 25);
        assert_eq!(
            (a.p50.as_str(), a.p95.as_str(), a.max.as_str()),
            ("1.00s", "1.90s", "2.00s")
        );
        assert_eq!(a.total, "21.0s");
        assert_eq!(
            (a.memory.as_str(), a.memory_key.as_str()),
            ("2.0 MB", "k20")
        );
        let slowest: Vec<&str> = a.slowest.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(slowest, ["k20", "k19", "k18", "k17", "k16"]);
    }

    #[test]
    fn counts_from_rows_when_the_run_did_not_end() {
        let tasks = vec![task("a", "x", "ok", 1), task("a", "y", "interrupted", 1)];
        let stats = per_step(&[("a", false)], &[], &tasks);
        assert_eq!((stats[0].ok, stats[0].failed), (1, 1));
    }

    #[test]
    fn durations_read_well() {
        let s = Duration::from_secs_f64;
        assert_eq!(duration(s(0.4234)), "423ms");
        assert_eq!(duration(s(0.004)), "4ms");
        assert_eq!(duration(s(1.4234)), "1.42s");
        assert_eq!(duration(s(245.0)), "4m05s");
        assert_eq!(duration(s(7620.0)), "2h07m");
        assert_eq!(bytes(900), "900 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(300 << 20), "300 MB");
    }
}
