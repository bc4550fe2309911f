#!/usr/bin/env bash
# benchmarks-smoke.sh — the benchmark suite (Tests/Benchmarks/run.sh) in its smoke mode, so
# every benchmark and the report keep working. Figures are not checked: performance lives in
# benchmarks, never in timed tests; only that each table is there with its ratio.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

out=$SRT_TMP/report.md
if "$SRT_ROOT/Tests/Benchmarks/run.sh" --smoke -o "$out" 2>"$SRT_TMP/run.err"; then
    pass "run.sh --smoke runs every benchmark"
else
    fail "run.sh --smoke: $(grep -A12 'Failed' "$out" | head -n 14)"
fi
for id in P1 P2 P3 P4 P4b P5 P6 P7 S1 S2; do
    check "the report has $id" grep -q "^## $id — " "$out"
done
for call in getppid socket-unix getsockname-unix socket-inet setsockopt-inet tcp-connect-accept; do
    check "syscall-cost.sh reports $call with a ratio" grep -qE "^\| $call \| [0-9]+ .*\| [0-9.]+× \|" "$out"
done
check "syscall-cost.sh measures the bare seccomp-notify round trip" grep -qE "^\| floor-epoll-sync-wakeup \| [0-9]+ \(" "$out"
check "syscall-cost.sh gives a trapped call as a multiple of the floor" grep -qE "^\| getsockname-unix \|.*\| yes \| [0-9.]+× \|$" "$out"

check "wireguard-benchmark compares with raw libsodium" grep -q "^| AEAD seal+open in place" "$out"
check "wireguard-benchmark counts allocations per packet" grep -q "^| heap allocations per packet" "$out"
check "wireguard-benchmark delivered every packet" grep -q "200 packets, 200 delivered" "$out"
for figure in "IPv4 lookups/s, uniform random addresses" "IPv4 lookups/s, addresses inside table prefixes" \
              "IPv6 lookups/s, addresses inside table prefixes"; do
    check "fib-benchmark reports $figure beside the naive reference" \
        grep -qE "^\| $figure, M \(min–max\) \| [0-9.]+M \([0-9.]+–[0-9.]+\) \| [0-9.]+M \([0-9.]+–[0-9.]+\) \| [0-9.]+× \|$" "$out"
done
check "fib-benchmark reports the table's build time" grep -qE "^\| table build, 3000 IPv4 \+ 600 IPv6 routes, s \| [0-9.]+ \(" "$out"
check "fib-benchmark reports heap bytes per route" grep -qE "^\| heap bytes per route .*\| [0-9]+ \| [0-9]+ \| [0-9.]+× \|$" "$out"
check "fib-benchmark counts allocations per lookup (single, batched, lookup → Route, resolve)" grep -qE "^\| heap allocations per lookup .*\| [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+ \|" "$out"
check "fib-benchmark agrees with the naive reference, dumps and deletes every route" grep -q " 0 disagreements; 3600 routes dumped, 0 routes left;" "$out"
for pattern in bird batched mmsg; do
    check "netlink-routes.sh reports $pattern writes with a ratio and traps per route" \
        grep -qE "^\| 40 \| v4 \| $pattern \| [0-9]+ \| [0-9]+ \| [0-9.]+× \| [0-9.]+ \|$" "$out"
done
check "netlink-routes.sh: one trapped call per route change in BIRD's pattern (and the set-up)" \
    grep -qE "^\| 40 \| v4 \| bird \| [0-9]+ \| [0-9]+ \| [0-9.]+× \| 1\.0[0-9]+ \|$" "$out"
check "netlink-routes.sh splits a route change into srouter's own work and the rest" \
    grep -qE "^\| 40 \| v4 \| [0-9.]+ \| [0-9.]+ \| -?[0-9.]+ \|$" "$out"
check "bird-full-table.sh times BIRD loading its table beside Linux" \
    grep -qE "^\| start → FIB holds all 2500 routes, s \| [0-9.]+ .*\| [0-9.]+× \|$" "$out"
check "bird-full-table.sh counts trapped calls per route" grep -qE "^\| trapped calls per route, start → full \| [0-9.]+ " "$out"
check "bird-full-table.sh gives srouter's memory per route" grep -qE "^\| srouter's memory per route, B \| [0-9]+" "$out"
for direction in "guest → p1" "p1 → guest" "guest → guest in a second srouter" "guest ← guest in a second srouter \(-R\)"; do
    check "iperf3.sh reports $direction beside Linux with a ratio" grep -qE "^\| $direction \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \|" "$out"
done

check "stack.sh reports forwarding and allocations per packet" grep -qE "^\| heap allocations per forwarded packet, 64 B \| [0-9.]+ " "$out"
check "stack.sh compares TCP between two stacks with the kernel's" grep -qE "^\| TCP between two stacks.*\| [0-9.]+ \(.*\| [0-9.]+ \(.*×" "$out"
check "stack.sh forwarded every packet" grep -q "all forwarded" "$out"

check "startup.sh reports start to BGP Established beside Linux with a ratio" \
    grep -qE "^\| start to BGP Established, ms \| [0-9]+ \(.*\| [0-9]+ \(.*\| [0-9.]+× \|" "$out"

for size in 64 1400; do
    check "forwarding.sh reports $size B packets/s beside a Linux router with a ratio" \
        grep -qE "^\| forwarded p1 → p2, $size B UDP, packets/s \| [1-9][0-9]* \(.*\| [1-9][0-9]* \(.*\| [0-9.]+× \|" "$out"
done

check "bird-steady-state.sh counts BIRD's trapped calls per minute" grep -qE "^\| all \| [0-9]+ \| [0-9]+ \| -?[0-9]+ \|" "$out"
summary
