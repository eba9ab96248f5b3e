//! Reads of what earlier runs recorded, for `history`, the progress
//! estimate and the run report: runs, task times per step, the tasks of one
//! run, the last result of each task of some steps.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::db::TaskStatus;

/// A run, as `history` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct RunRow {
    /// Run id.
    pub(crate) id: i64,
    /// Start (RFC 3339).
    pub(crate) started_at: String,
    /// End, unless it was killed.
    pub(crate) ended_at: Option<String>,
    /// Exit code, unless it was killed.
    pub(crate) exit_code: Option<i32>,
    /// Succeeded tasks.
    pub(crate) ok: i64,
    /// Failed tasks.
    pub(crate) failed: i64,
    /// Skipped tasks.
    pub(crate) skipped: i64,
    /// Up-to-date tasks.
    pub(crate) up_to_date: i64,
    /// The flags it was started with (`--force`, `--only=plot`, `--jobs=4`).
    pub(crate) flags: Vec<String>,
    /// Pool size (unknown for runs recorded before schema 5).
    pub(crate) jobs: Option<i64>,
    /// Wall time in milliseconds (unknown for runs that did not end, or
    /// recorded before schema 5).
    pub(crate) wall_ms: Option<i64>,
    /// The pipeline file's git commit, when it is in a git repository.
    pub(crate) git_commit: Option<String>,
    /// Whether the working tree had uncommitted changes to tracked files.
    pub(crate) git_dirty: Option<bool>,
}

/// The columns of `runs` that `RunRow` reads, in its order.
const RUN_COLUMNS: &str = "id, started_at, ended_at, exit_code, ok, failed, skipped, up_to_date, \
                           flags, jobs, wall_ms, git_commit, git_dirty";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let flags: String = r.get(8)?;
    Ok(RunRow {
        id: r.get(0)?,
        started_at: r.get(1)?,
        ended_at: r.get(2)?,
        exit_code: r.get(3)?,
        ok: r.get(4)?,
        failed: r.get(5)?,
        skipped: r.get(6)?,
        up_to_date: r.get(7)?,
        flags: serde_json::from_str(&flags).unwrap_or_default(),
        jobs: r.get(9)?,
        wall_ms: r.get(10)?,
        git_commit: r.get(11)?,
        git_dirty: r.get(12)?,
    })
}

/// The most recent runs, newest first.
pub(crate) fn recent_runs(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<RunRow>> {
    runs_up_to(conn, i64::MAX, limit)
}

/// The runs up to `last` (included), newest first.
pub(crate) fn runs_up_to(
    conn: &Connection,
    last: i64,
    limit: usize,
) -> rusqlite::Result<Vec<RunRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id <= ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![last, limit as i64], run_row)?;
    rows.collect()
}

/// One run, or the newest when `id` is `None`.
pub(crate) fn run(conn: &Connection, id: Option<i64>) -> rusqlite::Result<Option<RunRow>> {
    match id {
        Some(id) => conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                run_row,
            )
            .optional(),
        None => conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1"),
                [],
                run_row,
            )
            .optional(),
    }
}

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

/// A task of a recorded run, as the report reads it.
#[derive(Debug, Clone)]
pub(crate) struct TaskRecord {
    /// Step name.
    pub(crate) step: String,
    /// Task key.
    pub(crate) key: String,
    /// How it ended.
    pub(crate) status: TaskStatus,
    /// What happened, for a failure.
    pub(crate) reason: Option<String>,
    /// When it started (RFC 3339, milliseconds).
    pub(crate) started_at: Option<String>,
    /// Milliseconds, all attempts.
    pub(crate) duration_ms: Option<i64>,
    /// The last lines of its stderr.
    pub(crate) stderr_tail: Option<String>,
    /// Its full stderr log.
    pub(crate) log_path: Option<String>,
    /// The pool slot it ran in (none before schema 5).
    pub(crate) slot: Option<i64>,
    /// The most memory its commands used, in bytes (none when unknown).
    pub(crate) peak_memory: Option<i64>,
}

/// Every task row of run `run_id`, in the order they were recorded.
pub(crate) fn run_tasks(conn: &Connection, run_id: i64) -> rusqlite::Result<Vec<TaskRecord>> {
    let mut stmt = conn.prepare(
        "SELECT step, key, status, reason, started_at, duration_ms, stderr_tail, log_path, slot, \
         peak_memory FROM tasks WHERE run_id = ?1",
    )?;
    let rows = stmt.query_map([run_id], |r| {
        Ok(TaskRecord {
            step: r.get(0)?,
            key: r.get(1)?,
            status: r.get(2)?,
            reason: r.get(3)?,
            started_at: r.get(4)?,
            duration_ms: r.get(5)?,
            stderr_tail: r.get(6)?,
            log_path: r.get(7)?,
            slot: r.get(8)?,
            peak_memory: r.get(9)?,
        })
    })?;
    rows.collect()
}

/// Per step of run `run_id`: its counts as the run ended (nothing for a
/// run that did not end).
pub(crate) fn run_steps(
    conn: &Connection,
    run_id: i64,
) -> rusqlite::Result<Vec<(String, super::db::RunCounts)>> {
    let mut stmt = conn
        .prepare("SELECT step, ok, failed, skipped, up_to_date FROM run_steps WHERE run_id = ?1")?;
    let rows = stmt.query_map([run_id], |r| {
        Ok((
            r.get(0)?,
            super::db::RunCounts {
                ok: r.get::<_, i64>(1)? as usize,
                failed: r.get::<_, i64>(2)? as usize,
                skipped: r.get::<_, i64>(3)? as usize,
                up_to_date: r.get::<_, i64>(4)? as usize,
            },
        ))
    })?;
    rows.collect()
}

/// The last result of a task: its status, and the run that left it.
#[derive(Debug, Clone)]
pub(crate) struct LastResult {
    /// `Ok`, `Failed` or `Interrupted`.
    pub(crate) status: TaskStatus,
    /// The run in which the task last ran.
    pub(crate) run_id: i64,
}

/// The last result of every task of step `step`, by key.
pub(crate) fn last_results(
    conn: &Connection,
    step: &str,
) -> rusqlite::Result<rustc_hash::FxHashMap<String, LastResult>> {
    let mut stmt = conn.prepare_cached("SELECT key, status, run_id FROM latest WHERE step = ?1")?;
    let rows = stmt.query_map([step], |r| {
        Ok((
            r.get::<_, String>(0)?,
            LastResult {
                status: r.get(1)?,
                run_id: r.get(2)?,
            },
        ))
    })?;
    rows.collect()
}
