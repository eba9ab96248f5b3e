//! Scales: from data values to pixels, linear or logarithmic, and the choice
//! of an axis's domain from the data's extent (padding, zero, degenerate
//! ranges). Arithmetic is done on halves so that ranges near ±f64::MAX do
//! not overflow.

/// The smallest and largest value that can be drawn on an axis: finite, and
/// positive on a log axis. `None` when there is none.
pub(crate) fn extent(values: impl IntoIterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values {
        if drawable(v, log) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Whether `v` can be drawn on an axis: finite, and positive on a log axis.
pub(crate) fn drawable(v: f64, log: bool) -> bool {
    v.is_finite() && (!log || v > 0.0)
}

/// Joins two extents.
pub(crate) fn union(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, None) => a,
        (None, b) => b,
    }
}

fn clamp(v: f64) -> f64 {
    v.clamp(-f64::MAX, f64::MAX)
}

/// The domain of an axis: the data's extent (0..1, or 1..10 on a log axis,
/// when there is no data), widened to include zero when `zero` (linear
/// only), widened around a single value, then padded by `pad` of its span on
/// both sides (never below a zero that was asked for).
pub(crate) fn domain(extent: Option<(f64, f64)>, log: bool, zero: bool, pad: f64) -> (f64, f64) {
    if log {
        let (lo, hi) = match extent {
            Some((lo, hi)) if lo > 0.0 => (lo.log10(), hi.log10()),
            _ => (0.0, 1.0),
        };
        let (lo, hi) = if lo == hi {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo, hi)
        };
        let p = (hi - lo) * pad;
        let lo = 10f64.powf(lo - p);
        let hi = 10f64.powf(hi + p);
        return (lo.max(f64::MIN_POSITIVE), clamp(hi));
    }
    let (mut lo, mut hi) = extent.unwrap_or((0.0, 1.0));
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if lo == hi {
        if lo == 0.0 {
            return (-1.0, 1.0);
        }
        let d = lo.abs() * 0.1;
        lo = clamp(lo - d);
        hi = clamp(hi + d);
        if lo == hi {
            // So tiny (subnormal) that a tenth of it is nothing.
            lo = -f64::MIN_POSITIVE.max(hi.abs());
            hi = f64::MIN_POSITIVE.max(hi.abs());
        }
    }
    let half = hi / 2.0 - lo / 2.0;
    let p = half * 2.0 * pad;
    let new_lo = if zero && lo == 0.0 {
        0.0
    } else {
        clamp(lo - p)
    };
    let new_hi = if zero && hi == 0.0 {
        0.0
    } else {
        clamp(hi + p)
    };
    (new_lo, new_hi)
}

/// Maps a domain onto a pixel range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    log: bool,
    /// Domain ends, as given (not logarithms).
    lo: f64,
    hi: f64,
    /// Domain ends in the mapped space (log10 on a log axis), halved.
    t0: f64,
    t_half_span: f64,
    /// Pixel range.
    r0: f64,
    r1: f64,
}

impl Scale {
    /// A scale from `domain` (lo < hi; positive on a log axis) onto pixels
    /// `range` (may run backwards, as a y axis does).
    pub(crate) fn new(domain: (f64, f64), range: (f64, f64), log: bool) -> Scale {
        let (lo, hi) = domain;
        let (t0, t1) = if log {
            (lo.log10(), hi.log10())
        } else {
            (lo, hi)
        };
        Scale {
            log,
            lo,
            hi,
            t0: t0 / 2.0,
            t_half_span: t1 / 2.0 - t0 / 2.0,
            r0: range.0,
            r1: range.1,
        }
    }

    /// The pixel position of `v` (which must be drawable on this axis).
    pub(crate) fn map(&self, v: f64) -> f64 {
        if self.log {
            self.map_log(v)
        } else {
            self.map_t(v)
        }
    }

    // Kept out of line: inlined, the compiler computes the logarithm of
    // every point of a linear axis and throws it away.
    #[inline(never)]
    fn map_log(&self, v: f64) -> f64 {
        self.map_t(v.log10())
    }

    fn map_t(&self, t: f64) -> f64 {
        let f = if self.t_half_span > 0.0 {
            (t / 2.0 - self.t0) / self.t_half_span
        } else {
            0.5
        };
        self.r0 + f * (self.r1 - self.r0)
    }

    /// The data value at pixel position `p` (the inverse of `map`).
    pub(crate) fn invert(&self, p: f64) -> f64 {
        let f = if self.r1 != self.r0 {
            (p - self.r0) / (self.r1 - self.r0)
        } else {
            0.0
        };
        let half = self.t0 + f * self.t_half_span;
        let t = clamp(half * 2.0);
        if self.log { 10f64.powf(t) } else { t }
    }

    /// Whether `v` lies in the domain (with a little tolerance).
    pub(crate) fn contains(&self, v: f64) -> bool {
        let slack = (self.hi / 2.0 - self.lo / 2.0).abs() * 2e-9;
        v >= self.lo - slack && v <= self.hi + slack
    }

    /// Whether this is a log scale.
    pub(crate) fn is_log(&self) -> bool {
        self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_skip_what_cannot_be_drawn() {
        let v = [f64::NAN, 3.0, -2.0, f64::INFINITY, 0.0];
        assert_eq!(extent(v, false), Some((-2.0, 3.0)));
        assert_eq!(extent(v, true), Some((3.0, 3.0)));
        assert_eq!(extent([f64::NAN, f64::NAN], false), None);
        assert_eq!(extent([], true), None);
        assert_eq!(union(Some((1.0, 2.0)), Some((0.0, 1.5))), Some((0.0, 2.0)));
        assert_eq!(union(None, Some((0.0, 1.5))), Some((0.0, 1.5)));
    }

    #[test]
    fn domains() {
        // Starts where the data does, padded.
        assert_eq!(domain(Some((10.0, 20.0)), false, false, 0.0), (10.0, 20.0));
        assert_eq!(domain(Some((10.0, 20.0)), false, false, 0.05), (9.5, 20.5));
        // Zero only when asked, and never padded past it.
        assert_eq!(domain(Some((10.0, 20.0)), false, true, 0.05), (0.0, 21.0));
        assert_eq!(domain(Some((-4.0, -2.0)), false, true, 0.0), (-4.0, 0.0));
        // A single value, zero, no data.
        assert_eq!(domain(Some((5.0, 5.0)), false, false, 0.0), (4.5, 5.5));
        assert_eq!(domain(Some((0.0, 0.0)), false, false, 0.05), (-1.0, 1.0));
        assert_eq!(domain(None, false, false, 0.0), (0.0, 1.0));
        assert_eq!(domain(None, true, false, 0.0), (1.0, 10.0));
        // Huge ranges do not overflow.
        let (lo, hi) = domain(Some((-f64::MAX, f64::MAX)), false, false, 0.05);
        assert!(lo.is_finite() && hi.is_finite() && lo < hi);
        // Subnormal single values still give a range.
        let (lo, hi) = domain(Some((5e-324, 5e-324)), false, false, 0.0);
        assert!(lo < hi, "{lo} {hi}");
        // Log: one decade around a single value.
        let (lo, hi) = domain(Some((100.0, 100.0)), true, false, 0.0);
        assert!((lo - 10f64.powf(1.5)).abs() < 1e-9 && (hi - 10f64.powf(2.5)).abs() < 1e-9);
    }

    #[test]
    fn maps_linear_log_and_reversed() {
        let s = Scale::new((0.0, 10.0), (100.0, 200.0), false);
        assert_eq!(s.map(0.0), 100.0);
        assert_eq!(s.map(5.0), 150.0);
        assert_eq!(s.map(10.0), 200.0);
        let y = Scale::new((0.0, 10.0), (200.0, 100.0), false);
        assert_eq!(y.map(10.0), 100.0);
        let l = Scale::new((1.0, 1000.0), (0.0, 300.0), true);
        assert!((l.map(10.0) - 100.0).abs() < 1e-9);
        assert!((l.map(100.0) - 200.0).abs() < 1e-9);
        assert!((l.invert(200.0) - 100.0).abs() < 1e-9);
        assert_eq!(y.invert(150.0), 5.0);
        let huge = Scale::new((-f64::MAX, f64::MAX), (0.0, 100.0), false);
        assert_eq!(huge.map(0.0), 50.0);
        assert!(
            huge.contains(f64::MAX) && !Scale::new((0.0, 1.0), (0.0, 1.0), false).contains(2.0)
        );
    }
}
