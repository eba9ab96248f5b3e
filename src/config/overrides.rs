//! `--set NAME=VALUE`: a `[vars]` value from the command line, typed as the
//! value in the file (a number stays a number), an unknown name refused with
//! a suggestion.

use std::path::PathBuf;

use super::Pipeline;
use crate::diag::did_you_mean;

/// A `--set` that cannot be applied (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetError {
    /// Not `NAME=VALUE`.
    #[error("`--set {set}`: expected NAME=VALUE (a name of `[vars]`)")]
    Syntax {
        /// The value given to `--set`.
        set: String,
    },
    /// A name that `[vars]` does not have.
    #[error("`--set {set}`: no variable `{name}` in `[vars]` of `{}`; {hint}", file.display())]
    Unknown {
        /// The value given to `--set`.
        set: String,
        /// The name in it.
        name: String,
        /// The pipeline file.
        file: PathBuf,
        /// A suggestion, or the names there are.
        hint: String,
    },
    /// A value that is not of the type of the value in the file.
    #[error("`--set {set}`: `{name}` is {kind} in `[vars]`, and `{text}` is not one")]
    Type {
        /// The value given to `--set`.
        set: String,
        /// The name in it.
        name: String,
        /// The type in the file ("an integer").
        kind: &'static str,
        /// The value given.
        text: String,
    },
}

impl Pipeline {
    /// Applies `--set NAME=VALUE` overrides to `[vars]`; returns them as
    /// applied (for the run's record), or the first bad one.
    pub(crate) fn set_vars(&mut self, sets: &[String]) -> Result<toml::Table, SetError> {
        let mut applied = toml::Table::new();
        for set in sets {
            let Some((name, text)) = set.split_once('=') else {
                return Err(SetError::Syntax { set: set.clone() });
            };
            let Some(current) = self.vars_table.get(name) else {
                let known: Vec<&str> = self.vars_table.keys().map(String::as_str).collect();
                let hint = match did_you_mean(name, known.iter().copied()) {
                    Some(hint) => hint,
                    None if known.is_empty() => "the file has no `[vars]`".to_owned(),
                    None => format!("`[vars]` has: {}", known.join(", ")),
                };
                return Err(SetError::Unknown {
                    set: set.clone(),
                    name: name.to_owned(),
                    file: self.source.path.clone(),
                    hint,
                });
            };
            let value = typed_like(current, text).map_err(|kind| SetError::Type {
                set: set.clone(),
                name: name.to_owned(),
                kind,
                text: text.to_owned(),
            })?;
            applied.insert(name.to_owned(), value.clone());
            self.vars_table.insert(name.to_owned(), value);
        }
        self.vars = minijinja::Value::from(minijinja::value::Serde(&self.vars_table));
        Ok(applied)
    }

    /// Takes `[vars]` as another process ran with them (a SLURM element:
    /// the coordinator's, after its `--set`).
    pub(crate) fn replace_vars(&mut self, vars: toml::Table) {
        self.vars_table = vars;
        self.vars = minijinja::Value::from(minijinja::value::Serde(&self.vars_table));
    }
}

/// `text` read as a value of the same type as `current`; else what that
/// type is called ("an integer").
fn typed_like(current: &toml::Value, text: &str) -> Result<toml::Value, &'static str> {
    use toml::Value;
    let parsed = || -> Option<Value> {
        let table: toml::Table = toml::from_str(&format!("v = {text}")).ok()?;
        table.get("v").cloned()
    };
    match current {
        Value::String(_) => Ok(Value::String(text.to_owned())),
        Value::Integer(_) => text
            .trim()
            .parse()
            .map(Value::Integer)
            .map_err(|_| "an integer"),
        Value::Float(_) => text
            .trim()
            .parse()
            .map(Value::Float)
            .map_err(|_| "a number"),
        Value::Boolean(_) => match text.trim() {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err("a boolean (true or false)"),
        },
        Value::Datetime(_) => match parsed() {
            Some(v @ Value::Datetime(_)) => Ok(v),
            _ => Err("a date or time"),
        },
        Value::Array(_) => match parsed() {
            Some(v @ Value::Array(_)) => Ok(v),
            _ => Err("a list (`[1, 2]`)"),
        },
        Value::Table(_) => match parsed() {
            Some(v @ Value::Table(_)) => Ok(v),
            _ => Err("a table (`{ a = 1 }`)"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_the_files_type() {
        let v = |t: &str| t.parse::<toml::Table>().unwrap()["v"].clone();
        assert_eq!(typed_like(&v("v = 1"), "5"), Ok(toml::Value::Integer(5)));
        assert_eq!(typed_like(&v("v = 1"), "x"), Err("an integer"));
        assert_eq!(typed_like(&v("v = 1.5"), "2"), Ok(toml::Value::Float(2.0)));
        assert_eq!(
            typed_like(&v("v = 'a'"), "5"),
            Ok(toml::Value::String("5".into()))
        );
        assert_eq!(
            typed_like(&v("v = true"), "false"),
            Ok(toml::Value::Boolean(false))
        );
        assert_eq!(typed_like(&v("v = [1]"), "[2, 3]"), Ok(v("v = [2, 3]")));
        assert!(typed_like(&v("v = [1]"), "2").is_err());
    }
}
