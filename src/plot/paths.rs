//! SVG path data of a figure's marks, short because it is most of a large
//! plot's bytes: line runs as `M x y l dx dy ...` in tenths of a pixel,
//! markers as zero-length subpaths (`M x yh0`, drawn with round caps).

use super::decimate::Point;
use super::layout::{push_coord, push_tenths};
use super::rounding;

/// Tenths of a pixel, the precision of path data.
fn tenths(v: f64) -> i64 {
    rounding::round_to_i64(v * 10.0)
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

/// Reads path data back as its subpaths' points, for PNG output: exactly
/// the commands written above (`M x y`, `l dx dy ...` with implicit
/// repeats, `V y`, `h dx`), absolute or relative as written. `None` for
/// anything else (not written by runner).
pub(crate) fn read(d: &str) -> Option<Vec<Vec<(f32, f32)>>> {
    let bytes = d.as_bytes();
    let mut runs: Vec<Vec<(f32, f32)>> = Vec::new();
    let mut i = 0;
    let mut command = b'M';
    let (mut x, mut y) = (0.0f32, 0.0f32);
    let number = |i: &mut usize| -> Option<f32> {
        while *i < bytes.len() && bytes[*i] == b' ' {
            *i += 1;
        }
        let start = *i;
        if *i < bytes.len() && bytes[*i] == b'-' {
            *i += 1;
        }
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'.') {
            *i += 1;
        }
        parse_number(&d[start..*i])
    };
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i].is_ascii_alphabetic() {
            command = bytes[i];
            i += 1;
        }
        match command {
            b'M' => {
                x = number(&mut i)?;
                y = number(&mut i)?;
                runs.push(Vec::new());
                // Pairs after a moveto are linetos (SVG), never written here.
                command = b'L';
            }
            b'L' => {
                x = number(&mut i)?;
                y = number(&mut i)?;
            }
            b'l' => {
                x += number(&mut i)?;
                y += number(&mut i)?;
            }
            b'V' => y = number(&mut i)?,
            b'H' => x = number(&mut i)?,
            b'h' => x += number(&mut i)?,
            _ => return None,
        }
        runs.last_mut()?.push((x, y));
    }
    Some(runs)
}

/// A number of path data as `str::parse` reads it: one as written above
/// (`-12.3`, at most one decimal) from its digits, as its tenths divided by
/// ten (the division rounds the exact quotient as `parse` rounds the exact
/// decimal, and tenths below 10^7 are exact in f32), anything else through
/// `parse` (the general float parser was a tenth of the CPU of drawing a
/// large plot as PNG).
fn parse_number(text: &str) -> Option<f32> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, tenth) = digits.split_once('.').unwrap_or((digits, ""));
    let written_here = (1..=6).contains(&whole.len())
        && tenth.len() <= 1
        && whole
            .bytes()
            .chain(tenth.bytes())
            .all(|b| b.is_ascii_digit());
    if !written_here {
        return text.parse().ok();
    }
    let tenths = whole
        .bytes()
        .chain(tenth.bytes())
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    let value = if tenth.is_empty() {
        tenths as f32
    } else {
        tenths as f32 / 10.0
    };
    Some(if negative { -value } else { value })
}

/// A tiny-skia path of subpaths' points (a subpath of one point is a
/// zero-length line, which round caps draw as a dot).
pub(crate) fn skia_path<'a>(
    runs: impl IntoIterator<Item = &'a [(f32, f32)]>,
) -> Option<resvg::tiny_skia::Path> {
    let mut builder = resvg::tiny_skia::PathBuilder::new();
    for run in runs {
        let Some(&(x, y)) = run.first() else { continue };
        builder.move_to(x, y);
        if run.len() == 1 {
            builder.line_to(x, y);
        }
        for &(x, y) in &run[1..] {
            builder.line_to(x, y);
        }
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Path data as one tiny-skia path.
    fn to_skia(d: &str) -> Option<resvg::tiny_skia::Path> {
        let runs = read(d)?;
        skia_path(runs.iter().map(Vec::as_slice))
    }

    /// What the path data says, point by point.
    fn points(d: &str) -> Vec<(f32, f32)> {
        let path = to_skia(d).unwrap();
        path.points().iter().map(|p| (p.x, p.y)).collect()
    }

    #[test]
    fn numbers_read_as_parse_reads_them() {
        let mut texts: Vec<String> = (-2_000_000..2_000_000)
            .step_by(7)
            .chain([0, 1, -1, 9_999_999, -9_999_999, 99_999_999])
            .map(|t| {
                let mut s = String::new();
                push_tenths(&mut s, t);
                s
            })
            .collect();
        texts.extend(
            [
                "-0", "0.0", "12.", ".5", "-.5", "1.25", "1234567", "0001.5", "-", ".", "", "1e3",
                "1.2.3", "--1",
            ]
            .map(String::from),
        );
        for t in &texts {
            let ours = parse_number(t).map(f32::to_bits);
            assert_eq!(ours, t.parse::<f32>().ok().map(f32::to_bits), "{t:?}");
        }
    }

    #[test]
    fn written_paths_read_back() {
        let runs = vec![
            vec![[10.0, 20.0], [11.5, 18.0], [13.0, 25.25]],
            vec![[40.0, 5.0]],
            vec![[50.0, 5.0], [50.0, 9.0]],
        ];
        let d = line_path(&runs);
        assert_eq!(d, "M10 20l1.5-2 1.5 7.3M40 5h0M50 5V9");
        assert_eq!(
            points(&d),
            [
                (10.0, 20.0),
                (11.5, 18.0),
                (13.0, 25.3),
                (40.0, 5.0),
                (40.0, 5.0),
                (50.0, 5.0),
                (50.0, 9.0)
            ]
        );
        let d = marker_path(&[vec![[1.0, 2.0], [3.25, -4.0]]]);
        assert_eq!(
            points(&d),
            [(1.0, 2.0), (1.0, 2.0), (3.3, -4.0), (3.3, -4.0)]
        );
        assert!(to_skia("").is_none());
        assert!(to_skia("M1 2C3 4").is_none());
    }
}
