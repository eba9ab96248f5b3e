//! The plan: from a validated pipeline and the file system listing, every task
//! (step, key, inputs, outputs, rendered command) and the edges between them.
//! Pure: nothing runs, so `check` and `--dry-run` show exactly what would.

mod call_check;
mod inputs;
mod render;

use rustc_hash::FxHashMap as HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rayon::prelude::*;

use crate::config::{
    Action, BuiltinStep, CallSpec, Fanout, LoadError, Pipeline, PlotSpec, Tmpl, Upstream,
};
use crate::diag::Diagnostic;
use crate::template::whole_variable;

pub(crate) use call_check::call_checks;
pub(crate) use inputs::{InputFile, batches, display_os, display_path, escaped};
pub(crate) use render::{NarrowError, exec_command, narrowed};
use render::{Renderer, TaskParts};

/// Index of a task in `Plan::tasks`.
pub(crate) type TaskId = usize;

/// Every task of a pipeline and what each one needs.
#[derive(Debug)]
pub(crate) struct Plan {
    /// In dependency order: every task comes after its upstream tasks.
    pub(crate) tasks: Vec<Task>,
    /// Per step (same order as `Pipeline::steps`), its tasks.
    pub(crate) step_tasks: Vec<Vec<TaskId>>,
    /// Per input set, its files.
    pub(crate) input_files: Vec<Vec<InputFile>>,
}

/// One unit of work: plain data, so it can run anywhere.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// Position in the plan.
    pub(crate) id: TaskId,
    /// Index of its step in `Pipeline::steps`.
    pub(crate) step: usize,
    /// Stable identity within the step (`2024/x`, `batch-3`, `all`).
    pub(crate) key: String,
    /// Files it reads, relative to root (or absolute).
    pub(crate) inputs: Arc<[PathBuf]>,
    /// Files it writes, relative to root (or absolute).
    pub(crate) outputs: Arc<[PathBuf]>,
    /// For a `batch` task: its index and the number of batches.
    pub(crate) batch: Option<(usize, usize)>,
    /// Tasks that must succeed first.
    pub(crate) upstream: Vec<TaskId>,
    /// What it runs.
    pub(crate) command: Command,
    /// Set when the task cannot run at all (a file name it cannot carry); it
    /// then fails with this message without running.
    pub(crate) invalid: Option<String>,
    /// For a task of a partial step: the keys of the upstream tasks that
    /// failed (empty in the plan; filled in when it runs). `None` otherwise.
    pub(crate) failed: Option<Arc<[String]>>,
}

/// The rendered action of a task, one variant per kind of action, each with
/// everything its kind needs to run and to be fingerprinted (so a command
/// cannot disagree with its step): argv and shell scripts with their final
/// output paths (as shown, and fingerprinted); `exec_command` gives the one
/// that is run. A new kind of action is a new variant here and in
/// `config::Action`: the compiler then lists every place that handles one.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// An argv.
    Argv(Vec<OsString>),
    /// A script for `sh -c`.
    Shell(String),
    /// A built-in step, with its options (shared by the step's tasks).
    Builtin(Arc<BuiltinStep>),
    /// A plot: its spec (shared by the step's tasks) and its rendered texts.
    Plot(PlotCommand),
    /// A call to a worker (`python`, `worker`).
    Call(CallCommand),
}

/// What a call task asks its worker.
#[derive(Debug, Clone)]
pub(crate) struct CallCommand {
    /// The step's call (shared by its tasks): the worker and the function.
    pub(crate) spec: Arc<CallSpec>,
    /// The `with` values rendered for this task, in the file's order.
    pub(crate) with: Vec<(String, serde_json::Value)>,
    /// The pipeline's `[vars]` as this run sees them (after `--set`), which
    /// the function is given as `vars`; `None` when there are none.
    pub(crate) vars: Option<Arc<toml::Table>>,
}

/// What a plot task draws.
#[derive(Debug, Clone)]
pub(crate) struct PlotCommand {
    /// The `[[plots]]` entry.
    pub(crate) spec: Arc<PlotSpec>,
    /// Rendered title.
    pub(crate) title: Option<String>,
    /// Rendered x label.
    pub(crate) x_label: Option<String>,
    /// Rendered y label.
    pub(crate) y_label: Option<String>,
}

impl Command {
    /// Whether it starts a process (argv or shell), as opposed to work done
    /// inside runner.
    pub(crate) fn is_process(&self) -> bool {
        match self {
            Command::Argv(_) | Command::Shell(_) => true,
            Command::Builtin(_) | Command::Plot(_) | Command::Call(_) => false,
        }
    }
}

impl Plan {
    /// Upstream edges turned around: per task, the tasks that read it.
    pub(crate) fn downstream(&self) -> Vec<Vec<TaskId>> {
        let mut down = vec![Vec::new(); self.tasks.len()];
        for task in &self.tasks {
            for &up in &task.upstream {
                down[up].push(task.id);
            }
        }
        down
    }
}

/// The longest file name Linux file systems take, in bytes.
const NAME_MAX: usize = 255;

/// Bytes of the final name's stem kept in a temporary name, so that people
/// looking at the folder see whose it is.
const STEM_KEPT: usize = 40;

/// The temporary path that one attempt of a task writes instead of
/// `final_path`: same folder, same extension (tools pick formats by it),
/// hidden, and unique to the attempt (`attempt` = run id and attempt
/// number), so that a command left running by a killed run never writes
/// into the file that a later run renames into place (issue 10, item 2).
/// The stem is cut and a hash of the final path added, so the name fits in
/// 255 bytes whatever the final name's length (item 15):
/// `out/.x.tmp-0123456789ab-12.a3f0-1.svg` (attempt 1 of run 12).
pub(crate) fn temp_path(final_path: &Path, attempt: &str) -> PathBuf {
    let name = final_path.file_name().unwrap_or_default();
    let mut temp = temp_prefix(final_path);
    temp.push(attempt);
    if let Some(ext) = Path::new(name).extension()
        && Path::new(name).file_stem().is_some()
        && temp.len() + 1 + ext.len() <= NAME_MAX
    {
        temp.push(".");
        temp.push(ext);
    }
    final_path.with_file_name(temp)
}

/// The part of `final_path`'s temporary file names that every attempt
/// shares (`.x.tmp-0123456789ab-`): the start of the name, up to the
/// attempt. Only temporaries of `final_path` start with it (it holds a hash
/// of the whole path), so a later run can find those that a killed run left
/// without registering them.
pub(crate) fn temp_prefix(final_path: &Path) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    let name = final_path.file_name().unwrap_or_default();
    let path = Path::new(name);
    let stem = match (path.file_stem(), path.extension()) {
        (Some(stem), Some(_)) => stem,
        _ => name,
    };
    let hash = blake3::hash(final_path.as_os_str().as_bytes()).to_hex();
    let mut temp = OsString::from(".");
    temp.push(std::ffi::OsStr::from_bytes(prefix(
        stem.as_bytes(),
        STEM_KEPT,
    )));
    temp.push(format!("{TEMP_MARK}{}-", &hash[..TEMP_HASH_LEN]));
    temp
}

/// What stands between the stem and the hash in a temporary name.
const TEMP_MARK: &str = ".tmp-";

/// Hex digits of the final path's hash in a temporary name.
const TEMP_HASH_LEN: usize = 12;

/// Where a `temp_prefix` would end in the file name `name`, for each place
/// one could (after each `.tmp-`, its hash and a `-`).
pub(crate) fn temp_prefix_ends(name: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mark = TEMP_MARK.as_bytes();
    (0..name.len().saturating_sub(mark.len()))
        .filter(move |&i| name[i..].starts_with(mark))
        .map(move |i| i + mark.len() + TEMP_HASH_LEN + 1)
        .filter(move |&end| end <= name.len() && name[end - 1] == b'-')
}

/// At most `max` bytes of `bytes`, not cutting a UTF-8 character.
fn prefix(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    while end > 0 && (bytes[end] & 0xc0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

/// A path as handed to commands and templates: relative to root, and never
/// starting with `-` (`./-n.csv`), so no tool reads it as an option.
pub(crate) fn arg_path(path: &Path) -> OsString {
    if path.as_os_str().as_encoded_bytes().starts_with(b"-") {
        Path::new(".").join(path).into_os_string()
    } else {
        path.as_os_str().to_owned()
    }
}

fn arg_text(path: &Path) -> String {
    display_os(&arg_path(path))
}

/// Builds the plan of a validated pipeline.
pub(crate) fn build(pipeline: &Pipeline) -> Result<Plan, LoadError> {
    Builder::new(pipeline)
        .build()
        .map_err(|diagnostics| LoadError {
            source: pipeline.source.clone(),
            diagnostics,
        })
}

struct Builder<'p> {
    pipeline: &'p Pipeline,
    tasks: Vec<Task>,
    diagnostics: Vec<Diagnostic>,
    renderer: Renderer<'p>,
}

/// Names in templates that come from an input's path.
const PATH_NAMES: &[&str] = &["input", "inputs", "stem", "name", "ext", "dir"];

impl<'p> Builder<'p> {
    fn new(pipeline: &'p Pipeline) -> Self {
        Builder {
            pipeline,
            tasks: Vec::new(),
            diagnostics: Vec::new(),
            renderer: Renderer::new(pipeline),
        }
    }

    fn build(mut self) -> Result<Plan, Vec<Diagnostic>> {
        let p = self.pipeline;
        let skip = [
            p.out_dir.clone(),
            p.state_dir.clone(),
            PathBuf::from(".runner"),
        ];
        let now = SystemTime::now();
        let mut input_files = Vec::new();
        for set in &p.inputs {
            match inputs::expand(set, &p.root, &skip, now) {
                Ok(files) => input_files.push(files),
                Err(diags) => {
                    self.diagnostics.extend(diags);
                    input_files.push(Vec::new());
                }
            }
        }
        // No early return: a broken set has no files, so the steps reading it
        // make no tasks, and the other steps' problems are reported too.

        self.check_programs();
        let mut step_tasks: Vec<Vec<TaskId>> = Vec::new();
        for (step_index, step) in p.steps.iter().enumerate() {
            // What one task reads: (key, inputs, upstream tasks, batch index).
            let units: Vec<Unit> = match (step.upstream, step.fanout) {
                (Upstream::Inputs(set), Fanout::Each) => input_files[set]
                    .iter()
                    .map(|f| Unit {
                        key: f.key.clone(),
                        inputs: Arc::from([f.path.clone()]),
                        upstream: Vec::new(),
                        batch: None,
                    })
                    .collect(),
                (Upstream::Inputs(set), Fanout::Batch) => {
                    let files = &input_files[set];
                    let batching = p.inputs[set]
                        .batching
                        .expect("validated: batch needs batches");
                    let split = batches(files.len(), batching);
                    let count = split.len();
                    split
                        .into_iter()
                        .enumerate()
                        .map(|(index, members)| Unit {
                            key: format!("batch-{index}"),
                            inputs: members.iter().map(|&i| files[i].path.clone()).collect(),
                            upstream: Vec::new(),
                            batch: Some((index, count)),
                        })
                        .collect()
                }
                (Upstream::Inputs(set), Fanout::All) => {
                    let files = &input_files[set];
                    if files.is_empty() {
                        Vec::new()
                    } else {
                        vec![Unit {
                            key: "all".to_owned(),
                            inputs: files.iter().map(|f| f.path.clone()).collect(),
                            upstream: Vec::new(),
                            batch: None,
                        }]
                    }
                }
                (Upstream::Step(up), Fanout::Each) => step_tasks[up]
                    .iter()
                    .map(|&t| Unit {
                        key: self.tasks[t].key.clone(),
                        inputs: self.tasks[t].outputs.clone(),
                        upstream: vec![t],
                        batch: None,
                    })
                    .collect(),
                (Upstream::Step(up), _) => {
                    if step_tasks[up].is_empty() {
                        Vec::new()
                    } else {
                        vec![Unit {
                            key: "all".to_owned(),
                            inputs: step_tasks[up]
                                .iter()
                                .flat_map(|&t| self.tasks[t].outputs.iter().cloned())
                                .collect(),
                            upstream: step_tasks[up].clone(),
                            batch: None,
                        }]
                    }
                }
            };
            // Tasks of one step depend only on earlier steps: render them in
            // parallel, then number them in order.
            let this = &self;
            let rendered: Vec<Result<Task, TemplateFailure>> = units
                .into_par_iter()
                .map(|unit| this.task(step_index, unit))
                .collect();
            let mut ids = Vec::with_capacity(rendered.len());
            let mut failed_templates: Vec<String> = Vec::new();
            for result in rendered {
                match result {
                    Ok(mut task) => {
                        task.id = self.tasks.len();
                        ids.push(task.id);
                        self.tasks.push(task);
                    }
                    // One report per template, not one per task.
                    Err(failure) if !failed_templates.contains(&failure.template) => {
                        failed_templates.push(failure.template);
                        self.diagnostics.push(*failure.diagnostic);
                    }
                    Err(_) => {}
                }
            }
            step_tasks.push(ids);
        }
        self.check_outputs(&step_tasks);
        if !self.diagnostics.is_empty() {
            self.diagnostics
                .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            return Err(self.diagnostics);
        }
        Ok(Plan {
            tasks: self.tasks,
            step_tasks,
            input_files,
        })
    }

    /// Renders one task; on a template error, reports it once per template.
    fn task(&self, step_index: usize, unit: Unit) -> Result<Task, TemplateFailure> {
        let step = &self.pipeline.steps[step_index];
        let failed: Option<Arc<[String]>> = step.partial.then(|| Arc::from([]));
        let parts = TaskParts {
            step: step_index,
            key: &unit.key,
            inputs: &unit.inputs,
            batch: unit.batch,
            failed: failed.as_ref(),
        };
        let outputs: Arc<[PathBuf]> = self.renderer.outputs(&parts)?.into();
        let command = self.renderer.command(&parts, &outputs, None)?;

        // A file name that is not UTF-8 can be passed on only as a whole
        // argument; anywhere inside a string, its task fails on its own.
        let non_utf8 = unit.inputs.iter().find(|i| i.to_str().is_none());
        let invalid = non_utf8.and_then(|file| match &step.action {
            Action::Run(argv) => argv
                .iter()
                .any(|a| {
                    whole_variable(&a.text).is_none_or(|v| !PATH_NAMES.contains(&v))
                        && self.reads_path(a)
                })
                .then(|| not_utf8_message(file, "inside a `run` argument")),
            Action::Shell(script) => self
                .reads_path(script)
                .then(|| not_utf8_message(file, "in a `shell` command")),
            // They open their inputs by path, bytes and all.
            Action::Builtin(_) | Action::Plot(_) => None,
            Action::Call(_) => Some(format!(
                "the file name `{}` is not valid UTF-8 and the step passes it to a worker, whose requests are JSON (UTF-8 only); rename the file",
                display_path(file)
            )),
        });

        Ok(Task {
            id: 0,
            step: step_index,
            key: unit.key,
            inputs: unit.inputs,
            outputs,
            batch: unit.batch,
            upstream: unit.upstream,
            command,
            invalid,
            failed,
        })
    }

    /// Whether a template reads a name taken from an input's path.
    fn reads_path(&self, t: &Tmpl) -> bool {
        self.pipeline
            .templates
            .variables(&t.id)
            .iter()
            .any(|v| PATH_NAMES.contains(&v.as_str()))
    }

    /// Every `run` program that is not templated must exist before anything
    /// starts, found as a path (relative to root) or on the task's PATH.
    fn check_programs(&mut self) {
        let p = self.pipeline;
        // Looked up once per program and PATH (8,000 steps running `cp`
        // search PATH once, issue 10 item 10).
        let mut found: HashMap<(&str, OsString), bool> = HashMap::default();
        for step in &p.steps {
            let program = match &step.action {
                Action::Run(argv) => &argv[0],
                // A shell looks its programs up as it runs; built-ins and
                // plots run inside runner.
                Action::Shell(_) | Action::Builtin(_) | Action::Plot(_) | Action::Call(_) => {
                    continue;
                }
            };
            if program.text.contains("{{") || program.text.contains("{%") {
                continue;
            }
            let path_var = step
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| OsString::from(v))
                .or_else(|| std::env::var_os("PATH"))
                .unwrap_or_default();
            let exists = *found
                .entry((program.text.as_str(), path_var.clone()))
                .or_insert_with(|| find_program(&program.text, &p.root, &path_var).is_some());
            if !exists {
                let hint = if program.text.contains('/') {
                    format!("paths are relative to root `{}`", p.root.display())
                } else {
                    format!(
                        "searched the task's PATH `{}`; set `env = {{ PATH = \"...\" }}` or give a path",
                        path_var.to_string_lossy()
                    )
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        program.span.clone(),
                        format!(
                            "program `{}` of step `{}` is not found",
                            program.text, step.name
                        ),
                    )
                    .hint(hint),
                );
            }
        }
    }

    /// Outputs stay under `out` and no two tasks write one file.
    fn check_outputs(&mut self, step_tasks: &[Vec<TaskId>]) {
        let p = self.pipeline;
        let out_dir = crate::config::normalize_path(&p.out_dir);
        let total: usize = step_tasks.iter().map(Vec::len).sum();
        // Keyed by the path's bytes: hashing a `Path` goes component by component.
        let mut writers: HashMap<Vec<u8>, TaskId> =
            HashMap::with_capacity_and_hasher(total, Default::default());
        for ids in step_tasks {
            let mut reported_outside = false;
            let mut reported_long = false;
            let mut collisions = 0usize;
            for &id in ids {
                let task = &self.tasks[id];
                let step = &p.steps[task.step];
                for out in task.outputs.iter() {
                    if let Some(long) = out.iter().find(|c| c.len() > NAME_MAX)
                        && !reported_long
                    {
                        reported_long = true;
                        self.diagnostics.push(
                            Diagnostic::new(
                                step.outs_span.clone(),
                                format!(
                                    "output `{}` of step `{}` (key `{}`) has a name that is {} bytes long; file systems take at most {NAME_MAX}",
                                    display_path(out),
                                    step.name,
                                    task.key,
                                    long.len()
                                ),
                            )
                            .hint("use a shorter name or extension in `out`"),
                        );
                    }
                    let normal = normal_form(out);
                    if (!normal.starts_with(&out_dir) || *normal == *out_dir) && !reported_outside {
                        reported_outside = true;
                        self.diagnostics.push(
                            Diagnostic::new(
                                step.outs_span.clone(),
                                format!(
                                    "output `{}` of step `{}` (key `{}`) is outside the output folder `{}`",
                                    display_path(out),
                                    step.name,
                                    task.key,
                                    display_path(&p.out_dir)
                                ),
                            )
                            .hint("`out` paths are relative to `[pipeline] out` and must stay inside it"),
                        );
                    }
                    let key = normal.as_os_str().as_encoded_bytes();
                    if let Some(&other) = writers.get(key) {
                        collisions += 1;
                        if collisions == 1 {
                            let o = &self.tasks[other];
                            let mut d = Diagnostic::new(
                                step.outs_span.clone(),
                                format!(
                                    "two tasks write `{}`: `{}` (key `{}`) and `{}` (key `{}`)",
                                    display_path(out),
                                    p.steps[o.step].name,
                                    o.key,
                                    step.name,
                                    task.key
                                ),
                            )
                            .hint(
                                "put `{{ key }}` in `out` so that every task writes its own file",
                            );
                            if o.step != task.step {
                                let label = format!("`{}` writes it too", p.steps[o.step].name);
                                d = d.label(p.steps[o.step].outs_span.clone(), label);
                            }
                            self.diagnostics.push(d);
                        }
                    } else {
                        writers.insert(key.to_vec(), id);
                    }
                }
            }
            if collisions > 1
                && let Some(d) = self.diagnostics.last_mut()
            {
                d.notes.push(if collisions == 2 {
                    "1 more output of this step collides".to_owned()
                } else {
                    format!("{} more outputs of this step collide", collisions - 1)
                });
            }
        }
        // The report is written after the tasks: it must not replace one's
        // output.
        if let Some(report) = &p.report {
            let normal = normal_form(&report.path);
            if let Some(&id) = writers.get(normal.as_os_str().as_encoded_bytes()) {
                let task = &self.tasks[id];
                let step = &p.steps[task.step];
                self.diagnostics.push(
                    Diagnostic::new(
                        report.span.clone(),
                        format!(
                            "the report `{}` is also the output of `{}` (key `{}`)",
                            display_path(&report.path),
                            step.name,
                            task.key
                        ),
                    )
                    .label(step.outs_span.clone(), "written here".to_owned())
                    .hint("give `[report] out` a name of its own"),
                );
            }
        }
    }
}

/// A path without `.` and `..` components; borrowed when it has none.
fn normal_form(path: &Path) -> std::borrow::Cow<'_, Path> {
    let plain = path.components().all(|c| {
        !matches!(
            c,
            std::path::Component::CurDir | std::path::Component::ParentDir
        )
    });
    if plain {
        std::borrow::Cow::Borrowed(path)
    } else {
        std::borrow::Cow::Owned(crate::config::normalize_path(path))
    }
}

/// Where `program` would be run from: a path (relative to root) if it has a
/// `/`, else the first executable file of that name on `path_var`.
pub(crate) fn find_program(
    program: &str,
    root: &Path,
    path_var: &std::ffi::OsStr,
) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = root.join(program);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(path_var)
        .map(|dir| root.join(dir).join(program))
        .find(|p| executable(p))
}

/// A template that could not be rendered for a task.
struct TemplateFailure {
    /// The template's id.
    template: String,
    /// How it is shown at plan time: at the template, with the task's key.
    diagnostic: Box<Diagnostic>,
    /// What the template engine said (a partial task's failure when its
    /// command is rendered again at run time).
    error: render::TemplateError,
}

/// What one task reads.
struct Unit {
    key: String,
    inputs: Arc<[PathBuf]>,
    upstream: Vec<TaskId>,
    batch: Option<(usize, usize)>,
}

fn not_utf8_message(file: &Path, place: &str) -> String {
    format!(
        "the file name `{}` is not valid UTF-8 and the step uses it {place}, where it cannot be \
         passed on unchanged; rename the file, or pass it as a whole argument (`\"{{{{ input }}}}\"` in `run`)",
        display_path(file)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_paths_keep_extension_and_folder() {
        let t = temp_path(Path::new("out/plots/x.svg"), "7-1");
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(t.parent().unwrap(), Path::new("out/plots"));
        assert!(
            name.starts_with(".x.tmp-") && name.ends_with("-7-1.svg"),
            "{name}"
        );
        assert_eq!(t, temp_path(Path::new("out/plots/x.svg"), "7-1"));
        // Unique to the attempt and to the output.
        assert_ne!(t, temp_path(Path::new("out/plots/x.svg"), "7-2"));
        assert_ne!(t, temp_path(Path::new("out/plots/x.svg"), "8-1"));
        assert_ne!(
            temp_path(Path::new("out/a/x.svg"), "1-1").file_name(),
            temp_path(Path::new("out/b/x.svg"), "1-1").file_name()
        );
        let t = temp_path(Path::new("out/README"), "1-1");
        assert!(
            t.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(".README.tmp-")
        );
    }

    #[test]
    fn temp_names_fit_whatever_the_final_name() {
        for len in [200, 246, 250, 255] {
            let name = format!(
                "{}.csv",
                "é".repeat((len - 4) / 2) + &"n".repeat((len - 4) % 2)
            );
            assert_eq!(name.len(), len);
            let t = temp_path(&Path::new("out").join(&name), "123456-10");
            let temp = t.file_name().unwrap();
            assert!(temp.len() <= 255, "{}", temp.len());
            assert!(temp.to_str().unwrap().ends_with(".csv"));
        }
        // An extension too long to keep is dropped rather than overflow.
        let name = format!("x.{}", "e".repeat(250));
        let t = temp_path(&Path::new("out").join(name), "1-1");
        assert!(t.file_name().unwrap().len() <= 255);
    }

    #[test]
    fn temp_names_are_found_by_their_prefix() {
        use std::os::unix::ffi::OsStrExt;
        let found = |final_path: &str, name: &std::ffi::OsStr| {
            let prefix = temp_prefix(Path::new(final_path));
            let name = name.as_bytes();
            temp_prefix_ends(name).any(|end| name[..end] == *prefix.as_bytes())
        };
        for final_path in ["out/x.svg", "out/README", "out/a.tmp-b.c.tmp-d.csv"] {
            let t = temp_path(Path::new(final_path), "12.ab3f-1");
            assert!(found(final_path, t.file_name().unwrap()), "{t:?}");
        }
        let long = format!("out/{}.csv", "n".repeat(251));
        let t = temp_path(Path::new(&long), "12.ab3f-1");
        assert!(found(&long, t.file_name().unwrap()));
        // Not another output's, nor a user's file.
        let t = temp_path(Path::new("out/x.svg"), "1.abcd-1");
        assert!(!found("out/y.svg", t.file_name().unwrap()));
        assert!(!found(
            "out/x.svg",
            std::ffi::OsStr::new(".x.tmp-notes.svg")
        ));
    }

    #[test]
    fn arg_paths_never_look_like_options() {
        assert_eq!(arg_path(Path::new("-n.csv")), OsString::from("./-n.csv"));
        assert_eq!(
            arg_path(Path::new("data/-n.csv")),
            OsString::from("data/-n.csv")
        );
    }
}
