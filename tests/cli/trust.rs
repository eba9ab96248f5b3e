//! Issue 10: never stale, never outside, never stuck. One regression test per
//! item of the issue, named after it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::*;

/// Runs a query on the pipeline's state database (with rusqlite): its
/// rows on lines, each row's values joined with `|`.
#[track_caller]
fn sql(t: &Test, query: &str) -> String {
    t.query(query).join("\n").trim().to_owned()
}

/// Waits for a condition that the test itself causes (no time limit on the
/// code under test: a hang shows as a test that never ends).
fn wait_until(mut ok: impl FnMut() -> bool) {
    while !ok() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process is still running (a zombie is not).
fn alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

fn set_mtime(path: &Path, when: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(when).unwrap();
}

/// Whether the files cache holds a hash of `path`.
fn cached(t: &Test, path: &str) -> bool {
    std::thread::sleep(Duration::from_millis(300));
    sql(
        t,
        &format!("SELECT count(*) FROM files WHERE path = CAST('{path}' AS BLOB)"),
    ) == "1"
}

const COPY: &str = r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "{{ key }}.txt"
"#;

#[test]
fn item_03_same_size_and_restored_mtime_is_rehashed() {
    let t = Test::new();
    t.write("data/a.txt", "aaaa\n").pipeline(COPY);
    // Old enough that its hash is remembered by size and mtime.
    let when = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&t.path("data/a.txt"), when);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "aaaa\n");
    // Runs until the state remembers the file's hash (its ctime is a few
    // seconds old by then).
    wait_until(|| {
        t.run(["pipeline.toml", "-q"]).expect_code(0);
        cached(&t, "data/a.txt")
    });
    // Same size, new content, mtime put back (`touch -d`, `rsync -t`).
    t.write("data/a.txt", "bbbb\n");
    set_mtime(&t.path("data/a.txt"), when);
    let run = t.run(["pipeline.toml", "-q"]);
    run.expect_code(0);
    assert_eq!(t.read("build/a.txt"), "bbbb\n", "{}", run.stderr);
    // A new file (new inode) with the old size and mtime, renamed into
    // place as rsync does.
    t.write("data/.a.new", "cccc\n");
    set_mtime(&t.path("data/.a.new"), when);
    wait_until(|| {
        t.run(["pipeline.toml", "-q"]).expect_code(0);
        cached(&t, "data/a.txt")
    });
    std::fs::rename(t.path("data/.a.new"), t.path("data/a.txt")).unwrap();
    t.run(["pipeline.toml", "-q"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "cccc\n");
    // Unchanged since: nothing runs.
    let run = t.run(["pipeline.toml"]);
    assert!(run.stderr.contains("1 up to date"), "{}", run.stderr);
}

#[test]
fn item_14_a_raw_byte_and_a_backslash_in_names_get_distinct_keys() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    let raw = std::ffi::OsStr::from_bytes(b"data/bad\xff.txt");
    t.write(raw, "raw byte\n")
        .write("data/bad\\xff.txt", "backslash\n")
        .pipeline(COPY);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    // Keys (and so the outputs named after them) differ: the backslash is
    // escaped, the raw byte shown as `\xff`.
    assert_eq!(t.read("build/bad\\xff.txt"), "raw byte\n");
    assert_eq!(t.read("build/bad\\\\xff.txt"), "backslash\n");
    let keys = sql(&t, "SELECT key FROM latest ORDER BY key");
    assert_eq!(keys, "bad\\\\xff\nbad\\xff");
    t.run(["pipeline.toml"]).expect_code(0);
    assert!(
        t.run(["pipeline.toml"]).stderr.contains("2 up to date"),
        "a second run must find both up to date"
    );
}

/// The attack of item 2: a task that reads its input, then writes it to
/// `{{ out }}` late. The killed run's task (content "old") writes only after
/// the next run's task (content "new") wrote its own temporary output, and
/// the next run's task waits for that (or for the old one to be gone).
const LATE_WRITER: &str = r#"
v=$(cat "$1")
echo $$ > "pid-$v"
touch "started-$v"
if [ "$v" = old ]; then
    while [ ! -e wrote-new ]; do sleep 0.05; done
    printf '%s\n' "$v" > "$2"
    touch wrote-old
else
    printf '%s\n' "$v" > "$2"
    touch wrote-new
    while [ ! -e wrote-old ] && kill -0 "$(cat pid-old)" 2>/dev/null; do sleep 0.05; done
fi
"#;

/// The attack of item 2, with `RUNNER_CGROUP` set to `cgroup_switch`.
fn kill_9_then_changed_input(cgroup_switch: &str) {
    let t = Test::new();
    t.write("data/a.txt", "old\n")
        .write("scripts/late.sh", LATE_WRITER)
        .pipeline(
            r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "late"
each = "data"
run = ["sh", "scripts/late.sh", "{{ input }}", "{{ out }}"]
out = "{{ key }}.txt"
"#,
        );
    let mut first = t
        .command(["pipeline.toml"])
        .env("RUNNER_CGROUP", cgroup_switch)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(|| t.exists("started-old"));
    // Its process group is on record (within one commit interval).
    wait_until(|| sql(&t, "SELECT count(*) FROM processes WHERE pgid IS NOT NULL") == "1");
    first.kill().unwrap(); // SIGKILL: its task keeps running
    first.wait().unwrap();
    assert!(alive(&t.read("pid-old")));
    t.write("data/a.txt", "new\n");
    let run = t
        .command(["pipeline.toml"])
        .env("RUNNER_CGROUP", cgroup_switch)
        .output_run();
    run.expect_code(0);
    assert_eq!(t.read("build/a.txt"), "new\n", "{}", run.stderr);
    // The crashed run's task was found and stopped before anything ran.
    assert!(!alive(&t.read("pid-old")), "the old task still runs");
    assert!(!t.exists("wrote-old"));
    assert!(
        run.stderr.contains("left running by run 1"),
        "{}",
        run.stderr
    );
    assert_eq!(sql(&t, "SELECT count(*) FROM processes"), "0");
    // Nothing of either attempt is left behind.
    let left: Vec<String> = files_under(&t.path("build"));
    assert_eq!(left, ["a.txt"]);
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "new\n");
}

#[test]
fn item_02_kill_9_then_changed_input_gives_new_content() {
    kill_9_then_changed_input("auto");
}

#[test]
fn item_02_kill_9_then_changed_input_gives_new_content_without_cgroups() {
    kill_9_then_changed_input("off");
}

#[test]
fn item_02_a_task_that_outlived_its_killed_run_and_ended_since_is_named() {
    let t = Test::new();
    t.write("data/a.txt", "a\n").write("hold", "").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "wait"
each = "data"
shell = "echo $$ > pid; while [ -e hold ]; do sleep 0.05; done; cp {{ input }} {{ out }}"
out = "{{ key }}.txt"
"#,
    );
    let mut first = t
        .command(["pipeline.toml"])
        .env("RUNNER_CGROUP", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(|| t.exists("pid"));
    wait_until(|| sql(&t, "SELECT count(*) FROM processes WHERE pgid IS NOT NULL") == "1");
    first.kill().unwrap(); // SIGKILL: its task keeps running
    first.wait().unwrap();
    let pid = t.read("pid");
    assert!(alive(&pid));
    std::fs::remove_file(t.path("hold")).unwrap();
    wait_until(|| !alive(&pid)); // it ends by itself
    let run = t
        .command(["pipeline.toml"])
        .env("RUNNER_CGROUP", "off")
        .output_run();
    run.expect_code(0);
    assert!(
        run.stderr.contains(
            "the processes of task wait a (attempt 1) left running by run 1 had already ended"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("stopped the processes"),
        "{}",
        run.stderr
    );
    assert_eq!(t.read("build/a.txt"), "a\n");
    assert_eq!(sql(&t, "SELECT count(*) FROM processes"), "0");
}

#[test]
fn item_02_a_run_cleans_up_after_its_own_pipeline_only() {
    const SLEEPER: &str = r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "sleep"
each = "data"
shell = "echo $$ > pid; sleep 600; cp {{ input }} {{ out }}"
out = "{{ key }}.txt"
"#;
    let a = Test::new();
    a.write("data/a.txt", "a\n").pipeline(SLEEPER);
    let mut first = a
        .command(["pipeline.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(|| a.exists("pid"));
    wait_until(|| sql(&a, "SELECT count(*) FROM processes WHERE pgid IS NOT NULL") == "1");
    first.kill().unwrap(); // SIGKILL: its task keeps running
    first.wait().unwrap();
    let pid = a.read("pid");
    // Another pipeline's run leaves it alone and says nothing of it.
    let b = Test::new();
    b.write("data/b.txt", "b\n")
        .pipeline(&SLEEPER.replace("sleep 600; ", ""));
    let other = b.run(["pipeline.toml"]);
    other.expect_code(0);
    assert!(!other.stderr.contains("note:"), "{}", other.stderr);
    assert!(alive(&pid), "another pipeline's run stopped it");
    // Its own pipeline's next run stops it and says so.
    a.pipeline(&SLEEPER.replace("sleep 600; ", ""));
    let own = a.run(["pipeline.toml"]);
    own.expect_code(0);
    assert!(
        own.stderr
            .contains("stopped the processes of task sleep a (attempt 1) left running by run 1"),
        "{}",
        own.stderr
    );
    assert!(!alive(&pid));
    if cgroup2_writable() {
        assert_eq!(sql(&a, "SELECT isolation FROM runs WHERE id = 2"), "cgroup");
    }
}

#[test]
fn item_15_names_of_246_to_255_bytes_work() {
    let t = Test::new();
    for len in [246, 250, 255] {
        // `data/NAME.txt` with a NAME.txt of `len` bytes.
        let name = format!("{}.txt", "n".repeat(len - 4 - 3) + &format!("{len:03}"));
        assert_eq!(name.len(), len);
        t.write(format!("data/{name}"), format!("v\n{len}\n"));
    }
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.txt"
[[steps]]
name = "cat"
each = "copy"
shell = "cat {{ input }} > {{ out }}"
out = "cat/{{ key }}.txt"
[[steps]]
name = "wc"
each = "cat"
run = ["wc", "-c", "{{ input }}"]
stdout = true
out = "wc/{{ key }}.txt"
[[steps]]
name = "stats"
each = "cat"
use = "csv.stats"
with = { format = "csv" }
out = "stats/{{ key }}.csv"
[[steps]]
name = "long"
each = "cat"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "long/{{ key }}.json"
"#,
    );
    // An output name longer than 255 bytes is found before anything runs.
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("is 256 bytes long") && run.stderr.contains("at most 255"),
        "{}",
        run.stderr
    );
    assert!(!t.exists("build"));
    t.pipeline(
        &t.read("pipeline.toml")
            .replace("long/{{ key }}.json", "long/{{ key }}.t"),
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    for len in [246, 250, 255] {
        let name = format!("{}.txt", "n".repeat(len - 4 - 3) + &format!("{len:03}"));
        assert_eq!(t.read(format!("build/cat/{name}")), format!("v\n{len}\n"));
        assert!(t.exists(format!("build/wc/{name}")));
    }
    assert!(t.run(["pipeline.toml"]).stderr.contains("15 up to date"));
}

/// Whether this machine lets runner make cgroups (cgroup2 mounted, our own
/// cgroup writable), found the way runner should: /proc/self/mountinfo and
/// /proc/self/cgroup.
fn cgroup2_writable() -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some((root, mount)) = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        right.starts_with("cgroup2 ").then(|| {
            let fields: Vec<&str> = left.split(' ').collect();
            (fields[3].to_owned(), fields[4].to_owned())
        })
    }) else {
        return false;
    };
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(own) = cgroup.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    let own = own.strip_prefix(root.as_str()).unwrap_or(own);
    let probe = Path::new(&mount)
        .join(own.trim_start_matches('/'))
        .join(format!("runner-test-probe-{}", std::process::id()));
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok
}

const ESCAPES: &str = r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "hang"
each = "data"
shell = "setsid sh -c 'echo $$ > e.tmp; mv e.tmp escaped-hang.pid; exec sleep 300' & sleep 300 & echo $! > grouped-hang.pid; wait"
timeout = "1s"
[[steps]]
name = "done"
each = "data"
shell = "setsid sh -c 'echo $$ > d.tmp; mv d.tmp escaped-done.pid; exec sleep 300' > /dev/null 2>&1 & sleep 300 > /dev/null 2>&1 & echo $! > grouped-done.pid; while [ ! -e escaped-done.pid ]; do sleep 0.01; done; echo ok > {{ out }}"
out = "{{ key }}.txt"
[[steps]]
name = "memory"
each = "data"
run = ["python3", "-c", "b = bytearray(60_000_000); b[::4096] = b'x' * len(b[::4096])"]
"#;

#[test]
fn item_12_cgroups_kill_every_descendant_where_writable() {
    let t = Test::new();
    t.write("data/a.txt", "").pipeline(ESCAPES);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(run.stderr.contains("timed out after 1s"), "{}", run.stderr);
    let isolation = sql(&t, "SELECT isolation FROM runs");
    // Whatever the machine, what stayed in the process group is gone.
    assert!(!alive(&t.read("grouped-hang.pid")));
    assert!(!alive(&t.read("grouped-done.pid")));
    if cgroup2_writable() {
        assert_eq!(isolation, "cgroup");
        // `setsid` left the group, not the cgroup.
        assert!(!alive(&t.read("escaped-hang.pid")), "escaped a timeout");
        assert!(!alive(&t.read("escaped-done.pid")), "outlived its task");
    } else {
        eprintln!("note: no writable cgroup2 here; checked the process-group fallback");
        assert_eq!(isolation, "process-group");
        for pid in ["escaped-hang.pid", "escaped-done.pid"] {
            let _ = std::process::Command::new("kill")
                .arg(t.read(pid).trim())
                .status();
        }
    }
    // Peak memory of each task that ran a command (bytes).
    let peak: u64 = sql(&t, "SELECT peak_memory FROM tasks WHERE step = 'memory'")
        .parse()
        .unwrap();
    assert!(peak >= 60_000_000, "peak memory {peak}");
}

#[test]
fn item_12_without_cgroups_the_process_group_is_killed() {
    let t = Test::new();
    t.write("data/a.txt", "").pipeline(ESCAPES);
    let run = t
        .command(["pipeline.toml"])
        .env("RUNNER_CGROUP", "off")
        .output_run();
    run.expect_code(1);
    assert_eq!(sql(&t, "SELECT isolation FROM runs"), "process-group");
    assert!(!alive(&t.read("grouped-hang.pid")));
    assert!(!alive(&t.read("grouped-done.pid")));
    // `setsid` leaves a process group: without cgroups, those survive (as
    // documented). Stop them here.
    for pid in ["escaped-hang.pid", "escaped-done.pid"] {
        assert!(alive(&t.read(pid)));
        let _ = std::process::Command::new("kill")
            .arg(t.read(pid).trim())
            .status();
    }
    let peak: u64 = sql(&t, "SELECT peak_memory FROM tasks WHERE step = 'memory'")
        .parse()
        .unwrap();
    assert!(peak >= 60_000_000, "peak memory {peak}");
}

/// Runs the binary in `t`'s folder and returns its exit code and peak
/// resident memory in bytes (`ru_maxrss`: deterministic enough to bound,
/// unlike time). A small Python process spawns and waits for it: on Linux a
/// child's `ru_maxrss` starts at what its parent had resident when it was
/// spawned, and this test process holds the big inputs of the tests running
/// beside it (which made the number depend on what else ran: 136 MB was
/// seen for a run that peaks at 67 MB).
fn peak_memory(t: &Test, args: &[&str]) -> (i32, u64) {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import os, subprocess, sys\n\
             p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
             _, status, usage = os.wait4(p.pid, 0)\n\
             print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)",
        )
        .arg(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .current_dir(t.root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let (code, peak) = text
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("python3: {}", String::from_utf8_lossy(&out.stderr)));
    (code.parse().unwrap(), peak.parse().unwrap())
}

/// A pipeline file: a chain of `steps` steps, each copying the last one's
/// output.
fn chain(steps: usize) -> String {
    let mut toml = String::from("[pipeline]\nout = \"build\"\n[inputs.d]\nglob = \"data/*.txt\"\n");
    let mut previous = "d".to_owned();
    for i in 0..steps {
        toml.push_str(&format!(
            "[[steps]]\nname = \"s{i}\"\neach = \"{previous}\"\nrun = [\"cp\", \"{{{{ input }}}}\", \"{{{{ out }}}}\"]\nout = \"s{i}/{{{{ key }}}}.txt\"\n"
        ));
        previous = format!("s{i}");
    }
    toml
}

#[test]
fn item_10_check_of_a_16000_step_chain_is_linear() {
    // The old check walked the whole chain from every step (cubic): in a
    // release build 8.5 s of CPU for 4,000 steps, 58 s for 8,000, so some
    // 8 minutes for 16,000, where it now takes well under a second (a
    // regression shows as this test running for minutes). It also kept
    // 48 KB per step (a compiled template per step for each use); now
    // about 15 KB. Memory is compared between two sizes, so what every run
    // has regardless of size cancels out.
    let t = Test::new();
    t.write("data/a.txt", "a\n").pipeline(&chain(4000));
    let (code, small) = peak_memory(&t, &["check", "pipeline.toml"]);
    assert_eq!(code, 0);
    t.pipeline(&chain(16000));
    let (code, large) = peak_memory(&t, &["check", "pipeline.toml"]);
    assert_eq!(code, 0);
    let per_step = large.saturating_sub(small) / 12000;
    assert!(
        per_step < 30_000,
        "{per_step} bytes per step ({} MB for 4,000 steps, {} MB for 16,000)",
        small >> 20,
        large >> 20
    );
    // A cycle at the end of a long chain is still found, and named.
    let cycle = chain(4000).replace("each = \"d\"", "each = \"s3999\"");
    t.pipeline(&cycle);
    let run = t.run(["check", "pipeline.toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("steps form a cycle: s0 -> s1 -> s2"),
        "{}",
        &run.stderr[..run.stderr.len().min(500)]
    );
}

#[test]
fn item_10_a_pipeline_file_is_read_up_to_16_mb() {
    let t = Test::new();
    let run = t.run(["check", "/dev/zero"]);
    run.expect_code(2);
    assert!(run.stderr.contains("larger than 16 MB"), "{}", run.stderr);
    // 16 MB of comments and a valid file is still read.
    let mut big = "#".repeat(1000) + "\n";
    big = big.repeat(16 * 1024 - 1);
    big.push_str("[pipeline]\nout = \"build\"\n");
    t.pipeline(&big);
    t.run(["check", "pipeline.toml"]).expect_code(0);
}

/// The line:column of the first `needle` in `text` (1-based), as runner
/// prints it.
fn line_col(text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the file"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
    format!("pipeline.toml:{line}:{col}")
}

/// Checks that `toml` is refused before anything runs, with a message
/// containing `message` at the place of `at`.
#[track_caller]
fn refused(t: &Test, toml: &str, at: &str, message: &str) {
    t.pipeline(toml);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(run.stderr.contains(message), "{message}\n{}", run.stderr);
    let place = line_col(toml, at);
    assert!(run.stderr.contains(&place), "{place}\n{}", run.stderr);
    assert!(!t.exists("build") && !t.exists(".runner"), "{}", run.stderr);
}

fn with_step(extra: &str) -> String {
    format!(
        r#"[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{{{ input }}}}", "{{{{ out }}}}"]
out = "{{{{ key }}}}.txt"
{extra}"#
    )
}

#[test]
fn item_07_durations_longer_than_a_year_are_refused() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    refused(
        &t,
        &with_step("timeout = \"500000000000y\""),
        "\"500000000000y\"",
        "longer than a year",
    );
    let toml = with_step("").replace(
        "glob = \"data/*.txt\"",
        "glob = \"data/*.txt\"\nmin_age = \"500000000000y\"",
    );
    refused(&t, &toml, "\"500000000000y\"", "longer than a year");
    // A year is fine, and runs.
    t.pipeline(&with_step("timeout = \"1y\""));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(t.read("build/a.txt"), "a\n");
}

#[test]
fn item_17_a_zero_timeout_is_refused() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    refused(
        &t,
        &with_step("timeout = \"0s\""),
        "\"0s\"",
        "`timeout` must be longer than 0",
    );
    refused(
        &t,
        &with_step("timeout = \"0ms\""),
        "\"0ms\"",
        "`timeout` must be longer than 0",
    );
}

#[test]
fn item_11_on_failure_runs_after_the_lock_is_released_and_has_a_timeout() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    let toml = r#"[pipeline]
out = "build"
on_failure = ["sh", "-c", "\"$RUNNER_BIN\" pipeline.toml --only good -q; echo $? > second; echo $$ > hook.pid; exec sleep 300"]
on_failure_timeout = "1s"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "good"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "good/{{ key }}.txt"
[[steps]]
name = "bad"
each = "data"
run = ["false"]
"#;
    t.pipeline(toml);
    let run = t
        .command(["pipeline.toml"])
        .env("RUNNER_BIN", env!("CARGO_BIN_EXE_runner"))
        .output_run();
    run.expect_code(1);
    // The hook ran a second run of the pipeline, which got the lock.
    assert_eq!(t.read("second").trim(), "0", "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`on_failure` command `sh` timed out after 1s"),
        "{}",
        run.stderr
    );
    assert!(!alive(&t.read("hook.pid")), "the hook still runs");
    // The default is 60 s; a bad value is refused.
    let t = Test::new();
    refused(
        &t,
        &toml.replace("\"1s\"", "\"0s\""),
        "\"0s\"",
        "`on_failure_timeout` must be longer than 0",
    );
}

#[test]
fn item_04_a_derived_name_is_checked_and_only_runners_log_folders_are_pruned() {
    let t = Test::new();
    t.write("data/a.txt", "a\n")
        .write("logs/1/precious.txt", "mine")
        .write("logs/2/precious.txt", "mine");
    // `...toml` has the stem `..`: its state folder would be root itself.
    t.write(
        "...toml",
        with_step("").replace("out = \"build\"", "out = \"build\"\nkeep_logs = 1"),
    );
    let run = t.run(["...toml"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("the name `..`") && run.stderr.contains("[pipeline] name"),
        "{}",
        run.stderr
    );
    assert!(!t.exists("state.db") && !t.exists("build"));
    assert_eq!(t.read("logs/1/precious.txt"), "mine");

    // In a state folder, only the log folders runner made are pruned.
    let t = Test::new();
    t.write("data/a.txt", "a\n")
        .write(".runner/pipeline/logs/1/precious.txt", "mine")
        .write(".runner/pipeline/logs/notes/precious.txt", "mine")
        .pipeline(
            &with_step("")
                .replace("out = \"build\"", "out = \"build\"\nkeep_logs = 1")
                .replace(
                    "run = [\"cp\", \"{{ input }}\", \"{{ out }}\"]",
                    "shell = \"echo copying; cp {{ input }} {{ out }}\"",
                ),
        );
    for _ in 0..3 {
        t.run(["pipeline.toml", "--force"]).expect_code(0);
    }
    assert_eq!(t.read(".runner/pipeline/logs/1/precious.txt"), "mine");
    assert_eq!(t.read(".runner/pipeline/logs/notes/precious.txt"), "mine");
    // Run 1 wrote its logs beside the folder it did not make; of runner's
    // own log folders, only the last run's is kept.
    let mut logs: Vec<String> = std::fs::read_dir(t.path(".runner/pipeline/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    logs.sort();
    assert_eq!(logs, ["1", "3", "notes"]);
    assert!(
        t.read(".runner/pipeline/logs/3/copy/a.out")
            .contains("copying")
    );
}

#[test]
fn item_05_state_and_out_must_not_overlap_root_each_other_or_inputs() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    let base = with_step("");
    let set = |key_value: &str| base.replace("out = \"build\"\n", &format!("{key_value}\n"));
    let state = |value: &str| set(&format!("out = \"build\"\nstate = {value}"));
    refused(
        &t,
        &state("\"..\""),
        "\"..\"",
        "`state` must be inside `root`",
    );
    refused(
        &t,
        &state("\"../elsewhere\""),
        "\"../elsewhere\"",
        "`state` must be inside `root`",
    );
    refused(
        &t,
        &state("\"\""),
        "\"\"",
        "`state` cannot be the root folder itself",
    );
    refused(
        &t,
        &state("\".\""),
        "\".\"",
        "`state` cannot be the root folder itself",
    );
    refused(
        &t,
        &state("\"/\""),
        "\"/\"",
        "`state` cannot be `root` or a folder that holds it",
    );
    refused(&t, &state("\"data\""), "\"data\"", "input set `data` reads");
    refused(
        &t,
        &state("\"data/state\""),
        "\"data/state\"",
        "input set `data` reads",
    );
    refused(&t, &state("\"build/state\""), "\"build/state\"", "overlap");
    refused(&t, &set("out = \".runner\""), "\".runner\"", "`.runner`");
    refused(
        &t,
        &set("out = \".runner/other\""),
        "\".runner/other\"",
        "`.runner`",
    );
    refused(
        &t,
        &set("out = \"data/processed\""),
        "\"data/processed\"",
        "input set `data` reads",
    );
    refused(
        &t,
        &set("out = \"data/..\""),
        "\"data/..\"",
        "`out` cannot be the root folder itself",
    );
    let parent = t.root().parent().unwrap().display().to_string();
    refused(
        &t,
        &set(&format!("out = \"{parent}\"")),
        &format!("\"{parent}\""),
        "`out` cannot be `root` or a folder that holds it",
    );
    refused(
        &t,
        &set("out = \"..\""),
        "\"..\"",
        "`out` must be inside `root`",
    );
    // `out` and `state` may be absolute (scratch space elsewhere), both.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("out");
    let state_dir = elsewhere.path().join("state");
    t.pipeline(&set(&format!(
        "out = \"{}\"\nstate = \"{}\"",
        out.display(),
        state_dir.display()
    )));
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "a\n");
    assert!(state_dir.join("state.db").exists());
    assert!(!t.exists(".runner"));
}

#[test]
fn item_06_an_output_folder_linked_into_the_state_is_refused() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    std::fs::create_dir_all(t.path(".runner/pipeline")).unwrap();
    std::os::unix::fs::symlink(".runner/pipeline", t.path("build")).unwrap();
    let toml = with_step("");
    t.pipeline(&toml);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(2);
    assert!(run.stderr.contains("overlap"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&line_col(&toml, "\"build\"")),
        "{}",
        run.stderr
    );
    assert!(!t.exists(".runner/pipeline/state.db"));
    // A link to scratch space elsewhere is the user's choice, and followed.
    let scratch = tempfile::tempdir().unwrap();
    std::fs::remove_file(t.path("build")).unwrap();
    std::os::unix::fs::symlink(scratch.path(), t.path("build")).unwrap();
    t.run(["pipeline.toml"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("a.txt")).unwrap(),
        "a\n"
    );
}

/// Overwrites the root page of `table` in the state database with garbage:
/// a real corrupted page ("database disk image is malformed" on reading it),
/// with a valid header.
fn corrupt_table(t: &Test, table: &str) {
    sql(t, "PRAGMA wal_checkpoint(TRUNCATE)");
    let page_size: u64 = sql(t, "PRAGMA page_size").parse().unwrap();
    let root: u64 = sql(
        t,
        &format!("SELECT rootpage FROM sqlite_master WHERE name = '{table}'"),
    )
    .parse()
    .unwrap();
    assert!(root > 1);
    use std::io::{Seek, SeekFrom, Write};
    let mut db = std::fs::File::options()
        .write(true)
        .open(t.path(".runner/pipeline/state.db"))
        .unwrap();
    db.seek(SeekFrom::Start((root - 1) * page_size)).unwrap();
    db.write_all(&vec![0xa5; page_size as usize]).unwrap();
}

/// Runs `args` on `three_files`' pipeline, whose state is damaged: the
/// database is set aside, the three tasks run, and the run after finds
/// them up to date in the new one. Also used by `wal_kept`.
pub(crate) fn sets_aside_and_recovers(t: &Test, args: &[&str]) {
    let run = t.run(args.iter().copied());
    run.expect_code(0);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);
    assert!(run.stderr.contains("3 ok"), "{}", run.stderr);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("3 up to date"), "{}", run.stderr);
}

/// Three small files and a step copying each (`COPY`); also the fixture of
/// `wal_kept`.
pub(crate) fn three_files() -> Test {
    let t = Test::new();
    for k in ["a", "b", "c"] {
        t.write(format!("data/{k}.txt"), format!("{k}\n"));
    }
    t.pipeline(COPY);
    t
}

#[test]
fn item_08_a_corrupted_page_read_at_start_sets_the_database_aside() {
    let t = three_files();
    t.run(["pipeline.toml"]).expect_code(0);
    corrupt_table(&t, "latest");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("is damaged") && run.stderr.contains("moved it to"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("3 ok"), "{}", run.stderr);
    // The damaged file is kept beside, for whoever wants to look at it,
    // with its WAL (which may hold the last runs).
    let mut aside: Vec<String> = std::fs::read_dir(t.path(".runner/pipeline"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("damaged"))
        .collect();
    aside.sort();
    assert_eq!(aside.len(), 2, "{aside:?}");
    assert_eq!(format!("{}-wal", aside[0]), aside[1]);
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert!(run.stderr.contains("3 up to date"), "{}", run.stderr);
}

#[test]
fn item_08_a_corrupted_page_hit_while_recording_sets_the_database_aside() {
    let t = three_files();
    t.run(["pipeline.toml"]).expect_code(0);
    // `tasks` is only written during a run: the damage is found then.
    corrupt_table(&t, "tasks");
    sets_aside_and_recovers(&t, &["pipeline.toml", "--force"]);
    assert!(
        t.run(["history", "pipeline.toml"]).stdout.lines().count() >= 2,
        "history reads the new database"
    );
}

#[test]
fn item_16_a_full_disk_says_what_could_not_be_written() {
    // The state's log folder on a full file system: a 64 KB tmpfs, mounted
    // in a mount namespace of the run's own (unshare), gone with it.
    let t = Test::new();
    t.write("data/a.txt", "a\n").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "loud"
each = "data"
shell = "head -c 1000000 /dev/zero | tr '\\0' x >&2; cp {{ input }} {{ out }}"
out = "{{ key }}.txt"
"#,
    );
    std::fs::create_dir_all(t.path(".runner/pipeline/logs")).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut unshare = std::process::Command::new("unshare");
    unshare.arg("--mount");
    if !root {
        unshare.arg("--map-root-user");
    }
    let run = unshare
        .args([
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k tmpfs .runner/pipeline/logs && exec \"$0\" pipeline.toml",
            env!("CARGO_BIN_EXE_runner"),
        ])
        .current_dir(t.root())
        .stdin(std::process::Stdio::null())
        .output_run();
    assert!(
        !run.stderr.contains("mount:") && !run.stderr.contains("unshare:"),
        "this test needs a mount namespace (root, or user namespaces): {}",
        run.stderr
    );
    run.expect_code(1);
    // The command ran: the message says that its log could not be written,
    // not that it could not be run.
    assert!(
        run.stderr
            .contains("`sh` ran, but its output could not be written to its log")
            && run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("cannot run"), "{}", run.stderr);
}

/// Found by bench/attack (session 5): a task's short output, kept in
/// memory and written to its log when the task ends, was dropped without a
/// word when that write failed, and the task counted as ok. Here the
/// command puts a file where its step's log folder goes.
#[test]
fn found_a_log_that_cannot_be_written_at_the_end_fails_its_task() {
    let t = Test::new();
    t.write("data/a.txt", "a\n");
    t.pipeline(
        r#"
[pipeline]
out = "build"
[inputs.d]
glob = "data/*.txt"
[[steps]]
name = "s"
each = "d"
shell = "echo hi; mkdir -p .runner/pipeline/logs/1 && : > .runner/pipeline/logs/1/s; cp {{ input }} {{ out }}"
out = "{{ key }}.txt"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("`sh` ran, but its output could not be written to its log"),
        "{}",
        run.stderr
    );
}

#[test]
fn item_01_files_named_by_the_rendered_command_are_dependencies() {
    let t = Test::new();
    t.write("data/a.txt", "a\n")
        .write("scripts/s.sh", "echo one\n")
        .write("lookup.txt", "first\n")
        .write("tool", "echo v1\n")
        .pipeline(
            r#"
[pipeline]
out = "build"
[vars]
script = "scripts/s.sh"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "templated"
each = "data"
run = ["sh", "{{ vars.script }}"]
stdout = true
out = "templated/{{ key }}.txt"
[[steps]]
name = "quoted"
each = "data"
shell = "sh 'scripts/s.sh' > {{ out }}"
out = "quoted/{{ key }}.txt"
[[steps]]
name = "subshell"
each = "data"
shell = "(sh scripts/s.sh) > {{ out }}"
out = "subshell/{{ key }}.txt"
[[steps]]
name = "redirected"
each = "data"
shell = "cat < lookup.txt > {{ out }}"
out = "redirected/{{ key }}.txt"
[[steps]]
name = "plain"
each = "data"
shell = "sh tool >> ran.log; cp {{ input }} {{ out }}"
out = "plain/{{ key }}.txt"
"#,
        );
    t.run(["pipeline.toml"]).expect_code(0);
    // `--explain` names what the scan found.
    let dry = t.run(["pipeline.toml", "-n", "--explain", "--force"]);
    assert!(
        dry.stdout
            .contains("# redirected a: reads lookup.txt (named by its command)"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("# quoted a: reads scripts/s.sh"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("# plain a: reads tool"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("reads ran.log"), "{}", dry.stdout);
    t.write("scripts/s.sh", "echo two\n")
        .write("lookup.txt", "second\n");
    let run = t.run(["pipeline.toml", "-n", "--explain"]);
    for step in ["templated", "quoted", "subshell"] {
        assert!(
            run.stdout
                .contains(&format!("# {step} a: input changed: scripts/s.sh")),
            "{step}\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("# redirected a: input changed: lookup.txt"),
        "{}",
        run.stdout
    );
    t.run(["pipeline.toml"]).expect_code(0);
    for step in ["templated", "quoted", "subshell"] {
        assert_eq!(t.read(format!("build/{step}/a.txt")), "two\n", "{step}");
    }
    assert_eq!(t.read("build/redirected/a.txt"), "second\n");
    // A file the command appends to (`>> ran.log`) is written, not read:
    // running again finds everything up to date.
    let run = t.run(["pipeline.toml"]);
    assert!(run.stderr.contains("5 up to date"), "{}", run.stderr);
    t.write("tool", "echo v2\n");
    let run = t.run(["pipeline.toml"]);
    assert!(run.stderr.contains("4 up to date"), "{}", run.stderr);
}

/// Found by bench/attack: a command that made its output a FIFO hung runner
/// (hashing it waited for a writer forever).
#[test]
fn found_an_output_that_is_a_fifo_fails_its_task() {
    let t = Test::new();
    t.write("data/a.txt", "a\n").pipeline(&COPY.replace(
        "run = [\"cp\", \"{{ input }}\", \"{{ out }}\"]",
        "run = [\"mkfifo\", \"{{ out }}\"]",
    ));
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("is not a regular file"),
        "{}",
        run.stderr
    );
    assert!(!t.exists("build/a.txt"));
}

/// Found by bench/attack: a link among the inputs that leads into `out`
/// (`data/link -> ../build`) made outputs inputs, and each run made outputs
/// of outputs.
#[test]
fn found_a_link_among_the_inputs_into_out_is_not_walked() {
    let t = Test::new();
    t.write("data/a.txt", "a\n")
        .pipeline(&COPY.replace("glob = \"data/*.txt\"", "glob = \"data/**/*.txt\""));
    std::fs::create_dir_all(t.path("build")).unwrap();
    std::os::unix::fs::symlink("../build", t.path("data/link")).unwrap();
    std::os::unix::fs::symlink("../build/a.txt", t.path("data/file.txt")).unwrap();
    for _ in 0..3 {
        t.run(["pipeline.toml"]).expect_code(0);
    }
    assert_eq!(files_under(&t.path("build")), ["a.txt"]);
}

/// Found by bench/attack: run ids start again at 1 when the state folder is
/// deleted, so a command left running by a killed run 1 of the old state
/// wrote the same temporary file as the new run 1 (and, without cgroups,
/// nothing recorded it any more to stop it).
#[test]
fn found_a_new_state_never_shares_temporary_names_with_a_killed_run() {
    let t = Test::new();
    t.write("data/a.txt", "old\n")
        .write("scripts/late.sh", LATE_WRITER)
        .pipeline(&COPY.replace(
            "run = [\"cp\", \"{{ input }}\", \"{{ out }}\"]",
            "run = [\"sh\", \"scripts/late.sh\", \"{{ input }}\", \"{{ out }}\"]",
        ));
    let mut first = t
        .command(["pipeline.toml"])
        .env("RUNNER_CGROUP", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(|| t.exists("started-old"));
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::remove_dir_all(t.path(".runner")).unwrap();
    t.write("data/a.txt", "new\n");
    t.command(["pipeline.toml"])
        .env("RUNNER_CGROUP", "off")
        .output_run()
        .expect_code(0);
    // The old task wrote (into a temporary file of its own) or was stopped.
    wait_until(|| t.exists("wrote-old") || !alive(&t.read("pid-old")));
    assert_eq!(t.read("build/a.txt"), "new\n");
}

/// Under load, a run killed right after it started an attempt had not yet
/// committed that attempt's registration (registrations go with the next
/// batch of results), so the next run neither knew its temporary output nor,
/// without cgroups, its processes: a `.tmp-` file stayed in `out` for good.
/// Played here by deleting the registration after the kill.
#[test]
fn found_an_unregistered_temporary_output_of_a_killed_run_is_removed() {
    let t = Test::new();
    t.write("data/a.txt", "a\n").pipeline(&COPY.replace(
        "run = [\"cp\", \"{{ input }}\", \"{{ out }}\"]",
        "shell = \"printf partial > {{ out }}; echo $$ > task.pid; [ -e go ] || exec sleep 300\"",
    ));
    let mut first = t
        .command(["pipeline.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(|| t.exists("task.pid"));
    // Registered and spawned on record: nothing more is written after the kill.
    wait_until(|| sql(&t, "SELECT count(*) FROM processes WHERE pgid IS NOT NULL") == "1");
    first.kill().unwrap();
    first.wait().unwrap();
    let old = t.read("task.pid");
    assert!(alive(&old));
    assert_eq!(
        files_under(&t.path("build")).len(),
        1,
        "its temporary output"
    );
    sql(&t, "DELETE FROM processes");
    t.write("go", "");
    let run = t.run(["pipeline.toml"]);
    run.expect_code(0);
    assert_eq!(t.read("build/a.txt"), "partial");
    assert_eq!(files_under(&t.path("build")), ["a.txt"], "{}", run.stderr);
    if cgroup2_writable() {
        // Its cgroup was still there, with the command in it.
        assert!(!alive(&old), "the old command still runs");
    } else {
        let _ = std::process::Command::new("kill").arg(old.trim()).status();
    }
}

/// Items 5 and 6 while the pipeline runs: a link made by a task (after the
/// load-time checks) that leads from an output folder into the state folder
/// or back among the inputs is not written through, nor are folders made
/// through it; the task that would write there fails, the others go on.
#[test]
fn item_06_a_link_made_while_running_is_not_written_through() {
    let t = Test::new();
    t.write("data/a.txt", "a\n").pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "links"
each = "data"
shell = "ln -s ../.runner/pipeline build/state; ln -s ../data build/back; cp {{ input }} {{ out }}"
out = "first/{{ key }}.txt"
[[steps]]
name = "into_state"
each = "links"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "state/made/{{ key }}.copy"
[[steps]]
name = "into_inputs"
each = "links"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "back/{{ key }}.copy"
[[steps]]
name = "fine"
each = "links"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "first/{{ key }}.copy"
"#,
    );
    let run = t.run(["pipeline.toml"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("the output folder `build/state` leads into the state folder"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the output folder `build/back` leads to")
            && run
                .stderr
                .contains("inside root but outside the output folder"),
        "{}",
        run.stderr
    );
    assert!(
        !t.exists(".runner/pipeline/made"),
        "a folder made in the state"
    );
    assert!(!t.exists("data/a.copy"));
    assert_eq!(t.read("build/first/a.copy"), "a\n");
}

/// Runs the binary with `folder` (relative to the test's root) on a small
/// file system: a tmpfs of `size` mounted there in a mount namespace of the
/// run's own (unshare), gone with it.
fn run_with_full(t: &Test, folder: &str, size: &str) -> Run {
    std::fs::create_dir_all(t.path(folder)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut unshare = std::process::Command::new("unshare");
    unshare.arg("--mount");
    if !root {
        unshare.arg("--map-root-user");
    }
    let run = unshare
        .args([
            "sh",
            "-c",
            &format!("mount -t tmpfs -o size={size} tmpfs {folder} && exec \"$0\" pipeline.toml"),
            env!("CARGO_BIN_EXE_runner"),
        ])
        .current_dir(t.root())
        .stdin(std::process::Stdio::null())
        .output_run();
    assert!(
        !run.stderr.contains("mount:") && !run.stderr.contains("unshare:"),
        "this test needs a mount namespace (root, or user namespaces): {}",
        run.stderr
    );
    run
}

/// Item 16, the other two places: an output that does not fit says that
/// the output could not be written, and a state folder that is full says
/// that the state could not be written; never that a command could not run.
#[test]
fn item_16_a_full_disk_under_the_outputs_or_the_state_says_which() {
    let t = Test::new();
    let rows: String = (0..20_000).map(|i| format!("{i},{}\n", i % 7)).collect();
    t.write("data/a.csv", format!("t,v\n{rows}")).pipeline(
        r#"
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.csv"
[[steps]]
name = "all"
all = "data"
use = "table.concat"
out = "all.csv"
"#,
    );
    let run = run_with_full(&t, "build", "64k");
    run.expect_code(1);
    assert!(
        run.stderr.contains("cannot write `build/") && run.stderr.contains("No space left"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("cannot run"), "{}", run.stderr);

    let t = Test::new();
    t.write("data/a.csv", "t,v\n1,2\n").pipeline(
        &COPY
            .replace("data/*.txt", "data/*.csv")
            .replace("{{ key }}.txt", "{{ key }}.csv"),
    );
    let run = run_with_full(&t, ".runner/pipeline", "16k");
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("state database"), "{}", run.stderr);
    assert!(!run.stderr.contains("cannot run"), "{}", run.stderr);
}
