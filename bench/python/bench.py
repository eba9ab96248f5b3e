"""Python steps against the pattern they replace, in one command (README.md):

    cargo build --release && python3 bench/python/bench.py

Installs numpy, pandas and matplotlib with pip into a virtual environment
($BENCH_VENV, default /tmp/runner-bench-python/venv) on first use. Work files
go to $BENCH_DIR (default /tmp/runner-bench-python). $REPS (default 3) runs
of each timed job, interleaved; $SUBSET (default 20) files for the
one-interpreter-per-file job, whose time is extrapolated to the corpus.
$FILES, $ROWS and $TRIVIAL shrink the job for a smoke test; ONLY=trivial
runs only the trivial-call pair (no pandas corpus)."""

import glob
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import proctree  # noqa: E402  (bench/proctree.py)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.environ.get("RUNNER", os.path.join(REPO, "target", "release", "runner"))
WORK = os.environ.get("BENCH_DIR", "/tmp/runner-bench-python")
VENV = os.environ.get("BENCH_VENV", os.path.join(WORK, "venv"))
PYTHON = os.path.join(VENV, "bin", "python")
FILES = int(os.environ.get("FILES", "200"))
ROWS = int(os.environ.get("ROWS", "10000"))
TRIVIAL = int(os.environ.get("TRIVIAL", "5000"))
REPS = int(os.environ.get("REPS", "3"))
SUBSET = int(os.environ.get("SUBSET", "20"))
ONLY_TRIVIAL = os.environ.get("ONLY", "") == "trivial"

PIPELINE = """
[pipeline]
out = "out"
jobs = 2
python = "{python}"

[inputs.data]
glob = ["{glob}"]

[[steps]]
name = "plot"
each = "data"
{action}
out = "plots/{{{{ key }}}}.{ext}"
"""


def ensure_venv():
    if not os.path.exists(PYTHON):
        print(f"creating {VENV} with numpy, pandas, matplotlib", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    check = "import numpy, pandas, matplotlib"
    if subprocess.run([PYTHON, "-c", check], capture_output=True).returncode != 0:
        subprocess.run(
            [PYTHON, "-m", "pip", "install", "--quiet", "numpy", "pandas", "matplotlib"],
            check=True,
        )
    versions = subprocess.run(
        [PYTHON, "-c", "import sys, numpy, pandas, matplotlib; print("
         "sys.version.split()[0], numpy.__version__, pandas.__version__, matplotlib.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return dict(zip(["python", "numpy", "pandas", "matplotlib"], versions))


def measure(argv, cwd, env=None, pss=False):
    """Wall seconds, the peak summed RSS (MB) of the process tree and, only
    when asked, its peak summed PSS (bench/proctree.py: reading PSS costs
    the job milliseconds a sample, so a run that reads it is not timed)."""
    seconds, rss, peak_pss, err, code = proctree.measure(argv, cwd, env, every=0.02, pss=pss)
    if code != 0:
        sys.exit(f"{argv} failed ({code}):\n{err[-2000:]}")
    return seconds, rss, peak_pss


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def runner_dir(name, glob_pattern, action, ext, modules=("plotting.py",)):
    d = os.path.join(WORK, name)
    fresh(d)
    for module in modules:
        shutil.copy(os.path.join(HERE, module), d)
    with open(os.path.join(d, "pipeline.toml"), "w") as f:
        f.write(PIPELINE.format(python=PYTHON, glob=glob_pattern, action=action, ext=ext))
    return d


def runner_python(name, glob_pattern, module, function, ext):
    action = f'python = "{module}:{function}"'
    return runner_dir(name, glob_pattern, action, ext, modules=(module,))


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def row(label, results, note="", memory=()):
    """A table row: seconds of the timed `results`; memory of those and of
    the untimed `memory` runs, which also read PSS."""
    secs = [r[0] for r in results]
    rss = max(r[1] for r in list(results) + list(memory))
    pss = f"{max(r[2] for r in memory):.0f}" if memory else "-"
    best, median = min(secs), statistics.median(secs)
    print(f"| {label} | {best:.2f} ({median:.2f}) | {rss:.0f} | {pss} | {note} |")
    return best


def main():
    if not os.path.exists(RUNNER):
        sys.exit(f"{RUNNER} not found: run `cargo build --release` first")
    os.makedirs(WORK, exist_ok=True)
    versions = ensure_venv()
    corpus = os.path.join(WORK, "corpus")
    if not ONLY_TRIVIAL and len(glob.glob(os.path.join(corpus, "*.csv"))) != FILES:
        fresh(corpus)
        subprocess.run([sys.executable, os.path.join(REPO, "bench", "plot", "gen.py"),
                        "classic", corpus, str(FILES), str(ROWS)], check=True)
    subset = os.path.join(WORK, "subset")
    fresh(subset)
    for path in sorted(glob.glob(os.path.join(corpus, "*.csv")))[:SUBSET]:
        if not ONLY_TRIVIAL:
            shutil.copy(path, subset)
    tiny = os.path.join(WORK, "tiny")
    if len(glob.glob(os.path.join(tiny, "*.txt"))) != TRIVIAL:
        fresh(tiny)
        for i in range(TRIVIAL):
            with open(os.path.join(tiny, f"f{i:05d}.txt"), "w") as f:
                f.write(f"{i}\n")
    env = dict(os.environ, PYTHONPATH=HERE)
    print(f"load average before: {load()}; python {versions}", file=sys.stderr)

    pool, python, run, trivial_runner, trivial_pool = [], [], [], [], []
    # The trivial jobs create 5,000 files each: in folders of new names
    # (ext4 is slow making files right after mass deletes), removed at
    # the end.
    scratch = []
    for rep in range(REPS):
        print(f"round {rep + 1}/{REPS}", file=sys.stderr)
        tag = f"{os.getpid()}-{rep}"
        d = runner_python(f"runner-trivial-{tag}", "../tiny/*.txt", "trivial.py", "touch", "txt")
        trivial_runner.append(measure([RUNNER, "pipeline.toml", "-q"], d))
        out = os.path.join(WORK, f"pool-map-out-{tag}")
        fresh(out)
        trivial_pool.append(measure([PYTHON, os.path.join(HERE, "pool_map.py"), tiny, out],
                                    WORK, env))
        scratch += [d, out]
        if ONLY_TRIVIAL:
            continue
        out = os.path.join(WORK, "pool-out")
        fresh(out)
        pool.append(measure([PYTHON, os.path.join(HERE, "pool.py"), corpus, out], WORK, env))
        d = runner_python("runner-python", "../corpus/*.csv", "plotting.py", "plot_file", "png")
        python.append(measure([RUNNER, "pipeline.toml", "-q"], d))
        action = 'run = ["{python}", "plot_cli.py", "{{{{ input }}}}", "{{{{ out }}}}"]'.format(python=PYTHON)
        d = runner_dir("runner-run", "../subset/*.csv", action, "png",
                       modules=("plotting.py", "plot_cli.py"))
        run.append(measure([RUNNER, "pipeline.toml", "-q"], d))
    # One more run of each job that reads PSS too (not timed).
    memory = {}
    d = runner_python(f"runner-trivial-{os.getpid()}-pss", "../tiny/*.txt", "trivial.py",
                      "touch", "txt")
    memory["trivial-runner"] = [measure([RUNNER, "pipeline.toml", "-q"], d, pss=True)]
    out = os.path.join(WORK, f"pool-map-out-{os.getpid()}-pss")
    fresh(out)
    memory["trivial-pool"] = [measure([PYTHON, os.path.join(HERE, "pool_map.py"), tiny, out],
                                      WORK, env, pss=True)]
    scratch += [d, out]
    if not ONLY_TRIVIAL:
        out = os.path.join(WORK, "pool-out")
        fresh(out)
        memory["pool"] = [measure([PYTHON, os.path.join(HERE, "pool.py"), corpus, out], WORK,
                                  env, pss=True)]
        d = runner_python("runner-python", "../corpus/*.csv", "plotting.py", "plot_file", "png")
        memory["python"] = [measure([RUNNER, "pipeline.toml", "-q"], d, pss=True)]
    if ONLY_TRIVIAL:
        print(f"load average after: {load()}", file=sys.stderr)
        trivial_table(trivial_runner, trivial_pool, memory)
        for path in scratch:
            shutil.rmtree(path, ignore_errors=True)
        return

    # Re-runs of the last runner-python folder: nothing changed, one input
    # touched (same content), one input edited (one task runs).
    d = os.path.join(WORK, "runner-python")
    again = [measure([RUNNER, "pipeline.toml", "-q"], d) for _ in range(REPS)]
    touched = []
    edited = []
    victim = os.path.join(WORK, "edit-me.csv")
    for rep in range(REPS):
        target = sorted(glob.glob(os.path.join(corpus, "*.csv")))[rep]
        os.utime(target)
        touched.append(measure([RUNNER, "pipeline.toml", "-q"], d))
        shutil.copy(target, victim)
        with open(target, "a") as f:
            f.write("100.00,1.0,20.0,3.0,ok\n")
        edited.append(measure([RUNNER, "pipeline.toml", "-q"], d))
        shutil.copy(victim, target)  # as generated again, for the next run
        measure([RUNNER, "pipeline.toml", "-q"], d)  # and recorded (not timed)
    measure([RUNNER, "pipeline.toml", "-q"], d)

    print(f"load average after: {load()}", file=sys.stderr)
    print()
    print(f"{FILES} files x {ROWS:,} rows, read with pandas, plotted to PNG with matplotlib; "
          f"2 workers; best of {REPS} (median); peak summed RSS and PSS of all processes.")
    print()
    print("| job | seconds | RSS MB | PSS MB | |")
    print("| --- | ---: | ---: | ---: | --- |")
    a = row("(a) `Pool(2)`, 8 batches, `apply_async`", pool, memory=memory["pool"])
    b = row("(b) runner `-j2`, `python` step", python, "", memory=memory["python"])
    c = row(f"(c) runner `-j2`, `run` step per file, {SUBSET} files", run,
            f"x{FILES / SUBSET:.0f} = {min(r[0] for r in run) * FILES / SUBSET:.0f} s for {FILES}")
    row("(b) again, nothing changed", again)
    row("(b) again, one input touched (same content)", touched)
    row("(b) again, one input edited (1 task runs)", edited)
    print()
    print(f"(b) / (a) = {b / a:.3f}; (c, extrapolated) / (a) = {c * FILES / SUBSET / a:.1f}")
    trivial_table(trivial_runner, trivial_pool, memory)
    for path in scratch:
        shutil.rmtree(path, ignore_errors=True)


def trivial_table(trivial_runner, trivial_pool, memory):
    print()
    print(f"{TRIVIAL:,} calls of a trivial function (writes its output file), 2 workers:")
    print()
    print("| job | seconds | RSS MB | PSS MB | calls/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    t = row("runner `-j2`, `python` step", trivial_runner,
            f"{TRIVIAL / min(r[0] for r in trivial_runner):,.0f}", memory["trivial-runner"])
    p = row("`Pool(2).map`", trivial_pool, f"{TRIVIAL / min(r[0] for r in trivial_pool):,.0f}",
            memory["trivial-pool"])
    print()
    print(f"runner / Pool: {t / p:.2f}")


if __name__ == "__main__":
    main()
