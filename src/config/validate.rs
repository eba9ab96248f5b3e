//! From TOML text to a validated `Pipeline`: the `Checker` that collects
//! every problem (so one run of `runner check` shows all of them), the order
//! of the checks, and the small checks every section shares. Each concern
//! has its own file: sections.rs (TOML and serde), settings.rs
//! (`[pipeline]`), places.rs (`out` and `state`), input_set.rs,
//! namespace.rs (names, references, cycles), step.rs, plot.rs,
//! template_check.rs, executor.rs (`[executor]`).

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::namespace::Namespace;
use super::places::Place;
use super::raw::StringOrList;
use super::{LoadError, Pipeline, Source};
use crate::diag::Diagnostic;
use crate::error::Internal;
use crate::template::Templates;

/// Parses and validates a pipeline file's text.
pub(crate) fn parse(source: Source) -> Result<Pipeline, LoadError> {
    let mut checker = Checker {
        text: &source.text,
        diagnostics: Vec::new(),
        broken: HashSet::new(),
        vars: toml::Table::new(),
        python: None,
        stand_in: None,
        checked: HashSet::new(),
    };
    let pipeline = checker.pipeline(&source);
    let mut diagnostics = checker.diagnostics;
    match pipeline {
        Some(pipeline) if diagnostics.is_empty() => Ok(pipeline),
        _ => {
            diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            if diagnostics.is_empty() {
                diagnostics.push(Diagnostic::whole_file(
                    Internal::new("the pipeline could not be loaded, and no reason was found")
                        .to_string(),
                ));
            }
            Err(LoadError {
                source,
                diagnostics,
            })
        }
    }
}

/// Collects the diagnostics of one file while its sections are checked.
pub(super) struct Checker<'t> {
    /// The file's text.
    pub(super) text: &'t str,
    /// Everything found so far.
    pub(super) diagnostics: Vec<Diagnostic>,
    /// Names declared by sections that are already reported as broken: a
    /// reference to one of them is not "unknown" (that would be a second,
    /// misleading error for one mistake).
    pub(super) broken: HashSet<String>,
    /// `[vars]`, for checking `vars.NAME` in templates.
    pub(super) vars: toml::Table,
    /// `[pipeline] python`, for `python` steps.
    pub(super) python: Option<Spanned<String>>,
    /// A task context with stand-ins for every name and the file's `[vars]`,
    /// made at the first template check.
    pub(super) stand_in: Option<minijinja::Value>,
    /// Compiled templates found good, per kind of use: a text that many
    /// steps share (`{{ input }}`) is checked once (issue 10, item 10).
    pub(super) checked: HashSet<(String, super::Fanout, crate::template::Use)>,
}

impl Checker<'_> {
    /// Records a problem at `span`; the caller may add a hint or labels.
    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::new(span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// The whole file, section by section: settings, input sets, the
    /// namespace and its references, the order of steps, then each step.
    fn pipeline(&mut self, source: &Source) -> Option<Pipeline> {
        let document = self.document()?;
        self.vars = document.vars.clone();
        self.python = document.pipeline.python.clone();
        let settings = self.settings(source, &document.pipeline);
        let executor = self.executor_settings(&document.executor);
        let report = document
            .report
            .as_ref()
            .and_then(|(raw, span)| self.report(raw, span.clone(), &settings.out_dir));

        let mut namespace = Namespace::default();
        let mut input_sets = Vec::new();
        for (name, raw) in document.inputs {
            self.check_name(&name, "input set");
            if let Some(set) = self.input_set(&name, raw) {
                namespace.declare_input(&name, input_sets.len());
                input_sets.push(set);
            } else {
                self.broken.insert(name.into_inner());
            }
        }
        if let Some(root) = &settings.root {
            let out = Place {
                key: "out",
                path: &settings.out_dir,
                span: settings.out_span.clone(),
            };
            let state = Place {
                key: "state",
                path: &settings.state_dir,
                span: settings.state_span.clone(),
            };
            self.places(root, &out, &state, &input_sets);
        }
        let entries = document.entries;
        self.declare_entries(&mut namespace, &entries);
        let resolved = self.references(&namespace, &input_sets, &entries);
        let order = self.order(&entries, &resolved)?;

        let mut templates = Templates::new();
        let steps = self.steps(
            &entries,
            &resolved,
            order,
            &settings.env,
            settings.root.as_ref(),
            &mut templates,
        );

        if !self.diagnostics.is_empty() {
            return None;
        }
        Some(Pipeline {
            name: settings.name,
            source: source.clone(),
            root: settings.root?,
            out_dir: settings.out_dir,
            jobs: settings.jobs,
            env: settings.env,
            state_dir: settings.state_dir,
            on_failure: settings.on_failure,
            on_failure_timeout: settings.on_failure_timeout,
            keep_logs: settings.keep_logs,
            lock_warning: settings.lock_warning,
            prune: settings.prune,
            report,
            vars: minijinja::Value::from(minijinja::value::Serde(&document.vars)),
            vars_table: document.vars.clone(),
            inputs: input_sets,
            steps,
            templates: Arc::new(templates),
            executor,
        })
    }

    /// Names become folder names: letters, digits, `_`, `-`, `.`, not
    /// starting with `.`.
    pub(super) fn check_name(&mut self, name: &Spanned<String>, what: &str) {
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

    /// Every string of a `glob`, `exclude`, `deps` or `y` list, each checked
    /// as a glob pattern ("invalid `kind` pattern" where it is not).
    pub(super) fn patterns(
        &mut self,
        list: &Spanned<StringOrList>,
        kind: &str,
    ) -> Vec<(String, Range<usize>)> {
        let items = list.get_ref().items(&list.span());
        for (pattern, span) in &items {
            if let Err(err) = glob::Pattern::new(pattern) {
                self.error(
                    span.clone(),
                    format!("invalid {kind} pattern `{pattern}`: {}", err.msg),
                );
            }
        }
        items
    }

    /// A count of at least 1.
    pub(super) fn positive(&mut self, value: &Spanned<i64>, key: &str) -> Option<usize> {
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

    /// A duration such as `90s` or `1h 30m`, at most a year (a longer one is
    /// surely a mistake, and would overflow a clock, issue 10 item 7).
    pub(super) fn duration(&mut self, value: &Spanned<String>) -> Option<Duration> {
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) if d > MAX_DURATION => {
                self.error(
                    value.span(),
                    format!(
                        "`{}` is longer than a year, the longest duration runner takes",
                        value.get_ref()
                    ),
                );
                None
            }
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

    /// A duration of more than zero (a time limit: `timeout`); `default`
    /// says what leaving it out means.
    pub(super) fn time_limit(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        default: &str,
    ) -> Option<Duration> {
        let d = self.duration(value)?;
        if d.is_zero() {
            self.error(value.span(), format!("`{key}` must be longer than 0"))
                .hint = Some(format!("leave it out for {default}"));
            return None;
        }
        Some(d)
    }
}

/// The longest duration a pipeline file may give: a year (humantime's `1y`).
const MAX_DURATION: Duration = Duration::from_secs(31_557_600);
