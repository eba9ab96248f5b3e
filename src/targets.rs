//! What the command line asks to build: `--only STEP`, `--only STEP:KEYGLOB`
//! and output paths after the pipeline file, turned into the tasks they name
//! (the run then takes those and what they need, as `make TARGET` does).

use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};
use rustc_hash::FxHashMap as HashMap;

use crate::config::{Pipeline, normalize_path};
use crate::diag::did_you_mean;
use crate::error::Error;
use crate::plan::{Plan, TaskId, display_path};

/// Keys are matched as paths: `*` stays within one folder, `**` crosses them.
const KEY_MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// The tasks named by `--only` values and output paths; `None` when none
/// was given (every task).
pub(crate) fn select(
    pipeline: &Pipeline,
    plan: &Plan,
    only: &[String],
    outputs: &[PathBuf],
    cwd: &Path,
) -> Result<Option<Vec<TaskId>>, Error> {
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
fn only_tasks(pipeline: &Pipeline, plan: &Plan, spec: &str) -> Result<Vec<TaskId>, Error> {
    let (name, glob) = match spec.split_once(':') {
        Some((name, glob)) => (name, Some(glob)),
        None => (spec, None),
    };
    let step = step_index(pipeline, name, &format!("--only {spec}"))?;
    let ids = &plan.step_tasks[step];
    let Some(glob) = glob else {
        return Ok(ids.clone());
    };
    let pattern = Pattern::new(glob).map_err(|e| {
        Error::Usage(format!(
            "error: `--only {spec}`: `{glob}` is not a valid key pattern: {}",
            e.msg
        ))
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
        return Err(Error::Usage(format!(
            "error: `--only {spec}`: no task of step `{name}` has a key matching `{glob}`; {hint}"
        )));
    }
    Ok(chosen)
}

/// A step named on the command line, with a suggestion when there is none.
pub(crate) fn step_index(pipeline: &Pipeline, name: &str, flag: &str) -> Result<usize, Error> {
    pipeline.step_index(name).ok_or_else(|| {
        let known: Vec<&str> = pipeline.steps.iter().map(|s| s.name.as_str()).collect();
        let hint = did_you_mean(name, known.iter().copied())
            .unwrap_or_else(|| format!("steps: {}", known.join(", ")));
        Error::Usage(format!(
            "error: `{flag}`: no step `{name}` in `{}`; {hint}",
            pipeline.source.path.display()
        ))
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
) -> Result<Vec<TaskId>, Error> {
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
    Err(Error::Usage(format!(
        "error: no task of `{}` writes `{}`; {hint}",
        pipeline.source.path.display(),
        display_path(target)
    )))
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
