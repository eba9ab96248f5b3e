//! Keeping each command's processes together, so that all of them can be
//! stopped: its process group always, and its own cgroup where cgroup v2 is
//! writable (`Isolation`). Whoever spawns a process (a task's command, a
//! pool's long-lived worker) registers its group with the state while it
//! runs; a run that starts after one that died stops what the dead one left
//! running (`reap_leftovers`), checking the recorded start time so that a
//! reused pid is never killed.

use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

use super::cgroup::{self, Cgroup, RunCgroup};
use crate::state::{GroupRecord, Leftover};

/// How this run keeps a command's processes together.
#[derive(Debug)]
pub(crate) enum Isolation {
    /// A cgroup per command, under this run's cgroup folder.
    Cgroups(RunCgroup),
    /// The process group only (no writable cgroup2, or `RUNNER_CGROUP=off`).
    ProcessGroups,
}

impl Isolation {
    /// Cgroups where they work, else process groups.
    pub(crate) fn detect() -> Isolation {
        match RunCgroup::create() {
            Some(run) => Isolation::Cgroups(run),
            None => Isolation::ProcessGroups,
        }
    }

    /// As recorded in the state (`runs.isolation`).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Isolation::Cgroups(_) => "cgroup",
            Isolation::ProcessGroups => "process-group",
        }
    }

    /// An empty cgroup for one command, when this run uses them. A cgroup
    /// that cannot be made (a limit on their number) leaves that command
    /// with its process group.
    pub(crate) fn cgroup(&self) -> Option<Cgroup> {
        match self {
            Isolation::Cgroups(run) => run.cgroup().ok(),
            Isolation::ProcessGroups => None,
        }
    }

    /// Takes back a command's cgroup once the command is reaped: emptied,
    /// then kept for the next command or removed.
    pub(crate) fn give_back(&self, cgroup: Cgroup) {
        match self {
            Isolation::Cgroups(run) => run.give_back(cgroup),
            Isolation::ProcessGroups => cgroup.remove(),
        }
    }
}

/// The processes of one running command: its process group (its pid; valid
/// to signal as long as the command itself is not reaped, since its zombie
/// keeps the id taken) and its cgroup, if it has one.
#[derive(Debug)]
pub(crate) struct Group {
    /// Process group id (= the command's pid).
    pub(crate) pgid: i32,
    /// Its cgroup.
    pub(crate) cgroup: Option<Cgroup>,
}

impl Group {
    /// Sends `signal` to every process of the command.
    pub(crate) fn signal(&self, signal: i32) {
        kill_group(self.pgid, signal);
        if let Some(cgroup) = &self.cgroup {
            cgroup.signal(signal);
        }
    }

    /// Kills every process of the command for good (SIGKILL).
    pub(crate) fn kill_all(&self) {
        kill_group(self.pgid, libc::SIGKILL);
        if let Some(cgroup) = &self.cgroup
            && !cgroup.is_empty()
        {
            cgroup.kill_all();
        }
    }

    /// What the state remembers of it while it runs.
    pub(crate) fn record(&self) -> GroupRecord {
        GroupRecord {
            pgid: self.pgid,
            start_ticks: cgroup::start_ticks(self.pgid).unwrap_or(0),
            boot_id: cgroup::boot_id(),
            cgroup: self.cgroup.as_ref().map(|c| c.dir().to_owned()),
        }
    }
}

pub(crate) fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: killpg has no memory-safety preconditions; an error (the group
    // is already gone) is fine to ignore.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// Stops what runs that are gone left running (their commands' cgroups and
/// process groups) and removes their temporary outputs. The caller holds
/// the state's lock, and every registering run holds it while it runs, so
/// every record belongs to a run that is gone. A process group is killed
/// only if its first process is still the one recorded (same start time,
/// same boot): a pid may have been reused since. Every process is stopped
/// before any temporary file is removed, so that none writes one again
/// afterwards. Returns one line per leftover that had started (stopped, or
/// found ended), for the user.
pub(crate) fn reap_leftovers(leftovers: &[Leftover]) -> Vec<String> {
    let mut notes = Vec::new();
    let boot = cgroup::boot_id();
    for leftover in leftovers {
        let mut stopped = false;
        if let Some(dir) = &leftover.cgroup {
            let cgroup = Cgroup::at(dir.clone());
            if dir.join("cgroup.procs").exists() {
                stopped = !cgroup.is_empty();
                cgroup.remove();
                cgroup.remove_run_folder();
            }
        }
        if let Some(group) = &leftover.group
            && group.boot_id == boot
            && group.start_ticks != 0
            && cgroup::start_ticks(group.pgid) == Some(group.start_ticks)
            && !zombie(group.pgid)
        {
            kill_group(group.pgid, libc::SIGKILL);
            stopped = true;
        }
        if stopped {
            notes.push(format!(
                "stopped the processes of {} left running by run {}",
                leftover.owner, leftover.run_id
            ));
        } else if leftover.group.is_some() {
            // Its command had started, and its run died before it ended;
            // it ended since (by itself, or stopped by another run that
            // removed the dead run's cgroups: `cgroup::remove_dead_runs`).
            notes.push(format!(
                "the processes of {} left running by run {} had already ended",
                leftover.owner, leftover.run_id
            ));
        }
    }
    // What dead runs had not recorded yet (an attempt registered but not
    // yet spawned, or not registered at all): their cgroups are still there.
    let dead_runs = cgroup::remove_dead_runs();
    if dead_runs > 0 {
        notes.push(format!(
            "removed the cgroups of {dead_runs} run(s) that are gone, with what ran in them"
        ));
    }
    for temp in leftovers.iter().flat_map(|l| &l.temps) {
        // Never follows a link: removes the name only.
        let _ = std::fs::remove_file(temp);
    }
    notes
}

/// Removes the temporary outputs that attempts of a run that is gone may
/// have written without their registration reaching the state (a run killed
/// in the moment between starting an attempt and committing its
/// registration): in each folder where `outputs` (absolute) go, every file
/// named as a temporary of one of them (`plan::temp_prefix`, a hash of the
/// final path: nobody else's file has such a name). `outputs` are as tasks
/// name them (relative to `root`, or absolute). Called after
/// `reap_leftovers`, so what still ran in a cgroup is stopped; without
/// cgroups, a command of that moment is not known and may still write one
/// later. Returns how many it removed.
pub(crate) fn remove_unregistered_temps<'a>(
    root: &Path,
    outputs: impl Iterator<Item = &'a Path>,
) -> usize {
    use std::os::unix::ffi::OsStrExt;
    let mut prefixes: FxHashMap<PathBuf, FxHashSet<Vec<u8>>> = FxHashMap::default();
    for output in outputs {
        if let Some(folder) = output.parent() {
            prefixes
                .entry(root.join(folder))
                .or_default()
                .insert(crate::plan::temp_prefix(output).into_vec());
        }
    }
    let mut removed = 0;
    for (folder, prefixes) in prefixes {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.as_bytes();
            let is_temp = name.starts_with(b".")
                && crate::plan::temp_prefix_ends(name).any(|end| prefixes.contains(&name[..end]));
            if is_temp
                && entry.file_type().is_ok_and(|t| !t.is_dir())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

/// Whether `pid` is a zombie (exited, not yet reaped: nothing to stop).
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .unwrap_or(true)
}

/// Reads a process's exit status and resource use, reaping it.
pub(crate) fn reap(pid: i32) -> io::Result<(std::process::ExitStatus, libc::rusage)> {
    use std::os::unix::process::ExitStatusExt;
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 writes only to the two out-parameters given.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((std::process::ExitStatus::from_raw(status), usage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Whether `pid` (a child) has exited, without reaping it.
pub(crate) fn exited(pid: i32) -> io::Result<bool> {
    // SAFETY: siginfo_t is plain data that waitid fills.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only to `info`; WNOWAIT leaves the child a zombie.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after a successful waitid, si_pid is set (0 if nothing changed).
    Ok(unsafe { info.si_pid() } != 0)
}
