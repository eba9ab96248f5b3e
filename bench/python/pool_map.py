"""The trivial function's baseline: Pool(2).map over (input, out) pairs.
Usage: pool_map.py DATA_DIR OUT_DIR"""

import glob
import multiprocessing
import os
import sys

from trivial import touch


def call(pair):
    touch(*pair)


def main():
    data, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    pairs = [
        (path, os.path.join(out_dir, os.path.basename(path)))
        for path in sorted(glob.glob(os.path.join(data, "*.txt")))
    ]
    with multiprocessing.Pool(2) as pool:
        pool.map(call, pairs)


if __name__ == "__main__":
    main()
