//! Run-time errors of runner itself (not of tasks), each with its exit code.

use std::io;
use std::path::PathBuf;

/// Exit code: every task succeeded or was up to date.
pub(crate) const EXIT_OK: i32 = 0;
/// Exit code: some tasks failed.
pub(crate) const EXIT_TASKS_FAILED: i32 = 1;
/// Exit code: the pipeline file or the command line is wrong.
pub(crate) const EXIT_USAGE: i32 = 2;
/// Exit code: another run holds the lock.
pub(crate) const EXIT_LOCKED: i32 = 3;
/// Exit code: runner itself could not work.
pub(crate) const EXIT_INTERNAL: i32 = 4;
/// Exit code: interrupted by SIGINT.
pub(crate) const EXIT_SIGINT: i32 = 130;
/// Exit code: interrupted by SIGTERM.
pub(crate) const EXIT_SIGTERM: i32 = 143;

/// An error and its causes on one line, joined by `: ` (a task's failure
/// message: `data/a.csv: cannot open: No such file or directory`).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why runner stopped without a task verdict.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The pipeline file has problems; the text is the rendered diagnostics.
    #[error("{0}")]
    Load(String),
    /// The command line asks for something that cannot be.
    #[error("{0}")]
    Usage(String),
    /// Another run holds the lock of this pipeline's state.
    #[error("another run (pid {pid}, started at {started}) holds the lock `{}`", path.display())]
    Locked {
        /// Its process id.
        pid: String,
        /// When it started.
        started: String,
        /// The lock file.
        path: PathBuf,
    },
    /// A file runner needs could not be read or written.
    #[error("{context}")]
    Io {
        /// What runner was doing.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A bug.
    #[error("bug in runner, please report it: {0}")]
    Internal(String),
}

impl Error {
    /// The exit code for this error (see DESIGN.md).
    pub(crate) fn code(&self) -> i32 {
        match self {
            Error::Load(_) | Error::Usage(_) => EXIT_USAGE,
            Error::Locked { .. } => EXIT_LOCKED,
            Error::Io { .. } | Error::Internal(_) => EXIT_INTERNAL,
        }
    }

    /// An I/O error with what runner was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
