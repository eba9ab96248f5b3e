"""Generates the plot benchmark's corpora, deterministic (fixed seeds).

    python3 gen.py classic DIR FILES ROWS     t,value,temp,flow,status: a random
                                              walk, a noisy sine, noise, a text
                                              column; about 1% missing
    python3 gen.py realworld DIR FILES ROWS   the real-world shape of issue 11:
                                              a date-time column, text-heavy
                                              (station, sensor, status, a free
                                              comment), a mostly-numeric `flag`
                                              column with `T`, `<5`, `5+` among
                                              its numbers, three numbers
"""
import math
import os
import random
import sys
from datetime import datetime, timedelta


def classic(path, rows, seed):
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


STATIONS = [f"ST-{i:03d}" for i in range(60)]
SENSORS = ["temp-a", "temp-b", "humid", "press", "wind", "rain", "solar", "soil"]
STATUS = ["ok"] * 18 + ["warn", "fail"]
ODD = ["T", "<5", "5+", "?"]
WORDS = ("calibrated checked replaced cleaned moved reset drift spike gap noise "
         "battery cable mast logger antenna shade frost snow dust bird").split()


def realworld(path, rows, seed):
    rnd = random.Random(seed)
    start = datetime(2019, 1, 1)
    walk = 0.0
    with open(path, "w") as f:
        f.write("time,station,sensor,status,flag,comment,value,temp,count\n")
        for i in range(rows):
            when = (start + timedelta(minutes=10 * i)).strftime("%Y-%m-%d %H:%M")
            walk += rnd.uniform(-0.5, 0.5)
            value = "" if rnd.random() < 0.01 else f"{walk:.3f}"
            temp = "NA" if rnd.random() < 0.01 else f"{12 + rnd.gauss(0, 6):.1f}"
            flag = rnd.choice(ODD) if rnd.random() < 0.002 else str(rnd.randint(0, 9))
            comment = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 6)))
            if rnd.random() < 0.05:
                comment = f'"{comment}, see log {rnd.randint(1, 99999)}"'
            f.write(
                f"{when},{rnd.choice(STATIONS)},{rnd.choice(SENSORS)},"
                f"{rnd.choice(STATUS)},{flag},{comment},{value},{temp},{rnd.randint(0, 999)}\n"
            )


def main():
    kind, out, files, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    make = {"classic": classic, "realworld": realworld}[kind]
    os.makedirs(out, exist_ok=True)
    prefix = "run" if kind == "classic" else "site"
    for n in range(files):
        make(os.path.join(out, f"{prefix}{n:04d}.csv"), rows, n)


if __name__ == "__main__":
    main()
