//! Built-in table steps and plots (issue 3): the example pipeline end to end,
//! bad tables failing only their own task, escaping, PNG, user templates.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// Copies the repository's example pipeline (pipelines/) into a test dir.
fn example() -> Test {
    let t = Test::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["pipelines", "pipelines/data", "pipelines/templates"] {
        for entry in std::fs::read_dir(repo.join(dir)).unwrap().flatten() {
            if entry.path().is_file() {
                let rel = Path::new(dir).join(entry.file_name());
                t.write(&rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    t
}

/// rsvg-convert (librsvg, an independent renderer) must accept the file.
#[track_caller]
fn assert_rsvg_accepts(path: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("rsvg-convert")
        .arg("--format=png")
        .arg("--output")
        .arg(dir.path().join("plot.png"))
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run rsvg-convert ({e}); install it: apt-get install librsvg2-bin")
        });
    assert!(
        out.status.success(),
        "rsvg-convert rejects {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn example_pipeline_is_complete_valid_and_the_same_for_any_jobs() {
    let one = example();
    let two = example();
    let run1 = one.run(["pipelines/plot.toml", "-j1"]);
    run1.expect_code(0);
    two.run(["pipelines/plot.toml", "-j2"]).expect_code(0);

    let files = files_under(&one.path("build"));
    assert_eq!(files, files_under(&two.path("build")));
    let count = |prefix: &str, ext: &str| {
        files
            .iter()
            .filter(|f| f.starts_with(prefix) && f.ends_with(ext))
            .count()
    };
    assert_eq!(count("stats/", ".json"), 12, "{files:?}");
    assert_eq!(count("stats/", ".csv"), 12);
    assert_eq!(count("batches/", ".csv"), 8);
    assert_eq!(count("plots/", ".svg"), 12);
    assert_eq!(count("gnuplot/", ".gp"), 12);
    assert!(files.contains(&"overview.svg".to_owned()));
    assert!(files.contains(&"summary.csv".to_owned()));
    assert!(files.iter().all(|f| !f.contains(".tmp-")), "{files:?}");

    for f in &files {
        let a = std::fs::read(one.path("build").join(f)).unwrap();
        let b = std::fs::read(two.path("build").join(f)).unwrap();
        assert!(a == b, "build/{f} differs between -j1 and -j2");
        if f.ends_with(".svg") {
            assert_rsvg_accepts(&one.path("build").join(f));
        }
    }

    // Every file's statistics row, and every data row once in the batches.
    let summary = one.read("build/summary.csv");
    assert_eq!(summary.lines().count(), 13, "{summary}");
    assert!(summary.starts_with("source,rows,t.count,"));
    let data_rows: usize = std::fs::read_dir(one.path("pipelines/data"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap().lines().count() - 1)
        .sum();
    let batch_rows: usize = files
        .iter()
        .filter(|f| f.starts_with("batches/"))
        .map(|f| one.read(Path::new("build").join(f)).lines().count() - 1)
        .sum();
    assert_eq!(batch_rows, data_rows);

    let stats: serde_json::Value =
        serde_json::from_str(&one.read("build/stats/bravo.json")).unwrap();
    assert_eq!(stats["rows"], 80);
    let humidity = &stats["columns"][2];
    assert_eq!(humidity["name"], "humidity");
    assert_eq!(humidity["missing"], 3);
    assert_eq!(stats["columns"][3]["type"], "text");

    // Gaps where values are missing, and the note says so.
    let bravo = one.read("build/plots/bravo.svg");
    assert!(bravo.contains("left out: 3 missing (gaps)"), "{bravo}");
    assert!(bravo.contains(">Sensor bravo<"));
    assert!(!bravo.contains(">status<"), "text columns are not drawn");

    let gp = one.read("build/gnuplot/alpha.gp");
    assert!(gp.contains("set title \"alpha\""), "{gp}");
    assert!(gp.contains("$series1 << EOD"), "{gp}");

    // A second run has nothing to do, and changes nothing.
    let again = one.run(["pipelines/plot.toml", "-j2"]);
    again.expect_code(0);
    for f in &files {
        let a = std::fs::read(one.path("build").join(f)).unwrap();
        let b = std::fs::read(two.path("build").join(f)).unwrap();
        assert!(a == b, "build/{f} changed on the second run");
    }
}

const STATS_AND_PLOT: &str = r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"

[[plots]]
name = "plot"
each = "data"
x = "t"
y = ["*"]
out = "plots/{{ key }}.svg"
"#;

#[test]
fn a_bad_table_fails_its_own_tasks_and_writes_nothing() {
    let t = Test::new();
    t.write("data/good.csv", "t,v\n0,1\n1,2\n")
        .write("data/ragged.csv", "t,v\n0,1\n1,2,3\n")
        .write("data/word.csv", "t,v\n0,1\n1,2\n2,oops\n")
        .write("data/quote.csv", "t,v\n1,\"abc\n2,3\n")
        .write("data/empty.csv", "")
        .write("data/header.csv", "t,v\n")
        .pipeline(STATS_AND_PLOT);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    for expected in [
        "data/ragged.csv:3: this row has 3 fields, but the header has 2",
        // A mixed column is text (issue 11): nothing to draw, but counted.
        "nothing to plot: data/word.csv has no numeric column matching `y`",
        "data/quote.csv:2: a quote (\") opened on this line is never closed",
        "data/empty.csv: the file is empty: no header row",
        "data/header.csv: the file has a header but no data rows",
        "nothing to plot: data/header.csv has a header but no data rows",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in\n{all}");
    }
    let files = files_under(&t.path("build"));
    assert_eq!(
        files,
        ["plots/good.svg", "stats/good.json", "stats/word.json"],
        "{files:?}"
    );
    assert_rsvg_accepts(&t.path("build/plots/good.svg"));
}

#[test]
fn file_names_with_markup_give_valid_svg() {
    let t = Test::new();
    t.write("data/a<b&c>.csv", "t,v\n0,1\n1,3\n").pipeline(
        r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[plots]]
name = "plot"
each = "data"
title = "{{ name }} \"quoted\""
out = "plots/{{ key }}.svg"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    let path = t.path("build/plots/a<b&c>.svg");
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.contains("<title>a&lt;b&amp;c&gt;.csv &quot;quoted&quot;</title>"),
        "{svg}"
    );
    assert_rsvg_accepts(&path);
}

#[test]
fn png_output_is_rasterized_with_the_embedded_font() {
    let t = Test::new();
    t.write("data/x.tsv", "t\tv\n0\t1\n1\t4\n2\t9\n").pipeline(
        r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.tsv"]

[[plots]]
name = "plot"
each = "data"
template = "scatter"
x = "t"
y = "v"
width = 320
height = 200
title = "{{ stem }}"
out = ["plots/{{ key }}.png", "plots/{{ key }}.svg"]
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    let png = std::fs::read(t.path("build/plots/x.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 320);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 200);
    assert_rsvg_accepts(&t.path("build/plots/x.svg"));
}

#[test]
fn nothing_to_plot_fails_or_is_skipped_with_a_note() {
    let t = Test::new();
    let pipeline = |skip: bool| {
        format!(
            r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[plots]]
name = "plot"
each = "data"
skip_empty = {skip}
out = "plots/{{{{ key }}}}.svg"
"#
        )
    };
    t.write("data/words.csv", "name,kind\nx,y\n")
        .pipeline(&pipeline(false));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("nothing to plot: data/words.csv has no numeric column matching `y` (*)"),
        "{all}"
    );
    assert!(!t.exists("build/plots/words.svg"));
    t.pipeline(&pipeline(true));
    t.run(["pipeline.toml"]).expect_code(0);
    let svg = t.read("build/plots/words.svg");
    assert!(svg.contains("nothing to plot"), "{svg}");
    assert_rsvg_accepts(&t.path("build/plots/words.svg"));
}

#[test]
fn plot_and_builtin_options_are_checked_at_load_time() {
    let t = Test::new();
    t.write("data/a.csv", "t,v\n0,1\n").pipeline(
        r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
with = { layot = "wide" }
out = "stats/{{ key }}.json"

[[plots]]
name = "plot"
each = "data"
template = "line"
bins = 10
format = "xlsx"
out = "plots/{{ key }}.svg"
"#,
    );
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    for expected in [
        "`csv.stats` has no option `layot`; did you mean `layout`?",
        "`bins` is for `hist` plots, and `plot` is a `line` plot",
        "unknown table format `xlsx`",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing `{expected}` in\n{}",
            run.stderr
        );
    }
    assert!(!t.exists("build"));
}

#[test]
fn table_errors_name_the_file_relative_to_root_from_any_folder() {
    let t = Test::new();
    t.write("proj/data/bad.csv", "a,b\n1,2\n3\n")
        .write(
            "proj/p.toml",
            r#"
[pipeline]
out = "build"
[inputs.d]
glob = ["data/*.csv"]
[[steps]]
name = "stats"
each = "d"
use = "csv.stats"
out = "{{ key }}.json"
[[plots]]
name = "plot"
each = "d"
out = "{{ key }}.svg"
"#,
        )
        .write("elsewhere/.keep", "");
    let run = t
        .command(["../proj/p.toml"])
        .current_dir(t.path("elsewhere"))
        .output_run();
    run.expect_code(1);
    for step in ["stats", "plot"] {
        assert!(
            run.stderr.contains(&format!(
                "FAILED {step} bad: data/bad.csv:3: this row has 1 field"
            )),
            "{}",
            run.stderr
        );
    }
}
