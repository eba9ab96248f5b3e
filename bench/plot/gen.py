"""Generates the benchmark corpus: N files x R rows of t,value,temp,flow,status
(about 1% of the numbers missing), deterministic (fixed seed)."""
import math
import os
import random
import sys


def write(path, rows, seed):
    rnd = random.Random(seed)
    walk = 0.0
    with open(path, "w") as f:
        f.write("t,value,temp,flow,status\n")
        for i in range(rows):
            t = i * 0.01
            walk += rnd.uniform(-0.5, 0.5)
            value = "" if rnd.random() < 0.01 else f"{walk:.4f}"
            temp = f"{20 + 5 * math.sin(t / 7) + rnd.gauss(0, 0.2):.3f}"
            flow = "NA" if rnd.random() < 0.01 else f"{3 + rnd.gauss(0, 0.5):.3f}"
            status = "ok" if rnd.random() < 0.95 else "check"
            f.write(f"{t:.2f},{value},{temp},{flow},{status}\n")


def main():
    out, files, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    for n in range(files):
        write(os.path.join(out, f"run{n:04d}.csv"), rows, n)


if __name__ == "__main__":
    main()
