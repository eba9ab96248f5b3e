"""Generates the real-world table shape of issue 11, deterministic (fixed
seeds): daily-to-hourly measurements with a date column, four text columns
(station, sensor, status and a mostly-numeric `flag` column with `T`, `<5`
and `5+` among its numbers, as real published data has) and three numbers
(about 1% missing).

    python3 gen.py big DIR ROWS         one file DIR/big.csv (1.4M rows ~ 60 MB)
    python3 gen.py many DIR FILES ROWS  FILES files DIR/fNNNN.csv
"""
import os
import random
import sys
from datetime import datetime, timedelta

STATIONS = [f"ST-{i:03d}" for i in range(60)]
SENSORS = ["temp-a", "temp-b", "humid", "press", "wind", "rain", "solar", "soil"]
STATUS = ["ok"] * 18 + ["warn", "fail"]
ODD = ["T", "<5", "5+", "?"]


def write(path, rows, seed):
    rnd = random.Random(seed)
    start = datetime(2019, 1, 1)
    walk = 0.0
    with open(path, "w") as f:
        f.write("time,station,sensor,status,flag,value,temp,count\n")
        for i in range(rows):
            when = (start + timedelta(minutes=10 * i)).strftime("%Y-%m-%d %H:%M")
            walk += rnd.uniform(-0.5, 0.5)
            value = "" if rnd.random() < 0.01 else f"{walk:.3f}"
            temp = "NA" if rnd.random() < 0.01 else f"{12 + rnd.gauss(0, 6):.1f}"
            flag = rnd.choice(ODD) if rnd.random() < 0.002 else str(rnd.randint(0, 9))
            f.write(
                f"{when},{rnd.choice(STATIONS)},{rnd.choice(SENSORS)},"
                f"{rnd.choice(STATUS)},{flag},{value},{temp},{rnd.randint(0, 999)}\n"
            )


def main():
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if kind == "big":
        write(os.path.join(out, "big.csv"), int(sys.argv[3]), 11)
    else:
        files, rows = int(sys.argv[3]), int(sys.argv[4])
        for n in range(files):
            write(os.path.join(out, f"f{n:04d}.csv"), rows, n)


if __name__ == "__main__":
    main()
