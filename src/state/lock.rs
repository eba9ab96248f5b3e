//! One run per state folder at a time: an OS advisory lock on `lock`, released
//! by the kernel when its holder dies, so there is never a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::StateError;

/// The held lock; dropping it (or dying) releases it.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

/// Takes the lock of `state_dir`, waiting for it if `wait`; otherwise a
/// held lock is `StateError::Locked`, naming the holder.
pub(crate) fn acquire(
    state_dir: &Path,
    wait: bool,
    on_wait: impl FnOnce(&str),
) -> Result<RunLock, StateError> {
    let path = state_dir.join("lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| StateError::File {
            what: "cannot open the lock file",
            path: path.clone(),
            source,
        })?;
    match try_lock_after_a_dead_holder(&mut file) {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = holder(&mut file);
            if !wait {
                let (pid, started) = holder.unwrap_or_else(|| ("?".into(), "?".into()));
                return Err(StateError::Locked { pid, started, path });
            }
            on_wait(&holder.map_or_else(String::new, |(pid, started)| {
                format!("pid {pid}, started at {started}")
            }));
            file.lock().map_err(|source| StateError::File {
                what: "cannot lock",
                path: path.clone(),
                source,
            })?;
        }
        Err(TryLockError::Error(source)) => {
            return Err(StateError::File {
                what: "cannot lock",
                path,
                source,
            });
        }
    }
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let stamp = format!("{} {started}\n", std::process::id());
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(stamp.as_bytes()));
    written.map_err(|source| StateError::File {
        what: "cannot write the lock file",
        path,
        source,
    })?;
    Ok(RunLock { _file: file })
}

/// How long a lock whose recorded holder is dead may stay held: the
/// children a killed run was starting hold a copy of its descriptor until
/// they `exec` (they close it then), which takes a moment when they are
/// joining a cgroup.
const DEAD_HOLDER_GRACE: Duration = Duration::from_secs(5);

/// `try_lock`, tried again for a moment while the process that wrote the
/// lock file is dead: the lock is then only held by its children on their
/// way to `exec`.
fn try_lock_after_a_dead_holder(file: &mut File) -> Result<(), TryLockError> {
    let deadline = Instant::now() + DEAD_HOLDER_GRACE;
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if Instant::now() < deadline && holder_is_dead(file) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Whether the pid written in the lock file names no running process.
fn holder_is_dead(file: &mut File) -> bool {
    let Some(pid) = holder(file).and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok()) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

/// The pid and start time the holder wrote into the lock file.
fn holder(file: &mut File) -> Option<(String, String)> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    let mut parts = text.split_whitespace();
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock held through another open file description, with `pid`
    /// written as its holder.
    fn held_by(dir: &Path, pid: u32) -> File {
        let mut other = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("lock"))
            .unwrap();
        other.try_lock().unwrap();
        writeln!(other, "{pid} 2026-11-30T00:00:00Z").unwrap();
        other
    }

    #[test]
    fn a_lock_whose_holder_is_dead_is_waited_for_a_moment() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let other = held_by(dir.path(), dead);
        // The children of the dead run close their copy soon.
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(other);
        });
        acquire(dir.path(), false, |_| {}).expect("taken once released");
        release.join().unwrap();
    }

    #[test]
    fn a_lock_whose_holder_runs_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let _other = held_by(dir.path(), std::process::id());
        let start = Instant::now();
        let err = acquire(dir.path(), false, |_| {}).unwrap_err();
        assert!(matches!(err, StateError::Locked { .. }), "{err:?}");
        assert!(start.elapsed() < DEAD_HOLDER_GRACE);
    }
}
