//! `python` steps on SLURM: each element runs its call tasks in persistent
//! workers, at most one interpreter per CPU of the element, and the files a
//! worker loaded (the modules under root it imported) are part of the
//! task's fingerprint exactly as in a local run.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::Test;
use crate::{cluster, inputs, sql};

/// Twelve call tasks, six to an element of two CPUs. Each notes the pid of
/// the interpreter that ran it and the element it ran in; `note` imports
/// `helper.py`, a neighbour module under root.
fn pid_pipeline(t: &Test) {
    let names: Vec<String> = (1..=12).map(|i| format!("f{i:02}")).collect();
    inputs(t, names.iter().map(String::as_str));
    t.write("helper.py", "SUFFIX = 'one'\n");
    t.write(
        "pid.py",
        r#"import os
import time

import helper


def note(input, out):
    time.sleep(0.2)
    with open(out, "w") as f:
        f.write(f"{os.getpid()} {os.environ['SLURM_ARRAY_TASK_ID']} {helper.SUFFIX}\n")
"#,
    );
    t.pipeline(
        r#"
[pipeline]
name = "py"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 6
cpus_per_task = 2

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "pid"
each = "d"
python = "pid.py:note"
out = "pid/{{ key }}.txt"
"#,
    );
}

/// Per element, the distinct interpreters that ran its tasks.
fn interpreters(t: &Test) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_element: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in 1..=12 {
        let line = t.read(format!("out/pid/f{i:02}.txt"));
        let mut words = line.split_whitespace();
        let pid = words.next().unwrap().to_owned();
        let element = words.next().unwrap().to_owned();
        by_element.entry(element).or_default().insert(pid);
    }
    by_element
}

#[test]
fn python_steps_run_in_workers_inside_elements_one_per_cpu() {
    let _node = cluster();
    let t = Test::new();
    pid_pipeline(&t);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("ok: 12 ok, 0 failed"), "{}", run.stderr);
    let by_element = interpreters(&t);
    assert_eq!(
        by_element.keys().collect::<Vec<_>>(),
        ["0", "1"],
        "{by_element:?}"
    );
    for (element, pids) in &by_element {
        // Six tasks, two CPUs: one or two interpreters, each reused.
        assert!((1..=2).contains(&pids.len()), "element {element}: {pids:?}");
    }
    let log = t.read(".runner/py/slurm/1/0/0.log");
    assert!(log.contains("6 tasks on 2 CPUs"), "{log}");
    // The module the worker imported is recorded as the task's dep (with
    // the interpreter's binary)...
    let deps = sql(&t, "py", "SELECT DISTINCT deps FROM latest");
    assert!(deps.lines().any(|l| l == "helper.py"), "{deps}");
    assert_eq!(
        sql(&t, "py", "SELECT count(DISTINCT deps) FROM latest"),
        "1"
    );
    // ...so here, nothing to do; and an edit of it runs every task again,
    // on SLURM.
    let run = t.run(["pipeline.toml", "--executor", "local"]);
    assert!(run.stderr.contains(" 12 up to date"), "{}", run.stderr);
    t.write("helper.py", "SUFFIX = 'two'\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("ok: 12 ok, 0 failed, 0 skipped, 0 up to date"),
        "{}",
        run.stderr
    );
    assert!(t.read("out/pid/f07.txt").ends_with(" two\n"));
    assert_eq!(
        sql(
            &t,
            "py",
            "SELECT count(*) FROM slurm_arrays WHERE run_id = 3"
        ),
        "1"
    );
    let run = t.run(["pipeline.toml", "--executor", "local"]);
    assert!(run.stderr.contains(" 12 up to date"), "{}", run.stderr);
}
