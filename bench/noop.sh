#!/usr/bin/env bash
# No-op re-run over N input files (default 100,000): every task is up to date.
# Compares `runner` with `make -q` and `ninja -n` over the same files, in one
# run. Usage: bench/noop.sh [N] ; RUNNER=path/to/runner to test another build.
set -euo pipefail
N=${1:-100000}
here=$(cd "$(dirname "$0")" && pwd)
RUNNER=${RUNNER:-$here/../target/release/runner}
[ -x "$RUNNER" ] || { echo "build runner first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d /tmp/runner-noop.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "generating $N files in 100 folders under $work" >&2
python3 - "$N" <<'PY'
import os, sys
n = int(sys.argv[1])
for d in range(100):
    os.makedirs(f"data/d{d:02d}", exist_ok=True)
for i in range(n):
    with open(f"data/d{i % 100:02d}/f{i:06d}.txt", "w") as f:
        f.write(f"{i}\n")
PY

cat > pipeline.toml <<'TOML'
[pipeline]
out = "build"
jobs = 2
[inputs.files]
glob = ["data/**/*.txt"]
[[steps]]
name = "copy"
each = "files"
run = ["cp", "{{ input }}", "{{ out }}"]
out = "copy/{{ key }}.txt"
TOML

# make: one pattern rule, the same N targets.
find data -name '*.txt' | sort | sed 's|^data/|mk/|' > targets.txt
{
  echo "TARGETS := \$(shell cat targets.txt)"
  echo "all: \$(TARGETS)"
  echo "mk/%.txt: data/%.txt"
  printf '\t@mkdir -p $(@D) && cp $< $@\n'
} > Makefile

# ninja: one build statement per file.
have_ninja=1
command -v ninja >/dev/null 2>&1 || have_ninja=0
if [ $have_ninja = 1 ]; then
  {
    echo "rule cp"
    echo "  command = cp \$in \$out"
    find data -name '*.txt' | sort | sed 's|^data/\(.*\)$|build nj/\1: cp data/\1|'
  } > build.ninja
fi

time_it() { # label, command...
  local label=$1; shift
  local best=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    local t; t=$(echo "$e - $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  printf '%-28s %8.3f s (best of 3)\n' "$label" "$best"
}

echo "first (full) builds, not timed..." >&2
"$RUNNER" pipeline.toml -q
make -s -j2 all
[ $have_ninja = 1 ] && ninja -j2 >/dev/null
# Make sure each tool now has nothing to do.
"$RUNNER" pipeline.toml 2>&1 | tail -1 >&2
make -q all && echo "make -q: up to date" >&2
[ $have_ninja = 1 ] && ninja -n | tail -1 >&2

echo "no-op re-run over $N files on $(nproc) cores:"
time_it "runner (no-op run)" "$RUNNER" pipeline.toml -q
time_it "runner --dry-run" "$RUNNER" pipeline.toml -n
time_it "make -q" make -q all
[ $have_ninja = 1 ] && time_it "ninja -n" ninja -n
exit 0
