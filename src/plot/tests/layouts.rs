//! Golden SVGs of time axes (spans of hours, months and decades; bars of
//! months; an offset other than UTC) and of stacked panels, each also
//! checked by librsvg and resvg.

use super::*;

/// `YYYY-MM-DD` of the day `n` days after 2000-01-01 (a civil calendar
/// written out here, independent of the code under test).
fn day(n: i64) -> String {
    let date = jiff::civil::date(2000, 1, 1)
        .checked_add(jiff::Span::new().days(n))
        .unwrap();
    date.to_string()
}

/// A table of `rows` rows: `time` from `time(i)`, then columns from
/// `values(i)` (empty text = missing).
fn table(
    dir: &Path,
    name: &str,
    header: &str,
    rows: usize,
    mut line: impl FnMut(usize) -> String,
) -> PathBuf {
    let mut text = format!("{header}\n");
    for i in 0..rows {
        text.push_str(&line(i));
        text.push('\n');
    }
    write(dir, name, &text)
}

/// A smooth, deterministic wiggle.
fn wave(i: usize, period: f64, amplitude: f64) -> f64 {
    let t = i as f64;
    (t / period).sin() * amplitude + (t / (period * 0.37)).cos() * amplitude * 0.2
}

#[test]
fn golden_time_axes_and_panels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Every 10 minutes from 06:00 to 20:00 on one day.
    let hours = table(d, "hours.csv", "time,temp,humidity", 85, |i| {
        let minutes = 6 * 60 + 10 * i;
        format!(
            "2024-03-05T{:02}:{:02}:00,{:.2},{:.1}",
            minutes / 60,
            minutes % 60,
            12.0 + wave(i, 12.0, 4.0),
            60.0 + wave(i, 20.0, 15.0)
        )
    });
    // Daily over ten months, with a gap of a week.
    let months = table(d, "months.csv", "date,level", 290, |i| {
        let level = if (120..127).contains(&i) {
            String::new()
        } else {
            format!("{:.3}", 3.0 + wave(i, 30.0, 1.2))
        };
        format!("{},{level}", day(8714 + i as i64))
    });
    // Monthly over seven decades.
    let decades = table(d, "decades.csv", "month,co2", 860, |i| {
        let (year, month) = (1952 + i / 12, i % 12 + 1);
        let trend = 312.0 + i as f64 * 0.12 + (i as f64 / 300.0).powi(2) * 2.0;
        format!(
            "{year}-{month:02}-01,{:.2}",
            trend + ((month as f64) / 12.0 * std::f64::consts::TAU).sin() * 3.0
        )
    });
    // Daily over two years: three measurements with different units.
    let weather = table(d, "weather.csv", "date,pressure,humidity,temp", 730, |i| {
        format!(
            "{},{:.1},{:.1},{:.1}",
            day(8400 + i as i64),
            1012.0 + wave(i, 9.0, 8.0),
            55.0 + wave(i, 23.0, 20.0),
            12.0 + (i as f64 / 365.0 * std::f64::consts::TAU).sin() * 9.0 + wave(i, 5.0, 2.0)
        )
    });
    // A month per bar.
    let monthly = table(d, "monthly.csv", "month,rain", 12, |i| {
        let (year, month) = (2023 + (i + 9) / 12, (i + 9) % 12 + 1);
        format!("{year}-{month:02}-01,{:.0}", 60.0 + wave(i, 2.0, 40.0))
    });
    // Hourly over two days, written at +01:00: ticks at its midnights.
    let offset = table(d, "offset.csv", "time,v", 48, |i| {
        format!(
            "2024-06-{:02}T{:02}:30:00+01:00,{:.2}",
            1 + i / 24,
            i % 24,
            wave(i, 4.0, 1.0)
        )
    });

    let mut panels = spec("line", Some("date"), &["*"]);
    panels.layout = crate::config::PlotLayout::Panels;
    panels.height = 520;
    let titled = Texts {
        title: Some("Weather, daily"),
        x_label: None,
        y_label: None,
    };
    let cases: Vec<(&str, PlotSpec, &Texts<'_>, PathBuf)> = vec![
        (
            "time_hours.svg",
            spec("line", Some("time"), &["*"]),
            &NO_TEXTS,
            hours,
        ),
        (
            "time_months.svg",
            spec("line", Some("date"), &["level"]),
            &NO_TEXTS,
            months,
        ),
        (
            "time_decades.svg",
            spec("line", Some("month"), &["co2"]),
            &NO_TEXTS,
            decades,
        ),
        ("panels.svg", panels, &titled, weather),
        (
            "bar_months.svg",
            spec("bar", Some("month"), &["rain"]),
            &NO_TEXTS,
            monthly,
        ),
        (
            "time_offset.svg",
            spec("scatter", Some("time"), &["v"]),
            &NO_TEXTS,
            offset,
        ),
    ];
    for (name, spec, texts, input) in cases {
        let svg = svg(&spec, texts, &[input], true).unwrap();
        assert_rsvg_accepts(&svg, name);
        raster::parse(&svg).unwrap();
        assert_golden(name, &svg);
    }
}

/// Issue 11: decimation works on a time axis as on numbers. A value a
/// minute for 140 days (201,600 rows) is reduced to a few points per pixel
/// column and draws the same picture as every point.
#[test]
fn m4_on_a_time_axis_same_picture() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut walk = 0.0f64;
    let rows = 140 * 24 * 60;
    let input = table(dir.path(), "minutes.csv", "time,walk", rows, |i| {
        seed = crate::test_rng::xorshift(seed);
        walk += (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let minute = i % (24 * 60);
        format!(
            "{}T{:02}:{:02},{walk:.3}",
            day((i / (24 * 60)) as i64 + 8800),
            minute / 60,
            minute % 60
        )
    });
    let s = spec("line", Some("time"), &["walk"]);
    let reduced = svg(&s, &NO_TEXTS, std::slice::from_ref(&input), true).unwrap();
    let full = svg(&s, &NO_TEXTS, &[input], false).unwrap();
    assert!(reduced.contains(">Mar<"), "a time axis: {reduced}");
    assert!(
        full.len() > 10 * reduced.len(),
        "reduced {} bytes, full {}",
        reduced.len(),
        full.len()
    );
    let a = raster::pixmap(&raster::parse(&reduced).unwrap()).unwrap();
    let b = raster::pixmap(&raster::parse(&full).unwrap()).unwrap();
    // A visible change: a channel off by more than a quarter of its range.
    let differ = a
        .pixels()
        .iter()
        .zip(b.pixels())
        .filter(|(p, q)| {
            p.red().abs_diff(q.red()) > 64
                || p.green().abs_diff(q.green()) > 64
                || p.blue().abs_diff(q.blue()) > 64
        })
        .count();
    let share = differ as f64 / a.pixels().len() as f64;
    eprintln!(
        "m4 on time: {} bytes vs {}; {differ} pixels differ ({:.3}%)",
        reduced.len(),
        full.len(),
        share * 100.0
    );
    assert!(
        share < 0.005,
        "{differ} pixels differ ({:.3}%)",
        share * 100.0
    );
}
