//! `[[plots]]`: the template (built in, or the user's file), the columns,
//! sizes and templated texts of a plot, and the options that mean nothing
//! for the chosen template.

use std::path::PathBuf;

use toml::Spanned;

use super::raw::RawPlot;
use super::validate::Checker;
use super::{Fanout, PlotKind, PlotLayout, PlotSpec, PlotTemplate};
use crate::diag::did_you_mean;
use crate::template::{Templates, Use};

impl Checker<'_> {
    /// Checks a `[[plots]]` entry's own keys: the template, columns, sizes,
    /// texts, and options that mean nothing for the chosen template.
    pub(super) fn plot_spec(
        &mut self,
        p: &RawPlot,
        fanout: Fanout,
        root: Option<&PathBuf>,
        templates: &mut Templates,
    ) -> Option<PlotSpec> {
        let before = self.diagnostics.len();
        let name = p.name.get_ref();
        let builtin = p
            .template
            .as_ref()
            .map(|t| PlotKind::from_name(t.get_ref()));
        let template = match (&p.template, builtin.flatten()) {
            (None, _) => PlotTemplate::Builtin(PlotKind::Line),
            (Some(_), Some(kind)) => PlotTemplate::Builtin(kind),
            (Some(t), None) => {
                let text = t.get_ref();
                let looks_like_path = text.contains('/') || text.contains('.');
                let path = PathBuf::from(text);
                let exists = root.as_ref().is_none_or(|r| r.join(&path).is_file());
                if !looks_like_path {
                    self.error(t.span(), format!("unknown plot template `{text}`"))
                        .hint = Some(
                        did_you_mean(text, PlotKind::ALL.map(PlotKind::name)).unwrap_or_else(
                            || {
                                format!(
                                    "built-in templates: {}; or give a path to a .j2 file",
                                    PlotKind::ALL.map(PlotKind::name).join(", ")
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
                let items = self.patterns(y, "column");
                if items.is_empty() {
                    self.error(y.span(), format!("`y` of plot `{name}` is an empty list"))
                        .hint = Some("name columns, or `\"*\"` for every numeric column".into());
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
        let layout = match &p.layout {
            None => PlotLayout::Shared,
            Some(l) => PlotLayout::from_name(l.get_ref()).unwrap_or_else(|| {
                self.error(l.span(), format!("unknown plot layout `{}`", l.get_ref()))
                    .hint = Some(
                    did_you_mean(l.get_ref(), PlotLayout::NAMES.iter().copied()).unwrap_or_else(
                        || {
                            "`shared` (every series on one y axis) or `panels` (one panel per series)"
                                .to_owned()
                        },
                    ),
                );
                PlotLayout::Shared
            }),
        };
        // How to read the tables: the same options, checked the same way,
        // as a built-in step's `with`.
        let mut table = crate::table::ReadOptions {
            format,
            ..crate::table::ReadOptions::new()
        };
        for (key, value) in [
            ("na", &p.na),
            ("types", &p.types),
            ("delimiter", &p.delimiter),
            ("decimal", &p.decimal),
            ("encoding", &p.encoding),
            ("time_format", &p.time_format),
        ] {
            if let Some(value) = value
                && let Err(e) = table.set(key, value.get_ref())
            {
                self.error(value.span(), crate::error::chain(&e));
            }
        }
        // Options that mean nothing for the chosen template are mistakes.
        if let PlotTemplate::Builtin(kind) = template {
            if kind == PlotKind::Hist
                && let Some(x) = &p.x
            {
                self.error(x.span(), "a `hist` plot has no `x` column").hint =
                    Some("it counts the values of the `y` columns in `bins` bins".into());
            }
            if kind == PlotKind::Bar && p.x_log == Some(true) {
                self.error(
                    p.name.span(),
                    format!("plot `{name}`: `x_log` means nothing for a `bar` plot, whose x axis is categories"),
                );
            }
            if kind != PlotKind::Hist
                && let Some(b) = &p.bins
            {
                self.error(
                    b.span(),
                    format!(
                        "`bins` is for `hist` plots, and `{name}` is a `{}` plot",
                        kind.name()
                    ),
                );
            }
        }
        if matches!(template, PlotTemplate::Builtin(_))
            && let Some(out) = &p.out
        {
            // An extension a built-in cannot write fails here, not when the
            // task runs (issue 10, item 17).
            for (text, span) in out.get_ref().items(&out.span()) {
                if let Some(problem) = crate::plot::builtin_out_problem(&text) {
                    self.error(span, problem).hint = Some(
                        "use .svg or .png, or a template of your own for other formats".into(),
                    );
                }
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
            layout,
            table: std::sync::Arc::new(table),
        })
    }
}
