//! Incremental runs, durable state, cron safety (issue 4).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// Each task appends "STEP KEY" to `ran.log`, so a test sees what ran.
const CHAIN: &str = r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "clean"
each = "logs"
run = ["sh", "scripts/clean.sh", "{{ input }}", "{{ out }}", "{{ key }}"]
out = "clean/{{ key }}.csv"
[[steps]]
name = "count"
each = "clean"
shell = "echo count {{ key }} >> ran.log; wc -l < {{ input }} > {{ out }}"
out = "count/{{ key }}.txt"
[[steps]]
name = "total"
all = "count"
shell = "echo total all >> ran.log; cat {{ inputs }} > {{ out }}"
out = "total.txt"
"#;

fn chain() -> Test {
    let t = Test::new();
    t.write("data/a.csv", "1\n2\n")
        .write("data/b.csv", "1\n")
        .write("data/c.csv", "1\n2\n3\n")
        .write(
            "scripts/clean.sh",
            "echo clean $3 >> ran.log\ngrep -v '^#' \"$1\" > \"$2\"\n",
        )
        .pipeline(CHAIN);
    t
}

/// What ran since the last call (and forget it).
fn ran(t: &Test) -> Vec<String> {
    let path = t.path("ran.log");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn set_mtime(path: &Path, seconds_ago: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(seconds_ago))
        .unwrap();
}

#[test]
fn a_second_run_does_nothing() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t).len(), 7);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert_eq!(ran(&t), Vec::<String>::new());
    assert!(
        run.stderr
            .contains("0 ok, 0 failed, 0 skipped, 7 up to date"),
        "{}",
        run.stderr
    );
}

#[test]
fn modifying_one_input_reruns_exactly_its_downstream() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    t.write("data/b.csv", "1\n2\n3\n4\n");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t), vec!["clean b", "count b", "total all"]);
    assert_eq!(t.read("build/total.txt"), "2\n4\n3\n");
}

#[test]
fn touching_without_changing_reruns_nothing() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    set_mtime(&t.path("data/a.csv"), 0);
    set_mtime(&t.path("scripts/clean.sh"), 0);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t), Vec::<String>::new());
}

#[test]
fn changing_a_steps_command_reruns_it_and_its_dependents() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    t.pipeline(&CHAIN.replace("wc -l <", "wc -l < "));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t), vec!["count a", "count b", "count c", "total all"]);
}

#[test]
fn editing_a_script_named_in_the_command_reruns_its_step() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    t.write(
        "scripts/clean.sh",
        "echo clean $3 >> ran.log\ngrep -v '^##' \"$1\" > \"$2\"\n",
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t).len(), 7);
}

#[test]
fn declared_deps_are_part_of_the_fingerprint() {
    let t = Test::new();
    t.write("data/a.csv", "1\n")
        .write("lib/helper.txt", "v1")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "s"
each = "logs"
shell = "echo s >> ran.log; cat lib/*.txt > {{ out }}"
deps = ["lib/*.txt"]
out = "{{ key }}.txt"
"#,
        );
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(ran(&t).is_empty());
    t.write("lib/helper.txt", "v2");
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain
            .stdout
            .contains("# s a: input changed: lib/helper.txt"),
        "{}",
        explain.stdout
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t), vec!["s"]);
}

#[test]
fn a_missing_or_modified_output_reruns_its_task() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    std::fs::remove_file(t.path("build/count/a.txt")).unwrap();
    t.write("build/count/b.txt", "tampered\n");
    let explain = t.run(["pipeline.toml", "--dry-run", "--explain"]);
    assert!(
        explain
            .stdout
            .contains("# count a: output missing: build/count/a.txt"),
        "{}",
        explain.stdout
    );
    assert!(
        explain
            .stdout
            .contains("# count b: output modified: build/count/b.txt"),
        "{}",
        explain.stdout
    );
    assert!(
        explain
            .stdout
            .contains("# total all: upstream task runs: count a"),
        "{}",
        explain.stdout
    );
    assert!(
        explain.stdout.contains("# 4 tasks up to date"),
        "{}",
        explain.stdout
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t), vec!["count a", "count b", "total all"]);
    assert_eq!(t.read("build/count/b.txt"), "1\n");
}

#[test]
fn explain_says_new_action_changed_and_failed() {
    let t = chain();
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain.stdout.contains("# clean a: new"),
        "{}",
        explain.stdout
    );
    t.run(["pipeline.toml"]).expect_code(0);
    t.pipeline(&CHAIN.replace("cat {{ inputs }}", "cat -- {{ inputs }}"));
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain.stdout.contains("# total all: action changed"),
        "{}",
        explain.stdout
    );
    t.write("scripts/clean.sh", "exit 1\n");
    t.run(["pipeline.toml"]).expect_code(1);
    t.write("scripts/clean.sh", "grep -v '^#' \"$1\" > \"$2\"\n");
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    // The script changed since: a dep of the step.
    assert!(
        explain.stdout.contains(
            "# clean a: failed in the last run (exit code 1); since then: input changed: scripts/clean.sh"
        ),
        "{}",
        explain.stdout
    );
}

#[test]
fn a_failed_task_runs_again_next_time() {
    let t = chain();
    t.write(
        "scripts/clean.sh",
        "echo clean $3 >> ran.log\n[ $3 = b ] && exit 1\ncp \"$1\" \"$2\"\n",
    );
    t.run(["pipeline.toml"]).expect_code(1);
    ran(&t);
    t.run(["pipeline.toml"]).expect_code(1);
    assert_eq!(ran(&t), vec!["clean b"]);
}

#[test]
fn force_reruns_everything_or_a_step_and_its_dependents() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    t.run(["pipeline.toml", "--force=count"]).expect_code(0);
    assert_eq!(ran(&t), vec!["count a", "count b", "count c", "total all"]);
    t.run(["pipeline.toml", "--force"]).expect_code(0);
    assert_eq!(ran(&t).len(), 7);
    let run = t.run(["pipeline.toml", "--force=cont"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("did you mean `count`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn only_runs_what_it_needs_if_out_of_date() {
    let t = chain();
    t.run(["pipeline.toml", "--only", "clean"]).expect_code(0);
    assert_eq!(ran(&t), vec!["clean a", "clean b", "clean c"]);
    t.run(["pipeline.toml", "--only", "count"]).expect_code(0);
    assert_eq!(ran(&t), vec!["count a", "count b", "count c"]);
    assert!(!t.exists("build/total.txt"));
}

#[test]
fn deleting_the_state_folder_means_a_full_run() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    std::fs::remove_dir_all(t.path(".runner")).unwrap();
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(ran(&t).len(), 7);
    assert_eq!(t.read(".runner/.gitignore"), "*\n");
}

/// Puts bytes that are no database in place of the state.
fn garbage_state(t: &Test) {
    std::fs::write(t.path(".runner/pipeline/state.db"), b"this is not a database, just garbage bytes....................................................................").unwrap();
    let _ = std::fs::remove_file(t.path(".runner/pipeline/state.db-wal"));
    let _ = std::fs::remove_file(t.path(".runner/pipeline/state.db-shm"));
}

/// A dry run reads the state and writes nothing: when it cannot read the
/// state, it says so (every task then shows as new), and leaves the damaged
/// file for the next real run to set aside.
#[test]
fn a_dry_run_that_cannot_read_the_state_says_so() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    let dry = t.run(["pipeline.toml", "--dry-run"]);
    dry.expect_code(0);
    assert!(!dry.stderr.contains("cannot read"), "{}", dry.stderr);
    garbage_state(&t);
    let dry = t.run(["pipeline.toml", "--dry-run"]);
    dry.expect_code(0);
    assert!(
        dry.stderr
            .contains("warning: cannot read the state database")
            && dry.stderr.contains("state.db"),
        "{}",
        dry.stderr
    );
    assert!(ran(&t).is_empty());
    assert!(!dry.stderr.contains("is damaged"), "{}", dry.stderr);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);
}

#[test]
fn a_corrupt_database_is_set_aside_with_a_message() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    ran(&t);
    garbage_state(&t);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);
    assert_eq!(ran(&t).len(), 7);
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(ran(&t).is_empty());
}

#[test]
fn an_unwritable_state_folder_exits_4() {
    let t = chain();
    t.write("blocker", "a file where a folder should be");
    t.pipeline(&CHAIN.replace(
        "out = \"build\"",
        "out = \"build\"\nstate = \"blocker/state\"",
    ));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(4);
    assert!(
        run.stderr.contains("cannot create the state folder"),
        "{}",
        run.stderr
    );
    assert!(!t.exists("build"));
}

fn slow_pipeline(n: usize) -> Test {
    let t = Test::new();
    for i in 0..n {
        t.write(format!("data/f{i:02}.csv"), format!("{i}\n").repeat(100));
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "slow"
each = "logs"
shell = "echo {{ key }} >> ran.log; sleep 0.2; cat {{ input }} > {{ out }}"
out = "{{ key }}.csv"
"#,
    );
    t
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_9_loses_nothing_and_redoes_nothing_completed() {
    let t = slow_pipeline(24);
    let mut child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("some outputs", Duration::from_secs(60), || {
        files_under(&t.path("build"))
            .iter()
            .filter(|f| !f.starts_with('.'))
            .count()
            >= 6
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The tasks it was running go on without it: let them end first.
    wait_for("the orphaned tasks to end", Duration::from_secs(60), || {
        processes_in(t.root()).is_empty()
    });
    // Nothing under a final name is partial.
    for f in files_under(&t.path("build")) {
        if f.starts_with('.') {
            continue;
        }
        let key = f.trim_end_matches(".csv");
        assert_eq!(
            t.read(format!("build/{f}")),
            t.read(format!("data/{key}.csv")),
            "{f}"
        );
    }
    // The database opens cleanly and says what completed.
    let done = t.query("SELECT key FROM latest WHERE status = 'ok'");
    assert!(!done.is_empty());
    ran(&t);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    let second = ran(&t);
    for key in &done {
        assert!(
            !second.contains(key),
            "{key} completed before the kill but ran again"
        );
    }
    assert_eq!(second.len() + done.len(), 24, "{second:?} {done:?}");
    for i in 0..24 {
        assert_eq!(
            t.read(format!("build/f{i:02}.csv")),
            format!("{i}\n").repeat(100)
        );
    }
    // No temporary file is left behind.
    assert!(
        files_under(&t.path("build"))
            .iter()
            .all(|f| !f.contains(".tmp-"))
    );
}

#[test]
fn a_second_concurrent_run_exits_3_and_wait_waits() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "hold"
each = "logs"
# Marker files through a redirection and a variable: a file the command
# names as an argument is one of its dependencies (issue 10, item 1).
shell = "echo > started; while [ ! -e $RELEASE ]; do sleep 0.05; done; echo done > {{ out }}"
env = { RELEASE = "release" }
out = "{{ key }}.txt"
"#,
    );
    let mut first = t
        .command(["pipeline.toml"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first run", Duration::from_secs(30), || {
        t.exists("started")
    });
    let second = t.run(["pipeline.toml"]);
    second.expect_code(3);
    assert!(
        second
            .stderr
            .contains(&format!("another run (pid {}, started at ", first.id())),
        "{}",
        second.stderr
    );
    // `--wait` blocks until the first is done, then finds nothing to do.
    let mut waiting = t
        .command(["pipeline.toml", "--wait"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first run is let go only once the second says that it waits.
    let (said_it_waits, waits) = std::sync::mpsc::channel();
    let stderr = waiting.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("waiting for another run") {
                let _ = said_it_waits.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // An error means the second run ended without waiting: the asserts
    // below show what it printed.
    let _ = waits.recv();
    t.write("release", "");
    assert_eq!(first.wait().unwrap().code(), Some(0));
    let status = waiting.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(stderr.contains("waiting for another run"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 up to date"), "{stderr}");
}

#[test]
fn sigterm_stops_tasks_records_them_and_exits_143() {
    let t = Test::new();
    for k in ["a", "b", "c", "d"] {
        t.write(format!("data/{k}.csv"), "");
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "hang"
each = "logs"
shell = "sleep 300 & echo $! >> pids; touch started-{{ key }}; wait"
"#,
    );
    let child = t
        .command(["pipeline.toml"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("two tasks", Duration::from_secs(30), || {
        t.exists("started-a") && t.exists("started-b")
    });
    unsafe_kill(child.id() as i32, 15);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Counted as interrupted, not failed (issue 12 point 8).
    assert!(stderr.contains("interrupted: hang/a, hang/b"), "{stderr}");
    assert!(!stderr.contains("FAILED"), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The tasks' process groups are gone.
    for pid in t.read("pids").lines() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "task process {pid} survived"
        );
    }
    let statuses = t.query("SELECT key, status FROM tasks ORDER BY key");
    assert!(
        statuses.contains(&"a|interrupted".to_owned())
            && statuses.contains(&"b|interrupted".to_owned()),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"c|not_run".to_owned()), "{statuses:?}");
    assert_eq!(t.query("SELECT exit_code FROM runs"), ["143"]);
}

fn unsafe_kill(pid: i32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn history_lists_runs_and_failures() {
    let t = chain();
    t.write(
        "scripts/clean.sh",
        "echo 'something broke' >&2\n[ $3 = b ] && exit 7\ncp \"$1\" \"$2\"\n",
    );
    t.run(["pipeline.toml"]).expect_code(1);
    t.run(["pipeline.toml"]).expect_code(1);
    let h = t.run(["history", "pipeline.toml"]);
    h.expect_code(0);
    let lines: Vec<&str> = h.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", h.stdout);
    assert!(lines[1].trim_start().starts_with("2 "), "{}", h.stdout);
    let cols: Vec<&str> = lines[2].split_whitespace().collect();
    // run 1: 4 ok (clean a, c; count a, c), 1 failed, 2 skipped, exit 1
    assert_eq!(cols[0], "1");
    assert_eq!(&cols[3..], ["4", "1", "0", "2", "1"], "{}", h.stdout);
    let failed = t.run(["history", "pipeline.toml", "--failed"]);
    assert!(
        failed.stdout.contains("FAILED: clean b (exit code 7)"),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("| something broke"),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("logs/2/clean/b.err"),
        "{}",
        failed.stdout
    );
    let json = t.run(["history", "pipeline.toml", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(runs[0]["id"], 2);
    assert_eq!(runs[0]["failed"], 1);
    let json = t.run(["history", "pipeline.toml", "--failed", "--json"]);
    let failed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(failed[0]["exit_code"], 7);
}

#[test]
fn logs_are_kept_for_the_last_runs_only() {
    let t = chain();
    t.pipeline(&CHAIN.replace("out = \"build\"", "out = \"build\"\nkeep_logs = 2"));
    for _ in 0..4 {
        t.run(["pipeline.toml", "--force"]).expect_code(0);
    }
    let mut runs: Vec<String> = std::fs::read_dir(t.path(".runner/pipeline/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    runs.sort();
    assert_eq!(runs, vec!["3", "4"]);
}

#[test]
fn min_age_leaves_out_files_still_being_written() {
    let t = Test::new();
    t.write("data/old.csv", "")
        .write("data/new.csv", "")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
min_age = "60s"
[[steps]]
name = "s"
each = "logs"
shell = "echo > {{ out }}"
out = "{{ key }}.txt"
"#,
        );
    set_mtime(&t.path("data/old.csv"), 600);
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(t.exists("build/old.txt"));
    assert!(!t.exists("build/new.txt"));
}

#[test]
fn on_failure_gets_the_run_id_and_counts() {
    let t = chain();
    t.write(
        "scripts/clean.sh",
        "[ $3 = b ] && exit 1\ncp \"$1\" \"$2\"\n",
    );
    t.pipeline(&CHAIN.replace(
        "out = \"build\"",
        "out = \"build\"\non_failure = [\"sh\", \"-c\", \"echo $RUNNER_PIPELINE $RUNNER_RUN_ID $RUNNER_FAILED $RUNNER_OK > mail.txt\"]",
    ));
    t.run(["pipeline.toml"]).expect_code(1);
    assert_eq!(t.read("mail.txt"), "pipeline 1 1 4\n");
    std::fs::remove_file(t.path("mail.txt")).unwrap();
    t.write("scripts/clean.sh", "cp \"$1\" \"$2\"\n");
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(!t.exists("mail.txt"));
}

#[test]
fn the_database_is_readable_with_the_sqlite3_cli() {
    // What the README says: the state reads with the `sqlite3` program.
    require_tool("sqlite3", "apt-get install sqlite3");
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    let out = std::process::Command::new("sqlite3")
        .arg(t.path(".runner/pipeline/state.db"))
        .arg("SELECT step, count(*) FROM tasks GROUP BY step ORDER BY step")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "clean|3\ncount|3\ntotal|1\n"
    );
    let mode = std::process::Command::new("sqlite3")
        .arg(t.path(".runner/pipeline/state.db"))
        .arg("PRAGMA journal_mode")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&mode.stdout).trim(), "wal");
}

#[test]
fn no_state_runs_everything_and_records_nothing() {
    let t = chain();
    t.run(["pipeline.toml", "--no-state"]).expect_code(0);
    assert_eq!(ran(&t).len(), 7);
    t.run(["pipeline.toml", "--no-state"]).expect_code(0);
    assert_eq!(ran(&t).len(), 7);
    assert!(!t.exists(".runner"));
    assert_eq!(t.read("build/total.txt"), "2\n1\n3\n");
}

/// `--no-state` writes its logs to `$TMPDIR/runner-PID-logs`: removed
/// after a run whose tasks all succeeded, kept when the summary points at
/// a failed task's log.
#[test]
fn no_state_keeps_its_logs_only_when_a_task_failed() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    let pipeline = |code: u8| {
        t.pipeline(&format!(
            r#"
[pipeline]
out = "build"
[inputs.d]
glob = "data/*.txt"
[[steps]]
name = "s"
each = "d"
shell = "echo printed; cp {{{{ input }}}} {{{{ out }}}}; exit {code}"
out = "{{{{ key }}}}.txt"
"#
        ));
    };
    let tmp = t.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let logs = || crate::support::files_under(&tmp);
    pipeline(0);
    t.command(["pipeline.toml", "--no-state"])
        .env("TMPDIR", &tmp)
        .output_run()
        .expect_code(0);
    assert_eq!(logs(), Vec::<String>::new());
    pipeline(3);
    t.command(["pipeline.toml", "--no-state"])
        .env("TMPDIR", &tmp)
        .output_run()
        .expect_code(1);
    assert!(
        logs().iter().any(|f| f.ends_with("/s/a.out")),
        "{:?}",
        logs()
    );
}

/// A database error keeps what SQLite said as its cause (issue 13): a state
/// written by a newer runner is refused, saying so, with exit code 4, and
/// the SQLite error under it (flattened into a string, it had no source).
#[test]
fn a_newer_state_is_refused_with_its_cause() {
    let t = chain();
    t.run(["pipeline.toml"]).expect_code(0);
    t.state_db()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let run = t.run(["pipeline.toml"]);
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("error: cannot use the state database `")
            && run.stderr.contains(
                "\n  caused by: the state was written by a newer runner (schema 99, this one knows"
            )
            && run
                .stderr
                .contains("\n  caused by: Error code 20: datatype mismatch"),
        "{}",
        run.stderr
    );
}

/// Messages name a task's files relative to root, as they were made (issue
/// 13): an output folder that cannot be made because a file is in the way.
#[test]
fn a_folder_that_cannot_be_made_is_named_relative_to_root() {
    let t = chain();
    t.write("build/clean", "a file where a folder goes\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("cannot create folder `build/clean`: File exists"),
        "{}",
        run.stderr
    );
    let absolute = t.root().join("build").display().to_string();
    assert!(!run.stderr.contains(&absolute), "{}", run.stderr);
}
