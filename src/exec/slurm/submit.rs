//! Submitting array jobs: the `sbatch` options of a class of tasks (the
//! `[executor]` settings with a step's `time` / `mem` over them), the check
//! that SLURM takes them (`sbatch --test-only`) before anything is
//! submitted, and one array: its folder (manifest, each element's task
//! list, the script) and one `sbatch --array=0-N%M` call.

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::config::{ExecutorSettings, Placement};
use crate::error::under_root;
use crate::exec::slurm::SlurmError;
use crate::exec::slurm::element::{ArrayDir, ArrayManifest, TaskSpec, write_json};

/// The programs the coordinator calls.
pub(crate) const PROGRAMS: [&str; 4] = ["sbatch", "squeue", "scontrol", "scancel"];

/// What sets the `sbatch` options of an array apart: tasks of steps with
/// the same time and memory go into the same arrays.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Class {
    /// `--time`, if any.
    pub(crate) time: Option<String>,
    /// `--mem`, if any.
    pub(crate) mem: Option<String>,
}

impl Class {
    /// A step's class: its own `time` and `mem`, else the executor's.
    pub(crate) fn of(settings: &ExecutorSettings, placement: &Placement) -> Class {
        Class {
            time: placement.time.clone().or_else(|| settings.time.clone()),
            mem: placement.mem.clone().or_else(|| settings.mem.clone()),
        }
    }
}

/// The `sbatch` options of a class, as the user set them.
pub(crate) fn options(settings: &ExecutorSettings, class: &Class) -> Vec<String> {
    let mut options = Vec::new();
    let mut add = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            options.push(format!("--{name}={v}"));
        }
    };
    add("partition", &settings.partition);
    add("time", &class.time);
    add("mem", &class.mem);
    add(
        "cpus-per-task",
        &settings.cpus_per_task.map(|c| c.to_string()),
    );
    add("account", &settings.account);
    add("qos", &settings.qos);
    options.extend(settings.extra.iter().cloned());
    options
}

/// The first of SLURM's programs that is not on `PATH`, if any.
pub(crate) fn missing_program() -> Option<&'static str> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    PROGRAMS.into_iter().find(|program| {
        !std::env::split_paths(&path).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Asks SLURM whether it would take an array with these options
/// (`sbatch --test-only`), for the class of tasks whose first step is
/// `step`.
pub(crate) fn test_only(step: &str, options: &[String], root: &Path) -> Result<(), SlurmError> {
    let output = Command::new("sbatch")
        .arg("--test-only")
        .arg("--array=0-0")
        .arg("--job-name=runner-check")
        .arg(format!("--chdir={}", root.display()))
        .args(options)
        .arg("--wrap=true")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SlurmError::Spawn {
            program: "sbatch",
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(SlurmError::Refused {
        step: step.to_owned(),
        options: if options.is_empty() {
            "(none)".to_owned()
        } else {
            options.join(" ")
        },
        said: SlurmError::said("sbatch", &output),
    })
}

/// One array to submit.
pub(crate) struct ArrayJob<'a> {
    /// Its folder (created here).
    pub(crate) dir: &'a ArrayDir,
    /// What every element shares.
    pub(crate) manifest: &'a ArrayManifest,
    /// Per element, its tasks.
    pub(crate) elements: &'a [Vec<TaskSpec>],
    /// The `sbatch` options of its class.
    pub(crate) options: &'a [String],
    /// `--job-name`.
    pub(crate) name: &'a str,
    /// Where its commands run (root).
    pub(crate) root: &'a Path,
    /// The runner binary the elements run.
    pub(crate) exe: &'a Path,
    /// Elements running at once, if limited.
    pub(crate) max_array: Option<usize>,
}

/// Writes the array's folder and submits it; returns the job id.
pub(crate) fn submit(job: &ArrayJob<'_>) -> Result<String, SlurmError> {
    write_files(job).map_err(|source| SlurmError::WriteArray {
        dir: under_root(job.root, &job.dir.0),
        source,
    })?;
    let last = job.elements.len().saturating_sub(1);
    let array = match job.max_array {
        Some(max) => format!("--array=0-{last}%{max}"),
        None => format!("--array=0-{last}"),
    };
    let mut output_opt = OsString::from("--output=");
    output_opt.push(job.dir.0.join("%a.log"));
    let mut chdir = OsString::from("--chdir=");
    chdir.push(job.root);
    let output = Command::new("sbatch")
        .arg("--parsable")
        // An element whose node fails is not run again behind runner's back
        // (its finished tasks would run twice, its log start over): its
        // unfinished tasks fail with SLURM's reason, and the next run
        // submits them. Before the user's options: `extra = ["--requeue"]`
        // still wins.
        .arg("--no-requeue")
        .arg(array)
        .arg(format!("--job-name={}", job.name))
        .arg(chdir)
        .arg(output_opt)
        .args(job.options)
        .arg(job.dir.script())
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SlurmError::Spawn {
            program: "sbatch",
            source,
        })?;
    if !output.status.success() {
        return Err(SlurmError::NotSubmitted {
            said: SlurmError::said("sbatch", &output),
        });
    }
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    let text = String::from_utf8_lossy(&output.stdout);
    let id = text.trim().split(';').next().unwrap_or("").trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SlurmError::NoJobId {
            printed: text.trim().to_owned(),
        });
    }
    Ok(id.to_owned())
}

/// The manifest, the task lists and the script.
fn write_files(job: &ArrayJob<'_>) -> std::io::Result<()> {
    for (e, specs) in job.elements.iter().enumerate() {
        std::fs::create_dir_all(job.dir.element(e))?;
        write_json(&job.dir.tasks(e), specs)?;
    }
    write_json(&job.dir.manifest(), job.manifest)?;
    let quote = |p: &Path| {
        let text = p.to_string_lossy();
        shlex::try_quote(&text).map_or_else(|_| format!("'{text}'"), Cow::into_owned)
    };
    let script = format!(
        "#!/bin/sh\n\
         # runner: one element of an array; its tasks are in {}/$SLURM_ARRAY_TASK_ID/tasks.json\n\
         exec {} worker {}\n",
        quote(&job.dir.0),
        quote(job.exe),
        quote(&job.dir.0)
    );
    std::fs::write(job.dir.script(), script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_the_step_over_the_executor() {
        let settings = ExecutorSettings {
            partition: Some("short".into()),
            time: Some("10".into()),
            mem: Some("1G".into()),
            cpus_per_task: Some(4),
            extra: vec!["--constraint=avx2".into()],
            ..ExecutorSettings::default()
        };
        let class = Class::of(
            &settings,
            &Placement {
                local: false,
                time: Some("0-02:00:00".into()),
                mem: None,
            },
        );
        assert_eq!(
            options(&settings, &class),
            [
                "--partition=short",
                "--time=0-02:00:00",
                "--mem=1G",
                "--cpus-per-task=4",
                "--constraint=avx2"
            ]
        );
    }
}
