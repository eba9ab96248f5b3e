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
