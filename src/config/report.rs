//! `[report]`: where the HTML page of each run goes (issue 14), a path
//! inside the output folder ending in `.html`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::normalize_path;
use super::raw::RawReport;
use super::validate::Checker;

/// `[report]`, validated.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The page, relative to root (`out` joined with `[report] out`).
    pub(crate) path: PathBuf,
    /// Where `[report]` (or its `out`) is in the file.
    pub(crate) span: Range<usize>,
}

impl Checker<'_> {
    /// Checks `[report]`; `out_dir` is the pipeline's output folder.
    pub(super) fn report(
        &mut self,
        raw: &RawReport,
        table: Range<usize>,
        out_dir: &Path,
    ) -> Option<Report> {
        let (text, span) = match &raw.out {
            Some(out) => (out.get_ref().as_str(), out.span()),
            None => ("report.html", table),
        };
        let relative = normalize_path(Path::new(text));
        if Path::new(text).is_absolute() || relative.starts_with("..") {
            self.error(span, "the report must stay inside the output folder")
                .hint = Some("`[report] out` is relative to `[pipeline] out`".to_owned());
            return None;
        }
        let is_html = relative
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        if !is_html {
            self.error(span, format!("the report `{text}` is not an `.html` file"))
                .hint = Some("name it like `report.html`".to_owned());
            return None;
        }
        Some(Report {
            path: out_dir.join(relative),
            span,
        })
    }
}
