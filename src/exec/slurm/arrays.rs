//! What the coordinator knows of each array it watches (its own, and those
//! of an earlier run that was killed): per element its tasks, the result
//! files found so far, whether it started (SLURM created its log), its last
//! state in `squeue`, and when it is over. Only reads files and asks SLURM;
//! what a result means for the run is the executor's business.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::exec::slurm::element::{ArrayDir, ResultFile, TaskSpec, read_json};
use crate::exec::slurm::watch::{self, ElementState};
use crate::exec::task::tail;
use crate::plan::TaskId;
use crate::state::db::ArrayRow;

/// How long an element that SLURM says has ended may still deliver result
/// files (a shared file system shows another node's new files late).
const GRACE: Duration = Duration::from_secs(3);

/// `squeue` polls in a row that must miss an element before it counts as
/// forgotten (ended long ago).
const MISSING_POLLS: u32 = 2;

/// One submitted array.
pub(crate) struct Array {
    /// SLURM's job id.
    pub(crate) job_id: String,
    /// Its folder.
    pub(crate) dir: ArrayDir,
    /// Submitted by this run (else by an earlier one, and adopted).
    pub(crate) ours: bool,
    /// Its elements.
    pub(crate) elements: Vec<Element>,
    /// Its end is recorded in the state.
    pub(crate) recorded: bool,
}

/// One element of an array.
pub(crate) struct Element {
    /// Its tasks, in the order of its list.
    pub(crate) slots: Vec<Slot>,
    /// SLURM started it (its log exists, or `squeue` says so).
    pub(crate) started: bool,
    /// It wrote `done`: every task of it ran.
    done: bool,
    /// Its last state in `squeue`.
    pub(crate) slurm: Option<ElementState>,
    /// `squeue` polls in a row that did not list it.
    missing: u32,
    /// When it was first seen ended.
    ended_at: Option<Instant>,
    /// Nothing more will come from it.
    pub(crate) over: bool,
}

/// One task of an element.
pub(crate) struct Slot {
    /// The task as the element has it.
    pub(crate) spec: TaskSpec,
    /// The task of this run it stands for (an earlier run's slot, until
    /// this run claims it, stands for none).
    pub(crate) task: Option<TaskId>,
    /// Its result file, once read.
    pub(crate) result: Option<ResultFile>,
    /// Its result (or failure) went to the scheduler.
    pub(crate) delivered: bool,
}

impl Element {
    fn new(slots: Vec<Slot>) -> Element {
        Element {
            slots,
            started: false,
            done: false,
            slurm: None,
            missing: 0,
            ended_at: None,
            over: false,
        }
    }

    /// Whether SLURM says (or its `done` file says) it ended.
    fn ended(&self) -> bool {
        self.done
            || self.slurm.as_ref().is_some_and(ElementState::ended)
            || self.missing >= MISSING_POLLS
    }
}

impl Array {
    /// An array just submitted by this run.
    pub(crate) fn submitted(
        job_id: String,
        dir: ArrayDir,
        elements: Vec<Vec<(TaskId, TaskSpec)>>,
    ) -> Array {
        Array {
            job_id,
            dir,
            ours: true,
            recorded: false,
            elements: elements
                .into_iter()
                .map(|tasks| {
                    Element::new(
                        tasks
                            .into_iter()
                            .map(|(id, spec)| Slot {
                                spec,
                                task: Some(id),
                                result: None,
                                delivered: false,
                            })
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    /// An earlier run's array, read back from its folder; `None` when the
    /// folder is gone.
    pub(crate) fn earlier(row: &ArrayRow) -> Option<Array> {
        let dir = ArrayDir(row.dir.clone().into());
        let elements = (0..row.elements)
            .map(|e| {
                let specs: Vec<TaskSpec> = read_json(&dir.tasks(e)).ok()?;
                Some(Element::new(
                    specs
                        .into_iter()
                        .map(|spec| Slot {
                            spec,
                            task: None,
                            result: None,
                            delivered: false,
                        })
                        .collect(),
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Array {
            job_id: row.job_id.clone(),
            dir,
            ours: false,
            recorded: false,
            elements,
        })
    }

    /// Every element is over.
    pub(crate) fn over(&self) -> bool {
        self.elements.iter().all(|e| e.over)
    }

    /// Reads the result files that appeared in started elements; returns
    /// (element, slot) of each new one.
    pub(crate) fn scan(&mut self) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        if self.over() {
            return found;
        }
        // SLURM creates `E.log` when element E starts.
        if let Ok(entries) = std::fs::read_dir(&self.dir.0) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(e) = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(".log"))
                    .and_then(|n| n.parse::<usize>().ok())
                else {
                    continue;
                };
                if let Some(element) = self.elements.get_mut(e) {
                    element.started = true;
                }
            }
        }
        for (e, element) in self.elements.iter_mut().enumerate() {
            if element.over || !element.started {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(self.dir.element(e)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name == "done" {
                    element.done = true;
                    continue;
                }
                let Some(r) = name
                    .strip_suffix(".json")
                    .and_then(|n| n.parse::<usize>().ok())
                else {
                    continue;
                };
                let Some(slot) = element.slots.get_mut(r) else {
                    continue;
                };
                if slot.result.is_some() {
                    continue;
                }
                // A file that does not parse is left for the end of the
                // element to report; one for another task is ignored.
                if let Ok(result) = read_json::<ResultFile>(&self.dir.result(e, r))
                    && result.step == slot.spec.step
                    && result.key == slot.spec.key
                {
                    slot.result = Some(result);
                    found.push((e, r));
                }
            }
        }
        found
    }

    /// Takes the states `squeue` gave.
    pub(crate) fn update(&mut self, states: &HashMap<(String, usize), ElementState>) {
        for (e, element) in self.elements.iter_mut().enumerate() {
            match states.get(&(self.job_id.clone(), e)) {
                Some(state) => {
                    if !state.pending() {
                        element.started = true;
                    }
                    element.slurm = Some(state.clone());
                    element.missing = 0;
                }
                None => element.missing += 1,
            }
        }
    }

    /// Counts the elements `squeue` did not list as forgotten by SLURM
    /// (for an earlier run's array: they ended long ago).
    pub(crate) fn forget_unlisted(&mut self, states: &HashMap<(String, usize), ElementState>) {
        for (e, element) in self.elements.iter_mut().enumerate() {
            if !states.contains_key(&(self.job_id.clone(), e)) {
                element.missing = element.missing.max(MISSING_POLLS);
            }
        }
    }

    /// Elements that have ended and are to be closed now: every task it
    /// ran has its result, or the grace for late files has passed. Marks
    /// them over.
    pub(crate) fn close_ended(&mut self) -> Vec<usize> {
        let mut closed = Vec::new();
        for (e, element) in self.elements.iter_mut().enumerate() {
            if element.over || !element.ended() {
                continue;
            }
            let since = *element.ended_at.get_or_insert_with(Instant::now);
            let complete = element.slots.iter().all(|s| s.result.is_some());
            if complete || since.elapsed() >= GRACE {
                element.over = true;
                closed.push(e);
            }
        }
        closed
    }

    /// Whether element `e` may still run something.
    pub(crate) fn alive(&self, e: usize) -> bool {
        !self.elements[e].over && !self.elements[e].ended()
    }

    /// Why element `e` ended without a result for some of its tasks, and
    /// the last lines of its log.
    pub(crate) fn end_reason(&self, e: usize) -> (String, Vec<String>) {
        let element = &self.elements[e];
        let name = format!("{}_{e}", self.job_id);
        let reason = match &element.slurm {
            _ if element.done => {
                format!("array element {name} ended without a result for this task")
            }
            Some(s) if s.ended() => {
                let code = watch::exit_code(&self.job_id, e)
                    .map(|c| format!(", exit code {c}"))
                    .unwrap_or_default();
                let why = if s.reason.is_empty() || s.reason == "None" {
                    String::new()
                } else {
                    format!(" ({}{code})", s.reason)
                };
                let why = if why.is_empty() && !code.is_empty() {
                    format!(" ({})", code.trim_start_matches(", "))
                } else {
                    why
                };
                format!(
                    "array element {name} ended {}{why} before this task finished",
                    s.state
                )
            }
            _ => format!(
                "array element {name} is no longer known to SLURM and left no result for this task"
            ),
        };
        (
            reason,
            tail(&self.dir.log(e), crate::exec::task::TAIL_LINES),
        )
    }
}
