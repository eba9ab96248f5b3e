//! The file's sections as serde sees them: TOML syntax errors in the user's
//! words, each top-level section deserialized on its own (one broken step
//! does not hide the problems of the next), and every problem of a table
//! reported at once, with serde's messages rewritten in TOML words.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::namespace::{RawEntry, RawKind};
use super::raw::{
    RawExecutor, RawFile, RawInput, RawPipeline, RawPlot, RawReport, RawStep, field_names,
};
use super::validate::Checker;
use crate::diag::{did_you_mean, did_you_mean_name};

/// The file split into its sections, each deserialized (the broken ones left
/// out and reported).
pub(super) struct Document {
    /// `[pipeline]` (defaults when absent or broken).
    pub(super) pipeline: RawPipeline,
    /// `[vars]`.
    pub(super) vars: toml::Table,
    /// `[inputs.NAME]`, in file order.
    pub(super) inputs: Vec<(Spanned<String>, RawInput)>,
    /// `[[steps]]` and `[[plots]]`, in file order.
    pub(super) entries: Vec<RawEntry>,
    /// `[executor]` (defaults when absent or broken).
    pub(super) executor: RawExecutor,
    /// `[report]`, with the span of its table.
    pub(super) report: Option<(RawReport, Range<usize>)>,
}

impl Checker<'_> {
    /// Parses the TOML text and deserializes each section; `None` on a syntax
    /// error (reported), after which nothing else can be trusted.
    pub(super) fn document(&mut self) -> Option<Document> {
        let (doc, errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            for error in errors {
                let span = error.span().unwrap_or(0..0);
                let found = self.text.get(span.clone()).unwrap_or("").trim();
                let (message, hint) = syntax_message(error.message().trim(), found);
                self.error(span, message).hint = hint;
            }
            return None;
        }
        let doc = doc.into_inner();
        let mut document = Document {
            pipeline: RawPipeline::default(),
            vars: toml::Table::new(),
            inputs: Vec::new(),
            entries: Vec::new(),
            executor: RawExecutor::default(),
            report: None,
        };
        let top_fields = field_names::<RawFile>();
        for (key, value) in doc.iter() {
            match key.get_ref().as_ref() {
                "pipeline" => {
                    if let Some(p) = self.section::<RawPipeline>(value, "`[pipeline]`") {
                        document.pipeline = p;
                    }
                }
                "vars" => {
                    if let Some(v) = self.section::<toml::Table>(value, "`[vars]`") {
                        document.vars = v;
                    }
                }
                "executor" => {
                    if let Some(e) = self.section::<RawExecutor>(value, "`[executor]`") {
                        document.executor = e;
                    }
                }
                "inputs" => self.input_sections(value, &mut document.inputs),
                "report" => {
                    if let Some(r) = self.section::<RawReport>(value, "`[report]`") {
                        document.report = Some((r, key.span()));
                    }
                }
                "steps" => self.entry_sections(value, true, &mut document.entries),
                "plots" => self.entry_sections(value, false, &mut document.entries),
                other => {
                    let hint = did_you_mean(other, top_fields.iter().copied());
                    self.error(key.span(), format!("unknown section `{other}`"))
                        .hint =
                        Some(hint.unwrap_or_else(|| {
                            format!("known sections: {}", top_fields.join(", "))
                        }));
                }
            }
        }
        Some(document)
    }

    /// `[inputs.NAME]` tables.
    fn input_sections(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        inputs: &mut Vec<(Spanned<String>, RawInput)>,
    ) {
        let DeValue::Table(sets) = value.get_ref() else {
            self.type_error(
                value.span(),
                "`inputs`",
                "a table of input sets",
                value.get_ref(),
            );
            return;
        };
        for (name, set) in sets.iter() {
            let what = format!("`[inputs.{}]`", name.get_ref());
            let before = self.diagnostics.len();
            if let Some(raw) = self.section::<RawInput>(set, &what) {
                // Reported already (an unknown key, such as `globs`): no
                // second error for the `glob` it lacks.
                if self.diagnostics.len() > before {
                    self.broken.insert(name.get_ref().to_string());
                }
                inputs.push((Spanned::new(name.span(), name.get_ref().to_string()), raw));
            } else {
                self.broken.insert(name.get_ref().to_string());
            }
        }
    }

    /// `[[steps]]` (`is_step`) or `[[plots]]` tables.
    fn entry_sections(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        is_step: bool,
        entries: &mut Vec<RawEntry>,
    ) {
        let DeValue::Array(items) = value.get_ref() else {
            self.type_error(
                value.span(),
                if is_step { "`steps`" } else { "`plots`" },
                "an array of tables (`[[steps]]`)",
                value.get_ref(),
            );
            return;
        };
        for (index, item) in items.iter().enumerate() {
            let declared = declared_name(item);
            let what = entry_label(is_step, declared, index);
            let raw = if is_step {
                self.section::<RawStep>(item, &what)
                    .map(|s| RawKind::Step(Box::new(s)))
            } else {
                self.section::<RawPlot>(item, &what)
                    .map(|p| RawKind::Plot(Box::new(p)))
            };
            match raw {
                Some(raw) => entries.push(RawEntry {
                    raw,
                    span: item.span(),
                }),
                None => {
                    if let Some(name) = declared {
                        self.broken.insert(name.to_owned());
                    }
                }
            }
        }
    }

    /// Deserializes one table, reporting each unknown key (with a suggestion)
    /// and then whatever serde finds wrong with the rest. Serde stops at the
    /// first wrong value, so the key holding it is dropped and the table read
    /// again until nothing is wrong: every problem of a table in one go.
    pub(super) fn section<T: DeserializeOwned>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<T> {
        let fields = field_names::<T>();
        let DeValue::Table(original) = value.get_ref() else {
            self.type_error(value.span(), what, "a table", value.get_ref());
            return None;
        };
        let mut table = original.clone();
        if !fields.is_empty() {
            for (key, _) in original.iter() {
                let k: &str = key.get_ref();
                if !fields.contains(&k) {
                    let hint = did_you_mean(k, fields.iter().copied())
                        .unwrap_or_else(|| format!("known keys: {}", fields.join(", ")));
                    self.error(key.span(), format!("unknown key `{k}` in {what}"))
                        .hint = Some(hint);
                    table.remove(k);
                }
            }
        }
        // Keys suggested for unknown ones: not also reported as missing.
        let suggested: Vec<&str> = original
            .iter()
            .filter_map(|(key, _)| {
                let k: &str = key.get_ref();
                let close = fields
                    .iter()
                    .copied()
                    .filter(|f| !original.contains_key(*f));
                (!fields.contains(&k))
                    .then(|| did_you_mean_name(k, close))
                    .flatten()
            })
            .collect();
        let mut dropped: Vec<String> = Vec::new();
        loop {
            let candidate = Spanned::new(value.span(), DeValue::Table(table.clone()));
            let err = match T::deserialize(ValueDeserializer::from(candidate)) {
                Ok(v) if dropped.is_empty() => return Some(v),
                Ok(_) => return None,
                Err(err) => err,
            };
            let message = err.message().trim();
            if let Some(missing) = missing_key(message) {
                // A key dropped for a wrong value is not missing as well.
                if !dropped.iter().any(|d| d == missing) && !suggested.contains(&missing) {
                    let span = header_span(self.text, &value.span());
                    self.error(span, format!("{what} has no `{missing}`")).hint =
                        Some(format!("add `{missing} = ...`; it is required"));
                }
                return None;
            }
            let span = err.span().unwrap_or(value.span());
            // The key whose value holds the problem.
            let key = table
                .iter()
                .find(|(k, v)| {
                    let v = v.span();
                    (v.start <= span.start && span.end <= v.end) || k.span() == span
                })
                .map(|(k, _)| k.get_ref().to_string());
            let message = serde_message(message);
            let message = match &key {
                Some(key) => format!("`{key}` of {what}: {message}"),
                None => format!("{what}: {message}"),
            };
            self.error(span, message);
            match key {
                Some(key) => {
                    table.remove(key.as_str());
                    dropped.push(key);
                }
                None => return None,
            }
        }
    }

    /// "expected a table for `[pipeline]`, found a string".
    pub(super) fn type_error(
        &mut self,
        span: Range<usize>,
        what: &str,
        expected: &str,
        found: &DeValue<'_>,
    ) {
        self.error(
            span,
            format!(
                "expected {expected} for {what}, found {}",
                article(found.type_str())
            ),
        );
    }
}

/// A TOML syntax error in the file's words, with a fix where the parser's
/// message alone does not say it.
fn syntax_message(message: &str, found: &str) -> (String, Option<String>) {
    let hint = if message.starts_with("string values must be quoted") {
        if found.is_empty() {
            return (
                "invalid TOML: a value is missing".to_owned(),
                Some(
                    "write a value after `=`, e.g. `\"text\"`, `3` or `[\"a\", \"b\"]`".to_owned(),
                ),
            );
        }
        Some(format!("quote it: `\"{found}\"`"))
    } else if message.starts_with("duplicate key") {
        Some("a key can be set only once in a table".to_owned())
    } else if message.starts_with("invalid basic string")
        || message.starts_with("invalid literal string")
    {
        Some(
            "close the string on this line, or use `\"\"\"` for text over several lines".to_owned(),
        )
    } else {
        None
    };
    (format!("invalid TOML: {message}"), hint)
}

/// The `name` a `[[steps]]` / `[[plots]]` table declares, if it is a string.
fn declared_name<'a>(item: &'a Spanned<DeValue<'_>>) -> Option<&'a str> {
    match item.get_ref() {
        DeValue::Table(table) => match table.get("name").map(Spanned::get_ref) {
            Some(DeValue::String(name)) => Some(name.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// How messages name a `[[steps]]` / `[[plots]]` entry: by its name, or by
/// its position when it has none.
fn entry_label(is_step: bool, name: Option<&str>, index: usize) -> String {
    let section = if is_step { "step" } else { "plot" };
    match name {
        Some(name) => format!("{section} `{name}`"),
        None => format!("`[[{section}s]]` number {}", index + 1),
    }
}

/// The key serde says is missing ("missing field `name`").
fn missing_key(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// The first line of a multi-line span (the table header), where a
/// problem of the whole table is shown.
fn header_span(text: &str, span: &Range<usize>) -> Range<usize> {
    let body = text.get(span.clone()).unwrap_or("");
    let line = body.find('\n').map_or(body, |end| &body[..end]);
    let line = line.trim_end();
    if line.is_empty() {
        span.start..span.start
    } else {
        span.start..span.start + line.len()
    }
}

/// "integer" -> "an integer".
fn article(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

/// Rewrites serde's "invalid type: integer `3`, expected a string" as
/// "expected a string, found an integer", in TOML words (the caret already
/// shows the value).
fn serde_message(message: &str) -> String {
    let message = message.trim();
    for (prefix, is_type) in [("invalid type: ", true), ("invalid value: ", false)] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let expected = toml_words(expected);
            let kind = found.split([' ', '`', '"']).next().unwrap_or(found);
            let found = if is_type {
                match kind {
                    "floating" => "a float".to_owned(),
                    "sequence" => "an array".to_owned(),
                    "map" => "a table".to_owned(),
                    other => article(other),
                }
            } else {
                // `string "many"` -> `"many"`, `integer `-1`` -> `-1`.
                let value = found.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == ' ');
                if value.is_empty() {
                    found.to_owned()
                } else {
                    value.to_owned()
                }
            };
            return format!("expected {expected}, found {found}");
        }
    }
    message.to_owned()
}

/// Serde's and Rust's names of what was expected, as TOML users say them.
fn toml_words(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "an integer of 0 or more".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a table".to_owned(),
        "a borrowed string" => "a string".to_owned(),
        other if other.starts_with("struct ") => "a table".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_read_like_toml() {
        assert_eq!(
            serde_message("invalid type: integer `3`, expected a string or a list of strings"),
            "expected a string or a list of strings, found an integer"
        );
        assert_eq!(
            serde_message("invalid type: string \"x\", expected i64"),
            "expected an integer, found a string"
        );
        assert_eq!(
            serde_message("invalid type: floating point `1.5`, expected a sequence"),
            "expected a list, found a float"
        );
        assert_eq!(
            serde_message("invalid value: integer `-1`, expected u32"),
            "expected an integer of 0 or more, found `-1`"
        );
    }
}
