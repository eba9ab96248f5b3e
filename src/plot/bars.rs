//! Bar charts (a category per row, a bar per column, from zero; time
//! categories labelled concisely) and histograms (counts in equal bins,
//! overlaid); with `layout = "panels"`, one panel per column or series.

use super::axes::XAxis;
use super::error::PlotError;
use super::figure::{Bar, Figure, Request};
use super::frame::{self, FrameSpec, PanelSpec};
use super::layout::{self, px};
use super::notes::{self, Counts};
use super::scale::{self, Scale};
use super::series::{self, Selection, XValues};
use super::ticks;
use super::time_axis;
use crate::table::format_number;

/// The text of a category cell (not time).
fn category(x: XValues<'_>, i: usize) -> String {
    match x {
        XValues::Row => i.to_string(),
        XValues::Numbers(v) if v[i].is_nan() => String::new(),
        XValues::Numbers(v) => format_number(v[i]),
        XValues::Text(v) => v.get(i).unwrap_or_default().to_owned(),
        XValues::Time(t) => t.get(i).map(|us| t.style.format(us)).unwrap_or_default(),
    }
}

/// The categories of a bar chart: the rows of every table with series, in
/// turn, and each column's values over them.
struct Categories {
    /// A label per category (ISO text for times, until made concise).
    labels: Vec<String>,
    /// The shown instant of each category, when every x is a time.
    instants: Option<Vec<Option<i64>>>,
    /// Column names, in order.
    columns: Vec<String>,
    /// Per column, a value per category (NaN where it has none).
    values: Vec<Vec<f64>>,
}

fn categories(selection: &Selection<'_>) -> Categories {
    // Series by column name, indexed so that many columns stay linear
    // (issue 10, item 10).
    let mut columns: Vec<String> = Vec::new();
    let mut index: rustc_hash::FxHashMap<&str, usize> = Default::default();
    let series_column: Vec<usize> = selection
        .series
        .iter()
        .map(|s| {
            *index.entry(s.column).or_insert_with(|| {
                columns.push(s.column.to_owned());
                columns.len() - 1
            })
        })
        .collect();
    let all_time = selection
        .series
        .iter()
        .all(|s| matches!(s.x, XValues::Time(_)));
    let mut labels: Vec<String> = Vec::new();
    let mut instants: Vec<Option<i64>> = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    let mut table = usize::MAX;
    let mut offset = 0;
    for (s, &c) in selection.series.iter().zip(&series_column) {
        if s.table != table {
            table = s.table;
            offset = labels.len();
            labels.extend((0..s.y.len()).map(|i| category(s.x, i)));
            if let XValues::Time(t) = s.x {
                let shift = series::shift(t);
                instants.extend((0..s.y.len()).map(|i| t.get(i).map(|us| us + shift)));
            }
            for v in &mut values {
                v.resize(labels.len(), f64::NAN);
            }
        }
        values[c][offset..offset + s.y.len()].copy_from_slice(s.y);
    }
    Categories {
        labels,
        instants: (all_time && !selection.series.is_empty()).then_some(instants),
        columns,
        values,
    }
}

/// Bar charts: a category per row (of every table in turn), a bar per
/// column, from zero.
pub(crate) fn bars(req: &Request<'_>, selection: &Selection<'_>) -> Result<Figure, PlotError> {
    let spec = req.spec;
    let y_log = spec.y_log;
    let cats = categories(selection);
    let room = f64::from(spec.width) / 2.0;
    if cats.labels.len() as f64 > room {
        return Err(PlotError::TooManyBars {
            rows: cats.labels.len(),
            width: spec.width,
            most: room as usize,
        });
    }
    let panels = req.panels() && cats.columns.len() > 1;
    let mut counts = Counts {
        invalid: selection.series.iter().map(|s| s.invalid).sum(),
        ..Counts::default()
    };
    let mut extents = Vec::with_capacity(cats.values.len());
    for v in &cats.values {
        req.cancel.check()?;
        let mut extent = None;
        for &y in v {
            if counts.point(0.0, y, false, y_log) {
                extent = scale::union(extent, Some((y, y)));
            }
        }
        extents.push(extent);
    }
    let empty = if counts.drawn == 0 {
        Some(notes::nothing(spec, selection)?)
    } else {
        None
    };
    let y_domain = |extent| scale::domain(extent, y_log, true, 0.05);
    let panel_specs: Vec<PanelSpec> = if panels && empty.is_none() {
        extents
            .iter()
            .zip(&cats.columns)
            .map(|(e, name)| PanelSpec {
                y_domain: y_domain(*e),
                y_log,
                label: Some(name.clone()),
            })
            .collect()
    } else {
        vec![PanelSpec {
            y_domain: y_domain(extents.iter().fold(None, |a, e| scale::union(a, *e))),
            y_log,
            label: None,
        }]
    };
    // Time categories get concise labels (the year once, not on every bar).
    let x = match &cats.instants {
        Some(instants) => {
            let known: Vec<i64> = instants.iter().flatten().copied().collect();
            let (concise, offset) = time_axis::concise(&known);
            let mut concise = concise.into_iter();
            let labels = instants
                .iter()
                .map(|i| match i {
                    Some(_) => concise.next().unwrap_or_default(),
                    None => String::new(),
                })
                .collect();
            XAxis::Categories {
                labels,
                iso: Some(cats.labels.clone()),
                offset: Some(offset).filter(|o| !o.is_empty()),
            }
        }
        None => XAxis::Categories {
            labels: cats.labels.clone(),
            iso: None,
            offset: None,
        },
    };
    let x_default = selection.x_name.clone().unwrap_or_else(|| "row".to_owned());
    let frame = frame::frame(FrameSpec {
        width: f64::from(spec.width),
        height: f64::from(spec.height),
        labels: notes::labels(req.texts, selection, &x_default, None, panels),
        x,
        panels: panel_specs,
        legend: if cats.columns.len() >= 2 && !panels {
            cats.columns.clone()
        } else {
            Vec::new()
        },
        note: notes::note(counts, selection, spec, false),
    });
    let mut fig = frame::assemble(req, &frame, empty, "box");
    if fig.empty.is_some() {
        return Ok(fig);
    }
    let band = frame.band;
    let k = if panels {
        1.0
    } else {
        cats.values.len() as f64
    };
    let bar_w = band * 0.8 / k;
    for (j, v) in cats.values.iter().enumerate() {
        req.cancel.check()?;
        let (panel, slot) = if panels { (j, 0) } else { (0, j) };
        let p = &frame.panels[panel];
        let base = if y_log { p.y_axis.min } else { 0.0 };
        let base_px = p.y_scale.map(base);
        for (i, &y) in v.iter().enumerate() {
            if !scale::drawable(y, y_log) {
                continue;
            }
            let top = p.y_scale.map(y);
            let x = p.area.left + band * i as f64 + band * 0.1 + bar_w * slot as f64;
            fig.bars.push(Bar {
                x: px(x),
                y: px(top.min(base_px)),
                width: px(bar_w),
                height: px((top - base_px).abs()),
                color: layout::color(j),
                series: j,
                panel,
                category: cats.labels[i].clone(),
                value: y,
            });
        }
    }
    Ok(fig)
}

/// Histograms: counts of each series' values in `bins` equal bins (equal in
/// log space on a log x axis), overlaid (or one panel each).
pub(crate) fn hist(req: &Request<'_>, selection: &Selection<'_>) -> Result<Figure, PlotError> {
    let spec = req.spec;
    let (x_log, y_log) = (spec.x_log, spec.y_log);
    let panels = req.panels() && selection.series.len() > 1;
    let mut counts = Counts::default();
    let mut extent = None;
    for s in &selection.series {
        req.cancel.check()?;
        counts.invalid += s.invalid;
        for &v in s.y {
            if counts.point(v, 0.0, x_log, false) {
                extent = scale::union(extent, Some((v, v)));
            }
        }
    }
    let empty = if counts.drawn == 0 {
        Some(notes::nothing(spec, selection)?)
    } else {
        None
    };
    let x_domain = scale::domain(extent, x_log, false, 0.0);
    let bins = spec.bins.max(1);
    let (t0, t1) = if x_log {
        (x_domain.0.log10(), x_domain.1.log10())
    } else {
        (x_domain.0, x_domain.1)
    };
    let half_span = t1 / 2.0 - t0 / 2.0;
    let mut tallies: Vec<Vec<u64>> = Vec::with_capacity(selection.series.len());
    for s in &selection.series {
        req.cancel.check()?;
        let mut tally = vec![0u64; bins];
        for &v in s.y {
            if !scale::drawable(v, x_log) {
                continue;
            }
            let t = if x_log { v.log10() } else { v };
            let f = if half_span > 0.0 {
                (t / 2.0 - t0 / 2.0) / half_span
            } else {
                0.5
            };
            // At least 0, where truncation is the floor (no libm call).
            let b = ((f * bins as f64).max(0.0) as usize).min(bins - 1);
            tally[b] += 1;
        }
        tallies.push(tally);
    }
    let y_domain = |tallies: &[&Vec<u64>]| {
        let y_extent = if y_log {
            scale::extent(tallies.iter().copied().flatten().map(|&c| c as f64), true)
        } else {
            let most = tallies
                .iter()
                .copied()
                .flatten()
                .copied()
                .max()
                .unwrap_or(0);
            Some((0.0, most.max(1) as f64))
        };
        scale::domain(y_extent, y_log, true, 0.05)
    };
    let names = selection.names();
    let panel_specs: Vec<PanelSpec> = if panels && empty.is_none() {
        tallies
            .iter()
            .zip(&names)
            .map(|(t, name)| PanelSpec {
                y_domain: y_domain(&[t]),
                y_log,
                label: Some(name.clone()),
            })
            .collect()
    } else {
        vec![PanelSpec {
            y_domain: y_domain(&tallies.iter().collect::<Vec<_>>()),
            y_log,
            label: None,
        }]
    };
    let columns = selection.columns();
    let x_default = if columns.is_empty() {
        "value".to_owned()
    } else {
        columns.join(", ")
    };
    let mut labels = notes::labels(req.texts, selection, &x_default, Some("count"), panels);
    if panels && labels.y_label.is_none() {
        labels.y_label = Some("count".to_owned());
    }
    let frame = frame::frame(FrameSpec {
        width: f64::from(spec.width),
        height: f64::from(spec.height),
        labels,
        x: XAxis::Numbers {
            domain: x_domain,
            log: x_log,
        },
        panels: panel_specs,
        legend: if names.len() >= 2 && !panels {
            names
        } else {
            Vec::new()
        },
        note: notes::note(counts, selection, spec, false),
    });
    let mut fig = frame::assemble(req, &frame, empty, "box");
    if fig.empty.is_some() {
        return Ok(fig);
    }
    let x_scale = frame
        .x_scale
        .unwrap_or_else(|| Scale::new(x_domain, (0.0, 1.0), x_log));
    let edge = |b: usize| {
        let t = t0 + (t1 - t0) * b as f64 / bins as f64;
        if x_log { 10f64.powf(t) } else { t }
    };
    for (j, tally) in tallies.iter().enumerate() {
        let panel = if panels { j } else { 0 };
        let p = &frame.panels[panel];
        let base_px = p.y_scale.map(if y_log { p.y_axis.min } else { 0.0 });
        for (b, &count) in tally.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (lo, hi) = (edge(b), edge(b + 1));
            let (x0, x1) = (x_scale.map(lo), x_scale.map(hi));
            let top = p.y_scale.map(count as f64);
            fig.bars.push(Bar {
                x: px(x0),
                y: px(top.min(base_px)),
                width: px(x1 - x0),
                height: px((top - base_px).abs()),
                color: layout::color(j),
                series: j,
                panel,
                category: format!("{} to {}", ticks::general(lo), ticks::general(hi)),
                value: count as f64,
            });
        }
    }
    Ok(fig)
}
