#!/usr/bin/env bash
# benchmarks-smoke.sh — the benchmarks in a tiny mode, so they keep working (their figures
# are not checked: performance lives in benchmarks, never in timed tests).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

out=$SRT_TMP/syscall-cost.md
if "$SRT_ROOT/Tests/Benchmarks/syscall-cost.sh" -n 50 -r 1 -c debug >"$out" 2>&1; then
    pass "syscall-cost.sh runs"
else
    fail "syscall-cost.sh: $(tail -n 5 "$out")"
fi
for call in getppid socket-unix getsockname-unix socket-inet setsockopt-inet tcp-connect-accept; do
    check "syscall-cost.sh reports $call with a ratio" grep -qE "^\| $call \| [0-9]+ .*\| [0-9.]+× \|" "$out"
done

out=$SRT_TMP/wireguard.md
if (cd "$SRT_ROOT" && swift run -c debug wireguard-benchmark --packets 200 --handshakes 5) >"$out" 2>&1; then
    pass "wireguard-benchmark runs"
else
    fail "wireguard-benchmark: $(tail -n 5 "$out")"
fi
check "wireguard-benchmark compares with raw libsodium" grep -q "^| AEAD seal+open in place" "$out"
check "wireguard-benchmark counts allocations per packet" grep -q "^| heap allocations per packet" "$out"
check "wireguard-benchmark delivered every packet" grep -q "200 packets, 200 delivered" "$out"
out=$SRT_TMP/fib.md
if (cd "$SRT_ROOT" && swift run -c debug fib-benchmark --ipv4 3000 --ipv6 600 --lookups 3000 --reps 3) >"$out" 2>&1; then
    pass "fib-benchmark runs"
else
    fail "fib-benchmark: $(tail -n 5 "$out")"
fi
for figure in "IPv4 lookups/s, uniform random addresses" "IPv4 lookups/s, addresses inside table prefixes" \
              "IPv6 lookups/s, addresses inside table prefixes"; do
    check "fib-benchmark reports $figure beside the naive reference" \
        grep -qE "^\| $figure, M \(min–max\) \| [0-9.]+M \([0-9.]+–[0-9.]+\) \| [0-9.]+M \([0-9.]+–[0-9.]+\) \| [0-9.]+× \|$" "$out"
done
check "fib-benchmark reports the table's build time" grep -qE "^\| table build, 3000 IPv4 \+ 600 IPv6 routes, s \| [0-9.]+ \(" "$out"
check "fib-benchmark reports heap bytes per route" grep -qE "^\| heap bytes per route .*\| [0-9]+ \| [0-9]+ \| [0-9.]+× \|$" "$out"
check "fib-benchmark counts allocations per lookup" grep -qE "^\| heap allocations per lookup .*\| [0-9.]+ / [0-9.]+ / [0-9.]+ \|" "$out"
check "fib-benchmark agrees with the naive reference, dumps and deletes every route" grep -q " 0 disagreements; 3600 routes dumped, 0 routes left;" "$out"
out=$SRT_TMP/netlink-routes.md
if "$SRT_ROOT/Tests/Benchmarks/netlink-routes.sh" -n 40 -r 1 -c debug >"$out" 2>&1; then
    pass "netlink-routes.sh runs"
else
    fail "netlink-routes.sh: $(tail -n 5 "$out")"
fi
for pattern in bird batched; do
    check "netlink-routes.sh reports $pattern writes with a ratio" grep -qE "^\| v4 \| $pattern \| 40 \| [0-9]+ \| [0-9]+ \| [0-9.]+× \|" "$out"
done
out=$SRT_TMP/iperf3.md
if "$SRT_ROOT/Tests/Benchmarks/iperf3.sh" -t 1 -r 1 >"$out" 2>&1; then
    pass "iperf3.sh runs"
else
    fail "iperf3.sh: $(tail -n 5 "$out")"
fi
for direction in "guest → p1" "p1 → guest"; do
    check "iperf3.sh reports $direction beside Linux with a ratio" grep -qE "^\| $direction \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \|" "$out"
done

out=$SRT_TMP/bird-steady-state.md
if "$SRT_ROOT/Tests/Benchmarks/bird-steady-state.sh" -s 0 -l 2 -c debug >"$out" 2>&1; then
    pass "bird-steady-state.sh runs"
else
    fail "bird-steady-state.sh: $(tail -n 5 "$out")"
fi
check "bird-steady-state.sh counts BIRD's trapped calls per minute" grep -qE "^\| all \| [0-9]+ \| [0-9]+ \| -?[0-9]+ \|" "$out"
summary
