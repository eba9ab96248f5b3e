//! The PNG drawn straight from the figure (paint.rs) against the SVG of the
//! same figure rasterized by independent renderers: librsvg (rsvg-convert,
//! given only the embedded font through fontconfig) and resvg. Text edges
//! and anti-aliasing differ between renderers; shapes, colours and
//! positions must not.

use std::process::Command;

use super::*;
use crate::table::SharedTables;

/// Straight RGB of every pixel, composited over white.
fn rgb_of_pixmap(p: &resvg::tiny_skia::Pixmap) -> Vec<[u8; 3]> {
    p.pixels()
        .iter()
        .map(|px| {
            let c = px.demultiply();
            let a = u16::from(c.alpha());
            let over = |v: u8| ((u16::from(v) * a + 255 * (255 - a)) / 255) as u8;
            [over(c.red()), over(c.green()), over(c.blue())]
        })
        .collect()
}

/// Decodes a PNG into straight RGB over white.
fn rgb_of_png(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(::png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| match channels {
            3 => [c[0], c[1], c[2]],
            4 => {
                let a = u16::from(c[3]);
                let over = |v: u8| ((u16::from(v) * a + 255 * (255 - a)) / 255) as u8;
                [over(c[0]), over(c[1]), over(c[2])]
            }
            _ => panic!("unexpected PNG colour type {:?}", info.color_type),
        })
        .collect();
    (info.width, info.height, pixels)
}

/// The share of pixels where a channel is off by more than `tolerance`.
fn differ(a: &[[u8; 3]], b: &[[u8; 3]], tolerance: u8) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a
        .iter()
        .zip(b)
        .filter(|(p, q)| {
            p.iter()
                .zip(q.iter())
                .any(|(x, y)| x.abs_diff(*y) > tolerance)
        })
        .count();
    n as f64 / a.len() as f64
}

/// rsvg-convert's picture of an SVG, with the embedded font as the only one
/// fontconfig knows.
fn rsvg(svg: &str, dir: &Path) -> Vec<u8> {
    let fonts = dir.join("fonts");
    std::fs::create_dir_all(&fonts).unwrap();
    std::fs::write(fonts.join("NotoSans.ttf"), raster::FONT).unwrap();
    let conf = dir.join("fonts.conf");
    std::fs::write(
        &conf,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig><dir>{}</dir><cachedir>{}</cachedir></fontconfig>\n",
            fonts.display(),
            dir.join("cache").display()
        ),
    )
    .unwrap();
    let input = dir.join("plot.svg");
    let output = dir.join("plot.png");
    std::fs::write(&input, svg).unwrap();
    let out = Command::new("rsvg-convert")
        .env("FONTCONFIG_FILE", &conf)
        .arg("--format=png")
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run rsvg-convert ({e}); install it: apt-get install librsvg2-bin")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(output).unwrap()
}

/// The figure of a built-in plot.
fn figure_of(spec: &PlotSpec, texts: &Texts<'_>, inputs: &[PathBuf]) -> figure::Figure {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tables: Vec<Arc<Table>> = table_reads(spec, inputs)
        .iter()
        .map(|read| {
            TaskTables::new(&SharedTables::new(root, [], false)).read(read, &Cancel::never())
        })
        .collect::<Result<_, _>>()
        .unwrap();
    let kind = match spec.template {
        PlotTemplate::Builtin(kind) => kind,
        PlotTemplate::File(_) => unreachable!("built-ins only"),
    };
    figure::build(&figure::Request {
        spec,
        texts,
        tables: &tables,
        kind,
        decimate: true,
        detail: false,
        cancel: &Cancel::never(),
    })
    .unwrap()
}

#[test]
fn png_drawn_from_the_figure_matches_independent_renderers() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = golden_inputs(dir.path());
    let titled = Texts {
        title: Some("Sensor <a&b> \"quoted\""),
        x_label: Some("t (s)"),
        y_label: None,
    };
    let mut many = String::from("t");
    for c in 0..12 {
        many.push_str(&format!(",s{c}"));
    }
    many.push('\n');
    for i in 0..60 {
        many.push_str(&i.to_string());
        for c in 0..12 {
            many.push_str(&format!(
                ",{}",
                (f64::from(i) * 0.1 + f64::from(c)).sin() + f64::from(c)
            ));
        }
        many.push('\n');
    }
    let many = write(dir.path(), "many.csv", &many);
    let bars = write(
        dir.path(),
        "bars.csv",
        "name,count,share\nalpha,3,0.5\nbravo,-1,\ncharlie & co,7,1.5\na rather long category name,2,1\n",
    );
    let mut panels = spec("line", Some("t"), &["value", "temp"]);
    panels.layout = crate::config::PlotLayout::Panels;
    let mut hist = spec("hist", None, &["value", "temp"]);
    hist.bins = 12;
    let mut dashed = spec("line", Some("t"), &["*"]);
    dashed.max_series = 12;
    let mut narrow = spec("bar", Some("name"), &["count"]);
    narrow.width = 260;
    let mut days = String::from("date,v\n");
    for d in 1..=28 {
        days.push_str(&format!("2024-02-{d:02},{}\n", d % 5));
    }
    let days = write(dir.path(), "days.csv", &days);
    let mut empty = spec("line", None, &["*"]);
    empty.skip_empty = true;
    let words = write(dir.path(), "words.csv", "name,kind\nx,y\n");
    let cases: Vec<(&str, PlotSpec, &Texts<'_>, Vec<PathBuf>)> = vec![
        (
            "line",
            spec("line", Some("t"), &["*"]),
            &titled,
            inputs.clone(),
        ),
        (
            "scatter",
            spec("scatter", Some("t"), &["value"]),
            &NO_TEXTS,
            inputs.clone(),
        ),
        ("hist", hist, &NO_TEXTS, inputs.clone()),
        ("panels", panels, &titled, inputs.clone()),
        (
            "bar",
            spec("bar", Some("name"), &["count", "share"]),
            &titled,
            vec![bars.clone()],
        ),
        ("dashes", dashed, &NO_TEXTS, vec![many]),
        ("rotated", narrow, &NO_TEXTS, vec![bars.clone()]),
        (
            "time",
            spec("scatter", Some("date"), &["v"]),
            &NO_TEXTS,
            vec![days],
        ),
        ("empty", empty, &titled, vec![words]),
        (
            "dense",
            spec("line", Some("t"), &["v"]),
            &NO_TEXTS,
            vec![walk(dir.path(), 10_000)],
        ),
    ];
    for (name, spec, texts, inputs) in cases {
        let figure = figure_of(&spec, texts, &inputs);
        let svg = template::render_builtin(figure.kind, &figure).unwrap();
        let png = paint::png(&figure).unwrap();
        let (w, h, ours) = rgb_of_png(&png);
        assert_eq!((w, h), (figure.width, figure.height));
        let (rw, rh, librsvg) = rgb_of_png(&rsvg(&svg, dir.path()));
        assert_eq!((rw, rh), (w, h), "{name}");
        let resvg = rgb_of_pixmap(&raster::pixmap(&raster::parse(&svg).unwrap()).unwrap());
        if let Some(keep) = std::env::var_os("KEEP_PNG") {
            let keep = Path::new(&keep);
            std::fs::write(keep.join(format!("{name}.fast.png")), &png).unwrap();
            std::fs::write(
                keep.join(format!("{name}.rsvg.png")),
                rsvg(&svg, dir.path()),
            )
            .unwrap();
        }
        let ink = ours.iter().filter(|p| **p != [255, 255, 255]).count();
        assert!(ink > 2000, "{name}: only {ink} pixels drawn");
        for tolerance in [8, 32] {
            let (vs_librsvg, vs_resvg) = (
                differ(&ours, &librsvg, tolerance),
                differ(&ours, &resvg, tolerance),
            );
            eprintln!(
                "{name}: {:.3}% of pixels off by more than {tolerance} from librsvg's, {:.3}% from resvg's",
                vs_librsvg * 100.0,
                vs_resvg * 100.0
            );
        }
        // A pixel differs when a channel is off by more than an eighth of
        // its range: a shade of anti-aliasing is not a difference.
        let (vs_librsvg, vs_resvg) = (differ(&ours, &librsvg, 32), differ(&ours, &resvg, 32));
        assert!(
            vs_librsvg < 0.001,
            "{name}: {:.3}% differ from librsvg",
            vs_librsvg * 100.0
        );
        assert!(
            vs_resvg < 0.0001,
            "{name}: {:.3}% differ from resvg",
            vs_resvg * 100.0
        );
    }
}

/// A random walk of `rows` points (`t,v`), deterministic.
fn walk(dir: &Path, rows: u32) -> PathBuf {
    let mut text = String::from("t,v\n");
    let mut walk = 0.0f64;
    let mut seed: u64 = 7;
    for i in 0..rows {
        seed = crate::test_rng::xorshift(seed);
        walk += (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        text.push_str(&format!("{i},{walk:.4}\n"));
    }
    write(dir, "walk.csv", &text)
}

/// This thread's CPU time in milliseconds (robust on a loaded machine).
fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the struct it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

/// Where a PNG's time goes (run by hand: `cargo test --lib png_phases --
/// --ignored --nocapture`).
#[test]
#[ignore]
fn png_phases() {
    let dir = tempfile::tempdir().unwrap();
    let input = walk(dir.path(), 10_000);
    let texts = Texts {
        title: Some("walk"),
        x_label: None,
        y_label: None,
    };
    let figure = figure_of(&spec("line", Some("t"), &["v"]), &texts, &[input]);
    eprintln!("points: {}", figure.series[0].points);
    let n = 30;
    let timed = |label: &str, f: &mut dyn FnMut()| {
        let start = cpu_ms();
        for _ in 0..n {
            f();
        }
        eprintln!("{label:<20} {:6.2} ms", (cpu_ms() - start) / f64::from(n));
    };
    timed("svg template", &mut || {
        template::render_builtin("line", &figure).unwrap();
    });
    timed("paint (all)", &mut || {
        paint::draw(&figure).unwrap();
    });
    let mut bare = figure.clone();
    bare.series.clear();
    timed("paint (no series)", &mut || {
        paint::draw(&bare).unwrap();
    });
    let pixmap = paint::draw(&figure).unwrap();
    timed("encode", &mut || {
        paint::encode(&pixmap).unwrap();
    });
    for filter in [
        ::png::Filter::NoFilter,
        ::png::Filter::Sub,
        ::png::Filter::Up,
        ::png::Filter::Paeth,
        ::png::Filter::Adaptive,
    ] {
        timed(&format!("encode {filter:?}"), &mut || {
            paint::encode_with(&pixmap, filter).unwrap();
        });
        let bytes = paint::encode_with(&pixmap, filter).unwrap().len();
        eprintln!("  {bytes} bytes");
    }
}
