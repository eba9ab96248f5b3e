//! Stopping a SLURM run: Ctrl-C cancels what was submitted (nothing is
//! left in the queue) and exits 130; a coordinator killed with -9 and
//! started again picks up the results its elements wrote, and watches the
//! elements still running, instead of running those tasks again.

use std::process::{Child, Stdio};

use crate::support::{OutputRun, Test};
use crate::{alive, cluster, inputs, sql, wait_for};

/// Sends a signal to a child process.
fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The job ids the state of pipeline `name` recorded; none while the
/// coordinator has not made its state (or its tables) yet.
fn jobs(t: &Test, name: &str) -> Vec<String> {
    t.query_of(name, "SELECT job_id FROM slurm_arrays")
        .unwrap_or_default()
}

#[test]
fn ctrl_c_cancels_the_arrays_and_exits_130() {
    let _node = cluster();
    let t = Test::new();
    inputs(&t, ["a", "b", "c", "d", "e", "f"]);
    t.pipeline(
        r#"
[pipeline]
name = "ctrlc"
out = "out"

[executor]
kind = "slurm"
max_array = 2

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "slow"
each = "d"
shell = "sleep 600; cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
"#,
    );
    let child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first element to start", || {
        t.exists(".runner/ctrlc/slurm/1/0/0.log") && !jobs(&t, "ctrlc").is_empty()
    });
    let job = jobs(&t, "ctrlc");
    assert!(!alive(&job).is_empty());
    signal(&child, "-INT");
    let run = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(130), "{stderr}");
    // What is stopped is what was submitted (6 tasks, running or queued),
    // not "running tasks"; the summary names the interrupted tasks; the
    // state keeps why.
    assert!(
        stderr.contains("interrupted: cancelling 6 submitted tasks (scancel of their arrays)"),
        "{stderr}"
    );
    assert!(stderr.contains("interrupted: slow/"), "{stderr}");
    assert_eq!(alive(&job), Vec::<String>::new(), "left in the queue");
    let reasons = sql(
        &t,
        "ctrlc",
        "SELECT DISTINCT reason FROM tasks WHERE status = 'interrupted'",
    );
    assert!(reasons.contains("interrupted (array element"), "{reasons}");
    // Started elements' tasks were interrupted; the others never ran.
    let statuses = sql(
        &t,
        "ctrlc",
        "SELECT status, count(*) FROM tasks GROUP BY status ORDER BY status",
    );
    assert!(statuses.contains("interrupted|"), "{statuses}");
    assert!(statuses.contains("not_run|"), "{statuses}");
}

/// Eight tasks, two to an element; f5 to f8 take a few seconds each. Every
/// task notes in `ran.log` that it ran.
fn restart_pipeline(t: &Test, name: &str) {
    inputs(t, ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"]);
    t.pipeline(&format!(
        r#"
[pipeline]
name = "{name}"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 2

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "copy"
each = "d"
shell = "echo {{{{ key }}}} >> ran.log; case {{{{ key }}}} in f[5-8]) sleep 4;; esac; cp {{{{ input }}}} {{{{ out }}}}"
out = "copy/{{{{ key }}}}.txt"

[[steps]]
name = "upper"
each = "copy"
shell = "tr a-z A-Z < {{{{ input }}}} > {{{{ out }}}}"
out = "upper/{{{{ key }}}}.txt"
"#
    ));
}

/// Starts the coordinator, kills it with -9 once the first two elements
/// are done, and returns the ids of the jobs it submitted.
fn start_and_kill(t: &Test, name: &str) -> Vec<String> {
    let mut child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!(".runner/{name}/slurm/1/0");
    wait_for("two elements done", || {
        t.exists(format!("{base}/0/done")) && t.exists(format!("{base}/1/done"))
    });
    signal(&child, "-KILL");
    child.wait().unwrap();
    jobs(t, name)
}

/// From the summary `ok: A ok, 0 failed, 0 skipped, B up to date`: A + B
/// (the killed run recorded some of the results, depending on when it died).
fn done(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("ok: "))
        .unwrap_or_else(|| panic!("no success summary in\n{stderr}"));
    assert!(line.contains(" 0 failed, 0 skipped,"), "{line}");
    let number = |before: &str| -> usize {
        let end = line.find(before).unwrap();
        let start = line[..end].rfind(' ').unwrap() + 1;
        line[start..end].parse().unwrap()
    };
    number(" ok,") + number(" up to date")
}

/// Every task ran once, all in all.
fn each_ran_once(t: &Test) {
    let mut ran: Vec<String> = t.read("ran.log").lines().map(str::to_owned).collect();
    ran.sort();
    assert_eq!(ran, ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"]);
}

#[test]
fn a_coordinator_killed_and_restarted_watches_the_running_elements() {
    let _node = cluster();
    let t = Test::new();
    restart_pipeline(&t, "restart");
    let first = start_and_kill(&t, "restart");
    assert!(
        !alive(&first).is_empty(),
        "the last elements should still run"
    );
    let run = t.command(["pipeline.toml"]).output_run();
    run.expect_code(0);
    assert_eq!(done(&run.stderr), 16, "{}", run.stderr);
    each_ran_once(&t);
    // The copies were picked up, none submitted again; only the `upper`
    // tasks the killed run never submitted went out.
    let copies = sql(
        &t,
        "restart",
        "SELECT count(*) FROM slurm_arrays WHERE run_id = 2 AND tasks > 0",
    );
    assert_ne!(copies, "0");
    let lists = crate::support::files_under(&t.path(".runner/restart/slurm/2"));
    for list in lists.iter().filter(|f| f.ends_with("tasks.json")) {
        let text = t.read(format!(".runner/restart/slurm/2/{list}"));
        assert!(!text.contains("\"step\":\"copy\""), "{text}");
    }
    assert_eq!(t.read("out/upper/f8.txt"), "F8\n");
    let run = t.run(["pipeline.toml", "--executor", "local"]);
    assert!(run.stderr.contains(" 16 up to date"), "{}", run.stderr);
}

#[test]
fn a_coordinator_restarted_after_its_elements_ended_picks_up_their_results() {
    let _node = cluster();
    let t = Test::new();
    restart_pipeline(&t, "afterwards");
    let first = start_and_kill(&t, "afterwards");
    wait_for("the killed run's elements to end", || {
        alive(&first).is_empty()
    });
    let run = t.command(["pipeline.toml"]).output_run();
    run.expect_code(0);
    assert_eq!(done(&run.stderr), 16, "{}", run.stderr);
    each_ran_once(&t);
    assert_eq!(
        sql(
            &t,
            "afterwards",
            "SELECT count(*) FROM slurm_arrays WHERE finished = 0"
        ),
        "0"
    );
}
