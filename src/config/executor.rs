//! `[executor]` and the steps' `time`, `mem`, `executor` overrides: where
//! tasks run (this machine or SLURM job arrays) and the `sbatch` options of
//! the arrays, each checked when the file loads (a time or memory SLURM
//! would refuse, an `extra` option runner sets itself) so that a mistake is
//! shown at its line, not by `sbatch` halfway through a run.

use std::time::Duration;

use toml::Spanned;

use super::raw::RawExecutor;
use super::validate::Checker;
use super::{ExecutorKind, ExecutorSettings, Placement};

/// `sbatch` options that runner sets on every array itself; in `extra` they
/// would break how it finds elements, logs and results.
const RUNNER_OPTIONS: &[(&str, &str)] = &[
    ("--array", "-a"),
    ("--output", "-o"),
    ("--error", "-e"),
    ("--chdir", "-D"),
    ("--job-name", "-J"),
    ("--wait", "-W"),
    ("--dependency", "-d"),
    ("--parsable", ""),
    ("--wrap", ""),
    ("--test-only", ""),
    ("--cpus-per-task", "-c"),
    ("--partition", "-p"),
    ("--time", "-t"),
    ("--mem", ""),
    ("--account", "-A"),
    ("--qos", "-q"),
];

impl Checker<'_> {
    /// Checks `[executor]` and fills in the defaults.
    pub(super) fn executor_settings(&mut self, raw: &RawExecutor) -> ExecutorSettings {
        let kind = match &raw.kind {
            None => ExecutorKind::Local,
            Some(kind) => match kind.get_ref().as_str() {
                "local" => ExecutorKind::Local,
                "slurm" => ExecutorKind::Slurm,
                other => {
                    self.error(
                        kind.span(),
                        format!("unknown executor `{other}` in `[executor] kind`"),
                    )
                    .hint = Some("use \"local\" or \"slurm\"".to_owned());
                    ExecutorKind::Local
                }
            },
        };
        let word = |checker: &mut Checker<'_>, value: &Option<Spanned<String>>, key: &str| {
            let value = value.as_ref()?;
            let text = value.get_ref().trim();
            if text.is_empty() || text.contains(char::is_whitespace) {
                checker.error(
                    value.span(),
                    format!("`{key}` must be one word, found `{}`", value.get_ref()),
                );
                return None;
            }
            Some(text.to_owned())
        };
        let partition = word(self, &raw.partition, "partition");
        let account = word(self, &raw.account, "account");
        let qos = word(self, &raw.qos, "qos");
        let extra = match &raw.extra {
            Some(list) => list
                .get_ref()
                .iter()
                .filter_map(|option| self.extra_option(option))
                .collect(),
            None => Vec::new(),
        };
        ExecutorSettings {
            kind,
            partition,
            time: raw.time.as_ref().and_then(|t| self.slurm_time(t)),
            mem: raw.mem.as_ref().and_then(|m| self.slurm_mem(m)),
            cpus_per_task: raw
                .cpus_per_task
                .as_ref()
                .and_then(|c| self.positive(c, "cpus_per_task")),
            account,
            qos,
            extra,
            max_array: raw
                .max_array
                .as_ref()
                .and_then(|m| self.positive(m, "max_array")),
            tasks_per_element: raw
                .tasks_per_element
                .as_ref()
                .and_then(|t| self.positive(t, "tasks_per_element"))
                .unwrap_or(1),
        }
    }

    /// A step's or plot's `time`, `mem` and `executor`.
    pub(super) fn placement(
        &mut self,
        time: Option<&Spanned<String>>,
        mem: Option<&Spanned<String>>,
        executor: Option<&Spanned<String>>,
    ) -> Placement {
        let local = match executor {
            None => false,
            Some(e) if e.get_ref() == "local" => true,
            Some(e) => {
                self.error(
                    e.span(),
                    format!("a step's `executor` can only be \"local\", found `{}`", e.get_ref()),
                )
                .hint = Some(
                    "steps run where `[executor] kind` (or `--executor`) says; `executor = \"local\"` keeps one on this machine"
                        .to_owned(),
                );
                false
            }
        };
        Placement {
            local,
            time: time.and_then(|t| self.slurm_time(t)),
            mem: mem.and_then(|m| self.slurm_mem(m)),
        }
    }

    /// A time limit: SLURM's own forms (`90`, `1:30:00`, `1-12`,
    /// `1-12:00:00`, `UNLIMITED`) as they are, or a duration (`90m`, `2h`)
    /// turned into `D-HH:MM:SS`.
    fn slurm_time(&mut self, value: &Spanned<String>) -> Option<String> {
        let text = value.get_ref().trim();
        if is_slurm_time(text) {
            return Some(text.to_owned());
        }
        match humantime::parse_duration(text) {
            Ok(d) if d >= Duration::from_secs(1) => Some(slurm_duration(d)),
            _ => {
                self.error(
                    value.span(),
                    format!("cannot read `{text}` as a SLURM time limit"),
                )
                .hint = Some(
                    "write a duration (`90m`, `2h`, `1h 30m`) or SLURM's form (`1:30:00`, `1-12:00:00`)"
                        .to_owned(),
                );
                None
            }
        }
    }

    /// Memory as SLURM writes it: a number of megabytes, or with a unit
    /// (`500M`, `4G`, `1T`).
    fn slurm_mem(&mut self, value: &Spanned<String>) -> Option<String> {
        let text = value.get_ref().trim();
        let digits = text.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
        let unit_len = text.len() - digits.len();
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && unit_len <= 1 {
            return Some(text.to_uppercase());
        }
        self.error(
            value.span(),
            format!("cannot read `{text}` as SLURM memory"),
        )
        .hint = Some("write a number with a unit: `500M`, `4G` (no unit = megabytes)".to_owned());
        None
    }

    /// One `extra` option: an option (starting with `-`), not one runner sets.
    fn extra_option(&mut self, option: &Spanned<String>) -> Option<String> {
        let text = option.get_ref();
        if !text.starts_with('-') {
            self.error(
                option.span(),
                format!("`extra` holds `sbatch` options, and `{text}` is not one"),
            )
            .hint = Some(
                "write each option as one word, with `=` before its value: `--constraint=avx2`"
                    .to_owned(),
            );
            return None;
        }
        let name = text.split('=').next().unwrap_or(text);
        let taken = RUNNER_OPTIONS.iter().find(|(long, short)| {
            name == *long || (!short.is_empty() && (name == *short || text.starts_with(short)))
        });
        if let Some((long, _)) = taken {
            let key = long.trim_start_matches('-').replace('-', "_");
            let own_key = [
                "partition",
                "time",
                "mem",
                "account",
                "qos",
                "cpus_per_task",
            ]
            .contains(&key.as_str());
            self.error(
                option.span(),
                format!("runner sets `{long}` itself; it cannot be in `extra`"),
            )
            .hint = Some(if own_key {
                format!("use `{key} = ...` in `[executor]`")
            } else {
                "runner gives every array its own array range, logs and folder".to_owned()
            });
            return None;
        }
        Some(text.clone())
    }
}

/// Whether `text` is one of SLURM's time forms: `M`, `M:S`, `H:M:S`, `D-H`,
/// `D-H:M`, `D-H:M:S`, or unlimited.
fn is_slurm_time(text: &str) -> bool {
    if matches!(text, "UNLIMITED" | "INFINITE" | "unlimited" | "infinite") {
        return true;
    }
    let numbers = |part: &str, max_parts: usize| {
        let parts: Vec<&str> = part.split(':').collect();
        parts.len() <= max_parts
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    match text.split_once('-') {
        Some((days, rest)) => numbers(days, 1) && numbers(rest, 3),
        None => numbers(text, 3),
    }
}

/// A duration as SLURM's `D-HH:MM:SS`.
fn slurm_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!(
        "{}-{:02}:{:02}:{:02}",
        s / 86_400,
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_time_forms() {
        for ok in [
            "90",
            "5:00",
            "1:30:00",
            "1-12",
            "1-12:30",
            "1-12:30:00",
            "UNLIMITED",
        ] {
            assert!(is_slurm_time(ok), "{ok}");
        }
        for bad in ["", "1h", "1:2:3:4", "a-1", "1-", ":5", "-1"] {
            assert!(!is_slurm_time(bad), "{bad}");
        }
        assert_eq!(slurm_duration(Duration::from_secs(90 * 60)), "0-01:30:00");
        assert_eq!(
            slurm_duration(Duration::from_secs(2 * 86_400 + 61)),
            "2-00:01:01"
        );
    }
}
