//! Durable state of a pipeline under `root/.runner/NAME/`: the run lock, the
//! SQLite database (runs, task results, last successes, file hashes), task
//! logs, and the answer to "is this task up to date?".

mod action_hash;
mod command_deps;
mod damage;
pub(crate) mod db;
mod error;
pub(crate) mod fingerprint;
pub(crate) mod git;
pub(crate) mod groups;
mod interpreter;
pub(crate) mod lock;
pub(crate) mod logs;
pub(crate) mod recorded;
mod shell_words;
mod writer;

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rusqlite::Connection;

use crate::config::Pipeline;
use crate::error::Internal;
use crate::plan::{Plan, TaskId, display_path};
use db::{CachedHash, Last};
pub(crate) use error::StateError;
use fingerprint::{Files, Fingerprint, Reason};
pub(crate) use groups::{GroupRecord, Leftover, Registration};
use writer::RunRecord;
pub(crate) use writer::Writer;

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
/// `--dry-run`, and for a run before it takes the lock); a missing
/// database is an empty snapshot, an unreadable one an error (a run then
/// opens it for writing, and sets it aside if it is damaged).
pub(crate) fn read_snapshot(
    state_dir: &Path,
    with_inputs: bool,
) -> Result<Snapshot, (PathBuf, rusqlite::Error)> {
    let path = state_dir.join(DB_FILE);
    if !path.exists() {
        return Ok(Snapshot::default());
    }
    db::open_read_only(&path)
        .and_then(|conn| load_snapshot(&conn, with_inputs))
        .map_err(|err| (path, err))
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
        let step_deps = fingerprint::StepDeps::new(pipeline, step);
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
                let latest = snapshot.latest.get(&db::task_id(&step.name, &task.key));
                // Never run: it runs whatever its inputs hold, and its
                // fingerprint is taken by the worker that runs it, right
                // before (a first run over many files hashes them on every
                // core, while tasks run, not all before the first starts).
                if latest.is_none() {
                    return (id, Verdict::Run(Reason::New, None), Vec::new());
                }
                // The files its command names (issue 10, item 1), and those
                // its worker loaded last time (issue 9).
                let base = step_deps.of_task(task);
                let deps =
                    fingerprint::task_deps(&base, latest.and_then(|l| l.found_deps.as_deref()));
                match fingerprint::fingerprint(pipeline, task, &base, &deps, &files) {
                    Err(reason) => (id, Verdict::Run(reason, None), Vec::new()),
                    Ok(mut fp) => {
                        let mut hashes = std::mem::take(&mut fp.new_hashes);
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
pub(crate) struct OpenState {
    /// The state folder (absolute).
    pub(crate) dir: PathBuf,
    /// This run's id.
    pub(crate) run_id: i64,
    /// This run's log folder.
    pub(crate) log_dir: PathBuf,
    conn: Option<Connection>,
    /// This run's row, as `begin` wrote it (for a new database, if the
    /// one in use turns out damaged).
    record: Option<RunRecord>,
    _lock: lock::RunLock,
}

impl OpenState {
    /// Locks the state folder (waiting if `wait`) and opens or creates the
    /// database (setting a damaged one aside).
    pub(crate) fn open(
        pipeline: &Pipeline,
        wait: bool,
        quiet: bool,
    ) -> Result<OpenState, StateError> {
        let dir = pipeline.abs(&pipeline.state_dir);
        std::fs::create_dir_all(&dir).map_err(|source| StateError::File {
            what: "cannot create the state folder",
            path: dir.clone(),
            source,
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
            Err(err) if damage::is_corrupt(&err) => {
                damage::set_aside(&db_path, &err);
                db::open(&db_path).map_err(|e| StateError::database(&db_path, e))?
            }
            Err(err) => return Err(StateError::database(&db_path, err)),
        };
        Ok(OpenState {
            dir,
            run_id: 0,
            log_dir: PathBuf::new(),
            conn: Some(conn),
            record: None,
            _lock: lock,
        })
    }

    /// The database connection (not while a writer has it).
    pub(crate) fn conn(&self) -> Result<&Connection, StateError> {
        self.conn
            .as_ref()
            .ok_or_else(|| Internal::new("state connection in use").into())
    }

    /// `use_db` on the database; when it finds the database damaged, the
    /// database is set aside, a new one made, and `use_db` runs on that.
    fn with_db<T>(
        &mut self,
        use_db: impl Fn(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StateError> {
        let db_path = self.db_path();
        match use_db(self.conn()?) {
            Ok(value) => Ok(value),
            Err(err) if damage::is_corrupt(&err) => {
                drop(self.conn.take());
                damage::set_aside(&db_path, &err);
                let fresh = db::open(&db_path).map_err(|e| StateError::database(&db_path, e))?;
                let value = use_db(&fresh).map_err(|e| StateError::database(&db_path, e));
                self.conn = Some(fresh);
                value
            }
            Err(err) => Err(StateError::database(&db_path, err)),
        }
    }

    /// Starts the run record (once the plan is known to be good), its log
    /// folder, and prunes old logs. `flags` are the flags that change what
    /// runs or how, `jobs` the pool size.
    pub(crate) fn begin(
        &mut self,
        pipeline: &Pipeline,
        argv: &str,
        flags: Vec<String>,
        jobs: usize,
    ) -> Result<(), StateError> {
        let start = db::RunStart {
            started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            pipeline_hash: blake3::hash(pipeline.source.text.as_bytes())
                .to_hex()
                .to_string(),
            argv: argv.to_owned(),
            flags,
            jobs,
        };
        self.run_id = self.with_db(|conn| db::begin_run(conn, &start))?;
        self.record = Some(RunRecord {
            db_path: self.db_path(),
            start,
        });
        let logs_dir = self.dir.join("logs");
        self.log_dir = logs::make_run_folder(&logs_dir, self.run_id).map_err(|source| {
            StateError::LogFolder {
                run: self.run_id,
                path: logs_dir.clone(),
                source,
            }
        })?;
        logs::prune(&logs_dir, &self.log_dir, pipeline.keep_logs);
        Ok(())
    }

    /// `snapshot` if no run wrote since it was read (it was read without
    /// the lock, at the same time as the plan), else a fresh one (empty if
    /// the database had to be set aside).
    pub(crate) fn refresh(&mut self, snapshot: Snapshot) -> Result<Snapshot, StateError> {
        let read = snapshot.generation.clone();
        self.with_db(|conn| {
            if db::generation(conn)? == read {
                Ok(None)
            } else {
                load_snapshot(conn, false).map(Some)
            }
        })
        .map(|fresh| fresh.unwrap_or(snapshot))
    }

    /// Hands the connection to a writer thread for the run.
    pub(crate) fn writer(&mut self) -> Result<Writer, StateError> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Internal::new("state connection in use"))?;
        let record = self
            .record
            .take()
            .ok_or_else(|| Internal::new("writer before begin"))?;
        Writer::start(conn, self.run_id, record)
    }

    /// Takes the connection back from a finished writer (and the run's id:
    /// new if the writer had to replace a damaged database).
    pub(crate) fn join(&mut self, writer: Writer) -> Result<(), StateError> {
        let (conn, run_id, result) = writer.finish()?;
        self.conn = Some(conn);
        self.run_id = run_id;
        result.map_err(|source| StateError::Record {
            path: self.db_path(),
            source,
        })
    }

    /// Closes the run record: how it ended, its counts (per step too), how
    /// it kept commands' processes together, and what git said about the
    /// pipeline file when it started.
    pub(crate) fn end(&mut self, mut end: db::RunEnd) -> Result<(), StateError> {
        end.ended_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let run_id = self.run_id;
        self.with_db(|conn| db::end_run(conn, run_id, &end))
    }

    /// Per step: the median time of its tasks in earlier runs, for the
    /// steps `needed` marks (the others: `None`). An unreadable history
    /// gives no estimate, never an error.
    pub(crate) fn earlier_task_times(
        &self,
        pipeline: &Pipeline,
        needed: &[bool],
    ) -> Vec<Option<std::time::Duration>> {
        let steps: Vec<Option<&str>> = pipeline
            .steps
            .iter()
            .zip(needed)
            .map(|(s, &n)| n.then_some(s.name.as_str()))
            .collect();
        self.conn
            .as_ref()
            .and_then(|conn| recorded::median_task_times(conn, &steps).ok())
            .unwrap_or_else(|| vec![None; steps.len()])
    }

    /// The open database, between runs of the writer thread.
    pub(crate) fn connection(&self) -> Result<&Connection, StateError> {
        self.conn()
    }

    /// What runs that are gone registered and did not release: their
    /// processes may still run, their temporary files may still be there.
    /// (This run holds the lock: every record is of a run that is gone.)
    pub(crate) fn leftovers(&mut self) -> Result<Vec<Leftover>, StateError> {
        self.with_db(groups::leftovers)
    }

    /// Whether the newest run on record never ended (killed, or the
    /// machine stopped): it may have left temporary outputs that it had
    /// not registered yet.
    pub(crate) fn last_run_unfinished(&mut self) -> Result<bool, StateError> {
        self.with_db(db::generation)
            .map(|(id, ended)| id.is_some() && ended.is_none())
    }

    /// Forgets leftovers once they are stopped.
    pub(crate) fn forget(&mut self, leftovers: &[Leftover]) -> Result<(), StateError> {
        self.with_db(|conn| groups::forget(conn, leftovers))
    }

    /// The SLURM arrays of earlier runs not known to be over.
    pub(crate) fn unfinished_arrays(&mut self) -> Result<Vec<db::ArrayRow>, StateError> {
        self.with_db(db::unfinished_arrays)
    }

    /// For each failure of this run: when the task started failing the
    /// same way (same fingerprint, reason and output), if its previous
    /// result was that same failure; `None` when it is news.
    pub(crate) fn unchanged_failures(
        &self,
        failures: &[db::FailureSeen],
    ) -> Result<Vec<Option<String>>, StateError> {
        let conn = self.conn()?;
        failures
            .iter()
            .map(|f| db::same_failure_since(conn, self.run_id, f))
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| StateError::database(self.db_path(), e))
    }

    /// The database path.
    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
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
