//! Plots: reads a table, computes scales, ticks and decimated series, and
//! hands them to a template (built-in SVG or the user's own).

use std::path::{Path, PathBuf};

use crate::config::PlotSpec;

/// Bumped whenever the pictures drawn from the same data change, so that
/// plots are redrawn (part of every plot task's fingerprint).
pub(crate) const RENDER_VERSION: u32 = 1;

/// The texts of one plot task, rendered from the pipeline's templates.
pub(crate) struct Texts<'a> {
    /// Title.
    pub(crate) title: Option<&'a str>,
    /// x axis label.
    pub(crate) x_label: Option<&'a str>,
    /// y axis label.
    pub(crate) y_label: Option<&'a str>,
}

/// Draws one plot task: `inputs` (absolute) into `outputs` (absolute,
/// temporary paths keeping the final extension).
pub(crate) fn render(
    _spec: &PlotSpec,
    _texts: &Texts<'_>,
    _root: &Path,
    _inputs: &[PathBuf],
    _outputs: &[PathBuf],
) -> Result<(), String> {
    Err("plots are not implemented yet".to_owned())
}
