#!/usr/bin/env python3
"""Adversarial checks of runner (issue 10): try to make it give a stale
result ("up to date" when an output does not match its inputs), write
outside `out` and the state folder, write over its own state, hang, or
crash. Each attack runs the real binary on real files in a temporary folder
of its own and says PASS (runner did the right thing) or FAIL (with what it
did instead).

Usage: python3 bench/attack/attack.py [--runner PATH] [--only NAME ...] [--keep]

The runner binary defaults to target/release/runner, else target/debug/runner.
Exit status: 0 if every attack passed, 1 otherwise. Some attacks need root
(or user namespaces) for a small tmpfs in a mount namespace of their own;
they say SKIP when that is not possible. See README.md beside this file.
"""

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ATTACKS = []


def attack(group):
    def register(fn):
        ATTACKS.append((group, fn.__name__, fn))
        return fn

    return register


class Fail(Exception):
    pass


class Skip(Exception):
    pass


class Case:
    """A temporary folder with a pipeline, and the runner binary."""

    def __init__(self, runner, keep):
        self.runner = runner
        self.dir = tempfile.mkdtemp(prefix="runner-attack-")
        self.keep = keep
        self.env = dict(os.environ)

    def close(self):
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write(self, rel, content, mode=None):
        p = self.path(rel) if isinstance(rel, str) else os.path.join(self.dir.encode(), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        if mode:
            os.chmod(p, mode)
        return self

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read().decode(errors="replace")

    def exists(self, rel):
        return os.path.lexists(self.path(rel))

    def pipeline(self, text, name="pipeline.toml"):
        return self.write(name, text)

    def run(self, *args, env=None, timeout=300):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run(
            [self.runner, *args],
            cwd=self.dir,
            env=e,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def spawn(self, *args, env=None):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.Popen(
            [self.runner, *args],
            cwd=self.dir,
            env=e,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def sql(self, query):
        db = sqlite3.connect(self.path(".runner/pipeline/state.db"), timeout=30)
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()


def expect(cond, what):
    if not cond:
        raise Fail(what)


def expect_code(result, code, what=""):
    rc, out, err = result
    expect(rc == code, f"{what} exit {rc}, expected {code}\n{out}{err}")
    return result


def wait_for(cond, what, seconds=60):
    end = time.time() + seconds
    while not cond():
        if time.time() > end:
            raise Fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid):
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            return ") Z " not in f.read()
    except (FileNotFoundError, ValueError):
        return False


COPY = """
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "{{ key }}.txt"
"""

# --------------------------------------------------------------- stale ----

LATE = r"""
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
"""


def kill9(c, cgroup):
    c.write("data/a.txt", "old\n").write("scripts/late.sh", LATE).pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'run = ["sh", "scripts/late.sh", "{{ input }}", "{{ out }}"]')
    )
    p = c.spawn("pipeline.toml", env={"RUNNER_CGROUP": cgroup})
    wait_for(lambda: c.exists("started-old"), "the task to start")
    wait_for(
        lambda: c.exists(".runner/pipeline/state.db")
        and c.sql("SELECT count(*) FROM processes WHERE pgid IS NOT NULL")[0][0] == 1,
        "the task's registration",
    )
    p.kill()
    p.wait()
    c.write("data/a.txt", "new\n")
    expect_code(c.run("pipeline.toml", env={"RUNNER_CGROUP": cgroup}), 0)
    expect(c.read("build/a.txt") == "new\n", f"stale output: {c.read('build/a.txt')!r}")
    expect(not alive(c.read("pid-old")), "the killed run's task still runs")


@attack("stale")
def kill_9_then_changed_input(c):
    kill9(c, "auto")


@attack("stale")
def kill_9_then_changed_input_process_groups(c):
    kill9(c, "off")


@attack("stale")
def state_deleted_after_a_kill_9(c):
    # Run ids start again at 1 in a new state: the killed run's task (run 1
    # of the old state) must not share a temporary name with the new run 1.
    c.write("data/a.txt", "old\n").write("scripts/late.sh", LATE).pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'run = ["sh", "scripts/late.sh", "{{ input }}", "{{ out }}"]')
    )
    p = c.spawn("pipeline.toml", env={"RUNNER_CGROUP": "off"})
    wait_for(lambda: c.exists("started-old"), "the task to start")
    p.kill()
    p.wait()
    shutil.rmtree(c.path(".runner"))
    c.write("data/a.txt", "new\n")
    # The old task still runs (its record went with the state); the new
    # run's task waits until it wrote.
    expect_code(c.run("pipeline.toml", env={"RUNNER_CGROUP": "off"}), 0)
    wait_for(lambda: c.exists("wrote-old") or not alive(c.read("pid-old")), "the old task")
    time.sleep(0.2)
    expect(c.read("build/a.txt") == "new\n", f"stale output: {c.read('build/a.txt')!r}")


@attack("stale")
def sigint_twice_leaves_tasks_then_a_new_run(c):
    # A second SIGINT exits at once, leaving tasks running.
    c.write("data/a.txt", "old\n").write("scripts/late.sh", LATE).pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'run = ["sh", "scripts/late.sh", "{{ input }}", "{{ out }}"]')
    )
    p = c.spawn("pipeline.toml", env={"RUNNER_CGROUP": "off"})
    wait_for(lambda: c.exists("started-old"), "the task to start")
    wait_for(
        lambda: c.sql("SELECT count(*) FROM processes WHERE pgid IS NOT NULL")[0][0] == 1,
        "the task's registration",
    )
    p.send_signal(signal.SIGINT)
    p.send_signal(signal.SIGINT)
    p.wait()
    c.write("data/a.txt", "new\n")
    expect_code(c.run("pipeline.toml", env={"RUNNER_CGROUP": "off"}), 0)
    expect(c.read("build/a.txt") == "new\n", f"stale output: {c.read('build/a.txt')!r}")
    expect(not alive(c.read("pid-old")), "the task of the interrupted run still runs")


@attack("stale")
def kill_9_in_the_registration_window(c):
    # Kill runner as soon as its task started, before the registration can
    # be committed: with cgroups the dead run's cgroup is still found.
    c.write("data/a.txt", "old\n").write("scripts/late.sh", LATE).pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'run = ["sh", "scripts/late.sh", "{{ input }}", "{{ out }}"]')
    )
    p = c.spawn("pipeline.toml")
    wait_for(lambda: c.exists("started-old"), "the task to start")
    p.kill()
    p.wait()
    c.write("data/a.txt", "new\n")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "new\n", f"stale output: {c.read('build/a.txt')!r}")
    if alive(c.read("pid-old")):
        os.kill(int(c.read("pid-old")), signal.SIGKILL)
        raise Skip("no cgroup here: an unregistered task of a killed run survives (documented)")


@attack("stale")
def kill_9_at_many_moments_leaves_no_temporary_files(c):
    # Killed at moments spread over a run of short tasks (some inside the
    # moment between an attempt's start and its registration's commit): the
    # next run leaves no temporary output of the killed one in `out`.
    if not os.path.isdir("/sys/fs/cgroup"):
        raise Skip("no cgroup2 here")
    for i in range(16):
        c.write(f"data/f{i:02}.txt", f"{i}\n")
    c.pipeline(
        COPY.replace('out = "build"', 'out = "build"\njobs = 4').replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            'shell = "sleep 0.05; cat {{ input }} > {{ out }}; sleep 0.02"',
        )
    )
    for delay in [0.02, 0.05, 0.08, 0.11, 0.15, 0.2, 0.25, 0.3]:
        shutil.rmtree(c.path("build"), ignore_errors=True)
        shutil.rmtree(c.path(".runner"), ignore_errors=True)
        p = c.spawn("pipeline.toml")
        time.sleep(delay)
        p.kill()
        p.wait()
        rc, out, err = c.run("pipeline.toml")
        if "process-group" in str(c.sql("SELECT isolation FROM runs")):
            raise Skip("no writable cgroup2: a command started in that moment is not found")
        expect(rc == 0, err[-500:])
        left = sorted(f for f in tree(c.path("build")) if ".tmp-" in f)
        expect(not left, f"killed after {delay} s, left behind: {left}")


def set_mtime(c, rel, t):
    os.utime(c.path(rel), (t, t))


@attack("stale")
def mtime_put_back(c):
    c.write("data/a.txt", "aaaa\n").pipeline(COPY)
    t = time.time() - 3600
    set_mtime(c, "data/a.txt", t)
    expect_code(c.run("pipeline.toml"), 0)
    time.sleep(2.2)  # past the racy window: the hash is remembered
    expect_code(c.run("pipeline.toml"), 0)
    c.write("data/a.txt", "bbbb\n")
    set_mtime(c, "data/a.txt", t)
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "bbbb\n", "touch -d after a same-size write went unseen")


@attack("stale")
def renamed_into_place_with_old_mtime(c):
    c.write("data/a.txt", "aaaa\n").pipeline(COPY)
    t = time.time() - 3600
    set_mtime(c, "data/a.txt", t)
    expect_code(c.run("pipeline.toml"), 0)
    time.sleep(2.2)
    expect_code(c.run("pipeline.toml"), 0)
    c.write("data/.a.tmp", "cccc\n")
    set_mtime(c, "data/.a.tmp", t)
    os.rename(c.path("data/.a.tmp"), c.path("data/a.txt"))
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "cccc\n", "rsync-style replace went unseen")


SCRIPTED = {
    "templated_run_element": ('run = ["sh", "{{ vars.s }}"]\nstdout = true', "scripts/s.sh"),
    "quoted_shell_word": ("shell = \"sh 'scripts/s.sh' > {{ out }}\"", "scripts/s.sh"),
    "double_quoted_shell_word": ('shell = "sh \\"scripts/s.sh\\" > {{ out }}"', "scripts/s.sh"),
    "subshell": ('shell = "(sh scripts/s.sh) > {{ out }}"', "scripts/s.sh"),
    "after_and": ('shell = "true && sh scripts/s.sh > {{ out }}"', "scripts/s.sh"),
    "piped": ('shell = "cat scripts/s.sh | sh > {{ out }}"', "scripts/s.sh"),
    "stdin_redirect": ('shell = "sh < scripts/s.sh > {{ out }}"', "scripts/s.sh"),
    "no_space_redirect": ('shell = "sh<scripts/s.sh >{{ out }}"', "scripts/s.sh"),
    "command_substitution": ('shell = "sh -c \\"$(cat scripts/s.sh)\\" > {{ out }}"', "scripts/s.sh"),
    "option_equals": ('run = ["sh", "-c", "sh ${1#--script=}", "x", "--script=scripts/s.sh"]\nstdout = true', "scripts/s.sh"),
    "no_extension_no_slash": ('shell = "sh tool > {{ out }}"', "tool"),
    "absolute_path_under_root": ('shell = "sh {{ pipeline.root }}/scripts/s.sh > {{ out }}"', "scripts/s.sh"),
}


def scripted(c, line, script):
    c.write("data/a.txt", "a\n").write(script, "echo one\n").pipeline(
        f"""
[pipeline]
out = "build"
[vars]
s = "scripts/s.sh"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "s"
each = "data"
{line}
out = "{{{{ key }}}}.txt"
"""
    )
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "one\n", f"first run wrote {c.read('build/a.txt')!r}")
    c.write(script, "echo two\n")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "two\n", f"{script} changed, output stale: {c.read('build/a.txt')!r}")


for _name, (_line, _script) in SCRIPTED.items():

    def _make(line, script):
        return lambda c: scripted(c, line, script)

    _fn = _make(_line, _script)
    _fn.__name__ = "script_named_" + _name
    attack("stale")(_fn)


@attack("stale")
def input_changed_while_its_task_runs(c):
    c.write("data/a.txt", "one\n").pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            'shell = "cp {{ input }} {{ out }}; touch copied; while [ ! -e go ]; do sleep 0.02; done"',
        )
    )
    p = c.spawn("pipeline.toml")
    wait_for(lambda: c.exists("copied"), "the copy")
    c.write("data/a.txt", "two\n")
    c.write("go", "")
    p.wait()
    rc, out, err = c.run("pipeline.toml", "-q")
    expect(rc == 0, err)
    expect(c.read("build/a.txt") == "two\n", "an input changed during its task was taken as up to date")


@attack("stale")
def output_edited_by_hand(c):
    c.write("data/a.txt", "a\n").pipeline(COPY)
    expect_code(c.run("pipeline.toml"), 0)
    c.write("build/a.txt", "edited\n")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "a\n", "a hand-edited output was kept")


@attack("stale")
def output_replaced_with_same_size_and_mtime(c):
    c.write("data/a.txt", "aaaa\n").pipeline(COPY)
    expect_code(c.run("pipeline.toml"), 0)
    time.sleep(2.2)
    expect_code(c.run("pipeline.toml"), 0)
    st = os.stat(c.path("build/a.txt"))
    c.write("build/a.txt", "zzzz\n")
    os.utime(c.path("build/a.txt"), ns=(st.st_atime_ns, st.st_mtime_ns))
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "aaaa\n", "a replaced output (same size, mtime) was kept")


@attack("stale")
def background_job_writes_the_output_after_success(c):
    c.write("data/a.txt", "good\n").pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            "shell = \"cp {{ input }} {{ out }}; (sleep 1; echo evil > build/{{ key }}.txt) > /dev/null 2>&1 &\"",
        )
    )
    expect_code(c.run("pipeline.toml"), 0)
    time.sleep(1.5)
    expect(c.read("build/a.txt") == "good\n", "a background job of the task wrote after it was recorded")


@attack("stale")
def escaped_background_job_writes_the_output_after_success(c):
    c.write("data/a.txt", "good\n").pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            "shell = \"cp {{ input }} {{ out }}; setsid sh -c 'sleep 1; echo evil > build/{{ key }}.txt' > /dev/null 2>&1 &\"",
        )
    )
    expect_code(c.run("pipeline.toml"), 0)
    time.sleep(1.5)
    if c.read("build/a.txt") != "good\n":
        rows = c.sql("SELECT isolation FROM runs")
        if rows and rows[-1][0] == "process-group":
            raise Skip("no cgroup here: a setsid job outlives its task (documented)")
        raise Fail("a setsid job of the task wrote after it was recorded")
    rc, out, err = c.run("pipeline.toml")
    expect("1 up to date" in err, err)


@attack("stale")
def deps_glob_gains_a_file(c):
    c.write("data/a.txt", "a\n").write("conf/one.ini", "1\n").pipeline(
        COPY.replace('out = "{{ key }}.txt"', 'out = "{{ key }}.txt"\ndeps = ["conf/*.ini"]')
    )
    expect_code(c.run("pipeline.toml"), 0)
    c.write("conf/two.ini", "2\n")
    rc, out, err = c.run("pipeline.toml")
    expect("1 ok" in err, f"a new dep file went unseen\n{err}")


@attack("stale")
def undeclared_read_of_another_steps_output(c):
    c.write("data/a.txt", "a\n").pipeline(
        COPY
        + """
[[steps]]
name = "side"
all = "copy"
shell = "cat build/a.txt build/a.txt > {{ out }}"
out = "side.txt"
"""
    )
    expect_code(c.run("pipeline.toml"), 0)
    c.write("data/a.txt", "b\n")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/side.txt") == "b\nb\n", "stale side.txt")


@attack("stale")
def sigterm_then_rerun(c):
    for k in "abcd":
        c.write(f"data/{k}.txt", k + "\n")
    c.pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            'shell = "touch started-{{ key }}; sleep 2; cp {{ input }} {{ out }}"',
        )
    )
    p = c.spawn("pipeline.toml")
    wait_for(lambda: c.exists("started-a"), "a task")
    p.send_signal(signal.SIGTERM)
    expect(p.wait() == 143, "SIGTERM did not exit 143")
    expect_code(c.run("pipeline.toml"), 0)
    for k in "abcd":
        expect(c.read(f"build/{k}.txt") == k + "\n", f"{k} wrong after an interrupted run")


@attack("stale")
def corrupted_pages(c):
    for k in "abc":
        c.write(f"data/{k}.txt", k + "\n")
    c.pipeline(COPY)
    for table in ["latest", "files", "runs", "tasks", "processes"]:
        expect_code(c.run("pipeline.toml"), 0, "before corrupting")
        db = c.path(".runner/pipeline/state.db")
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        con.close()
        with open(db, "r+b") as f:
            f.seek((root - 1) * page)
            f.write(b"\xa5" * page)
        c.write("data/a.txt", table + "\n")
        rc, out, err = c.run("pipeline.toml")
        expect(rc == 0, f"{table}: exit {rc}\n{err}")
        expect(c.read("build/a.txt") == table + "\n", f"{table}: stale output")
        # Damage found while recording (`tasks`) loses the memory of the
        # tasks that were up to date in that run: they may run once more,
        # then all is up to date.
        rc, out, err = c.run("pipeline.toml")
        expect(rc == 0, f"{table}: the next run\n{err}")
        expect(c.read("build/a.txt") == table + "\n", f"{table}: stale output")
        rc, out, err = c.run("pipeline.toml")
        expect(rc == 0 and "3 up to date" in err, f"{table}: the run after\n{err}")


@attack("stale")
def raw_byte_and_backslash_names(c):
    c.write(b"data/bad\xff.txt", "raw\n").write("data/bad\\xff.txt", "slash\n").pipeline(COPY)
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/bad\\xff.txt") == "raw\n", "raw byte name")
    expect(c.read("build/bad\\\\xff.txt") == "slash\n", "backslash name")


@attack("stale")
def newline_dash_and_shell_code_in_names(c):
    for name in ["a\nb.txt", "-n.txt", "x;touch PWNED.txt", "$(touch PWNED2).txt", "sp ace.txt"]:
        c.write("data/" + name, name + "\n")
    c.pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'shell = "cat {{ input }} > {{ out }}"')
    )
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 0, err)
    expect(not c.exists("PWNED.txt") and not c.exists("PWNED2"), "a file name ran as code")
    rc, out, err = c.run("pipeline.toml")
    expect("5 up to date" in err, err)


@attack("stale")
def names_of_255_bytes(c):
    name = "n" * 251 + ".txt"
    c.write("data/" + name, "long\n").pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'shell = "cat {{ input }} > {{ out }}"')
    )
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/" + name) == "long\n", "255-byte name")


@attack("stuck")
def an_output_that_is_a_fifo(c):
    # Hashing a FIFO would wait forever for a writer.
    c.write("data/a.txt", "a\n").pipeline(
        COPY.replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'run = ["mkfifo", "{{ out }}"]')
    )
    rc, out, err = c.run("pipeline.toml", timeout=60)
    expect(rc == 1 and "not a regular file" in err, err)


@attack("stale")
def outputs_read_back_through_a_link_among_the_inputs(c):
    # `data/link -> ../build`: the walk must not take outputs for inputs
    # (each run would make outputs of outputs).
    c.write("data/a.txt", "a\n").pipeline(COPY.replace('glob = "data/*.txt"', 'glob = "data/**/*.txt"'))
    os.makedirs(c.path("build"))
    os.symlink("../build", c.path("data/link"))
    for _ in range(3):
        rc, out, err = c.run("pipeline.toml")
        expect(rc in (0, 2), err)
    made = sorted(tree(c.path("build")))
    expect(made == ["a.txt"] or rc == 2, f"outputs became inputs: {made}")


# -------------------------------------------------------------- python ----
#
# `python = "m.py:f"` steps: the files a worker loaded its code from, the
# interpreter, the call's arguments, and workers that die or change under
# a run. Each checks the outputs against what the current files give (a
# run from scratch in another folder, or the value the function writes),
# and that nothing was written outside `out` and the state folder.

PYONE = """
[pipeline]
out = "build"
{pipeline}
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "py"
each = "data"
python = "{module}:f"
out = "{{{{ key }}}}.txt"
{step}
"""


def py_pipeline(c, module="scripts/m.py", pipeline="", step="", keys="a"):
    for k in keys:
        c.write(f"data/{k}.txt", k + "\n")
    c.pipeline(PYONE.format(module=module, pipeline=pipeline, step=step))


def snapshot(c, skip=("build", ".runner")):
    """Every file outside `out` and the state folder, with its content."""
    seen = {}
    for rel in tree(c.dir):
        if rel.split(os.sep)[0] in skip:
            continue
        p = c.path(rel)
        seen[rel] = os.readlink(p) if os.path.islink(p) else open(p, "rb").read()
    return seen


def run_inside(c, *args, env=None, changes=()):
    """A run that must write nothing outside `out` and the state folder
    (but for `changes`, files the test's own code writes)."""
    before = snapshot(c)
    result = c.run(*args, env=env)
    after = snapshot(c)
    wrote = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p) and p not in changes)
    expect(not wrote, f"wrote outside out and the state folder: {wrote}")
    return result


def from_scratch(c, *args, env=None):
    """The outputs of a run of the same folder from scratch (no `build`,
    no state), made in a copy of it."""
    copy = tempfile.mkdtemp(prefix="runner-attack-fresh-")
    try:
        dst = os.path.join(copy, "case")
        shutil.copytree(c.dir, dst, symlinks=True, ignore=shutil.ignore_patterns("build", ".runner"))
        p = subprocess.run([c.runner, *args], cwd=dst, env={**c.env, **(env or {})}, capture_output=True, stdin=subprocess.DEVNULL)
        expect(p.returncode == 0, "the run from scratch failed\n" + p.stderr.decode(errors="replace"))
        out = {}
        for rel in tree(os.path.join(dst, "build")):
            with open(os.path.join(dst, "build", rel), "rb") as f:
                out[rel] = f.read()
        return out
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def outputs(c):
    out = {}
    for rel in tree(c.path("build")):
        if ".tmp-" not in rel:
            with open(c.path("build/" + rel), "rb") as f:
                out[rel] = f.read()
    return out


def same_as_scratch(c, *args, env=None, what=""):
    fresh = from_scratch(c, *args, env=env)
    have = outputs(c)
    stale = sorted(k for k in set(fresh) | set(have) if fresh.get(k) != have.get(k))
    expect(not stale, f"{what}: outputs differ from a run from scratch: " + ", ".join(
        f"{k}: {have.get(k, b'(none)')[:60]!r} instead of {fresh.get(k, b'(none)')[:60]!r}" for k in stale))


def explain_names(c, words, *args, env=None):
    rc, out, err = c.run("run", "-n", "--explain", "pipeline.toml", *args, env=env)
    text = out + err
    expect(all(w in text for w in words), f"--explain does not say {words}:\n{text}")


def changed_then_rerun(c, change, explain=(), args=(), env=None, changes=()):
    """First run, the change, `--explain`, a second run; then the outputs
    must equal a run from scratch and nothing outside may have changed."""
    expect_code(run_inside(c, "pipeline.toml", *args, env=env, changes=changes), 0, "first run")
    change()
    if explain:
        explain_names(c, explain, *args, env=env)
    expect_code(run_inside(c, "pipeline.toml", *args, env=env, changes=changes), 0, "second run")
    same_as_scratch(c, "pipeline.toml", *args, env=env, what="after the change")


HELPER_USER = """
import helper
def f(input, out):
    open(out, "w").write(open(input).read().strip() + " " + str(helper.V) + "\\n")
"""


@attack("python")
def python_helper_plain_import(c):
    py_pipeline(c, keys="ab")
    c.write("scripts/m.py", HELPER_USER).write("scripts/helper.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/helper.py", "V = 2\n"), ["input changed: scripts/helper.py"])


@attack("python")
def python_from_package_import(c):
    py_pipeline(c)
    c.write("scripts/m.py", "from pkg import sub\ndef f(input, out):\n    open(out, 'w').write(str(sub.V))\n")
    c.write("scripts/pkg/__init__.py", "").write("scripts/pkg/sub.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/pkg/sub.py", "V = 2\n"), ["scripts/pkg/sub.py"])


@attack("python")
def python_relative_import_inside_a_package(c):
    py_pipeline(c)
    c.write("scripts/m.py", "import pkg\ndef f(input, out):\n    open(out, 'w').write(str(pkg.V))\n")
    c.write("scripts/pkg/__init__.py", "from .inner import V\n").write("scripts/pkg/inner.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/pkg/inner.py", "V = 2\n"), ["scripts/pkg/inner.py"])


@attack("python")
def python_import_module_with_a_computed_name(c):
    py_pipeline(c)
    c.write(
        "scripts/m.py",
        "import importlib\ndef f(input, out):\n"
        "    m = importlib.import_module('plug_' + 'in')\n    open(out, 'w').write(str(m.V))\n",
    ).write("scripts/plug_in.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/plug_in.py", "V = 2\n"), ["scripts/plug_in.py"])


@attack("python")
def python_lazy_import_on_the_first_call_only(c):
    # One worker, three tasks: only the first call imports the module; the
    # others use what it left in a global.
    py_pipeline(c, pipeline="jobs = 1", keys="abc")
    c.write(
        "scripts/m.py",
        "CACHE = []\ndef f(input, out):\n    if not CACHE:\n        import lazy\n        CACHE.append(lazy.V)\n"
        "    open(out, 'w').write(str(CACHE[0]))\n",
    ).write("scripts/lazy.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/lazy.py", "V = 2\n"), ["scripts/lazy.py"])


@attack("python")
def python_module_imported_only_by_another_task(c):
    # Task a imports a plugin that registers itself; task b (same worker)
    # only reads the registry.
    py_pipeline(c, pipeline="jobs = 1", keys="ab")
    c.write(
        "scripts/m.py",
        "import registry\ndef f(input, key, out):\n    if key == 'a':\n        import plugin\n"
        "    open(out, 'w').write(repr(registry.PLUGINS))\n",
    ).write("scripts/registry.py", "PLUGINS = []\n").write(
        "scripts/plugin.py", "import registry\nregistry.PLUGINS.append('one')\n"
    )
    changed_then_rerun(c, lambda: c.write("scripts/plugin.py", "import registry\nregistry.PLUGINS.append('two')\n"), ["scripts/plugin.py"])


@attack("python")
def python_sys_path_insert_to_a_folder_under_root(c):
    py_pipeline(c)
    c.write(
        "scripts/m.py",
        "import os, sys\nsys.path.insert(0, os.path.join(os.getcwd(), 'lib', 'shared'))\nimport libhelper\n"
        "def f(input, out):\n    open(out, 'w').write(str(libhelper.V))\n",
    ).write("lib/shared/libhelper.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("lib/shared/libhelper.py", "V = 2\n"), ["lib/shared/libhelper.py"])


@attack("python")
def python_pth_file_in_a_venv_to_a_folder_under_root(c):
    # A virtual environment inside root (not followed) whose .pth file puts
    # a source folder under root on sys.path (as `pip install -e` does).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", c.path(".venv")], check=True)
    site = subprocess.run(
        [c.path(".venv/bin/python"), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    with open(os.path.join(site, "src.pth"), "w") as f:
        f.write(c.path("src") + "\n")
    py_pipeline(c, pipeline='python = ".venv/bin/python"')
    c.write("scripts/m.py", "import srcmod\ndef f(input, out):\n    open(out, 'w').write(str(srcmod.V))\n")
    c.write("src/srcmod.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("src/srcmod.py", "V = 2\n"), ["src/srcmod.py"])


@attack("python")
def python_data_file_read_at_import_listed_in_deps(c):
    # A file the module opens itself is what `deps` is for.
    py_pipeline(c, step='deps = ["conf/*.json"]')
    c.write(
        "scripts/m.py",
        "import json\nPARAMS = json.load(open('conf/params.json'))\n"
        "def f(input, out):\n    open(out, 'w').write(str(PARAMS['scale']))\n",
    ).write("conf/params.json", '{"scale": 1}\n')
    changed_then_rerun(c, lambda: c.write("conf/params.json", '{"scale": 2}\n'), ["conf/params.json"])


@attack("python")
def python_default_argument_edited(c):
    py_pipeline(c)
    c.write("scripts/m.py", "def f(input, out, scale=2):\n    open(out, 'w').write(str(scale))\n")
    changed_then_rerun(
        c, lambda: c.write("scripts/m.py", "def f(input, out, scale=3):\n    open(out, 'w').write(str(scale))\n"), ["scripts/m.py"]
    )


@attack("python")
def python_function_renamed(c):
    py_pipeline(c)
    c.write("scripts/m.py", "def f(input, out):\n    open(out, 'w').write('f')\ndef g(input, out):\n    open(out, 'w').write('g')\n")
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace("m.py:f", "m.py:g")), ["action changed"])


VERSION_OUT = "import sys\ndef f(input, out):\n    open(out, 'w').write('%d.%d\\n' % sys.version_info[:2])\n"


def pythons():
    """Two interpreters of different versions (pyenv's), or Skip."""
    found = []
    for v in ["3.11.7", "3.12.1", "3.10.13", "3.13.0"]:
        p = f"/root/.pyenv/versions/{v}/bin/python3"
        if os.access(p, os.X_OK):
            found.append(p)
    if len(found) < 2:
        raise Skip("needs two Python versions (pyenv's)")
    return found[0], found[1]


@attack("python")
def python_interpreter_changed_in_the_pipeline(c):
    one, two = pythons()
    py_pipeline(c, pipeline=f'python = "{one}"')
    c.write("scripts/m.py", VERSION_OUT)
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace(one, two)), ["action changed"])


@attack("python")
def python_venv_made_again_with_another_version(c):
    # The same `python = ".venv/bin/python"`; the venv is made again with
    # another Python (`rm -rf .venv; python3.12 -m venv .venv`).
    one, two = pythons()
    subprocess.run([one, "-m", "venv", "--without-pip", c.path(".venv")], check=True)
    py_pipeline(c, pipeline='python = ".venv/bin/python"')
    c.write("scripts/m.py", VERSION_OUT)

    def remake():
        shutil.rmtree(c.path(".venv"))
        subprocess.run([two, "-m", "venv", "--without-pip", c.path(".venv")], check=True)

    changed_then_rerun(c, remake, changes=())


@attack("python")
def python_another_python3_first_on_path(c):
    # `python = "python3"` (the default), found on PATH: a conda or pyenv
    # environment activated before the next run.
    one, two = pythons()
    py_pipeline(c)
    c.write("scripts/m.py", VERSION_OUT)
    first = {"PATH": os.path.dirname(one) + ":" + os.environ["PATH"]}
    second = {"PATH": os.path.dirname(two) + ":" + os.environ["PATH"]}
    expect_code(run_inside(c, "pipeline.toml", env=first), 0)
    expect_code(run_inside(c, "pipeline.toml", env=second), 0)
    same_as_scratch(c, "pipeline.toml", env=second, what="after PATH changed")


@attack("python")
def python_pyenv_local_version_changed(c):
    # `pyenv local 3.12.1` writes `.python-version` in root: the shim on
    # PATH runs another interpreter.
    one, two = pythons()
    shims = "/root/.pyenv/shims"
    if not os.access(os.path.join(shims, "python3"), os.X_OK):
        raise Skip("no pyenv shims")
    env = {"PATH": shims + ":" + os.environ["PATH"], "PYENV_ROOT": "/root/.pyenv"}
    c.env.pop("PYENV_VERSION", None)
    py_pipeline(c)
    c.write("scripts/m.py", VERSION_OUT).write(".python-version", one.split("/")[-3] + "\n")
    changed_then_rerun(c, lambda: c.write(".python-version", two.split("/")[-3] + "\n"), env=env)


@attack("python")
def python_with_value_changed(c):
    py_pipeline(c, step="with = { scale = 2 }")
    c.write("scripts/m.py", "def f(input, out, scale):\n    open(out, 'w').write(str(scale))\n")
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace("scale = 2", "scale = 2.5")), ["action changed"])


@attack("python")
def python_with_template_whose_rendering_changes(c):
    py_pipeline(c, step='with = { title = "{{ vars.prefix }}-{{ stem }}" }')
    c.write("pipeline.toml", c.read("pipeline.toml") + '\n[vars]\nprefix = "one"\n')
    c.write("scripts/m.py", "def f(input, out, title):\n    open(out, 'w').write(title)\n")
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace('"one"', '"two"')), ["action changed"])
    # And through --set, then back without it.
    expect_code(c.run("pipeline.toml", "--set", "prefix=three"), 0)
    expect(c.read("build/a.txt") == "three-a", f"--set: {c.read('build/a.txt')!r}")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "two-a", f"after --set: {c.read('build/a.txt')!r}")


@attack("python")
def python_project_folder_moved(c):
    # The function is given `pipeline` (with root, an absolute path); the
    # same run step naming `{{ pipeline.root }}` runs again after a move.
    py_pipeline(c)
    c.write("scripts/m.py", "def f(input, out, pipeline):\n    open(out, 'w').write(pipeline['root'])\n")
    expect_code(run_inside(c, "pipeline.toml"), 0)
    moved = c.dir + "-moved"
    os.rename(c.dir, moved)
    c.dir = moved
    expect_code(run_inside(c, "pipeline.toml"), 0)
    expect(c.read("build/a.txt") == os.path.realpath(moved), f"after moving the folder: {c.read('build/a.txt')!r}")


@attack("python")
def python_threads_changed(c):
    # `threads` sets OMP_NUM_THREADS & co. in the worker's environment.
    py_pipeline(c, step="threads = 1")
    c.write("scripts/m.py", "import os\ndef f(input, out):\n    open(out, 'w').write(os.environ['OMP_NUM_THREADS'])\n")
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace("threads = 1", "threads = 2")))


def edited_during_run(c, step_each, first_run_edits):
    for k in "abc":
        c.write(f"data/{k}.txt", k + "\n")
    c.write("scripts/helper.py", "V = 1\n").write(
        "scripts/m.py",
        "import helper, os\ndef f(input, out, key):\n    open(out, 'w').write(str(helper.V))\n"
        "    if key == 'a' and os.path.exists('edit-now'):\n"
        "        open('scripts/helper.py', 'w').write('V = 2222\\n')\n        os.remove('edit-now')\n",
    )
    c.pipeline(
        f"""
[pipeline]
out = "build"
jobs = 1
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "copy"
each = "data"
run = ["cp", "{{{{ input }}}}", "{{{{ out }}}}"]
out = "copy/{{{{ key }}}}.txt"
[[steps]]
name = "py"
each = "{step_each}"
python = "scripts/m.py:f"
out = "py/{{{{ key }}}}.txt"
"""
    )
    edits = ["scripts/helper.py", "edit-now"]
    if not first_run_edits:
        expect_code(run_inside(c, "pipeline.toml"), 0)
        for k in "abc":
            c.write(f"data/{k}.txt", k + "2\n")
    # The helper is edited during the call of task a (as a user saving it
    # in an editor while the run goes on): b and c ran with V = 1.
    c.write("edit-now", "")
    expect_code(run_inside(c, "pipeline.toml", changes=edits), 0)
    expect(c.read("scripts/helper.py") == "V = 2222\n", "the helper was not edited")
    expect_code(run_inside(c, "pipeline.toml"), 0)
    got = {k: c.read(f"build/py/{k}.txt") for k in "abc"}
    expect(set(got.values()) == {"2222"}, f"the run after: outputs {got} with helper V = 2222; explain said:\n" + c.run("run", "-n", "--explain", "pipeline.toml")[1])


@attack("python")
def python_helper_edited_during_the_run_fingerprints_taken_before(c):
    edited_during_run(c, "data", first_run_edits=False)


@attack("python")
def python_helper_edited_during_the_first_run(c):
    edited_during_run(c, "copy", first_run_edits=True)


@attack("python")
def python_helper_edited_during_the_run_downstream_of_a_step(c):
    # The tasks of `py` follow a step that ran: their fingerprints are taken
    # when they start, after the worker imported the helper.
    edited_during_run(c, "copy", first_run_edits=False)


WAITER = """
import os, time
def f(input, out, key):
    open('marks/pid-' + key, 'w').write(str(os.getpid()))
    value = open(input).read()
    while not os.path.exists('marks/go'):
        time.sleep(0.02)
    open(out, 'w').write(value)
"""


@attack("python")
def python_worker_killed_mid_call_then_rerun(c):
    py_pipeline(c)
    c.write("scripts/m.py", WAITER).write("marks/.keep", "")
    p = c.spawn("pipeline.toml")
    wait_for(lambda: c.exists("marks/pid-a") and c.read("marks/pid-a"), "the call")
    os.kill(int(c.read("marks/pid-a")), signal.SIGKILL)
    expect(p.wait() == 1, "the killed worker's task did not fail")
    expect(not c.exists("build/a.txt"), "an output from a killed call")
    c.write("marks/go", "")
    os.remove(c.path("marks/pid-a"))
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 0 and "1 ok" in err, f"the re-run\n{err}")
    expect(c.read("build/a.txt") == "a\n", "wrong output")


@attack("python")
def python_runner_killed_mid_call_then_changed_input(c):
    py_pipeline(c)
    c.write("scripts/m.py", WAITER).write("marks/.keep", "")
    p = c.spawn("pipeline.toml")
    wait_for(lambda: c.exists("marks/pid-a") and c.read("marks/pid-a"), "the call")
    worker = int(c.read("marks/pid-a"))
    p.kill()
    p.wait()
    wait_for(lambda: not alive(worker), "the worker to die with runner", seconds=10)
    c.write("data/a.txt", "new\n")
    c.write("marks/go", "")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "new\n", f"stale output {c.read('build/a.txt')!r}")


@attack("python")
def python_function_writes_its_output_then_raises(c):
    py_pipeline(c)
    body = "def f(input, out):\n    open(out, 'w').write(open(input).read())\n    if 'bad' in open(input).read():\n        raise ValueError('bad input')\n"
    c.write("scripts/m.py", body)
    expect_code(c.run("pipeline.toml"), 0)
    c.write("data/a.txt", "bad\n")
    expect_code(c.run("pipeline.toml"), 1, "the raising call")
    expect(c.read("build/a.txt") == "a\n", f"the failed call's output was kept: {c.read('build/a.txt')!r}")
    expect(not [f for f in tree(c.path("build")) if ".tmp-" in f], "a temporary output was left")
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 1 and "1 up to date" not in err, f"a failed task counted up to date\n{err}")
    c.write("data/a.txt", "good\n")
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("build/a.txt") == "good\n", "wrong output after the fix")


def stale_pycache(c, put_back_mtime):
    # A __pycache__ left by the user's own `python -c "import helper"` (a
    # test suite, an IDE): Python trusts a .pyc whose recorded source mtime
    # (whole seconds) and size match the source's.
    py_pipeline(c)
    c.write("scripts/m.py", HELPER_USER).write("scripts/helper.py", "V = 1\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if put_back_mtime:
        subprocess.run([sys.executable, "-c", "import helper"], cwd=c.path("scripts"), env=env, check=True)
        expect_code(run_inside(c, "pipeline.toml"), 0)
        st = os.stat(c.path("scripts/helper.py"))
        c.write("scripts/helper.py", "V = 2\n")
        os.utime(c.path("scripts/helper.py"), ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        # At the start of a second, so that the edit below falls in it.
        time.sleep(1 - time.time() % 1 + 0.05)
        c.write("scripts/helper.py", "V = 0\n")
        subprocess.run([sys.executable, "-c", "import helper"], cwd=c.path("scripts"), env=env, check=True)
        st = os.stat(c.path("scripts/helper.py"))
        c.write("scripts/helper.py", "V = 2\n")
        if int(os.stat(c.path("scripts/helper.py")).st_mtime) != int(st.st_mtime):
            raise Skip("the edit fell in another second than the .pyc")
    expect_code(run_inside(c, "pipeline.toml"), 0)
    expect(
        c.read("build/a.txt") == "a 2\n",
        f"helper.py says V = 2, the output {c.read('build/a.txt')!r}; the run after says: "
        + c.run("pipeline.toml")[2].strip().splitlines()[-1],
    )


@attack("python")
def python_stale_pycache_with_mtime_put_back(c):
    stale_pycache(c, put_back_mtime=True)


@attack("python")
def python_stale_pycache_edit_in_the_same_second(c):
    stale_pycache(c, put_back_mtime=False)


@attack("python")
def python_with_value_names_a_file_under_root(c):
    # As `run = ["python3", "fit.py", "--config", "conf/params.json"]`
    # would name it (and the scan would make it a dependency).
    py_pipeline(c, step='with = { config = "conf/params.json" }')
    c.write("scripts/m.py", "def f(input, out, config):\n    open(out, 'w').write(open(config).read())\n")
    c.write("conf/params.json", '{"scale": 1}\n')
    changed_then_rerun(c, lambda: c.write("conf/params.json", '{"scale": 2}\n'), ["conf/params.json"])


@attack("python")
def python_with_template_names_a_sidecar_file(c):
    # `with = { meta = "data/{{ stem }}.meta" }`: a file beside each input.
    py_pipeline(c, step='with = { meta = "data/{{ stem }}.meta" }')
    c.write("scripts/m.py", "def f(input, out, meta):\n    open(out, 'w').write(open(meta).read())\n")
    c.write("data/a.meta", "one\n")
    changed_then_rerun(c, lambda: c.write("data/a.meta", "two\n"), ["data/a.meta"])


@attack("python")
def python_new_package_shadows_the_imported_module(c):
    # helper.py made into a package helper/ (the old file left behind):
    # Python imports the package first.
    py_pipeline(c)
    c.write("scripts/m.py", HELPER_USER).write("scripts/helper.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/helper/__init__.py", "V = 2\n"), ["scripts/helper/__init__.py"])


@attack("python")
def python_new_module_earlier_on_sys_path(c):
    py_pipeline(c)
    c.write(
        "scripts/m.py",
        "import os, sys\nsys.path.insert(0, os.path.join(os.getcwd(), 'overrides'))\n" + HELPER_USER,
    ).write("scripts/helper.py", "V = 1\n").write("overrides/README", "local overrides of scripts/\n")
    changed_then_rerun(c, lambda: c.write("overrides/helper.py", "V = 2\n"), ["overrides/helper.py"])


@attack("python")
def python_pipeline_env_changed(c):
    py_pipeline(c, pipeline='env = { SCALE = "1" }')
    c.write("scripts/m.py", "import os\ndef f(input, out):\n    open(out, 'w').write(os.environ['SCALE'])\n")
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace('"1"', '"2"')), ["action changed"])


PROTOCOL_WORKER = r"""
import json, os, sys
import wordhelper
requests = os.fdopen(int(os.environ["RUNNER_REQUEST_FD"]), "r")
replies = os.fdopen(int(os.environ["RUNNER_REPLY_FD"]), "w")
replies.write(json.dumps({"ready": True, "deps": ["scripts/wordhelper.py"]}) + "\n")
replies.flush()
for line in requests:
    req = json.loads(line)
    with open(req["args"]["out"], "w") as f:
        f.write(wordhelper.WORD + "\n")
    replies.write(json.dumps({"id": req["id"], "ok": True}) + "\n")
    replies.flush()
"""


@attack("python")
def worker_step_program_and_reported_deps_edited(c):
    for k in "ab":
        c.write(f"data/{k}.txt", k + "\n")
    c.write("scripts/w.py", PROTOCOL_WORKER).write("scripts/wordhelper.py", "WORD = 'one'\n")
    c.pipeline(
        '[pipeline]\nout = "build"\n[inputs.data]\nglob = "data/*.txt"\n'
        '[[steps]]\nname = "w"\neach = "data"\nworker = ["python3", "scripts/w.py"]\nout = "{{ key }}.txt"\n'
    )
    changed_then_rerun(c, lambda: c.write("scripts/wordhelper.py", "WORD = 'two'\n"), ["scripts/wordhelper.py"])
    changed_then_rerun(c, lambda: c.write("scripts/w.py", PROTOCOL_WORKER.replace("WORD + ", "WORD + '!' + ")), ["scripts/w.py"])


@attack("python")
def python_module_replaced_in_sys_modules_under_one_name(c):
    # A plugin loader that loads plugins/KEY.py under one module name: the
    # second call replaces an entry of sys.modules instead of adding one.
    py_pipeline(c, pipeline="jobs = 1", keys="ab", step='with = { kind = "{{ stem }}" }')
    c.write(
        "scripts/m.py",
        "import importlib.util, sys\ndef f(input, out, kind):\n"
        "    spec = importlib.util.spec_from_file_location('plugin', 'plugins/%s.py' % kind)\n"
        "    m = importlib.util.module_from_spec(spec)\n    sys.modules['plugin'] = m\n    spec.loader.exec_module(m)\n"
        "    open(out, 'w').write(m.V)\n",
    ).write("plugins/a.py", "V = 'a1'\n").write("plugins/b.py", "V = 'b1'\n")
    changed_then_rerun(c, lambda: c.write("plugins/b.py", "V = 'b2'\n"), ["plugins/b.py"])


@attack("python")
def python_project_under_the_interpreters_prefix(c):
    # Debian's python3 has sys.prefix = /usr; Docker images often keep the
    # project in /usr/src/app. Every file under the prefix is taken for an
    # installed package.
    python = "/usr/bin/python3"
    prefix = subprocess.run([python, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True).stdout.strip() if os.access(python, os.X_OK) else ""
    if prefix != "/usr" or not os.access("/usr/src", os.W_OK):
        raise Skip("needs /usr/bin/python3 with prefix /usr and a writable /usr/src")
    shutil.rmtree(c.dir)
    c.dir = tempfile.mkdtemp(prefix="runner-attack-", dir="/usr/src")
    py_pipeline(c, pipeline=f'python = "{python}"')
    c.write("scripts/m.py", HELPER_USER).write("scripts/helper.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("scripts/helper.py", "V = 2\n"), ["scripts/helper.py"])


@attack("python")
def python_helper_imported_through_a_link_to_root(c):
    # sys.path names root through a symbolic link (a home folder that is a
    # link on a cluster: /home/u -> /gpfs/home/u); the worker's working
    # directory is the physical path.
    link = c.dir + "-link"
    os.symlink(c.dir, link)
    try:
        py_pipeline(c)
        c.write(
            "scripts/m.py", f"import sys\nsys.path.insert(0, {link + '/lib'!r})\n" + HELPER_USER
        ).write("lib/helper.py", "V = 1\n")
        changed_then_rerun(c, lambda: c.write("lib/helper.py", "V = 2\n"), ["lib/helper.py"])
    finally:
        os.remove(link)


@attack("python")
def python_worker_exits_0_in_the_middle_of_a_call(c):
    py_pipeline(c)
    c.write("scripts/m.py", "import os\ndef f(input, out):\n    open(out, 'w').write('half')\n    os._exit(0)\n")
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 1, f"a call whose worker exited without a reply: exit {rc}\n{err}")
    expect(not c.exists("build/a.txt"), "its output was renamed into place")
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 1 and "1 up to date" not in err, f"the next run\n{err}")


@attack("python")
def python_thread_writes_the_output_after_the_reply(c):
    # The function leaves a thread that writes through its open file after
    # the reply (the worker lives on): the output no longer matches its
    # record, and the next run must not take it as up to date.
    py_pipeline(c, pipeline="jobs = 1", keys="ab")
    c.write(
        "scripts/m.py",
        "import threading, time\ndef f(input, out, key):\n    fh = open(out, 'w')\n    fh.write('good\\n')\n    fh.flush()\n"
        "    def late():\n        time.sleep(0.3)\n        fh.write('evil\\n')\n        fh.close()\n"
        "    if key == 'a':\n        threading.Thread(target=late).start()\n    else:\n        time.sleep(0.6)\n        fh.close()\n",
    )
    expect_code(run_inside(c, "pipeline.toml"), 0)
    if c.read("build/a.txt") == "good\n":
        raise Skip("the thread did not write before the worker ended")
    rc, out, err = c.run("run", "-n", "--explain", "pipeline.toml")
    expect("# py a:" in out and "1 task up to date" in out, f"an output changed after its record was taken as up to date:\n{out}{err}")


@attack("python")
def python_max_tasks_per_worker_changed(c):
    # Not part of the fingerprint (it is for leaking libraries): a pure
    # function's outputs are the same with any value, and nothing runs.
    py_pipeline(c, keys="abc", step="max_tasks_per_worker = 1")
    c.write("scripts/m.py", HELPER_USER).write("scripts/helper.py", "V = 1\n")
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace("max_tasks_per_worker = 1", "max_tasks_per_worker = 2")))
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 0 and "3 up to date" in err, err)


# --------------------------------------------------------------- table ----
#
# Built-in table steps and plots: inputs rewritten in place, each table
# option changed, Parquet, plot settings and templates, and the run's
# shared parse of a table read by several tasks.

TABLE = """
[pipeline]
out = "build"
{pipeline}
[inputs.data]
glob = "data/*.{ext}"
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{{{ key }}}}.json"
with = {{ {stats} }}
[[plots]]
name = "plot"
each = "data"
template = "line"
{plot}
out = "plots/{{{{ key }}}}.svg"
"""


def table_pipeline(c, stats="", plot="", pipeline="", ext="csv"):
    c.pipeline(TABLE.format(stats=stats, plot=plot, pipeline=pipeline, ext=ext))


@attack("table")
def table_input_rewritten_keeping_size_and_mtime(c):
    c.write("data/x.csv", "t,v\n1,2\n2,3\n3,5\n")
    table_pipeline(c)
    t = time.time() - 3600
    os.utime(c.path("data/x.csv"), (t, t))
    expect_code(run_inside(c, "pipeline.toml"), 0)
    time.sleep(2.2)  # past the racy window: the hash is remembered
    expect_code(run_inside(c, "pipeline.toml"), 0)
    c.write("data/x.csv", "t,v\n1,7\n2,3\n3,9\n")
    os.utime(c.path("data/x.csv"), (t, t))
    explain_names(c, ["input changed: data/x.csv"])
    expect_code(run_inside(c, "pipeline.toml"), 0)
    same_as_scratch(c, "pipeline.toml", what="a same-size rewrite with the mtime put back")


# (data, option before, option after): each pair reads the file differently.
TABLE_OPTIONS = {
    "delimiter": ("a;b,c\n1;2,3\n2;4,5\n", 'delimiter = ","', 'delimiter = ";"'),
    "decimal": ("t;v\n1;2,5\n2;3,5\n", 'delimiter = ";", decimal = "."', 'delimiter = ";", decimal = ","'),
    "encoding": ("t,caf\u00e9\n1,2\n2,3\n", 'encoding = "utf-8"', 'encoding = "latin1"'),
    "na": ("t,v\n1,2\n2,?\n3,4\n", 'na = ["NA"]', 'na = ["?"]'),
    "types": ("t,v\n1,2\n2,3\n", 'types = { v = "number" }', 'types = { v = "text" }'),
    "time_format": ("d,v\n01/02/2024,1\n03/02/2024,2\n", 'types = { d = "time" }, time_format = "%d/%m/%Y"', 'types = { d = "time" }, time_format = "%m/%d/%Y"'),
    "time_format_by_column": ("d,v\n01/02/2024,1\n03/02/2024,2\n", 'types = { d = "time" }, time_format = { d = "%d/%m/%Y" }', 'types = { d = "time" }, time_format = { d = "%m/%d/%Y" }'),
    "unix_time": ("d,v\n1700000000,1\n1700086400,2\n", 'types = { d = "time" }, time_format = "unix_s"', 'types = { d = "time" }, time_format = "unix_ms"'),
    "format": ("t\tv,w\n1\t2,3\n2\t3,4\n", 'format = "csv"', 'format = "tsv"'),
}


def stats_option_changed(c, data, before, after):
    c.write("data/x.csv", data)
    table_pipeline(c, stats=before, plot="")
    c.write("pipeline.toml", c.read("pipeline.toml").split("[[plots]]")[0])
    changed_then_rerun(c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace(before, after)), ["action changed"])


def plot_option_changed(c, data, before, after):
    c.write("data/x.csv", data)
    text = TABLE.format(stats="", plot=before.replace(", ", "\n"), pipeline="", ext="csv")
    c.pipeline("[pipeline]" + text.split("[pipeline]")[1].split("[[steps]]")[0] + "[[plots]]" + text.split("[[plots]]")[1])
    changed_then_rerun(
        c, lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace(before.replace(", ", "\n"), after.replace(", ", "\n"))), ["action changed"]
    )


for _name, (_data, _before, _after) in TABLE_OPTIONS.items():

    def _make(fn, data, before, after):
        return lambda c: fn(c, data, before, after)

    _fn = _make(stats_option_changed, _data, _before, _after)
    _fn.__name__ = "table_stats_option_changed_" + _name
    attack("table")(_fn)
    _fn = _make(plot_option_changed, _data, _before, _after)
    _fn.__name__ = "table_plot_option_changed_" + _name
    attack("table")(_fn)


@attack("table")
def table_stats_layout_changed(c):
    stats_option_changed(c, "t,v\n1,2\n2,3\n", 'layout = "long"', 'layout = "wide"')


PLOT_SETTINGS = {
    "x": ('x = "t"\ny = ["v"]', 'x = "w"\ny = ["v"]'),
    "y": ('y = ["v"]', 'y = ["w"]'),
    "y_glob_max_series": ('y = ["*"]\nmax_series = 3', 'y = ["*"]\nmax_series = 1'),
    "title_template": ('title = "{{ vars.p }} {{ stem }}"', 'title = "{{ vars.p }}! {{ stem }}"'),
    "x_label": ('x_label = "one"', 'x_label = "two"'),
    "size": ("width = 640\nheight = 480", "width = 641\nheight = 480"),
    "y_zero": ("y_zero = false", "y_zero = true"),
    "y_log": ("y_log = false", "y_log = true"),
    "layout": ('layout = "shared"', 'layout = "panels"'),
    "template": ('y = ["v"]', 'y = ["v"]\ntemplate = "scatter"'),
}


def plot_setting_changed(c, before, after):
    c.write("data/x.csv", "t,v,w\n1,2,9\n2,4,7\n3,3,8\n")
    c.pipeline(
        '[pipeline]\nout = "build"\n[vars]\np = "P"\n[inputs.data]\nglob = "data/*.csv"\n'
        f'[[plots]]\nname = "plot"\neach = "data"\n{before}\nout = "plots/{{{{ key }}}}.svg"\n'
    )
    if "template" in after:
        c.write("pipeline.toml", c.read("pipeline.toml").replace('name = "plot"', 'name = "plot"\ntemplate = "line"'))
        after = after.replace('template = "scatter"', "")
        change = lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace('template = "line"', 'template = "scatter"'))
    else:
        change = lambda: c.write("pipeline.toml", c.read("pipeline.toml").replace(before, after))
    changed_then_rerun(c, change, ["action changed"])


for _name, (_before, _after) in PLOT_SETTINGS.items():

    def _make(before, after):
        return lambda c: plot_setting_changed(c, before, after)

    _fn = _make(_before, _after)
    _fn.__name__ = "table_plot_setting_changed_" + _name
    attack("table")(_fn)


@attack("table")
def table_plot_user_template_edited(c):
    c.write("data/x.csv", "t,v\n1,2\n2,3\n")
    c.write("templates/t.txt.j2", "one {{ tables[0].rows }}\n")
    c.pipeline(
        '[pipeline]\nout = "build"\n[inputs.data]\nglob = "data/*.csv"\n'
        '[[plots]]\nname = "plot"\neach = "data"\ntemplate = "templates/t.txt.j2"\ny = ["v"]\nout = "plots/{{ key }}.txt"\n'
    )
    changed_then_rerun(c, lambda: c.write("templates/t.txt.j2", "two {{ tables[0].rows }}\n"), ["templates/t.txt.j2"])


def parquet(path, values):
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise Skip("needs pyarrow to write Parquet")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    table = pyarrow.table({"t": [1.0, 2.0, 3.0], "v": values})
    pyarrow.parquet.write_table(table, path)


@attack("table")
def table_parquet_rewritten(c):
    parquet(c.path("data/x.parquet"), [1.0, 2.0, 3.0])
    table_pipeline(c, ext="parquet")
    t = time.time() - 3600
    os.utime(c.path("data/x.parquet"), (t, t))
    expect_code(run_inside(c, "pipeline.toml"), 0)
    time.sleep(2.2)
    expect_code(run_inside(c, "pipeline.toml"), 0)
    size = os.path.getsize(c.path("data/x.parquet"))
    parquet(c.path("data/x.parquet"), [7.0, 2.0, 9.0])
    if os.path.getsize(c.path("data/x.parquet")) != size:
        raise Skip("the rewrite changed the size")
    os.utime(c.path("data/x.parquet"), (t, t))
    explain_names(c, ["input changed: data/x.parquet"])
    expect_code(run_inside(c, "pipeline.toml"), 0)
    same_as_scratch(c, "pipeline.toml", what="a Parquet file rewritten")


def only_step(c, text, keep):
    """The pipeline `text` with only the steps and plots named in `keep`."""
    head, *blocks = text.split("\n[[")
    kept = [b for b in blocks if any(f'name = "{k}"\n' in b for k in keep)]
    return "\n[[".join([head] + kept)


@attack("table")
def table_one_file_read_with_different_options_in_one_run(c):
    # Two readers with the same options share one parse (the run's table
    # cache); the others must get a parse of their own.
    c.write("data/x.csv", "t;v\n1;2,5\n2;?\n3;4,5\n")
    text = """
[pipeline]
out = "build"
jobs = 1
[inputs.data]
glob = "data/*.csv"
[[steps]]
name = "semi"
each = "data"
use = "csv.stats"
with = { delimiter = ";" }
out = "semi/{{ key }}.json"
[[steps]]
name = "semi_decimal"
each = "data"
use = "csv.stats"
with = { delimiter = ";", decimal = "," }
out = "semi_decimal/{{ key }}.json"
[[steps]]
name = "semi_decimal_na"
each = "data"
use = "csv.stats"
with = { delimiter = ";", decimal = ",", na = ["?"] }
out = "semi_decimal_na/{{ key }}.json"
[[steps]]
name = "as_text"
each = "data"
use = "csv.stats"
with = { delimiter = ";", decimal = ",", na = ["?"], types = { v = "text" } }
out = "as_text/{{ key }}.json"
[[plots]]
name = "plot_na"
each = "data"
delimiter = ";"
decimal = ","
na = ["?"]
y = ["v"]
out = "plot_na/{{ key }}.svg"
[[plots]]
name = "plot_t_text"
each = "data"
delimiter = ";"
decimal = ","
na = ["?"]
types = { t = "text" }
y = ["v"]
out = "plot_t_text/{{ key }}.svg"
"""
    c.pipeline(text)
    expect_code(run_inside(c, "pipeline.toml"), 0)
    have = outputs(c)
    names = ["semi", "semi_decimal", "semi_decimal_na", "as_text", "plot_na", "plot_t_text"]
    stats = [have.get(f"{n}/x.json") for n in names[:4]]
    expect(len(set(stats)) == 4, "the options do not read the file differently: the check proves nothing")
    for name in names:
        alone = Case(c.runner, False)
        try:
            alone.write("data/x.csv", c.read("data/x.csv")).pipeline(only_step(c, text, [name]))
            expect_code(alone.run("pipeline.toml"), 0, name + " alone")
            for rel, content in outputs(alone).items():
                expect(have.get(rel) == content, f"{rel}: in one run with the others {have.get(rel, b'')[:200]!r}, alone {content[:200]!r}")
        finally:
            alone.close()


@attack("table")
def table_csv_changed_between_two_tasks_sharing_its_parse(c):
    # jobs = 1: `stats` reads x.csv (parsed once for it and the plot), a
    # careless step then rewrites x.csv, then the plot draws. The next run
    # must give what the current x.csv gives.
    c.write("data/x.csv", "t,v\n1,2\n2,3\n3,5\n").write(
        "scripts/careless.sh", 'if [ ! -e marks/done ]; then printf "t,v\\n1,9\\n2,8\\n3,7\\n" > data/x.csv; touch marks/done; fi; echo ok > "$1"\n'
    ).write("marks/.keep", "")
    c.pipeline(
        """
[pipeline]
out = "build"
jobs = 1
[inputs.data]
glob = "data/*.csv"
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
[[steps]]
name = "careless"
each = "data"
run = ["sh", "scripts/careless.sh", "{{ out }}"]
out = "careless/{{ key }}.txt"
[[plots]]
name = "plot"
each = "data"
y = ["v"]
out = "plots/{{ key }}.svg"
"""
    )
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.exists("marks/done"), "the careless step did not run")
    expect_code(run_inside(c, "pipeline.toml"), 0)
    same_as_scratch(c, "pipeline.toml", what="x.csv rewritten during the run")


# ------------------------------------------------------------- outside ----


def tree(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for f in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def refused(c, text, name="pipeline.toml"):
    c.pipeline(text, name)
    before = tree(c.dir)
    rc, out, err = c.run(name)
    expect(rc == 2, f"exit {rc}, expected 2 (refused)\n{err}")
    expect(":" in err and "-->" in err, f"no location\n{err}")
    expect(tree(c.dir) == before, f"wrote {sorted(tree(c.dir) - before)}")


@attack("outside")
def dots_toml(c):
    c.write("data/a.txt", "a\n").write("logs/1/precious.txt", "mine")
    refused(c, COPY, "...toml")


for _name, _settings in {
    "state_parent": 'state = ".."',
    "state_empty": 'state = ""',
    "state_slash": 'state = "/"',
    "state_in_inputs": 'state = "data/st"',
    "state_in_out": 'state = "build/st"',
    "out_runner": 'out = ".runner"',
    "out_in_inputs": 'out = "data/o"',
    "out_parent": 'out = ".."',
    "out_root_dot_dot": 'out = "data/.."',
    "out_tmp_holding_root": 'out = "/tmp"',
}.items():

    def _make(settings):
        def run(c):
            c.write("data/a.txt", "a\n")
            text = COPY.replace('out = "build"\n', settings + "\n", 1)
            if settings.startswith("state"):
                text = COPY.replace('out = "build"\n', 'out = "build"\n' + settings + "\n", 1)
            refused(c, text)

        return run

    _fn = _make(_settings)
    _fn.__name__ = "refused_" + _name
    attack("outside")(_fn)


@attack("outside")
def out_is_a_link_into_the_state(c):
    c.write("data/a.txt", "a\n")
    os.makedirs(c.path(".runner/pipeline"))
    os.symlink(".runner/pipeline", c.path("build"))
    refused(c, COPY)


@attack("outside")
def a_task_links_its_output_folder_into_the_state(c):
    c.write("data/a.txt", "a\n").pipeline(
        """
[pipeline]
out = "build"
[inputs.data]
glob = "data/*.txt"
[[steps]]
name = "links"
each = "data"
shell = "mkdir -p build && ln -sfn ../.runner/pipeline build/evil && echo ok > {{ out }}"
out = "{{ key }}.links"
[[steps]]
name = "evil"
each = "links"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "evil/state.db"
"""
    )
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 1 and "leads into the state folder" in err, err)
    expect(c.sql("SELECT count(*) FROM latest")[0][0] >= 1, "the state was overwritten")


@attack("outside")
def planted_link_at_the_final_output(c):
    victim = c.path("victim.txt")
    c.write("victim.txt", "precious\n").write("data/a.txt", "a\n").pipeline(COPY)
    os.makedirs(c.path("build"))
    os.symlink(victim, c.path("build/a.txt"))
    expect_code(c.run("pipeline.toml"), 0)
    expect(c.read("victim.txt") == "precious\n", "wrote through a link at the final path")
    expect(not os.path.islink(c.path("build/a.txt")), "the link stayed")


@attack("outside")
def planted_links_at_the_next_temp_names(c):
    # Temporary names are predictable (a hash of the final path, the run id,
    # the attempt): learn one, then plant links at those of the next runs.
    c.write("victim.txt", "precious\n").write("data/a.txt", "a\n").pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            'shell = "basename {{ out }} >> names; cp {{ input }} {{ out }}"',
        )
    )
    expect_code(c.run("pipeline.toml"), 0)
    first = c.read("names").strip()  # .a.tmp-HASH-1.RAND-1.txt
    prefix = first.rsplit("-", 2)[0]
    for run_id in range(2, 6):
        for attempt in (1, 2):
            for rand in ["0000", "ffff"]:
                os.symlink(c.path("victim.txt"), c.path(f"build/{prefix}-{run_id}.{rand}-{attempt}.txt"))
            os.symlink(c.path("victim.txt"), c.path(f"build/{prefix}-{run_id}-{attempt}.txt"))
    for _ in range(3):
        expect_code(c.run("pipeline.toml", "--force"), 0)
    expect(c.read("victim.txt") == "precious\n", "wrote through a planted link")
    expect(c.read("build/a.txt") == "a\n", "wrong output")


@attack("outside")
def output_path_from_vars_leaving_out(c):
    c.write("data/a.txt", "a\n")
    refused(c, COPY.replace('out = "{{ key }}.txt"', 'out = "{{ vars.up }}/{{ key }}.txt"') + '\n[vars]\nup = "../.."\n')


@attack("outside")
def logs_folder_runner_did_not_make(c):
    c.write("data/a.txt", "a\n").write(".runner/pipeline/logs/1/precious.txt", "mine").pipeline(
        COPY.replace('out = "build"', 'out = "build"\nkeep_logs = 1').replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]', 'shell = "echo hi; cp {{ input }} {{ out }}"'
        )
    )
    for _ in range(3):
        expect_code(c.run("pipeline.toml", "--force"), 0)
    expect(c.read(".runner/pipeline/logs/1/precious.txt") == "mine", "pruned a folder runner did not make")


# --------------------------------------------------------------- stuck ----


@attack("stuck")
def huge_and_zero_durations(c):
    c.write("data/a.txt", "a\n")
    for value in ["500000000000y", "0s", "0ms"]:
        refused(c, COPY.replace('out = "{{ key }}.txt"', f'out = "{{{{ key }}}}.txt"\ntimeout = "{value}"'))


@attack("stuck")
def check_dev_zero(c):
    rc, out, err = c.run("check", "/dev/zero", timeout=60)
    expect(rc == 2 and "larger than 16 MB" in err, err)


@attack("stuck")
def check_of_a_long_chain(c):
    c.write("data/a.txt", "a\n")
    lines = ['[pipeline]\nout = "build"\n[inputs.d]\nglob = "data/*.txt"\n']
    prev = "d"
    for i in range(8000):
        lines.append(f'[[steps]]\nname = "s{i}"\neach = "{prev}"\nrun = ["cp", "{{{{ input }}}}", "{{{{ out }}}}"]\nout = "s{i}/{{{{ key }}}}.txt"\n')
        prev = f"s{i}"
    c.pipeline("".join(lines))
    start = time.time()
    rc, out, err = c.run("check", "pipeline.toml", timeout=600)
    took = time.time() - start
    expect(rc == 0, err[:500])
    print(f"      (8,000-step chain checked in {took:.1f} s)")


@attack("stuck")
def slow_on_failure_keeps_no_lock(c):
    c.write("data/a.txt", "a\n").pipeline(
        COPY.replace(
            'out = "build"',
            'out = "build"\non_failure = ["sh", "-c", "touch hook; sleep 30"]\non_failure_timeout = "2s"',
        ).replace('run = ["cp", "{{ input }}", "{{ out }}"]', 'run = ["false"]')
    )
    p = subprocess.Popen([c.runner, "pipeline.toml"], cwd=c.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: c.exists("hook"), "the hook")
    rc, out, err = c.run("pipeline.toml", "-q", "--only", "copy", "--force")
    expect(rc != 3, "the next run found the lock held by a hook")
    expect(p.wait(timeout=60) == 1, "the hook was not stopped")


@attack("stuck")
def timeout_kills_what_left_the_group(c):
    c.write("data/a.txt", "a\n").pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            "shell = \"setsid sh -c 'echo $$ > esc.pid; exec sleep 300' & sleep 300\"\ntimeout = \"1s\"",
        )
    )
    rc, out, err = c.run("pipeline.toml")
    expect(rc == 1 and "timed out" in err, err)
    pid = c.read("esc.pid").strip()
    if alive(pid):
        os.kill(int(pid), signal.SIGKILL)
        rows = c.sql("SELECT isolation FROM runs")
        if rows and rows[-1][0] == "process-group":
            raise Skip("no cgroup here: a setsid process outlives a timeout (documented)")
        raise Fail("a setsid process survived the timeout")


@attack("stuck")
def full_disk_under_the_logs(c):
    c.write("data/a.txt", "a\n").pipeline(
        COPY.replace(
            'run = ["cp", "{{ input }}", "{{ out }}"]',
            "shell = \"head -c 1000000 /dev/zero | tr '\\\\0' x >&2; cp {{ input }} {{ out }}\"",
        )
    )
    os.makedirs(c.path(".runner/pipeline/logs"))
    args = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    p = subprocess.run(
        args + ["sh", "-c", 'mount -t tmpfs -o size=64k tmpfs .runner/pipeline/logs && exec "$0" pipeline.toml', c.runner],
        cwd=c.dir,
        capture_output=True,
    )
    err = p.stderr.decode(errors="replace")
    if "mount:" in err or "unshare:" in err:
        raise Skip("no mount namespace here")
    expect(p.returncode == 1 and "could not be written to its log" in err and "cannot run" not in err, err)


# ----------------------------------------------------------------- main ---


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args()
    runner = args.runner
    if not runner:
        for profile in ["release", "debug"]:
            p = os.path.join(REPO, "target", profile, "runner")
            if os.path.exists(p):
                runner = p
                break
    if not runner or not os.path.exists(runner):
        sys.exit("attack.py: build runner first (cargo build --release) or pass --runner")
    runner = os.path.abspath(runner)
    print(f"runner: {runner}")
    results = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    failed = []
    for group, name, fn in ATTACKS:
        if args.only and not any(o in name for o in args.only):
            continue
        c = Case(runner, args.keep)
        start = time.time()
        try:
            fn(c)
            verdict, detail = "PASS", ""
        except Fail as e:
            verdict, detail = "FAIL", str(e)
        except Skip as e:
            verdict, detail = "SKIP", str(e)
        except Exception:
            verdict, detail = "FAIL", traceback.format_exc()
        finally:
            c.close()
        results[verdict] += 1
        print(f"{verdict}  {group:<8} {name} ({time.time() - start:.1f} s)")
        if detail:
            print("      " + detail.strip().replace("\n", "\n      ")[:2000])
        if verdict == "FAIL":
            failed.append(name)
    print(f"\n{results['PASS']} passed, {results['FAIL']} failed, {results['SKIP']} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
