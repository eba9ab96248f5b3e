//! Floor and round of `f64` without libm calls. The build targets baseline
//! x86-64, which has no rounding instruction (SSE4.1's `roundsd`), so
//! `f64::floor`, `ceil` and `round` are function calls; per point of a large
//! series (M4's buckets, path data in tenths of a pixel, the samples of a
//! PNG's lines) they were several percent of a plot job's time. Truncation
//! (`as i64`) is one instruction, and exact for the magnitudes below 2^52
//! where a value can have a fraction at all.

/// 2^52: from here on every `f64` is an integer.
const INTEGRAL: f64 = 4_503_599_627_370_496.0;

/// `v.floor()` (but for the sign of a zero).
pub(crate) fn floor(v: f64) -> f64 {
    // False for NaN and infinities, which are their own floor.
    if v.abs() < INTEGRAL {
        let t = v as i64 as f64;
        if t > v { t - 1.0 } else { t }
    } else {
        v
    }
}

/// `v.round() as i64`: half away from zero, saturating, NaN as 0.
pub(crate) fn round_to_i64(v: f64) -> i64 {
    if v.abs() < INTEGRAL {
        let t = v as i64;
        // Exact: v and its integral part are within a factor of 2.
        let fraction = v - t as f64;
        t + i64::from(fraction >= 0.5) - i64::from(fraction <= -0.5)
    } else {
        v as i64
    }
}

/// `v.floor()` clamped to `lo..=hi` (a NaN gives `lo`).
pub(crate) fn floor_within(v: f64, lo: i64, hi: i64) -> i64 {
    let v = v.max(lo as f64).min(hi as f64);
    let t = v as i64;
    t - i64::from(t as f64 > v)
}

/// `v.ceil()` clamped to `lo..=hi` (a NaN gives `lo`).
pub(crate) fn ceil_within(v: f64, lo: i64, hi: i64) -> i64 {
    let v = v.max(lo as f64).min(hi as f64);
    let t = v as i64;
    t + i64::from((t as f64) < v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values around every kind of edge: integers, halves, a hair either
    /// side of them, both signs, tiny and huge magnitudes.
    fn values() -> Vec<f64> {
        let mut out = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            -0.49999999999999994,
            f64::MIN_POSITIVE,
            1e-300,
            INTEGRAL - 0.5,
            -(INTEGRAL - 0.5),
            INTEGRAL,
            INTEGRAL * 2.0 + 2.0,
            9.3e18,
            -9.3e18,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for i in -2000i32..2000 {
            let v = f64::from(i) / 8.0;
            out.extend([v, v.next_up(), v.next_down(), v * 1e9 + 0.5]);
        }
        out
    }

    #[test]
    fn floor_and_round_are_libms() {
        for v in values() {
            let f = floor(v);
            assert!(f == v.floor() || (f.is_nan() && v.is_nan()), "floor {v}");
            assert_eq!(round_to_i64(v), v.round() as i64, "round {v}");
        }
    }

    #[test]
    fn floor_and_ceil_within_bounds_are_libms() {
        for v in values() {
            for (lo, hi) in [
                (-100, 100),
                (0, 7),
                (-3, -1),
                (i64::from(i32::MIN), 1 << 40),
            ] {
                let (floor, ceil) = if v.is_nan() {
                    (lo, lo)
                } else {
                    (
                        (v.floor().clamp(lo as f64, hi as f64)) as i64,
                        (v.ceil().clamp(lo as f64, hi as f64)) as i64,
                    )
                };
                assert_eq!(floor_within(v, lo, hi), floor, "floor {v} in {lo}..={hi}");
                assert_eq!(ceil_within(v, lo, hi), ceil, "ceil {v} in {lo}..={hi}");
            }
        }
    }
}
