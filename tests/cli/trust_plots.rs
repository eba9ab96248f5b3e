//! Regression tests for the plot parts of issue 10 ("never stale, never
//! outside, never stuck"), each named after its item.

use crate::support::*;

/// Item 10: a `line` plot of a 1-row CSV with 500,000 columns took 585 s
/// (bar and hist too): choosing the series searched the list of chosen
/// columns for each column. Now the cost is linear; this size took minutes.
#[test]
fn item_10_plot_of_500000_columns_is_linear() {
    const COLUMNS: usize = 500_000;
    let mut text = String::with_capacity(COLUMNS * 12);
    for i in 0..COLUMNS {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!("c{i}"));
    }
    text.push('\n');
    for i in 0..COLUMNS {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&(i % 7).to_string());
    }
    text.push('\n');
    let t = Test::new();
    t.write("data/wide.csv", text).pipeline(
        r#"
[pipeline]
out = "build"

[inputs.data]
glob = ["data/*.csv"]

[[plots]]
name = "line"
each = "data"
out = "line.svg"

[[plots]]
name = "bar"
each = "data"
template = "bar"
out = "bar.svg"

[[plots]]
name = "hist"
each = "data"
template = "hist"
out = "hist.svg"

[[plots]]
name = "all"
each = "data"
template = "hist"
max_series = 1000000
out = "all.svg"
"#,
    );
    t.run(["pipeline.toml", "-j2"]).expect_code(0);
    for plot in ["line", "bar", "hist"] {
        let svg = t.read(format!("build/{plot}.svg"));
        assert!(
            svg.contains("499990 more series not shown (max_series = 10)"),
            "{plot}: {svg}"
        );
        assert!(svg.contains(">c9<") && !svg.contains(">c10<"), "{plot}");
    }
    // Every series drawn: the legend shows what fits, and says how many more.
    let all = t.read("build/all.svg");
    assert!(!all.contains("more series not shown"));
    assert!(all.contains(">… 499"), "{}", &all[all.len() - 2000..]);
}
