#!/bin/sh
# Time and peak memory of csv.stats + a line plot on the real-world table
# shape (issue 11), and of pandas doing the stats job in a Pool(2).
#
#   cargo build --release && sh bench/tables/run.sh          # full size
#   ROWS=100000 FILES=4 FROWS=20000 sh bench/tables/run.sh   # smoke run
#
# Work files go to $BENCH_DIR (default /tmp/runner-bench-tables).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNNER=${RUNNER:-$REPO/target/release/runner}
WORK=${BENCH_DIR:-/tmp/runner-bench-tables}
ROWS=${ROWS:-1400000}      # one big file: 1.4M rows, about 60 MB
FILES=${FILES:-40}         # many files ...
FROWS=${FROWS:-140000}     # ... of 140,000 rows (about 6 MB) each
mkdir -p "$WORK"
cd "$WORK"

if [ ! -f "big-$ROWS/big.csv" ]; then
    python3 "$HERE/gen.py" big "big-$ROWS" "$ROWS"
fi
if [ ! -f "many-$FILES-$FROWS/f0000.csv" ]; then
    python3 "$HERE/gen.py" many "many-$FILES-$FROWS" "$FILES" "$FROWS"
fi

pipeline() {  # $1 = glob
    cat <<TOML
[pipeline]
out = "out"
jobs = 2
[inputs.data]
glob = ["$1"]
[[steps]]
name = "stats"
each = "data"
use = "csv.stats"
out = "stats/{{ key }}.json"
[[plots]]
name = "plot"
each = "data"
y = ["value"]
out = "plots/{{ key }}.svg"
TOML
}

measure() {  # $1 = label, rest = command
    label=$1; shift
    /usr/bin/time -v "$@" > time.out 2> time.err || { cat time.err; exit 1; }
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' time.err)
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.err)
    echo "$label: wall $wall, peak RSS $((rss / 1024)) MB (one process)"
}

size_mb() { du -m "$1" | cut -f1; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "big file: $(size_mb "big-$ROWS/big.csv") MB, $ROWS rows; many: $FILES files, $(size_mb "many-$FILES-$FROWS") MB"

pipeline "big-$ROWS/*.csv" > big.toml
rm -rf out .runner
measure "runner csv.stats + line plot, big file" "$RUNNER" run --no-state -q big.toml
rm -rf out .runner
echo "  (summed over the process tree) $(python3 "$HERE/peak.py" "$RUNNER" run --no-state -q big.toml)"

pipeline "many-$FILES-$FROWS/*.csv" > many.toml
rm -rf out .runner
measure "runner csv.stats + line plot, $FILES files" "$RUNNER" run --no-state -q many.toml

rm -rf pandas-out
echo "pandas read_csv + describe, Pool(2), big file: $(python3 "$HERE/peak.py" python3 "$HERE/pandas_stats.py" pandas-out "big-$ROWS/big.csv" | tail -1)"
rm -rf pandas-out
echo "pandas read_csv + describe, Pool(2), $FILES files: $(python3 "$HERE/peak.py" python3 "$HERE/pandas_stats.py" pandas-out many-$FILES-$FROWS/*.csv | tail -1)"
echo "machine after: load $(cut -d' ' -f1-3 /proc/loadavg)"
