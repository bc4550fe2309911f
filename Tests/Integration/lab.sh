#!/usr/bin/env bash
# lab.sh — `srouter lab`, README's first command: two srouter routers on loopback UDP, BIRD 2
# on each, BGP over the WireGuard tunnel's link-local addresses, routes into each FIB and a
# ping across; then both stop. Run as root and as uid 65534 with no capabilities (it needs
# neither root nor a network namespace: this script runs it in one only so that its
# loopback traffic stays in a namespace of the test's own).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

command -v bird >/dev/null || { fail "bird (Debian's bird2) is not installed"; summary; }
topology_up
chmod 0755 "$SRT_TMP"
for who in root nobody; do
    prefix=()
    [[ $who == nobody ]] && prefix=("${SRT_AS_NOBODY[@]}")
    dir=$SRT_TMP/lab-$who
    mkdir -m 0777 "$dir"
    rc=0
    (cd "$dir" && exec env HOME="$dir" TMPDIR="$dir" timeout -k 5 120 ip netns exec "$NS_R" "${prefix[@]}" \
        "$SROUTER" lab --timeout 40) >"$dir/out" 2>&1 || rc=$?
    sed "s/^/    [$who] /" "$dir/out"
    check "$who: srouter lab exits 0 ($rc)" test "$rc" = 0
    check "$who: the handshake, the BGP session and the routes are shown" \
        sh -c "grep -q '✓ WireGuard handshake' '$dir/out' && grep -q '✓ BGP r1 ⇄ r2 Established' '$dir/out' \
            && grep -q \"r2's FIB: 172.20.1.0/24 via inet6 fe80::1 dev lab-r1\" '$dir/out'"
    check "$who: the ping crosses (3 received)" grep -q "3 received" "$dir/out"
    check "$who: both routers stop cleanly and leave nothing behind" \
        sh -c "grep -q 'both routers stopped cleanly' '$dir/out' && ! ls '$dir'/srouter-lab.* >/dev/null 2>&1"
done
# Without BIRD it says how to get it (PATH without bird's directory).
rc=0
out=$(env PATH=/nonexistent "$SROUTER" lab 2>&1) || rc=$?
check "without BIRD: exit 2 and how to install it ($rc)" sh -c "test $rc = 2 && echo '$out' | grep -q 'apt-get install bird2'"
summary
