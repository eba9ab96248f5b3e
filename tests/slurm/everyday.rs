//! Issue 12 in a run on SLURM: a `partial` step runs next to runner over
//! what its upstream elements left (with `failed` naming the others), and
//! an element's `python` steps are given `[vars]` as `--set` made them.

use crate::support::Test;
use crate::{cluster, inputs, sql};

/// `check` fails on `bad`; `label` notes `vars.label` and where it ran;
/// `summary` reduces what `check` left.
fn pipeline(t: &Test) {
    inputs(t, ["a", "b", "bad", "c"]);
    t.write(
        "label.py",
        "import os\n\n\ndef label(input, out, vars):\n    \
         with open(out, 'w') as f:\n        \
         f.write(f\"{vars['label']} {os.environ.get('SLURM_ARRAY_TASK_ID', 'here')}\\n\")\n",
    );
    t.pipeline(
        r#"
[pipeline]
name = "ev"
out = "out"

[vars]
label = "file"

[executor]
kind = "slurm"
tasks_per_element = 2

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "check"
each = "d"
shell = "grep -qv bad {{ input }} && cp {{ input }} {{ out }}"
out = "check/{{ key }}.txt"

[[steps]]
name = "label"
each = "d"
python = "label.py:label"
out = "label/{{ key }}.txt"

[[steps]]
name = "summary"
all = "check"
partial = true
shell = "cat {{ inputs }} > {{ out }}; echo missing: {{ failed }} ${SLURM_ARRAY_TASK_ID:-here} >> {{ out }}"
out = "summary.txt"
"#,
    );
}

/// The words of `out/label/KEY.txt`: the label, then the array element.
fn label_of(t: &Test, key: &str) -> (String, String) {
    let text = t.read(format!("out/label/{key}.txt"));
    let mut words = text.split_whitespace();
    (
        words.next().unwrap_or_default().to_owned(),
        words.next().unwrap_or_default().to_owned(),
    )
}

#[test]
fn a_partial_step_runs_here_over_what_elements_left_and_set_reaches_elements() {
    let _node = cluster();
    let t = Test::new();
    pipeline(&t);
    let run = t.run(["pipeline.toml", "--set", "label=Test"]);
    run.expect_code(1);
    // The partial step ran on the coordinator, over the three good files.
    assert_eq!(t.read("out/summary.txt"), "a\nb\nc\nmissing: bad here\n");
    assert!(
        run.stderr
            .contains("summary/all: partial: without check/bad (failed)"),
        "{}",
        run.stderr
    );
    // The python steps ran in elements, given the `--set` value.
    for key in ["a", "b", "bad", "c"] {
        let (label, element) = label_of(&t, key);
        assert_eq!(label, "Test", "{key}");
        assert!(element.parse::<u32>().is_ok(), "{key} ran in {element:?}");
    }
    assert_eq!(
        sql(
            &t,
            "ev",
            "SELECT count(*) FROM slurm_arrays WHERE run_id = (SELECT max(id) FROM runs)"
        ),
        "1"
    );

    // Again with the same value: only the failing task runs again; the
    // partial step's failed set is the same, so it is up to date.
    let again = t.run(["pipeline.toml", "--set", "label=Test"]);
    again.expect_code(1);
    assert_eq!(
        sql(
            &t,
            "ev",
            "SELECT group_concat(step || '/' || key, ' ') FROM tasks \
             WHERE run_id = (SELECT max(id) FROM runs)"
        ),
        "check/bad"
    );

    // Another value: the python steps run again (in elements) and see it.
    t.run(["pipeline.toml", "--set", "label=Other"])
        .expect_code(1);
    for key in ["a", "b", "bad", "c"] {
        assert_eq!(label_of(&t, key).0, "Other", "{key}");
    }
}
