"""Generates the weather example's data once (the CSV files are committed):
daily measurements of two stations over three years, deterministic.

    python3 pipelines/weather/generate.py

Columns: date (ISO), temp (°C), pressure (hPa), humidity (%), rain (mm; `T`
for a trace, as weather services write it, and a few days missing)."""
import datetime
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
START = datetime.date(2021, 1, 1)
DAYS = 1095


def station(name, seed, mean_temp, swing, base_pressure):
    rnd = random.Random(seed)
    pressure = base_pressure
    with open(os.path.join(HERE, f"{name}.csv"), "w", newline="\n") as f:
        f.write("date,temp,pressure,humidity,rain\n")
        for day in range(DAYS):
            date = START + datetime.timedelta(days=day)
            season = math.cos((date.timetuple().tm_yday - 200) / 365.25 * 2 * math.pi)
            temp = mean_temp + swing * season + rnd.gauss(0, 2.5)
            pressure += rnd.gauss(0, 3.0) - (pressure - base_pressure) * 0.2
            humidity = min(100, max(15, 70 - 12 * season + rnd.gauss(0, 9)))
            wet = rnd.random()
            if rnd.random() < 0.01:
                rain = ""
            elif wet < 0.55:
                rain = "0"
            elif wet < 0.62:
                rain = "T"
            else:
                rain = f"{rnd.expovariate(0.25):.1f}"
            f.write(f"{date.isoformat()},{temp:.1f},{pressure:.1f},{humidity:.0f},{rain}\n")


if __name__ == "__main__":
    station("harbour", 1, 11.0, 7.0, 1014.0)
    station("summit", 2, 3.0, 9.0, 780.0)
