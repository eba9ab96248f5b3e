#!/bin/bash
# CPU per thread group of the 5,000 trivial calls, for runner binaries run
# interleaved (a loaded machine's wall time is noise; its CPU much less):
#   bench/python/compare.sh ROUNDS /tmp/runner-before target/release/runner
# Needs perf, and bench.py's venv and tiny corpus (run `ONLY=trivial
# python3 bench/python/bench.py` once). Each run in a folder of a new name.
set -eu
rounds=$1; shift
work=${BENCH_DIR:-/tmp/runner-bench-python}
here=$(cd "$(dirname "$0")" && pwd)
for r in $(seq "$rounds"); do
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    d=$work/compare-$$-$r-$i
    mkdir -p "$d"; cp "$here/trivial.py" "$d/"
    cat > "$d/pipeline.toml" <<T
[pipeline]
out = "out"
jobs = 2
python = "$work/venv/bin/python"
[inputs.data]
glob = ["../tiny/*.txt"]
[[steps]]
name = "plot"
each = "data"
python = "trivial.py:touch"
out = "plots/{{ key }}.txt"
T
    start=$(date +%s.%N)
    (cd "$d" && perf record -q -F 1000 -o perf.data -- "$bin" pipeline.toml -q)
    end=$(date +%s.%N)
    perf report -i "$d/perf.data" --sort comm --stdio -n 2>/dev/null | grep -v '^#' |
      awk -v b="$bin" -v w="$(echo "$end - $start" | bc)" -v l="$(cut -d' ' -f1 /proc/loadavg)" '
        NF >= 3 { c = $3; s = $2
          if (c == "python" || c ~ /^python3/) p += s
          else if (c ~ /^runner-worker/) t += s
          else if (c == "runner-state") st += s
          else o += s }
        END { printf "%s wall %.2f s, CPU ms: python %d, task threads %d, state %d, rest %d, total %d (load %s)\n",
              b, w, p, t, st, o, p + t + st + o, l }'
  done
done
