//! Validation of call steps (`python = "FILE.py:FUNCTION"`, `worker = [...]`)
//! and their `with` arguments and `max_tasks_per_worker` (issue 9).

use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::raw::RawStep;
use super::validate::Checker;
use super::{Action, CallSpec, Fanout, WithValue, WorkerProgram};
use crate::template::{Templates, Use};

/// The names a call gets from its task; a `with` key may not hide one.
pub(crate) const TASK_ARGUMENTS: &[&str] = &[
    "input", "inputs", "out", "outs", "key", "stem", "name", "ext", "dir", "batch", "vars",
    "pipeline",
];

impl Checker<'_> {
    /// The action of a step with `python` or `worker` (exactly one of the
    /// action keys is given; checked by the caller).
    pub(super) fn call_action(
        &mut self,
        s: &RawStep,
        fanout: Fanout,
        templates: &mut Templates,
    ) -> Option<Action> {
        let before = self.diagnostics.len();
        let worker = match (&s.python, &s.worker) {
            (Some(python), _) => self.python_program(python.get_ref(), python.span()),
            (None, Some(argv)) => self.worker_argv(
                s.name.get_ref(),
                argv.get_ref()
                    .iter()
                    .map(|a| (a.get_ref().clone(), a.span()))
                    .collect(),
                argv.span(),
            ),
            (None, None) => None,
        };
        let with = self.call_arguments(s, fanout, templates);
        let max_tasks = s.max_tasks_per_worker.as_ref().and_then(|m| {
            self.positive(m, "max_tasks_per_worker")
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        });
        let worker = worker?;
        (self.diagnostics.len() == before).then(|| {
            Action::Call(Arc::new(CallSpec {
                worker,
                with,
                max_tasks,
            }))
        })
    }

    /// `python = "scripts/analysis.py:plot_file"`.
    fn python_program(&mut self, text: &str, span: Range<usize>) -> Option<WorkerProgram> {
        let Some((module, function)) = text.rsplit_once(':') else {
            self.error(
                span,
                format!("`python = \"{text}\"` names no function"),
            )
            .hint = Some(
                "write the module file and the function: `python = \"scripts/analysis.py:plot_file\"`"
                    .to_owned(),
            );
            return None;
        };
        let module_path = Path::new(module);
        let mut ok = true;
        if module.is_empty() || !module.ends_with(".py") {
            self.error(
                span.clone(),
                format!("`{module}` is not a Python file (`.py`)"),
            )
            .hint = Some(
                "write the module file and the function: `python = \"scripts/analysis.py:plot_file\"`"
                    .to_owned(),
            );
            ok = false;
        } else if module_path.is_absolute()
            || module_path
                .components()
                .any(|c| matches!(c, Component::ParentDir))
        {
            self.error(
                span.clone(),
                format!("the module `{module}` is outside the pipeline's root"),
            )
            .hint = Some(
                "the module file is a path relative to root, without `..` (runner fingerprints it and the modules it imports from under root)"
                    .to_owned(),
            );
            ok = false;
        }
        if !is_identifier(function) {
            self.error(
                span.clone(),
                format!("`{function}` is not a Python function name"),
            )
            .hint = Some(
                "name a function defined at the top level of the module: `python = \"scripts/analysis.py:plot_file\"`"
                    .to_owned(),
            );
            ok = false;
        }
        let (interpreter, interpreter_span) = match &self.python {
            Some(p) => (p.get_ref().clone(), Some(p.span())),
            None => ("python3".to_owned(), None),
        };
        if interpreter.trim().is_empty() {
            let at = interpreter_span.clone().unwrap_or(span.clone());
            self.error(at, "`python` names no interpreter").hint =
                Some("leave it out for `python3` from the task's PATH".to_owned());
            ok = false;
        }
        ok.then(|| WorkerProgram::Python {
            interpreter,
            interpreter_span,
            module: PathBuf::from(module),
            function: function.to_owned(),
            span,
        })
    }

    /// `worker = ["Rscript", "scripts/worker.R"]`.
    fn worker_argv(
        &mut self,
        step: &str,
        argv: Vec<(String, Range<usize>)>,
        span: Range<usize>,
    ) -> Option<WorkerProgram> {
        if argv.is_empty() {
            self.error(span, format!("`worker` of step `{step}` is an empty list"))
                .hint = Some(
                "give the program and its arguments: `worker = [\"Rscript\", \"scripts/worker.R\"]`"
                    .to_owned(),
            );
            return None;
        }
        let mut ok = true;
        for (arg, at) in &argv {
            if arg.contains("{{") || arg.contains("{%") {
                self.error(at.clone(), "a `worker` command cannot use templates")
                    .hint = Some(
                    "one worker serves many tasks; each request carries the task's names, and `with` adds more"
                        .to_owned(),
                );
                ok = false;
            }
        }
        ok.then(|| WorkerProgram::Argv {
            argv: argv.into_iter().map(|(a, _)| a).collect(),
            span,
        })
    }

    /// `with = {...}` of a call: strings are templates, other values go as
    /// they are; no key may hide a name the task gives.
    fn call_arguments(
        &mut self,
        s: &RawStep,
        fanout: Fanout,
        templates: &mut Templates,
    ) -> Vec<(String, WithValue)> {
        let Some(with) = &s.with else {
            return Vec::new();
        };
        let name = s.name.get_ref();
        let mut out = Vec::new();
        for (key, value) in with.get_ref() {
            let span = self
                .key_span(with.span(), key)
                .unwrap_or_else(|| with.span());
            if TASK_ARGUMENTS.contains(&key.as_str()) {
                self.error(
                    span,
                    format!("`with` of step `{name}` sets `{key}`, a name every call already gets from its task"),
                )
                .hint = Some(format!(
                    "the task gives: {}; choose another name",
                    TASK_ARGUMENTS.join(", ")
                ));
                continue;
            }
            match value {
                toml::Value::String(text) => {
                    let value_span = self
                        .value_span(with.span(), key)
                        .unwrap_or_else(|| span.clone());
                    let id = format!("steps.{name}.with.{key}");
                    if let Some(t) =
                        self.template(templates, id, text.clone(), value_span, fanout, Use::Action)
                    {
                        out.push((key.clone(), WithValue::Template(t)));
                    }
                }
                other => out.push((key.clone(), WithValue::Literal(toml_to_json(other)))),
            }
        }
        out
    }

    /// The span of `key` inside the inline table or table at `table`.
    fn key_span(&self, table: Range<usize>, key: &str) -> Option<Range<usize>> {
        let text = self.text.get(table.clone())?;
        let mut search = 0;
        while let Some(found) = text[search..].find(key) {
            let at = search + found;
            let before = text[..at].chars().next_back();
            let after = text[at + key.len()..].trim_start();
            if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') && after.starts_with('=') {
                return Some(table.start + at..table.start + at + key.len());
            }
            search = at + key.len();
        }
        None
    }

    /// The span of the value of `key` (after its `=`) inside `table`.
    fn value_span(&self, table: Range<usize>, key: &str) -> Option<Range<usize>> {
        let key_span = self.key_span(table.clone(), key)?;
        let rest = self.text.get(key_span.end..table.end)?;
        let eq = rest.find('=')?;
        let after = &rest[eq + 1..];
        let start = key_span.end + eq + 1 + (after.len() - after.trim_start().len());
        let quote = self.text[start..].chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        // The end of a one-line string (the literal map handles escapes).
        let body = &self.text[start + 1..table.end];
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            if c == quote && !escaped {
                return Some(start..start + 1 + i + 1);
            }
            escaped = quote == '"' && c == '\\' && !escaped;
        }
        None
    }
}

/// Whether `name` is a Python identifier (a function defined with `def`).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// A TOML value as JSON (dates become their TOML text).
fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for good in ["plot_file", "_f", "f2", "été"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "2f", "plot-file", "a.b", "f()"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn toml_values_as_json() {
        let table: toml::Table =
            toml::from_str("a = 1\nb = 2.5\nc = [true, 'x']\nd = 2024-01-02\ne = { f = 'g' }")
                .unwrap();
        let json = toml_to_json(&toml::Value::Table(table));
        assert_eq!(
            json,
            serde_json::json!({"a": 1, "b": 2.5, "c": [true, "x"], "d": "2024-01-02", "e": {"f": "g"}})
        );
    }
}
