"""runner against the Python pattern a user writes today (pandas.read_csv +
matplotlib in a multiprocessing Pool(2)), like with like: the same job,
the same output format (SVG against SVG, PNG against PNG), in one run,
interleaved; wall time and the peak of the summed resident memory of each
side's whole process tree (the pool's workers included). See README.md.

    cargo build --release
    python3 bench/plot/bench.py            # the full run (minutes)
    python3 bench/plot/bench.py --quick    # a smoke run (small corpora, once)

Needs pandas and matplotlib (pip install pandas matplotlib). Work files go
to $BENCH_DIR (default /tmp/runner-bench-plot); REPS (default 3) sets the
repetitions of the full run.
"""
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
WORK = os.environ.get("BENCH_DIR", "/tmp/runner-bench-plot")
QUICK = "--quick" in sys.argv
REPS = 1 if QUICK else int(os.environ.get("REPS", "3"))
WORKERS = 2

# (name, generator kind, files, rows, x column)
CORPORA = [
    ("classic", "classic", 20, 2_000, "t") if QUICK else ("classic", "classic", 200, 10_000, "t"),
    ("realworld", "realworld", 8, 5_000, "time") if QUICK else ("realworld", "realworld", 40, 50_000, "time"),
]

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
x = "{x}"
y = ["*"]
title = "{{{{ stem }}}}"
out = "plots/{{{{ key }}}}.{ext}"
"""


def measured(argv, cwd=None):
    """Runs argv; returns (wall seconds, peak tree RSS in MB), sampling
    every 10 ms (bench/proctree.py: a sampler that costs the job next to
    nothing). The page cache's dirty pages are written out first, so that
    neither side pays for writing back the files of the run before it (the
    pool's SVGs are 31 MB): the kernel's flusher threads share the 2 cores."""
    os.sync()
    wall, rss, _, err, code = proctree.measure(argv, cwd=cwd)
    if code != 0:
        sys.exit(f"{argv} failed with exit code {code}:\n{err[-2000:]}")
    return wall, rss


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def python(corpus, x, fmt):
    out = os.path.join(WORK, f"python-{fmt}")
    fresh(out)
    return measured([sys.executable, os.path.join(HERE, "python_pool.py"),
                     corpus, out, str(WORKERS), fmt, x])


def runner(corpus, x, fmt):
    """The runner job from scratch (no output, no state)."""
    d = os.path.join(WORK, f"runner-{fmt}")
    fresh(d)
    with open(os.path.join(d, "pipeline.toml"), "w") as f:
        f.write(PIPELINE.format(jobs=WORKERS, glob=os.path.join(corpus, "*.csv"), x=x, ext=fmt))
    return measured([RUNNER, "pipeline.toml", "--quiet"], cwd=d)


def main():
    if not os.path.exists(RUNNER):
        sys.exit(f"{RUNNER} not found: run `cargo build --release` first")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results = {}
    for name, kind, files, rows, x in CORPORA:
        corpus = os.path.join(WORK, f"{name}-{files}x{rows}")
        if not os.path.isdir(corpus):
            subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), kind, corpus,
                            str(files), str(rows)], check=True)
        size = sum(os.path.getsize(os.path.join(corpus, f)) for f in os.listdir(corpus))
        # Interleaved, so that a change in the machine's load hits all alike.
        runs = {key: [] for key in ("py-svg", "rn-svg", "py-png", "rn-png")}
        for rep in range(REPS):
            print(f"{name}: repetition {rep + 1} of {REPS}...", file=sys.stderr)
            for fmt in ("svg", "png"):
                runs[f"py-{fmt}"].append(python(corpus, x, fmt))
                runs[f"rn-{fmt}"].append(runner(corpus, x, fmt))
        results[name] = (files, rows, size, runs)

    print(f"load average before: {load}; after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f"; {os.cpu_count()} cores")
    print(f"wall seconds, best of {REPS} (median); peak MB = most resident memory of the whole "
          "process tree at once (the pool's workers summed); ratio = python / runner")
    for name, (files, rows, size, runs) in results.items():
        print(f"\n{name}: {files} files x {rows} rows ({size / 1e6:.0f} MB), {WORKERS} workers, "
              "stats + line plot per file")
        for fmt in ("svg", "png"):
            py, rn = runs[f"py-{fmt}"], runs[f"rn-{fmt}"]
            pw, rw = [w for w, _ in py], [w for w, _ in rn]
            pm, rm = max(m for _, m in py), max(m for _, m in rn)
            print(f"  {fmt.upper()}  python pool {min(pw):7.2f} s ({statistics.median(pw):.2f}) "
                  f"{pm:6.0f} MB | runner {min(rw):6.2f} s ({statistics.median(rw):.2f}) "
                  f"{rm:6.0f} MB | {min(pw) / min(rw):5.1f}x "
                  f"({statistics.median(pw) / statistics.median(rw):.1f}x)")
            print(f"       every run, in order: python {' '.join(f'{w:.2f}' for w in pw)}"
                  f" | runner {' '.join(f'{w:.3f}' for w in rw)}")


if __name__ == "__main__":
    main()
