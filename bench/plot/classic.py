"""The classic pattern runner replaces: glob the files, split them into 8
round-robin batches, Pool(N).apply_async(worker, batch, error_callback=...),
per file numpy to read, json for the statistics, matplotlib (Agg) for a line
plot; print the elapsed time."""
import glob
import json
import os
import sys
import time
from multiprocessing import Pool


def worker(batch, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    for path in batch:
        stem = os.path.splitext(os.path.basename(path))[0]
        data = np.genfromtxt(path, delimiter=",", names=True, dtype=None,
                             encoding="utf-8", missing_values=("", "NA"),
                             filling_values=np.nan)
        stats = {"rows": int(data.shape[0]), "columns": []}
        numeric = [n for n in data.dtype.names if data.dtype[n].kind == "f"]
        for name in data.dtype.names:
            col = data[name]
            if name in numeric:
                ok = col[np.isfinite(col)]
                stats["columns"].append({
                    "name": name, "type": "number", "count": int(ok.size),
                    "missing": int(np.isnan(col).sum()),
                    "min": float(ok.min()), "max": float(ok.max()),
                    "mean": float(ok.mean()), "std": float(ok.std(ddof=1)),
                })
            else:
                stats["columns"].append({
                    "name": name, "type": "text", "count": int(col.size),
                    "distinct": int(np.unique(col).size),
                })
        with open(os.path.join(out, "stats", stem + ".json"), "w") as f:
            json.dump(stats, f, indent=2)
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        for name in numeric:
            if name != "t":
                ax.plot(data["t"], data[name], label=name, lw=1)
        ax.set_title(stem)
        ax.set_xlabel("t")
        ax.legend()
        fig.savefig(os.path.join(out, "plots", stem + ".png"))
        plt.close(fig)


def failed(err):
    print(f"FAILED: {err}", file=sys.stderr)


def main():
    data, out, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.perf_counter()
    os.makedirs(os.path.join(out, "stats"), exist_ok=True)
    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    files = sorted(glob.glob(os.path.join(data, "*.csv")))
    batches = [files[i::8] for i in range(8)]
    with Pool(workers) as pool:
        for batch in batches:
            if batch:
                pool.apply_async(worker, (batch, out), error_callback=failed)
        pool.close()
        pool.join()
    print(f"elapsed: {time.perf_counter() - start:.2f}s")


if __name__ == "__main__":
    main()
