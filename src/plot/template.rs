//! Plot templates: the built-in SVG templates (embedded in the binary), the
//! user's own minijinja files (with fuel, so an endless loop ends), and the
//! auto-escaping that keeps any text valid in SVG/XML: by the template's
//! name, `.svg`/`.xml` get an XML escape of our own, `.html` minijinja's.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, Error, UndefinedBehavior};
use serde::{Serialize, Serializer};

use super::error::PlotError;
use super::figure::Figure;
use crate::error::Internal;
use crate::table::{self, Table, Text, Times, Values};

/// The built-in templates: (name, text). `base` is the frame the others extend.
const BUILTIN: &[(&str, &str)] = &[
    ("base.svg.j2", include_str!("templates/base.svg.j2")),
    ("line.svg.j2", include_str!("templates/line.svg.j2")),
    ("scatter.svg.j2", include_str!("templates/scatter.svg.j2")),
    ("bar.svg.j2", include_str!("templates/bar.svg.j2")),
    ("hist.svg.j2", include_str!("templates/hist.svg.j2")),
];

/// Instructions a user template may run: loops over a few million values
/// fit, an endless loop stops within seconds.
const USER_FUEL: u64 = 50_000_000;

/// The text of a built-in template with the frame it extends, or `None`
/// for an unknown name (for fingerprints).
pub(crate) fn builtin_source(name: &str) -> Option<String> {
    let own = BUILTIN
        .iter()
        .find(|(n, _)| n.strip_suffix(".svg.j2") == Some(name) && name != "base")?;
    Some(format!("{}\n{}", BUILTIN[0].1, own.1))
}

/// The auto-escape of a template, by its name without `.j2`/`.jinja`.
fn escape_for(name: &str) -> AutoEscape {
    let base = [".j2", ".jinja2", ".jinja"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("svg" | "xml") => AutoEscape::Custom("xml".into()),
        Some("html" | "htm") => AutoEscape::Html,
        _ => AutoEscape::None,
    }
}

/// The bytes `xml_escape` changes or must look at: markup, control
/// characters, and 0xEF (which starts U+FFFE and U+FFFF). A table: a look-up
/// per byte, where a `matches!` of them was several instructions (the path
/// data of a large plot is hundreds of kB).
const NOT_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    let mut i = 0;
    let others = *b"&<>\"'\xef";
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// Escapes text for XML content and attribute values. Characters XML 1.0
/// cannot hold at all, even escaped (most control characters), become U+FFFD.
pub(crate) fn xml_escape(text: &str, out: &mut impl Write) -> std::fmt::Result {
    // Path data and numbers (most of an SVG) need nothing.
    if !text.bytes().any(|b| NOT_PLAIN[usize::from(b)]) {
        return out.write_str(text);
    }
    for c in text.chars() {
        match c {
            '&' => out.write_str("&amp;")?,
            '<' => out.write_str("&lt;")?,
            '>' => out.write_str("&gt;")?,
            '"' => out.write_str("&quot;")?,
            '\'' => out.write_str("&apos;")?,
            '\t' | '\n' | '\r' => out.write_char(c)?,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.write_char('\u{fffd}')?
            }
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &mut minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    match state.auto_escape() {
        AutoEscape::Custom(name) if name == "xml" => {
            if value.is_safe() {
                write!(out, "{value}").map_err(Error::from)
            } else {
                match value.as_str() {
                    // Path data, most of a plot's bytes: not copied first.
                    Some(text) => xml_escape(text, out),
                    None => xml_escape(&value.to_string(), out),
                }
                .map_err(Error::from)
            }
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(escape_for);
    env.set_formatter(format_value);
    env.set_debug(true);
    env
}

fn builtins() -> &'static Result<Environment<'static>, Internal> {
    static ENV: OnceLock<Result<Environment<'static>, Internal>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = environment();
        for (name, text) in BUILTIN {
            env.add_template(name, text)
                .map_err(|e| Internal::new(format!("built-in template `{name}`: {e:#}")))?;
        }
        Ok(env)
    })
}

/// Renders the built-in template `name` (`line`, `scatter`, `bar`, `hist`).
pub(crate) fn render_builtin(name: &str, figure: &Figure) -> Result<String, PlotError> {
    let env = builtins().as_ref().map_err(Internal::clone)?;
    let template = env
        .get_template(&format!("{name}.svg.j2"))
        .map_err(|e| Internal::new(format!("{e:#}")))?;
    template
        .render(Value::from(Serde(figure)))
        .map_err(|e| Internal::new(format!("template `{name}`: {e:#}")).into())
}

/// Numbers for a template: NaN (missing) becomes none.
struct NumberList<'a>(&'a [f64]);

impl Serialize for NumberList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|v| (!v.is_nan()).then_some(*v)))
    }
}

/// Text cells for a template: missing ones become none.
struct TextList<'a>(&'a Text);

impl Serialize for TextList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

/// Instants for a template, as ISO text in the column's style; missing
/// ones become none.
struct TimeList<'a>(&'a Times);

impl Serialize for TimeList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let times = self.0;
        serializer.collect_seq(
            (0..times.micros.len()).map(|i| times.get(i).map(|m| times.style.format(m))),
        )
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum ColumnValues<'a> {
    Numbers(NumberList<'a>),
    Text(TextList<'a>),
    Time(TimeList<'a>),
}

#[derive(Serialize)]
struct ColumnContext<'a> {
    name: &'a str,
    kind: &'static str,
    values: ColumnValues<'a>,
}

#[derive(Serialize)]
struct TableContext<'a> {
    path: String,
    stem: String,
    rows: usize,
    columns: Vec<ColumnContext<'a>>,
}

/// What a user template sees: the figure, plus every table's raw columns.
#[derive(Serialize)]
struct UserContext<'a> {
    #[serde(flatten)]
    figure: &'a Figure,
    /// Every input table.
    tables: Vec<TableContext<'a>>,
    /// The columns of the first table.
    columns: Vec<ColumnContext<'a>>,
}

fn table_context(table: &Table) -> TableContext<'_> {
    TableContext {
        path: table::display(&table.path),
        stem: table::stem(&table.path),
        rows: table.rows,
        columns: columns_context(table),
    }
}

fn columns_context(table: &Table) -> Vec<ColumnContext<'_>> {
    table
        .columns
        .iter()
        .map(|c| ColumnContext {
            name: &c.name,
            kind: c.values.kind(),
            values: match &c.values {
                Values::Numbers(v) => ColumnValues::Numbers(NumberList(v)),
                Values::Text(v) => ColumnValues::Text(TextList(v)),
                Values::Time(v) => ColumnValues::Time(TimeList(v)),
            },
        })
        .collect()
}

/// Renders the user's template file `path` (absolute); `shown` is how
/// messages name it.
pub(crate) fn render_user(
    path: &Path,
    shown: &str,
    figure: &Figure,
    tables: &[Arc<Table>],
) -> Result<String, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlotError::ReadTemplate {
        shown: shown.to_owned(),
        source,
    })?;
    let failed = |e: Error| PlotError::Template {
        shown: shown.to_owned(),
        detail: format!("{e:#}"),
    };
    let mut env = environment();
    env.set_fuel(Some(USER_FUEL));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.to_owned());
    env.add_template_owned(name.clone(), text).map_err(failed)?;
    let context = UserContext {
        figure,
        tables: tables.iter().map(|t| table_context(t)).collect(),
        columns: tables
            .first()
            .map(|t| columns_context(t))
            .unwrap_or_default(),
    };
    let template = env.get_template(&name).map_err(failed)?;
    template
        .render(Value::from(Serde(&context)))
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        xml_escape(text, &mut out).unwrap();
        out
    }

    #[test]
    fn the_bytes_looked_at_are_those_escaping_changes() {
        for b in 0..=255u8 {
            let special = matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | 0..=0x1f | 0xef);
            assert_eq!(NOT_PLAIN[usize::from(b)], special, "{b:#x}");
        }
    }

    #[test]
    fn xml_escape_keeps_xml_valid() {
        assert_eq!(escaped("a<b&c>.csv"), "a&lt;b&amp;c&gt;.csv");
        assert_eq!(escaped("\"it's\""), "&quot;it&apos;s&quot;");
        assert_eq!(escaped("bell\u{7}tab\t"), "bell\u{fffd}tab\t");
        assert_eq!(escaped("ünïcödé µ"), "ünïcödé µ");
    }

    #[test]
    fn escape_by_name() {
        assert_eq!(escape_for("plot.svg.j2"), AutoEscape::Custom("xml".into()));
        assert_eq!(escape_for("plot.SVG"), AutoEscape::Custom("xml".into()));
        assert_eq!(escape_for("page.html.jinja"), AutoEscape::Html);
        assert_eq!(escape_for("plot.gp.j2"), AutoEscape::None);
        assert_eq!(escape_for("plot.tex"), AutoEscape::None);
    }

    #[test]
    fn builtin_sources() {
        let line = builtin_source("line").unwrap();
        assert!(line.contains("<svg") && line.contains("block marks"));
        assert!(builtin_source("base").is_none());
        assert!(builtin_source("pie").is_none());
        assert!(builtins().is_ok());
    }

    #[test]
    fn user_templates_run_out_of_fuel() {
        let mut env = environment();
        env.set_fuel(Some(USER_FUEL));
        env.add_template(
            "t",
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        )
        .unwrap();
        let err = env.get_template("t").unwrap().render(()).unwrap_err();
        assert_eq!(err.kind(), minijinja::ErrorKind::OutOfFuel);
    }
}
