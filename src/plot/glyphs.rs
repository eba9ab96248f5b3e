//! Text for PNG output drawn without SVG: strings shaped with the embedded
//! Noto Sans by harfrust (the shaper resvg uses, so glyphs sit where they
//! do in the SVG rasterized by resvg) and glyph outlines read by skrifa as
//! tiny-skia paths. Outlines and shaped strings are made once per process
//! and cached: the tick labels of a thousand plots are mostly the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use harfrust::{ShapeOptions, ShaperData, UnicodeBuffer};
use resvg::tiny_skia::{FillRule, Paint, Path, PathBuilder, Pixmap, Transform};
use skrifa::outline::{DrawSettings, OutlinePen};
use skrifa::prelude::{LocationRef, Size};
use skrifa::{FontRef, GlyphId, MetadataProvider};

use super::raster::FONT;

/// Shaped strings kept; past this the cache starts again (titles and
/// notes are often unique).
const SHAPED_CACHE: usize = 4096;

/// One glyph of a shaped string, in font units.
#[derive(Debug, Clone, Copy)]
struct Placed {
    id: u32,
    x: f32,
    y: f32,
}

/// A shaped string: its glyphs and its advance, in font units.
#[derive(Debug)]
struct Shaped {
    glyphs: Vec<Placed>,
    advance: f32,
}

/// The embedded font, ready to shape and outline.
struct Font {
    font: FontRef<'static>,
    shaper: &'static ShaperData,
    units_per_em: f32,
    outlines: Mutex<HashMap<u32, Option<Arc<Path>>>>,
    shaped: Mutex<HashMap<String, Arc<Shaped>>>,
}

fn font() -> Option<&'static Font> {
    static FONT_CELL: OnceLock<Option<Font>> = OnceLock::new();
    FONT_CELL
        .get_or_init(|| {
            let font = FontRef::new(FONT).ok()?;
            let units_per_em = f32::from(
                font.metrics(Size::unscaled(), LocationRef::default())
                    .units_per_em,
            );
            // Made once per process and kept: shapers borrow it.
            let shaper: &'static ShaperData = Box::leak(Box::new(ShaperData::new(&font)));
            Some(Font {
                font,
                shaper,
                units_per_em,
                outlines: Mutex::default(),
                shaped: Mutex::default(),
            })
        })
        .as_ref()
}

impl Font {
    fn shape(&self, text: &str) -> Arc<Shaped> {
        let mut cache = self.shaped.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shaped) = cache.get(text) {
            return shaped.clone();
        }
        let shaper = self.shaper.shaper(&self.font).build();
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let output = shaper.shape(buffer, ShapeOptions::new());
        let mut advance = 0.0;
        let glyphs = output
            .glyph_infos()
            .iter()
            .zip(output.glyph_positions())
            .map(|(info, pos)| {
                let placed = Placed {
                    id: info.glyph_id,
                    x: advance + pos.x_offset as f32,
                    y: pos.y_offset as f32,
                };
                advance += pos.x_advance as f32;
                placed
            })
            .collect();
        let shaped = Arc::new(Shaped { glyphs, advance });
        if cache.len() >= SHAPED_CACHE {
            cache.clear();
        }
        cache.insert(text.to_owned(), shaped.clone());
        shaped
    }

    fn outline(&self, id: u32) -> Option<Arc<Path>> {
        let mut cache = self.outlines.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(id)
            .or_insert_with(|| {
                let glyph = self.font.outline_glyphs().get(GlyphId::new(id))?;
                let mut pen = Pen(PathBuilder::new());
                glyph
                    .draw(
                        DrawSettings::unhinted(Size::unscaled(), LocationRef::default()),
                        &mut pen,
                    )
                    .ok()?;
                pen.0.finish().map(Arc::new)
            })
            .clone()
    }
}

/// Collects a glyph outline into a tiny-skia path (font units, y up).
struct Pen(PathBuilder);

impl OutlinePen for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.line_to(x, y);
    }
    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        self.0.quad_to(cx0, cy0, x, y);
    }
    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        self.0.cubic_to(cx0, cy0, cx1, cy1, x, y);
    }
    fn close(&mut self) {
        self.0.close();
    }
}

/// Where a text's anchor is: SVG's `text-anchor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The text starts at x.
    Start,
    /// The text is centred on x.
    Middle,
    /// The text ends at x.
    End,
}

/// One line of text as an SVG `<text>` element draws it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextStyle {
    /// Font size in pixels.
    pub(crate) size: f32,
    /// Where x is.
    pub(crate) anchor: Anchor,
    /// Baseline shift, in ems (SVG `dy`).
    pub(crate) dy: f32,
    /// Turned by this many degrees around (x, y) (SVG `rotate(a x y)`).
    pub(crate) rotate: f32,
}

/// The width of `text` at `size` pixels, as drawn.
#[cfg(test)]
pub(crate) fn width(text: &str, size: f32) -> f32 {
    font().map_or(0.0, |f| f.shape(text).advance * size / f.units_per_em)
}

/// Draws `text` anchored at (x, y) with `paint`, as the SVG `<text>` of the
/// same style would be.
pub(crate) fn draw(
    pixmap: &mut Pixmap,
    text: &str,
    x: f32,
    y: f32,
    style: TextStyle,
    paint: &Paint<'_>,
) {
    let Some(font) = font() else { return };
    if text.is_empty() {
        return;
    }
    let shaped = font.shape(text);
    let scale = style.size / font.units_per_em;
    let width = shaped.advance * scale;
    let start = match style.anchor {
        Anchor::Start => x,
        Anchor::Middle => x - width / 2.0,
        Anchor::End => x - width,
    };
    let baseline = y + style.dy * style.size;
    let base = if style.rotate == 0.0 {
        Transform::identity()
    } else {
        Transform::from_rotate_at(style.rotate, x, y)
    };
    for glyph in &shaped.glyphs {
        let Some(path) = font.outline(glyph.id) else {
            continue;
        };
        let at = base.pre_translate(start + glyph.x * scale, baseline - glyph.y * scale);
        let transform = at.pre_scale(scale, -scale);
        pixmap.fill_path(&path, paint, FillRule::Winding, transform, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout's widths (a table of the font's advances) agree with the
    /// shaped text to within kerning.
    #[test]
    fn layout_widths_match_the_shaped_font() {
        for text in [
            "0",
            "-1.25",
            "2024-Mar-05",
            "value, temp",
            "Sensor <a&b> \"quoted\"",
        ] {
            let shaped = width(text, 11.0);
            let table = super::super::layout::text_width(text, 11.0) as f32;
            assert!(
                (shaped - table).abs() < 0.5 + 0.02 * table,
                "{text}: shaped {shaped}, layout {table}"
            );
        }
    }

    #[test]
    fn text_is_drawn_where_its_anchor_says() {
        let ink = |anchor| {
            let mut pixmap = Pixmap::new(200, 40).unwrap();
            let mut paint = Paint::default();
            paint.set_color_rgba8(0, 0, 0, 255);
            let style = TextStyle {
                size: 16.0,
                anchor,
                dy: 0.0,
                rotate: 0.0,
            };
            draw(&mut pixmap, "Hello", 100.0, 30.0, style, &paint);
            let columns: Vec<usize> = (0..200)
                .filter(|x| (0..40).any(|y| pixmap.pixel(*x, y).unwrap().alpha() > 128))
                .map(|x| x as usize)
                .collect();
            (columns[0], columns[columns.len() - 1])
        };
        let w = width("Hello", 16.0) as usize;
        let (start, middle, end) = (ink(Anchor::Start), ink(Anchor::Middle), ink(Anchor::End));
        assert!(start.0 >= 100 && start.0 <= 103, "{start:?}");
        assert!(end.1 <= 100 && end.1 + 4 >= 100, "{end:?}");
        assert!(
            middle.0 + w / 2 >= 98 && middle.0 + w / 2 <= 103,
            "{middle:?} {w}"
        );
    }
}
