//! "Nice" tick values (1, 2 or 5 times a power of ten, as d3 and matplotlib
//! pick them) inside an axis's domain, and their labels: as many decimals as
//! the step needs, exponents for very large or small magnitudes, never `-0`.

/// One tick: its value and its label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tick {
    /// Where it is, in data units.
    pub(crate) value: f64,
    /// What it says.
    pub(crate) label: String,
}

/// The most ticks an axis gets, whatever the numbers say.
const MAX_TICKS: usize = 100;

/// About `count` nice ticks inside `[lo, hi]` on a linear axis.
pub(crate) fn linear(lo: f64, hi: f64, count: usize) -> Vec<Tick> {
    let count = count.clamp(1, MAX_TICKS);
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return Vec::new();
    }
    if lo == hi {
        return vec![Tick {
            value: lo,
            label: general(lo),
        }];
    }
    let Some(step) = TickStep::new(lo, hi, count) else {
        return ends(lo, hi);
    };
    let values = step.values(lo, hi);
    if values.is_empty() {
        return ends(lo, hi);
    }
    let labels = step.labels(&values);
    values
        .into_iter()
        .zip(labels)
        .map(|(value, label)| Tick { value, label })
        .collect()
}

/// Ticks on a log axis over `[lo, hi]` (both positive): powers of ten when
/// the domain holds three or more; else 1, 2, 5 times powers of ten; else
/// linear ticks.
pub(crate) fn log(lo: f64, hi: f64, count: usize) -> Vec<Tick> {
    let count = count.clamp(1, MAX_TICKS);
    if !(lo > 0.0 && hi.is_finite() && lo <= hi) {
        return Vec::new();
    }
    let k0 = (lo.log10() - 1e-9).ceil() as i32;
    let k1 = (hi.log10() + 1e-9).floor() as i32;
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    if k1 - k0 >= 2 {
        let decades = (k1 - k0 + 1) as usize;
        let every = decades.div_ceil(count).max(1);
        return (k0..=k1)
            .step_by(every)
            .map(|k| power_tick(1, k))
            .filter(|t| inside(t.value))
            .collect();
    }
    let ticks: Vec<Tick> = (k0 - 1..=k1 + 1)
        .flat_map(|k| [1, 2, 5].map(|m| power_tick(m, k)))
        .filter(|t| inside(t.value))
        .collect();
    if ticks.len() >= 2 && ticks.len() <= count.max(2) * 2 {
        ticks
    } else {
        linear(lo, hi, count)
    }
}

/// `m` × 10^`k`, read from its decimal text so that it is the nearest double.
fn power_tick(m: u32, k: i32) -> Tick {
    let value: f64 = format!("{m}e{k}").parse().unwrap_or(f64::NAN);
    let label = if (-4..=5).contains(&k) {
        general(value)
    } else {
        format!("{m}e{k}")
    };
    Tick { value, label }
}

/// The two ends, when no nice step exists (subnormal ranges).
fn ends(lo: f64, hi: f64) -> Vec<Tick> {
    vec![
        Tick {
            value: lo,
            label: general(lo),
        },
        Tick {
            value: hi,
            label: general(hi),
        },
    ]
}

/// The shortest text that reads back as `v` (exponent when very large or
/// small).
pub(crate) fn general(v: f64) -> String {
    crate::table::format_number(v)
}

/// A tick step: `factor` × 10^`power`, factor 1, 2, 5 or 10.
#[derive(Debug, Clone, Copy)]
struct TickStep {
    power: i32,
    factor: f64,
}

impl TickStep {
    fn new(lo: f64, hi: f64, count: usize) -> Option<TickStep> {
        let raw = hi / count as f64 - lo / count as f64;
        if !(raw > 0.0 && raw.is_finite()) {
            return None;
        }
        let power = raw.log10().floor() as i32;
        let error = raw / 10f64.powi(power);
        let factor = if error >= 50f64.sqrt() {
            10.0
        } else if error >= 10f64.sqrt() {
            5.0
        } else if error >= 2f64.sqrt() {
            2.0
        } else {
            1.0
        };
        Some(TickStep { power, factor })
    }

    /// The multiples of the step inside `[lo, hi]`. For steps below one the
    /// values are `i / (10^-power / factor)`, which keeps 0.3 from becoming
    /// 0.30000000000000004 (as d3 does).
    fn values(&self, lo: f64, hi: f64) -> Vec<f64> {
        let below_one = self.power < 0;
        let scale = if below_one {
            10f64.powi(-self.power) / self.factor
        } else {
            10f64.powi(self.power) * self.factor
        };
        if !scale.is_finite() || scale == 0.0 {
            return Vec::new();
        }
        let to_i = |v: f64| if below_one { v * scale } else { v / scale };
        let from_i = |i: f64| if below_one { i / scale } else { i * scale };
        let mut i0 = to_i(lo).round();
        let mut i1 = to_i(hi).round();
        if from_i(i0) < lo {
            i0 += 1.0;
        }
        if from_i(i1) > hi {
            i1 -= 1.0;
        }
        if !(i0.is_finite() && i1.is_finite()) || i1 < i0 || i1 - i0 > MAX_TICKS as f64 * 2.0 {
            return Vec::new();
        }
        let mut values = Vec::new();
        let mut i = i0;
        while i <= i1 {
            values.push(from_i(i) + 0.0); // -0.0 -> 0.0
            i += 1.0;
        }
        values
    }

    /// The exponent of the step's last significant digit.
    fn last_digit(&self) -> i32 {
        if self.factor >= 10.0 {
            self.power + 1
        } else {
            self.power
        }
    }

    /// Labels with as many digits as the step needs, all alike.
    fn labels(&self, values: &[f64]) -> Vec<String> {
        let largest = values.iter().fold(0f64, |m, v| m.max(v.abs()));
        let digit = self.last_digit();
        let scientific = largest >= 1e6 || (largest > 0.0 && largest < 1e-3);
        if scientific {
            let top = largest.log10().floor() as i32;
            let precision = (top - digit).clamp(0, 16) as usize;
            values
                .iter()
                .map(|&v| {
                    if v == 0.0 {
                        "0".to_owned()
                    } else {
                        format!("{v:.precision$e}")
                    }
                })
                .collect()
        } else {
            let decimals = (-digit).clamp(0, 16) as usize;
            values.iter().map(|&v| format!("{v:.decimals$}")).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|t| t.label.as_str()).collect()
    }

    fn values(ticks: &[Tick]) -> Vec<f64> {
        ticks.iter().map(|t| t.value).collect()
    }

    /// Every case: (lo, hi, count) -> labels.
    macro_rules! linear_cases {
        ($($name:ident: ($lo:expr, $hi:expr, $count:expr) => [$($label:expr),* $(,)?];)*) => {
            $(
                #[test]
                fn $name() {
                    let ticks = linear($lo, $hi, $count);
                    assert_eq!(labels(&ticks), vec![$($label),*]);
                    for t in &ticks {
                        assert!(($lo..=$hi).contains(&t.value), "{t:?} outside");
                    }
                }
            )*
        };
    }

    linear_cases! {
        unit: (0.0, 1.0, 5) => ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"];
        crossing_zero: (-3.7, 2.2, 6) => ["-3", "-2", "-1", "0", "1", "2"];
        crossing_zero_small: (-0.35, 0.25, 5) => ["-0.3", "-0.2", "-0.1", "0.0", "0.1", "0.2"];
        no_float_noise: (0.1, 0.7, 6) => ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"];
        offset_data: (1019.9, 1021.35, 5) => ["1020.0", "1020.2", "1020.4", "1020.6", "1020.8", "1021.0", "1021.2"];
        large_integers: (0.0, 250000.0, 5) => ["0", "50000", "100000", "150000", "200000", "250000"];
        huge: (0.0, 3e12, 3) => ["0", "1e12", "2e12", "3e12"];
        huge_with_digits: (1.1e9, 1.5e9, 4) => ["1.1e9", "1.2e9", "1.3e9", "1.4e9", "1.5e9"];
        tiny: (1e-9, 5e-9, 4) => ["1e-9", "2e-9", "3e-9", "4e-9", "5e-9"];
        tiny_crossing_zero: (-2e-7, 2e-7, 4) => ["-2e-7", "-1e-7", "0", "1e-7", "2e-7"];
        tiny_near_one: (0.9999, 1.0001, 4) => ["0.99990", "0.99995", "1.00000", "1.00005", "1.00010"];
        negative_only: (-50.0, -10.0, 4) => ["-50", "-40", "-30", "-20", "-10"];
        single_point: (4.5, 4.5, 5) => ["4.5"];
    }

    #[test]
    fn extreme_ranges_stay_finite_and_few() {
        for (lo, hi) in [
            (-f64::MAX, f64::MAX),
            (0.0, f64::MAX),
            (1e300, 1e308),
            (5e-324, 1e-323),
            (-1e-310, 1e-310),
            (1e15, 1e15 + 2.0),
        ] {
            let ticks = linear(lo, hi, 5);
            assert!(
                !ticks.is_empty() && ticks.len() <= 2 * MAX_TICKS,
                "{lo} {hi}: {ticks:?}"
            );
            for t in &ticks {
                assert!(
                    t.value.is_finite() && t.value >= lo && t.value <= hi,
                    "{lo} {hi}: {t:?}"
                );
                assert!(!t.label.starts_with("-0"), "{t:?}");
            }
            let mut unique = labels(&ticks);
            unique.dedup();
            assert_eq!(unique.len(), ticks.len(), "labels repeat: {ticks:?}");
        }
    }

    #[test]
    fn no_negative_zero() {
        let ticks = linear(-0.4, 0.6, 5);
        assert!(labels(&ticks).contains(&"0.0"), "{ticks:?}");
        assert!(ticks.iter().all(|t| !t.label.starts_with("-0.0")));
    }

    #[test]
    fn bad_input_gives_no_ticks() {
        assert!(linear(f64::NAN, 1.0, 5).is_empty());
        assert!(linear(2.0, 1.0, 5).is_empty());
        assert!(log(0.0, 1.0, 5).is_empty());
        assert!(log(-1.0, 1.0, 5).is_empty());
    }

    #[test]
    fn log_decades() {
        assert_eq!(labels(&log(1.0, 1000.0, 5)), ["1", "10", "100", "1000"]);
        assert_eq!(
            labels(&log(0.5, 2e6, 10)),
            ["1", "10", "100", "1000", "10000", "100000", "1e6"]
        );
        assert_eq!(
            labels(&log(1e-12, 1e12, 5)),
            ["1e-12", "1e-7", "0.01", "1000", "1e8"]
        );
        assert_eq!(values(&log(1e-3, 1e-1, 5)), [0.001, 0.01, 0.1]);
    }

    #[test]
    fn log_within_a_decade() {
        assert_eq!(labels(&log(1.5, 60.0, 5)), ["2", "5", "10", "20", "50"]);
        assert_eq!(labels(&log(1.5, 9.0, 5)), ["2", "5"]);
        assert_eq!(labels(&log(0.5, 19.5, 5)), ["0.5", "1", "2", "5", "10"]);
        // Too narrow for 1-2-5: linear ticks.
        assert_eq!(
            labels(&log(3.0, 4.0, 5)),
            ["3.0", "3.2", "3.4", "3.6", "3.8", "4.0"]
        );
    }
}
