//! Why the state folder cannot be used: the lock held by another run, a
//! file or folder of the state, the database (its `rusqlite` error kept as
//! the source, so `caused by:` says what SQLite said).

use std::io;
use std::path::PathBuf;

use crate::error::Internal;

/// The state folder of a pipeline could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
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
    /// A folder or file of the state (not the database) cannot be used.
    #[error("{what} `{}`", path.display())]
    File {
        /// What runner was doing ("cannot create the state folder").
        what: &'static str,
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// This run's log folder cannot be made.
    #[error("cannot create the log folder of run {run} in `{}`", path.display())]
    LogFolder {
        /// The run.
        run: i64,
        /// The folder of every run's logs.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The database cannot be used.
    #[error("{what} `{}`", path.display())]
    Database {
        /// What runner was doing ("cannot use the state database").
        what: &'static str,
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A task's result could not be committed: the run was stopped.
    #[error("cannot record results in `{}`; the run was stopped", path.display())]
    Record {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The thread that commits results could not start.
    #[error("cannot start the state writer thread")]
    Thread(#[source] io::Error),
    /// A bug.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl StateError {
    /// "cannot use the state database `PATH`", caused by `source`.
    pub(crate) fn database(path: impl Into<PathBuf>, source: rusqlite::Error) -> StateError {
        StateError::Database {
            what: "cannot use the state database",
            path: path.into(),
            source,
        }
    }
}
