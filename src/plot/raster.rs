//! PNG output: the SVG drawn by resvg, with the embedded Noto Sans as the
//! only font (no system fonts are read), so a PNG is the same on every
//! machine and needs nothing installed.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia;
use resvg::usvg;

use super::error::PlotError;

/// Noto Sans Regular, cut to Latin, Greek and common symbols (see
/// fonts/README.md; SIL Open Font License 1.1, fonts/OFL.txt).
pub(crate) const FONT: &[u8] = include_bytes!("fonts/NotoSans-Regular-subset.ttf");

/// The family name inside `FONT`.
const FONT_NAME: &str = "Noto Sans";

fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family(FONT_NAME);
        db.set_serif_family(FONT_NAME);
        db.set_monospace_family(FONT_NAME);
        db.set_cursive_family(FONT_NAME);
        db.set_fantasy_family(FONT_NAME);
        Arc::new(db)
    })
    .clone()
}

/// Parses SVG text with the embedded font (and no access to other files).
pub(crate) fn parse(svg: &str) -> Result<usvg::Tree, PlotError> {
    let options = usvg::Options {
        font_family: FONT_NAME.to_owned(),
        fontdb: fonts(),
        resources_dir: None,
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options).map_err(PlotError::Svg)
}

/// Draws a parsed SVG onto a white-less (transparent) canvas of its size.
pub(crate) fn pixmap(tree: &usvg::Tree) -> Result<tiny_skia::Pixmap, PlotError> {
    let size = tree.size().to_int_size();
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or(PlotError::Canvas {
            width: size.width(),
            height: size.height(),
        })?;
    resvg::render(tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    Ok(pixmap)
}

/// SVG text to PNG bytes.
pub(crate) fn png(svg: &str) -> Result<Vec<u8>, PlotError> {
    let tree = parse(svg)?;
    pixmap(&tree)?
        .encode_png()
        .map_err(|e| PlotError::Png(std::sync::Arc::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_text_with_the_embedded_font() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><text x="2" y="15" font-family="Nothing Like It" font-size="14" fill="#000">Hé 10</text></svg>"##;
        let tree = parse(svg).unwrap();
        let pixmap = pixmap(&tree).unwrap();
        let dark = pixmap.pixels().iter().filter(|p| p.alpha() > 128).count();
        assert!(dark > 20, "text drew {dark} pixels");
        let png = png(svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(png, super::png(svg).unwrap(), "PNG output is deterministic");
    }

    #[test]
    fn bad_svg_is_an_error() {
        assert!(
            png("<svg")
                .unwrap_err()
                .to_string()
                .contains("not valid SVG")
        );
        assert!(png("gnuplot here").is_err());
    }
}
