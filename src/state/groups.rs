//! The `processes` table: what each running attempt may leave behind if
//! runner dies (its temporary outputs, its process group and cgroup), written
//! while it runs and removed when it ends. A later run reads what is left
//! and stops it (`exec::group::reap_leftovers`).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use rusqlite::{Connection, Transaction, params};

/// A process group (and cgroup) that runner started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupRecord {
    /// The process group id (= its first process's pid).
    pub(crate) pgid: i32,
    /// Start time of that process, clock ticks since boot (/proc/PID/stat).
    pub(crate) start_ticks: u64,
    /// The boot it started in (/proc/sys/kernel/random/boot_id).
    pub(crate) boot_id: String,
    /// Its cgroup folder, when it has one.
    pub(crate) cgroup: Option<PathBuf>,
}

/// What an attempt registers before it starts.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    /// Who it is, for messages (`task clean 2024/x`, `worker 3 of pool fit`).
    pub(crate) owner: String,
    /// Temporary files it may leave (absolute).
    pub(crate) temps: Vec<PathBuf>,
    /// Its cgroup, when made before it starts.
    pub(crate) cgroup: Option<PathBuf>,
}

/// A registration of a run that is gone.
#[derive(Debug, Clone)]
pub(crate) struct Leftover {
    /// The run that registered it.
    pub(crate) run_id: i64,
    /// Its number within that run.
    pub(crate) slot: i64,
    /// Who it was.
    pub(crate) owner: String,
    /// Its processes, if it had started any.
    pub(crate) group: Option<GroupRecord>,
    /// Its cgroup, if it had one.
    pub(crate) cgroup: Option<PathBuf>,
    /// Its temporary files.
    pub(crate) temps: Vec<PathBuf>,
}

/// A change to the `processes` table, in the order they happened.
#[derive(Debug, Clone)]
pub(crate) enum GroupOp {
    /// An attempt starts.
    Register(u64, Registration),
    /// Its command runs, in this group.
    Spawned(u64, GroupRecord),
    /// It ended; nothing of it is left.
    Release(u64),
}

/// Paths as one BLOB, NUL-separated (a path has no NUL; bytes kept as is).
fn paths_blob(paths: &[PathBuf]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in paths {
        out.extend_from_slice(p.as_os_str().as_bytes());
        out.push(0);
    }
    out
}

fn blob_paths(blob: &[u8]) -> Vec<PathBuf> {
    blob.split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsString::from_vec(p.to_vec())))
        .collect()
}

/// Applies the changes of a batch, in order. An attempt registered and
/// released within the batch (a short task) leaves no trace, so it is not
/// written at all: two statements fewer per task when tasks are fast.
pub(crate) fn apply(tx: &Transaction<'_>, run_id: i64, ops: &[GroupOp]) -> rusqlite::Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let registered: rustc_hash::FxHashSet<u64> = ops
        .iter()
        .filter_map(|op| match op {
            GroupOp::Register(slot, _) => Some(*slot),
            _ => None,
        })
        .collect();
    let over: rustc_hash::FxHashSet<u64> = ops
        .iter()
        .filter_map(|op| match op {
            GroupOp::Release(slot) if registered.contains(slot) => Some(*slot),
            _ => None,
        })
        .collect();
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO processes (run_id, slot, owner, cgroup, temps) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut spawned = tx.prepare_cached(
        "UPDATE processes SET pgid = ?3, start_ticks = ?4, boot_id = ?5, cgroup = ?6 \
         WHERE run_id = ?1 AND slot = ?2",
    )?;
    let mut release = tx.prepare_cached("DELETE FROM processes WHERE run_id = ?1 AND slot = ?2")?;
    for op in ops {
        let slot = match op {
            GroupOp::Register(slot, _) | GroupOp::Spawned(slot, _) | GroupOp::Release(slot) => slot,
        };
        if over.contains(slot) {
            continue;
        }
        match op {
            GroupOp::Register(slot, r) => {
                insert.execute(params![
                    run_id,
                    *slot as i64,
                    r.owner,
                    r.cgroup.as_ref().map(|c| c.as_os_str().as_bytes()),
                    paths_blob(&r.temps)
                ])?;
            }
            GroupOp::Spawned(slot, g) => {
                spawned.execute(params![
                    run_id,
                    *slot as i64,
                    g.pgid,
                    g.start_ticks as i64,
                    g.boot_id,
                    g.cgroup.as_ref().map(|c| c.as_os_str().as_bytes())
                ])?;
            }
            GroupOp::Release(slot) => {
                release.execute(params![run_id, *slot as i64])?;
            }
        }
    }
    Ok(())
}

/// Every registration still there.
pub(crate) fn leftovers(conn: &Connection) -> rusqlite::Result<Vec<Leftover>> {
    let mut stmt = conn.prepare(
        "SELECT run_id, slot, owner, pgid, start_ticks, boot_id, cgroup, temps FROM processes \
         ORDER BY run_id, slot",
    )?;
    let rows = stmt.query_map([], |r| {
        let cgroup: Option<Vec<u8>> = r.get(6)?;
        let cgroup = cgroup.map(|c| PathBuf::from(OsString::from_vec(c)));
        let pgid: Option<i32> = r.get(3)?;
        let group = match pgid {
            Some(pgid) => Some(GroupRecord {
                pgid,
                start_ticks: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
                boot_id: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                cgroup: cgroup.clone(),
            }),
            None => None,
        };
        Ok(Leftover {
            run_id: r.get(0)?,
            slot: r.get(1)?,
            owner: r.get(2)?,
            group,
            cgroup,
            temps: blob_paths(&r.get::<_, Vec<u8>>(7)?),
        })
    })?;
    rows.collect()
}

/// Forgets registrations once what they left is stopped.
pub(crate) fn forget(conn: &Connection, leftovers: &[Leftover]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("DELETE FROM processes WHERE run_id = ?1 AND slot = ?2")?;
    for l in leftovers {
        stmt.execute(params![l.run_id, l.slot])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_survive_the_blob() {
        let paths = vec![
            PathBuf::from("/a/b.tmp"),
            PathBuf::from(OsString::from_vec(b"/odd\xff\nname".to_vec())),
        ];
        assert_eq!(blob_paths(&paths_blob(&paths)), paths);
        assert!(blob_paths(&[]).is_empty());
    }

    fn register(slot: u64) -> GroupOp {
        GroupOp::Register(
            slot,
            Registration {
                owner: format!("task {slot}"),
                temps: vec![PathBuf::from(format!("/out/.x.tmp-{slot}"))],
                cgroup: None,
            },
        )
    }

    fn registered_slots(conn: &Connection) -> Vec<i64> {
        leftovers(conn).unwrap().iter().map(|l| l.slot).collect()
    }

    #[test]
    fn an_attempt_registered_and_released_in_one_batch_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::state::db::open(&dir.path().join("state.db")).unwrap();
        let group = GroupRecord {
            pgid: 4242,
            start_ticks: 7,
            boot_id: "boot".into(),
            cgroup: None,
        };
        // A fast task (1) starts and ends within the batch; another (2)
        // is still running when the batch is written.
        let batch = [
            register(1),
            register(2),
            GroupOp::Spawned(1, group.clone()),
            GroupOp::Spawned(2, group.clone()),
            GroupOp::Release(1),
        ];
        let tx = conn.transaction().unwrap();
        apply(&tx, 1, &batch).unwrap();
        tx.commit().unwrap();
        assert_eq!(registered_slots(&conn), vec![2]);
        let left = leftovers(&conn).unwrap();
        assert_eq!(left[0].group.as_ref().map(|g| g.pgid), Some(4242));
        // Released in a later batch than its registration: deleted.
        let tx = conn.transaction().unwrap();
        apply(&tx, 1, &[register(3), GroupOp::Release(2)]).unwrap();
        tx.commit().unwrap();
        assert_eq!(registered_slots(&conn), vec![3]);
    }
}
