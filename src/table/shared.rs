//! Tables that several tasks of one run read (`csv.stats` and a plot of the
//! same file): parsed once, handed to each reader while the file is as it
//! was when the parse began, dropped when the last reader has taken it;
//! and what each task read them from (`TaskTables`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::{Columns, ReadFrom, ReadOptions, Table, TableError, TableRead};
use crate::cancel::Cancel;

/// At most this many bytes of parsed tables wait for their later readers;
/// beyond it, a table is not kept and its later readers parse it again.
const MAX_WAITING_BYTES: usize = 512 << 20;

/// A table, and what it was read from when its file was hashed as it was
/// read.
type Parsed = Result<(Arc<Table>, Option<ReadFrom>), TableError>;

/// A parse and the file's stamp right before it began (`None`: no stamp).
type Stamped = (Option<FileStamp>, Parsed);

/// What changes when a file is written: its size, modification and change
/// times, and which file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        })
    }
}

/// A table with readers to come.
struct Entry {
    /// Readers that have not taken it yet.
    readers_left: usize,
    /// Whether any reader needs text cells.
    keep_text: bool,
    /// The columns any reader needs.
    columns: Columns,
    /// Filled by the first reader; the others wait for it.
    parsed: Arc<OnceLock<Stamped>>,
    /// Its size once parsed and kept (counted in `waiting_bytes`).
    bytes: usize,
}

/// The tables of a run that more than one task reads.
pub(crate) struct SharedTables {
    root: PathBuf,
    entries: Mutex<State>,
    max_waiting_bytes: usize,
    /// Whether files are hashed as they are read (for the state).
    hash: bool,
}

/// A file read with some options.
type Key = (PathBuf, Arc<ReadOptions>);

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    waiting_bytes: usize,
}

impl SharedTables {
    /// Shares the tables that `reads` (every table read the run's tasks will
    /// make) names more than once. Tables come back with their path relative
    /// to `root` when they are under it (as plots show them); with `hash`,
    /// with what they were read from.
    pub(crate) fn new(
        root: &Path,
        reads: impl IntoIterator<Item = TableRead>,
        hash: bool,
    ) -> SharedTables {
        SharedTables::with_limit(root, reads, MAX_WAITING_BYTES, hash)
    }

    fn with_limit(
        root: &Path,
        reads: impl IntoIterator<Item = TableRead>,
        max_waiting_bytes: usize,
        hash: bool,
    ) -> SharedTables {
        let mut state = State::default();
        for read in reads {
            let entry = state
                .entries
                .entry((read.path, read.options))
                .or_insert_with(|| Entry {
                    readers_left: 0,
                    keep_text: false,
                    columns: read.columns.clone(),
                    parsed: Arc::default(),
                    bytes: 0,
                });
            entry.readers_left += 1;
            entry.keep_text |= read.keep_text;
            entry.columns = entry.columns.union(&read.columns);
        }
        state.entries.retain(|_, e| e.readers_left > 1);
        SharedTables {
            root: root.to_owned(),
            entries: Mutex::new(state),
            max_waiting_bytes,
            hash,
        }
    }

    /// The table `read` asks for: parsed now, or by another reader of the
    /// same file (waiting for it if it is being parsed). A reader that is
    /// shared a table gets every column and text that any of its readers
    /// asked for. `cancel` stops the parse (every waiting reader then gets
    /// the interruption).
    fn read(&self, read: &TableRead, cancel: &Cancel) -> Parsed {
        let key = (read.path.clone(), read.options.clone());
        let shared = {
            let mut state = self.lock();
            match state.entries.get_mut(&key) {
                None => None,
                Some(entry) => {
                    entry.readers_left -= 1;
                    let shared = TableRead {
                        keep_text: entry.keep_text,
                        columns: entry.columns.clone(),
                        ..read.clone()
                    };
                    let shared = (entry.parsed.clone(), shared);
                    if entry.readers_left == 0 {
                        let bytes = entry.bytes;
                        state.entries.remove(&key);
                        state.waiting_bytes -= bytes;
                    }
                    Some(shared)
                }
            }
        };
        let Some((cell, shared)) = shared else {
            return self.parse(read, cancel);
        };
        let mut parsed_here = false;
        let (stamp, result) = cell
            .get_or_init(|| {
                parsed_here = true;
                (FileStamp::of(&shared.path), self.parse(&shared, cancel))
            })
            .clone();
        if parsed_here {
            if let Ok((table, _)) = &result {
                self.keep_or_drop(&key, &cell, table.heap_bytes());
            }
            return result;
        }
        // Parsed by another reader: this one's fingerprint, taken before it
        // came here, may be of the file as written since that parse began
        // (by a step in between, or a writer outside): it would record that
        // with a result of the older table, and say "up to date" next time.
        // The table is shared only while the file is as it was then.
        if stamp.is_none() || stamp != FileStamp::of(&read.path) {
            return self.parse(read, cancel);
        }
        result
    }

    /// After the first reader parsed a table: count it as waiting for the
    /// others, or forget it when too much is waiting already.
    fn keep_or_drop(&self, key: &Key, cell: &Arc<OnceLock<Stamped>>, bytes: usize) {
        let mut state = self.lock();
        let over = state.waiting_bytes + bytes > self.max_waiting_bytes;
        let Some(entry) = state.entries.get_mut(key) else {
            return; // every reader has it already
        };
        if !Arc::ptr_eq(&entry.parsed, cell) {
            return;
        }
        if over {
            // Later readers parse it again; memory stays bounded.
            entry.parsed = Arc::default();
        } else {
            entry.bytes = bytes;
            state.waiting_bytes += bytes;
        }
    }

    fn parse(&self, read: &TableRead, cancel: &Cancel) -> Parsed {
        let (mut table, from) = if self.hash {
            super::read_hashing(read, cancel)?
        } else {
            (super::read(read, cancel)?, None)
        };
        if let Ok(rel) = table.path.strip_prefix(&self.root) {
            table.path = rel.to_owned();
        }
        Ok((Arc::new(table), from))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The tables one task reads, through the run's shared tables, and what
/// each file was when it was read (its content hash, for the task's record).
pub(crate) struct TaskTables<'a> {
    shared: &'a SharedTables,
    read_from: Mutex<Vec<(PathBuf, Option<ReadFrom>)>>,
}

impl<'a> TaskTables<'a> {
    /// A task's reads of `shared`.
    pub(crate) fn new(shared: &'a SharedTables) -> TaskTables<'a> {
        TaskTables {
            shared,
            read_from: Mutex::default(),
        }
    }

    /// The table `read` asks for (as `SharedTables` gives it).
    pub(crate) fn read(&self, read: &TableRead, cancel: &Cancel) -> Result<Arc<Table>, TableError> {
        let (table, from) = self.shared.read(read, cancel)?;
        self.read_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((read.path.clone(), from));
        Ok(table)
    }

    /// Every file read (absolute, as the reads named them), in order, with
    /// what it was when read: `None` when it was not hashed as it was read
    /// (Parquet, or hashing off).
    pub(crate) fn read_from(self) -> Vec<(PathBuf, Option<ReadFrom>)> {
        self.read_from
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(path: &Path, n: usize, keep_text: bool) -> Vec<TableRead> {
        vec![request(path, keep_text); n]
    }

    fn request(path: &Path, keep_text: bool) -> TableRead {
        TableRead {
            keep_text,
            ..TableRead::whole(path, &Arc::new(ReadOptions::new()))
        }
    }

    fn get(shared: &SharedTables, path: &Path, keep_text: bool) -> Result<Arc<Table>, TableError> {
        shared
            .read(&request(path, keep_text), &Cancel::never())
            .map(|(table, _)| table)
    }

    fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn two_readers_share_one_parse_then_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = csv(dir.path(), "a.csv", "t,s\n1,x\n2,y\n");
        // The plot (no text) reads first; the stats reader still gets text.
        let shared = SharedTables::new(
            dir.path(),
            reads(&path, 2, false)
                .into_iter()
                .chain(reads(&path, 1, true)),
            true,
        );
        let first = get(&shared, &path, false).unwrap();
        assert_eq!(first.path, Path::new("a.csv"), "relative to root");
        assert!(
            matches!(&first.columns[1].values, super::super::Values::Text(v) if v.get(0) == Some("x"))
        );
        let waiting = shared.lock().waiting_bytes;
        assert!(waiting > 0);
        let second = get(&shared, &path, false).unwrap();
        let third = get(&shared, &path, true).unwrap();
        assert!(Arc::ptr_eq(&first, &second) && Arc::ptr_eq(&first, &third));
        // Every reader has it: nothing waits any more.
        let state = shared.lock();
        assert!(state.entries.is_empty());
        assert_eq!(state.waiting_bytes, 0);
    }

    /// A step between two readers rewrote the file: the later reader,
    /// whose fingerprint saw the new file, gets it, not the older table.
    #[test]
    fn a_file_written_after_the_parse_is_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = csv(dir.path(), "a.csv", "t\n1\n2\n");
        let shared = SharedTables::new(dir.path(), reads(&path, 3, true), false);
        let first = get(&shared, &path, true).unwrap();
        assert_eq!(first.rows, 2);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, b"3\n").unwrap();
        drop(file);
        let second = get(&shared, &path, true).unwrap();
        assert_eq!(second.rows, 3);
        // Unchanged since: shared again.
        let shared = SharedTables::new(dir.path(), reads(&path, 2, true), false);
        let a = get(&shared, &path, true).unwrap();
        let b = get(&shared, &path, true).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    /// Every reader of a shared parse gets the hash of the bytes it was
    /// parsed from (the file's), through its own `TaskTables`; none when
    /// files are not hashed, or for Parquet.
    #[test]
    fn the_readers_of_a_parse_get_the_hash_of_what_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = "t,v\n1,2\n3,4\n";
        let path = csv(dir.path(), "a.csv", text);
        let shared = SharedTables::new(dir.path(), reads(&path, 2, true), true);
        let (first, second) = (TaskTables::new(&shared), TaskTables::new(&shared));
        let a = first.read(&request(&path, true), &Cancel::never()).unwrap();
        let b = second
            .read(&request(&path, true), &Cancel::never())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        for reads in [first.read_from(), second.read_from()] {
            assert_eq!(reads.len(), 1);
            assert_eq!(reads[0].0, path);
            let from = reads[0].1.as_ref().expect("hashed as read");
            assert_eq!(from.hash, *blake3::hash(text.as_bytes()).as_bytes());
            assert_eq!(from.meta.len(), text.len() as u64);
        }
        let unhashed = SharedTables::new(dir.path(), [], false);
        let tables = TaskTables::new(&unhashed);
        tables
            .read(&request(&path, true), &Cancel::never())
            .unwrap();
        assert!(tables.read_from()[0].1.is_none());
        // Not CSV: Parquet is read in parts, never hashed as read.
        let fake = csv(dir.path(), "a.parquet", text);
        let hashing = SharedTables::new(dir.path(), [], true);
        let tables = TaskTables::new(&hashing);
        assert!(
            tables
                .read(&request(&fake, true), &Cancel::never())
                .is_err()
        );
        assert!(tables.read_from().is_empty(), "a failed read is no read");
    }

    #[test]
    fn a_table_read_once_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = csv(dir.path(), "a.csv", "t\n1\n");
        let shared = SharedTables::new(dir.path(), reads(&path, 1, true), false);
        let a = get(&shared, &path, true).unwrap();
        let b = get(&shared, &path, true).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(shared.lock().entries.is_empty());
    }

    #[test]
    fn a_broken_table_fails_every_reader_with_the_same_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = csv(dir.path(), "bad.csv", "t,v\n1,2\n3\n");
        let shared = SharedTables::new(dir.path(), reads(&path, 2, true), false);
        let a = get(&shared, &path, true).unwrap_err();
        let b = get(&shared, &path, true).unwrap_err();
        assert_eq!(a, b);
        assert_eq!(a.line, Some(3));
    }

    #[test]
    fn over_the_limit_later_readers_parse_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = csv(dir.path(), "a.csv", "t\n1\n2\n");
        let shared = SharedTables::with_limit(dir.path(), reads(&path, 3, true), 0, false);
        let a = get(&shared, &path, true).unwrap();
        assert_eq!(shared.lock().waiting_bytes, 0);
        let b = get(&shared, &path, true).unwrap();
        let c = get(&shared, &path, true).unwrap();
        assert!(!Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&b, &c));
        assert_eq!(a.columns[0].values, b.columns[0].values);
        assert!(shared.lock().entries.is_empty());
    }

    #[test]
    fn readers_at_the_same_time_wait_for_one_parse() {
        let dir = tempfile::tempdir().unwrap();
        let rows: String = (0..200_000).map(|i| format!("{i}\n")).collect();
        let path = csv(dir.path(), "big.csv", &format!("t\n{rows}"));
        let shared = SharedTables::new(dir.path(), reads(&path, 4, true), false);
        let tables: Vec<Arc<Table>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| get(&shared, &path, true).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(tables.iter().all(|t| Arc::ptr_eq(t, &tables[0])));
        assert_eq!(tables[0].rows, 200_000);
        assert!(shared.lock().entries.is_empty());
    }
}
