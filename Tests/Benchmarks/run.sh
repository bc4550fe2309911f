#!/usr/bin/env bash
# run.sh — every benchmark, one report (issue 9). As root (most figures need network
# namespaces):
#
#   Tests/Benchmarks/run.sh [--smoke] [-o FILE]
#
# Runs each benchmark with its baseline in the same run and writes one markdown report
# (default: benchmarks-report.md in the current directory): per figure the goal, the command
# that produced it, and its table — srouter's value, the baseline's, the ratio; medians of
# at least 3 repetitions with min and max where the benchmark repeats. --smoke runs each in
# a tiny mode (one repetition, small sizes) to check that the harness works; its figures mean
# nothing. Progress goes to stderr. A benchmark that fails is reported as failed in the
# report, and run.sh exits 1 at the end.
set -uo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
bench=$root/Tests/Benchmarks
smoke=0 out=benchmarks-report.md
while (($#)); do
    case $1 in
    --smoke) smoke=1 ;;
    -o) out=$2; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
config=release
((smoke)) && config=debug
# The scripts built on Integration/lib.sh (iperf3, forwarding, start-up) run $SROUTER, which
# is the debug build unless set: measure the build this report names.
(cd "$root" && swift build -c "$config" >&2) || exit 1
SROUTER=$(cd "$root" && swift build -c "$config" --show-bin-path)/srouter
PROBES=$(dirname "$SROUTER")
export SROUTER PROBES

failed=0
# figure ID TITLE GOAL FULL-COMMAND… -- SMOKE-COMMAND…: run one benchmark into the report.
figure() {
    local id=$1 title=$2 goal=$3 full=() quick=() seen=0 part started log status
    shift 3
    for part in "$@"; do
        if [[ $part == -- ]]; then seen=1; continue; fi
        if ((seen)); then quick+=("$part"); else full+=("$part"); fi
    done
    local command=("${full[@]}")
    ((smoke)) && command=("${quick[@]}")
    echo "run.sh: $id $title: ${command[*]}" >&2
    log=$(mktemp)
    started=$SECONDS
    (cd "$root" && "${command[@]}") >"$log" 2>"$log.err"
    status=$?
    {
        echo "## $id — $title"
        echo
        echo "Goal: $goal. Command: \`${command[*]}\` ($((SECONDS - started)) s)."
        echo
        if ((status == 0)); then
            grep -E '^\||^[0-9]+ (runs|repetitions)|^The kernel|^[0-9]+ packets|^[0-9]+ IPv4 \+' "$log"
        else
            echo "**Failed** (exit $status):"
            echo
            echo '```'
            tail -n 15 "$log.err" "$log"
            echo '```'
        fi
        echo
    } >>"$out"
    ((status == 0)) || failed=1
    rm -f "$log" "$log.err"
}

{
    echo "# srouter benchmarks"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores, commit" \
        "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $config build$( ((smoke)) && echo ', SMOKE MODE: figures mean nothing')."
    echo "Only ratios taken in one run mean much on these machines."
    echo
} >"$out"

figure P1 "TCP throughput: a guest's iperf3 through srouter to Linux behind wireguard-go, and to a guest in a second srouter" "≥ 1.0" \
    "$bench/iperf3.sh" -t 5 -r 3 -- "$bench/iperf3.sh" -t 1 -r 1
figure P2 "Forwarding p1 → srouter → p2" "≥ 1.0 pps" \
    "$bench/forwarding.sh" -t 5 -r 3 -- "$bench/forwarding.sh" -t 1 -r 1 -b 20
figure P3 "Control-call cost" "≤ 1.2× the bare trapped round trip" \
    "$bench/syscall-cost.sh" -n 2000 -r 3 -c "$config" -- "$bench/syscall-cost.sh" -n 50 -r 1 -c "$config"
figure P4 "Route install through rtnetlink (BIRD's pattern and batched), 1k, 100k and 1M routes" "≤ 1 trap per route, ≤ 1.2× the trap floor" \
    "$bench/netlink-routes.sh" -n 1000,100000,1000000 -r 3 -c "$config" -- "$bench/netlink-routes.sh" -n 40 -r 1 -c "$config"
figure P4b "BIRD loading a full table (1M IPv4 + 230k IPv6) through protocol kernel" "≤ 1 trap per route, ≤ 1.2× the trap floor, ≤ 150 B/route" \
    "$bench/bird-full-table.sh" -r 3 -c "$config" -- "$bench/bird-full-table.sh" -4 2000 -6 500 -r 1 -c "$config"
figure P5 "FIB lookups" "≥ 100M IPv4 lookups/s, ≤ 150 B/route" \
    swift run -c "$config" fib-benchmark -- swift run -c "$config" fib-benchmark --ipv4 3000 --ipv6 600 --lookups 3000 --reps 3
figure P6 "WireGuard transport crypto" "≥ 0.8 of raw libsodium" \
    swift run -c "$config" wireguard-benchmark -- swift run -c "$config" wireguard-benchmark --packets 200 --handshakes 5
figure P7 "Start-up to BGP Established" "≤ 1.5×" \
    "$bench/startup.sh" -r 3 -- "$bench/startup.sh" -r 1
figure S1 "The stack in one process: forwarding, allocations, TCP between two stacks" "0 allocations per packet" \
    "$bench/stack.sh" -c "$config" -- "$bench/stack.sh" -m 1 -n 2000 -r 1 -c "$config"
figure S2 "BIRD's trapped calls per minute once its session is up" "few" \
    "$bench/bird-steady-state.sh" -c "$config" -- "$bench/bird-steady-state.sh" -s 0 -l 2 -c "$config"

echo "run.sh: report in $out" >&2
exit $failed
