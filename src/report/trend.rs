//! The last runs of the pipeline as a small chart: one bar per run, its
//! height the run's duration, red when tasks failed, grey when it did not
//! end; the run of the report outlined.

use std::time::Duration;

use serde::Serialize;

use crate::report::stats::duration;
use crate::state::recorded::RunRow;

/// Width of the chart, in SVG units.
const WIDTH: f64 = 640.0;
/// Height of the bars' area.
const HEIGHT: f64 = 90.0;
/// Room for the axis labels.
const LEFT: f64 = 48.0;

/// One run's bar.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunBar {
    /// Left edge.
    pub(crate) x: f64,
    /// Top edge.
    pub(crate) y: f64,
    /// Width.
    pub(crate) w: f64,
    /// Height.
    pub(crate) h: f64,
    /// `ok`, `fail`, `stop` (interrupted) or `open` (did not end).
    pub(crate) class: &'static str,
    /// The run of this report.
    pub(crate) current: bool,
    /// Run id, under the bar.
    pub(crate) label: String,
    /// Hover text.
    pub(crate) title: String,
}

/// The chart.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trend {
    /// SVG width.
    pub(crate) width: f64,
    /// SVG height.
    pub(crate) height: f64,
    /// Left edge of the bars.
    pub(crate) left: f64,
    /// Baseline.
    pub(crate) base: f64,
    /// The longest duration, as the axis says it.
    pub(crate) top_label: String,
    /// The bars, oldest first.
    pub(crate) bars: Vec<RunBar>,
}

/// How long a run took: its recorded wall time, else end minus start.
fn run_time(run: &RunRow) -> Option<Duration> {
    if let Some(ms) = run.wall_ms {
        return Some(Duration::from_millis(ms.max(0) as u64));
    }
    let start = humantime::parse_rfc3339(&run.started_at).ok()?;
    let end = humantime::parse_rfc3339(run.ended_at.as_deref()?).ok()?;
    end.duration_since(start).ok()
}

/// The chart of `runs` (newest first, as read); `current` is the report's run.
pub(crate) fn build(runs: &[RunRow], current: i64) -> Trend {
    let longest = runs
        .iter()
        .filter_map(run_time)
        .max()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_millis(1));
    // One slot per run, at most 60 units wide (a first run is not a wall).
    let slot = ((WIDTH - LEFT) / runs.len().max(1) as f64).min(60.0);
    let bars = runs
        .iter()
        .rev()
        .enumerate()
        .map(|(i, run)| {
            let time = run_time(run);
            let h = time.map_or(HEIGHT, |t| {
                (t.as_secs_f64() / longest.as_secs_f64() * HEIGHT).max(1.5)
            });
            let class = match run.exit_code {
                None => "open",
                Some(130 | 143) => "stop",
                Some(_) if run.failed > 0 => "fail",
                Some(0) => "ok",
                Some(_) => "fail",
            };
            let how = match class {
                "open" => "did not end".to_owned(),
                "stop" => "interrupted".to_owned(),
                _ => format!("exit {}", run.exit_code.unwrap_or(-1)),
            };
            RunBar {
                x: LEFT + i as f64 * slot + slot * 0.15,
                y: 8.0 + HEIGHT - h,
                w: slot * 0.7,
                h,
                class,
                current: run.id == current,
                label: run.id.to_string(),
                title: format!(
                    "run {}: {}, {} ok, {} failed, {} up to date, {how}",
                    run.id,
                    time.map(duration).unwrap_or_else(|| "?".to_owned()),
                    run.ok,
                    run.failed,
                    run.up_to_date
                ),
            }
        })
        .collect();
    Trend {
        width: WIDTH,
        height: HEIGHT + 28.0,
        left: LEFT,
        base: 8.0 + HEIGHT,
        top_label: duration(longest),
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: i64, wall_ms: Option<i64>, exit: Option<i32>, failed: i64) -> RunRow {
        RunRow {
            id,
            started_at: "2026-01-01T00:00:00Z".into(),
            ended_at: exit.map(|_| "2026-01-01T00:00:09Z".into()),
            exit_code: exit,
            ok: 1,
            failed,
            skipped: 0,
            up_to_date: 0,
            flags: vec![],
            jobs: None,
            wall_ms,
            git_commit: None,
            git_dirty: None,
        }
    }

    #[test]
    fn bars_oldest_first_scaled_to_the_longest() {
        let runs = vec![
            run(4, Some(2000), Some(1), 3),
            run(3, None, None, 0),
            run(2, None, Some(130), 0),
            run(1, Some(4000), Some(0), 0),
        ];
        let t = build(&runs, 4);
        let classes: Vec<&str> = t.bars.iter().map(|b| b.class).collect();
        // Run 2 has no wall time: end minus start (9 s) is the longest.
        assert_eq!(classes, ["ok", "stop", "open", "fail"]);
        assert_eq!(t.top_label, "9.00s");
        assert!(t.bars[3].current && !t.bars[0].current);
        assert!((t.bars[1].h - HEIGHT).abs() < 1e-9);
        assert!(t.bars[3].title.contains("3 failed"), "{}", t.bars[3].title);
    }
}
