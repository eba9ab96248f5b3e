//! Diagnostics: a problem in the pipeline file, with the span it points at,
//! and the renderer that shows it like rustc does (path:line:col, the source
//! line, a caret, a hint).

use std::ops::Range;
use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

/// One problem found while loading or planning a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    /// Byte range in the pipeline file; `None` for problems of the file as a whole.
    pub(crate) span: Option<Range<usize>>,
    /// What is wrong: lowercase, names in backticks.
    pub(crate) message: String,
    /// Shown under the caret: a suggestion or what would fix it.
    pub(crate) hint: Option<String>,
    /// Extra lines shown after the snippet (`= note: ...`).
    pub(crate) notes: Vec<String>,
    /// Other places of the file that explain this one (the first of two
    /// names, the other writer of an output), each with a short label.
    pub(crate) labels: Vec<(Range<usize>, String)>,
}

impl Diagnostic {
    /// A diagnostic at `span`.
    pub(crate) fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            span: Some(span),
            message: message.into(),
            hint: None,
            notes: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// A diagnostic of the whole file (no position in it).
    pub(crate) fn whole_file(message: impl Into<String>) -> Self {
        Diagnostic {
            span: None,
            message: message.into(),
            hint: None,
            notes: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Adds the text shown under the caret.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Marks another place of the file, with a label.
    pub(crate) fn label(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }

    /// Adds a note line after the snippet.
    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// Suggests the closest of `known` to `name` ("did you mean"), if one is close.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean_name(name, known).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The closest of `known` to `name`, if one is close enough to be a typo.
pub(crate) fn did_you_mean_name<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    known
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(name.len() / 3) && *distance < candidate.len().max(name.len())
        })
        .min()
        .map(|(_, candidate)| candidate)
}

/// The byte offset of a 1-based line and column (in characters) in `text`:
/// the inverse of [`line_col`]. `None` past the end of the line or file.
pub(crate) fn offset_at(text: &str, line: usize, col: usize) -> Option<usize> {
    let line_start = if line == 1 {
        0
    } else {
        text.match_indices('\n').nth(line.checked_sub(2)?)?.0 + 1
    };
    let rest = &text[line_start..];
    let line_text = rest.find('\n').map_or(rest, |end| &rest[..end]);
    let in_line = match col.checked_sub(1)? {
        n if n == line_text.chars().count() => line_text.len(),
        n => line_text.char_indices().nth(n)?.0,
    };
    Some(line_start + in_line)
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Renders every diagnostic of one file, one after another, as rustc does.
pub(crate) fn render(diagnostics: &[Diagnostic], path: &Path, text: &str, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let path_str = path.display().to_string();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let mut groups: Vec<Group<'_>> = Vec::new();
        let title = Level::ERROR.primary_title(diagnostic.message.as_str());
        match &diagnostic.span {
            Some(span) => {
                let span = clamp_span(text, span.clone());
                let mut annotation = AnnotationKind::Primary.span(span);
                if let Some(hint) = &diagnostic.hint {
                    annotation = annotation.label(hint.as_str());
                }
                let mut snippet = Snippet::source(text)
                    .path(path_str.as_str())
                    .annotation(annotation);
                for (span, label) in &diagnostic.labels {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(clamp_span(text, span.clone()))
                            .label(label.as_str()),
                    );
                }
                groups.push(title.element(snippet));
            }
            None => {
                let mut group = title.element(Origin::path(path_str.as_str()));
                if let Some(hint) = &diagnostic.hint {
                    group = group.element(Level::HELP.message(hint.as_str()));
                }
                groups.push(group);
            }
        }
        for note in &diagnostic.notes {
            groups.push(Group::with_title(
                Level::NOTE.secondary_title(note.as_str()),
            ));
        }
        out.push_str(&renderer.render(&groups));
        out.push_str("\n\n");
    }
    let count = diagnostics.len();
    let summary = format!(
        "error: could not load `{}` ({} problem{})",
        path.display(),
        count,
        if count == 1 { "" } else { "s" }
    );
    if color {
        let style = anstyle::AnsiColor::BrightRed.on_default().bold();
        out.push_str(&format!("{style}{summary}{style:#}\n"));
    } else {
        out.push_str(&summary);
        out.push('\n');
    }
    out
}

/// Keeps a span inside the text and on character boundaries; an empty span at
/// the very end points at the last character so the caret is visible.
fn clamp_span(text: &str, span: Range<usize>) -> Range<usize> {
    let end = floor_char_boundary(text, span.end.min(text.len()));
    let start = floor_char_boundary(text, span.start.min(end));
    if start == end && start == text.len() && start > 0 {
        let prev = floor_char_boundary(text, start - 1);
        return prev..start;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // after "bé " (é is two bytes)
        assert_eq!(line_col(text, 10), (2, 4));
    }

    #[test]
    fn offsets_from_line_and_column() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(offset_at(text, 1, 1), Some(0));
        assert_eq!(offset_at(text, 2, 4), Some(10));
        assert_eq!(offset_at(text, 3, 1), Some(text.len()));
        assert_eq!(offset_at(text, 2, 20), None);
        assert_eq!(offset_at(text, 4, 1), None);
        assert_eq!(offset_at(text, 0, 1), None);
    }

    proptest::proptest! {
        /// Offset -> line:col -> offset gives the offset back (at the start
        /// of the character it falls in), for any text.
        #[test]
        fn line_col_round_trips(text in "(?s).{0,200}", at in 0usize..220) {
            let offset = floor_char_boundary(&text, at.min(text.len()));
            let (line, col) = line_col(&text, offset);
            proptest::prop_assert_eq!(offset_at(&text, line, col), Some(offset));
        }

        /// Every line:col inside the text maps to an offset that maps back.
        #[test]
        fn offset_round_trips(text in "[a\né\t\r]{0,60}", line in 1usize..8, col in 1usize..12) {
            if let Some(offset) = offset_at(&text, line, col) {
                proptest::prop_assert_eq!(line_col(&text, offset), (line, col));
            }
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("clen", ["clean", "stats"]).as_deref(),
            Some("did you mean `clean`?")
        );
        assert_eq!(did_you_mean("zzzzzz", ["clean", "stats"]), None);
    }

    #[test]
    fn render_points_at_line_and_column() {
        let text = "[pipeline]\nname = 3\n";
        let d = Diagnostic::new(18..19, "expected a string").hint("quote it");
        let out = render(&[d], Path::new("p.toml"), text, false);
        assert!(out.contains("p.toml:2:8"), "{out}");
        assert!(out.contains("quote it"), "{out}");
    }
}
