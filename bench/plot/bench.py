"""runner against the classic Python pattern, in one run (see README.md).

    cargo build --release && python3 bench/plot/bench.py

Needs numpy and matplotlib (pip install matplotlib numpy). Work files go to
$BENCH_DIR (default /tmp/runner-bench-plot)."""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.environ.get("RUNNER", os.path.join(REPO, "target", "release", "runner"))
WORK = os.environ.get("BENCH_DIR", "/tmp/runner-bench-plot")
FILES, ROWS, WORKERS = 200, 10_000, 2

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

    print(f"corpus: {FILES} files x {ROWS} rows, {WORKERS} workers")
    out = os.path.join(WORK, "classic")
    fresh(out)
    py = timed([sys.executable, os.path.join(HERE, "classic.py"), corpus, out,
                str(WORKERS)])
    svg = runner("runner-svg", os.path.join(corpus, "*.csv"), "svg")
    png = runner("runner-png", os.path.join(corpus, "*.csv"), "png")
    print(f"  python multiprocessing + numpy + matplotlib (PNG): {py:7.2f} s")
    print(f"  runner csv.stats + line plot (SVG):               {svg:7.2f} s  ({py / svg:.0f}x faster)")
    print(f"  runner csv.stats + line plot (PNG):               {png:7.2f} s  ({py / png:.0f}x faster)")

    print("one file of 1,000,000 rows, stats + line plot:")
    out = os.path.join(WORK, "classic-big")
    fresh(out)
    py_big = timed([sys.executable, os.path.join(HERE, "classic.py"), big, out, "1"])
    big_svg = runner("runner-big", os.path.join(big, "*.csv"), "svg")
    size = os.path.getsize(os.path.join(WORK, "runner-big", "out", "plots", "run0000.svg"))
    print(f"  python (PNG):  {py_big:6.2f} s")
    print(f"  runner (SVG):  {big_svg:6.2f} s  (SVG {size / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
