#!/bin/sh
# `intunewin diagnose` on the shared IME logs (issue 16): MB/s and peak RSS of the release binary
# on the whole folder, beside `grep -c '<![LOG['` over the same files (the floor: one pass over
# the bytes, no parsing). Usage:
#   bench/diagnose.sh [LOGS_DIR] [RUNS]
# LOGS_DIR defaults to $INTUNEWIN_IMELOGS, then ../shared/imelogs beside the workspace; RUNS to 5.
# BIN overrides the binary (default: target/release/intunewin, built first). Needs GNU time at
# /usr/bin/time. Targets: >= 100 MB/s, peak RSS <= 64 MiB.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
logs=${1:-${INTUNEWIN_IMELOGS:-$root/../shared/imelogs}}
runs=${2:-5}
if [ ! -d "$logs" ]; then
    echo "no IME log folder at $logs (give it as the first argument or set INTUNEWIN_IMELOGS)" >&2
    exit 2
fi
if [ -z "${BIN:-}" ]; then
    target=${CARGO_TARGET_DIR:-$root/target}
    (cd "$root" && cargo build --release -q -p intunewin-cli)
    BIN=$target/release/intunewin
fi
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 2; }

bytes=$(cat "$logs"/*.log | wc -c)
echo "logs:   $logs ($(ls "$logs"/*.log | wc -l) files, $bytes bytes)"
echo "binary: $BIN ($(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
cat "$logs"/*.log > /dev/null # warm the page cache

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# One run: wall seconds (from date's nanoseconds: GNU time's %e has 10 ms steps, too coarse for
# grep), CPU seconds (user + system), peak RSS in KiB.
measure() {
    start=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$tmp" "$@" > /dev/null 2>&1 || true
    end=$(date +%s%N)
    # GNU time puts "Command exited with non-zero status 1" first when diagnose exits 1.
    tail -n 1 "$tmp" | awk -v ns=$((end - start)) '{ printf "%.4f %.2f %s\n", ns / 1e9, $1 + $2, $3 }'
}
report() {
    name=$1
    shift
    i=0
    while [ "$i" -lt "$runs" ]; do
        measure "$@"
        i=$((i + 1))
    done | sort -n | awk -v name="$name" -v bytes="$bytes" -v runs="$runs" '
        { wall[NR] = $1; cpu[NR] = $2; if ($3 > rss) rss = $3 }
        END {
            m = wall[int((runs + 1) / 2)]
            printf "%-20s median %.3f s wall (min %.3f, max %.3f), %.0f MB/s, peak RSS %.1f MiB\n",
                name, m, wall[1], wall[runs], bytes / m / 1e6, rss / 1024
        }'
}

report "diagnose" "$BIN" diagnose "$logs"
report "diagnose --json" "$BIN" diagnose --json "$logs"
report "diagnose --redact" "$BIN" diagnose --redact "$logs"
report "grep -c (floor)" sh -c 'grep -c "<!\[LOG\[" "$@"' grep "$logs"/*.log
