//! Fingerprints and the up-to-date check: what a task's result depends on
//! (its rendered action, the content of its inputs and deps), hashed with a
//! two-level check (size, mtime, ctime and inode first, content only when those changed),
//! and why a task must run when it does.

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Pipeline;
use crate::plan::{Task, display_path, escaped};
use crate::state::action_hash::action_hash;
pub(crate) use crate::state::command_deps::StepDeps;
use crate::state::db::{CachedHash, Last, TaskStatus};
use crate::table::ReadFrom;

/// A file hash cache entry older than this (relative to its mtime) is
/// trusted; a file modified within it is hashed again next time (a write in
/// the same timestamp tick as the hash would otherwise go unseen).
const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// Content hashes of files under root, remembered by size, mtime, ctime
/// and inode.
pub(crate) struct Files<'a> {
    root: &'a Path,
    cache: &'a FxHashMap<Vec<u8>, CachedHash>,
    /// Hashed by this instance (a file read by two steps is hashed once).
    hashed: Mutex<FxHashMap<Vec<u8>, CachedHash>>,
    /// `RACY_WINDOW_NS` (0 in tests that cannot wait for a ctime to age).
    racy_window_ns: i64,
}

/// A file hashed anew, to remember next time.
pub(crate) type NewHash = (Vec<u8>, CachedHash);

impl<'a> Files<'a> {
    /// Hashes under `root`, using `cache`.
    pub(crate) fn new(root: &'a Path, cache: &'a FxHashMap<Vec<u8>, CachedHash>) -> Files<'a> {
        Files {
            root,
            cache,
            hashed: Mutex::default(),
            racy_window_ns: RACY_WINDOW_NS,
        }
    }

    /// The content hash of `rel`: from the cache when size, mtime, ctime
    /// and inode are unchanged, else by reading it (and then a new cache
    /// entry).
    pub(crate) fn hash(&self, rel: &Path) -> io::Result<([u8; 32], Option<NewHash>)> {
        let abs = self.root.join(rel);
        let meta = std::fs::metadata(&abs)?;
        self.hash_with(rel, &abs, &meta)
    }

    /// Whether `rel` exists and was last modified at or before `since`.
    pub(crate) fn unchanged_since(&self, rel: &Path, since: SystemTime) -> bool {
        std::fs::metadata(self.root.join(rel))
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| modified <= since)
    }

    /// The content hash of `rel`, a file a worker loaded its code from
    /// when it started at `since`; `None` when it was modified after that
    /// (the worker may have loaded either version) or cannot be read. One
    /// `stat` for both questions: this runs once per call (issue 9's
    /// 5,000 calls a second).
    pub(crate) fn hash_unchanged_since(&self, rel: &Path, since: SystemTime) -> Option<[u8; 32]> {
        let abs = self.root.join(rel);
        let meta = std::fs::metadata(&abs).ok()?;
        if !meta.modified().is_ok_and(|modified| modified <= since) {
            return None;
        }
        self.hash_with(rel, &abs, &meta).ok().map(|(hash, _)| hash)
    }

    /// `hash` with the file's metadata taken already.
    fn hash_with(
        &self,
        rel: &Path,
        abs: &Path,
        meta: &std::fs::Metadata,
    ) -> io::Result<([u8; 32], Option<NewHash>)> {
        // A FIFO or a device would be read forever.
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let stamp = Stamp::of(meta);
        let key = rel.as_os_str().as_encoded_bytes();
        if let Some(c) = self.cache.get(key).filter(|c| stamp.matches(c)) {
            return Ok((c.hash, None));
        }
        if let Some(c) = self.lock_hashed().get(key).filter(|c| stamp.matches(c)) {
            return Ok((c.hash, None)); // its NewHash went out with the first
        }
        // Judged as of now, before the first byte is read (a slow read
        // must not make a file written right after this look settled).
        let seen_at = SystemTime::now();
        let hash = *content_hash(File::open(abs)?, stamp.size)?.as_bytes();
        Ok((hash, self.remember(key, &stamp, hash, seen_at)))
    }

    /// Whether the hash a table reader took of a file as it read it is of
    /// the bytes its table came from: always, but when a second pass read
    /// the first rows again, only if the file was not written since it was
    /// opened (its metadata the same then and after, and settled when it
    /// was opened, so that a write within the timestamps' granularity
    /// would have shown).
    pub(crate) fn trusts(&self, from: &ReadFrom) -> bool {
        match &from.after_second_pass {
            None => true,
            Some(after) => {
                let stamp = Stamp::of(&from.meta);
                stamp.same_as(&Stamp::of(after)) && !self.racy(&stamp, from.opened_at)
            }
        }
    }

    /// Remembers the hash a table reader took of `rel` as it read it
    /// (`trusts` it): as `hash` does, for this run, and a new entry for the
    /// state when the file had settled when it was opened, unless the state
    /// or this run knows it already (another task shared the parse).
    pub(crate) fn remember_read(&self, rel: &Path, from: &ReadFrom) -> Option<NewHash> {
        let key = rel.as_os_str().as_encoded_bytes();
        let stamp = Stamp::of(&from.meta);
        let known = |c: &CachedHash| stamp.matches(c) && c.hash == from.hash;
        if self.cache.get(key).is_some_and(known) || self.lock_hashed().get(key).is_some_and(known)
        {
            return None;
        }
        self.remember(key, &stamp, from.hash, from.opened_at)
    }

    /// Whether a file of `stamp`, looked at `at`, may have been written
    /// since within the timestamps' granularity (its mtime or ctime less
    /// than the racy window before `at`).
    fn racy(&self, stamp: &Stamp, at: SystemTime) -> bool {
        let at_ns = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        at_ns - stamp.mtime_ns.max(stamp.ctime_ns) <= self.racy_window_ns
    }

    /// Remembers `hash` for the file of `stamp`, whose stamp was taken at
    /// `seen_at`, before its bytes were read.
    fn remember(
        &self,
        key: &[u8],
        stamp: &Stamp,
        hash: [u8; 32],
        seen_at: SystemTime,
    ) -> Option<NewHash> {
        let cached = CachedHash {
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            ctime_ns: stamp.ctime_ns,
            inode: stamp.inode,
            hash,
        };
        // Remembered for this run in any case: a module edited a second
        // before the run is read once, not once per task (issue 9). Only a
        // change during the run, within one timestamp tick, could go
        // unseen by this run; the next run hashes the file again, since...
        self.lock_hashed().insert(key.to_vec(), cached);
        // ...it is remembered in the state only when it has not changed
        // for a while: a change within the timestamps' granularity would go
        // unseen. The ctime counts too: `touch -d` after a write puts the
        // mtime back, never the ctime.
        (!self.racy(stamp, seen_at)).then(|| (key.to_vec(), cached))
    }

    fn lock_hashed(&self) -> std::sync::MutexGuard<'_, FxHashMap<Vec<u8>, CachedHash>> {
        self.hashed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Files up to this size are read whole before hashing: blake3's reader
/// zeroes a 64 KiB buffer per file, most of the cost of hashing a small one.
const SMALL_FILE: u64 = 64 * 1024;

/// The blake3 hash of what `file` holds (`size`: its size as last seen, a
/// hint only).
pub(crate) fn content_hash(mut file: File, size: u64) -> io::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    if size < SMALL_FILE {
        use std::io::Read;
        // One more byte than expected: a file that grew is read to its end.
        let mut data = Vec::with_capacity(size as usize + 1);
        file.read_to_end(&mut data)?;
        hasher.update(&data);
    } else {
        hasher.update_reader(file)?;
    }
    Ok(hasher.finalize())
}

/// What the cheap check compares (as git's index does): a file whose
/// content changed has a new size, mtime, ctime or inode, even when its
/// size and mtime were put back (`touch -d`, `rsync -t`, unpackers).
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
        Stamp {
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
        }
    }

    fn same_as(&self, other: &Stamp) -> bool {
        (self.size, self.mtime_ns, self.ctime_ns, self.inode)
            == (other.size, other.mtime_ns, other.ctime_ns, other.inode)
    }

    fn matches(&self, c: &CachedHash) -> bool {
        c.size == self.size
            && c.mtime_ns == self.mtime_ns
            && c.ctime_ns == self.ctime_ns
            && c.inode == self.inode
    }
}

/// The deps of one task: its step's, then the files its worker reported
/// loading when the task last succeeded (sorted; those of the step left out).
pub(crate) fn task_deps<'d>(
    step_deps: &'d [PathBuf],
    found: Option<&[PathBuf]>,
) -> Cow<'d, [PathBuf]> {
    let mut extra: Vec<PathBuf> = found
        .unwrap_or_default()
        .iter()
        .filter(|p| !step_deps.contains(p))
        .cloned()
        .collect();
    if extra.is_empty() {
        return Cow::Borrowed(step_deps);
    }
    extra.sort();
    extra.dedup();
    let mut all = step_deps.to_vec();
    all.extend(extra);
    Cow::Owned(all)
}

/// The hash recorded for a file that changed while a worker had it loaded
/// (it may have run either version): no file has it, so the next run runs
/// the task again.
pub(crate) const CHANGED_DURING_RUN: [u8; 32] = [0; 32];

/// What a task's result depends on, hashed.
#[derive(Debug, Clone)]
pub(crate) struct Fingerprint {
    /// BLAKE3 over action, inputs and deps.
    pub(crate) fingerprint: blake3::Hash,
    /// BLAKE3 over the action alone.
    pub(crate) action: blake3::Hash,
    /// The deps of its step and those its command names, as found when it
    /// was taken (before those its worker reports are added).
    pub(crate) base_deps: Vec<PathBuf>,
    /// The content hash of every input, then of every dep.
    pub(crate) input_hashes: Vec<[u8; 32]>,
    /// Files that had to be hashed, for the cache.
    pub(crate) new_hashes: Vec<NewHash>,
    /// When its last hash was taken: a worker that started after this
    /// loaded what was hashed, or newer.
    pub(crate) hashed_at: SystemTime,
}

/// Fingerprints a task as its inputs are now, over `deps` (`base_deps`, the
/// task's own, then those its worker reported).
pub(crate) fn fingerprint(
    pipeline: &Pipeline,
    task: &Task,
    base_deps: &[PathBuf],
    deps: &[PathBuf],
    files: &Files<'_>,
) -> Result<Fingerprint, Reason> {
    fingerprint_but(pipeline, task, base_deps, deps, files, &[])
}

/// `fingerprint`, but the inputs marked in `as_read` are not hashed now:
/// the task hashes them as it reads them, and `settle` puts their hashes in
/// once it has run (until then they hash as `CHANGED_DURING_RUN`).
pub(crate) fn fingerprint_but(
    pipeline: &Pipeline,
    task: &Task,
    base_deps: &[PathBuf],
    deps: &[PathBuf],
    files: &Files<'_>,
    as_read: &[bool],
) -> Result<Fingerprint, Reason> {
    let action = action_hash(&pipeline.steps[task.step], task);
    let mut input_hashes = Vec::with_capacity(task.inputs.len() + deps.len());
    let mut new_hashes = Vec::new();
    for (i, path) in task.inputs.iter().chain(deps).enumerate() {
        if as_read.get(i) == Some(&true) {
            input_hashes.push(CHANGED_DURING_RUN);
            continue;
        }
        let (hash, new) = files
            .hash(path)
            .map_err(|_| Reason::InputMissing(display_path(path)))?;
        new_hashes.extend(new);
        input_hashes.push(hash);
    }
    Ok(Fingerprint {
        fingerprint: combine(&action, task, deps, &input_hashes),
        action,
        base_deps: base_deps.to_vec(),
        input_hashes,
        new_hashes,
        hashed_at: SystemTime::now(),
    })
}

/// A task's fingerprint once it has run, with the hashes of the inputs it
/// read as tables (`read`: each table read's hash, by input) in place of
/// those taken before: the record names exactly the bytes its result came
/// from. An input read twice with different bytes (written in between)
/// hashes as `CHANGED_DURING_RUN`. An input left to be hashed as read
/// (`as_read`) that was not read: also `CHANGED_DURING_RUN` after a
/// success (never trusted); after a failure, hashed now (a failure's
/// record never makes a task up to date; it says what changed since).
pub(crate) fn settle(
    task: &Task,
    deps: &[PathBuf],
    mut fp: Fingerprint,
    read: &[Vec<[u8; 32]>],
    as_read: &[bool],
    succeeded: bool,
    files: &Files<'_>,
) -> Fingerprint {
    for (i, input) in task.inputs.iter().enumerate() {
        let hashes = read.get(i).map_or(&[][..], Vec::as_slice);
        let hash = match hashes.split_first() {
            Some((first, rest)) if rest.iter().all(|h| h == first) => *first,
            Some(_) => CHANGED_DURING_RUN,
            None if as_read.get(i) != Some(&true) => continue,
            None if succeeded => CHANGED_DURING_RUN,
            None => match files.hash(input) {
                Ok((hash, new)) => {
                    fp.new_hashes.extend(new);
                    hash
                }
                Err(_) => CHANGED_DURING_RUN,
            },
        };
        fp.input_hashes[i] = hash;
    }
    fp.fingerprint = combine(&fp.action, task, deps, &fp.input_hashes);
    fp
}

/// The fingerprint over an action and the hashes of the task's inputs,
/// then of `deps` (in that order in `hashes`).
fn combine(
    action: &blake3::Hash,
    task: &Task,
    deps: &[PathBuf],
    hashes: &[[u8; 32]],
) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(action.as_bytes());
    for (i, (path, hash)) in task.inputs.iter().chain(deps).zip(hashes).enumerate() {
        if i == task.inputs.len() {
            h.update(b"\0deps");
        }
        let bytes = path.as_os_str().as_encoded_bytes();
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
        h.update(hash);
    }
    h.finalize()
}

/// The fingerprint of a task after its worker reported which files its code
/// came from: the same action and input hashes as `before` (taken before it
/// ran, with `before_deps`), over `deps`; each dep's hash is what
/// `dep_hash` makes of it and of its hash in `before` (`None`: not hashed
/// before).
pub(crate) fn with_deps(
    task: &Task,
    before: &Fingerprint,
    before_deps: &[PathBuf],
    deps: &[PathBuf],
    mut dep_hash: impl FnMut(&Path, Option<[u8; 32]>) -> [u8; 32],
) -> Fingerprint {
    let inputs = task.inputs.len().min(before.input_hashes.len());
    let known: HashMap<&Path, [u8; 32]> = before_deps
        .iter()
        .map(PathBuf::as_path)
        .zip(before.input_hashes[inputs..].iter().copied())
        .collect();
    let mut input_hashes = before.input_hashes[..inputs].to_vec();
    for dep in deps {
        input_hashes.push(dep_hash(dep, known.get(dep.as_path()).copied()));
    }
    Fingerprint {
        fingerprint: combine(&before.action, task, deps, &input_hashes),
        action: before.action,
        base_deps: before.base_deps.clone(),
        input_hashes,
        new_hashes: Vec::new(),
        hashed_at: before.hashed_at,
    }
}

/// `(path, hex hash)` of every input and dep of a fingerprint, for the state
/// and for explaining which one changed.
pub(crate) fn input_pairs(
    task: &Task,
    deps: &[PathBuf],
    fp: &Fingerprint,
) -> Vec<(String, String)> {
    task.inputs
        .iter()
        .chain(deps)
        .zip(&fp.input_hashes)
        .map(|(path, hash)| {
            (
                line_safe(path),
                blake3::Hash::from(*hash).to_hex().to_string(),
            )
        })
        .collect()
}

/// Why a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// No record of it.
    New,
    /// `--force`.
    Forced,
    /// It failed (or was interrupted) in its last run: how (`exit code 1`,
    /// when known), and what changed since, if anything was seen to.
    LastRun {
        /// Interrupted rather than failed.
        interrupted: bool,
        /// How it ended, when the state says (`--explain` loads it).
        how: Option<String>,
        /// What changed since (action, an input); `None` = nothing seen.
        change: Option<Box<Reason>>,
    },
    /// The command (or built-in, options, env, outputs) changed.
    ActionChanged,
    /// An input or dep's content changed.
    InputChanged(String),
    /// Some input or dep changed (not looked up which).
    InputsChanged,
    /// Files were added to or removed from its inputs.
    InputsAddedOrRemoved(Vec<String>),
    /// An input cannot be read (it will fail).
    InputMissing(String),
    /// An output is gone.
    OutputMissing(String),
    /// An output was changed since it was written.
    OutputModified(String),
    /// A task it reads runs.
    UpstreamRuns(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::New => write!(f, "new"),
            Reason::Forced => write!(f, "forced"),
            Reason::LastRun {
                interrupted,
                how,
                change,
            } => {
                let what = if *interrupted {
                    "interrupted"
                } else {
                    "failed"
                };
                write!(f, "{what} in the last run")?;
                if let Some(how) = how.as_deref().filter(|h| *h != what) {
                    write!(f, " ({how})")?;
                }
                match change {
                    Some(change) => write!(f, "; since then: {change}"),
                    None => write!(f, "; nothing changed since"),
                }
            }
            Reason::ActionChanged => write!(f, "action changed"),
            Reason::InputChanged(p) => write!(f, "input changed: {p}"),
            Reason::InputsChanged => write!(f, "inputs changed"),
            Reason::InputsAddedOrRemoved(changes) => {
                write!(f, "inputs changed: {}", changes.join(", "))
            }
            Reason::InputMissing(p) => write!(f, "input missing: {p}"),
            Reason::OutputMissing(p) => write!(f, "output missing: {p}"),
            Reason::OutputModified(p) => write!(f, "output modified: {p}"),
            Reason::UpstreamRuns(t) => write!(f, "upstream task runs: {t}"),
        }
    }
}

/// Compares a fingerprint (and the outputs on disk) with the last record;
/// `Ok(())` means up to date. New file hashes found are appended.
pub(crate) fn compare(
    task: &Task,
    deps: &[PathBuf],
    fp: &Fingerprint,
    latest: Option<&Last>,
    files: &Files<'_>,
    new_hashes: &mut Vec<NewHash>,
) -> Result<(), Reason> {
    let Some(latest) = latest else {
        return Err(Reason::New);
    };
    match latest.status {
        TaskStatus::Ok => {}
        status => {
            return Err(Reason::LastRun {
                interrupted: status == TaskStatus::Interrupted,
                how: latest.failure.clone(),
                change: changed_inputs(task, deps, fp, latest).err().map(Box::new),
            });
        }
    }
    changed_inputs(task, deps, fp, latest)?;
    let mut recorded = hash_lines(&latest.outputs);
    for out in task.outputs.iter() {
        let shown = || line_safe(out);
        let (hash, new) = files
            .hash(out)
            .map_err(|_| Reason::OutputMissing(shown()))?;
        new_hashes.extend(new);
        let hex = blake3::Hash::from(hash).to_hex();
        let same = recorded
            .next()
            .is_some_and(|(p, h)| h == hex.as_str() && shown_as(p, out));
        if !same {
            return Err(Reason::OutputModified(shown()));
        }
    }
    Ok(())
}

/// Whether the action and inputs are those of the last record: the action,
/// then (when the inputs' hashes are loaded) which input changed, or which
/// were added or removed.
fn changed_inputs(
    task: &Task,
    deps: &[PathBuf],
    fp: &Fingerprint,
    latest: &Last,
) -> Result<(), Reason> {
    if latest.action != fp.action {
        return Err(Reason::ActionChanged);
    }
    if latest.fingerprint != fp.fingerprint {
        let Some(inputs) = &latest.inputs else {
            // Which one is only worth finding out when someone asks.
            return Err(Reason::InputsChanged);
        };
        let before: Vec<(&str, &str)> = hash_lines(inputs).collect();
        let before_map: HashMap<&str, &str> = before.iter().copied().collect();
        let now_pairs = input_pairs(task, deps, fp);
        for (path, hash) in &now_pairs {
            if let Some(old) = before_map.get(path.as_str())
                && *old != hash
            {
                return Err(Reason::InputChanged(path.clone()));
            }
        }
        let now: std::collections::HashSet<&str> =
            now_pairs.iter().map(|(p, _)| p.as_str()).collect();
        let mut changes: Vec<String> = now_pairs
            .iter()
            .filter(|(p, _)| !before_map.contains_key(p.as_str()))
            .map(|(p, _)| format!("+{p}"))
            .collect();
        changes.extend(
            before
                .iter()
                .filter(|(p, _)| !now.contains(p))
                .map(|(p, _)| format!("-{p}")),
        );
        if changes.is_empty() {
            // Same files, same hashes, other order.
            changes.push("order".to_owned());
        }
        return Err(Reason::InputsAddedOrRemoved(changes));
    }
    Ok(())
}

/// Whether `shown` is how `path` is written in the state (without
/// allocating for the usual plain UTF-8 path).
fn shown_as(shown: &str, path: &Path) -> bool {
    match path.to_str() {
        Some(plain) if !plain.contains(['\\', '\n', '\r']) => shown == plain,
        _ => shown == line_safe(path),
    }
}

/// `HASH  PATH` lines of a task's outputs as they are now, for `latest`.
pub(crate) fn output_hashes(
    task: &Task,
    files: &Files<'_>,
    new_hashes: &mut Vec<NewHash>,
) -> io::Result<String> {
    let mut outs = Vec::with_capacity(task.outputs.len());
    for out in task.outputs.iter() {
        let (hash, new) = files.hash(out)?;
        new_hashes.extend(new);
        outs.push((
            line_safe(out),
            blake3::Hash::from(hash).to_hex().to_string(),
        ));
    }
    Ok(to_hash_lines(&outs))
}

/// `(path, hex hash)` pairs as `HASH  PATH` lines (the format of `b3sum`).
pub(crate) fn to_hash_lines(pairs: &[(String, String)]) -> String {
    let mut out = String::with_capacity(pairs.len() * 100);
    for (path, hash) in pairs {
        out.push_str(hash);
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out
}

/// Reads `HASH  PATH` lines back as `(path, hash)`.
fn hash_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let (hash, path) = line.split_once("  ")?;
        Some((path, hash))
    })
}

/// A path that fits on one line and looks like no other: `\\`, newline,
/// carriage return and bytes that are not UTF-8 escaped.
fn line_safe(path: &Path) -> String {
    escaped(path.as_os_str(), true).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_hashed_once_per_run_and_remembered_only_when_settled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.csv"), "a\n").unwrap();
        std::fs::write(dir.path().join("new.csv"), "b\n").unwrap();
        let old = std::fs::File::options()
            .write(true)
            .open(dir.path().join("old.csv"))
            .unwrap();
        old.set_modified(SystemTime::now() - std::time::Duration::from_secs(60))
            .unwrap();
        let cache = FxHashMap::default();
        let files = Files {
            racy_window_ns: 0,
            ..Files::new(dir.path(), &cache)
        };
        // Hashed and remembered the first time; the second time it comes
        // from memory (no new hash to record again).
        let (first, new) = files.hash(Path::new("old.csv")).unwrap();
        assert!(new.is_some());
        let (second, again) = files.hash(Path::new("old.csv")).unwrap();
        assert_eq!((first, again), (second, None));
        // A file changed within the racy window is never remembered in the
        // state: a change in the same timestamp tick must not go unseen by
        // the next run. Its ctime counts: `old.csv` was just written, its
        // mtime put back.
        let files = Files::new(dir.path(), &cache);
        assert!(files.hash(Path::new("old.csv")).unwrap().1.is_none());
        let (first, new) = files.hash(Path::new("new.csv")).unwrap();
        assert!(new.is_none());
        // For this run it is: read once, not once per task.
        assert!(files.lock_hashed().get(b"new.csv".as_slice()).is_some());
        assert_eq!(files.hash(Path::new("new.csv")).unwrap().0, first);
        // A change that moves its stamp is seen in the same run, and the
        // next run (a new instance, the same state) reads it again.
        std::fs::write(dir.path().join("new.csv"), "cd\n").unwrap();
        let (after, _) = files.hash(Path::new("new.csv")).unwrap();
        assert_eq!(after, *blake3::hash(b"cd\n").as_bytes());
        std::fs::write(dir.path().join("new.csv"), "ef\n").unwrap();
        let next_run = Files::new(dir.path(), &cache);
        let (again, _) = next_run.hash(Path::new("new.csv")).unwrap();
        assert_eq!(again, *blake3::hash(b"ef\n").as_bytes());
    }

    /// A hash a table reader took as it read a file is judged as of when
    /// it opened the file, not when its task ended (seconds later, after a
    /// big second input or a long draw): a file written in the timestamp
    /// tick it was opened in must not be remembered as settled. After a
    /// second pass over its first rows, the hash is trusted only if the
    /// file is as it was when opened, and had settled then.
    #[test]
    fn a_hash_taken_as_read_is_judged_as_of_the_open() {
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, "t\n1\n").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let changed = {
            use std::os::unix::fs::MetadataExt;
            UNIX_EPOCH + Duration::new(meta.ctime() as u64, meta.ctime_nsec() as u32)
        };
        let written = meta.modified().unwrap().max(changed);
        let read = |opened_after: u64, after: Option<std::fs::Metadata>| ReadFrom {
            hash: *blake3::hash(b"t\n1\n").as_bytes(),
            meta: meta.clone(),
            opened_at: written + Duration::from_secs(opened_after),
            after_second_pass: after,
        };
        let cache = FxHashMap::default();
        let files = Files::new(dir.path(), &cache);
        let rel = Path::new("a.csv");
        assert!(files.remember_read(rel, &read(1, None)).is_none(), "racy");
        let files = Files::new(dir.path(), &cache);
        assert!(
            files.remember_read(rel, &read(3, None)).is_some(),
            "settled"
        );
        // The second reader of the same parse: known already.
        assert!(files.remember_read(rel, &read(3, None)).is_none());
        // One pass: the hash is of the bytes read, whatever happened since.
        assert!(files.trusts(&read(0, None)));
        // Two passes: the same file, settled when opened.
        assert!(files.trusts(&read(3, Some(meta.clone()))));
        assert!(!files.trusts(&read(1, Some(meta.clone()))), "racy");
        // (Another size: a rewrite in the same clock tick would leave
        // size and times as they were; that is what `racy` is for.)
        std::fs::write(&path, "t\n22\n").unwrap();
        let rewritten = std::fs::metadata(&path).unwrap();
        assert!(
            !files.trusts(&read(3, Some(rewritten))),
            "written in between"
        );
    }

    #[test]
    fn small_and_large_files_hash_as_blake3_of_their_content() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0, 1, SMALL_FILE as usize - 1, SMALL_FILE as usize, 200_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("f{size}"));
            std::fs::write(&path, &data).unwrap();
            // The size is a hint: a wrong one still hashes the whole file.
            for hint in [size as u64, 0, 10 * SMALL_FILE] {
                let file = File::open(&path).unwrap();
                assert_eq!(
                    content_hash(file, hint).unwrap(),
                    blake3::hash(&data),
                    "size {size}, hint {hint}"
                );
            }
        }
    }

    #[test]
    fn hash_lines_round_trip_odd_names() {
        let pairs = vec![
            (line_safe(Path::new("new\nline.csv")), "ab".to_owned()),
            (
                line_safe(Path::new("back\\slash  two spaces.csv")),
                "cd".to_owned(),
            ),
        ];
        let text = to_hash_lines(&pairs);
        assert_eq!(text.lines().count(), 2);
        let back: Vec<(String, String)> = hash_lines(&text)
            .map(|(p, h)| (p.to_owned(), h.to_owned()))
            .collect();
        assert_eq!(back, pairs);
    }
}
