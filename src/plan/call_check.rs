//! What `runner check` looks at in call steps without starting them (issue
//! 9): the module file exists, the interpreter (or worker program) is found,
//! and the module defines the function, by a plain text scan (nothing is
//! imported at check time). A run does not stop on these: the step's tasks
//! fail as one entry, with the interpreter's own message.

use std::ffi::OsString;
use std::ops::Range;
use std::path::Path;

use crate::config::{Action, Pipeline, Step, WorkerProgram};
use crate::diag::{Diagnostic, did_you_mean};

/// The problems of every call step of `pipeline`.
pub(crate) fn call_checks(pipeline: &Pipeline) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for step in &pipeline.steps {
        let Action::Call(spec) = &step.action else {
            continue;
        };
        match &spec.worker {
            WorkerProgram::Python {
                interpreter,
                interpreter_span,
                module,
                function,
                span,
            } => {
                let at = interpreter_span.clone().unwrap_or(span.clone());
                // `[pipeline] python` is reported once, not once per step.
                let reported = out.iter().any(|d| d.span.as_ref() == Some(&at));
                if !reported && find(pipeline, step, interpreter).is_none() {
                    let whose = if interpreter_span.is_some() {
                        String::new()
                    } else {
                        format!(" of step `{}`", step.name)
                    };
                    out.push(
                        Diagnostic::new(
                            at,
                            format!("the Python interpreter `{interpreter}`{whose} is not found"),
                        )
                        .hint(not_found_hint(
                            pipeline,
                            step,
                            interpreter,
                            "`[pipeline] python`",
                        )),
                    );
                }
                let path = pipeline.root.join(module);
                match std::fs::read(&path) {
                    Err(_) => out.push(
                        Diagnostic::new(
                            span.clone(),
                            format!(
                                "the module `{}` of step `{}` does not exist",
                                module.display(),
                                step.name
                            ),
                        )
                        .hint(format!(
                            "paths are relative to root `{}`",
                            pipeline.root.display()
                        )),
                    ),
                    Ok(bytes) => {
                        let text = String::from_utf8_lossy(&bytes);
                        let names = defined_names(&text);
                        if !names.star && !names.names.iter().any(|n| n == function) {
                            let hint = did_you_mean(
                                function,
                                names.names.iter().map(String::as_str),
                            )
                            .unwrap_or_else(|| {
                                format!(
                                    "define it at the top level: `def {function}(input, out): ...`"
                                )
                            });
                            out.push(
                                Diagnostic::new(
                                    function_span(&pipeline.source.text, span, function),
                                    format!(
                                        "`{}` defines no function `{function}`",
                                        module.display()
                                    ),
                                )
                                .hint(hint),
                            );
                        }
                    }
                }
            }
            WorkerProgram::Argv { argv, span } => {
                if find(pipeline, step, &argv[0]).is_none() {
                    out.push(
                        Diagnostic::new(
                            span.clone(),
                            format!(
                                "the worker program `{}` of step `{}` is not found",
                                argv[0], step.name
                            ),
                        )
                        .hint(not_found_hint(pipeline, step, &argv[0], "`worker`")),
                    );
                }
            }
        }
    }
    out
}

/// The task's PATH for `step`: its env's, else runner's.
fn path_var(step: &Step) -> OsString {
    step.env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsString::from(v))
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default()
}

fn find(pipeline: &Pipeline, step: &Step, program: &str) -> Option<std::path::PathBuf> {
    super::find_program(program, &pipeline.root, &path_var(step))
}

fn not_found_hint(pipeline: &Pipeline, step: &Step, program: &str, key: &str) -> String {
    if Path::new(program).is_absolute() {
        "no executable file is there".to_owned()
    } else if program.contains('/') {
        format!(
            "paths in {key} are relative to root `{}`",
            pipeline.root.display()
        )
    } else {
        format!(
            "searched the task's PATH `{}`; set {key} to a path, or `env = {{ PATH = \"...\" }}`",
            path_var(step).to_string_lossy()
        )
    }
}

/// Where `function` is written in the `python = "FILE:FUNCTION"` string at
/// `span` (the whole string if it cannot be found).
fn function_span(source: &str, span: &Range<usize>, function: &str) -> Range<usize> {
    let needle = format!(":{function}");
    source
        .get(span.clone())
        .and_then(|s| s.rfind(&needle))
        .map(|at| {
            let start = span.start + at + 1;
            start..start + function.len()
        })
        .unwrap_or(span.clone())
}

/// The names a module defines, as far as a text scan can tell.
#[derive(Debug, Default)]
struct Names {
    names: Vec<String>,
    /// `from x import *`: any name may be defined.
    star: bool,
}

/// `def NAME(` and `class NAME` (at any depth: a function defined in an
/// `if` block counts), top-level `NAME =` and `NAME: T =`, and every name an
/// `import` or `from ... import` binds.
fn defined_names(text: &str) -> Names {
    let mut names = Names::default();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let top = trimmed.len() == line.len();
        for keyword in ["def ", "async def ", "class "] {
            if let Some(rest) = trimmed.strip_prefix(keyword) {
                names.names.push(identifier(rest.trim_start()).to_owned());
            }
        }
        if let Some(rest) = trimmed.strip_prefix("import ") {
            for item in rest.split(',') {
                let bound = match item.split_once(" as ") {
                    Some((_, alias)) => alias,
                    None => item.split('.').next().unwrap_or(""),
                };
                names.names.push(identifier(bound.trim()).to_owned());
            }
        } else if let Some(rest) = trimmed.strip_prefix("from ")
            && let Some((_, imported)) = rest.split_once(" import ")
        {
            let without_comment = |line: &str| line.split('#').next().unwrap_or("").to_owned();
            let mut imported = without_comment(imported).trim().to_owned();
            if imported.starts_with('(') {
                while !imported.contains(')') {
                    match lines.next() {
                        Some(more) => {
                            imported.push(' ');
                            imported.push_str(&without_comment(more));
                        }
                        None => break,
                    }
                }
            }
            let imported = imported.trim_matches(|c| c == '(' || c == ')');
            for item in imported.split(',') {
                let item = item.trim();
                if item == "*" {
                    names.star = true;
                }
                let bound = item.split_once(" as ").map_or(item, |(_, alias)| alias);
                names.names.push(identifier(bound.trim()).to_owned());
            }
        } else if top {
            let name = identifier(trimmed);
            let rest = trimmed[name.len()..].trim_start();
            if !name.is_empty()
                && ((rest.starts_with('=') && !rest.starts_with("=="))
                    || (rest.starts_with(':') && rest.contains('=')))
            {
                names.names.push(name.to_owned());
            }
        }
    }
    names.names.retain(|n| !n.is_empty());
    names
}

/// The identifier at the start of `text`.
fn identifier(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_finds_what_python_would_define() {
        let text = "\
import os, numpy as np
from helpers import (
    plot_one,  # a comment
    load as read_table,
)
from .x import y
CONSTANT = 3
size: int = 4
if True:
    def inner(a):
        pass
async def fetch(url): ...
class Plotter:
    def method(self): ...
x == 3
";
        let names = defined_names(text);
        for name in [
            "os",
            "np",
            "plot_one",
            "read_table",
            "y",
            "CONSTANT",
            "size",
            "inner",
            "fetch",
            "Plotter",
            "method",
        ] {
            assert!(names.names.iter().any(|n| n == name), "{name}: {names:?}");
        }
        assert!(!names.names.iter().any(|n| n == "x" || n == "load"));
        assert!(!names.star);
        assert!(defined_names("from helpers import *\n").star);
    }

    #[test]
    fn the_function_is_pointed_at() {
        let source = r#"python = "scripts/a.py:plot""#;
        let span = 9..source.len();
        assert_eq!(&source[function_span(source, &span, "plot")], "plot");
    }
}
