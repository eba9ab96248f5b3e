//! Why a run cannot go to SLURM, an array cannot be submitted or watched,
//! or an array element cannot run its tasks: one typed error for the
//! coordinator (its checks before it submits, its calls of `sbatch`,
//! `squeue` and `scancel`) and for `runner worker`.

use std::io;
use std::path::PathBuf;
use std::process::Output;

use super::element::FORMAT;
use crate::error::{EXIT_INTERNAL, EXIT_USAGE};

/// The SLURM executor cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SlurmError {
    /// A program of SLURM's is not on `PATH`.
    #[error(
        "the SLURM executor needs `{program}`, which is not on PATH\n  \
         hint: run runner on a machine that submits SLURM jobs (a login node), or use `--executor local`"
    )]
    MissingProgram {
        /// `sbatch`, `squeue` or `scancel`.
        program: &'static str,
    },
    /// `sbatch --test-only` refused the options of a class of tasks.
    #[error(
        "SLURM refuses the options of step `{step}` (`sbatch --test-only` said so; nothing was submitted)\n  \
         options: {options}\n  sbatch: {}",
        said.replace('\n', "\n          ")
    )]
    Refused {
        /// The first step of that class.
        step: String,
        /// The options, joined (`(none)` when there are none).
        options: String,
        /// What `sbatch` said.
        said: String,
    },
    /// `--no-state` with the SLURM executor.
    #[error(
        "`--no-state` cannot run on SLURM: the elements' task lists and results live in the state folder\n  \
         hint: drop `--no-state`, or add `--executor local`"
    )]
    NoState,
    /// `runner worker` without an element number.
    #[error(
        "`runner worker` runs one element of a SLURM array: give `--element N` or set SLURM_ARRAY_TASK_ID"
    )]
    NoElement,
    /// An array written by another version of runner.
    #[error(
        "the array in `{}` was written in format {found} and this runner reads format {FORMAT}; \
         was the runner binary replaced while the array waited?",
        dir.display()
    )]
    Format {
        /// The array's folder.
        dir: PathBuf,
        /// Its format.
        found: u32,
    },
    /// A file of the array cannot be read.
    #[error("cannot read {what} `{}`", path.display())]
    Read {
        /// Which file ("the array's manifest").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system (or the JSON reader) said.
        #[source]
        source: io::Error,
    },
    /// The manifest's `[vars]` are not TOML.
    #[error("the array's manifest has unreadable `vars`")]
    Vars(#[source] toml::de::Error),
    /// A task of the list names a step the pipeline file does not have.
    #[error("the pipeline file has no step `{step}`")]
    NoStep {
        /// The step's name in the task list.
        step: String,
    },
    /// A task of the list does another kind of action than its step.
    #[error(
        "step `{step}` of the pipeline file does another kind of action than the task list says"
    )]
    OtherAction {
        /// The step.
        step: String,
    },
    /// The element cannot watch for SLURM's signals.
    #[error("cannot watch for signals")]
    Signals(#[source] io::Error),
    /// One of SLURM's programs cannot be started.
    #[error("cannot run `{program}`")]
    Spawn {
        /// `sbatch`, `squeue` or `scancel`.
        program: &'static str,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// One of SLURM's programs ran and failed (`squeue`, `scancel`).
    #[error("`{program}` failed: {said}")]
    Failed {
        /// The program.
        program: &'static str,
        /// What it printed (`said`).
        said: String,
    },
    /// `sbatch` did not take an array.
    #[error("`sbatch` refused the array: {said}")]
    NotSubmitted {
        /// What it printed (`said`).
        said: String,
    },
    /// `sbatch --parsable` printed something else than a job id.
    #[error("`sbatch` printed no job id (it printed `{printed}`)")]
    NoJobId {
        /// What it printed, trimmed.
        printed: String,
    },
    /// This run's folder of arrays cannot be made.
    #[error("cannot make a folder under `{}`", parent.display())]
    RunFolder {
        /// The folder it goes in (`STATE/slurm`; relative to root when
        /// the state folder is under it).
        parent: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// An array's folder (manifest, task lists, script) cannot be written.
    #[error("cannot write the array's task lists under `{}`", dir.display())]
    WriteArray {
        /// The array's folder (relative to root when under it).
        dir: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The element's `done` file cannot be written.
    #[error("cannot write the element's `done` file `{}`", path.display())]
    Done {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

impl SlurmError {
    /// The exit code: 2 for what the command line or the files ask that
    /// cannot be, 4 when the system (or SLURM) fails runner.
    pub(crate) fn code(&self) -> i32 {
        match self {
            SlurmError::MissingProgram { .. }
            | SlurmError::Refused { .. }
            | SlurmError::NoState
            | SlurmError::NoElement
            | SlurmError::Format { .. }
            | SlurmError::Vars(_)
            | SlurmError::NoStep { .. }
            | SlurmError::OtherAction { .. } => EXIT_USAGE,
            SlurmError::Read { .. }
            | SlurmError::Signals(_)
            | SlurmError::Done { .. }
            | SlurmError::Spawn { .. }
            | SlurmError::Failed { .. }
            | SlurmError::NotSubmitted { .. }
            | SlurmError::NoJobId { .. }
            | SlurmError::RunFolder { .. }
            | SlurmError::WriteArray { .. } => EXIT_INTERNAL,
        }
    }

    /// What one of SLURM's programs said when it failed: its stderr, else
    /// its stdout, else how it ended.
    pub(crate) fn said(program: &str, output: &Output) -> String {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        match (stderr.trim(), stdout.trim()) {
            ("", "") => format!("`{program}` ended with {}", output.status),
            ("", stdout) => stdout.to_owned(),
            (stderr, _) => stderr.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn output(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn what_a_program_said_is_its_stderr_else_its_stdout_else_its_end() {
        let said = |o: &Output| SlurmError::said("scancel", o);
        assert_eq!(said(&output(1, "out\n", " err\n")), "err");
        assert_eq!(said(&output(1, "out\n", "\n")), "out");
        assert_eq!(
            said(&output(1, "", "")),
            "`scancel` ended with exit status: 1"
        );
    }

    #[test]
    fn a_failed_call_keeps_the_system_error_and_is_not_a_usage_error() {
        let err = SlurmError::Spawn {
            program: "squeue",
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(
            crate::error::chain(&err),
            "cannot run `squeue`: entity not found"
        );
        assert_eq!(err.code(), EXIT_INTERNAL);
        assert_eq!(SlurmError::NoState.code(), EXIT_USAGE);
    }
}
