//! Thick polylines with round joins and caps, rasterized directly: such a
//! stroke is exactly the union of the capsules around its segments (a dot
//! for a lone point), that is of a disc per point and a rectangle per
//! segment. Each pixel has 16 samples (4 by 4, as a supersampling scan
//! converter takes them); a disc or a rectangle sets the samples it covers,
//! found per sample column as one interval (both are convex), so the union
//! is a bitwise or and overlaps never darken, as SVG paints one path once.
//!
//! The samples are kept per sample column, a bit per sample row, because
//! the lines of large plots are mostly near-vertical: M4 (decimate.rs)
//! keeps per half pixel column the first, lowest, highest and last point,
//! so a dense series is a comb of segments a few samples wide and up to the
//! panel's height tall. Such a rectangle is a handful of columns, each a run
//! of whole 64-bit words (issue 11: a noisy 50,000-row series cost tens of
//! milliseconds per plot when each covered sample row was an interval of
//! its own). For the dense lines of large plots this is many times faster
//! than filling the stroke's outline (thousands of round joins) with a
//! general scan converter, with the same coverage.

use std::cell::RefCell;

use resvg::tiny_skia::{Color, Pixmap};

use super::rounding::{ceil_within, floor_within};

/// Samples per pixel along each axis.
const SUB: usize = 4;

/// Sample rows per word of a sample column (16 pixel rows).
const WORD: usize = 64;

thread_local! {
    /// The sample columns, kept between plots of a thread.
    static COLUMNS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The box of the canvas being drawn: left, top, width, height (pixels),
/// and the words of each of its sample columns.
#[derive(Debug, Clone, Copy)]
struct Frame {
    x0: i64,
    y0: i64,
    w: usize,
    h: usize,
    words: usize,
}

impl Frame {
    /// The frame of `w` x `h` pixels at `x0`, `y0`.
    fn new(x0: i64, y0: i64, w: usize, h: usize) -> Frame {
        Frame {
            x0,
            y0,
            w,
            h,
            words: (h * SUB).div_ceil(WORD),
        }
    }
}

/// Paints the union of round-capped segments of `width` along each run of
/// points (pixels) in `color` (straight, not premultiplied; its alpha is
/// the stroke's opacity).
pub(crate) fn stroke(pixmap: &mut Pixmap, runs: &[Vec<(f32, f32)>], width: f32, color: Color) {
    let Some(frame) = frame(pixmap, runs, width / 2.0) else {
        return;
    };
    COLUMNS.with(|cell| {
        let mut columns = cell.borrow_mut();
        cover(&mut columns, frame, runs, width / 2.0);
        blend(pixmap, &columns, frame, color);
    });
}

/// The part of the canvas the runs can touch, or `None` when they touch
/// none of it.
fn frame(pixmap: &Pixmap, runs: &[Vec<(f32, f32)>], r: f32) -> Option<Frame> {
    let (pw, ph) = (i64::from(pixmap.width()), i64::from(pixmap.height()));
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in runs.iter().flatten() {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return None;
    }
    let bx0 = floor_within(f64::from(x0 - r - 1.0), 0, pw);
    let by0 = floor_within(f64::from(y0 - r - 1.0), 0, ph);
    let bx1 = ceil_within(f64::from(x1 + r + 1.0), 0, pw);
    let by1 = ceil_within(f64::from(y1 + r + 1.0), 0, ph);
    (bx0 < bx1 && by0 < by1)
        .then(|| Frame::new(bx0, by0, (bx1 - bx0) as usize, (by1 - by0) as usize))
}

/// Sets, in `columns` (cleared first), the samples of the frame that the
/// capsules along the runs cover: a capsule is the discs around its ends
/// and the rectangle between them, so the union of the capsules is the
/// union of a disc per point and a rectangle per segment (each end's disc
/// drawn once, not once per segment it ends).
fn cover(columns: &mut Vec<u64>, frame: Frame, runs: &[Vec<(f32, f32)>], r: f32) {
    columns.clear();
    columns.resize(frame.w * SUB * frame.words, 0);
    for run in runs {
        let mut last = None;
        for &p in run {
            if last != Some(p) {
                dot(columns, frame, p, r);
            }
            last = Some(p);
        }
        for pair in run.windows(2) {
            body(columns, frame, pair[0], pair[1], r);
        }
    }
}

/// Sets, in each sample column whose centre lies in `from..=to` (pixels),
/// the samples whose centres lie in the one interval of y (pixels) that
/// `span` gives for the column's centre x, if any.
fn fill(
    columns: &mut [u64],
    f: Frame,
    (from, to): (f64, f64),
    span: impl Fn(f64) -> Option<(f64, f64)>,
) {
    let sub = SUB as f64;
    let (rows, width) = ((f.h * SUB) as i64, (f.w * SUB) as i64);
    let (left, top) = (f.x0 as f64, f.y0 as f64);
    // Sample columns j whose centres (left + (j + 0.5) / SUB) lie in
    // [from, to] (none for a NaN).
    let first = ceil_within((from - left) * sub - 0.5, 0, width);
    let last = floor_within((to - left) * sub - 0.5, -1, width - 1);
    for j in first..=last {
        let Some((ya, yb)) = span(left + (j as f64 + 0.5) / sub) else {
            continue;
        };
        // Sample rows i whose centres lie in [ya, yb].
        let i0 = ceil_within((ya - top) * sub - 0.5, 0, rows);
        let i1 = floor_within((yb - top) * sub - 0.5, -1, rows - 1);
        if i0 <= i1 {
            let column = j as usize * f.words;
            set_rows(
                &mut columns[column..column + f.words],
                i0 as usize,
                i1 as usize,
            );
        }
    }
}

/// Sets the samples of the disc of radius `r` around `p`.
fn dot(columns: &mut [u64], f: Frame, p: (f32, f32), r: f32) {
    let (x, y, r) = (f64::from(p.0), f64::from(p.1), f64::from(r));
    fill(columns, f, (x - r, x + r), |at| {
        let dx = at - x;
        // NaN outside the disc.
        let half = (r * r - dx * dx).sqrt();
        (half >= 0.0).then_some((y - half, y + half))
    });
}

/// Sets the samples of the rectangle `2 r` wide around the segment `a`-`b`
/// (nothing when its ends meet), in f64 so that a segment thousands of
/// times longer than the canvas keeps its width (its length squared would
/// overflow f32).
fn body(columns: &mut [u64], f: Frame, a: (f32, f32), b: (f32, f32), r: f32) {
    let (a, b) = (
        (f64::from(a.0), f64::from(a.1)),
        (f64::from(b.0), f64::from(b.1)),
    );
    let r = f64::from(r);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if !(len > 0.0 && len.is_finite()) {
        return;
    }
    let (nx, ny) = (-dy / len * r, dx / len * r);
    let corners = [
        (a.0 + nx, a.1 + ny),
        (b.0 + nx, b.1 + ny),
        (b.0 - nx, b.1 - ny),
        (a.0 - nx, a.1 - ny),
    ];
    // The edges that are not vertical: the x of their ends, y at the
    // first end and its change per unit of x.
    let mut edges = [(0.0, 0.0, 0.0, 0.0); 4];
    let mut sloped = 0;
    for i in 0..4 {
        let (p, q) = (corners[i], corners[(i + 1) % 4]);
        if p.0 != q.0 {
            edges[sloped] = (p.0, q.0, p.1, (q.1 - p.1) / (q.0 - p.0));
            sloped += 1;
        }
    }
    let xs = corners.map(|c| c.0);
    let from = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let to = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let edges = &edges[..sloped];
    // A rectangle is convex: a vertical line crosses it in one interval,
    // between the edges it crosses.
    fill(columns, f, (from, to), |x| {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(px, qx, py, slope) in edges {
            if (px - x) * (qx - x) <= 0.0 {
                let y = py + (x - px) * slope;
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
        (lo <= hi).then_some((lo, hi))
    });
}

/// Sets the bits `from..=to` of a sample column.
fn set_rows(column: &mut [u64], from: usize, to: usize) {
    let (w0, w1) = (from / WORD, to / WORD);
    let head = !0u64 << (from % WORD);
    let tail = !0u64 >> (WORD - 1 - to % WORD);
    if w0 == w1 {
        column[w0] |= head & tail;
    } else {
        column[w0] |= head;
        column[w0 + 1..w1].fill(!0);
        column[w1] |= tail;
    }
}

/// Per 4-bit group of `x`, how many of its bits are set (0..=4).
fn nibble_counts(x: u64) -> u64 {
    let pairs = x - ((x >> 1) & 0x5555_5555_5555_5555);
    (pairs & 0x3333_3333_3333_3333) + ((pairs >> 2) & 0x3333_3333_3333_3333)
}

/// The samples set per pixel of one pixel column and one word of 16 pixel
/// rows, from the word of each of its 4 sample columns: byte `n` of the
/// first result counts pixel row `2n`, of the second pixel row `2n + 1`.
fn pixel_counts(words: [u64; SUB]) -> (u64, u64) {
    // Two columns' counts per nibble stay within 8: no carry.
    let left = nibble_counts(words[0]) + nibble_counts(words[1]);
    let right = nibble_counts(words[2]) + nibble_counts(words[3]);
    let even = 0x0F0F_0F0F_0F0F_0F0F;
    (
        (left & even) + (right & even),
        ((left >> 4) & even) + ((right >> 4) & even),
    )
}

/// Paints `color` over the box, each pixel by the share of its samples set
/// (source-over, on the canvas's premultiplied RGBA), 16 pixel rows at a
/// time, only in the pixel columns a sample of those rows is set in.
fn blend(pixmap: &mut Pixmap, columns: &[u64], f: Frame, color: Color) {
    let stride = pixmap.width() as usize;
    let data = pixmap.data_mut();
    // Per count of samples set: the colour's share of each channel (with
    // the rounding's half) and the share of the canvas kept.
    let ink = std::array::from_fn::<_, 17, _>(|count| {
        let alpha = count as f32 / (SUB * SUB) as f32 * color.alpha();
        let channels = [color.red(), color.green(), color.blue(), 1.0];
        (channels.map(|c| c * alpha * 255.0), 1.0 - alpha)
    });
    let rows_per_word = WORD / SUB;
    // The samples set per pixel of the 16 rows, row after row, valid in
    // the `touched` pixel columns.
    let mut counts = vec![0u8; rows_per_word * f.w];
    let mut touched = Vec::with_capacity(f.w);
    for word in 0..f.words {
        touched.clear();
        for px in 0..f.w {
            let at = |k: usize| columns[(px * SUB + k) * f.words + word];
            let words = [at(0), at(1), at(2), at(3)];
            if words == [0; SUB] {
                continue;
            }
            touched.push(px);
            let (even, odd) = pixel_counts(words);
            for n in 0..rows_per_word / 2 {
                counts[2 * n * f.w + px] = (even >> (8 * n)) as u8;
                counts[(2 * n + 1) * f.w + px] = (odd >> (8 * n)) as u8;
            }
        }
        let band = word * rows_per_word;
        for n in 0..rows_per_word.min(f.h - band) {
            let line = (f.y0 as usize + band + n) * stride + f.x0 as usize;
            let row = &counts[n * f.w..(n + 1) * f.w];
            for &px in &touched {
                let count = row[px];
                if count == 0 {
                    continue;
                }
                let (src, keep) = &ink[usize::from(count)];
                let i = (line + px) * 4;
                for (dst, src) in data[i..i + 4].iter_mut().zip(src) {
                    *dst = (src + f32::from(*dst) * keep + 0.5) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use resvg::tiny_skia::{LineCap, LineJoin, Paint, Stroke, Transform};

    use super::*;

    /// A stroke's coverage (0..=255 of alpha) on a clear `w` x `h` canvas,
    /// drawn here.
    fn ours(runs: &[Vec<(f32, f32)>], width: f32, color: Color, (w, h): (u32, u32)) -> Pixmap {
        let mut pixmap = Pixmap::new(w, h).unwrap();
        stroke(&mut pixmap, runs, width, color);
        pixmap
    }

    /// The same stroke by tiny-skia's stroker (round caps and joins, the
    /// anti-aliased scan converter resvg uses): the reference.
    fn skia(runs: &[Vec<(f32, f32)>], width: f32, color: Color, (w, h): (u32, u32)) -> Pixmap {
        let mut pixmap = Pixmap::new(w, h).unwrap();
        skia_onto(&mut pixmap, runs, width, color);
        pixmap
    }

    /// `skia` onto a given canvas.
    fn skia_onto(pixmap: &mut Pixmap, runs: &[Vec<(f32, f32)>], width: f32, color: Color) {
        let mut paint = Paint::default();
        paint.set_color(color);
        paint.anti_alias = true;
        let st = Stroke {
            width,
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        if let Some(path) = super::super::paths::skia_path(runs.iter().map(Vec::as_slice)) {
            pixmap.stroke_path(&path, &paint, &st, Transform::identity(), None);
        }
    }

    /// How two coverages differ: the largest difference of one pixel's
    /// alpha, the mean difference over the pixels either one touches, and
    /// the ratio of their total coverage.
    fn compare(a: &Pixmap, b: &Pixmap) -> (u8, f64, f64) {
        let (mut max, mut sum, mut touched) = (0u8, 0u64, 0u64);
        let (mut total_a, mut total_b) = (0u64, 0u64);
        for (p, q) in a.pixels().iter().zip(b.pixels()) {
            let (x, y) = (p.alpha(), q.alpha());
            total_a += u64::from(x);
            total_b += u64::from(y);
            if x > 0 || y > 0 {
                touched += 1;
                sum += u64::from(x.abs_diff(y));
                max = max.max(x.abs_diff(y));
            }
        }
        let mean = sum as f64 / touched.max(1) as f64;
        (max, mean, total_a as f64 / total_b.max(1) as f64)
    }

    /// A deterministic random walk of `n` points across a `w` x `h` canvas,
    /// as dense as a 10,000-point line plot's.
    fn walk(n: usize, (w, h): (u32, u32)) -> Vec<(f32, f32)> {
        let mut seed: u64 = 11;
        let mut y = h as f32 / 2.0;
        (0..n)
            .map(|i| {
                seed = crate::test_rng::xorshift(seed);
                let step = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                y = (y + step * 6.0).clamp(5.0, h as f32 - 5.0);
                (3.0 + i as f32 * (w as f32 - 6.0) / n as f32, y)
            })
            .collect()
    }

    /// Asserts that our coverage is tiny-skia's, but for a shade of
    /// anti-aliasing per edge pixel.
    fn like_skia(name: &str, runs: &[Vec<(f32, f32)>], width: f32, color: Color, size: (u32, u32)) {
        like_skia_within(name, runs, width, color, size, 0.02);
    }

    /// `like_skia` with the total coverage within `share` of tiny-skia's.
    fn like_skia_within(
        name: &str,
        runs: &[Vec<(f32, f32)>],
        width: f32,
        color: Color,
        size: (u32, u32),
        share: f64,
    ) {
        let (a, b) = (
            ours(runs, width, color, size),
            skia(runs, width, color, size),
        );
        let (max, mean, ratio) = compare(&a, &b);
        eprintln!("{name}: max {max}, mean {mean:.2} of 255, total coverage ratio {ratio:.4}");
        assert!(
            max <= 64,
            "{name}: a pixel's coverage differs by {max} of 255"
        );
        assert!(
            mean < 6.0,
            "{name}: coverage differs by {mean:.2} of 255 on average"
        );
        assert!(
            (ratio - 1.0).abs() < share,
            "{name}: total coverage ratio {ratio}"
        );
    }

    #[test]
    fn coverage_is_tiny_skias_stroker_within_a_shade() {
        let size = (200, 120);
        let (black, half) = (Color::BLACK, Color::from_rgba8(30, 90, 200, 128));
        // Dense lines (10,000 points across 800 px), sparse zigzags, dots.
        like_skia("dense", &[walk(2_500, size)], 1.5, black, size);
        let zigzag: Vec<_> = (0..12)
            .map(|i| {
                (
                    10.0 + i as f32 * 15.0,
                    if i % 2 == 0 { 20.3 } else { 100.7 },
                )
            })
            .collect();
        like_skia("zigzag", std::slice::from_ref(&zigzag), 1.5, black, size);
        like_skia("thick zigzag", &[zigzag], 5.0, half, size);
        let dots: Vec<_> = (0..40)
            .map(|i| vec![(5.0 + i as f32 * 4.7, 60.0 + (i as f32).sin() * 40.0); 2])
            .collect();
        // tiny-skia's dots (zero-length lines with round caps) have 2.3%
        // less ink than a disc's area (measured); ours have a disc's.
        like_skia_within("dots", &dots, 5.0, black, size, 0.03);
        let dots = ours(&dots, 5.0, black, size);
        let ink: f64 = dots
            .pixels()
            .iter()
            .map(|p| f64::from(p.alpha()) / 255.0)
            .sum();
        let discs = 40.0 * std::f64::consts::PI * 2.5 * 2.5;
        assert!((ink / discs - 1.0).abs() < 0.01, "{ink} of {discs}");
        // A line that goes back over itself is painted once (a path is
        // filled once in SVG): twice the coverage would show as darker.
        let back = vec![(20.0, 20.0), (180.0, 100.0), (20.0, 20.0), (100.0, 30.0)];
        like_skia("overlap", &[back], 1.5, black, size);
        // Leaving the canvas on every side: clipped, as tiny-skia clips.
        let out = vec![
            (-50.0, 60.0),
            (100.0, -40.0),
            (260.0, 60.0),
            (100.0, 190.0),
            (-3.0, 60.0),
        ];
        like_skia("off the canvas", &[out], 1.5, black, size);
        like_skia(
            "edges",
            &[vec![(0.0, 0.0), (200.0, 0.0), (200.0, 120.0), (0.0, 120.0)]],
            5.0,
            black,
            size,
        );
    }

    #[test]
    fn a_horizontal_line_covers_its_rows_by_their_share() {
        // Across y 9.5..11.0: row 9 half covered, row 10 fully, row 11 not.
        let p = ours(
            &[vec![(2.0, 10.25), (15.0, 10.25)]],
            1.5,
            Color::BLACK,
            (20, 20),
        );
        assert_eq!(p.pixel(8, 9).unwrap().alpha(), 128);
        assert_eq!(p.pixel(8, 10).unwrap().alpha(), 255);
        assert_eq!(p.pixel(8, 11).unwrap().alpha(), 0);
        // The round cap reaches 0.75 px beyond the end.
        assert!(p.pixel(15, 10).unwrap().alpha() > 100);
        assert_eq!(p.pixel(17, 10).unwrap().alpha(), 0);
    }

    #[test]
    fn overlaps_never_darken_and_dots_are_round() {
        let size = (20, 20);
        let once = ours(&[vec![(3.0, 3.0), (16.0, 16.0)]], 2.0, Color::BLACK, size);
        let twice = ours(
            &[vec![(3.0, 3.0), (16.0, 16.0), (3.0, 3.0)]],
            2.0,
            Color::BLACK,
            size,
        );
        assert_eq!(once.data(), twice.data());
        let dot = ours(&[vec![(10.0, 10.0)]], 5.0, Color::BLACK, size);
        let covered = dot.pixels().iter().filter(|p| p.alpha() > 0).count();
        // A disc of radius 2.5: about 19.6 pixels' area, spread over edges.
        let area: f32 = dot
            .pixels()
            .iter()
            .map(|p| f32::from(p.alpha()) / 255.0)
            .sum();
        assert!((area - 19.6).abs() < 1.0, "{area}");
        assert!(covered <= 36, "{covered}");
    }

    #[test]
    fn odd_points_draw_what_they_can_and_never_panic() {
        let size = (20, 20);
        let blank = Pixmap::new(20, 20).unwrap();
        let nothing: [Vec<(f32, f32)>; 0] = [];
        assert_eq!(ours(&nothing, 1.5, Color::BLACK, size).data(), blank.data());
        assert_eq!(
            ours(&[vec![], vec![]], 1.5, Color::BLACK, size).data(),
            blank.data()
        );
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        for runs in [
            vec![vec![(nan, nan)]],
            vec![vec![(nan, 5.0), (5.0, nan), (nan, nan)]],
            vec![vec![(inf, 5.0), (-inf, 5.0)], vec![(5.0, inf)]],
            vec![vec![(1e30, 1e30), (-1e30, -1e30)]],
            vec![vec![(f32::MAX, 0.0), (f32::MIN, 0.0)]],
        ] {
            ours(&runs, 1.5, Color::BLACK, size);
            ours(&runs, 0.0, Color::BLACK, size);
        }
        // A NaN point draws nothing; its neighbours still draw their dots.
        let p = ours(
            &[vec![(5.0, 5.0), (nan, nan), (15.0, 15.0)]],
            3.0,
            Color::BLACK,
            size,
        );
        assert_eq!(p.pixel(5, 5).unwrap().alpha(), 255);
        assert_eq!(p.pixel(15, 15).unwrap().alpha(), 255);
        assert_eq!(p.pixel(10, 10).unwrap().alpha(), 0);
        // A segment far longer than the canvas keeps its width where it
        // crosses it.
        let p = ours(
            &[vec![(10.5, -1e30), (10.5, 1e30)]],
            1.0,
            Color::BLACK,
            size,
        );
        for y in 0..20 {
            assert_eq!(p.pixel(10, y).unwrap().alpha(), 255, "row {y}");
            assert_eq!(p.pixel(9, y).unwrap().alpha(), 0, "row {y}");
            assert_eq!(p.pixel(11, y).unwrap().alpha(), 0, "row {y}");
        }
    }

    /// A deterministic generator of numbers in `0.0..1.0`.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// A dense noisy series as M4 leaves it (decimate.rs): per half pixel
    /// column its first, lowest, highest and last point, spread over
    /// `low..high` of the canvas's height, from x `from` to `to`.
    fn comb(seed: u64, (from, to): (f32, f32), (low, high): (f32, f32)) -> Vec<(f32, f32)> {
        let mut noise = Noise(seed);
        let mut points = Vec::new();
        let mut x = from;
        while x < to {
            for k in 0..4 {
                let y = low + noise.next() * (high - low);
                // Tenths of a pixel, as path data has them.
                let at = |v: f32| (v * 10.0).round() / 10.0;
                points.push((at(x + k as f32 * 0.1), at(y)));
            }
            x += 0.5;
        }
        points
    }

    /// Whether the capsule of radius `r` around `a`-`b` holds `p`, and how
    /// far `p` is from its outline, straight from the distance to the
    /// segment.
    fn holds(p: (f64, f64), a: (f32, f32), b: (f32, f32), r: f32) -> (bool, f64) {
        let (a, b) = (
            (f64::from(a.0), f64::from(a.1)),
            (f64::from(b.0), f64::from(b.1)),
        );
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
        let d = ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt();
        (d <= f64::from(r), (d - f64::from(r)).abs())
    }

    /// Asserts that the samples `cover` sets on a `w` x `h` canvas are
    /// exactly those whose centres lie within `r` of a segment (or a lone
    /// point), but for centres within a rounding error of an outline.
    fn exact(name: &str, runs: &[Vec<(f32, f32)>], r: f32, (w, h): (u32, u32)) {
        let pixmap = Pixmap::new(w, h).unwrap();
        let Some(f) = frame(&pixmap, runs, r) else {
            return;
        };
        let mut columns = Vec::new();
        cover(&mut columns, f, runs, r);
        let segments: Vec<((f32, f32), (f32, f32))> = runs
            .iter()
            .flat_map(|run| match run.as_slice() {
                [p] => vec![(*p, *p)],
                _ => run.windows(2).map(|w| (w[0], w[1])).collect(),
            })
            .collect();
        let (mut set, mut wrong) = (0, 0);
        for j in 0..f.w * SUB {
            for i in 0..f.h * SUB {
                let ours = columns[j * f.words + i / WORD] >> (i % WORD) & 1 == 1;
                let centre = (
                    f.x0 as f64 + (j as f64 + 0.5) / SUB as f64,
                    f.y0 as f64 + (i as f64 + 0.5) / SUB as f64,
                );
                let (mut inside, mut margin) = (false, f64::INFINITY);
                for &(a, b) in &segments {
                    let (holds, off) = holds(centre, a, b, r);
                    inside |= holds;
                    margin = margin.min(off);
                }
                set += usize::from(ours);
                if ours != inside && margin > 1e-9 {
                    wrong += 1;
                }
            }
        }
        eprintln!("{name}: {set} samples set, {wrong} wrong");
        assert_eq!(wrong, 0, "{name}: {wrong} samples wrong of {set} set");
        assert!(set > 0, "{name}: nothing drawn");
    }

    #[test]
    fn samples_are_exactly_those_within_the_radius() {
        let size = (60, 40);
        let mut noise = Noise(7);
        let mut segments = Vec::new();
        for _ in 0..60 {
            // Anywhere on the canvas and up to a canvas beyond it.
            let mut point = || (noise.next() * 180.0 - 60.0, noise.next() * 120.0 - 40.0);
            segments.push(vec![point(), point()]);
        }
        let dense = comb(3, (2.0, 58.0), (1.0, 39.0));
        let steep = vec![(10.0, 2.0), (10.02, 38.0), (10.5, 3.0), (10.37, 37.9)];
        let shallow = vec![(2.0, 20.0), (58.0, 20.01), (3.0, 21.3), (57.0, 20.9)];
        let dots: Vec<_> = (0..12)
            .map(|i| vec![(4.3 + i as f32 * 4.6, 7.0 + i as f32 * 2.7)])
            .collect();
        for r in [0.1, 0.25, 0.45, 0.75, 2.5] {
            exact(&format!("segments r={r}"), &segments, r, size);
            exact(
                &format!("dense r={r}"),
                std::slice::from_ref(&dense),
                r,
                size,
            );
            exact(
                &format!("steep r={r}"),
                std::slice::from_ref(&steep),
                r,
                size,
            );
            exact(
                &format!("shallow r={r}"),
                std::slice::from_ref(&shallow),
                r,
                size,
            );
            exact(&format!("dots r={r}"), &dots, r, size);
        }
    }

    #[test]
    fn dense_noise_is_tiny_skias_stroke() {
        let size = (300, 160);
        let blue = Color::from_rgba8(0, 114, 178, 255);
        // A noisy series over the whole panel, and one in a band, as the
        // realworld benchmark's `count` and `temp` draw.
        like_skia(
            "noise",
            &[comb(5, (4.0, 296.0), (3.0, 157.0))],
            1.5,
            blue,
            size,
        );
        like_skia(
            "band",
            &[comb(9, (4.0, 296.0), (70.0, 90.0))],
            1.5,
            blue,
            size,
        );
        // Three series over each other, each painted once.
        let mut p = Pixmap::new(size.0, size.1).unwrap();
        let mut q = Pixmap::new(size.0, size.1).unwrap();
        for seed in [1, 2, 3] {
            let runs = [comb(seed, (4.0, 296.0), (3.0, 157.0))];
            stroke(&mut p, &runs, 1.5, blue);
            skia_onto(&mut q, &runs, 1.5, blue);
        }
        let (max, mean, ratio) = compare(&p, &q);
        assert!(
            max <= 64 && mean < 6.0 && (ratio - 1.0).abs() < 0.02,
            "{max} {mean} {ratio}"
        );
    }

    #[test]
    fn steep_and_shallow_segments_are_tiny_skias_stroke() {
        let size = (200, 200);
        // A fan of segments every 3 degrees, and the nearly vertical and
        // nearly horizontal ones M4 and flat series draw.
        let fan: Vec<_> = (0..60)
            .map(|k| {
                let angle = (k as f32 * 3.0).to_radians();
                let (s, c) = angle.sin_cos();
                vec![
                    (100.0 + 10.0 * c, 100.0 + 10.0 * s),
                    (100.0 + 95.0 * c, 100.0 + 95.0 * s),
                ]
            })
            .collect();
        like_skia("fan", &fan, 1.5, Color::BLACK, size);
        let near: Vec<_> = (0..20)
            .map(|k| {
                let d = k as f32 * 0.013;
                let x = 10.0 + k as f32 * 9.1;
                [
                    vec![(x, 5.0), (x + d, 95.0)],
                    vec![
                        (5.0, 105.0 + k as f32 * 4.3),
                        (195.0, 105.3 + k as f32 * 4.3 + d),
                    ],
                ]
            })
            .flat_map(|pair| pair.into_iter())
            .collect();
        like_skia(
            "near vertical and horizontal",
            &near,
            1.5,
            Color::BLACK,
            size,
        );
        like_skia("thick", &near, 5.0, Color::BLACK, size);
    }

    #[test]
    fn sub_pixel_widths_cover_their_area() {
        // tiny-skia draws strokes under a pixel wide as hairlines of less
        // alpha, not as outlines: compare the ink (the stroke's area), and
        // the samples with their exact definition above.
        let size = (200, 120);
        let lines = [comb(4, (4.0, 196.0), (10.0, 110.0))];
        for width in [0.2f32, 0.5, 0.9] {
            let p = ours(&lines, width, Color::BLACK, size);
            let q = skia(&lines, width, Color::BLACK, size);
            let (_, _, ratio) = compare(&p, &q);
            eprintln!("width {width}: ink ratio to tiny-skia {ratio:.3}");
            assert!((ratio - 1.0).abs() < 0.15, "width {width}: {ratio}");
        }
        // One vertical line 0.5 wide, centred in a pixel column: half of
        // each pixel it crosses.
        let p = ours(
            &[vec![(10.5, 2.0), (10.5, 18.0)]],
            0.5,
            Color::BLACK,
            (20, 20),
        );
        for y in 3..17 {
            assert_eq!(p.pixel(10, y).unwrap().alpha(), 128, "row {y}");
            assert_eq!(p.pixel(9, y).unwrap().alpha(), 0, "row {y}");
        }
    }

    #[test]
    fn dense_noise_is_clipped_at_the_canvas_edges_as_tiny_skia_clips() {
        let size = (200, 120);
        // From beyond the left edge to beyond the right, beyond the top and
        // the bottom: the canvas's edge cuts the panel.
        let noise = comb(12, (-20.0, 220.0), (-30.0, 150.0));
        like_skia(
            "noise past every edge",
            std::slice::from_ref(&noise),
            1.5,
            Color::BLACK,
            size,
        );
        exact("noise past every edge", &[noise], 0.75, size);
        // Right on the edges: half of the stroke inside.
        let p = ours(&[vec![(0.0, 10.0), (0.0, 110.0)]], 1.5, Color::BLACK, size);
        assert_eq!(p.pixel(0, 50).unwrap().alpha(), 191);
        let p = ours(
            &[vec![(10.0, 120.0), (190.0, 120.0)]],
            1.5,
            Color::BLACK,
            size,
        );
        assert_eq!(p.pixel(50, 119).unwrap().alpha(), 191);
    }

    #[test]
    fn pixels_count_their_samples() {
        let mut noise = Noise(21);
        for _ in 0..200 {
            let mut word = || {
                let bits =
                    u64::from(noise.next().to_bits()) << 40 ^ u64::from(noise.next().to_bits());
                // Sparse, dense and mixed words.
                match noise.next() {
                    x if x < 0.2 => 0,
                    x if x < 0.4 => !0,
                    _ => bits.rotate_left(noise.next().to_bits() % 64),
                }
            };
            let words = [word(), word(), word(), word()];
            let (even, odd) = pixel_counts(words);
            for row in 0..WORD / SUB {
                let naive: u32 = words
                    .iter()
                    .map(|w| (w >> (row * SUB) & 0xF).count_ones())
                    .sum();
                let byte = if row % 2 == 0 { even } else { odd } >> (8 * (row / 2)) & 0xFF;
                assert_eq!(byte, u64::from(naive), "{words:x?} row {row}");
            }
        }
    }
}
