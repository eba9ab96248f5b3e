//! `[inputs.NAME]`: a named set of files (globs or a list, excludes,
//! batching, `allow_empty`, `min_age`), checked.

use toml::Spanned;

use std::path::PathBuf;

use super::raw::RawInput;
use super::validate::Checker;
use super::{Batching, InputSet};

impl Checker<'_> {
    /// Checks one input set; `None` when anything is wrong (reported).
    pub(super) fn input_set(&mut self, name: &Spanned<String>, raw: RawInput) -> Option<InputSet> {
        let before = self.diagnostics.len();
        let span = name.span();
        let name = name.get_ref();
        let globs = match (&raw.glob, &raw.from) {
            (Some(glob), None) => {
                let globs = self.patterns(glob, "glob");
                if globs.is_empty() {
                    self.error(
                        glob.span(),
                        format!("input set `{name}` has no glob pattern"),
                    );
                }
                globs
            }
            (None, Some(from)) => {
                if from.get_ref().is_empty() {
                    self.error(from.span(), "`from` needs the path of a list of files")
                        .hint = Some(
                        "one path per line, relative to root; `-` reads standard input".into(),
                    );
                }
                Vec::new()
            }
            (Some(_), Some(from)) => {
                self.error(
                    from.span(),
                    format!("input set `{name}` has both `glob` and `from`"),
                )
                .hint =
                    Some("keep one: `glob` finds the files, `from` reads a list of them".into());
                Vec::new()
            }
            (None, None) if self.broken.contains(name) => Vec::new(),
            (None, None) => {
                self.error(
                    span,
                    format!("input set `{name}` has neither `glob` nor `from`"),
                )
                .hint = Some(
                    "add `glob = \"data/*.csv\"`, or `from = \"list.txt\"` (one path per line)"
                        .into(),
                );
                Vec::new()
            }
        };
        let exclude: Vec<String> = match &raw.exclude {
            Some(ex) => self
                .patterns(ex, "glob")
                .into_iter()
                .map(|(p, _)| p)
                .collect(),
            None => Vec::new(),
        };
        let batching = match (&raw.batches, &raw.batch_size) {
            (Some(_), Some(size)) => {
                self.error(
                    size.span(),
                    format!("input set `{name}` has both `batches` and `batch_size`"),
                )
                .hint = Some("keep one: `batches` fixes the count, `batch_size` the size".into());
                None
            }
            (Some(n), None) => self.positive(n, "batches").map(Batching::Count),
            (None, Some(k)) => self.positive(k, "batch_size").map(Batching::Size),
            (None, None) => None,
        };
        let min_age = raw.min_age.as_ref().and_then(|d| self.duration(d));
        (self.diagnostics.len() == before).then(|| InputSet {
            name: name.to_owned(),
            globs,
            from: raw.from.as_ref().map(|f| (f.get_ref().clone(), f.span())),
            exclude,
            batching,
            allow_empty: raw.allow_empty.unwrap_or(false),
            min_age,
        })
    }
}

/// The folder part of a glob before its first wildcard, and how many levels
/// below it the pattern reaches (`None` for `**`).
pub(crate) fn glob_base(pattern: &str) -> (PathBuf, Option<usize>) {
    let mut base = PathBuf::new();
    let mut components: Vec<&str> = pattern.split('/').collect();
    let file_part = components.pop().unwrap_or("");
    let mut rest = Vec::new();
    let mut literal = true;
    for (i, c) in components.iter().enumerate() {
        if literal && !c.contains(['*', '?', '[']) {
            if i == 0 && c.is_empty() {
                base.push("/");
            } else {
                base.push(c);
            }
        } else {
            literal = false;
            rest.push(*c);
        }
    }
    rest.push(file_part);
    let depth = if rest.iter().any(|c| c.contains("**")) {
        None
    } else {
        Some(rest.len())
    };
    (base, depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_and_depths() {
        assert_eq!(glob_base("data/**/*.csv"), (PathBuf::from("data"), None));
        assert_eq!(glob_base("data/*.csv"), (PathBuf::from("data"), Some(1)));
        assert_eq!(glob_base("*.csv"), (PathBuf::new(), Some(1)));
        assert_eq!(
            glob_base("data/*/x/*.csv"),
            (PathBuf::from("data"), Some(3))
        );
        assert_eq!(glob_base("/abs/*.csv"), (PathBuf::from("/abs"), Some(1)));
    }
}
