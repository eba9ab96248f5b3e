//! `[inputs.NAME]`: a named set of files (globs, excludes, batching,
//! `allow_empty`, `min_age`), checked.

use std::path::PathBuf;

use super::raw::RawInput;
use super::validate::Checker;
use super::{Batching, InputSet};

impl Checker<'_> {
    /// Checks one input set; `None` when anything is wrong (reported).
    pub(super) fn input_set(&mut self, name: &str, raw: RawInput) -> Option<InputSet> {
        let before = self.diagnostics.len();
        let globs = self.patterns(&raw.glob, "glob");
        if globs.is_empty() {
            self.error(
                raw.glob.span(),
                format!("input set `{name}` has no glob pattern"),
            );
        }
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
