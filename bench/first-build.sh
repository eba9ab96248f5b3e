#!/usr/bin/env bash
# How long a newcomer waits (issue 13): clones REPO at COMMIT into a fresh
# folder with an empty target folder, then times the README's main command
# and its test command, one after the other, as the README says to run them.
#
#   bench/first-build.sh [COMMIT [REPO]]      (default: HEAD of this clone)
#   MAIN="cargo run --release -- pipelines/plot.toml" TEST="cargo test --release --all-targets" bench/first-build.sh
#
# Prints wall time and CPU time (user + sys) of each command, and the load
# average before it: on a shared machine the wall time depends on the others,
# the CPU time much less. Cargo's own download cache (~/.cargo/registry) is
# kept: crates are not downloaded again, only built.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
commit="${1:-HEAD}"
repo="${2:-$here}"
main="${MAIN:-cargo run --release -- pipelines/plot.toml}"
test="${TEST:-cargo test --release --all-targets}"

work="$(mktemp -d /tmp/runner-first-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
git -C "$work/clone" checkout -q "$commit"
export CARGO_TARGET_DIR="$work/target"
cd "$work/clone"
echo "commit $(git rev-parse --short HEAD), $(nproc) cores, $(cargo --version)"

measure() {
  local label="$1"
  shift
  echo "== $label: $*   (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
  /usr/bin/time -f "   $label: wall %e s, user %U s, sys %S s" \
    bash -c "$* >/dev/null 2>$work/$label.log" ||
    { tail -20 "$work/$label.log"; exit 1; }
}

measure main "$main"
measure test "$test"
