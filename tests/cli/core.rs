//! Core runner: file format, task graph, parallel execution (issue 2).

use std::os::unix::ffi::OsStrExt;

use crate::support::*;

const COUNT: &str = r#"
[pipeline]
out = "build"

[inputs.logs]
glob = ["data/*.csv"]

[[steps]]
name = "count"
each = "logs"
run = ["wc", "-l", "{{ input }}"]
stdout = true
out = "count/{{ key }}.txt"
"#;

#[test]
fn runs_each_step_per_file() {
    let t = Test::new();
    t.write("data/a.csv", "1\n2\n")
        .write("data/b.csv", "1\n2\n3\n")
        .pipeline(COUNT);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/count/a.txt"), "2 data/a.csv\n");
    assert_eq!(t.read("build/count/b.txt"), "3 data/b.csv\n");
}

#[test]
fn paths_resolve_from_the_pipeline_file_not_the_working_directory() {
    let t = Test::new();
    t.write("proj/data/a.csv", "1\n")
        .write(
            "proj/pipelines/p.toml",
            COUNT.replace("out = \"build\"", "root = \"..\"\nout = \"build\""),
        )
        .write("elsewhere/.keep", "");
    t.command(["../proj/pipelines/p.toml"])
        .current_dir(t.path("elsewhere"))
        .output_run()
        .expect_code(0);
    assert_eq!(t.read("proj/build/count/a.txt"), "1 data/a.csv\n");
    assert!(!t.exists("elsewhere/build"));
}

#[test]
fn keys_are_paths_under_the_glob_base_without_extension() {
    let t = Test::new();
    t.write("data/2024/x.csv", "1\n")
        .write("data/2025/deep/y.csv", "1\n")
        .pipeline(&COUNT.replace("data/*.csv", "data/**/*.csv"));
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(t.exists("build/count/2024/x.txt"));
    assert!(t.exists("build/count/2025/deep/y.txt"));
}

#[test]
fn tasks_run_in_parallel() {
    // Each task announces itself, then waits (boundedly) for the other one:
    // both succeed only if they run at the same time.
    let t = Test::new();
    t.write("data/a.csv", "")
        .write("data/b.csv", "")
        .write(
            "meet.sh",
            r#"me=$1; other=$2
touch "marks/$me"
for i in $(seq 1 200); do [ -e "marks/$other" ] && exit 0; sleep 0.05; done
echo "never saw $other" >&2; exit 1
"#,
        )
        .write("marks/.keep", "")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "meet"
each = "logs"
shell = "sh meet.sh {{ key }} {% if key == 'a' %}b{% else %}a{% endif %}"
"#,
        );
    t.run(["pipeline.toml", "-j2"]).expect_code(0);
}

#[test]
fn a_step_with_more_threads_takes_more_slots() {
    // With jobs = 2 and threads = 2, two tasks never overlap: each checks
    // that the other's marker is absent while it holds its own.
    let t = Test::new();
    for k in ["a", "b", "c"] {
        t.write(format!("data/{k}.csv"), "");
    }
    t.write(
        "solo.sh",
        r#"touch "marks/$1"
sleep 0.3
n=$(ls marks | wc -l)
rm "marks/$1"
[ "$n" = 1 ] || { echo "overlap: $n tasks at once" >&2; exit 1; }
"#,
    )
    .write("marks/.keep", "")
    .pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "solo"
each = "logs"
threads = 2
shell = "rm -f marks/.keep; sh solo.sh {{ key }}"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
}

#[test]
fn no_stage_barrier_between_steps() {
    // `slow` of b waits until the downstream `after` task of a has written
    // its output. With a barrier between `slow` and `after`, b would give up.
    let t = Test::new();
    t.write("data/a.csv", "").write("data/b.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "slow"
each = "logs"
shell = """
if [ {{ key }} = b ]; then
  for i in $(seq 1 200); do [ -e build/after/a.txt ] && break; sleep 0.05; done
  [ -e build/after/a.txt ] || { echo "a's downstream never ran" >&2; exit 1; }
fi
echo {{ key }} > {{ out }}
"""
out = "slow/{{ key }}.txt"
[[steps]]
name = "after"
each = "slow"
shell = "cp {{ input }} {{ out }}"
out = "after/{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/after/b.txt"), "b\n");
}

fn batch_pipeline(batching: &str) -> String {
    format!(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
{batching}
[[steps]]
name = "fit"
batch = "logs"
run = ["echo", "{{{{ batch.index }}}}/{{{{ batch.count }}}}", "{{{{ inputs }}}}"]
stdout = true
out = "fit/{{{{ key }}}}.txt"
"#
    )
}

#[test]
fn batches_split_round_robin() {
    let t = Test::new();
    for i in 0..5 {
        t.write(format!("data/f{i}.csv"), "");
    }
    t.pipeline(&batch_pipeline("batches = 2"));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(
        t.read("build/fit/batch-0.txt"),
        "0/2 data/f0.csv data/f2.csv data/f4.csv\n"
    );
    assert_eq!(
        t.read("build/fit/batch-1.txt"),
        "1/2 data/f1.csv data/f3.csv\n"
    );
}

#[test]
fn empty_batches_are_skipped() {
    let t = Test::new();
    for i in 0..2 {
        t.write(format!("data/f{i}.csv"), "");
    }
    t.pipeline(&batch_pipeline("batches = 8"));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(
        files_under(&t.path("build/fit")),
        vec!["batch-0.txt", "batch-1.txt"]
    );
    assert_eq!(t.read("build/fit/batch-1.txt"), "1/2 data/f1.csv\n");
}

#[test]
fn batch_size_makes_consecutive_chunks() {
    let t = Test::new();
    for i in 0..5 {
        t.write(format!("data/f{i}.csv"), "");
    }
    t.pipeline(&batch_pipeline("batch_size = 2"));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(
        t.read("build/fit/batch-0.txt"),
        "0/3 data/f0.csv data/f1.csv\n"
    );
    assert_eq!(t.read("build/fit/batch-2.txt"), "2/3 data/f4.csv\n");
}

#[test]
fn all_waits_for_every_upstream_task_and_gets_every_output() {
    let t = Test::new();
    for k in ["c", "a", "b"] {
        t.write(format!("data/{k}.csv"), format!("{k}\n"));
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.txt"
[[steps]]
name = "join"
all = "copy"
run = ["cat", "{{ inputs }}"]
stdout = true
out = "joined.txt"
"#,
    );
    t.run(["pipeline.toml", "-j2"]).expect_code(0);
    assert_eq!(t.read("build/joined.txt"), "a\nb\nc\n");
}

const FAILING: &str = r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "check"
each = "logs"
shell = """
if grep -q bad {{ input }}; then echo "line one" >&2; echo "{{ key }} is bad" >&2; exit 3; fi
cp {{ input }} {{ out }}
"""
out = "check/{{ key }}.csv"
[[steps]]
name = "next"
each = "check"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "next/{{ key }}.csv"
[[steps]]
name = "total"
all = "next"
run = ["cat", "{{ inputs }}"]
stdout = true
out = "total.csv"
"#;

#[test]
fn a_failure_skips_its_dependents_and_nothing_else() {
    let t = Test::new();
    t.write("data/good1.csv", "ok\n")
        .write("data/bad.csv", "bad\n")
        .write("data/good2.csv", "ok\n")
        .pipeline(FAILING);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(t.exists("build/next/good1.csv"));
    assert!(t.exists("build/next/good2.csv"));
    assert!(!t.exists("build/check/bad.csv"));
    assert!(!t.exists("build/next/bad.csv"));
    assert!(!t.exists("build/total.csv"));
    let err = &run.stderr;
    assert!(err.contains("FAILED: check bad"), "{err}");
    assert!(err.contains("status:  exit code 3"), "{err}");
    assert!(err.contains("| bad is bad"), "{err}");
    assert!(err.contains("| line one"), "{err}");
    // The summary counts per step.
    let line = err.lines().find(|l| l.starts_with("check ")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[..4],
        ["check", "2", "1", "0"]
    );
    let line = err.lines().find(|l| l.starts_with("total ")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[..4],
        ["total", "0", "0", "1"]
    );
}

#[test]
fn the_failure_block_has_a_command_to_paste() {
    let t = Test::new();
    t.write("data/bad.csv", "bad\n").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "s"
each = "logs"
run = ["grep", "-q", "good", "{{ input }}"]
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let line = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("  command: "))
        .expect("command line");
    // Pasted into a shell, it runs the same command (and fails the same way).
    let status = std::process::Command::new("sh")
        .args(["-c", line])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "{line}");
}

#[test]
fn fail_fast_stops_starting_tasks() {
    let t = Test::new();
    t.write("data/a.csv", "bad\n");
    for i in 0..20 {
        t.write(format!("data/z{i:02}.csv"), "ok\n");
    }
    t.pipeline(FAILING);
    let run = t.run(["pipeline.toml", "--fail-fast", "-j1"]);
    run.expect_code(1);
    assert!(!t.exists("build/check/z19.csv"), "{}", run.stderr);
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "hang"
each = "logs"
timeout = "1s"
shell = "sleep 300 & echo $! > grandchild.pid; sleep 300"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("timed out after 1s"), "{}", run.stderr);
    let pid: i32 = t.read("grandchild.pid").trim().parse().unwrap();
    // The grandchild was in the task's process group and got killed with it.
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "grandchild {pid} survived the timeout");
}

#[test]
fn retries_rerun_a_failed_task() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "flaky"
each = "logs"
retries = 2
shell = "echo x >> attempts; [ $(wc -l < attempts) -ge 3 ] && echo done > {{ out }}"
out = "flaky/{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("attempts").lines().count(), 3);
    assert_eq!(t.read("build/flaky/a.txt"), "done\n");
}

#[test]
fn retries_are_bounded() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "broken"
each = "logs"
retries = 1
shell = "echo x >> attempts; exit 1"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert_eq!(t.read("attempts").lines().count(), 2);
    assert!(run.stderr.contains("after 2 attempts"), "{}", run.stderr);
}

#[test]
fn a_failed_task_leaves_nothing_under_the_final_name() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "half"
each = "logs"
shell = "echo partial > {{ out }}; exit 1"
out = "half/{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(1);
    assert_eq!(files_under(&t.path("build")), Vec::<String>::new());
}

#[test]
fn the_command_gets_a_temporary_path_with_the_same_extension() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "s"
each = "logs"
shell = "echo {{ out }} > {{ out }}"
out = "deep/er/{{ key }}.svg"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    let written = t.read("build/deep/er/a.svg");
    assert!(written.starts_with("build/deep/er/.a.tmp-"), "{written}");
    assert!(written.trim_end().ends_with(".svg"), "{written}");
}

#[test]
fn a_killed_runs_temporary_files_are_removed() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "s"
each = "logs"
shell = "if [ -e go ]; then echo ok > {{ out }}; else echo half > {{ out }}; touch started; exec sleep 300; fi"
out = "{{ key }}.txt"
"#,
    );
    // Killed in the middle of writing: its temporary file is half written,
    // its command still runs.
    let mut first = t
        .command(["pipeline.toml"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while !t.exists("started") {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(files_under(&t.path("build")).len(), 1);
    t.write("go", "");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(files_under(&t.path("build")), vec!["a.txt"]);
    assert_eq!(t.read("build/a.txt"), "ok\n");
}

#[test]
fn a_command_that_writes_nothing_fails() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "lazy"
each = "logs"
run = ["true"]
out = "{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("did not write `build/a.txt`"),
        "{}",
        run.stderr
    );
}

const HOSTILE: &[&str] = &[
    "x;touch PWNED.csv",
    "$(touch PWNED).csv",
    "it's.csv",
    "a b.csv",
    "-n.csv",
    "new\nline.csv",
    "`touch PWNED`.csv",
];

#[test]
fn hostile_file_names_are_one_argument_in_shell() {
    let t = Test::new();
    for name in HOSTILE {
        t.write(format!("data/{name}"), "1\n2\n");
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*"]
[[steps]]
name = "sh"
each = "logs"
shell = "wc -l < {{ input }} > {{ out }}; printf '%s' {{ input }} > {{ out }}.name"
out = "sh/{{ key }}.txt"
[[steps]]
name = "argv"
each = "logs"
run = ["cat", "{{ input }}"]
stdout = true
out = "argv/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(!t.exists("PWNED") && !t.exists("PWNED.csv") && !t.exists("data/PWNED.csv"));
    for name in HOSTILE {
        let key = name.strip_suffix(".csv").unwrap();
        assert_eq!(
            t.read(format!("build/argv/{key}.txt")),
            "1\n2\n",
            "{name:?}"
        );
    }
    // `-n.csv` at the top of the glob base still reads as a path.
    assert_eq!(t.read("build/argv/-n.txt"), "1\n2\n");
}

#[test]
fn hostile_names_never_start_with_a_dash() {
    let t = Test::new();
    t.write("-n.csv", "hello\n").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.top]
glob = ["*.csv"]
[[steps]]
name = "echo"
each = "top"
run = ["echo", "{{ input }}"]
stdout = true
out = "{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/-n.txt"), "./-n.csv\n");
}

#[test]
fn non_utf8_names_are_carried_whole_or_fail_their_own_task() {
    let t = Test::new();
    let raw = std::ffi::OsStr::from_bytes(b"data/caf\xe9.csv");
    std::fs::create_dir_all(t.path("data")).unwrap();
    std::fs::write(t.path(raw), "1\n").unwrap();
    t.write("data/plain.csv", "2\n").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "argv"
each = "logs"
run = ["cat", "{{ input }}"]
stdout = true
out = "argv/{{ key }}.txt"
[[steps]]
name = "shell"
each = "logs"
shell = "cat {{ input }} > {{ out }}"
out = "shell/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    // `run` with a whole `{{ input }}` passes the bytes unchanged.
    assert_eq!(t.read("build/argv/caf\\xe9.txt"), "1\n");
    assert_eq!(t.read("build/shell/plain.txt"), "2\n");
    assert!(
        run.stderr.contains("FAILED: shell caf\\xe9") && run.stderr.contains("not valid UTF-8"),
        "{}",
        run.stderr
    );
}

#[test]
fn inputs_expand_to_one_argument_per_file_in_run() {
    let t = Test::new();
    t.write("data/a b.csv", "")
        .write("data/c.csv", "")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "args"
all = "logs"
run = ["sh", "-c", "for a in \"$@\"; do echo \"[$a]\"; done", "sh", "{{ inputs }}"]
stdout = true
out = "args.txt"
"#,
        );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/args.txt"), "[data/a b.csv]\n[data/c.csv]\n");
}

#[test]
fn pipeline_and_step_env_reach_the_task() {
    let t = Test::new();
    t.write("data/a.csv", "")
        .write("bin/greet", "#!/bin/sh\necho \"$GREETING $WHO\"\n")
        .pipeline(
            r#"
[pipeline]
out = "build"
env = { PATH = "bin:/usr/bin:/bin", GREETING = "hello", WHO = "pipeline" }
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "greet"
each = "logs"
run = ["greet"]
env = { WHO = "step" }
stdout = true
out = "{{ key }}.txt"
"#,
        );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(t.path("bin/greet"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "hello step\n");
}

#[test]
fn only_runs_a_step_and_what_it_needs() {
    let t = Test::new();
    t.write("data/a.csv", "ok\n").pipeline(FAILING);
    t.run(["pipeline.toml", "--only", "next"]).expect_code(0);
    assert!(t.exists("build/next/a.csv"));
    assert!(!t.exists("build/total.csv"));
    let run = t.run(["pipeline.toml", "--only", "nxt"]);
    run.expect_code(2);
    assert!(run.stderr.contains("did you mean `next`"), "{}", run.stderr);
}

#[test]
fn dry_run_prints_commands_and_runs_nothing() {
    let t = Test::new();
    t.write("data/a b.csv", "1\n").pipeline(COUNT);
    let run = t.run(["pipeline.toml", "-n"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("wc -l 'data/a b.csv' > build/count/'a b.txt'")
            || run
                .stdout
                .contains("wc -l 'data/a b.csv' > 'build/count/a b.txt'"),
        "{}",
        run.stdout
    );
    assert!(!t.exists("build"));
}

#[test]
fn check_prints_the_plan() {
    let t = Test::new();
    for i in 0..5 {
        t.write(format!("data/f{i}.csv"), "");
    }
    t.pipeline(&batch_pipeline("batches = 2"));
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("logs  5 files, 2 batches"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fit   batch logs: 2 tasks"),
        "{}",
        run.stdout
    );
    assert!(!t.exists("build"));
}

#[test]
fn graph_prints_dot() {
    let t = Test::new();
    t.write("data/a.csv", "ok\n").pipeline(FAILING);
    let run = t.run(["graph", "pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("digraph \"pipeline\" {"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\"check\" -> \"next\" [label=\"each\"];")
    );
    assert!(
        run.stdout
            .contains("\"next\" -> \"total\" [label=\"all\"];")
    );
}

#[test]
fn without_a_terminal_progress_is_plain_timestamped_lines() {
    let t = Test::new();
    t.write("data/a.csv", "bad\n")
        .write("data/b.csv", "ok\n")
        .pipeline(FAILING);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let first = run.stderr.lines().next().unwrap();
    // 2026-11-26T14:55:16Z runner: pipeline: 5 tasks on N jobs
    assert!(first.contains("Z runner: pipeline: 5 tasks on "), "{first}");
    assert!(
        first.as_bytes()[4] == b'-' && first.as_bytes()[10] == b'T',
        "{first}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.ends_with("FAILED check a: exit code 3")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no escape codes without a terminal"
    );
}

#[test]
fn quiet_prints_nothing_on_success_and_the_failures_otherwise() {
    let t = Test::new();
    t.write("data/b.csv", "ok\n").pipeline(FAILING);
    let run = t.run(["pipeline.toml", "--quiet"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, "");
    t.write("data/a.csv", "bad\n");
    let run = t.run(["pipeline.toml", "-q"]);
    run.expect_code(1);
    assert!(run.stderr.starts_with("FAILED: check a"), "{}", run.stderr);
}

#[test]
fn verbose_output_blocks_never_interleave() {
    let t = Test::new();
    for k in ["a", "b", "c", "d"] {
        t.write(format!("data/{k}.csv"), "");
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "talk"
each = "logs"
shell = "for i in $(seq 1 50); do echo {{ key }}-$i; [ $((i % 10)) = 0 ] && sleep 0.02; done"
"#,
    );
    let run = t.run(["pipeline.toml", "-v", "-j4"]);
    run.expect_code(0);
    // Every task's 50 lines come in one unbroken block.
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains('-') && !l.contains(' '))
        .collect();
    assert_eq!(lines.len(), 200, "{}", run.stderr);
    for block in lines.chunks(50) {
        let key = block[0].split('-').next().unwrap();
        for (i, line) in block.iter().enumerate() {
            assert_eq!(*line, format!("{key}-{}", i + 1));
        }
    }
}

#[test]
fn help_and_version() {
    let t = Test::new();
    let run = t.run(["--help"]);
    run.expect_code(0);
    assert!(run.stdout.contains("check") && run.stdout.contains("graph"));
    t.run(["--version"]).expect_code(0);
    t.run(["run"]).expect_code(2);
}

#[test]
fn quiet_tasks_leave_no_log_files_and_loud_ones_keep_everything() {
    let t = Test::new();
    t.write("data/quiet.csv", "")
        .write("data/loud.csv", "")
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "s"
each = "logs"
shell = """
if [ {{ key }} = loud ]; then
  i=0; while [ $i -lt 30000 ]; do echo "line $i of stderr output"; i=$((i+1)); done >&2
  echo "last words" >&2; exit 2
fi
"""
"#,
        );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("| last words"), "{}", run.stderr);
    // The quiet task wrote no log at all (the run's folder holds the
    // marker that says runner made it).
    assert_eq!(
        files_under(&t.path(".runner/pipeline/logs")),
        vec!["1/.runner-run", "1/s/loud.err"]
    );
    let log_dir = t.path(".runner/pipeline/logs/1/s");
    let log = std::fs::read_to_string(log_dir.join("loud.err")).unwrap();
    assert_eq!(log.lines().count(), 30001);
    assert!(log.starts_with("line 0 of stderr output\n"));
}

#[test]
fn a_background_process_holding_the_output_does_not_hold_the_task() {
    let t = Test::new();
    t.write("data/a.csv", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "s"
each = "logs"
timeout = "20s"
shell = "sleep 1000 & echo $! > bg.pid; echo done > {{ out }}"
out = "{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "done\n");
    let pid = t.read("bg.pid").trim().to_owned();
    let _ = std::process::Command::new("kill").arg(pid).status();
}

#[test]
fn on_a_terminal_progress_is_bars_and_failures_print_above_them() {
    // `script` gives the binary a pseudo-terminal.
    require_tool("script", "apt-get install bsdutils");
    let t = Test::new();
    t.write("data/a.csv", "bad\n")
        .write("data/b.csv", "ok\n")
        .pipeline(FAILING);
    // `script` gives the binary a pseudo-terminal as stdout and stderr.
    let command = format!("{} pipeline.toml", env!("CARGO_BIN_EXE_runner"));
    let out = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(t.root())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    // Bars: per step and a total, drawn with escape codes.
    assert!(screen.contains('\u{1b}'), "{screen}");
    assert!(
        screen.contains("total (") && screen.contains("/5"),
        "{screen}"
    );
    // The failure line is printed whole on its own row above the bars
    // (then padded to the width of the terminal), not cut by a redraw.
    let at = screen
        .find("FAILED check a: exit code 3")
        .expect("a failure line");
    let rest = &screen[at + "FAILED check a: exit code 3".len()..];
    let line_end = rest.find(['\u{1b}', '\n']).unwrap_or(rest.len());
    assert!(rest[..line_end].chars().all(|c| c == ' '), "{screen}");
    assert!(screen.contains("FAILED: check a"), "{screen}");
    assert!(
        screen.contains("FAILED: 2 ok, 1 failed, 2 skipped"),
        "{screen}"
    );
}
