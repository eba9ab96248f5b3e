//! Why a table cannot be read: `file:line: what is wrong`, with the file
//! and line as fields and the underlying error kept as the source.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A table file that cannot be read. Cheap to clone (several tasks that
/// share a parsed table all get its error).
#[derive(Debug, Clone)]
pub(crate) struct TableError {
    /// The file.
    pub(crate) path: PathBuf,
    /// The line (1-based) where the problem is, when there is one.
    pub(crate) line: Option<u64>,
    /// What is wrong.
    pub(crate) kind: TableErrorKind,
}

/// What is wrong with a table file.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TableErrorKind {
    /// The file cannot be opened.
    #[error("cannot open")]
    Open(#[source] Arc<std::io::Error>),
    /// Reading it failed midway.
    #[error("cannot read")]
    Read(#[source] Arc<std::io::Error>),
    /// Nothing in it.
    #[error("the file is empty: {0}")]
    Empty(&'static str),
    /// The header names a column twice.
    #[error("the header names column `{name}` twice (columns {first} and {second})")]
    DuplicateHeader {
        /// The name.
        name: String,
        /// Its first column (1-based).
        first: usize,
        /// Its second.
        second: usize,
    },
    /// A CSV/TSV row with more or fewer fields than the header.
    #[error("this row has {found} field{}, but the header has {expected}", if *found == 1 { "" } else { "s" })]
    Ragged {
        /// Fields in the row.
        found: u64,
        /// Fields in the header.
        expected: u64,
    },
    /// A quoted CSV field that runs to the end of the file.
    #[error(
        "a quote (\") opened on this line is never closed, so the rest of the file would be one cell; close it, or write a quote inside a quoted cell as \"\""
    )]
    UnterminatedQuote,
    /// A JSON lines line that is not valid JSON.
    #[error("invalid JSON at column {column}: {message}")]
    Json {
        /// The column (1-based) on the line.
        column: usize,
        /// serde_json's message, without its position.
        message: String,
    },
    /// A JSON lines line that is not an object.
    #[error("expected one JSON object per line (JSON lines), found something else")]
    NotJsonObject,
    /// A JSON object with a key twice.
    #[error("the key `{0}` appears twice")]
    DuplicateKey(String),
    /// A JSON lines line that is not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// Writing what was read failed (`table.concat`'s output).
    #[error("cannot write the output")]
    Output(#[source] Arc<std::io::Error>),
    /// A Parquet file that cannot be read.
    #[error("cannot read as Parquet")]
    Parquet(#[source] Arc<parquet::errors::ParquetError>),
    /// The run was interrupted while reading.
    #[error("interrupted")]
    Interrupted,
}

impl TableError {
    /// An error at `line` of `path` (`None`: the file as a whole).
    pub(crate) fn new(path: &Path, line: Option<u64>, kind: TableErrorKind) -> TableError {
        TableError {
            path: path.to_owned(),
            line,
            kind,
        }
    }

    /// The same error naming its file relative to `root` (the paths the
    /// user knows), when the file is under it.
    pub(crate) fn relative_to(self, root: &Path) -> TableError {
        TableError {
            path: crate::error::under_root(root, &self.path),
            ..self
        }
    }

    /// Whether the read stopped because the run was interrupted.
    pub(crate) fn is_interrupted(&self) -> bool {
        matches!(self.kind, TableErrorKind::Interrupted)
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = super::display(&self.path);
        match self.line {
            Some(line) => write!(f, "{path}:{line}: {}", self.kind),
            None => write!(f, "{path}: {}", self.kind),
        }
    }
}

impl std::error::Error for TableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl PartialEq for TableError {
    fn eq(&self, other: &TableError) -> bool {
        self.to_string() == other.to_string()
    }
}

impl From<TableError> for String {
    /// The message with its causes: `a.csv: cannot open: No such file...`.
    fn from(err: TableError) -> String {
        crate::error::chain(&err)
    }
}
