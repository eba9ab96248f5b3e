//! One worker process: started in its own process group, with the protocol
//! pipes on its fds 3 and 4, its stdout and stderr piped to runner, and a
//! parent-death signal; then one message at a time, the output it writes
//! meanwhile copied into the current task's logs (cut at the end of each
//! call when it marks them: split.rs), under a deadline and an interrupt
//! that kill its whole group.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::protocol::{PROTOCOL, REPLY_FD, REQUEST_FD};
use super::split::Split;
use crate::exec::cgroup::Cgroup;
use crate::exec::group::{Group, kill_group};
use crate::exec::process::{Exit, KILL_GRACE, Log, PidFd, poll};
use crate::state::GroupRecord;

/// What a worker process is started as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct WorkerCommand {
    /// Program and arguments.
    pub(crate) argv: Vec<OsString>,
    /// Working directory (the pipeline's root).
    pub(crate) cwd: PathBuf,
    /// Added to the inherited environment.
    pub(crate) env: Vec<(String, String)>,
    /// The signal it gets when runner dies: SIGKILL, or SIGTERM for a
    /// worker that stops its whole process group on SIGTERM (the shim).
    pub(crate) death_signal: i32,
}

/// A running worker process, owned by one thread at a time.
pub(crate) struct Worker {
    child: Child,
    /// Its cgroup, where the run uses them (what it starts stays in it).
    cgroup: Option<Cgroup>,
    /// Its registration in the state, while it lives.
    pub(crate) slot: Option<u64>,
    pidfd: Option<PidFd>,
    /// Its request pipe; closing it (every copy) asks the worker to exit.
    /// Shared with a thread that queues a request behind the running one.
    requests: Option<Arc<File>>,
    replies: File,
    /// Reply bytes read but not yet returned as a line.
    pending: Vec<u8>,
    /// Its stdout and stderr, each cut at the end of every call.
    outputs: [Output; 2],
    /// What it writes on both after each call, if it said so in its hello:
    /// requests may then be queued behind a running one.
    pub(crate) boundary: Option<Box<[u8]>>,
    /// Reaped already.
    reaped: bool,
    /// When it was started: a dependency modified after this may have been
    /// read in either version.
    pub(crate) started: SystemTime,
    /// Tasks it has run.
    pub(crate) tasks: u32,
    /// Files under root its code came from (relative to root), as reported.
    pub(crate) deps: Vec<PathBuf>,
    /// Its output between tasks (stdout, stderr), once there was a task.
    between: Option<[Log; 2]>,
}

/// One of a worker's output pipes.
#[derive(Debug)]
struct Output {
    /// `None` once it reached end of file.
    pipe: Option<File>,
    split: Split,
}

impl Output {
    fn new(pipe: Option<OwnedFd>) -> Output {
        Output {
            pipe: pipe.map(File::from),
            split: Split::default(),
        }
    }

    fn fd(&self) -> Option<i32> {
        self.pipe.as_ref().map(|p| p.as_raw_fd())
    }
}

/// What came from a worker while waiting for its next message.
#[derive(Debug)]
pub(crate) enum Event {
    /// A protocol line (without its newline).
    Line(Vec<u8>),
    /// It ended (or closed its reply pipe and was killed) before a message.
    Died(Exit),
    /// The deadline passed; its group was killed.
    TimedOut(Duration),
    /// The run is stopping; its group was killed.
    Interrupted,
}

/// A pipe (read end, write end), both close-on-exec.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds on success; we own them from then on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Starts a worker, in `cgroup` if one is given (and can be joined).
/// Called on the spawner thread only: the parent-death signal fires when
/// the thread that forked the worker ends.
fn start(command: &WorkerCommand, cgroup: Option<Cgroup>) -> io::Result<Worker> {
    let (program, args) = command
        .argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty worker command"))?;
    let (request_read, request_write) = pipe()?;
    let (reply_read, reply_write) = pipe()?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .current_dir(&command.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .env("RUNNER_WORKER_PROTOCOL", PROTOCOL.to_string())
        .env("RUNNER_REQUEST_FD", REQUEST_FD.to_string())
        .env("RUNNER_REPLY_FD", REPLY_FD.to_string());
    for (key, value) in &command.env {
        cmd.env(key, value);
    }
    // The child joins its cgroup first, by writing to the cgroup's
    // `cgroup.procs` descriptor, which may be 3 or 4 in this process: after
    // the pipes are moved onto 3 and 4 below, that write would go into a
    // pipe (a `0` before the worker's hello, and no cgroup).
    let joiner = cgroup.as_ref().and_then(|c| c.joiner().ok());
    let cgroup = match joiner {
        Some(_) => cgroup,
        None => {
            if let Some(c) = cgroup {
                c.remove();
            }
            None
        }
    };
    if let Some(joiner) = &joiner {
        joiner.apply(&mut cmd);
    }
    let (from, to) = (request_read.as_raw_fd(), reply_write.as_raw_fd());
    let death_signal = command.death_signal;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only async-signal-safe functions (fcntl, dup2, prctl, getppid).
    unsafe {
        cmd.pre_exec(move || {
            // Moved out of the way first: `from` or `to` may be 3 or 4.
            let high_from = libc::fcntl(from, libc::F_DUPFD_CLOEXEC, 10);
            let high_to = libc::fcntl(to, libc::F_DUPFD_CLOEXEC, 10);
            if high_from < 0
                || high_to < 0
                || libc::dup2(high_from, REQUEST_FD) < 0
                || libc::dup2(high_to, REPLY_FD) < 0
            {
                return Err(io::Error::last_os_error());
            }
            // Killed with runner, even by `kill -9` (issue 9), and not
            // started at all if runner is already gone.
            if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal) != 0 || libc::getppid() != parent {
                return Err(io::Error::other("runner is gone"));
            }
            Ok(())
        });
    }
    let spawned = cmd.spawn();
    drop(joiner);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            if let Some(c) = cgroup {
                c.remove();
            }
            return Err(e);
        }
    };
    drop(request_read);
    drop(reply_write);
    let pidfd = PidFd::open(child.id());
    Ok(Worker {
        pidfd,
        requests: Some(Arc::new(File::from(request_write))),
        replies: File::from(reply_read),
        pending: Vec::new(),
        outputs: [
            Output::new(child.stdout.take().map(OwnedFd::from)),
            Output::new(child.stderr.take().map(OwnedFd::from)),
        ],
        boundary: None,
        child,
        cgroup,
        slot: None,
        reaped: false,
        started: SystemTime::now(),
        tasks: 0,
        deps: Vec::new(),
        between: None,
    })
}

impl Worker {
    /// Its process id, which is also its process group id.
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// What the state remembers of its processes while it lives, so that a
    /// run after a crash stops what it left.
    pub(crate) fn record(&self) -> GroupRecord {
        Group {
            pgid: self.pid(),
            cgroup: self.cgroup.clone(),
        }
        .record()
    }

    /// Sends `signal` to its process group and its cgroup. Only while it is
    /// not reaped: its id is its own until then.
    fn signal(&self, signal: i32) {
        kill_group(self.pid(), signal);
        if let Some(cgroup) = &self.cgroup {
            cgroup.signal(signal);
        }
    }

    /// Kills every process of its group and cgroup for good.
    fn kill_all(&self) {
        if !self.reaped {
            kill_group(self.pid(), libc::SIGKILL);
        }
        if let Some(cgroup) = &self.cgroup
            && !cgroup.is_empty()
        {
            cgroup.kill_all();
        }
    }

    /// It has been reaped: what it left in its cgroup goes, and the cgroup.
    fn reaped_now(&mut self) {
        self.reaped = true;
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.remove();
        }
    }

    /// Sends one request line. A worker that died meanwhile gives an error
    /// (EPIPE; runner ignores SIGPIPE, as every Rust program does).
    pub(crate) fn send(&mut self, line: &[u8]) -> io::Result<()> {
        match &self.requests {
            Some(requests) => (&**requests).write_all(line),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the worker was asked to exit",
            )),
        }
    }

    /// Its request pipe, for a request queued behind the running one.
    pub(crate) fn request_pipe(&self) -> Option<Arc<File>> {
        self.requests.clone()
    }

    /// A call begins: with `queued`, its request was sent while the last
    /// call ran, so what the worker wrote after that call's boundary is
    /// this one's (into `out`, `err`); else that went between the calls
    /// (`drain_between` took it).
    pub(crate) fn begin(&mut self, out: &mut Log, err: &mut Log) -> io::Result<()> {
        let boundary = self.boundary.as_deref();
        let [o, e] = &mut self.outputs;
        o.split.begin(boundary, out)?;
        e.split.begin(boundary, err)
    }

    /// Whether it has exited (without blocking); reaps it if so.
    pub(crate) fn exited(&mut self) -> bool {
        if self.reaped {
            return true;
        }
        match self.child.try_wait() {
            Ok(Some(_)) | Err(_) => {
                self.reaped_now();
                true
            }
            Ok(None) => false,
        }
    }

    /// Waits for its next protocol line, copying what it writes to stdout
    /// and stderr into `out` and `err`; everything it wrote before the line
    /// is in those logs when this returns. `deadline` (an instant, and the
    /// timeout it stands for) and `stop` end the wait by killing its group.
    pub(crate) fn next_line(
        &mut self,
        out: &mut Log,
        err: &mut Log,
        deadline: Option<(Instant, Duration)>,
        stop: &dyn Fn() -> bool,
    ) -> io::Result<Event> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                // The pipes hold everything written before the reply.
                self.drain_call(out, err)?;
                return Ok(Event::Line(line));
            }
            if stop() {
                self.terminate(out, err)?;
                return Ok(Event::Interrupted);
            }
            let mut slice = Duration::from_millis(250);
            if let Some((at, timeout)) = deadline {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.terminate(out, err)?;
                    return Ok(Event::TimedOut(timeout));
                }
                slice = slice.min(left);
            }
            let mut fds = Vec::with_capacity(4);
            let pollfd = |fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            fds.push(pollfd(self.replies.as_raw_fd()));
            if let Some(p) = &self.pidfd {
                fds.push(pollfd(p.fd()));
            }
            // A stream whose boundary came holds the next call's output:
            // read once the reply is in (no wake-up for it meanwhile).
            for output in &self.outputs {
                if let Some(fd) = output.fd()
                    && !output.split.ended()
                {
                    fds.push(pollfd(fd));
                }
            }
            poll(&mut fds, slice)?;
            let ready = |fd: i32| {
                fds.iter().any(|p| {
                    p.fd == fd && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
                })
            };
            self.copy_output(&ready, out, err)?;
            let mut gone = self.pidfd.as_ref().is_some_and(|p| ready(p.fd()));
            if ready(self.replies.as_raw_fd()) {
                let mut buf = [0u8; 16 * 1024];
                match self.replies.read(&mut buf) {
                    Ok(0) => gone = true,
                    Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if self.pidfd.is_none() && !gone {
                gone = self.gone_unreaped();
            }
            if gone && !self.pending.contains(&b'\n') {
                return self.ended(out, err).map(Event::Died);
            }
        }
    }

    /// Reads what is ready on stdout and stderr into the logs; whether
    /// anything came.
    fn copy_output(
        &mut self,
        ready: &dyn Fn(i32) -> bool,
        out: &mut Log,
        err: &mut Log,
    ) -> io::Result<bool> {
        let mut any = false;
        let boundary = self.boundary.as_deref();
        for (output, log) in self.outputs.iter_mut().zip([out, err]) {
            let Some(pipe) = &mut output.pipe else {
                continue;
            };
            if !ready(pipe.as_raw_fd()) {
                continue;
            }
            let mut buf = [0u8; 16 * 1024];
            match pipe.read(&mut buf) {
                Ok(0) => output.pipe = None,
                Ok(n) => {
                    output.split.feed(&buf[..n], boundary, log)?;
                    any = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => any = true,
                Err(e) => return Err(e),
            }
        }
        Ok(any)
    }

    /// After a reply: what the call wrote before it, up to its boundary on
    /// each stream (in the pipes already: the worker wrote it before the
    /// reply). A boundary that is not there (the function closed or
    /// redirected fd 1 for good) ends the queueing of requests to this
    /// worker: what it wrote goes to this call, as it comes.
    fn drain_call(&mut self, out: &mut Log, err: &mut Log) -> io::Result<()> {
        if self.boundary.is_none() {
            return self.drain(out, err, Duration::ZERO);
        }
        loop {
            let mut fds: Vec<libc::pollfd> = self
                .outputs
                .iter()
                .filter(|o| !o.split.ended())
                .filter_map(Output::fd)
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            if fds.is_empty() {
                break;
            }
            poll(&mut fds, Duration::ZERO)?;
            let ready = |fd: i32| {
                fds.iter().any(|p| {
                    p.fd == fd && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
                })
            };
            if !self.copy_output(&ready, out, err)? {
                break;
            }
        }
        if self.outputs.iter().any(|o| !o.split.ended()) {
            self.boundary = None;
            let [o, e] = &mut self.outputs;
            o.split.flush(out)?;
            e.split.flush(err)?;
        }
        Ok(())
    }

    /// Copies what it wrote since its last task into its own logs under
    /// `log_dir` (files made only if it wrote anything).
    pub(crate) fn drain_between(&mut self, log_dir: &std::path::Path) -> io::Result<()> {
        let pid = self.pid();
        let [mut out, mut err] = self.between.take().unwrap_or_else(|| {
            [
                Log::new(log_dir.join(format!("{pid}.out"))),
                Log::new(log_dir.join(format!("{pid}.err"))),
            ]
        });
        let mut result = self.drain(&mut out, &mut err, Duration::ZERO);
        if result.is_ok() {
            let [o, e] = &mut self.outputs;
            result = o
                .split
                .flush(&mut out)
                .and_then(|()| e.split.flush(&mut err));
        }
        self.between = Some([out, err]);
        result
    }

    /// Copies what the output pipes hold now (and, for up to `linger`, what
    /// still comes) into the logs.
    fn drain(&mut self, out: &mut Log, err: &mut Log, linger: Duration) -> io::Result<()> {
        let end = Instant::now() + linger;
        while self.outputs.iter().any(|o| o.pipe.is_some()) {
            let mut fds: Vec<libc::pollfd> = self
                .outputs
                .iter()
                .filter_map(Output::fd)
                .map(|fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            poll(&mut fds, end.saturating_duration_since(Instant::now()))?;
            let ready = |fd: i32| {
                fds.iter().any(|p| {
                    p.fd == fd && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
                })
            };
            if !self.copy_output(&ready, out, err)? && Instant::now() >= end {
                break;
            }
        }
        Ok(())
    }

    /// It is gone (or closed its reply pipe): what is left of its output,
    /// then how it ended.
    fn ended(&mut self, out: &mut Log, err: &mut Log) -> io::Result<Exit> {
        // Alive without a reply pipe it is of no more use; dead, what it
        // started goes with it. (Not reaped yet: its id is still its own.)
        self.kill_all();
        // Processes it left behind may hold its pipes: read for a moment.
        self.drain(out, err, Duration::from_millis(200))?;
        self.flush_call(out, err)?;
        self.reap()
    }

    /// SIGTERM to its group, SIGKILL after the grace period; reaps it.
    pub(crate) fn terminate(&mut self, out: &mut Log, err: &mut Log) -> io::Result<Exit> {
        if self.reaped {
            return self.reap();
        }
        // Not reaped until the group is signalled for the last time, so
        // that its id cannot have been given to another process meanwhile.
        self.signal(libc::SIGTERM);
        let end = Instant::now() + KILL_GRACE;
        while !self.gone_unreaped() && Instant::now() < end {
            match &self.pidfd {
                Some(fd) => {
                    fd.wait_readable(end.saturating_duration_since(Instant::now()))?;
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        // What is left of the group (children that ignored SIGTERM) too.
        self.kill_all();
        self.drain(out, err, Duration::ZERO)?;
        self.flush_call(out, err)?;
        self.reap()
    }

    /// The call ended without its boundary (the worker is gone): what it
    /// wrote is the call's, whatever came after a boundary that did come
    /// (a queued call it never answered) is no one's.
    fn flush_call(&mut self, out: &mut Log, err: &mut Log) -> io::Result<()> {
        for (output, log) in self.outputs.iter_mut().zip([out, err]) {
            if !output.split.ended() {
                output.split.flush(log)?;
            }
        }
        Ok(())
    }

    /// Whether it has exited (without reaping it: one poll of its pidfd).
    pub(crate) fn gone(&self) -> bool {
        self.reaped || self.gone_unreaped()
    }

    /// Whether it has exited, leaving it to be reaped.
    fn gone_unreaped(&self) -> bool {
        if let Some(fd) = &self.pidfd {
            return fd.wait_readable(Duration::ZERO).unwrap_or(false);
        }
        // SAFETY: waitid with WNOWAIT only reads the child's state into
        // `info`, a zeroed siginfo_t we own.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            ) == 0
                && info.si_pid() != 0
        }
    }

    /// Asks it to exit (closes its request pipe); it is reaped later.
    pub(crate) fn close(&mut self) {
        self.requests = None;
    }

    /// Waits for it to end, at most `grace`, then kills its group.
    pub(crate) fn finish(&mut self, grace: Duration) {
        self.close();
        let end = Instant::now() + grace;
        while !self.exited() && Instant::now() < end {
            match &self.pidfd {
                Some(fd) => {
                    let _ = fd.wait_readable(end.saturating_duration_since(Instant::now()));
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        if !self.reaped {
            self.kill_all();
            let _ = self.reap();
        }
    }

    fn reap(&mut self) -> io::Result<Exit> {
        // `Child::wait` returns the status it already collected, if any.
        let status = self.child.wait()?;
        self.reaped_now();
        Ok(Exit::from_status(status))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.reaped {
            self.requests = None;
            self.kill_all();
            let _ = self.child.wait();
            self.reaped_now();
        }
        if let Some(logs) = self.between.take() {
            for log in logs {
                let _ = log.finish();
            }
        }
    }
}

/// Starts workers from one thread that lives as long as the pool: a
/// worker's parent-death signal fires when the thread that started it ends,
/// so it must not be a pool thread that ends with the scheduler.
#[derive(Default)]
pub(crate) struct Spawner {
    thread: Mutex<Option<SpawnerThread>>,
}

/// A worker to start, in that cgroup, and where to send it.
type SpawnJob = (
    WorkerCommand,
    Option<Cgroup>,
    mpsc::Sender<io::Result<Worker>>,
);

struct SpawnerThread {
    jobs: mpsc::Sender<SpawnJob>,
    handle: JoinHandle<()>,
}

impl Spawner {
    /// Starts a worker in `cgroup` (on the spawner thread, started on
    /// first use).
    pub(crate) fn start(
        &self,
        command: WorkerCommand,
        cgroup: Option<Cgroup>,
    ) -> io::Result<Worker> {
        let (reply, result) = mpsc::channel();
        {
            let mut thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
            if thread.is_none() {
                let (jobs, queue) = mpsc::channel::<SpawnJob>();
                let handle = std::thread::Builder::new()
                    .name("runner-spawner".into())
                    .spawn(move || {
                        for (command, cgroup, reply) in queue {
                            let _ = reply.send(start(&command, cgroup));
                        }
                    })?;
                *thread = Some(SpawnerThread { jobs, handle });
            }
            let thread = thread.as_ref().expect("just started");
            thread
                .jobs
                .send((command, cgroup, reply))
                .map_err(|_| io::Error::other("the worker spawner thread is gone"))?;
        }
        result
            .recv()
            .map_err(|_| io::Error::other("the worker spawner thread is gone"))?
    }

    /// Ends the spawner thread; call once every worker has ended.
    pub(crate) fn close(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(SpawnerThread { jobs, handle }) = thread {
            drop(jobs);
            let _ = handle.join();
        }
    }
}
