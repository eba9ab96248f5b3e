//! A damaged state database: any corruption error (a bad header, a bad page
//! found by a read or a write) moves the database aside, with a warning, and
//! the run goes on with an empty one. Outputs are never lost, only the memory
//! of them: every task then runs again (issue 10, item 8).

use std::path::{Path, PathBuf};

/// Whether an error says the database file is damaged: SQLite says so, or
/// a value read back is of a type this schema never writes there (pages
/// mixed from two states, such as an older `state.db` put back beside a
/// newer WAL, can give a table a page of another table, whose rows SQLite
/// reads without a corruption error).
pub(crate) fn is_corrupt(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    ) || matches!(
        err,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
    )
}

/// Moves a damaged database aside (`state.db.damaged-TIME`, a new name each
/// time) with its WAL (`state.db.damaged-TIME-wal`), removes its
/// shared-memory index; says so on stderr. The connection to it
/// must be closed.
pub(crate) fn set_aside(db_path: &Path, err: &rusqlite::Error) {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = db_path.with_extension(format!("db.damaged-{stamp}"));
    let mut n = 1;
    while aside.exists() {
        aside = db_path.with_extension(format!("db.damaged-{stamp}-{n}"));
        n += 1;
    }
    let moved = std::fs::rename(db_path, &aside);
    // The WAL goes with it (runs leave theirs: it may hold the last runs),
    // so that the copy set aside is whole; the shared-memory index is made
    // again from it by whoever opens the copy.
    let beside = |path: &Path, suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    if moved.is_err() || std::fs::rename(beside(db_path, "-wal"), beside(&aside, "-wal")).is_err() {
        let _ = std::fs::remove_file(beside(db_path, "-wal"));
    }
    let _ = std::fs::remove_file(beside(db_path, "-shm"));
    match moved {
        Ok(()) => eprintln!(
            "warning: the state database `{}` is damaged ({err}); moved it to `{}` and going on with an empty one (every task runs again; outputs are kept)",
            db_path.display(),
            aside.display()
        ),
        Err(e) => eprintln!(
            "warning: the state database `{}` is damaged ({err}) and cannot be moved aside ({e})",
            db_path.display()
        ),
    }
}
