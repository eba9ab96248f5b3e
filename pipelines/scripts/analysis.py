"""The example's own functions, called by runner once per task in a
long-lived worker (pipelines/python.toml). Each asks for the names it
needs: `input`/`inputs`, `out`, and the step's `with` values."""

import json
import statistics

import sparkline
import tables


def summarize(input, out, precision=3):
    """count, mean, min, max and standard deviation of each numeric column."""
    summary = {}
    for name, values in tables.numeric_columns(input).items():
        if not values:
            continue
        summary[name] = {
            "count": len(values),
            "mean": round(statistics.fmean(values), precision),
            "min": min(values),
            "max": max(values),
            "std": round(statistics.pstdev(values), precision),
        }
    with open(out, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")


def draw(input, out, column, title=""):
    """A sparkline of one column (an empty picture if the file lacks it)."""
    values = tables.numeric_columns(input).get(column, [])
    if not values:
        print("no column `%s` in %s" % (column, input))
    with open(out, "w") as f:
        f.write(sparkline.svg(values, title=title))


def report(inputs, out):
    """One row per file: its summary's mean of every column."""
    rows = []
    columns = set()
    for path in inputs:
        with open(path) as f:
            summary = json.load(f)
        columns.update(summary)
        rows.append((path.rsplit("/", 1)[-1].rsplit(".", 1)[0], summary))
    columns = sorted(columns)
    with open(out, "w") as f:
        f.write(",".join(["file"] + columns) + "\n")
        for name, summary in rows:
            cells = [str(summary[c]["mean"]) if c in summary else "" for c in columns]
            f.write(",".join([name] + cells) + "\n")
