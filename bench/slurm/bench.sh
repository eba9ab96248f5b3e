#!/usr/bin/env bash
# bench/slurm/bench.sh [N]: N (default 1,000) per-file tasks of `sleep 0.1`
# (then a copy of the file), end to end through SLURM, against a local run
# and against one `sbatch` per task (what a naive wrapper does).
#
# Needs a SLURM cluster (SLURM_CONF), e.g. the local single-node one:
#   eval "$(LOCAL_SLURM_CPUS=8 bash .ci/slurm/start-local-slurm.sh /tmp/local-slurm)"
# and a release build (cargo build --release). Prints a Markdown table.
#
#   runner, SLURM   [executor] kind = "slurm", tasks_per_element = 50
#                   (so N/50 elements; one sbatch per wave: here one wave)
#   runner, local   the same pipeline with --executor local, -j 2 (the cores)
#                   and -j S (S = the CPUs SLURM offers, as many slots)
#   naive sbatch    one `sbatch --wrap 'sleep 0.1 && cp IN OUT'` per file,
#                   then `squeue` every 0.5 s until none is pending or running
#
# Every variant starts from nothing (no outputs, no state) and must produce
# N outputs identical to the inputs. The machine's load average is printed
# before and after: the numbers mean little on a busy machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
runner=${RUNNER:-$repo/target/release/runner}
n=${1:-1000}
[ -n "${SLURM_CONF:-}" ] || { echo "bench/slurm: SLURM_CONF is not set (see the top of this file)" >&2; exit 2; }
[ -x "$runner" ] || { echo "bench/slurm: no $runner (cargo build --release)" >&2; exit 2; }
cpus=$(sinfo -h -o '%C' | awk -F/ '{print $4}')

work=$(mktemp -d /tmp/runner-bench-slurm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
for i in $(seq -w 1 "$n"); do echo "$i" > "$work/data/f$i.txt"; done
cat > "$work/pipeline.toml" <<TOML
[pipeline]
name = "bench"
out = "out"

[executor]
kind = "slurm"
tasks_per_element = 50

[inputs.d]
glob = "data/*.txt"

[[steps]]
name = "sleep"
each = "d"
shell = "sleep 0.1 && cp {{ input }} {{ out }}"
out = "copy/{{ key }}.txt"
TOML

fresh() { rm -rf "$work/out" "$work/.runner" "$work/naive"; }
check() {
  local dir=$1 count
  count=$(find "$dir" -name '*.txt' | wc -l)
  [ "$count" -eq "$n" ] || { echo "bench/slurm: $1 has $count outputs, not $n" >&2; exit 1; }
  for f in "$work"/data/*.txt; do cmp -s "$f" "$dir/$(basename "$f")" || { echo "bench/slurm: $f differs" >&2; exit 1; }; done
}
seconds() { python3 -c "import sys; print(f'{float(sys.argv[1]):.1f}')" "$1"; }
now() { date +%s.%N; }
minus() { python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$1" "$2"; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; SLURM offers $cpus CPUs" >&2

fresh
t0=$(now); (cd "$work" && "$runner" --quiet pipeline.toml); t1=$(now)
check "$work/out/copy"
slurm_time=$(minus "$t1" "$t0")
arrays=$(sqlite3 "$work/.runner/bench/state.db" "SELECT count(*), sum(elements) FROM slurm_arrays")

fresh
t0=$(now); (cd "$work" && "$runner" --quiet --executor local -j 2 pipeline.toml); t1=$(now)
check "$work/out/copy"
local2=$(minus "$t1" "$t0")

fresh
t0=$(now); (cd "$work" && "$runner" --quiet --executor local -j "$cpus" pipeline.toml); t1=$(now)
check "$work/out/copy"
local_s=$(minus "$t1" "$t0")

fresh
mkdir -p "$work/naive"
t0=$(now)
ids=()
for f in "$work"/data/*.txt; do
  ids+=("$(sbatch --parsable --chdir="$work" --output=/dev/null --job-name=naive-bench \
    --wrap "sleep 0.1 && cp $f $work/naive/$(basename "$f")")")
done
t_submitted=$(now)
joined=$(IFS=,; echo "${ids[*]}")
while [ -n "$(squeue -h -r -t pending,running,completing -j "$joined" -o %i 2>/dev/null)" ]; do sleep 0.5; done
t1=$(now)
check "$work/naive"
naive=$(minus "$t1" "$t0")
naive_submit=$(minus "$t_submitted" "$t0")

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "| $n × \`sleep 0.1\` | wall time | sbatch calls |"
echo "| --- | ---: | --- |"
echo "| runner on SLURM, tasks_per_element = 50 | $(seconds "$slurm_time") s | ${arrays%%|*} (arrays), ${arrays##*|} elements |"
echo "| runner here, -j 2 | $(seconds "$local2") s | none |"
echo "| runner here, -j $cpus | $(seconds "$local_s") s | none |"
echo "| one sbatch per task | $(seconds "$naive") s (submitting: $(seconds "$naive_submit") s) | $n |"
