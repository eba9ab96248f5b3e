//! Asking SLURM about submitted arrays without its accounting database
//! (`sacct` may be absent): `squeue` for the state of every element,
//! `scontrol show job` for how a failed element ended, `scancel` on an
//! interrupt.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use super::SlurmError;

/// An element's state as `squeue` shows it: `RUNNING`, `TIMEOUT`... and the
/// reason (`TimeLimit`, `NonZeroExitCode`, `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ElementState {
    /// `%T`.
    pub(crate) state: String,
    /// `%r`.
    pub(crate) reason: String,
}

impl ElementState {
    /// Whether the element has ended (it will not run anything more).
    pub(crate) fn ended(&self) -> bool {
        matches!(
            self.state.as_str(),
            "COMPLETED"
                | "FAILED"
                | "CANCELLED"
                | "TIMEOUT"
                | "NODE_FAIL"
                | "OUT_OF_MEMORY"
                | "BOOT_FAIL"
                | "DEADLINE"
                | "PREEMPTED"
                | "REVOKED"
        )
    }

    /// Whether it is still waiting to start.
    pub(crate) fn pending(&self) -> bool {
        self.state == "PENDING"
    }
}

/// The states of every element SLURM still lists of these jobs, keyed by
/// (job id, element). A job SLURM has forgotten (its `MinJobAge` passed) is
/// simply not in the map. `Err` when `squeue` could not answer.
pub(crate) fn states(
    job_ids: &[&str],
) -> Result<HashMap<(String, usize), ElementState>, SlurmError> {
    if job_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let output = Command::new("squeue")
        .args(["-h", "-r", "-t", "all", "-o", "%i|%T|%r", "-j"])
        .arg(job_ids.join(","))
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SlurmError::Spawn {
            program: "squeue",
            source,
        })?;
    if !output.status.success() {
        // Every job id given is unknown: all of them were forgotten.
        if String::from_utf8_lossy(&output.stderr).contains("Invalid job id") {
            return Ok(HashMap::new());
        }
        return Err(SlurmError::Failed {
            program: "squeue",
            said: SlurmError::said("squeue", &output),
        });
    }
    Ok(parse_states(&String::from_utf8_lossy(&output.stdout)))
}

/// `ID_E|STATE|REASON` lines.
fn parse_states(text: &str) -> HashMap<(String, usize), ElementState> {
    let mut states = HashMap::new();
    for line in text.lines() {
        let mut fields = line.trim().splitn(3, '|');
        let (Some(id), Some(state), reason) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Some((job, element)) = id.split_once('_') else {
            continue;
        };
        // A pending range (`12_[3-9]`) when `-r` did not expand it.
        let elements: Vec<usize> = match element.parse::<usize>() {
            Ok(e) => vec![e],
            Err(_) => expand_range(element),
        };
        for e in elements {
            states.insert(
                (job.to_owned(), e),
                ElementState {
                    state: state.trim().to_owned(),
                    reason: reason.unwrap_or("").trim().to_owned(),
                },
            );
        }
    }
    states
}

/// `[3-5,7%2]` -> 3, 4, 5, 7.
fn expand_range(text: &str) -> Vec<usize> {
    let inner = text.trim_start_matches('[').trim_end_matches(']');
    let inner = inner.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in inner.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend(a..=b.min(a + 1_000_000));
                }
            }
            None => out.extend(part.parse::<usize>().ok()),
        }
    }
    out
}

/// `ExitCode=` of one element (`2:0` exited with 2; `0:9` killed by signal
/// 9), from `scontrol show job`; `None` when SLURM no longer knows it.
pub(crate) fn exit_code(job: &str, element: usize) -> Option<String> {
    let output = Command::new("scontrol")
        .args(["-o", "show", "job"])
        .arg(format!("{job}_{element}"))
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find_map(|field| field.strip_prefix("ExitCode="))
        .map(str::to_owned)
}

/// Cancels these jobs (every element).
pub(crate) fn cancel(job_ids: &[&str]) -> Result<(), SlurmError> {
    if job_ids.is_empty() {
        return Ok(());
    }
    let output = Command::new("scancel")
        .args(job_ids)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| SlurmError::Spawn {
            program: "scancel",
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(SlurmError::Failed {
            program: "scancel",
            said: SlurmError::said("scancel", &output),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines() {
        let states = parse_states(
            "12_0|COMPLETED|None\n12_1|TIMEOUT|TimeLimit\n13_[2-4%2]|PENDING|JobArrayTaskLimit\nnoise\n",
        );
        assert_eq!(states.len(), 5);
        let s = &states[&("12".to_owned(), 1)];
        assert_eq!(s.state, "TIMEOUT");
        assert_eq!(s.reason, "TimeLimit");
        assert!(s.ended());
        assert!(states[&("13".to_owned(), 4)].pending());
        assert!(!states[&("13".to_owned(), 3)].ended());
    }
}
