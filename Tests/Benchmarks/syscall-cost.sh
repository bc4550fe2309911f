#!/usr/bin/env bash
# Benchmark (not a test): the cost of a system call under srouter against the same call
# natively, measured in the same run by Guest/probes/syscall-cost. Prints a markdown table
# with both figures and their ratio (median of REPEAT runs, with min and max).
#
#   Tests/Benchmarks/syscall-cost.sh [-n ITERATIONS] [-r REPEAT] [-c release|debug]
#
# getppid and socket-unix are never trapped (the filter lets them through: their ratio is the
# filter's own cost); getsockname-unix, socket-inet and setsockopt-inet are trapped, and their
# ratio is the price of one seccomp user-notification round trip on this machine;
# tcp-connect-accept is a whole loopback TCP handshake (socket, connect, accept trapped;
# srouter's own TCP against the kernel's).
set -euo pipefail
iterations=2000
repeat=5
config=release
while getopts "n:r:c:" opt; do
    case "$opt" in
        n) iterations=$OPTARG ;;
        r) repeat=$OPTARG ;;
        c) config=$OPTARG ;;
        *) echo "usage: $0 [-n ITERATIONS] [-r REPEAT] [-c release|debug]" >&2; exit 2 ;;
    esac
done
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift build -c "$config" --product srouter >/dev/null
swift build -c "$config" --product probe-syscall-cost >/dev/null
bin="$(swift build -c "$config" --show-bin-path)"
probe="$bin/probe-syscall-cost"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for ((i = 0; i < repeat; i++)); do
    "$probe" -n "$iterations" >>"$work/native"
    "$bin/srouter" run -- "$probe" -n "$iterations" >>"$work/sandboxed"
done

# stats FILE NAME → "median min max" of the ns/call column.
stats() {
    awk -v name="$2" '$1 == name { print $3 }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.0f %.0f %.0f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo "| call | native ns (min–max) | under srouter ns (min–max) | ratio | trapped |"
echo "|---|---|---|---|---|"
for name in getppid socket-unix getsockname-unix socket-inet setsockopt-inet tcp-connect-accept; do
    read -r nm nlo nhi <<<"$(stats "$work/native" "$name")"
    read -r sm slo shi <<<"$(stats "$work/sandboxed" "$name")"
    trapped=no
    case $name in
        getsockname-unix | socket-inet | setsockopt-inet) trapped=yes ;;
        tcp-connect-accept) trapped="yes (socket, connect, accept)" ;;
    esac
    ratio=$(awk -v a="$sm" -v b="$nm" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
    echo "| $name | $nm ($nlo–$nhi) | $sm ($slo–$shi) | ${ratio}× | $trapped |"
done
echo
echo "$repeat runs of $iterations calls each; median (min–max). Ratios mean something only"
echo "within one run on one machine."
