//! SVG path data of a figure's marks, short because it is most of a large
//! plot's bytes: line runs as `M x y l dx dy ...` in tenths of a pixel,
//! markers as zero-length subpaths (`M x yh0`, drawn with round caps).

use super::decimate::Point;
use super::layout::push_coord;

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
pub(crate) fn line_path(runs: &[Vec<Point>]) -> String {
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
pub(crate) fn marker_path(runs: &[Vec<Point>]) -> String {
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
