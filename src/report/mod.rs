//! What a run leaves for people to read: the terminal summary printed at the
//! end of a run (`summary`), and the HTML page of a recorded run, built from
//! the state database alone (`page` and its parts), so that the end of a
//! run and `runner report` give the same page.

mod failures;
mod gallery;
mod open;
mod page;
mod stats;
mod summary;
mod timeline;
mod trend;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::config::Pipeline;
use crate::error::Internal;
use crate::plan::Plan;
use crate::state::StateError;

pub(crate) use open::open_in_browser;
pub(crate) use summary::{RunReport, Tally, Unchanged, command_line, seconds};

/// Why the page of a run cannot be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    /// No run of that id is recorded.
    #[error("no run {id} is recorded for `{pipeline}`; `runner history {}` lists the runs", file.display())]
    NoSuchRun {
        /// The id asked for.
        id: i64,
        /// The pipeline's name.
        pipeline: String,
        /// The pipeline file.
        file: PathBuf,
    },
    /// No run at all is recorded.
    #[error("no run of `{pipeline}` is recorded yet; run it first")]
    NoRun {
        /// The pipeline's name.
        pipeline: String,
    },
    /// The state cannot be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The page's folder cannot be made.
    #[error("cannot create the folder `{}`", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The page cannot be written (or the path given cannot be used).
    #[error("cannot write the report `{}`", path.display())]
    Write {
        /// The page.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A bug (the template failed).
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl ReportError {
    /// Whether the command line asked for what is not there (a usage error).
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            ReportError::NoSuchRun { .. } | ReportError::NoRun { .. }
        )
    }
}

/// A report written.
pub(crate) struct Written {
    /// Where.
    pub(crate) path: PathBuf,
    /// The run it shows.
    pub(crate) run_id: i64,
    /// Pictures in its gallery.
    pub(crate) plots: usize,
}

/// Writes the HTML page of run `run_id` (the newest when `None`) to `out`
/// (absolute), replacing it atomically.
pub(crate) fn write_page(
    pipeline: &Pipeline,
    plan: &Plan,
    conn: &Connection,
    run_id: Option<i64>,
    out: &Path,
    state_db: &Path,
) -> Result<Written, ReportError> {
    let dir = out.parent().unwrap_or(Path::new("/"));
    let rendered =
        page::render(pipeline, plan, conn, run_id, dir, state_db).map_err(|e| match e {
            page::PageError::NoRun(Some(id)) => ReportError::NoSuchRun {
                id,
                pipeline: pipeline.name.clone(),
                file: pipeline.source.path.clone(),
            },
            page::PageError::NoRun(None) => ReportError::NoRun {
                pipeline: pipeline.name.clone(),
            },
            page::PageError::Db(source) => StateError::Database {
                what: "cannot read the state database",
                path: state_db.to_owned(),
                source,
            }
            .into(),
            page::PageError::Template(message) => {
                Internal::new(format!("the report template failed: {message}")).into()
            }
        })?;
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Folder {
        path: dir.to_owned(),
        source,
    })?;
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&temp, &rendered.html)
        .and_then(|()| std::fs::rename(&temp, out))
        .map_err(|source| {
            let _ = std::fs::remove_file(&temp);
            ReportError::Write {
                path: out.to_owned(),
                source,
            }
        })?;
    Ok(Written {
        path: out.to_owned(),
        run_id: rendered.run_id,
        plots: rendered.plots,
    })
}
