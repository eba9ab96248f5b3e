//! Input sets: glob expansion (or a list of files read from a file or
//! standard input) into a sorted file list with stable keys, and the split
//! into batches.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ffi::OsStr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use glob::{MatchOptions, Pattern};

use crate::config::{Batching, InputSet, glob_base};
use crate::diag::Diagnostic;

/// A file of an input set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputFile {
    /// Relative to root (or absolute, for an absolute glob).
    pub(crate) path: PathBuf,
    /// The path relative to its glob's base, without extension.
    pub(crate) key: String,
}

/// Glob options: `*` stays inside one folder and does not match a leading dot
/// (as in a shell), so `.x.tmp-ab12.csv` files are never inputs.
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// Expands an input set under `root`, leaving out anything under `skip`
/// (the output and state folders, relative to root).
pub(crate) fn expand(
    set: &InputSet,
    root: &Path,
    skip: &[PathBuf],
    now: SystemTime,
) -> Result<Vec<InputFile>, Vec<Diagnostic>> {
    let excludes: Vec<Pattern> = set
        .exclude
        .iter()
        .filter_map(|p| Pattern::new(p).ok())
        .collect();
    if let Some((from, span)) = &set.from {
        let found = listed(set, from, span, root, skip, &excludes, now)?;
        return finish(set, found);
    }
    let skip: Vec<PathBuf> = skip.iter().map(|s| root.join(s)).collect();
    // Where those really are: a link among the inputs that leads into
    // them (`data/link -> ../build`) must not make outputs inputs (each
    // run would make outputs of outputs, issue 10).
    let skip_real: Vec<PathBuf> = skip
        .iter()
        .filter_map(|s| std::fs::canonicalize(s).ok())
        .collect();
    let leads_into_skip = |entry: &walkdir::DirEntry| {
        entry.path_is_symlink()
            && std::fs::canonicalize(entry.path())
                .is_ok_and(|real| skip_real.iter().any(|s| real.starts_with(s)))
    };
    // (path, key, span of the glob that found it); a path found by two
    // globs keeps the first.
    let mut found: Vec<Found> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::default();
    let mut diagnostics = Vec::new();
    for (pattern_text, span) in &set.globs {
        let Ok(pattern) = Pattern::new(pattern_text) else {
            continue;
        };
        let (base, depth) = glob_base(pattern_text);
        let mut matched = 0usize;
        let mut too_young = 0usize;
        let walk_root = root.join(&base);
        let hidden_ok = pattern_text.starts_with('.') || pattern_text.contains("/.");
        let walker = walkdir::WalkDir::new(&walk_root)
            .follow_links(true)
            .min_depth(1)
            .max_depth(depth.unwrap_or(usize::MAX));
        let entries = walker.into_iter().filter_entry(|entry| {
            if entry.file_type().is_dir() {
                let hidden = entry.file_name().as_encoded_bytes().starts_with(b".");
                (!hidden || hidden_ok)
                    && !skip.iter().any(|s| entry.path() == s)
                    && !leads_into_skip(entry)
            } else {
                !leads_into_skip(entry)
            }
        });
        for entry in entries {
            let Ok(entry) = entry else { continue };
            if !entry.file_type().is_file() {
                continue;
            }
            let full = entry.path();
            // An absolute glob matches (and keeps) absolute paths, also
            // inside root: its base and pattern are absolute.
            let rel = if Path::new(pattern_text).is_absolute() {
                full
            } else {
                full.strip_prefix(root).unwrap_or(full)
            };
            let rel_text = display_path(rel);
            if !pattern.matches_with(&rel_text, MATCH) {
                continue;
            }
            if excludes.iter().any(|ex| ex.matches_with(&rel_text, MATCH)) {
                continue;
            }
            if let Some(min_age) = set.min_age {
                let young = entry
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .is_some_and(|mtime| {
                        now.duration_since(mtime).is_ok_and(|age| age < min_age) || mtime > now
                    });
                if young {
                    too_young += 1;
                    continue;
                }
            }
            matched += 1;
            if set.globs.len() == 1 || seen.insert(rel.to_owned()) {
                found.push((rel.to_owned(), key_of(rel, &base), span.clone()));
            }
        }
        if matched == 0 && !set.allow_empty {
            let mut d = Diagnostic::new(
                span.clone(),
                format!(
                    "glob `{pattern_text}` of input set `{}` matches no file",
                    set.name
                ),
            );
            d = if too_young > 0 {
                d.hint(format!(
                    "{too_young} file(s) match but are younger than `min_age`; set `allow_empty = true` to run without them"
                ))
            } else {
                d.hint(format!(
                    "paths are relative to root `{}`; set `allow_empty = true` if that is expected",
                    root.display()
                ))
            };
            diagnostics.push(d);
        }
    }

    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    finish(set, found)
}

/// A file found: its path, its key, and the span of what found it (a glob,
/// or `from`).
type Found = (PathBuf, String, Range<usize>);

/// Sorts the files found and checks that no two share a key.
fn finish(set: &InputSet, mut found: Vec<Found>) -> Result<Vec<InputFile>, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    // Sorted as strings (as `sorted(glob(...))` does), so batches match the
    // classic pattern's.
    found.sort_unstable_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    // Two files with one key would be two tasks with one identity.
    let mut by_key: HashMap<&str, &Path> =
        HashMap::with_capacity_and_hasher(found.len(), Default::default());
    for (path, key, span) in &found {
        if let Some(other) = by_key.insert(key, path) {
            let span: Range<usize> = span.clone();
            diagnostics.push(
                Diagnostic::new(
                    span,
                    format!(
                        "input set `{}` has two files with the key `{key}`: `{}` and `{}`",
                        set.name,
                        display_path(other),
                        display_path(path)
                    ),
                )
                .hint("a key is the path without its extension; narrow the glob or rename one"),
            );
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(found
        .into_iter()
        .map(|(path, key, _)| InputFile { path, key })
        .collect())
}

/// Whether `path` is really (through links) inside one of `folders`
/// (canonical paths).
fn leads_into(path: &Path, folders: &[PathBuf]) -> bool {
    !folders.is_empty()
        && std::fs::canonicalize(path).is_ok_and(|real| folders.iter().any(|f| real.starts_with(f)))
}

/// Standard input, read once per process (`from = "-"`).
fn stdin_bytes() -> &'static [u8] {
    static STDIN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    STDIN.get_or_init(|| {
        use std::io::Read;
        let mut bytes = Vec::new();
        let _ = std::io::stdin().lock().read_to_end(&mut bytes);
        bytes
    })
}

/// The files of `from = "LIST"`: one path per line (relative to root, or
/// absolute inside it; empty lines are skipped), with the same rules as a
/// glob's files: `exclude`, `min_age`, never the output or state folders,
/// keys as paths without extension (relative to root). A listed file that
/// does not exist is an error naming the list's line.
fn listed(
    set: &InputSet,
    from: &str,
    span: &Range<usize>,
    root: &Path,
    skip: &[PathBuf],
    excludes: &[Pattern],
    now: SystemTime,
) -> Result<Vec<Found>, Vec<Diagnostic>> {
    use std::os::unix::ffi::OsStrExt;
    let (owned, list_name);
    let bytes: &[u8] = if from == "-" {
        list_name = "standard input".to_owned();
        stdin_bytes()
    } else {
        list_name = format!("`{from}`");
        owned = std::fs::read(root.join(from)).map_err(|err| {
            vec![
                Diagnostic::new(
                    span.clone(),
                    format!(
                        "cannot read the list {list_name} of input set `{}`: {err}",
                        set.name
                    ),
                )
                .hint(format!("`from` is relative to root `{}`", root.display())),
            ]
        })?;
        &owned
    };
    // Where the output and state folders really are: a listed path through
    // a link into them (`data/link/x.csv`, `data/link -> ../build`) is an
    // output, not an input (as for globs).
    let skip_real: Vec<PathBuf> = skip
        .iter()
        .filter_map(|s| std::fs::canonicalize(root.join(s)).ok())
        .collect();
    let mut found = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::default();
    let mut problems: Vec<String> = Vec::new();
    let mut too_young = 0usize;
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let at = format!("line {} of {list_name}", index + 1);
        let given = Path::new(OsStr::from_bytes(line));
        let rel = match given.strip_prefix(root) {
            Ok(inside) => crate::config::normalize_path(inside),
            Err(_) if given.is_absolute() => {
                problems.push(format!(
                    "`{}` ({at}) is outside root `{}`",
                    display_path(given),
                    root.display()
                ));
                continue;
            }
            Err(_) => crate::config::normalize_path(given),
        };
        if rel.starts_with("..") || rel.as_os_str().is_empty() {
            problems.push(format!(
                "`{}` ({at}) is outside root `{}`",
                display_path(given),
                root.display()
            ));
            continue;
        }
        if skip.iter().any(|s| rel.starts_with(s)) || leads_into(&root.join(&rel), &skip_real) {
            continue;
        }
        let rel_text = display_path(&rel);
        if excludes.iter().any(|ex| ex.matches_with(&rel_text, MATCH)) {
            continue;
        }
        let meta = match std::fs::metadata(root.join(&rel)) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => {
                problems.push(format!("`{rel_text}` ({at}) is not a file"));
                continue;
            }
            Err(err) => {
                let what = if err.kind() == std::io::ErrorKind::NotFound {
                    "does not exist".to_owned()
                } else {
                    format!("cannot be read: {err}")
                };
                problems.push(format!("`{rel_text}` ({at}) {what}"));
                continue;
            }
        };
        if let Some(min_age) = set.min_age
            && meta.modified().is_ok_and(|mtime| {
                now.duration_since(mtime).is_ok_and(|age| age < min_age) || mtime > now
            })
        {
            too_young += 1;
            continue;
        }
        if seen.insert(rel.clone()) {
            let key = key_of(&rel, Path::new(""));
            found.push((rel, key, span.clone()));
        }
    }
    if !problems.is_empty() {
        const SHOWN: usize = 10;
        let count = problems.len();
        let mut d = Diagnostic::new(
            span.clone(),
            format!(
                "{} of the list of input set `{}`: {}",
                if count == 1 { "a file" } else { "files" },
                set.name,
                problems[0]
            ),
        )
        .hint("list one existing file per line, relative to root");
        for more in problems.iter().skip(1).take(SHOWN - 1) {
            d = d.note(more.clone());
        }
        if count > SHOWN {
            d = d.note(format!("and {} more", count - SHOWN));
        }
        return Err(vec![d]);
    }
    if found.is_empty() && !set.allow_empty {
        let hint = if too_young > 0 {
            format!(
                "{too_young} listed file(s) are younger than `min_age`; set `allow_empty = true` to run without them"
            )
        } else {
            "set `allow_empty = true` if an empty list is expected".to_owned()
        };
        return Err(vec![
            Diagnostic::new(
                span.clone(),
                format!(
                    "the list {list_name} of input set `{}` names no file",
                    set.name
                ),
            )
            .hint(hint),
        ]);
    }
    Ok(found)
}

/// The key of a file: its path relative to the glob's base, without extension.
fn key_of(rel: &Path, base: &Path) -> String {
    let under = rel.strip_prefix(base).unwrap_or(rel);
    let no_ext = match (under.file_stem(), under.extension()) {
        (Some(stem), Some(_)) if !stem.is_empty() => under.with_file_name(stem),
        _ => under.to_owned(),
    };
    escaped(no_ext.as_os_str(), false).into_owned()
}

/// A name as text that no other name has: UTF-8 as is but `\` doubled, any
/// other byte as `\xNN`; with `lines`, also newline and carriage return as
/// `\n` and `\r`. For task keys and the paths in the state, where two files
/// must never look the same (`bad\xff.csv` with a raw byte and with a
/// backslash, issue 10 item 14).
pub(crate) fn escaped(s: &OsStr, lines: bool) -> std::borrow::Cow<'_, str> {
    let special = |c: char| c == '\\' || (lines && (c == '\n' || c == '\r'));
    if let Some(text) = s.to_str()
        && !text.contains(special)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for chunk in s.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' if lines => out.push_str("\\n"),
                '\r' if lines => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A path as text for messages and templates: UTF-8 as is (a template
/// value must be the name itself), any other byte as `\xNN`. Not
/// injective: a UTF-8 name may contain `\xff` itself; keys and the state
/// use `escaped`.
pub(crate) fn display_path(path: &Path) -> String {
    display_os(path.as_os_str())
}

/// An OS string as text, invalid bytes as `\xNN`.
pub(crate) fn display_os(s: &OsStr) -> String {
    if let Some(text) = s.to_str() {
        return text.to_owned();
    }
    let mut out = String::new();
    for chunk in s.as_encoded_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Splits `count` files into batches of file indices; empty batches are left out.
pub(crate) fn batches(count: usize, batching: Batching) -> Vec<Vec<usize>> {
    match batching {
        Batching::Count(n) => {
            // File i goes to batch i mod n, as the classic `task_split` does.
            // At most one batch per file: `batches = 1000000000` must not
            // allocate a billion empty lists (issue 5).
            let n = n.min(count);
            let mut out = vec![Vec::new(); n];
            for i in 0..count {
                out[i % n].push(i);
            }
            out.retain(|b| !b.is_empty());
            out
        }
        Batching::Size(k) => (0..count)
            .collect::<Vec<_>>()
            .chunks(k)
            .map(<[usize]>::to_vec)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            key_of(Path::new("data/2024/x.csv"), Path::new("data")),
            "2024/x"
        );
        assert_eq!(key_of(Path::new("x.tar.gz"), Path::new("")), "x.tar");
        assert_eq!(key_of(Path::new("Makefile"), Path::new("")), "Makefile");
        assert_eq!(key_of(Path::new(".env"), Path::new("")), ".env");
    }

    #[test]
    fn round_robin_batches() {
        assert_eq!(
            batches(5, Batching::Count(2)),
            vec![vec![0, 2, 4], vec![1, 3]]
        );
        assert_eq!(batches(2, Batching::Count(4)), vec![vec![0], vec![1]]);
        assert_eq!(
            batches(5, Batching::Size(2)),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
        assert!(batches(0, Batching::Size(2)).is_empty());
    }

    fn batching() -> impl proptest::strategy::Strategy<Value = Batching> {
        use proptest::prelude::*;
        prop_oneof![
            (1usize..40).prop_map(Batching::Count),
            (1usize..40).prop_map(Batching::Size),
            Just(Batching::Count(usize::MAX)),
            Just(Batching::Size(usize::MAX)),
        ]
    }

    proptest::proptest! {
        /// Batches partition the files: every file in exactly one batch, no
        /// batch empty, in file order, and never more or bigger batches than
        /// asked for.
        #[test]
        fn batches_partition_the_inputs(count in 0usize..300, batching in batching()) {
            use proptest::prop_assert;
            let got = batches(count, batching);
            let mut seen: Vec<usize> = got.iter().flatten().copied().collect();
            seen.sort_unstable();
            proptest::prop_assert_eq!(seen, (0..count).collect::<Vec<_>>());
            prop_assert!(got.iter().all(|b| !b.is_empty()));
            prop_assert!(got.iter().all(|b| b.windows(2).all(|w| w[0] < w[1])));
            match batching {
                Batching::Count(n) => {
                    prop_assert!(got.len() <= n);
                    // Round-robin: file i is in batch i mod n.
                    for (index, batch) in got.iter().enumerate() {
                        prop_assert!(batch.iter().all(|&i| i % n == index));
                    }
                }
                Batching::Size(k) => {
                    prop_assert!(got.iter().all(|b| b.len() <= k));
                    let concatenated: Vec<usize> = got.concat();
                    proptest::prop_assert_eq!(concatenated, (0..count).collect::<Vec<_>>());
                }
            }
        }
    }

    #[test]
    fn non_utf8_names_are_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let s = OsStr::from_bytes(b"a\xffb.csv");
        assert_eq!(display_os(s), "a\\xffb.csv");
    }

    #[test]
    fn escaped_names_never_collide() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"bad\xff");
        let slash = OsStr::new("bad\\xff");
        assert_eq!(escaped(raw, false), "bad\\xff");
        assert_eq!(escaped(slash, false), "bad\\\\xff");
        assert_eq!(escaped(OsStr::new("a\nb"), true), "a\\nb");
        assert_eq!(escaped(OsStr::new("a\nb"), false), "a\nb");
        assert!(matches!(
            escaped(OsStr::new("plain/x.csv"), true),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
