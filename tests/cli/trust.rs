//! Issue 10: never stale, never outside, never stuck. One regression test per
//! item of the issue, named after it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::*;

/// Runs a query on the pipeline's state database with the `sqlite3` CLI.
fn sql(t: &Test, query: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(t.path(".runner/pipeline/state.db"))
        .arg(query)
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Waits for a condition that the test itself causes (no time limit on the
/// code under test: a hang shows as a test that never ends).
fn wait_until(mut ok: impl FnMut() -> bool) {
    while !ok() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process is still running (a zombie is not).
fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

fn set_mtime(path: &Path, when: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(when).unwrap();
}

/// Whether the files cache holds a hash of `path`.
fn cached(t: &Test, path: &str) -> bool {
    std::thread::sleep(Duration::from_millis(300));
    sql(
        t,
        &format!("SELECT count(*) FROM files WHERE path = CAST('{path}' AS BLOB)"),
    ) == "1"
}

const COPY: &str = r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "{{ key }}.txt"
"#;

#[test]
fn item_03_same_size_and_restored_mtime_is_rehashed() {
    let t = Test::new();
    t.write("data/a.txt", "aaaa\n").pipeline(COPY);
    // Old enough that its hash is remembered by size and mtime.
    let when = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&t.path("data/a.txt"), when);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "aaaa\n");
    // Runs until the state remembers the file's hash (its ctime is a few
    // seconds old by then).
    wait_until(|| {
        t.run(["pipeline.toml", "-q"]).expect_code(0);
        cached(&t, "data/a.txt")
    });
    // Same size, new content, mtime put back (`touch -d`, `rsync -t`).
    t.write("data/a.txt", "bbbb\n");
    set_mtime(&t.path("data/a.txt"), when);
    let run = t.run(["pipeline.toml", "-q"]);
    run.expect_code(0);
    assert_eq!(t.read("build/a.txt"), "bbbb\n", "{}", run.stderr);
    // A new file (new inode) with the old size and mtime, renamed into
    // place as rsync does.
    t.write("data/.a.new", "cccc\n");
    set_mtime(&t.path("data/.a.new"), when);
    wait_until(|| {
        t.run(["pipeline.toml", "-q"]).expect_code(0);
        cached(&t, "data/a.txt")
    });
    std::fs::rename(t.path("data/.a.new"), t.path("data/a.txt")).unwrap();
    t.run(["pipeline.toml", "-q"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "cccc\n");
    // Unchanged since: nothing runs.
    let run = t.run(["pipeline.toml"]);
    assert!(run.stderr.contains("1 up to date"), "{}", run.stderr);
}

#[test]
fn item_14_a_raw_byte_and_a_backslash_in_names_get_distinct_keys() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    let raw = std::ffi::OsStr::from_bytes(b"data/bad\xff.txt");
    t.write(raw, "raw byte\n")
        .write("data/bad\\xff.txt", "backslash\n")
        .pipeline(COPY);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    // Keys (and so the outputs named after them) differ: the backslash is
    // escaped, the raw byte shown as `\xff`.
    assert_eq!(t.read("build/bad\\xff.txt"), "raw byte\n");
    assert_eq!(t.read("build/bad\\\\xff.txt"), "backslash\n");
    let keys = sql(&t, "SELECT key FROM latest ORDER BY key");
    assert_eq!(keys, "bad\\\\xff\nbad\\xff");
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(
        t.run(["pipeline.toml"]).stderr.contains("2 up to date"),
        "a second run must find both up to date"
    );
}
