//! One run per state folder at a time: an OS advisory lock on `lock`, released
//! by the kernel when its holder dies, so there is never a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

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
    match file.try_lock() {
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

/// The pid and start time the holder wrote into the lock file.
fn holder(file: &mut File) -> Option<(String, String)> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    let mut parts = text.split_whitespace();
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}
