//! Regression tests for what the session-5 adversarial pass
//! (bench/attack, groups `python`) found: Python call steps that said "up
//! to date" while their output no longer matched their definition.

use crate::support::{OutputRun, Test};

/// The real path of the python3 on runner's `PATH`.
fn real_python() -> std::path::PathBuf {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, sys; sys.stdout.write(os.path.realpath(sys.executable))",
        ])
        .output()
        .expect("python3");
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap())
}

/// One call step over `data/a.txt` whose function writes what `body`
/// computes (`out` is the path).
fn one_call(t: &Test, python: &str, body: &str, with: &str) {
    t.write("data/a.txt", "a\n");
    t.write(
        "scripts/m.py",
        format!("import os, sys\n\ndef f(input, out, **kw):\n    open(out, 'w').write({body})\n"),
    );
    t.pipeline(&format!(
        r#"
[pipeline]
out = "build"
{python}
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "py"
each = "data"
python = "scripts/m.py:f"
out = "{{{{ key }}}}.txt"
{with}
"#
    ));
}

fn up_to_date(run: &crate::support::Run) -> bool {
    run.stderr
        .contains("0 ok, 0 failed, 0 skipped, 1 up to date")
}

/// The interpreter a name resolves to is part of the fingerprint: another
/// `PATH`, a venv link pointed elsewhere, a shim (pyenv's) that picks
/// another binary. Two copies of the real interpreter stand for two
/// Pythons (each reports its own `sys.executable`).
#[test]
fn another_interpreter_behind_the_same_name_runs_the_tasks_again() {
    let t = Test::new();
    let real = real_python();
    for dir in ["py-a", "py-b"] {
        std::fs::create_dir_all(t.path(dir)).unwrap();
        std::fs::copy(&real, t.path(format!("{dir}/python3"))).unwrap();
    }
    let path_with = |dir: &str| {
        let rest = std::env::var("PATH").unwrap_or_default();
        format!("{}:{rest}", t.path(dir).display())
    };
    let run = |path: &str| t.command(["pipeline.toml"]).env("PATH", path).output_run();
    // A bare name, found on PATH.
    one_call(&t, "", "os.path.realpath(sys.executable)", "");
    run(&path_with("py-a")).expect_code(0);
    assert!(t.read("build/a.txt").ends_with("py-a/python3"));
    assert!(up_to_date(&run(&path_with("py-a"))));
    let again = run(&path_with("py-b"));
    again.expect_code(0);
    assert!(again.stderr.contains("1 ok"), "{}", again.stderr);
    assert!(t.read("build/a.txt").ends_with("py-b/python3"));

    // A venv's link, pointed at another interpreter.
    std::fs::create_dir_all(t.path(".venv/bin")).unwrap();
    std::os::unix::fs::symlink(t.path("py-a/python3"), t.path(".venv/bin/python")).unwrap();
    one_call(
        &t,
        "python = \".venv/bin/python\"",
        "os.path.realpath(sys.executable)",
        "",
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(up_to_date(&t.run(["pipeline.toml"])));
    std::fs::remove_file(t.path(".venv/bin/python")).unwrap();
    std::os::unix::fs::symlink(t.path("py-b/python3"), t.path(".venv/bin/python")).unwrap();
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(explain.stdout.contains("# py a: "), "{}", explain.stdout);
    assert!(!explain.stdout.contains("up to date"), "{}", explain.stdout);
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(t.read("build/a.txt").ends_with("py-b/python3"));

    // A shim script that picks the interpreter by a file of its own.
    t.write(
        "shim/python3",
        "#!/bin/sh\nexec \"$(cat \"$(dirname \"$0\")/choice\")\" \"$@\"\n",
    );
    std::fs::set_permissions(
        t.path("shim/python3"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    t.write("shim/choice", t.path("py-a/python3").to_str().unwrap());
    one_call(
        &t,
        "python = \"shim/python3\"",
        "os.path.realpath(sys.executable)",
        "",
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(t.read("build/a.txt").ends_with("py-a/python3"));
    assert!(up_to_date(&t.run(["pipeline.toml"])));
    t.write("shim/choice", t.path("py-b/python3").to_str().unwrap());
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(again.stderr.contains("1 ok"), "{}", again.stderr);
    assert!(t.read("build/a.txt").ends_with("py-b/python3"));
}

/// A file a `with` value names is a dependency, as a file a `run` step's
/// argv names is.
#[test]
fn a_file_named_in_a_with_value_is_a_dependency() {
    let t = Test::new();
    t.write("conf/params.json", "1");
    t.write("data/a.meta", "m1");
    one_call(
        &t,
        "",
        "open(kw['config']).read() + open(kw['meta']).read()",
        r#"with = { config = "conf/params.json", meta = "data/{{ stem }}.meta" }"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "1m1");
    for (file, content, expected) in [
        ("conf/params.json", "2", "2m1"),
        ("data/a.meta", "m2", "2m2"),
    ] {
        t.write(file, content);
        let explain = t.run(["pipeline.toml", "-n", "--explain"]);
        assert!(
            explain
                .stdout
                .contains(&format!("# py a: input changed: {file}")),
            "{file}: {}",
            explain.stdout
        );
        t.run(["pipeline.toml"]).expect_code(0);
        assert_eq!(t.read("build/a.txt"), expected);
    }
}

/// `threads` sizes the worker's numeric libraries (`OMP_NUM_THREADS`...),
/// which can change a result: a change of it runs the step again.
#[test]
fn a_change_of_threads_runs_a_call_step_again() {
    let t = Test::new();
    one_call(&t, "", "os.environ['OMP_NUM_THREADS']", "");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "1");
    let text = t.read("pipeline.toml");
    t.pipeline(&text.replace(
        "out = \"{{ key }}.txt\"",
        "out = \"{{ key }}.txt\"\nthreads = 2",
    ));
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(again.stderr.contains("1 ok"), "{}", again.stderr);
    assert_eq!(t.read("build/a.txt"), "2");
}

/// A helper edited while a run is under way, by a task of a step whose
/// fingerprints are taken when each task starts (downstream of a step that
/// ran): the worker had imported the old code, so the tasks after the
/// edit ran it while their fingerprints hashed the new file. They must not
/// be taken as up to date with the new helper.
#[test]
fn a_helper_edited_mid_run_downstream_runs_the_later_tasks_again() {
    let t = Test::new();
    let inputs = |n: u32| {
        for key in ["a", "b", "c"] {
            t.write(format!("data/{key}.txt"), format!("{key}{n}\n"));
        }
    };
    inputs(1);
    t.write("scripts/helper.py", "V = 1\n");
    // Task a saves the helper (as an editor would) when `edit-now` exists.
    t.write(
        "scripts/m.py",
        "import os, helper\n\ndef f(input, out):\n    open(out, 'w').write(str(helper.V))\n    if input.endswith('a.txt') and os.path.exists('edit-now'):\n        os.remove('edit-now')\n        open(helper.__file__, 'w').write('V = 2222\\n')\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 1
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.txt"
[[steps]]
name = "py"
each = "copy"
python = "scripts/m.py:f"
out = "py/{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    // The copies change, so each `py` task is fingerprinted as it starts
    // and its worker's list of loaded files is the same as last time.
    inputs(2);
    t.write("edit-now", "");
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(!t.exists("edit-now"));
    // Every task ran the old helper (the worker imported it first).
    for key in ["a", "b", "c"] {
        assert_eq!(t.read(format!("build/py/{key}.txt")), "1", "{key}");
    }
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert!(
        again.stderr.contains("3 ok"),
        "the tasks that ran the old helper ran again: {}",
        again.stderr
    );
    for key in ["a", "b", "c"] {
        assert_eq!(t.read(format!("build/py/{key}.txt")), "2222", "{key}");
    }
}

/// A same-size edit that keeps the old mtime (or lands in the same second
/// as a `__pycache__` another Python run left): the worker compiles the
/// new source, never the stale bytecode.
#[test]
fn a_stale_pycache_is_never_run() {
    let t = Test::new();
    t.write("scripts/helper.py", "V = 1\n");
    one_call(&t, "", "str(__import__('helper').V)", "");
    // Another Python run leaves bytecode beside the helper.
    let status = std::process::Command::new("python3")
        .args(["-c", "import helper"])
        .current_dir(t.path("scripts"))
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(t.exists("scripts/__pycache__"));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "1");
    let old = std::fs::metadata(t.path("scripts/helper.py"))
        .unwrap()
        .modified()
        .unwrap();
    t.write("scripts/helper.py", "V = 2\n");
    std::fs::File::options()
        .write(true)
        .open(t.path("scripts/helper.py"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "2");
}

/// A plugin loaded from a file per task under one module name: the
/// number of loaded modules does not change, the file does.
#[test]
fn a_plugin_loaded_under_a_reused_module_name_is_a_dependency() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    t.write("data/b.txt", "b\n");
    t.write("plugins/a.py", "X = 'a1'\n");
    t.write("plugins/b.py", "X = 'b1'\n");
    t.write(
        "scripts/m.py",
        "import importlib.util, sys\n\ndef f(out, kind):\n    spec = importlib.util.spec_from_file_location('plugin', 'plugins/%s.py' % kind)\n    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n    sys.modules['plugin'] = m\n    open(out, 'w').write(m.X)\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"
jobs = 1
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "py"
each = "data"
python = "scripts/m.py:f"
with = { kind = "{{ stem }}" }
out = "{{ key }}.txt"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    t.write("plugins/b.py", "X = 'b2'\n");
    // (Task a may run again too: one worker ran both, and with b's request
    // queued behind a's call, b's plugin can be counted as a's too.)
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain
            .stdout
            .contains("# py b: input changed: plugins/b.py"),
        "{}",
        explain.stdout
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/b.txt"), "b2");
}

/// A project under the interpreter's prefix (`/usr/src/app` with
/// `/usr/bin/python3`; here a venv made in root itself): its helpers are
/// still the user's code.
#[test]
fn helpers_of_a_project_under_the_interpreters_prefix_are_dependencies() {
    let t = Test::new();
    let status = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(t.root())
        .status()
        .unwrap();
    assert!(status.success());
    t.write("scripts/helper.py", "V = 1\n");
    one_call(
        &t,
        "python = \"bin/python\"",
        "str(__import__('helper').V)",
        "",
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "1");
    t.write("scripts/helper.py", "V = 2\n");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "2");
}

/// A helper imported through a link (outside root) to a folder of root.
#[test]
fn a_helper_imported_through_a_link_to_root_is_a_dependency() {
    let t = Test::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("link");
    std::os::unix::fs::symlink(t.root(), &link).unwrap();
    t.write("lib/helper.py", "V = 1\n");
    one_call(
        &t,
        "",
        &format!(
            "(sys.path.insert(0, '{}/lib'), str(__import__('helper').V))[1]",
            link.display()
        ),
        "",
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "1");
    t.write("lib/helper.py", "V = 2\n");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "2");
}
