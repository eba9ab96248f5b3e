//! Failures on SLURM: a failing task fails alone (with its log and exit
//! code) and a re-run submits only it; an element killed by its time limit
//! fails the tasks it did not finish, with SLURM's reason, and so does an
//! element whose node goes down (not requeued); options SLURM refuses stop
//! the run before anything is submitted; an array that cannot be written
//! fails its tasks with why.

use std::process::{Command, Stdio};

use crate::support::Test;
use crate::{alive, cluster, cluster_alone, inputs, sql, wait_for};

#[test]
fn a_failing_task_among_100_fails_alone_and_a_rerun_submits_only_it() {
    let _node = cluster();
    let t = Test::new();
    let names: Vec<String> = (0..100).map(|i| format!("f{i:03}")).collect();
    inputs(&t, names.iter().map(String::as_str));
    t.write("data/f042.txt", "broken\n");
    t.pipeline(
        r#"
[pipeline]
name = "hundred"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 10
max_array = 4

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "copy"
each = "d"
shell = "if grep -q broken {{ input }}; then echo '{{ key }} is broken' >&2; exit 3; fi; cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"

[[steps]]
name = "upper"
each = "copy"
shell = "tr a-z A-Z < {{ input }} > {{ out }}"
out = "upper/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("FAILED: copy f042\n"), "{}", run.stderr);
    assert!(
        run.stderr.contains("  status:  exit code 3\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(".runner/hundred/logs/1/copy/f042.err\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("    | f042 is broken\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("FAILED: 198 ok, 1 failed, 1 skipped, 0 up to date"),
        "{}",
        run.stderr
    );
    assert_eq!(t.read("out/upper/f007.txt"), "F007\n");
    // One array for the copies (10 elements), then the dependents in waves.
    assert_eq!(
        sql(
            &t,
            "hundred",
            "SELECT elements, tasks FROM slurm_arrays ORDER BY submitted_at, dir LIMIT 1"
        ),
        "10|100"
    );
    assert_eq!(
        sql(
            &t,
            "hundred",
            "SELECT status, exit_code FROM tasks WHERE key = 'f042' ORDER BY step"
        ),
        "failed|3\nskipped|"
    );
    let history = t.run(["history", "pipeline.toml", "--failed"]);
    assert!(history.stdout.contains("copy f042"), "{}", history.stdout);

    // Fixed: the re-run submits the failed task and its dependent only.
    t.write("data/f042.txt", "f042\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("ok: 2 ok, 0 failed, 0 skipped, 198 up to date"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sql(
            &t,
            "hundred",
            "SELECT count(*), sum(tasks) FROM slurm_arrays WHERE run_id = 2"
        ),
        "2|2"
    );
    assert_eq!(t.read("out/upper/f042.txt"), "F042\n");
    let run = t.run(["pipeline.toml", "--executor", "local"]);
    assert!(
        run.stderr
            .contains("ok: 0 ok, 0 failed, 0 skipped, 200 up to date"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_element_killed_by_its_time_limit_fails_the_tasks_it_did_not_finish() {
    let _node = cluster();
    let t = Test::new();
    inputs(&t, ["a", "b", "c", "d"]);
    // Elements [a, b, c] and [d]; b outlives the one-minute limit, so the
    // first element is killed while b runs (c, were it started in that
    // instant, would not finish either).
    t.pipeline(
        r#"
[pipeline]
name = "limit"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 3
time = "1m"

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "work"
each = "d"
shell = "case {{ key }} in b|c) sleep 600;; esac && cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    for key in ["b", "c"] {
        assert!(
            run.stderr.contains(&format!("FAILED: work {key}\n")),
            "{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("ended TIMEOUT (TimeLimit"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(".runner/limit/slurm/1/0/0.log\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("DUE TO TIME LIMIT"), "{}", run.stderr);
    assert!(
        run.stderr.contains("FAILED: 2 ok, 2 failed"),
        "{}",
        run.stderr
    );
    assert!(t.exists("out/copy/a.txt") && t.exists("out/copy/d.txt"));
    assert!(!t.exists("out/copy/b.txt") && !t.exists("out/copy/c.txt"));
    let reason = sql(&t, "limit", "SELECT reason FROM tasks WHERE key = 'c'");
    assert!(reason.contains("TIMEOUT"), "{reason}");
    let jobs = sql(&t, "limit", "SELECT job_id FROM slurm_arrays");
    assert_eq!(alive(&[jobs]), Vec::<String>::new());
}

/// The state of the local cluster's one node (`idle`, `mixed`, `down*`...).
fn node_state() -> String {
    let out = Command::new("sinfo")
        .args(["-h", "-N", "-o", "%T"])
        .output()
        .expect("sinfo");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Brings the node back (the local cluster's `ReturnToService=2` does it by
/// itself as soon as slurmd answers; `resume` in case it did not), however
/// the test ends, and waits until it takes jobs again.
struct NodeBack;

impl Drop for NodeBack {
    fn drop(&mut self) {
        if node_state().contains("down") || node_state().contains("drain") {
            let _ = Command::new("scontrol")
                .args(["update", "nodename=localhost", "state=resume"])
                .stderr(Stdio::null())
                .status();
        }
        wait_for("the node to take jobs again", || {
            let state = node_state();
            !state.contains("down") && !state.contains("drain")
        });
    }
}

#[test]
fn an_element_whose_node_goes_down_fails_its_unfinished_tasks_and_is_not_requeued() {
    let _node = cluster_alone();
    // It takes the node down: only on the throwaway single-node cluster of
    // .ci/slurm (node `localhost`), never on a real one SLURM_CONF names.
    let nodes = Command::new("sinfo")
        .args(["-h", "-o", "%N"])
        .output()
        .expect("sinfo");
    if String::from_utf8_lossy(&nodes.stdout).trim() != "localhost" {
        eprintln!("not run: this test takes the node down, and this is not the local cluster");
        return;
    }
    let t = Test::new();
    inputs(&t, ["a", "b", "c", "d"]);
    // Elements [a, b] and [c, d], one at a time; with $HOLD set, b says it
    // started (in a file outside root) and sleeps until its node goes down.
    t.pipeline(
        r#"
[pipeline]
name = "nodefail"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 2
max_array = 1

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "work"
each = "d"
shell = "if [ {{ key }} = b ] && [ -n \"$HOLD\" ]; then touch \"$HOLD\"; sleep 600; fi; cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
"#,
    );
    let outside = tempfile::tempdir().unwrap();
    let hold = outside.path().join("b-started");
    let child = t
        .command(["pipeline.toml"])
        .env("HOLD", &hold)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("b to start", || hold.exists());
    let back = NodeBack;
    let down = Command::new("scontrol")
        .args([
            "update",
            "nodename=localhost",
            "state=down",
            "reason=runner test: node failure",
        ])
        .status()
        .unwrap();
    assert!(down.success());
    let run = child.wait_with_output().unwrap();
    drop(back);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAILED: work b\n"), "{stderr}");
    assert!(stderr.contains("ended NODE_FAIL (NodeDown"), "{stderr}");
    assert!(stderr.contains("FAILED: 3 ok, 1 failed"), "{stderr}");
    // a finished before the node went down; the second element ran once the
    // node was back; b's element was not requeued (it would run b again).
    assert!(t.exists("out/copy/a.txt") && t.exists("out/copy/c.txt") && t.exists("out/copy/d.txt"));
    assert!(!t.exists("out/copy/b.txt"));
    let reason = sql(&t, "nodefail", "SELECT reason FROM tasks WHERE key = 'b'");
    assert!(reason.contains("NODE_FAIL"), "{reason}");
    let jobs = sql(
        &t,
        "nodefail",
        "SELECT group_concat(job_id) FROM slurm_arrays",
    );
    assert_eq!(alive(&[jobs]), Vec::<String>::new());

    // The next run submits b alone.
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("ok: 1 ok, 0 failed, 0 skipped, 3 up to date"),
        "{}",
        run.stderr
    );
    assert_eq!(t.read("out/copy/b.txt"), "b\n");
}

#[test]
fn options_slurm_refuses_stop_the_run_before_anything_is_submitted() {
    let _node = cluster();
    let t = Test::new();
    inputs(&t, ["a"]);
    t.pipeline(
        r#"
[pipeline]
name = "refused"
out = "out"

[executor]
kind = "slurm"
partition = "no-such-partition"

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "copy"
each = "d"
shell = "cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("error: SLURM refuses the options of step `copy`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--partition=no-such-partition"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("invalid partition"), "{}", run.stderr);
    assert!(!t.exists(".runner/refused/slurm"));
    assert!(!t.exists("out"));
}

/// The run's folder of arrays cannot be made (a file stands where it goes):
/// the tasks fail with why, the system's error kept as the cause (issue 13
/// item 3), nothing is submitted, and the next run, once the file is gone,
/// runs them.
#[test]
fn an_array_folder_that_cannot_be_made_fails_its_tasks_with_why() {
    let _node = cluster();
    let t = Test::new();
    inputs(&t, ["a", "b"]);
    t.pipeline(
        r#"
[pipeline]
name = "nofolder"
out = "out"

[executor]
kind = "slurm"

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "copy"
each = "d"
shell = "cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
"#,
    );
    t.write(".runner/nofolder/slurm", "in the way\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("0 ok, 2 failed"), "{}", run.stderr);
    let reason = sql(&t, "nofolder", "SELECT DISTINCT reason FROM tasks");
    // Named as the user knows it: relative to root.
    assert_eq!(
        reason,
        "cannot make a folder under `.runner/nofolder/slurm`: File exists (os error 17)"
    );
    assert_eq!(
        sql(&t, "nofolder", "SELECT count(*) FROM slurm_arrays"),
        "0"
    );
    std::fs::remove_file(t.path(".runner/nofolder/slurm")).unwrap();
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(again.stderr.contains("2 ok, 0 failed"), "{}", again.stderr);
    assert_eq!(t.read("out/copy/b.txt"), "b\n");
}
