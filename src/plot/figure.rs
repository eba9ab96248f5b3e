//! The figure: everything numeric about a plot, computed in src/plot/ so
//! that templates only lay out markup. This file holds what a template sees
//! (the `Figure` and its parts) and `build`, which chooses the series and
//! hands them to the kind's own code: xy.rs (line, scatter), bars.rs (bar,
//! hist); frame.rs lays out the axes, panels, legend and texts.

use serde::Serialize;
use std::sync::Arc;

use super::Texts;
use super::decimate::Point;
use super::error::PlotError;
use super::series;
use super::{bars, xy};
use crate::cancel::Cancel;
use crate::config::{PlotLayout, PlotSpec};
use crate::table::Table;

/// What a plot draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Lines through the points, broken where values are missing.
    Line,
    /// A marker per point.
    Scatter,
    /// A bar per row (and per column), from zero.
    Bar,
    /// Counts of values in equal bins.
    Hist,
}

impl Kind {
    /// Every kind, in the order the docs list the built-in templates.
    pub(crate) const ALL: [Kind; 4] = [Kind::Line, Kind::Scatter, Kind::Bar, Kind::Hist];

    /// The kind a built-in template draws.
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The built-in template's name (`template = "line"`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Line => "line",
            Kind::Scatter => "scatter",
            Kind::Bar => "bar",
            Kind::Hist => "hist",
        }
    }
}

/// Everything a figure is made from.
pub(crate) struct Request<'a> {
    /// The `[[plots]]` entry.
    pub(crate) spec: &'a PlotSpec,
    /// Its texts, rendered for this task.
    pub(crate) texts: &'a Texts<'a>,
    /// The task's tables.
    pub(crate) tables: &'a [Arc<Table>],
    /// What to draw.
    pub(crate) kind: Kind,
    /// Reduce large series (M4, one marker per pixel); off only to compare.
    pub(crate) decimate: bool,
    /// Add the points of every series as lists (for user templates).
    pub(crate) detail: bool,
    /// Raised when the run must stop; checked between series.
    pub(crate) cancel: &'a Cancel,
}

impl Request<'_> {
    /// One panel per series (`layout = "panels"`).
    pub(crate) fn panels(&self) -> bool {
        self.spec.layout == PlotLayout::Panels
    }
}

/// A piece of text and where it goes (x, y of its baseline anchor).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Text {
    /// What it says (not escaped: templates escape).
    pub(crate) text: String,
    /// Anchor x.
    pub(crate) x: f64,
    /// Baseline y.
    pub(crate) y: f64,
}

/// A plot area, in pixels.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Area {
    /// Left edge.
    pub(crate) left: f64,
    /// Top edge.
    pub(crate) top: f64,
    /// Right edge.
    pub(crate) right: f64,
    /// Bottom edge.
    pub(crate) bottom: f64,
    /// right - left.
    pub(crate) width: f64,
    /// bottom - top.
    pub(crate) height: f64,
}

/// One tick of an axis.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TickMark {
    /// Its value (the category's index on a category axis; microseconds
    /// since the epoch on a time axis).
    pub(crate) value: f64,
    /// Its pixel position along the axis.
    pub(crate) pos: f64,
    /// Its label.
    pub(crate) label: String,
    /// On a time axis (and for time categories): the instant as ISO 8601
    /// text, in the style of the column.
    pub(crate) iso: Option<String>,
}

/// An axis.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Axis {
    /// Logarithmic.
    pub(crate) log: bool,
    /// Time: values are microseconds since the Unix epoch.
    pub(crate) time: bool,
    /// Domain start (data units).
    pub(crate) min: f64,
    /// Domain end (data units).
    pub(crate) max: f64,
    /// The domain's ends as ISO text (time axes).
    pub(crate) min_iso: Option<String>,
    /// The same.
    pub(crate) max_iso: Option<String>,
    /// Its ticks.
    pub(crate) ticks: Vec<TickMark>,
    /// Tick labels turned 45 degrees (long category names).
    pub(crate) rotate: bool,
    /// Categories instead of numbers (bar charts).
    pub(crate) categories: bool,
    /// Where the axis line is, across the axis (y for the x axis).
    pub(crate) line: f64,
    /// Where tick marks end, across the axis.
    pub(crate) tick_end: f64,
    /// Where tick labels are anchored, across the axis.
    pub(crate) label_at: f64,
    /// What the concise time labels leave out (`2024-Mar`), drawn
    /// right-aligned at the end of the axis (time axes).
    pub(crate) offset: Option<Text>,
}

/// One panel: a plot area with its own y axis, under the shared x axis.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Panel {
    /// Its plot area.
    pub(crate) area: Area,
    /// Its y axis.
    pub(crate) y_axis: Axis,
    /// Its own y label (`layout = "panels"`: the series' name).
    pub(crate) y_label: Option<Text>,
    /// Where the x tick marks under it end.
    pub(crate) x_tick_end: f64,
    /// Whether the x tick labels are drawn under it (the bottom panel).
    pub(crate) x_labels: bool,
}

/// One drawn series.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Series {
    /// Legend name.
    pub(crate) name: String,
    /// Its column.
    pub(crate) column: String,
    /// The stem of its file.
    pub(crate) source: String,
    /// Stroke or fill colour.
    pub(crate) color: &'static str,
    /// Dash pattern, when the palette has gone round.
    pub(crate) dash: Option<&'static str>,
    /// The panel it is drawn in.
    pub(crate) panel: usize,
    /// SVG path data: lines (`M..l..`, one subpath per unbroken run) or
    /// markers (`M x yh0`, drawn with round caps).
    pub(crate) path: String,
    /// Points in `path`.
    pub(crate) points: usize,
    /// Rows of the column.
    pub(crate) rows: usize,
    /// Unbroken runs of pixel points (user templates only).
    pub(crate) segments: Option<Vec<Vec<Point>>>,
    /// The same runs in data units (user templates only).
    pub(crate) values: Option<Vec<Vec<Point>>>,
}

/// One bar (bar charts, histogram bins).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Bar {
    /// Left edge.
    pub(crate) x: f64,
    /// Top edge.
    pub(crate) y: f64,
    /// Width.
    pub(crate) width: f64,
    /// Height.
    pub(crate) height: f64,
    /// Fill colour.
    pub(crate) color: &'static str,
    /// Index of its series.
    pub(crate) series: usize,
    /// The panel it is drawn in.
    pub(crate) panel: usize,
    /// Its category (bar) or bin range (hist).
    pub(crate) category: String,
    /// Its value (bar) or count (hist).
    pub(crate) value: f64,
}

/// One legend entry.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LegendEntry {
    /// Text.
    pub(crate) name: String,
    /// Colour.
    pub(crate) color: &'static str,
    /// Dash pattern.
    pub(crate) dash: Option<&'static str>,
    /// `line`, `marker` or `box`; `none` for the entry that counts the
    /// series that did not fit.
    pub(crate) mark: &'static str,
    /// Left of the swatch.
    pub(crate) x: f64,
    /// Middle of the entry.
    pub(crate) y: f64,
    /// Right end of a line swatch.
    pub(crate) swatch_end: f64,
    /// Middle of the swatch (markers).
    pub(crate) swatch_mid: f64,
    /// Top of a box swatch.
    pub(crate) box_top: f64,
    /// Width of the swatch.
    pub(crate) swatch_width: f64,
    /// Where the text starts.
    pub(crate) text_x: f64,
}

/// Font sizes, for templates.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Fonts {
    /// Tick labels.
    pub(crate) tick: f64,
    /// Axis labels.
    pub(crate) label: f64,
    /// Title.
    pub(crate) title: f64,
    /// Legend.
    pub(crate) legend: f64,
    /// Note.
    pub(crate) note: f64,
}

/// Everything a template needs to draw one plot.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figure {
    /// `line`, `scatter`, `bar` or `hist`.
    pub(crate) kind: &'static str,
    /// `shared` (one plot area) or `panels` (one per series, stacked).
    pub(crate) layout: &'static str,
    /// Pixels.
    pub(crate) width: u32,
    /// Pixels.
    pub(crate) height: u32,
    /// CSS font family list.
    pub(crate) font: &'static str,
    /// Font sizes.
    pub(crate) fonts: Fonts,
    /// Length of tick marks.
    pub(crate) tick_length: f64,
    /// Title, centred over the plot area.
    pub(crate) title: Option<Text>,
    /// x axis label, centred under it.
    pub(crate) x_label: Option<Text>,
    /// The y label of the whole figure, to be turned -90 degrees around its
    /// anchor: the shared axis's label, or one label left of every panel.
    pub(crate) y_label: Option<Text>,
    /// What was left out, and why (small print at the bottom).
    pub(crate) note: Option<Text>,
    /// Set when there is nothing to plot (`skip_empty`): the reason, centred.
    pub(crate) empty: Option<Text>,
    /// The plot area (of all panels together).
    pub(crate) area: Area,
    /// The x axis (under the bottom panel).
    pub(crate) x_axis: Axis,
    /// The y axis (of the first panel).
    pub(crate) y_axis: Axis,
    /// The panels, top to bottom: one, or one per series.
    pub(crate) panels: Vec<Panel>,
    /// Line and scatter series.
    pub(crate) series: Vec<Series>,
    /// Bars of bar charts and histograms.
    pub(crate) bars: Vec<Bar>,
    /// Legend entries (two or more series on one axis).
    pub(crate) legend: Vec<LegendEntry>,
}

/// Builds the figure of one plot task. Fails when there is nothing to plot
/// (unless `skip_empty`), when the request cannot be drawn, or when the
/// run is interrupted.
pub(crate) fn build(req: &Request<'_>) -> Result<Figure, PlotError> {
    let selection = series::select(
        req.spec,
        req.tables,
        req.kind == Kind::Bar,
        req.kind != Kind::Hist,
        req.cancel,
    )?;
    match req.kind {
        Kind::Line | Kind::Scatter => xy::figure(req, &selection),
        Kind::Bar => bars::bars(req, &selection),
        Kind::Hist => bars::hist(req, &selection),
    }
}
