//! PNG output of the built-in plots without SVG: the figure drawn straight
//! onto a tiny-skia canvas, element for element as the built-in templates
//! (templates/*.svg.j2) write it, with text from glyphs.rs, then encoded
//! with a fast deflate setting. The SVG of the same figure, rasterized by
//! librsvg, is the reference it is tested against (issue 11: a PNG costs
//! milliseconds, not tens of them).

use resvg::tiny_skia::{
    Color, FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, StrokeDash,
    Transform,
};

use super::capsules;
use super::error::PlotError;
use super::figure::{Figure, Text};
use super::glyphs::{self, Anchor, TextStyle};
use super::paths;

/// `#RRGGBB` (the palette's form) as a colour with `opacity`.
fn color(hex: &str, opacity: f32) -> Color {
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    let mut c = Color::from_rgba8(channel(1), channel(3), channel(5), 255);
    c.apply_opacity(opacity);
    c
}

fn paint(hex: &str, opacity: f32) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(color(hex, opacity));
    p.anti_alias = true;
    p
}

fn stroke(width: f32) -> Stroke {
    Stroke {
        width,
        ..Stroke::default()
    }
}

/// The PNG row filter: for a plot, Paeth is about as fast as none of the
/// others and nearly as small as choosing per row (measured: 1.0 ms and
/// 49 KB against 1.3 ms and 45 KB for an 800x450 line plot).
const FILTER: png::Filter = png::Filter::Paeth;

/// The text colours and styles of the built-in templates.
const INK: &str = "#222222";
const AXIS: &str = "#333333";
const GRID: &str = "#e6e6e6";
const QUIET: &str = "#666666";

/// A straight line, as SVG `<line>` strokes it.
fn line(pixmap: &mut Pixmap, from: (f64, f64), to: (f64, f64), paint: &Paint<'_>, s: &Stroke) {
    let mut pb = PathBuilder::new();
    pb.move_to(from.0 as f32, from.1 as f32);
    pb.line_to(to.0 as f32, to.1 as f32);
    if let Some(path) = pb.finish() {
        pixmap.stroke_path(&path, paint, s, Transform::identity(), None);
    }
}

/// A rectangle, as SVG `<rect>` fills it.
fn rect(pixmap: &mut Pixmap, x: f64, y: f64, w: f64, h: f64, paint: &Paint<'_>) -> Option<Path> {
    let r = Rect::from_xywh(x as f32, y as f32, w as f32, h as f32)?;
    let path = PathBuilder::from_rect(r);
    pixmap.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    Some(path)
}

fn text(pixmap: &mut Pixmap, t: &Text, size: f64, anchor: Anchor, dy: f32, rotate: f32, ink: &str) {
    glyphs::draw(
        pixmap,
        &t.text,
        t.x as f32,
        t.y as f32,
        TextStyle {
            size: size as f32,
            anchor,
            dy,
            rotate,
        },
        &paint(ink, 1.0),
    );
}

/// The SVG dash array `"6 3"` as a tiny-skia dash.
fn dash(pattern: Option<&str>) -> Option<StrokeDash> {
    let values: Vec<f32> = pattern?
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    StrokeDash::new(values, 0.0)
}

/// Draws a built-in figure: what base.svg.j2 and the kind's template draw,
/// in the same order.
pub(crate) fn draw(figure: &Figure) -> Result<Pixmap, PlotError> {
    let (w, h) = (figure.width, figure.height);
    let mut pixmap = Pixmap::new(w, h).ok_or(PlotError::Canvas {
        width: w,
        height: h,
    })?;
    pixmap.fill(Color::WHITE);
    let thin = stroke(1.0);

    let grid = paint(GRID, 1.0);
    for p in &figure.panels {
        for t in &p.y_axis.ticks {
            line(
                &mut pixmap,
                (p.area.left, t.pos),
                (p.area.right, t.pos),
                &grid,
                &thin,
            );
        }
    }

    marks(&mut pixmap, figure);

    let axis = paint(AXIS, 1.0);
    for p in &figure.panels {
        let mut pb = PathBuilder::new();
        pb.move_to(p.area.left as f32, p.area.top as f32);
        pb.line_to(p.area.left as f32, p.area.bottom as f32);
        pb.line_to(p.area.right as f32, p.area.bottom as f32);
        if let Some(path) = pb.finish() {
            pixmap.stroke_path(&path, &axis, &thin, Transform::identity(), None);
        }
        for t in &figure.x_axis.ticks {
            line(
                &mut pixmap,
                (t.pos, p.area.bottom),
                (t.pos, p.x_tick_end),
                &axis,
                &thin,
            );
        }
        for t in &p.y_axis.ticks {
            let y = &p.y_axis;
            line(
                &mut pixmap,
                (y.line, t.pos),
                (y.tick_end, t.pos),
                &axis,
                &thin,
            );
        }
    }

    let fonts = &figure.fonts;
    let x = &figure.x_axis;
    for t in x.ticks.iter().filter(|t| !t.label.is_empty()) {
        let at = Text {
            text: t.label.clone(),
            x: t.pos,
            y: x.label_at,
        };
        if x.rotate {
            text(&mut pixmap, &at, fonts.tick, Anchor::End, 0.35, -45.0, INK);
        } else {
            text(&mut pixmap, &at, fonts.tick, Anchor::Middle, 0.8, 0.0, INK);
        }
    }
    for p in &figure.panels {
        for t in &p.y_axis.ticks {
            let at = Text {
                text: t.label.clone(),
                x: p.y_axis.label_at,
                y: t.pos,
            };
            text(&mut pixmap, &at, fonts.tick, Anchor::End, 0.35, 0.0, INK);
        }
    }
    if let Some(o) = &x.offset {
        text(&mut pixmap, o, fonts.tick, Anchor::End, 0.0, 0.0, INK);
    }
    if let Some(t) = &figure.title {
        text(&mut pixmap, t, fonts.title, Anchor::Middle, 0.0, 0.0, INK);
    }
    if let Some(t) = &figure.x_label {
        text(&mut pixmap, t, fonts.label, Anchor::Middle, 0.0, 0.0, INK);
    }
    if let Some(t) = &figure.y_label {
        text(&mut pixmap, t, fonts.label, Anchor::Middle, 0.0, -90.0, INK);
    }
    for t in figure.panels.iter().filter_map(|p| p.y_label.as_ref()) {
        text(&mut pixmap, t, fonts.label, Anchor::Middle, 0.0, -90.0, INK);
    }

    for e in &figure.legend {
        match e.mark {
            "line" => {
                let mut s = stroke(2.0);
                s.dash = dash(e.dash);
                line(
                    &mut pixmap,
                    (e.x, e.y),
                    (e.swatch_end, e.y),
                    &paint(e.color, 1.0),
                    &s,
                );
            }
            "marker" => {
                let mut s = stroke(6.0);
                s.line_cap = LineCap::Round;
                let (x, y) = (e.swatch_mid, e.y);
                line(&mut pixmap, (x, y), (x, y), &paint(e.color, 1.0), &s);
            }
            "box" => {
                rect(
                    &mut pixmap,
                    e.x,
                    e.box_top,
                    e.swatch_width,
                    10.0,
                    &paint(e.color, 1.0),
                );
            }
            _ => {}
        }
        let at = Text {
            text: e.name.clone(),
            x: e.text_x,
            y: e.y,
        };
        text(
            &mut pixmap,
            &at,
            fonts.legend,
            Anchor::Start,
            0.35,
            0.0,
            INK,
        );
    }
    if let Some(t) = &figure.note {
        text(&mut pixmap, t, fonts.note, Anchor::Start, 0.0, 0.0, QUIET);
    }
    if let Some(t) = &figure.empty {
        text(&mut pixmap, t, fonts.label, Anchor::Middle, 0.0, 0.0, QUIET);
    }
    Ok(pixmap)
}

/// The kind's own marks: line.svg.j2, scatter.svg.j2, bar.svg.j2, hist.svg.j2.
fn marks(pixmap: &mut Pixmap, figure: &Figure) {
    match figure.kind {
        "line" => lines(pixmap, figure),
        "scatter" => {
            // A dot per point, the union painted at 80% once per series.
            for s in &figure.series {
                if let Some(runs) = paths::read(&s.path) {
                    capsules::stroke(pixmap, &runs, 5.0, color(s.color, 0.8));
                }
            }
        }
        "bar" => {
            for b in &figure.bars {
                rect(pixmap, b.x, b.y, b.width, b.height, &paint(b.color, 1.0));
            }
        }
        _ => {
            let opacity = if figure.legend.is_empty() { 0.85 } else { 0.55 };
            let edge = paint("#ffffff", 1.0);
            let edge_stroke = stroke(0.5);
            for b in &figure.bars {
                if let Some(path) = rect(
                    pixmap,
                    b.x,
                    b.y,
                    b.width,
                    b.height,
                    &paint(b.color, opacity),
                ) {
                    pixmap.stroke_path(&path, &edge, &edge_stroke, Transform::identity(), None);
                }
            }
        }
    }
}

/// The series of a line plot: solid lines as unions of capsules (round
/// joins and caps, capsules.rs), dashed ones through tiny-skia's stroker
/// (dashes run on along the whole line).
fn lines(pixmap: &mut Pixmap, figure: &Figure) {
    for s in &figure.series {
        let Some(runs) = paths::read(&s.path) else {
            continue;
        };
        match dash(s.dash) {
            None => capsules::stroke(pixmap, &runs, 1.5, color(s.color, 1.0)),
            Some(dash) => {
                let mut st = stroke(1.5);
                st.line_cap = LineCap::Round;
                st.line_join = LineJoin::Round;
                st.dash = Some(dash);
                if let Some(path) = paths::skia_path(runs.iter().map(Vec::as_slice)) {
                    pixmap.stroke_path(
                        &path,
                        &paint(s.color, 1.0),
                        &st,
                        Transform::identity(),
                        None,
                    );
                }
            }
        }
    }
}

/// PNG bytes of a drawn figure: 8-bit RGB (the canvas is opaque), fast
/// deflate (a plot is mostly flat colour, which compresses well anyway).
pub(crate) fn encode(pixmap: &Pixmap) -> Result<Vec<u8>, PlotError> {
    encode_with(pixmap, FILTER)
}

/// `encode` with a given row filter.
pub(crate) fn encode_with(pixmap: &Pixmap, filter: png::Filter) -> Result<Vec<u8>, PlotError> {
    let failed = |e: png::EncodingError| PlotError::Png(std::sync::Arc::new(e));
    // Opaque, so premultiplied and straight colour are the same.
    let mut rgb = vec![0; pixmap.pixels().len() * 3];
    for (to, from) in rgb.chunks_exact_mut(3).zip(pixmap.data().chunks_exact(4)) {
        to.copy_from_slice(&from[..3]);
    }
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(filter);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&rgb).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

/// A built-in figure as PNG bytes.
pub(crate) fn png(figure: &Figure) -> Result<Vec<u8>, PlotError> {
    encode(&draw(figure)?)
}
