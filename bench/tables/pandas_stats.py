"""What a pandas user writes for csv.stats over many files: read_csv +
describe per file in a Pool(2), one JSON per file.

    python3 pandas_stats.py OUT FILE...
"""
import os
import sys
from multiprocessing import Pool

import pandas as pd


def stats(args):
    path, out = args
    df = pd.read_csv(path)
    desc = df.describe(include="all")
    desc.to_json(os.path.join(out, os.path.basename(path) + ".json"))
    return len(df)


def main():
    out, files = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    with Pool(2) as pool:
        rows = pool.map(stats, [(f, out) for f in files])
    print(f"pandas: {len(files)} files, {sum(rows)} rows")


if __name__ == "__main__":
    main()
