//! Which interpreter binary a Python call step would run now: its name as
//! written, looked up as the worker's start looks it up (a path is relative
//! to root, a bare name is searched on the `PATH` the worker gets), links
//! followed. A script in its place (a pyenv or asdf shim, which picks a
//! version by rules of its own: `.python-version`, `PYENV_VERSION`) is
//! asked for its `sys.executable`. The binary is a dep of every task of
//! the step, so a venv rebuilt on another Python, another `PATH` or another
//! pyenv version runs them again; the worker reports the same path when it
//! starts (the shim's hello), so the two are one dep.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long a shim may take to name its interpreter (pyenv's take tens
/// of milliseconds).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the probe runs: the real path of the interpreter, as the shim
/// reports it.
const PROBE: &str = "import os, sys; sys.stdout.write(os.path.realpath(sys.executable))";

/// The binary `interpreter` names now, run in `root` with `env` on top of
/// runner's environment; `None` when there is none (the worker's start
/// then fails the step and says why).
pub(crate) fn binary(root: &Path, interpreter: &str, env: &[(String, String)]) -> Option<PathBuf> {
    let program = if interpreter.contains('/') {
        root.join(interpreter)
    } else {
        let path = env
            .iter()
            .find(|(key, _)| key == "PATH")
            .map(|(_, value)| OsString::from(value))
            .or_else(|| std::env::var_os("PATH"))?;
        std::env::split_paths(&path)
            .map(|dir| root.join(dir).join(interpreter))
            .find(|candidate| is_executable(candidate))?
    };
    let real = std::fs::canonicalize(&program).ok()?;
    if !starts_with_shebang(&real) {
        return Some(real);
    }
    // A run builds its steps' deps more than once (the up-to-date check,
    // then the tasks): a shim is asked once per run, unless it changed.
    let key = ProbeKey {
        program: program.clone(),
        env: env.to_vec(),
        script: std::fs::metadata(&real)
            .ok()
            .map(|m| (m.len(), m.modified().ok())),
    };
    let mut asked = PROBED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    asked
        .entry(key)
        .or_insert_with(|| probe(root, program.as_os_str(), env))
        .clone()
        .or(Some(real))
}

/// What a probe's answer depends on.
#[derive(PartialEq, Eq, Hash)]
struct ProbeKey {
    program: PathBuf,
    env: Vec<(String, String)>,
    script: Option<(u64, Option<std::time::SystemTime>)>,
}

/// The answers of the shims asked by this process.
static PROBED: LazyLock<Mutex<HashMap<ProbeKey, Option<PathBuf>>>> = LazyLock::new(Mutex::default);

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn starts_with_shebang(path: &Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == *b"#!"
}

/// The real path of the interpreter a script starts, by asking it; `None`
/// when it fails, prints nothing usable or takes too long.
fn probe(root: &Path, program: &OsStr, env: &[(String, String)]) -> Option<PathBuf> {
    let mut child = Command::new(program)
        .args(["-c", PROBE])
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // One short line: it fits the pipe, so waiting before reading is safe.
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let mut text = String::new();
    child.stdout.take()?.read_to_string(&mut text).ok()?;
    let path = PathBuf::from(text.trim_end_matches('\n'));
    (status.success() && path.is_absolute() && path.is_file()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_found_on_the_given_path_and_links_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("a/bin")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        let real = root.join("b/python3.99");
        std::fs::write(&real, b"\x7fELF").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&real, root.join("a/bin/python3")).unwrap();
        let env = [("PATH".to_owned(), "/nonexistent:a/bin".to_owned())];
        assert_eq!(binary(&root, "python3", &env), Some(real.clone()));
        assert_eq!(binary(&root, "a/bin/python3", &[]), Some(real));
        assert_eq!(
            binary(&root, "python3", &[("PATH".into(), "b".into())]),
            None
        );
    }

    #[test]
    fn a_script_in_its_place_is_asked_for_its_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let target = root.join("real-python");
        std::fs::write(&target, b"\x7fELF").unwrap();
        // A shim that prints what the probe would: where the real one is.
        let shim = root.join("python");
        std::fs::write(
            &shim,
            format!("#!/bin/sh\nprintf %s '{}'\n", target.display()),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(binary(&root, "./python", &[]), Some(target));
        // A shim that fails to answer is its own dep.
        std::fs::write(&shim, "#!/bin/sh\nexit 3\n").unwrap();
        assert_eq!(binary(&root, "./python", &[]), Some(shim));
    }
}
