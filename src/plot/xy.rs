//! Line and scatter plots: extents and counts of every series, the x axis
//! (numbers or time), one panel or one per series, then each series
//! projected to pixels, split where values are missing, and reduced (M4 for
//! lines, one marker per pixel for scatter).

use super::axes::{TimeText, XAxis};
use super::decimate::{self, Point};
use super::error::PlotError;
use super::figure::{Figure, Kind, Request, Series};
use super::frame::{self, FrameSpec, PanelSpec};
use super::layout::{self, px};
use super::notes::{self, Counts};
use super::paths::{line_path, marker_path};
use super::scale::{self, Scale};
use super::series::{self, Selection, SeriesData, XValues};
use crate::error::Internal;

/// A day in microseconds: the room around a time axis of one instant.
const DAY_US: f64 = 86_400_000_000.0;

/// The extents of one series' drawable points.
#[derive(Debug, Clone, Copy)]
struct Extent {
    x: Option<(f64, f64)>,
    y: Option<(f64, f64)>,
}

/// Counts a series' points and takes their extents.
fn measure(s: &SeriesData<'_>, x_log: bool, y_log: bool) -> (Counts, Extent) {
    let mut c = Counts {
        invalid: s.invalid,
        ..Counts::default()
    };
    let (mut xlo, mut xhi, mut ylo, mut yhi) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (i, &y) in s.y.iter().enumerate() {
        let x = s.x.at(i);
        if c.point(x, y, x_log, y_log) {
            xlo = xlo.min(x);
            xhi = xhi.max(x);
            ylo = ylo.min(y);
            yhi = yhi.max(y);
        }
    }
    let drawn = c.drawn > 0;
    (
        c,
        Extent {
            x: drawn.then_some((xlo, xhi)),
            y: drawn.then_some((ylo, yhi)),
        },
    )
}

/// The x axis of the series: time when their x column holds times (in
/// every file), numbers otherwise.
fn x_axis(
    selection: &Selection<'_>,
    extent: Option<(f64, f64)>,
    log: bool,
    pad: f64,
) -> Result<XAxis, PlotError> {
    let times = selection
        .series
        .iter()
        .filter(|s| matches!(s.x, XValues::Time(_)))
        .count();
    if times == 0 {
        return Ok(XAxis::Numbers {
            domain: scale::domain(extent, log, false, pad),
            log,
        });
    }
    let name = selection.x_name.clone().unwrap_or_default();
    if times < selection.series.len() {
        return Err(PlotError::MixedX { name });
    }
    if log {
        return Err(PlotError::LogTime { name });
    }
    let Some(t) = selection.x_times() else {
        return Err(Internal::new("a time axis without times").into());
    };
    let domain = match extent {
        None => (0.0, DAY_US),
        Some((lo, hi)) if lo == hi => (lo - DAY_US, hi + DAY_US),
        Some(extent) => scale::domain(Some(extent), false, false, pad),
    };
    Ok(XAxis::Time {
        domain,
        text: TimeText {
            style: t.style,
            shift: series::shift(t),
        },
    })
}

/// Line and scatter plots.
pub(crate) fn figure(req: &Request<'_>, selection: &Selection<'_>) -> Result<Figure, PlotError> {
    let spec = req.spec;
    let (x_log, y_log) = (spec.x_log, spec.y_log);
    let scatter = req.kind == Kind::Scatter;
    let panels = req.panels() && selection.series.len() > 1;
    // First pass: extents and counts.
    let mut counts = Counts::default();
    let mut extents = Vec::with_capacity(selection.series.len());
    for s in &selection.series {
        req.cancel.check()?;
        let (c, e) = measure(s, x_log, y_log);
        counts.add(c);
        extents.push(e);
    }
    let x_extent = extents.iter().fold(None, |a, e| scale::union(a, e.x));
    let empty = if counts.drawn == 0 {
        Some(notes::nothing(spec, selection)?)
    } else {
        None
    };
    let x_pad = if scatter { 0.05 } else { 0.0 };
    let x = x_axis(selection, x_extent, x_log, x_pad)?;
    let names = selection.names();
    let y_domain = |extent: Option<(f64, f64)>| scale::domain(extent, y_log, spec.y_zero, 0.05);
    let panel_specs: Vec<PanelSpec> = if panels && empty.is_none() {
        extents
            .iter()
            .zip(&names)
            .map(|(e, name)| PanelSpec {
                y_domain: y_domain(e.y),
                y_log,
                label: Some(name.clone()),
            })
            .collect()
    } else {
        vec![PanelSpec {
            y_domain: y_domain(extents.iter().fold(None, |a, e| scale::union(a, e.y))),
            y_log,
            label: None,
        }]
    };
    let x_default = selection.x_name.clone().unwrap_or_else(|| "row".to_owned());
    let frame = frame::frame(FrameSpec {
        width: f64::from(spec.width),
        height: f64::from(spec.height),
        labels: notes::labels(req.texts, selection, &x_default, None, panels),
        x,
        panels: panel_specs,
        legend: if names.len() >= 2 && !panels {
            names.clone()
        } else {
            Vec::new()
        },
        note: notes::note(counts, selection, spec, !scatter),
    });
    let mut fig = frame::assemble(req, &frame, empty, if scatter { "marker" } else { "line" });
    if fig.empty.is_some() {
        return Ok(fig);
    }
    let Some(x_scale) = frame.x_scale else {
        return Err(Internal::new("a line plot without an x scale").into());
    };
    for (index, (s, name)) in selection.series.iter().zip(names).enumerate() {
        req.cancel.check()?;
        let panel = if panels { index } else { 0 };
        let p = &frame.panels[panel];
        let y_scale = p.y_scale;
        let runs = project(s, &x_scale, &y_scale);
        let runs: Vec<Vec<Point>> = if !req.decimate {
            runs
        } else if scatter {
            let (left, top) = (p.area.left, p.area.top);
            let shifted: Vec<Point> = runs
                .into_iter()
                .flatten()
                .map(|p| [p[0] - left, p[1] - top])
                .collect();
            let kept = decimate::one_per_pixel(&shifted, p.area.width, p.area.height);
            vec![
                kept.into_iter()
                    .map(|p| [p[0] + left, p[1] + top])
                    .collect(),
            ]
        } else {
            decimate::line(runs)
        };
        let points = runs.iter().map(Vec::len).sum();
        let path = if scatter {
            marker_path(&runs)
        } else {
            line_path(&runs)
        };
        let (segments, values) = if req.detail {
            let values = runs
                .iter()
                .map(|run| {
                    run.iter()
                        .map(|p| [x_scale.invert(p[0]), y_scale.invert(p[1])])
                        .collect()
                })
                .collect();
            let segments = runs
                .iter()
                .map(|run| run.iter().map(|p| [px(p[0]), px(p[1])]).collect())
                .collect();
            (Some(segments), Some(values))
        } else {
            (None, None)
        };
        fig.series.push(Series {
            name,
            column: s.column.to_owned(),
            source: s.stem.clone(),
            color: layout::color(index),
            dash: layout::dash(index),
            panel,
            path,
            points,
            rows: s.y.len(),
            segments,
            values,
        });
    }
    Ok(fig)
}

/// The drawable points of a series in pixels, split where a value is
/// missing or cannot be drawn.
fn project(s: &SeriesData<'_>, x_scale: &Scale, y_scale: &Scale) -> Vec<Vec<Point>> {
    let (x_log, y_log) = (x_scale.is_log(), y_scale.is_log());
    let mut runs = Vec::new();
    let mut run: Vec<Point> = Vec::new();
    for (i, &y) in s.y.iter().enumerate() {
        let x = s.x.at(i);
        if scale::drawable(x, x_log) && scale::drawable(y, y_log) {
            run.push([x_scale.map(x), y_scale.map(y)]);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}
