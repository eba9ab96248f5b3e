//! Where outputs land, as the file system resolves it: a folder under `out`
//! that is a link (made by a user, or by a task's command) must not lead
//! into the state folder, nor back into root outside `out` (among inputs);
//! a link to somewhere outside root (scratch space) is followed. Checked
//! once per folder per run, before anything is written there (issue 10,
//! items 5 and 6; the same rules as `config/places.rs`, at run time).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::config::Pipeline;
use crate::plan::display_path;

/// An output folder that runner does not write into. Cheap to clone: each
/// folder is checked once, and every task writing there gets its verdict.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum FolderError {
    /// The folder cannot be resolved.
    #[error("cannot resolve the folder `{}`", display_path(folder))]
    Resolve {
        /// The folder, relative to root.
        folder: PathBuf,
        /// What the system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A link leads into the state folder.
    #[error(
        "the output folder `{}` leads into the state folder (`{}`), through a link; runner does not write there",
        display_path(folder),
        real.display()
    )]
    IntoState {
        /// The folder, relative to root.
        folder: PathBuf,
        /// Where it leads.
        real: PathBuf,
    },
    /// A link leads into root outside the output folder.
    #[error(
        "the output folder `{}` leads to `{}`, inside root but outside the output folder, through a link; runner does not write there",
        display_path(folder),
        real.display()
    )]
    IntoRoot {
        /// The folder, relative to root.
        folder: PathBuf,
        /// Where it leads.
        real: PathBuf,
    },
}

/// The output folders of a run, each checked once.
pub(crate) struct OutputFolders {
    root: PathBuf,
    out: PathBuf,
    state: PathBuf,
    checked: Mutex<FxHashMap<PathBuf, Result<(), FolderError>>>,
}

impl OutputFolders {
    /// For `pipeline`'s `out` and state folders.
    pub(crate) fn new(pipeline: &Pipeline) -> OutputFolders {
        OutputFolders {
            root: pipeline.root.clone(),
            out: pipeline.abs(&pipeline.out_dir),
            state: pipeline.abs(&pipeline.state_dir),
            checked: Mutex::default(),
        }
    }

    /// `Ok` when `folder` (absolute, existing) resolves inside the output
    /// folder or outside root; else what is wrong, for the task's failure.
    pub(crate) fn check(&self, folder: &Path) -> Result<(), FolderError> {
        if let Some(known) = self.lock().get(folder) {
            return known.clone();
        }
        let verdict = self.resolve_and_check(folder);
        self.lock().insert(folder.to_owned(), verdict.clone());
        verdict
    }

    /// `check` before `folder` is made: of it and the folders above it
    /// inside the output folder, the first one that exists is checked, so
    /// that nothing is made through a link that leads where runner does not
    /// write.
    pub(crate) fn check_before_create(&self, folder: &Path) -> Result<(), FolderError> {
        let mut at = folder;
        while !at.exists() {
            match at.parent() {
                Some(up) if up.starts_with(&self.out) => at = up,
                _ => return Ok(()),
            }
        }
        self.check(at)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxHashMap<PathBuf, Result<(), FolderError>>> {
        self.checked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn resolve_and_check(&self, folder: &Path) -> Result<(), FolderError> {
        let shown = folder.strip_prefix(&self.root).unwrap_or(folder).to_owned();
        let real = std::fs::canonicalize(folder).map_err(|e| FolderError::Resolve {
            folder: shown.clone(),
            source: Arc::new(e),
        })?;
        let resolved = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
        if real.starts_with(resolved(&self.state)) {
            return Err(FolderError::IntoState {
                folder: shown,
                real,
            });
        }
        if real.starts_with(resolved(&self.out)) || !real.starts_with(&self.root) {
            return Ok(());
        }
        Err(FolderError::IntoRoot {
            folder: shown,
            real,
        })
    }
}
