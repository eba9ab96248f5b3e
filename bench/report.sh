#!/usr/bin/env bash
# The HTML report of a run with N plots (default 5,000): what `[report]` adds
# to a run, how long `runner report` takes, how big the page is, and when
# headless Chromium has the page ready (its script done, from navigation).
# Usage: bench/report.sh [N] ; RUNNER=path/to/runner to test another build.
set -euo pipefail
N=${1:-5000}
here=$(cd "$(dirname "$0")" && pwd)
RUNNER=${RUNNER:-$here/../target/release/runner}
[ -x "$RUNNER" ] || { echo "build runner first: cargo build --release" >&2; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
work=$(mktemp -d /tmp/runner-report.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "generating $N files under $work" >&2
python3 - "$N" <<'PY'
import os, sys
n = int(sys.argv[1])
os.makedirs("data", exist_ok=True)
for i in range(n):
    with open(f"data/f{i:05d}.csv", "w") as f:
        f.write(f"t,v\n0,{i}\n1,{i + 1}\n")
PY
# A plot template that draws a tiny picture: the report is measured, not
# the plots.
cat > tiny.svg.j2 <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90"><rect width="160" height="90" fill="#dde"/><text x="8" y="50">{{ title.text }}</text></svg>
SVG
write_pipeline() {
  cat > pipeline.toml <<TOML
[pipeline]
out = "build"
jobs = 2
[inputs.data]
glob = ["data/*.csv"]
[[plots]]
name = "tiny"
each = "data"
template = "tiny.svg.j2"
title = "{{ key }}"
width = 160
height = 90
out = "plots/{{ key }}.svg"
$1
TOML
}
seconds() { python3 -c 'import sys,time; print(f"{time.time():.3f}")'; }
timed() { local t0 t1; t0=$(seconds); "$@" >/dev/null 2>&1 || true; t1=$(seconds); python3 -c "print(f'{$t1 - $t0:.2f}')"; }

write_pipeline ""
without=$(timed "$RUNNER" pipeline.toml -q --force)
write_pipeline $'[report]\nout = "report.html"'
with=$(timed "$RUNNER" pipeline.toml -q --force)
rebuild=$(timed "$RUNNER" report pipeline.toml)
noop=$(timed "$RUNNER" pipeline.toml -q)
bytes=$(stat -c %s build/report.html)
echo "plots:                          $N"
echo "run --force without [report]:   ${without} s"
echo "run --force with [report]:      ${with} s"
echo "no-op run with [report]:        ${noop} s"
echo "runner report (from the state): ${rebuild} s"
echo "page:                           $((bytes / 1024)) KB"
if [ -n "$CHROMIUM" ]; then
  for i in 1 2 3; do
    profile=$(mktemp -d)
    ready=$("$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$profile" --dump-dom "file://$work/build/report.html" 2>/dev/null \
      | grep -o 'data-ready="[0-9]*"' | tr -dc 0-9)
    rm -rf "$profile"
    echo "Chromium, page ready (try $i):   ${ready} ms"
  done
else
  echo "no chromium: page load not measured"
fi
