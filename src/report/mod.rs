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
use crate::error::Error;
use crate::plan::Plan;

pub(crate) use open::open_in_browser;
pub(crate) use summary::{RunReport, Tally, Unchanged, command_line, seconds};

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
) -> Result<Written, Error> {
    let dir = out.parent().unwrap_or(Path::new("/"));
    let rendered =
        page::render(pipeline, plan, conn, run_id, dir, state_db).map_err(|e| match e {
            page::PageError::NoRun(Some(id)) => Error::Usage(format!(
                "error: no run {id} is recorded for `{}`; `runner history {}` lists the runs",
                pipeline.name,
                pipeline.source.path.display()
            )),
            page::PageError::NoRun(None) => Error::Usage(format!(
                "error: no run of `{}` is recorded yet; run it first",
                pipeline.name
            )),
            page::PageError::Db(e) => Error::io(
                format!("cannot read the state database `{}`", state_db.display()),
                std::io::Error::other(e.to_string()),
            ),
            page::PageError::Template(message) => {
                Error::Internal(format!("the report template failed: {message}"))
            }
        })?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create the folder `{}`", dir.display()), e))?;
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&temp, &rendered.html)
        .and_then(|()| std::fs::rename(&temp, out))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::io(format!("cannot write the report `{}`", out.display()), e)
        })?;
    Ok(Written {
        path: out.to_owned(),
        run_id: rendered.run_id,
        plots: rendered.plots,
    })
}
