//! Where each byte of a TOML string value came from in the file, so that a
//! problem found inside the value (a template error, an unknown variable)
//! points at the right column even after escapes (`\"`, `\u00e9`) and the
//! trimmed first newline of a multi-line string (issue 5).

use std::ops::Range;

/// Maps byte offsets of a decoded string value to offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueMap {
    /// For each byte of the value, the offset of the file character it came
    /// from; one more entry at the end: the closing delimiter.
    offsets: Vec<usize>,
}

impl ValueMap {
    /// Reads the string literal at `span` of `text` and checks that it
    /// decodes to `value`; `None` when it does not (then the caller points at
    /// the whole span).
    pub(crate) fn new(text: &str, span: &Range<usize>, value: &str) -> Option<ValueMap> {
        let literal = text.get(span.clone())?;
        let (offsets, decoded) = decode(literal)?;
        if decoded != value {
            return None;
        }
        Some(ValueMap {
            offsets: offsets.into_iter().map(|o| o + span.start).collect(),
        })
    }

    /// The file range of `range` of the value (an empty range becomes one
    /// character wide, so a caret shows).
    pub(crate) fn range(&self, range: Range<usize>) -> Range<usize> {
        let last = self.offsets.len() - 1;
        let start = self.offsets[range.start.min(last)];
        let end = self.offsets[range.end.min(last)];
        if end > start {
            start..end
        } else {
            start..start + 1
        }
    }
}

/// Decodes a TOML string literal; returns, for each byte of the result, the
/// offset in `literal` it came from (plus the closing delimiter's offset).
fn decode(literal: &str) -> Option<(Vec<usize>, String)> {
    let (delimiter, basic) = if literal.starts_with("\"\"\"") {
        ("\"\"\"", true)
    } else if literal.starts_with("'''") {
        ("'''", false)
    } else if literal.starts_with('"') {
        ("\"", true)
    } else if literal.starts_with('\'') {
        ("'", false)
    } else {
        return None;
    };
    if literal.len() < 2 * delimiter.len() || !literal.ends_with(delimiter) {
        return None;
    }
    let multi = delimiter.len() == 3;
    let end = literal.len() - delimiter.len();
    let mut pos = delimiter.len();
    // A newline right after the opening delimiter is not part of the value.
    if multi {
        if literal[pos..].starts_with("\r\n") {
            pos += 2;
        } else if literal[pos..].starts_with('\n') {
            pos += 1;
        }
    }
    let mut offsets = Vec::new();
    let mut out = String::new();
    let push = |out: &mut String, offsets: &mut Vec<usize>, c: char, at: usize| {
        out.push(c);
        offsets.extend(std::iter::repeat_n(at, c.len_utf8()));
    };
    while pos < end {
        let rest = &literal[pos..end];
        let c = rest.chars().next()?;
        if !(basic && c == '\\') {
            push(&mut out, &mut offsets, c, pos);
            pos += c.len_utf8();
            continue;
        }
        let escape = rest[1..].chars().next()?;
        let simple = match escape {
            'b' => Some('\u{8}'),
            't' => Some('\t'),
            'n' => Some('\n'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            'e' => Some('\u{1b}'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(decoded) = simple {
            push(&mut out, &mut offsets, decoded, pos);
            pos += 2;
            continue;
        }
        let hex_len = match escape {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if hex_len > 0 {
            let hex = rest.get(2..2 + hex_len)?;
            let decoded = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
            push(&mut out, &mut offsets, decoded, pos);
            pos += 2 + hex_len;
            continue;
        }
        // A line-ending backslash: skip every blank and newline after it.
        if multi && (escape == ' ' || escape == '\t' || escape == '\n' || escape == '\r') {
            let skipped = rest[1..]
                .find(|c: char| !matches!(c, ' ' | '\t' | '\n' | '\r'))
                .unwrap_or(rest.len() - 1);
            pos += 1 + skipped;
            continue;
        }
        return None;
    }
    offsets.push(end);
    Some((offsets, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file range of `needle` in the value of the literal `file`.
    fn at(file: &str, value: &str, needle: &str) -> Option<Range<usize>> {
        let map = ValueMap::new(file, &(0..file.len()), value)?;
        let start = value.find(needle)?;
        Some(map.range(start..start + needle.len()))
    }

    macro_rules! cases {
        ($($name:ident: $file:expr, $value:expr, $needle:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = at($file, $value, $needle).map(|r| &$file[r]);
                assert_eq!(got, $want);
            }
        )*};
    }

    cases! {
        plain: r#""{{ nope }}""#, "{{ nope }}", "nope" => Some("nope");
        literal: "'a {{ x }}'", "a {{ x }}", "x" => Some("x");
        escaped_quotes: r#""say \"hi\" {{ nope }}""#, "say \"hi\" {{ nope }}", "nope" => Some("nope");
        unicode_escape: r#""\u00e9 {{ nope }}""#, "é {{ nope }}", "nope" => Some("nope");
        escape_itself: r#""a\tb""#, "a\tb", "\t" => Some("\\t");
        multi_line_first_newline: "\"\"\"\n  {{ nope }}\"\"\"", "  {{ nope }}", "nope" => Some("nope");
        line_ending_backslash: "\"\"\"a \\\n   {{ nope }}\"\"\"", "a {{ nope }}", "nope" => Some("nope");
        multi_literal: "'''\nx {{ y }}'''", "x {{ y }}", "y" => Some("y");
        mismatch_is_none: r#""abc""#, "abd", "a" => None;
        not_a_string: "[1, 2]", "[1, 2]", "1" => None;
    }

    #[test]
    fn empty_range_is_one_wide() {
        let file = r#""ab""#;
        let map = ValueMap::new(file, &(0..file.len()), "ab").unwrap();
        assert_eq!(map.range(2..2), 3..4);
        assert_eq!(map.range(0..0), 1..2);
    }
}
