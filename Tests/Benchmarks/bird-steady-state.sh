#!/usr/bin/env bash
# Benchmark (not a test): how many calls BIRD 2 makes that srouter traps, per minute, once its
# sessions are up — the steady state of a router whose every network control call costs a
# seccomp round trip (DESIGN §3). `srouter lab` runs twice, holding its two routers (BIRD with
# device, direct, kernel and static protocols and one BGP session each; scan times 2 s) for
# SHORT and for LONG seconds after the session is up; the difference of srouter's counts
# ("trapped calls served", per call) over LONG − SHORT seconds is the steady state. Prints a
# markdown table per call, per minute, for r1.
#
#   Tests/Benchmarks/bird-steady-state.sh [-s SHORT] [-l LONG] [-c release|debug]
set -euo pipefail
short=5
long=65
config=release
while getopts "s:l:c:" opt; do
    case "$opt" in
        s) short=$OPTARG ;;
        l) long=$OPTARG ;;
        c) config=$OPTARG ;;
        *) echo "usage: $0 [-s SHORT] [-l LONG] [-c release|debug]" >&2; exit 2 ;;
    esac
done
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift build -c "$config" --product srouter >/dev/null
bin="$(swift build -c "$config" --show-bin-path)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for hold in "$short" "$long"; do
    "$bin/srouter" lab --hold "$hold" --directory "$work/hold-$hold" >"$work/lab-$hold.out"
    grep -o 'trapped calls served: .*' "$work/hold-$hold/r1/srouter.log" | sed 's/^trapped calls served: //' |
        tr ' ' '\n' | grep = >"$work/counts-$hold"
done

minutes=$(awk -v a="$long" -v b="$short" 'BEGIN { print (a - b) / 60 }')
echo "| trapped call | r1, ${short} s held | r1, ${long} s held | per minute in steady state |"
echo "|---|---|---|---|"
join -t= -a1 -a2 -e0 -o 0,1.2,2.2 <(sort "$work/counts-$short") <(sort "$work/counts-$long") |
    while IFS== read -r call a b; do
        per=$(awk -v a="$a" -v b="$b" -v m="$minutes" 'BEGIN { printf "%.0f", (b - a) / m }')
        echo "| $call | $a | $b | $per |"
    done
total_short=$(awk -F= '{ s += $2 } END { print s + 0 }' "$work/counts-$short")
total_long=$(awk -F= '{ s += $2 } END { print s + 0 }' "$work/counts-$long")
echo "| all | $total_short | $total_long | $(awk -v a="$total_short" -v b="$total_long" -v m="$minutes" 'BEGIN { printf "%.0f", (b - a) / m }') |"
