//! Child processes of tasks: spawned in their own process group with stdin
//! from /dev/null, waited on with a timeout, and killed group-wide.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::os::unix::process::{CommandExt, ExitStatusExt};

/// How long a process group gets between SIGTERM and SIGKILL.
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
    pub(crate) stdout: Sink<'a>,
    /// Receives standard error.
    pub(crate) stderr: &'a mut Log,
    /// Kill the group after this long.
    pub(crate) timeout: Option<Duration>,
}

/// Where a stream goes: straight into a file (an output), or through a pipe
/// into a log that only becomes a file if anything was written.
pub(crate) enum Sink<'a> {
    /// The child writes this file itself.
    File(File),
    /// Read by runner into a log.
    Log(&'a mut Log),
}

/// A task's captured stream: kept in memory while small, written to its
/// file when large or when the task ends, never created when empty. (Empty
/// log files for thousands of quiet tasks cost more than the tasks.)
pub(crate) struct Log {
    path: PathBuf,
    pending: Vec<u8>,
    file: Option<File>,
    marker: Option<String>,
}

/// Bytes kept in memory before a log spills to its file.
const SPILL: usize = 256 * 1024;

impl Log {
    /// A log that would be written at `path`.
    pub(crate) fn new(path: PathBuf) -> Log {
        Log {
            path,
            pending: Vec::new(),
            file: None,
            marker: None,
        }
    }

    /// A line written before the next output, if any comes (`[runner] attempt 2`).
    pub(crate) fn mark(&mut self, line: String) {
        if !self.is_empty() {
            self.marker = Some(line);
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.file.is_none()
    }

    /// Appends output.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if let Some(marker) = self.marker.take() {
            self.write(format!("\n{marker}\n").as_bytes())?;
        }
        if self.file.is_none() && self.pending.len() + data.len() <= SPILL {
            self.pending.extend_from_slice(data);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(open_log(&self.path)?),
        };
        if !self.pending.is_empty() {
            file.write_all(&self.pending)?;
            self.pending.clear();
        }
        file.write_all(data)
    }

    /// Writes what is pending; the path, if the log is not empty.
    pub(crate) fn finish(mut self) -> io::Result<Option<PathBuf>> {
        if self.is_empty() {
            return Ok(None);
        }
        if !self.pending.is_empty() {
            let file = match &mut self.file {
                Some(file) => file,
                None => self.file.insert(open_log(&self.path)?),
            };
            file.write_all(&self.pending)?;
        }
        Ok(Some(self.path))
    }
}

fn open_log(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    File::create(path)
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
    /// How a reaped child ended.
    pub(crate) fn from_status(status: ExitStatus) -> Exit {
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

/// Runs one command to its end, copying its piped output into the logs.
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
        .stderr(Stdio::piped())
        .process_group(0);
    let mut stdout_log = match spawn.stdout {
        Sink::File(file) => {
            command.stdout(file);
            None
        }
        Sink::Log(log) => {
            command.stdout(Stdio::piped());
            Some(log)
        }
    };
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
    let mut streams = Streams {
        out: child.stdout.take().zip(stdout_log.take()),
        err: child.stderr.take().map(|pipe| (pipe, spawn.stderr)),
    };
    let result = wait(&mut child, pgid, spawn.timeout, children, &mut streams);
    children
        .groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pgid);
    result
}

/// The child's open output pipes and where they go.
struct Streams<'a> {
    out: Option<(std::process::ChildStdout, &'a mut Log)>,
    err: Option<(std::process::ChildStderr, &'a mut Log)>,
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
            fds.push(pollfd(p.0));
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
        if let Some((pipe, log)) = &mut self.out
            && ready(pipe.as_raw_fd())
        {
            match pipe.read(&mut buf) {
                Ok(0) => self.out = None,
                Ok(n) => log.write(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some((pipe, log)) = &mut self.err
            && ready(pipe.as_raw_fd())
        {
            match pipe.read(&mut buf) {
                Ok(0) => self.err = None,
                Ok(n) => log.write(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(pidfd.is_some_and(|p| ready(p.0)))
    }
}

/// How long output is still read after the command itself exited, from
/// processes it left behind holding its pipes.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);

fn wait(
    child: &mut std::process::Child,
    pgid: i32,
    timeout: Option<Duration>,
    children: &Children,
    streams: &mut Streams<'_>,
) -> io::Result<Exit> {
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    // The child is not reaped until `wait` returns, so its pid (and group id)
    // cannot be reused while we may still signal it.
    let pidfd = PidFd::open(child.id());
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
                    child.try_wait()?.is_some()
                }
            }
        };
        if exited && exited_at.is_none() {
            exited_at = Some(Instant::now());
        }
        if let Some(at) = exited_at
            && (!streams.open() || at.elapsed() >= DRAIN_AFTER_EXIT)
        {
            let status = child.wait()?;
            // Killed by our own stop: an interruption, not its failure.
            if children.stopping() && status.signal().is_some() {
                return Ok(Exit::Interrupted);
            }
            return Ok(Exit::from_status(status));
        }
        if exited_at.is_none() {
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

/// Sends `signal` to the process group `pgid` (gone already is fine).
pub(crate) fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: killpg has no memory-safety preconditions; an error (the group
    // is already gone) is fine to ignore.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// A Linux pidfd: readable once the process has exited.
pub(crate) struct PidFd(i32);

impl PidFd {
    /// A pidfd of a child not reaped yet (`None` on kernels without it).
    pub(crate) fn open(pid: u32) -> Option<PidFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
        (fd >= 0).then_some(PidFd(fd as i32))
    }

    /// The raw fd, for `poll`.
    pub(crate) fn fd(&self) -> i32 {
        self.0
    }

    /// Whether the process exits within `timeout`.
    pub(crate) fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [libc::pollfd {
            fd: self.0,
            events: libc::POLLIN,
            revents: 0,
        }];
        Ok(poll(&mut fds, timeout)? > 0)
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
