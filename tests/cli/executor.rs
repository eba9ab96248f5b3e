//! The SLURM executor's checks that need no cluster (issue 15): without
//! SLURM's programs a SLURM run stops before anything runs, with a message
//! saying why; `--executor local` runs such a pipeline here; up-to-date
//! tasks need no SLURM at all. (Runs through a real SLURM are in
//! tests/slurm/.)

use crate::support::*;

fn slurm_pipeline(t: &Test) {
    t.write("data/a.txt", "a\n").pipeline(
        r#"
[pipeline]
name = "cluster"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 10

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "copy"
each = "d"
shell = "cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
"#,
    );
}

/// A PATH with `sh` and `cp` (what the task needs) and no SLURM program.
fn path_without_slurm(t: &Test) -> String {
    let bin = t.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["sh", "cp"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| std::path::Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    bin.display().to_string()
}

#[test]
fn without_sbatch_a_slurm_run_stops_before_anything_runs() {
    let t = Test::new();
    slurm_pipeline(&t);
    let path = path_without_slurm(&t);
    let run = t.command(["pipeline.toml"]).env("PATH", &path).output_run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("error: the SLURM executor needs `sbatch`, which is not on PATH"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--executor local"), "{}", run.stderr);
    assert!(!t.exists("out"));
    assert!(!t.exists(".runner/cluster/slurm"));
    // No run was recorded.
    let history = t.run(["history", "pipeline.toml"]);
    assert!(!history.stdout.contains("run 1"), "{}", history.stdout);

    // Here instead: it runs, and then it is up to date for SLURM too
    // (nothing to submit, so SLURM is not needed).
    let run = t
        .command(["pipeline.toml", "--executor", "local"])
        .env("PATH", &path)
        .output_run();
    run.expect_code(0);
    assert_eq!(t.read("out/copy/a.txt"), "a\n");
    let run = t.command(["pipeline.toml"]).env("PATH", &path).output_run();
    run.expect_code(0);
    assert!(run.stderr.contains("1 up to date"), "{}", run.stderr);
}

#[test]
fn no_state_cannot_run_on_slurm() {
    let t = Test::new();
    slurm_pipeline(&t);
    let run = t.run(["pipeline.toml", "--no-state"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`--no-state` cannot run on SLURM"),
        "{}",
        run.stderr
    );
    t.run(["pipeline.toml", "--no-state", "--executor", "local"])
        .expect_code(0);
}

#[test]
fn the_executor_flag_takes_local_or_slurm() {
    let t = Test::new();
    slurm_pipeline(&t);
    let run = t.run(["pipeline.toml", "--executor", "pbs"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("possible values: local, slurm"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_accepts_the_executor_section_and_step_overrides() {
    let t = Test::new();
    t.write("data/a.txt", "a\n").pipeline(
        r#"
[pipeline]
out = "out"

[executor]
kind = "slurm"
partition = "short"
time = "1h 30m"
mem = "4G"
cpus_per_task = 4
account = "lab"
qos = "normal"
extra = ["--constraint=avx2", "-N1"]
max_array = 100
tasks_per_element = 50

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "copy"
each = "d"
shell = "cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
time = "1-00:00:00"
mem = "64G"

[[steps]]
name = "summary"
all = "copy"
shell = "cat {{ inputs }} > {{ out }}"
out = "summary.txt"
executor = "local"
"#,
    );
    t.run(["check", "pipeline.toml"]).expect_code(0);
}

#[test]
fn a_worker_that_cannot_read_its_array_names_the_file_and_the_cause() {
    // Issue 13 item 3: the system's (or the JSON reader's) error is kept
    // as the source and printed on its own `caused by:` line.
    let t = Test::new();
    let run = t.run(["worker", "arr", "--element", "0"]);
    run.expect_code(4);
    assert!(
        run.stderr
            .starts_with("error: cannot read the array's manifest `arr/array.json`\n  caused by: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("No such file or directory"),
        "{}",
        run.stderr
    );
    t.write("arr/array.json", "{not json");
    let run = t.run(["worker", "arr", "--element", "0"]);
    run.expect_code(4);
    assert!(
        run.stderr.starts_with(
            "error: cannot read the array's manifest `arr/array.json`\n  caused by: key must be a string at line 1 column 2"
        ),
        "{}",
        run.stderr
    );
    // Without an element, nothing is read: a usage error.
    let run = t
        .command(["worker", "arr"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output_run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("error: `runner worker` runs one element of a SLURM array"),
        "{}",
        run.stderr
    );
}
