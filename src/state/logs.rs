//! The log folders of runs, `logs/RUN/` in the state folder: made by runner
//! with a marker file in each, and pruned to the last `keep_logs` runs. Only
//! folders holding the marker are ever removed: a folder that runner did not
//! make is left alone, whatever its name (issue 10, item 4).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The file that marks a log folder as made by runner; it holds the run id.
const MARKER: &str = ".runner-run";

/// Makes the log folder of run `run_id` under `logs`: `logs/ID`, or, when a
/// folder of that name is there (one runner did not make, or the logs of an
/// earlier run of the same id, from before the database was set aside),
/// `logs/ID.1`, `logs/ID.2`...
pub(crate) fn make_run_folder(logs: &Path, run_id: i64) -> io::Result<PathBuf> {
    fs::create_dir_all(logs)?;
    for n in 0u32.. {
        let name = if n == 0 {
            run_id.to_string()
        } else {
            format!("{run_id}.{n}")
        };
        let dir = logs.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::write(dir.join(MARKER), format!("{run_id}\n"))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("some name is free")
}

/// Whether `dir` is a log folder that runner made (a real folder, not a
/// link, holding the marker).
fn is_runners(dir: &Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Keeps the log folders of the newest `keep` runs (`current` included),
/// newest by when their folder was made; removes only runner's own.
pub(crate) fn prune(logs: &Path, current: &Path, keep: u32) {
    prune_sparing(logs, current, keep, &[]);
}

/// [`prune`], leaving the folders in `spare` alone too (the SLURM arrays of
/// earlier runs that may still run).
pub(crate) fn prune_sparing(logs: &Path, current: &Path, keep: u32, spare: &[PathBuf]) {
    let Ok(entries) = fs::read_dir(logs) else {
        return;
    };
    let mut old: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != current && !spare.contains(p) && is_runners(p))
        .filter_map(|p| {
            let made = fs::symlink_metadata(p.join(MARKER)).ok()?.modified().ok()?;
            Some((made, p))
        })
        .collect();
    old.sort();
    let keep_old = (keep as usize).saturating_sub(1);
    let remove = old.len().saturating_sub(keep_old);
    for (_, dir) in &old[..remove] {
        let _ = fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_runner_did_not_make_are_never_touched() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir_all(logs.join("2")).unwrap();
        fs::write(logs.join("2/mine.txt"), "mine").unwrap();
        let first = make_run_folder(&logs, 1).unwrap();
        assert_eq!(first, logs.join("1"));
        let second = make_run_folder(&logs, 2).unwrap();
        assert_eq!(second, logs.join("2.1"));
        prune(&logs, &second, 1);
        assert!(!first.exists());
        assert!(second.exists());
        assert_eq!(fs::read_to_string(logs.join("2/mine.txt")).unwrap(), "mine");
        // A folder of runner's own for the same id (a new database) is
        // kept, for the history that points into it.
        fs::write(second.join("old.err"), "old").unwrap();
        let again = make_run_folder(&logs, 2).unwrap();
        assert_eq!(again, logs.join("2.2"));
        assert!(second.join("old.err").exists());
    }
}
