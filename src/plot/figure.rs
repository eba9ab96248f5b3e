//! The figure: everything numeric about a plot, computed here so that
//! templates only lay out markup. From the chosen series it takes extents,
//! domains, nice ticks, the layout (margins from text widths, legend, note),
//! and the marks in pixels: line paths (gaps where values are missing, M4 for
//! large series), scatter markers, bars, histogram bins.

use serde::Serialize;
use std::sync::Arc;

use super::Texts;
use super::decimate::{self, Point};
use super::layout::frame::{
    CATEGORY_LABEL, LABEL_GAP, LAST_LABEL_CLEARANCE, LEGEND_GAP, LEGEND_MAX_SHARE,
    LEGEND_MIN_WIDTH, LEGEND_TOP, MIN_AREA, MIN_NOTE_WIDTH, NOTE_GAP, ROTATE_ABOVE,
    ROTATED_LABEL_OFFSET, ROTATED_LABEL_STEP, SWATCH_GAP, TICK_LABEL_GAP, TICK_LABEL_OFFSET,
    TITLE_GAP, TOP_WITHOUT_TITLE, X_LABEL_GAP, X_TICK_LABEL_SPACE, X_TICK_SPACING, Y_TICK_SPACING,
};
use super::layout::{
    self, LABEL_FONT, LEGEND_FONT, LEGEND_ROW, NOTE_FONT, PAD, SWATCH, TICK_FONT, TICK_LEN,
    TITLE_FONT, push_coord, px, text_width,
};
use super::scale::{self, Scale};
use super::series::{self, Selection, SeriesData, XValues};
use super::ticks::{self, Tick};
use crate::config::PlotSpec;
use crate::table::{Table, format_number};

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

/// The plot area, in pixels.
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
    /// Its value (the category's index on a category axis).
    pub(crate) value: f64,
    /// Its pixel position along the axis.
    pub(crate) pos: f64,
    /// Its label.
    pub(crate) label: String,
}

/// An axis.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Axis {
    /// Logarithmic.
    pub(crate) log: bool,
    /// Domain start (data units).
    pub(crate) min: f64,
    /// Domain end (data units).
    pub(crate) max: f64,
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
    /// SVG path data: lines (`M..L..`, one subpath per unbroken run) or
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
    /// `line`, `marker` or `box`.
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
    /// y axis label, to be turned -90 degrees around its anchor.
    pub(crate) y_label: Option<Text>,
    /// What was left out, and why (small print at the bottom).
    pub(crate) note: Option<Text>,
    /// Set when there is nothing to plot (`skip_empty`): the reason, centred.
    pub(crate) empty: Option<Text>,
    /// The plot area.
    pub(crate) area: Area,
    /// The x axis.
    pub(crate) x_axis: Axis,
    /// The y axis.
    pub(crate) y_axis: Axis,
    /// Line and scatter series.
    pub(crate) series: Vec<Series>,
    /// Bars of bar charts and histograms.
    pub(crate) bars: Vec<Bar>,
    /// Legend entries (two or more series).
    pub(crate) legend: Vec<LegendEntry>,
}

/// What was left out of a figure.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    missing: usize,
    non_finite: usize,
    non_positive: usize,
    drawn: usize,
}

impl Counts {
    /// Counts one point (x and y), and says whether it can be drawn.
    fn point(&mut self, x: f64, y: f64, x_log: bool, y_log: bool) -> bool {
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

    fn add(&mut self, other: Counts) {
        self.missing += other.missing;
        self.non_finite += other.non_finite;
        self.non_positive += other.non_positive;
        self.drawn += other.drawn;
    }
}

fn x_at(x: XValues<'_>, i: usize) -> f64 {
    match x {
        XValues::Row => i as f64,
        XValues::Numbers(v) => v[i],
        XValues::Text(_) => i as f64,
    }
}

fn nonempty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Builds the figure of one plot task. Fails when there is nothing to plot
/// (unless `skip_empty`), or when the request cannot be drawn.
pub(crate) fn build(req: &Request<'_>) -> Result<Figure, String> {
    let spec = req.spec;
    let selection = series::select(
        spec,
        req.tables,
        req.kind == Kind::Bar,
        req.kind != Kind::Hist,
    )?;
    match req.kind {
        Kind::Line | Kind::Scatter => xy(req, &selection),
        Kind::Bar => bars(req, &selection),
        Kind::Hist => hist(req, &selection),
    }
}

/// The texts and legend common to every kind.
struct Labels {
    title: Option<String>,
    x_label: Option<String>,
    y_label: Option<String>,
}

fn labels(
    req: &Request<'_>,
    selection: &Selection<'_>,
    x_default: &str,
    y_default: Option<&str>,
) -> Labels {
    Labels {
        title: nonempty(req.texts.title),
        x_label: nonempty(req.texts.x_label).or_else(|| Some(x_default.to_owned())),
        y_label: nonempty(req.texts.y_label)
            .or_else(|| y_default.map(str::to_owned))
            .or_else(|| selection.single_column().map(str::to_owned)),
    }
}

/// The note: what was left out and why.
fn note(counts: Counts, selection: &Selection<'_>, spec: &PlotSpec, gaps: bool) -> Option<String> {
    let mut left_out = Vec::new();
    if counts.missing > 0 {
        left_out.push(if gaps {
            format!("{} missing (gaps)", counts.missing)
        } else {
            format!("{} missing", counts.missing)
        });
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

/// Fails with "nothing to plot" unless `skip_empty`, where it gives the text
/// an empty figure shows.
fn nothing(spec: &PlotSpec, reason: String) -> Result<String, String> {
    if spec.skip_empty {
        Ok(format!("nothing to plot: {reason}"))
    } else {
        Err(format!(
            "nothing to plot: {reason} (set `skip_empty = true` to draw an empty figure instead)"
        ))
    }
}

fn nothing_reason(selection: &Selection<'_>) -> String {
    if selection.series.is_empty() {
        selection
            .nothing
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        let mut columns: Vec<&str> = selection.series.iter().map(|s| s.column).collect();
        columns.dedup();
        format!(
            "every value of {} is missing or cannot be drawn",
            columns
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The x axis before layout.
enum XAxis {
    Numbers { domain: (f64, f64), log: bool },
    Categories(Vec<String>),
}

/// Input of the layout.
struct FrameSpec {
    width: f64,
    height: f64,
    labels: Labels,
    x: XAxis,
    y_domain: (f64, f64),
    y_log: bool,
    legend: Vec<String>,
    note: Option<String>,
}

/// The laid-out frame: area, axes, scales and text positions.
struct Frame {
    area: Area,
    x_axis: Axis,
    y_axis: Axis,
    x_scale: Option<Scale>,
    /// Width of one category (category axes).
    band: f64,
    y_scale: Scale,
    title: Option<Text>,
    x_label: Option<Text>,
    y_label: Option<Text>,
    note: Option<Text>,
    legend: Vec<(String, f64, f64)>,
}

fn tick_labels_width(ticks: &[Tick]) -> f64 {
    ticks
        .iter()
        .map(|t| text_width(&t.label, TICK_FONT))
        .fold(0.0, f64::max)
}

fn axis_ticks(domain: (f64, f64), log: bool, count: usize) -> Vec<Tick> {
    if log {
        ticks::log(domain.0, domain.1, count)
    } else {
        ticks::linear(domain.0, domain.1, count)
    }
}

fn marks(ticks: &[Tick], scale: &Scale) -> Vec<TickMark> {
    ticks
        .iter()
        .filter(|t| scale.contains(t.value))
        .map(|t| TickMark {
            value: t.value,
            pos: px(scale.map(t.value)),
            label: t.label.clone(),
        })
        .collect()
}

fn frame(f: FrameSpec) -> Frame {
    let (w, h) = (f.width, f.height);
    let top = PAD
        + if f.labels.title.is_some() {
            TITLE_FONT + TITLE_GAP
        } else {
            TOP_WITHOUT_TITLE
        };
    let note_h = if f.note.is_some() {
        NOTE_FONT + NOTE_GAP
    } else {
        0.0
    };
    let x_label_h = if f.labels.x_label.is_some() {
        LABEL_FONT + LABEL_GAP
    } else {
        0.0
    };

    // y ticks first: their labels decide the left margin.
    let bottom_guess = TICK_LEN + TICK_LABEL_GAP + TICK_FONT + x_label_h + note_h + PAD;
    let area_h_guess = (h - top - bottom_guess).max(MIN_AREA);
    let y_count = ((area_h_guess / Y_TICK_SPACING).round() as usize).max(2);
    let y_ticks = axis_ticks(f.y_domain, f.y_log, y_count);
    let left =
        PAD + if f.labels.y_label.is_some() {
            LABEL_FONT + LABEL_GAP
        } else {
            0.0
        } + tick_labels_width(&y_ticks)
            + TICK_LABEL_GAP
            + TICK_LEN;

    let max_legend = (w * LEGEND_MAX_SHARE).max(LEGEND_MIN_WIDTH);
    let legend_names: Vec<String> = f
        .legend
        .iter()
        .map(|n| layout::ellipsize(n, LEGEND_FONT, max_legend))
        .collect();
    let legend_w = legend_names
        .iter()
        .map(|n| text_width(n, LEGEND_FONT))
        .fold(0.0, f64::max);
    let right_base = PAD
        + if legend_names.is_empty() {
            0.0
        } else {
            LEGEND_GAP + SWATCH + SWATCH_GAP + legend_w
        };

    let mut rotate = false;
    let mut band = 0.0;
    let mut x_tick_h = TICK_FONT;
    let (right, x_ticks, x_scale_domain, x_log, categories) = match &f.x {
        XAxis::Numbers { domain, log } => {
            let area_w = (w - left - right_base).max(MIN_AREA);
            let mut count = ((area_w / X_TICK_SPACING).round() as usize).max(2);
            let mut ticks = axis_ticks(*domain, *log, count);
            // Fewer ticks until their labels fit side by side.
            for _ in 0..8 {
                let need: f64 = ticks
                    .iter()
                    .map(|t| text_width(&t.label, TICK_FONT) + X_TICK_LABEL_SPACE)
                    .sum();
                if need <= area_w || count <= 2 {
                    break;
                }
                count = (count * 2 / 3).max(2);
                ticks = axis_ticks(*domain, *log, count);
            }
            let half_last = ticks
                .last()
                .map_or(0.0, |t| text_width(&t.label, TICK_FONT) / 2.0);
            (
                right_base.max(half_last + LAST_LABEL_CLEARANCE),
                ticks,
                *domain,
                *log,
                None,
            )
        }
        XAxis::Categories(names) => {
            let area_w = (w - left - right_base).max(MIN_AREA);
            let n = names.len().max(1);
            band = area_w / n as f64;
            let labels: Vec<String> = names
                .iter()
                .map(|s| layout::ellipsize(s, TICK_FONT, CATEGORY_LABEL))
                .collect();
            let widest = labels
                .iter()
                .map(|l| text_width(l, TICK_FONT))
                .fold(0.0, f64::max);
            rotate = widest > band * ROTATE_ABOVE;
            if rotate {
                x_tick_h = (widest + TICK_FONT) * std::f64::consts::FRAC_1_SQRT_2;
            }
            // Every k-th label when even turned labels would overlap.
            let every = if rotate {
                ((TICK_FONT * ROTATED_LABEL_STEP) / band).ceil().max(1.0) as usize
            } else {
                1
            };
            let ticks: Vec<Tick> = labels
                .into_iter()
                .enumerate()
                .map(|(i, label)| Tick {
                    value: i as f64,
                    label: if i % every == 0 { label } else { String::new() },
                })
                .collect();
            (right_base, ticks, (0.0, n as f64), false, Some(n))
        }
    };

    let bottom = TICK_LEN + TICK_LABEL_GAP + x_tick_h + x_label_h + note_h + PAD;
    let mut area_left = left;
    let mut area_right = w - right;
    if area_right - area_left < MIN_AREA {
        area_left = (w / 2.0 - MIN_AREA / 2.0).min(left);
        area_right = area_left + MIN_AREA;
    }
    let area_top = top;
    let mut area_bottom = h - bottom;
    if area_bottom - area_top < MIN_AREA {
        area_bottom = area_top + MIN_AREA;
    }
    let area = Area {
        left: px(area_left),
        top: px(area_top),
        right: px(area_right),
        bottom: px(area_bottom),
        width: px(area_right - area_left),
        height: px(area_bottom - area_top),
    };
    if categories.is_some() {
        band = (area_right - area_left) / categories.unwrap_or(1) as f64;
    }
    let y_scale = Scale::new(f.y_domain, (area_bottom, area_top), f.y_log);
    let x_scale = Scale::new(x_scale_domain, (area_left, area_right), x_log);
    let x_marks = match categories {
        None => marks(&x_ticks, &x_scale),
        Some(_) => x_ticks
            .iter()
            .map(|t| TickMark {
                value: t.value,
                pos: px(area_left + band * (t.value + 0.5)),
                label: t.label.clone(),
            })
            .collect(),
    };
    let x_axis = Axis {
        log: x_log,
        min: x_scale_domain.0,
        max: x_scale_domain.1,
        ticks: x_marks,
        rotate,
        categories: categories.is_some(),
        line: px(area_bottom),
        tick_end: px(area_bottom + TICK_LEN),
        label_at: px(area_bottom
            + TICK_LEN
            + if rotate {
                ROTATED_LABEL_OFFSET
            } else {
                TICK_LABEL_OFFSET
            }),
    };
    let y_axis = Axis {
        log: f.y_log,
        min: f.y_domain.0,
        max: f.y_domain.1,
        ticks: marks(&y_ticks, &y_scale),
        rotate: false,
        categories: false,
        line: px(area_left),
        tick_end: px(area_left - TICK_LEN),
        label_at: px(area_left - TICK_LEN - TICK_LABEL_OFFSET),
    };
    let centre = px((area_left + area_right) / 2.0);
    let title = f.labels.title.map(|text| Text {
        text,
        x: centre,
        y: px(PAD + TITLE_FONT),
    });
    let x_label_y = area_bottom + TICK_LEN + TICK_LABEL_GAP + x_tick_h + X_LABEL_GAP + LABEL_FONT;
    let x_label = f.labels.x_label.map(|text| Text {
        text,
        x: centre,
        y: px(x_label_y),
    });
    let y_label = f.labels.y_label.map(|text| Text {
        text,
        x: px(PAD + LABEL_FONT),
        y: px((area_top + area_bottom) / 2.0),
    });
    let note = f.note.map(|text| Text {
        text: layout::ellipsize(&text, NOTE_FONT, (w - 2.0 * PAD).max(MIN_NOTE_WIDTH)),
        x: PAD,
        y: px(h - PAD),
    });
    let legend = legend_names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            (
                name,
                px(area_right + LEGEND_GAP),
                px(area_top + LEGEND_TOP + LEGEND_ROW * i as f64),
            )
        })
        .collect();
    Frame {
        area,
        x_axis,
        y_axis,
        x_scale: categories.is_none().then_some(x_scale),
        band,
        y_scale,
        title,
        x_label,
        y_label,
        note,
        legend,
    }
}

fn figure(req: &Request<'_>, frame: Frame, empty: Option<String>) -> Figure {
    let empty = empty.map(|text| Text {
        text: layout::ellipsize(&text, LABEL_FONT, frame.area.width.max(20.0)),
        x: px((frame.area.left + frame.area.right) / 2.0),
        y: px((frame.area.top + frame.area.bottom) / 2.0),
    });
    Figure {
        kind: req.kind.name(),
        width: req.spec.width,
        height: req.spec.height,
        font: layout::FONT_FAMILY,
        fonts: Fonts {
            tick: TICK_FONT,
            label: LABEL_FONT,
            title: TITLE_FONT,
            legend: LEGEND_FONT,
            note: NOTE_FONT,
        },
        tick_length: TICK_LEN,
        title: frame.title,
        x_label: frame.x_label,
        y_label: frame.y_label,
        note: frame.note,
        empty,
        area: frame.area,
        x_axis: frame.x_axis,
        y_axis: frame.y_axis,
        series: Vec::new(),
        bars: Vec::new(),
        legend: Vec::new(),
    }
}

fn legend(frame_legend: &[(String, f64, f64)], mark: &'static str) -> Vec<LegendEntry> {
    frame_legend
        .iter()
        .enumerate()
        .map(|(i, (name, x, y))| LegendEntry {
            name: name.clone(),
            color: layout::color(i),
            dash: layout::dash(i),
            mark,
            x: *x,
            y: *y,
            swatch_end: px(x + SWATCH),
            swatch_mid: px(x + SWATCH / 2.0),
            box_top: px(y - 5.0),
            swatch_width: SWATCH,
            text_x: px(x + SWATCH + 6.0),
        })
        .collect()
}

/// Line and scatter plots.
fn xy(req: &Request<'_>, selection: &Selection<'_>) -> Result<Figure, String> {
    let spec = req.spec;
    let (x_log, y_log) = (spec.x_log, spec.y_log);
    // First pass: extents and counts.
    let mut counts = Counts::default();
    let mut x_extent = None;
    let mut y_extent = None;
    for s in &selection.series {
        let mut c = Counts::default();
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (i, &y) in s.y.iter().enumerate() {
            let x = x_at(s.x, i);
            if c.point(x, y, x_log, y_log) {
                xlo = xlo.min(x);
                xhi = xhi.max(x);
                ylo = ylo.min(y);
                yhi = yhi.max(y);
            }
        }
        if c.drawn > 0 {
            x_extent = scale::union(x_extent, Some((xlo, xhi)));
            y_extent = scale::union(y_extent, Some((ylo, yhi)));
        }
        counts.add(c);
    }
    let empty = if counts.drawn == 0 {
        Some(nothing(spec, nothing_reason(selection))?)
    } else {
        None
    };
    let scatter = req.kind == Kind::Scatter;
    let x_pad = if scatter { 0.05 } else { 0.0 };
    let x_domain = scale::domain(x_extent, x_log, false, x_pad);
    let y_domain = scale::domain(y_extent, y_log, spec.y_zero, 0.05);
    let names = selection.names();
    let x_default = selection.x_name.clone().unwrap_or_else(|| "row".to_owned());
    let frame = frame(FrameSpec {
        width: f64::from(spec.width),
        height: f64::from(spec.height),
        labels: labels(req, selection, &x_default, None),
        x: XAxis::Numbers {
            domain: x_domain,
            log: x_log,
        },
        y_domain,
        y_log,
        legend: if names.len() >= 2 {
            names.clone()
        } else {
            Vec::new()
        },
        note: note(counts, selection, spec, !scatter),
    });
    let x_scale = frame
        .x_scale
        .unwrap_or_else(|| Scale::new(x_domain, (0.0, 1.0), x_log));
    let y_scale = frame.y_scale;
    let area = (
        frame.area.width,
        frame.area.height,
        frame.area.left,
        frame.area.top,
    );
    let legend_entries = legend(&frame.legend, if scatter { "marker" } else { "line" });
    let mut fig = figure(req, frame, empty);
    fig.legend = legend_entries;
    if fig.empty.is_some() {
        return Ok(fig);
    }
    for (index, (s, name)) in selection.series.iter().zip(names).enumerate() {
        let runs = project(s, &x_scale, &y_scale);
        let runs: Vec<Vec<Point>> = if !req.decimate {
            runs
        } else if scatter {
            let all: Vec<Point> = runs.into_iter().flatten().collect();
            let (w, h, left, top) = area;
            let shifted: Vec<Point> = all.iter().map(|p| [p[0] - left, p[1] - top]).collect();
            let kept = decimate::one_per_pixel(&shifted, w, h);
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
        let x = x_at(s.x, i);
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

/// Tenths of a pixel, the precision of path data.
fn tenths(v: f64) -> i64 {
    (v * 10.0).round() as i64
}

/// Appends a length in tenths of a pixel (`12`, `-0.5`).
fn push_tenths(d: &mut String, t: i64) {
    push_coord(d, t as f64 / 10.0);
}

/// `M x y l dx dy dx dy ...` per run (relative steps are short: most of a
/// large plot's bytes), `V y` for a vertical stroke; a run of one point is a
/// dot (`h0` with round caps). Steps are taken between rounded positions,
/// so they never drift.
fn line_path(runs: &[Vec<Point>]) -> String {
    let mut d = String::with_capacity(runs.iter().map(Vec::len).sum::<usize>() * 9);
    for run in runs {
        let mut prev = (0i64, 0i64);
        for (i, p) in run.iter().enumerate() {
            let here = (tenths(p[0]), tenths(p[1]));
            match i {
                0 => {
                    d.push('M');
                    push_tenths(&mut d, here.0);
                    d.push(' ');
                    push_tenths(&mut d, here.1);
                }
                _ if run.len() == 2 && here.0 == prev.0 => {
                    d.push('V');
                    push_tenths(&mut d, here.1);
                }
                _ => {
                    d.push(if i == 1 { 'l' } else { ' ' });
                    push_tenths(&mut d, here.0 - prev.0);
                    let dy = here.1 - prev.1;
                    if dy >= 0 {
                        d.push(' ');
                    }
                    push_tenths(&mut d, dy);
                }
            }
            prev = here;
        }
        if run.len() == 1 {
            d.push_str("h0");
        }
    }
    d
}

/// `M x yh0` per point: a dot per marker with round caps.
fn marker_path(runs: &[Vec<Point>]) -> String {
    let mut d = String::new();
    for p in runs.iter().flatten() {
        d.push('M');
        push_coord(&mut d, p[0]);
        d.push(' ');
        push_coord(&mut d, p[1]);
        d.push_str("h0");
    }
    d
}

/// The text of a category cell.
fn category(x: XValues<'_>, i: usize) -> String {
    match x {
        XValues::Row => i.to_string(),
        XValues::Numbers(v) if v[i].is_nan() => String::new(),
        XValues::Numbers(v) => format_number(v[i]),
        XValues::Text(v) => v.get(i).unwrap_or_default().to_owned(),
    }
}

/// Bar charts: a category per row (of every table in turn), a bar per
/// column, from zero.
fn bars(req: &Request<'_>, selection: &Selection<'_>) -> Result<Figure, String> {
    let spec = req.spec;
    let y_log = spec.y_log;
    // Series by column name; categories are the rows of every table with series.
    let mut columns: Vec<&str> = Vec::new();
    for s in &selection.series {
        if !columns.contains(&s.column) {
            columns.push(s.column);
        }
    }
    let mut categories: Vec<String> = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    let mut table = usize::MAX;
    let mut offset = 0;
    for s in &selection.series {
        if s.table != table {
            table = s.table;
            offset = categories.len();
            categories.extend((0..s.y.len()).map(|i| category(s.x, i)));
            for v in &mut values {
                v.resize(categories.len(), f64::NAN);
            }
        }
        let c = columns.iter().position(|c| *c == s.column).unwrap_or(0);
        values[c][offset..offset + s.y.len()].copy_from_slice(s.y);
    }
    let room = f64::from(spec.width) / 2.0;
    if categories.len() as f64 > room {
        return Err(format!(
            "a bar chart of {} rows does not fit in {} pixels (at most {} bars); \
             draw it with `template = \"line\"` or `\"hist\"`, or make it wider",
            categories.len(),
            spec.width,
            room as usize
        ));
    }
    let mut counts = Counts::default();
    let mut extent = None;
    for v in &values {
        for &y in v {
            if counts.point(0.0, y, false, y_log) {
                extent = scale::union(extent, Some((y, y)));
            }
        }
    }
    let empty = if counts.drawn == 0 {
        Some(nothing(spec, nothing_reason(selection))?)
    } else {
        None
    };
    let y_domain = scale::domain(extent, y_log, true, 0.05);
    let x_default = selection.x_name.clone().unwrap_or_else(|| "row".to_owned());
    let names: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    let frame = frame(FrameSpec {
        width: f64::from(spec.width),
        height: f64::from(spec.height),
        labels: labels(req, selection, &x_default, None),
        x: XAxis::Categories(categories.clone()),
        y_domain,
        y_log,
        legend: if names.len() >= 2 { names } else { Vec::new() },
        note: note(counts, selection, spec, false),
    });
    let band = frame.band;
    let left = frame.area.left;
    let y_scale = frame.y_scale;
    let legend_entries = legend(&frame.legend, "box");
    let mut fig = figure(req, frame, empty);
    fig.legend = legend_entries;
    if fig.empty.is_some() {
        return Ok(fig);
    }
    let base = if y_log { y_domain.0 } else { 0.0 };
    let base_px = y_scale.map(base);
    let k = columns.len() as f64;
    let bar_w = band * 0.8 / k;
    for (j, v) in values.iter().enumerate() {
        for (i, &y) in v.iter().enumerate() {
            if !scale::drawable(y, y_log) {
                continue;
            }
            let top = y_scale.map(y);
            let x = left + band * i as f64 + band * 0.1 + bar_w * j as f64;
            fig.bars.push(Bar {
                x: px(x),
                y: px(top.min(base_px)),
                width: px(bar_w),
                height: px((top - base_px).abs()),
                color: layout::color(j),
                series: j,
                category: categories[i].clone(),
                value: y,
            });
        }
    }
    Ok(fig)
}

/// Histograms: counts of each series' values in `bins` equal bins (equal in
/// log space on a log x axis), overlaid.
fn hist(req: &Request<'_>, selection: &Selection<'_>) -> Result<Figure, String> {
    let spec = req.spec;
    let (x_log, y_log) = (spec.x_log, spec.y_log);
    let mut counts = Counts::default();
    let mut extent = None;
    for s in &selection.series {
        for &v in s.y {
            if counts.point(v, 0.0, x_log, false) {
                extent = scale::union(extent, Some((v, v)));
            }
        }
    }
    let empty = if counts.drawn == 0 {
        Some(nothing(spec, nothing_reason(selection))?)
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
            let b = ((f * bins as f64).floor().max(0.0) as usize).min(bins - 1);
            tally[b] += 1;
        }
        tallies.push(tally);
    }
    let most = tallies.iter().flatten().copied().max().unwrap_or(0);
    let y_extent = if y_log {
        scale::extent(tallies.iter().flatten().map(|&c| c as f64), true)
    } else {
        Some((0.0, most.max(1) as f64))
    };
    let y_domain = scale::domain(y_extent, y_log, true, 0.05);
    let names = selection.names();
    let x_default = selection
        .single_column()
        .map_or_else(|| "value".to_owned(), str::to_owned);
    let frame = frame(FrameSpec {
        width: f64::from(spec.width),
        height: f64::from(spec.height),
        labels: labels(req, selection, &x_default, Some("count")),
        x: XAxis::Numbers {
            domain: x_domain,
            log: x_log,
        },
        y_domain,
        y_log,
        legend: if names.len() >= 2 { names } else { Vec::new() },
        note: note(counts, selection, spec, false),
    });
    let x_scale = frame
        .x_scale
        .unwrap_or_else(|| Scale::new(x_domain, (0.0, 1.0), x_log));
    let y_scale = frame.y_scale;
    let legend_entries = legend(&frame.legend, "box");
    let mut fig = figure(req, frame, empty);
    fig.legend = legend_entries;
    if fig.empty.is_some() {
        return Ok(fig);
    }
    let edge = |b: usize| {
        let t = t0 + (t1 - t0) * b as f64 / bins as f64;
        if x_log { 10f64.powf(t) } else { t }
    };
    let base_px = y_scale.map(if y_log { y_domain.0 } else { 0.0 });
    for (j, tally) in tallies.iter().enumerate() {
        for (b, &count) in tally.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (lo, hi) = (edge(b), edge(b + 1));
            let (x0, x1) = (x_scale.map(lo), x_scale.map(hi));
            let top = y_scale.map(count as f64);
            fig.bars.push(Bar {
                x: px(x0),
                y: px(top.min(base_px)),
                width: px(x1 - x0),
                height: px((top - base_px).abs()),
                color: layout::color(j),
                series: j,
                category: format!("{} to {}", ticks::general(lo), ticks::general(hi)),
                value: count as f64,
            });
        }
    }
    Ok(fig)
}
