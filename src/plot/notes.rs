//! The texts of a figure that come from the data rather than the layout:
//! the default axis labels (a shared y axis lists its series), the note of
//! what was left out and why, and the reason when there is nothing to plot.

use super::Texts;
use super::error::PlotError;
use super::series::Selection;
use crate::config::PlotSpec;

/// What was left out of a figure.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    /// Points with a missing x or y.
    pub(crate) missing: usize,
    /// Points with an infinite x or y.
    pub(crate) non_finite: usize,
    /// Points ≤ 0 on a log axis.
    pub(crate) non_positive: usize,
    /// Points drawn.
    pub(crate) drawn: usize,
    /// Of the missing: cells that `types` forced and that were not of the
    /// type (read as missing).
    pub(crate) invalid: usize,
}

impl Counts {
    /// Counts one point (x and y), and says whether it can be drawn.
    pub(crate) fn point(&mut self, x: f64, y: f64, x_log: bool, y_log: bool) -> bool {
        if x.is_nan() || y.is_nan() {
            self.missing += 1;
        } else if !(x.is_finite() && y.is_finite()) {
            self.non_finite += 1;
        } else if (x_log && x <= 0.0) || (y_log && y <= 0.0) {
            self.non_positive += 1;
        } else {
            self.drawn += 1;
            return true;
        }
        false
    }

    /// Adds another series' counts.
    pub(crate) fn add(&mut self, other: Counts) {
        self.missing += other.missing;
        self.non_finite += other.non_finite;
        self.non_positive += other.non_positive;
        self.drawn += other.drawn;
        self.invalid += other.invalid;
    }
}

/// A text given in the pipeline, unless blank.
fn nonempty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The title and axis labels of a figure.
pub(crate) struct Labels {
    /// The title.
    pub(crate) title: Option<String>,
    /// The x axis label.
    pub(crate) x_label: Option<String>,
    /// The y axis label (of the shared axis, or of all panels together).
    pub(crate) y_label: Option<String>,
}

/// The labels: the pipeline's texts, else `x_default` for x and, for y,
/// `y_default` or the columns the series draw (`pressure, humidity`: a
/// shared axis says what is on it). With panels, each panel names its
/// series and `y` has no default.
pub(crate) fn labels(
    texts: &Texts<'_>,
    selection: &Selection<'_>,
    x_default: &str,
    y_default: Option<&str>,
    panels: bool,
) -> Labels {
    let y_label = nonempty(texts.y_label).or_else(|| {
        if panels {
            return None;
        }
        y_default
            .map(str::to_owned)
            .or_else(|| Some(selection.columns().join(", ")).filter(|l| !l.is_empty()))
    });
    Labels {
        title: nonempty(texts.title),
        x_label: nonempty(texts.x_label).or_else(|| Some(x_default.to_owned())),
        y_label,
    }
}

/// The note: what was left out and why. `gaps`: missing values break lines.
pub(crate) fn note(
    counts: Counts,
    selection: &Selection<'_>,
    spec: &PlotSpec,
    gaps: bool,
) -> Option<String> {
    let mut left_out = Vec::new();
    let missing = counts.missing.saturating_sub(counts.invalid);
    if missing > 0 {
        left_out.push(if gaps {
            format!("{missing} missing (gaps)")
        } else {
            format!("{missing} missing")
        });
    }
    let invalid = counts.invalid.min(counts.missing);
    if invalid > 0 {
        left_out.push(format!("{invalid} invalid for their `types`"));
    }
    if counts.non_finite > 0 {
        left_out.push(format!("{} non-finite", counts.non_finite));
    }
    if counts.non_positive > 0 {
        left_out.push(format!("{} ≤ 0 on a log axis", counts.non_positive));
    }
    let mut parts = Vec::new();
    if !left_out.is_empty() {
        parts.push(format!("left out: {}", left_out.join(", ")));
    }
    if selection.dropped > 0 {
        parts.push(format!(
            "{} more series not shown (max_series = {})",
            selection.dropped, spec.max_series
        ));
    }
    if !selection.nothing.is_empty() && !selection.series.is_empty() {
        let stems: Vec<&str> = selection.nothing.iter().map(|(s, _)| s.as_str()).collect();
        parts.push(format!("nothing to draw in {}", stems.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// When nothing can be drawn: the text an empty figure shows with
/// `skip_empty`, else the task's error.
pub(crate) fn nothing(spec: &PlotSpec, selection: &Selection<'_>) -> Result<String, PlotError> {
    let reason = reason(selection);
    if spec.skip_empty {
        Ok(format!("nothing to plot: {reason}"))
    } else {
        Err(PlotError::Nothing { reason })
    }
}

/// Why nothing can be drawn.
fn reason(selection: &Selection<'_>) -> String {
    if selection.series.is_empty() {
        selection
            .nothing
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        format!(
            "every value of {} is missing or cannot be drawn",
            selection
                .columns()
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
