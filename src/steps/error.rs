//! Why a built-in step failed: a typed error whose message (with its
//! causes) is the task's failure reason.

use std::path::{Path, PathBuf};

use crate::error::{Internal, under_root};
use crate::table::{TableError, display};

/// A built-in step that could not do its job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    /// An input table could not be read (`file:line: what is wrong`).
    #[error(transparent)]
    Table(#[from] TableError),
    /// The task is not one the step can do (inputs, outputs, options).
    #[error("{0}")]
    Usage(String),
    /// The input has nothing to work on.
    #[error("{}: {what}", display(path))]
    Nothing {
        /// The input.
        path: PathBuf,
        /// What is missing, in words.
        what: &'static str,
    },
    /// An output could not be written.
    #[error("cannot write `{}`", display(path))]
    Write {
        /// The output.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The run was interrupted (SIGINT / SIGTERM) while the step ran.
    #[error("interrupted")]
    Interrupted,
    /// A bug.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl StepError {
    /// The same error naming its files relative to `root`, when they are
    /// under it (a built-in is given absolute paths).
    pub(crate) fn relative_to(self, root: &Path) -> StepError {
        match self {
            StepError::Table(e) => StepError::Table(e.relative_to(root)),
            StepError::Nothing { path, what } => StepError::Nothing {
                path: under_root(root, &path),
                what,
            },
            StepError::Write { path, source } => StepError::Write {
                path: under_root(root, &path),
                source,
            },
            other => other,
        }
    }

    /// Whether the step stopped because the run was interrupted.
    pub(crate) fn is_interrupted(&self) -> bool {
        match self {
            StepError::Interrupted => true,
            StepError::Table(e) => e.is_interrupted(),
            _ => false,
        }
    }
}

impl From<crate::cancel::Interrupted> for StepError {
    fn from(_: crate::cancel::Interrupted) -> StepError {
        StepError::Interrupted
    }
}
