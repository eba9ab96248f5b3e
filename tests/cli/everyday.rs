//! Everyday use (issue 12): partial reductions, quiet cron, clean, targets,
//! `--set`, input lists, `--explain` of failures, terminal details.

use std::path::Path;

use crate::support::*;

/// Three good CSV files and a bad one (`bad.csv`); `check` fails on the bad.
fn folder(t: &Test) {
    for (name, text) in [
        ("a", "t,v\n1,1\n2,5\n"),
        ("b", "t,v\n1,2\n2,6\n"),
        ("c", "t,v\n1,3\n2,7\n"),
        ("bad", "t,v\nx,oops\n"),
    ] {
        t.write(format!("data/{name}.csv"), text);
    }
}

const CHECK: &str = r#"
[pipeline]
out = "build"

[inputs.logs]
glob = "data/*.csv"

[[steps]]
name = "check"
each = "logs"
shell = "grep -q '^1,' {{ input }} && cp {{ input }} {{ out }}"
out = "check/{{ key }}.csv"
"#;

/// The `tasks` rows of the last run: `step key status reason` (read with
/// rusqlite: no `sqlite3` program needed, issue 13 item 6).
fn last_run_rows(t: &Test) -> Vec<String> {
    t.query(
        "SELECT step || ' ' || key || ' ' || status || ' ' || coalesce(reason, '-') \
         FROM tasks WHERE run_id = (SELECT max(id) FROM runs) ORDER BY step, key",
    )
}

/// The ok, failed, skipped and up-to-date counts of a step in the summary.
fn step_row<'a>(stderr: &'a str, step: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .find(|l| l.split_whitespace().next() == Some(step))
        .map(|l| l.split_whitespace().skip(1).take(4).collect())
        .unwrap_or_default()
}

// ---- 1. partial reductions -------------------------------------------------

#[test]
fn partial_runs_over_the_outputs_that_exist_and_names_the_failed() {
    let t = Test::new();
    folder(&t);
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[steps]]
name = "summary"
all = "check"
partial = true
shell = "cat {{ inputs }} > {{ out }}; echo missing: {{ failed }} >> {{ out }}"
out = "summary.txt"

[[steps]]
name = "args"
all = "check"
partial = true
run = ["echo", "{{ failed }}", "--", "{{ inputs }}"]
stdout = true
out = "args.txt"

[[steps]]
name = "concat"
all = "check"
partial = true
use = "table.concat"
out = "concat.csv"
"#
    ));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let summary = t.read("build/summary.txt");
    assert!(summary.ends_with("missing: bad\n"), "{summary}");
    assert_eq!(summary.matches("t,v").count(), 3, "{summary}");
    // In `run`, a whole `{{ failed }}` element is one argument per key.
    assert_eq!(
        t.read("build/args.txt"),
        "bad -- build/check/a.csv build/check/b.csv build/check/c.csv\n"
    );
    let concat = t.read("build/concat.csv");
    assert_eq!(concat.lines().count(), 7, "{concat}");
    assert!(!concat.contains("oops"));
    assert!(
        run.stderr
            .contains("summary/all: partial: without check/bad (failed)"),
        "{}",
        run.stderr
    );
    let rows = last_run_rows(&t);
    assert!(
        rows.contains(&"summary all ok partial: without check/bad (failed)".to_owned()),
        "{rows:?}"
    );

    // Nothing changed: the failing task runs again, the summaries do not.
    let again = t.run(["pipeline.toml"]);
    again.expect_code(1);
    for step in ["summary", "args", "concat"] {
        assert_eq!(
            step_row(&again.stderr, step),
            ["0", "0", "0", "1"],
            "{}",
            again.stderr
        );
    }

    // The bad file is fixed: the failed set changes, the summaries run again.
    t.write("data/bad.csv", "t,v\n1,9\n");
    t.run(["pipeline.toml"]).expect_code(0);
    let summary = t.read("build/summary.txt");
    assert!(summary.ends_with("missing:\n"), "{summary}");
    assert_eq!(summary.matches("t,v").count(), 4, "{summary}");
    assert_eq!(t.read("build/concat.csv").lines().count(), 8);
}

#[test]
fn a_partial_python_step_gets_failed_as_an_argument() {
    let t = Test::new();
    folder(&t);
    t.write(
        "scripts/summary.py",
        "def summarize(inputs, failed, out):\n    \
         with open(out, 'w') as f:\n        \
         f.write(f'{len(inputs)} files, failed: {\",\".join(failed)}\\n')\n",
    );
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[steps]]
name = "summary"
all = "check"
partial = true
python = "scripts/summary.py:summarize"
out = "summary.txt"
"#
    ));
    t.run(["pipeline.toml"]).expect_code(1);
    assert_eq!(t.read("build/summary.txt"), "3 files, failed: bad\n");
    t.write("data/bad.csv", "t,v\n1,1\n");
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/summary.txt"), "4 files, failed: \n");
}

#[test]
fn a_partial_task_with_every_upstream_failed_is_skipped() {
    let t = Test::new();
    t.write("data/x.csv", "t,v\nx,1\n");
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[steps]]
name = "summary"
all = "check"
partial = true
shell = "cat {{ inputs }} > {{ out }}"
out = "summary.txt"
"#
    ));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(!t.exists("build/summary.txt"));
    assert!(
        run.stderr.contains("SKIPPED summary all: check/x failed"),
        "{}",
        run.stderr
    );
}

/// A partial task whose command cannot be rendered over the outputs that
/// exist (it names the fourth input, and one of four failed) fails with
/// the template engine's reason, typed (issue 13 item 3), not a panic.
#[test]
fn a_partial_command_that_cannot_be_rendered_again_fails_its_task() {
    let t = Test::new();
    folder(&t);
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[steps]]
name = "last"
all = "check"
partial = true
shell = "cp {{ inputs[3] }} {{ out }}"
out = "last.csv"
"#
    ));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(!t.exists("build/last.csv"));
    let reason = "cannot render the command over the outputs of the upstream tasks \
                  that succeeded: template error: undefined value";
    assert!(run.stderr.contains(reason), "{}", run.stderr);
    let rows = last_run_rows(&t);
    assert!(
        rows.contains(&format!("last all failed {reason}")),
        "{rows:?}"
    );
}

#[test]
fn a_plot_can_be_partial_and_its_title_reads_failed() {
    let t = Test::new();
    folder(&t);
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[plots]]
name = "overview"
all = "check"
partial = true
x = "t"
y = ["v"]
title = "{{ inputs | length }} files, left out: {{ failed | join(', ') }}"
out = "overview.svg"
"#
    ));
    t.run(["pipeline.toml"]).expect_code(1);
    let svg = t.read("build/overview.svg");
    assert!(svg.contains("3 files, left out: bad"), "{svg}");
}

#[test]
fn without_partial_a_skipped_task_says_which_failure_it_waited_for() {
    let t = Test::new();
    folder(&t);
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[steps]]
name = "copy"
each = "check"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"

[[steps]]
name = "summary"
all = "copy"
shell = "cat {{ inputs }} > {{ out }}"
out = "summary.txt"
"#
    ));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    // Plain lines name the first failure upstream, through the chain.
    assert!(
        run.stderr.contains("SKIPPED copy bad: check/bad failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SKIPPED summary all: check/bad failed"),
        "{}",
        run.stderr
    );
    // The failure block lists what it held up.
    assert!(
        run.stderr.contains("  skipped: copy/bad, summary/all"),
        "{}",
        run.stderr
    );
    let rows = last_run_rows(&t);
    assert!(
        rows.contains(&"summary all skipped check/bad failed".to_owned()),
        "{rows:?}"
    );
    assert!(
        rows.contains(&"copy bad skipped check/bad failed".to_owned()),
        "{rows:?}"
    );
}

#[test]
fn partial_where_nothing_can_fail_and_failed_without_partial_are_load_errors() {
    let t = Test::new();
    folder(&t);
    t.pipeline(&format!(
        "{CHECK}{}",
        r#"
[[steps]]
name = "each"
each = "check"
partial = true
run = ["true"]

[[steps]]
name = "files"
all = "logs"
partial = true
run = ["true"]

[[steps]]
name = "strict"
all = "check"
shell = "echo {{ failed }}"
"#
    ));
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("`partial` has no use on step `each` (`each`)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`partial` has no use on step `files` (`all`)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`failed` is only known to partial steps, and step `strict` is not one"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("add `partial = true`"),
        "{}",
        run.stderr
    );
}

#[allow(dead_code)]
fn unused(_: &Path) {}

// ---- 4. targets ------------------------------------------------------------

const TARGETS: &str = r#"
[pipeline]
out = "build"

[inputs.logs]
glob = "data/**/*.csv"

[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"

[[plots]]
name = "plot"
each = "copy"
x = "t"
out = "plots/{{ key }}.svg"

[[steps]]
name = "summary"
all = "copy"
shell = "cat {{ inputs }} > {{ out }}"
out = "summary.csv"
"#;

fn target_folder(t: &Test) {
    for key in ["sub0/st0_13", "sub0/st0_14", "sub1/st1_05"] {
        t.write(format!("data/{key}.csv"), "t,v\n1,2\n2,3\n");
    }
    t.pipeline(TARGETS);
}

#[test]
fn an_output_path_builds_that_task_and_what_it_needs() {
    let t = Test::new();
    target_folder(&t);
    t.run(["pipeline.toml", "build/plots/sub0/st0_14.svg"])
        .expect_code(0);
    assert_eq!(
        files_under(&t.path("build")),
        ["copy/sub0/st0_14.csv", "plots/sub0/st0_14.svg"]
    );
    // From another folder, the path is relative to where it is typed.
    std::fs::create_dir_all(t.path("elsewhere")).unwrap();
    t.command(["../pipeline.toml", "../build/summary.csv"])
        .current_dir(t.path("elsewhere"))
        .output_run()
        .expect_code(0);
    assert!(t.exists("build/summary.csv"));
    assert!(!t.exists("build/plots/sub1/st1_05.svg"));
    // A folder of outputs: every task writing under it.
    t.run(["pipeline.toml", "build/plots/sub1"]).expect_code(0);
    assert!(t.exists("build/plots/sub1/st1_05.svg"));
    assert!(!t.exists("build/plots/sub0/st0_13.svg"));
}

#[test]
fn only_step_and_key_glob() {
    let t = Test::new();
    target_folder(&t);
    t.run(["pipeline.toml", "--only", "plot:sub0/*"])
        .expect_code(0);
    assert_eq!(
        files_under(&t.path("build")),
        [
            "copy/sub0/st0_13.csv",
            "copy/sub0/st0_14.csv",
            "plots/sub0/st0_13.svg",
            "plots/sub0/st0_14.svg"
        ]
    );
    // `--only STEP` still means every task of the step.
    t.run(["pipeline.toml", "--only", "plot"]).expect_code(0);
    assert!(t.exists("build/plots/sub1/st1_05.svg"));
    assert!(!t.exists("build/summary.csv"));
}

#[test]
fn targets_that_name_nothing_are_usage_errors() {
    let t = Test::new();
    target_folder(&t);
    let run = t.run(["pipeline.toml", "build/plots/sub0/st0_41.svg"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("no task of `pipeline.toml` writes `build/plots/sub0/st0_41.svg`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("did you mean `build/plots/sub0/st0_14.svg`"),
        "{}",
        run.stderr
    );
    let run = t.run(["pipeline.toml", "--only", "plot:sub9/*"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("no task of step `plot` has a key matching `sub9/*`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("sub0/st0_13"), "{}", run.stderr);
    let run = t.run(["pipeline.toml", "--only", "plt:sub0/*"]);
    run.expect_code(2);
    assert!(run.stderr.contains("did you mean `plot`"), "{}", run.stderr);
    assert!(!t.exists("build"));
}

// ---- 6. inputs listed by another tool --------------------------------------

const LISTED: &str = r#"
[pipeline]
out = "build"

[inputs.logs]
from = "list.txt"
batches = 2

[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"

[[steps]]
name = "pairs"
batch = "logs"
shell = "cat {{ inputs }} > {{ out }}"
out = "pairs/{{ batch.index }}.csv"
"#;

#[test]
fn inputs_from_a_list_file_with_keys_as_paths() {
    let t = Test::new();
    for f in ["data/a.csv", "data/sub/b.csv", "data/c.csv", "data/d.csv"] {
        t.write(f, "t,v\n1,2\n");
    }
    // Lines as `find` prints them (an absolute path inside root too), one
    // blank line, one file twice; `d.csv` is not listed.
    let abs = t.path("data/c.csv");
    t.write(
        "list.txt",
        format!(
            "data/sub/b.csv\n./data/a.csv\n\n{}\r\ndata/a.csv\n",
            abs.display()
        ),
    );
    t.pipeline(LISTED);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(
        files_under(&t.path("build")),
        [
            "copy/data/a.csv",
            "copy/data/c.csv",
            "copy/data/sub/b.csv",
            "pairs/0.csv",
            "pairs/1.csv"
        ]
    );
    // The list changes: the new file's task runs, the others are up to date.
    t.write(
        "list.txt",
        "data/a.csv\ndata/c.csv\ndata/sub/b.csv\ndata/d.csv\n",
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert_eq!(
        step_row(&run.stderr, "copy"),
        ["1", "0", "0", "3"],
        "{}",
        run.stderr
    );
}

#[test]
fn inputs_from_standard_input() {
    let t = Test::new();
    t.write("data/a.csv", "1\n").write("data/b.csv", "2\n");
    t.pipeline(&LISTED.replace("from = \"list.txt\"", "from = \"-\""));
    let mut child = t
        .command(["pipeline.toml"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"data/b.csv\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        files_under(&t.path("build")),
        ["copy/data/b.csv", "pairs/0.csv"]
    );
}

#[test]
fn a_missing_listed_file_is_an_error_with_the_lists_line() {
    let t = Test::new();
    t.write("data/a.csv", "1\n")
        .write("data/x.csv", "1\n")
        .write("data/x.tsv", "1\n");
    t.write("list.txt", "data/a.csv\ndata/gone.csv\n/elsewhere/z.csv\n");
    t.pipeline(LISTED);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "files of the list of input set `logs`: `data/gone.csv` (line 2 of `list.txt`) does not exist"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`/elsewhere/z.csv` (line 3 of `list.txt`) is outside root"),
        "{}",
        run.stderr
    );
    // It points at `from` in the pipeline file.
    assert!(run.stderr.contains("pipeline.toml:6:"), "{}", run.stderr);
    assert!(!t.exists("build"));
    // The same key rules as globs: two files with one key are an error.
    t.write("list.txt", "data/x.csv\ndata/x.tsv\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("has two files with the key `data/x`: `data/x.csv` and `data/x.tsv`"),
        "{}",
        run.stderr
    );
    // A missing list, and `glob` with `from`.
    std::fs::remove_file(t.path("list.txt")).unwrap();
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("cannot read the list `list.txt` of input set `logs`"),
        "{}",
        run.stderr
    );
    t.pipeline(&LISTED.replace("from = ", "glob = \"data/*.csv\"\nfrom = "));
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("input set `logs` has both `glob` and `from`"),
        "{}",
        run.stderr
    );
}

/// A glob written as an absolute path finds its files inside root as well
/// as outside it (it matched nothing inside root: the files were matched
/// as root-relative paths against the absolute pattern), with the keys of
/// a relative glob, and a second run finds them up to date.
#[test]
fn an_absolute_glob_finds_files_inside_root() {
    let t = Test::new();
    folder(&t);
    let glob = format!("{}/data/[abc].csv", t.root().display());
    t.pipeline(&CHECK.replace("\"data/*.csv\"", &format!("{glob:?}")));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    for key in ["a", "b", "c"] {
        assert_eq!(
            t.read(format!("build/check/{key}.csv")),
            t.read(format!("data/{key}.csv"))
        );
    }
    assert!(!t.exists("build/check/bad.csv"));
    let again = t.run(["pipeline.toml"]);
    again.expect_code(0);
    assert_eq!(
        step_row(&again.stderr, "check"),
        ["0", "0", "0", "3"],
        "{}",
        again.stderr
    );
}

// ---- 7. --explain of tasks that failed --------------------------------------

#[test]
fn explain_says_a_task_failed_in_the_last_run_and_what_changed_since() {
    let t = Test::new();
    folder(&t);
    t.pipeline(CHECK);
    // Its very first run failed: it is not "new" afterwards.
    t.run(["pipeline.toml"]).expect_code(1);
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain
            .stdout
            .contains("# check bad: failed in the last run (exit code 1); nothing changed since"),
        "{}",
        explain.stdout
    );
    assert!(
        explain.stdout.contains("# 3 tasks up to date"),
        "{}",
        explain.stdout
    );
    t.write("data/bad.csv", "t,v\n1,1\n");
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain.stdout.contains(
            "# check bad: failed in the last run (exit code 1); since then: input changed: data/bad.csv"
        ),
        "{}",
        explain.stdout
    );
    t.pipeline(&CHECK.replace("grep -q", "grep -qs"));
    let explain = t.run(["pipeline.toml", "-n", "--explain"]);
    assert!(
        explain.stdout.contains(
            "# check bad: failed in the last run (exit code 1); since then: action changed"
        ),
        "{}",
        explain.stdout
    );
}

// ---- 2. quiet cron ---------------------------------------------------------

/// Runs the binary as cron does: an empty environment but a minimal PATH,
/// no terminal, everything it prints into a file (the mail). Returns the
/// exit code and the mail.
fn cron(t: &Test, args: &str) -> (i32, String) {
    let line = format!("{} {args} > mail.txt 2>&1", env!("CARGO_BIN_EXE_runner"));
    let status = std::process::Command::new("env")
        .args(["-i", "PATH=/usr/bin:/bin", "sh", "-c", &line])
        .current_dir(t.root())
        .stdin(std::process::Stdio::null())
        .status()
        .expect("env");
    (status.code().unwrap_or(-1), t.read("mail.txt"))
}

#[test]
fn quiet_cron_mails_only_new_failures() {
    let t = Test::new();
    folder(&t);
    t.pipeline(CHECK);
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!(code, 1);
    assert!(mail.contains("FAILED: check bad"), "{mail}");
    let started = mail.len();
    assert!(started > 0);

    // The same failure again: nothing to say, same exit code.
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!((code, mail.as_str()), (1, ""));

    // A new failure: it is printed; the old one is one line.
    t.write("data/worse.csv", "t,v\nno,no\n");
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!(code, 1);
    assert!(mail.contains("FAILED: check worse"), "{mail}");
    assert!(!mail.contains("FAILED: check bad"), "{mail}");
    assert!(mail.contains("1 failure unchanged since 20"), "{mail}");
    assert_eq!(cron(&t, "--quiet pipeline.toml"), (1, String::new()));

    // The same task failing differently (another input): news again.
    t.write("data/bad.csv", "t,v\nstill,bad\n");
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!(code, 1);
    assert!(mail.contains("FAILED: check bad"), "{mail}");
    assert!(mail.contains("1 failure unchanged since"), "{mail}");

    // Without --quiet, everything is printed as always.
    let (_, mail) = cron(&t, "pipeline.toml");
    assert!(mail.contains("FAILED: check bad") && mail.contains("FAILED: check worse"));

    // All fixed: silence and 0.
    t.write("data/bad.csv", "t,v\n1,1\n")
        .write("data/worse.csv", "t,v\n1,1\n");
    assert_eq!(cron(&t, "--quiet pipeline.toml"), (0, String::new()));
}

/// Holds the pipeline's run lock from another process (as a running run
/// would), having written `stamp` as the holder's "pid start" line.
fn hold_lock(t: &Test, stamp: &str) -> std::process::Child {
    t.write(".runner/pipeline/lock", stamp);
    let child = std::process::Command::new("flock")
        .arg(t.path(".runner/pipeline/lock"))
        .args([
            "sh",
            "-c",
            "touch held; while [ ! -e release ]; do sleep 0.05; done",
        ])
        .current_dir(t.root())
        .spawn()
        .expect("flock");
    while !t.exists("held") {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

#[test]
fn quiet_cron_says_nothing_of_a_recent_lock_holder_but_reports_a_stuck_one() {
    if std::process::Command::new("flock")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: `flock` (util-linux) is not installed");
        return;
    }
    let t = Test::new();
    folder(&t);
    t.pipeline(&CHECK.replace("out = \"build\"", "out = \"build\"\nlock_warning = \"2h\""));
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut holder = hold_lock(&t, &format!("4242 {now}\n"));
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!((code, mail.as_str()), (3, ""));
    // Without --quiet it is said, as before.
    let (code, mail) = cron(&t, "pipeline.toml");
    assert_eq!(code, 3);
    assert!(mail.contains("another run (pid 4242"), "{mail}");
    t.write("release", "");
    holder.wait().unwrap();
    std::fs::remove_file(t.path("release")).unwrap();
    std::fs::remove_file(t.path("held")).unwrap();

    // A holder that started 3 hours ago is stuck: it must reach someone.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    let stamp = format!("4243 {}\n", humantime::format_rfc3339_seconds(old));
    let mut holder = hold_lock(&t, &stamp);
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!(code, 3);
    assert!(mail.contains("another run (pid 4243"), "{mail}");
    t.write("release", "");
    holder.wait().unwrap();
}

#[test]
fn quiet_wait_does_not_say_it_waits() {
    if std::process::Command::new("flock")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: `flock` (util-linux) is not installed");
        return;
    }
    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,1\n").pipeline(CHECK);
    let mut holder = hold_lock(&t, "4242 2020-01-01T00:00:00Z\n");
    let waiting = t
        .command(["--quiet", "--wait", "pipeline.toml"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let it find the lock held (not a limit: it waits however long).
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.write("release", "");
    holder.wait().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(t.exists("build/check/a.csv"));
}

// ---- 3. clean and prune ----------------------------------------------------

const COPY: &str = r#"
[pipeline]
out = "build"

[inputs.logs]
glob = "data/*.csv"

[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"
"#;

#[test]
fn clean_lists_then_deletes_only_dead_outputs_runner_wrote() {
    let t = Test::new();
    for f in ["a", "b", "c"] {
        t.write(format!("data/{f}.csv"), format!("{f}\n"));
    }
    t.pipeline(COPY);
    t.run(["pipeline.toml"]).expect_code(0);
    // b and c go away; c's output is then edited by hand; files are put
    // under `out` by hand, one beside runner's outputs.
    std::fs::remove_file(t.path("data/b.csv")).unwrap();
    std::fs::remove_file(t.path("data/c.csv")).unwrap();
    t.write("build/copy/c.csv", "mine now\n")
        .write("build/notes.txt", "by hand\n")
        .write("build/copy/hand.csv", "by hand\n");

    let list = t.run(["clean", "pipeline.toml"]);
    list.expect_code(0);
    assert!(
        list.stdout.contains("would delete build/copy/b.csv\n"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("keeping build/copy/c.csv: changed since runner wrote it"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("1 file (2 B); run `runner clean pipeline.toml --yes`")
    );
    assert!(!list.stdout.contains("hand") && !list.stdout.contains("notes"));
    assert!(t.exists("build/copy/b.csv"), "listing deletes nothing");

    let yes = t.run(["clean", "pipeline.toml", "--yes"]);
    yes.expect_code(0);
    assert!(
        yes.stdout.contains("deleted build/copy/b.csv"),
        "{}",
        yes.stdout
    );
    assert_eq!(
        files_under(&t.path("build")),
        ["copy/a.csv", "copy/c.csv", "copy/hand.csv", "notes.txt"]
    );
    let again = t.run(["clean", "pipeline.toml"]);
    assert!(
        again.stdout.contains("nothing to clean"),
        "{}",
        again.stdout
    );

    // --all: every output runner wrote (still unchanged), and the state.
    let all = t.run(["clean", "--all", "pipeline.toml"]);
    all.expect_code(0);
    assert!(
        all.stdout.contains("would delete build/copy/a.csv"),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout
            .contains("would remove the state folder .runner/pipeline")
    );
    t.run(["clean", "--all", "--yes", "pipeline.toml"])
        .expect_code(0);
    assert_eq!(
        files_under(&t.path("build")),
        ["copy/c.csv", "copy/hand.csv", "notes.txt"]
    );
    assert!(!t.exists(".runner/pipeline"));
    // The next run is a full run.
    let run = t.run(["pipeline.toml"]);
    assert_eq!(
        step_row(&run.stderr, "copy"),
        ["1", "0", "0", "0"],
        "{}",
        run.stderr
    );
}

#[test]
fn an_output_whose_template_changed_is_dead_too() {
    let t = Test::new();
    t.write("data/a.csv", "a\n").pipeline(COPY);
    t.run(["pipeline.toml"]).expect_code(0);
    t.pipeline(&COPY.replace("copy/{{ key }}.csv", "copied/{{ key }}.csv"));
    t.run(["pipeline.toml"]).expect_code(0);
    let yes = t.run(["clean", "--yes", "pipeline.toml"]);
    assert!(
        yes.stdout.contains("deleted build/copy/a.csv"),
        "{}",
        yes.stdout
    );
    // Its folder, left empty, goes too; `out` itself stays.
    assert_eq!(files_under(&t.path("build")), ["copied/a.csv"]);
    assert!(!t.exists("build/copy"));
}

#[test]
fn prune_cleans_after_every_successful_run() {
    let t = Test::new();
    t.write("data/a.csv", "a\n").write("data/b.csv", "b\n");
    t.pipeline(&COPY.replace("out = \"build\"", "out = \"build\"\nprune = true"));
    t.run(["pipeline.toml"]).expect_code(0);
    std::fs::remove_file(t.path("data/b.csv")).unwrap();
    t.write("build/copy/hand.csv", "by hand\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("pruned 1 output that no task declares any more"),
        "{}",
        run.stderr
    );
    assert_eq!(
        files_under(&t.path("build")),
        ["copy/a.csv", "copy/hand.csv"]
    );
    // Quiet stays quiet; a failed run prunes nothing.
    t.write("data/c.csv", "c\n");
    t.run(["pipeline.toml"]).expect_code(0);
    std::fs::remove_file(t.path("data/c.csv")).unwrap();
    t.write("data/z.csv", "z\n");
    t.pipeline(
        &COPY
            .replace("out = \"build\"", "out = \"build\"\nprune = true")
            .replace(
                "run = [\"cp\"",
                "run = [\"sh\", \"-c\", \"test $0 != data/z.csv && cp $0 $1\"",
            ),
    );
    t.run(["--quiet", "pipeline.toml"]).expect_code(1);
    assert!(t.exists("build/copy/c.csv"));
}

// ---- 8. terminal -----------------------------------------------------------

fn script_available() -> bool {
    let ok = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        eprintln!("skipped: `script` (util-linux) is not installed");
    }
    ok
}

/// Runs a shell line on a pseudo-terminal (`script`), in the test's folder;
/// returns what the terminal received.
fn on_terminal(t: &Test, line: &str) -> String {
    let out = std::process::Command::new("script")
        .args(["-qfec", line, "/dev/null"])
        .current_dir(t.root())
        .env("TERM", "xterm")
        .env("RUNNER", env!("CARGO_BIN_EXE_runner"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rows drawn, escape sequences taken out, split at newlines, carriage
/// returns and cursor moves (each redraw starts its row again) and where a
/// bar's bold name starts: indicatif pads each bar to the terminal's width
/// and lets the terminal go to the next row, so a bar wider than the
/// terminal shows as a row wider than it.
fn rows(screen: &str) -> Vec<String> {
    let screen = screen.replace("\u{1b}[1m", "\n");
    let mut plain = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final letter; a cursor move ends a row.
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() || c == '~' {
                        if matches!(c, 'A' | 'B' | 'E' | 'F' | 'H') {
                            plain.push('\n');
                        }
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split(['\n', '\r'])
        .map(|r| r.trim_end().to_owned())
        .filter(|r| !r.is_empty())
        .collect()
}

fn slow_steps(t: &Test, files: usize, task: &str) {
    for i in 0..files {
        t.write(format!("data/f{i:02}.csv"), "t,v\n1,2\n");
    }
    t.pipeline(&format!(
        r#"
[pipeline]
out = "build"
jobs = 2

[inputs.logs]
glob = "data/*.csv"

[[steps]]
name = "a_rather_long_step_name"
each = "logs"
shell = "{task}"
out = "a/{{{{ key }}}}.csv"

[[steps]]
name = "copy"
each = "a_rather_long_step_name"
run = ["cp", "{{{{ input }}}}", "{{{{ out }}}}"]
out = "b/{{{{ key }}}}.csv"
"#
    ));
}

#[test]
fn bars_fit_a_70_column_terminal() {
    if !script_available() {
        return;
    }
    let t = Test::new();
    slow_steps(&t, 6, "sleep 0.3; cp {{ input }} {{ out }}");
    let screen = on_terminal(&t, "stty cols 70 rows 30; $RUNNER pipeline.toml");
    let rows = rows(&screen);
    assert!(rows.iter().any(|r| r.contains("total (2j)")), "{screen}");
    // Up to the summary (plain text, not bars), no row is wider than the
    // terminal (a bar fills it exactly: indicatif pads to the width).
    let summary = rows.iter().position(|r| r.starts_with("step ")).unwrap();
    let long: Vec<&String> = rows[..summary]
        .iter()
        .filter(|r| r.chars().count() > 70)
        .collect();
    assert!(long.is_empty(), "rows wider than the terminal: {long:#?}");
    // The bar itself is there, as wide as what is left.
    assert!(rows.iter().any(|r| r.contains("[=")), "{screen}");
}

#[test]
fn bars_follow_a_resize() {
    if !script_available() {
        return;
    }
    let t = Test::new();
    // Every task waits for the resize; then `f05` fails: its line, printed
    // above the bars and padded to the terminal's width, marks the moment.
    slow_steps(
        &t,
        6,
        "touch started; while [ ! -e resized ]; do sleep 0.05; done; sleep 0.3; \
         test {{ key }} != f05 && cp {{ input }} {{ out }}",
    );
    let screen = on_terminal(
        &t,
        "stty cols 120 rows 30; \
         (while [ ! -e started ]; do sleep 0.05; done; sleep 0.5; stty cols 60 < /dev/tty; touch resized) & \
         $RUNNER pipeline.toml; wait",
    );
    let rows = rows(&screen);
    let mark = rows
        .iter()
        .position(|r| r.starts_with("FAILED a_rather_long_step_name f05"))
        .unwrap_or_else(|| panic!("no failure line: {screen}"));
    let widest_before = rows[..mark].iter().map(|r| r.chars().count()).max();
    assert!(widest_before > Some(60), "{:#?}", &rows[..mark]);
    let summary = rows
        .iter()
        .position(|r| r.starts_with("FAILED: a_rather_long_step_name f05"))
        .unwrap_or(rows.len());
    let long: Vec<&String> = rows[mark..summary]
        .iter()
        .filter(|r| r.chars().count() > 60)
        .collect();
    assert!(
        long.is_empty(),
        "rows wider than 60 after the resize: {long:#?}"
    );
}

#[test]
fn ctrl_c_clears_the_bars_and_counts_interrupted_tasks() {
    if !script_available() {
        return;
    }
    let t = Test::new();
    slow_steps(&t, 3, "touch started; sleep 30; cp {{ input }} {{ out }}");
    let screen = on_terminal(
        &t,
        "stty cols 100 rows 30; $RUNNER pipeline.toml & pid=$!; \
         while [ ! -e started ]; do sleep 0.05; done; sleep 0.3; \
         kill -INT $pid; wait $pid; echo EXIT=$?",
    );
    assert!(screen.contains("EXIT=130"), "{screen}");
    let stopping = screen
        .find("interrupted: stopping 2 running tasks")
        .unwrap_or_else(|| panic!("no stopping line: {screen}"));
    // No bar is drawn after it: the summary comes on a clean screen.
    assert!(!screen[stopping..].contains("total (2j)"), "{screen}");
    let after = rows(&screen[stopping..]).join("\n");
    assert!(
        after.contains("interrupted: a_rather_long_step_name/f00, a_rather_long_step_name/f01"),
        "{after}"
    );
    assert!(!after.contains("FAILED"), "{after}");
    assert!(
        after.contains("INTERRUPTED: 0 ok, 0 failed, 2 interrupted, 4 skipped, 0 up to date"),
        "{after}"
    );
    let header = after.lines().find(|l| l.starts_with("step")).unwrap();
    assert!(header.contains("interrupted"), "{header}");
}

#[test]
fn the_time_columns_say_what_they_are() {
    let t = Test::new();
    for i in 0..4 {
        t.write(format!("data/f{i}.csv"), "1\n");
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.logs]
glob = "data/*.csv"
[[steps]]
name = "nap"
each = "logs"
shell = "sleep 0.5; cp {{ input }} {{ out }}"
out = "{{ key }}.csv"
"#,
    );
    let run = t.run(["pipeline.toml", "-j", "4"]);
    run.expect_code(0);
    let header = run.stderr.lines().find(|l| l.starts_with("step")).unwrap();
    assert!(header.ends_with("sum of tasks      wall"), "{header}");
    let row: Vec<&str> = run
        .stderr
        .lines()
        .find(|l| l.starts_with("nap"))
        .unwrap()
        .split_whitespace()
        .collect();
    let secs = |s: &str| s.trim_end_matches('s').parse::<f64>().unwrap();
    let (sum, wall) = (secs(row[5]), secs(row[6]));
    // Four half-second tasks side by side: the sum is their total, the wall
    // time how long the step took.
    assert!(sum >= 2.0, "{row:?}");
    assert!(wall >= 0.5 && wall < sum, "{row:?}");
}

// ---- 5. --set ----------------------------------------------------------------

const VARS: &str = r#"
[pipeline]
out = "build"

[vars]
n = 2
label = "Run"
scale = 1.5
on = true

[inputs.logs]
glob = "data/*.csv"

[[steps]]
name = "head"
each = "logs"
shell = "head -n {{ vars.n }} {{ input }} > {{ out }}"
out = "head/{{ key }}.csv"

[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"

[[plots]]
name = "plot"
each = "copy"
x = "t"
title = "{{ vars.label }} {{ stem }} x{{ vars.scale }}"
out = "plots/{{ key }}.svg"
"#;

#[test]
fn set_overrides_vars_typed_and_reruns_only_what_reads_them() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,1\n2,2\n3,3\n4,4\n")
        .pipeline(VARS);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/head/a.csv").lines().count(), 2);

    // A number stays a number: `head -n 4`; only `head` runs again.
    let run = t.run(["pipeline.toml", "--set", "n=4"]);
    run.expect_code(0);
    assert_eq!(t.read("build/head/a.csv").lines().count(), 4);
    assert_eq!(
        step_row(&run.stderr, "head"),
        ["1", "0", "0", "0"],
        "{}",
        run.stderr
    );
    assert_eq!(step_row(&run.stderr, "copy"), ["0", "0", "0", "1"]);
    assert_eq!(step_row(&run.stderr, "plot"), ["0", "0", "0", "1"]);
    // The same override again: up to date; without it, back to the file's.
    let run = t.run(["pipeline.toml", "--set", "n=4"]);
    assert_eq!(
        step_row(&run.stderr, "head"),
        ["0", "0", "0", "1"],
        "{}",
        run.stderr
    );

    // A plot's templated title reads `label` and `scale`.
    let run = t.run([
        "pipeline.toml",
        "--set",
        "n=4",
        "--set=label=Test",
        "--set",
        "scale=3",
    ]);
    run.expect_code(0);
    assert_eq!(
        step_row(&run.stderr, "plot"),
        ["1", "0", "0", "0"],
        "{}",
        run.stderr
    );
    assert!(t.read("build/plots/a.svg").contains("Test a x3.0"));

    // Recorded among the run's flags, typed as applied (and in the JSON).
    let history = t.run(["history", "pipeline.toml"]);
    let newest = history.stdout.lines().nth(1).unwrap();
    assert!(
        newest.ends_with("--set=n=4 --set=label=Test --set=scale=3.0"),
        "{}",
        history.stdout
    );
    let json = t.run(["history", "--json", "pipeline.toml"]);
    let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        runs[0]["flags"],
        serde_json::json!(["--set=n=4", "--set=label=Test", "--set=scale=3.0"])
    );
    assert_eq!(runs[3]["flags"], serde_json::json!([]), "{}", json.stdout);
}

#[test]
fn set_refuses_unknown_names_and_values_of_the_wrong_type() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,1\n").pipeline(VARS);
    let run = t.run(["pipeline.toml", "--set", "nn=3"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains(
            "`--set nn=3`: no variable `nn` in `[vars]` of `pipeline.toml`; did you mean `n`?"
        ),
        "{}",
        run.stderr
    );
    let run = t.run(["pipeline.toml", "--set", "n=many"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("`--set n=many`: `n` is an integer in `[vars]`, and `many` is not one"),
        "{}",
        run.stderr
    );
    let run = t.run(["pipeline.toml", "--set", "on=yes"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`on` is a boolean (true or false)"),
        "{}",
        run.stderr
    );
    let run = t.run(["pipeline.toml", "--set", "n"]);
    run.expect_code(2);
    assert!(run.stderr.contains("expected NAME=VALUE"), "{}", run.stderr);
    assert!(!t.exists("build"));
}

/// Without `lock_warning`, a holder is stuck after a day: one that started
/// 3 hours ago is not mailed, one that started 2 days ago is.
#[test]
fn quiet_cron_reports_a_lock_held_longer_than_a_day_by_default() {
    if std::process::Command::new("flock")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: `flock` (util-linux) is not installed");
        return;
    }
    let t = Test::new();
    folder(&t);
    t.pipeline(CHECK);
    let hours_ago = |h: u64| {
        humantime::format_rfc3339_seconds(
            std::time::SystemTime::now() - std::time::Duration::from_secs(h * 3600),
        )
    };
    let mut holder = hold_lock(&t, &format!("4242 {}\n", hours_ago(3)));
    assert_eq!(cron(&t, "--quiet pipeline.toml"), (3, String::new()));
    t.write("release", "");
    holder.wait().unwrap();
    std::fs::remove_file(t.path("release")).unwrap();
    std::fs::remove_file(t.path("held")).unwrap();

    let mut holder = hold_lock(&t, &format!("4243 {}\n", hours_ago(48)));
    let (code, mail) = cron(&t, "--quiet pipeline.toml");
    assert_eq!(code, 3);
    assert!(mail.contains("another run (pid 4243"), "{mail}");
    t.write("release", "");
    holder.wait().unwrap();
}

/// A python function is given every var: `--set` (or an edit of `[vars]`)
/// runs its step again, whether it reads `vars` or not; a step that is not a
/// call and reads no var stays up to date.
#[test]
fn set_reruns_python_steps_which_are_given_vars() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,1\n");
    t.write(
        "scripts/f.py",
        "def scale(input, out, vars):\n    \
         with open(out, 'w') as f:\n        \
         f.write(f'n={vars[\"n\"]!r} label={vars[\"label\"]!r}\\n')\n",
    );
    t.pipeline(
        r#"
[pipeline]
out = "build"

[vars]
n = 2
label = "Run"

[inputs.logs]
glob = "data/*.csv"

[[steps]]
name = "scale"
each = "logs"
python = "scripts/f.py:scale"
out = "scale/{{ key }}.txt"

[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/scale/a.txt"), "n=2 label='Run'\n");
    let run = t.run(["pipeline.toml", "--set", "n=7"]);
    run.expect_code(0);
    // A number stays a number in Python too.
    assert_eq!(t.read("build/scale/a.txt"), "n=7 label='Run'\n");
    assert_eq!(
        step_row(&run.stderr, "scale"),
        ["1", "0", "0", "0"],
        "{}",
        run.stderr
    );
    assert_eq!(step_row(&run.stderr, "copy"), ["0", "0", "0", "1"]);
    // The same values again: up to date; back to the file's: runs again.
    let run = t.run(["pipeline.toml", "--set", "n=7"]);
    assert_eq!(
        step_row(&run.stderr, "scale"),
        ["0", "0", "0", "1"],
        "{}",
        run.stderr
    );
    let run = t.run(["pipeline.toml"]);
    assert_eq!(
        step_row(&run.stderr, "scale"),
        ["1", "0", "0", "0"],
        "{}",
        run.stderr
    );
    assert_eq!(t.read("build/scale/a.txt"), "n=2 label='Run'\n");
}
