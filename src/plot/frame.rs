//! The frame of a figure: where everything goes. From the texts, the x axis
//! (numbers, time or categories) and the y domain of each panel, it takes
//! the margins (from text widths), the plot areas (one, or one per series
//! stacked under a shared x axis, as matplotlib's `subplots(sharex=True)`),
//! the ticks, the legend and the note; then `assemble` turns it into the
//! `Figure` templates see.

use super::axes::{XAxis, XTick, XTicks, axis_ticks, marks, tick_labels_width, x_ticks};
use super::figure::{Area, Axis, Figure, Fonts, LegendEntry, Panel, Request, Text, TickMark};
use super::layout::frame::{
    CATEGORY_LABEL, LABEL_GAP, LAST_LABEL_CLEARANCE, LEGEND_GAP, LEGEND_MAX_SHARE,
    LEGEND_MIN_WIDTH, LEGEND_TOP, MIN_AREA, MIN_NOTE_WIDTH, NOTE_GAP, OFFSET_GAP, PANEL_GAP,
    ROTATE_ABOVE, ROTATED_LABEL_OFFSET, ROTATED_LABEL_STEP, SWATCH_GAP, TICK_LABEL_GAP,
    TICK_LABEL_OFFSET, TITLE_GAP, TOP_WITHOUT_TITLE, X_LABEL_GAP, X_TICK_LABEL_SPACE,
    X_TICK_SPACING, Y_TICK_SPACING,
};
use super::layout::{
    self, LABEL_FONT, LEGEND_FONT, LEGEND_ROW, NOTE_FONT, PAD, SWATCH, TICK_FONT, TICK_LEN,
    TITLE_FONT, px, text_width,
};
use super::notes::Labels;
use super::scale::Scale;
use super::ticks::Tick;

/// One panel before layout.
pub(crate) struct PanelSpec {
    /// Its y domain.
    pub(crate) y_domain: (f64, f64),
    /// Logarithmic y.
    pub(crate) y_log: bool,
    /// Its own y label (panels: the series' name).
    pub(crate) label: Option<String>,
}

/// Input of the layout.
pub(crate) struct FrameSpec {
    /// Pixels.
    pub(crate) width: f64,
    /// Pixels.
    pub(crate) height: f64,
    /// Title, x label and the y label of the whole figure.
    pub(crate) labels: Labels,
    /// The x axis.
    pub(crate) x: XAxis,
    /// The panels, top to bottom (at least one).
    pub(crate) panels: Vec<PanelSpec>,
    /// Legend names (empty: no legend).
    pub(crate) legend: Vec<String>,
    /// The note.
    pub(crate) note: Option<String>,
}

/// One laid-out panel.
pub(crate) struct PanelFrame {
    /// Its area.
    pub(crate) area: Area,
    /// Its y scale.
    pub(crate) y_scale: Scale,
    /// Its y axis.
    pub(crate) y_axis: Axis,
    /// Its own y label.
    pub(crate) y_label: Option<Text>,
}

/// The laid-out frame: areas, axes, scales and text positions.
pub(crate) struct Frame {
    /// The panels, top to bottom.
    pub(crate) panels: Vec<PanelFrame>,
    /// The shared x axis (under the bottom panel).
    pub(crate) x_axis: Axis,
    /// The x scale (not for categories).
    pub(crate) x_scale: Option<Scale>,
    /// Width of one category (category axes).
    pub(crate) band: f64,
    /// Title.
    pub(crate) title: Option<Text>,
    /// x label.
    pub(crate) x_label: Option<Text>,
    /// The y label of the whole figure.
    pub(crate) y_label: Option<Text>,
    /// Note.
    pub(crate) note: Option<Text>,
    /// Legend entries: name, x, y.
    pub(crate) legend: Vec<(String, f64, f64)>,
    /// The last legend entry counts the series that did not fit.
    pub(crate) legend_more: bool,
}

fn area(left: f64, top: f64, right: f64, bottom: f64) -> Area {
    Area {
        left: px(left),
        top: px(top),
        right: px(right),
        bottom: px(bottom),
        width: px(right - left),
        height: px(bottom - top),
    }
}

/// The height each of `n` panels gets out of `total`.
fn panel_height(total: f64, n: usize) -> f64 {
    ((total - PANEL_GAP * (n as f64 - 1.0)) / n as f64).max(MIN_AREA)
}

/// Lays out a figure.
pub(crate) fn frame(f: FrameSpec) -> Frame {
    let (w, h) = (f.width, f.height);
    let n = f.panels.len().max(1);
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
    let panel_h_guess = panel_height(area_h_guess, n);
    let y_count = ((panel_h_guess / Y_TICK_SPACING).round() as usize).max(2);
    let y_ticks: Vec<Vec<Tick>> = f
        .panels
        .iter()
        .map(|p| axis_ticks(p.y_domain, p.y_log, y_count))
        .collect();
    let label_column = LABEL_FONT + LABEL_GAP;
    let common_label_w = if f.labels.y_label.is_some() {
        label_column
    } else {
        0.0
    };
    let panel_label_w = if f.panels.iter().any(|p| p.label.is_some()) {
        label_column
    } else {
        0.0
    };
    let y_tick_w = y_ticks
        .iter()
        .map(|t| tick_labels_width(t.iter().map(|t| t.label.as_str())))
        .fold(0.0, f64::max);
    let left = PAD + common_label_w + panel_label_w + y_tick_w + TICK_LABEL_GAP + TICK_LEN;

    let max_legend = (w * LEGEND_MAX_SHARE).max(LEGEND_MIN_WIDTH);
    // As many entries as fit beside the plot area; the last one says how
    // many more there are.
    let rows = ((area_h_guess - LEGEND_TOP) / LEGEND_ROW).floor().max(0.0) as usize + 1;
    let legend_more = f.legend.len() > rows;
    let shown = if legend_more {
        rows - 1
    } else {
        f.legend.len()
    };
    let mut legend_names: Vec<String> = f.legend[..shown]
        .iter()
        .map(|n| layout::ellipsize(n, LEGEND_FONT, max_legend))
        .collect();
    if legend_more {
        legend_names.push(format!("… {} more", f.legend.len() - shown));
    }
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
    let area_w_guess = (w - left - right_base).max(MIN_AREA);
    let (right, x_ticks, x_scale_domain, x_log, categories) = match &f.x {
        XAxis::Numbers { domain, .. } | XAxis::Time { domain, .. } => {
            let log = matches!(f.x, XAxis::Numbers { log: true, .. });
            let mut count = ((area_w_guess / X_TICK_SPACING).round() as usize).max(2);
            let mut ticks = x_ticks(&f.x, count);
            // Fewer ticks until their labels fit side by side.
            for _ in 0..8 {
                let need: f64 = ticks
                    .ticks
                    .iter()
                    .map(|t| text_width(&t.label, TICK_FONT) + X_TICK_LABEL_SPACE)
                    .sum();
                if need <= area_w_guess || count <= 2 {
                    break;
                }
                count = (count * 2 / 3).max(2);
                ticks = x_ticks(&f.x, count);
            }
            let half_last = ticks
                .ticks
                .last()
                .map_or(0.0, |t| text_width(&t.label, TICK_FONT) / 2.0);
            (
                right_base.max(half_last + LAST_LABEL_CLEARANCE),
                ticks,
                *domain,
                log,
                None,
            )
        }
        XAxis::Categories {
            labels,
            iso,
            offset,
        } => {
            let count = labels.len().max(1);
            band = area_w_guess / count as f64;
            let cut: Vec<String> = labels
                .iter()
                .map(|s| layout::ellipsize(s, TICK_FONT, CATEGORY_LABEL))
                .collect();
            let widest = tick_labels_width(cut.iter().map(String::as_str));
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
            let ticks = cut
                .into_iter()
                .enumerate()
                .map(|(i, label)| XTick {
                    value: i as f64,
                    label: if i % every == 0 { label } else { String::new() },
                    iso: iso.as_ref().map(|iso| iso[i].clone()),
                })
                .collect();
            (
                right_base,
                XTicks {
                    ticks,
                    offset: offset.clone(),
                },
                (0.0, count as f64),
                false,
                Some(count),
            )
        }
    };

    // The offset of a time axis shares the x label's line when both fit,
    // else it gets a line of its own under the tick labels.
    let x_label_w = f
        .labels
        .x_label
        .as_deref()
        .map_or(0.0, |l| text_width(l, LABEL_FONT));
    let offset_w = x_ticks
        .offset
        .as_deref()
        .map_or(0.0, |o| text_width(o, TICK_FONT));
    let area_w = (w - left - right).max(MIN_AREA);
    let offset_own_line = x_ticks.offset.is_some()
        && (f.labels.x_label.is_some() && x_label_w / 2.0 + OFFSET_GAP + offset_w > area_w / 2.0);
    let offset_h = if offset_own_line {
        TICK_FONT + TICK_LABEL_GAP
    } else if x_ticks.offset.is_some() && f.labels.x_label.is_none() {
        TICK_FONT + LABEL_GAP
    } else {
        0.0
    };

    let bottom = TICK_LEN + TICK_LABEL_GAP + x_tick_h + offset_h + x_label_h + note_h + PAD;
    let mut area_left = left;
    let mut area_right = w - right;
    if area_right - area_left < MIN_AREA {
        area_left = (w / 2.0 - MIN_AREA / 2.0).min(left);
        area_right = area_left + MIN_AREA;
    }
    let area_top = top;
    let mut area_bottom = h - bottom;
    let least = MIN_AREA * n as f64 + PANEL_GAP * (n as f64 - 1.0);
    if area_bottom - area_top < least {
        area_bottom = area_top + least;
    }
    if let Some(count) = categories {
        band = (area_right - area_left) / count as f64;
    }
    let x_scale = Scale::new(x_scale_domain, (area_left, area_right), x_log);
    let x_marks: Vec<TickMark> = x_ticks
        .ticks
        .iter()
        .filter(|t| categories.is_some() || x_scale.contains(t.value))
        .map(|t| TickMark {
            value: t.value,
            pos: px(match categories {
                None => x_scale.map(t.value),
                Some(_) => area_left + band * (t.value + 0.5),
            }),
            label: t.label.clone(),
            iso: t.iso.clone(),
        })
        .collect();

    // The panels, stacked.
    let each_h = panel_height(area_bottom - area_top, n);
    let panel_label_x = PAD + common_label_w + LABEL_FONT;
    let panels: Vec<PanelFrame> = f
        .panels
        .into_iter()
        .zip(y_ticks)
        .enumerate()
        .map(|(i, (p, ticks))| {
            let p_top = area_top + (each_h + PANEL_GAP) * i as f64;
            let p_bottom = if i + 1 == n {
                area_bottom
            } else {
                p_top + each_h
            };
            let y_scale = Scale::new(p.y_domain, (p_bottom, p_top), p.y_log);
            let y_axis = Axis {
                log: p.y_log,
                time: false,
                min: p.y_domain.0,
                max: p.y_domain.1,
                min_iso: None,
                max_iso: None,
                ticks: marks(&ticks, &y_scale),
                rotate: false,
                categories: false,
                line: px(area_left),
                tick_end: px(area_left - TICK_LEN),
                label_at: px(area_left - TICK_LEN - TICK_LABEL_OFFSET),
                offset: None,
            };
            let y_label = p.label.map(|text| Text {
                text: layout::ellipsize(&text, LABEL_FONT, (p_bottom - p_top).max(MIN_AREA)),
                x: px(panel_label_x),
                y: px((p_top + p_bottom) / 2.0),
            });
            PanelFrame {
                area: area(area_left, p_top, area_right, p_bottom),
                y_scale,
                y_axis,
                y_label,
            }
        })
        .collect();

    let label_at = area_bottom
        + TICK_LEN
        + if rotate {
            ROTATED_LABEL_OFFSET
        } else {
            TICK_LABEL_OFFSET
        };
    let below_ticks = area_bottom + TICK_LEN + TICK_LABEL_GAP + x_tick_h;
    let x_label_y = below_ticks + offset_h + X_LABEL_GAP + LABEL_FONT;
    let offset = x_ticks.offset.map(|text| Text {
        text,
        x: px(area_right),
        y: px(if offset_h > 0.0 {
            below_ticks + TICK_FONT
        } else {
            x_label_y
        }),
    });
    let time_text = match &f.x {
        XAxis::Time { text, .. } => Some(*text),
        _ => None,
    };
    let x_axis = Axis {
        log: x_log,
        time: time_text.is_some(),
        min: x_scale_domain.0,
        max: x_scale_domain.1,
        min_iso: time_text.map(|t| t.iso(x_scale_domain.0)),
        max_iso: time_text.map(|t| t.iso(x_scale_domain.1)),
        ticks: x_marks,
        rotate,
        categories: categories.is_some(),
        line: px(area_bottom),
        tick_end: px(area_bottom + TICK_LEN),
        label_at: px(label_at),
        offset,
    };
    let centre = px((area_left + area_right) / 2.0);
    let title = f.labels.title.map(|text| Text {
        text,
        x: centre,
        y: px(PAD + TITLE_FONT),
    });
    let x_label = f.labels.x_label.map(|text| Text {
        text,
        x: centre,
        y: px(x_label_y),
    });
    let y_label = f.labels.y_label.map(|text| Text {
        text: layout::ellipsize(&text, LABEL_FONT, (area_bottom - area_top).max(MIN_AREA)),
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
        panels,
        x_axis,
        x_scale: categories.is_none().then_some(x_scale),
        band,
        title,
        x_label,
        y_label,
        note,
        legend,
        legend_more,
    }
}

/// The legend entries of a frame, with a swatch `mark` (`line`, `marker`,
/// `box`; `none` for the entry that counts the series that did not fit).
fn legend(frame: &Frame, mark: &'static str) -> Vec<LegendEntry> {
    let last = frame.legend.len().saturating_sub(1);
    frame
        .legend
        .iter()
        .enumerate()
        .map(|(i, (name, x, y))| LegendEntry {
            name: name.clone(),
            color: layout::color(i),
            dash: layout::dash(i),
            mark: if frame.legend_more && i == last {
                "none"
            } else {
                mark
            },
            x: *x,
            y: *y,
            swatch_end: px(x + SWATCH),
            swatch_mid: px(x + SWATCH / 2.0),
            box_top: px(y - 5.0),
            swatch_width: SWATCH,
            text_x: px(x + SWATCH + SWATCH_GAP),
        })
        .collect()
}

/// The figure of a laid-out frame, without marks yet; `empty` is the text
/// of a figure with nothing to plot; `mark` the legend's swatch.
pub(crate) fn assemble(
    req: &Request<'_>,
    frame: &Frame,
    empty: Option<String>,
    mark: &'static str,
) -> Figure {
    let first = &frame.panels[0].area;
    let last = &frame.panels[frame.panels.len() - 1].area;
    let whole = area(first.left, first.top, last.right, last.bottom);
    let empty = empty.map(|text| Text {
        text: layout::ellipsize(&text, LABEL_FONT, whole.width.max(MIN_NOTE_WIDTH)),
        x: px((whole.left + whole.right) / 2.0),
        y: px((whole.top + whole.bottom) / 2.0),
    });
    let n = frame.panels.len();
    Figure {
        kind: req.kind.name(),
        layout: if req.panels() { "panels" } else { "shared" },
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
        title: frame.title.clone(),
        x_label: frame.x_label.clone(),
        y_label: frame.y_label.clone(),
        note: frame.note.clone(),
        empty,
        area: whole,
        x_axis: frame.x_axis.clone(),
        y_axis: frame.panels[0].y_axis.clone(),
        panels: frame
            .panels
            .iter()
            .enumerate()
            .map(|(i, p)| Panel {
                area: p.area.clone(),
                y_axis: p.y_axis.clone(),
                y_label: p.y_label.clone(),
                x_tick_end: px(p.area.bottom + TICK_LEN),
                x_labels: i + 1 == n,
            })
            .collect(),
        series: Vec::new(),
        bars: Vec::new(),
        legend: legend(frame, mark),
    }
}
