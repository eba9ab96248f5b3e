//! The SLURM executor: runner stays in the foreground as the coordinator
//! and hands each wave of ready tasks to SLURM as ONE array job (tasks
//! packed `tasks_per_element` to an element, one array per class of
//! `time` / `mem`); each element runs `runner worker` on its list of tasks
//! and writes one result file per task, which the coordinator reads as they
//! appear and passes to the scheduler (and so to the progress display and
//! the state, exactly as a local run's results). Only the coordinator opens
//! the state database. Steps with `executor = "local"` run on the
//! coordinator's own threads. Arrays are recorded in the state, so that a
//! coordinator killed and started again picks up what its elements wrote,
//! and watches those still running instead of submitting them again.

mod arrays;
pub(crate) mod element;
mod error;
mod lane;
mod submit;
mod watch;
pub(crate) mod worker;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{ExecutorSettings, Pipeline};
use crate::error::{chain, under_root};
use crate::exec::task::{Failure, LocalTasks, Outcome, TaskResult};
use crate::exec::waves::{Packing, WaveExecutor};
use crate::plan::{Plan, TaskId};
use crate::state::db::{ArrayRow, Last, TaskStatus, task_id};
use crate::state::{Verdict, Writer, fingerprint};
use arrays::Array;
use element::{ArrayDir, ArrayManifest, OsText, ResultFile, ResultStatus, TaskSpec};
pub(crate) use error::SlurmError;
pub(crate) use lane::LocalLane;
use submit::{ArrayJob, Class};
use watch::ElementState;

/// How often the elements' folders are read for new result files.
const SCAN_EVERY: Duration = Duration::from_millis(100);
/// How often `squeue` is asked about the elements.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long the ready tasks a running wave frees one by one wait for more
/// before they go as a (partial) wave of their own.
const LINGER: Duration = Duration::from_secs(2);
/// The shortest time between two `sbatch` calls while arrays run (SLURM
/// sites frown on more than about one per second).
const MIN_GAP: Duration = Duration::from_secs(1);
/// How long an interrupt waits for SLURM to end the cancelled elements.
const CANCEL_WAIT: Duration = Duration::from_secs(60);

/// What the coordinator brings to a SLURM run.
pub(crate) struct Cluster<'a> {
    /// `[executor]`.
    pub(crate) settings: &'a ExecutorSettings,
    /// The state folder (absolute); arrays go under `slurm/RUN/`.
    pub(crate) state_dir: PathBuf,
    /// This run.
    pub(crate) run_id: i64,
    /// Arrays of earlier runs not known to be over.
    pub(crate) earlier: Vec<ArrayRow>,
    /// Records the arrays submitted.
    pub(crate) writer: &'a Writer,
    /// How many runs' array folders to keep (`keep_logs`).
    pub(crate) keep: u32,
}

/// Whether a task runs on SLURM in a run on SLURM: not `executor =
/// "local"`, and not `partial` (a partial task is rendered again over what
/// its upstream tasks left, once they are done: on the coordinator).
pub(crate) fn on_cluster(pipeline: &Pipeline, plan: &Plan, id: TaskId) -> bool {
    let step = &pipeline.steps[plan.tasks[id].step];
    !step.placement.local && !step.partial
}

/// Before anything is submitted: SLURM's programs are on `PATH`, and
/// `sbatch --test-only` takes the options of every class of tasks that will
/// run there. Nothing is asked when no task goes to SLURM.
pub(crate) fn preflight(
    pipeline: &Pipeline,
    plan: &Plan,
    wanted: &[bool],
    verdicts: &[Option<Verdict>],
) -> Result<(), SlurmError> {
    let settings = &pipeline.executor;
    let mut classes: BTreeMap<Class, String> = BTreeMap::new();
    for task in &plan.tasks {
        let runs = wanted[task.id] && !matches!(verdicts[task.id], Some(Verdict::UpToDate));
        if runs && on_cluster(pipeline, plan, task.id) {
            let step = &pipeline.steps[task.step];
            classes
                .entry(Class::of(settings, &step.placement))
                .or_insert_with(|| step.name.clone());
        }
    }
    if classes.is_empty() {
        return Ok(());
    }
    if let Some(program) = submit::missing_program() {
        return Err(SlurmError::MissingProgram { program });
    }
    for (class, step) in &classes {
        submit::test_only(step, &submit::options(settings, class), &pipeline.root)?;
    }
    Ok(())
}

/// The outputs of every task in the lists of these arrays (an earlier
/// run's, not known to be over): their elements may still write them.
pub(crate) fn held_outputs(rows: &[ArrayRow]) -> std::collections::HashSet<PathBuf> {
    rows.iter()
        .filter_map(Array::earlier)
        .flat_map(|array| array.elements)
        .flat_map(|element| element.slots)
        .flat_map(|slot| slot.spec.outputs)
        .map(|o| o.path())
        .collect()
}

/// A task slot in an array: (array, element, slot).
type SlotRef = (usize, usize, usize);

/// The SLURM executor of one run.
pub(crate) struct SlurmExecutor<'a> {
    pipeline: &'a Pipeline,
    plan: &'a Plan,
    verdicts: &'a [Option<Verdict>],
    cluster: Cluster<'a>,
    local: &'a LocalTasks<'a>,
    lane: LocalLane,
    /// `state/slurm/RUN`, made (with runner's marker) at the first array.
    run_dir: Option<PathBuf>,
    /// The pipeline file, absolute.
    pipeline_path: PathBuf,
    /// This binary, which the elements run.
    exe: PathBuf,
    arrays: Vec<Array>,
    /// Slots of earlier runs' arrays, by (step, key), until a wave claims them.
    unclaimed: HashMap<(String, String), SlotRef>,
    /// Results for the next `collect`.
    done: Vec<(TaskId, TaskResult)>,
    /// Tasks whose earlier result did not hold; submitted with the next wave.
    again: Vec<TaskId>,
    last_scan: Option<Instant>,
    last_poll: Option<Instant>,
    cancelled: bool,
    /// When the interrupt's `scancel` was sent (milliseconds since the
    /// epoch): a task that failed after it was stopped by it.
    cancelled_at_ms: Option<u64>,
}

impl<'a> SlurmExecutor<'a> {
    /// The executor of a run: the earlier runs' arrays read back, those
    /// still running adopted when they run what this run would (else
    /// cancelled).
    pub(crate) fn new(
        pipeline: &'a Pipeline,
        plan: &'a Plan,
        verdicts: &'a [Option<Verdict>],
        cluster: Cluster<'a>,
        local: &'a LocalTasks<'a>,
        lane: LocalLane,
    ) -> SlurmExecutor<'a> {
        let pipeline_path = std::fs::canonicalize(&pipeline.source.path)
            .unwrap_or_else(|_| pipeline.source.path.clone());
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("runner"));
        let mut executor = SlurmExecutor {
            pipeline,
            plan,
            verdicts,
            cluster,
            local,
            lane,
            run_dir: None,
            pipeline_path,
            exe,
            arrays: Vec::new(),
            unclaimed: HashMap::new(),
            done: Vec::new(),
            again: Vec::new(),
            last_scan: None,
            last_poll: None,
            cancelled: false,
            cancelled_at_ms: None,
        };
        executor.adopt_earlier();
        executor
    }

    /// Reads back the earlier runs' arrays and their results; cancels those
    /// still running something this run would not run the same way.
    fn adopt_earlier(&mut self) {
        let rows = std::mem::take(&mut self.cluster.earlier);
        let mut earlier: Vec<Array> = rows.iter().filter_map(Array::earlier).collect();
        if earlier.is_empty() {
            return;
        }
        let ids: Vec<&str> = earlier.iter().map(|a| a.job_id.as_str()).collect();
        // Unknown (squeue failed): every element counts as running, until
        // the polls say otherwise.
        let states = watch::states(&ids).ok();
        let by_key: HashMap<(&str, &str), TaskId> = self
            .plan
            .tasks
            .iter()
            .map(|t| {
                (
                    (self.pipeline.steps[t.step].name.as_str(), t.key.as_str()),
                    t.id,
                )
            })
            .collect();
        let mut to_cancel = Vec::new();
        for array in &mut earlier {
            if let Some(states) = &states {
                array.update(states);
                // Not listed at all: it ended long ago.
                array.forget_unlisted(states);
            }
            array.scan();
            // Still running: adopted only if every task it has not finished
            // is one this run runs, the same way.
            let adoptable = (0..array.elements.len())
                .filter(|&e| array.alive(e))
                .flat_map(|e| array.elements[e].slots.iter())
                .filter(|slot| slot.result.is_none())
                .all(|slot| {
                    by_key
                        .get(&(slot.spec.step.as_str(), slot.spec.key.as_str()))
                        .is_some_and(|&id| {
                            matches!(self.verdicts[id], Some(Verdict::Run(..)))
                                && TaskSpec::of(self.pipeline, &self.plan.tasks[id], None, None)
                                    .same_work(&slot.spec)
                        })
                });
            if !adoptable && (0..array.elements.len()).any(|e| array.alive(e)) {
                to_cancel.push(array.job_id.clone());
            }
        }
        if !to_cancel.is_empty() {
            let ids: Vec<&str> = to_cancel.iter().map(String::as_str).collect();
            if let Err(err) = watch::cancel(&ids) {
                eprintln!(
                    "warning: cannot cancel the arrays of an earlier run: {}",
                    chain(&err)
                );
            }
            wait_until_ended(&ids);
            if let Ok(states) = watch::states(&ids) {
                for array in earlier.iter_mut().filter(|a| to_cancel.contains(&a.job_id)) {
                    array.update(&states);
                    array.forget_unlisted(&states);
                    array.scan();
                }
            }
        }
        // The newest array's slot wins when two runs had the same task.
        for array in earlier {
            let a = self.arrays.len();
            for (e, element) in array.elements.iter().enumerate() {
                for (r, slot) in element.slots.iter().enumerate() {
                    self.unclaimed
                        .insert((slot.spec.step.clone(), slot.spec.key.clone()), (a, e, r));
                }
            }
            self.arrays.push(array);
        }
    }

    /// Takes over a slot of an earlier run's array for task `id`; false
    /// when the task must be submitted anew.
    fn claim(&mut self, id: TaskId, (a, e, r): SlotRef) -> bool {
        let spec = TaskSpec::of(self.pipeline, &self.plan.tasks[id], None, None);
        let element_alive = self.arrays[a].alive(e);
        let slot = &mut self.arrays[a].elements[e].slots[r];
        if !spec.same_work(&slot.spec) {
            return false;
        }
        if let Some(result) = slot.result.clone() {
            slot.task = Some(id);
            slot.delivered = true;
            return match self.accept_earlier(id, &result) {
                Some(result) => {
                    self.done.push((id, result));
                    true
                }
                None => false,
            };
        }
        if element_alive {
            slot.task = Some(id);
            return true;
        }
        false
    }

    /// An earlier run's result, if it still holds: it succeeded, and the
    /// task's inputs and outputs are what they were then (the same check as
    /// "up to date").
    fn accept_earlier(&self, id: TaskId, result: &ResultFile) -> Option<TaskResult> {
        let record = result.record.as_ref()?;
        if result.status != ResultStatus::Ok {
            return None;
        }
        let then = record.fingerprint.to_fingerprint()?;
        let task = &self.plan.tasks[id];
        let files = &self.local.fingerprints.files;
        let last = Last {
            status: TaskStatus::Ok,
            fingerprint: then.fingerprint,
            action: then.action,
            inputs: None,
            outputs: record.outputs.clone(),
            failure: None,
            found_deps: record
                .found_deps
                .as_ref()
                .map(|lines| lines.lines().map(PathBuf::from).collect()),
        };
        // Its deps as a local run's check takes them: its step's, those its
        // command names, and the files its worker loaded then.
        let base = self.local.fingerprints.step_deps[task.step].of_task(task);
        let deps = fingerprint::task_deps(&base, last.found_deps.as_deref());
        let mut now = fingerprint::fingerprint(self.pipeline, task, &base, &deps, files).ok()?;
        let mut hashes = std::mem::take(&mut now.new_hashes);
        fingerprint::compare(task, &deps, &now, Some(&last), files, &mut hashes).ok()?;
        let mut accepted = result.to_result();
        accepted.new_hashes.extend(hashes);
        Some(accepted)
    }

    /// Packs tasks into elements, one array per class, and submits them.
    fn submit_new(&mut self, ids: &[TaskId]) {
        let settings = self.cluster.settings;
        let mut classes: BTreeMap<Class, Vec<TaskId>> = BTreeMap::new();
        for &id in ids {
            let step = &self.pipeline.steps[self.plan.tasks[id].step];
            classes
                .entry(Class::of(settings, &step.placement))
                .or_default()
                .push(id);
        }
        for (class, ids) in classes {
            self.submit_array(&class, &ids);
        }
    }

    /// This run's folder of arrays, made at the first call.
    fn run_dir(&mut self) -> Result<PathBuf, SlurmError> {
        if let Some(dir) = &self.run_dir {
            return Ok(dir.clone());
        }
        let slurm = self.cluster.state_dir.join("slurm");
        let dir =
            crate::state::logs::make_run_folder(&slurm, self.cluster.run_id).map_err(|source| {
                SlurmError::RunFolder {
                    parent: under_root(&self.pipeline.root, &slurm),
                    source,
                }
            })?;
        self.run_dir = Some(dir.clone());
        Ok(dir)
    }

    /// One array of tasks of one class.
    fn submit_array(&mut self, class: &Class, ids: &[TaskId]) {
        let settings = self.cluster.settings;
        let number = self.arrays.iter().filter(|a| a.ours).count();
        let run_dir = match self.run_dir() {
            Ok(dir) => dir,
            Err(err) => {
                self.fail_unsubmitted(ids, &err);
                return;
            }
        };
        let dir = ArrayDir(run_dir.join(number.to_string()));
        let elements: Vec<Vec<(TaskId, TaskSpec)>> = ids
            .chunks(settings.tasks_per_element.max(1))
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|&id| {
                        let task = &self.plan.tasks[id];
                        let fp = match &self.verdicts[id] {
                            Some(Verdict::Run(_, fp)) => fp.as_deref(),
                            _ => None,
                        };
                        let step = &self.pipeline.steps[task.step];
                        let found = self
                            .local
                            .fingerprints
                            .latest
                            .get(&task_id(&step.name, &task.key))
                            .and_then(|l| l.found_deps.as_deref());
                        (id, TaskSpec::of(self.pipeline, task, fp, found))
                    })
                    .collect()
            })
            .collect();
        let lists: Vec<Vec<TaskSpec>> = elements
            .iter()
            .map(|tasks| tasks.iter().map(|(_, spec)| spec.clone()).collect())
            .collect();
        let manifest = ArrayManifest {
            format: element::FORMAT,
            pipeline_path: OsText(self.pipeline_path.clone().into_os_string()),
            pipeline_text: self.pipeline.source.text.clone(),
            log_dir: OsText(self.local.log_dir.clone().into_os_string()),
            elements: lists.len(),
            tag: format!("{}a{number}", self.local.run_tag),
            vars: (!self.pipeline.vars_table.is_empty())
                .then(|| toml::to_string(&self.pipeline.vars_table).ok())
                .flatten(),
        };
        let options = submit::options(settings, class);
        let name = format!("runner-{}", self.pipeline.name);
        let job = ArrayJob {
            dir: &dir,
            manifest: &manifest,
            elements: &lists,
            options: &options,
            name: &name,
            root: &self.pipeline.root,
            exe: &self.exe,
            max_array: settings.max_array,
        };
        match submit::submit(&job) {
            Ok(job_id) => {
                self.cluster.writer.array(ArrayRow {
                    dir: dir.0.to_string_lossy().into_owned(),
                    job_id: job_id.clone(),
                    run_id: self.cluster.run_id,
                    elements: lists.len(),
                    tasks: ids.len(),
                    submitted_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                        .to_string(),
                });
                self.arrays.push(Array::submitted(job_id, dir, elements));
                // Ask SLURM soon: the first answer says what started.
                self.last_poll = None;
            }
            Err(err) => self.fail_unsubmitted(ids, &err),
        }
    }

    /// Fails tasks whose array could not be submitted, with why (the
    /// error and its causes on one line).
    fn fail_unsubmitted(&mut self, ids: &[TaskId], err: &SlurmError) {
        let reason = chain(err);
        for &id in ids {
            self.done
                .push((id, failed(reason.clone(), None, Vec::new())));
        }
    }

    /// Reads new result files; hands over those of claimed slots.
    fn scan(&mut self) {
        for a in 0..self.arrays.len() {
            for (e, r) in self.arrays[a].scan() {
                self.deliver(a, e, r);
            }
        }
        self.last_scan = Some(Instant::now());
    }

    /// A slot's result (read from its file) to the scheduler.
    fn deliver(&mut self, a: usize, e: usize, r: usize) {
        let array = &mut self.arrays[a];
        let ours = array.ours;
        let slot = &mut array.elements[e].slots[r];
        let (Some(id), Some(result)) = (slot.task, slot.result.clone()) else {
            return;
        };
        if slot.delivered {
            return;
        }
        slot.delivered = true;
        if ours {
            let mut outcome = result.to_result();
            // SLURM signals every process of a cancelled element, the
            // element's runner and its task's processes in no set order:
            // a task killed before its runner knew of the cancel comes back
            // failed. Whatever failed once the cancel was sent was stopped
            // by it (the element's clock against this one's).
            if let (Some(at), Outcome::Failed(f)) = (self.cancelled_at_ms, &mut outcome.outcome)
                && result.ended_ms().is_some_and(|end| end >= at)
            {
                f.reason = format!("interrupted (array element {}_{e} cancelled)", array.job_id);
                f.interrupted = true;
            }
            self.done.push((id, outcome));
        } else {
            match self.accept_earlier(id, &result) {
                Some(accepted) => self.done.push((id, accepted)),
                None => self.again.push(id),
            }
        }
    }

    /// Asks `squeue` about every array not over, and closes the elements
    /// that ended: their claimed tasks without a result fail with the
    /// reason SLURM gives.
    fn poll(&mut self) {
        let ids: Vec<String> = self
            .arrays
            .iter()
            .filter(|a| !a.over())
            .map(|a| a.job_id.clone())
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        if let Ok(states) = watch::states(&ids) {
            for array in self.arrays.iter_mut().filter(|a| !a.over()) {
                array.update(&states);
            }
        }
        self.last_poll = Some(Instant::now());
    }

    /// Closes the elements that ended: what they did not finish fails.
    fn close_ended(&mut self) {
        for a in 0..self.arrays.len() {
            let closed = self.arrays[a].close_ended();
            for e in closed {
                if self.arrays[a].ours {
                    self.fail_open(a, e, None);
                } else {
                    // An earlier run's element ended without running this
                    // task: this run submits it.
                    for slot in &mut self.arrays[a].elements[e].slots {
                        if let (Some(id), false) = (slot.task, slot.delivered) {
                            slot.delivered = true;
                            self.again.push(id);
                        }
                    }
                }
            }
            let array = &mut self.arrays[a];
            if array.ours && array.over() && !array.recorded {
                array.recorded = true;
                self.cluster
                    .writer
                    .arrays_finished(vec![array.dir.0.to_string_lossy().into_owned()]);
            }
        }
    }

    /// Fails the claimed tasks of element `e` that have no result: with the
    /// element's end, or (`interrupted`) as stopped by the interrupt.
    fn fail_open(&mut self, a: usize, e: usize, interrupted: Option<bool>) {
        let open: Vec<usize> = self.arrays[a].elements[e]
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.task.is_some() && !s.delivered)
            .map(|(r, _)| r)
            .collect();
        if open.is_empty() {
            return;
        }
        let log = self.arrays[a].dir.log(e);
        let outcome_of = |reason: &str, tail: &[String]| match interrupted {
            Some(true) => TaskResult {
                stderr_log: Some(log.clone()),
                ..TaskResult::not_run(Outcome::Failed(Failure {
                    reason: reason.to_owned(),
                    exit_code: None,
                    signal: None,
                    stderr_tail: Vec::new(),
                    interrupted: true,
                    step_wide: false,
                }))
            },
            Some(false) => TaskResult::not_run(Outcome::NotRun),
            None => failed(reason.to_owned(), Some(log.clone()), tail.to_vec()),
        };
        let (reason, tail) = match interrupted {
            None => self.arrays[a].end_reason(e),
            Some(_) => (
                format!(
                    "interrupted (array element {}_{e} cancelled)",
                    self.arrays[a].job_id
                ),
                Vec::new(),
            ),
        };
        for r in open {
            let slot = &mut self.arrays[a].elements[e].slots[r];
            slot.delivered = true;
            if let Some(id) = slot.task {
                self.done.push((id, outcome_of(&reason, &tail)));
            }
        }
    }

    /// At the end of the run: records which arrays are over (ours and the
    /// earlier ones) and prunes old runs' array folders.
    pub(crate) fn finish(self) {
        let over: Vec<String> = self
            .arrays
            .iter()
            .filter(|a| a.over() || (!a.ours && (0..a.elements.len()).all(|e| !a.alive(e))))
            .filter(|a| !a.recorded)
            .map(|a| a.dir.0.to_string_lossy().into_owned())
            .collect();
        self.cluster.writer.arrays_finished(over);
        let keep_dirs: Vec<PathBuf> = self
            .arrays
            .iter()
            .filter(|a| !a.over() && (0..a.elements.len()).any(|e| a.alive(e)))
            .filter_map(|a| a.dir.0.parent().map(PathBuf::from))
            .collect();
        if let Some(current) = &self.run_dir {
            crate::state::logs::prune_sparing(
                &self.cluster.state_dir.join("slurm"),
                current,
                self.cluster.keep,
                &keep_dirs,
            );
        }
    }
}

impl WaveExecutor for SlurmExecutor<'_> {
    fn packing(&self) -> Packing {
        Packing {
            full: self.cluster.settings.tasks_per_element.max(1),
            linger: LINGER,
            min_gap: MIN_GAP,
        }
    }

    fn submit(&mut self, wave: &[(TaskId, Vec<TaskId>)]) {
        let mut fresh = std::mem::take(&mut self.again);
        for (id, failed) in wave {
            let id = *id;
            if !on_cluster(self.pipeline, self.plan, id) {
                self.lane.run(id, failed.clone());
                continue;
            }
            let task = &self.plan.tasks[id];
            let key = (
                self.pipeline.steps[task.step].name.clone(),
                task.key.clone(),
            );
            if let Some(slot) = self.unclaimed.remove(&key)
                && self.claim(id, slot)
            {
                continue;
            }
            fresh.push(id);
        }
        if !fresh.is_empty() {
            self.submit_new(&fresh);
        }
    }

    fn collect(&mut self, timeout: Duration) -> Vec<(TaskId, TaskResult)> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.again.is_empty() && !self.cancelled {
                let again = std::mem::take(&mut self.again);
                self.submit_new(&again);
            }
            if self.last_scan.is_none_or(|t| t.elapsed() >= SCAN_EVERY) {
                self.scan();
            }
            if self.last_poll.is_none_or(|t| t.elapsed() >= POLL_EVERY) {
                self.poll();
            }
            self.close_ended();
            if !self.done.is_empty() {
                return std::mem::take(&mut self.done);
            }
            let now = Instant::now();
            if now >= deadline {
                return Vec::new();
            }
            let wait = SCAN_EVERY.min(deadline - now);
            let local = self.lane.results(wait);
            if !local.is_empty() {
                return local;
            }
        }
    }

    fn cancel(&mut self) {
        self.cancelled = true;
        self.cancelled_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as u64);
        // Local tasks see the cancel flag, their processes get SIGTERM.
        crate::exec::scheduler::Executor::stop(self.local);
        let live: Vec<String> = self
            .arrays
            .iter()
            .filter(|a| (0..a.elements.len()).any(|e| a.alive(e)))
            .map(|a| a.job_id.clone())
            .collect();
        let ids: Vec<&str> = live.iter().map(String::as_str).collect();
        if let Err(err) = watch::cancel(&ids) {
            eprintln!("warning: {}", chain(&err));
        }
        wait_until_ended(&ids);
        self.scan();
        for a in 0..self.arrays.len() {
            for e in 0..self.arrays[a].elements.len() {
                if self.arrays[a].elements[e].over {
                    continue;
                }
                // An element that never started ran none of its tasks.
                let started =
                    self.arrays[a].elements[e].started || self.arrays[a].dir.log(e).exists();
                self.fail_open(a, e, Some(started));
                self.arrays[a].elements[e].over = true;
            }
        }
        self.again.clear();
    }
}

/// Waits (at most `CANCEL_WAIT`) until SLURM lists no element of these jobs
/// as pending or running.
fn wait_until_ended(ids: &[&str]) {
    let start = Instant::now();
    while start.elapsed() < CANCEL_WAIT {
        match watch::states(ids) {
            Ok(states) if states.values().all(ElementState::ended) => return,
            _ => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// A task that failed without running (or whose element died).
fn failed(reason: String, log: Option<PathBuf>, tail: Vec<String>) -> TaskResult {
    TaskResult {
        stderr_log: log,
        ..TaskResult::not_run(Outcome::Failed(Failure {
            reason,
            exit_code: None,
            signal: None,
            stderr_tail: tail,
            interrupted: false,
            step_wide: false,
        }))
    }
}
