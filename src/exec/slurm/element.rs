//! What the coordinator and the array elements exchange through the state
//! folder, as JSON: an array's manifest (the pipeline file's text, the log
//! folder), an element's list of tasks (plain data: step, key, paths,
//! rendered command, fingerprint when known, the files its worker loaded
//! last time) and one result
//! file per task. Paths and arguments keep their bytes: a name that is not
//! UTF-8 is written as `{"bytes": [...]}`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::{Action, Pipeline};
use crate::exec::slurm::SlurmError;
use crate::exec::task::{Failure, Outcome, Record, TaskResult};
use crate::plan::{CallCommand, Command, PlotCommand, Task, TaskId};
use crate::state::db::CachedHash;
use crate::state::fingerprint::{Fingerprint, NewHash};

/// The version of these files; a worker refuses another one (a coordinator
/// and its workers are the same binary, unless it was replaced meanwhile).
pub(crate) const FORMAT: u32 = 2;

/// A path or argument with its bytes: text when it is UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OsText(pub(crate) OsString);

/// How [`OsText`] is written.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum OsForm {
    Text(String),
    Bytes { bytes: Vec<u8> },
}

impl Serialize for OsText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.to_str() {
            Some(text) => OsForm::Text(text.to_owned()),
            None => OsForm::Bytes {
                bytes: self.0.as_bytes().to_vec(),
            },
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OsText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(OsText(match OsForm::deserialize(deserializer)? {
            OsForm::Text(text) => OsString::from(text),
            OsForm::Bytes { bytes } => OsString::from_vec(bytes),
        }))
    }
}

impl OsText {
    fn of(s: &OsStr) -> OsText {
        OsText(s.to_owned())
    }

    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from(&self.0)
    }
}

fn paths(list: &[PathBuf]) -> Vec<OsText> {
    list.iter().map(|p| OsText::of(p.as_os_str())).collect()
}

/// `array.json`: what every element of one array shares.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArrayManifest {
    /// [`FORMAT`].
    pub(crate) format: u32,
    /// The pipeline file, absolute (its folder anchors `root`).
    pub(crate) pipeline_path: OsText,
    /// The pipeline file's text as the coordinator read it: a file edited
    /// while the array waits in the queue changes nothing.
    pub(crate) pipeline_text: String,
    /// The run's log folder (absolute): task logs go where a local run puts them.
    pub(crate) log_dir: OsText,
    /// How many elements the array has.
    pub(crate) elements: usize,
    /// Names the array among all runs (`12a3`: run 12, array 3), in the
    /// temporary names of its outputs.
    pub(crate) tag: String,
    /// `[vars]` as the coordinator runs with them (after `--set`), as TOML;
    /// `None`: as in the file.
    #[serde(default)]
    pub(crate) vars: Option<String>,
}

/// A task's fingerprint as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FingerprintSpec {
    /// Over action, inputs and deps.
    pub(crate) fingerprint: String,
    /// Over the action alone.
    pub(crate) action: String,
    /// The deps of its step and those its command names, when it was taken.
    pub(crate) base_deps: Vec<OsText>,
    /// Every input's, then every dep's content hash.
    pub(crate) input_hashes: Vec<String>,
}

impl FingerprintSpec {
    /// The hex form of a fingerprint.
    pub(crate) fn of(fp: &Fingerprint) -> FingerprintSpec {
        FingerprintSpec {
            fingerprint: fp.fingerprint.to_hex().to_string(),
            action: fp.action.to_hex().to_string(),
            base_deps: paths(&fp.base_deps),
            input_hashes: fp
                .input_hashes
                .iter()
                .map(|h| blake3::Hash::from(*h).to_hex().to_string())
                .collect(),
        }
    }

    /// Back to a fingerprint; `None` when a hash is not 64 hex digits.
    pub(crate) fn to_fingerprint(&self) -> Option<Fingerprint> {
        let hash = |hex: &str| blake3::Hash::from_hex(hex).ok();
        Some(Fingerprint {
            fingerprint: hash(&self.fingerprint)?,
            action: hash(&self.action)?,
            base_deps: self.base_deps.iter().map(OsText::path).collect(),
            input_hashes: self
                .input_hashes
                .iter()
                .map(|h| hash(h).map(|h| *h.as_bytes()))
                .collect::<Option<_>>()?,
            new_hashes: Vec::new(),
            // Taken by the coordinator before this element's workers
            // started (whose clock may differ from this node's).
            hashed_at: std::time::UNIX_EPOCH,
        })
    }
}

/// A task's rendered action; built-ins and plots take their settings from
/// the pipeline file's step of the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CommandSpec {
    /// An argv.
    Argv(Vec<OsText>),
    /// A script for `sh -c`.
    Shell(String),
    /// The step's built-in.
    Builtin,
    /// The step's plot, with the texts rendered for this task.
    Plot {
        /// Title.
        title: Option<String>,
        /// X label.
        x_label: Option<String>,
        /// Y label.
        y_label: Option<String>,
    },
    /// The step's call, with the `with` values rendered for this task.
    Call {
        /// Keyword arguments, in the file's order.
        with: Vec<(String, serde_json::Value)>,
    },
}

/// One task of an element's list (`E/tasks.json`), keyed by (step, key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TaskSpec {
    /// The step's name.
    pub(crate) step: String,
    /// The task's key.
    pub(crate) key: String,
    /// Files it reads, relative to root.
    pub(crate) inputs: Vec<OsText>,
    /// Files it writes, relative to root.
    pub(crate) outputs: Vec<OsText>,
    /// A batch task's index and count.
    pub(crate) batch: Option<(usize, usize)>,
    /// What it runs.
    pub(crate) command: CommandSpec,
    /// Why it cannot run at all, if so.
    pub(crate) invalid: Option<String>,
    /// Its fingerprint when the coordinator could take it (else the
    /// element takes it before running the task).
    pub(crate) fingerprint: Option<FingerprintSpec>,
    /// A call step's task: the files under root its worker loaded its code
    /// from last time (part of its deps, as in a local run).
    #[serde(default)]
    pub(crate) found_deps: Option<Vec<OsText>>,
}

impl TaskSpec {
    /// The serialized form of a planned task, with its fingerprint when
    /// taken and (a call step's) the files its worker loaded last time.
    pub(crate) fn of(
        pipeline: &Pipeline,
        task: &Task,
        fp: Option<&Fingerprint>,
        found_deps: Option<&[PathBuf]>,
    ) -> TaskSpec {
        let command = match &task.command {
            Command::Argv(argv) => CommandSpec::Argv(argv.iter().map(|a| OsText::of(a)).collect()),
            Command::Shell(script) => CommandSpec::Shell(script.clone()),
            Command::Builtin(_) => CommandSpec::Builtin,
            Command::Plot(plot) => CommandSpec::Plot {
                title: plot.title.clone(),
                x_label: plot.x_label.clone(),
                y_label: plot.y_label.clone(),
            },
            Command::Call(call) => CommandSpec::Call {
                with: call.with.clone(),
            },
        };
        TaskSpec {
            step: pipeline.steps[task.step].name.clone(),
            key: task.key.clone(),
            inputs: paths(&task.inputs),
            outputs: paths(&task.outputs),
            batch: task.batch,
            command,
            invalid: task.invalid.clone(),
            fingerprint: fp.map(FingerprintSpec::of),
            found_deps: found_deps.map(paths),
        }
    }

    /// Whether two specs do the same work (fingerprints aside).
    pub(crate) fn same_work(&self, other: &TaskSpec) -> bool {
        self.step == other.step
            && self.key == other.key
            && self.inputs == other.inputs
            && self.outputs == other.outputs
            && self.batch == other.batch
            && self.command == other.command
            && self.invalid == other.invalid
    }

    /// The task again, numbered `id`, its built-in or plot taken from the
    /// pipeline's step of the same name.
    pub(crate) fn to_task(&self, id: TaskId, pipeline: &Pipeline) -> Result<Task, SlurmError> {
        let step = pipeline
            .step_index(&self.step)
            .ok_or_else(|| SlurmError::NoStep {
                step: self.step.clone(),
            })?;
        let action = &pipeline.steps[step].action;
        let command = match (&self.command, action) {
            (CommandSpec::Argv(argv), Action::Run(_)) => {
                Command::Argv(argv.iter().map(|a| a.0.clone()).collect())
            }
            (CommandSpec::Shell(script), Action::Shell(_)) => Command::Shell(script.clone()),
            (CommandSpec::Builtin, Action::Builtin(builtin)) => Command::Builtin(builtin.clone()),
            (
                CommandSpec::Plot {
                    title,
                    x_label,
                    y_label,
                },
                Action::Plot(spec),
            ) => Command::Plot(PlotCommand {
                spec: spec.clone(),
                title: title.clone(),
                x_label: x_label.clone(),
                y_label: y_label.clone(),
            }),
            (CommandSpec::Call { with }, Action::Call(spec)) => Command::Call(CallCommand {
                spec: spec.clone(),
                with: with.clone(),
                // As the plan gives them (`plan::render`): every var, when
                // there are any.
                vars: (!pipeline.vars_table.is_empty())
                    .then(|| std::sync::Arc::new(pipeline.vars_table.clone())),
            }),
            _ => {
                return Err(SlurmError::OtherAction {
                    step: self.step.clone(),
                });
            }
        };
        Ok(Task {
            id,
            step,
            key: self.key.clone(),
            inputs: self
                .inputs
                .iter()
                .map(OsText::path)
                .collect::<Vec<_>>()
                .into(),
            outputs: self
                .outputs
                .iter()
                .map(OsText::path)
                .collect::<Vec<_>>()
                .into(),
            batch: self.batch,
            upstream: Vec::new(),
            command,
            invalid: self.invalid.clone(),
            // A partial task never runs in an element (`on_cluster`); its
            // step's tasks are planned with an empty failed set.
            failed: pipeline.steps[step].partial.then(|| Vec::new().into()),
        })
    }
}

/// How a task in an element ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResultStatus {
    /// It wrote every output.
    Ok,
    /// It failed.
    Failed,
}

/// What a task's success leaves for the state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RecordSpec {
    /// Its fingerprint.
    pub(crate) fingerprint: FingerprintSpec,
    /// `HASH  PATH` lines of inputs and deps.
    pub(crate) inputs: String,
    /// `HASH  PATH` lines of outputs.
    pub(crate) outputs: String,
    /// Files under root its worker loaded code from, one per line.
    #[serde(default)]
    pub(crate) found_deps: Option<String>,
}

/// A file hashed on the way, for the coordinator's cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HashSpec {
    /// Relative to root.
    pub(crate) path: OsText,
    /// Bytes.
    pub(crate) size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub(crate) mtime_ns: i64,
    /// Inode change time, nanoseconds since the epoch.
    pub(crate) ctime_ns: i64,
    /// Inode number.
    pub(crate) inode: u64,
    /// BLAKE3, hex.
    pub(crate) hash: String,
}

/// `E/R.json`: how task R of element E ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResultFile {
    /// The step's name (with `key`, checked against the list).
    pub(crate) step: String,
    /// The task's key.
    pub(crate) key: String,
    /// How it ended.
    pub(crate) status: ResultStatus,
    /// Why it failed.
    pub(crate) reason: Option<String>,
    /// Its command's exit code.
    pub(crate) exit_code: Option<i32>,
    /// The last lines of its output.
    pub(crate) stderr_tail: Vec<String>,
    /// Every task of its step fails this way (its worker could not start).
    #[serde(default)]
    pub(crate) step_wide: bool,
    /// Start, milliseconds since the epoch.
    pub(crate) started_at_ms: Option<u64>,
    /// All attempts.
    pub(crate) duration_ms: u64,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The most memory its command's processes used at once, in bytes,
    /// when the element could measure it.
    pub(crate) peak_memory: Option<u64>,
    /// Full stdout log.
    pub(crate) stdout_log: Option<OsText>,
    /// Full stderr log.
    pub(crate) stderr_log: Option<OsText>,
    /// For the state, on success.
    pub(crate) record: Option<RecordSpec>,
    /// Files hashed.
    pub(crate) new_hashes: Vec<HashSpec>,
}

impl ResultFile {
    /// The result of a task that ended in an element; `None` for an
    /// interrupted task (the coordinator reports the element's end instead).
    pub(crate) fn of(spec: &TaskSpec, result: &TaskResult) -> Option<ResultFile> {
        let (status, reason, exit_code, tail, step_wide) = match &result.outcome {
            Outcome::Succeeded => (ResultStatus::Ok, None, None, Vec::new(), false),
            Outcome::Failed(f) if !f.interrupted => (
                ResultStatus::Failed,
                Some(f.reason.clone()),
                f.exit_code,
                f.stderr_tail.clone(),
                f.step_wide,
            ),
            _ => return None,
        };
        Some(ResultFile {
            step: spec.step.clone(),
            key: spec.key.clone(),
            status,
            reason,
            exit_code,
            stderr_tail: tail,
            step_wide,
            started_at_ms: result
                .started_at
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as u64),
            duration_ms: result.duration.as_millis() as u64,
            attempts: result.attempts,
            peak_memory: result.peak_memory,
            stdout_log: result
                .stdout_log
                .as_ref()
                .map(|p| OsText::of(p.as_os_str())),
            stderr_log: result
                .stderr_log
                .as_ref()
                .map(|p| OsText::of(p.as_os_str())),
            record: result.record.as_ref().map(|r| RecordSpec {
                fingerprint: FingerprintSpec::of(&r.fingerprint),
                inputs: r.inputs.clone(),
                outputs: r.outputs.clone(),
                found_deps: r.found_deps.clone(),
            }),
            new_hashes: result
                .new_hashes
                .iter()
                .map(|(path, c)| HashSpec {
                    path: OsText(OsString::from_vec(path.clone())),
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    ctime_ns: c.ctime_ns,
                    inode: c.inode,
                    hash: blake3::Hash::from(c.hash).to_hex().to_string(),
                })
                .collect(),
        })
    }

    /// When the task ended (milliseconds since the epoch, the element's
    /// clock), if it started.
    pub(crate) fn ended_ms(&self) -> Option<u64> {
        self.started_at_ms
            .map(|s| s.saturating_add(self.duration_ms))
    }

    /// The result as the scheduler and the state take it.
    pub(crate) fn to_result(&self) -> TaskResult {
        let outcome = match self.status {
            ResultStatus::Ok => Outcome::Succeeded,
            ResultStatus::Failed => Outcome::Failed(Failure {
                reason: self.reason.clone().unwrap_or_else(|| "failed".to_owned()),
                exit_code: self.exit_code,
                signal: None,
                stderr_tail: self.stderr_tail.clone(),
                interrupted: false,
                step_wide: self.step_wide,
            }),
        };
        let record = self.record.as_ref().and_then(|r| {
            Some(Record {
                fingerprint: Box::new(r.fingerprint.to_fingerprint()?),
                inputs: r.inputs.clone(),
                outputs: r.outputs.clone(),
                found_deps: r.found_deps.clone(),
            })
        });
        TaskResult {
            outcome,
            // Taken for failures too (a failure like the last is no news).
            fingerprint: record.as_ref().map(|r| r.fingerprint.fingerprint),
            narrowed: None,
            started_at: self
                .started_at_ms
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
            record,
            new_hashes: self.new_hashes.iter().filter_map(new_hash).collect(),
            duration: Duration::from_millis(self.duration_ms),
            attempts: self.attempts,
            peak_memory: self.peak_memory,
            // No pool slot: the report's timeline has no lane for it.
            slot: None,
            stderr_log: self.stderr_log.as_ref().map(OsText::path),
            stdout_log: self.stdout_log.as_ref().map(OsText::path),
        }
    }
}

fn new_hash(h: &HashSpec) -> Option<NewHash> {
    let hash = blake3::Hash::from_hex(&h.hash).ok()?;
    Some((
        h.path.0.as_bytes().to_vec(),
        CachedHash {
            size: h.size,
            mtime_ns: h.mtime_ns,
            ctime_ns: h.ctime_ns,
            inode: h.inode,
            hash: *hash.as_bytes(),
        },
    ))
}

/// Writes `value` as JSON to `path` through a temporary name in the same
/// folder, so that a reader never sees half a file.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let text = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp-{}", std::process::id()));
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path)
}

/// Reads a JSON file written by [`write_json`].
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Where an array's files are: `array.json`, `submit.sh`, and per element
/// `E.log` (its stdout and stderr; SLURM creates it when the element
/// starts), `E/tasks.json`, `E/R.json` (results) and `E/done`.
#[derive(Debug, Clone)]
pub(crate) struct ArrayDir(pub(crate) PathBuf);

impl ArrayDir {
    /// `array.json`.
    pub(crate) fn manifest(&self) -> PathBuf {
        self.0.join("array.json")
    }
    /// The script `sbatch` runs.
    pub(crate) fn script(&self) -> PathBuf {
        self.0.join("submit.sh")
    }
    /// An element's folder.
    pub(crate) fn element(&self, e: usize) -> PathBuf {
        self.0.join(e.to_string())
    }
    /// An element's task list.
    pub(crate) fn tasks(&self, e: usize) -> PathBuf {
        self.element(e).join("tasks.json")
    }
    /// The result of task `r` of element `e`.
    pub(crate) fn result(&self, e: usize, r: usize) -> PathBuf {
        self.element(e).join(format!("{r}.json"))
    }
    /// Written when element `e` has run every task.
    pub(crate) fn done(&self, e: usize) -> PathBuf {
        self.element(e).join("done")
    }
    /// Element `e`'s stdout and stderr (`sbatch --output`).
    pub(crate) fn log(&self, e: usize) -> PathBuf {
        self.0.join(format!("{e}.log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_bytes() {
        let odd = OsText(OsString::from_vec(b"data/caf\xe9.csv".to_vec()));
        let plain = OsText(OsString::from("data/a b.csv"));
        let text = serde_json::to_string(&vec![odd.clone(), plain.clone()]).unwrap();
        assert_eq!(
            text,
            r#"[{"bytes":[100,97,116,97,47,99,97,102,233,46,99,115,118]},"data/a b.csv"]"#
        );
        let back: Vec<OsText> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![odd, plain]);
    }

    #[test]
    fn fingerprints_round_trip() {
        let fp = Fingerprint {
            fingerprint: blake3::hash(b"a"),
            action: blake3::hash(b"b"),
            base_deps: vec![PathBuf::from("scripts/tool.sh")],
            input_hashes: vec![*blake3::hash(b"c").as_bytes()],
            new_hashes: Vec::new(),
            hashed_at: std::time::UNIX_EPOCH,
        };
        let back = FingerprintSpec::of(&fp).to_fingerprint().unwrap();
        assert_eq!(back.fingerprint, fp.fingerprint);
        assert_eq!(back.action, fp.action);
        assert_eq!(back.input_hashes, fp.input_hashes);
        assert_eq!(back.base_deps, fp.base_deps);
        let mut broken = FingerprintSpec::of(&fp);
        broken.action = "zz".into();
        assert!(broken.to_fingerprint().is_none());
    }
}
