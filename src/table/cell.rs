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
///
/// Inlined up to the first byte: every marker but the empty one starts
/// with `N` or `n`, so most cells (`ok`, `4`, `fail`) are told apart there.
#[inline(always)]
pub(crate) fn is_missing(cell: &[u8]) -> bool {
    match cell.first() {
        None => true,
        Some(b'N' | b'n') => is_missing_marker(cell),
        Some(_) => false,
    }
}

/// `is_missing` past the first byte.
fn is_missing_marker(cell: &[u8]) -> bool {
    matches!(cell, b"NA" | b"N/A" | b"n/a" | b"null" | b"NULL") || cell.eq_ignore_ascii_case(b"nan")
}

/// Exact powers of ten a double holds.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Plain decimals (`-12.375`) of at most 15 digits, the bulk of any data
/// file: the digits as an integer divided by an exact power of ten, which is
/// correctly rounded (Clinger's fast path). `None` for anything else.
///
/// The loop walks the bytes by their slice alone (no index beside it) and
/// keeps how many bytes follow the point, the decimals, rather than
/// whether there was one; the digits are found from it afterwards, not
/// counted byte by byte.
#[inline(always)]
pub(crate) fn parse_plain_decimal(cell: &[u8]) -> Option<f64> {
    let (negative, digits) = match cell.first()? {
        b'-' => (true, &cell[1..]),
        b'+' => (false, &cell[1..]),
        _ => (false, cell),
    };
    let mut mantissa: u64 = 0;
    // Bytes after the point; `usize::MAX` while there is none.
    let mut decimals = usize::MAX;
    let mut rest = digits;
    while let [b, tail @ ..] = rest {
        let digit = b.wrapping_sub(b'0');
        if digit < 10 {
            // Wrapping: more than 19 digits overflow (a panic where
            // overflows are checked), and are turned away below anyway.
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        } else if *b == b'.' && decimals == usize::MAX {
            decimals = tail.len();
        } else {
            return None;
        }
        rest = tail;
    }
    let (count, decimals) = match decimals {
        usize::MAX => (digits.len(), 0),
        after => (digits.len() - 1, after),
    };
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

/// A cell as a number (`parse_number_noting`'s), for the tests.
#[cfg(test)]
pub(crate) fn parse_number(cell: &[u8]) -> Option<f64> {
    parse_number_noting(cell).map(|(value, _)| value)
}

/// A cell as a number: `Some(NaN)` never happens (NaN is missing); with
/// whether the cell was a plain decimal (`-12`, `0.5`: at most 15 digits,
/// no exponent, no `inf`), which is never shorter than its value's
/// shortest text: a column of numbers that turns text late writes the
/// text of its first rows from its numbers when each cell was that text
/// (column.rs, `Written`).
///
/// Inlined up to its first byte: a number (as Rust's float parser reads
/// it, `nan` aside) starts with a digit, a sign, a point or the `i` of
/// `inf`, so most text cells (`ST-048`, `cable dust`, `ok`) are turned
/// away here without a call.
#[inline(always)]
pub(crate) fn parse_number_noting(cell: &[u8]) -> Option<(f64, bool)> {
    match cell.first() {
        Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'i' | b'I') => parse_number_at_all(cell),
        _ => None,
    }
}

/// `parse_number_noting` past its first byte: a plain decimal, or else whatever
/// Rust's float parser reads.
///
/// The full parser is out of line (`parse_float`): inlined, its saved
/// registers and stack buffer made this function's frame, set up and torn
/// down for every plain decimal too. The plain decimal is inlined into the
/// loops over a column's cells: a call per number (its result returned
/// through memory) cost 1.5% of the realworld bench job's CPU.
#[inline(always)]
fn parse_number_at_all(cell: &[u8]) -> Option<(f64, bool)> {
    match parse_plain_decimal(cell) {
        Some(value) => Some((value, true)),
        None => parse_float(cell).map(|value| (value, false)),
    }
}

/// A cell that is no plain decimal (`1e5`, `-inf`, `5+`) as Rust's float
/// parser reads it; `None` for NaN.
#[cold]
#[inline(never)]
fn parse_float(cell: &[u8]) -> Option<f64> {
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
    parse_number_with_noting(cell, decimal).map(|(value, _)| value)
}

/// `parse_number_with`, with whether the cell was a plain decimal (as
/// `parse_number_noting`).
#[inline(always)]
pub(crate) fn parse_number_with_noting(cell: &[u8], decimal: u8) -> Option<(f64, bool)> {
    if decimal == b'.' {
        return parse_number_noting(cell);
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
    parse_number_noting(text)
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

    /// `parse_plain_decimal` as it was before it kept the point's place (it
    /// counted digits and decimals byte by byte), kept as it was: the
    /// reference of the differential tests below, which any faster way to
    /// read plain decimals must pass.
    fn old_parse_plain_decimal(cell: &[u8]) -> Option<f64> {
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
        let digits = mantissa as i64 as f64;
        let value = if decimals == 0 {
            digits
        } else {
            digits / POW10[decimals]
        };
        Some(if negative { -value } else { value })
    }

    /// `parse_number` as it was then (its full parser inline).
    fn old_parse_number(cell: &[u8]) -> Option<f64> {
        if !matches!(
            cell.first(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'i' | b'I')
        ) {
            return None;
        }
        if let Some(value) = old_parse_plain_decimal(cell) {
            return Some(value);
        }
        if !may_be_float(cell) {
            return None;
        }
        let value: f64 = std::str::from_utf8(cell).ok()?.parse().ok()?;
        (!value.is_nan()).then_some(value)
    }

    /// `cell` reads as before, bit for bit, both as a plain decimal and as
    /// a number, and as Rust's float parser reads it (NaN aside).
    fn reads_as_before(cell: &[u8]) {
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        let what = String::from_utf8_lossy(cell);
        let plain = bits(parse_plain_decimal(cell));
        assert_eq!(plain, bits(old_parse_plain_decimal(cell)), "{what:?}");
        let number = bits(parse_number(cell));
        assert_eq!(number, bits(old_parse_number(cell)), "{what:?}");
        let std = std::str::from_utf8(cell)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|v| !v.is_nan());
        assert_eq!(number, bits(std), "{what:?}");
    }

    /// Every cell of up to 4 bytes over the bytes of numbers and words
    /// like them, and of up to 3 bytes with a space, a byte from 0x80 up.
    #[test]
    fn every_short_cell_reads_as_before() {
        let mut count = 0;
        for (alphabet, longest) in [
            (&b"0123456789.-+eEinax"[..], 4),
            (&b"09.-+e \x80\xb0\xb9\xff\x00/:"[..], 3),
        ] {
            let mut cells: Vec<Vec<u8>> = vec![Vec::new()];
            let mut last: Vec<Vec<u8>> = vec![Vec::new()];
            for _ in 0..longest {
                last = last
                    .iter()
                    .flat_map(|c| alphabet.iter().map(move |&b| [c.as_slice(), &[b]].concat()))
                    .collect();
                cells.extend(last.iter().cloned());
            }
            for cell in &cells {
                reads_as_before(cell);
            }
            count += cells.len();
        }
        assert!(count > 140_000, "{count}");
    }

    /// Numbers of 1 to 17 digits (all `0`s, all `9`s, a `1` and `0`s,
    /// others), with a point at every place or none, with and without a
    /// sign: around the 15 digits read exactly.
    #[test]
    fn numbers_of_every_length_read_as_before() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for length in 1..=17usize {
            let mut patterns: Vec<Vec<u8>> = vec![
                vec![b'0'; length],
                vec![b'9'; length],
                [&b"1"[..], &vec![b'0'; length - 1]].concat(),
                [&vec![b'0'; length - 1][..], b"1"].concat(),
            ];
            for _ in 0..24 {
                seed = crate::test_rng::xorshift(seed);
                patterns.push(
                    (0..length)
                        .map(|i| b'0' + (seed >> (i * 3 % 61) & 0xff) as u8 % 10)
                        .collect(),
                );
            }
            for digits in &patterns {
                for point in 0..=length + 1 {
                    let mut cell = digits.clone();
                    if point <= length {
                        cell.insert(point, b'.');
                    }
                    for sign in [&b""[..], b"-", b"+"] {
                        reads_as_before(&[sign, &cell].concat());
                    }
                }
            }
        }
    }

    /// Random cells, mostly of digits and points, some with signs,
    /// exponents, spaces, letters, bytes from 0x80 up.
    #[test]
    fn random_cells_read_as_before() {
        let alphabet = b"0123456789012345678901234567890123456789....--+eE x\x80\xc3\xff";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed = crate::test_rng::xorshift(seed);
            seed
        };
        for _ in 0..150_000 {
            let length = (next() % 21) as usize;
            let cell: Vec<u8> = (0..length)
                .map(|_| alphabet[(next() >> 40) as usize % alphabet.len()])
                .collect();
            reads_as_before(&cell);
        }
    }

    #[test]
    fn odd_numbers_read_as_before() {
        for cell in [
            "",
            "-",
            "+",
            ".",
            "-.",
            "+.",
            "..",
            ".5",
            "5.",
            "-.5",
            "+5.",
            "-0",
            "+0",
            "-0.0",
            "0.",
            "-0.",
            "00",
            "007",
            "-007.50",
            "0000000",
            "00000000",
            "000000000",
            "0.000000",
            "0.0000001",
            ".0000001",
            ".00000001",
            "1.2.3",
            "1..2",
            "12345678.",
            ".12345678",
            "-12345678",
            "123456789012345",
            "1234567890123456",
            "1234567890123456789",
            "12345678901234567890",
            "9007199254740993",
            "0.1234567890123456",
            "1e5",
            "5+",
            "<5",
            "4",
            "T",
            "?",
            "١",
            "1\u{a0}",
            "inf",
            "-inf",
            "nan",
        ] {
            reads_as_before(cell.as_bytes());
        }
        for cell in [
            &b"\xb0"[..],
            b"\xb1.5",
            b"1\x80",
            b"-\xb9",
            b"\xae5",
            b"5\xae",
        ] {
            reads_as_before(cell);
        }
    }

    #[test]
    fn plain_decimals_parse_exactly_like_std() {
        let mut seed: u64 = 88172645463325252;
        for _ in 0..200_000 {
            seed = crate::test_rng::xorshift(seed);
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
            seed = crate::test_rng::xorshift(seed);
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

    /// The first-byte shortcut of `is_missing` is the list itself.
    #[test]
    fn missing_is_the_default_list() {
        let list = |c: &[u8]| {
            [&b""[..], b"NA", b"N/A", b"n/a", b"null", b"NULL"].contains(&c)
                || String::from_utf8_lossy(c).to_lowercase() == "nan"
        };
        let alphabet = b"NnAa/lLuUx0 ";
        let mut cells: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = cells
                .iter()
                .filter(|c| c.len() == cells.last().map_or(0, Vec::len))
                .flat_map(|c| alphabet.iter().map(move |&b| [c.as_slice(), &[b]].concat()))
                .collect();
            cells.extend(longer);
        }
        assert!(cells.len() > 20_000);
        for cell in &cells {
            assert_eq!(
                is_missing(cell),
                list(cell),
                "{:?}",
                String::from_utf8_lossy(cell)
            );
        }
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
