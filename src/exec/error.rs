//! Why one attempt of a task failed, typed, with its cause kept; it becomes
//! the task's failure reason (`Failure`): the message and its causes on one
//! line. Paths in it are those of the task, relative to root as the plan
//! made them, never an absolute path cut down afterwards.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Internal, chain};
use crate::exec::folders::FolderError;
use crate::exec::process::signal_name;
use crate::exec::task::Failure;
use crate::plan::{NarrowError, display_path};
use crate::plot::PlotError;
use crate::steps::StepError;

/// Why an attempt of a task failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TaskError {
    /// An output's folder cannot be made.
    #[error("cannot create folder `{}`", display_path(path))]
    CreateFolder {
        /// The folder, relative to root.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The file that receives the command's stdout cannot be made.
    #[error("cannot create `{}`", display_path(path))]
    CreateStdout {
        /// The temporary output, relative to root.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The program is not there.
    #[error("cannot run `{program}`: program not found (is it on the task's PATH?)")]
    ProgramNotFound {
        /// The program as the command names it.
        program: String,
    },
    /// The program could not be started.
    #[error("cannot run `{program}`")]
    Spawn {
        /// The program as the command names it.
        program: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The command ran, but what it printed could not be kept.
    #[error("`{program}` ran, but its output could not be written to its log `{}`", log.display())]
    Log {
        /// The program.
        program: String,
        /// The log file (in the state folder).
        log: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// Waiting for the command failed.
    #[error("`{program}` started, but waiting for it failed")]
    Wait {
        /// The program.
        program: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The command exited with a code other than 0.
    #[error("exit code {0}")]
    ExitCode(i32),
    /// The command was killed by a signal (not runner's).
    #[error("killed by signal {0} ({name})", name = signal_name(*.0))]
    Signal(i32),
    /// The command ran longer than `timeout`.
    #[error("timed out after {} (every process it started was killed)", humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// The run was interrupted (SIGINT / SIGTERM): not the task's fault.
    #[error("interrupted")]
    Interrupted,
    /// The command (or call) succeeded without writing an output.
    #[error(
        "{} succeeded but did not write `{}`{}",
        if *call { "the call" } else { "the command" },
        display_path(path),
        match (*wrote_final, *call) {
            (true, false) => WROTE_FINAL,
            (true, true) => CALL_WROTE_FINAL,
            (false, _) => "",
        }
    )]
    NotWritten {
        /// The output, relative to root.
        path: PathBuf,
        /// It wrote the final path itself instead.
        wrote_final: bool,
        /// A call to a worker (whose output is the `out` argument).
        call: bool,
    },
    /// What stands at an output's temporary name is no regular file.
    #[error(
        "the output `{}` is not a regular file (a folder, a FIFO, a device or a broken link)",
        display_path(path)
    )]
    NotAFile {
        /// The output, relative to root.
        path: PathBuf,
    },
    /// An output's folder leads, through a link, where runner does not
    /// write (`exec::folders`).
    #[error(transparent)]
    OutputFolder(#[from] FolderError),
    /// A finished output cannot be moved into place.
    #[error("cannot move the output into `{}`", display_path(path))]
    Rename {
        /// The output, relative to root.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A built-in step failed (its files named relative to root:
    /// `StepError::relative_to`).
    #[error(transparent)]
    Step(StepError),
    /// A plot failed (its files named relative to root:
    /// `PlotError::relative_to`).
    #[error(transparent)]
    Plot(PlotError),
    /// A partial task's command cannot be rendered over the outputs of
    /// the upstream tasks that succeeded.
    #[error(transparent)]
    Narrow(#[from] NarrowError),
    /// A bug.
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// The hint when a command wrote its output's final name.
const WROTE_FINAL: &str = " (it wrote the final path directly; write to `{{ out }}`, a temporary name that runner renames when the task succeeds)";

/// The hint when a call wrote its output's final name.
const CALL_WROTE_FINAL: &str = " (it wrote the final path directly; write to the `out` argument, a temporary name that runner renames when the task succeeds)";

impl From<TaskError> for Failure {
    fn from(err: TaskError) -> Failure {
        Failure {
            exit_code: match err {
                TaskError::ExitCode(code) => Some(code),
                _ => None,
            },
            signal: match err {
                TaskError::Signal(sig) => Some(sig),
                _ => None,
            },
            interrupted: matches!(err, TaskError::Interrupted),
            reason: chain(&err),
            stderr_tail: Vec::new(),
            step_wide: false,
        }
    }
}
