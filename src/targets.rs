//! What the command line asks to build: `--only STEP`, `--only STEP:KEYGLOB`
//! and output paths after the pipeline file, turned into the tasks they name
//! (the run then takes those and what they need, as `make TARGET` does).

use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};
use rustc_hash::FxHashMap as HashMap;

use crate::config::{Pipeline, normalize_path};
use crate::diag::did_you_mean;
use crate::plan::{Plan, TaskId, display_path};

/// Keys are matched as paths: `*` stays within one folder, `**` crosses them.
const KEY_MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// What the command line names that the pipeline does not have (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    /// `--only` or `--force` names a step that the file does not have.
    #[error("`{flag}`: no step `{name}` in `{}`; {hint}", file.display())]
    UnknownStep {
        /// The flag as typed (`--only plot:sub0/*`).
        flag: String,
        /// The step name given.
        name: String,
        /// The pipeline file.
        file: PathBuf,
        /// A suggestion, or the steps there are.
        hint: String,
    },
    /// `--only STEP:KEYGLOB` with a pattern that is not one.
    #[error("`--only {spec}`: `{glob}` is not a valid key pattern: {reason}")]
    KeyPattern {
        /// The `--only` value.
        spec: String,
        /// The pattern.
        glob: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `--only STEP:KEYGLOB` matching no task of the step.
    #[error("`--only {spec}`: no task of step `{step}` has a key matching `{glob}`; {hint}")]
    NoKeyMatch {
        /// The `--only` value.
        spec: String,
        /// The step.
        step: String,
        /// The pattern.
        glob: String,
        /// The keys there are, or that the step has none.
        hint: String,
    },
    /// An output path that no task writes.
    #[error("no task of `{}` writes `{}`; {hint}", file.display(), display_path(target))]
    NoWriter {
        /// The pipeline file.
        file: PathBuf,
        /// The path as typed.
        target: PathBuf,
        /// A suggestion, or where outputs are.
        hint: String,
    },
}

/// The tasks named by `--only` values and output paths; `None` when none
/// was given (every task).
pub(crate) fn select(
    pipeline: &Pipeline,
    plan: &Plan,
    only: &[String],
    outputs: &[PathBuf],
    cwd: &Path,
) -> Result<Option<Vec<TaskId>>, TargetError> {
    if only.is_empty() && outputs.is_empty() {
        return Ok(None);
    }
    let mut seeds = Vec::new();
    for spec in only {
        seeds.extend(only_tasks(pipeline, plan, spec)?);
    }
    if !outputs.is_empty() {
        let writers = writers(plan);
        for target in outputs {
            seeds.extend(output_tasks(pipeline, plan, &writers, target, cwd)?);
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    Ok(Some(seeds))
}

/// `--only STEP` (every task of it) or `--only STEP:KEYGLOB`.
fn only_tasks(pipeline: &Pipeline, plan: &Plan, spec: &str) -> Result<Vec<TaskId>, TargetError> {
    let (name, glob) = match spec.split_once(':') {
        Some((name, glob)) => (name, Some(glob)),
        None => (spec, None),
    };
    let step = step_index(pipeline, name, &format!("--only {spec}"))?;
    let ids = &plan.step_tasks[step];
    let Some(glob) = glob else {
        return Ok(ids.clone());
    };
    let pattern = Pattern::new(glob).map_err(|e| TargetError::KeyPattern {
        spec: spec.to_owned(),
        glob: glob.to_owned(),
        reason: e.msg,
    })?;
    let chosen: Vec<TaskId> = ids
        .iter()
        .copied()
        .filter(|&id| pattern.matches_with(&plan.tasks[id].key, KEY_MATCH))
        .collect();
    if chosen.is_empty() {
        let keys: Vec<&str> = ids.iter().map(|&id| plan.tasks[id].key.as_str()).collect();
        let hint = match keys.as_slice() {
            [] => format!("step `{name}` has no task"),
            _ => {
                let shown: Vec<&str> = keys.iter().take(5).copied().collect();
                let more = if keys.len() > 5 { ", ..." } else { "" };
                format!(
                    "its keys are paths without extension (`*` stays in one folder, `**` crosses them): {}{more}",
                    shown.join(", ")
                )
            }
        };
        return Err(TargetError::NoKeyMatch {
            spec: spec.to_owned(),
            step: name.to_owned(),
            glob: glob.to_owned(),
            hint,
        });
    }
    Ok(chosen)
}

/// A step named on the command line, with a suggestion when there is none.
pub(crate) fn step_index(
    pipeline: &Pipeline,
    name: &str,
    flag: &str,
) -> Result<usize, TargetError> {
    pipeline.step_index(name).ok_or_else(|| {
        let known: Vec<&str> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
        let hint = did_you_mean(name, known.iter().copied())
            .unwrap_or_else(|| format!("steps: {}", known.join(", ")));
        TargetError::UnknownStep {
            flag: flag.to_owned(),
            name: name.to_owned(),
            file: pipeline.source.path.clone(),
            hint,
        }
    })
}

/// Every declared output (normalized, relative to root) and its task.
fn writers(plan: &Plan) -> HashMap<PathBuf, TaskId> {
    let mut map = HashMap::default();
    for task in &plan.tasks {
        for out in task.outputs.iter() {
            map.insert(normalize_path(out), task.id);
        }
    }
    map
}

/// The task that writes `target` (a path as typed: relative to the working
/// directory, or to root), or every task writing under it when it is a
/// folder.
fn output_tasks(
    pipeline: &Pipeline,
    plan: &Plan,
    writers: &HashMap<PathBuf, TaskId>,
    target: &Path,
    cwd: &Path,
) -> Result<Vec<TaskId>, TargetError> {
    let root = &pipeline.root;
    let mut candidates = Vec::new();
    let from_cwd = normalize_path(&cwd.join(target));
    if let Ok(rel) = from_cwd.strip_prefix(root) {
        candidates.push(rel.to_owned());
    }
    if target.is_relative() {
        candidates.push(normalize_path(target));
    }
    for rel in &candidates {
        if let Some(&id) = writers.get(rel) {
            return Ok(vec![id]);
        }
    }
    for rel in &candidates {
        if rel.as_os_str().is_empty() {
            continue;
        }
        let mut under: Vec<TaskId> = writers
            .iter()
            .filter(|(out, _)| out.starts_with(rel))
            .map(|(_, &id)| id)
            .collect();
        if !under.is_empty() {
            under.sort_unstable();
            under.dedup();
            return Ok(under);
        }
    }
    let shown: Vec<String> = plan
        .tasks
        .iter()
        .flat_map(|t| t.outputs.iter())
        .map(|o| display_path(o))
        .collect();
    let wanted = candidates
        .first()
        .map_or_else(|| display_path(target), |c| display_path(c));
    let hint = did_you_mean(&wanted, shown.iter().map(String::as_str)).unwrap_or_else(|| {
        format!(
            "outputs are paths under `{}`, relative to root `{}` or to the working directory",
            display_path(&pipeline.out_dir),
            root.display()
        )
    });
    Err(TargetError::NoWriter {
        file: pipeline.source.path.clone(),
        target: target.to_owned(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_globs_stay_in_one_folder_unless_doubled() {
        let p = Pattern::new("sub0/*").unwrap();
        assert!(p.matches_with("sub0/st0_14", KEY_MATCH));
        assert!(!p.matches_with("sub0/deep/x", KEY_MATCH));
        assert!(
            Pattern::new("**/x")
                .unwrap()
                .matches_with("a/b/x", KEY_MATCH)
        );
    }
}
