//! Plots: reads a task's tables, computes the figure (scales, nice or
//! calendar ticks, decimated series in pixels: figure.rs and the files it
//! names) and hands it to a template (the built-in SVG ones, or the user's
//! own for any text format), then writes each output: `.svg` as is, `.png`
//! rasterized, others as the template wrote.

mod axes;
mod bars;
mod capsules;
mod decimate;
mod error;
mod figure;
mod frame;
mod glyphs;
mod layout;
mod notes;
mod output;
mod paint;
mod paths;
mod raster;
mod rounding;
mod scale;
mod series;
mod template;
mod ticks;
mod time_axis;
mod xy;

pub(crate) use error::PlotError;
pub(crate) use figure::Kind;
pub(crate) use output::builtin_out_problem;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cancel::Cancel;
use crate::config::{PlotSpec, PlotTemplate};
use crate::table::{Columns, Table, TableRead, TaskTables};

/// Bumped whenever the output of the same plot and data changes.
const VERSION: u32 = 2;

/// What a plot task's fingerprint covers besides its inputs and spec: the
/// plot code's version and, for a built-in template, its embedded text. (A
/// user's template file is a dep of its step, hashed like any other file.)
/// Computed once per template.
pub(crate) fn code_fingerprint(template: &PlotTemplate) -> blake3::Hash {
    static BUILTIN: std::sync::OnceLock<std::sync::Mutex<Vec<(String, blake3::Hash)>>> =
        std::sync::OnceLock::new();
    let name = match template {
        PlotTemplate::Builtin(kind) => kind.name(),
        PlotTemplate::File(_) => "",
    };
    let cache = BUILTIN.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, hash)) = cache.iter().find(|(n, _)| n == name) {
        return *hash;
    }
    let text = template::builtin_source(name).unwrap_or_default();
    let hash = blake3::hash(format!("plot v{VERSION}\n{text}").as_bytes());
    cache.push((name.to_owned(), hash));
    hash
}

/// The texts of one plot task, rendered from the pipeline's templates.
pub(crate) struct Texts<'a> {
    /// Title.
    pub(crate) title: Option<&'a str>,
    /// x axis label.
    pub(crate) x_label: Option<&'a str>,
    /// y axis label.
    pub(crate) y_label: Option<&'a str>,
}

/// The tables a plot task reads, given its inputs (absolute paths): a
/// built-in template reads only the columns it may draw (`x` and `y`,
/// globs included); a user's template sees every column.
pub(crate) fn table_reads(spec: &PlotSpec, inputs: &[PathBuf]) -> Vec<TableRead> {
    // Text is only drawn as bar categories, or by the user's template.
    let (keep_text, columns) = match spec.template {
        PlotTemplate::Builtin(kind) => {
            let names = spec.x.iter().chain(&spec.y).cloned().collect();
            (kind == Kind::Bar, Columns::Only(names))
        }
        PlotTemplate::File(_) => (true, Columns::All),
    };
    inputs
        .iter()
        .map(|path| TableRead {
            path: path.clone(),
            options: spec.table.clone(),
            columns: columns.clone(),
            keep_text,
        })
        .collect()
}

/// Draws one plot task: `inputs` (absolute) into `outputs` (absolute,
/// temporary paths keeping the final extension). Either every output is
/// written or, on failure, none. `cancel` is raised when the run must stop:
/// the tables' reading checks it, and the figure between series (issue 10,
/// item 9); the task then fails as `PlotError::Interrupted`.
pub(crate) fn render(
    spec: &PlotSpec,
    texts: &Texts<'_>,
    root: &Path,
    task_tables: &TaskTables<'_>,
    inputs: &[PathBuf],
    outputs: &[PathBuf],
    cancel: &Cancel,
) -> Result<(), PlotError> {
    let rendered = draw(
        spec,
        texts,
        root,
        task_tables,
        inputs,
        outputs,
        true,
        cancel,
    )?;
    for (out, bytes) in outputs.iter().zip(rendered) {
        cancel.check()?;
        std::fs::write(out, bytes).map_err(|source| PlotError::Write {
            path: out.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Everything `render` writes, in memory, one entry per output.
#[allow(clippy::too_many_arguments)]
fn draw(
    spec: &PlotSpec,
    texts: &Texts<'_>,
    root: &Path,
    task_tables: &TaskTables<'_>,
    inputs: &[PathBuf],
    outputs: &[PathBuf],
    decimate: bool,
    cancel: &Cancel,
) -> Result<Vec<Vec<u8>>, PlotError> {
    if inputs.is_empty() {
        return Err(PlotError::NoInput);
    }
    // A table's path is only shown from here on (in notes and messages, some
    // of them inside the picture): the shared tables make it relative to root, the
    // same on every machine.
    let tables: Vec<Arc<Table>> = table_reads(spec, inputs)
        .into_iter()
        .map(|read| task_tables.read(&read, cancel))
        .collect::<Result<_, _>>()?;
    let kind = match spec.template {
        PlotTemplate::Builtin(kind) => kind,
        // User templates get the figure of a line plot, plus the raw tables.
        PlotTemplate::File(_) => Kind::Line,
    };
    let user = matches!(spec.template, PlotTemplate::File(_));
    let figure = figure::build(&figure::Request {
        spec,
        texts,
        tables: &tables,
        kind,
        decimate,
        detail: user,
        cancel,
    })?;
    cancel.check()?;
    // The SVG text only when an output needs it: a built-in plot's PNG is
    // drawn straight from the figure.
    let mut text: Option<String> = None;
    let mut svg = || -> Result<String, PlotError> {
        if let Some(text) = &text {
            return Ok(text.clone());
        }
        let rendered = match &spec.template {
            PlotTemplate::Builtin(kind) => template::render_builtin(kind.name(), &figure)?,
            PlotTemplate::File(path) => {
                template::render_user(&root.join(path), &path.to_string_lossy(), &figure, &tables)?
            }
        };
        text = Some(rendered.clone());
        Ok(rendered)
    };
    outputs
        .iter()
        .map(|out| {
            if !user && output::extension(out) == "png" {
                paint::png(&figure)
            } else {
                output::bytes(&svg()?, out, user, figure.kind)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
