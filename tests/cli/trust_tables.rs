//! Regression tests for issue 10's items about tables: a built-in step
//! stopped by a signal (item 9) and a quote that never closes (item 13);
//! a table shared by two tasks while a step between them wrote it; and a
//! table's file read once, its hash taken as it is read.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{OutputRun, Test, require_tool};

/// A CSV big enough that reading it takes a while (6 million rows: about
/// 150 MB, half a second in a release build; 2 million were read before
/// a signal sent while they were read arrived, once reading got faster).
fn big_csv(rows: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(rows * 24);
    text.extend_from_slice(b"t,v,label\n");
    for i in 0..rows {
        writeln!(text, "{i},{}.5,station-{}", i % 1000, i % 7).unwrap();
    }
    text
}

/// Whether process `pid` has `path` open (the built-in is reading it).
fn has_open(pid: u32, path: &std::path::Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    // Not a limit on the work under test: only how long the test waits for
    // the run to reach the point where the signal is sent.
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts `pipeline` on a big input with `--no-state` (so nothing but the
/// built-in opens the input), sends SIGTERM once the built-in reads it, and
/// returns the exit code and stderr.
fn sigterm_while_reading(t: &Test, input: &str) -> (Option<i32>, String) {
    let child = t
        .command(["run", "--no-state", "pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let path = t.path(input);
    wait_for("the built-in to open its input", || {
        has_open(child.id(), &path)
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn item_9_sigterm_stops_csv_stats_and_it_is_interrupted_not_ok() {
    let t = Test::new();
    t.write("data/big.csv", big_csv(6_000_000)).pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
"#,
    );
    let (code, stderr) = sigterm_while_reading(&t, "data/big.csv");
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted: stats/big"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!t.exists("build/stats/big.json"));
}

#[test]
fn item_9_sigint_stops_table_concat_and_it_is_interrupted_not_ok() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,2\n")
        .write("data/big.csv", big_csv(6_000_000))
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "all"
all = "data"
use = "table.concat"
out = "all.csv"
"#,
        );
    let child = t
        .command(["run", "--no-state", "pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let path = t.path("data/big.csv");
    // The first reading takes the headers only; wait for the second, which
    // copies the rows (the output exists by then).
    wait_for("table.concat to copy rows", || {
        t.exists("build")
            && has_open(child.id(), &path)
            && std::fs::read_dir(t.path("build")).is_ok_and(|d| d.count() > 0)
    });
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: all/all"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!t.exists("build/all.csv"));
}

#[test]
fn item_13_unterminated_quote_fails_at_its_line() {
    let t = Test::new();
    t.write("data/q.csv", "t,v\n1,\"abc\n2,3\n")
        .write("data/late.csv", "t,v\n1,2\n3,4\n5,\"x\n6,7\n8,9\n")
        .write("data/ok.csv", "t,v\n1,\"a\nb\"\n2,\"say \"\"hi\"\"\"\n")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
[[steps]]
name = "all"
all = "data"
use = "table.concat"
out = "all.csv"
"#,
        );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    for expected in [
        "data/q.csv:2: a quote (\") opened on this line is never closed",
        "data/late.csv:4: a quote (\") opened on this line is never closed",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in\n{all}");
    }
    // Quoted newlines and doubled quotes that do close are fine.
    let stats: serde_json::Value = serde_json::from_str(&t.read("build/stats/ok.json")).unwrap();
    assert_eq!(stats["rows"], 2);
    assert!(!t.exists("build/stats/q.json"));
    assert!(!t.exists("build/all.csv"));
}

/// Item 9, with the state: a built-in stopped by SIGTERM was once recorded
/// `ok` after the run exited 143. Its result is `interrupted`, nothing is
/// remembered as up to date, and the next run runs it.
#[test]
fn item_9_an_interrupted_builtin_is_recorded_interrupted_and_runs_again() {
    let t = Test::new();
    t.write("data/big.csv", big_csv(6_000_000)).pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
"#,
    );
    let child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The state hashes the input first; the task makes its output folder
    // when it starts, then the built-in reads the input.
    let path = t.path("data/big.csv");
    wait_for("the built-in to read its input", || {
        t.exists("build/stats") && has_open(child.id(), &path)
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let sql = |query: &str| t.query(query).join("\n");
    assert_eq!(sql("SELECT status FROM tasks"), "interrupted", "{stderr}");
    assert_eq!(sql("SELECT count(*) FROM latest WHERE status = 'ok'"), "0");
    assert!(!t.exists("build/stats/big.json"));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("1 ok"), "{}", run.stderr);
    assert!(t.exists("build/stats/big.json"));
}

/// `csv.stats` and a plot of one file share one parse. A step that runs
/// between them appends a row (as a writer outside runner could): the
/// plot's fingerprint sees three rows, so the plot must be drawn from
/// three rows, or run again next time. Session 6 took fingerprints later
/// (right before each task) and the plot was drawn from the stats task's
/// two-row table, then called up to date.
#[test]
fn a_file_written_between_two_readers_of_its_table_is_never_up_to_date_stale() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,10\n2,20\n").pipeline(
        r#"
[pipeline]
out = "out"
jobs = 1

[inputs.data]
glob = ["data/*.csv"]

[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"

[[steps]]
name = "grow"
each = "data"
run = ["sh", "-c", "printf '3,30\\n' >> {{ input }} && touch {{ out }}"]
out = "grow/{{ key }}.done"

[[plots]]
name = "plot"
each = "data"
x = "t"
y = ["v"]
out = "plots/{{ key }}.svg"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("data/a.csv"), "t,v\n1,10\n2,20\n3,30\n");
    let stats: serde_json::Value = serde_json::from_str(&t.read("out/stats/a.json")).unwrap();
    assert_eq!(stats["rows"], 2, "the stats ran before the row was added");
    let plot = t.read("out/plots/a.svg");
    // The same plot drawn from scratch from the file as it is now.
    let fresh = Test::new();
    fresh.write("data/a.csv", t.read("data/a.csv")).pipeline(
        r#"
[pipeline]
out = "out"
[inputs.data]
glob = ["data/*.csv"]
[[plots]]
name = "plot"
each = "data"
x = "t"
y = ["v"]
out = "plots/{{ key }}.svg"
"#,
    );
    fresh.run(["pipeline.toml", "--no-state"]).expect_code(0);
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    let all = format!("{}{}", explain.stdout, explain.stderr);
    let plot_runs = all.contains("# plot a:");
    assert!(
        plot_runs || plot == fresh.read("out/plots/a.svg"),
        "the plot is called up to date but was drawn from the older table:\n{all}"
    );
}

/// With the state on, a table's file is read once per run (issue 11: it
/// was read once to hash it and again to parse it): its hash comes from
/// the bytes as the table reader reads them, for every task that shares
/// the parse; it is the hash of the file, the next run finds both tasks
/// up to date, and a change makes both run again.
#[test]
fn a_table_file_is_read_once_and_recorded_with_the_hash_of_what_was_read() {
    require_tool("strace", "apt-get install strace");
    let t = Test::new();
    let rows: String = (0..20_000)
        .map(|i| format!("{i},{}.5,{}\n", i % 97, i % 13))
        .collect();
    let text = format!("t,v,w\n{rows}");
    t.write("data/a.csv", &text).pipeline(
        r#"
[pipeline]
out = "out"
jobs = 1
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
[[plots]]
name = "plot"
each = "data"
x = "t"
y = ["v", "w"]
out = "plots/{{ key }}.svg"
"#,
    );
    let trace = t.path("opens.txt");
    let run = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_runner"))
        .arg("pipeline.toml")
        .current_dir(t.root())
        .stdin(Stdio::null())
        .output_run();
    run.expect_code(0);
    let opens: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("data/a.csv"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        opens.len(),
        1,
        "opened more than once:\n{}",
        opens.join("\n")
    );
    let hash = blake3::hash(text.as_bytes()).to_hex();
    for step in ["stats", "plot"] {
        let inputs = t.query(&format!("SELECT inputs FROM latest WHERE step = '{step}'"));
        assert_eq!(inputs.len(), 1);
        assert!(
            inputs[0].contains(&format!("{hash}  data/a.csv")),
            "{step}: {inputs:?}, not the file's hash {hash}"
        );
    }
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(
        again.stderr.contains("0 ok") && again.stderr.contains("2 up to date"),
        "{}",
        again.stderr
    );
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(t.path("data/a.csv"))
        .unwrap();
    file.write_all(b"20000,1.5,2\n").unwrap();
    drop(file);
    let changed = t.run(["pipeline.toml"]);
    changed.expect_code(0);
    assert!(changed.stderr.contains("2 ok"), "{}", changed.stderr);
    let stats: serde_json::Value = serde_json::from_str(&t.read("out/stats/a.json")).unwrap();
    assert_eq!(stats["rows"], 20_001);
}

/// The read offsets of every descriptor process `pid` has open on `path`.
fn offsets_of(pid: u32, path: &std::path::Path) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
        .filter_map(|fd| {
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?))
                    .ok()?;
            info.lines()
                .find_map(|l| l.strip_prefix("pos:"))
                .and_then(|pos| pos.trim().parse().ok())
        })
        .collect()
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Whether every thread of `pid` is stopped (by SIGSTOP).
fn all_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            state.starts_with('T') || state.starts_with('t')
        })
    })
}

/// Runs `args` in `t` and stops the run (SIGSTOP, every thread stopped)
/// while one descriptor on `path` has read at least `from` bytes but not
/// the whole file (`len` bytes); `None` when the run got past that
/// point before it could be stopped (it is then waited for).
fn stop_while_reading(
    t: &Test,
    args: &[&str],
    path: &std::path::Path,
    from: u64,
    len: u64,
) -> Option<std::process::Child> {
    let mut child = t
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let reading = || {
        offsets_of(pid, path)
            .iter()
            .any(|&pos| pos >= from && pos < len)
    };
    let start = Instant::now();
    loop {
        if reading() {
            send("-STOP", pid);
            wait_for("the run to stop", || all_stopped(pid));
            if reading() {
                return Some(child);
            }
            send("-CONT", pid);
            child.wait_with_output().unwrap();
            return None;
        }
        if child.try_wait().unwrap().is_some() || start.elapsed() > Duration::from_secs(120) {
            child.wait_with_output().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// A column that is numbers for its first rows and then text is read in
/// two passes: the whole file (hashed as it is read, for the record), then
/// its first rows again, for their text (not hashed). A file written in
/// between (here: while the first pass reads the end of the file, in a
/// part it has read already) gives the result the new first rows, and the
/// record the hash of the old file. Once the file is put back as it was
/// (an editor's undo, `git checkout`, a tool that rewrites a file and
/// restores it), the task is called up to date with a result that no run
/// over that file gives: `distinct` counts a value the file does not hold.
#[test]
fn a_file_written_between_the_two_passes_of_a_late_text_column_is_never_up_to_date_stale() {
    let mut text = String::from("t,v\n0,1.5\n1,1.5\n2,1.5\n3,1.5\n4,1.5\n5,T\n");
    let at = text.find("2,1.5").unwrap() + 2;
    for i in 6..10_000_000 {
        std::fmt::Write::write_fmt(&mut text, format_args!("{i},\n")).unwrap();
    }
    let pipeline = r#"
[pipeline]
out = "out"
[inputs.data]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
"#;
    // What a run over the file gives.
    let fresh = Test::new();
    fresh.write("data/a.csv", &text).pipeline(pipeline);
    fresh.run(["pipeline.toml", "--no-state"]).expect_code(0);
    let expected = fresh.read("out/stats/a.json");
    assert!(expected.contains("\"distinct\": 2"), "{expected}");
    drop(fresh);
    let write_at = |path: &std::path::Path, bytes: &[u8]| {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.write_all_at(bytes, at as u64).unwrap();
    };
    for _ in 0..5 {
        let t = Test::new();
        t.write("data/a.csv", &text).pipeline(pipeline);
        let path = t.path("data/a.csv");
        // Stopped while the first pass reads: it has read row 2 already.
        let Some(child) =
            stop_while_reading(&t, &["pipeline.toml"], &path, 8 << 20, text.len() as u64)
        else {
            continue;
        };
        write_at(&path, b"zzz");
        send("-CONT", child.id());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The file as it was when the run began.
        write_at(&path, b"1.5");
        assert_eq!(t.read("data/a.csv"), text);
        let again = t.run(["pipeline.toml"]);
        again.expect_code(0);
        let result = t.read("out/stats/a.json");
        assert!(
            !again.stderr.contains("1 up to date") || result == expected,
            "called up to date, but made from other bytes than the file's:\n{result}\n{}",
            again.stderr
        );
        return;
    }
    panic!("the run could not be stopped while it read the file");
}

/// A folder on a file system whose timestamps are whole seconds (ext4
/// with 128-byte inodes, as ext3, FAT, HFS+ and some NFS servers give):
/// `RUNNER_TEST_COARSE_DIR` when set, else a loop-mounted image (root
/// only), unmounted when dropped.
struct CoarseDir {
    dir: std::path::PathBuf,
    mounted: Option<tempfile::TempDir>,
}

impl CoarseDir {
    fn new() -> CoarseDir {
        if let Some(dir) = std::env::var_os("RUNNER_TEST_COARSE_DIR") {
            return CoarseDir {
                dir: tempfile::tempdir_in(dir).unwrap().keep(),
                mounted: None,
            };
        }
        let holder = tempfile::tempdir().unwrap();
        let image = holder.path().join("fs.img");
        let mount = holder.path().join("mnt");
        std::fs::create_dir(&mount).unwrap();
        std::fs::File::create(&image)
            .unwrap()
            .set_len(256 << 20)
            .unwrap();
        let ok = |cmd: &mut Command| {
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(
            ok(Command::new("mkfs.ext4")
                .args(["-q", "-F", "-I", "128"])
                .arg(&image))
                && ok(Command::new("mount")
                    .args(["-o", "loop"])
                    .arg(&image)
                    .arg(&mount)),
            "this test needs a file system with whole-second timestamps: run it as root \
             (it mounts an ext4 image with 128-byte inodes), or set RUNNER_TEST_COARSE_DIR \
             to a folder on one"
        );
        CoarseDir {
            dir: mount,
            mounted: Some(holder),
        }
    }
}

impl Drop for CoarseDir {
    fn drop(&mut self) {
        if self.mounted.is_some() {
            let _ = Command::new("umount").arg(&self.dir).status();
        }
    }
}

/// The cache of file hashes keeps an entry only when the file had not
/// changed for 2 s when it was hashed (a write within the timestamps'
/// granularity leaves size, mtime and ctime as they were). Before 850a64f
/// a plot's input was hashed, and its entry judged, right when it was
/// stat'ed; now it is hashed as the plot reads it, with the metadata from
/// when it was opened, but judged when the task has run, seconds later (a
/// plot that reads a big second file, or takes long to draw). A file
/// rewritten (same size) in the second it was read in then keeps its
/// metadata; its entry, with the hash of the old bytes, is stored, and
/// the next run takes the file as unchanged: the plot is up to date,
/// drawn from bytes the file no longer holds.
#[test]
fn a_file_rewritten_in_the_second_a_plot_read_it_is_never_up_to_date_stale() {
    let coarse = CoarseDir::new();
    let pipeline = r#"
[pipeline]
out = "out"
[inputs.data]
glob = ["data/*.csv"]
[[plots]]
name = "plot"
all = "data"
x = "t"
y = ["v"]
out = "plots/all.svg"
"#;
    let big: String = std::iter::once("t,v\n".to_owned())
        .chain((0..3_000_000).map(|i| format!("{i},{}\n", i % 100)))
        .collect();
    let (old, new) = ("t,v\n1,10\n2,20\n", "t,v\n1,10\n2,99\n");
    let mtime = |path: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).unwrap();
        (
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.len(),
        )
    };
    for _ in 0..5 {
        let root = tempfile::tempdir_in(&coarse.dir).unwrap();
        let t = |rel: &str| root.path().join(rel);
        std::fs::create_dir_all(t("data")).unwrap();
        std::fs::write(t("pipeline.toml"), pipeline).unwrap();
        std::fs::write(t("data/b_big.csv"), &big).unwrap();
        // Early in a second, so that the run opens it in the same one.
        std::thread::sleep(Duration::from_millis(1100));
        wait_for("the start of a second", || {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_millis();
            (100..300).contains(&ms)
        });
        std::fs::write(t("data/a_small.csv"), old).unwrap();
        let before = mtime(&t("data/a_small.csv"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_runner"))
            .arg("pipeline.toml")
            .current_dir(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let big_path = t("data/b_big.csv");
        // The plot has read the small file, and reads the big one.
        wait_for("the plot to read the big file", || {
            has_open(pid, &big_path) || child.try_wait().unwrap().is_some()
        });
        send("-STOP", pid);
        wait_for("the run to stop", || {
            all_stopped(pid) || child.try_wait().unwrap().is_some()
        });
        std::fs::write(t("data/a_small.csv"), new).unwrap();
        let same_second = mtime(&t("data/a_small.csv")) == before;
        // A plot that takes a few seconds more.
        std::thread::sleep(Duration::from_millis(2500));
        send("-CONT", pid);
        let out = child.wait_with_output().unwrap();
        if !same_second {
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The same plot drawn from scratch from the files as they are now.
        let fresh = Test::new();
        fresh
            .write("data/a_small.csv", new)
            .write("data/b_big.csv", &big)
            .pipeline(pipeline);
        fresh.run(["pipeline.toml", "--no-state"]).expect_code(0);
        let expected = std::fs::read(fresh.path("out/plots/all.svg")).unwrap();
        let again = Command::new(env!("CARGO_BIN_EXE_runner"))
            .arg("pipeline.toml")
            .current_dir(root.path())
            .stdin(Stdio::null())
            .output_run();
        again.expect_code(0);
        let now = std::fs::read(t("out/plots/all.svg")).unwrap();
        assert!(
            !again.stderr.contains("1 up to date") || now == expected,
            "called up to date, but drawn from bytes a_small.csv no longer holds:\n{}",
            again.stderr
        );
        return;
    }
    panic!("the small file could not be rewritten in the second the run read it");
}
