//! Where runner writes: the output folder (`out`) and the state folder
//! (`state`), and the rules that keep them apart from everything else
//! (issue 10, items 5 and 6):
//!
//! - each is a folder inside root (never root itself, never reached with
//!   `..`), or an absolute path (scratch space elsewhere), which must not
//!   be `/`, root, or a folder that holds root;
//! - `out` is not inside `.runner/`, where every pipeline keeps its state;
//! - `out` and `state` do not overlap (neither is inside the other);
//! - neither overlaps the folder an input glob reads (its part before the
//!   first wildcard, `data` for `data/**/*.csv`), unless that is root
//!   itself (then the walk leaves both out).
//!
//! Overlaps are checked on the paths as written and on the paths with the
//! symbolic links that exist resolved: `build -> .runner/x` overlaps the
//! state. A link to elsewhere (scratch space) is the user's and is followed.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use super::validate::Checker;
use super::{InputSet, glob_base, normalize_path};
use crate::diag::Diagnostic;

/// `out` or `state` as the file gives it.
pub(super) struct Place<'a> {
    /// The key (`out`, `state`).
    pub(super) key: &'static str,
    /// The path, normalized, relative to root or absolute.
    pub(super) path: &'a Path,
    /// Where it is written; `None` for the default.
    pub(super) span: Option<Range<usize>>,
}

impl Checker<'_> {
    /// Checks `out` and `state` against root, each other and the inputs.
    pub(super) fn places(
        &mut self,
        root: &Path,
        out: &Place<'_>,
        state: &Place<'_>,
        inputs: &[InputSet],
    ) {
        let out_ok = self.place(root, out);
        let state_ok = self.place(root, state);
        if !(out_ok && state_ok) {
            return;
        }
        let out_abs = root.join(out.path);
        let state_abs = root.join(state.path);
        if out_abs.starts_with(root.join(".runner")) {
            self.place_error(
                out,
                None,
                format!(
                    "`out` (`{}`) cannot be inside `.runner`, where runner keeps the state of every pipeline",
                    out.path.display()
                ),
                "use a folder such as `build`",
            );
            return;
        }
        if overlap(&out_abs, &state_abs) {
            // Pointing at the one inside the other, where written.
            let state_inside = state_abs.starts_with(&out_abs) && out_abs != state_abs;
            let (first, _) = if (state_inside && state.span.is_some()) || out.span.is_none() {
                (state, out)
            } else {
                (out, state)
            };
            self.place_error(
                first,
                None,
                format!(
                    "`out` (`{}`) and `state` (`{}`) overlap: runner would write outputs among its own state",
                    out.path.display(),
                    state.path.display()
                ),
                &format!("move `{}` to a folder of its own", first.key),
            );
            return;
        }
        for set in inputs {
            for (pattern, span) in &set.globs {
                let (base, _) = glob_base(pattern);
                let base = normalize_path(&base);
                if base.as_os_str().is_empty() {
                    continue; // root: the walk leaves `out` and `state` out
                }
                let base_abs = root.join(&base);
                for place in [out, state] {
                    if overlap(&root.join(place.path), &base_abs) {
                        self.place_error(
                            place,
                            Some(span.clone()),
                            format!(
                                "`{}` (`{}`) overlaps `{}`, the folder that input set `{}` reads (`{pattern}`)",
                                place.key,
                                place.path.display(),
                                base.display(),
                                set.name
                            ),
                            "runner would read what it writes, or write among its inputs; use a folder of its own",
                        );
                        return;
                    }
                }
            }
        }
    }

    /// One place on its own: inside root, or absolute and not holding root.
    fn place(&mut self, root: &Path, place: &Place<'_>) -> bool {
        let path = place.path;
        let key = place.key;
        let problem = if path.as_os_str().is_empty() || path == Path::new(".") {
            Some((
                format!("`{key}` cannot be the root folder itself"),
                "use a folder such as `build`",
            ))
        } else if path.starts_with("..") {
            Some((
                format!("`{key}` must be inside `root`"),
                "give an absolute path for a folder elsewhere",
            ))
        } else if path.is_absolute() && root.starts_with(path) {
            Some((
                format!("`{key}` cannot be `root` or a folder that holds it"),
                "use a folder such as `build`, or one elsewhere",
            ))
        } else {
            None
        };
        match problem {
            Some((message, hint)) => {
                self.place_error(place, None, message, hint);
                false
            }
            None => true,
        }
    }

    /// Reports a problem with `place` at its span, else at `fallback`, else
    /// at the whole file.
    fn place_error(
        &mut self,
        place: &Place<'_>,
        fallback: Option<Range<usize>>,
        message: String,
        hint: &str,
    ) {
        match place.span.clone().or(fallback) {
            Some(span) => self.error(span, message).hint = Some(hint.to_owned()),
            None => self
                .diagnostics
                .push(Diagnostic::whole_file(message).hint(hint)),
        }
    }
}

/// Whether one of two absolute paths is inside the other (or they are the
/// same), as written or with the links that exist resolved.
fn overlap(a: &Path, b: &Path) -> bool {
    let within = |a: &Path, b: &Path| a.starts_with(b) || b.starts_with(a);
    within(&normalize_path(a), &normalize_path(b)) || within(&resolved(a), &resolved(b))
}

/// `path` with its longest existing part resolved (links followed) and the
/// rest appended.
fn resolved(path: &Path) -> PathBuf {
    let path = normalize_path(path);
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(Component::Normal(last))) => {
                rest.push(last.to_owned());
                existing = parent;
            }
            _ => return path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps() {
        assert!(overlap(Path::new("/r/build"), Path::new("/r/build/x")));
        assert!(overlap(Path::new("/r/data"), Path::new("/r/data")));
        assert!(!overlap(Path::new("/r/build"), Path::new("/r/buildings")));
        assert!(!overlap(Path::new("/r/a"), Path::new("/r/b")));
        assert!(overlap(Path::new("/r/a/../b"), Path::new("/r/b/c")));
    }

    #[test]
    fn links_that_exist_are_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("state")).unwrap();
        std::os::unix::fs::symlink(root.join("state"), root.join("link")).unwrap();
        assert_eq!(resolved(&root.join("link/x/y")), root.join("state/x/y"));
        assert!(overlap(&root.join("link"), &root.join("state/db")));
        assert_eq!(resolved(&root.join("none/x")), root.join("none/x"));
    }
}
