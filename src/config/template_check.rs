//! Template strings of the file (`run` elements, `shell`, `out`, plot
//! texts): compiled once, and checked for the names, attributes, filters and
//! tests they use, every problem pointing into the string itself.

use std::ops::Range;

use super::literal::ValueMap;
use super::validate::Checker;
use super::{Fanout, Tmpl};
use crate::diag::did_you_mean;
use crate::template::{Templates, Use, allowed_names, known_attributes, stand_in_context};

impl Checker<'_> {
    /// Compiles one template string and checks the names it reads and the
    /// filters and tests it uses; every problem points into the string.
    pub(super) fn template(
        &mut self,
        templates: &mut Templates,
        id: String,
        text: String,
        span: Range<usize>,
        fanout: Fanout,
        usage: Use,
    ) -> Option<Tmpl> {
        // Where a range of the value is in the file; mapped only when a
        // problem is reported.
        let source = self.text;
        let locate = |range: Option<Range<usize>>| match range {
            Some(range) if range.end <= text.len() => ValueMap::new(source, &span, &text)
                .map_or_else(|| span.clone(), |map| map.range(range)),
            _ => span.clone(),
        };
        if let Err(err) = templates.add(&id, &text) {
            let detail = err
                .detail()
                .map(str::to_owned)
                .unwrap_or_else(|| err.kind().to_string());
            self.error(
                locate(err.range()),
                format!("template syntax error: {detail}"),
            )
            .hint = Some("templates are minijinja (Jinja2): `{{ name }}`, `{% if ... %}`".into());
            return None;
        }
        let checked = (templates.compiled_id(&id).to_owned(), fanout, usage);
        if self.checked.contains(&checked) {
            return Some(Tmpl { id, text, span });
        }
        let before = self.diagnostics.len();
        let allowed = allowed_names(fanout, usage);
        for name in templates.unknown_names(&id, fanout, usage) {
            let at = locate(find_word(&text, &name));
            let listing = format!(
                "(a task of `{}` has: {})",
                fanout.keyword(),
                allowed.join(", ")
            );
            let (message, hint) = if matches!(name.as_str(), "out" | "outs") && usage == Use::Out {
                (
                    "`out` cannot refer to itself".to_owned(),
                    format!("build the path from the task's names {listing}"),
                )
            } else {
                let hint = match did_you_mean(&name, allowed.iter().copied()) {
                    Some(h) => format!("{h} {listing}"),
                    None => listing,
                };
                (format!("template uses unknown variable `{name}`"), hint)
            };
            self.error(at, message).hint = Some(hint);
        }
        for dotted in templates.attribute_names(&id) {
            let mut parts = dotted.split('.');
            let (Some(object), Some(attribute)) = (parts.next(), parts.next()) else {
                continue;
            };
            if !allowed.contains(&object) {
                continue; // reported above
            }
            let known: Vec<&str> = match object {
                "vars" => self.vars.keys().map(String::as_str).collect(),
                other => match known_attributes(other) {
                    Some(known) => known.to_vec(),
                    None => continue,
                },
            };
            if known.contains(&attribute) {
                continue;
            }
            let shown = format!("{object}.{attribute}");
            let at = locate(find_word(&text, &shown).or_else(|| find_word(&text, attribute)));
            let listing = if known.is_empty() {
                format!("`{object}` has no names")
            } else {
                format!("`{object}` has: {}", known.join(", "))
            };
            let hint = match did_you_mean(attribute, known.iter().copied()) {
                Some(h) => format!("{h} ({listing})"),
                None if object == "vars" => format!("{listing}; add it to `[vars]`"),
                None => listing,
            };
            self.error(at, format!("template uses unknown variable `{shown}`"))
                .hint = Some(hint);
        }
        if self.diagnostics.len() > before {
            return None;
        }
        let vars = &self.vars;
        let stand_in = self.stand_in.get_or_insert_with(|| {
            stand_in_context(&minijinja::Value::from(minijinja::value::Serde(vars)))
        });
        if let Some(unknown) = templates.unknown_callable(&id, stand_in) {
            let at = locate(
                find_word(&text, &unknown.name)
                    .filter(|r| unknown.range.as_ref().is_none_or(|u| u.start <= r.start))
                    .or(unknown.range),
            );
            let hint = did_you_mean(&unknown.name, unknown.known.iter().copied())
                .unwrap_or_else(|| format!("{}s: {}", unknown.kind, unknown.known.join(", ")));
            self.error(
                at,
                format!("template uses unknown {} `{}`", unknown.kind, unknown.name),
            )
            .hint = Some(hint);
            return None;
        }
        self.checked.insert(checked);
        Some(Tmpl { id, text, span })
    }
}

/// Byte range of `word` in `text` as a whole identifier.
fn find_word(text: &str, word: &str) -> Option<Range<usize>> {
    if word.is_empty() {
        return None;
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = text[from..].find(word) {
        let start = from + pos;
        let end = start + word.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_ident(c));
        if before_ok && after_ok {
            return Some(start..end);
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(find_word("{{ inputs }} {{ input }}", "input"), Some(16..21));
    }
}
