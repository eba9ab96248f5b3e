#!/usr/bin/env python3
"""The pattern runner replaces: glob the files, Pool(N), one subprocess.run per file.

Usage: pool_baseline.py VARIANT JOBS
  VARIANT = wc    run `wc -l FILE` per file, stdout into out/wc/STEM.txt
  VARIANT = true  run `true` per file, no output
Run from the benchmark's work dir (files under files/).
"""

import glob
import os
import subprocess
import sys
from multiprocessing import Pool


def wc_one(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(os.path.join("out", "wc", stem + ".txt"), "wb") as out:
        subprocess.run(["wc", "-l", path], stdout=out, stdin=subprocess.DEVNULL, check=True)


def true_one(path):
    subprocess.run(["true"], stdin=subprocess.DEVNULL, check=True)


def main():
    variant, jobs = sys.argv[1], int(sys.argv[2])
    files = sorted(glob.glob("files/*.txt"))
    worker = {"wc": wc_one, "true": true_one}[variant]
    if variant == "wc":
        os.makedirs(os.path.join("out", "wc"), exist_ok=True)
    with Pool(jobs) as pool:
        pool.map(worker, files)


if __name__ == "__main__":
    main()
