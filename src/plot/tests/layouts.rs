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
    line: impl Fn(usize) -> String,
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
