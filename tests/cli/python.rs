//! `python = "FILE.py:FUNCTION"` and `worker = [...]` steps (issue 9), with
//! the real python3 (standard library only) and perl.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Test, files_under};

/// Waits until `ok` holds, polling; fails after `limit` (a bound so that a
/// broken build cannot hang the suite, not a measure of speed).
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` still runs (a zombie waiting for its parent to
/// reap it runs no more).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// `n` input files `data/fNN.csv`.
fn inputs(t: &Test, n: usize) {
    for i in 0..n {
        t.write(format!("data/f{i:02}.csv"), format!("t,v\n1,{i}\n"));
    }
}

/// A pipeline of one `python` step over `data/*.csv` calling
/// `scripts/work.py:FUNCTION`, with extra step keys.
fn one_step(t: &Test, function: &str, extra: &str) {
    t.pipeline(&format!(
        r#"
[pipeline]
out = "build"
jobs = 2

[inputs.csv]
glob = "data/*.csv"

[[steps]]
name = "work"
each = "csv"
python = "scripts/work.py:{function}"
out = "work/{{{{ key }}}}.txt"
{extra}
"#
    ));
}

/// The pids of the workers that ran the tasks (each task writes its
/// worker's pid into its output).
fn pids(t: &Test) -> Vec<String> {
    let mut out: Vec<String> = files_under(&t.path("build/work"))
        .iter()
        .map(|f| t.read(format!("build/work/{f}")).trim().to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

const WORK: &str = r#"
import ctypes, os, sys, time, warnings

with open("starts.log", "a") as f:
    f.write("%d\n" % os.getpid())

def pid(input, out):
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())

def chatty(input, out, key):
    print("print from", key)
    sys.stderr.write("stderr from %s\n" % key)
    warnings.warn("warning from " + key)
    os.write(1, b"fd 1 from " + key.encode() + b"\n")
    os.write(2, b"fd 2 from " + key.encode() + b"\n")
    libc = ctypes.CDLL(None)
    libc.printf(b"C printf from %s\n", key.encode())
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())

def troubled(input, out, key):
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())
    if key == "f01":
        raise ValueError("no good value in " + input)
    if key == "f02":
        os._exit(3)
    if key == "f03":
        ctypes.string_at(0)

def slow(input, out, key):
    os.makedirs("started", exist_ok=True)
    with open("started/." + key, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename("started/." + key, "started/" + key)  # whole when seen
    while not os.path.exists("release"):
        time.sleep(0.02)
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())

def args(out, **kwargs):
    import json
    with open(out, "w") as f:
        json.dump(kwargs, f, sort_keys=True)

def threads(input, out):
    with open(out, "w") as f:
        f.write(os.environ.get("OMP_NUM_THREADS", "-") + " " + os.environ.get("MKL_NUM_THREADS", "-") + "\n")
"#;

#[test]
fn output_is_captured_per_task_at_the_descriptor_level() {
    let t = Test::new();
    inputs(&t, 6);
    t.write("scripts/work.py", WORK);
    one_step(&t, "chatty", "");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    // At most one worker per slot, started when first needed: two, or one
    // when the first worker was free again before the second slot asked.
    let starts = t.read("starts.log").lines().count();
    assert!(
        (1..=2).contains(&starts),
        "{starts} workers for 6 tasks on 2 slots"
    );
    let logs = t.path(".runner/pipeline/logs/1/work");
    for i in 0..6 {
        let key = format!("f{i:02}");
        let out = std::fs::read_to_string(logs.join(format!("{key}.out"))).unwrap();
        let err = std::fs::read_to_string(logs.join(format!("{key}.err"))).unwrap();
        for line in [
            format!("print from {key}"),
            format!("fd 1 from {key}"),
            format!("C printf from {key}"),
        ] {
            assert!(out.contains(&line), "{key}.out lacks `{line}`:\n{out}");
        }
        for line in [
            format!("stderr from {key}"),
            format!("fd 2 from {key}"),
            format!("warning from {key}"),
        ] {
            assert!(err.contains(&line), "{key}.err lacks `{line}`:\n{err}");
        }
        // Nothing of another task, and no protocol message.
        for other in (0..6).filter(|&j| j != i) {
            let other = format!("f{other:02}");
            assert!(
                !out.contains(&other) && !err.contains(&other),
                "{key}: {out}{err}"
            );
        }
        assert!(!out.contains("\"id\"") && !out.contains("ready"), "{out}");
    }
    // `-v` shows each task's output as a command's.
    let run = t.run(["pipeline.toml", "-v", "--force"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("print from f03") && run.stderr.contains("fd 2 from f03"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_exception_a_dead_worker_and_a_segfault_fail_their_own_task() {
    let t = Test::new();
    inputs(&t, 6);
    t.write("scripts/work.py", WORK);
    one_step(&t, "troubled", "");
    t.write(
        "pipeline.toml",
        t.read("pipeline.toml").replace("jobs = 2", "jobs = 1"),
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let e = &run.stderr;
    assert!(e.contains("FAILED: work f01"), "{e}");
    assert!(
        e.contains("status:  ValueError: no good value in data/f01.csv"),
        "{e}"
    );
    assert!(e.contains("| Traceback (most recent call last):"), "{e}");
    assert!(
        e.contains(r#"|     raise ValueError("no good value in " + input)"#),
        "{e}"
    );
    assert!(
        !e.contains("<string>"),
        "the shim's frames are left out: {e}"
    );
    assert!(
        e.contains("FAILED: work f02")
            && e.contains("the worker exited with code 3 while running this task"),
        "{e}"
    );
    assert!(
        e.contains("FAILED: work f03")
            && e.contains("the worker was killed by signal 11 (SIGSEGV) while running this task"),
        "{e}"
    );
    assert!(e.contains("3 ok, 3 failed"), "{e}");
    // The exception left the worker serving; each death needed a new one.
    assert_eq!(t.read("starts.log").lines().count(), 3, "{e}");
    assert!(t.exists("build/work/f00.txt") && t.exists("build/work/f05.txt"));
    // Failed tasks leave no output, final or temporary.
    let files = files_under(&t.path("build/work"));
    assert_eq!(files, vec!["f00.txt", "f04.txt", "f05.txt"], "{files:?}");
    // f04 ran in the worker that replaced the one f03 crashed.
    assert_ne!(t.read("build/work/f00.txt"), t.read("build/work/f04.txt"));
}

#[test]
fn a_hanging_function_times_out_with_its_process_group() {
    let t = Test::new();
    inputs(&t, 3);
    t.write("scripts/work.py", WORK);
    t.write(
        "scripts/hang.py",
        "import os, subprocess, time\n\
         def hang(input, out, key):\n\
         \x20   if key == 'f01':\n\
         \x20       child = subprocess.Popen(['sleep', '1000'])\n\
         \x20       open('child-pid', 'w').write(str(child.pid))\n\
         \x20       time.sleep(1000)\n\
         \x20   open(out, 'w').write(key)\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 1
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "hang"
each = "csv"
python = "scripts/hang.py:hang"
out = "{{ key }}.txt"
timeout = "1s"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("FAILED: hang f01") && run.stderr.contains("timed out after 1s"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("2 ok, 1 failed"), "{}", run.stderr);
    // The process the function started died with its worker's group.
    let child: i32 = t.read("child-pid").parse().unwrap();
    assert!(!running(child), "the hanging task's child {child} survived");
}

#[test]
fn a_module_that_cannot_be_imported_fails_its_step_once() {
    let t = Test::new();
    inputs(&t, 5);
    t.write(
        "scripts/broken.py",
        "with open('starts.log', 'a') as f:\n    f.write('start\\n')\nimport no_such_module_anywhere\n\ndef f(input, out):\n    pass\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "broken"
each = "csv"
python = "scripts/broken.py:f"
out = "b/{{ key }}.txt"
[[steps]]
name = "copy"
each = "csv"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "c/{{ key }}.csv"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let e = &run.stderr;
    assert_eq!(
        e.matches("FAILED").count(),
        3,
        "one line, one block, the total: {e}"
    );
    assert!(
        e.contains("FAILED: broken (5 tasks: every task of the step fails this way)"),
        "{e}"
    );
    assert!(
        e.contains(
            "cannot import `scripts/broken.py`: ModuleNotFoundError: No module named 'no_such_module_anywhere'"
        ),
        "{e}"
    );
    assert_eq!(
        e.matches("Traceback (most recent call last)").count(),
        1,
        "{e}"
    );
    assert!(e.contains("| ModuleNotFoundError"), "{e}");
    // One worker tried, not one per task or per slot; the other step ran.
    assert_eq!(t.read("starts.log"), "start\n");
    assert!(e.contains("5 ok, 5 failed"), "{e}");
    // The state has every task's failure.
    assert_eq!(
        t.query("SELECT count(*) FROM tasks WHERE step = 'broken' AND status = 'failed'"),
        ["5"]
    );
    // `-v` shows the output of the one task that tried, once.
    let verbose = t.run(["pipeline.toml", "-v"]);
    verbose.expect_code(1);
    assert_eq!(
        verbose.stderr.matches("── broken ").count(),
        1,
        "{}",
        verbose.stderr
    );
    assert_eq!(t.read("starts.log"), "start\nstart\n");
}

#[test]
fn a_syntax_error_a_missing_function_and_a_missing_interpreter_fail_their_step_once() {
    let t = Test::new();
    inputs(&t, 3);
    t.write("scripts/syntax.py", "def f(input, out:\n    pass\n");
    // Defined only under `if False:`: the text scan of `check` finds it,
    // the import does not.
    t.write(
        "scripts/hidden.py",
        "if False:\n    def f(input, out):\n        pass\n",
    );
    t.write("scripts/work.py", WORK);
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "syntax"
each = "csv"
python = "scripts/syntax.py:f"
out = "s/{{ key }}.txt"
[[steps]]
name = "hidden"
each = "csv"
python = "scripts/hidden.py:f"
out = "h/{{ key }}.txt"
[[steps]]
name = "nointerp"
each = "csv"
worker = ["no-such-interpreter-xyz", "w.py"]
out = "n/{{ key }}.txt"
[[steps]]
name = "fine"
each = "csv"
python = "scripts/work.py:pid"
out = "f/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let e = &run.stderr;
    for (step, reason) in [
        (
            "syntax",
            "cannot import `scripts/syntax.py`: SyntaxError: '(' was never closed (syntax.py, line 1)",
        ),
        ("hidden", "`scripts/hidden.py` has no function `f`"),
        (
            "nointerp",
            "cannot start the worker: `no-such-interpreter-xyz` is not found",
        ),
    ] {
        assert!(
            e.contains(&format!(
                "FAILED: {step} (3 tasks: every task of the step fails this way)"
            )),
            "{step}: {e}"
        );
        assert!(e.contains(reason), "{step}: {reason}: {e}");
    }
    assert_eq!(e.matches("FAILED: ").count(), 4, "{e}");
    assert!(e.contains("3 ok, 9 failed"), "{e}");
}

#[test]
fn a_worker_is_recycled_after_max_tasks() {
    let t = Test::new();
    inputs(&t, 5);
    t.write("scripts/work.py", WORK);
    one_step(&t, "pid", "max_tasks_per_worker = 2");
    t.write(
        "pipeline.toml",
        t.read("pipeline.toml").replace("jobs = 2", "jobs = 1"),
    );
    t.run(["pipeline.toml"]).expect_code(0);
    // 5 tasks, 2 per worker: 3 workers, each used by consecutive tasks.
    assert_eq!(pids(&t).len(), 3);
    assert_eq!(t.read("starts.log").lines().count(), 3);
    assert_eq!(t.read("build/work/f00.txt"), t.read("build/work/f01.txt"));
    assert_eq!(t.read("build/work/f02.txt"), t.read("build/work/f03.txt"));
    assert_ne!(t.read("build/work/f01.txt"), t.read("build/work/f02.txt"));
    // Without the limit, one worker does it all.
    one_step(&t, "pid", "");
    t.write(
        "pipeline.toml",
        t.read("pipeline.toml").replace("jobs = 2", "jobs = 1"),
    );
    t.run(["pipeline.toml", "--force"]).expect_code(0);
    assert_eq!(pids(&t).len(), 1);
}

/// Starts a run of `slow` tasks, waits until two workers are busy, and
/// returns the running runner and the workers' pids.
fn busy_run(t: &Test) -> (std::process::Child, Vec<i32>) {
    inputs(t, 4);
    t.write("scripts/work.py", WORK);
    one_step(t, "slow", "");
    let child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = || -> Vec<String> {
        files_under(&t.path("started"))
            .into_iter()
            .filter(|f| !f.starts_with('.'))
            .collect()
    };
    wait_for("two busy workers", || started().len() >= 2);
    let pids: Vec<i32> = started()
        .iter()
        .map(|f| t.read(format!("started/{f}")).trim().parse().unwrap())
        .collect();
    assert!(pids.iter().all(|&p| running(p)));
    (child, pids)
}

#[test]
fn sigint_and_sigterm_leave_no_worker_behind() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let t = Test::new();
        let (mut child, workers) = busy_run(&t);
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(child.wait().unwrap().code(), Some(code), "{signal}");
        // runner waited for its workers before it exited.
        for pid in workers {
            assert!(!running(pid), "{signal}: worker {pid} outlived runner");
        }
        let run = t.run(["history", "pipeline.toml", "--failed"]);
        assert!(run.stdout.contains("interrupted"), "{}", run.stdout);
    }
}

#[test]
fn kill_9_of_runner_leaves_no_worker_behind() {
    let t = Test::new();
    let (mut child, workers) = busy_run(&t);
    child.kill().unwrap(); // SIGKILL: runner cannot clean up
    child.wait().unwrap();
    // The parent-death signal and the closed request pipe end them.
    for pid in workers {
        wait_for(&format!("worker {pid} to end"), || !running(pid));
    }
}

#[test]
fn kill_9_of_runner_also_stops_what_a_function_started() {
    let t = Test::new();
    inputs(&t, 1);
    t.write(
        "scripts/spawn.py",
        "import os, subprocess, time\n\
         def f(input, out):\n\
         \x20   child = subprocess.Popen(['sleep', '1000'])\n\
         \x20   open('.child', 'w').write('%d %d' % (os.getpid(), child.pid))\n\
         \x20   os.rename('.child', 'child')\n\
         \x20   time.sleep(1000)\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "spawn"
each = "csv"
python = "scripts/spawn.py:f"
out = "{{ key }}.txt"
"#,
    );
    let mut child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the function's child", || t.exists("child"));
    let pids: Vec<i32> = t
        .read("child")
        .split(' ')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(pids.iter().all(|&p| running(p)));
    child.kill().unwrap();
    child.wait().unwrap();
    for pid in pids {
        wait_for(&format!("process {pid} to end"), || !running(pid));
    }
}

#[test]
fn fail_fast_leaves_no_worker_behind() {
    let t = Test::new();
    inputs(&t, 6);
    t.write("scripts/work.py", WORK);
    one_step(&t, "troubled", "");
    let run = t.run(["pipeline.toml", "--fail-fast"]);
    run.expect_code(1);
    for pid in t.read("starts.log").lines() {
        let pid: i32 = pid.parse().unwrap();
        assert!(!running(pid), "worker {pid} outlived runner");
    }
}

#[test]
fn editing_a_helper_module_runs_the_tasks_again() {
    let t = Test::new();
    inputs(&t, 3);
    t.write("scripts/helpers.py", "def scale():\n    return 2\n");
    t.write("scripts/lazy.py", "SUFFIX = '!'\n");
    t.write("notes.txt", "unrelated\n");
    t.write(
        "scripts/work.py",
        "import helpers\n\ndef f(input, out):\n    import lazy\n    open(out, 'w').write(str(helpers.scale()) + lazy.SUFFIX)\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "work"
each = "csv"
python = "scripts/work.py:f"
out = "{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/f00.txt"), "2!");
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(
        again
            .stderr
            .contains("0 ok, 0 failed, 0 skipped, 3 up to date"),
        "{}",
        again.stderr
    );
    // No `__pycache__` is left under root.
    assert!(!t.exists("scripts/__pycache__"));

    // A file no module imports changes nothing.
    t.write("notes.txt", "still unrelated\n");
    let run = t.run(["pipeline.toml", "-n"]);
    assert!(
        run.stdout.contains("# 3 tasks up to date"),
        "{}",
        run.stdout
    );

    // An imported helper, and a module imported inside the function.
    for (file, content, expected) in [
        ("scripts/helpers.py", "def scale():\n    return 3\n", "3!"),
        ("scripts/lazy.py", "SUFFIX = '?'\n", "3?"),
    ] {
        t.write(file, content);
        let explain = t.run(["pipeline.toml", "-n", "--explain"]);
        assert!(
            explain
                .stdout
                .contains(&format!("# work f00: input changed: {file}")),
            "{file}: {}",
            explain.stdout
        );
        let run = t.run(["pipeline.toml"]);
        run.expect_code(0);
        assert!(run.stderr.contains("3 ok, 0 failed"), "{}", run.stderr);
        assert_eq!(t.read("build/f02.txt"), expected);
    }
    // The state names the files the worker loaded.
    let deps = t
        .query("SELECT deps FROM latest WHERE key = 'f00'")
        .join("\n");
    assert!(
        deps.contains("scripts/helpers.py") && deps.contains("scripts/lazy.py"),
        "{deps}"
    );
    // The interpreter's binary is a dep of every task of the step (the one
    // its name resolves to), among the hashed inputs.
    let inputs = t
        .query("SELECT inputs FROM latest WHERE key = 'f00'")
        .join("\n");
    assert!(
        inputs.contains("python"),
        "the interpreter's binary: {inputs}"
    );
}

/// A module edited after its worker imported it: the task ran with the
/// old code, so its result is not taken as made from the new one (the
/// next run runs it again), however the per-call check is made cheap.
#[test]
fn a_helper_edited_while_its_worker_runs_runs_the_task_again() {
    let t = Test::new();
    inputs(&t, 1);
    t.write("scripts/helpers.py", "def scale():\n    return 2\n");
    t.write(
        "scripts/work.py",
        "import helpers\n\ndef f(input, out):\n    open(out, 'w').write(str(helpers.scale()))\n    if helpers.scale() == 2:\n        open(helpers.__file__, 'w').write('def scale():\\n    return 5\\n')\n",
    );
    one_step(&t, "f", "");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/work/f00.txt"), "2");
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain
            .stdout
            .contains("# work f00: input changed: scripts/helpers.py"),
        "{}",
        explain.stdout
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("1 ok, 0 failed"), "{}", run.stderr);
    assert_eq!(t.read("build/work/f00.txt"), "5");
    let again = t.run(["pipeline.toml"]);
    assert!(
        again
            .stderr
            .contains("0 ok, 0 failed, 0 skipped, 1 up to date"),
        "{}",
        again.stderr
    );
}

#[test]
fn the_function_the_with_values_and_the_interpreter_are_part_of_the_fingerprint() {
    let t = Test::new();
    inputs(&t, 2);
    t.write("scripts/work.py", WORK);
    t.write("scripts/other.py", WORK);
    let pipeline = |function: &str, with: &str| {
        t.pipeline(&format!(
            r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "work"
each = "csv"
python = "scripts/{function}"
with = {with}
out = "work/{{{{ key }}}}.json"
"#
        ));
    };
    pipeline("work.py:args", "{ dpi = 100 }");
    t.run(["pipeline.toml"]).expect_code(0);
    let up_to_date = |t: &Test| {
        t.run(["pipeline.toml", "-n"])
            .stdout
            .contains("# 2 tasks up to date")
    };
    assert!(up_to_date(&t));
    for (function, with) in [
        ("work.py:args", "{ dpi = 120 }"),
        ("work.py:args", "{ dpi = 120, title = '{{ stem }}' }"),
        ("other.py:args", "{ dpi = 120, title = '{{ stem }}' }"),
    ] {
        pipeline(function, with);
        let explain = t.run(["pipeline.toml", "-n", "--explain"]);
        assert!(
            explain.stdout.contains("# work f00: action changed"),
            "{function} {with}: {}",
            explain.stdout
        );
        t.run(["pipeline.toml"]).expect_code(0);
        assert!(up_to_date(&t));
    }
    let args: serde_json::Value = serde_json::from_str(&t.read("build/work/f01.json")).unwrap();
    assert_eq!(args["title"], "f01");
    assert_eq!(args["dpi"], 120);
}

#[test]
fn a_function_gets_the_names_it_asks_for_and_kwargs_gets_all() {
    let t = Test::new();
    inputs(&t, 3);
    t.write("scripts/work.py", WORK);
    t.write(
        "scripts/kw.py",
        "import json\n\
         def exact(input, out, dpi, column='value'):\n\
         \x20   open(out, 'w').write(json.dumps([input, out, dpi, column]))\n\
         def batch(inputs, out, batch):\n\
         \x20   open(out, 'w').write(json.dumps([inputs, batch]))\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
[vars]
who = "lab"
[inputs.csv]
glob = "data/*.csv"
batches = 2
[[steps]]
name = "exact"
each = "csv"
python = "scripts/kw.py:exact"
with = { dpi = 120 }
out = "exact/{{ key }}.json"
[[steps]]
name = "all"
each = "csv"
python = "scripts/work.py:args"
with = { n = 1.5, flags = [true, false], nested = { a = "b" } }
out = "all/{{ key }}.json"
[[steps]]
name = "batches"
batch = "csv"
python = "scripts/kw.py:batch"
out = "batch/{{ batch.index }}.json"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    let exact: serde_json::Value = serde_json::from_str(&t.read("build/exact/f01.json")).unwrap();
    assert_eq!(exact[0], "data/f01.csv");
    let out = exact[1].as_str().unwrap();
    assert!(
        out.starts_with("build/exact/.f01.tmp-") && out.ends_with(".json"),
        "{out}"
    );
    assert_eq!(
        (exact[2].clone(), exact[3].clone()),
        (120.into(), "value".into())
    );
    let all: serde_json::Value = serde_json::from_str(&t.read("build/all/f00.json")).unwrap();
    for key in [
        "input", "inputs", "outs", "key", "stem", "name", "ext", "dir", "vars", "pipeline", "n",
        "flags", "nested",
    ] {
        assert!(all.get(key).is_some(), "{key}: {all}");
    }
    assert_eq!(all["stem"], "f00");
    assert_eq!(all["vars"]["who"], "lab");
    assert_eq!(all["flags"], serde_json::json!([true, false]));
    assert_eq!(all["nested"]["a"], "b");
    let batch: serde_json::Value = serde_json::from_str(&t.read("build/batch/1.json")).unwrap();
    assert_eq!(batch[0], serde_json::json!(["data/f01.csv"]));
    assert_eq!(batch[1], serde_json::json!({"index": 1, "count": 2}));
    // `--dry-run` shows each call.
    let dry = t.run(["pipeline.toml", "-n", "--force"]);
    assert!(
        dry.stdout.contains(
            r#"# exact f01: python scripts/kw.py:exact(input="data/f01.csv", out="build/exact/f01.json", dpi=120)"#
        ),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(
            r#"# batches batch-0: python scripts/kw.py:batch(inputs=["data/f00.csv", "data/f02.csv"], out="build/batch/0.json")"#
        ),
        "{}",
        dry.stdout
    );
}

#[test]
fn a_missing_argument_fails_the_step_once_with_the_names_given() {
    let t = Test::new();
    inputs(&t, 3);
    t.write("scripts/kw.py", "def f(input, out, dpi):\n    pass\n");
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "kw"
each = "csv"
python = "scripts/kw.py:f"
out = "{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("FAILED: kw (3 tasks"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("f() needs `dpi`, which this task does not give (it gives: dir, ext, input, inputs, key, name, out, outs, pipeline, stem, vars; add the others to `with`)"),
        "{}",
        run.stderr
    );
}

#[test]
fn thread_variables_follow_threads_unless_the_pipeline_sets_them() {
    let t = Test::new();
    inputs(&t, 1);
    t.write("scripts/work.py", WORK);
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 4
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "one"
each = "csv"
python = "scripts/work.py:threads"
out = "one/{{ key }}.txt"
[[steps]]
name = "two"
each = "csv"
python = "scripts/work.py:threads"
threads = 2
out = "two/{{ key }}.txt"
[[steps]]
name = "set"
each = "csv"
python = "scripts/work.py:threads"
threads = 2
env = { MKL_NUM_THREADS = "7" }
out = "set/{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/one/f00.txt"), "1 1\n");
    assert_eq!(t.read("build/two/f00.txt"), "2 2\n");
    assert_eq!(t.read("build/set/f00.txt"), "2 7\n");
}

#[test]
fn two_python_steps_share_workers_and_start_at_most_one_per_slot() {
    let t = Test::new();
    inputs(&t, 10);
    t.write("scripts/work.py", WORK);
    t.write("scripts/other.py", WORK);
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 2
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "a"
each = "csv"
python = "scripts/work.py:pid"
out = "a/{{ key }}.txt"
[[steps]]
name = "b"
each = "a"
python = "scripts/work.py:pid"
out = "b/{{ key }}.txt"
[[steps]]
name = "c"
each = "csv"
python = "scripts/other.py:pid"
out = "c/{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    // `a` and `b` call one module with one interpreter: they share their
    // workers; `c` has its own. At most one of each per slot, 20 + 10 tasks.
    let starts = t.read("starts.log").lines().count();
    assert!((2..=4).contains(&starts), "{starts} interpreters started");
    let served = |dir: &str| {
        let mut pids: Vec<String> = files_under(&t.path(format!("build/{dir}")))
            .iter()
            .map(|f| t.read(format!("build/{dir}/{f}")))
            .collect();
        pids.sort();
        pids.dedup();
        pids
    };
    let (a, b, c) = (served("a"), served("b"), served("c"));
    assert!(
        a.len() <= 2 && b.len() <= 2 && c.len() <= 2,
        "{a:?} {b:?} {c:?}"
    );
    assert!(
        b.iter().all(|p| a.contains(p)),
        "a and b share: {a:?} {b:?}"
    );
    assert!(c.iter().all(|p| !a.contains(p)), "c does not: {a:?} {c:?}");
}

#[test]
fn retries_run_a_failed_call_again() {
    let t = Test::new();
    inputs(&t, 1);
    t.write(
        "scripts/flaky.py",
        "import os\n\
         def f(input, out):\n\
         \x20   if not os.path.exists('tried'):\n\
         \x20       open('tried', 'w').close()\n\
         \x20       raise RuntimeError('first time fails')\n\
         \x20   open(out, 'w').write('ok')\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "flaky"
each = "csv"
python = "scripts/flaky.py:f"
retries = 1
out = "{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert_eq!(t.read("build/f00.txt"), "ok");
    let log = t.read(".runner/pipeline/logs/1/flaky/f00.err");
    assert!(log.contains("RuntimeError: first time fails"), "{log}");
    assert_eq!(
        t.query("SELECT attempts FROM tasks WHERE key = 'f00'"),
        ["2"]
    );
}

/// A worker that writes something else than a JSON line on its reply fd
/// breaks the protocol: before it is ready, every task of its step fails;
/// after a request, that task fails. The reason shows the line and what
/// the JSON reader said (issue 13 item 3: a typed error, its source kept).
#[test]
fn a_worker_that_breaks_the_protocol_fails_its_tasks_and_says_how() {
    let t = Test::new();
    inputs(&t, 2);
    t.write("scripts/hello.sh", "echo 'hello, not json' >&4\nsleep 60\n");
    t.write(
        "scripts/reply.sh",
        "echo '{\"ready\": true}' >&4\nread request <&3\necho 'done!' >&4\nsleep 60\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "hello"
each = "csv"
worker = ["sh", "scripts/hello.sh"]
out = "hello/{{ key }}.txt"
[[steps]]
name = "reply"
each = "csv"
worker = ["sh", "scripts/reply.sh"]
out = "reply/{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("0 ok, 4 failed"), "{}", run.stderr);
    let reasons = t.query("SELECT DISTINCT step || ': ' || reason FROM tasks ORDER BY 1");
    assert_eq!(
        reasons,
        [
            "hello: the worker broke the protocol with the line `hello, not json`: \
             expected value at line 1 column 1",
            "reply: the worker broke the protocol with the line `done!`: \
             expected value at line 1 column 1",
        ]
    );
}

#[test]
fn a_worker_in_another_language_speaks_the_protocol() {
    let t = Test::new();
    inputs(&t, 4);
    // Perl, core modules only: one JSON line per request on fd 3, one
    // reply per line on fd 4, the task's output on stdout and stderr.
    t.write(
        "scripts/worker.pl",
        r#"use strict; use warnings; use JSON::PP; use IO::Handle;
open(my $requests, '<&=', $ENV{RUNNER_REQUEST_FD}) or die "no request fd: $!";
open(my $replies, '>&=', $ENV{RUNNER_REPLY_FD}) or die "no reply fd: $!";
$replies->autoflush(1); STDOUT->autoflush(1); STDERR->autoflush(1);
my $json = JSON::PP->new->canonical;
print $replies $json->encode({ready => JSON::PP::true, deps => ["scripts/table.txt"]}), "\n";
while (my $line = <$requests>) {
    my $req = $json->decode($line);
    my $args = $req->{args};
    print "perl working on $args->{key}\n";
    if ($args->{key} eq 'f03') {
        print STDERR "cannot do f03\n";
        print $replies $json->encode({id => $req->{id}, ok => JSON::PP::false, error => "f03 is not welcome"}), "\n";
        next;
    }
    open(my $in, '<', $args->{input}) or die; my @rows = <$in>; close $in;
    open(my $out, '>', $args->{out}) or die;
    print $out uc($rows[1]), "protocol $ENV{RUNNER_WORKER_PROTOCOL} $args->{greeting} $$\n";
    close $out;
    print $replies $json->encode({id => $req->{id}, ok => JSON::PP::true}), "\n";
}
exit 0;
"#,
    );
    t.write("scripts/table.txt", "v1\n");
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 1
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "perl"
each = "csv"
worker = ["perl", "scripts/worker.pl"]
with = { greeting = "hi {{ stem }}" }
out = "{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let first = t.read("build/f00.txt");
    assert!(first.starts_with("1,0\nprotocol 1 hi f00 "), "{first}");
    let pid = |k: &str| {
        t.read(format!("build/{k}.txt"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(pid("f00"), pid("f02"), "one worker served them all");
    assert!(run.stderr.contains("FAILED: perl f03"), "{}", run.stderr);
    assert!(
        run.stderr.contains("status:  f03 is not welcome"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("| cannot do f03"), "{}", run.stderr);
    let log = t.read(".runner/pipeline/logs/1/perl/f01.out");
    assert_eq!(log, "perl working on f01\n");
    // The worker's script and the file it reported are deps.
    t.write("scripts/table.txt", "v2\n");
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain
            .stdout
            .contains("# perl f00: input changed: scripts/table.txt"),
        "{}",
        explain.stdout
    );
}

#[test]
fn check_reports_a_missing_module_interpreter_and_function() {
    let t = Test::new();
    inputs(&t, 1);
    t.write("scripts/work.py", WORK);
    t.pipeline(
        r#"
[pipeline]
out = "build"
python = "venv/bin/python"
[inputs.csv]
glob = "data/*.csv"
[[steps]]
name = "a"
each = "csv"
python = "scripts/gone.py:f"
out = "a/{{ key }}.txt"
[[steps]]
name = "b"
each = "csv"
python = "scripts/work.py:chaty"
out = "b/{{ key }}.txt"
"#,
    );
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    let e = &run.stderr;
    assert!(
        e.contains("error: the Python interpreter `venv/bin/python` is not found"),
        "{e}"
    );
    assert!(
        e.contains("error: the module `scripts/gone.py` of step `a` does not exist"),
        "{e}"
    );
    assert!(
        e.contains("error: `scripts/work.py` defines no function `chaty`"),
        "{e}"
    );
    assert!(e.contains("did you mean `chatty`?"), "{e}");
    assert!(
        e.contains("pipeline.toml:15:27"),
        "points at the function: {e}"
    );
    assert!(e.contains("(3 problems)"), "{e}");
}

#[test]
fn a_non_utf8_file_name_fails_its_own_task() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    inputs(&t, 1);
    let odd = std::ffi::OsStr::from_bytes(b"data/caf\xe9.csv");
    std::fs::write(t.root().join(odd), "t,v\n1,2\n").unwrap();
    t.write("scripts/work.py", WORK);
    one_step(&t, "pid", "");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("1 ok, 1 failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("requests are JSON (UTF-8 only)"),
        "{}",
        run.stderr
    );
}

/// The repository's `pipelines/python.toml` and what it reads, copied.
fn example() -> Test {
    let t = Test::new();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["pipelines", "pipelines/data", "pipelines/scripts"] {
        for entry in std::fs::read_dir(repo.join(dir)).unwrap().flatten() {
            if entry.path().is_file() {
                let rel = std::path::Path::new(dir).join(entry.file_name());
                t.write(&rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    t
}

#[test]
fn the_example_pipeline_checks_runs_and_follows_its_helpers() {
    let t = example();
    let check = t.run(["check", "pipelines/python.toml"]);
    check.expect_code(0);
    assert!(
        check.stdout.contains(
            "summary    each data: 12 tasks (python pipelines/scripts/analysis.py:summarize)"
        ),
        "{}",
        check.stdout
    );
    let run = t.run(["pipelines/python.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("25 ok, 0 failed"), "{}", run.stderr);
    let means = t.read("build/python/means.csv");
    assert_eq!(means.lines().count(), 13, "{means}");
    assert!(
        means.starts_with("file,flow,humidity,level,pressure,t,temp,value\n"),
        "{means}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&t.read("build/python/summary/india.json")).unwrap();
    assert!(summary["value"]["count"].as_u64().unwrap() > 0, "{summary}");
    assert!(
        t.read("build/python/sparklines/alpha.svg")
            .contains("<title>alpha: value</title>")
    );
    // A file without the column says so in its own log.
    let log = t.read(".runner/python/logs/1/sparkline/bravo.out");
    assert_eq!(log, "no column `value` in pipelines/data/bravo.csv\n");

    let again = t.run(["pipelines/python.toml"]);
    assert!(
        again
            .stderr
            .contains("0 ok, 0 failed, 0 skipped, 25 up to date"),
        "{}",
        again.stderr
    );
    // A helper both functions import: every task that loaded it runs again.
    let tables = t.read("pipelines/scripts/tables.py");
    t.write(
        "pipelines/scripts/tables.py",
        tables.replace("\"nan\", ", "\"nan\", \"-\", "),
    );
    let edited = t.run(["pipelines/python.toml"]);
    edited.expect_code(0);
    assert!(
        edited.stderr.contains("25 ok, 0 failed"),
        "{}",
        edited.stderr
    );
}

/// Functions for the tests of queued requests (a worker's next request
/// sent before its reply to the last one). `queued()` tells, waiting up
/// to 10 s but never blocking, whether a next request has come behind
/// the running call, so that a test knows one was queued.
const QUEUE: &str = r#"
import os, sys, time

with open("starts.log", "a") as f:
    f.write("%d\n" % os.getpid())

def queued():
    # Whether a next request is waiting, in the shim's read buffer
    # (`requests`, the caller's) or in the pipe: looked at without
    # blocking for up to 10 s (a blocking peek hung the last task of a
    # worker that nothing was queued behind until its timeout).
    requests = sys._getframe(2).f_locals["requests"]
    for _ in range(1000):
        os.set_blocking(requests.fileno(), False)
        try:
            if requests.peek(1) != b"":
                return True
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(requests.fileno(), True)
        time.sleep(0.01)
    return False

def talk(input, out, key):
    print("print", key, flush=True)
    sys.stdout.write("partial " + key)
    sys.stdout.flush()
    sys.stderr.write("stderr %s\n" % key)
    os.write(1, ("fd 1 %s\n" % key).encode())
    os.write(2, ("fd 2 %s" % key).encode())
    if key.endswith("0"):
        with open("queued-" + key, "w") as f:
            f.write(str(queued()))
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())

def fate(input, out, key):
    with open("calls.log", "a") as f:
        f.write("%d %s\n" % (os.getpid(), key))
    if key in ("f01", "f03"):
        with open("queued-" + key, "w") as f:
            f.write(str(queued()))
        if key == "f01":
            os._exit(3)
        time.sleep(1000)
    # The task queued behind f03 sleeps 2 s of its 4.
    if os.path.exists("queued-f03") and not os.path.exists("slept"):
        open("slept", "w").close()
        time.sleep(2)
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())

def count(input, out, key):
    with open("calls.log", "a") as f:
        f.write("%d %s\n" % (os.getpid(), key))
    with open(out, "w") as f:
        f.write("%d\n" % os.getpid())
"#;

/// Requests queued behind running calls (the shim marks each call's end
/// on fds 1 and 2): each task's logs still hold exactly its own output,
/// written through every path, some without a final newline, while the
/// next call writes its own right after.
#[test]
fn queued_requests_keep_each_tasks_output_exactly_its_own() {
    let t = Test::new();
    inputs(&t, 30);
    t.write("scripts/work.py", QUEUE);
    one_step(&t, "talk", "timeout = \"60s\"");
    t.run(["pipeline.toml"]).expect_code(0);
    // Requests were queued behind running calls (else this tests nothing).
    let queued: Vec<String> = ["f00", "f10", "f20"]
        .iter()
        .map(|k| t.read(format!("queued-{k}")))
        .collect();
    assert!(queued.iter().any(|q| q == "True"), "{queued:?}");
    let logs = t.path(".runner/pipeline/logs/1/work");
    for i in 0..30 {
        let key = format!("f{i:02}");
        let out = std::fs::read_to_string(logs.join(format!("{key}.out"))).unwrap();
        let err = std::fs::read_to_string(logs.join(format!("{key}.err"))).unwrap();
        assert_eq!(out, format!("print {key}\npartial {key}fd 1 {key}\n"));
        assert_eq!(err, format!("stderr {key}\nfd 2 {key}"));
    }
    assert!(!t.path(".runner/pipeline/logs/1/workers").exists());
}

/// A worker that dies, and one that times out, each with a request queued
/// behind the running call: the running task fails; the queued one runs
/// in a new worker, as its first attempt, with its timeout counted from
/// its own start (the one behind f03 sleeps 2 s of its 4: counted from
/// when it was queued, behind f03's 4 s, it would have timed out). (Tasks
/// may enter a lane in either order: the test does not rely on it.)
#[test]
fn a_task_queued_behind_a_worker_that_dies_or_times_out_runs_in_a_new_one() {
    let t = Test::new();
    inputs(&t, 6);
    t.write("scripts/work.py", QUEUE);
    one_step(&t, "fate", "timeout = \"4s\"");
    t.write(
        "pipeline.toml",
        t.read("pipeline.toml").replace("jobs = 2", "jobs = 1"),
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let e = &run.stderr;
    assert_eq!(t.read("queued-f01"), "True", "{e}");
    assert_eq!(t.read("queued-f03"), "True", "{e}");
    assert!(e.contains("4 ok, 2 failed"), "{e}");
    assert_eq!(
        t.query("SELECT key || ' ' || status || ' ' || attempts || ' ' || coalesce(reason, '') FROM tasks ORDER BY key"),
        [
            "f00 ok 1 ",
            "f01 failed 1 the worker exited with code 3 while running this task",
            "f02 ok 1 ",
            "f03 failed 1 timed out after 4s (its worker's processes were killed; a fresh worker takes the next task)",
            "f04 ok 1 ",
            "f05 ok 1 ",
        ],
        "{e}"
    );
    // The call after f01's, and after f03's, ran in a new worker.
    let calls = t.read("calls.log");
    let lines: Vec<(&str, &str)> = calls.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(lines.len(), 6, "{calls}");
    for bad in ["f01", "f03"] {
        let at = lines.iter().position(|(_, k)| *k == bad).unwrap();
        assert_ne!(lines[at].0, lines[at + 1].0, "{calls}");
    }
    assert!(t.exists("slept"), "{calls}");
    assert_eq!(t.read("starts.log").lines().count(), 3, "{e}");
}

/// `max_tasks_per_worker` with queued requests: no request is queued in a
/// worker that has no room left for it, so each worker runs exactly its
/// share of calls (a worker killed with a request in it could have begun
/// one more).
#[test]
fn a_worker_recycled_after_max_tasks_is_never_sent_one_more() {
    let t = Test::new();
    inputs(&t, 7);
    t.write("scripts/work.py", QUEUE);
    one_step(&t, "count", "max_tasks_per_worker = 3");
    t.write(
        "pipeline.toml",
        t.read("pipeline.toml").replace("jobs = 2", "jobs = 1"),
    );
    t.run(["pipeline.toml"]).expect_code(0);
    let calls = t.read("calls.log");
    let lines: Vec<(&str, &str)> = calls.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(lines.len(), 7, "{calls}");
    // Tasks may enter a lane in either order; each worker runs 3 calls in
    // a row (the last one, 1).
    let mut keys: Vec<&str> = lines.iter().map(|(_, k)| *k).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["f00", "f01", "f02", "f03", "f04", "f05", "f06"],
        "{calls}"
    );
    let pid = |i: usize| lines[i].0;
    assert!(pid(0) == pid(1) && pid(1) == pid(2), "{calls}");
    assert!(pid(3) == pid(4) && pid(4) == pid(5), "{calls}");
    assert!(
        pid(2) != pid(3) && pid(5) != pid(6) && pid(0) != pid(6),
        "{calls}"
    );
    assert_eq!(t.read("starts.log").lines().count(), 3, "{calls}");
}

/// Ctrl-C with a request queued behind a running call: the queued task
/// does not begin (its function never runs) and is recorded as not run,
/// not interrupted; the running one is interrupted. (The first call to
/// have a request queued behind it waits: whichever task entered the
/// lane first.)
#[test]
fn ctrl_c_does_not_begin_a_queued_task() {
    let t = Test::new();
    inputs(&t, 3);
    t.write("scripts/work.py", WORK);
    t.write(
        "scripts/wait.py",
        "import os, sys, time\n\
         def wait(input, out, key):\n\
         \x20   os.makedirs('began', exist_ok=True)\n\
         \x20   open('began/' + key, 'w').close()\n\
         \x20   requests = sys._getframe(1).f_locals['requests']\n\
         \x20   if requests.peek(1) and not os.path.exists('queued'):\n\
         \x20       open('queued', 'w').close()\n\
         \x20       time.sleep(1000)\n\
         \x20   open(out, 'w').close()\n",
    );
    one_step(&t, "slow", "");
    t.write(
        "pipeline.toml",
        t.read("pipeline.toml")
            .replace("jobs = 2", "jobs = 1")
            .replace("work.py:slow", "wait.py:wait"),
    );
    let child = t
        .command(["pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("a request queued behind a call", || t.exists("queued"));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{e}");
    let began = files_under(&t.path("began"));
    assert_eq!(began.len(), 1, "{e}");
    let statuses = t.query("SELECT key || ' ' || status FROM tasks ORDER BY key");
    for key in ["f00", "f01", "f02"] {
        let status = if began[0] == key {
            "interrupted"
        } else {
            "not_run"
        };
        assert!(
            statuses.contains(&format!("{key} {status}")),
            "{statuses:?} {e}"
        );
    }
}
