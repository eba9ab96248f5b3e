//! The files a task depends on beyond its inputs: the step's `deps` (globs)
//! and a plot's template file, and every file its rendered command names
//! (issue 10, item 1). The scan reads the command as it runs: each argv
//! element, or each word of a `shell` line after shell-aware splitting (the
//! file after `<` is read, the file after `>` is written and left out), or
//! each string of a call's `with` values; for a Python call, also the
//! interpreter binary its name resolves to now (`interpreter.rs`). A
//! word, or the part after the first `=` of one (`--config=x.yaml`), that
//! names an existing file under root, other than the task's own inputs and
//! outputs and anything in the state folder, is a dependency: its content
//! is part of the fingerprint. What the scan cannot see (files a script
//! opens by itself, paths made at run time from `$VAR`, wildcards or
//! command output, here-documents) is what `deps` is for.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

use super::shell_words::{self, Role};
use crate::config::{Action, Pipeline, PlotTemplate, Step, WorkerProgram, normalize_path};
use crate::plan::{Command, Task};

/// What every task of a step depends on, and what its command's fixed
/// words name (looked up once per step, not once per task).
pub(crate) struct StepDeps {
    /// `deps` files and a plot's template file, relative to root.
    declared: Vec<PathBuf>,
    /// Words written in the step's command (not templated) -> the file
    /// under root each names.
    fixed: FxHashMap<Vec<u8>, Option<PathBuf>>,
    /// Root, absolute.
    root: PathBuf,
    /// The state folder, absolute: nothing in it is a dependency.
    state: PathBuf,
}

impl StepDeps {
    /// What the tasks of `step` depend on, as the files are now.
    pub(crate) fn new(pipeline: &Pipeline, step: &Step) -> StepDeps {
        let root = pipeline.root.clone();
        let mut declared: Vec<PathBuf> = Vec::new();
        for pattern in &step.deps {
            let full = root.join(pattern);
            if let Ok(paths) = glob::glob(&full.to_string_lossy()) {
                for path in paths.flatten() {
                    if path.is_file()
                        && let Ok(rel) = path.strip_prefix(&root)
                    {
                        declared.push(rel.to_owned());
                    }
                }
            }
        }
        if let Action::Plot(spec) = &step.action
            && let PlotTemplate::File(path) = &spec.template
            && root.join(path).is_file()
        {
            declared.push(normalize_path(path));
        }
        let mut deps = StepDeps {
            declared,
            fixed: FxHashMap::default(),
            state: root.join(&pipeline.state_dir),
            root,
        };
        let fixed_words: Vec<String> = match &step.action {
            Action::Run(argv) => argv.iter().map(|a| a.text.clone()).collect(),
            Action::Shell(script) => shell_words::words(&script.text)
                .into_iter()
                .map(|w| w.text)
                .collect(),
            Action::Builtin(_) | Action::Plot(_) => Vec::new(),
            // The worker's own files: the module, or what its argv names
            // (what it imports, it reports itself, issue 9).
            Action::Call(spec) => match &spec.worker {
                WorkerProgram::Python { module, .. } => {
                    vec![module.to_string_lossy().into_owned()]
                }
                WorkerProgram::Argv { argv, .. } => argv.clone(),
            },
        };
        // The interpreter a Python step would run now (absolute: usually
        // outside root).
        if let Action::Call(spec) = &step.action
            && let WorkerProgram::Python { interpreter, .. } = &spec.worker
            && let Some(binary) = super::interpreter::binary(&deps.root, interpreter, &step.env)
        {
            deps.declared.push(binary);
        }
        let is_call = matches!(step.action, Action::Call(_));
        for word in fixed_words {
            if !word.contains(['{', '}']) {
                let named = deps.named(OsStr::new(&word));
                // A worker's files are fixed for the step: declared.
                if is_call && let Some(path) = &named {
                    deps.declared.push(path.clone());
                }
                deps.fixed.insert(word.into_bytes(), named);
            }
        }
        deps.declared.sort();
        deps.declared.dedup();
        deps
    }

    /// Every file `task` depends on beyond its inputs, sorted: the declared
    /// ones and those its command names.
    pub(crate) fn of_task(&self, task: &Task) -> Vec<PathBuf> {
        let named = self.named_by_command(task);
        if self.declared.is_empty() {
            return named;
        }
        let mut all = self.declared.clone();
        all.extend(named);
        all.sort();
        all.dedup();
        let inputs: FxHashSet<&Path> = task.inputs.iter().map(PathBuf::as_path).collect();
        all.retain(|p| !inputs.contains(p.as_path()));
        all
    }

    /// The files under root that `task`'s rendered command names (not its
    /// inputs, outputs, or files in the state folder), sorted.
    pub(crate) fn named_by_command(&self, task: &Task) -> Vec<PathBuf> {
        let mut words: Vec<&OsStr> = Vec::new();
        let shell;
        match &task.command {
            Command::Argv(argv) => words.extend(argv.iter().map(|a| a.as_os_str())),
            Command::Shell(script) => {
                shell = shell_words::words(script);
                words.extend(
                    shell
                        .iter()
                        .filter(|w| w.role != Role::Output)
                        .map(|w| OsStr::new(w.text.as_str())),
                );
            }
            // A file a `with` value names (`config = "conf/params.json"`)
            // is read by the function as a script reads its argv's.
            Command::Call(call) => {
                for (_, value) in &call.with {
                    strings_in(value, &mut words);
                }
            }
            Command::Builtin(_) | Command::Plot(_) => {}
        }
        if words.is_empty() {
            return Vec::new();
        }
        let own = Own::new(task);
        let mut found = Vec::new();
        for word in words {
            // A task's own input or output, as templates render it: no
            // need to look at the disk (the common case: `{{ input }}`).
            if own.is(word) {
                continue;
            }
            let named = match self.fixed.get(word.as_encoded_bytes()) {
                Some(named) => named.clone(),
                None => self.named(word),
            };
            if let Some(path) = named
                && !own.is_path(&path)
            {
                found.push(path);
            }
        }
        found.sort();
        found.dedup();
        found
    }

    /// The file under root that a word names (or the part after its first
    /// `=`), if one exists there.
    fn named(&self, word: &OsStr) -> Option<PathBuf> {
        let bytes = word.as_encoded_bytes();
        let whole = (!bytes.starts_with(b"-")).then_some(word);
        let after_eq = bytes.iter().position(|&b| b == b'=').map(|i| {
            // SAFETY: splitting right after an ASCII `=` keeps valid
            // encoded bytes on both sides.
            unsafe { OsStr::from_encoded_bytes_unchecked(&bytes[i + 1..]) }
        });
        whole
            .into_iter()
            .chain(after_eq)
            .find_map(|candidate| self.file_under_root(Path::new(candidate)))
    }

    /// `path` relative to root, if it names an existing file under root
    /// and outside the state folder.
    fn file_under_root(&self, path: &Path) -> Option<PathBuf> {
        if path.as_os_str().is_empty() {
            return None;
        }
        let rel = if path.is_absolute() {
            normalize_path(path)
                .strip_prefix(&self.root)
                .ok()?
                .to_owned()
        } else {
            normalize_path(path)
        };
        if rel.as_os_str().is_empty()
            || matches!(rel.components().next(), Some(Component::ParentDir))
        {
            return None;
        }
        let abs = self.root.join(&rel);
        (!abs.starts_with(&self.state) && abs.is_file()).then_some(rel)
    }
}

/// Every string in a `with` value, in arrays and tables too.
fn strings_in<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v OsStr>) {
    match value {
        serde_json::Value::String(s) => out.push(OsStr::new(s.as_str())),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// A task's inputs and outputs, to leave them out of what its command
/// names.
struct Own<'a> {
    task: &'a Task,
    /// For tasks with many inputs (`all`): their paths, as bytes.
    many: Option<FxHashSet<&'a [u8]>>,
}

impl<'a> Own<'a> {
    fn new(task: &'a Task) -> Own<'a> {
        let many = (task.inputs.len() + task.outputs.len() > 16).then(|| {
            task.inputs
                .iter()
                .chain(task.outputs.iter())
                .map(|p| p.as_os_str().as_encoded_bytes())
                .collect()
        });
        Own { task, many }
    }

    /// Whether `word` is one of the paths, written as templates write
    /// them (as is, or after `./` when it starts with `-`).
    fn is(&self, word: &OsStr) -> bool {
        let bytes = word.as_encoded_bytes();
        let bytes = match bytes.strip_prefix(b"./") {
            Some(rest) if rest.starts_with(b"-") => rest,
            _ => bytes,
        };
        match &self.many {
            Some(set) => set.contains(bytes),
            None => self
                .task
                .inputs
                .iter()
                .chain(self.task.outputs.iter())
                .any(|p| p.as_os_str().as_encoded_bytes() == bytes),
        }
    }

    /// Whether `path` (normalized, relative to root) is one of them.
    fn is_path(&self, path: &Path) -> bool {
        self.is(path.as_os_str())
            || self
                .task
                .inputs
                .iter()
                .chain(self.task.outputs.iter())
                .any(|p| normalize_path(p) == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_name_files_under_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::create_dir_all(root.join(".runner/p")).unwrap();
        std::fs::write(root.join("scripts/s.sh"), "").unwrap();
        std::fs::write(root.join("lookup"), "").unwrap();
        std::fs::write(root.join(".runner/p/state.db"), "").unwrap();
        let deps = StepDeps {
            declared: Vec::new(),
            fixed: FxHashMap::default(),
            state: root.join(".runner/p"),
            root: root.clone(),
        };
        let named = |w: &str| deps.named(OsStr::new(w));
        assert_eq!(named("scripts/s.sh"), Some(PathBuf::from("scripts/s.sh")));
        assert_eq!(named("./scripts/../lookup"), Some(PathBuf::from("lookup")));
        assert_eq!(named("--table=lookup"), Some(PathBuf::from("lookup")));
        assert_eq!(
            named(&root.join("lookup").display().to_string()),
            Some(PathBuf::from("lookup"))
        );
        assert_eq!(named("-lookup"), None);
        assert_eq!(named("scripts"), None);
        assert_eq!(named("../lookup"), None);
        assert_eq!(named(".runner/p/state.db"), None);
        assert_eq!(named("/etc/passwd"), None);
    }
}
