//! The WAL left at close (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`): the state
//! files lost, damaged or mixed between runs never make a changed task up
//! to date, and never leave the pipeline stuck.

use crate::trust::{sets_aside_and_recovers, three_files};

/// A run recorded only in the WAL, then the WAL deleted, then its input
/// changed back: the task's fingerprint is again that of the record in the
/// database file, but its output is the lost run's: it runs again.
#[test]
fn a_deleted_wal_and_an_input_changed_back_run_the_task_again() {
    let t = three_files();
    t.run(["pipeline.toml"]).expect_code(0);
    // The first run in the database file itself.
    t.query("PRAGMA wal_checkpoint(TRUNCATE)");
    t.write("data/b.txt", "b changed\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("1 ok"), "{}", run.stderr);
    let dir = t.path(".runner/pipeline");
    assert!(
        std::fs::metadata(dir.join("state.db-wal")).unwrap().len() > 0,
        "the second run is not in the WAL"
    );
    std::fs::remove_file(dir.join("state.db-wal")).unwrap();
    let _ = std::fs::remove_file(dir.join("state.db-shm"));
    t.write("data/b.txt", "b\n");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("1 ok"), "{}", run.stderr);
    assert_eq!(t.read("build/b.txt"), "b\n");
}

/// An older `state.db` put back beside a newer WAL mixes pages of both: a
/// table's page can come from another table, and SQLite reads its rows
/// without a corruption error, with values of the wrong type ("Invalid
/// type"). That is damage too: the database is set aside, and the pipeline
/// is not stuck with exit 4 on every later run. (The mixed pages are made
/// here by hand: a `latest` row whose step is a BLOB.)
#[test]
fn a_row_of_the_wrong_type_sets_the_database_aside() {
    let t = three_files();
    t.run(["pipeline.toml"]).expect_code(0);
    t.query("UPDATE latest SET step = CAST(step AS BLOB) WHERE key = 'a'");
    sets_aside_and_recovers(&t, &["pipeline.toml"]);
}
