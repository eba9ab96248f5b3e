//! Why a plot task cannot draw: every failure of src/plot/ as one enum, each
//! variant with the file, column or template it is about as fields, and the
//! underlying error kept as the source (printed as a `: cause` chain by
//! `crate::error::chain`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cancel::Interrupted;
use crate::error::{Internal, under_root};
use crate::table::TableError;

/// A plot task that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlotError {
    /// An input table cannot be read (`file:line: what is wrong`).
    #[error(transparent)]
    Table(#[from] TableError),
    /// The task has no input.
    #[error("a plot needs at least one input table")]
    NoInput,
    /// The `x` column is not in a file.
    #[error("{file}: there is no column `{name}` for `x` (its columns: {columns})")]
    NoXColumn {
        /// The file, as shown.
        file: String,
        /// The column asked for.
        name: String,
        /// The columns it has.
        columns: String,
    },
    /// The `x` column holds what this kind of plot cannot put on its x axis.
    #[error("{file}: column `{name}` for `x` holds {holds}, not numbers{hint}")]
    BadXColumn {
        /// The file, as shown.
        file: String,
        /// The column.
        name: String,
        /// `text` or `times`.
        holds: &'static str,
        /// What would work instead (may be empty).
        hint: &'static str,
    },
    /// The `x` column holds times in some files and numbers in others.
    #[error(
        "column `{name}` for `x` holds times in some files and numbers in others; one axis cannot show both (read it as one type with `types = {{ {name} = \"time\" }}`)"
    )]
    MixedX {
        /// The column.
        name: String,
    },
    /// `x_log` with a time column.
    #[error("`x_log` cannot apply to column `{name}`, which holds times")]
    LogTime {
        /// The column.
        name: String,
    },
    /// A `y` column named (not globbed) is not in a file.
    #[error(
        "{file}: there is no column `{name}` (its columns: {columns}); to draw columns that only some files have, use a glob such as `{name}*`"
    )]
    NoYColumn {
        /// The file, as shown.
        file: String,
        /// The column asked for.
        name: String,
        /// The columns it has.
        columns: String,
    },
    /// A `y` column named (not globbed) holds no numbers.
    #[error(
        "{file}: column `{name}` holds {holds}, not numbers, so it cannot be drawn on the y axis"
    )]
    BadYColumn {
        /// The file, as shown.
        file: String,
        /// The column.
        name: String,
        /// `text` or `times`.
        holds: &'static str,
    },
    /// Nothing can be drawn (and `skip_empty` is off).
    #[error("nothing to plot: {reason} (set `skip_empty = true` to draw an empty figure instead)")]
    Nothing {
        /// Why.
        reason: String,
    },
    /// More bars than pixels.
    #[error(
        "a bar chart of {rows} rows does not fit in {width} pixels (at most {most} bars); draw it with `template = \"line\"` or `\"hist\"`, or make it wider"
    )]
    TooManyBars {
        /// Categories.
        rows: usize,
        /// The figure's width.
        width: u32,
        /// The most that fit.
        most: usize,
    },
    /// The user's template file cannot be read.
    #[error("cannot read the plot template `{shown}`")]
    ReadTemplate {
        /// The template, as the pipeline names it.
        shown: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The user's template fails to compile or render (minijinja's whole
    /// report, with the template's line).
    #[error("plot template `{shown}`: {detail}")]
    Template {
        /// The template, as the pipeline names it.
        shown: String,
        /// minijinja's report (`{:#}`).
        detail: String,
    },
    /// A user template wrote something that is not SVG to an SVG output.
    #[error(
        "the plot template did not write SVG ({why}); a `.svg` output must hold SVG; give the output the extension of what the template writes"
    )]
    NotSvg {
        /// What is wrong with it.
        why: String,
    },
    /// A built-in template cannot write this extension (caught at load time
    /// when `out` spells it out).
    #[error(
        "built-in plot templates draw SVG: an `out` of a `{kind}` plot must end in .svg or .png, not `.{ext}`"
    )]
    Extension {
        /// The plot kind.
        kind: &'static str,
        /// The output's extension.
        ext: String,
    },
    /// The SVG a template wrote cannot be rasterized.
    #[error("the plot is not valid SVG")]
    Svg(#[source] resvg::usvg::Error),
    /// A picture of this size cannot be made.
    #[error("cannot draw a {width}x{height} image")]
    Canvas {
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
    },
    /// Encoding the PNG failed.
    #[error("cannot encode the PNG")]
    Png(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// An output cannot be written.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The (temporary) output.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The run was interrupted (SIGINT / SIGTERM).
    #[error("interrupted")]
    Interrupted,
    /// A bug.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<Interrupted> for PlotError {
    fn from(_: Interrupted) -> PlotError {
        PlotError::Interrupted
    }
}

impl PlotError {
    /// The same error naming its files relative to `root`, when they are
    /// under it (a plot is given absolute paths; the tables it reads come
    /// back relative already).
    pub(crate) fn relative_to(self, root: &Path) -> PlotError {
        match self {
            PlotError::Table(e) => PlotError::Table(e.relative_to(root)),
            PlotError::Write { path, source } => PlotError::Write {
                path: under_root(root, &path),
                source,
            },
            other => other,
        }
    }

    /// Whether the task stopped because the run was interrupted.
    pub(crate) fn is_interrupted(&self) -> bool {
        match self {
            PlotError::Interrupted => true,
            PlotError::Table(e) => e.is_interrupted(),
            _ => false,
        }
    }
}
