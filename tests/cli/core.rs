//! Core runner: file format, task graph, parallel execution (issue 2).

use crate::support::*;

#[test]
fn runs_each_step_per_file() {
    let t = Test::new();
    t.write("data/a.csv", "1\n2\n")
        .write("data/b.csv", "1\n2\n3\n")
        .pipeline(
            r#"
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
"#,
        );
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/count/a.txt"), "2 data/a.csv\n");
    assert_eq!(t.read("build/count/b.txt"), "3 data/b.csv\n");
}
