//! The thread that commits task results (and registrations of running
//! processes, and file hashes) as they come: everything queued in one
//! transaction, at most one transaction per `COMMIT_INTERVAL`. A damaged
//! database found while writing is set aside and the run goes on recording
//! into a new one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;

use super::StateError;
use super::db::{self, TaskRow};
use super::groups::{GroupOp, GroupRecord, Registration};
use super::{COMMIT_INTERVAL, damage, fingerprint};
use crate::error::Internal;

/// Messages to the writer thread.
enum Write {
    Task(Box<TaskRow>, Vec<fingerprint::NewHash>),
    Hashes(Vec<fingerprint::NewHash>),
    Group(GroupOp),
    Array(db::ArrayRow),
    ArraysFinished(Vec<String>),
}

/// What the thread hands back: the connection, the run's id (new if the
/// database was replaced), and the first error that stopped the writing.
type Finished = (Connection, i64, Result<(), rusqlite::Error>);

/// The thread that commits task results as they finish.
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<Write>>,
    /// The last registration number handed out.
    slots: AtomicU64,
    handle: Option<JoinHandle<Finished>>,
    failed: Arc<AtomicBool>,
}

/// What a new database needs to hold this run, if the one in use turns out
/// damaged: its path and the run's row.
pub(crate) struct RunRecord {
    /// The database file.
    pub(crate) db_path: PathBuf,
    /// How the run started (its time, file hash, command line, flags).
    pub(crate) start: db::RunStart,
}

impl Writer {
    /// Starts the thread, which owns `conn` until `finish`.
    pub(crate) fn start(
        mut conn: Connection,
        mut run_id: i64,
        record: RunRecord,
    ) -> Result<Writer, StateError> {
        let (tx, rx) = mpsc::channel::<Write>();
        let failed = Arc::new(AtomicBool::new(false));
        let failed2 = failed.clone();
        let handle = std::thread::Builder::new()
            .name("runner-state".into())
            .spawn(move || {
                let mut result = Ok(());
                // Everything queued is committed in one transaction: one
                // commit per finished task when tasks are slow, one per
                // COMMIT_INTERVAL when they finish faster.
                let mut last_commit: Option<std::time::Instant> = None;
                while let Ok(first) = rx.recv() {
                    // What comes until COMMIT_INTERVAL after the last
                    // commit goes in this one; the end of the run (the
                    // channel closed) is committed at once, not after the
                    // rest of the interval.
                    let mut waited = Vec::new();
                    if let Some(until) = last_commit.map(|t| t + COMMIT_INTERVAL) {
                        while let Some(wait) = until.checked_duration_since(Instant::now()) {
                            match rx.recv_timeout(wait) {
                                Ok(message) => waited.push(message),
                                Err(_) => break,
                            }
                        }
                    }
                    last_commit = Some(Instant::now());
                    let mut rows = Vec::new();
                    let mut hashes = Vec::new();
                    let mut groups = Vec::new();
                    let mut arrays = Vec::new();
                    let mut finished = Vec::new();
                    for message in std::iter::once(first).chain(waited).chain(rx.try_iter()) {
                        match message {
                            Write::Task(row, h) => {
                                rows.push(*row);
                                hashes.extend(h);
                            }
                            Write::Hashes(h) => hashes.extend(h),
                            Write::Group(op) => groups.push(op),
                            Write::Array(a) => arrays.push(a),
                            Write::ArraysFinished(dirs) => finished.extend(dirs),
                        }
                    }
                    if result.is_err() {
                        continue;
                    }
                    let write = |conn: &mut Connection, run_id: i64| {
                        db::write_batch(conn, run_id, &rows, &hashes, &groups)
                            .and_then(|()| db::write_arrays(conn, &arrays, &finished))
                    };
                    let mut written = write(&mut conn, run_id);
                    if matches!(&written, Err(e) if damage::is_corrupt(e))
                        && let Err(err) = written
                    {
                        // A new database, with this run in it, then this
                        // batch again.
                        written = match replace(&mut conn, &err, &record) {
                            Ok((fresh, id)) => {
                                conn = fresh;
                                run_id = id;
                                write(&mut conn, run_id)
                            }
                            Err(e) => Err(e),
                        };
                    }
                    if let Err(e) = written {
                        failed2.store(true, Ordering::SeqCst);
                        result = Err(e);
                    }
                }
                (conn, run_id, result)
            })
            .map_err(StateError::Thread)?;
        Ok(Writer {
            tx: Some(tx),
            slots: AtomicU64::new(0),
            handle: Some(handle),
            failed,
        })
    }

    /// Waits for everything queued to be written; gives back the
    /// connection and the run's id (new if the database was replaced).
    pub(crate) fn finish(mut self) -> Result<Finished, Internal> {
        drop(self.tx.take());
        let handle = self
            .handle
            .take()
            .ok_or_else(|| Internal::new("writer joined twice"))?;
        handle
            .join()
            .map_err(|_| Internal::new("the state writer thread panicked"))
    }

    /// A writer that records nothing (`--no-state`).
    pub(crate) fn disabled() -> Writer {
        Writer {
            tx: None,
            slots: AtomicU64::new(0),
            handle: None,
            failed: Arc::new(AtomicBool::new(false)),
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

    /// Queues a SLURM array just submitted.
    pub(crate) fn array(&self, row: db::ArrayRow) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Write::Array(row));
        }
    }

    /// Queues marking arrays (by folder) as over.
    pub(crate) fn arrays_finished(&self, dirs: Vec<String>) {
        if !dirs.is_empty()
            && let Some(tx) = &self.tx
        {
            let _ = tx.send(Write::ArraysFinished(dirs));
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

    /// Set when a write failed; the run must stop (`OpenState::join`
    /// then says why).
    pub(crate) fn failed_flag(&self) -> Arc<AtomicBool> {
        self.failed.clone()
    }
}

/// Sets the damaged database aside and opens a new one holding this run's
/// row; returns the connection and the run's new id.
fn replace(
    conn: &mut Connection,
    err: &rusqlite::Error,
    record: &RunRecord,
) -> rusqlite::Result<(Connection, i64)> {
    // Close the damaged one first (a stand-in takes its place).
    let old = std::mem::replace(conn, Connection::open_in_memory()?);
    drop(old);
    damage::set_aside(&record.db_path, err);
    let fresh = db::open(&record.db_path)?;
    let run_id = db::begin_run(&fresh, &record.start)?;
    Ok((fresh, run_id))
}
