//! The example pipelines on SLURM: the same outputs, byte for byte, as a
//! local run, and the same idea of "up to date" both ways.

use std::path::Path;

use crate::support::{Test, files_under};
use crate::{cluster, sql};

/// A copy of the repository's `pipelines/` (with its data and templates).
fn examples() -> Test {
    let t = Test::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&repo.join("pipelines"), &t.path("pipelines"));
    t
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Sends a pipeline file's tasks to SLURM, 8 to an element; in `tools.toml`
/// the `summary` step stays on this machine.
fn on_slurm(t: &Test, file: &str) {
    let path = t.path(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    if file.ends_with("tools.toml") {
        text = text.replace(
            "name = \"summary\"\n",
            "name = \"summary\"\nexecutor = \"local\"\n",
        );
        assert!(text.contains("executor = \"local\""));
    }
    text.push_str("\n[executor]\nkind = \"slurm\"\ntasks_per_element = 8\n");
    std::fs::write(path, text).unwrap();
}

#[test]
fn example_pipelines_give_the_same_outputs_as_a_local_run() {
    let _node = cluster();
    let local = examples();
    let slurm = examples();
    for file in [
        "pipelines/plot.toml",
        "pipelines/tools.toml",
        "pipelines/python.toml",
        "pipelines/weather.toml",
    ] {
        on_slurm(&slurm, file);
        local.run([file]).expect_code(0);
        let run = slurm.run([file]);
        run.expect_code(0);
        assert!(run.stderr.contains(" 0 failed"), "{}", run.stderr);
    }
    let files = files_under(&local.path("build"));
    assert!(files.len() > 50, "{files:?}");
    assert_eq!(files, files_under(&slurm.path("build")));
    for file in &files {
        let a = std::fs::read(local.path("build").join(file)).unwrap();
        let b = std::fs::read(slurm.path("build").join(file)).unwrap();
        assert!(
            a == b,
            "`build/{file}` differs between the local and the SLURM run"
        );
    }
    // Every task went through an array but the local step's.
    let arrays = sql(
        &slurm,
        "plot",
        "SELECT count(*), sum(tasks) FROM slurm_arrays",
    );
    assert!(
        arrays.starts_with(|c: char| c.is_ascii_digit() && c != '0'),
        "{arrays}"
    );
    let lists = files_under(&slurm.path(".runner/tools/slurm"));
    let mut tools_tasks = String::new();
    for list in lists.iter().filter(|f| f.ends_with("tasks.json")) {
        tools_tasks += &slurm.read(format!(".runner/tools/slurm/{list}"));
    }
    assert!(tools_tasks.contains("\"step\":\"mean\""), "{tools_tasks}");
    assert!(
        !tools_tasks.contains("\"step\":\"summary\""),
        "{tools_tasks}"
    );
    assert_eq!(
        sql(
            &slurm,
            "tools",
            "SELECT status FROM latest WHERE step = 'summary'"
        ),
        "ok"
    );
    // The python example's calls ran in elements, and recorded the module
    // its functions import, as a local run does.
    assert_ne!(
        sql(&slurm, "python", "SELECT count(*) FROM slurm_arrays"),
        "0"
    );
    assert_eq!(
        sql(
            &slurm,
            "python",
            "SELECT DISTINCT deps FROM latest ORDER BY 1"
        ),
        sql(
            &local,
            "python",
            "SELECT DISTINCT deps FROM latest ORDER BY 1"
        )
    );
}

#[test]
fn up_to_date_means_the_same_on_slurm_and_here() {
    let _node = cluster();
    // Run on SLURM, then here: nothing to do.
    let t = examples();
    on_slurm(&t, "pipelines/tools.toml");
    t.run(["pipelines/tools.toml"]).expect_code(0);
    let run = t.run(["pipelines/tools.toml", "--executor", "local"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains(" 0 ok, 0 failed, 0 skipped, 29 up to date"),
        "{}",
        run.stderr
    );
    // Run here, then on SLURM: nothing to do, nothing submitted.
    let t = examples();
    t.run(["pipelines/tools.toml"]).expect_code(0);
    let run = t.run(["pipelines/tools.toml", "--executor", "slurm"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains(" 0 ok, 0 failed, 0 skipped, 29 up to date"),
        "{}",
        run.stderr
    );
    assert!(!t.exists(".runner/tools/slurm"));
    // A changed input runs again on SLURM alone, with its dependents.
    t.write("pipelines/data/alpha.csv", "t,value\n1,5\n2,7\n");
    let run = t.run(["pipelines/tools.toml", "--executor", "slurm"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains(" 4 ok, 0 failed, 0 skipped, 25 up to date"),
        "{}",
        run.stderr
    );
    assert_eq!(sql(&t, "tools", "SELECT sum(tasks) FROM slurm_arrays"), "4");
    let run = t.run(["pipelines/tools.toml"]);
    assert!(
        run.stderr
            .contains(" 0 ok, 0 failed, 0 skipped, 29 up to date"),
        "{}",
        run.stderr
    );
}
