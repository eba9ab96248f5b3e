//! The pipeline file as written: serde types with spans, one per TOML table.
//! These are also the source of the JSON Schema (`runner schema`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

/// The whole file. Only used for the schema and the list of top-level keys:
/// each section is deserialized on its own so that one broken step does not
/// hide the problems of the next.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "runner pipeline",
    description = "A runner pipeline file: inputs, steps and plots (format v1)."
)]
#[allow(dead_code)]
pub(crate) struct RawFile {
    /// Settings of the whole pipeline.
    pub(crate) pipeline: Option<RawPipeline>,
    /// Free values, seen by templates as `vars.NAME`.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub(crate) vars: Option<toml::Table>,
    /// Named sets of input files.
    pub(crate) inputs: Option<BTreeMap<String, RawInput>>,
    /// Per-file, per-batch and whole-set steps.
    pub(crate) steps: Option<Vec<RawStep>>,
    /// Plots, rendered from templates; tasks in the same graph as steps.
    pub(crate) plots: Option<Vec<RawPlot>>,
    /// Where tasks run: this machine (default) or a SLURM cluster.
    pub(crate) executor: Option<RawExecutor>,
    /// The HTML report of each run.
    pub(crate) report: Option<RawReport>,
}

/// `[executor]`: where tasks run, and the `sbatch` options of SLURM array
/// jobs.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExecutor {
    /// "local" (default: this machine's pool) or "slurm" (job arrays); `--executor` overrides it.
    #[schemars(with = "ExecutorKindName")]
    pub(crate) kind: Option<Spanned<String>>,
    /// `sbatch --partition`.
    #[schemars(with = "String")]
    pub(crate) partition: Option<Spanned<String>>,
    /// Time limit of one array element (all of its tasks): "90m", "2h", or SLURM's "1-12:00:00".
    #[schemars(with = "String")]
    pub(crate) time: Option<Spanned<String>>,
    /// Memory of one array element, as SLURM writes it: "4G", "500M".
    #[schemars(with = "String")]
    pub(crate) mem: Option<Spanned<String>>,
    /// CPUs of one array element; its tasks run on that many slots.
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) cpus_per_task: Option<Spanned<i64>>,
    /// `sbatch --account`.
    #[schemars(with = "String")]
    pub(crate) account: Option<Spanned<String>>,
    /// `sbatch --qos`.
    #[schemars(with = "String")]
    pub(crate) qos: Option<Spanned<String>>,
    /// More `sbatch` options, each one word: ["--constraint=avx2"].
    #[schemars(with = "Vec<String>")]
    pub(crate) extra: Option<Spanned<StrList>>,
    /// Array elements running at once (sbatch's `%N`).
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) max_array: Option<Spanned<i64>>,
    /// Tasks packed into one array element (default 1).
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) tasks_per_element: Option<Spanned<i64>>,
}

/// `kind` of `[executor]` (for the schema).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExecutorKindName {
    /// This machine's pool.
    Local,
    /// SLURM job arrays.
    Slurm,
}

/// A step's `executor` (for the schema): only opting out of SLURM.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StepExecutorName {
    /// On the machine running runner (the login node), even when the pipeline runs on SLURM.
    Local,
}

/// `[report]`: one self-contained HTML page written at the end of every run.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReport {
    /// Where the page goes, relative to `[pipeline] out` (default "report.html").
    #[schemars(with = "String")]
    pub(crate) out: Option<Spanned<String>>,
}

/// `[pipeline]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    /// Name of the pipeline (default: the file's stem); names its state folder.
    #[schemars(with = "String")]
    pub(crate) name: Option<Spanned<String>>,
    /// Base of every path, relative to the pipeline file's folder (default ".").
    #[schemars(with = "String")]
    pub(crate) root: Option<Spanned<String>>,
    /// Output folder, relative to root (default "out"); every `out` is relative to it.
    #[schemars(with = "String")]
    pub(crate) out: Option<Spanned<String>>,
    /// Pool size: a number, or "auto" (the cores this process may use).
    #[schemars(with = "JobsSetting")]
    pub(crate) jobs: Option<Spanned<JobsSetting>>,
    /// Environment variables for every task (cron has a bare PATH).
    pub(crate) env: Option<BTreeMap<String, String>>,
    /// The state folder, relative to root (default ".runner/NAME").
    #[schemars(with = "String")]
    pub(crate) state: Option<Spanned<String>>,
    /// Pins the file format; a newer format than the binary knows is refused.
    #[schemars(with = "u32")]
    pub(crate) format_version: Option<Spanned<i64>>,
    /// A command (argv) run after a run with failures.
    #[schemars(with = "Vec<String>")]
    pub(crate) on_failure: Option<Spanned<StrList>>,
    /// How long `on_failure` may run before it is killed (default "60s").
    #[schemars(with = "String")]
    pub(crate) on_failure_timeout: Option<Spanned<String>>,
    /// How many runs' task logs to keep (default 10).
    pub(crate) keep_logs: Option<u32>,
    /// Under `--quiet`, "another run holds the lock" is printed only when
    /// that run started longer ago than this (default "1d").
    #[schemars(with = "String")]
    pub(crate) lock_warning: Option<Spanned<String>>,
    /// After every successful run, delete the outputs earlier runs wrote that
    /// no task declares any more (as `runner clean --yes`).
    pub(crate) prune: Option<bool>,
    /// The Python interpreter of `python` steps (default `python3` from the
    /// task's PATH); a path with a `/` is relative to root.
    #[schemars(with = "String")]
    pub(crate) python: Option<Spanned<String>>,
}

/// The largest pool runner starts (one thread per slot).
pub(crate) const MAX_JOBS: u32 = 1024;

/// `jobs = 4` or `jobs = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(untagged, rename = "Jobs")]
pub(crate) enum JobsSetting {
    /// As many as the cores this process may use.
    #[schemars(with = "AutoLiteral")]
    Auto,
    /// Exactly this many pool slots.
    Count(#[schemars(range(min = 1, max = 1024))] u32),
}

/// The literal string "auto".
#[derive(JsonSchema)]
#[allow(dead_code)]
enum AutoLiteral {
    #[serde(rename = "auto")]
    Auto,
}

impl<'de> Deserialize<'de> for JobsSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JobsVisitor;
        impl Visitor<'_> for JobsVisitor {
            type Value = JobsSetting;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of jobs or \"auto\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JobsSetting, E> {
                match u32::try_from(v) {
                    Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(JobsSetting::Count(n)),
                    _ => Err(E::custom(format!(
                        "must be between 1 and {MAX_JOBS}, found {v}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JobsSetting, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JobsSetting, E> {
                if v == "auto" {
                    Ok(JobsSetting::Auto)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(JobsVisitor)
    }
}

/// The names `layout` of a plot takes.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum PlotLayoutName {
    /// Every series on one y axis, with a legend.
    #[serde(rename = "shared")]
    Shared,
    /// One panel per series, stacked, sharing the x axis.
    #[serde(rename = "panels")]
    Panels,
}

/// `[inputs.NAME]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInput {
    /// Glob patterns relative to root (`data/**/*.csv`).
    #[schemars(with = "StringOrList")]
    pub(crate) glob: Option<Spanned<StringOrList>>,
    /// Instead of `glob`: a file listing the inputs, one path per line,
    /// relative to root ("-" = standard input).
    #[schemars(with = "String")]
    pub(crate) from: Option<Spanned<String>>,
    /// Glob patterns of files to leave out.
    #[schemars(with = "StringOrList")]
    pub(crate) exclude: Option<Spanned<StringOrList>>,
    /// For `batch` steps: split the files round-robin into this many batches.
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) batches: Option<Spanned<i64>>,
    /// For `batch` steps: consecutive batches of at most this many files.
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) batch_size: Option<Spanned<i64>>,
    /// Allow the globs to match no file at all (default false: an error).
    pub(crate) allow_empty: Option<bool>,
    /// Leave out files modified less than this long ago ("60s"), still being written.
    #[schemars(with = "String")]
    pub(crate) min_age: Option<Spanned<String>>,
}

/// `[[steps]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    /// Name of the step, unique among inputs, steps and plots.
    #[schemars(with = "String")]
    pub(crate) name: Spanned<String>,
    /// One task per file of this input set, or per task of this step.
    #[schemars(with = "String")]
    pub(crate) each: Option<Spanned<String>>,
    /// One task per batch of this input set.
    #[schemars(with = "String")]
    pub(crate) batch: Option<Spanned<String>>,
    /// One task over every file of this input set, or every output of this step.
    #[schemars(with = "String")]
    pub(crate) all: Option<Spanned<String>>,
    /// The command as an argument list, run without a shell.
    #[schemars(with = "Vec<String>")]
    pub(crate) run: Option<Spanned<StrList>>,
    /// One command line run by `sh -c`; every interpolated value is shell-quoted.
    #[schemars(with = "String")]
    pub(crate) shell: Option<Spanned<String>>,
    /// A built-in step (`csv.stats`, `table.concat`).
    #[serde(rename = "use")]
    #[schemars(rename = "use", with = "String")]
    pub(crate) use_: Option<Spanned<String>>,
    /// A Python function called in a long-lived worker: "FILE.py:FUNCTION",
    /// the file relative to root.
    #[schemars(with = "String")]
    pub(crate) python: Option<Spanned<String>>,
    /// A long-lived worker process (argv) that speaks runner's line-JSON
    /// protocol (docs/workers.md); one request per task.
    #[schemars(with = "Vec<String>")]
    pub(crate) worker: Option<Spanned<StrList>>,
    /// Options of the built-in step, or extra keyword arguments of a
    /// `python` / `worker` call (string values are templates).
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub(crate) with: Option<Spanned<toml::Table>>,
    /// Recycle a `python` / `worker` process after this many tasks (for
    /// leaky libraries; default: never).
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) max_tasks_per_worker: Option<Spanned<i64>>,
    /// Output path(s), templated, relative to the pipeline's `out`.
    #[schemars(with = "StringOrList")]
    pub(crate) out: Option<Spanned<StringOrList>>,
    /// Send the command's standard output into its (single) output file.
    #[schemars(with = "bool")]
    pub(crate) stdout: Option<Spanned<bool>>,
    /// Extra files whose content is part of the fingerprint (globs, relative to root).
    #[schemars(with = "StringOrList")]
    pub(crate) deps: Option<Spanned<StringOrList>>,
    /// Kill the task (and every process it started) after this long ("2m").
    #[schemars(with = "String")]
    pub(crate) timeout: Option<Spanned<String>>,
    /// Run a failed task up to this many more times.
    #[schemars(with = "u32")]
    pub(crate) retries: Option<Spanned<i64>>,
    /// Environment variables for this step's tasks, over the pipeline's.
    pub(crate) env: Option<BTreeMap<String, String>>,
    /// Pool slots one task of this step takes (default 1).
    #[schemars(with = "u32", range(min = 1))]
    pub(crate) threads: Option<Spanned<i64>>,
    /// With the SLURM executor: this step's element time limit, over `[executor] time`.
    #[schemars(with = "String")]
    pub(crate) time: Option<Spanned<String>>,
    /// With the SLURM executor: this step's element memory, over `[executor] mem`.
    #[schemars(with = "String")]
    pub(crate) mem: Option<Spanned<String>>,
    /// "local": run this step's tasks on the machine running runner, even with the SLURM executor.
    #[schemars(with = "StepExecutorName")]
    pub(crate) executor: Option<Spanned<String>>,
    /// For `all` over a step: run over the outputs of the upstream tasks
    /// that succeeded, with `failed` naming the keys of those that did not.
    #[schemars(with = "bool")]
    pub(crate) partial: Option<Spanned<bool>>,
}

/// `[[plots]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlot {
    /// Name of the plot, unique among inputs, steps and plots.
    #[schemars(with = "String")]
    pub(crate) name: Spanned<String>,
    /// One plot per file of this input set, or per task of this step.
    #[schemars(with = "String")]
    pub(crate) each: Option<Spanned<String>>,
    /// One plot per batch of this input set.
    #[schemars(with = "String")]
    pub(crate) batch: Option<Spanned<String>>,
    /// One plot over every file of this input set, or every output of this step.
    #[schemars(with = "String")]
    pub(crate) all: Option<Spanned<String>>,
    /// A built-in template (`line`, `scatter`, `bar`, `hist`) or a path to a minijinja file.
    #[schemars(with = "String")]
    pub(crate) template: Option<Spanned<String>>,
    /// Column for the x axis (default: the row number).
    #[schemars(with = "String")]
    pub(crate) x: Option<Spanned<String>>,
    /// Columns for the y axis: names or globs over names ("*" = every numeric column).
    #[schemars(with = "StringOrList")]
    pub(crate) y: Option<Spanned<StringOrList>>,
    /// At most this many series when `y` has globs.
    #[schemars(with = "u32")]
    pub(crate) max_series: Option<Spanned<i64>>,
    /// Title, templated.
    #[schemars(with = "String")]
    pub(crate) title: Option<Spanned<String>>,
    /// Label of the x axis, templated.
    #[schemars(with = "String")]
    pub(crate) x_label: Option<Spanned<String>>,
    /// Label of the y axis, templated.
    #[schemars(with = "String")]
    pub(crate) y_label: Option<Spanned<String>>,
    /// Width in pixels (default 800).
    #[schemars(with = "u32")]
    pub(crate) width: Option<Spanned<i64>>,
    /// Height in pixels (default 450).
    #[schemars(with = "u32")]
    pub(crate) height: Option<Spanned<i64>>,
    /// Logarithmic x axis.
    pub(crate) x_log: Option<bool>,
    /// Logarithmic y axis.
    pub(crate) y_log: Option<bool>,
    /// Start the y axis at zero.
    pub(crate) y_zero: Option<bool>,
    /// Bins of a histogram (default 30).
    #[schemars(with = "u32")]
    pub(crate) bins: Option<Spanned<i64>>,
    /// A file with nothing to plot is skipped with a note instead of failing.
    pub(crate) skip_empty: Option<bool>,
    /// "shared" (default: every series on one y axis, with a legend) or "panels" (one panel per series, stacked, sharing the x axis, each with its own y label).
    #[schemars(with = "PlotLayoutName")]
    pub(crate) layout: Option<Spanned<String>>,
    /// How to read the input tables: "csv", "tsv", "jsonl" or "parquet" (default: by extension).
    #[schemars(with = "String")]
    pub(crate) format: Option<Spanned<String>>,
    /// The cells that mean "missing" (default: empty, NA, N/A, n/a, NaN in any case; see docs/builtins.md).
    #[schemars(with = "Vec<String>")]
    pub(crate) na: Option<Spanned<toml::Value>>,
    /// Forced column types: { column = "number" | "text" | "time" }.
    #[schemars(with = "BTreeMap<String, ColumnTypeName>")]
    pub(crate) types: Option<Spanned<toml::Value>>,
    /// The field delimiter of CSV files (default "," or tab for .tsv), e.g. ";".
    #[schemars(with = "String")]
    pub(crate) delimiter: Option<Spanned<toml::Value>>,
    /// The decimal mark of numbers: "." (default) or ",".
    #[schemars(with = "String")]
    pub(crate) decimal: Option<Spanned<toml::Value>>,
    /// The text encoding: "utf-8" (default), "latin1" or "windows-1252".
    #[schemars(with = "String")]
    pub(crate) encoding: Option<Spanned<toml::Value>>,
    /// How `time` columns are written: a strftime pattern ("%d/%m/%Y"), "unix_s", "unix_ms", or a table of them by column.
    #[schemars(with = "StringOrMap")]
    pub(crate) time_format: Option<Spanned<toml::Value>>,
    /// Output path, templated, relative to the pipeline's `out` (.svg, .png or the template's format).
    #[schemars(with = "StringOrList")]
    pub(crate) out: Option<Spanned<StringOrList>>,
    /// Extra files whose content is part of the fingerprint.
    #[schemars(with = "StringOrList")]
    pub(crate) deps: Option<Spanned<StringOrList>>,
    /// With the SLURM executor: this step's element time limit, over `[executor] time`.
    #[schemars(with = "String")]
    pub(crate) time: Option<Spanned<String>>,
    /// With the SLURM executor: this step's element memory, over `[executor] mem`.
    #[schemars(with = "String")]
    pub(crate) mem: Option<Spanned<String>>,
    /// "local": run this step's tasks on the machine running runner, even with the SLURM executor.
    #[schemars(with = "StepExecutorName")]
    pub(crate) executor: Option<Spanned<String>>,
    /// For `all` over a step: draw the outputs of the upstream tasks that
    /// succeeded, with `failed` naming the keys of those that did not.
    #[schemars(with = "bool")]
    pub(crate) partial: Option<Spanned<bool>>,
}

/// A forced column type (for the schema).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ColumnTypeName {
    /// Numbers; other cells are counted as invalid.
    Number,
    /// Text.
    Text,
    /// Dates and times.
    Time,
}

/// One string, or a table of strings by column (for the schema).
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
pub(crate) enum StringOrMap {
    /// For every column.
    One(String),
    /// By column.
    Many(BTreeMap<String, String>),
}

/// One string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub(crate) enum StringOrList {
    /// A single string.
    One(String),
    /// A list of strings.
    #[schemars(with = "Vec<String>")]
    Many(Vec<Spanned<String>>),
}

impl StringOrList {
    /// Every string with its span; a single string takes the span of the whole value.
    pub(crate) fn items(&self, outer: &Range<usize>) -> Vec<(String, Range<usize>)> {
        match self {
            StringOrList::One(s) => vec![(s.clone(), outer.clone())],
            StringOrList::Many(items) => items
                .iter()
                .map(|item| (item.get_ref().clone(), item.span()))
                .collect(),
        }
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringOrList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOrList, E> {
                Ok(StringOrList::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(StringOrList::Many(items))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// A list of strings, each with its span (`run`, `on_failure`); its own type
/// so that a wrong value reads "expected a list of strings".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StrList(pub(crate) Vec<Spanned<String>>);

impl std::ops::Deref for StrList {
    type Target = Vec<Spanned<String>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'de> Deserialize<'de> for StrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StrList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(StrList(items))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

/// The keys a table must have, per type of table (every other key may be
/// left out). Schemars takes every field with `#[schemars(with = ...)]` as
/// required, so the schema gets this list instead; a test checks it against
/// serde.
const REQUIRED_KEYS: &[(&str, &[&str])] = &[("RawStep", &["name"]), ("RawPlot", &["name"])];

/// The JSON Schema of the pipeline file (draft 7, which every editor's
/// validator reads), generated from the same types the loader uses; printed
/// by `runner schema` and committed at `schema/pipeline.schema.json`.
pub(crate) fn json_schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<RawFile>();
    let mut value = schema.to_value();
    drop_nulls(&mut value);
    if let Some(object) = value.as_object_mut() {
        object.remove("required");
    }
    if let Some(definitions) = value.get_mut("definitions").and_then(|d| d.as_object_mut()) {
        for (name, definition) in definitions.iter_mut() {
            let Some(definition) = definition.as_object_mut() else {
                continue;
            };
            definition.remove("required");
            if let Some((_, keys)) = REQUIRED_KEYS.iter().find(|(n, _)| n == name) {
                definition.insert("required".into(), serde_json::json!(keys));
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// TOML has no null: drops `"null"` from `type` lists and `{"type": "null"}`
/// from `anyOf` (what schemars writes for `Option`).
fn drop_nulls(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any_of)) = object.get_mut("anyOf") {
                any_of.retain(|s| s.get("type").is_none_or(|t| t != "null"));
                if let [only] = any_of.as_slice() {
                    let only = only.clone();
                    object.remove("anyOf");
                    // A `$ref` may have no siblings in draft 7: wrap it.
                    if only.get("$ref").is_some() {
                        object.insert("allOf".into(), Value::Array(vec![only]));
                    } else if let Value::Object(inner) = only {
                        for (k, v) in inner {
                            object.entry(k).or_insert(v);
                        }
                    }
                }
            }
            object.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The field names serde knows for a struct, read from its derived
/// `Deserialize` (so the list can never drift from the type).
pub(crate) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe(&'static [&'static str]);
    #[derive(Debug)]
    struct Stop;
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("probe")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Probe {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Stop> {
            self.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut probe = Probe(&[]);
    let _ = T::deserialize(&mut probe);
    probe.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_serde() {
        let fields = field_names::<RawStep>();
        assert!(fields.contains(&"use"), "{fields:?}");
        assert!(fields.contains(&"each"));
        assert!(!fields.contains(&"use_"));
        assert!(field_names::<RawFile>().contains(&"plots"));
    }

    /// `REQUIRED_KEYS` says what serde says: a table with only those keys
    /// reads, and each of them is reported missing without it.
    #[test]
    fn required_keys_match_serde() {
        fn check<T: serde::de::DeserializeOwned>(name: &str, minimal: &str) {
            let required = REQUIRED_KEYS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(&[][..], |(_, k)| k);
            if let Err(err) = toml::from_str::<T>(minimal) {
                panic!("{name} with only {required:?}: {err}");
            }
            for key in required {
                let without: String = minimal
                    .lines()
                    .filter(|l| !l.starts_with(&format!("{key} =")))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let err = toml::from_str::<T>(&without).err();
                let message = err.map(|e| e.message().to_owned()).unwrap_or_default();
                assert_eq!(message, format!("missing field `{key}`"), "{name}");
            }
        }
        check::<RawFile>("RawFile", "");
        check::<RawPipeline>("RawPipeline", "");
        check::<RawInput>("RawInput", "glob = 'x'");
        check::<RawStep>("RawStep", "name = 'x'");
        check::<RawPlot>("RawPlot", "name = 'x'");
        check::<RawExecutor>("RawExecutor", "");
    }

    #[test]
    fn schema_has_no_nulls_and_only_real_requirements() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let text = schema.to_string();
        assert!(!text.contains("null"), "{text}");
        assert!(schema.get("required").is_none());
        let step = &schema["definitions"]["RawStep"];
        assert_eq!(step["required"], serde_json::json!(["name"]));
        assert!(
            schema["definitions"]["RawPipeline"]
                .get("required")
                .is_none()
        );
    }

    #[test]
    fn string_or_list() {
        #[derive(Deserialize)]
        struct T {
            a: StringOrList,
            b: StringOrList,
        }
        let t: T = toml::from_str("a = 'x'\nb = ['y', 'z']").unwrap();
        assert_eq!(t.a, StringOrList::One("x".into()));
        assert_eq!(t.b.items(&(0..0)).len(), 2);
        let err = toml::from_str::<T>("a = 3\nb = []").err().unwrap();
        assert!(
            err.message().contains("a string or a list of strings"),
            "{err}"
        );
    }

    #[test]
    fn jobs_auto_or_number() {
        #[derive(Deserialize)]
        struct T {
            jobs: JobsSetting,
        }
        assert_eq!(
            toml::from_str::<T>("jobs = 'auto'").unwrap().jobs,
            JobsSetting::Auto
        );
        assert_eq!(
            toml::from_str::<T>("jobs = 3").unwrap().jobs,
            JobsSetting::Count(3)
        );
        assert!(toml::from_str::<T>("jobs = 0").is_err());
        assert!(toml::from_str::<T>("jobs = 'many'").is_err());
    }
}
