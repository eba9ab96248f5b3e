//! Run-time errors of runner itself (not of tasks): the top of every layer's
//! error, each with its exit code, and the one way to report a bug
//! ([`Internal`]). How the layers' errors fit together: DESIGN.md, Errors.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::{LoadError, SetError};
use crate::exec::slurm::SlurmError;
use crate::report::ReportError;
use crate::state::StateError;
use crate::targets::TargetError;

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

/// `path` relative to `root` when it is under it, else as it is: how an
/// error of a layer that is given absolute paths (a built-in step, a plot,
/// a table) names a file once the caller, who knows root, takes it.
pub(crate) fn under_root(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_owned()
}

/// A bug in runner: something its own code should have made impossible,
/// found in any layer and said the same way everywhere.
#[derive(Debug, Clone, thiserror::Error)]
#[error("bug in runner, please report it: {message}")]
pub(crate) struct Internal {
    message: String,
}

impl Internal {
    /// A bug, in a few words of what went wrong.
    pub(crate) fn new(message: impl Into<String>) -> Internal {
        Internal {
            message: message.into(),
        }
    }
}

/// Why runner stopped without a task verdict.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The pipeline file has problems, found loading or planning it.
    #[error("{0}")]
    Load(Box<LoadError>),
    /// The command line names a step, task or output the file does not have.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A `--set` that cannot be applied.
    #[error(transparent)]
    Set(#[from] SetError),
    /// The run cannot go to SLURM, or an array element cannot run.
    #[error(transparent)]
    Slurm(#[from] SlurmError),
    /// The working directory cannot be read (output paths are relative to it).
    #[error("cannot read the working directory")]
    WorkingDir(#[source] io::Error),
    /// `runner clean --all` cannot remove the state folder.
    #[error("cannot remove the state folder `{}`", path.display())]
    RemoveState {
        /// The state folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The state folder could not be used (or another run holds it).
    #[error(transparent)]
    State(#[from] StateError),
    /// The page of a run could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Standard output could not be written.
    #[error("cannot write to standard output")]
    Stdout(#[source] io::Error),
    /// A bug.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<LoadError> for Error {
    fn from(err: LoadError) -> Error {
        Error::Load(Box::new(err))
    }
}

impl Error {
    /// A bug, in a few words of what went wrong.
    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::Internal(Internal::new(message))
    }

    /// The exit code for this error (see DESIGN.md).
    pub(crate) fn code(&self) -> i32 {
        match self {
            Error::Load(_) | Error::Target(_) | Error::Set(_) => EXIT_USAGE,
            Error::Slurm(err) => err.code(),
            Error::Report(err) if err.is_usage() => EXIT_USAGE,
            Error::State(StateError::Locked { .. }) => EXIT_LOCKED,
            Error::State(_)
            | Error::Report(_)
            | Error::Stdout(_)
            | Error::WorkingDir(_)
            | Error::RemoveState { .. }
            | Error::Internal(_) => EXIT_INTERNAL,
        }
    }

    /// The message for stderr: the diagnostics of a broken file, rendered
    /// (in colour if `color`), or `error: ` and the message, then one
    /// `caused by:` line per source.
    pub(crate) fn report(&self, color: bool) -> String {
        if let Error::Load(err) = self {
            return err.render(color);
        }
        let mut message = format!("error: {self}");
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            message.push_str(&format!("\n  caused by: {cause}"));
            source = cause.source();
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_is_said_one_way_and_causes_follow_the_message() {
        let bug = Error::internal("the writer joined twice");
        assert_eq!(
            bug.report(false),
            "error: bug in runner, please report it: the writer joined twice"
        );
        assert_eq!(bug.code(), EXIT_INTERNAL);
        let locked = Error::from(StateError::File {
            what: "cannot lock",
            path: "/srv/.runner/p/lock".into(),
            source: io::Error::other("no locks here"),
        });
        assert_eq!(
            locked.report(false),
            "error: cannot lock `/srv/.runner/p/lock`\n  caused by: no locks here"
        );
        assert_eq!(locked.code(), EXIT_INTERNAL);
    }
}
