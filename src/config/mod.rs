//! The pipeline file: the only place that reads TOML. `load` turns a file into
//! a validated [`Pipeline`] or the full list of diagnostics found in it.

mod call;
mod executor;
mod input_set;
mod literal;
mod namespace;
mod overrides;
mod places;
mod plot;
mod raw;
mod report;
mod sections;
mod settings;
mod step;
mod template_check;
mod validate;

use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::plot::Kind as PlotKind;
use crate::template::Templates;

pub(crate) use input_set::glob_base;
pub(crate) use literal::ValueMap;
pub(crate) use overrides::SetError;
pub(crate) use raw::{MAX_JOBS, json_schema};
pub(crate) use report::Report;
pub(crate) use validate::parse;

/// The newest pipeline file format this binary understands.
pub(crate) const FORMAT_VERSION: i64 = 1;

/// The pipeline file's text and where it came from, kept for diagnostics that
/// are found later (at plan time).
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// The path as given on the command line.
    pub(crate) path: PathBuf,
    /// The whole file.
    pub(crate) text: String,
}

/// A pipeline file that failed to load or to plan: every diagnostic found
/// in it (the error of the `config` and `plan` layers).
#[derive(Debug)]
pub(crate) struct LoadError {
    /// The file's text, for rendering.
    pub(crate) source: Source,
    /// Everything wrong with it, in file order.
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// Every diagnostic with its file, line, column and caret, in colour
    /// if `color`.
    pub(crate) fn render(&self, color: bool) -> String {
        crate::diag::render(
            &self.diagnostics,
            &self.source.path,
            &self.source.text,
            color,
        )
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for LoadError {}

/// A validated pipeline: references resolved, steps in dependency order,
/// templates compiled.
#[derive(Debug)]
pub(crate) struct Pipeline {
    /// `[pipeline] name`, or the file's stem.
    pub(crate) name: String,
    /// The pipeline file (for messages and the state's file hash).
    pub(crate) source: Source,
    /// Absolute base of every path; commands run here.
    pub(crate) root: PathBuf,
    /// The output folder relative to root (or absolute), lexically normalized.
    pub(crate) out_dir: PathBuf,
    /// `None` = auto.
    pub(crate) jobs: Option<usize>,
    /// Environment for every task.
    pub(crate) env: Vec<(String, String)>,
    /// The state folder, relative to root or absolute.
    pub(crate) state_dir: PathBuf,
    /// Command run after a run with failures.
    pub(crate) on_failure: Vec<String>,
    /// How long `on_failure` may run before it is killed.
    pub(crate) on_failure_timeout: Duration,
    /// How many runs' logs to keep.
    pub(crate) keep_logs: u32,
    /// Under `--quiet`, a run holding the lock is reported only when it
    /// started longer ago than this.
    pub(crate) lock_warning: Duration,
    /// Delete dead outputs at the end of every successful run.
    pub(crate) prune: bool,
    /// `[report]`: the HTML page written at the end of every run.
    pub(crate) report: Option<Report>,
    /// `[vars]`, as a template value.
    pub(crate) vars: minijinja::Value,
    /// `[vars]` as written (with `--set` applied), for typing overrides.
    pub(crate) vars_table: toml::Table,
    /// Named input sets.
    pub(crate) inputs: Vec<InputSet>,
    /// Steps and plots, ordered so that every step comes after what it reads.
    pub(crate) steps: Vec<Step>,
    /// Every template of the file, compiled once.
    pub(crate) templates: Arc<Templates>,
    /// `[executor]`: where tasks run.
    pub(crate) executor: ExecutorSettings,
}

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ExecutorKind {
    /// This machine's pool.
    #[default]
    Local,
    /// SLURM job arrays, with runner as the coordinator.
    Slurm,
}

/// `[executor]`, validated: the kind and the `sbatch` options of array jobs
/// (used only when the run goes to SLURM).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExecutorSettings {
    /// `kind` (`--executor` overrides it).
    pub(crate) kind: ExecutorKind,
    /// `--partition`.
    pub(crate) partition: Option<String>,
    /// `--time` of one element, in SLURM's format.
    pub(crate) time: Option<String>,
    /// `--mem` of one element, in SLURM's format.
    pub(crate) mem: Option<String>,
    /// `--cpus-per-task`: the slots of one element.
    pub(crate) cpus_per_task: Option<usize>,
    /// `--account`.
    pub(crate) account: Option<String>,
    /// `--qos`.
    pub(crate) qos: Option<String>,
    /// More `sbatch` options, as written.
    pub(crate) extra: Vec<String>,
    /// Elements of one array running at once (`%N`).
    pub(crate) max_array: Option<usize>,
    /// Tasks packed into one element.
    pub(crate) tasks_per_element: usize,
}

/// What a step says about where its tasks run (with the SLURM executor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Placement {
    /// `executor = "local"`: on the coordinator's machine.
    pub(crate) local: bool,
    /// `time`, over `[executor] time`, in SLURM's format.
    pub(crate) time: Option<String>,
    /// `mem`, over `[executor] mem`, in SLURM's format.
    pub(crate) mem: Option<String>,
}

impl Pipeline {
    /// The step or input set called `name`.
    pub(crate) fn step_index(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }

    /// Absolute path of something given relative to root.
    pub(crate) fn abs(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }
}

/// `[inputs.NAME]`: a named, sorted set of files.
#[derive(Debug, Clone)]
pub(crate) struct InputSet {
    /// The set's name.
    pub(crate) name: String,
    /// Glob patterns relative to root, each with its span (empty with `from`).
    pub(crate) globs: Vec<(String, Range<usize>)>,
    /// `from = "list.txt"`: the list of files (relative to root; `-` =
    /// standard input), with its span.
    pub(crate) from: Option<(String, Range<usize>)>,
    /// Patterns of files to leave out.
    pub(crate) exclude: Vec<String>,
    /// How `batch` steps split the set.
    pub(crate) batching: Option<Batching>,
    /// No file matching is not an error.
    pub(crate) allow_empty: bool,
    /// Files younger than this are left out.
    pub(crate) min_age: Option<Duration>,
}

/// How a set is split into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Batching {
    /// `batches = N`: file i goes to batch i mod N.
    Count(usize),
    /// `batch_size = K`: consecutive chunks of at most K files.
    Size(usize),
}

/// How many tasks a step makes from what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Fanout {
    /// One task per file (input set) or per upstream task (step).
    Each,
    /// One task per batch of an input set.
    Batch,
    /// One task over everything.
    All,
}

impl Fanout {
    /// The key word in the file.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Fanout::Each => "each",
            Fanout::Batch => "batch",
            Fanout::All => "all",
        }
    }
}

/// What a step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// An input set (index into `Pipeline::inputs`).
    Inputs(usize),
    /// Another step (index into `Pipeline::steps`, always earlier).
    Step(usize),
}

/// Whether an entry came from `[[steps]]` or `[[plots]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    /// `[[steps]]`
    Step,
    /// `[[plots]]`
    Plot,
}

/// A template string of the file, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct Tmpl {
    /// Name under which it is compiled in `Templates`.
    pub(crate) id: String,
    /// The text as written.
    pub(crate) text: String,
    /// Span of the string in the file.
    pub(crate) span: Range<usize>,
}

/// What a step's tasks do.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// An argv, no shell. Each element a template.
    Run(Vec<Tmpl>),
    /// One string for `sh -c`, values shell-quoted.
    Shell(Tmpl),
    /// A built-in step, shared by its tasks' commands.
    Builtin(Arc<BuiltinStep>),
    /// A plot from a template, shared by its tasks' commands.
    Plot(Arc<PlotSpec>),
    /// A function called in a long-lived worker process (`python`, `worker`).
    Call(Arc<CallSpec>),
}

/// A `python` or `worker` step: what serves its calls, and what each call is
/// given beyond the task's own names.
#[derive(Debug, Clone)]
pub(crate) struct CallSpec {
    /// The process that serves the calls.
    pub(crate) worker: WorkerProgram,
    /// `with = {...}`: extra keyword arguments, in the file's order.
    pub(crate) with: Vec<(String, WithValue)>,
    /// Recycle a worker after this many tasks.
    pub(crate) max_tasks: Option<u32>,
}

/// The long-lived process of a `python` or `worker` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WorkerProgram {
    /// runner's embedded shim, importing `module` in `interpreter`.
    Python {
        /// `[pipeline] python`, as written (default `python3`).
        interpreter: String,
        /// Where `[pipeline] python` is written (`None`: the default).
        interpreter_span: Option<Range<usize>>,
        /// The module file, relative to root.
        module: PathBuf,
        /// The function called for each task.
        function: String,
        /// Where `python = "..."` is written in the step.
        span: Range<usize>,
    },
    /// Any program that speaks the protocol (`worker = [...]`).
    Argv {
        /// Program and arguments, as written.
        argv: Vec<String>,
        /// Where `worker = [...]` is written.
        span: Range<usize>,
    },
}

impl WorkerProgram {
    /// The function named in requests (`None` for a `worker` argv).
    pub(crate) fn function(&self) -> Option<&str> {
        match self {
            WorkerProgram::Python { function, .. } => Some(function),
            WorkerProgram::Argv { .. } => None,
        }
    }
}

/// One `with` value of a call: a string is a template, anything else is
/// passed as it is written.
#[derive(Debug, Clone)]
pub(crate) enum WithValue {
    /// A string, rendered per task.
    Template(Tmpl),
    /// A number, boolean, date, array or table, as JSON.
    Literal(serde_json::Value),
}

/// `use = "NAME"` with its `with = {...}` options (checked at load time).
#[derive(Debug, Clone)]
pub(crate) struct BuiltinStep {
    /// `csv.stats`, ...
    pub(crate) name: String,
    /// `with = {...}`
    pub(crate) options: toml::Table,
}

/// Everything a `[[plots]]` entry says about the picture (templated texts are
/// rendered per task).
#[derive(Debug, Clone)]
pub(crate) struct PlotSpec {
    /// Built-in template name, or a path relative to root.
    pub(crate) template: PlotTemplate,
    /// Column for x; `None` = row number.
    pub(crate) x: Option<String>,
    /// Column names or globs.
    pub(crate) y: Vec<String>,
    /// Cap on series matched by globs.
    pub(crate) max_series: usize,
    /// Templated title.
    pub(crate) title: Option<Tmpl>,
    /// Templated x label.
    pub(crate) x_label: Option<Tmpl>,
    /// Templated y label.
    pub(crate) y_label: Option<Tmpl>,
    /// Pixels.
    pub(crate) width: u32,
    /// Pixels.
    pub(crate) height: u32,
    /// Log x axis.
    pub(crate) x_log: bool,
    /// Log y axis.
    pub(crate) y_log: bool,
    /// Start y at zero.
    pub(crate) y_zero: bool,
    /// Histogram bins.
    pub(crate) bins: usize,
    /// Nothing to plot = skipped, not failed.
    pub(crate) skip_empty: bool,
    /// One plot area for every series, or a panel each.
    pub(crate) layout: PlotLayout,
    /// How to read the tables (`format`, and later `na`, `types`...).
    pub(crate) table: Arc<crate::table::ReadOptions>,
}

/// How a plot arranges its series (`layout = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PlotLayout {
    /// One plot area, one y axis, a legend (`"shared"`, the default).
    #[default]
    Shared,
    /// A panel per series, stacked, sharing the x axis, each with its own y
    /// axis and label (`"panels"`, matplotlib's `subplots(sharex=True)`).
    Panels,
}

impl PlotLayout {
    /// The names `layout = "..."` accepts.
    pub(crate) const NAMES: [&'static str; 2] = ["shared", "panels"];

    /// The layout called `name`.
    pub(crate) fn from_name(name: &str) -> Option<PlotLayout> {
        match name {
            "shared" => Some(PlotLayout::Shared),
            "panels" => Some(PlotLayout::Panels),
            _ => None,
        }
    }
}

/// A plot template: built in, or the user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlotTemplate {
    /// `line`, `scatter`, `bar`, `hist`: what the built-in template draws.
    Builtin(PlotKind),
    /// A minijinja file, relative to root.
    File(PathBuf),
}

/// A `[[steps]]` or `[[plots]]` entry, validated.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Unique name.
    pub(crate) name: String,
    /// Step or plot.
    pub(crate) kind: StepKind,
    /// each / batch / all.
    pub(crate) fanout: Fanout,
    /// What it reads.
    pub(crate) upstream: Upstream,
    /// What it does.
    pub(crate) action: Action,
    /// Output templates (relative to `out`).
    pub(crate) outs: Vec<Tmpl>,
    /// Span of `out` (or of the table when there is none).
    pub(crate) outs_span: Range<usize>,
    /// Stdout goes into the single output.
    pub(crate) stdout_to_out: bool,
    /// Extra fingerprint files (globs relative to root).
    pub(crate) deps: Vec<String>,
    /// Kill after this long.
    pub(crate) timeout: Option<Duration>,
    /// Extra attempts after a failure.
    pub(crate) retries: u32,
    /// Pipeline env plus the step's own.
    pub(crate) env: Arc<Vec<(String, String)>>,
    /// Pool slots one task takes.
    pub(crate) threads: usize,
    /// Where its tasks run with the SLURM executor.
    pub(crate) placement: Placement,
    /// `partial = true`: the task runs over the upstream outputs that exist,
    /// and its templates see `failed` (the keys of upstream tasks that did
    /// not succeed). Only on `all` over a step.
    pub(crate) partial: bool,
}

/// Lexically normalizes a path: drops `.`, folds `a/..`; keeps leading `..`.
pub(crate) fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Reads and validates a pipeline file.
pub(crate) fn load(path: &Path) -> Result<Pipeline, LoadError> {
    let whole_file = |message: String| LoadError {
        source: Source {
            path: path.to_owned(),
            text: String::new(),
        },
        diagnostics: vec![Diagnostic::whole_file(message)],
    };
    match read_capped(path) {
        Ok(Some(bytes)) => from_bytes(path, bytes),
        Ok(None) => Err(whole_file(format!(
            "`{}` is larger than {} MB: too large for a pipeline file",
            path.display(),
            MAX_FILE_BYTES >> 20
        ))),
        Err(err) => Err(whole_file(format!(
            "cannot read `{}`: {err}",
            path.display()
        ))),
    }
}

/// The largest pipeline file runner reads (`runner check /dev/zero` must
/// not read until memory runs out, issue 10 item 10).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The file's bytes, or `None` when it has more than `MAX_FILE_BYTES`.
fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_FILE_BYTES).then_some(bytes))
}

/// Validates the contents of the pipeline file at `path`.
pub(crate) fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Pipeline, LoadError> {
    match String::from_utf8(bytes) {
        Ok(text) => parse(Source {
            path: path.to_owned(),
            text,
        }),
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            // In the lossy text the bad bytes are one U+FFFD from `offset` on.
            let end = offset + text[offset..].chars().next().map_or(0, char::len_utf8);
            Err(LoadError {
                source: Source {
                    path: path.to_owned(),
                    text,
                },
                diagnostics: vec![
                    Diagnostic::new(offset..end, "the pipeline file is not valid UTF-8")
                        .hint("TOML files are UTF-8; re-save the file as UTF-8"),
                ],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        let normalize = normalize_path;
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("a/../../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("/a/../../x")), PathBuf::from("/x"));
    }
}
