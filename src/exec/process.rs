//! Child processes of tasks: spawned in their own process group with stdin
//! from /dev/null, waited on with a timeout, and killed group-wide.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::os::unix::process::{CommandExt, ExitStatusExt};

/// How long a process group gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// What to run and where its output goes.
pub(crate) struct Spawn<'a> {
    /// Program and arguments.
    pub(crate) argv: &'a [OsString],
    /// Working directory.
    pub(crate) cwd: &'a Path,
    /// Added to the inherited environment.
    pub(crate) env: &'a [(String, String)],
    /// Receives standard output.
    pub(crate) stdout: File,
    /// Receives standard error.
    pub(crate) stderr: File,
    /// Kill the group after this long.
    pub(crate) timeout: Option<Duration>,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past its timeout and its group was killed.
    TimedOut(Duration),
    /// The run was interrupted and its group was killed.
    Interrupted,
}

impl Exit {
    fn from_status(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(-1),
        }
    }
}

/// The process groups of running tasks, so an interrupt can stop them all.
#[derive(Default)]
pub(crate) struct Children {
    groups: Mutex<HashSet<i32>>,
    stopping: std::sync::atomic::AtomicBool,
}

impl Children {
    /// Sends SIGTERM to every running group and refuses new ones; groups
    /// still alive after a grace period get SIGKILL (from their waiter).
    pub(crate) fn stop_all(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        for &pgid in groups.iter() {
            kill_group(pgid, libc::SIGTERM);
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Runs one command to its end.
pub(crate) fn run(spawn: Spawn<'_>, children: &Children) -> io::Result<Exit> {
    let (program, args) = spawn
        .argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    if children.stopping() {
        return Ok(Exit::Interrupted);
    }
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(spawn.cwd)
        .stdin(Stdio::null())
        .stdout(spawn.stdout)
        .stderr(spawn.stderr)
        .process_group(0);
    for (key, value) in spawn.env {
        command.env(key, value);
    }
    let mut child = command.spawn()?;
    let pgid = child.id() as i32;
    children
        .groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pgid);
    let result = wait(&mut child, pgid, spawn.timeout, children);
    children
        .groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pgid);
    result
}

fn wait(
    child: &mut std::process::Child,
    pgid: i32,
    timeout: Option<Duration>,
    children: &Children,
) -> io::Result<Exit> {
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    // The child is not reaped until `wait` returns, so its pid (and group id)
    // cannot be reused while we may still signal it.
    let pidfd = PidFd::open(child.id());
    loop {
        let slice = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        // Wake regularly to notice an interrupt.
        let slice = slice.min(Duration::from_millis(250));
        let exited = match &pidfd {
            Some(fd) => fd.wait_readable(slice)?,
            None => {
                std::thread::sleep(slice.min(Duration::from_millis(20)));
                child.try_wait()?.is_some()
            }
        };
        if exited {
            let status = child.wait()?;
            // Killed by our own stop: an interruption, not its failure.
            if children.stopping() && status.signal().is_some() {
                return Ok(Exit::Interrupted);
            }
            return Ok(Exit::from_status(status));
        }
        if children.stopping() {
            terminate(child, pgid, pidfd.as_ref())?;
            return Ok(Exit::Interrupted);
        }
        if let (Some(d), Some(t)) = (deadline, timeout)
            && Instant::now() >= d
        {
            terminate(child, pgid, pidfd.as_ref())?;
            return Ok(Exit::TimedOut(t));
        }
    }
}

/// SIGTERM to the group, then SIGKILL if it is still there after the grace
/// period; reaps the child. Grandchildren are in the group and die with it.
fn terminate(child: &mut std::process::Child, pgid: i32, pidfd: Option<&PidFd>) -> io::Result<()> {
    kill_group(pgid, libc::SIGTERM);
    let gone = match pidfd {
        Some(fd) => fd.wait_readable(KILL_GRACE)?,
        None => {
            let end = Instant::now() + KILL_GRACE;
            loop {
                if child.try_wait()?.is_some() {
                    break true;
                }
                if Instant::now() >= end {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    // Whatever is left of the group (grandchildren that ignored SIGTERM, or
    // outlived the leader) is killed for good.
    kill_group(pgid, libc::SIGKILL);
    if !gone {
        let _ = child.kill();
    }
    child.wait()?;
    Ok(())
}

fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: killpg has no memory-safety preconditions; an error (the group
    // is already gone) is fine to ignore.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// A Linux pidfd: readable once the process has exited.
struct PidFd(i32);

impl PidFd {
    fn open(pid: u32) -> Option<PidFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
        (fd >= 0).then_some(PidFd(fd as i32))
    }

    fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: `pfd` is a valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n >= 0 {
                return Ok(n > 0);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl Drop for PidFd {
    fn drop(&mut self) {
        // SAFETY: we own this fd and close it once.
        unsafe {
            libc::close(self.0);
        }
    }
}

/// A signal's name, for messages.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => "a signal",
    }
}
