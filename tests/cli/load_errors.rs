//! Load-time errors: exit 2 before anything runs, with file, line, column.

use crate::support::*;

/// Runs `check` on `toml` (with `data/a.csv` and `data/b.csv` present) and
/// returns stderr, asserting exit 2 and that nothing was written.
#[track_caller]
fn load_error(toml: &str) -> String {
    let t = Test::new();
    t.write("data/a.csv", "1\n")
        .write("data/b.csv", "2\n")
        .pipeline(toml);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(!t.exists("build"), "nothing may run");
    assert!(!t.exists(".runner"), "nothing may run");
    run.stderr
}

#[track_caller]
fn assert_at(stderr: &str, line_col: &str, words: &[&str]) {
    assert!(
        stderr.contains(&format!("pipeline.toml:{line_col}")),
        "expected pipeline.toml:{line_col} in\n{stderr}"
    );
    for w in words {
        assert!(stderr.contains(w), "expected {w:?} in\n{stderr}");
    }
}

const HEAD: &str = "[pipeline]\nout = \"build\"\n[inputs.logs]\nglob = [\"data/*.csv\"]\n";

#[test]
fn unknown_key() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"true\"]\ntimeot = \"1s\"\n"
    ));
    assert_at(
        &err,
        "9:1",
        &["unknown key `timeot`", "did you mean `timeout`?"],
    );
}

#[test]
fn unknown_reference_with_suggestion() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"clean\"\neach = \"logs\"\nrun = [\"true\"]\nout = \"{{{{ key }}}}\"\n\
         [[steps]]\nname = \"plot\"\neach = \"clen\"\nrun = [\"true\"]\n"
    ));
    assert_at(
        &err,
        "12:8",
        &["reads unknown name `clen`", "did you mean `clean`?"],
    );
}

#[test]
fn cycle_names_every_step() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"a\"\neach = \"c\"\nrun = [\"true\"]\nout = \"a/{{{{ key }}}}\"\n\
         [[steps]]\nname = \"b\"\neach = \"a\"\nrun = [\"true\"]\nout = \"b/{{{{ key }}}}\"\n\
         [[steps]]\nname = \"c\"\neach = \"b\"\nrun = [\"true\"]\nout = \"c/{{{{ key }}}}\"\n"
    ));
    assert_at(&err, "7:8", &["cycle", "a -> b -> c -> a"]);
}

#[test]
fn two_tasks_with_one_output() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"true\"]\nout = \"same.txt\"\n"
    ));
    assert_at(
        &err,
        "9:7",
        &[
            "two tasks write `build/same.txt`",
            "(key `a`)",
            "(key `b`)",
            "{{ key }}",
        ],
    );
}

#[test]
fn output_outside_the_out_folder() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"true\"]\nout = \"../{{{{ key }}}}.txt\"\n"
    ));
    assert_at(&err, "9:7", &["outside the output folder `build`"]);
}

#[test]
fn glob_matching_nothing() {
    let err = load_error(
        "[pipeline]\nout = \"build\"\n[inputs.logs]\nglob = [\"data/*.csv\", \"nothing/*.tsv\"]\n\
         [[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"true\"]\n",
    );
    assert_at(
        &err,
        "4:23",
        &[
            "glob `nothing/*.tsv` of input set `logs` matches no file",
            "allow_empty",
        ],
    );
}

#[test]
fn allow_empty_lets_a_glob_match_nothing() {
    let t = Test::new();
    t.pipeline(
        "[pipeline]\nout = \"build\"\n[inputs.logs]\nglob = [\"none/*.csv\"]\nallow_empty = true\n\
         [[steps]]\nname = \"s\"\nall = \"logs\"\nrun = [\"false\"]\n",
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
}

#[test]
fn two_files_with_one_key() {
    let t = Test::new();
    t.write("data/x.csv", "").write("data/x.tsv", "").pipeline(
        "[pipeline]\nout = \"build\"\n[inputs.logs]\nglob = [\"data/*\"]\n\
         [[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"true\"]\n",
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert_at(
        &run.stderr,
        "4:9",
        &["two files with the key `x`", "data/x.csv", "data/x.tsv"],
    );
}

#[test]
fn toml_syntax_error() {
    let err = load_error("[pipeline]\nout = \"build\nname = 1\n");
    assert_at(&err, "2:", &["invalid TOML"]);
}

#[test]
fn wrong_type() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\neach = \"logs\"\nrun = \"true\"\n"
    ));
    assert_at(&err, "8:7", &["expected a list of strings, found a string"]);
}

#[test]
fn none_or_two_fanouts_and_actions() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\nrun = [\"true\"]\n\
         [[steps]]\nname = \"t\"\neach = \"logs\"\nall = \"logs\"\nrun = [\"true\"]\n\
         [[steps]]\nname = \"u\"\neach = \"logs\"\n\
         [[steps]]\nname = \"v\"\neach = \"logs\"\nrun = [\"true\"]\nshell = \"true\"\n"
    ));
    assert_at(
        &err,
        "6:8",
        &["step `s` has none of `each`, `batch`, `all`"],
    );
    assert_at(&err, "11:7", &["step `t` has both `each` and `all`"]);
    assert_at(
        &err,
        "14:8",
        &["step `u` has none of `run`, `shell`, `use`"],
    );
    assert_at(&err, "20:9", &["step `v` has both `run` and `shell`"]);
    assert!(err.contains("4 problems"), "{err}");
}

#[test]
fn unknown_template_variable() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\nbatch = \"logs\"\nrun = [\"true\"]\n"
    ));
    assert_at(&err, "7:9", &["which has no batches", "batches = N"]);
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\nall = \"logs\"\nrun = [\"echo\", \"{{{{ input }}}}\"]\n"
    ));
    assert_at(
        &err,
        "8:20",
        &["unknown variable `input`", "did you mean `inputs`?"],
    );
}

#[test]
fn unparsable_duration() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"true\"]\ntimeout = \"2 minits\"\n"
    ));
    assert_at(&err, "9:11", &["cannot read `2 minits` as a duration"]);
}

#[test]
fn program_not_found() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\neach = \"logs\"\nrun = [\"no-such-program-xyz\", \"{{{{ input }}}}\"]\n"
    ));
    assert_at(
        &err,
        "8:8",
        &["program `no-such-program-xyz` of step `s` is not found"],
    );
}

#[test]
fn a_list_inside_a_run_argument() {
    let err = load_error(&format!(
        "{HEAD}[[steps]]\nname = \"s\"\nall = \"logs\"\nrun = [\"echo\", \"--in={{{{ inputs }}}}\"]\n"
    ));
    assert_at(&err, "8:25", &["a list cannot be written into one string"]);
}

#[test]
fn newer_format_version() {
    let err = load_error("[pipeline]\nformat_version = 2\n");
    assert_at(&err, "2:18", &["format_version 2", "knows format 1"]);
}
