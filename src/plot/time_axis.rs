//! Time axes, as pure functions over instants (i64 microseconds since the
//! Unix epoch, the table's time representation, already shifted into the
//! offset the axis is shown in): ticks on calendar boundaries chosen by the
//! span (years, quarters, months, weeks, days, hours, minutes, seconds,
//! fractions), labelled concisely as matplotlib's `ConciseDateFormatter`
//! does (the larger units written once: on the tick where they change, or
//! in an offset text at the end of the axis).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// An average month and year, to compare spans with.
const MONTH_US: f64 = 30.436_875 * DAY as f64;
const YEAR_US: f64 = 365.2425 * DAY as f64;

/// The most ticks an axis gets.
const MAX_TICKS: usize = 100;

/// Steps of a fixed length: fractions of a second, then seconds, minutes
/// and hours that divide the next unit (so ticks fall on round times).
const FIXED_STEPS: [i64; 35] = [
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    4 * HOUR,
    6 * HOUR,
];

/// A distance between ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A fixed length in microseconds (up to 12 hours).
    Fixed(i64),
    /// Days of the month: every day (1), odd days (2), the 1st, 8th, 15th
    /// and 22nd (7: weeks), the 1st and 15th (14).
    Days(u8),
    /// Months whose index from year 0 is a multiple (3: quarters).
    Months(i64),
    /// Years that are multiples.
    Years(i64),
}

impl Step {
    /// About how long the step is, in microseconds.
    fn nominal(self) -> f64 {
        match self {
            Step::Fixed(us) => us as f64,
            Step::Days(14) => MONTH_US / 2.0,
            Step::Days(n) => f64::from(n) * DAY as f64,
            Step::Months(n) => n as f64 * MONTH_US,
            Step::Years(n) => n as f64 * YEAR_US,
        }
    }
}

/// The smallest step that gives at most `count` ticks over `span` µs.
fn choose(span: f64, count: usize) -> Step {
    let count = count.max(1) as f64;
    let calendar = [
        Step::Fixed(12 * HOUR),
        Step::Days(1),
        Step::Days(2),
        Step::Days(7),
        Step::Days(14),
        Step::Months(1),
        Step::Months(2),
        Step::Months(3),
        Step::Months(4),
        Step::Months(6),
    ];
    let fits = |step: Step| span / step.nominal() <= count;
    if let Some(us) = FIXED_STEPS.iter().find(|&&us| fits(Step::Fixed(us))) {
        return Step::Fixed(*us);
    }
    if let Some(step) = calendar.into_iter().find(|&s| fits(s)) {
        return step;
    }
    // Years: 1, 2 or 5 times a power of ten.
    let mut power = 1i64;
    loop {
        for m in [1, 2, 5] {
            let step = Step::Years(m * power);
            if fits(step) || power >= 1_000_000 {
                return step;
            }
        }
        power *= 10;
    }
}

/// The civil date and time of an instant, if it is within the years
/// -9999..=9999 that calendars here handle.
pub(crate) fn civil(us: i64) -> Option<DateTime> {
    Timestamp::from_microsecond(us)
        .ok()
        .map(|t| Offset::UTC.to_datetime(t))
}

/// The instant of a civil date and time (read as UTC).
fn instant(dt: DateTime) -> Option<i64> {
    Offset::UTC
        .to_timestamp(dt)
        .ok()
        .map(Timestamp::as_microsecond)
}

fn midnight(date: Date) -> Option<i64> {
    instant(date.to_datetime(Time::midnight()))
}

/// Tick instants of `step` inside `[lo, hi]`.
fn tick_values(lo: i64, hi: i64, step: Step) -> Vec<i64> {
    let mut out = Vec::new();
    match step {
        Step::Fixed(n) => {
            let mut t = lo.div_euclid(n) * n;
            if t < lo {
                t += n;
            }
            while t <= hi && out.len() <= MAX_TICKS {
                out.push(t);
                match t.checked_add(n) {
                    Some(next) => t = next,
                    None => break,
                }
            }
        }
        Step::Days(n) => {
            let Some(mut date) = civil(lo).map(|dt| dt.date()) else {
                return out;
            };
            let wanted = |day: i8| match n {
                1 => true,
                2 => day % 2 == 1 && day < 31,
                7 => matches!(day, 1 | 8 | 15 | 22),
                _ => matches!(day, 1 | 15),
            };
            while let Some(t) = midnight(date) {
                if t > hi || out.len() > MAX_TICKS {
                    break;
                }
                if t >= lo && wanted(date.day()) {
                    out.push(t);
                }
                match date.tomorrow() {
                    Ok(next) => date = next,
                    Err(_) => break,
                }
            }
        }
        Step::Months(n) => {
            let Some(start) = civil(lo) else { return out };
            let mut index = i64::from(start.year()) * 12 + i64::from(start.month()) - 1;
            loop {
                if index.rem_euclid(n) == 0 {
                    let year = index.div_euclid(12);
                    let month = index.rem_euclid(12) + 1;
                    let Some(t) = i16::try_from(year)
                        .ok()
                        .and_then(|y| Date::new(y, month as i8, 1).ok())
                        .and_then(midnight)
                    else {
                        break;
                    };
                    if t > hi || out.len() > MAX_TICKS {
                        break;
                    }
                    if t >= lo {
                        out.push(t);
                    }
                }
                index += 1;
            }
        }
        Step::Years(n) => {
            let (Some(first), Some(last)) = (civil(lo), civil(hi)) else {
                return out;
            };
            let first = i64::from(first.year());
            let mut year = first.div_euclid(n) * n;
            if year < first {
                year += n;
            }
            while year <= i64::from(last.year()) && out.len() <= MAX_TICKS {
                if let Some(t) = i16::try_from(year)
                    .ok()
                    .and_then(|y| Date::new(y, 1, 1).ok())
                    .and_then(midnight)
                    && (lo..=hi).contains(&t)
                {
                    out.push(t);
                }
                year += n;
            }
        }
    }
    out
}

/// Ticks of a time axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeTicks {
    /// Instants (µs).
    pub(crate) values: Vec<i64>,
    /// Their concise labels.
    pub(crate) labels: Vec<String>,
    /// Text for the end of the axis giving what the labels leave out (the
    /// year, the month...), or empty.
    pub(crate) offset: String,
}

/// About `count` ticks on calendar boundaries inside `[lo, hi]` (µs), with
/// concise labels.
pub(crate) fn ticks(lo: i64, hi: i64, count: usize) -> TimeTicks {
    let count = count.clamp(1, MAX_TICKS);
    let values = if lo > hi || civil(lo).is_none() || civil(hi).is_none() {
        Vec::new()
    } else if lo == hi {
        vec![lo]
    } else {
        tick_values(lo, hi, choose(hi as f64 - lo as f64, count))
    };
    let (labels, offset) = concise(&values);
    TimeTicks {
        values,
        labels,
        offset,
    }
}

/// The parts of an instant that labels show: year, month, day, hour,
/// minute, and (second, microsecond).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
    second: (i8, i32),
}

impl Parts {
    fn of(dt: DateTime) -> Parts {
        Parts {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
            hour: dt.hour(),
            minute: dt.minute(),
            second: (dt.second(), dt.subsec_nanosecond() / 1000),
        }
    }

    /// The part at `level` (0 = year ... 5 = second), comparable.
    fn at(&self, level: usize) -> i64 {
        match level {
            0 => i64::from(self.year),
            1 => i64::from(self.month),
            2 => i64::from(self.day),
            3 => i64::from(self.hour),
            4 => i64::from(self.minute),
            _ => i64::from(self.second.0) * 1_000_000 + i64::from(self.second.1),
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The pieces of a label, as matplotlib's format strings name them.
#[derive(Debug, Clone, Copy)]
enum Format {
    /// `''`
    Nothing,
    /// `%Y`
    Year,
    /// `%b`
    Month,
    /// `%d`
    Day,
    /// `%H:%M`
    HourMinute,
    /// `%b-%d`
    MonthDay,
    /// `%S.%f`
    SecondFraction,
    /// `%Y-%b`
    YearMonth,
    /// `%Y-%b-%d`
    YearMonthDay,
    /// `%Y-%b-%d %H:%M`
    YearMonthDayTime,
}

fn format(p: &Parts, f: Format) -> String {
    let month = MONTHS[(p.month.clamp(1, 12) - 1) as usize];
    match f {
        Format::Nothing => String::new(),
        Format::Year => p.year.to_string(),
        Format::Month => month.to_owned(),
        Format::Day => format!("{:02}", p.day),
        Format::HourMinute => format!("{:02}:{:02}", p.hour, p.minute),
        Format::MonthDay => format!("{month}-{:02}", p.day),
        Format::SecondFraction => format!("{:02}.{:06}", p.second.0, p.second.1),
        Format::YearMonth => format!("{}-{month}", p.year),
        Format::YearMonthDay => format!("{}-{month}-{:02}", p.year, p.day),
        Format::YearMonthDayTime => {
            format!(
                "{}-{month}-{:02} {:02}:{:02}",
                p.year, p.day, p.hour, p.minute
            )
        }
    }
}

/// Labels of ticks at each level, on a tick where the larger unit starts,
/// and of the offset (matplotlib's `formats`, `zero_formats`,
/// `offset_formats`).
const FORMATS: [Format; 6] = [
    Format::Year,
    Format::Month,
    Format::Day,
    Format::HourMinute,
    Format::HourMinute,
    Format::SecondFraction,
];
const ZERO_FORMATS: [Format; 6] = [
    Format::Nothing,
    Format::Year,
    Format::Month,
    Format::MonthDay,
    Format::HourMinute,
    Format::HourMinute,
];
const OFFSET_FORMATS: [Format; 6] = [
    Format::Nothing,
    Format::Year,
    Format::YearMonth,
    Format::YearMonthDay,
    Format::YearMonthDay,
    Format::YearMonthDayTime,
];
/// The value of each part where the larger unit starts.
const ZERO_VALUES: [i64; 6] = [0, 1, 1, 0, 0, 0];

/// Concise labels for a row of instants (ticks, or the categories of a bar
/// chart), and the offset text: matplotlib's `ConciseDateFormatter`. Each
/// label shows the finest part that differs between the instants; where a
/// larger unit starts (January, the 1st, midnight) it shows that unit
/// instead; the offset names what no label shows (the year of monthly
/// ticks, the date of hourly ones).
pub(crate) fn concise(instants: &[i64]) -> (Vec<String>, String) {
    let parts: Vec<Option<Parts>> = instants
        .iter()
        .map(|&us| civil(us).map(Parts::of))
        .collect();
    let known: Vec<Parts> = parts.iter().flatten().copied().collect();
    let Some(last) = known.last() else {
        return (vec![String::new(); instants.len()], String::new());
    };
    let mut show_offset = true;
    let mut level = 5;
    for l in (0..=5).rev() {
        let first = known[0].at(l);
        if known.iter().any(|p| p.at(l) != first) {
            level = l;
            if l < 2 && known.iter().any(|p| p.at(l) == 1) {
                show_offset = false;
            }
            break;
        }
    }
    let mut labels: Vec<String> = parts
        .iter()
        .map(|p| match p {
            None => String::new(),
            Some(p) => {
                let zero = if level < 5 {
                    p.at(level) == ZERO_VALUES[level]
                } else {
                    p.second == (0, 0)
                };
                format(
                    p,
                    if zero {
                        ZERO_FORMATS[level]
                    } else {
                        FORMATS[level]
                    },
                )
            }
        })
        .collect();
    if level == 5 {
        // Fractions of a second: as many digits as the labels need.
        let trailing = labels
            .iter()
            .filter(|l| l.contains('.'))
            .map(|l| l.len() - l.trim_end_matches('0').len())
            .min();
        if let Some(trailing) = trailing.filter(|&t| t > 0) {
            for label in labels.iter_mut().filter(|l| l.contains('.')) {
                label.truncate(label.len() - trailing);
                if label.ends_with('.') {
                    label.pop();
                }
            }
        }
    }
    let offset = if show_offset {
        format(last, OFFSET_FORMATS[level])
    } else {
        String::new()
    };
    (labels, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant from ISO text (UTC).
    fn at(text: &str) -> i64 {
        let dt: DateTime = text.parse().unwrap();
        instant(dt).unwrap()
    }

    fn isos(ticks: &TimeTicks) -> Vec<String> {
        ticks
            .values
            .iter()
            .map(|&v| civil(v).unwrap().to_string())
            .collect()
    }

    /// Every case: (from, to, count) -> labels, offset (checked against
    /// matplotlib 3.11's ConciseDateFormatter on the same tick instants).
    macro_rules! concise_cases {
        ($($name:ident: ($lo:expr, $hi:expr, $count:expr) => [$($label:expr),* $(,)?], $offset:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    let t = ticks(at($lo), at($hi), $count);
                    assert_eq!(t.labels, vec![$($label),*] as Vec<&str>, "{:?}", isos(&t));
                    assert_eq!(t.offset, $offset);
                    for v in &t.values {
                        assert!((at($lo)..=at($hi)).contains(v));
                    }
                }
            )*
        };
    }

    concise_cases! {
        hours_in_a_day: ("2024-03-05T06:10", "2024-03-05T18:40", 7) =>
            ["08:00", "10:00", "12:00", "14:00", "16:00", "18:00"], "2024-Mar-05";
        hours_over_midnight: ("2024-03-05T20:00", "2024-03-06T07:00", 6) =>
            ["20:00", "22:00", "Mar-06", "02:00", "04:00", "06:00"], "2024-Mar-06";
        minutes: ("2024-03-05T12:03", "2024-03-05T12:58", 6) =>
            ["12:10", "12:20", "12:30", "12:40", "12:50"], "2024-Mar-05";
        seconds: ("2024-03-05T12:00:00", "2024-03-05T12:00:50", 6) =>
            ["12:00", "10", "20", "30", "40", "50"], "2024-Mar-05 12:00";
        fractions: ("2024-03-05T12:00:00", "2024-03-05T12:00:00.5", 6) =>
            ["12:00", "00.1", "00.2", "00.3", "00.4", "00.5"], "2024-Mar-05 12:00";
        days: ("2024-02-26", "2024-03-04", 8) =>
            ["26", "27", "28", "29", "Mar", "02", "03", "04"], "2024-Mar";
        weeks: ("2024-01-20", "2024-04-10", 12) =>
            ["22", "Feb", "08", "15", "22", "Mar", "08", "15", "22", "Apr", "08"], "2024-Apr";
        months_in_a_year: ("2024-02-10", "2024-11-20", 12) =>
            ["Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"], "2024";
        months_over_new_year: ("2023-06-10", "2024-09-20", 6) =>
            ["Jul", "Oct", "2024", "Apr", "Jul"], "";
        quarters: ("2021-02-01", "2023-12-31", 12) =>
            ["Apr", "Jul", "Oct", "2022", "Apr", "Jul", "Oct", "2023", "Apr", "Jul", "Oct"], "";
        years: ("2003-05-01", "2011-02-01", 8) =>
            ["2004", "2005", "2006", "2007", "2008", "2009", "2010", "2011"], "";
        decades: ("1954-05-01", "2023-02-01", 8) =>
            ["1960", "1970", "1980", "1990", "2000", "2010", "2020"], "";
        centuries: ("1000-01-01", "2000-01-01", 5) =>
            ["1000", "1200", "1400", "1600", "1800", "2000"], "";
    }

    #[test]
    fn steps_grow_with_the_span() {
        let day = DAY as f64;
        assert_eq!(choose(10.0 * SECOND as f64, 5), Step::Fixed(2 * SECOND));
        assert_eq!(choose(3.0 * day, 8), Step::Fixed(12 * HOUR));
        assert_eq!(choose(60.0 * day, 8), Step::Days(14));
        assert_eq!(choose(300.0 * day, 8), Step::Months(2));
        assert_eq!(choose(700.0 * day, 8), Step::Months(3));
        assert_eq!(choose(1e6 * day, 8), Step::Years(500));
    }

    #[test]
    fn odd_input() {
        assert_eq!(ticks(5, 4, 5).values, Vec::<i64>::new());
        let one = ticks(at("2024-03-01T12:00"), at("2024-03-01T12:00"), 5);
        assert_eq!(one.values.len(), 1);
        assert_eq!(one.labels, ["12:00"]);
        // Beyond the calendar: no ticks, no panic.
        assert!(ticks(i64::MAX - 10, i64::MAX, 5).values.is_empty());
        assert!(ticks(i64::MIN, i64::MAX, 5).values.len() <= MAX_TICKS + 1);
        let (labels, offset) = concise(&[]);
        assert!(labels.is_empty() && offset.is_empty());
    }
}
