//! runner's worker protocol, version 1 (docs/workers.md): one JSON object
//! per line over a private pipe pair (requests on the worker's fd 3, replies
//! on its fd 4), never over its stdout, which is the task's output.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::Pipeline;
use crate::plan::{Task, display_path};

/// The protocol version, given to workers as `RUNNER_WORKER_PROTOCOL`.
pub(crate) const PROTOCOL: u32 = 1;

/// The worker's file descriptor for requests (it reads).
pub(crate) const REQUEST_FD: i32 = 3;

/// The worker's file descriptor for replies (it writes).
pub(crate) const REPLY_FD: i32 = 4;

/// The embedded Python worker: `python -c SHIM MODULE.py`.
pub(crate) const SHIM: &str = include_str!("shim.py");

/// The first line a worker writes: ready, or why it cannot serve.
#[derive(Debug, Deserialize)]
pub(crate) struct Hello {
    /// It imported what it needs and waits for requests.
    pub(crate) ready: bool,
    /// When not ready: why, in one line (details went to its stderr).
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Files under root that its code was loaded from (relative to root).
    #[serde(default)]
    pub(crate) deps: Vec<String>,
    /// What it writes on its stdout and stderr after each call, before
    /// the reply (at least `MIN_BOUNDARY` bytes, e.g. random): runner may
    /// then send a request before the reply to the last one, and cuts the
    /// output there.
    #[serde(default)]
    pub(crate) boundary: Option<String>,
}

/// The shortest boundary taken: shorter ones could be a task's output.
pub(crate) const MIN_BOUNDARY: usize = 16;

/// The answer to one request.
#[derive(Debug, Deserialize)]
pub(crate) struct Reply {
    /// The request's id.
    pub(crate) id: u64,
    /// The task succeeded.
    pub(crate) ok: bool,
    /// When not ok: what went wrong, in one line.
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Every task of the step would fail the same way (an unknown function):
    /// the step's other tasks are failed without being sent.
    #[serde(default)]
    pub(crate) fatal: bool,
    /// Files under root loaded during the call, not reported before.
    #[serde(default)]
    pub(crate) deps: Vec<String>,
}

/// A line from a worker that is not what the protocol says.
#[derive(Debug, thiserror::Error)]
#[error("the worker broke the protocol with the line `{line}`")]
pub(crate) struct ProtocolError {
    /// The line (its first 200 bytes) as text.
    line: String,
    /// What the JSON reader said.
    #[source]
    source: serde_json::Error,
}

/// Parses one protocol line.
pub(crate) fn parse<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Result<T, ProtocolError> {
    serde_json::from_slice(line).map_err(|source| ProtocolError {
        line: String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned(),
        source,
    })
}

/// What every request of a pipeline shares: `vars` and `pipeline` as JSON.
pub(crate) struct Shared {
    vars: Value,
    pipeline: Value,
}

impl Shared {
    /// The shared parts of `pipeline`'s requests.
    pub(crate) fn new(pipeline: &Pipeline) -> Shared {
        Shared {
            vars: serde_json::to_value(&pipeline.vars).unwrap_or(Value::Null),
            pipeline: serde_json::json!({
                "name": pipeline.name,
                "root": pipeline.root.display().to_string(),
                "out": display_path(&pipeline.out_dir),
            }),
        }
    }
}

/// One request line (with its newline): call `function` (if the worker
/// serves several) with the task's names, its temporary outputs `outs`,
/// and the step's rendered `with` values.
pub(crate) fn request(
    id: u64,
    step: &str,
    function: Option<&str>,
    args: &Map<String, Value>,
) -> Vec<u8> {
    /// The request as it is written, borrowing the task's arguments.
    #[derive(serde::Serialize)]
    struct Request<'a> {
        id: u64,
        step: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        function: Option<&'a str>,
        args: &'a Map<String, Value>,
    }
    let mut line = serde_json::to_vec(&Request {
        id,
        step,
        function,
        args,
    })
    .unwrap_or_default();
    line.push(b'\n');
    line
}

/// The keyword arguments of a task's call: the names its templates could
/// read (paths relative to root, `out` the temporary path), then `with`.
pub(crate) fn task_args(
    shared: &Shared,
    task: &Task,
    each: bool,
    outs: &[PathBuf],
    with: &[(String, Value)],
) -> Map<String, Value> {
    let text = |p: &Path| Value::from(crate::plan::display_os(&crate::plan::arg_path(p)));
    let mut args = Map::with_capacity(12 + with.len());
    if each && let Some(input) = task.inputs.first() {
        args.insert("input".into(), text(input));
        let part = |s: Option<&std::ffi::OsStr>| {
            Value::from(s.map(crate::plan::display_os).unwrap_or_default())
        };
        args.insert("stem".into(), part(input.file_stem()));
        args.insert("name".into(), part(input.file_name()));
        args.insert("ext".into(), part(input.extension()));
        let dir = input.parent().map(display_path).unwrap_or_default();
        args.insert(
            "dir".into(),
            Value::from(if dir.is_empty() { ".".to_owned() } else { dir }),
        );
    }
    args.insert(
        "inputs".into(),
        Value::Array(task.inputs.iter().map(|p| text(p)).collect()),
    );
    if let [one] = outs {
        args.insert("out".into(), text(one));
    }
    args.insert(
        "outs".into(),
        Value::Array(outs.iter().map(|p| text(p)).collect()),
    );
    args.insert("key".into(), Value::from(task.key.as_str()));
    // A partial task: the keys of the upstream tasks that failed.
    if let Some(failed) = &task.failed {
        args.insert(
            "failed".into(),
            Value::Array(failed.iter().map(|k| Value::from(k.as_str())).collect()),
        );
    }
    if let Some((index, count)) = task.batch {
        args.insert(
            "batch".into(),
            serde_json::json!({"index": index, "count": count}),
        );
    }
    args.insert("vars".into(), shared.vars.clone());
    args.insert("pipeline".into(), shared.pipeline.clone());
    for (key, value) in with {
        args.insert(key.clone(), value.clone());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_hellos_parse() {
        let reply: Reply = parse(br#"{"id": 3, "ok": false, "error": "ValueError: x"}"#).unwrap();
        assert_eq!((reply.id, reply.ok, reply.fatal), (3, false, false));
        assert_eq!(reply.error.as_deref(), Some("ValueError: x"));
        let hello: Hello = parse(br#"{"ready": true, "deps": ["scripts/h.py"]}"#).unwrap();
        assert!(hello.ready);
        assert_eq!(hello.deps, vec!["scripts/h.py"]);
        let err = parse::<Reply>(b"hello world").unwrap_err();
        assert_eq!(
            crate::error::chain(&err),
            "the worker broke the protocol with the line `hello world`: \
             expected value at line 1 column 1"
        );
    }

    #[test]
    fn a_request_is_one_line() {
        let mut args = Map::new();
        args.insert("input".into(), Value::from("a\nb.csv"));
        let line = request(7, "plot", Some("plot_file"), &args);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(line.ends_with(b"\n"));
        let back: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(back["args"]["input"], "a\nb.csv");
        assert_eq!(back["function"], "plot_file");
    }
}
