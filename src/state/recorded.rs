//! Reads of what earlier runs recorded, for the progress estimate and the
//! run report: task times per step, the tasks of one run, the last result
//! of each task of some steps.

use std::time::Duration;

use rusqlite::{Connection, params};

/// Runs looked at for a step's task times, newest first.
const TIMED_RUNS: i64 = 10;
/// Task times taken per step, at most.
const TIMED_TASKS: usize = 1000;

/// Per step name in `steps`: the median time of its successful tasks in the
/// last runs (the newest first, at most `TIMED_TASKS` tasks from the last
/// `TIMED_RUNS` runs); `None` for a step no earlier run timed.
pub(crate) fn median_task_times(
    conn: &Connection,
    steps: &[Option<&str>],
) -> rusqlite::Result<Vec<Option<Duration>>> {
    let runs: Vec<i64> = conn
        .prepare("SELECT id FROM runs ORDER BY id DESC LIMIT ?1")?
        .query_map([TIMED_RUNS], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT duration_ms FROM tasks WHERE run_id = ?1 AND step = ?2 AND status = 'ok' \
         AND duration_ms IS NOT NULL LIMIT ?3",
    )?;
    let mut medians = Vec::with_capacity(steps.len());
    for step in steps {
        let Some(step) = step else {
            medians.push(None);
            continue;
        };
        let mut times = Vec::new();
        for &run in &runs {
            let want = TIMED_TASKS - times.len();
            let rows = stmt.query_map(params![run, step, want as i64], |r| r.get::<_, i64>(0))?;
            for ms in rows {
                times.push(Duration::from_millis(ms?.max(0) as u64));
            }
            if times.len() >= TIMED_TASKS {
                break;
            }
        }
        medians.push(crate::exec::eta::median(times));
    }
    Ok(medians)
}
