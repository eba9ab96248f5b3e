//! Built-in table steps and plots (issue 3): the example pipeline end to end,
//! bad tables failing only their own task, escaping, PNG, user templates.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// Copies the repository's example pipeline (pipelines/) into a test dir.
fn example() -> Test {
    let t = Test::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        "pipelines",
        "pipelines/data",
        "pipelines/templates",
        "pipelines/weather",
    ] {
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

/// The example with a date column (pipelines/weather.toml): it loads, runs,
/// plots against time, and a second run has nothing to do.
#[test]
fn weather_example_plots_against_time() {
    let t = example();
    t.run(["check", "pipelines/weather.toml"]).expect_code(0);
    t.run(["pipelines/weather.toml"]).expect_code(0);
    let files = files_under(&t.path("build/weather"));
    assert_eq!(
        files,
        [
            "daily/harbour.png",
            "daily/harbour.svg",
            "daily/summit.png",
            "daily/summit.svg",
            "rain/harbour.svg",
            "rain/summit.svg",
            "stats/harbour.json",
            "stats/summit.json",
            "temps.svg",
        ]
    );
    for f in files.iter().filter(|f| f.ends_with(".svg")) {
        assert_rsvg_accepts(&t.path("build/weather").join(f));
    }
    let daily = t.read("build/weather/daily/summit.svg");
    for label in [
        ">2021<",
        ">Jul<",
        ">2022<",
        ">2023<",
        ">temp<",
        ">pressure<",
        ">humidity<",
    ] {
        assert!(daily.contains(label), "no `{label}` in\n{daily}");
    }
    let png = std::fs::read(t.path("build/weather/daily/summit.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let rain = t.read("build/weather/rain/summit.svg");
    assert!(
        rain.contains("left out: 10 missing, 70 invalid for their `types`"),
        "{rain}"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&t.read("build/weather/stats/summit.json")).unwrap();
    assert_eq!(stats["columns"][0]["type"], "time");
    assert_eq!(stats["columns"][0]["min"], "2021-01-01");
    let again = t.run(["pipelines/weather.toml"]);
    again.expect_code(0);
    assert!(
        again
            .stderr
            .contains("0 ok, 0 failed, 0 skipped, 7 up to date"),
        "{}",
        again.stderr
    );
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

/// Issue 11: a date column on the x axis. Ticks fall on calendar
/// boundaries with concise labels; a user template gets each tick as ISO
/// text and as its label, and the offset the labels leave out.
#[test]
fn a_time_column_on_the_x_axis() {
    let t = Test::new();
    let mut data = String::from("date,level,site\n");
    for day in 0..200 {
        let date = 20_000 + day; // days since 1970-01-01: 2024-10-04 on
        let (y, m, d) = civil(date);
        data.push_str(&format!(
            "{y}-{m:02}-{d:02},{},north\n",
            (day % 17) as f64 * 0.5
        ));
    }
    t.write("data/levels.csv", &data)
        .write(
            "ticks.txt.j2",
            "{% for t in x_axis.ticks %}{{ t.iso }} {{ t.label }}\n{% endfor %}offset={{ x_axis.offset.text if x_axis.offset else '' }} time={{ x_axis.time }} min={{ x_axis.min_iso }}\n",
        )
        .pipeline(
            r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[plots]]
name = "line"
each = "data"
x = "date"
out = ["line/{{ key }}.svg", "line/{{ key }}.png"]

[[plots]]
name = "scatter"
each = "data"
template = "scatter"
x = "date"
y = "level"
out = "scatter/{{ key }}.svg"

[[plots]]
name = "ticks"
each = "data"
template = "ticks.txt.j2"
x = "date"
out = "ticks/{{ key }}.txt"
"#,
        );
    t.run(["pipeline.toml"]).expect_code(0);
    let svg = t.read("build/line/levels.svg");
    for label in [">Nov<", ">Dec<", ">2025<", ">Feb<", ">Mar<", ">Apr<"] {
        assert!(svg.contains(label), "no tick `{label}` in\n{svg}");
    }
    assert_rsvg_accepts(&t.path("build/line/levels.svg"));
    assert_rsvg_accepts(&t.path("build/scatter/levels.svg"));
    let ticks = t.read("build/ticks/levels.txt");
    assert!(
        ticks.starts_with("2024-11-01 Nov\n2024-12-01 Dec\n2025-01-01 2025\n"),
        "{ticks}"
    );
    assert!(
        ticks.ends_with("offset= time=True min=2024-10-04"),
        "{ticks}"
    );
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's
/// `civil_from_days`, independent of the code under test.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Issue 11: series with different units, one panel each under a shared
/// x axis, each with its own y label; on one axis, the y label lists them.
#[test]
fn panels_and_a_y_label_that_lists_the_series() {
    let t = Test::new();
    let mut data = String::from("t,pressure,humidity\n");
    for i in 0..50 {
        data.push_str(&format!("{i},{},{}\n", 1010 + i % 5, 40 + i % 9));
    }
    t.write("data/w.csv", &data).pipeline(
        r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[plots]]
name = "panels"
each = "data"
x = "t"
layout = "panels"
out = "panels/{{ key }}.svg"

[[plots]]
name = "shared"
each = "data"
x = "t"
out = "shared/{{ key }}.svg"
"#,
    );
    t.run(["pipeline.toml"]).expect_code(0);
    let panels = t.read("build/panels/w.svg");
    let rotated = |svg: &str| {
        svg.lines()
            .filter(|l| l.contains("rotate(-90"))
            .map(|l| l[l.find('>').unwrap() + 1..l.rfind('<').unwrap()].to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(rotated(&panels), ["pressure", "humidity"], "{panels}");
    let frames = panels
        .lines()
        .filter(|l| l.starts_with("<path d=\"M") && l.contains('H'))
        .count();
    assert_eq!(frames, 2, "two axis frames: {panels}");
    assert_rsvg_accepts(&t.path("build/panels/w.svg"));
    let shared = t.read("build/shared/w.svg");
    assert_eq!(rotated(&shared), ["pressure, humidity"], "{shared}");

    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = ["data/*.csv"]
[[plots]]
name = "p"
each = "data"
layout = "panel"
out = "p/{{ key }}.svg"
"#,
    );
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown plot layout `panel`") && run.stderr.contains("panels"),
        "{}",
        run.stderr
    );
}
