//! Failures on SLURM: a failing task fails alone (with its log and exit
//! code) and a re-run submits only it; an element killed by its time limit
//! fails the tasks it did not finish, with SLURM's reason; options SLURM
//! refuses stop the run before anything is submitted.

use crate::support::Test;
use crate::{alive, cluster, inputs, sql};

#[test]
fn a_failing_task_among_100_fails_alone_and_a_rerun_submits_only_it() {
    cluster();
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
    cluster();
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

#[test]
fn options_slurm_refuses_stop_the_run_before_anything_is_submitted() {
    cluster();
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
