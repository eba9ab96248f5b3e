//! Child processes of commands: spawned with stdin from /dev/null in their
//! own process group (and cgroup, where `exec::group` says so), their output
//! piped into logs, waited on with a timeout; when a command ends, whatever
//! it left running is killed, and when it is stopped, everything it started.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};

use super::cgroup::Cgroup;
use super::group::{self, Group, Isolation};
pub(crate) use super::log::{Log, StdoutTo};

/// How long a command's processes get between SIGTERM and SIGKILL.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(2);

/// What to run and where its output goes.
pub(crate) struct Spawn<'a> {
    /// Program and arguments.
    pub(crate) argv: &'a [OsString],
    /// Working directory.
    pub(crate) cwd: &'a Path,
    /// Added to the inherited environment.
    pub(crate) env: &'a [(String, String)],
    /// Receives standard output.
    pub(crate) stdout: StdoutTo<'a>,
    /// Receives standard error.
    pub(crate) stderr: &'a mut Log,
    /// Kill every process of it after this long.
    pub(crate) timeout: Option<Duration>,
    /// How its processes are kept together (its cgroup comes from there).
    pub(crate) isolation: &'a Isolation,
    /// Told its group as soon as it runs (to register it in the state).
    pub(crate) on_start: &'a dyn Fn(&Group),
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past its timeout and its processes were killed.
    TimedOut(Duration),
    /// The run was interrupted and its processes were killed.
    Interrupted,
}

impl Exit {
    /// How a reaped child ended.
    pub(crate) fn from_status(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(-1),
        }
    }
}

/// A command that ran.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ran {
    /// How it ended.
    pub(crate) exit: Exit,
    /// The most memory it used, in bytes: its cgroup's `memory.peak` where
    /// the memory controller is on, else the largest resident set of it and
    /// the processes it waited for (getrusage).
    pub(crate) peak_memory: Option<u64>,
}

/// What went wrong around a command, as opposed to the command failing.
#[derive(Debug)]
pub(crate) enum RunError {
    /// It could not be started.
    Spawn(io::Error),
    /// It ran, but its output could not be written to its log.
    Log(PathBuf, io::Error),
    /// Waiting for it failed.
    Wait(io::Error),
}

/// The running commands' groups, so an interrupt can stop them all.
#[derive(Default)]
pub(crate) struct Children {
    groups: Mutex<FxHashMap<i32, Option<PathBuf>>>,
    stopping: std::sync::atomic::AtomicBool,
}

impl Children {
    /// Sends SIGTERM to every process of every running command and refuses
    /// new ones; what is still alive after a grace period gets SIGKILL
    /// (from its waiter).
    pub(crate) fn stop_all(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        for (&pgid, cgroup) in groups.iter() {
            group::kill_group(pgid, libc::SIGTERM);
            if let Some(dir) = cgroup {
                Cgroup::at(dir.clone()).signal(libc::SIGTERM);
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Runs one command to its end, copying its piped output into the logs.
/// Whatever it leaves running when it exits is killed; its cgroup removed.
pub(crate) fn run(spawn: Spawn<'_>, children: &Children) -> Result<Ran, RunError> {
    let (program, args) = spawn.argv.split_first().ok_or_else(|| {
        RunError::Spawn(io::Error::new(io::ErrorKind::InvalidInput, "empty command"))
    })?;
    if children.stopping() {
        return Ok(Ran {
            exit: Exit::Interrupted,
            peak_memory: None,
        });
    }
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(spawn.cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut stdout_log = match spawn.stdout {
        StdoutTo::File(file) => {
            command.stdout(file);
            None
        }
        StdoutTo::Log(log) => {
            command.stdout(Stdio::piped());
            Some(log)
        }
    };
    for (key, value) in spawn.env {
        command.env(key, value);
    }
    let cgroup = spawn.isolation.cgroup();
    let joiner = match &cgroup {
        Some(cgroup) => match cgroup.joiner() {
            Ok(joiner) => Some(joiner),
            Err(e) => {
                spawn.isolation.give_back(cgroup.clone());
                return Err(RunError::Spawn(e));
            }
        },
        None => None,
    };
    if let Some(joiner) = &joiner {
        joiner.apply(&mut command);
    }
    let spawned = command.spawn();
    drop(joiner);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            if let Some(cgroup) = cgroup {
                spawn.isolation.give_back(cgroup);
            }
            return Err(RunError::Spawn(e));
        }
    };
    let group = Group {
        pgid: child.id() as i32,
        cgroup,
    };
    children
        .groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            group.pgid,
            group.cgroup.as_ref().map(|c| c.dir().to_owned()),
        );
    (spawn.on_start)(&group);
    let mut streams = Streams {
        out: child.stdout.take().zip(stdout_log.take()),
        err: child.stderr.take().map(|pipe| (pipe, spawn.stderr)),
        failed: None,
    };
    let waited = wait(&group, spawn.timeout, children, &mut streams);
    // The command has exited (or was stopped) and is not reaped yet, so its
    // group id is still its own: kill whatever it left running, then reap.
    group.kill_all();
    let reaped = group::reap(group.pgid);
    children
        .groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&group.pgid);
    let peak_cgroup = group.cgroup.as_ref().and_then(Cgroup::peak_memory);
    if let Some(cgroup) = group.cgroup {
        spawn.isolation.give_back(cgroup);
    }
    let (status, usage) = reaped.map_err(RunError::Wait)?;
    let exit = match waited.map_err(RunError::Wait)? {
        // Killed by our own stop: an interruption, not its failure.
        None if children.stopping() && status.signal().is_some() => Exit::Interrupted,
        None => Exit::from_status(status),
        Some(exit) => exit,
    };
    let ran = Ran {
        exit,
        peak_memory: peak_cgroup.or_else(|| {
            // ru_maxrss is in kilobytes on Linux.
            u64::try_from(usage.ru_maxrss).ok().map(|kb| kb * 1024)
        }),
    };
    match streams.failed {
        Some((path, err)) => Err(RunError::Log(path, err)),
        None => Ok(ran),
    }
}

/// Runs a command whose output goes where runner's goes (a hook such as
/// `on_failure`) in its own process group, for at most `timeout`: then its
/// group gets SIGTERM, and SIGKILL after the grace period. What it leaves
/// running in its group when it exits is killed too.
pub(crate) fn run_limited(command: &mut Command, timeout: Duration) -> io::Result<Exit> {
    let child = command.process_group(0).spawn()?;
    let group = Group {
        pgid: child.id() as i32,
        cgroup: None,
    };
    let mut streams = Streams {
        out: None,
        err: None,
        failed: None,
    };
    let waited = wait(&group, Some(timeout), &Children::default(), &mut streams);
    group.kill_all();
    let (status, _) = group::reap(group.pgid)?;
    Ok(waited?.unwrap_or_else(|| Exit::from_status(status)))
}

/// The child's open output pipes and where they go.
struct Streams<'a> {
    out: Option<(std::process::ChildStdout, &'a mut Log)>,
    err: Option<(std::process::ChildStderr, &'a mut Log)>,
    /// The first log that could not be written; its output is read and
    /// dropped from then on, so that the command is not blocked.
    failed: Option<(PathBuf, io::Error)>,
}

impl Streams<'_> {
    fn open(&self) -> bool {
        self.out.is_some() || self.err.is_some()
    }

    /// Waits up to `timeout` for output or for `pidfd`; copies what came.
    /// Returns whether the process exited (pidfd readable).
    fn pump(&mut self, pidfd: Option<&PidFd>, timeout: Duration) -> io::Result<bool> {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
        let pollfd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        if let Some((pipe, _)) = &self.out {
            fds.push(pollfd(pipe.as_raw_fd()));
        }
        if let Some((pipe, _)) = &self.err {
            fds.push(pollfd(pipe.as_raw_fd()));
        }
        if let Some(p) = pidfd {
            fds.push(pollfd(p.fd()));
        }
        if fds.is_empty() {
            std::thread::sleep(timeout);
            return Ok(false);
        }
        poll(&mut fds, timeout)?;
        let ready = |fd: i32| {
            fds.iter().any(|p| {
                p.fd == fd && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
            })
        };
        let mut buf = [0u8; 16 * 1024];
        let failed = &mut self.failed;
        let mut copy = |pipe: &mut dyn Read, log: &mut Log| -> io::Result<bool> {
            match pipe.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) if failed.is_none() => {
                    if let Err(e) = log.write(&buf[..n]) {
                        *failed = Some((log.path().to_owned(), e));
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            Ok(true)
        };
        if let Some((pipe, log)) = &mut self.out
            && ready(pipe.as_raw_fd())
            && !copy(pipe, log)?
        {
            self.out = None;
        }
        if let Some((pipe, log)) = &mut self.err
            && ready(pipe.as_raw_fd())
            && !copy(pipe, log)?
        {
            self.err = None;
        }
        Ok(pidfd.is_some_and(|p| ready(p.fd())))
    }
}

/// How long output is still read after the command itself exited, from
/// processes it left behind holding its pipes.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);

/// Waits until the command exits (and its pipes close, or a moment more),
/// its timeout passes or the run is stopped; never reaps it. `None` when it
/// exited by itself.
fn wait(
    group: &Group,
    timeout: Option<Duration>,
    children: &Children,
    streams: &mut Streams<'_>,
) -> io::Result<Option<Exit>> {
    let started = Instant::now();
    // A year at most: no `Instant` overflow (issue 10, item 7).
    let deadline = timeout.and_then(|t| started.checked_add(t));
    // The child is not reaped until `run` does, so its pid (and group id)
    // cannot be reused while we may still signal it.
    let pidfd = PidFd::open(group.pgid as u32);
    let mut exited_at: Option<Instant> = None;
    loop {
        let slice = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        // Wake regularly to notice an interrupt.
        let slice = slice.min(Duration::from_millis(250));
        let exited = if exited_at.is_some() {
            streams.pump(None, slice.min(Duration::from_millis(50)))?;
            true
        } else {
            match &pidfd {
                Some(fd) => streams.pump(Some(fd), slice)?,
                None => {
                    streams.pump(None, slice.min(Duration::from_millis(20)))?;
                    group::exited(group.pgid)?
                }
            }
        };
        if exited && exited_at.is_none() {
            exited_at = Some(Instant::now());
        }
        if let Some(at) = exited_at
            && (!streams.open() || at.elapsed() >= DRAIN_AFTER_EXIT)
        {
            return Ok(None);
        }
        if exited_at.is_none() {
            if children.stopping() {
                terminate(group, pidfd.as_ref())?;
                return Ok(Some(Exit::Interrupted));
            }
            if let (Some(d), Some(t)) = (deadline, timeout)
                && Instant::now() >= d
            {
                terminate(group, pidfd.as_ref())?;
                return Ok(Some(Exit::TimedOut(t)));
            }
        }
    }
}

/// `poll(2)`, retried when a signal interrupts it; the number of ready fds.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: `fds` is a valid slice of pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// SIGTERM to every process of the command, then, after the grace period
/// or as soon as the command itself is gone, SIGKILL to what is left
/// (`run` does that). Grandchildren are in its group and cgroup and go with
/// it; with a cgroup, so do those that left the group (`setsid`).
fn terminate(group: &Group, pidfd: Option<&PidFd>) -> io::Result<()> {
    group.signal(libc::SIGTERM);
    match pidfd {
        Some(fd) => {
            fd.wait_readable(KILL_GRACE)?;
        }
        None => {
            let end = Instant::now() + KILL_GRACE;
            while !group::exited(group.pgid)? && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    Ok(())
}

/// A Linux pidfd: readable once the process has exited; closed on drop.
pub(crate) struct PidFd(OwnedFd);

impl PidFd {
    /// A pidfd of a child not reaped yet (`None` on kernels without it).
    pub(crate) fn open(pid: u32) -> Option<PidFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
        let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: pidfd_open just returned this fd, and nothing else owns it.
        Some(PidFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The raw fd, for `poll`.
    pub(crate) fn fd(&self) -> i32 {
        self.0.as_raw_fd()
    }

    /// Whether the process exits within `timeout`.
    pub(crate) fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        Ok(poll(&mut fds, timeout)? > 0)
    }
}

/// A signal's name, for messages (`SIGKILL`).
pub(crate) fn signal_name(signal: i32) -> &'static str {
    signal_hook::low_level::signal_name(signal).unwrap_or("a signal")
}
