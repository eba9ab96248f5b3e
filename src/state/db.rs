//! The SQLite state database: a versioned schema upgraded in place, and the
//! reads and writes of runs, task results, last successes and file hashes.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// The size a WAL is cut back to after a checkpoint, in bytes.
const WAL_SIZE_LIMIT: i64 = 4 << 20;

/// The schema this binary writes; `PRAGMA user_version`.
pub(crate) const SCHEMA_VERSION: i64 = 6;

/// Every migration, in order; index i upgrades from version i to i + 1.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    exit_code     INTEGER,
    pid           INTEGER NOT NULL,
    pipeline_hash TEXT NOT NULL,
    argv          TEXT NOT NULL,
    ok            INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    up_to_date    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tasks (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step        TEXT NOT NULL,
    key         TEXT NOT NULL,
    status      TEXT NOT NULL,
    exit_code   INTEGER,
    reason      TEXT,
    fingerprint TEXT,
    inputs      TEXT NOT NULL,
    outputs     TEXT NOT NULL,
    started_at  TEXT,
    duration_ms INTEGER,
    attempts    INTEGER,
    stderr_tail TEXT,
    log_path    TEXT,
    PRIMARY KEY (run_id, step, key)
) WITHOUT ROWID;
CREATE TABLE latest (
    step        TEXT NOT NULL,
    key         TEXT NOT NULL,
    status      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    action      TEXT NOT NULL,
    inputs      TEXT NOT NULL,
    outputs     TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    PRIMARY KEY (step, key)
) WITHOUT ROWID;
CREATE TABLE files (
    path     BLOB PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash     BLOB NOT NULL
) WITHOUT ROWID;
"#,
    // 2: the cheap check of the files cache also compares the inode change
    // time and the inode number (as git's index does): a file rewritten
    // with its size and mtime put back (`touch -d`, `rsync -t`) is hashed
    // again (issue 10, item 3). Old rows (0, 0) never match: hashed once.
    r#"
ALTER TABLE files ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN inode INTEGER NOT NULL DEFAULT 0;
"#,
    // 3: what a running attempt may leave behind if runner dies (its
    // temporary outputs, process group with its start time, cgroup), so a
    // later run stops it (issue 10, item 2); how the run kept a command's
    // processes together; each task's peak memory (item 12).
    r#"
CREATE TABLE processes (
    run_id      INTEGER NOT NULL,
    slot        INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    pgid        INTEGER,
    start_ticks INTEGER,
    boot_id     TEXT,
    cgroup      BLOB,
    temps       BLOB NOT NULL,
    PRIMARY KEY (run_id, slot)
) WITHOUT ROWID;
ALTER TABLE runs ADD COLUMN isolation TEXT;
ALTER TABLE tasks ADD COLUMN peak_memory INTEGER;
"#,
    // 4 (issue 9): the files under root that a task's worker loaded
    // its code from, one path per line; part of its fingerprint next time.
    r#"
ALTER TABLE latest ADD COLUMN deps TEXT;
"#,
    // 5 (issue 14): what the run report shows: the run's flags (a JSON
    // list), its pool size, its wall time, the pipeline file's git commit
    // and whether its working tree was dirty, the pool slot each task ran
    // in (the lanes of the timeline), and per step the counts of the run
    // (up-to-date tasks have no row in `tasks`).
    r#"
ALTER TABLE runs ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN jobs INTEGER;
ALTER TABLE runs ADD COLUMN wall_ms INTEGER;
ALTER TABLE runs ADD COLUMN git_commit TEXT;
ALTER TABLE runs ADD COLUMN git_dirty INTEGER;
ALTER TABLE tasks ADD COLUMN slot INTEGER;
CREATE TABLE run_steps (
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       TEXT NOT NULL,
    ok         INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    skipped    INTEGER NOT NULL,
    up_to_date INTEGER NOT NULL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
"#,
    // 6: the SLURM arrays a run submitted, so that a coordinator killed and
    // started again finds the results its elements wrote (and those still
    // running); `finished` once nothing of it will write any more.
    r#"
CREATE TABLE slurm_arrays (
    dir          TEXT PRIMARY KEY,
    job_id       TEXT NOT NULL,
    run_id       INTEGER NOT NULL,
    elements     INTEGER NOT NULL,
    tasks        INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    finished     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"#,
];

/// Opens (creating and upgrading) the database at `path`.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    // A database made now holds nothing yet: made without waiting for the
    // disk (four fsyncs, half the cost of making it). Should the machine
    // stop meanwhile, a damaged database is set aside and made again.
    if version == 0 {
        conn.pragma_update(None, "synchronous", "OFF")?;
    }
    // WAL with synchronous=NORMAL: a commit is an append, no fsync per task,
    // and a killed process loses nothing that was committed.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "the state was written by a newer runner (schema {version}, this one knows {SCHEMA_VERSION})"
            )),
        ));
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // No checkpoint when the connection closes: it copied the WAL into the
    // database and waited for three fsyncs at the end of every run (2-3% of
    // a short run's wall time). The WAL stays for the next connection, which
    // reads it as it reads one a killed run left; the commits in it are as
    // safe as every commit of the run (WAL with `synchronous=NORMAL`), and
    // SQLite checkpoints on its own once it passes 1,000 pages.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    // A WAL that a big run (or a reader holding it open) made large is cut
    // back to this once a checkpoint has emptied it, rather than kept at
    // its largest: about what 1,000 pages take.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    Ok(conn)
}

/// Opens an existing database for reading only (`--dry-run`, `history`).
pub(crate) fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version != SCHEMA_VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "the state has schema {version}, this runner reads {SCHEMA_VERSION}"
            )),
        ));
    }
    Ok(conn)
}

/// What happened to a task in a run, as the state writes it (`tasks.status`,
/// `latest.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    /// It ran and wrote every output.
    Ok,
    /// It ran and failed.
    Failed,
    /// It was stopped by an interrupt (not its own fault).
    Interrupted,
    /// Not run: a task it needs failed.
    Skipped,
    /// Not run: the run stopped early.
    NotRun,
}

impl TaskStatus {
    /// Every status.
    const ALL: [TaskStatus; 5] = [
        TaskStatus::Ok,
        TaskStatus::Failed,
        TaskStatus::Interrupted,
        TaskStatus::Skipped,
        TaskStatus::NotRun,
    ];

    /// How the state writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Ok => "ok",
            TaskStatus::Failed => "failed",
            TaskStatus::Interrupted => "interrupted",
            TaskStatus::Skipped => "skipped",
            TaskStatus::NotRun => "not_run",
        }
    }

    /// The status written as `text`, if this binary knows it.
    pub(crate) fn parse(text: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl rusqlite::ToSql for TaskStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for TaskStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        TaskStatus::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown task status `{text}`").into())
        })
    }
}

impl serde::Serialize for TaskStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What the last execution of a task left, as read back for the
/// up-to-date check (compact: one of these per task is loaded every run).
#[derive(Debug, Clone)]
pub(crate) struct Last {
    /// How it ended; a status this binary does not know (a newer runner's)
    /// reads as `Failed`, so the task runs again.
    pub(crate) status: TaskStatus,
    /// Hash over action, inputs and deps.
    pub(crate) fingerprint: blake3::Hash,
    /// Hash of the action alone.
    pub(crate) action: blake3::Hash,
    /// `HASH  PATH` lines of the inputs; loaded only to explain.
    pub(crate) inputs: Option<String>,
    /// `HASH  PATH` lines of the outputs.
    pub(crate) outputs: String,
    /// For a failure: how it ended (`exit code 1`); loaded only to explain.
    pub(crate) failure: Option<String>,
    /// Files under root its worker loaded code from (a call step).
    pub(crate) found_deps: Option<Arc<[PathBuf]>>,
}

/// The key of a task in the snapshot: a 128-bit hash of (step, key), so that
/// loading 100,000 records does not allocate 200,000 strings.
pub(crate) fn task_id(step: &str, key: &str) -> u128 {
    let mut h = blake3::Hasher::new();
    h.update(step.as_bytes());
    h.update(&[0]);
    h.update(key.as_bytes());
    let bytes = h.finalize();
    u128::from_le_bytes(bytes.as_bytes()[..16].try_into().expect("16 bytes"))
}

/// What a successful execution of a task leaves, as written (its status is
/// `ok`; a later failure only marks it).
#[derive(Debug, Clone)]
pub(crate) struct Latest {
    /// Hash over action, inputs and deps.
    pub(crate) fingerprint: String,
    /// Hash of the action alone.
    pub(crate) action: String,
    /// One `HASH  PATH` line per input and dep (as `b3sum` prints them).
    pub(crate) inputs: String,
    /// One `HASH  PATH` line per output.
    pub(crate) outputs: String,
    /// Files under root its worker loaded code from, one per line.
    pub(crate) found_deps: Option<String>,
}

/// A file's size, modification and inode change times and inode number,
/// and the hash of its content then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CachedHash {
    /// Bytes.
    pub(crate) size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub(crate) mtime_ns: i64,
    /// Inode change time, nanoseconds since the epoch.
    pub(crate) ctime_ns: i64,
    /// Inode number.
    pub(crate) inode: u64,
    /// BLAKE3 of the content.
    pub(crate) hash: [u8; 32],
}

/// Every task's last result, keyed by `task_id(step, key)`; the inputs'
/// hashes only when `with_inputs` (to explain why a task runs).
pub(crate) fn load_latest(
    conn: &Connection,
    with_inputs: bool,
) -> rusqlite::Result<HashMap<u128, Last>> {
    let sql = if with_inputs {
        "SELECT l.step, l.key, l.status, l.fingerprint, l.action, l.outputs, l.deps, l.inputs, t.reason \
         FROM latest l LEFT JOIN tasks t ON t.run_id = l.run_id AND t.step = l.step AND t.key = l.key"
    } else {
        "SELECT step, key, status, fingerprint, action, outputs, deps FROM latest"
    };
    // The tasks of a step share one list (its workers load the same code).
    let mut lists: HashMap<String, Arc<[PathBuf]>> = HashMap::default();
    let count: i64 = conn.query_row("SELECT count(*) FROM latest", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::with_capacity_and_hasher(count.max(0) as usize, Default::default());
    let hash = |v: rusqlite::types::ValueRef<'_>| -> rusqlite::Result<Option<blake3::Hash>> {
        Ok(blake3::Hash::from_hex(v.as_bytes()?).ok())
    };
    while let Some(row) = rows.next()? {
        let id = task_id(row.get_ref(0)?.as_str()?, row.get_ref(1)?.as_str()?);
        let status = row.get_ref(2)?.as_str()?;
        let (Some(fingerprint), Some(action)) = (hash(row.get_ref(3)?)?, hash(row.get_ref(4)?)?)
        else {
            continue;
        };
        out.insert(
            id,
            Last {
                status: TaskStatus::parse(status).unwrap_or(TaskStatus::Failed),
                fingerprint,
                action,
                outputs: row.get(5)?,
                found_deps: row.get_ref(6)?.as_str_or_null()?.map(|text| {
                    lists
                        .entry(text.to_owned())
                        .or_insert_with(|| text.lines().map(PathBuf::from).collect())
                        .clone()
                }),
                inputs: if with_inputs { Some(row.get(7)?) } else { None },
                failure: if with_inputs { row.get(8)? } else { None },
            },
        );
    }
    Ok(out)
}

/// The content-hash cache, keyed by the path's bytes (relative to root).
pub(crate) fn load_files(conn: &Connection) -> rusqlite::Result<HashMap<Vec<u8>, CachedHash>> {
    let mut stmt = conn.prepare("SELECT path, size, mtime_ns, hash, ctime_ns, inode FROM files")?;
    let count: i64 = conn.query_row("SELECT count(*) FROM files", [], |r| r.get(0))?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::with_capacity_and_hasher(count.max(0) as usize, Default::default());
    while let Some(row) = rows.next()? {
        let path = row.get_ref(0)?.as_blob()?;
        let Ok(hash) = <[u8; 32]>::try_from(row.get_ref(3)?.as_blob()?) else {
            continue;
        };
        out.insert(
            path.to_vec(),
            CachedHash {
                size: row.get::<_, i64>(1)? as u64,
                mtime_ns: row.get(2)?,
                ctime_ns: row.get(4)?,
                inode: row.get::<_, i64>(5)? as u64,
                hash,
            },
        );
    }
    Ok(out)
}

/// Which runs the database has seen: the newest run and whether it ended.
/// Two equal generations mean no run wrote anything in between.
pub(crate) fn generation(conn: &Connection) -> rusqlite::Result<(Option<i64>, Option<String>)> {
    conn.query_row(
        "SELECT id, ended_at FROM runs ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((Some(r.get(0)?), r.get(1)?)),
    )
    .optional()
    .map(Option::unwrap_or_default)
}

/// How a run was started, as its `runs` row records it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunStart {
    /// When (RFC 3339).
    pub(crate) started_at: String,
    /// BLAKE3 of the pipeline file, hex.
    pub(crate) pipeline_hash: String,
    /// The command line, joined by spaces.
    pub(crate) argv: String,
    /// The flags that change what runs or how (`--force=clean`, `--jobs=4`).
    pub(crate) flags: Vec<String>,
    /// Pool size.
    pub(crate) jobs: usize,
}

/// Starts a run; returns its id.
pub(crate) fn begin_run(conn: &Connection, start: &RunStart) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO runs (started_at, pid, pipeline_hash, argv, flags, jobs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            start.started_at,
            std::process::id(),
            start.pipeline_hash,
            start.argv,
            serde_json::to_string(&start.flags).unwrap_or_else(|_| "[]".to_owned()),
            start.jobs as i64
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunCounts {
    /// Succeeded.
    pub(crate) ok: usize,
    /// Failed.
    pub(crate) failed: usize,
    /// Skipped or not run.
    pub(crate) skipped: usize,
    /// Up to date.
    pub(crate) up_to_date: usize,
}

/// The pipeline file's place in git when the run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitState {
    /// The commit checked out (hex).
    pub(crate) commit: String,
    /// Whether tracked files had changes not committed.
    pub(crate) dirty: bool,
}

/// How a run ended, as its `runs` row (and `run_steps`) record it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunEnd {
    /// When (RFC 3339).
    pub(crate) ended_at: String,
    /// The exit code.
    pub(crate) exit_code: i32,
    /// Wall time of the run, in milliseconds.
    pub(crate) wall_ms: i64,
    /// Counts of the whole run.
    pub(crate) counts: RunCounts,
    /// Per step with tasks in the run: its name and counts.
    pub(crate) steps: Vec<(String, RunCounts)>,
    /// The pipeline file's place in git when the run started.
    pub(crate) git: Option<GitState>,
    /// How the run kept each command's processes together.
    pub(crate) isolation: Option<&'static str>,
}

/// Ends a run.
pub(crate) fn end_run(conn: &Connection, run_id: i64, end: &RunEnd) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    let counts = end.counts;
    tx.execute(
        "UPDATE runs SET ended_at = ?2, exit_code = ?3, ok = ?4, failed = ?5, skipped = ?6, up_to_date = ?7, \
         wall_ms = ?8, git_commit = ?9, git_dirty = ?10, isolation = ?11 WHERE id = ?1",
        params![
            run_id,
            end.ended_at,
            end.exit_code,
            counts.ok as i64,
            counts.failed as i64,
            counts.skipped as i64,
            counts.up_to_date as i64,
            end.wall_ms,
            end.git.as_ref().map(|g| g.commit.as_str()),
            end.git.as_ref().map(|g| g.dirty),
            end.isolation
        ],
    )?;
    {
        let mut insert = tx.prepare(
            "INSERT OR REPLACE INTO run_steps (run_id, step, ok, failed, skipped, up_to_date) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (step, c) in &end.steps {
            insert.execute(params![
                run_id,
                step,
                c.ok as i64,
                c.failed as i64,
                c.skipped as i64,
                c.up_to_date as i64
            ])?;
        }
    }
    tx.commit()
}

/// One finished task, as written to `tasks` (and `latest`).
#[derive(Debug, Clone)]
pub(crate) struct TaskRow {
    /// Step name.
    pub(crate) step: String,
    /// Task key.
    pub(crate) key: String,
    /// How it ended.
    pub(crate) status: TaskStatus,
    /// Exit code of the command, if it exited.
    pub(crate) exit_code: Option<i32>,
    /// Failure reason.
    pub(crate) reason: Option<String>,
    /// Input paths, as a JSON list.
    pub(crate) inputs_json: String,
    /// Output paths, as a JSON list.
    pub(crate) outputs_json: String,
    /// The fingerprint it ran with (hex), when one was taken.
    pub(crate) fingerprint: Option<String>,
    /// When it started (RFC 3339).
    pub(crate) started_at: Option<String>,
    /// Milliseconds, all attempts.
    pub(crate) duration_ms: i64,
    /// Attempts.
    pub(crate) attempts: u32,
    /// Last lines of stderr.
    pub(crate) stderr_tail: Option<String>,
    /// The full log.
    pub(crate) log_path: Option<String>,
    /// The pool slot it ran in (the lowest, when it took several).
    pub(crate) slot: Option<usize>,
    /// The most memory it used, in bytes (of all attempts).
    pub(crate) peak_memory: Option<u64>,
    /// For a task that ran: what `latest` should remember.
    pub(crate) latest: Option<Latest>,
}

/// Writes a batch of finished tasks and file hashes in one transaction.
pub(crate) fn write_batch(
    conn: &mut Connection,
    run_id: i64,
    rows: &[TaskRow],
    files: &[(Vec<u8>, CachedHash)],
    groups: &[super::groups::GroupOp],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    super::groups::apply(&tx, run_id, groups)?;
    {
        let mut insert_task = tx.prepare_cached(
            "INSERT OR REPLACE INTO tasks (run_id, step, key, status, exit_code, reason, fingerprint, inputs, outputs, \
             started_at, duration_ms, attempts, stderr_tail, log_path, peak_memory, slot) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        let mut upsert_latest = tx.prepare_cached(
            "INSERT OR REPLACE INTO latest (step, key, status, fingerprint, action, inputs, outputs, run_id, deps) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        // A failure keeps the outputs of the last success (what `clean` may
        // delete) and records what it failed with.
        let upsert_failed = &mut tx.prepare_cached(
            "INSERT INTO latest (step, key, status, fingerprint, action, inputs, outputs, run_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7) \
             ON CONFLICT (step, key) DO UPDATE SET status = excluded.status, \
             fingerprint = excluded.fingerprint, action = excluded.action, \
             inputs = excluded.inputs, run_id = excluded.run_id",
        )?;
        let mut mark_latest = tx.prepare_cached(
            "UPDATE latest SET status = ?3, run_id = ?4 WHERE step = ?1 AND key = ?2",
        )?;
        for row in rows {
            insert_task.execute(params![
                run_id,
                row.step,
                row.key,
                row.status,
                row.exit_code,
                row.reason,
                row.fingerprint.as_deref(),
                row.inputs_json,
                row.outputs_json,
                row.started_at,
                row.duration_ms,
                row.attempts,
                row.stderr_tail,
                row.log_path,
                row.peak_memory.map(|m| m as i64),
                row.slot.map(|s| s as i64),
            ])?;
            match &row.latest {
                Some(l) if matches!(row.status, TaskStatus::Failed | TaskStatus::Interrupted) => {
                    upsert_failed.execute(params![
                        row.step,
                        row.key,
                        row.status,
                        l.fingerprint,
                        l.action,
                        l.inputs,
                        run_id
                    ])?;
                }
                Some(l) => {
                    upsert_latest.execute(params![
                        row.step,
                        row.key,
                        TaskStatus::Ok,
                        l.fingerprint,
                        l.action,
                        l.inputs,
                        l.outputs,
                        run_id,
                        l.found_deps
                    ])?;
                }
                None if matches!(row.status, TaskStatus::Failed | TaskStatus::Interrupted) => {
                    mark_latest.execute(params![row.step, row.key, row.status, run_id])?;
                }
                None => {}
            }
        }
        let mut upsert_file = tx.prepare_cached(
            "INSERT OR REPLACE INTO files (path, size, mtime_ns, hash, ctime_ns, inode) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (path, cached) in files {
            upsert_file.execute(params![
                path,
                cached.size as i64,
                cached.mtime_ns,
                &cached.hash[..],
                cached.ctime_ns,
                cached.inode as i64
            ])?;
        }
    }
    tx.commit()
}

/// A SLURM array a run submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArrayRow {
    /// Its folder in the state (absolute).
    pub(crate) dir: String,
    /// SLURM's job id.
    pub(crate) job_id: String,
    /// The run that submitted it.
    pub(crate) run_id: i64,
    /// Its elements.
    pub(crate) elements: usize,
    /// Its tasks.
    pub(crate) tasks: usize,
    /// When (RFC 3339).
    pub(crate) submitted_at: String,
}

/// Records submitted arrays and marks those that are over, in one transaction.
pub(crate) fn write_arrays(
    conn: &mut Connection,
    submitted: &[ArrayRow],
    finished: &[String],
) -> rusqlite::Result<()> {
    if submitted.is_empty() && finished.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO slurm_arrays (dir, job_id, run_id, elements, tasks, submitted_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for a in submitted {
            insert.execute(params![
                a.dir,
                a.job_id,
                a.run_id,
                a.elements as i64,
                a.tasks as i64,
                a.submitted_at
            ])?;
        }
        let mut finish =
            tx.prepare_cached("UPDATE slurm_arrays SET finished = 1 WHERE dir = ?1")?;
        for dir in finished {
            finish.execute([dir])?;
        }
    }
    tx.commit()
}

/// Arrays not known to be over, oldest first.
pub(crate) fn unfinished_arrays(conn: &Connection) -> rusqlite::Result<Vec<ArrayRow>> {
    let mut stmt = conn.prepare(
        "SELECT dir, job_id, run_id, elements, tasks, submitted_at FROM slurm_arrays \
         WHERE finished = 0 ORDER BY run_id, submitted_at, dir",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ArrayRow {
            dir: r.get(0)?,
            job_id: r.get(1)?,
            run_id: r.get(2)?,
            elements: r.get::<_, i64>(3)? as usize,
            tasks: r.get::<_, i64>(4)? as usize,
            submitted_at: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// A failure of the current run, to compare with what the task did before.
#[derive(Debug, Clone)]
pub(crate) struct FailureSeen {
    /// Step name.
    pub(crate) step: String,
    /// Task key.
    pub(crate) key: String,
    /// The fingerprint it failed with (hex), if one was taken.
    pub(crate) fingerprint: Option<String>,
    /// How it ended (`exit code 1`).
    pub(crate) reason: String,
    /// The last lines of its output.
    pub(crate) tail: String,
}

/// When the same failure (status, fingerprint, reason and output tail) was
/// first seen in an unbroken run of results of this task before `run_id`:
/// the start of the earliest such run, or `None` when its previous result
/// was anything else (so the failure is news).
pub(crate) fn same_failure_since(
    conn: &Connection,
    run_id: i64,
    seen: &FailureSeen,
) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.status, t.fingerprint, t.reason, t.stderr_tail, r.started_at \
         FROM tasks t JOIN runs r ON r.id = t.run_id \
         WHERE t.step = ?1 AND t.key = ?2 AND t.run_id < ?3 ORDER BY t.run_id DESC LIMIT 1000",
    )?;
    let mut rows = stmt.query(params![seen.step, seen.key, run_id])?;
    let mut since = None;
    while let Some(row) = rows.next()? {
        let same = row.get_ref(0)?.as_str()? == TaskStatus::Failed.as_str()
            && row.get::<_, Option<String>>(1)? == seen.fingerprint
            && row.get::<_, Option<String>>(2)?.as_deref() == Some(seen.reason.as_str())
            && row.get::<_, Option<String>>(3)?.unwrap_or_default() == seen.tail;
        if !same {
            break;
        }
        since = Some(row.get::<_, String>(4)?);
    }
    Ok(since)
}

/// A failed task, as `history --failed` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct FailedRow {
    /// The run.
    pub(crate) run_id: i64,
    /// Step name.
    pub(crate) step: String,
    /// Task key.
    pub(crate) key: String,
    /// `Failed` or `Interrupted`.
    pub(crate) status: TaskStatus,
    /// Exit code.
    pub(crate) exit_code: Option<i32>,
    /// What happened.
    pub(crate) reason: Option<String>,
    /// Last lines of stderr.
    pub(crate) stderr_tail: Option<String>,
    /// The full log.
    pub(crate) log_path: Option<String>,
}

/// The failed tasks of the most recent run.
pub(crate) fn last_run_failures(
    conn: &Connection,
) -> rusqlite::Result<Option<(i64, Vec<FailedRow>)>> {
    let Some(run_id) = conn
        .query_row("SELECT max(id) FROM runs", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT step, key, status, exit_code, reason, stderr_tail, log_path FROM tasks \
         WHERE run_id = ?1 AND status IN (?2, ?3) ORDER BY step, key",
    )?;
    let failed = (run_id, TaskStatus::Failed, TaskStatus::Interrupted);
    let rows = stmt.query_map(params![failed.0, failed.1, failed.2], |r| {
        Ok(FailedRow {
            run_id,
            step: r.get(0)?,
            key: r.get(1)?,
            status: r.get(2)?,
            exit_code: r.get(3)?,
            reason: r.get(4)?,
            stderr_tail: r.get(5)?,
            log_path: r.get(6)?,
        })
    })?;
    Ok(Some((run_id, rows.collect::<rusqlite::Result<_>>()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_1_database_is_upgraded_keeping_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO runs (started_at, pid, pipeline_hash, argv) VALUES ('2026-01-01T00:00:00Z', 1, 'h', 'runner p.toml')",
                [],
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let run = crate::state::recorded::run(&conn, None).unwrap().unwrap();
        assert_eq!(run.id, 1);
        assert!(run.flags.is_empty());
        assert_eq!(run.jobs, None);
        assert_eq!(run.git_commit, None);
    }

    /// A database is made without fsyncs, but every connection `open`
    /// gives, to a new database or an old one, commits in WAL with
    /// `synchronous=NORMAL` (1).
    #[test]
    fn connections_commit_with_synchronous_normal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        for _ in 0..2 {
            let conn = open(&path).unwrap();
            let sync: i64 = conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            let mode: String = conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            assert_eq!((sync, mode.as_str()), (1, "wal"));
        }
    }

    /// Closing a connection leaves its WAL (no checkpoint, no fsync), and
    /// what it committed is there for the next connection and for a
    /// read-only one (`history`); a later connection that passes SQLite's
    /// 1,000 pages still checkpoints on its own, and the WAL it made large
    /// is cut back to `WAL_SIZE_LIMIT`.
    #[test]
    fn closing_keeps_the_wal_and_loses_no_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let wal = dir.path().join("state.db-wal");
        let insert_run = |conn: &Connection, argv: &str| {
            conn.execute(
                "INSERT INTO runs (started_at, pid, pipeline_hash, argv) VALUES ('2026-01-01T00:00:00Z', 1, 'h', ?1)",
                [argv],
            )
            .unwrap();
        };
        {
            let conn = open(&path).unwrap();
            insert_run(&conn, "first");
        }
        assert!(
            std::fs::metadata(&wal).unwrap().len() > 0,
            "the WAL was checkpointed away"
        );
        let argvs = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn.prepare("SELECT argv FROM runs ORDER BY id").unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        assert_eq!(argvs(&open_read_only(&path).unwrap()), ["first"]);
        {
            let conn = open(&path).unwrap();
            assert_eq!(argvs(&conn), ["first"]);
            insert_run(&conn, "second");
        }
        assert_eq!(argvs(&open(&path).unwrap()), ["first", "second"]);
        // A big transaction (past 1,000 pages) is checkpointed: the
        // database file holds it without the WAL.
        {
            let conn = open(&path).unwrap();
            let tx = conn.unchecked_transaction().unwrap();
            let big = "x".repeat(3000);
            for _ in 0..2000 {
                insert_run(&tx, &big);
            }
            tx.commit().unwrap();
            assert!(std::fs::metadata(&wal).unwrap().len() > WAL_SIZE_LIMIT as u64);
            insert_run(&conn, "after");
        }
        // The WAL emptied by that checkpoint was cut back when the next
        // commit started it again.
        assert!(std::fs::metadata(&wal).unwrap().len() <= WAL_SIZE_LIMIT as u64);
        std::fs::remove_file(&wal).unwrap();
        let _ = std::fs::remove_file(dir.path().join("state.db-shm"));
        let conn = open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert!(n >= 2002, "only {n} runs in the database file itself");
    }

    #[test]
    fn task_statuses_read_back_as_written() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("up_to_date"), None);
    }
}
