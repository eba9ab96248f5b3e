//! The hash of a task's action: explicit, versioned fields (never a `Debug`
//! dump), so that renaming or adding a field in the code changes no user's
//! fingerprints, and changing what a fingerprint covers is a deliberate act
//! that bumps [`SCHEME_VERSION`]. Tests at the end pin known values.

use crate::config::{
    BuiltinStep, CallSpec, PlotLayout, PlotSpec, PlotTemplate, Step, WorkerProgram,
};
use crate::plan::{CallCommand, Command, PlotCommand, Task};
use crate::table::{Format, ReadOptions};

/// The version of the fingerprint scheme: what goes into a task's
/// fingerprint and how it is encoded. The one place to bump when either
/// changes (then update the pinned values in the tests below and add a line
/// to CHANGELOG.md): every task of every user runs once after the upgrade.
///
/// A new option that changes a task's output must be hashed; to keep the
/// fingerprints of tasks that do not use it, hash it only when it is set (or
/// differs from its default), and no bump is needed.
pub(crate) const SCHEME_VERSION: u32 = 2;

/// A BLAKE3 hasher fed with self-delimiting fields: every byte string is
/// length-prefixed and every list count-prefixed, so that no two different
/// actions give the same stream.
struct Fields(blake3::Hasher);

impl Fields {
    fn bytes(&mut self, bytes: &[u8]) {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn u64(&mut self, n: u64) {
        self.0.update(&n.to_le_bytes());
    }

    fn count(&mut self, n: usize) {
        self.u64(n as u64);
    }

    fn bool(&mut self, b: bool) {
        self.0.update(&[u8::from(b)]);
    }

    fn opt_str(&mut self, text: Option<&str>) {
        match text {
            None => self.bool(false),
            Some(text) => {
                self.bool(true);
                self.str(text);
            }
        }
    }
}

/// The hash of a task's action: the rendered command (with final paths),
/// declared env, built-in name, version and options, plot settings, texts
/// and template, whether stdout is the output, and the output paths.
pub(crate) fn action_hash(step: &Step, task: &Task) -> blake3::Hash {
    // Every field of a step, so that a new one cannot be forgotten here.
    let Step {
        name: _,       // a renamed step is new anyway (state is per name)
        kind: _,       // in the command's variant
        fanout: _,     // in the inputs
        upstream: _,   // in the inputs
        action: _,     // rendered into `task.command`
        outs: _,       // rendered into `task.outputs`
        outs_span: _,  // where, not what
        stdout_to_out, // hashed
        deps: _,       // their content is part of the fingerprint
        timeout: _,    // does not change a successful result
        retries: _,    // the same
        env,           // hashed
        threads,       // for a call: hashed when not 1 (below)
        placement: _,  // where it runs (local or SLURM) does not change a result
        partial: _,    // `task.failed` below
    } = step;
    let mut f = Fields(blake3::Hasher::new());
    f.str("runner-fingerprint");
    f.u64(u64::from(SCHEME_VERSION));
    match &task.command {
        Command::Argv(argv) => {
            f.str("argv");
            f.count(argv.len());
            for arg in argv {
                f.bytes(arg.as_encoded_bytes());
            }
        }
        Command::Shell(script) => {
            f.str("shell");
            f.str(script);
        }
        Command::Builtin(builtin) => builtin_fields(&mut f, builtin),
        Command::Plot(plot) => plot_fields(&mut f, plot),
        Command::Call(call) => {
            call_fields(&mut f, call);
            // A worker's numeric libraries get `threads` threads
            // (`OMP_NUM_THREADS`...), which can change their results in
            // the last bits. Hashed only when not the default, so that
            // other call steps keep their fingerprints.
            if *threads != 1 {
                f.str("threads");
                f.u64(*threads as u64);
            }
        }
    }
    f.str("env");
    f.count(env.len());
    for (key, value) in env.iter() {
        f.str(key);
        f.str(value);
    }
    f.bool(*stdout_to_out);
    f.str("outputs");
    f.count(task.outputs.len());
    for out in task.outputs.iter() {
        f.bytes(out.as_os_str().as_encoded_bytes());
    }
    // Only for partial steps, so that other tasks' fingerprints stay: the
    // set of upstream tasks that failed (a fixed file re-runs the summary).
    if let Some(failed) = &task.failed {
        f.str("failed");
        f.count(failed.len());
        for key in failed.iter() {
            f.str(key);
        }
    }
    f.0.finalize()
}

/// `use` and `with`: the name, the built-in's own version (bumped when its
/// output changes) and the options, keys sorted.
fn builtin_fields(f: &mut Fields, builtin: &BuiltinStep) {
    let BuiltinStep { name, options } = builtin;
    f.str("builtin");
    f.str(name);
    f.u64(u64::from(crate::steps::version(name)));
    toml_fields(f, &toml::Value::Table(options.clone()));
}

/// A TOML value, typed, tables with their keys sorted (the order of keys in
/// `with = {...}` means nothing).
fn toml_fields(f: &mut Fields, value: &toml::Value) {
    match value {
        toml::Value::String(s) => {
            f.str("s");
            f.str(s);
        }
        toml::Value::Integer(i) => {
            f.str("i");
            f.0.update(&i.to_le_bytes());
        }
        toml::Value::Float(x) => {
            f.str("f");
            f.u64(x.to_bits());
        }
        toml::Value::Boolean(b) => {
            f.str("b");
            f.bool(*b);
        }
        toml::Value::Datetime(d) => {
            f.str("d");
            f.str(&d.to_string());
        }
        toml::Value::Array(items) => {
            f.str("a");
            f.count(items.len());
            for item in items {
                toml_fields(f, item);
            }
        }
        toml::Value::Table(table) => {
            f.str("t");
            f.count(table.len());
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            for key in keys {
                f.str(key);
                toml_fields(f, &table[key.as_str()]);
            }
        }
    }
}

/// A call task: the worker (for Python, the interpreter as written, the
/// module, the function and the shim's version) and the `with` values as
/// rendered for this task, keys sorted. (The module's and its helpers'
/// content and the interpreter's binary are deps.)
fn call_fields(f: &mut Fields, call: &CallCommand) {
    let CallCommand { spec, with, vars } = call;
    let CallSpec {
        worker,
        with: _,      // rendered: `with` above
        max_tasks: _, // does not change a successful result
    } = spec.as_ref();
    f.str("call");
    match worker {
        WorkerProgram::Python {
            interpreter,
            interpreter_span: _,
            module,
            function,
            span: _,
        } => {
            f.str("python");
            f.str(interpreter);
            f.bytes(module.as_os_str().as_encoded_bytes());
            f.str(function);
            f.u64(u64::from(crate::exec::worker::SHIM_VERSION));
        }
        WorkerProgram::Argv { argv, span: _ } => {
            f.str("worker");
            f.count(argv.len());
            for arg in argv {
                f.str(arg);
            }
        }
    }
    let mut sorted: Vec<&(String, serde_json::Value)> = with.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    f.count(sorted.len());
    for (key, value) in sorted {
        f.str(key);
        json_fields(f, value);
    }
    // The function is given every var (it may read any): a change of one,
    // by `--set` or in the file, runs the step again. Hashed only when
    // there are vars, so that other call steps keep their fingerprints.
    if let Some(vars) = vars {
        f.str("vars");
        f.count(vars.len());
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        for name in names {
            f.str(name);
            toml_fields(f, &vars[name.as_str()]);
        }
    }
}

/// A JSON value, typed, objects with their keys sorted.
fn json_fields(f: &mut Fields, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => f.str("n"),
        Value::Bool(b) => {
            f.str("b");
            f.bool(*b);
        }
        Value::Number(n) => {
            f.str("#");
            f.str(&n.to_string());
        }
        Value::String(s) => {
            f.str("s");
            f.str(s);
        }
        Value::Array(items) => {
            f.str("a");
            f.count(items.len());
            for item in items {
                json_fields(f, item);
            }
        }
        Value::Object(map) => {
            f.str("o");
            f.count(map.len());
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                f.str(key);
                json_fields(f, &map[key.as_str()]);
            }
        }
    }
}

/// A plot task: the plot code's version and built-in template
/// (`plot::code_fingerprint`), every setting of the spec, and the texts as
/// rendered for this task. (A user's template file is a dep of its step.)
fn plot_fields(f: &mut Fields, plot: &PlotCommand) {
    let PlotCommand {
        spec,
        title,
        x_label,
        y_label,
    } = plot;
    // Every field of the spec, so that a new one cannot be forgotten here.
    let PlotSpec {
        template,
        x,
        y,
        max_series,
        title: _,   // rendered: `title` above
        x_label: _, // the same
        y_label: _, // the same
        width,
        height,
        x_log,
        y_log,
        y_zero,
        bins,
        skip_empty,
        table,
        layout,
    } = spec.as_ref();
    f.str("plot");
    f.bytes(crate::plot::code_fingerprint(template).as_bytes());
    match template {
        PlotTemplate::Builtin(kind) => {
            f.str("builtin");
            f.str(kind.name());
        }
        PlotTemplate::File(path) => {
            f.str("file");
            f.bytes(path.as_os_str().as_encoded_bytes());
        }
    }
    f.opt_str(x.as_deref());
    f.count(y.len());
    for column in y {
        f.str(column);
    }
    f.count(*max_series);
    f.u64(u64::from(*width));
    f.u64(u64::from(*height));
    f.bool(*x_log);
    f.bool(*y_log);
    f.bool(*y_zero);
    f.count(*bins);
    f.bool(*skip_empty);
    // Only when not the default, so that the fingerprints of plots written
    // before `layout` existed stay the same.
    if *layout == PlotLayout::Panels {
        f.str("layout=panels");
    }
    read_options_fields(f, table);
    for text in [title, x_label, y_label] {
        f.opt_str(text.as_deref());
    }
}

/// How a plot reads its tables: `format` as always, then each other option
/// only when it is set (so plots that set none keep their fingerprints).
fn read_options_fields(f: &mut Fields, options: &ReadOptions) {
    let ReadOptions {
        format,
        na,
        types,
        delimiter,
        decimal,
        encoding,
        time_format,
    } = options;
    f.opt_str(format.map(Format::name));
    if let Some(na) = na {
        f.str("na");
        f.count(na.len());
        for cell in na {
            f.str(cell);
        }
    }
    if !types.is_empty() {
        f.str("types");
        f.count(types.len());
        for (column, kind) in types {
            f.str(column);
            f.str(kind.name());
        }
    }
    if let Some(delimiter) = delimiter {
        f.str("delimiter");
        f.bytes(&[*delimiter]);
    }
    if *decimal != b'.' {
        f.str("decimal");
        f.bytes(&[*decimal]);
    }
    if *encoding != crate::table::Encoding::Utf8 {
        f.str("encoding");
        f.str(encoding.name());
    }
    let crate::table::TimeFormats { all, columns } = time_format;
    if all.is_some() || !columns.is_empty() {
        f.str("time_format");
        f.opt_str(all.as_ref().map(|t| t.name()).as_deref());
        f.count(columns.len());
        for (column, format) in columns {
            f.str(column);
            f.str(&format.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustc_hash::FxHashMap;

    use super::*;
    use crate::state::fingerprint::{self, Files};

    /// A pipeline with one step of each kind, over one data file.
    const PIPELINE: &str = r#"
[pipeline]
out = "build"
env = { LC_ALL = "C" }

[inputs.data]
glob = "data/*.csv"

[[steps]]
name = "rows"
each = "data"
run = ["wc", "-l", "{{ input }}"]
stdout = true
out = "rows/{{ key }}.txt"

[[steps]]
name = "sorted"
each = "data"
shell = "sort -r {{ input }} > {{ out }}"
env = { TMPDIR = "/tmp" }
out = "sorted/{{ key }}.csv"

[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
with = { layout = "wide", format = "csv" }
out = "stats/{{ key }}.csv"

[[steps]]
name = "summary"
all = "sorted"
partial = true
shell = "cat {{ inputs }} > {{ out }}"
out = "summary.txt"

[[steps]]
name = "call"
each = "data"
python = "scripts/f.py:plot"
with = { dpi = 120, title = "{{ stem }}", sizes = [1, 2.5], flags = { grid = true } }
out = "calls/{{ key }}.png"

[[plots]]
name = "plot"
each = "data"
template = "templates/plot.txt.j2"
x = "t"
y = ["v*"]
title = "{{ stem }} over time"
width = 640
out = "plots/{{ key }}.txt"
"#;

    /// The pipeline above, loaded and planned in a temporary folder.
    fn planned() -> (
        tempfile::TempDir,
        crate::config::Pipeline,
        crate::plan::Plan,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(root.join("data/x.csv"), "t,v1\n1,2\n3,4\n").unwrap();
        std::fs::write(root.join("templates/plot.txt.j2"), "{{ title }}\n").unwrap();
        std::fs::create_dir_all(root.join("build/sorted")).unwrap();
        std::fs::write(root.join("build/sorted/x.csv"), "3,4\n1,2\nt,v1\n").unwrap();
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::write(root.join("scripts/f.py"), "def plot(input, out): pass\n").unwrap();
        std::fs::write(root.join("pipeline.toml"), PIPELINE).unwrap();
        let pipeline = crate::config::load(&root.join("pipeline.toml")).unwrap();
        let plan = crate::plan::build(&pipeline).unwrap();
        (dir, pipeline, plan)
    }

    /// Per step: (action hash, fingerprint) of its one task, as hex.
    fn fingerprints() -> Vec<(String, String, String)> {
        let (_dir, pipeline, plan) = planned();
        let cache = FxHashMap::default();
        let files = Files::new(&pipeline.root, &cache);
        plan.tasks
            .iter()
            .map(|task| {
                let step = &pipeline.steps[task.step];
                let mut deps = fingerprint::StepDeps::new(&pipeline, step).of_task(task);
                // The call step's interpreter binary (absolute) is this
                // machine's: out of the pinned values.
                deps.retain(|p| p.is_relative());
                let fp = fingerprint::fingerprint(&pipeline, task, &deps, &deps, &files).unwrap();
                (
                    step.name.clone(),
                    fp.action.to_hex().to_string(),
                    fp.fingerprint.to_hex().to_string(),
                )
            })
            .collect()
    }

    /// Known fingerprints of representative tasks. If this fails, a change
    /// altered what goes into fingerprints: every user's tasks would all run
    /// again after upgrading. If that is deliberate, bump `SCHEME_VERSION`,
    /// update these values and say so in CHANGELOG.md. (A deliberate change
    /// of a plot's or built-in's output, `plot::VERSION` or a built-in's
    /// version, changes them too.)
    #[test]
    fn fingerprints_are_pinned() {
        let expected = [
            (
                "rows",
                "311c95e07606908c2b4109e590f5942b2217183cbbfdd9579cdb4cc2ed6b2cca",
                "bc96bf4f663601b09694d07b2876990056689c2bf78b59adf655ed8c2bb42d72",
            ),
            (
                "sorted",
                "92066b45a318e812ebeed2a3f5df9a551504a1054f22ca14c97137420291cbeb",
                "5d2b608d9091d7072555b6245f9b19a4748269570214106f49af1d7c2cbb4182",
            ),
            (
                // csv.stats v2 (issue 11: whole-column types, time columns).
                "stats",
                "732177225c886607e0ba6e00a1b344eee0e1245b33135d0c910e0c3dc6b27ec6",
                "5020fb90a35690d03366a39769d39e319bfa49c2720ec8f50f91ee1122b5d48b",
            ),
            (
                // A partial step (its empty failed set is hashed; the four
                // other values did not change when it came).
                "summary",
                "46be87ec45f3e7007344144befb8ae3b310e73e216b8c02b0b34bb50774e6ccd",
                "d5e4e093e57eaf9a9a72be59d0fbc74b243f76f85fe2f8230f9abb3d87897677",
            ),
            (
                // Shim version 2 (session 5: user modules never run from
                // a `__pycache__`; more files reported as loaded).
                "call",
                "acd0376d9dd66cb5d6d6cb7643723323db707e42ac28d1259e84dd2c5e1c94e9",
                "cfbfc70de525d2660336f001dd405363013c3fbdb10d86bb77ba48409cad8471",
            ),
            (
                "plot",
                "8b84ca759427892888dadb1d7d9c488a7afc6fa379904767dd53db37230cd2c2",
                "463d7f4178ae1de6c3db56ffb68e7a4b9b4d6dff67332e267ba8e3c70aad4393",
            ),
        ];
        let got = fingerprints();
        let got: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|(s, a, f)| (s.as_str(), a.as_str(), f.as_str()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn every_plot_setting_changes_the_action() {
        let (_dir, pipeline, plan) = planned();
        let plot_step = pipeline.step_index("plot").unwrap();
        let task = plan.tasks.iter().find(|t| t.step == plot_step).unwrap();
        let step = &pipeline.steps[task.step];
        let Command::Plot(plot) = &task.command else {
            panic!("not a plot: {:?}", task.command);
        };
        let base = action_hash(step, task);
        let changes: Vec<fn(&mut PlotCommand)> = vec![
            |p| {
                Arc::make_mut(&mut p.spec).template =
                    PlotTemplate::Builtin(crate::plot::Kind::Line);
            },
            |p| Arc::make_mut(&mut p.spec).x = None,
            |p| Arc::make_mut(&mut p.spec).y.push("w".into()),
            |p| Arc::make_mut(&mut p.spec).max_series += 1,
            |p| Arc::make_mut(&mut p.spec).width += 1,
            |p| Arc::make_mut(&mut p.spec).height += 1,
            |p| Arc::make_mut(&mut p.spec).x_log ^= true,
            |p| Arc::make_mut(&mut p.spec).y_log ^= true,
            |p| Arc::make_mut(&mut p.spec).y_zero ^= true,
            |p| Arc::make_mut(&mut p.spec).bins += 1,
            |p| Arc::make_mut(&mut p.spec).skip_empty ^= true,
            |p| Arc::make_mut(&mut p.spec).layout = PlotLayout::Panels,
            |p| Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table).format = Some(Format::Tsv),
            |p| Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table).na = Some(vec![]),
            |p| {
                Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table)
                    .types
                    .push(("t".into(), crate::table::ColumnType::Time));
            },
            |p| Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table).delimiter = Some(b';'),
            |p| Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table).decimal = b',',
            |p| {
                Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table).encoding =
                    crate::table::Encoding::Windows1252;
            },
            |p| {
                Arc::make_mut(&mut Arc::make_mut(&mut p.spec).table)
                    .time_format
                    .all = Some(crate::table::TimeFormat::UnixSeconds);
            },
            |p| p.title = None,
            |p| p.x_label = Some(String::new()),
            |p| p.y_label = Some("y".into()),
        ];
        let mut seen = vec![base];
        for change in changes {
            let mut changed = plot.clone();
            change(&mut changed);
            let mut task = task.clone();
            task.command = Command::Plot(changed);
            let hash = action_hash(step, &task);
            assert!(!seen.contains(&hash), "a plot setting is not hashed");
            seen.push(hash);
        }
    }

    /// A partial task's fingerprint covers the keys of its failed upstream
    /// tasks; a task of any other step hashes no such field.
    #[test]
    fn the_failed_set_of_a_partial_task_is_hashed() {
        let (_dir, pipeline, plan) = planned();
        let task = plan.tasks.iter().find(|t| t.failed.is_some()).unwrap();
        let step = &pipeline.steps[task.step];
        let none = action_hash(step, task);
        let mut one = task.clone();
        one.failed = Some(Arc::from(["x".to_owned()]));
        let mut other = task.clone();
        other.failed = Some(Arc::from(["y".to_owned()]));
        let (one, other) = (action_hash(step, &one), action_hash(step, &other));
        assert_ne!(none, one);
        assert_ne!(one, other);
        assert_eq!(
            plan.tasks.iter().filter(|t| t.failed.is_some()).count(),
            1,
            "only the partial step's task carries a failed set"
        );
    }

    #[test]
    fn every_call_setting_changes_the_action_but_with_order_does_not() {
        let (_dir, pipeline, plan) = planned();
        let call_step = pipeline.step_index("call").unwrap();
        let task = plan.tasks.iter().find(|t| t.step == call_step).unwrap();
        let step = &pipeline.steps[task.step];
        let Command::Call(call) = &task.command else {
            panic!("not a call: {:?}", task.command);
        };
        let hash = |change: &dyn Fn(&mut CallCommand)| {
            let mut changed = call.clone();
            change(&mut changed);
            let mut task = task.clone();
            task.command = Command::Call(changed);
            action_hash(step, &task)
        };
        let base = hash(&|_| {});
        assert_eq!(base, hash(&|c| c.with.reverse()), "the order of `with`");
        let python = |c: &mut CallCommand, edit: &dyn Fn(&mut String, &mut String, &mut String)| {
            if let WorkerProgram::Python {
                interpreter,
                module,
                function,
                ..
            } = &mut Arc::make_mut(&mut c.spec).worker
            {
                let mut m = module.to_string_lossy().into_owned();
                edit(interpreter, &mut m, function);
                *module = m.into();
            }
        };
        type Change = Box<dyn Fn(&mut CallCommand)>;
        let changes: Vec<Change> = vec![
            Box::new(|c| c.with[0].1 = serde_json::json!(121)),
            Box::new(|c| c.with[1].1 = serde_json::json!("other")),
            Box::new(|c| c.with[2].1 = serde_json::json!([1, 2.0])),
            Box::new(|c| c.with[0].0 = "dots".into()),
            Box::new(|c| c.with.pop().map(|_| ()).unwrap_or(())),
            Box::new(move |c| python(c, &|i, _, _| i.push('3'))),
            Box::new(move |c| python(c, &|_, m, _| m.insert(0, 'x'))),
            Box::new(move |c| python(c, &|_, _, f| f.push('2'))),
            Box::new(|c| {
                Arc::make_mut(&mut c.spec).worker = WorkerProgram::Argv {
                    argv: vec!["perl".into(), "w.pl".into()],
                    span: 0..0,
                }
            }),
            // The function is given `[vars]` (as `--set` changed them).
            Box::new(|c| {
                let vars: toml::Table = "n = 1".parse().unwrap();
                c.vars = Some(Arc::new(vars));
            }),
            Box::new(|c| {
                let vars: toml::Table = "n = 2".parse().unwrap();
                c.vars = Some(Arc::new(vars));
            }),
        ];
        let mut seen = vec![base];
        for change in &changes {
            let h = hash(change.as_ref());
            assert!(!seen.contains(&h), "a call setting is not hashed");
            seen.push(h);
        }
        // Recycling workers does not change what a task makes.
        assert_eq!(
            base,
            hash(&|c| Arc::make_mut(&mut c.spec).max_tasks = Some(3))
        );
    }

    #[test]
    fn option_order_means_nothing_but_values_do() {
        let hash = |text: &str| {
            let mut f = Fields(blake3::Hasher::new());
            toml_fields(&mut f, &toml::Value::Table(text.parse().unwrap()));
            f.0.finalize()
        };
        assert_eq!(hash("a = 1\nb = 'x'"), hash("b = 'x'\na = 1"));
        assert_ne!(hash("a = 1"), hash("a = '1'"));
        assert_ne!(hash("a = [1, 2]"), hash("a = [2, 1]"));
        assert_ne!(hash("a = { b = 1 }"), hash("a = { c = 1 }"));
    }
}
