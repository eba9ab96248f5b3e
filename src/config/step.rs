//! `[[steps]]` (and what plots share with them: `out`, `deps`): the action
//! (exactly one of `run`, `shell`, `use`, `python`, `worker`; call.rs checks
//! the last two), its templates, and the task settings (`stdout`, `timeout`,
//! `retries`, `threads`, `env`); where it runs (`time`, `mem`, `executor`) is
//! checked in executor.rs.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use super::namespace::{Named, RawEntry, RawKind, Reference};
use super::raw::RawStep;
use super::validate::Checker;
use super::{Action, BuiltinStep, Fanout, Step, Tmpl, Upstream, WithValue};
use crate::diag::did_you_mean;
use crate::template::{Templates, Use};

impl Checker<'_> {
    /// Every valid entry as a `Step`, in `order` (upstream first); an entry
    /// whose upstream is invalid is left out (its problem is reported).
    pub(super) fn steps(
        &mut self,
        entries: &[RawEntry],
        resolved: &[Option<Reference>],
        order: Vec<usize>,
        pipeline_env: &[(String, String)],
        root: Option<&PathBuf>,
        templates: &mut Templates,
    ) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        let mut new_index: HashMap<usize, usize> = HashMap::new();
        for old in order {
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
            let step = self.step(
                &entries[old],
                fanout,
                upstream,
                pipeline_env,
                root,
                templates,
            );
            if let Some(step) = step {
                new_index.insert(old, steps.len());
                steps.push(step);
            }
        }
        steps
    }

    fn step(
        &mut self,
        entry: &RawEntry,
        fanout: Fanout,
        upstream: Upstream,
        pipeline_env: &[(String, String)],
        root: Option<&PathBuf>,
        templates: &mut Templates,
    ) -> Option<Step> {
        let before = self.diagnostics.len();
        let name = entry.name().get_ref().clone();
        let section = entry.section();
        let (out, deps, env) = match &entry.raw {
            RawKind::Step(s) => (s.out.as_ref(), s.deps.as_ref(), s.env.clone()),
            RawKind::Plot(p) => (p.out.as_ref(), p.deps.as_ref(), None),
        };
        let placement = match &entry.raw {
            RawKind::Step(s) => {
                self.placement(s.time.as_ref(), s.mem.as_ref(), s.executor.as_ref())
            }
            RawKind::Plot(p) => {
                self.placement(p.time.as_ref(), p.mem.as_ref(), p.executor.as_ref())
            }
        };

        let mut outs = Vec::new();
        let outs_span = out.map_or(entry.span.clone(), toml::Spanned::span);
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
            RawKind::Step(s) => self.step_action(s, fanout, templates),
            RawKind::Plot(p) => {
                if p.out.is_none() {
                    self.error(entry.name().span(), format!("plot `{name}` has no `out`"))
                        .hint = Some("add e.g. `out = \"plots/{{ key }}.svg\"`".to_owned());
                }
                self.plot_spec(p, fanout, root, templates)
                    .map(|spec| Action::Plot(Arc::new(spec)))
            }
        };

        let settings = match &entry.raw {
            RawKind::Step(s) => self.task_settings(s, outs.len()),
            RawKind::Plot(_) => TaskSettings::default(),
        };

        let deps = deps
            .map(|d| {
                self.patterns(d, "glob")
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect()
            })
            .unwrap_or_default();

        let mut merged_env: BTreeMap<String, String> = pipeline_env.iter().cloned().collect();
        merged_env.extend(env.unwrap_or_default());

        let action = action?;
        let partial = self.partial(entry, fanout, upstream, &action, &outs, templates);
        (self.diagnostics.len() == before).then(|| Step {
            name,
            kind: entry.kind(),
            fanout,
            upstream,
            action,
            outs,
            outs_span,
            stdout_to_out: settings.stdout_to_out,
            deps,
            timeout: settings.timeout,
            retries: settings.retries,
            env: Arc::new(merged_env.into_iter().collect()),
            threads: settings.threads,
            placement,
            partial,
        })
    }

    /// `partial = true`, only where upstream tasks can fail (`all` over a
    /// step); without it, no template may read `failed`.
    fn partial(
        &mut self,
        entry: &RawEntry,
        fanout: Fanout,
        upstream: Upstream,
        action: &Action,
        outs: &[Tmpl],
        templates: &Templates,
    ) -> bool {
        let flag = match &entry.raw {
            RawKind::Step(s) => s.partial.as_ref(),
            RawKind::Plot(p) => p.partial.as_ref(),
        };
        let name = entry.name().get_ref();
        let section = entry.section();
        if let Some(flag) = flag.filter(|f| *f.get_ref()) {
            let problem = match (fanout, upstream) {
                (Fanout::Each, _) => Some(
                    "an `each` task reads one upstream task: when it fails, there is nothing to run over",
                ),
                (_, Upstream::Inputs(_)) => Some(
                    "it reads an input set, whose files never fail; `partial` is for `all` over a step",
                ),
                (_, Upstream::Step(_)) => None,
            };
            if let Some(hint) = problem {
                self.error(
                    flag.span(),
                    format!(
                        "`partial` has no use on {section} `{name}` (`{}`)",
                        fanout.keyword()
                    ),
                )
                .hint = Some(hint.to_owned());
                return false;
            }
            return true;
        }
        let mut texts: Vec<&Tmpl> = outs.iter().collect();
        match action {
            Action::Run(argv) => texts.extend(argv),
            Action::Shell(script) => texts.push(script),
            Action::Plot(spec) => {
                texts.extend(
                    [&spec.title, &spec.x_label, &spec.y_label]
                        .into_iter()
                        .flatten(),
                );
            }
            Action::Call(call) => texts.extend(call.with.iter().filter_map(|(_, v)| match v {
                WithValue::Template(t) => Some(t),
                WithValue::Literal(_) => None,
            })),
            Action::Builtin(_) => {}
        }
        if let Some(t) = texts.iter().find(|t| templates.reads(&t.id, "failed")) {
            let span = t.span.clone();
            self.error(
                span,
                format!(
                    "`failed` is only known to partial steps, and {section} `{name}` is not one"
                ),
            )
            .hint = Some(
                "add `partial = true` to run over the upstream outputs that exist, with `failed` \
                 naming the upstream tasks that did not succeed"
                    .to_owned(),
            );
        }
        false
    }

    /// `stdout`, `with` without `use`, `timeout`, `retries`, `threads`.
    fn task_settings(&mut self, s: &RawStep, outs: usize) -> TaskSettings {
        let name = s.name.get_ref();
        let mut settings = TaskSettings::default();
        if let Some(flag) = &s.stdout
            && *flag.get_ref()
        {
            settings.stdout_to_out = true;
            if s.use_.is_some() || s.python.is_some() || s.worker.is_some() {
                self.error(
                    flag.span(),
                    "`stdout = true` needs a `run` or `shell` command",
                );
            } else if outs != 1 {
                self.error(
                    flag.span(),
                    format!(
                        "`stdout = true` needs exactly one `out`, and step `{name}` has {outs}"
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
        settings.timeout = s
            .timeout
            .as_ref()
            .and_then(|t| self.time_limit(t, "timeout", "no time limit"));
        if let Some(r) = &s.retries {
            match u32::try_from(*r.get_ref()) {
                Ok(n) => settings.retries = n,
                Err(_) => {
                    self.error(
                        r.span(),
                        format!("`retries` must be 0 or more, found {}", r.get_ref()),
                    );
                }
            }
        }
        if let Some(t) = &s.threads {
            settings.threads = self.positive(t, "threads").unwrap_or(1);
        }
        settings
    }

    /// Exactly one of `run`, `shell`, `use`, with its templates or options.
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
        if let Err(err) = crate::steps::check_options(builtin_name, &options) {
            let span = s.with.as_ref().map_or(builtin.span(), toml::Spanned::span);
            // Point at the key that is wrong, inside `with`.
            let span = err
                .key
                .as_deref()
                .and_then(|key| key_span(self.text, &span, key))
                .unwrap_or(span);
            self.error(span, err.message);
            return None;
        }
        Some(Action::Builtin(Arc::new(BuiltinStep {
            name: builtin_name.clone(),
            options,
        })))
    }
}

/// Where `key = ...` is written inside `within` (a table's span): the span
/// of the key and its value up to the end of the line, `None` when it
/// cannot be found (the diagnostic then points at the whole table).
fn key_span(text: &str, within: &Range<usize>, key: &str) -> Option<Range<usize>> {
    let area = text.get(within.clone())?;
    let mut from = 0;
    while let Some(found) = area[from..].find(key) {
        let start = from + found;
        let end = start + key.len();
        let before = area[..start].chars().next_back();
        let quoted = matches!(before, Some('"' | '\''));
        let at_word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        let rest = area[end..].trim_start_matches(['"', '\'']).trim_start();
        if (at_word_start || quoted) && rest.starts_with('=') {
            let key_start = if quoted { start - 1 } else { start };
            let line_end = area[end..]
                .find(['\n', ',', '}'])
                .map_or(area.len(), |i| end + i);
            let value_end = area[..line_end].trim_end().len();
            return Some(within.start + key_start..within.start + value_end);
        }
        from = end;
    }
    None
}

/// What a step (not a plot) says about running its tasks.
struct TaskSettings {
    stdout_to_out: bool,
    timeout: Option<std::time::Duration>,
    retries: u32,
    threads: usize,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            stdout_to_out: false,
            timeout: None,
            retries: 0,
            threads: 1,
        }
    }
}
