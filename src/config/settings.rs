//! `[pipeline]`: the settings of the whole pipeline (name, root, out, jobs,
//! env, state folder, `on_failure` and its timeout, `keep_logs`,
//! `format_version`), checked
//! and given their defaults.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{JobsSetting, RawPipeline};
use super::validate::Checker;
use super::{FORMAT_VERSION, Source, normalize_path};
use crate::diag::Diagnostic;

/// `[pipeline]`, validated.
pub(super) struct Settings {
    /// `name`, or the file's stem.
    pub(super) name: String,
    /// The canonical root; `None` when it cannot be opened (reported).
    pub(super) root: Option<PathBuf>,
    /// `out`, normalized (default `out`).
    pub(super) out_dir: PathBuf,
    /// Where `out` is written, if it is.
    pub(super) out_span: Option<std::ops::Range<usize>>,
    /// `jobs`; `None` = auto.
    pub(super) jobs: Option<usize>,
    /// `env`, sorted by name.
    pub(super) env: Vec<(String, String)>,
    /// `state` (default `.runner/NAME`).
    pub(super) state_dir: PathBuf,
    /// Where `state` is written, if it is.
    pub(super) state_span: Option<std::ops::Range<usize>>,
    /// `on_failure`.
    pub(super) on_failure: Vec<String>,
    /// `on_failure_timeout` (default 60 s).
    pub(super) on_failure_timeout: std::time::Duration,
    /// `keep_logs` (at least 1).
    pub(super) keep_logs: u32,
    /// `lock_warning` (default 1 day).
    pub(super) lock_warning: std::time::Duration,
    /// `prune`.
    pub(super) prune: bool,
}

/// How old a run holding the lock must be before `--quiet` reports it.
const LOCK_WARNING: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How long `on_failure` may run unless the file says otherwise.
const ON_FAILURE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl Checker<'_> {
    /// Checks `[pipeline]` and fills in the defaults.
    pub(super) fn settings(&mut self, source: &Source, raw: &RawPipeline) -> Settings {
        let file_dir = match source.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = match &raw.name {
            Some(name) => {
                self.check_name(name, "pipeline");
                name.get_ref().clone()
            }
            None => {
                let name = source.path.file_stem().map_or_else(
                    || "pipeline".to_owned(),
                    |s| s.to_string_lossy().into_owned(),
                );
                self.check_derived_name(&name, source);
                name
            }
        };
        if let Some(version) = &raw.format_version
            && *version.get_ref() > FORMAT_VERSION
        {
            self.error(
                version.span(),
                format!(
                    "this file has format_version {}, but this runner knows format {} at most",
                    version.get_ref(),
                    FORMAT_VERSION
                ),
            )
            .hint = Some("upgrade runner to read it".to_owned());
        }
        let root = self.root(&file_dir, raw.root.as_ref());
        // Checked with `state` and the inputs (places.rs).
        let out_dir = match &raw.out {
            Some(out) => normalize_path(Path::new(out.get_ref())),
            None => PathBuf::from("out"),
        };
        let jobs = match raw.jobs.as_ref().map(|j| *j.get_ref()) {
            None | Some(JobsSetting::Auto) => None,
            Some(JobsSetting::Count(n)) => Some(n as usize),
        };
        let state_dir = match &raw.state {
            Some(state) => normalize_path(Path::new(state.get_ref())),
            None => Path::new(".runner").join(&name),
        };
        let on_failure = match &raw.on_failure {
            Some(argv) if argv.get_ref().is_empty() => {
                self.error(argv.span(), "`on_failure` needs a command");
                Vec::new()
            }
            Some(argv) => argv.get_ref().iter().map(|a| a.get_ref().clone()).collect(),
            None => Vec::new(),
        };
        let on_failure_timeout = raw
            .on_failure_timeout
            .as_ref()
            .and_then(|t| self.time_limit(t, "on_failure_timeout", "60 seconds"))
            .unwrap_or(ON_FAILURE_TIMEOUT);
        Settings {
            on_failure_timeout,
            name,
            root,
            out_dir,
            out_span: raw.out.as_ref().map(Spanned::span),
            state_span: raw.state.as_ref().map(Spanned::span),
            jobs,
            env: raw.env.clone().unwrap_or_default().into_iter().collect(),
            state_dir,
            on_failure,
            keep_logs: raw.keep_logs.unwrap_or(10).max(1),
            lock_warning: raw
                .lock_warning
                .as_ref()
                .and_then(|d| self.duration(d))
                .unwrap_or(LOCK_WARNING),
            prune: raw.prune.unwrap_or(false),
        }
    }

    /// A name taken from the file name names a folder too: `...toml` has the
    /// stem `..`, whose state folder `.runner/..` would be root itself
    /// (issue 10, item 4). It must not be empty, start with `.`, or hold a
    /// separator or a control character.
    fn check_derived_name(&mut self, name: &str, source: &Source) {
        let bad = name.is_empty()
            || name.starts_with('.')
            || name.contains(|c: char| c == '/' || c == '\\' || c.is_control());
        if bad {
            self.diagnostics.push(
                Diagnostic::whole_file(format!(
                    "the pipeline gets the name `{name}` from its file name `{}`, and that cannot name its state folder",
                    source.path.display()
                ))
                .hint("set `[pipeline] name = \"...\"` (letters, digits, `_`, `-`, `.`), or rename the file"),
            );
        }
    }

    /// `root`, relative to the pipeline file's folder: an existing folder,
    /// made absolute.
    fn root(&mut self, file_dir: &Path, root: Option<&Spanned<String>>) -> Option<PathBuf> {
        let (joined, span) = match root {
            Some(r) => (file_dir.join(r.get_ref()), Some(r.span())),
            None => (file_dir.to_owned(), None),
        };
        match std::fs::canonicalize(&joined) {
            Ok(p) if p.is_dir() => Some(p),
            Ok(p) => {
                let message = format!("root `{}` is not a folder", p.display());
                match span {
                    Some(span) => {
                        self.error(span, message);
                    }
                    None => self.diagnostics.push(Diagnostic::whole_file(message)),
                }
                None
            }
            Err(err) => {
                let message = format!("root `{}` cannot be opened: {err}", joined.display());
                match span {
                    Some(span) => {
                        self.error(span, message).hint = Some(
                            "`root` is relative to the folder of the pipeline file".to_owned(),
                        );
                    }
                    None => self.diagnostics.push(Diagnostic::whole_file(message)),
                }
                None
            }
        }
    }
}
