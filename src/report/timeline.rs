//! The timeline (Gantt) of a recorded run: one lane per pool slot, one bar
//! per task coloured by step, failures marked, as geometry for the page's
//! inline SVG. Bars narrower than a unit that touch in a lane, of the same
//! step and all ok, are drawn as one (100,000 tasks stay a light picture).

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::report::stats::{bytes, duration, millis};
use crate::state::db::TaskStatus;
use crate::state::recorded::TaskRecord;

/// Colours of the steps (Paul Tol's bright and muted schemes without red,
/// which marks failures).
pub(crate) const PALETTE: [&str; 8] = [
    "#4477aa", "#66ccee", "#228833", "#ccbb44", "#aa3377", "#332288", "#44aa99", "#999933",
];

/// Width of the drawing, in SVG units (it is scaled to the page).
const WIDTH: f64 = 1000.0;
/// Room for the lane labels.
const GUTTER: f64 = 52.0;
/// Room for the time axis.
const AXIS: f64 = 22.0;

/// One bar (a task, or several touching ones).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Bar {
    /// Left edge.
    pub(crate) x: f64,
    /// Top edge.
    pub(crate) y: f64,
    /// Width.
    pub(crate) w: f64,
    /// Height.
    pub(crate) h: f64,
    /// Fill colour.
    pub(crate) fill: &'static str,
    /// `fail`, `stop` (interrupted) or empty.
    pub(crate) class: &'static str,
    /// Hover text.
    pub(crate) title: String,
}

/// A lane label or a time tick.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Label {
    /// Position (y for lanes, x for ticks).
    pub(crate) at: f64,
    /// Text.
    pub(crate) text: String,
}

/// A step in the legend.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Legend {
    /// Step name.
    pub(crate) name: String,
    /// Its colour.
    pub(crate) fill: &'static str,
}

/// The whole drawing.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Timeline {
    /// SVG width.
    pub(crate) width: f64,
    /// SVG height.
    pub(crate) height: f64,
    /// Left edge of the time area.
    pub(crate) left: f64,
    /// Bottom of the lanes.
    pub(crate) bottom: f64,
    /// The bars.
    pub(crate) bars: Vec<Bar>,
    /// Lane labels (y of the lane's middle).
    pub(crate) lanes: Vec<Label>,
    /// Time ticks (x).
    pub(crate) ticks: Vec<Label>,
    /// Steps and their colours.
    pub(crate) legend: Vec<Legend>,
    /// Tasks drawn.
    pub(crate) tasks: usize,
    /// Whether lanes are the recorded pool slots (else packed from times).
    pub(crate) recorded_slots: bool,
}

/// A task placed in time.
struct Placed<'a> {
    task: &'a TaskRecord,
    start: f64,
    secs: f64,
    step: usize,
    lane: usize,
}

/// The timeline of the tasks that ran; `steps` in pipeline order gives the
/// colours; `jobs` the number of lanes when known. `None` when no task ran.
pub(crate) fn build(tasks: &[TaskRecord], steps: &[&str], jobs: Option<usize>) -> Option<Timeline> {
    let mut placed: Vec<Placed<'_>> = tasks
        .iter()
        .filter(|t| {
            matches!(
                t.status,
                TaskStatus::Ok | TaskStatus::Failed | TaskStatus::Interrupted
            )
        })
        .filter_map(|t| {
            let start = humantime::parse_rfc3339(t.started_at.as_deref()?).ok()?;
            let start = start.duration_since(SystemTime::UNIX_EPOCH).ok()?;
            Some(Placed {
                task: t,
                start: start.as_secs_f64(),
                secs: millis(t.duration_ms).as_secs_f64(),
                step: steps.iter().position(|s| *s == t.step).unwrap_or(0),
                lane: t.slot.unwrap_or(0).max(0) as usize,
            })
        })
        .collect();
    if placed.is_empty() {
        return None;
    }
    placed.sort_by(|a, b| a.start.total_cmp(&b.start));
    let recorded_slots = placed.iter().all(|p| p.task.slot.is_some());
    if !recorded_slots {
        pack_lanes(&mut placed);
    }
    let t0 = placed[0].start;
    let end = placed.iter().map(|p| p.start + p.secs).fold(t0, f64::max);
    let span = (end - t0).max(0.001);
    let lanes = placed
        .iter()
        .map(|p| p.lane + 1)
        .max()
        .unwrap_or(1)
        .max(if recorded_slots { jobs.unwrap_or(1) } else { 1 });
    let lane_h = (360.0 / lanes as f64).clamp(5.0, 22.0);
    let bar_h = if lane_h > 8.0 {
        lane_h - 3.0
    } else {
        lane_h - 1.0
    };
    let area = WIDTH - GUTTER - 8.0;
    let scale = area / span;

    let mut bars: Vec<Bar> = Vec::new();
    // Per lane: the index in `bars` of its last bar, if it may still grow.
    let mut open: Vec<Option<(usize, usize, usize)>> = vec![None; lanes];
    for p in &placed {
        let x = GUTTER + (p.start - t0) * scale;
        let w = p.secs * scale;
        let y = AXIS + p.lane as f64 * lane_h + (lane_h - bar_h) / 2.0;
        let class = match p.task.status {
            TaskStatus::Failed => "fail",
            TaskStatus::Interrupted => "stop",
            _ => "",
        };
        // Merge into the lane's open bar: same step, both ok, both thin,
        // touching.
        if class.is_empty()
            && w < 2.0
            && let Some((index, step, count)) = open[p.lane]
            && step == p.step
            && x - (bars[index].x + bars[index].w) < 1.0
        {
            let bar = &mut bars[index];
            bar.w = (x + w.max(0.6) - bar.x).max(bar.w);
            let count = count + 1;
            bar.title = format!("{}: {count} tasks", p.task.step);
            open[p.lane] = Some((index, step, count));
            continue;
        }
        let status = match class {
            "fail" => format!("failed: {}", p.task.reason.as_deref().unwrap_or("failed")),
            "stop" => "interrupted".to_owned(),
            _ => "ok".to_owned(),
        };
        bars.push(Bar {
            x,
            y,
            w: w.max(0.6),
            h: bar_h,
            fill: PALETTE[p.step % PALETTE.len()],
            class,
            title: format!(
                "{} {}\n{} · {status}{}",
                p.task.step,
                p.task.key,
                duration(Duration::from_secs_f64(p.secs)),
                p.task
                    .peak_memory
                    .map(|m| format!(" · {} peak memory", bytes(m)))
                    .unwrap_or_default()
            ),
        });
        open[p.lane] = (class.is_empty() && w < 2.0).then_some((bars.len() - 1, p.step, 1));
    }
    let bottom = AXIS + lanes as f64 * lane_h;
    let mut used: Vec<usize> = placed.iter().map(|p| p.step).collect();
    used.sort_unstable();
    used.dedup();
    Some(Timeline {
        width: WIDTH,
        height: bottom + 4.0,
        left: GUTTER,
        bottom,
        bars,
        lanes: (0..lanes)
            .map(|l| Label {
                at: AXIS + (l as f64 + 0.5) * lane_h,
                text: format!("{}", l + 1),
            })
            .collect(),
        ticks: ticks(span)
            .into_iter()
            .map(|t| Label {
                at: GUTTER + t * scale,
                text: tick_text(t),
            })
            .collect(),
        legend: used
            .into_iter()
            .map(|s| Legend {
                name: steps.get(s).copied().unwrap_or("?").to_owned(),
                fill: PALETTE[s % PALETTE.len()],
            })
            .collect(),
        tasks: placed.len(),
        recorded_slots,
    })
}

/// Lanes for tasks recorded without their slot: each goes to the lowest lane
/// free when it starts (`placed` is sorted by start).
fn pack_lanes(placed: &mut [Placed<'_>]) {
    let mut lane_ends: Vec<f64> = Vec::new();
    for p in placed.iter_mut() {
        let lane = match lane_ends.iter().position(|&end| end <= p.start + 1e-9) {
            Some(l) => l,
            None => {
                lane_ends.push(0.0);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = p.start + p.secs;
        p.lane = lane;
    }
}

/// Tick positions (seconds from the start): a round step giving at most 8.
fn ticks(span: f64) -> Vec<f64> {
    const STEPS: [f64; 18] = [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 1800.0, 3600.0,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or_else(|| (span / 8.0 / 3600.0).ceil() * 3600.0);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= span + 1e-9)
        .collect()
}

/// A tick's text: `0`, `0.5s`, `30s`, `2m`, `1h30m`.
fn tick_text(t: f64) -> String {
    if t == 0.0 {
        "0".to_owned()
    } else if t < 60.0 {
        let text = format!("{t:.2}");
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    } else if t < 3600.0 {
        let s = t.round() as u64;
        if s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{}m{:02}s", s / 60, s % 60)
        }
    } else {
        let m = (t / 60.0).round() as u64;
        format!("{}h{:02}m", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(
        step: &str,
        key: &str,
        status: &str,
        start_ms: u64,
        ms: i64,
        slot: Option<i64>,
    ) -> TaskRecord {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + start_ms);
        TaskRecord {
            step: step.into(),
            key: key.into(),
            status: TaskStatus::parse(status).unwrap(),
            reason: Some("exit code 2".into()),
            started_at: Some(humantime::format_rfc3339_millis(at).to_string()),
            duration_ms: Some(ms),
            stderr_tail: None,
            log_path: None,
            slot,
            peak_memory: None,
        }
    }

    #[test]
    fn one_lane_per_slot_and_failures_marked() {
        let tasks = vec![
            task("a", "x", "ok", 0, 1000, Some(0)),
            task("a", "y", "failed", 0, 500, Some(1)),
            task("b", "x", "ok", 1000, 1000, Some(0)),
            task("a", "z", "skipped", 0, 0, None),
        ];
        let t = build(&tasks, &["a", "b"], Some(3)).unwrap();
        assert_eq!(t.tasks, 3);
        assert_eq!(t.lanes.len(), 3, "every slot of the pool has a lane");
        assert!(t.recorded_slots);
        assert_eq!(t.bars.len(), 3);
        let failed = t.bars.iter().find(|b| b.class == "fail").unwrap();
        assert!(
            failed.title.starts_with("a y\n500ms · failed: exit code 2"),
            "{}",
            failed.title
        );
        assert_eq!(t.legend.len(), 2);
        // Bars fill the width: the first starts at the gutter, the last ends
        // at the right edge.
        let right = t.bars.iter().map(|b| b.x + b.w).fold(0.0, f64::max);
        assert!((right - (WIDTH - 8.0)).abs() < 1e-6, "{right}");
        assert_eq!(t.ticks.first().unwrap().text, "0");
        assert_eq!(t.ticks.last().unwrap().text, "2s");
    }

    #[test]
    fn thin_touching_bars_merge_and_lanes_are_packed_without_slots() {
        // 3,000 tasks of 1 ms back to back in one lane, then a long one.
        let mut tasks: Vec<TaskRecord> = (0..3000)
            .map(|i| task("a", &format!("k{i}"), "ok", i, 1, None))
            .collect();
        tasks.push(task("a", "long", "ok", 3000, 3000, None));
        tasks.push(task("a", "beside", "ok", 0, 100, None));
        let t = build(&tasks, &["a"], None).unwrap();
        assert!(!t.recorded_slots);
        assert_eq!(t.lanes.len(), 2, "the overlapping task gets a second lane");
        assert!(t.bars.len() < 10, "{} bars", t.bars.len());
        assert!(t.bars.iter().any(|b| b.title == "a: 3000 tasks"));
    }

    #[test]
    fn tick_texts() {
        assert_eq!(tick_text(0.5), "0.5s");
        assert_eq!(tick_text(30.0), "30s");
        assert_eq!(tick_text(120.0), "2m");
        assert_eq!(tick_text(5400.0), "1h30m");
        assert_eq!(ticks(100.0).len(), 7);
    }
}
