//! Time columns: instants as i64 microseconds since the Unix epoch (UTC),
//! read from ISO 8601 cells (found automatically), from a strftime format or
//! from epoch numbers (`time_format`), and written back as ISO text in the
//! form the file used (date only or date and time, with its offset).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::strtime;
use jiff::fmt::temporal::{Pieces, PiecesOffset};
use jiff::tz::Offset;
use std::collections::HashMap;

use super::options::OptionError;

/// The marker of a missing instant in `Times::micros` (as pandas' `NaT`).
pub(crate) const MISSING_TIME: i64 = i64::MIN;

/// How a time cell is read (`time_format`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TimeFormat {
    /// ISO 8601 / RFC 3339: `2024-03-01`, `2024-03-01T12:30`,
    /// `2024-03-01 12:30:00.25+01:00`, `...Z`.
    Iso,
    /// A strftime pattern (`%d/%m/%Y %H:%M`), as jiff reads it.
    Strftime(String),
    /// Seconds since the Unix epoch (fractions allowed).
    UnixSeconds,
    /// Milliseconds since the Unix epoch.
    UnixMillis,
}

impl TimeFormat {
    /// Reads `time_format = "..."`: `unix_s`, `unix_ms`, `iso`, or a strftime
    /// pattern (which must contain a `%` directive).
    pub(crate) fn from_option(text: &str) -> Result<TimeFormat, OptionError> {
        match text {
            "unix_s" => Ok(TimeFormat::UnixSeconds),
            "unix_ms" => Ok(TimeFormat::UnixMillis),
            "iso" => Ok(TimeFormat::Iso),
            _ if text.contains('%') => {
                // A pattern jiff cannot use fails here, not on every cell.
                strtime::format(text, Timestamp::UNIX_EPOCH)
                    .map(|_| TimeFormat::Strftime(text.to_owned()))
                    .map_err(|source| OptionError::TimePattern {
                        text: text.to_owned(),
                        source,
                    })
            }
            _ => Err(OptionError::TimeFormat {
                text: text.to_owned(),
            }),
        }
    }
}

impl TimeFormat {
    /// The format as `time_format` writes it.
    pub(crate) fn name(&self) -> String {
        match self {
            TimeFormat::Iso => "iso".to_owned(),
            TimeFormat::Strftime(pattern) => pattern.clone(),
            TimeFormat::UnixSeconds => "unix_s".to_owned(),
            TimeFormat::UnixMillis => "unix_ms".to_owned(),
        }
    }
}

/// The offset a time column's cells were written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimeOffset {
    /// No offset (civil time, or a date): stored as if it were UTC and
    /// written back without an offset.
    Civil,
    /// Every cell had this same offset (`Z` when written so): written back
    /// in it.
    Fixed {
        /// Seconds east of UTC.
        seconds: i32,
        /// Written as `Z` rather than `+00:00`.
        zulu: bool,
    },
    /// Cells had different offsets: written back in UTC, with `Z`.
    Mixed,
}

/// How a time column's instants are written back as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimeStyle {
    /// Every cell was a date without a time of day (`2024-03-01`).
    pub(crate) date_only: bool,
    /// The offset they were written with.
    pub(crate) offset: TimeOffset,
}

impl TimeStyle {
    /// Dates, no offset.
    pub(crate) const DATE: TimeStyle = TimeStyle {
        date_only: true,
        offset: TimeOffset::Civil,
    };
    /// Civil date-times, no offset.
    pub(crate) const CIVIL: TimeStyle = TimeStyle {
        date_only: false,
        offset: TimeOffset::Civil,
    };
    /// Instants in UTC, written with `Z`.
    pub(crate) const UTC: TimeStyle = TimeStyle {
        date_only: false,
        offset: TimeOffset::Fixed {
            seconds: 0,
            zulu: true,
        },
    };

    /// The style of a column with both `self`'s cells and `cell`'s; `None`
    /// when one has an offset and the other not (not one kind of time).
    pub(crate) fn merge(self, cell: TimeStyle) -> Option<TimeStyle> {
        let offset = match (self.offset, cell.offset) {
            (TimeOffset::Civil, TimeOffset::Civil) => TimeOffset::Civil,
            (TimeOffset::Civil, _) | (_, TimeOffset::Civil) => return None,
            (a, b) if a == b => a,
            _ => TimeOffset::Mixed,
        };
        Some(TimeStyle {
            date_only: self.date_only && cell.date_only,
            offset,
        })
    }

    /// An instant as ISO 8601 text in this style: `2024-03-01`,
    /// `2024-03-01T12:30:00`, `2024-03-01T12:30:00.25+01:00`, `...Z`.
    pub(crate) fn format(&self, micros: i64) -> String {
        let Ok(ts) = Timestamp::from_microsecond(micros) else {
            return String::new();
        };
        let (offset, suffix) = match self.offset {
            TimeOffset::Civil => (Offset::UTC, None),
            TimeOffset::Fixed { zulu: true, .. } | TimeOffset::Mixed => {
                (Offset::UTC, Some("Z".to_owned()))
            }
            TimeOffset::Fixed { seconds, .. } => {
                let offset = Offset::from_seconds(seconds).unwrap_or(Offset::UTC);
                (offset, Some(offset_text(seconds)))
            }
        };
        let civil = offset.to_datetime(ts);
        if self.date_only && civil.time() == jiff::civil::Time::midnight() {
            return civil.date().to_string();
        }
        // Seconds always; a fraction only when there is one.
        let mut text = civil.strftime("%Y-%m-%dT%H:%M:%S%.f").to_string();
        if let Some(suffix) = suffix {
            text.push_str(&suffix);
        }
        text
    }
}

/// An offset as ISO text: `+01:00`, `-03:30`, `+05:45:30`.
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{sec:02}")
    }
}

/// Whether a cell looks like the start of an ISO date (`dddd-dd-dd`): a
/// cheap test before the real parse, so text columns cost little.
fn looks_iso(cell: &[u8]) -> bool {
    cell.len() >= 10
        && cell[..4].iter().all(u8::is_ascii_digit)
        && cell[4] == b'-'
        && cell[5..7].iter().all(u8::is_ascii_digit)
        && cell[7] == b'-'
        && cell[8..10].iter().all(u8::is_ascii_digit)
}

/// An ISO 8601 cell (trimmed) as microseconds and its style; `None` when it
/// is not one (including time zone annotations such as `[Europe/Paris]`,
/// which would need a time zone database).
pub(crate) fn parse_iso(cell: &[u8]) -> Option<(i64, TimeStyle)> {
    if !looks_iso(cell) {
        return None;
    }
    let pieces = Pieces::parse(cell).ok()?;
    if pieces.time_zone_annotation().is_some() {
        return None;
    }
    from_parts(pieces.date(), pieces.time(), pieces.offset())
}

/// The instant and style of a cell jiff read as `date`, a time of day (none
/// for a date) and an offset.
fn from_parts(
    date: Date,
    time: Option<Time>,
    offset: Option<PiecesOffset>,
) -> Option<(i64, TimeStyle)> {
    let date_only = time.is_none();
    let civil = date.to_datetime(time.unwrap_or_default());
    let (offset, style) = match offset {
        None => (Offset::UTC, TimeOffset::Civil),
        Some(PiecesOffset::Zulu) => (
            Offset::UTC,
            TimeOffset::Fixed {
                seconds: 0,
                zulu: true,
            },
        ),
        Some(numeric) => {
            let offset = numeric.to_numeric_offset();
            (
                offset,
                TimeOffset::Fixed {
                    seconds: offset.seconds(),
                    zulu: false,
                },
            )
        }
    };
    let micros = offset.to_timestamp(civil).ok()?.as_microsecond();
    Some((
        micros,
        TimeStyle {
            date_only: date_only && style == TimeOffset::Civil,
            offset: style,
        },
    ))
}

/// What follows the date in an ISO cell (`T12:30:00Z`, ` 00:10`), as jiff
/// reads it: the time of day and the offset; `None` when jiff refuses it.
type AfterDate = Option<(Option<Time>, Option<PiecesOffset>)>;

/// Distinct "after the date" parts remembered per column; past it, the
/// memo starts again (memory stays small whatever the column holds).
const MAX_AFTER_DATES: usize = 4096;

/// Reads a column's ISO 8601 cells as `parse_iso` does, with jiff still
/// doing every parse, but once per distinct part: a column of time stamps
/// repeats its dates (the rows of one day) and its times of day (every
/// day), so the date of the last cell and the parts after the date are
/// remembered. The date (`dddd-dd-dd`, which `looks_iso` checked) and what
/// follows it are read apart: the second after a fixed date, which jiff
/// reads exactly as after any other (ISO's grammar after the date does not
/// depend on the date), and the instant is made from the parts as
/// `parse_iso` makes it (issue 11, reading speed).
#[derive(Default)]
pub(crate) struct IsoCells {
    /// The last cell's date bytes and jiff's reading of them.
    date: Option<([u8; 10], Option<KnownDate>)>,
    /// Parts after the date, by their bytes.
    after: HashMap<Box<[u8]>, KnownAfter, rustc_hash::FxBuildHasher>,
    /// The instants that short parts after the date give on 1970-01-01,
    /// found in one load and compare (the map above costs a hash and a
    /// `memcmp` call per cell): `RECENT_SLOTS` slots, made on first use.
    recent: Vec<RecentAfter>,
}

/// Slots of `IsoCells::recent`: a column's times of day (144 at 10-minute
/// steps) mostly land in slots of their own.
const RECENT_SLOTS: usize = 1024;

/// A short part after the date (at most 16 bytes: ` 00:10`,
/// `T12:30:00Z`) and the instant and style it gives on 1970-01-01.
#[derive(Clone, Copy, Default)]
struct RecentAfter {
    /// The part, as `ShortKey` packs it; `len` 0: an empty slot.
    key: ShortKey,
    on_epoch_day: (i64, Option<TimeStyle>),
}

/// Up to 16 bytes as two words and a length: the first 8 bytes and the
/// last 8 (overlapping when fewer than 16), 4 and 4 from 4 bytes on, and
/// byte by byte below; with the length, the bytes are known exactly.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct ShortKey {
    head: u64,
    tail: u64,
    len: usize,
}

impl ShortKey {
    #[inline(always)]
    fn of(bytes: &[u8]) -> Option<ShortKey> {
        let len = bytes.len();
        let word = |at: usize| -> u64 {
            match bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
                Some(w) => u64::from_le_bytes(*w),
                None => 0,
            }
        };
        let half = |at: usize| -> u64 {
            match bytes.get(at..).and_then(<[u8]>::first_chunk::<4>) {
                Some(w) => u64::from(u32::from_le_bytes(*w)),
                None => 0,
            }
        };
        let (head, tail) = match len {
            17.. => return None,
            8.. => (word(0), word(len - 8)),
            4.. => (half(0), half(len - 4)),
            _ => (bytes.iter().fold(0, |k, &b| k << 8 | u64::from(b)), 0),
        };
        Some(ShortKey { head, tail, len })
    }

    /// Its slot among `RECENT_SLOTS`.
    #[inline(always)]
    fn slot(&self) -> usize {
        let mixed = (self.head ^ self.tail.rotate_left(29) ^ self.len as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 54) as usize & (RECENT_SLOTS - 1)
    }
}

/// A date as jiff read it, and its midnight (UTC) in microseconds when an
/// instant on it with any offset is in range (years 1 to 9998).
#[derive(Clone, Copy)]
struct KnownDate {
    date: Date,
    midnight: Option<i64>,
}

/// What follows a date as jiff read it, and, when it has no fraction
/// finer than a microsecond, the instant and style it gives on 1970-01-01
/// (what it adds to any date's midnight, offset included).
#[derive(Clone, Copy)]
struct KnownAfter {
    parts: AfterDate,
    on_epoch_day: Option<(i64, TimeStyle)>,
}

impl KnownDate {
    fn of(date: Date) -> KnownDate {
        let midnight = (1..=9998)
            .contains(&date.year())
            .then(|| from_parts(date, None, None))
            .flatten()
            .map(|(micros, _)| micros);
        KnownDate { date, midnight }
    }
}

impl KnownAfter {
    fn of(parts: AfterDate) -> KnownAfter {
        let on_epoch_day = parts.and_then(|(time, offset)| {
            if time.is_some_and(|t| t.subsec_nanosecond() % 1000 != 0) {
                return None;
            }
            from_parts(Date::constant(1970, 1, 1), time, offset)
        });
        KnownAfter {
            parts,
            on_epoch_day,
        }
    }
}

impl IsoCells {
    /// The cell (trimmed) as `parse_iso` reads it.
    pub(crate) fn parse(&mut self, cell: &[u8]) -> Option<(i64, TimeStyle)> {
        if !looks_iso(cell) {
            return None;
        }
        let (date_bytes, after) = cell.split_first_chunk::<10>()?;
        let date = match &self.date {
            // Compared as an array: in place, no call.
            Some((bytes, date)) if bytes == date_bytes => *date,
            _ => {
                let date = Pieces::parse(date_bytes)
                    .ok()
                    .map(|p| KnownDate::of(p.date()));
                self.date = Some((*date_bytes, date));
                date
            }
        };
        let date = date?;
        if after.is_empty() {
            return match date.midnight {
                Some(midnight) => Some((midnight, TimeStyle::DATE)),
                None => from_parts(date.date, None, None),
            };
        }
        // The bulk of a column: a date in range and a time of whole
        // microseconds: its midnight plus what the time adds (the same
        // integers jiff's conversion gives: a fixed offset is a shift).
        let key = ShortKey::of(after);
        if let (Some(midnight), Some(key)) = (date.midnight, key)
            && let Some(recent) = self.recent.get(key.slot())
            && recent.key == key
            && let (shift, Some(style)) = recent.on_epoch_day
        {
            return Some((midnight + shift, style));
        }
        let after = self.after(after);
        if let Some(key) = key
            && let Some((shift, style)) = after.on_epoch_day
        {
            if self.recent.is_empty() {
                self.recent = vec![RecentAfter::default(); RECENT_SLOTS];
            }
            self.recent[key.slot()] = RecentAfter {
                key,
                on_epoch_day: (shift, Some(style)),
            };
        }
        if let (Some(midnight), Some((shift, style))) = (date.midnight, after.on_epoch_day) {
            return Some((midnight + shift, style));
        }
        let (time, offset) = after.parts?;
        from_parts(date.date, time, offset)
    }

    /// What follows a date, read by jiff after a fixed date once per
    /// distinct text.
    fn after(&mut self, after: &[u8]) -> KnownAfter {
        if let Some(known) = self.after.get(after) {
            return *known;
        }
        let mut cell = Vec::with_capacity(10 + after.len());
        cell.extend_from_slice(b"1970-01-01");
        cell.extend_from_slice(after);
        let parsed = Pieces::parse(&cell)
            .ok()
            .filter(|p| p.time_zone_annotation().is_none())
            .map(|p| (p.time(), p.offset()));
        if self.after.len() >= MAX_AFTER_DATES {
            self.after.clear();
        }
        let known = KnownAfter::of(parsed);
        self.after.insert(after.into(), known);
        known
    }
}

/// A cell (trimmed) read with `format`; `None` when it does not fit.
/// `number` is the cell as a number, if it is one (for the epoch formats).
pub(crate) fn parse_with(
    cell: &[u8],
    format: &TimeFormat,
    number: Option<f64>,
) -> Option<(i64, TimeStyle)> {
    match format {
        TimeFormat::Iso => parse_iso(cell),
        TimeFormat::UnixSeconds => epoch(number? * 1e6),
        TimeFormat::UnixMillis => epoch(number? * 1e3),
        TimeFormat::Strftime(pattern) => {
            let text = std::str::from_utf8(cell).ok()?;
            let parsed = strtime::parse(pattern, text).ok()?;
            if parsed.offset().is_some() {
                let ts = parsed.to_timestamp().ok()?;
                let seconds = parsed.offset()?.seconds();
                let style = TimeStyle {
                    date_only: false,
                    offset: TimeOffset::Fixed {
                        seconds,
                        zulu: false,
                    },
                };
                return Some((ts.as_microsecond(), style));
            }
            let has_time = parsed.hour().is_some();
            let civil: DateTime = if has_time {
                parsed.to_datetime().ok()?
            } else {
                let date: Date = parsed.to_date().ok()?;
                date.to_datetime(jiff::civil::Time::midnight())
            };
            let micros = Offset::UTC.to_timestamp(civil).ok()?.as_microsecond();
            let style = if has_time {
                TimeStyle::CIVIL
            } else {
                TimeStyle::DATE
            };
            Some((micros, style))
        }
    }
}

/// Epoch microseconds from a float, when finite and within jiff's range.
fn epoch(micros: f64) -> Option<(i64, TimeStyle)> {
    if !micros.is_finite() {
        return None;
    }
    let micros = micros.round();
    let ts = Timestamp::from_microsecond(micros as i64).ok()?;
    Some((ts.as_microsecond(), TimeStyle::UTC))
}

/// A duration in microseconds as friendly text: `1096d 4h 30m`, `2h 5m 3s`,
/// `0.25s` (days of 24 hours).
pub(crate) fn format_span(micros: i64) -> String {
    let negative = micros < 0;
    let mut rest = micros.unsigned_abs();
    const SECOND: u64 = 1_000_000;
    let parts = [
        ("d", 86_400 * SECOND),
        ("h", 3_600 * SECOND),
        ("m", 60 * SECOND),
    ];
    let mut out: Vec<String> = Vec::new();
    for (unit, size) in parts {
        if rest >= size {
            out.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if rest > 0 || out.is_empty() {
        let seconds = rest as f64 / SECOND as f64;
        out.push(format!("{}s", crate::table::format_number(seconds)));
    }
    let text = out.join(" ");
    if negative { format!("-{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> Option<(i64, TimeStyle)> {
        parse_iso(text.as_bytes())
    }

    #[test]
    fn every_iso_form_is_a_time() {
        let day = 1_709_251_200_000_000; // 2024-03-01T00:00:00Z
        let half_past = day + (12 * 3600 + 30 * 60) * 1_000_000;
        let cases = [
            ("2024-03-01", day, TimeStyle::DATE, "2024-03-01"),
            (
                "2024-03-01T12:30",
                half_past,
                TimeStyle::CIVIL,
                "2024-03-01T12:30:00",
            ),
            (
                "2024-03-01T12:30:00",
                half_past,
                TimeStyle::CIVIL,
                "2024-03-01T12:30:00",
            ),
            (
                "2024-03-01 12:30:00",
                half_past,
                TimeStyle::CIVIL,
                "2024-03-01T12:30:00",
            ),
            (
                "2024-03-01 12:30",
                half_past,
                TimeStyle::CIVIL,
                "2024-03-01T12:30:00",
            ),
            (
                "2024-03-01T12:30:00.250",
                half_past + 250_000,
                TimeStyle::CIVIL,
                "2024-03-01T12:30:00.25",
            ),
            (
                "2024-03-01T12:30:00Z",
                half_past,
                TimeStyle::UTC,
                "2024-03-01T12:30:00Z",
            ),
            (
                "2024-03-01T13:30:00+01:00",
                half_past,
                TimeStyle {
                    date_only: false,
                    offset: TimeOffset::Fixed {
                        seconds: 3600,
                        zulu: false,
                    },
                },
                "2024-03-01T13:30:00+01:00",
            ),
        ];
        for (text, micros, style, back) in cases {
            let (m, s) = iso(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((m, s), (micros, style), "{text}");
            assert_eq!(s.format(m), back, "{text}");
        }
        for text in [
            "2024",
            "2024-03",
            "2024-13-01",
            "2024-03-01x",
            "01/03/2024",
            "2014Q1",
            "2024-03-01T12:30:00[Europe/Paris]",
        ] {
            assert_eq!(iso(text), None, "{text}");
        }
    }

    /// The memo reads every cell as `parse_iso` does: dates valid and
    /// not (leap days, month 13, day 00), every separator, times with and
    /// without seconds and fractions, offsets, `Z`, annotations and
    /// trailing garbage, in runs that repeat (the memo's hits) and not.
    #[test]
    fn remembered_parts_read_as_the_whole_cell() {
        let dates = [
            "2024-03-01",
            "0001-01-01",
            "9998-12-31",
            "1900-01-01",
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "0000-01-01",
            "9999-12-31",
            "1969-12-31",
            "2024-03-00",
        ];
        let afters = [
            "",
            "T12:30",
            "t12:30",
            " 12:30",
            "T12",
            "T1230",
            "T12:30:00",
            "T12:30:60",
            "T24:00",
            "T23:59:59.999999999",
            "T00:00:00.0000005-01:00",
            "T00:00:00.000001+14:00",
            "T23:59:59.123456-12:00",
            " 00:10:05,5",
            "T12:30:00.25Z",
            "T12:30z",
            "T12:30+01:00",
            "T00:00-05:30",
            "T23:30+14:00",
            "T00:30-12:00",
            "T12:30:00+0100",
            "T12:30:00+01",
            "T12:30[Europe/Paris]",
            "T12:30Z[UTC]",
            "Z",
            "+01:00",
            "x",
            " ",
            "T",
            "T12:30 ",
            "12:30",
            "-05:00",
            "T12:30:00.",
        ];
        let mut cells: Vec<String> = Vec::new();
        for date in dates {
            for after in afters {
                cells.push(format!("{date}{after}"));
            }
        }
        // The same cells again in another order: dates that change every
        // cell, and a memo already full of parts.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            seed = crate::test_rng::xorshift(seed);
            let date = dates[(seed % dates.len() as u64) as usize];
            let after = afters[((seed >> 20) % afters.len() as u64) as usize];
            cells.push(format!("{date}{after}"));
        }
        cells.extend(["2024", "2024-03", "01/03/2024", "2024-3-01T00:00", ""].map(String::from));
        let mut memo = IsoCells::default();
        let mut times = 0;
        for cell in &cells {
            let expected = parse_iso(cell.as_bytes());
            times += usize::from(expected.is_some());
            assert_eq!(memo.parse(cell.as_bytes()), expected, "{cell:?}");
        }
        assert!(times > 3_000, "{times} of {} cells are times", cells.len());
        // A full memo starts again and still reads right.
        let mut memo = IsoCells::default();
        for minute in 0..(MAX_AFTER_DATES + 100) {
            let cell = format!(
                "2024-03-01T{:02}:{:02}:{:02}",
                minute / 3600 % 24,
                minute / 60 % 60,
                minute % 60
            );
            assert_eq!(
                memo.parse(cell.as_bytes()),
                parse_iso(cell.as_bytes()),
                "{cell}"
            );
        }
        assert!(memo.after.len() <= MAX_AFTER_DATES);
    }

    /// The slots of recent parts after the date give what jiff gives,
    /// when parts share a slot and take it from each other: every second
    /// of a day in two forms (far more parts than slots), on dates that
    /// change every day, read twice in different orders.
    #[test]
    fn recent_parts_after_the_date_read_as_jiff_reads_them() {
        let mut cells = Vec::new();
        for day in 1..=3 {
            for second in (0..86_400).step_by(7) {
                let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
                cells.push(format!("2024-03-{day:02} {h:02}:{m:02}"));
                cells.push(format!("2024-03-{day:02}T{h:02}:{m:02}:{s:02}Z"));
                cells.push(format!("2024-03-{day:02}T{h:02}:{m:02}:{s:02}.5+01:00"));
            }
        }
        let mut memo = IsoCells::default();
        for cell in cells.iter().chain(cells.iter().rev()) {
            assert_eq!(
                memo.parse(cell.as_bytes()),
                parse_iso(cell.as_bytes()),
                "{cell}"
            );
        }
        assert_eq!(memo.recent.len(), RECENT_SLOTS);
    }

    /// Two different parts never share a key: every string of up to 11
    /// bytes of two letters (and a NUL), and parts of every length to 17.
    #[test]
    fn short_keys_tell_every_part_apart() {
        let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=11 {
            for bits in 0..(1u32 << len) {
                parts.push(
                    (0..len)
                        .map(|i| [b'0', 0][(bits >> i) as usize & 1])
                        .collect(),
                );
            }
        }
        for len in 0..=17 {
            parts.push(b"T12:30:00.123456Z".iter().copied().take(len).collect());
        }
        parts.sort();
        parts.dedup();
        let keys: std::collections::HashSet<(u64, u64, usize)> = parts
            .iter()
            .filter_map(|p| ShortKey::of(p).map(|k| (k.head, k.tail, k.len)))
            .collect();
        assert_eq!(keys.len(), parts.len() - 1, "only the 17 bytes have no key");
    }

    #[test]
    fn styles_merge() {
        let plus1 = TimeStyle {
            date_only: false,
            offset: TimeOffset::Fixed {
                seconds: 3600,
                zulu: false,
            },
        };
        assert_eq!(
            TimeStyle::DATE.merge(TimeStyle::CIVIL),
            Some(TimeStyle::CIVIL)
        );
        assert_eq!(TimeStyle::CIVIL.merge(TimeStyle::UTC), None);
        assert_eq!(
            TimeStyle::UTC.merge(plus1).map(|s| s.offset),
            Some(TimeOffset::Mixed)
        );
        assert_eq!(plus1.merge(plus1), Some(plus1));
        let mixed = TimeStyle::UTC.merge(plus1).unwrap();
        assert_eq!(mixed.format(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn formats() {
        let f = |s: &str| TimeFormat::from_option(s).unwrap();
        let (m, style) = parse_with(b"01/03/2024", &f("%d/%m/%Y"), None).unwrap();
        assert_eq!(style.format(m), "2024-03-01");
        let (m, style) = parse_with(b"01/03/2024 07:05", &f("%d/%m/%Y %H:%M"), None).unwrap();
        assert_eq!(style.format(m), "2024-03-01T07:05:00");
        assert_eq!(parse_with(b"2024-03-01", &f("%d/%m/%Y"), None), None);
        let (m, style) = parse_with(b"1.5", &f("unix_s"), Some(1.5)).unwrap();
        assert_eq!(
            (m, style.format(m).as_str()),
            (1_500_000, "1970-01-01T00:00:01.5Z")
        );
        let (m, _) = parse_with(b"1500", &f("unix_ms"), Some(1500.0)).unwrap();
        assert_eq!(m, 1_500_000);
        assert_eq!(parse_with(b"x", &f("unix_ms"), None), None);
        assert_eq!(parse_with(b"1e300", &f("unix_s"), Some(1e300)), None);
        assert!(TimeFormat::from_option("dd/mm/yyyy").is_err());
        assert!(TimeFormat::from_option("%Y-%").is_err());
    }

    #[test]
    fn spans() {
        assert_eq!(format_span(0), "0s");
        assert_eq!(format_span(250_000), "0.25s");
        assert_eq!(format_span(3_661_000_000), "1h 1m 1s");
        assert_eq!(
            format_span((1096 * 86_400 + 4 * 3600) * 1_000_000),
            "1096d 4h"
        );
    }
}
