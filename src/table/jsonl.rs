//! JSON lines: one object per line, a column for every key in order of
//! first use; numbers stay numbers, strings are read like CSV cells, other
//! values (booleans, arrays, objects) are text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::delimited::{CHECK_EVERY, open, output_error};
use super::error::{TableError, TableErrorKind};
use super::options::ReadOptions;
use super::source::ContentHasher;
use super::{Cell, Sink};
use crate::cancel::Cancel;

/// A JSON object with its keys in file order.
struct JsonRow(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for JsonRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = JsonRow;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonRow, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = map.next_entry::<String, serde_json::Value>()? {
                    items.push(item);
                }
                Ok(JsonRow(items))
            }
        }
        deserializer.deserialize_map(RowVisitor)
    }
}

fn json_cell(value: &serde_json::Value) -> Cell<'_> {
    match value {
        serde_json::Value::Null => Cell::Missing,
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) => Cell::Number(f),
            None => Cell::Other(n.to_string()),
        },
        serde_json::Value::String(s) => Cell::Text(Cow::Borrowed(s)),
        other => Cell::Other(other.to_string()),
    }
}

/// serde_json's error without its " at line 1 column 7" (every line is
/// line 1 to it).
fn json_error(err: &serde_json::Error) -> TableErrorKind {
    let text = err.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    TableErrorKind::Json {
        column: err.column(),
        message: message.to_owned(),
    }
}

/// Reads every line of a JSON lines file into `sink`.
pub(super) fn scan(
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn Sink,
    cancel: &Cancel,
    hasher: Option<&mut ContentHasher>,
) -> Result<(), TableError> {
    let source = open(path, options.encoding, hasher)?;
    let mut reader = BufReader::with_capacity(256 * 1024, source);
    let mut columns: HashMap<String, usize> = HashMap::new();
    let mut bytes = Vec::new();
    let mut line: u64 = 0;
    let mut rows = 0u64;
    loop {
        bytes.clear();
        let n = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| TableError::new(path, None, TableErrorKind::Read(Arc::new(e))))?;
        if n == 0 {
            break;
        }
        line += 1;
        let at = |kind| TableError::new(path, Some(line), kind);
        let text = std::str::from_utf8(&bytes).map_err(|e| at(TableErrorKind::NotUtf8(e)))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if !text.starts_with('{') {
            return Err(at(TableErrorKind::NotJsonObject));
        }
        let row: JsonRow = serde_json::from_str(text).map_err(|e| at(json_error(&e)))?;
        for (key, _) in &row.0 {
            if !columns.contains_key(key) {
                columns.insert(key.clone(), columns.len());
                sink.column(key.clone());
            }
        }
        let mut cells: Vec<Cell<'_>> = vec![Cell::Missing; columns.len()];
        let mut filled = vec![false; columns.len()];
        for (key, value) in &row.0 {
            let i = columns[key];
            if std::mem::replace(&mut filled[i], true) {
                return Err(at(TableErrorKind::DuplicateKey(key.clone())));
            }
            cells[i] = json_cell(value);
        }
        rows += 1;
        if rows.is_multiple_of(CHECK_EVERY) && cancel.is_cancelled() {
            return Err(TableError::new(path, None, TableErrorKind::Interrupted));
        }
        sink.row(line, &mut cells.into_iter())
            .map_err(|e| output_error(path, line, e))?;
        if sink.done() {
            return Ok(());
        }
    }
    if line == 0 || (rows == 0 && columns.is_empty()) {
        return Err(TableError::new(
            path,
            None,
            TableErrorKind::Empty("no JSON object in it"),
        ));
    }
    Ok(())
}
