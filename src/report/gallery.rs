//! The gallery: every picture the plot tasks of the plan made in the run,
//! or made earlier and still up to date, referenced by a path relative to
//! the report (so the page can be copied together with the plots).

use std::path::{Component, Path, PathBuf};

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::config::{Action, Pipeline, StepKind};
use crate::plan::Plan;
use crate::state::db::TaskStatus;
use crate::state::recorded::LastResult;

/// Extensions a browser shows as a picture.
const PICTURES: [&str; 7] = ["svg", "png", "jpg", "jpeg", "gif", "webp", "avif"];

/// One picture.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Item {
    /// The task key (the caption).
    pub(crate) key: String,
    /// URL relative to the report.
    pub(crate) src: String,
    /// Made by an earlier run (its id), not this one.
    pub(crate) earlier: Option<i64>,
}

/// The pictures of one plot step.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Section {
    /// The plot step.
    pub(crate) step: String,
    /// Width of its pictures, in pixels.
    pub(crate) width: u32,
    /// Height of its pictures.
    pub(crate) height: u32,
    /// Its pictures, in plan order.
    pub(crate) items: Vec<Item>,
}

/// What the gallery needs to know about a plot task.
pub(crate) struct PlotState<'a> {
    /// Per (plot step name, key): the status of its task in this run.
    pub(crate) this_run: &'a HashMap<(String, String), TaskStatus>,
    /// Per plot step name: the last result of its tasks, by key.
    pub(crate) last: &'a HashMap<String, HashMap<String, LastResult>>,
    /// The run the report is of.
    pub(crate) run_id: i64,
}

/// The gallery of the plan's plot tasks for a report written in
/// `report_dir` (absolute). A picture is shown when its file exists and its
/// task succeeded in this run, or was not run by it and last succeeded (up
/// to date, or outside `--only`): never the stale picture of a task that
/// failed.
pub(crate) fn build(
    pipeline: &Pipeline,
    plan: &Plan,
    state: &PlotState<'_>,
    report_dir: &Path,
) -> Vec<Section> {
    let mut sections = Vec::new();
    for (index, step) in pipeline.steps.iter().enumerate() {
        if step.kind != StepKind::Plot {
            continue;
        }
        let (width, height) = match &step.action {
            Action::Plot(spec) => (spec.width, spec.height),
            _ => (800, 450),
        };
        let last = state.last.get(&step.name);
        let mut items = Vec::new();
        for &id in &plan.step_tasks[index] {
            let task = &plan.tasks[id];
            let here = state.this_run.get(&(step.name.clone(), task.key.clone()));
            let earlier = match here {
                Some(TaskStatus::Ok) => None,
                Some(_) => continue,
                None => match last.and_then(|l| l.get(&task.key)) {
                    Some(l) if l.status == TaskStatus::Ok => {
                        Some(l.run_id).filter(|&r| r != state.run_id)
                    }
                    _ => continue,
                },
            };
            for output in task.outputs.iter() {
                let absolute = pipeline.abs(output);
                if !is_picture(output) || !absolute.is_file() {
                    continue;
                }
                items.push(Item {
                    key: task.key.clone(),
                    src: relative_url(report_dir, &absolute),
                    earlier,
                });
            }
        }
        if !items.is_empty() {
            sections.push(Section {
                step: step.name.clone(),
                width,
                height,
                items,
            });
        }
    }
    sections
}

fn is_picture(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PICTURES.contains(&e.to_ascii_lowercase().as_str()))
}

/// `path` lexically cleaned (no `.`, `..` folded into its parent).
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The URL of `file` relative to the folder `from` (both absolute), each
/// segment percent-encoded.
pub(crate) fn relative_url(from: &Path, file: &Path) -> String {
    let (from, file) = (clean(from), clean(file));
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = file.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut segments: Vec<String> = vec!["..".to_owned(); from.len() - common];
    segments.extend(
        to[common..]
            .iter()
            .map(|c| encode(c.as_os_str().as_encoded_bytes())),
    );
    segments.join("/")
}

/// Percent-encodes a path segment: everything but unreserved characters.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls() {
        let url = |from: &str, to: &str| relative_url(Path::new(from), Path::new(to));
        assert_eq!(url("/r/build", "/r/build/plots/a.svg"), "plots/a.svg");
        assert_eq!(
            url("/r/build/site", "/r/build/plots/a.svg"),
            "../plots/a.svg"
        );
        assert_eq!(
            url("/r/./build", "/r/x/../build/a b#1.png"),
            "a%20b%231.png"
        );
        assert_eq!(url("/r", "/r/é.svg"), "%C3%A9.svg");
    }

    #[test]
    fn pictures_by_extension() {
        assert!(is_picture(Path::new("a/b.SVG")));
        assert!(is_picture(Path::new("b.png")));
        assert!(!is_picture(Path::new("b.gp")));
        assert!(!is_picture(Path::new("svg")));
    }
}
