//! `runner history` shows each run's flags; the progress estimates the time
//! left from earlier runs (issue 14).

use crate::support::*;

const TWO_STEPS: &str = r#"
[pipeline]
out = "build"
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "copy"
each = "logs"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.csv"
[[steps]]
name = "count"
each = "copy"
shell = "wc -l < {{ input }} > {{ out }}"
out = "count/{{ key }}.txt"
"#;

fn two_steps() -> Test {
    let t = Test::new();
    t.write("data/a.csv", "1\n2\n")
        .write("data/b.csv", "1\n")
        .pipeline(TWO_STEPS);
    t
}

#[test]
fn history_shows_each_runs_flags_and_json_has_them() {
    let t = two_steps();
    t.run(["pipeline.toml"]).expect_code(0);
    t.run(["pipeline.toml", "--force=count", "-j", "2", "--fail-fast"])
        .expect_code(0);
    t.run(["run", "--only", "copy", "pipeline.toml", "--force", "-q"])
        .expect_code(0);
    let h = t.run(["history", "pipeline.toml"]);
    h.expect_code(0);
    let lines: Vec<&str> = h.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", h.stdout);
    assert!(lines[0].ends_with("exit  flags"), "{}", h.stdout);
    assert!(
        lines[1].ends_with("  0  --force --only=copy --quiet"),
        "{}",
        h.stdout
    );
    assert!(
        lines[2].ends_with("  0  --jobs=2 --force=count --fail-fast"),
        "{}",
        h.stdout
    );
    // A run without flags ends with its exit code.
    assert!(lines[3].ends_with(" 0"), "{}", h.stdout);

    let json = t.run(["history", "pipeline.toml", "--json"]);
    json.expect_code(0);
    let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        runs[0]["flags"],
        serde_json::json!(["--force", "--only=copy", "--quiet"])
    );
    assert_eq!(
        runs[1]["flags"],
        serde_json::json!(["--jobs=2", "--force=count", "--fail-fast"])
    );
    assert_eq!(runs[1]["jobs"], 2);
    assert_eq!(runs[2]["flags"], serde_json::json!([]));
}

/// Four tasks of 0.3 s, then one quick one over them all.
const NAPS: &str = r#"
[pipeline]
out = "build"
jobs = 2
[inputs.logs]
glob = ["data/*.csv"]
[[steps]]
name = "nap"
each = "logs"
shell = "sleep 0.3; cp {{ input }} {{ out }}"
out = "nap/{{ key }}.csv"
[[steps]]
name = "sum"
all = "nap"
shell = "cat {{ inputs }} > {{ out }}"
out = "sum.csv"
"#;

fn naps() -> Test {
    let t = Test::new();
    for name in ["a", "b", "c", "d"] {
        t.write(format!("data/{name}.csv"), "1\n");
    }
    t.pipeline(NAPS);
    t
}

/// The median task time of `step` in the state, in milliseconds.
fn median_ms(t: &Test, step: &str) -> f64 {
    let mut ms: Vec<f64> = t
        .query(&format!(
            "SELECT duration_ms FROM tasks WHERE step = '{step}' AND status = 'ok'"
        ))
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    ms.sort_by(f64::total_cmp);
    let mid = ms.len() / 2;
    if ms.len() % 2 == 1 {
        ms[mid]
    } else {
        (ms[mid - 1] + ms[mid]) / 2.0
    }
}

/// What earlier runs predict for a forced run of `NAPS`: 4 naps and a sum,
/// spread over the 2 slots, in seconds.
fn predicted(t: &Test) -> f64 {
    (4.0 * median_ms(t, "nap") + median_ms(t, "sum")) / 2.0 / 1000.0
}

#[test]
fn the_first_progress_line_estimates_the_time_from_earlier_runs() {
    let t = naps();
    let first = t.run(["pipeline.toml"]);
    first.expect_code(0);
    let line = first.stderr.lines().next().unwrap();
    assert!(
        line.ends_with("5 tasks on 2 jobs"),
        "no history, no estimate: {line}"
    );

    // What the first run recorded, before the second adds its own.
    let expected = predicted(&t);
    let again = t.run(["pipeline.toml", "--force"]);
    again.expect_code(0);
    let line = again.stderr.lines().next().unwrap();
    let estimate = line
        .split_once("(about ")
        .and_then(|(_, rest)| rest.strip_suffix("s by earlier runs)"))
        .unwrap_or_else(|| panic!("an estimate: {line}"));
    let estimate: f64 = estimate.parse().unwrap();
    assert!(
        (estimate - expected).abs() < 0.011,
        "estimated {estimate} s, earlier runs say {expected} s: {line}"
    );
    assert!(estimate >= 0.6, "4 naps of 0.3 s on 2 slots: {line}");
}

#[test]
fn on_a_terminal_the_bars_estimate_from_earlier_runs_from_the_start() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("`script` is missing: apt-get install bsdutils");
    }
    let t = naps();
    let on_a_terminal = |args: &str| {
        let command = format!("{} pipeline.toml {args}", env!("CARGO_BIN_EXE_runner"));
        let out = std::process::Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .current_dir(t.root())
            .env("TERM", "xterm")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).replace('\r', "\n")
    };
    // The total bar's `eta` on its first frame.
    let first_eta = |screen: &str| -> String {
        let line = screen
            .lines()
            .find(|l| l.contains("total (2j)"))
            .unwrap_or_else(|| panic!("a total bar: {screen}"))
            .to_owned();
        let after = line.split_once(" eta ").expect("an eta").1;
        after.split_whitespace().next().unwrap().to_owned()
    };
    on_a_terminal("");
    let expected = predicted(&t);
    let screen = on_a_terminal("--force");
    let eta = first_eta(&screen);
    let seconds: f64 = eta.strip_suffix('s').unwrap().parse().unwrap();
    assert!(
        seconds >= 1.0 && (seconds - expected).abs() <= 1.0,
        "first frame says eta {eta}, earlier runs {expected} s:\n{screen}"
    );
}
