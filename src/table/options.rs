//! How to read a table: the options that built-in steps (`with = {...}`)
//! and plots share (`format`, `na`, `types`, `delimiter`, `decimal`,
//! `encoding`, `time_format`), each checked on its own so the config can
//! point at the key that is wrong.

use super::Format;
use super::time::TimeFormat;

/// A table option (`with = {...}` of a built-in, a plot's keys) that is not
/// one; its message names the key. Checked at load time, so the config
/// turns it into a diagnostic at the key (with `error::chain`, which adds
/// what jiff said about a time pattern).
#[derive(Debug, thiserror::Error)]
pub(crate) enum OptionError {
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {what}, found {found}")]
    Type {
        /// The key (`na`, `time_format.date`).
        key: String,
        /// What it must be.
        what: String,
        /// The TOML type found.
        found: &'static str,
    },
    /// `format` names no format runner reads.
    #[error("unknown table format `{name}`; known formats: {}", Format::NAMES.join(", "))]
    Format {
        /// The name given.
        name: String,
    },
    /// `types.COLUMN` is not a column type.
    #[error("`types.{column}` must be \"number\", \"text\" or \"time\", found {found}")]
    ColumnType {
        /// The column.
        column: String,
        /// The value found, as TOML.
        found: String,
    },
    /// `delimiter` is not one character.
    #[error(
        "`delimiter` must be one ASCII character (such as \";\", \"|\" or \"\\t\"), found `{text}`"
    )]
    DelimiterLength {
        /// The value given.
        text: String,
    },
    /// `delimiter` is a character that cannot delimit.
    #[error("`delimiter` cannot be `{}`", text.escape_debug())]
    Delimiter {
        /// The value given.
        text: String,
    },
    /// `decimal` is neither `.` nor `,`.
    #[error("`decimal` must be \".\" or \",\", found `{found}`")]
    Decimal {
        /// The value given.
        found: String,
    },
    /// `encoding` names no encoding runner reads.
    #[error("unknown encoding `{name}`; known: {ENCODINGS}")]
    Encoding {
        /// The name given.
        name: String,
    },
    /// A `time_format` pattern that jiff cannot use.
    #[error("`time_format` `{text}` is not a strftime pattern jiff can read")]
    TimePattern {
        /// The pattern.
        text: String,
        /// What jiff said.
        #[source]
        source: jiff::Error,
    },
    /// A `time_format` that is no format.
    #[error(
        "`time_format` must be a strftime pattern such as \"%d/%m/%Y\", \"unix_s\", \"unix_ms\" or \"iso\", found `{text}`"
    )]
    TimeFormat {
        /// The value given.
        text: String,
    },
    /// `time_format` neither a string nor a table.
    #[error(
        "`time_format` must be a strftime pattern (\"%d/%m/%Y\"), \"unix_s\", \"unix_ms\", or a table of them by column, found {found}"
    )]
    TimeFormatType {
        /// The TOML type found.
        found: &'static str,
    },
}

/// The encodings `encoding` takes, as a message lists them.
const ENCODINGS: &str = "\"utf-8\", \"latin1\" or \"windows-1252\"";

/// The keys of table options, for option checks and suggestions.
pub(crate) const KEYS: &[&str] = &[
    "format",
    "na",
    "types",
    "delimiter",
    "decimal",
    "encoding",
    "time_format",
];

/// A column's type forced by `types = { col = "..." }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ColumnType {
    /// Numbers; cells that are not are counted as `invalid` and missing.
    Number,
    /// Text, even when every cell is a number.
    Text,
    /// Instants; cells that do not fit `time_format` are `invalid`.
    Time,
}

impl ColumnType {
    /// Its name in the pipeline file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ColumnType::Number => "number",
            ColumnType::Text => "text",
            ColumnType::Time => "time",
        }
    }
}

/// The text encoding of a CSV/TSV/JSON lines file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Encoding {
    /// UTF-8 (a byte-order mark is removed; a UTF-16 one switches to UTF-16).
    #[default]
    Utf8,
    /// windows-1252, which `latin1` / `iso-8859-1` also mean (as in every
    /// browser: the WHATWG encoding standard).
    Windows1252,
}

impl Encoding {
    /// Its name, as the pipeline file may write it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

/// How to read a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct ReadOptions {
    /// `format`; `None` = by the file's extension.
    pub(crate) format: Option<Format>,
    /// `na`: the cells (trimmed) that are missing; `None` = the default
    /// list. An empty cell is always missing.
    pub(crate) na: Option<Vec<String>>,
    /// `types`: forced column types, by column name.
    pub(crate) types: Vec<(String, ColumnType)>,
    /// `delimiter`; `None` = by format (`,` or tab).
    pub(crate) delimiter: Option<u8>,
    /// `decimal`: `b'.'` (default) or `b','`.
    pub(crate) decimal: u8,
    /// `encoding`.
    pub(crate) encoding: Encoding,
    /// `time_format` for every `time` column, and per column.
    pub(crate) time_format: TimeFormats,
}

/// `time_format = "..."` or `time_format = { col = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct TimeFormats {
    /// For every forced `time` column without its own.
    pub(crate) all: Option<TimeFormat>,
    /// Per column.
    pub(crate) columns: Vec<(String, TimeFormat)>,
}

impl TimeFormats {
    /// The format of column `name`: its own, the common one, or ISO.
    pub(crate) fn of(&self, name: &str) -> &TimeFormat {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f)
            .or(self.all.as_ref())
            .unwrap_or(&TimeFormat::Iso)
    }
}

impl ReadOptions {
    /// The options with the default decimal mark.
    pub(crate) fn new() -> ReadOptions {
        ReadOptions {
            decimal: b'.',
            ..ReadOptions::default()
        }
    }

    /// Reads the table options of a TOML table (`with = {...}`), ignoring
    /// its other keys; the error names the key that is wrong.
    pub(crate) fn from_toml(table: &toml::Table) -> Result<ReadOptions, (String, OptionError)> {
        let mut options = ReadOptions::new();
        for (key, value) in table {
            options.set(key, value).map_err(|e| (key.clone(), e))?;
        }
        Ok(options)
    }

    /// Sets one option from its TOML value; keys that are not table
    /// options are left alone (`Ok`).
    pub(crate) fn set(&mut self, key: &str, value: &toml::Value) -> Result<(), OptionError> {
        match key {
            "format" => self.format = Some(format(value)?),
            "na" => self.na = Some(na(value)?),
            "types" => self.types = types(value)?,
            "delimiter" => self.delimiter = Some(delimiter(value)?),
            "decimal" => self.decimal = decimal(value)?,
            "encoding" => self.encoding = encoding(value)?,
            "time_format" => self.time_format = time_format(value)?,
            _ => {}
        }
        Ok(())
    }

    /// The column's forced type, if any.
    pub(crate) fn forced(&self, name: &str) -> Option<ColumnType> {
        self.types.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }

    /// Whether a (trimmed) cell is missing.
    #[inline(always)]
    pub(crate) fn is_missing(&self, cell: &[u8]) -> bool {
        match &self.na {
            // No marker of the default list is longer than 4 bytes.
            None => cell.len() <= 4 && super::cell::is_missing(cell),
            Some(list) => cell.is_empty() || list.iter().any(|na| na.as_bytes() == cell),
        }
    }
}

/// `key` must be `what`, and `value` is not.
fn wrong_type(key: &str, what: &str, value: &toml::Value) -> OptionError {
    OptionError::Type {
        key: key.to_owned(),
        what: what.to_owned(),
        found: value.type_str(),
    }
}

fn string<'a>(key: &str, value: &'a toml::Value, what: &str) -> Result<&'a str, OptionError> {
    value.as_str().ok_or_else(|| wrong_type(key, what, value))
}

fn format(value: &toml::Value) -> Result<Format, OptionError> {
    let names = Format::NAMES.join(", ");
    let name = string("format", value, &format!("a string ({names})"))?;
    Format::from_name(name).ok_or_else(|| OptionError::Format {
        name: name.to_owned(),
    })
}

fn na(value: &toml::Value) -> Result<Vec<String>, OptionError> {
    let what = "a list of the cells that mean \"missing\", such as [\"\", \"NA\", \".\"]";
    let list = value
        .as_array()
        .ok_or_else(|| wrong_type("na", what, value))?;
    list.iter()
        .map(|v| string("na", v, what).map(|s| s.trim().to_owned()))
        .collect()
}

fn types(value: &toml::Value) -> Result<Vec<(String, ColumnType)>, OptionError> {
    let what = "a table of column types, such as { depth = \"number\", date = \"time\" }";
    let table = value
        .as_table()
        .ok_or_else(|| wrong_type("types", what, value))?;
    table
        .iter()
        .map(|(column, t)| {
            let kind = match t.as_str() {
                Some("number") => ColumnType::Number,
                Some("text") => ColumnType::Text,
                Some("time") => ColumnType::Time,
                _ => {
                    return Err(OptionError::ColumnType {
                        column: column.clone(),
                        found: t.to_string(),
                    });
                }
            };
            Ok((column.clone(), kind))
        })
        .collect()
}

fn delimiter(value: &toml::Value) -> Result<u8, OptionError> {
    let text = string("delimiter", value, "one character, such as \";\"")?;
    let byte = match text {
        "\\t" | "tab" => b'\t',
        _ if text.len() == 1 => text.as_bytes()[0],
        _ => {
            return Err(OptionError::DelimiterLength {
                text: text.to_owned(),
            });
        }
    };
    if matches!(byte, b'"' | b'\n' | b'\r') || !byte.is_ascii() {
        return Err(OptionError::Delimiter {
            text: text.to_owned(),
        });
    }
    Ok(byte)
}

fn decimal(value: &toml::Value) -> Result<u8, OptionError> {
    match string("decimal", value, "\".\" or \",\"")? {
        "." => Ok(b'.'),
        "," => Ok(b','),
        other => Err(OptionError::Decimal {
            found: other.to_owned(),
        }),
    }
}

fn encoding(value: &toml::Value) -> Result<Encoding, OptionError> {
    let name = string("encoding", value, ENCODINGS)?;
    match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => Ok(Encoding::Utf8),
        "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" | "windows-1252" | "cp1252" => {
            Ok(Encoding::Windows1252)
        }
        _ => Err(OptionError::Encoding {
            name: name.to_owned(),
        }),
    }
}

fn time_format(value: &toml::Value) -> Result<TimeFormats, OptionError> {
    match value {
        toml::Value::String(s) => Ok(TimeFormats {
            all: Some(TimeFormat::from_option(s)?),
            columns: Vec::new(),
        }),
        toml::Value::Table(table) => {
            let columns = table
                .iter()
                .map(|(column, f)| {
                    let text = string(&format!("time_format.{column}"), f, "a string")?;
                    Ok((column.clone(), TimeFormat::from_option(text)?))
                })
                .collect::<Result<_, OptionError>>()?;
            Ok(TimeFormats { all: None, columns })
        }
        other => Err(OptionError::TimeFormatType {
            found: other.type_str(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options, or the key to blame and the message with its causes.
    fn options(text: &str) -> Result<ReadOptions, (String, String)> {
        ReadOptions::from_toml(&toml::from_str(text).unwrap())
            .map_err(|(key, e)| (key, crate::error::chain(&e)))
    }

    #[test]
    fn every_option_reads() {
        let o = options(
            r#"
            format = "tsv"
            na = ["", "-", " ? "]
            types = { a = "number", b = "text", c = "time" }
            delimiter = ";"
            decimal = ","
            encoding = "latin1"
            time_format = { c = "%d/%m/%Y" }
            layout = "wide"
            "#,
        )
        .unwrap();
        assert_eq!(o.format, Some(Format::Tsv));
        assert_eq!(o.na, Some(vec!["".into(), "-".into(), "?".into()]));
        assert_eq!(o.forced("c"), Some(ColumnType::Time));
        assert_eq!(o.forced("d"), None);
        assert_eq!((o.delimiter, o.decimal), (Some(b';'), b','));
        assert_eq!(o.encoding, Encoding::Windows1252);
        assert_eq!(
            o.time_format.of("c"),
            &TimeFormat::Strftime("%d/%m/%Y".into())
        );
        assert_eq!(o.time_format.of("x"), &TimeFormat::Iso);
        assert!(o.is_missing(b"?") && o.is_missing(b"") && !o.is_missing(b"NA"));
        assert!(ReadOptions::new().is_missing(b"NA"));
        assert_eq!(options("delimiter = '\\t'").unwrap().delimiter, Some(b'\t'));
    }

    #[test]
    fn wrong_options_name_their_key() {
        for (text, key, message) in [
            ("na = 'NA'", "na", "`na` must be a list"),
            ("na = [1]", "na", "`na` must be a list"),
            (
                "types = { a = 'int' }",
                "types",
                "`types.a` must be \"number\"",
            ),
            ("delimiter = ';;'", "delimiter", "one ASCII character"),
            ("delimiter = '\"'", "delimiter", "cannot be"),
            ("decimal = ';'", "decimal", "\".\" or \",\""),
            (
                "encoding = 'ebcdic'",
                "encoding",
                "unknown encoding `ebcdic`",
            ),
            ("time_format = 'dd/mm'", "time_format", "strftime pattern"),
            // jiff's own words follow, as the cause.
            (
                "time_format = '%Y-%'",
                "time_format",
                "is not a strftime pattern jiff can read: ",
            ),
            ("time_format = 3", "time_format", "found integer"),
            ("format = 'xls'", "format", "known formats: csv, tsv, jsonl"),
        ] {
            let (k, m) = options(text).unwrap_err();
            assert_eq!(k, key, "{text}");
            assert!(m.contains(message), "{text}: {m}");
        }
    }
}
