#!/usr/bin/env bash
# Throughput benchmark (issue 2, "Performance"): N trivial per-file commands
# through runner -jJOBS, xargs -PJOBS, GNU parallel -jJOBS and Python
# multiprocessing.Pool(JOBS), on the same generated files.
#
# Usage: bench/tasks.sh [RUNNER_BINARY]        (from any directory)
#
# Settings (environment):
#   RUNNER     runner binary (default: the first argument, else
#              ../target/release/runner relative to this folder)
#   N          tasks per run (default 5000)
#   JOBS       pool size for every tool (default 2)
#   REPS       timed runs per tool and variant; the best is reported, and the
#              median beside it (default 3)
#   REPEAT_UNDER  a tool whose first run takes longer (seconds) runs once (default 20)
#   VERIFY_N   files in the strace spawn-count check, 0 to skip it (default 200)
#   TOOLS      comma-separated subset, e.g. TOOLS=runner,xargs (default: all)
#   BENCH_PATH PATH given to every tool (default /usr/local/bin:/usr/bin:/bin)
#
# A tool that is not installed is skipped with a message (GNU parallel:
# apt-get install -y parallel; strace for the spawn-count check: apt-get
# install -y strace). The results table goes to stdout, progress to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

runner="${1:-${RUNNER:-$here/../target/release/runner}}"
# a relative path means relative to where the script was started
case "$runner" in
    /*) ;;
    */*) runner="$PWD/$runner" ;;
    *) runner="$(command -v "$runner" || echo "$PWD/$runner")" ;;
esac
if [[ ! -x "$runner" ]]; then
    echo "tasks.sh: runner binary not found at $runner; build it with 'cargo build --release' or pass its path" >&2
    echo "tasks.sh: runner will be skipped" >&2
fi

py="$(command -v python3 || true)"
if [[ -z "$py" ]]; then
    echo "tasks.sh: python3 not found; it drives the benchmark" >&2
    exit 1
fi

RUNNER="$runner" exec "$py" "$here/tasks.py"
