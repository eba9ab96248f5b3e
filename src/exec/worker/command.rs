//! How the workers of a call step are started: the Python shim with its
//! interpreter and module, or the step's `worker` argv; in root, with the
//! step's environment and the thread-pool sizes of numeric libraries.

use std::ffi::OsString;

use super::SHIM;
use super::process::WorkerCommand;
use crate::config::{Action, Pipeline, Step, WorkerProgram};

/// Environment variables that size the thread pools of numeric libraries;
/// set to the step's `threads` unless the pipeline sets them, so that two
/// numpy workers do not each start a thread per core.
const THREAD_VARIABLES: &[&str] = &[
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
];

/// How the workers of a call step are started (`None` for other steps).
pub(super) fn worker_command(pipeline: &Pipeline, step: &Step) -> Option<WorkerCommand> {
    let Action::Call(spec) = &step.action else {
        return None;
    };
    let root = &pipeline.root;
    // A program given as a path is relative to root, as for `run`.
    let program = |p: &str| -> OsString {
        if p.contains('/') {
            root.join(p).into_os_string()
        } else {
            OsString::from(p)
        }
    };
    let mut env: Vec<(String, String)> = step.env.as_ref().clone();
    let set = |env: &mut Vec<(String, String)>, key: &str, value: String| {
        if !env.iter().any(|(k, _)| k == key) {
            env.push((key.to_owned(), value));
        }
    };
    for key in THREAD_VARIABLES {
        set(&mut env, key, step.threads.to_string());
    }
    let (argv, death_signal) = match &spec.worker {
        WorkerProgram::Python {
            interpreter,
            module,
            ..
        } => {
            // User modules are compiled again by each worker rather than
            // leaving `__pycache__` folders under root.
            set(&mut env, "PYTHONDONTWRITEBYTECODE", "1".to_owned());
            let argv = vec![
                program(interpreter),
                OsString::from("-c"),
                OsString::from(SHIM),
                module.clone().into_os_string(),
            ];
            // The shim kills its process group on SIGTERM.
            (argv, libc::SIGTERM)
        }
        WorkerProgram::Argv { argv, .. } => {
            let mut out = vec![program(&argv[0])];
            out.extend(argv[1..].iter().map(OsString::from));
            (out, libc::SIGKILL)
        }
    };
    Some(WorkerCommand {
        argv,
        cwd: root.clone(),
        env,
        death_signal,
    })
}
