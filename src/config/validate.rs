//! From TOML text to a validated `Pipeline`: every section is deserialized on
//! its own and every problem is collected, so one run of `runner check` shows
//! all of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod call;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::literal::ValueMap;
use super::raw::{Jobs, RawFile, RawInput, RawPipeline, RawPlot, RawStep, field_names};
use super::{
    Action, Batching, FORMAT_VERSION, Fanout, InputSet, LoadError, Pipeline, PlotSpec,
    PlotTemplate, Source, Step, StepKind, Tmpl, Upstream,
};
use crate::diag::{Diagnostic, did_you_mean, did_you_mean_name};
use crate::template::{Templates, Use, allowed_names, known_attributes};

/// Built-in plot templates, embedded in the binary.
pub(crate) const BUILTIN_PLOT_TEMPLATES: &[&str] = &["line", "scatter", "bar", "hist"];

/// Parses and validates a pipeline file's text.
pub(crate) fn parse(source: Source) -> Result<Pipeline, LoadError> {
    let mut checker = Checker {
        text: &source.text,
        diagnostics: Vec::new(),
        broken: HashSet::new(),
        vars: toml::Table::new(),
        python: None,
    };
    let pipeline = checker.pipeline(&source);
    let mut diagnostics = checker.diagnostics;
    match pipeline {
        Some(pipeline) if diagnostics.is_empty() => Ok(pipeline),
        _ => {
            diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            if diagnostics.is_empty() {
                diagnostics.push(Diagnostic::whole_file(
                    "the pipeline could not be loaded (bug in runner, please report it)",
                ));
            }
            Err(LoadError {
                source,
                diagnostics,
            })
        }
    }
}

struct Checker<'t> {
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
    /// Names declared by sections that are already reported as broken: a
    /// reference to one of them is not "unknown" (that would be a second,
    /// misleading error for one mistake).
    broken: HashSet<String>,
    /// `[vars]`, for checking `vars.NAME` in templates.
    vars: toml::Table,
    /// `[pipeline] python`, for `python` steps.
    python: Option<Spanned<String>>,
}

/// A step or plot before references are resolved.
struct Entry {
    raw: EntryRaw,
    span: Range<usize>,
}

enum EntryRaw {
    Step(RawStep),
    Plot(RawPlot),
}

impl Entry {
    fn name(&self) -> &Spanned<String> {
        match &self.raw {
            EntryRaw::Step(s) => &s.name,
            EntryRaw::Plot(p) => &p.name,
        }
    }

    fn kind(&self) -> StepKind {
        match self.raw {
            EntryRaw::Step(_) => StepKind::Step,
            EntryRaw::Plot(_) => StepKind::Plot,
        }
    }

    fn fanouts(&self) -> [(Fanout, Option<&Spanned<String>>); 3] {
        let (each, batch, all) = match &self.raw {
            EntryRaw::Step(s) => (&s.each, &s.batch, &s.all),
            EntryRaw::Plot(p) => (&p.each, &p.batch, &p.all),
        };
        [
            (Fanout::Each, each.as_ref()),
            (Fanout::Batch, batch.as_ref()),
            (Fanout::All, all.as_ref()),
        ]
    }

    fn has_out(&self) -> bool {
        match &self.raw {
            EntryRaw::Step(s) => s.out.is_some(),
            EntryRaw::Plot(p) => p.out.is_some(),
        }
    }

    fn section(&self) -> &'static str {
        match self.raw {
            EntryRaw::Step(_) => "step",
            EntryRaw::Plot(_) => "plot",
        }
    }
}

/// What a name in the one namespace refers to.
#[derive(Clone, Copy)]
enum Named {
    Input(usize),
    Entry(usize),
}

impl<'t> Checker<'t> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::new(span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn pipeline(&mut self, source: &Source) -> Option<Pipeline> {
        let (doc, errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            for error in errors {
                let span = error.span().unwrap_or(0..0);
                let found = self.text.get(span.clone()).unwrap_or("").trim();
                let (message, hint) = syntax_message(error.message().trim(), found);
                self.error(span, message).hint = hint;
            }
            return None;
        }
        let doc = doc.into_inner();

        let mut raw_pipeline = RawPipeline::default();
        let mut vars = toml::Table::new();
        let mut inputs: Vec<(Spanned<String>, RawInput, Range<usize>)> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();

        let top_fields = field_names::<RawFile>();
        for (key, value) in doc.iter() {
            match key.get_ref().as_ref() {
                "pipeline" => {
                    if let Some(p) = self.section::<RawPipeline>(value, "`[pipeline]`") {
                        raw_pipeline = p;
                    }
                }
                "vars" => {
                    if let Some(v) = self.section::<toml::Table>(value, "`[vars]`") {
                        vars = v;
                    }
                }
                "inputs" => match value.get_ref() {
                    DeValue::Table(sets) => {
                        for (name, set) in sets.iter() {
                            let what = format!("`[inputs.{}]`", name.get_ref());
                            if let Some(raw) = self.section::<RawInput>(set, &what) {
                                let name = Spanned::new(name.span(), name.get_ref().to_string());
                                inputs.push((name, raw, set.span()));
                            } else {
                                self.broken.insert(name.get_ref().to_string());
                            }
                        }
                    }
                    other => {
                        self.type_error(value.span(), "`inputs`", "a table of input sets", other)
                    }
                },
                "steps" | "plots" => {
                    let is_step = key.get_ref() == "steps";
                    match value.get_ref() {
                        DeValue::Array(items) => {
                            for (index, item) in items.iter().enumerate() {
                                let declared = declared_name(item);
                                let what = entry_label(is_step, declared, index);
                                let entry = if is_step {
                                    self.section::<RawStep>(item, &what).map(EntryRaw::Step)
                                } else {
                                    self.section::<RawPlot>(item, &what).map(EntryRaw::Plot)
                                };
                                match entry {
                                    Some(raw) => entries.push(Entry {
                                        raw,
                                        span: item.span(),
                                    }),
                                    None => {
                                        if let Some(name) = declared {
                                            self.broken.insert(name.to_owned());
                                        }
                                    }
                                }
                            }
                        }
                        other => self.type_error(
                            value.span(),
                            if is_step { "`steps`" } else { "`plots`" },
                            "an array of tables (`[[steps]]`)",
                            other,
                        ),
                    }
                }
                other => {
                    let hint = did_you_mean(other, top_fields.iter().copied());
                    self.error(key.span(), format!("unknown section `{other}`"))
                        .hint =
                        Some(hint.unwrap_or_else(|| {
                            format!("known sections: {}", top_fields.join(", "))
                        }));
                }
            }
        }

        self.vars = vars.clone();
        self.python = raw_pipeline.python.clone();
        let file_dir = match source.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = match &raw_pipeline.name {
            Some(name) => {
                self.check_name(name, "pipeline");
                name.get_ref().clone()
            }
            None => source
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "pipeline".to_owned()),
        };
        if let Some(version) = &raw_pipeline.format_version
            && *version.get_ref() > FORMAT_VERSION
        {
            self.error(
                version.span(),
                format!(
                    "this file has format_version {}, but this runner knows format {} at most",
                    version.get_ref(),
                    FORMAT_VERSION
                ),
            )
            .hint = Some("upgrade runner to read it".to_owned());
        }
        let root = self.root(&file_dir, raw_pipeline.root.as_ref());
        let out_dir = match &raw_pipeline.out {
            Some(out) => {
                let p = normalize(Path::new(out.get_ref()));
                if p.as_os_str().is_empty() || p == Path::new(".") {
                    self.error(out.span(), "`out` cannot be the root folder itself")
                        .hint = Some("use a folder such as `build`".to_owned());
                }
                if p.starts_with("..") {
                    self.error(out.span(), "`out` must stay inside `root`");
                }
                p
            }
            None => PathBuf::from("out"),
        };
        let jobs = match raw_pipeline.jobs.as_ref().map(|j| *j.get_ref()) {
            None | Some(Jobs::Auto) => None,
            Some(Jobs::Count(n)) => Some(n as usize),
        };
        let env: Vec<(String, String)> = raw_pipeline
            .env
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let state_dir = match &raw_pipeline.state {
            Some(state) => normalize(Path::new(state.get_ref())),
            None => Path::new(".runner").join(&name),
        };
        let on_failure = match &raw_pipeline.on_failure {
            Some(argv) if argv.get_ref().is_empty() => {
                self.error(argv.span(), "`on_failure` needs a command");
                Vec::new()
            }
            Some(argv) => argv.get_ref().iter().map(|a| a.get_ref().clone()).collect(),
            None => Vec::new(),
        };

        // The one namespace of inputs, steps and plots.
        let mut names: HashMap<String, (Named, Range<usize>)> = HashMap::new();
        let mut input_sets = Vec::new();
        for (name, raw, _) in inputs {
            self.check_name(&name, "input set");
            if let Some(set) = self.input_set(name.get_ref(), raw) {
                names.insert(
                    name.get_ref().clone(),
                    (Named::Input(input_sets.len()), name.span()),
                );
                input_sets.push(set);
            } else {
                self.broken.insert(name.get_ref().clone());
            }
        }
        for (i, entry) in entries.iter().enumerate() {
            let name = entry.name().clone();
            self.check_name(&name, entry.section());
            if let Some((_, first)) = names.get(name.get_ref()) {
                let (line, _) = crate::diag::line_col(self.text, first.start);
                let d = self.error(
                    name.span(),
                    format!("the name `{}` is used twice", name.get_ref()),
                );
                d.hint = Some(format!(
                    "inputs, steps and plots share one namespace; the first is on line {line}"
                ));
                d.labels.push((first.clone(), "first used here".to_owned()));
                continue;
            }
            names.insert(name.get_ref().clone(), (Named::Entry(i), name.span()));
        }

        // Resolve each entry's single reference (suggestions include the
        // names of broken sections: `claen` is still a typo of `clean`).
        let known: Vec<String> = names.keys().chain(&self.broken).cloned().collect();
        let mut resolved: Vec<Option<(Fanout, Named, Range<usize>)>> = Vec::new();
        for entry in &entries {
            resolved.push(self.reference(entry, &names, &known, &input_sets, &entries));
        }

        // Cycles among entries, then an order where every entry follows what it reads.
        let order = self.order(&entries, &resolved)?;

        let mut templates = Templates::new();
        let mut steps: Vec<Step> = Vec::new();
        let mut new_index: HashMap<usize, usize> = HashMap::new();
        for old in order {
            let entry = &entries[old];
            let Some((fanout, named, _)) = resolved[old].clone() else {
                continue;
            };
            let upstream = match named {
                Named::Input(i) => Upstream::Inputs(i),
                Named::Entry(j) => match new_index.get(&j) {
                    Some(&n) => Upstream::Step(n),
                    None => continue, // its upstream was invalid; already reported
                },
            };
            let step = self.step(entry, fanout, upstream, &env, &root, &mut templates);
            if let Some(step) = step {
                new_index.insert(old, steps.len());
                steps.push(step);
            }
        }

        if !self.diagnostics.is_empty() {
            return None;
        }
        let root = root?;
        Some(Pipeline {
            name,
            source: source.clone(),
            root,
            out_dir,
            jobs,
            env,
            state_dir,
            on_failure,
            keep_logs: raw_pipeline.keep_logs.unwrap_or(10).max(1),
            vars: minijinja::Value::from(minijinja::value::Serde(&vars)),
            inputs: input_sets,
            steps,
            templates: Arc::new(templates),
        })
    }

    /// Deserializes one table, reporting each unknown key (with a suggestion)
    /// and then whatever serde finds wrong with the rest. Serde stops at the
    /// first wrong value, so the key holding it is dropped and the table read
    /// again until nothing is wrong: every problem of a table in one go.
    fn section<T: DeserializeOwned>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<T> {
        let fields = field_names::<T>();
        let DeValue::Table(original) = value.get_ref() else {
            self.type_error(value.span(), what, "a table", value.get_ref());
            return None;
        };
        let mut table = original.clone();
        if !fields.is_empty() {
            for (key, _) in original.iter() {
                let k: &str = key.get_ref();
                if !fields.contains(&k) {
                    let hint = did_you_mean(k, fields.iter().copied())
                        .unwrap_or_else(|| format!("known keys: {}", fields.join(", ")));
                    self.error(key.span(), format!("unknown key `{k}` in {what}"))
                        .hint = Some(hint);
                    table.remove(k);
                }
            }
        }
        // Keys suggested for unknown ones: not also reported as missing.
        let suggested: Vec<&str> = original
            .iter()
            .filter_map(|(key, _)| {
                let k: &str = key.get_ref();
                let close = fields
                    .iter()
                    .copied()
                    .filter(|f| !original.contains_key(*f));
                (!fields.contains(&k))
                    .then(|| did_you_mean_name(k, close))
                    .flatten()
            })
            .collect();
        let mut dropped: Vec<String> = Vec::new();
        loop {
            let candidate = Spanned::new(value.span(), DeValue::Table(table.clone()));
            let err = match T::deserialize(ValueDeserializer::from(candidate)) {
                Ok(v) if dropped.is_empty() => return Some(v),
                Ok(_) => return None,
                Err(err) => err,
            };
            let message = err.message().trim();
            if let Some(missing) = missing_key(message) {
                // A key dropped for a wrong value is not missing as well.
                if !dropped.iter().any(|d| d == missing) && !suggested.contains(&missing) {
                    let span = header_span(self.text, &value.span());
                    self.error(span, format!("{what} has no `{missing}`")).hint =
                        Some(format!("add `{missing} = ...`; it is required"));
                }
                return None;
            }
            let span = err.span().unwrap_or(value.span());
            // The key whose value holds the problem.
            let key = table
                .iter()
                .find(|(k, v)| {
                    let v = v.span();
                    (v.start <= span.start && span.end <= v.end) || k.span() == span
                })
                .map(|(k, _)| k.get_ref().to_string());
            let message = serde_message(message);
            let message = match &key {
                Some(key) => format!("`{key}` of {what}: {message}"),
                None => format!("{what}: {message}"),
            };
            self.error(span, message);
            match key {
                Some(key) => {
                    table.remove(key.as_str());
                    dropped.push(key);
                }
                None => return None,
            }
        }
    }

    fn type_error(&mut self, span: Range<usize>, what: &str, expected: &str, found: &DeValue<'_>) {
        self.error(
            span,
            format!(
                "expected {expected} for {what}, found {}",
                article(found.type_str())
            ),
        );
    }

    fn check_name(&mut self, name: &Spanned<String>, what: &str) {
        let n = name.get_ref();
        let ok = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !n.starts_with('.');
        if !ok {
            self.error(name.span(), format!("`{n}` cannot be the name of a {what}"))
                .hint = Some(
                "use letters, digits, `_`, `-` and `.` (names become folder names)".to_owned(),
            );
        }
    }

    fn root(&mut self, file_dir: &Path, root: Option<&Spanned<String>>) -> Option<PathBuf> {
        let (joined, span) = match root {
            Some(r) => (file_dir.join(r.get_ref()), Some(r.span())),
            None => (file_dir.to_owned(), None),
        };
        match std::fs::canonicalize(&joined) {
            Ok(p) if p.is_dir() => Some(p),
            Ok(p) => {
                let message = format!("root `{}` is not a folder", p.display());
                match span {
                    Some(span) => self.error(span, message),
                    None => {
                        self.diagnostics.push(Diagnostic::whole_file(message));
                        self.diagnostics.last_mut().expect("just pushed")
                    }
                };
                None
            }
            Err(err) => {
                let message = format!("root `{}` cannot be opened: {err}", joined.display());
                match span {
                    Some(span) => {
                        self.error(span, message).hint = Some(
                            "`root` is relative to the folder of the pipeline file".to_owned(),
                        );
                    }
                    None => self.diagnostics.push(Diagnostic::whole_file(message)),
                }
                None
            }
        }
    }

    fn input_set(&mut self, name: &str, raw: RawInput) -> Option<InputSet> {
        let before = self.diagnostics.len();
        let globs = raw.glob.get_ref().items(&raw.glob.span());
        if globs.is_empty() {
            self.error(
                raw.glob.span(),
                format!("input set `{name}` has no glob pattern"),
            );
        }
        for (pattern, span) in &globs {
            if let Err(err) = glob::Pattern::new(pattern) {
                self.error(
                    span.clone(),
                    format!("invalid glob pattern `{pattern}`: {}", err.msg),
                );
            }
        }
        let exclude: Vec<String> = match &raw.exclude {
            Some(ex) => {
                let items = ex.get_ref().items(&ex.span());
                for (pattern, span) in &items {
                    if let Err(err) = glob::Pattern::new(pattern) {
                        self.error(
                            span.clone(),
                            format!("invalid glob pattern `{pattern}`: {}", err.msg),
                        );
                    }
                }
                items.into_iter().map(|(p, _)| p).collect()
            }
            None => Vec::new(),
        };
        let batching = match (&raw.batches, &raw.batch_size) {
            (Some(_), Some(size)) => {
                self.error(
                    size.span(),
                    format!("input set `{name}` has both `batches` and `batch_size`"),
                )
                .hint = Some("keep one: `batches` fixes the count, `batch_size` the size".into());
                None
            }
            (Some(n), None) => self.positive(n, "batches").map(Batching::Count),
            (None, Some(k)) => self.positive(k, "batch_size").map(Batching::Size),
            (None, None) => None,
        };
        let min_age = raw.min_age.as_ref().and_then(|d| self.duration(d));
        (self.diagnostics.len() == before).then(|| InputSet {
            name: name.to_owned(),
            globs,
            exclude,
            batching,
            allow_empty: raw.allow_empty.unwrap_or(false),
            min_age,
        })
    }

    fn positive(&mut self, value: &Spanned<i64>, key: &str) -> Option<usize> {
        match usize::try_from(*value.get_ref()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                self.error(
                    value.span(),
                    format!("`{key}` must be at least 1, found {}", value.get_ref()),
                );
                None
            }
        }
    }

    fn duration(&mut self, value: &Spanned<String>) -> Option<Duration> {
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) => Some(d),
            Err(err) => {
                self.error(
                    value.span(),
                    format!("cannot read `{}` as a duration: {err}", value.get_ref()),
                )
                .hint = Some("write it like `90s`, `2m`, `1h 30m`".to_owned());
                None
            }
        }
    }

    fn reference(
        &mut self,
        entry: &Entry,
        names: &HashMap<String, (Named, Range<usize>)>,
        known: &[String],
        input_sets: &[InputSet],
        entries: &[Entry],
    ) -> Option<(Fanout, Named, Range<usize>)> {
        let given: Vec<(Fanout, &Spanned<String>)> = entry
            .fanouts()
            .into_iter()
            .filter_map(|(f, r)| r.map(|r| (f, r)))
            .collect();
        let name = entry.name().get_ref();
        let section = entry.section();
        let (fanout, reference) = match given.as_slice() {
            [] => {
                self.error(
                    entry.name().span(),
                    format!("{section} `{name}` has none of `each`, `batch`, `all`"),
                )
                .hint = Some(
                    "add `each = \"SET\"` (one task per file), `batch = \"SET\"` or `all = \"SET\"`"
                        .to_owned(),
                );
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                self.error(
                    second.1.span(),
                    format!(
                        "{section} `{name}` has both `{}` and `{}`",
                        first.0.keyword(),
                        second.0.keyword()
                    ),
                )
                .hint = Some("a step reads with exactly one of `each`, `batch`, `all`".into());
                return None;
            }
        };
        let target = reference.get_ref();
        let Some((named, _)) = names.get(target) else {
            if self.broken.contains(target) {
                return None; // declared, and its own problem is reported
            }
            let hint = did_you_mean(target, known.iter().map(String::as_str)).or_else(|| {
                let mut all: Vec<&str> = known.iter().map(String::as_str).collect();
                all.sort();
                Some(format!("known names: {}", all.join(", ")))
            });
            self.error(
                reference.span(),
                format!("{section} `{name}` reads unknown name `{target}`"),
            )
            .hint = hint;
            return None;
        };
        match (*named, fanout) {
            (Named::Input(i), Fanout::Batch) if input_sets[i].batching.is_none() => {
                self.error(
                    reference.span(),
                    format!(
                        "{section} `{name}` batches input set `{target}`, which has no batches"
                    ),
                )
                .hint = Some(format!(
                    "add `batches = N` or `batch_size = N` to `[inputs.{target}]`"
                ));
                None
            }
            (Named::Entry(_), Fanout::Batch) => {
                self.error(
                    reference.span(),
                    format!("`batch` must name an input set, and `{target}` is a step"),
                )
                .hint = Some("use `each` or `all` to read another step's outputs".into());
                None
            }
            (Named::Entry(j), _) if !entries[j].has_out() => {
                self.error(
                    reference.span(),
                    format!("{section} `{name}` reads `{target}`, which has no `out`"),
                )
                .hint = Some(format!(
                    "give `{target}` an `out` so there is something to read"
                ));
                None
            }
            _ => Some((fanout, *named, reference.span())),
        }
    }

    /// Orders entries so that each follows what it reads; reports cycles.
    fn order(
        &mut self,
        entries: &[Entry],
        resolved: &[Option<(Fanout, Named, Range<usize>)>],
    ) -> Option<Vec<usize>> {
        let upstream_of = |i: usize| match resolved[i] {
            Some((_, Named::Entry(j), _)) => Some(j),
            _ => None,
        };
        // Each entry has at most one upstream entry, so a cycle is found by
        // walking up from every entry.
        let mut reported = vec![false; entries.len()];
        for start in 0..entries.len() {
            let mut path = vec![start];
            let mut current = start;
            while let Some(next) = upstream_of(current) {
                if let Some(pos) = path.iter().position(|&p| p == next) {
                    let cycle: Vec<usize> = path[pos..].to_vec();
                    if cycle.iter().all(|&c| !reported[c]) {
                        for &c in &cycle {
                            reported[c] = true;
                        }
                        // Walking up gives downstream -> upstream; show data flow
                        // (upstream -> downstream), starting at the first in the file.
                        let mut flow: Vec<usize> = cycle.iter().rev().copied().collect();
                        let first = *flow.iter().min().expect("non-empty");
                        let rot = flow.iter().position(|&c| c == first).expect("member");
                        flow.rotate_left(rot);
                        flow.push(first);
                        let shown: Vec<&str> = flow
                            .iter()
                            .map(|&c| entries[c].name().get_ref().as_str())
                            .collect();
                        let span = resolved[first]
                            .as_ref()
                            .map_or(entries[first].span.clone(), |r| r.2.clone());
                        self.error(span, format!("steps form a cycle: {}", shown.join(" -> ")))
                            .hint = Some(
                            "a step can only read inputs or steps that do not read it".to_owned(),
                        );
                    }
                    break;
                }
                path.push(next);
                current = next;
            }
        }
        if reported.iter().any(|&r| r) {
            return None;
        }
        // Depth first from each entry in file order: upstream before downstream.
        let mut order = Vec::with_capacity(entries.len());
        let mut placed = vec![false; entries.len()];
        for start in 0..entries.len() {
            let mut chain = vec![start];
            let mut current = start;
            while let Some(up) = upstream_of(current) {
                chain.push(up);
                current = up;
            }
            for &i in chain.iter().rev() {
                if !placed[i] {
                    placed[i] = true;
                    order.push(i);
                }
            }
        }
        Some(order)
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        entry: &Entry,
        fanout: Fanout,
        upstream: Upstream,
        pipeline_env: &[(String, String)],
        root: &Option<PathBuf>,
        templates: &mut Templates,
    ) -> Option<Step> {
        let before = self.diagnostics.len();
        let name = entry.name().get_ref().clone();
        let section = entry.section();
        let (out, deps, env) = match &entry.raw {
            EntryRaw::Step(s) => (s.out.as_ref(), s.deps.as_ref(), s.env.clone()),
            EntryRaw::Plot(p) => (p.out.as_ref(), p.deps.as_ref(), None),
        };

        let mut outs = Vec::new();
        let outs_span = out.map_or(entry.span.clone(), |o| o.span());
        if let Some(out) = out {
            let items = out.get_ref().items(&out.span());
            if items.is_empty() {
                self.error(
                    out.span(),
                    format!("`out` of {section} `{name}` is an empty list"),
                );
            }
            for (i, (text, span)) in items.into_iter().enumerate() {
                let id = format!("{section}s.{name}.out.{i}");
                if let Some(t) = self.template(templates, id, text, span, fanout, Use::Out) {
                    outs.push(t);
                }
            }
        }

        let action = match &entry.raw {
            EntryRaw::Step(s) => self.step_action(s, fanout, templates),
            EntryRaw::Plot(p) => {
                if p.out.is_none() {
                    self.error(entry.name().span(), format!("plot `{name}` has no `out`"))
                        .hint = Some("add e.g. `out = \"plots/{{ key }}.svg\"`".to_owned());
                }
                self.plot_spec(p, fanout, root, templates)
                    .map(|spec| Action::Plot(Arc::new(spec)))
            }
        };

        let mut stdout_to_out = false;
        let mut timeout = None;
        let mut retries = 0;
        let mut threads = 1;
        if let EntryRaw::Step(s) = &entry.raw {
            if let Some(flag) = &s.stdout
                && *flag.get_ref()
            {
                stdout_to_out = true;
                if s.use_.is_some() || s.python.is_some() || s.worker.is_some() {
                    self.error(
                        flag.span(),
                        "`stdout = true` needs a `run` or `shell` command",
                    );
                } else if outs.len() != 1 {
                    self.error(
                        flag.span(),
                        format!(
                            "`stdout = true` needs exactly one `out`, and step `{name}` has {}",
                            outs.len()
                        ),
                    );
                }
            }
            if let Some(with) = &s.with
                && s.use_.is_none()
                && s.python.is_none()
                && s.worker.is_none()
            {
                self.error(
                    with.span(),
                    "`with` gives options to a built-in step (`use`) or arguments to a call (`python`, `worker`)",
                );
            }
            if let Some(max) = &s.max_tasks_per_worker
                && s.python.is_none()
                && s.worker.is_none()
            {
                self.error(
                    max.span(),
                    "`max_tasks_per_worker` is for `python` and `worker` steps",
                );
            }
            timeout = s.timeout.as_ref().and_then(|t| self.duration(t));
            if let Some(r) = &s.retries {
                match u32::try_from(*r.get_ref()) {
                    Ok(n) => retries = n,
                    Err(_) => {
                        self.error(
                            r.span(),
                            format!("`retries` must be 0 or more, found {}", r.get_ref()),
                        );
                    }
                }
            }
            if let Some(t) = &s.threads {
                threads = self.positive(t, "threads").unwrap_or(1);
            }
        }

        let deps = deps
            .map(|d| {
                let items = d.get_ref().items(&d.span());
                for (pattern, span) in &items {
                    if let Err(err) = glob::Pattern::new(pattern) {
                        self.error(
                            span.clone(),
                            format!("invalid glob pattern `{pattern}`: {}", err.msg),
                        );
                    }
                }
                items.into_iter().map(|(p, _)| p).collect()
            })
            .unwrap_or_default();

        let mut merged_env: BTreeMap<String, String> = pipeline_env.iter().cloned().collect();
        merged_env.extend(env.unwrap_or_default());

        let action = action?;
        (self.diagnostics.len() == before).then(|| Step {
            name,
            kind: entry.kind(),
            fanout,
            upstream,
            action,
            outs,
            outs_span,
            stdout_to_out,
            deps,
            timeout,
            retries,
            env: Arc::new(merged_env.into_iter().collect()),
            threads,
        })
    }

    fn step_action(
        &mut self,
        s: &RawStep,
        fanout: Fanout,
        templates: &mut Templates,
    ) -> Option<Action> {
        let name = s.name.get_ref();
        let given: Vec<(&str, Range<usize>)> = [
            s.run.as_ref().map(|r| ("run", r.span())),
            s.shell.as_ref().map(|r| ("shell", r.span())),
            s.use_.as_ref().map(|r| ("use", r.span())),
            s.python.as_ref().map(|r| ("python", r.span())),
            s.worker.as_ref().map(|r| ("worker", r.span())),
        ]
        .into_iter()
        .flatten()
        .collect();
        match given.as_slice() {
            [] => {
                self.error(
                    s.name.span(),
                    format!("step `{name}` has none of `run`, `shell`, `use`, `python`, `worker`"),
                )
                .hint = Some(
                    "add `run = [\"prog\", \"{{ input }}\"]`, `shell = \"...\"`, `use = \"csv.stats\"` or `python = \"scripts/x.py:function\"`"
                        .to_owned(),
                );
                return None;
            }
            [_] => {}
            [first, second, ..] => {
                self.error(
                    second.1.clone(),
                    format!("step `{name}` has both `{}` and `{}`", first.0, second.0),
                )
                .hint = Some(
                    "a step does exactly one of `run`, `shell`, `use`, `python`, `worker`"
                        .to_owned(),
                );
                return None;
            }
        }
        if s.python.is_some() || s.worker.is_some() {
            return self.call_action(s, fanout, templates);
        }
        if let Some(run) = &s.run {
            if run.get_ref().is_empty() {
                self.error(
                    run.span(),
                    format!("`run` of step `{name}` is an empty list"),
                )
                .hint = Some(
                    "give the program and its arguments: `run = [\"wc\", \"-l\", \"{{ input }}\"]`"
                        .into(),
                );
                return None;
            }
            let mut argv = Vec::new();
            for (i, arg) in run.get_ref().iter().enumerate() {
                let id = format!("steps.{name}.run.{i}");
                if let Some(t) = self.template(
                    templates,
                    id,
                    arg.get_ref().clone(),
                    arg.span(),
                    fanout,
                    Use::Action,
                ) {
                    argv.push(t);
                }
            }
            return (argv.len() == run.get_ref().len()).then_some(Action::Run(argv));
        }
        if let Some(shell) = &s.shell {
            let id = Templates::shell_id(name);
            return self
                .template(
                    templates,
                    id,
                    shell.get_ref().clone(),
                    shell.span(),
                    fanout,
                    Use::Action,
                )
                .map(Action::Shell);
        }
        let builtin = s.use_.as_ref().expect("one of run/shell/use");
        let builtin_name = builtin.get_ref();
        if !crate::steps::is_builtin(builtin_name) {
            let known = crate::steps::names();
            self.error(
                builtin.span(),
                format!("unknown built-in step `{builtin_name}`"),
            )
            .hint = Some(
                did_you_mean(builtin_name, known.iter().copied())
                    .unwrap_or_else(|| format!("built-in steps: {}", known.join(", "))),
            );
            return None;
        }
        let options = s
            .with
            .as_ref()
            .map(|w| w.get_ref().clone())
            .unwrap_or_default();
        if let Err(message) = crate::steps::check_options(builtin_name, &options) {
            let span = s.with.as_ref().map_or(builtin.span(), |w| w.span());
            self.error(span, message);
            return None;
        }
        Some(Action::Builtin {
            name: builtin_name.clone(),
            options: Arc::new(options),
        })
    }

    fn plot_spec(
        &mut self,
        p: &RawPlot,
        fanout: Fanout,
        root: &Option<PathBuf>,
        templates: &mut Templates,
    ) -> Option<PlotSpec> {
        let before = self.diagnostics.len();
        let name = p.name.get_ref();
        let template = match &p.template {
            None => PlotTemplate::Builtin("line".to_owned()),
            Some(t) if BUILTIN_PLOT_TEMPLATES.contains(&t.get_ref().as_str()) => {
                PlotTemplate::Builtin(t.get_ref().clone())
            }
            Some(t) => {
                let text = t.get_ref();
                let looks_like_path = text.contains('/') || text.contains('.');
                let path = PathBuf::from(text);
                let exists = root.as_ref().is_none_or(|r| r.join(&path).is_file());
                if !looks_like_path {
                    self.error(t.span(), format!("unknown plot template `{text}`"))
                        .hint = Some(
                        did_you_mean(text, BUILTIN_PLOT_TEMPLATES.iter().copied()).unwrap_or_else(
                            || {
                                format!(
                                    "built-in templates: {}; or give a path to a .j2 file",
                                    BUILTIN_PLOT_TEMPLATES.join(", ")
                                )
                            },
                        ),
                    );
                } else if !exists {
                    self.error(
                        t.span(),
                        format!("plot template file `{text}` does not exist"),
                    )
                    .hint = Some("paths are relative to the pipeline's `root`".to_owned());
                }
                PlotTemplate::File(path)
            }
        };
        let mut text_template = |this: &mut Self, key: &str, value: &Option<Spanned<String>>| {
            value.as_ref().and_then(|v| {
                this.template(
                    templates,
                    format!("plots.{name}.{key}"),
                    v.get_ref().clone(),
                    v.span(),
                    fanout,
                    Use::Action,
                )
            })
        };
        let title = text_template(self, "title", &p.title);
        let x_label = text_template(self, "x_label", &p.x_label);
        let y_label = text_template(self, "y_label", &p.y_label);
        let y = match &p.y {
            Some(y) => {
                let items = y.get_ref().items(&y.span());
                if items.is_empty() {
                    self.error(y.span(), format!("`y` of plot `{name}` is an empty list"))
                        .hint = Some("name columns, or `\"*\"` for every numeric column".into());
                }
                for (pattern, span) in &items {
                    if let Err(err) = glob::Pattern::new(pattern) {
                        self.error(
                            span.clone(),
                            format!("invalid column pattern `{pattern}`: {}", err.msg),
                        );
                    }
                }
                items.into_iter().map(|(s, _)| s).collect()
            }
            None => vec!["*".to_owned()],
        };
        let size = |this: &mut Self, v: &Option<Spanned<i64>>, key: &str, default: u32| match v {
            Some(v) => match u32::try_from(*v.get_ref()) {
                Ok(n) if (16..=20_000).contains(&n) => n,
                _ => {
                    this.error(
                        v.span(),
                        format!("`{key}` must be between 16 and 20000 pixels"),
                    );
                    default
                }
            },
            None => default,
        };
        let width = size(self, &p.width, "width", 800);
        let height = size(self, &p.height, "height", 450);
        let max_series = p
            .max_series
            .as_ref()
            .and_then(|m| self.positive(m, "max_series"))
            .unwrap_or(10);
        let bins = p
            .bins
            .as_ref()
            .and_then(|b| self.positive(b, "bins"))
            .unwrap_or(30);
        let format = p.format.as_ref().and_then(|f| {
            let format = crate::table::Format::from_name(f.get_ref());
            if format.is_none() {
                self.error(f.span(), format!("unknown table format `{}`", f.get_ref()))
                    .hint = Some(format!(
                    "known formats: {}",
                    crate::table::Format::NAMES.join(", ")
                ));
            }
            format
        });
        // Options that mean nothing for the chosen template are mistakes.
        if let PlotTemplate::Builtin(kind) = &template {
            if kind == "hist"
                && let Some(x) = &p.x
            {
                self.error(x.span(), "a `hist` plot has no `x` column").hint =
                    Some("it counts the values of the `y` columns in `bins` bins".into());
            }
            if kind == "bar" && p.x_log == Some(true) {
                self.error(
                    p.name.span(),
                    format!("plot `{name}`: `x_log` means nothing for a `bar` plot, whose x axis is categories"),
                );
            }
            if kind != "hist"
                && let Some(b) = &p.bins
            {
                self.error(
                    b.span(),
                    format!("`bins` is for `hist` plots, and `{name}` is a `{kind}` plot"),
                );
            }
        }
        (self.diagnostics.len() == before).then(|| PlotSpec {
            template,
            x: p.x.as_ref().map(|x| x.get_ref().clone()),
            y,
            max_series,
            title,
            x_label,
            y_label,
            width,
            height,
            x_log: p.x_log.unwrap_or(false),
            y_log: p.y_log.unwrap_or(false),
            y_zero: p.y_zero.unwrap_or(false),
            bins,
            skip_empty: p.skip_empty.unwrap_or(false),
            format,
        })
    }

    /// Compiles one template string and checks the names it reads and the
    /// filters and tests it uses; every problem points into the string.
    fn template(
        &mut self,
        templates: &mut Templates,
        id: String,
        text: String,
        span: Range<usize>,
        fanout: Fanout,
        usage: Use,
    ) -> Option<Tmpl> {
        let map = ValueMap::new(self.text, &span, &text);
        let locate = |range: Option<Range<usize>>| match (&map, range) {
            (Some(map), Some(range)) if range.end <= text.len() => map.range(range),
            _ => span.clone(),
        };
        if let Err(err) = templates.add(&id, &text) {
            let detail = err
                .detail()
                .map(str::to_owned)
                .unwrap_or_else(|| err.kind().to_string());
            self.error(
                locate(err.range()),
                format!("template syntax error: {detail}"),
            )
            .hint = Some("templates are minijinja (Jinja2): `{{ name }}`, `{% if ... %}`".into());
            return None;
        }
        let before = self.diagnostics.len();
        let allowed = allowed_names(fanout, usage);
        for name in templates.unknown_names(&id, fanout, usage) {
            let at = locate(find_word(&text, &name));
            let listing = format!(
                "(a task of `{}` has: {})",
                fanout.keyword(),
                allowed.join(", ")
            );
            let (message, hint) = if matches!(name.as_str(), "out" | "outs") && usage == Use::Out {
                (
                    "`out` cannot refer to itself".to_owned(),
                    format!("build the path from the task's names {listing}"),
                )
            } else {
                let hint = match did_you_mean(&name, allowed.iter().copied()) {
                    Some(h) => format!("{h} {listing}"),
                    None => listing,
                };
                (format!("template uses unknown variable `{name}`"), hint)
            };
            self.error(at, message).hint = Some(hint);
        }
        for dotted in templates.attribute_names(&id) {
            let mut parts = dotted.split('.');
            let (Some(object), Some(attribute)) = (parts.next(), parts.next()) else {
                continue;
            };
            if !allowed.contains(&object) {
                continue; // reported above
            }
            let known: Vec<&str> = match object {
                "vars" => self.vars.keys().map(String::as_str).collect(),
                other => match known_attributes(other) {
                    Some(known) => known.to_vec(),
                    None => continue,
                },
            };
            if known.contains(&attribute) {
                continue;
            }
            let shown = format!("{object}.{attribute}");
            let at = locate(find_word(&text, &shown).or_else(|| find_word(&text, attribute)));
            let listing = if known.is_empty() {
                format!("`{object}` has no names")
            } else {
                format!("`{object}` has: {}", known.join(", "))
            };
            let hint = match did_you_mean(attribute, known.iter().copied()) {
                Some(h) => format!("{h} ({listing})"),
                None if object == "vars" => format!("{listing}; add it to `[vars]`"),
                None => listing,
            };
            self.error(at, format!("template uses unknown variable `{shown}`"))
                .hint = Some(hint);
        }
        if self.diagnostics.len() > before {
            return None;
        }
        let vars = minijinja::Value::from(minijinja::value::Serde(&self.vars));
        if let Some(unknown) = templates.unknown_callable(&id, &vars) {
            let at = locate(
                find_word(&text, &unknown.name)
                    .filter(|r| unknown.range.as_ref().is_none_or(|u| u.start <= r.start))
                    .or(unknown.range),
            );
            let hint = did_you_mean(&unknown.name, unknown.known.iter().copied())
                .unwrap_or_else(|| format!("{}s: {}", unknown.kind, unknown.known.join(", ")));
            self.error(
                at,
                format!("template uses unknown {} `{}`", unknown.kind, unknown.name),
            )
            .hint = Some(hint);
            return None;
        }
        Some(Tmpl { id, text, span })
    }
}

/// A TOML syntax error in the file's words, with a fix where the parser's
/// message alone does not say it.
fn syntax_message(message: &str, found: &str) -> (String, Option<String>) {
    let hint = if message.starts_with("string values must be quoted") {
        if found.is_empty() {
            return (
                "invalid TOML: a value is missing".to_owned(),
                Some(
                    "write a value after `=`, e.g. `\"text\"`, `3` or `[\"a\", \"b\"]`".to_owned(),
                ),
            );
        }
        Some(format!("quote it: `\"{found}\"`"))
    } else if message.starts_with("duplicate key") {
        Some("a key can be set only once in a table".to_owned())
    } else if message.starts_with("invalid basic string")
        || message.starts_with("invalid literal string")
    {
        Some(
            "close the string on this line, or use `\"\"\"` for text over several lines".to_owned(),
        )
    } else {
        None
    };
    (format!("invalid TOML: {message}"), hint)
}

/// The `name` a `[[steps]]` / `[[plots]]` table declares, if it is a string.
fn declared_name<'a>(item: &'a Spanned<DeValue<'_>>) -> Option<&'a str> {
    match item.get_ref() {
        DeValue::Table(table) => match table.get("name").map(Spanned::get_ref) {
            Some(DeValue::String(name)) => Some(name.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// How messages name a `[[steps]]` / `[[plots]]` entry: by its name, or by
/// its position when it has none.
fn entry_label(is_step: bool, name: Option<&str>, index: usize) -> String {
    let section = if is_step { "step" } else { "plot" };
    match name {
        Some(name) => format!("{section} `{name}`"),
        None => format!("`[[{section}s]]` number {}", index + 1),
    }
}

/// The key serde says is missing ("missing field `name`").
fn missing_key(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// The first line of a multi-line span (the table header), where a
/// problem of the whole table is shown.
fn header_span(text: &str, span: &Range<usize>) -> Range<usize> {
    let body = text.get(span.clone()).unwrap_or("");
    let line = body.find('\n').map_or(body, |end| &body[..end]);
    let line = line.trim_end();
    if line.is_empty() {
        span.start..span.start
    } else {
        span.start..span.start + line.len()
    }
}

/// "integer" -> "an integer".
fn article(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

/// Rewrites serde's "invalid type: integer `3`, expected a string" as
/// "expected a string, found an integer", in TOML words (the caret already
/// shows the value).
fn serde_message(message: &str) -> String {
    let message = message.trim();
    for (prefix, is_type) in [("invalid type: ", true), ("invalid value: ", false)] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let expected = toml_words(expected);
            let kind = found.split([' ', '`', '"']).next().unwrap_or(found);
            let found = if is_type {
                match kind {
                    "floating" => "a float".to_owned(),
                    "sequence" => "an array".to_owned(),
                    "map" => "a table".to_owned(),
                    other => article(other),
                }
            } else {
                // `string "many"` -> `"many"`, `integer `-1`` -> `-1`.
                let value = found.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == ' ');
                if value.is_empty() {
                    found.to_owned()
                } else {
                    value.to_owned()
                }
            };
            return format!("expected {expected}, found {found}");
        }
    }
    message.to_owned()
}

/// Serde's and Rust's names of what was expected, as TOML users say them.
fn toml_words(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "an integer of 0 or more".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a table".to_owned(),
        "a borrowed string" => "a string".to_owned(),
        other if other.starts_with("struct ") => "a table".to_owned(),
        other => other.to_owned(),
    }
}

/// Byte range of `word` in `text` as a whole identifier.
fn find_word(text: &str, word: &str) -> Option<Range<usize>> {
    if word.is_empty() {
        return None;
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = text[from..].find(word) {
        let start = from + pos;
        let end = start + word.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_ident(c));
        if before_ok && after_ok {
            return Some(start..end);
        }
        from = end;
    }
    None
}

/// Lexically normalizes a path: drops `.`, folds `a/..`; keeps leading `..`.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_read_like_toml() {
        assert_eq!(
            serde_message("invalid type: integer `3`, expected a string or a list of strings"),
            "expected a string or a list of strings, found an integer"
        );
        assert_eq!(
            serde_message("invalid type: string \"x\", expected i64"),
            "expected an integer, found a string"
        );
        assert_eq!(
            serde_message("invalid type: floating point `1.5`, expected a sequence"),
            "expected a list, found a float"
        );
        assert_eq!(
            serde_message("invalid value: integer `-1`, expected u32"),
            "expected an integer of 0 or more, found `-1`"
        );
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("a/../../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("/a/../../x")), PathBuf::from("/x"));
    }

    #[test]
    fn words() {
        assert_eq!(find_word("{{ inputs }} {{ input }}", "input"), Some(16..21));
    }
}
