//! One cell as a reader finds it, and what a cell means: missing (the `na`
//! list), a number (with `.` or `,` as the decimal mark), text; numbers
//! written back the short way.

use std::borrow::Cow;

/// One cell as a reader found it.
#[derive(Debug, Clone)]
pub(crate) enum Cell<'a> {
    /// No value: an absent JSON key or `null`.
    Missing,
    /// The bytes of a CSV/TSV field, as written.
    Bytes(&'a [u8]),
    /// A JSON number.
    Number(f64),
    /// A JSON string.
    Text(Cow<'a, str>),
    /// A JSON boolean, array or object, as compact JSON text: never a number.
    Other(String),
    /// An instant (a Parquet date or timestamp): microseconds since the Unix
    /// epoch, and how to write it.
    Time(i64, crate::table::TimeStyle),
}

impl Cell<'_> {
    /// The cell as text, as it would be written back to a CSV file.
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Missing => Cow::Borrowed(""),
            Cell::Bytes(b) => String::from_utf8_lossy(b),
            Cell::Number(n) => Cow::Owned(format_number(*n)),
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Other(s) => Cow::Borrowed(s),
            Cell::Time(micros, style) => Cow::Owned(style.format(*micros)),
        }
    }
}

/// Whether a (trimmed) cell is missing by the default list: empty, `NA`,
/// `N/A`, `n/a`, `NaN` in any case, `null`, `NULL`.
#[inline]
pub(crate) fn is_missing(cell: &[u8]) -> bool {
    matches!(cell, b"" | b"NA" | b"N/A" | b"n/a" | b"null" | b"NULL")
        || cell.eq_ignore_ascii_case(b"nan")
}

/// Exact powers of ten a double holds.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Plain decimals (`-12.375`) of at most 15 digits, the bulk of any data
/// file: the digits as an integer divided by an exact power of ten, which is
/// correctly rounded (Clinger's fast path). `None` for anything else.
pub(crate) fn parse_plain_decimal(cell: &[u8]) -> Option<f64> {
    let (negative, digits) = match cell.first()? {
        b'-' => (true, &cell[1..]),
        b'+' => (false, &cell[1..]),
        _ => (false, cell),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut decimals = 0usize;
    let mut point = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                // Wrapping: more than 19 digits overflow (a panic where
                // overflows are checked), and are turned away below anyway.
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                count += 1;
                if point {
                    decimals += 1;
                }
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    // At most 15 digits: exact as an `i64` and as an `f64` (one
    // instruction, where a `u64` takes several); an integer needs no
    // division (by 1, which changes nothing).
    let digits = mantissa as i64 as f64;
    let value = if decimals == 0 {
        digits
    } else {
        digits / POW10[decimals]
    };
    Some(if negative { -value } else { value })
}

/// Whether Rust's float parser could accept `cell`: it accepts only signs,
/// digits, `.`, `e`/`E`, or a sign and `inf`/`infinity`/`nan` in any case
/// (a `nan` is no number here anyway). A text cell (`ST-048`, `cable
/// dust`, `2024-03-01`) is turned away here, at its first letter or
/// second `-`, rather than by the full parser.
fn may_be_float(cell: &[u8]) -> bool {
    if cell
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return true;
    }
    let word = match cell.first() {
        Some(b'+' | b'-') => &cell[1..],
        _ => cell,
    };
    word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"infinity")
}

/// A cell as a number: `Some(NaN)` never happens (NaN is missing).
///
/// Inlined up to its first byte: a number (as Rust's float parser reads
/// it, `nan` aside) starts with a digit, a sign, a point or the `i` of
/// `inf`, so most text cells (`ST-048`, `cable dust`, `ok`) are turned
/// away here without a call.
#[inline(always)]
pub(crate) fn parse_number(cell: &[u8]) -> Option<f64> {
    match cell.first() {
        Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'i' | b'I') => parse_number_at_all(cell),
        _ => None,
    }
}

/// `parse_number` past its first byte.
fn parse_number_at_all(cell: &[u8]) -> Option<f64> {
    if let Some(value) = parse_plain_decimal(cell) {
        return Some(value);
    }
    if !may_be_float(cell) {
        return None;
    }
    let text = std::str::from_utf8(cell).ok()?;
    let value: f64 = text.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// Formats a number the short way: integers without a point, others with
/// the fewest digits that read back the same, exponents when very large or
/// small. No `-0`.
pub(crate) fn format_number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let value = value + 0.0; // -0.0 -> 0.0
    if value == value.trunc() && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    }
}

/// A cell as a number with `decimal` as the decimal mark (`b'.'` or
/// `b','`): with `,`, a cell with a `.` is not a number (`1.234,5` neither:
/// there is no thousands separator).
#[inline]
pub(crate) fn parse_number_with(cell: &[u8], decimal: u8) -> Option<f64> {
    if decimal == b'.' {
        return parse_number(cell);
    }
    if cell.contains(&b'.') {
        return None;
    }
    let mut buf = [0u8; 64];
    let text = buf.get_mut(..cell.len())?;
    text.copy_from_slice(cell);
    let mut commas = 0;
    for b in text.iter_mut() {
        if *b == decimal {
            *b = b'.';
            commas += 1;
        }
    }
    if commas > 1 {
        return None;
    }
    parse_number(text)
}

/// The cell's bytes without leading and trailing ASCII white space.
/// Inlined, with the usual case first: a cell that starts and ends with a
/// byte above the space (every ASCII white space byte is at or below it)
/// is returned as it is, after two comparisons.
#[inline(always)]
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) if first > b' ' && last > b' ' => bytes,
        _ => bytes.trim_ascii(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse_exactly_like_std() {
        let mut seed: u64 = 88172645463325252;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 15 + 1) as usize;
            let mut text: String = (0..digits)
                .map(|i| char::from(b'0' + ((seed >> (i * 4)) % 10) as u8))
                .collect();
            let point = (seed >> 60) as usize % (digits + 1);
            if point < digits {
                text.insert(point, '.');
            }
            if seed & 1 == 1 {
                text.insert(0, '-');
            }
            let std: f64 = text.parse().unwrap();
            assert_eq!(parse_number(text.as_bytes()), Some(std), "{text}");
        }
        for text in [
            "1e5",
            "0x10",
            ".5",
            "5.",
            "1.2.3",
            "-",
            "+3",
            "1234567890123456",
            "123456789012345678901234567890",
            "-0",
            "0.",
            "-.5",
        ] {
            assert_eq!(
                parse_number(text.as_bytes()),
                text.parse::<f64>().ok(),
                "{text}"
            );
        }
    }

    /// The check before the full parser turns away only what the full
    /// parser turns away too.
    #[test]
    fn the_float_pre_check_agrees_with_std() {
        let alphabet = b"0123456789+-.eEinfINFtyaTYAx ,";
        let mut seed: u64 = 2463534242;
        for _ in 0..300_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 9) as usize;
            let cell: Vec<u8> = (0..len)
                .map(|i| alphabet[(seed >> (i * 7 + 4)) as usize % alphabet.len()])
                .collect();
            let text = std::str::from_utf8(&cell).unwrap();
            let std = text.parse::<f64>().ok().filter(|v| !v.is_nan());
            assert_eq!(parse_number(&cell), std, "{text:?}");
        }
        for text in [
            "inf",
            "-Infinity",
            "+INF",
            "nan",
            "-NaN",
            "1e5",
            "1E-5",
            ".5e+3",
            "infinit",
            "e5",
            "ST-048",
            "2024-03-01",
            "1,5",
            "0x10",
            "١",
        ] {
            let std = text.parse::<f64>().ok().filter(|v| !v.is_nan());
            assert_eq!(parse_number(text.as_bytes()), std, "{text}");
        }
    }

    /// The column builder takes a number in a column of numbers without
    /// checking it against the default `na` list: no marker of that list
    /// is a number, with either decimal mark.
    #[test]
    fn no_default_missing_marker_is_a_number() {
        let mut markers: Vec<String> = ["", "NA", "N/A", "n/a", "null", "NULL"]
            .map(String::from)
            .to_vec();
        for case in 0..8u8 {
            let nan: String = "nan"
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case >> i & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            markers.push(nan);
        }
        for marker in &markers {
            assert!(is_missing(marker.as_bytes()), "{marker}");
            assert_eq!(parse_number_with(marker.as_bytes(), b'.'), None, "{marker}");
            assert_eq!(parse_number_with(marker.as_bytes(), b','), None, "{marker}");
        }
    }

    #[test]
    fn numbers_format_short() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(1.5e-7), "1.5e-7");
        assert_eq!(format_number(f64::NEG_INFINITY), "-inf");
    }

    /// The shortcut of `trim` is `trim_ascii`.
    #[test]
    fn trim_is_trim_ascii() {
        let bytes = [
            b' ', b'\t', b'\n', b'\r', 0x0b, 0x0c, 0, b'a', b'!', 0x80, 0xff, 0x1f,
        ];
        for a in bytes {
            for b in bytes {
                for c in bytes {
                    for cell in [&[a][..], &[a, b], &[a, b, c], &[]] {
                        assert_eq!(trim(cell), cell.trim_ascii(), "{cell:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn decimal_commas() {
        assert_eq!(parse_number_with(b"1,5", b','), Some(1.5));
        assert_eq!(parse_number_with(b"-2", b','), Some(-2.0));
        assert_eq!(parse_number_with(b"1.5", b','), None);
        assert_eq!(parse_number_with(b"1,2,3", b','), None);
        assert_eq!(parse_number_with(b"1.5", b'.'), Some(1.5));
    }
}
