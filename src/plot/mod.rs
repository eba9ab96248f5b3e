//! Plots: reads a task's tables, computes the figure (scales, nice ticks,
//! decimated series in pixels: figure.rs) and hands it to a template (the
//! built-in SVG ones, or the user's own for any text format), then writes
//! each output: `.svg` as is, `.png` rasterized, others as the template wrote.

mod decimate;
mod figure;
mod layout;
mod raster;
mod scale;
mod series;
mod template;
mod ticks;

pub(crate) use figure::Kind;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cancel::Cancel;
use crate::config::{PlotSpec, PlotTemplate};
use crate::table::{self, Columns, SharedTables, Table, TableRead};

/// Bumped whenever the output of the same plot and data changes.
const VERSION: u32 = 1;

/// What a plot task's fingerprint covers besides its inputs and spec: the
/// plot code's version and, for a built-in template, its embedded text. (A
/// user's template file is a dep of its step, hashed like any other file.)
/// Computed once per template.
pub(crate) fn code_fingerprint(template: &PlotTemplate) -> blake3::Hash {
    static BUILTIN: std::sync::OnceLock<std::sync::Mutex<Vec<(String, blake3::Hash)>>> =
        std::sync::OnceLock::new();
    let name = match template {
        PlotTemplate::Builtin(kind) => kind.name(),
        PlotTemplate::File(_) => "",
    };
    let cache = BUILTIN.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, hash)) = cache.iter().find(|(n, _)| n == name) {
        return *hash;
    }
    let text = template::builtin_source(name).unwrap_or_default();
    let hash = blake3::hash(format!("plot v{VERSION}\n{text}").as_bytes());
    cache.push((name.to_owned(), hash));
    hash
}

/// The texts of one plot task, rendered from the pipeline's templates.
pub(crate) struct Texts<'a> {
    /// Title.
    pub(crate) title: Option<&'a str>,
    /// x axis label.
    pub(crate) x_label: Option<&'a str>,
    /// y axis label.
    pub(crate) y_label: Option<&'a str>,
}

/// The tables a plot task reads, given its inputs (absolute paths): a
/// built-in template reads only the columns it may draw (`x` and `y`,
/// globs included); a user's template sees every column.
pub(crate) fn table_reads(spec: &PlotSpec, inputs: &[PathBuf]) -> Vec<TableRead> {
    // Text is only drawn as bar categories, or by the user's template.
    let (keep_text, columns) = match &spec.template {
        PlotTemplate::Builtin(kind) => {
            let names = spec.x.iter().chain(&spec.y).cloned().collect();
            (*kind == Kind::Bar, Columns::Only(names))
        }
        PlotTemplate::File(_) => (true, Columns::All),
    };
    inputs
        .iter()
        .map(|path| TableRead {
            path: path.clone(),
            options: spec.table.clone(),
            columns: columns.clone(),
            keep_text,
        })
        .collect()
}

/// Draws one plot task: `inputs` (absolute) into `outputs` (absolute,
/// temporary paths keeping the final extension). Either every output is
/// written or, on failure, none. `cancel` is raised when the run must stop
/// (the tables' reading checks it; the caller records the task as
/// interrupted).
pub(crate) fn render(
    spec: &PlotSpec,
    texts: &Texts<'_>,
    root: &Path,
    shared: &SharedTables,
    inputs: &[PathBuf],
    outputs: &[PathBuf],
    cancel: &Cancel,
) -> Result<(), String> {
    let rendered = draw(spec, texts, root, shared, inputs, outputs, true, cancel)?;
    for (out, bytes) in outputs.iter().zip(rendered) {
        std::fs::write(out, bytes)
            .map_err(|e| format!("cannot write `{}`: {e}", table::display(out)))?;
    }
    Ok(())
}

/// Everything `render` writes, in memory, one entry per output.
#[allow(clippy::too_many_arguments)]
fn draw(
    spec: &PlotSpec,
    texts: &Texts<'_>,
    root: &Path,
    shared: &SharedTables,
    inputs: &[PathBuf],
    outputs: &[PathBuf],
    decimate: bool,
    cancel: &Cancel,
) -> Result<Vec<Vec<u8>>, String> {
    if inputs.is_empty() {
        return Err("a plot needs at least one input table".to_owned());
    }
    // A table's path is only shown from here on (in notes and messages, some
    // of them inside the picture): `shared` makes it relative to root, the
    // same on every machine.
    let tables: Vec<Arc<Table>> = table_reads(spec, inputs)
        .into_iter()
        .map(|read| shared.read(&read, cancel))
        .collect::<Result<_, _>>()?;
    let kind = match spec.template {
        PlotTemplate::Builtin(kind) => kind,
        // User templates get the figure of a line plot, plus the raw tables.
        PlotTemplate::File(_) => Kind::Line,
    };
    let user = matches!(spec.template, PlotTemplate::File(_));
    let figure = figure::build(&figure::Request {
        spec,
        texts,
        tables: &tables,
        kind,
        decimate,
        detail: user,
    })?;
    let text = match &spec.template {
        PlotTemplate::Builtin(kind) => template::render_builtin(kind.name(), &figure)?,
        PlotTemplate::File(path) => {
            template::render_user(&root.join(path), &path.to_string_lossy(), &figure, &tables)?
        }
    };
    outputs
        .iter()
        .map(|out| {
            let ext = out
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            match ext.as_str() {
                "png" => raster::png(&text),
                "svg" => Ok(text.clone().into_bytes()),
                _ if user => Ok(text.clone().into_bytes()),
                _ => Err(format!(
                    "built-in plot templates draw SVG: an `out` of a `{}` plot must end in .svg or .png, not `.{ext}`",
                    figure.kind
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A plot spec with the defaults of the pipeline file.
    fn spec(template: &str, x: Option<&str>, y: &[&str]) -> PlotSpec {
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
            table: Arc::new(table::ReadOptions::new()),
        }
    }

    const NO_TEXTS: Texts<'static> = Texts {
        title: None,
        x_label: None,
        y_label: None,
    };

    fn svg(
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
            &SharedTables::new(root, []),
            inputs,
            &out,
            decimate,
            &Cancel::never(),
        )?;
        Ok(String::from_utf8(bytes.remove(0)).unwrap())
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// rsvg-convert (librsvg, an independent renderer) must accept the SVG.
    #[track_caller]
    fn assert_rsvg_accepts(svg: &str, what: &str) {
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
    fn assert_golden(name: &str, actual: &str) {
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
            &SharedTables::new(Path::new("/"), []),
            &[input],
            &[PathBuf::from("x.html")],
            true,
            &Cancel::never(),
        )
        .unwrap_err();
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
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
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
}
