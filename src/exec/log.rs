//! A task's captured output: the log files under `logs/RUN/STEP/KEY.{out,err}`
//! that exist only when something was printed, and where a command's stdout
//! goes (a log, or an output file).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use std::os::unix::fs::OpenOptionsExt;

/// Where a stream goes: straight into a file (an output), or through a pipe
/// into a log that only becomes a file if anything was written.
pub(crate) enum StdoutTo<'a> {
    /// The child writes this file itself.
    File(File),
    /// Read by runner into a log.
    Log(&'a mut Log),
}

/// A task's captured stream: kept in memory while small, written to its
/// file when large or when the task ends, never created when empty. (Empty
/// log files for thousands of quiet tasks cost more than the tasks.)
pub(crate) struct Log {
    path: PathBuf,
    pending: Vec<u8>,
    file: Option<File>,
    marker: Option<String>,
}

/// Bytes kept in memory before a log spills to its file.
const SPILL: usize = 256 * 1024;

impl Log {
    /// A log that would be written at `path`.
    pub(crate) fn new(path: PathBuf) -> Log {
        Log {
            path,
            pending: Vec::new(),
            file: None,
            marker: None,
        }
    }

    /// Where it is written.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A line written before the next output, if any comes (`[runner] attempt 2`).
    pub(crate) fn mark(&mut self, line: String) {
        if !self.is_empty() {
            self.marker = Some(line);
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.file.is_none()
    }

    /// Appends output.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if let Some(marker) = self.marker.take() {
            self.write(format!("\n{marker}\n").as_bytes())?;
        }
        if self.file.is_none() && self.pending.len() + data.len() <= SPILL {
            self.pending.extend_from_slice(data);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(open_log(&self.path)?),
        };
        if !self.pending.is_empty() {
            file.write_all(&self.pending)?;
            self.pending.clear();
        }
        file.write_all(data)
    }

    /// Writes what is pending; the path, if the log is not empty. An error
    /// comes with the log's path.
    pub(crate) fn finish(mut self) -> Result<Option<PathBuf>, (PathBuf, io::Error)> {
        if self.is_empty() {
            return Ok(None);
        }
        if !self.pending.is_empty() {
            let written = match &mut self.file {
                Some(file) => file.write_all(&self.pending),
                None => open_log(&self.path).and_then(|mut file| file.write_all(&self.pending)),
            };
            if let Err(source) = written {
                return Err((self.path, source));
            }
        }
        Ok(Some(self.path))
    }
}

/// Creates a log file: a new file, never one that is there already nor a
/// link (runner writes only what it creates, issue 10 item 6).
fn open_log(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}
