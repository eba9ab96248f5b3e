#!/usr/bin/env python3
"""Throughput benchmark: N trivial per-file commands through runner and the tools it replaces.

Called by bench/tasks.sh, which documents the settings. Every tool spawns one
process of the command per file (checked with strace on a small sample), the
`wc` variant writes each file's `wc -l` into its own output file (checked in
full after every timed run), and every tool gets the same files, the same
working directory, the same PATH and the same pool size.
"""

import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def env_int(name, default):
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        sys.exit(f"tasks.py: {name}={value!r} is not a number")


N = env_int("N", 5000)
JOBS = env_int("JOBS", 2)
REPS = env_int("REPS", 3)
# A tool whose first run takes longer than this is not run again (GNU parallel
# takes about a minute for 5,000 tasks here), so the whole benchmark stays at
# a few minutes; one run that long is already a stable measurement.
REPEAT_UNDER = float(os.environ.get("REPEAT_UNDER", "20"))
VERIFY_N = env_int("VERIFY_N", 200)
RUNNER = os.environ.get("RUNNER", "")
# One short PATH for every tool, so no tool pays for (or is spared) a long
# PATH search per spawn; the benchmark's own shell may have pyenv shims first.
BENCH_PATH = os.environ.get("BENCH_PATH", "/usr/local/bin:/usr/bin:/bin")
ONLY = [t for t in os.environ.get("TOOLS", "").split(",") if t]
HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable  # the real interpreter, not a pyenv shim script


def say(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the data


def generate(work, n):
    """n small files files/fNNNNN.txt of 1..5 lines; returns the expected wc outputs."""
    files = os.path.join(work, "files")
    os.makedirs(files)
    expected = {}
    for i in range(n):
        name = f"f{i:05d}.txt"
        lines = i % 5 + 1
        with open(os.path.join(files, name), "w") as f:
            f.writelines(f"line {j} of file {i}\n" for j in range(lines))
        expected[name] = f"{lines} files/{name}\n".encode()
    return expected


def write_pipelines(work, jobs):
    common = f"""[pipeline]
out = "out"
jobs = {jobs}

[inputs.files]
glob = ["files/*.txt"]
"""
    with open(os.path.join(work, "wc.toml"), "w") as f:
        f.write(
            common
            + """
[[steps]]
name = "wc"
each = "files"
run = ["wc", "-l", "{{ input }}"]
stdout = true
out = "wc/{{ key }}.txt"
"""
        )
    with open(os.path.join(work, "true.toml"), "w") as f:
        f.write(
            common
            + """
[[steps]]
name = "true"
each = "files"
run = ["true"]
"""
        )


# ---------------------------------------------------------------- the tools
#
# Each tool is (name, needs, {variant: shell command line}); the command line
# runs with `sh -c` in the work dir (one sh per timed run, not per task).
# `true` is a builtin of sh, so wherever a shell runs the per-task command
# the external binary is named by its full path ($TRUE): otherwise that tool
# would spawn nothing and "win" by doing less.

FIND = "find files -name '*.txt' -print0"
FLOOR_NAME = "posix_spawn floor (C)"
NO_STATE = "runner --no-state"
BUILD_DIR = ""  # set in main: where spawn_floor is compiled


def tools(runner):
    q = shell_quote
    return [
        (
            "runner",
            [runner],
            {
                "wc": f"{q(runner)} run --quiet -j {JOBS} wc.toml",
                "true": f"{q(runner)} run --quiet -j {JOBS} true.toml",
            },
        ),
        (
            # the same runs recording nothing: what the state bookkeeping
            # (fingerprints, hashes, SQLite) costs is the difference
            NO_STATE,
            [runner],
            {
                "wc": f"{q(runner)} run --quiet --no-state -j {JOBS} wc.toml",
                "true": f"{q(runner)} run --quiet --no-state -j {JOBS} true.toml",
            },
        ),
        (
            # the usual idiom: one sh per file for the redirection
            "xargs -n1",
            ["find", "xargs"],
            {
                "wc": f"{FIND} | xargs -0 -P{JOBS} -n1 sh -c "
                + q('wc -l "$1" > "out/wc/${1##*/}"')
                + " _",
                "true": f"{FIND} | xargs -0 -P{JOBS} -n1 true",
            },
        ),
        (
            # the fastest xargs form: one sh per 100 files, still one wc per file
            "xargs -n100 sh-loop",
            ["find", "xargs"],
            {
                "wc": f"{FIND} | xargs -0 -P{JOBS} -n100 sh -c "
                + q('for f; do wc -l "$f" > "out/wc/${f##*/}"; done')
                + " _",
                "true": f"{FIND} | xargs -0 -P{JOBS} -n100 sh -c "
                + q('for f; do "$TRUE"; done')
                + " _",
            },
        ),
        (
            "GNU parallel",
            ["find", "parallel"],
            {
                "wc": f"{FIND} | parallel --will-cite -0 -j{JOBS} "
                + q("wc -l {} > out/wc/{/}"),
                "true": f"{FIND} | parallel --will-cite -0 -j{JOBS} "
                + q('"$TRUE"'),
            },
        ),
        (
            "python Pool",
            [PYTHON],
            {
                v: f"{q(PYTHON)} {q(os.path.join(HERE, 'pool_baseline.py'))} {v} {JOBS}"
                for v in ("wc", "true")
            },
        ),
        (
            # reference, not a competitor: bare posix_spawnp + waitpid from C
            FLOOR_NAME,
            [os.path.join(BUILD_DIR, "spawn_floor")],
            {
                v: f"{q(os.path.join(BUILD_DIR, 'spawn_floor'))} {JOBS} {v} files/*.txt"
                for v in ("wc", "true")
            },
        ),
    ]


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def missing(needs):
    return [n for n in needs if not (os.path.isabs(n) and os.access(n, os.X_OK)) and shutil.which(n, path=BENCH_PATH) is None]


# ---------------------------------------------------------------- running


def child_env(work):
    env = {
        "PATH": BENCH_PATH,
        "HOME": os.environ.get("HOME", work),
        "LANG": "C",
        "LC_ALL": "C",
        "TRUE": shutil.which("true", path=BENCH_PATH) or "/bin/true",
    }
    # parallel wants a writable home for its ~/.parallel; the work dir is fine
    env["PARALLEL_HOME"] = os.path.join(work, ".parallel")
    return env


def reset(work, tool, variant):
    for d in ("out", ".runner", ".parallel"):
        shutil.rmtree(os.path.join(work, d), ignore_errors=True)
    os.makedirs(os.path.join(work, ".parallel"))
    if not tool.startswith("runner") and variant == "wc":
        # runner makes its output folders itself; the others get theirs ready
        os.makedirs(os.path.join(work, "out", "wc"))


def run_once(work, tool, variant, cmd, prefix=()):
    """One run; returns (wall seconds, CPU seconds of every process it started)."""
    reset(work, tool, variant)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(
        [*prefix, "sh", "-c", cmd],
        cwd=work,
        env=child_env(work),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        tail = p.stderr.decode(errors="replace").strip().splitlines()[-10:]
        raise RuntimeError(f"{tool} {variant}: exit {p.returncode}\n  " + "\n  ".join(tail))
    return elapsed, cpu


def check_outputs(work, tool, variant, expected):
    """The wc variant: exactly one output per input, with that input's wc -l."""
    if variant != "wc":
        return
    outdir = os.path.join(work, "out", "wc")
    got = sorted(os.listdir(outdir)) if os.path.isdir(outdir) else []
    if got != sorted(expected):
        raise RuntimeError(
            f"{tool} wc: {len(got)} output files, expected {len(expected)} "
            f"(first difference: {sorted(set(got) ^ set(expected))[:3]})"
        )
    for name, want in expected.items():
        with open(os.path.join(outdir, name), "rb") as f:
            have = f.read()
        if have != want:
            raise RuntimeError(f"{tool} wc: out/wc/{name} is {have!r}, expected {want!r}")


def count_execs(work, tool, variant, cmd, n):
    """Run once under strace and count successful execve of the per-task program."""
    prog = {"wc": "wc", "true": "true"}[variant]
    logdir = os.path.join(work, "strace")
    os.makedirs(logdir)
    # -ff: one log per process, so no call is split into unfinished/resumed halves
    prefix = ("strace", "-f", "-ff", "-qq", "-e", "trace=execve", "-o", os.path.join(logdir, "t"))
    run_once(work, tool, variant, cmd, prefix=prefix)
    count = 0
    for log in os.listdir(logdir):
        with open(os.path.join(logdir, log), errors="replace") as f:
            for line in f:
                if line.startswith("execve(") and line.rstrip().endswith("= 0"):
                    if os.path.basename(line.split('"')[1]) == prog:
                        count += 1
    shutil.rmtree(logdir)
    if count != n:
        raise RuntimeError(f"{tool} {variant}: spawned {prog} {count} times for {n} files")


# ---------------------------------------------------------------- main


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, Linux {os.uname().release}"


def main():
    global BUILD_DIR
    if not RUNNER:
        sys.exit("tasks.py: set RUNNER (bench/tasks.sh does)")
    root = tempfile.mkdtemp(prefix="runner-bench.")
    try:
        BUILD_DIR = root
        build_floor(root)
        run_all(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_floor(root):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        say(f"SKIP {FLOOR_NAME}: no C compiler (cc) to build bench/spawn_floor.c")
        return
    p = subprocess.run(
        [cc, "-O2", "-pthread", "-o", os.path.join(root, "spawn_floor"), os.path.join(HERE, "spawn_floor.c")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if p.returncode != 0:
        say(f"SKIP {FLOOR_NAME}: cc failed: {p.stderr.decode(errors='replace').strip()[:300]}")


def run_all(root):
    selected = [t for t in tools(RUNNER) if not ONLY or any(o in t[0] for o in ONLY)]
    usable = []
    for name, needs, cmds in selected:
        gone = missing(needs)
        if gone:
            hint = " (build it: cargo build --release)" if name == "runner" else ""
            say(f"SKIP {name}: not found: {', '.join(gone)}{hint}")
        else:
            usable.append((name, cmds))
    if not usable:
        sys.exit("tasks.py: no tool to run")

    say(f"machine: {machine()}")
    say(f"runner:  {RUNNER}")
    say(f"N={N} files, JOBS={JOBS}, REPS={REPS} (once if a run takes over {REPEAT_UNDER:g} s), PATH={BENCH_PATH}")
    load_before = loadavg()
    results = measure(root, usable)
    report(results, [name for name, _ in usable], load_before, loadavg())


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def measure(root, usable):
    results = {}  # (tool, variant) -> [(wall s, CPU s), ...], or an error string

    # 1. a small sample under strace: every tool spawns one program per file
    if VERIFY_N > 0:
        if shutil.which("strace") is None:
            say("SKIP spawn-count check: strace not found (apt-get install strace)")
        else:
            vwork = os.path.join(root, "verify")
            os.makedirs(vwork)
            vexpected = generate(vwork, VERIFY_N)
            write_pipelines(vwork, JOBS)
            for name, cmds in usable:
                for variant, cmd in cmds.items():
                    try:
                        count_execs(vwork, name, variant, cmd, VERIFY_N)
                        check_outputs(vwork, name, variant, vexpected)
                    except RuntimeError as e:
                        results[(name, variant)] = f"FAILED check: {e}"
                        say(f"FAIL {e}")
            say(f"spawn-count check on {VERIFY_N} files done (strace: one wc / true per file)")

    # 2. the timed runs on N files; outputs checked after every run
    work = os.path.join(root, "work")
    os.makedirs(work)
    expected = generate(work, N)
    write_pipelines(work, JOBS)
    for variant in ("wc", "true"):
        for rep in range(REPS):
            for name, cmds in usable:  # interleaved, so drift hits every tool alike
                done = results.get((name, variant))
                if isinstance(done, str):
                    continue
                if done and done[0][0] > REPEAT_UNDER:
                    continue  # slow enough that one run is the measurement
                try:
                    secs, cpu = run_once(work, name, variant, cmds[variant])
                    check_outputs(work, name, variant, expected)
                except RuntimeError as e:
                    results[(name, variant)] = f"FAILED: {e}"
                    say(f"FAIL {e}")
                    continue
                results.setdefault((name, variant), []).append((secs, cpu))
                say(
                    f"  {variant:4} rep {rep + 1}/{REPS}  {name:22} {secs:7.3f} s  {N / secs:8.0f} tasks/s"
                    f"  CPU {1000 * cpu / N:.2f} ms/task"
                )
    return results


def report(results, names, load_before, load_after):
    print()
    print(f"N={N} tasks per run, -j{JOBS}; {machine()}")
    print(f"load average (1, 5, 15 min) before: {load_before}, after: {load_after}")
    print(f"tasks/s of the best of {REPS} runs (median in brackets); every tool spawns one process per file")
    print()
    print("CPU ms/task: user + system time of every process the tool started, per task (median run)")
    print()
    print("| tool | `wc -l` > out, tasks/s | `true`, tasks/s | `wc` CPU ms/task | `true` CPU ms/task |")
    print("|---|---:|---:|---:|---:|")
    rate = {}
    for name in names:
        cells, cpus = [], []
        for variant in ("wc", "true"):
            r = results.get((name, variant))
            if isinstance(r, list) and r:
                walls = [w for w, _ in r]
                best, med = min(walls), statistics.median(walls)
                rate[(name, variant)] = N / best
                runs = "" if len(r) == REPS else f"; {len(r)} run" + ("s" if len(r) > 1 else "")
                cells.append(f"{N / best:,.0f} ({N / med:,.0f}{runs})")
                cpus.append(f"{1000 * statistics.median(c for _, c in r) / N:.2f}")
            else:
                cells.append(r or "not run")
                cpus.append("")
        label = f"{name} *(reference)*" if name in (FLOOR_NAME, NO_STATE) else name
        print(f"| {label} | {cells[0]} | {cells[1]} | {cpus[0]} | {cpus[1]} |")
    print()
    for variant in ("wc", "true"):
        others = {
            n: rate[(n, variant)]
            for n in names
            if n not in ("runner", NO_STATE, FLOOR_NAME) and (n, variant) in rate
        }
        mine = rate.get(("runner", variant))
        if mine is None or not others:
            print(f"{variant}: ratio runner / best other: n/a")
            continue
        best = max(others, key=others.get)
        ratio = mine / others[best]
        verdict = "meets the goal (>= 1)" if ratio >= 1 else "BELOW the goal (< 1)"
        print(
            f"{variant}: runner {mine:,.0f}/s; best other: {best} {others[best]:,.0f}/s; "
            f"runner / best other = {ratio:.2f}, {verdict}"
        )
        ratios = ", ".join(f"{n} {mine / r:.2f}" for n, r in others.items())
        print(f"    runner / each: {ratios}")
        floor = rate.get((FLOOR_NAME, variant))
        if floor:
            print(f"    runner / {FLOOR_NAME}: {mine / floor:.2f}")
        bare = rate.get((NO_STATE, variant))
        if bare:
            print(
                f"    state bookkeeping: runner takes {bare / mine:.2f}x the time of "
                f"{NO_STATE} ({(bare / mine - 1) * 100:+.0f}%; goal: under +10%)"
            )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
