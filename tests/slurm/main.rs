//! Integration tests through a real SLURM (issue 15): the `runner` binary
//! submits job arrays to the cluster `SLURM_CONF` points at, its elements
//! run `runner worker`, and the tests read what came out (files, the state
//! with rusqlite, `squeue`). They need a running cluster: `.ci/run`
//! starts a local single-node one for them (`.ci/slurm/`); without one they
//! fail and say how to start it.
#![allow(unreachable_pub, dead_code)]

#[path = "../cli/support.rs"]
mod support;

mod everyday;
mod examples;
mod failures;
mod interrupts;
mod python;

use std::process::Command;
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use support::Test;

/// How to get a cluster for these tests.
const HOW_TO_START: &str = "the SLURM tests need a running SLURM cluster and `SLURM_CONF` pointing at it.\n\
Start the local single-node one (installs Debian's slurm packages as root the first time) with\n\
    eval \"$(LOCAL_SLURM_CPUS=8 bash .ci/slurm/start-local-slurm.sh /tmp/local-slurm)\"\n\
then run the tests again; stop it with `bash .ci/slurm/stop-local-slurm.sh /tmp/local-slurm`.\n\
`.ci/run` does both around the tests.";

/// The cluster's one node: every test shares it (a read guard) but the one
/// that takes it down, which has it alone (the write guard), so that no
/// other test's element dies with it.
static NODE: RwLock<()> = RwLock::new(());

/// Panics with `HOW_TO_START` unless a cluster answers; the guard keeps the
/// node up until the test ends (hold it: `let _node = cluster();`).
#[track_caller]
#[must_use = "the guard keeps the node from being taken down under the test"]
pub fn cluster() -> RwLockReadGuard<'static, ()> {
    check_cluster();
    NODE.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Like `cluster`, for a test that takes the node down: no other test runs
/// elements meanwhile.
#[track_caller]
#[must_use = "the guard keeps the other tests off the node"]
pub fn cluster_alone() -> RwLockWriteGuard<'static, ()> {
    check_cluster();
    NODE.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Panics with `HOW_TO_START` unless a cluster answers.
#[track_caller]
fn check_cluster() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        if std::env::var_os("SLURM_CONF").is_none() {
            return Err("`SLURM_CONF` is not set".to_owned());
        }
        match Command::new("sinfo").arg("-h").output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "`sinfo` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run `sinfo`: {e}")),
        }
    });
    if let Err(why) = ready {
        panic!("{why}: {HOW_TO_START}");
    }
}

/// Runs an SQL query on the state of pipeline `name` (with rusqlite): its
/// rows on lines, each row's values joined with `|`.
#[track_caller]
pub fn sql(t: &Test, name: &str, query: &str) -> String {
    t.query_of(name, query)
        .unwrap_or_else(|e| panic!("{query} on the state of `{name}`: {e}"))
        .join("\n")
        .trim()
        .to_owned()
}

/// Elements of these jobs that SLURM lists as pending or running.
pub fn alive(job_ids: &[String]) -> Vec<String> {
    if job_ids.is_empty() {
        return Vec::new();
    }
    let out = Command::new("squeue")
        .args([
            "-h",
            "-r",
            "-t",
            "pending,running,completing",
            "-o",
            "%i",
            "-j",
        ])
        .arg(job_ids.join(","))
        .output()
        .expect("squeue");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `ready()` holds; panics after 10 minutes (a hang, not a
/// slow machine) with `what`.
#[track_caller]
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Input files `data/NAME.txt` holding their names.
pub fn inputs<'a>(t: &Test, names: impl IntoIterator<Item = &'a str>) {
    for name in names {
        t.write(format!("data/{name}.txt"), format!("{name}\n"));
    }
}
