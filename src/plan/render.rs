//! Rendering one task's templates: a lazy context (a name such as `stem` is
//! computed only if a template reads it) and the task's command, with its
//! final output paths (shown, fingerprinted) or its temporary ones (run).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};

use super::{
    CallCommand, Command, PlotCommand, TemplateFailure, arg_path, arg_text, display_os,
    display_path,
};
use crate::config::{Action, Fanout, Pipeline, Tmpl, ValueMap, WithValue};
use crate::diag::Diagnostic;
use crate::error::Internal;
use crate::template::whole_variable;

/// What one task's templates see.
#[derive(Debug)]
struct TaskContext {
    vars: Value,
    pipeline: Value,
    key: String,
    inputs: Arc<[PathBuf]>,
    each: bool,
    batch: Option<(usize, usize)>,
    /// `None` while the outputs themselves are rendered.
    outs: Option<Arc<[PathBuf]>>,
    /// For a partial task: the keys of the upstream tasks that failed.
    failed: Option<Arc<[String]>>,
}

const EACH_NAMES: &[&str] = &[
    "vars", "pipeline", "key", "inputs", "input", "stem", "name", "ext", "dir", "out", "outs",
    "failed",
];

impl Object for TaskContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let input = || self.inputs.first().filter(|_| self.each);
        let part = |s: Option<&std::ffi::OsStr>| Value::from(s.map(display_os).unwrap_or_default());
        let paths = |paths: &[PathBuf]| -> Value {
            paths.iter().map(|p| Value::from(arg_text(p))).collect()
        };
        Some(match key {
            "vars" => self.vars.clone(),
            "pipeline" => self.pipeline.clone(),
            "key" => Value::from(self.key.as_str()),
            "inputs" => paths(&self.inputs),
            "input" => Value::from(arg_text(input()?)),
            "name" => part(input()?.file_name()),
            "stem" => part(input()?.file_stem()),
            "ext" => part(input()?.extension()),
            "dir" => {
                let dir = input()?.parent().map(display_path).unwrap_or_default();
                Value::from(if dir.is_empty() { ".".to_owned() } else { dir })
            }
            "batch" => {
                let (index, count) = self.batch?;
                Value::from_object(
                    [("index", Value::from(index)), ("count", Value::from(count))]
                        .into_iter()
                        .collect::<std::collections::BTreeMap<&'static str, Value>>(),
                )
            }
            "out" => match self.outs.as_deref()? {
                [one] => Value::from(arg_text(one)),
                _ => return None,
            },
            "outs" => paths(self.outs.as_deref()?),
            "failed" => self
                .failed
                .as_deref()?
                .iter()
                .map(|k| Value::from(k.as_str()))
                .collect(),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(EACH_NAMES)
    }
}

/// Renders the templates of a pipeline's tasks.
pub(crate) struct Renderer<'p> {
    pipeline: &'p Pipeline,
    pipeline_value: Value,
    /// `[vars]`, for the calls of python and worker steps (`None`: empty).
    call_vars: Option<Arc<toml::Table>>,
}

/// What one task is made of, before its command is rendered.
pub(crate) struct TaskParts<'a> {
    /// The step's index.
    pub(crate) step: usize,
    /// The task's key.
    pub(crate) key: &'a str,
    /// Its inputs.
    pub(crate) inputs: &'a Arc<[PathBuf]>,
    /// Its batch (index, count), for `batch` steps.
    pub(crate) batch: Option<(usize, usize)>,
    /// For a partial task: the keys of the upstream tasks that failed.
    pub(crate) failed: Option<&'a Arc<[String]>>,
}

impl<'p> Renderer<'p> {
    /// A renderer for `pipeline`.
    pub(crate) fn new(pipeline: &'p Pipeline) -> Renderer<'p> {
        let pipeline_value = Value::from_object(
            [
                ("name", Value::from(pipeline.name.as_str())),
                ("root", Value::from(pipeline.root.display().to_string())),
                ("out", Value::from(display_path(&pipeline.out_dir))),
            ]
            .into_iter()
            .collect::<std::collections::BTreeMap<&'static str, Value>>(),
        );
        let call_vars =
            (!pipeline.vars_table.is_empty()).then(|| Arc::new(pipeline.vars_table.clone()));
        Renderer {
            pipeline,
            pipeline_value,
            call_vars,
        }
    }

    fn context(&self, parts: &TaskParts<'_>, outs: Option<Arc<[PathBuf]>>) -> Value {
        let step = &self.pipeline.steps[parts.step];
        Value::from_object(TaskContext {
            vars: self.pipeline.vars.clone(),
            pipeline: self.pipeline_value.clone(),
            key: parts.key.to_owned(),
            inputs: parts.inputs.clone(),
            each: step.fanout == Fanout::Each,
            batch: parts.batch,
            outs,
            failed: parts.failed.cloned(),
        })
    }

    /// The task's output paths (relative to root).
    pub(crate) fn outputs(&self, parts: &TaskParts<'_>) -> Result<Vec<PathBuf>, TemplateFailure> {
        let step = &self.pipeline.steps[parts.step];
        if step.outs.is_empty() {
            return Ok(Vec::new());
        }
        let ctx = self.context(parts, None);
        step.outs
            .iter()
            .map(|out| Ok(self.pipeline.out_dir.join(self.render(out, &ctx)?)))
            .collect()
    }

    /// The task's command with these output paths. Given `shown` (the same
    /// command rendered with the final outputs), `run` elements that do not
    /// read `out`/`outs` are taken from it instead of being rendered again.
    pub(crate) fn command(
        &self,
        parts: &TaskParts<'_>,
        outs: &Arc<[PathBuf]>,
        shown: Option<&Command>,
    ) -> Result<Command, TemplateFailure> {
        let step = &self.pipeline.steps[parts.step];
        let ctx = self.context(parts, Some(outs.clone()));
        Ok(match &step.action {
            Action::Run(argv) => {
                let shown = match shown {
                    Some(Command::Argv(args)) => Some(args.as_slice()),
                    _ => None,
                };
                Command::Argv(self.argv(argv, &ctx, parts, outs, shown)?)
            }
            Action::Shell(script) => Command::Shell(self.render(script, &ctx)?),
            Action::Builtin(builtin) => Command::Builtin(builtin.clone()),
            Action::Plot(spec) => {
                let text = |t: &Option<Tmpl>| match t {
                    Some(t) => self.render(t, &ctx).map(Some),
                    None => Ok(None),
                };
                Command::Plot(PlotCommand {
                    spec: spec.clone(),
                    title: text(&spec.title)?,
                    x_label: text(&spec.x_label)?,
                    y_label: text(&spec.y_label)?,
                })
            }
            Action::Call(spec) => Command::Call(CallCommand {
                spec: spec.clone(),
                with: spec
                    .with
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            WithValue::Template(t) => {
                                serde_json::Value::String(self.render(t, &ctx)?)
                            }
                            WithValue::Literal(v) => v.clone(),
                        };
                        Ok((key.clone(), value))
                    })
                    .collect::<Result<_, TemplateFailure>>()?,
                vars: self.call_vars.clone(),
            }),
        })
    }

    fn argv(
        &self,
        argv: &[Tmpl],
        ctx: &Value,
        parts: &TaskParts<'_>,
        outs: &[PathBuf],
        shown: Option<&[OsString]>,
    ) -> Result<Vec<OsString>, TemplateFailure> {
        let templates = &self.pipeline.templates;
        let each = self.pipeline.steps[parts.step].fanout == Fanout::Each;
        let mut out = Vec::with_capacity(argv.len());
        for arg in argv {
            // A whole `{{ input }}`, `{{ inputs }}`, `{{ out }}` or `{{ outs }}`
            // element is the paths themselves, bytes as they are on disk.
            match whole_variable(&arg.text) {
                Some("inputs") => out.extend(parts.inputs.iter().map(|p| arg_path(p))),
                Some("input") if each && !parts.inputs.is_empty() => {
                    out.push(arg_path(&parts.inputs[0]));
                }
                Some("outs") => out.extend(outs.iter().map(|p| arg_path(p))),
                Some("failed") if parts.failed.is_some() => {
                    out.extend(
                        parts
                            .failed
                            .iter()
                            .flat_map(|f| f.iter())
                            .map(OsString::from),
                    );
                }
                Some("out") if outs.len() == 1 => out.push(arg_path(&outs[0])),
                _ => match shown {
                    // Same position in `shown`: only whole `inputs`/`outs`
                    // elements change the count, and their lengths match.
                    Some(shown)
                        if !templates.reads(&arg.id, "out")
                            && !templates.reads(&arg.id, "outs") =>
                    {
                        out.push(shown[out.len()].clone());
                    }
                    _ => out.push(OsString::from(self.render(arg, ctx)?)),
                },
            }
        }
        Ok(out)
    }

    fn render(&self, t: &Tmpl, ctx: &Value) -> Result<String, TemplateFailure> {
        self.pipeline.templates.render(&t.id, ctx).map_err(|err| {
            let key = ctx
                .get_attr("key")
                .map(|k| k.to_string())
                .unwrap_or_default();
            // Point at the failing part of the string, not the whole string.
            let source = &self.pipeline.source.text;
            let span = err
                .range()
                .filter(|r| r.end <= t.text.len())
                .and_then(|r| ValueMap::new(source, &t.span, &t.text).map(|m| m.range(r)))
                .unwrap_or_else(|| t.span.clone());
            let error = TemplateError(err);
            TemplateFailure {
                template: t.id.clone(),
                diagnostic: Box::new(
                    Diagnostic::new(span, error.to_string())
                        .note(format!("while rendering it for the task with key `{key}`")),
                ),
                error,
            }
        })
    }
}

/// The template engine's error, said without the name the template was
/// compiled under (an internal id, another step's when two share a text):
/// `template error: ` and what went wrong.
#[derive(Debug)]
pub(crate) struct TemplateError(minijinja::Error);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.detail() {
            Some(detail) => write!(f, "template error: {detail}"),
            None => write!(f, "template error: {}", self.0.kind()),
        }
    }
}

impl std::error::Error for TemplateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Why a partial task's command cannot be rendered again over the outputs
/// of the upstream tasks that succeeded (its template reads an input that
/// is not there now, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the command over the outputs of the upstream tasks that succeeded")]
pub(crate) struct NarrowError(#[source] TemplateError);

/// A partial task as it runs: over the outputs of the upstream tasks that
/// succeeded (`inputs`), with `failed` the keys of the others; its command
/// rendered again for them.
pub(crate) fn narrowed(
    pipeline: &Pipeline,
    task: &super::Task,
    inputs: Arc<[PathBuf]>,
    failed: Arc<[String]>,
) -> Result<super::Task, NarrowError> {
    let parts = TaskParts {
        step: task.step,
        key: &task.key,
        inputs: &inputs,
        batch: task.batch,
        failed: Some(&failed),
    };
    let command = Renderer::new(pipeline)
        .command(&parts, &task.outputs, None)
        .map_err(|f| NarrowError(f.error))?;
    Ok(super::Task {
        inputs,
        failed: Some(failed),
        command,
        ..task.clone()
    })
}

/// What one attempt of a task executes: its command with the attempt's
/// temporary output paths (`temps`, from `temp_path`), which runner renames
/// into place when it succeeds. Rendered when the task runs, so tasks that
/// are up to date never pay for it.
pub(crate) fn exec_command(
    pipeline: &Pipeline,
    task: &super::Task,
    temps: &[PathBuf],
) -> Result<Command, Internal> {
    if task.outputs.is_empty() {
        return Ok(task.command.clone());
    }
    // A call whose `with` values are not templates cannot name `out`: its
    // command is the planned one (no renderer per call, issue 9's 5,000
    // calls a second; the temporary outputs go in the request's `args`).
    if let Command::Call(_) = &task.command
        && let Action::Call(spec) = &pipeline.steps[task.step].action
        && spec
            .with
            .iter()
            .all(|(_, value)| matches!(value, WithValue::Literal(_)))
    {
        return Ok(task.command.clone());
    }
    let temps: Arc<[PathBuf]> = temps.into();
    let parts = TaskParts {
        step: task.step,
        key: &task.key,
        inputs: &task.inputs,
        batch: task.batch,
        failed: task.failed.as_ref(),
    };
    Renderer::new(pipeline)
        .command(&parts, &temps, Some(&task.command))
        .map_err(|f| {
            // It rendered with the final outputs when the plan was made.
            Internal::new(format!(
                "cannot render the command with its temporary outputs: {}",
                f.diagnostic.message
            ))
        })
}
