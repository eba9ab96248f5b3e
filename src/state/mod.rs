//! Durable state of a pipeline under `root/.runner/NAME/`: the run lock, the
//! SQLite database (runs, task results, last successes, file hashes), task
//! logs, and the answer to "is this task up to date?".

mod action_hash;
pub(crate) mod db;
pub(crate) mod fingerprint;
pub(crate) mod groups;
pub(crate) mod lock;

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use rayon::prelude::*;
use rusqlite::Connection;

use crate::config::Pipeline;
use crate::error::Error;
use crate::plan::{Plan, TaskId, display_path};
use db::{CachedHash, Last, TaskRow};
use fingerprint::{Files, Fingerprint, Reason};
use groups::GroupOp;
pub(crate) use groups::{GroupRecord, Leftover, Registration};

/// The database file in a state folder.
pub(crate) const DB_FILE: &str = "state.db";

/// The shortest time between two commits of task results. A result that
/// finishes after a quiet spell is committed at once; when tasks finish
/// faster than this, their results are grouped into one commit per interval
/// (a commit costs about 100 µs of CPU: 5,000 one-row commits added a fifth
/// to a run of 5,000 `true` tasks). A `kill -9` can cost at most this long
/// of finished results, whose tasks then run again.
const COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// What the last runs left: every task's last result and the file hashes.
#[derive(Default)]
pub(crate) struct Snapshot {
    /// Which runs it reflects (`db::generation`).
    generation: (Option<i64>, Option<String>),
    /// `db::task_id(step, key)` -> last result.
    pub(crate) latest: HashMap<u128, Last>,
    /// Content-hash cache.
    pub(crate) files: HashMap<Vec<u8>, CachedHash>,
}

/// Reads the snapshot of a state folder without locking or writing (for
/// `--dry-run`); a missing or unreadable database is an empty snapshot.
pub(crate) fn read_snapshot(state_dir: &Path, with_inputs: bool) -> Snapshot {
    let path = state_dir.join(DB_FILE);
    if !path.exists() {
        return Snapshot::default();
    }
    match db::open_read_only(&path) {
        Ok(conn) => load_snapshot(&conn, with_inputs).unwrap_or_default(),
        Err(_) => Snapshot::default(),
    }
}

fn load_snapshot(conn: &Connection, with_inputs: bool) -> rusqlite::Result<Snapshot> {
    Ok(Snapshot {
        generation: db::generation(conn)?,
        latest: db::load_latest(conn, with_inputs)?,
        files: db::load_files(conn)?,
    })
}

/// Which tasks `--force` names: none, all, or some steps (and what reads them).
#[derive(Debug, Clone, Default)]
pub(crate) enum Force {
    /// Nothing forced.
    #[default]
    None,
    /// Everything.
    All,
    /// These steps and everything downstream.
    Steps(Vec<usize>),
}

/// The up-to-date verdict of one task.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// Nothing it depends on changed since its last success.
    UpToDate,
    /// It must run, and why; with its fingerprint when it could be taken now.
    Run(Reason, Option<Box<Fingerprint>>),
}

/// Decides for every wanted task whether it must run. Steps are taken in
/// dependency order; a task whose upstream runs must run too; the tasks of a
/// step are checked in parallel.
pub(crate) fn assess(
    pipeline: &Pipeline,
    plan: &Plan,
    wanted: &[bool],
    snapshot: &Snapshot,
    force: &Force,
) -> (Vec<Option<Verdict>>, Vec<fingerprint::NewHash>) {
    let files = Files::new(&pipeline.root, &snapshot.files);
    let forced_steps = forced_steps(pipeline, force);
    let mut verdicts: Vec<Option<Verdict>> = vec![None; plan.tasks.len()];
    let mut new_hashes = Vec::new();
    for (step_index, ids) in plan.step_tasks.iter().enumerate() {
        let step = &pipeline.steps[step_index];
        let deps = fingerprint::step_deps(pipeline, step);
        let decided: Vec<(TaskId, Verdict, Vec<fingerprint::NewHash>)> = ids
            .par_iter()
            .filter(|&&id| wanted[id])
            .map(|&id| {
                let task = &plan.tasks[id];
                if forced_steps[step_index] {
                    return (id, Verdict::Run(Reason::Forced, None), Vec::new());
                }
                if let Some(&up) = task
                    .upstream
                    .iter()
                    .find(|&&up| !matches!(verdicts[up], Some(Verdict::UpToDate)))
                {
                    let up = &plan.tasks[up];
                    let name = format!("{} {}", pipeline.steps[up.step].name, up.key);
                    return (
                        id,
                        Verdict::Run(Reason::UpstreamRuns(name), None),
                        Vec::new(),
                    );
                }
                if task.invalid.is_some() {
                    return (id, Verdict::Run(Reason::New, None), Vec::new());
                }
                match fingerprint::fingerprint(pipeline, task, &deps, &files) {
                    Err(reason) => (id, Verdict::Run(reason, None), Vec::new()),
                    Ok(mut fp) => {
                        let mut hashes = std::mem::take(&mut fp.new_hashes);
                        let latest = snapshot.latest.get(&db::task_id(&step.name, &task.key));
                        match fingerprint::compare(task, &deps, &fp, latest, &files, &mut hashes) {
                            Ok(()) => (id, Verdict::UpToDate, hashes),
                            Err(reason) => (id, Verdict::Run(reason, Some(Box::new(fp))), hashes),
                        }
                    }
                }
            })
            .collect();
        for (id, verdict, hashes) in decided {
            verdicts[id] = Some(verdict);
            new_hashes.extend(hashes);
        }
    }
    (verdicts, new_hashes)
}

/// Per step: forced by `--force` (itself, or something upstream of it).
fn forced_steps(pipeline: &Pipeline, force: &Force) -> Vec<bool> {
    let mut forced = vec![matches!(force, Force::All); pipeline.steps.len()];
    if let Force::Steps(steps) = force {
        for &s in steps {
            forced[s] = true;
        }
        // Steps are in dependency order: one pass carries it downstream.
        for i in 0..pipeline.steps.len() {
            if let crate::config::Upstream::Step(up) = pipeline.steps[i].upstream
                && forced[up]
            {
                forced[i] = true;
            }
        }
    }
    forced
}

/// An open state folder, locked for this run.
pub(crate) struct State {
    /// The state folder (absolute).
    pub(crate) dir: PathBuf,
    /// This run's id.
    pub(crate) run_id: i64,
    /// This run's log folder.
    pub(crate) log_dir: PathBuf,
    conn: Option<Connection>,
    _lock: lock::RunLock,
}

/// Messages to the writer thread.
enum Write {
    Task(Box<TaskRow>, Vec<fingerprint::NewHash>),
    Hashes(Vec<fingerprint::NewHash>),
    Group(GroupOp),
}

/// The thread that commits task results as they finish.
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<Write>>,
    /// The last registration number handed out.
    slots: AtomicU64,
    handle: Option<JoinHandle<(Connection, Result<(), String>)>>,
    failed: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
}

impl State {
    /// Locks the state folder (waiting if `wait`) and opens or creates the
    /// database (setting a damaged one aside).
    pub(crate) fn open(pipeline: &Pipeline, wait: bool, quiet: bool) -> Result<State, Error> {
        let dir = pipeline.abs(&pipeline.state_dir);
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::io(
                format!("cannot create the state folder `{}`", dir.display()),
                e,
            )
        })?;
        ignore_in_git(pipeline);
        let lock = lock::acquire(&dir, wait, |holder| {
            // Cron mails whatever is printed: waiting is not news.
            if !quiet {
                eprintln!("waiting for another run to finish ({holder})");
            }
        })?;
        let db_path = dir.join(DB_FILE);
        let conn = match db::open(&db_path) {
            Ok(conn) => conn,
            Err(err) if is_corrupt(&err) => {
                let aside = set_aside(&db_path);
                eprintln!(
                    "warning: the state database `{}` is damaged ({err}); moved it to `{}` and starting afresh (every task runs)",
                    db_path.display(),
                    aside.display()
                );
                db::open(&db_path).map_err(|e| db_error(&db_path, e))?
            }
            Err(err) => return Err(db_error(&db_path, err)),
        };
        Ok(State {
            dir,
            run_id: 0,
            log_dir: PathBuf::new(),
            conn: Some(conn),
            _lock: lock,
        })
    }

    /// Starts the run record (once the plan is known to be good), its log
    /// folder, and prunes old logs.
    pub(crate) fn begin(&mut self, pipeline: &Pipeline, argv: &str) -> Result<(), Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let hash = blake3::hash(pipeline.source.text.as_bytes())
            .to_hex()
            .to_string();
        self.run_id = db::begin_run(conn, &started, &hash, argv)
            .map_err(|e| db_error(&self.dir.join(DB_FILE), e))?;
        self.log_dir = self.dir.join("logs").join(self.run_id.to_string());
        std::fs::create_dir_all(&self.log_dir).map_err(|e| {
            Error::io(
                format!("cannot create the log folder `{}`", self.log_dir.display()),
                e,
            )
        })?;
        prune_logs(&self.dir.join("logs"), self.run_id, pipeline.keep_logs);
        Ok(())
    }

    /// `snapshot` if no run wrote since it was read (it was read without
    /// the lock, at the same time as the plan), else a fresh one.
    pub(crate) fn refresh(&self, snapshot: Snapshot) -> Result<Snapshot, Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        let now = db::generation(conn).map_err(|e| db_error(&self.dir.join(DB_FILE), e))?;
        if now == snapshot.generation {
            Ok(snapshot)
        } else {
            self.snapshot()
        }
    }

    /// Everything the last runs recorded.
    pub(crate) fn snapshot(&self) -> Result<Snapshot, Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        load_snapshot(conn, false).map_err(|e| db_error(&self.dir.join(DB_FILE), e))
    }

    /// Hands the connection to a writer thread for the run.
    pub(crate) fn writer(&mut self) -> Result<Writer, Error> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        let (tx, rx) = mpsc::channel::<Write>();
        let failed = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let run_id = self.run_id;
        let (failed2, error2) = (failed.clone(), error.clone());
        let handle = std::thread::Builder::new()
            .name("runner-state".into())
            .spawn(move || {
                let mut result = Ok(());
                // Everything queued is committed in one transaction: one
                // commit per finished task when tasks are slow, one per
                // COMMIT_INTERVAL when they finish faster.
                let mut last_commit: Option<std::time::Instant> = None;
                while let Ok(first) = rx.recv() {
                    if let Some(wait) =
                        last_commit.and_then(|t| COMMIT_INTERVAL.checked_sub(t.elapsed()))
                    {
                        std::thread::sleep(wait);
                    }
                    last_commit = Some(std::time::Instant::now());
                    let mut rows = Vec::new();
                    let mut hashes = Vec::new();
                    let mut groups = Vec::new();
                    for message in std::iter::once(first).chain(rx.try_iter()) {
                        match message {
                            Write::Task(row, h) => {
                                rows.push(*row);
                                hashes.extend(h);
                            }
                            Write::Hashes(h) => hashes.extend(h),
                            Write::Group(op) => groups.push(op),
                        }
                    }
                    if result.is_ok()
                        && let Err(e) = db::write_batch(&mut conn, run_id, &rows, &hashes, &groups)
                    {
                        let message = e.to_string();
                        *error2.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.clone());
                        failed2.store(true, Ordering::SeqCst);
                        result = Err(message);
                    }
                }
                (conn, result)
            })
            .map_err(|e| Error::io("cannot start the state writer thread", e))?;
        Ok(Writer {
            tx: Some(tx),
            slots: AtomicU64::new(0),
            handle: Some(handle),
            failed,
            error,
        })
    }

    /// Takes the connection back from a finished writer.
    pub(crate) fn join(&mut self, mut writer: Writer) -> Result<(), Error> {
        drop(writer.tx.take());
        let handle = writer
            .handle
            .take()
            .ok_or_else(|| Error::Internal("writer joined twice".into()))?;
        let (conn, result) = handle
            .join()
            .map_err(|_| Error::Internal("the state writer thread panicked".into()))?;
        self.conn = Some(conn);
        result.map_err(|message| {
            Error::io(
                format!(
                    "cannot record results in `{}`",
                    self.dir.join(DB_FILE).display()
                ),
                std::io::Error::other(message),
            )
        })
    }

    /// Closes the run record, with how it kept commands' processes
    /// together (`None`: it ran none).
    pub(crate) fn end(
        &self,
        exit_code: i32,
        counts: db::RunCounts,
        isolation: Option<&str>,
    ) -> Result<(), Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        let ended = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        db::end_run(conn, self.run_id, &ended, exit_code, counts, isolation)
            .map_err(|e| db_error(&self.dir.join(DB_FILE), e))
    }

    /// What runs that are gone registered and did not release: their
    /// processes may still run, their temporary files may still be there.
    /// (This run holds the lock: every record is of a run that is gone.)
    pub(crate) fn leftovers(&self) -> Result<Vec<Leftover>, Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        groups::leftovers(conn).map_err(|e| db_error(&self.dir.join(DB_FILE), e))
    }

    /// Forgets leftovers once they are stopped.
    pub(crate) fn forget(&self, leftovers: &[Leftover]) -> Result<(), Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        groups::forget(conn, leftovers).map_err(|e| db_error(&self.dir.join(DB_FILE), e))
    }

    /// For each failure of this run: when the task started failing the
    /// same way (same fingerprint, reason and output), if its previous
    /// result was that same failure; `None` when it is news.
    pub(crate) fn unchanged_failures(
        &self,
        failures: &[db::FailureSeen],
    ) -> Result<Vec<Option<String>>, Error> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))?;
        failures
            .iter()
            .map(|f| db::same_failure_since(conn, self.run_id, f))
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| db_error(&self.db_path(), e))
    }

    /// The database connection (not while a writer has it).
    pub(crate) fn conn(&self) -> Result<&Connection, Error> {
        self.conn
            .as_ref()
            .ok_or_else(|| Error::Internal("state connection in use".into()))
    }

    /// The database path.
    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }
}

impl Writer {
    /// A writer that records nothing (`--no-state`).
    pub(crate) fn disabled() -> Writer {
        Writer {
            tx: None,
            slots: AtomicU64::new(0),
            handle: None,
            failed: Arc::new(AtomicBool::new(false)),
            error: Arc::new(Mutex::new(None)),
        }
    }

    /// Queues a finished task's row.
    pub(crate) fn task(&self, row: TaskRow, hashes: Vec<fingerprint::NewHash>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Write::Task(Box::new(row), hashes));
        }
    }

    /// Queues file hashes learned while checking.
    pub(crate) fn hashes(&self, hashes: Vec<fingerprint::NewHash>) {
        if !hashes.is_empty()
            && let Some(tx) = &self.tx
        {
            let _ = tx.send(Write::Hashes(hashes));
        }
    }

    /// Registers what an attempt may leave behind, before it starts (see
    /// `exec::group`); returns its number, for `spawned` and `release`.
    /// Written within one commit interval: a run killed before that leaves
    /// an unregistered attempt (whose temporary names nothing else uses).
    pub(crate) fn register(&self, registration: Registration) -> u64 {
        let slot = self.slots.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(tx) = &self.tx {
            let _ = tx.send(Write::Group(GroupOp::Register(slot, registration)));
        }
        slot
    }

    /// The registered attempt's command runs, in this process group.
    pub(crate) fn spawned(&self, slot: u64, group: GroupRecord) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Write::Group(GroupOp::Spawned(slot, group)));
        }
    }

    /// The registered attempt ended and left nothing running.
    pub(crate) fn release(&self, slot: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Write::Group(GroupOp::Release(slot)));
        }
    }

    /// Set when a write failed; the run must stop.
    pub(crate) fn failed_flag(&self) -> Arc<AtomicBool> {
        self.failed.clone()
    }

    /// The first write error, if any.
    pub(crate) fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub(crate) fn db_error(path: &Path, err: rusqlite::Error) -> Error {
    Error::io(
        format!("cannot use the state database `{}`", path.display()),
        std::io::Error::other(err.to_string()),
    )
}

fn is_corrupt(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Moves a damaged database (and its WAL files) aside.
fn set_aside(db_path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = db_path.with_extension(format!("db.damaged-{stamp}"));
    let _ = std::fs::rename(db_path, &aside);
    for suffix in ["-wal", "-shm"] {
        let mut p = db_path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    aside
}

/// Keeps the logs of the newest `keep` runs (this one included).
fn prune_logs(logs: &Path, current: i64, keep: u32) {
    let Ok(entries) = std::fs::read_dir(logs) else {
        return;
    };
    let mut ids: Vec<i64> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .filter(|&id| id != current)
        .collect();
    ids.sort_unstable();
    let keep_old = (keep as usize).saturating_sub(1);
    let remove = ids.len().saturating_sub(keep_old);
    for id in &ids[..remove] {
        let _ = std::fs::remove_dir_all(logs.join(id.to_string()));
    }
}

/// `.runner/` holds a `.gitignore` of `*`, so state is never committed.
fn ignore_in_git(pipeline: &Pipeline) {
    let dot_runner = pipeline.root.join(".runner");
    if pipeline.abs(&pipeline.state_dir).starts_with(&dot_runner) {
        let ignore = dot_runner.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(ignore, "*\n");
        }
    }
}

/// Paths of a task as a JSON list, for the `tasks` table.
pub(crate) fn paths_json(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| display_path(p)).collect();
    serde_json::to_string(&shown).unwrap_or_default()
}
