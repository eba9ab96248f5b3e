"""What a PNG costs over the SVG of the same plot (issue 11's goal: an
800x450 PNG of a 10,000-point line at most 8 ms more than its SVG).

N plots of N files of 10,000 rows (one random walk), -j1, no state: once
to SVG, once to PNG drawn straight from the figure, and once to PNG through
an SVG template of your own (rasterized by resvg: the way every PNG was made
before). The extra time per plot is (PNG run - SVG run) / N, best of REPS.

    cargo build --release && python3 bench/plot/png_cost.py

To compare two builds in the same run (interleaved, so that the machine's
load hits both alike), name the other binary: RUNNER_BEFORE=/tmp/runner-old
python3 bench/plot/png_cost.py adds its SVG and PNG runs.
"""
import os
import random
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.environ.get("RUNNER", os.path.join(REPO, "target", "release", "runner"))
BEFORE = os.environ.get("RUNNER_BEFORE")
WORK = os.environ.get("BENCH_DIR", "/tmp/runner-bench-png")
N = int(os.environ.get("N", "100"))
REPS = int(os.environ.get("REPS", "5"))

PIPELINE = """
[pipeline]
out = "out"
jobs = 1

[inputs.data]
glob = ["{data}/*.csv"]

[[plots]]
name = "plot"
each = "data"
x = "t"
y = "v"
title = "{{{{ stem }}}}"
template = "{template}"
out = "{{{{ key }}}}.{ext}"
"""


def svg_template():
    """The built-in line template as one file of your own."""
    base = open(os.path.join(REPO, "src/plot/templates/base.svg.j2")).read()
    line = open(os.path.join(REPO, "src/plot/templates/line.svg.j2")).read()
    marks = line.split("{% block marks %}")[1].split("{% endblock %}")[0]
    return base.replace("{% block marks %}{% endblock %}", marks)


def run(name, template, ext, data, runner=RUNNER):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if template.endswith(".j2"):
        with open(os.path.join(d, template), "w") as f:
            f.write(svg_template())
    with open(os.path.join(d, "pipeline.toml"), "w") as f:
        f.write(PIPELINE.format(data=data, template=template, ext=ext))
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([runner, "pipeline.toml", "--quiet", "--no-state"], cwd=d, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)


def main():
    if not os.path.exists(RUNNER):
        sys.exit(f"{RUNNER} not found: run `cargo build --release` first")
    data = os.path.join(WORK, f"data-{N}")
    if not os.path.isdir(data):
        os.makedirs(data)
        for n in range(N):
            rnd = random.Random(n)
            walk = 0.0
            with open(os.path.join(data, f"w{n:04d}.csv"), "w") as f:
                f.write("t,v\n")
                for i in range(10_000):
                    walk += rnd.uniform(-0.5, 0.5)
                    f.write(f"{i},{walk:.4f}\n")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    times = {"svg": [], "png": [], "resvg": []}
    if BEFORE:
        times.update({"svg-before": [], "png-before": []})
    for _ in range(REPS):
        times["svg"].append(run("svg", "line", "svg", data))
        times["png"].append(run("png", "line", "png", data))
        times["resvg"].append(run("resvg", "own.svg.j2", "png", data))
        if BEFORE:
            times["svg-before"].append(run("svg-before", "line", "svg", data, BEFORE))
            times["png-before"].append(run("png-before", "line", "png", data, BEFORE))
    # Best wall time and best CPU time (user + sys, which a busy machine
    # inflates far less than wall time) of each kind of run, in seconds.
    best = {k: min(w for w, _ in v) for k, v in times.items()}
    cpu = {k: min(c for _, c in v) for k, v in times.items()}
    print(f"load average before: {load}; after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f"; {os.cpu_count()} cores")
    print(f"{N} plots of 10,000 points, 800x450, -j1, best of {REPS}; per plot, wall and CPU:")

    def row(label, key, svg):
        extra = (best[key] - best[svg]) / N * 1000
        extra_cpu = (cpu[key] - cpu[svg]) / N * 1000
        over = "" if key == svg else f"  +{extra:5.1f} ms over SVG (CPU +{extra_cpu:5.1f} ms)"
        print(f"  {label:<30} {best[key] / N * 1000:6.1f} ms (CPU {cpu[key] / N * 1000:5.1f} ms){over}")

    row("SVG", "svg", "svg")
    row("PNG drawn from the figure", "png", "svg")
    row("PNG via resvg (own template)", "resvg", "svg")
    if BEFORE:
        print(f"  {BEFORE}:")
        row("SVG", "svg-before", "svg-before")
        row("PNG drawn from the figure", "png-before", "svg-before")

if __name__ == "__main__":
    main()
