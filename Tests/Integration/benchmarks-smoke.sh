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
out=$SRT_TMP/netlink-routes.md
if "$SRT_ROOT/Tests/Benchmarks/netlink-routes.sh" -n 40 -r 1 -c debug >"$out" 2>&1; then
    pass "netlink-routes.sh runs"
else
    fail "netlink-routes.sh: $(tail -n 5 "$out")"
fi
for pattern in bird batched; do
    check "netlink-routes.sh reports $pattern writes with a ratio" grep -qE "^\| v4 \| $pattern \| 40 \| [0-9]+ \| [0-9]+ \| [0-9.]+× \|" "$out"
done
check "netlink-routes.sh splits a route change into srouter's own work and the rest" \
    grep -qE "^\| v4 \| [0-9.]+ \| [0-9.]+ \| -?[0-9.]+ \|$" "$out"
out=$SRT_TMP/iperf3.md
if "$SRT_ROOT/Tests/Benchmarks/iperf3.sh" -t 1 -r 1 >"$out" 2>&1; then
    pass "iperf3.sh runs"
else
    fail "iperf3.sh: $(tail -n 5 "$out")"
fi
for direction in "guest → p1" "p1 → guest"; do
    check "iperf3.sh reports $direction beside Linux with a ratio" grep -qE "^\| $direction \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \|" "$out"
done

out=$SRT_TMP/stack.md
if "$SRT_ROOT/Tests/Benchmarks/stack.sh" -m 1 -n 2000 -r 1 -c debug >"$out" 2>&1; then
    pass "stack.sh runs"
else
    fail "stack.sh: $(tail -n 5 "$out")"
fi
check "stack.sh reports forwarding and allocations per packet" grep -qE "^\| heap allocations per forwarded packet, 64 B \| [0-9.]+ " "$out"
check "stack.sh compares TCP between two stacks with the kernel's" grep -qE "^\| TCP between two stacks.*\| [0-9.]+ \(.*\| [0-9.]+ \(.*×" "$out"
check "stack.sh forwarded every packet" grep -q "all forwarded" "$out"

out=$SRT_TMP/startup.md
if "$SRT_ROOT/Tests/Benchmarks/startup.sh" -r 1 >"$out" 2>&1; then
    pass "startup.sh runs"
else
    fail "startup.sh: $(tail -n 5 "$out")"
fi
check "startup.sh reports start to BGP Established beside Linux with a ratio" \
    grep -qE "^\| start to BGP Established, ms \| [0-9]+ \(.*\| [0-9]+ \(.*\| [0-9.]+× \|" "$out"

out=$SRT_TMP/forwarding.md
if "$SRT_ROOT/Tests/Benchmarks/forwarding.sh" -t 1 -r 1 -b 20 >"$out" 2>&1; then
    pass "forwarding.sh runs"
else
    fail "forwarding.sh: $(tail -n 5 "$out")"
fi
for size in 64 1400; do
    check "forwarding.sh reports $size B packets/s beside a Linux router with a ratio" \
        grep -qE "^\| forwarded p1 → p2, $size B UDP, packets/s \| [1-9][0-9]* \(.*\| [1-9][0-9]* \(.*\| [0-9.]+× \|" "$out"
done

out=$SRT_TMP/bird-steady-state.md
if "$SRT_ROOT/Tests/Benchmarks/bird-steady-state.sh" -s 0 -l 2 -c debug >"$out" 2>&1; then
    pass "bird-steady-state.sh runs"
else
    fail "bird-steady-state.sh: $(tail -n 5 "$out")"
fi
check "bird-steady-state.sh counts BIRD's trapped calls per minute" grep -qE "^\| all \| [0-9]+ \| [0-9]+ \| -?[0-9]+ \|" "$out"
summary
