"""Reading the example CSV files with the standard library only: numbers
per column, missing cells (empty, NA, N/A, NaN) left out."""

import csv

MISSING = {"", "NA", "N/A", "NaN", "nan", "null"}


def numeric_columns(path):
    """{column: [float, ...]} for every column whose values are numbers."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {}
    for name in rows[0].keys() if rows else []:
        values = [row[name] for row in rows if row[name] not in MISSING]
        try:
            columns[name] = [float(v) for v in values]
        except ValueError:
            continue  # a text column
    return columns
