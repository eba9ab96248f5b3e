//! The x axis before layout (numbers, time or categories) and the ticks of
//! axes: nice numbers (ticks.rs) or calendar ticks with concise labels
//! (time_axis.rs), as tick marks placed by a scale.

use super::figure::TickMark;
use super::layout::{TICK_FONT, px, text_width};
use super::scale::Scale;
use super::ticks::{self, Tick};
use super::time_axis;
use crate::table::TimeStyle;

/// How instants on a time axis are written as ISO text: in the column's
/// style, after undoing the shift into its offset (series.rs `shift`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeText {
    /// The column's style.
    pub(crate) style: TimeStyle,
    /// µs added to show the instants in the column's offset.
    pub(crate) shift: i64,
}

impl TimeText {
    /// The ISO text of a shown instant (µs, shifted).
    pub(crate) fn iso(&self, shown: f64) -> String {
        self.style.format(shown as i64 - self.shift)
    }
}

/// The x axis before layout.
pub(crate) enum XAxis {
    /// Numbers, from `domain.0` to `domain.1`.
    Numbers {
        /// Its ends.
        domain: (f64, f64),
        /// Logarithmic.
        log: bool,
    },
    /// Instants (µs, shifted into the column's offset).
    Time {
        /// Its ends.
        domain: (f64, f64),
        /// How to write them.
        text: TimeText,
    },
    /// Categories, one band each (bar charts).
    Categories {
        /// Their labels.
        labels: Vec<String>,
        /// Their instants as ISO text (time categories).
        iso: Option<Vec<String>>,
        /// What concise time labels leave out.
        offset: Option<String>,
    },
}

/// A tick of the x axis before it is placed.
pub(crate) struct XTick {
    /// Where (data units).
    pub(crate) value: f64,
    /// Its label.
    pub(crate) label: String,
    /// Its instant as ISO text (time axes).
    pub(crate) iso: Option<String>,
}

/// The ticks of the x axis, with what concise time labels leave out.
pub(crate) struct XTicks {
    /// The ticks.
    pub(crate) ticks: Vec<XTick>,
    /// What concise time labels leave out.
    pub(crate) offset: Option<String>,
}

pub(crate) fn tick_labels_width<'a>(labels: impl IntoIterator<Item = &'a str>) -> f64 {
    labels
        .into_iter()
        .map(|l| text_width(l, TICK_FONT))
        .fold(0.0, f64::max)
}

pub(crate) fn axis_ticks(domain: (f64, f64), log: bool, count: usize) -> Vec<Tick> {
    if log {
        ticks::log(domain.0, domain.1, count)
    } else {
        ticks::linear(domain.0, domain.1, count)
    }
}

/// About `count` ticks of a numeric or time x axis.
pub(crate) fn x_ticks(x: &XAxis, count: usize) -> XTicks {
    match x {
        XAxis::Numbers { domain, log } => XTicks {
            ticks: axis_ticks(*domain, *log, count)
                .into_iter()
                .map(|t| XTick {
                    value: t.value,
                    label: t.label,
                    iso: None,
                })
                .collect(),
            offset: None,
        },
        XAxis::Time { domain, text } => {
            let t = time_axis::ticks(domain.0.ceil() as i64, domain.1.floor() as i64, count);
            XTicks {
                ticks: t
                    .values
                    .into_iter()
                    .zip(t.labels)
                    .map(|(value, label)| XTick {
                        value: value as f64,
                        label,
                        iso: Some(text.iso(value as f64)),
                    })
                    .collect(),
                offset: Some(t.offset).filter(|o| !o.is_empty()),
            }
        }
        XAxis::Categories { .. } => XTicks {
            ticks: Vec::new(),
            offset: None,
        },
    }
}

pub(crate) fn marks(ticks: &[Tick], scale: &Scale) -> Vec<TickMark> {
    ticks
        .iter()
        .filter(|t| scale.contains(t.value))
        .map(|t| TickMark {
            value: t.value,
            pos: px(scale.map(t.value)),
            label: t.label.clone(),
            iso: None,
        })
        .collect()
}
