//! The one namespace of inputs, steps and plots: unique names, each step's
//! or plot's single reference (`each` / `batch` / `all`) resolved, and an
//! order in which every entry follows what it reads (cycles reported, with
//! every step on them).

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::raw::{RawPlot, RawStep};
use super::validate::Checker;
use super::{Fanout, InputSet, StepKind};
use crate::diag::did_you_mean;

/// A `[[steps]]` or `[[plots]]` table before references are resolved.
pub(super) struct RawEntry {
    /// What the table says.
    pub(super) raw: RawKind,
    /// The whole table in the file.
    pub(super) span: Range<usize>,
}

/// Which section a [`RawEntry`] comes from, with its fields.
pub(super) enum RawKind {
    /// `[[steps]]`
    Step(Box<RawStep>),
    /// `[[plots]]`
    Plot(Box<RawPlot>),
}

impl RawEntry {
    /// Its `name`.
    pub(super) fn name(&self) -> &Spanned<String> {
        match &self.raw {
            RawKind::Step(s) => &s.name,
            RawKind::Plot(p) => &p.name,
        }
    }

    /// Step or plot.
    pub(super) fn kind(&self) -> StepKind {
        match self.raw {
            RawKind::Step(_) => StepKind::Step,
            RawKind::Plot(_) => StepKind::Plot,
        }
    }

    /// `each`, `batch` and `all`, as given.
    fn fanouts(&self) -> [(Fanout, Option<&Spanned<String>>); 3] {
        let (each, batch, all) = match &self.raw {
            RawKind::Step(s) => (&s.each, &s.batch, &s.all),
            RawKind::Plot(p) => (&p.each, &p.batch, &p.all),
        };
        [
            (Fanout::Each, each.as_ref()),
            (Fanout::Batch, batch.as_ref()),
            (Fanout::All, all.as_ref()),
        ]
    }

    fn has_out(&self) -> bool {
        match &self.raw {
            RawKind::Step(s) => s.out.is_some(),
            RawKind::Plot(p) => p.out.is_some(),
        }
    }

    /// "step" or "plot", for messages.
    pub(super) fn section(&self) -> &'static str {
        match self.raw {
            RawKind::Step(_) => "step",
            RawKind::Plot(_) => "plot",
        }
    }
}

/// What a name in the one namespace refers to.
#[derive(Clone, Copy)]
pub(super) enum Named {
    /// An input set (index into the valid sets).
    Input(usize),
    /// A step or plot (index into the entries, in file order).
    Entry(usize),
}

/// A resolved reference: how the entry reads, what, and where it says so.
pub(super) type Reference = (Fanout, Named, Range<usize>);

/// Every name declared, with where it is declared.
#[derive(Default)]
pub(super) struct Namespace {
    names: HashMap<String, (Named, Range<usize>)>,
}

impl Namespace {
    /// Declares a valid input set.
    pub(super) fn declare_input(&mut self, name: &Spanned<String>, index: usize) {
        self.names
            .insert(name.get_ref().clone(), (Named::Input(index), name.span()));
    }
}

impl Checker<'_> {
    /// Declares every step and plot; a name used twice is reported at its
    /// second use, with the first.
    pub(super) fn declare_entries(&mut self, namespace: &mut Namespace, entries: &[RawEntry]) {
        for (i, entry) in entries.iter().enumerate() {
            let name = entry.name();
            self.check_name(name, entry.section());
            if let Some((_, first)) = namespace.names.get(name.get_ref()) {
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
            namespace
                .names
                .insert(name.get_ref().clone(), (Named::Entry(i), name.span()));
        }
    }

    /// Resolves each entry's single reference (suggestions include the names
    /// of broken sections: `claen` is still a typo of `clean`).
    pub(super) fn references(
        &mut self,
        namespace: &Namespace,
        input_sets: &[InputSet],
        entries: &[RawEntry],
    ) -> Vec<Option<Reference>> {
        let known: Vec<String> = namespace
            .names
            .keys()
            .chain(&self.broken)
            .cloned()
            .collect();
        entries
            .iter()
            .map(|entry| self.reference(entry, namespace, &known, input_sets, entries))
            .collect()
    }

    fn reference(
        &mut self,
        entry: &RawEntry,
        namespace: &Namespace,
        known: &[String],
        input_sets: &[InputSet],
        entries: &[RawEntry],
    ) -> Option<Reference> {
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
        let Some((named, _)) = namespace.names.get(target) else {
            if self.broken.contains(target) {
                return None; // declared, and its own problem is reported
            }
            let hint = did_you_mean(target, known.iter().map(String::as_str)).or_else(|| {
                let mut all: Vec<&str> = known.iter().map(String::as_str).collect();
                all.sort_unstable();
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
    pub(super) fn order(
        &mut self,
        entries: &[RawEntry],
        resolved: &[Option<Reference>],
    ) -> Option<Vec<usize>> {
        let upstream_of = |i: usize| match resolved[i] {
            Some((_, Named::Entry(j), _)) => Some(j),
            _ => None,
        };
        // Each entry has at most one upstream entry: walking up from every
        // entry, each walk stops at an entry an earlier walk saw, so every
        // entry is walked over once (linear in the number of steps; a chain
        // of 8,000 steps took 52 s when each walk went to the top, issue 10
        // item 10). A walk that comes back to its own path found a cycle.
        const UNSEEN: usize = usize::MAX;
        let mut walk_of = vec![UNSEEN; entries.len()];
        let mut reported = false;
        let mut path = Vec::new();
        for start in 0..entries.len() {
            if walk_of[start] != UNSEEN {
                continue;
            }
            path.clear();
            let mut current = Some(start);
            while let Some(i) = current {
                if walk_of[i] == start {
                    let pos = path.iter().position(|&p| p == i).expect("on this walk");
                    self.report_cycle(entries, resolved, &path[pos..]);
                    reported = true;
                    break;
                }
                if walk_of[i] != UNSEEN {
                    break;
                }
                walk_of[i] = start;
                path.push(i);
                current = upstream_of(i);
            }
        }
        if reported {
            return None;
        }
        // Depth first from each entry in file order: upstream before
        // downstream; a walk up stops at the first entry already placed
        // (whose own upstream entries are placed before it).
        let mut order = Vec::with_capacity(entries.len());
        let mut placed = vec![false; entries.len()];
        let mut chain = Vec::new();
        for start in 0..entries.len() {
            chain.clear();
            let mut current = Some(start);
            while let Some(i) = current.filter(|&i| !placed[i]) {
                chain.push(i);
                current = upstream_of(i);
            }
            for &i in chain.iter().rev() {
                placed[i] = true;
                order.push(i);
            }
        }
        Some(order)
    }

    /// "steps form a cycle: a -> b -> a", at the first step of the cycle in
    /// the file.
    fn report_cycle(
        &mut self,
        entries: &[RawEntry],
        resolved: &[Option<Reference>],
        cycle: &[usize],
    ) {
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
            .hint = Some("a step can only read inputs or steps that do not read it".to_owned());
    }
}
