"""(a) The pattern runner replaces: glob, 8 round-robin batches,
Pool(2).apply_async(worker, batch, error_callback=...), each worker calling
plot_file on its files. Usage: pool.py CORPUS_DIR OUT_DIR"""

import glob
import multiprocessing
import os
import sys
import time

from plotting import plot_file

BATCHES, WORKERS = 8, 2


def worker(batch, out_dir):
    for path in batch:
        stem = os.path.splitext(os.path.basename(path))[0]
        plot_file(path, os.path.join(out_dir, stem + ".png"))


def main():
    corpus, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    files = sorted(glob.glob(os.path.join(corpus, "*.csv")))
    batches = [files[i::BATCHES] for i in range(BATCHES)]
    start = time.perf_counter()
    errors = []
    with multiprocessing.Pool(WORKERS) as pool:
        for batch in batches:
            pool.apply_async(worker, (batch, out_dir), error_callback=errors.append)
        pool.close()
        pool.join()
    if errors:
        sys.exit("failed: %r" % errors[0])
    print("elapsed %.2f s" % (time.perf_counter() - start), file=sys.stderr)


if __name__ == "__main__":
    main()
