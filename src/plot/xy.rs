//! Line and scatter plots: extents and counts of every series, the x axis
//! (numbers or time), one panel or one per series, then each series
//! projected to pixels, split where values are missing, and reduced (M4 for
//! lines, one marker per pixel for scatter).

use super::axes::{TimeText, XAxis};
use super::decimate::{self, Point};
use super::error::PlotError;
use super::figure::{Area, Figure, Kind, Request, Series};
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

/// The x values of the series, computed once per table (its series share
/// them): numbers, then pixels once the x scale is known.
struct XColumns {
    /// The values of each table that has series.
    columns: Vec<Vec<f64>>,
    /// Per column, once in pixels: the buckets of its pixels if they never
    /// go left (`decimate::sorted_buckets`).
    buckets: Vec<Option<Vec<f64>>>,
    /// The index in `columns` of each series' values.
    of_series: Vec<usize>,
}

impl XColumns {
    /// The x values of every table of the selection (whose series come
    /// table by table).
    fn new(selection: &Selection<'_>) -> XColumns {
        let mut columns = Vec::new();
        let mut of_series = Vec::with_capacity(selection.series.len());
        let mut last_table = None;
        for s in &selection.series {
            if last_table != Some(s.table) {
                columns.push(s.x.numbers(s.y.len()));
                last_table = Some(s.table);
            }
            of_series.push(columns.len() - 1);
        }
        XColumns {
            buckets: vec![None; columns.len()],
            columns,
            of_series,
        }
    }

    /// The x values of series `index`.
    fn of(&self, index: usize) -> &[f64] {
        &self.columns[self.of_series[index]]
    }

    /// The buckets of the pixels of series `index`, if they never go left
    /// (once in pixels).
    fn sorted_buckets(&self, index: usize) -> Option<&[f64]> {
        self.buckets[self.of_series[index]].as_deref()
    }

    /// Maps every value to its pixel column; NaN where it cannot be drawn.
    /// (A value that can be drawn maps to a finite pixel: one that a series
    /// draws lies in the scale's domain.)
    fn map_to_pixels(&mut self, x_scale: &Scale) {
        let log = x_scale.is_log();
        for (column, buckets) in self.columns.iter_mut().zip(&mut self.buckets) {
            for x in column.iter_mut() {
                *x = if scale::drawable(*x, log) {
                    x_scale.map(*x)
                } else {
                    f64::NAN
                };
            }
            *buckets = decimate::sorted_buckets(column);
        }
    }
}

/// Counts a series' points (`x` its x values) and takes their extents.
/// Kept out of line: inlined into `figure`, its bounds lived on the stack,
/// each point waiting for the last one's store.
#[inline(never)]
fn measure(s: &SeriesData<'_>, x: &[f64], x_log: bool, y_log: bool) -> (Counts, Extent) {
    let mut c = Counts {
        invalid: s.invalid,
        ..Counts::default()
    };
    // `&`, not `&&`: four points are checked without a branch each.
    let drawable = |x: f64, y: f64| {
        x.is_finite() & y.is_finite() & (!x_log | (x > 0.0)) & (!y_log | (y > 0.0))
    };
    // Four points at a time: when all four can be drawn (most), in one
    // go (`Bounds::with_four`); otherwise one by one, point `at` in lane
    // `at % 4`. Either way a point waits for the comparisons of the four
    // before it, not of the one before it.
    let (mut xs, mut ys) = ([Bounds::EMPTY; 4], [Bounds::EMPTY; 4]);
    let len = x.len().min(s.y.len());
    let (x_fours, x_rest) = x[..len].as_chunks::<4>();
    let (y_fours, y_rest) = s.y[..len].as_chunks::<4>();
    for (x4, y4) in x_fours.iter().zip(y_fours) {
        if (0..4).fold(true, |all, lane| all & drawable(x4[lane], y4[lane])) {
            c.drawn += 4;
            xs[0] = xs[0].with_four(x4);
            ys[0] = ys[0].with_four(y4);
        } else {
            for lane in 0..4 {
                // Counts the point, and why it is not drawn if it is not.
                if c.point(x4[lane], y4[lane], x_log, y_log) {
                    xs[lane] = xs[lane].with(x4[lane]);
                    ys[lane] = ys[lane].with(y4[lane]);
                }
            }
        }
    }
    for (lane, (&x, &y)) in x_rest.iter().zip(y_rest).enumerate() {
        if c.point(x, y, x_log, y_log) {
            xs[lane] = xs[lane].with(x);
            ys[lane] = ys[lane].with(y);
        }
    }
    let (xs, ys) = (Bounds::of_lanes(xs), Bounds::of_lanes(ys));
    let drawn = c.drawn > 0;
    (
        c,
        Extent {
            x: drawn.then_some((xs.lo, xs.hi)),
            y: drawn.then_some((ys.lo, ys.hi)),
        },
    )
}

/// The lowest and highest of some numbers (not NaN).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    lo: f64,
    hi: f64,
}

impl Bounds {
    /// No number yet.
    const EMPTY: Bounds = Bounds {
        lo: f64::INFINITY,
        hi: f64::NEG_INFINITY,
    };

    /// With `v` taken in. A comparison, not `f64::min`: one instruction
    /// instead of five with NaN checks, on every point of a series.
    fn with(self, v: f64) -> Bounds {
        Bounds {
            lo: if v < self.lo { v } else { self.lo },
            hi: if v > self.hi { v } else { self.hi },
        }
    }

    /// With `other`'s numbers taken in.
    fn join(self, other: Bounds) -> Bounds {
        Bounds {
            lo: if other.lo < self.lo {
                other.lo
            } else {
                self.lo
            },
            hi: if other.hi > self.hi {
                other.hi
            } else {
                self.hi
            },
        }
    }

    /// With four numbers taken in: their own bounds first (of two pairs,
    /// then of both), joined to these last, so that the next four wait for
    /// one comparison each, not four.
    fn with_four(self, v: &[f64; 4]) -> Bounds {
        let pairs = (
            Bounds::EMPTY.with(v[0]).with(v[1]),
            Bounds::EMPTY.with(v[2]).with(v[3]),
        );
        self.join(pairs.0.join(pairs.1))
    }

    /// The bounds of all the lanes' numbers (a lane without any is
    /// `EMPTY`, and changes nothing).
    fn of_lanes(lanes: [Bounds; 4]) -> Bounds {
        lanes.into_iter().fold(Bounds::EMPTY, Bounds::join)
    }
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
    let mut xs = XColumns::new(selection);
    for (index, s) in selection.series.iter().enumerate() {
        req.cancel.check()?;
        let (c, e) = measure(s, xs.of(index), x_log, y_log);
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
    xs.map_to_pixels(&x_scale);
    let mut y_pixels = Vec::new();
    for (index, (s, name)) in selection.series.iter().zip(names).enumerate() {
        req.cancel.check()?;
        let panel = if panels { index } else { 0 };
        let p = &frame.panels[panel];
        let y_scale = p.y_scale;
        let x_pixels = xs.of(index);
        let runs: Vec<Vec<Point>> = if !req.decimate {
            project(x_pixels, s.y, &y_scale)
        } else if scatter {
            let runs = project(x_pixels, s.y, &y_scale);
            one_marker_per_pixel(runs, &p.area)
        } else if let Some(buckets) = xs.sorted_buckets(index) {
            if y_scale.is_log() {
                // A logarithm is not known never to go back: M4 on pixel rows.
                project_y(x_pixels, s.y, &y_scale, &mut y_pixels);
                decimate::sorted_line(x_pixels, buckets, &y_pixels, |y| !y.is_nan(), |y| y)
            } else {
                decimate::sorted_line(x_pixels, buckets, s.y, f64::is_finite, |y| y_scale.map(y))
            }
        } else {
            decimate::line(project(x_pixels, s.y, &y_scale))
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

/// The drawable points of a series in pixels (`x` its pixel columns, NaN
/// where x cannot be drawn), split where a value is missing or cannot be
/// drawn.
fn project(x: &[f64], y: &[f64], y_scale: &Scale) -> Vec<Vec<Point>> {
    let y_log = y_scale.is_log();
    let mut runs = Vec::new();
    let mut run: Vec<Point> = Vec::new();
    for (&x, &y) in x.iter().zip(y) {
        if !x.is_nan() && scale::drawable(y, y_log) {
            run.push([x, y_scale.map(y)]);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Scatter markers: the first on each pixel of the plot area.
fn one_marker_per_pixel(runs: Vec<Vec<Point>>, area: &Area) -> Vec<Vec<Point>> {
    let (left, top) = (area.left, area.top);
    let shifted: Vec<Point> = runs
        .into_iter()
        .flatten()
        .map(|p| [p[0] - left, p[1] - top])
        .collect();
    let kept = decimate::one_per_pixel(&shifted, area.width, area.height);
    vec![
        kept.into_iter()
            .map(|p| [p[0] + left, p[1] + top])
            .collect(),
    ]
}

/// The pixel rows of a series' points into `out`: NaN where there is no
/// point (x or y missing or not drawable).
fn project_y(x: &[f64], y: &[f64], y_scale: &Scale, out: &mut Vec<f64>) {
    let y_log = y_scale.is_log();
    out.clear();
    out.extend(x.iter().zip(y).map(|(&x, &y)| {
        if !x.is_nan() && scale::drawable(y, y_log) {
            y_scale.map(y)
        } else {
            f64::NAN
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bounds taken in four lanes are those taken one number at a time,
    /// also when some lanes get no number (fewer than four, or every
    /// fourth).
    #[test]
    fn bounds_in_lanes_are_bounds_in_order() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..30 {
            for stride in [1, 4] {
                let values: Vec<f64> = (0..len)
                    .map(|_| {
                        seed = crate::test_rng::xorshift(seed);
                        (seed >> 11) as f64 / 1e9 - 4e3
                    })
                    .collect();
                let mut lanes = [Bounds::EMPTY; 4];
                let mut plain = Bounds::EMPTY;
                for (at, &v) in values.iter().enumerate().step_by(stride) {
                    lanes[at % 4] = lanes[at % 4].with(v);
                    plain = plain.with(v);
                }
                let all = Bounds::of_lanes(lanes);
                assert_eq!((all.lo, all.hi), (plain.lo, plain.hi), "{len} {stride}");
                let (fours, rest) = values.as_chunks::<4>();
                let by_fours = rest.iter().fold(
                    fours
                        .iter()
                        .fold(Bounds::EMPTY, |b, four| b.with_four(four)),
                    |b, &v| b.with(v),
                );
                if stride == 1 {
                    assert_eq!((by_fours.lo, by_fours.hi), (plain.lo, plain.hi), "{len}");
                }
            }
        }
    }
}
