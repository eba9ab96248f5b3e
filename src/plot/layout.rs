//! Sizes and looks shared by every figure: font sizes, text widths (from the
//! embedded font's advance widths), the colour-blind-safe palette, and the
//! short number format of pixel coordinates.

use super::rounding;

/// The font list written into SVG; PNG output uses the embedded Noto Sans.
pub(crate) const FONT_FAMILY: &str = "Noto Sans, DejaVu Sans, Helvetica, Arial, sans-serif";

/// Font size of tick labels.
pub(crate) const TICK_FONT: f64 = 11.0;
/// Font size of axis labels.
pub(crate) const LABEL_FONT: f64 = 13.0;
/// Font size of the title.
pub(crate) const TITLE_FONT: f64 = 16.0;
/// Font size of legend entries.
pub(crate) const LEGEND_FONT: f64 = 12.0;
/// Font size of the note.
pub(crate) const NOTE_FONT: f64 = 10.0;
/// Space around everything.
pub(crate) const PAD: f64 = 10.0;
/// Length of a tick mark.
pub(crate) const TICK_LEN: f64 = 5.0;
/// Height of one legend entry.
pub(crate) const LEGEND_ROW: f64 = 18.0;
/// Width of a legend swatch.
pub(crate) const SWATCH: f64 = 22.0;

/// The numbers of a figure's frame (figure.rs `frame`): gaps between its
/// parts, how densely ticks are placed, and the smallest sizes, in pixels
/// unless said otherwise. Changing one changes every picture (and the golden
/// SVGs).
pub(crate) mod frame {
    /// Below the title, down to the plot area.
    pub(crate) const TITLE_GAP: f64 = 10.0;
    /// Above the plot area when there is no title.
    pub(crate) const TOP_WITHOUT_TITLE: f64 = 4.0;
    /// Added to the note's font size for its line.
    pub(crate) const NOTE_GAP: f64 = 8.0;
    /// Added to an axis label's font size for its line (x) or column (y).
    pub(crate) const LABEL_GAP: f64 = 8.0;
    /// Between a tick mark and its label.
    pub(crate) const TICK_LABEL_GAP: f64 = 4.0;
    /// Where a tick label is anchored beyond the tick mark.
    pub(crate) const TICK_LABEL_OFFSET: f64 = 3.0;
    /// The same for turned category labels.
    pub(crate) const ROTATED_LABEL_OFFSET: f64 = 4.0;
    /// Between the x tick labels and the x axis label.
    pub(crate) const X_LABEL_GAP: f64 = 6.0;
    /// Height of the plot area per y tick (a first guess of their count).
    pub(crate) const Y_TICK_SPACING: f64 = 45.0;
    /// Width of the plot area per x tick (a first guess of their count).
    pub(crate) const X_TICK_SPACING: f64 = 90.0;
    /// Free space beside each x tick label: fewer ticks until they fit.
    pub(crate) const X_TICK_LABEL_SPACE: f64 = 12.0;
    /// Right of the half of the last x tick label that sticks out.
    pub(crate) const LAST_LABEL_CLEARANCE: f64 = 4.0;
    /// Longest category label drawn.
    pub(crate) const CATEGORY_LABEL: f64 = 140.0;
    /// Category labels wider than this share of a band are turned 45 degrees.
    pub(crate) const ROTATE_ABOVE: f64 = 0.9;
    /// Turned labels need this many font sizes of band each (else every k-th).
    pub(crate) const ROTATED_LABEL_STEP: f64 = 1.3;
    /// Share of the width a legend entry may take before it is cut.
    pub(crate) const LEGEND_MAX_SHARE: f64 = 0.3;
    /// ... but never less than this.
    pub(crate) const LEGEND_MIN_WIDTH: f64 = 40.0;
    /// Between the plot area and the legend.
    pub(crate) const LEGEND_GAP: f64 = 12.0;
    /// Between a legend swatch and its text.
    pub(crate) const SWATCH_GAP: f64 = 6.0;
    /// Below the top of the plot area, the first legend entry.
    pub(crate) const LEGEND_TOP: f64 = 8.0;
    /// The plot area is never smaller than this, either way.
    pub(crate) const MIN_AREA: f64 = 10.0;
    /// The note is never cut narrower than this.
    pub(crate) const MIN_NOTE_WIDTH: f64 = 20.0;
    /// Between stacked panels (`layout = "panels"`).
    pub(crate) const PANEL_GAP: f64 = 12.0;
    /// Least room between the x label and a time axis's offset text when
    /// they share a line (else the offset gets a line of its own).
    pub(crate) const OFFSET_GAP: f64 = 16.0;
}

/// Okabe & Ito's colour-blind-safe palette, yellow last (weak on white).
pub(crate) const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442",
];

/// Dash patterns used once the palette has gone round.
const DASHES: [Option<&str>; 4] = [None, Some("6 3"), Some("2 2"), Some("8 3 2 3")];

/// The colour of series `i`.
pub(crate) fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The dash pattern of series `i` (none for the first round of colours).
pub(crate) fn dash(i: usize) -> Option<&'static str> {
    DASHES[(i / PALETTE.len()) % DASHES.len()]
}

/// Advance widths of Noto Sans for ' ' to '~', in thousandths of an em.
const ASCII_WIDTHS: [u16; 95] = [
    260, 269, 408, 646, 572, 831, 732, 225, 300, 300, 551, 572, 268, 322, 268, 372, 572, 572, 572,
    572, 572, 572, 572, 572, 572, 572, 268, 268, 572, 572, 572, 434, 899, 639, 650, 632, 730, 556,
    519, 728, 741, 339, 273, 619, 524, 907, 760, 781, 605, 781, 622, 549, 556, 731, 600, 930, 586,
    566, 572, 329, 372, 329, 572, 444, 281, 561, 615, 480, 615, 564, 344, 615, 618, 258, 258, 534,
    258, 935, 618, 605, 615, 615, 413, 479, 361, 618, 508, 786, 529, 510, 470, 380, 551, 380, 572,
];

/// The width of `text` at `size` pixels (other characters count 0.6 em;
/// wide scripts come out a little narrow).
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    let thousandths: u32 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => u32::from(ASCII_WIDTHS[c as usize - 32]),
            _ if c.is_control() => 0,
            _ => 600,
        })
        .sum();
    f64::from(thousandths) * size / 1000.0
}

/// Cuts `text` to at most `max` pixels wide at `size`, ending in `…`.
pub(crate) fn ellipsize(text: &str, size: f64, max: f64) -> String {
    if text_width(text, size) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if text_width(&out, size) + text_width("…", size) > max {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

/// Rounds a pixel position to hundredths (what templates print).
pub(crate) fn px(v: f64) -> f64 {
    ((v * 100.0).round() / 100.0) + 0.0
}

/// Appends a coordinate with at most one decimal (`12`, `12.5`, never `-0`).
pub(crate) fn push_coord(out: &mut String, v: f64) {
    push_tenths(out, rounding::round_to_i64(v * 10.0));
}

/// Appends a length given in tenths (`125` as `12.5`).
#[inline]
pub(crate) fn push_tenths(out: &mut String, tenths: i64) {
    if tenths < 0 {
        out.push('-');
    }
    let abs = tenths.unsigned_abs();
    push_digits(out, abs / 10);
    if !abs.is_multiple_of(10) {
        out.push('.');
        push_digits(out, abs % 10);
    }
}

/// Appends `n` in decimal. Path data is most of a plot's bytes: `write!`
/// through `core::fmt` was a tenth of the CPU of a plot job, hence itoa; a
/// single digit (most steps between points, every tenth) is pushed as is,
/// without itoa's copy of its buffer (a `memcpy` call).
fn push_digits(out: &mut String, n: u64) {
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
    } else {
        out.push_str(itoa::Buffer::new().format(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coords_are_short() {
        let mut s = String::new();
        for v in [12.0, 12.54, -0.04, -3.25, 0.96] {
            push_coord(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "12 12.5 0 -3.3 1 ");
    }

    #[test]
    fn tenths_are_written_as_format_writes_them() {
        for t in [
            0,
            1,
            9,
            10,
            11,
            99,
            100,
            105,
            12_345,
            i64::MAX,
            -1,
            -10,
            -123,
            i64::MIN,
        ] {
            let mut s = String::new();
            push_tenths(&mut s, t);
            let (whole, tenth) = (t.unsigned_abs() / 10, t.unsigned_abs() % 10);
            let sign = if t < 0 { "-" } else { "" };
            let expected = if tenth == 0 {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{tenth}")
            };
            assert_eq!(s, expected);
        }
    }

    #[test]
    fn widths_and_cuts() {
        assert_eq!(text_width("", 10.0), 0.0);
        assert!((text_width("0", 10.0) - 5.72).abs() < 1e-9);
        assert!(text_width("WWW", 12.0) > text_width("iii", 12.0));
        let cut = ellipsize("a very long legend entry indeed", 12.0, 60.0);
        assert!(
            cut.ends_with('…') && text_width(&cut, 12.0) <= 60.0,
            "{cut}"
        );
        assert_eq!(ellipsize("short", 12.0, 60.0), "short");
    }

    #[test]
    fn palette_then_dashes() {
        assert_eq!(color(0), "#0072B2");
        assert_eq!(dash(0), None);
        assert_eq!(color(8), "#0072B2");
        assert_eq!(dash(8), Some("6 3"));
    }
}
