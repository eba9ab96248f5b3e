"""runner against the classic Python pattern, in one run (see README.md).

    cargo build --release && python3 bench/plot/bench.py

Needs numpy and matplotlib (pip install matplotlib numpy). Work files go to
$BENCH_DIR (default /tmp/runner-bench-plot)."""
import os
import shutil
import subprocess
import sys
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.environ.get("RUNNER", os.path.join(REPO, "target", "release", "runner"))
WORK = os.environ.get("BENCH_DIR", "/tmp/runner-bench-plot")
FILES, ROWS, WORKERS = 200, 10_000, 2
REPS = int(os.environ.get("REPS", "3"))

PIPELINE = """
[pipeline]
out = "out"
jobs = {jobs}

[inputs.data]
glob = ["{glob}"]

[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{{{ key }}}}.json"

[[plots]]
name = "plot"
each = "data"
x = "t"
y = ["*"]
title = "{{{{ stem }}}}"
out = "plots/{{{{ key }}}}.{ext}"
"""


def timed(argv, cwd=None):
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def runner(name, glob, ext):
    """Runs the runner job from scratch (no output, no state) and times it."""
    d = os.path.join(WORK, name)
    fresh(d)
    with open(os.path.join(d, "pipeline.toml"), "w") as f:
        f.write(PIPELINE.format(jobs=WORKERS, glob=glob, ext=ext))
    return timed([RUNNER, "pipeline.toml", "--quiet"], cwd=d)


def summary(times):
    """best (median) of a list of seconds."""
    return min(times), statistics.median(times)


def main():
    if not os.path.exists(RUNNER):
        sys.exit(f"{RUNNER} not found: run `cargo build --release` first")
    corpus = os.path.join(WORK, "corpus")
    big = os.path.join(WORK, "big")
    if not os.path.isdir(corpus):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), corpus,
                        str(FILES), str(ROWS)], check=True)
    if not os.path.isdir(big):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), big,
                        "1", "1000000"], check=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())

    # The tools run interleaved, REPS times each, so that a change in the
    # machine's load hits all of them alike; best and median are reported.
    times = {k: [] for k in ("py", "svg", "png", "py_big", "big_svg")}
    for rep in range(REPS):
        print(f"repetition {rep + 1} of {REPS}...", file=sys.stderr)
        out = os.path.join(WORK, "classic")
        fresh(out)
        times["py"].append(timed([sys.executable, os.path.join(HERE, "classic.py"),
                                  corpus, out, str(WORKERS)]))
        times["svg"].append(runner("runner-svg", os.path.join(corpus, "*.csv"), "svg"))
        times["png"].append(runner("runner-png", os.path.join(corpus, "*.csv"), "png"))
        out = os.path.join(WORK, "classic-big")
        fresh(out)
        times["py_big"].append(timed([sys.executable, os.path.join(HERE, "classic.py"),
                                      big, out, "1"]))
        times["big_svg"].append(runner("runner-big", os.path.join(big, "*.csv"), "svg"))
    size = os.path.getsize(os.path.join(WORK, "runner-big", "out", "plots", "run0000.svg"))

    best = {k: summary(v) for k, v in times.items()}
    print(f"load average before: {load}; after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"seconds, best of {REPS} (median); ratio = python / runner, of the best and of the medians")
    print(f"corpus: {FILES} files x {ROWS} rows, {WORKERS} workers")

    def line(label, key, base=None):
        b, m = best[key]
        text = f"  {label:<50} {b:7.2f} s ({m:6.2f})"
        if base:
            pb, pm = best[base]
            text += f"  {pb / b:5.1f}x ({pm / m:.1f}x) faster"
        print(text)

    line("python multiprocessing + numpy + matplotlib (PNG):", "py")
    line("runner csv.stats + line plot (SVG):", "svg", "py")
    line("runner csv.stats + line plot (PNG):", "png", "py")
    print("one file of 1,000,000 rows, stats + line plot:")
    line("python (PNG), 1 worker:", "py_big")
    line(f"runner (SVG, {size / 1000:.0f} KB), 2 jobs:", "big_svg", "py_big")


if __name__ == "__main__":
    main()
