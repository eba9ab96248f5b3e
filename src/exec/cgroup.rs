//! cgroup v2 for commands (Linux). Where the cgroup2 file system is mounted
//! and runner may make cgroups under its own, each command runs in a cgroup
//! of its own under this run's folder (`runner-PID-START-OWNER/c-N`, OWNER
//! a mark of the pipeline's state folder): a timeout or
//! an interrupt then reaches every process it started, even one that left its
//! process group (`setsid`), and its peak memory can be read. Found from
//! /proc/self/mountinfo and /proc/self/cgroup, so a hybrid setup (v1
//! controllers, v2 at /sys/fs/cgroup/unified) works as well as a pure v2 one.
//! `RUNNER_CGROUP=off` turns it off; elsewhere the process group does the job.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;

/// The environment variable that turns cgroups off (`off`).
pub(crate) const SWITCH: &str = "RUNNER_CGROUP";

/// The mark of the pipeline this process runs (a hash of its state folder),
/// in its run folder's name: a run removes the cgroups of dead runs of its
/// own pipeline only (another pipeline's next run names and stops those).
static OWNER: OnceLock<String> = OnceLock::new();

/// Sets the pipeline this process runs, before any cgroup is made.
pub(crate) fn set_owner(state_dir: &Path) {
    let hash = blake3::hash(state_dir.as_os_str().as_encoded_bytes());
    let _ = OWNER.set(hash.to_hex()[..12].to_owned());
}

/// This run's cgroup folder; each command gets a cgroup inside it.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    dir: PathBuf,
    next: AtomicU64,
    /// Empty cgroups of commands that ended, for the next ones (making and
    /// removing a cgroup per command costs more than running `true`).
    free: Mutex<Vec<Cgroup>>,
    /// Whether cgroups may be used again: not when they count memory
    /// (`memory.peak` is of a cgroup's whole life).
    reuse: bool,
}

/// One command's cgroup.
#[derive(Debug, Clone)]
pub(crate) struct Cgroup {
    dir: PathBuf,
}

/// A cgroup's `cgroup.procs`, open for the child to move itself in before
/// it runs anything.
pub(crate) struct Joiner {
    procs: File,
}

impl RunCgroup {
    /// Makes this run's cgroup folder under runner's own cgroup, if cgroups
    /// are on, the cgroup2 file system is there and writable, and a process
    /// can be moved into a cgroup made there; `None` otherwise.
    pub(crate) fn create() -> Option<RunCgroup> {
        if std::env::var_os(SWITCH).is_some_and(|v| v == "off") {
            return None;
        }
        let own = own_cgroup_dir()?;
        let pid = std::process::id();
        let start = start_ticks(pid as i32).unwrap_or(0);
        let owner = OWNER.get().map_or("none", String::as_str);
        let dir = own.join(format!("runner-{pid}-{start}-{owner}"));
        fs::create_dir(&dir).ok()?;
        let mut run = RunCgroup {
            dir,
            next: AtomicU64::new(0),
            free: Mutex::new(Vec::new()),
            reuse: false,
        };
        match run.probe() {
            Ok(counts_memory) => {
                run.reuse = !counts_memory;
                Some(run)
            }
            Err(_) => {
                let _ = fs::remove_dir(&run.dir);
                None
            }
        }
    }

    /// Whether a child can really join a cgroup here (delegation rules may
    /// allow making folders but not moving processes); then whether the
    /// memory controller counts its cgroups' memory.
    fn probe(&self) -> io::Result<bool> {
        let cgroup = self.cgroup()?;
        let counts_memory = cgroup.dir.join("memory.peak").exists();
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let joiner = cgroup.joiner()?;
        joiner.apply(&mut command);
        let status = command.spawn().and_then(|mut c| c.wait());
        drop(joiner);
        cgroup.remove();
        status.map(|_| counts_memory)
    }

    /// An empty cgroup for one command: one a finished command left, or a
    /// new one.
    pub(crate) fn cgroup(&self) -> io::Result<Cgroup> {
        if let Some(cgroup) = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(cgroup);
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.join(format!("c-{n}"));
        fs::create_dir(&dir)?;
        Ok(Cgroup { dir })
    }

    /// Takes back a cgroup whose command ended: emptied, then kept for the
    /// next command (or removed, when cgroups count memory).
    pub(crate) fn give_back(&self, cgroup: Cgroup) {
        if !cgroup.is_empty() {
            cgroup.kill_all();
        }
        if self.reuse && cgroup.is_empty() {
            self.free
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cgroup);
        } else {
            cgroup.remove();
        }
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        // Every command has ended: its cgroup is empty.
        for cgroup in self
            .free
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            cgroup.remove();
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

impl Cgroup {
    /// The cgroup at `dir` (one recorded by a run that is gone).
    pub(crate) fn at(dir: PathBuf) -> Cgroup {
        Cgroup { dir }
    }

    /// Its folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Opens its `cgroup.procs` for a child to join.
    pub(crate) fn joiner(&self) -> io::Result<Joiner> {
        let procs = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(self.dir.join("cgroup.procs"))?;
        Ok(Joiner { procs })
    }

    /// The processes in it now.
    pub(crate) fn pids(&self) -> Vec<i32> {
        fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Whether no process is left in it.
    pub(crate) fn is_empty(&self) -> bool {
        match fs::read_to_string(self.dir.join("cgroup.events")) {
            Ok(events) => events.lines().any(|l| l == "populated 0"),
            Err(_) => self.pids().is_empty(),
        }
    }

    /// Sends `signal` to every process in it.
    pub(crate) fn signal(&self, signal: i32) {
        for pid in self.pids() {
            // SAFETY: kill has no memory-safety preconditions; a process
            // that is already gone is fine.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Kills every process in it (`cgroup.kill`, or SIGKILL to each until
    /// none is left, on kernels before 5.14) and waits until it is empty.
    pub(crate) fn kill_all(&self) {
        let killed = OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))
            .and_then(|mut f| f.write_all(b"1"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.is_empty() && Instant::now() < deadline {
            if killed.is_err() {
                self.signal(libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The most memory its processes used together (`memory.peak`), where
    /// the memory controller is on for it.
    pub(crate) fn peak_memory(&self) -> Option<u64> {
        fs::read_to_string(self.dir.join("memory.peak"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Kills what is left in it and removes it.
    pub(crate) fn remove(&self) {
        if !self.is_empty() {
            self.kill_all();
        }
        if fs::remove_dir(&self.dir).is_err() {
            // A process just exiting may keep it busy for a moment.
            std::thread::sleep(Duration::from_millis(20));
            let _ = fs::remove_dir(&self.dir);
        }
    }

    /// Removes the run folder holding this cgroup, which belongs to a run
    /// that is gone, with every cgroup left in it (the empty ones it kept
    /// for reuse, and any whose command it had not registered yet).
    pub(crate) fn remove_run_folder(&self) {
        let Some(parent) = self.dir.parent() else {
            return;
        };
        if !parent
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"runner-"))
        {
            return;
        }
        if let Ok(entries) = fs::read_dir(parent) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    Cgroup::at(entry.path()).remove();
                }
            }
        }
        let _ = fs::remove_dir(parent);
    }
}

impl Joiner {
    /// Makes `command`'s child move itself into the cgroup before it runs
    /// anything, so that every process it starts is in it from the start.
    pub(crate) fn apply(&self, command: &mut Command) {
        let fd: RawFd = self.procs.as_raw_fd();
        // SAFETY: the closure runs in the child between fork and exec; it
        // only calls write(2) on an fd that stays open until the spawn
        // returns (the Joiner outlives it), and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                // Writing "0" moves the writing process.
                if libc::write(fd, b"0".as_ptr().cast(), 1) == 1 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
    }
}

/// Removes the cgroup folders that runs of this pipeline which are gone
/// (`runner-PID-START-OWNER` whose process is not running) left beside this
/// process's cgroup, with every process in them: that finds a dead run's
/// commands even before it recorded them in its state. Other pipelines'
/// folders are theirs to clean (and to report). Returns how many folders
/// it removed.
pub(crate) fn remove_dead_runs() -> usize {
    if std::env::var_os(SWITCH).is_some_and(|v| v == "off") {
        return 0;
    }
    let Some(owner) = OWNER.get() else {
        return 0;
    };
    let Some(own) = own_cgroup_dir() else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(&own) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, start)) = name
            .to_str()
            .and_then(|n| n.strip_prefix("runner-"))
            .and_then(|n| n.strip_suffix(owner.as_str()))
            .and_then(|n| n.strip_suffix('-'))
            .and_then(|n| n.split_once('-'))
            .and_then(|(p, s)| Some((p.parse::<i32>().ok()?, s.parse::<u64>().ok()?)))
        else {
            continue;
        };
        if start_ticks(pid) == Some(start) {
            continue; // that run is still going
        }
        let dir = entry.path();
        if let Ok(cgroups) = fs::read_dir(&dir) {
            for cgroup in cgroups.flatten() {
                if cgroup.file_type().is_ok_and(|t| t.is_dir()) {
                    Cgroup::at(cgroup.path()).remove();
                }
            }
        }
        if fs::remove_dir(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Runner's own cgroup folder in the cgroup2 hierarchy, if it is mounted.
fn own_cgroup_dir() -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let (root, mount) = cgroup2_mount(&mountinfo, own)?;
    let below = Path::new(own).strip_prefix(&root).unwrap_or(Path::new(own));
    let dir = mount.join(below.strip_prefix("/").unwrap_or(below));
    dir.join("cgroup.procs").exists().then_some(dir)
}

/// The (root, mount point) of the cgroup2 mount that shows `own`: the
/// fields 4 and 5 of a /proc/self/mountinfo line whose type (after ` - `)
/// is `cgroup2`; of several, the one whose root is the longest prefix of
/// `own`.
fn cgroup2_mount(mountinfo: &str, own: &str) -> Option<(PathBuf, PathBuf)> {
    let mut best: Option<(PathBuf, PathBuf)> = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.split(' ').next() != Some("cgroup2") {
            continue;
        }
        let fields: Vec<&str> = left.split(' ').collect();
        let (Some(root), Some(mount)) = (fields.get(3), fields.get(4)) else {
            continue;
        };
        let (root, mount) = (unescape(root), unescape(mount));
        if !Path::new(own).starts_with(&root) {
            continue;
        }
        let longer = best
            .as_ref()
            .is_none_or(|(r, _)| root.as_os_str().len() > r.as_os_str().len());
        if longer {
            best = Some((root, mount));
        }
    }
    best
}

/// A mountinfo field with its octal escapes (`\040` for a space) undone.
fn unescape(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// A process's start time in clock ticks since boot (field 22 of
/// /proc/PID/stat): with the pid, it names one process for good, where a
/// pid alone may be reused.
pub(crate) fn start_ticks(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    // `after` starts at field 3; field 22 is the 20th from there.
    after.split(' ').nth(19)?.parse().ok()
}

/// This boot's id (a start time is only meaningful within one boot).
pub(crate) fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_in_a_hybrid_setup() {
        let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        assert_eq!(
            cgroup2_mount(mountinfo, "/"),
            Some((PathBuf::from("/"), PathBuf::from("/sys/fs/cgroup/unified")))
        );
        let pure = "\
25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
26 1 0:22 /user.slice /mnt/my\\040cg rw - cgroup2 cgroup2 rw
";
        assert_eq!(
            cgroup2_mount(pure, "/user.slice/session-2.scope"),
            Some((PathBuf::from("/user.slice"), PathBuf::from("/mnt/my cg")))
        );
        assert_eq!(cgroup2_mount("1 2 0:1 / / rw - ext4 /dev/x rw", "/"), None);
    }

    #[test]
    fn reads_start_ticks_of_a_process() {
        let me = std::process::id() as i32;
        let ticks = start_ticks(me).unwrap();
        assert_eq!(start_ticks(me), Some(ticks));
        assert!(boot_id().len() >= 32);
    }
}
