//! The `Test` builder: a temp dir with a pipeline file and data, the real
//! `runner` binary run in it, and what it printed and wrote.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temp dir holding `pipeline.toml` and whatever files a test writes.
pub struct Test {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::Builder::new()
                .prefix("runner-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    /// The temp dir.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Absolute path of `rel` in the temp dir.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating folders).
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> &Test {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Writes `pipeline.toml`.
    pub fn pipeline(&self, toml: &str) -> &Test {
        self.write("pipeline.toml", toml)
    }

    /// Reads a file as text.
    #[track_caller]
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.path(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Whether a file exists.
    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.path(rel).exists()
    }

    /// Runs the binary with `args` in the temp dir.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args).output_run()
    }

    /// The state database of the pipeline called `pipeline` (the default
    /// state folder), opened with rusqlite: no `sqlite3` program needed.
    #[track_caller]
    pub fn state_db(&self) -> rusqlite::Connection {
        self.state_db_of("pipeline")
            .unwrap_or_else(|e| panic!("open the state of `pipeline`: {e}"))
    }

    /// The state database of the pipeline called `name`, opened with
    /// rusqlite (never created: an error when there is none yet).
    pub fn state_db_of(&self, name: &str) -> rusqlite::Result<rusqlite::Connection> {
        let path = self.path(format!(".runner/{name}/state.db"));
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// The rows `sql` selects from the state database, each row's values
    /// joined with `|` (as the `sqlite3` CLI prints them; NULL is empty).
    #[track_caller]
    pub fn query(&self, sql: &str) -> Vec<String> {
        self.query_of("pipeline", sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Like `query`, on the state of the pipeline called `name`; an error
    /// when there is no state (yet) or the query fails.
    pub fn query_of(&self, name: &str, sql: &str) -> rusqlite::Result<Vec<String>> {
        use rusqlite::types::ValueRef;
        let db = self.state_db_of(name)?;
        let mut stmt = db.prepare(sql)?;
        let columns = stmt.column_count();
        let rows = stmt.query_map([], |row| {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => String::new(),
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(x) => x.to_string(),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                });
            }
            Ok(values.join("|"))
        })?;
        rows.collect()
    }

    /// A command for the binary, to customize (env, cwd) before running.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
        cmd.args(args)
            .current_dir(self.root())
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        cmd
    }
}

/// Runs a command and collects its output as a `Run`.
pub trait OutputRun {
    fn output_run(&mut self) -> Run;
}

impl OutputRun for Command {
    fn output_run(&mut self) -> Run {
        let out = self.output().expect("spawn runner");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Every file under `dir` (relative, sorted), skipping `.runner`.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_name() == ".runner" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Fails the test, saying how to install it, unless `program` can be run
/// (a test that needs a tool never passes without it).
#[track_caller]
pub fn require_tool(program: &str, install: &str) {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) => {
            panic!("this test needs `{program}`, which cannot be run ({e}); install it: {install}")
        }
    }
}

/// Process ids of the live processes whose working directory is `dir`
/// (the tasks of a run, which run in the pipeline's root).
pub fn processes_in(dir: &Path) -> Vec<u32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir))
        .collect()
}
