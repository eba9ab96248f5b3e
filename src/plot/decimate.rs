//! Fewer points, same picture: M4 for lines (per pixel column the first,
//! lowest, highest and last point, in their order; Jugel et al., "M4: a
//! visualization-oriented time series data aggregation", VLDB 2014), run
//! removal when x goes back and forth, and one marker per pixel for scatter
//! plots. Points are already in pixels.

use super::rounding;

/// A point in pixels.
pub(crate) type Point = [f64; 2];

/// Whether x never decreases along the points.
pub(crate) fn is_sorted_by_x(points: &[Point]) -> bool {
    points.windows(2).all(|w| w[0][0] <= w[1][0])
}

/// Buckets per pixel column. M4 is exact for one-pixel lines drawn without
/// anti-aliasing; with anti-aliased 1.5 px strokes, half-pixel buckets keep
/// the shading of a line's edges too (measured on a million rows: 0.05% of
/// pixels differ visibly with 2 buckets, 0.4% with 1), for twice the points.
const BUCKETS_PER_PIXEL: f64 = 2.0;

/// Reduces one unbroken line whose x never decreases: for every half pixel
/// column keeps the first, lowest, highest and last point, in their original
/// order. The line through the result covers the same pixels as the full one.
pub(crate) fn m4(points: &[Point], out: &mut Vec<Point>) {
    m4_indices(
        points.len(),
        |i| bucket(points[i][0]),
        |i| points[i][1],
        |i| out.push(points[i]),
    );
}

/// M4 over the points `0..len` of a run, given by the bucket and the y of
/// each: calls `keep` with the index of each point kept, in order.
#[inline]
fn m4_indices(
    len: usize,
    bucket_of: impl Fn(usize) -> f64,
    y_of: impl Fn(usize) -> f64,
    mut keep: impl FnMut(usize),
) {
    let mut start = 0;
    while start < len {
        let column = bucket_of(start);
        let mut end = start + 1;
        let (mut low, mut high) = (start, start);
        let (mut low_y, mut high_y) = (y_of(start), y_of(start));
        while end < len && bucket_of(end) == column {
            let y = y_of(end);
            if y < low_y {
                (low, low_y) = (end, y);
            }
            if y > high_y {
                (high, high_y) = (end, y);
            }
            end += 1;
        }
        let mut kept = [start, low, high, end - 1];
        kept.sort_unstable();
        let mut last = usize::MAX;
        for i in kept {
            if i != last {
                keep(i);
                last = i;
            }
        }
        start = end;
    }
}

/// The half pixel column of `x`.
fn bucket(x: f64) -> f64 {
    rounding::floor(x * BUCKETS_PER_PIXEL)
}

/// The buckets of pixel columns `x` (NaN: none), if x never goes left
/// (NaNs aside): what `sorted_line` needs, computed once for all the series
/// of a table.
pub(crate) fn sorted_buckets(x: &[f64]) -> Option<Vec<f64>> {
    let mut last = f64::NEG_INFINITY;
    let never_left = x.iter().filter(|x| !x.is_nan()).all(|&x| {
        let right = last <= x;
        last = x;
        right
    });
    never_left.then(|| x.iter().map(|&x| bucket(x)).collect())
}

/// A short run kept as a vertical stroke: its bucket, x range and y range.
#[derive(Debug)]
struct Interval {
    bucket: f64,
    x0: f64,
    x1: f64,
    lo: f64,
    hi: f64,
}

impl Interval {
    fn points(&self) -> Vec<Point> {
        let x = (self.x0 + self.x1) / 2.0;
        if self.lo == self.hi {
            vec![[x, self.lo]]
        } else {
            vec![[x, self.lo], [x, self.hi]]
        }
    }
}

/// The reduced runs of a line so far, the last short run held back in case
/// the next one merges with it.
#[derive(Debug, Default)]
struct Reduced {
    runs: Vec<Vec<Point>>,
    pending: Option<Interval>,
}

impl Reduced {
    /// Adds a short run: merged with the stroke before it when both lie in
    /// the same bucket and overlap.
    fn stroke(&mut self, s: Interval) {
        if let Some(p) = &mut self.pending
            && p.bucket == s.bucket
            && s.lo <= p.hi
            && s.hi >= p.lo
        {
            p.x1 = s.x1;
            p.lo = p.lo.min(s.lo);
            p.hi = p.hi.max(s.hi);
            return;
        }
        self.flush();
        self.pending = Some(s);
    }

    /// Adds a reduced long run.
    fn run(&mut self, run: Vec<Point>) {
        self.flush();
        self.runs.push(run);
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            self.runs.push(p.points());
        }
    }

    fn finish(mut self) -> Vec<Vec<Point>> {
        self.flush();
        self.runs
    }
}

/// Reduces a line given as its unbroken runs (split where values are
/// missing). Long runs go through M4 (or `drop_repeats` when x goes back).
/// A run that fits inside one bucket is a vertical stroke from its lowest to
/// its highest point, merged with the stroke before it in the same bucket
/// when the two overlap: they cover the same pixels joined or not, so gaps
/// narrower than a pixel (a million rows with 1% missing) do not keep every
/// point, while a gap across which the line jumps stays a gap.
pub(crate) fn line(runs: Vec<Vec<Point>>) -> Vec<Vec<Point>> {
    let mut out = Reduced::default();
    for run in runs {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        let sorted = is_sorted_by_x(&run);
        if sorted && bucket(first[0]) == bucket(last[0]) {
            let lo = run.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
            let hi = run.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
            out.stroke(Interval {
                bucket: bucket(first[0]),
                x0: first[0],
                x1: last[0],
                lo,
                hi,
            });
            continue;
        }
        let mut reduced = Vec::new();
        if sorted {
            m4(&run, &mut reduced);
        } else {
            drop_repeats(&run, &mut reduced);
        }
        out.run(reduced);
    }
    out.finish()
}

/// `line` of the points `(x[i], y_pixel(y[i]))`, split where a point is
/// missing (x NaN, or y not `drawable`), for pixel columns `x` that never go
/// left, `buckets` from `sorted_buckets`: the same runs, in one pass,
/// without building the points first. `y_pixel` must never go back: as y
/// grows its pixel row only grows, or only shrinks (a linear scale). M4 then
/// compares values, not pixel rows, and maps only the points it keeps
/// (`Column::to_pixels`): a division per point was as much CPU as the rest.
/// Kept out of line: inlined into the plot's (large) function, its loop's
/// state lived on the stack.
#[inline(never)]
pub(crate) fn sorted_line(
    x: &[f64],
    buckets: &[f64],
    y: &[f64],
    drawable: impl Fn(f64) -> bool,
    y_pixel: impl Fn(f64) -> f64,
) -> Vec<Vec<Point>> {
    let len = x.len().min(buckets.len()).min(y.len());
    let (buckets, y) = (&buckets[..len], &y[..len]);
    let mut out = Reduced::default();
    let mut at = 0;
    while at < len {
        if buckets[at].is_nan() || !drawable(y[at]) {
            at += 1;
            continue;
        }
        // A run starts at `at`: M4 bucket by bucket, as `m4`.
        let mut reduced = Vec::new();
        loop {
            let column = buckets[at];
            let by_value;
            (by_value, at) = Column::by_value(buckets, y, &drawable, at);
            let kept = by_value.to_pixels(y, &y_pixel);
            let run_ends = at == len || buckets[at].is_nan() || !drawable(y[at]);
            if run_ends && reduced.is_empty() {
                // The run fits in one bucket.
                out.stroke(Interval {
                    bucket: column,
                    x0: x[kept.first.0],
                    x1: x[kept.last.0],
                    lo: kept.low.1,
                    hi: kept.high.1,
                });
                break;
            }
            kept.push_to(x, &mut reduced);
            if run_ends {
                out.run(reduced);
                break;
            }
        }
    }
    out.finish()
}

/// The points M4 keeps of one bucket of `sorted_line`, so far: the first,
/// lowest, highest and last (index and value or pixel row; the first of
/// equals).
struct Column {
    first: (usize, f64),
    low: (usize, f64),
    high: (usize, f64),
    last: (usize, f64),
}

impl Column {
    /// A bucket's first point.
    fn new(at: usize, y: f64) -> Column {
        Column {
            first: (at, y),
            low: (at, y),
            high: (at, y),
            last: (at, y),
        }
    }

    /// The column by values of the bucket that starts at `start`, and where
    /// the bucket ends (where the bucket changes or a point is missing).
    fn by_value(
        buckets: &[f64],
        y: &[f64],
        drawable: impl Fn(f64) -> bool,
        start: usize,
    ) -> (Column, usize) {
        let column = buckets[start];
        let (mut low, mut high) = ((start, y[start]), (start, y[start]));
        let mut end = start + 1;
        for (&bucket, &v) in buckets[end..].iter().zip(&y[end..]) {
            if bucket != column || !drawable(v) {
                break;
            }
            if v < low.1 {
                low = (end, v);
            }
            if v > high.1 {
                high = (end, v);
            }
            end += 1;
        }
        let kept = Column {
            first: (start, y[start]),
            low,
            high,
            last: (end - 1, y[end - 1]),
        };
        (kept, end)
    }

    /// Takes in the bucket's next point.
    fn take(&mut self, at: usize, y: f64) {
        if y < self.low.1 {
            self.low = (at, y);
        }
        if y > self.high.1 {
            self.high = (at, y);
        }
        self.last = (at, y);
    }

    /// The column by pixel rows of this one by values (of `y`). As
    /// `y_pixel` never goes back, the lowest and highest rows are those of
    /// the highest and lowest values; the first point with such a row is
    /// the value's unless an earlier point maps to the same row (only the
    /// nearest earlier value can), and then the bucket is taken again by
    /// rows.
    fn to_pixels(&self, y: &[f64], y_pixel: impl Fn(f64) -> f64) -> Column {
        // Earlier points are all below the highest value (above the
        // lowest): the nearest is the highest (lowest) of them.
        let shares_row = |(at, extreme): (usize, f64), nearest: fn(f64, f64) -> f64| {
            let before = &y[self.first.0..at];
            before
                .iter()
                .copied()
                .reduce(nearest)
                .is_some_and(|near| y_pixel(near) == y_pixel(extreme))
        };
        let higher = |a: f64, b: f64| if b > a { b } else { a };
        let lower = |a: f64, b: f64| if b < a { b } else { a };
        let row = |at: usize| (at, y_pixel(y[at]));
        if shares_row(self.high, higher) || shares_row(self.low, lower) {
            let (first, last) = (self.first.0, self.last.0);
            let mut kept = Column::new(first, y_pixel(y[first]));
            for (at, &v) in (first + 1..).zip(&y[first + 1..=last]) {
                kept.take(at, y_pixel(v));
            }
            return kept;
        }
        let (high, low) = (row(self.high.0), row(self.low.0));
        let (low, high) = if high.1 < low.1 {
            (high, low)
        } else if high.1 > low.1 {
            (low, high)
        } else {
            // One row for the whole bucket: the first point has it.
            (row(self.first.0), row(self.first.0))
        };
        Column {
            first: row(self.first.0),
            low,
            high,
            last: row(self.last.0),
        }
    }

    /// Appends the kept points, in their order, each once.
    fn push_to(&self, x: &[f64], out: &mut Vec<Point>) {
        let mut kept = [self.first, self.low, self.high, self.last];
        kept.sort_unstable_by_key(|&(at, _)| at);
        let mut last = usize::MAX;
        for (at, y) in kept {
            if at != last {
                out.push([x[at], y]);
                last = at;
            }
        }
    }
}

/// Reduces a line that goes back and forth in x: drops each point that lands
/// within a tenth of a pixel of the point kept before it.
pub(crate) fn drop_repeats(points: &[Point], out: &mut Vec<Point>) {
    let mut last: Option<Point> = None;
    for &p in points {
        if let Some(l) = last
            && (p[0] - l[0]).abs() < 0.1
            && (p[1] - l[1]).abs() < 0.1
        {
            continue;
        }
        out.push(p);
        last = Some(p);
    }
    // Keep the true end of the line.
    if let (Some(&end), Some(&kept)) = (points.last(), out.last())
        && end != kept
    {
        out.push(end);
    }
}

/// Scatter markers: the first point on each pixel of a `width` × `height`
/// grid (markers are several pixels wide, so the picture is the same).
pub(crate) fn one_per_pixel(points: &[Point], width: f64, height: f64) -> Vec<Point> {
    let w = (width.max(1.0).ceil() as usize) + 2;
    let h = (height.max(1.0).ceil() as usize) + 2;
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for &p in points {
        // At least 0, where truncation is the floor.
        let x = (p[0].max(-1.0) + 1.0) as usize;
        let y = (p[1].max(-1.0) + 1.0) as usize;
        let cell = y.min(h - 1) * w + x.min(w - 1);
        if !std::mem::replace(&mut seen[cell], true) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m4_keeps_extremes_in_order() {
        // Bucket [0, 0.5): a zigzag; [0.5, 1): one point; [1.5, 2): one;
        // [2, 2.5): two.
        let pts = [
            [0.1, 5.0],
            [0.2, 9.0],
            [0.3, 1.0],
            [0.4, 7.0],
            [0.9, 6.0],
            [1.5, 3.0],
            [2.0, 4.0],
            [2.4, 4.5],
        ];
        let mut out = Vec::new();
        m4(&pts, &mut out);
        assert_eq!(
            out,
            vec![
                [0.1, 5.0],
                [0.2, 9.0],
                [0.3, 1.0],
                [0.4, 7.0],
                [0.9, 6.0],
                [1.5, 3.0],
                [2.0, 4.0],
                [2.4, 4.5]
            ]
        );
    }

    #[test]
    fn m4_bounds_the_output() {
        let pts: Vec<Point> = (0..100_000)
            .map(|i| {
                let x = f64::from(i) / 100.0; // 1000 pixel columns
                [x, (f64::from(i) * 0.37).sin() * 100.0]
            })
            .collect();
        let mut out = Vec::new();
        m4(&pts, &mut out);
        assert!(out.len() <= 4 * 2 * 1000, "{}", out.len());
        assert_eq!(out.first(), pts.first());
        assert_eq!(out.last(), pts.last());
        let min = pts.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
        assert!(out.iter().any(|p| p[1] == min));
        assert!(is_sorted_by_x(&out));
    }

    #[test]
    fn short_runs_merge_only_when_they_overlap() {
        let runs = vec![
            vec![[10.0, 5.0], [10.1, 7.0]],
            vec![[10.2, 6.0], [10.3, 9.0]],    // overlaps: merged
            vec![[10.35, 30.0], [10.4, 31.0]], // jumps: stays apart
            vec![[20.0, 1.0]],                 // alone: a dot
            vec![[30.0, 1.0], [31.0, 2.0], [32.0, 3.0]], // long: M4
        ];
        let out = line(runs);
        assert_eq!(
            out,
            vec![
                vec![[10.15, 5.0], [10.15, 9.0]],
                vec![[10.375, 30.0], [10.375, 31.0]],
                vec![[20.0, 1.0]],
                vec![[30.0, 1.0], [31.0, 2.0], [32.0, 3.0]],
            ]
        );
    }

    /// A pseudo-random line whose x never goes left, with missing points
    /// (NaN y), repeated x, flat stretches and runs inside one bucket.
    fn random_line(seed: u64, len: usize) -> (Vec<f64>, Vec<f64>) {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 1000
        };
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut at = 0.0;
        for _ in 0..len {
            at += [0.0, 0.01, 0.1, 0.3, 2.0][(next() % 5) as usize];
            x.push(at);
            y.push(match next() {
                0..100 => f64::NAN,
                100..200 => 50.0,
                r => r as f64 / 7.0,
            });
        }
        (x, y)
    }

    #[test]
    fn sorted_line_is_line() {
        for seed in 1..200 {
            let (x, y) = random_line(seed, 1 + (seed as usize * 37) % 500);
            let mut runs = vec![Vec::new()];
            for (&x, &y) in x.iter().zip(&y) {
                if y.is_nan() {
                    runs.push(Vec::new());
                } else {
                    runs.last_mut().unwrap().push([x, y]);
                }
            }
            let buckets = sorted_buckets(&x).unwrap();
            let sorted = sorted_line(&x, &buckets, &y, |y| !y.is_nan(), |y| y);
            assert_eq!(sorted, line(runs), "seed {seed}");
        }
        assert_eq!(sorted_buckets(&[1.0, f64::NAN, 0.5]), None);
    }

    /// M4 on values keeps what M4 on pixel rows keeps, also when many
    /// values share a row (where the first of a row is not the first of a
    /// value) and when rows run up or down.
    #[test]
    fn sorted_line_on_values_is_line_on_rows() {
        let maps: [fn(f64) -> f64; 5] = [
            |v| 300.0 - v * 0.5,
            |v| v * 3.0,
            |v| (v / 16.0).floor(),
            |v| -(v / 16.0).floor(),
            |_| 7.0,
        ];
        for seed in 1..100 {
            let (x, y) = random_line(seed, 1 + (seed as usize * 53) % 700);
            let buckets = sorted_buckets(&x).unwrap();
            for (m, map) in maps.iter().enumerate() {
                let mut runs = vec![Vec::new()];
                for (&x, &y) in x.iter().zip(&y) {
                    if y.is_nan() {
                        runs.push(Vec::new());
                    } else {
                        runs.last_mut().unwrap().push([x, map(y)]);
                    }
                }
                let sorted = sorted_line(&x, &buckets, &y, |y| !y.is_nan(), map);
                assert_eq!(sorted, line(runs), "seed {seed}, map {m}");
            }
        }
    }

    #[test]
    fn repeats_and_pixels() {
        let mut out = Vec::new();
        drop_repeats(
            &[[0.0, 0.0], [0.01, 0.0], [5.0, 5.0], [0.02, 0.0]],
            &mut out,
        );
        assert_eq!(out, vec![[0.0, 0.0], [5.0, 5.0], [0.02, 0.0]]);
        let out = one_per_pixel(
            &[[1.2, 1.2], [1.7, 1.1], [2.1, 1.2], [-0.5, 3.0]],
            10.0,
            10.0,
        );
        assert_eq!(out, vec![[1.2, 1.2], [2.1, 1.2], [-0.5, 3.0]]);
        assert!(!is_sorted_by_x(&[[1.0, 0.0], [0.5, 0.0]]));
    }
}
