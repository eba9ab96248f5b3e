//! The plot module's tests: golden SVGs (checked by an independent
//! renderer), errors, escaping, series choice, and M4 against the full
//! picture.

use super::*;
use crate::table::SharedTables;
use std::process::Command;

mod layouts;
mod png;

/// A plot spec with the defaults of the pipeline file.
pub(super) fn spec(template: &str, x: Option<&str>, y: &[&str]) -> PlotSpec {
    PlotSpec {
        template: PlotTemplate::Builtin(Kind::from_name(template).expect("a built-in")),
        x: x.map(str::to_owned),
        y: y.iter().map(|s| (*s).to_owned()).collect(),
        max_series: 10,
        title: None,
        x_label: None,
        y_label: None,
        width: 800,
        height: 450,
        x_log: false,
        y_log: false,
        y_zero: false,
        bins: 30,
        skip_empty: false,
        table: Arc::new(crate::table::ReadOptions::new()),
        layout: crate::config::PlotLayout::Shared,
    }
}

pub(super) const NO_TEXTS: Texts<'static> = Texts {
    title: None,
    x_label: None,
    y_label: None,
};

pub(super) fn svg(
    spec: &PlotSpec,
    texts: &Texts<'_>,
    inputs: &[PathBuf],
    decimate: bool,
) -> Result<String, String> {
    let out = [PathBuf::from("out.svg")];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bytes = draw(
        spec,
        texts,
        root,
        &TaskTables::new(&SharedTables::new(root, [], false)),
        inputs,
        &out,
        decimate,
        &Cancel::never(),
    )
    .map_err(|e| crate::error::chain(&e))?;
    Ok(String::from_utf8(bytes.remove(0)).unwrap())
}

pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// rsvg-convert (librsvg, an independent renderer) must accept the SVG.
#[track_caller]
pub(super) fn assert_rsvg_accepts(svg: &str, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plot.svg");
    std::fs::write(&path, svg).unwrap();
    let out = Command::new("rsvg-convert")
        .arg("--format=png")
        .arg("--output")
        .arg(dir.path().join("plot.png"))
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run rsvg-convert ({e}); install it: apt-get install librsvg2-bin")
        });
    assert!(
        out.status.success(),
        "rsvg-convert rejects the {what} SVG: {}\n{svg}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compares with tests/golden/NAME; `UPDATE_GOLDEN=1` rewrites it.
#[track_caller]
pub(super) fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from tests/golden/{name}; if the change is intended, run \
         `UPDATE_GOLDEN=1 cargo test` and review the diff\n--- actual\n{actual}"
    );
}

fn golden_inputs(dir: &Path) -> Vec<PathBuf> {
    let mut text = String::from("t,value,temp,status\n");
    for i in 0..40 {
        let t = f64::from(i) * 0.5;
        let value = match i {
            7 | 8 => "NA".to_owned(),
            12 => "inf".to_owned(),
            _ => format!("{:.3}", (t * 0.7).sin() * 4.0 - 1.0),
        };
        let temp = if i == 20 {
            String::new()
        } else {
            format!("{:.2}", 20.0 + t * 0.1)
        };
        text.push_str(&format!(
            "{t},{value},{temp},{}\n",
            if i % 3 == 0 { "ok" } else { "check" }
        ));
    }
    vec![write(dir, "sensor.csv", &text)]
}

#[test]
fn golden_svgs_and_rsvg_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = golden_inputs(dir.path());
    let titled = Texts {
        title: Some("Sensor <a&b> \"quoted\""),
        x_label: Some("t (s)"),
        y_label: None,
    };
    let mut log = spec("line", Some("t"), &["temp"]);
    log.y_log = true;
    log.x_log = true;
    let mut hist = spec("hist", None, &["value", "temp"]);
    hist.bins = 12;
    let bars_file = write(
        dir.path(),
        "bars.csv",
        "name,count,share\nalpha,3,0.5\nbravo,-1,\ncharlie & co,7,1.5\n",
    );
    let cases: Vec<(&str, PlotSpec, &Texts<'_>, Vec<PathBuf>)> = vec![
        (
            "line.svg",
            spec("line", Some("t"), &["*"]),
            &titled,
            inputs.clone(),
        ),
        (
            "scatter.svg",
            spec("scatter", Some("t"), &["value"]),
            &NO_TEXTS,
            inputs.clone(),
        ),
        ("line_log.svg", log, &NO_TEXTS, inputs.clone()),
        ("hist.svg", hist, &NO_TEXTS, inputs.clone()),
        (
            "bar.svg",
            spec("bar", Some("name"), &["count", "share"]),
            &titled,
            vec![bars_file],
        ),
    ];
    for (name, spec, texts, inputs) in cases {
        let svg = svg(&spec, texts, &inputs, true).unwrap();
        assert_rsvg_accepts(&svg, name);
        raster::parse(&svg).unwrap();
        assert_golden(name, &svg);
    }
}

#[test]
fn empty_figure_when_asked() {
    // A committed file, so that the message names the same path everywhere.
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/words.csv");
    let mut s = spec("line", None, &["*"]);
    let err = svg(&s, &NO_TEXTS, std::slice::from_ref(&input), true).unwrap_err();
    assert!(
        err.starts_with("nothing to plot: ")
            && err.contains("tests/golden/words.csv has no numeric column matching `y` (*)"),
        "{err}"
    );
    s.skip_empty = true;
    let svg = svg(&s, &NO_TEXTS, &[input], true).unwrap();
    assert!(svg.contains("nothing to plot: "), "{svg}");
    assert_rsvg_accepts(&svg, "empty");
    assert_golden("empty.svg", &svg);
}

#[test]
fn special_characters_stay_valid_xml() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "a<b&c>.csv",
        "t,\"x<y&'z'\",\"q\"\"\u{1}\"\n0,1,2\n1,2,3\n",
    );
    let texts = Texts {
        title: Some("a<b&c>"),
        x_label: Some("]]> <!-- &amp;"),
        y_label: Some("\u{7}bell"),
    };
    for kind in ["line", "scatter", "bar", "hist"] {
        let x = if kind == "hist" { None } else { Some("t") };
        let svg = svg(
            &spec(kind, x, &["*"]),
            &texts,
            std::slice::from_ref(&input),
            true,
        )
        .unwrap();
        assert!(svg.contains("a&lt;b&amp;c&gt;"), "{svg}");
        assert!(svg.contains("x&lt;y&amp;&apos;z&apos;"), "{svg}");
        assert_rsvg_accepts(&svg, kind);
        raster::parse(&svg).unwrap();
    }
}

#[test]
fn errors_name_the_file_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "d.csv", "t,v,s\n0,1,a\n1,2,b\n");
    let missing = write(dir.path(), "m.csv", "t,v\n0,\n1,NA\n");
    let header = write(dir.path(), "h.csv", "t,v\n");
    let many = write(
        dir.path(),
        "many.csv",
        &(0..500).fold(String::from("v\n"), |s, i| s + &format!("{i}\n")),
    );
    let cases = [
        (
            spec("line", Some("time"), &["v"]),
            &input,
            "d.csv: there is no column `time` for `x` (its columns: t, v, s)",
        ),
        (
            spec("line", Some("s"), &["v"]),
            &input,
            "d.csv: column `s` for `x` holds text, not numbers",
        ),
        (
            spec("line", None, &["w"]),
            &input,
            "d.csv: there is no column `w` (its columns: t, v, s); to draw columns that only some files have, use a glob such as `w*`",
        ),
        (
            spec("line", None, &["s"]),
            &input,
            "d.csv: column `s` holds text, not numbers",
        ),
        (
            spec("line", Some("t"), &["v"]),
            &missing,
            "nothing to plot: every value of `v` is missing or cannot be drawn",
        ),
        (spec("line", None, &["*"]), &header, "nothing to plot: "),
        (
            spec("bar", None, &["v"]),
            &many,
            "a bar chart of 500 rows does not fit in 800 pixels (at most 400 bars)",
        ),
    ];
    for (spec, input, expected) in cases {
        let err = svg(&spec, &NO_TEXTS, std::slice::from_ref(input), true).unwrap_err();
        assert!(err.contains(expected), "expected `{expected}` in `{err}`");
    }
    let err = draw(
        &spec("line", None, &["v"]),
        &NO_TEXTS,
        Path::new("/"),
        &TaskTables::new(&SharedTables::new(Path::new("/"), [], false)),
        &[input],
        &[PathBuf::from("x.html")],
        true,
        &Cancel::never(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("must end in .svg or .png, not `.html`"),
        "{err}"
    );
}

#[test]
fn globs_skip_text_and_cap_series() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "w.csv",
        "t,a1,a2,a3,name,b\n0,1,2,3,x,4\n1,2,3,4,y,5\n",
    );
    let mut s = spec("line", Some("t"), &["a*", "b"]);
    s.max_series = 2;
    let svg = svg(&s, &NO_TEXTS, &[input], true).unwrap();
    assert!(svg.contains(">a1<") && svg.contains(">a2<"), "{svg}");
    assert!(!svg.contains(">a3<") && !svg.contains(">name<"));
    assert!(
        svg.contains("2 more series not shown (max_series = 2)"),
        "{svg}"
    );
}

#[test]
fn several_files_are_named_by_stem() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "alpha.csv", "t,v\n0,1\n1,2\n");
    let b = write(
        dir.path(),
        "bravo.csv",
        "t,v,w\n0,3\n1,4\n"
            .replace("0,3", "0,3,1")
            .replace("1,4", "1,4,2")
            .as_str(),
    );
    let c = write(dir.path(), "charlie.csv", "t,s\n0,x\n");
    let svg = svg(
        &spec("line", Some("t"), &["v"]),
        &NO_TEXTS,
        &[a.clone(), b.clone()],
        true,
    )
    .unwrap();
    assert!(svg.contains(">alpha<") && svg.contains(">bravo<"), "{svg}");
    let svg = super::tests::svg(
        &spec("line", Some("t"), &["*"]),
        &NO_TEXTS,
        &[a, b, c],
        true,
    )
    .unwrap();
    assert!(
        svg.contains(">alpha: v<") && svg.contains(">bravo: w<"),
        "{svg}"
    );
    assert!(svg.contains("nothing to draw in charlie"), "{svg}");
}

/// A million rows: the reduced SVG stays small and draws the same
/// picture as the full one (rasterized by resvg, < 0.5% pixels differ).
#[test]
fn m4_million_rows_same_picture() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::with_capacity(40_000_000);
    text.push_str("t,walk,wave\n");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut walk = 0.0f64;
    for i in 0..1_000_000u32 {
        seed = crate::test_rng::xorshift(seed);
        let r = (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        walk += r;
        let wave = (f64::from(i) * 0.00002).sin() * 300.0 + r * 12.0;
        // 1% of the values missing: gaps narrower than a pixel.
        if seed % 100 == 7 {
            text.push_str(&format!("{},,{wave:.3}\n", f64::from(i) * 0.001));
        } else {
            text.push_str(&format!("{},{walk:.4},{wave:.3}\n", f64::from(i) * 0.001));
        }
    }
    let input = write(dir.path(), "big.csv", &text);
    let s = spec("line", Some("t"), &["*"]);
    let reduced = svg(&s, &NO_TEXTS, std::slice::from_ref(&input), true).unwrap();
    let full = svg(&s, &NO_TEXTS, &[input], false).unwrap();
    assert!(
        reduced.len() < 300_000,
        "reduced SVG is {} bytes",
        reduced.len()
    );
    assert!(
        full.len() > 10 * reduced.len(),
        "full SVG is only {} bytes",
        full.len()
    );
    let a = raster::pixmap(&raster::parse(&reduced).unwrap()).unwrap();
    let b = raster::pixmap(&raster::parse(&full).unwrap()).unwrap();
    // A pixel differs when a channel is off by more than a quarter of
    // its range: a visible change, not a shade of anti-aliasing.
    let count = |tolerance: u8| {
        a.pixels()
            .iter()
            .zip(b.pixels())
            .filter(|(p, q)| {
                p.red().abs_diff(q.red()) > tolerance
                    || p.green().abs_diff(q.green()) > tolerance
                    || p.blue().abs_diff(q.blue()) > tolerance
                    || p.alpha().abs_diff(q.alpha()) > tolerance
            })
            .count()
    };
    let total = a.pixels().len() as f64;
    let (differ, any) = (count(64), count(0));
    let share = differ as f64 / total;
    eprintln!(
        "m4: {} bytes vs {}; {differ} pixels differ visibly ({:.3}%), {any} at all ({:.3}%)",
        reduced.len(),
        full.len(),
        share * 100.0,
        any as f64 / total * 100.0
    );
    assert!(
        share < 0.005,
        "{differ} pixels differ ({:.3}%)",
        share * 100.0
    );
}

/// The figure checks the run's stop flag between series: a raised flag
/// ends it with `Interrupted` (issue 10, item 9), whatever the kind.
#[test]
fn a_raised_flag_stops_the_figure() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = golden_inputs(dir.path());
    let s = spec("line", Some("t"), &["*"]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tables: Vec<Arc<Table>> = table_reads(&s, &inputs)
        .iter()
        .map(|read| {
            TaskTables::new(&SharedTables::new(root, [], false)).read(read, &Cancel::never())
        })
        .collect::<Result<_, _>>()
        .unwrap();
    let stop = Cancel::never();
    stop.cancel();
    for kind in Kind::ALL {
        let mut s = s.clone();
        if kind == Kind::Hist {
            s.x = None;
        }
        let err = figure::build(&figure::Request {
            spec: &s,
            texts: &NO_TEXTS,
            tables: &tables,
            kind,
            decimate: true,
            detail: false,
            cancel: &stop,
        })
        .unwrap_err();
        assert!(err.is_interrupted(), "{kind:?}: {err}");
    }
}

/// A column forced to numbers by `types` reads its other cells as missing
/// (as pandas.to_numeric(errors="coerce")), and the note says how many.
#[test]
fn the_note_counts_cells_invalid_for_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rain.csv",
        "t,rain\n0,1.5\n1,T\n2,<5\n3,NA\n4,2.0\n5,3.5\n",
    );
    let mut s = spec("line", Some("t"), &["rain"]);
    let options: toml::Table = "types = { rain = \"number\" }".parse().unwrap();
    s.table = Arc::new(crate::table::ReadOptions::from_toml(&options).unwrap());
    let drawn = svg(&s, &NO_TEXTS, std::slice::from_ref(&input), true).unwrap();
    assert!(
        drawn.contains("left out: 1 missing (gaps), 2 invalid for their `types`"),
        "{drawn}"
    );
    // Read as text (pandas' default for a mixed column), it is not drawn.
    let s = spec("line", Some("t"), &["rain"]);
    let err = svg(&s, &NO_TEXTS, &[input], true).unwrap_err();
    assert!(
        err.contains("column `rain` holds text, not numbers"),
        "{err}"
    );
}
