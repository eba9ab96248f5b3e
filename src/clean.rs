//! Outputs that earlier runs wrote and that no task of today's plan declares
//! (ninja's `-t cleandead`): finding them in the state, and deleting them
//! (`runner clean`, `[pipeline] prune = true`). Only files the state says
//! runner wrote are ever touched, and not one changed since it was written.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rustc_hash::FxHashSet as HashSet;

use crate::config::{Pipeline, normalize_path};
use crate::plan::{Plan, display_path};

/// What a clean found.
#[derive(Debug, Default)]
pub(crate) struct Cleanup {
    /// Files to delete (relative to root), with their sizes.
    pub(crate) delete: Vec<(PathBuf, u64)>,
    /// Files runner wrote but that were changed since (not runner's any
    /// more), relative to root.
    pub(crate) kept: Vec<PathBuf>,
    /// Recorded names that cannot be read back exactly (not plain text).
    pub(crate) unreadable: Vec<String>,
}

/// Every output the state says runner wrote: from `latest` (with the hash
/// it had), then from the `tasks` rows of successful runs (no hash).
fn written(conn: &Connection) -> rusqlite::Result<BTreeMap<String, Option<String>>> {
    let mut out: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT outputs FROM latest")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let lines: String = row.get(0)?;
        for line in lines.lines() {
            if let Some((hash, path)) = line.split_once("  ") {
                out.insert(path.to_owned(), Some(hash.to_owned()));
            }
        }
    }
    let mut stmt = conn.prepare("SELECT DISTINCT outputs FROM tasks WHERE status = 'ok'")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let json: String = row.get(0)?;
        for path in serde_json::from_str::<Vec<String>>(&json).unwrap_or_default() {
            out.entry(path).or_insert(None);
        }
    }
    Ok(out)
}

/// A name as the state writes it (`\\`, `\n`, `\r`, `\xNN` escaped) back to
/// its bytes; `None` when it is not such a name.
fn unescape(shown: &str) -> Option<PathBuf> {
    if !shown.contains('\\') {
        return Some(PathBuf::from(shown));
    }
    let bytes = shown.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let hex = std::str::from_utf8(bytes.get(i + 2..i + 4)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(PathBuf::from(OsString::from_vec(out)))
}

/// The outputs runner wrote under `out` that are still there and, unless
/// `all`, that no task of `plan` declares. A file whose content is not the
/// one recorded (put there, or changed, by someone else) is kept.
pub(crate) fn find(
    pipeline: &Pipeline,
    plan: Option<&Plan>,
    conn: &Connection,
) -> rusqlite::Result<Cleanup> {
    let declared: HashSet<PathBuf> = plan
        .iter()
        .flat_map(|p| p.tasks.iter())
        .flat_map(|t| t.outputs.iter())
        .map(|o| normalize_path(o))
        .collect();
    let out_dir = normalize_path(&pipeline.out_dir);
    let mut cleanup = Cleanup::default();
    for (shown, hash) in written(conn)? {
        let Some(path) = unescape(&shown) else {
            cleanup.unreadable.push(shown);
            continue;
        };
        // Names in `tasks` are not escaped: a backslash there is ambiguous.
        if hash.is_none() && shown.contains('\\') {
            cleanup.unreadable.push(shown);
            continue;
        }
        let path = normalize_path(&path);
        if !path.starts_with(&out_dir) || path == out_dir || declared.contains(&path) {
            continue;
        }
        let abs = pipeline.root.join(&path);
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if let Some(hash) = hash {
            let now = std::fs::File::open(&abs)
                .and_then(|f| crate::state::fingerprint::content_hash(f, meta.len()))
                .map(|h| h.to_hex().to_string());
            if now.ok().as_deref() != Some(hash.as_str()) {
                cleanup.kept.push(path);
                continue;
            }
        }
        cleanup.delete.push((path, meta.len()));
    }
    Ok(cleanup)
}

/// Deletes the files found, then the folders under `out` they leave empty;
/// returns the files deleted and the problems met.
pub(crate) fn delete(pipeline: &Pipeline, cleanup: &Cleanup) -> (usize, Vec<String>) {
    let out_abs = pipeline.root.join(normalize_path(&pipeline.out_dir));
    let mut deleted = 0;
    let mut problems = Vec::new();
    for (path, _) in &cleanup.delete {
        let abs = pipeline.root.join(path);
        match std::fs::remove_file(&abs) {
            Ok(()) => deleted += 1,
            Err(e) => {
                problems.push(format!("cannot delete `{}`: {e}", display_path(path)));
                continue;
            }
        }
        let mut dir = abs.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(&out_abs) && *d != out_abs) {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    (deleted, problems)
}

/// A size as `1.2 kB`.
pub(crate) fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.1} GB", b as f64 / 1e9),
    }
}

/// Where a path shows in messages: relative to root, as typed.
pub(crate) fn shown(path: &Path) -> String {
    display_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_names_read_back() {
        use std::os::unix::ffi::OsStrExt;
        for raw in [
            &b"plain.csv"[..],
            b"back\\slash",
            b"new\nline",
            b"bad\xff.csv",
        ] {
            let path = Path::new(std::ffi::OsStr::from_bytes(raw));
            let shown = crate::plan::escaped(path.as_os_str(), true);
            assert_eq!(unescape(&shown).as_deref(), Some(path), "{shown}");
        }
        assert_eq!(unescape("x\\q"), None);
    }
}
