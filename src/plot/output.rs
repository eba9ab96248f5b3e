//! What each output file of a plot gets, by its extension: `.svg` the SVG
//! text (a user template's checked to be SVG), `.png` the picture
//! rasterized, anything else a user template's text as it is. Built-in
//! templates write only `.svg` and `.png`, which the validator checks when
//! the extension is written in `out` (issue 10, item 17).

use std::path::Path;

use resvg::usvg::roxmltree;

use super::error::PlotError;
use super::raster;

/// The extensions a built-in plot template can write.
pub(crate) const BUILTIN_EXTENSIONS: [&str; 2] = ["svg", "png"];

/// The extension of an output path, lowercase (`""` when there is none).
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The extension an `out` template surely ends with, if its text says: the
/// literal tail after its last `{{ ... }}` (`plots/{{ key }}.jpg` -> `jpg`).
/// `None` when a template expression may supply it (`{{ key }}{{ vars.ext }}`).
pub(crate) fn literal_extension(out: &str) -> Option<String> {
    if out.contains("{%") {
        return None;
    }
    let tail = match out.rfind("}}") {
        Some(end) => &out[end + 2..],
        None => out,
    };
    let name = tail.rsplit('/').next().unwrap_or(tail);
    match name.rsplit_once('.') {
        Some((_, ext)) => Some(ext.to_ascii_lowercase()),
        // A literal file name without an extension.
        None if !out.contains("{{") || tail.contains('/') => Some(String::new()),
        None => None,
    }
}

/// Why a built-in plot cannot write `out` (an `out` template), if its
/// extension says so at load time.
pub(crate) fn builtin_out_problem(out: &str) -> Option<String> {
    let ext = literal_extension(out)?;
    if BUILTIN_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    Some(if ext.is_empty() {
        format!("`{out}` has no extension: a built-in plot writes .svg or .png")
    } else {
        format!("a built-in plot writes .svg or .png, not `.{ext}`")
    })
}

/// The bytes of one output, from the text the template rendered. `user`:
/// the template is the user's own, which may write any text format.
pub(crate) fn bytes(
    text: &str,
    out: &Path,
    user: bool,
    kind: &'static str,
) -> Result<Vec<u8>, PlotError> {
    match extension(out).as_str() {
        "png" => raster::png(text),
        "svg" if user => {
            check_svg(text)?;
            Ok(text.as_bytes().to_vec())
        }
        "svg" => Ok(text.as_bytes().to_vec()),
        _ if user => Ok(text.as_bytes().to_vec()),
        ext => Err(PlotError::Extension {
            kind,
            ext: ext.to_owned(),
        }),
    }
}

/// Fails unless `text` is well-formed XML whose root is an SVG `<svg>`
/// element: what a `.svg` output promises to whoever opens it.
pub(crate) fn check_svg(text: &str) -> Result<(), PlotError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| PlotError::NotSvg {
        why: format!("it is not well-formed XML: {e}"),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg"
        || root.tag_name().namespace() != Some("http://www.w3.org/2000/svg")
    {
        return Err(PlotError::NotSvg {
            why: format!(
                "its root element is `<{}>`, not an `<svg>` in the SVG namespace",
                root.tag_name().name()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_extensions() {
        for (out, ext) in [
            ("plots/{{ key }}.svg", Some("svg")),
            ("plots/{{ key }}.JPG", Some("jpg")),
            ("overview.png", Some("png")),
            ("overview", Some("")),
            ("{{ key }}/plot", Some("")),
            ("plots/{{ key }}", None),
            ("plots/{{ key }}.{{ vars.ext }}", None),
            ("a.b/{{ key }}", None),
            ("{% if x %}a.svg{% else %}b.jpg{% endif %}", None),
        ] {
            assert_eq!(literal_extension(out).as_deref(), ext, "{out}");
        }
    }

    #[test]
    fn builtin_outs() {
        assert_eq!(builtin_out_problem("p/{{ key }}.svg"), None);
        assert_eq!(builtin_out_problem("p/{{ key }}.PNG"), None);
        assert_eq!(builtin_out_problem("p/{{ key }}"), None);
        assert!(
            builtin_out_problem("p/{{ key }}.jpg")
                .unwrap()
                .contains("not `.jpg`")
        );
        assert!(
            builtin_out_problem("plot")
                .unwrap()
                .contains("has no extension")
        );
    }

    #[test]
    fn svg_is_checked() {
        check_svg(r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#).unwrap();
        check_svg("<?xml version=\"1.0\"?>\n<!-- a -->\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\"><g/></svg>\n").unwrap();
        for (text, expected) in [
            ("set title 'x'\nplot '-'\n", "not well-formed XML"),
            ("<svg><g></svg>", "not well-formed XML"),
            ("<html><body/></html>", "root element is `<html>`"),
            ("<svg width=\"1\"/>", "not an `<svg>` in the SVG namespace"),
            ("", "not well-formed XML"),
        ] {
            let err = check_svg(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
