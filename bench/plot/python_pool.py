"""The Python pattern runner replaces, as a user writes it today: glob the
files, split them round-robin into 8 batches, Pool(N).apply_async(worker,
batch, error_callback=...); per file pandas.read_csv, the statistics as
JSON, and a matplotlib (Agg) line plot of every numeric column over the x
column, saved in the format asked for (svg or png, as runner's job).

    python3 python_pool.py DATA_DIR OUT_DIR WORKERS FORMAT X_COLUMN
"""
import glob
import json
import math
import os
import sys
import time
from multiprocessing import Pool


def stats_of(df):
    import pandas as pd

    out = {"rows": int(len(df)), "columns": []}
    for name in df.columns:
        col = df[name]
        missing = int(col.isna().sum())
        if pd.api.types.is_numeric_dtype(col):
            ok = col.dropna()
            finite = ok[ok.abs() != math.inf]
            out["columns"].append({
                "name": name, "type": "number", "count": int(finite.size),
                "missing": missing, "min": float(finite.min()) if finite.size else None,
                "max": float(finite.max()) if finite.size else None,
                "mean": float(finite.mean()) if finite.size else None,
                "std": float(finite.std()) if finite.size > 1 else None,
            })
        elif pd.api.types.is_datetime64_any_dtype(col):
            ok = col.dropna()
            out["columns"].append({
                "name": name, "type": "time", "count": int(ok.size), "missing": missing,
                "min": ok.min().isoformat() if ok.size else None,
                "max": ok.max().isoformat() if ok.size else None,
            })
        else:
            out["columns"].append({
                "name": name, "type": "text", "count": int(col.size - missing),
                "missing": missing, "distinct": int(col.nunique()),
            })
    return out


def worker(batch, out, fmt, x):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    for path in batch:
        stem = os.path.splitext(os.path.basename(path))[0]
        df = pd.read_csv(path)
        if not pd.api.types.is_numeric_dtype(df[x]):
            # A date column: what a user adds so that matplotlib draws a
            # time axis.
            df[x] = pd.to_datetime(df[x])
        with open(os.path.join(out, "stats", stem + ".json"), "w") as f:
            json.dump(stats_of(df), f, indent=2)
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        for name in df.select_dtypes("number").columns:
            if name != x:
                ax.plot(df[x], df[name], label=name, lw=1)
        ax.set_title(stem)
        ax.set_xlabel(x)
        ax.legend()
        fig.savefig(os.path.join(out, "plots", f"{stem}.{fmt}"))
        plt.close(fig)


def failed(err):
    print(f"FAILED: {err}", file=sys.stderr)


def main():
    data, out, workers, fmt, x = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    start = time.perf_counter()
    os.makedirs(os.path.join(out, "stats"), exist_ok=True)
    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    files = sorted(glob.glob(os.path.join(data, "*.csv")))
    batches = [files[i::8] for i in range(8)]
    with Pool(workers) as pool:
        for batch in batches:
            if batch:
                pool.apply_async(worker, (batch, out, fmt, x), error_callback=failed)
        pool.close()
        pool.join()
    print(f"elapsed: {time.perf_counter() - start:.2f}s")


if __name__ == "__main__":
    main()
