#!/usr/bin/env bash
# bird-kernel.sh — BIRD 2's kernel protocol (learn, export, withdraw, flush on stop) on
# srouter's FIB, beside the same on Linux's: Linux is the specification.
#
#   ns $NS_R, native:   veth `node` 172.20.50.1/32, fd42:50::1/128 — bird + ip as root
#   ns $NS_R, srouter:  srouter run --dummy node=… (uid 65534) -- sh bird-kernel.sh
#
# Guest/probes/bird-kernel/bird-kernel.sh prints a line per check; both runs must print the
# same lines, and none may start with NOT.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
probe=$SRT_ROOT/Guest/probes/bird-kernel/bird-kernel.sh
native=$SRT_TMP/native.d guest=$SRT_TMP/guest.d
mkdir -p "$native" "$guest"
chmod 0777 "$guest"
chmod 0755 "$SRT_TMP"

nr ip link add node type veth peer name node-peer
nr ip link set node up
nr ip link set node-peer up
nr ip addr add 172.20.50.1/32 dev node
nr ip addr add fd42:50::1/128 dev node nodad
nr timeout 60 sh "$probe" "$native" >"$SRT_TMP/native.out" 2>&1 || true
nr ip link del node

nr as_nobody env HOME="$guest" timeout 60 "$SROUTER" run --log-level debug --dummy node=172.20.50.1/32,fd42:50::1/128 \
    -- sh "$probe" "$guest" >"$SRT_TMP/guest.out" 2>"$SRT_TMP/guest.err" || true

check "the probe ran all 11 checks natively" test "$(wc -l <"$SRT_TMP/native.out")" = 11
while IFS= read -r line; do
    check "Linux: $line" test "${line#NOT }" = "$line"
done <"$SRT_TMP/native.out"
while IFS= read -r line; do
    check "srouter: $line" test "${line#NOT }" = "$line"
done <"$SRT_TMP/guest.out"
check "srouter and Linux print the same $(wc -l <"$SRT_TMP/native.out") lines" diff -u "$SRT_TMP/native.out" "$SRT_TMP/guest.out"
check "BIRD under srouter logged no netlink error" bash -c "! grep -iE 'netlink.*(error|invalid)|KRT: .*error' '$guest/bird.err'"
# BIRD writes routes with sendto({AF_NETLINK}, 12) and reads each ACK with recvmsg: the
# sendto runs natively (issue 6: at most one trapped call per route in BIRD's pattern).
check "BIRD's netlink sendto calls were not trapped" bash -c \
    "grep -q 'trapped calls served:' '$SRT_TMP/guest.err' && ! grep 'trapped calls served:' '$SRT_TMP/guest.err' | grep -q 'sendto='"
# The same pattern counted over 500 routes added and deleted: one trap per route change,
# plus the probe's socket and setsockopt.
nr as_nobody timeout 60 "$SROUTER" run --log-level info -- "$PROBES/probe-netlink-routes" -n 500 -p bird \
    >"$SRT_TMP/routes.out" 2>"$SRT_TMP/routes.err" || true
check "probe-netlink-routes wrote 500 routes in BIRD's pattern" grep -q '^bird 500 routes' "$SRT_TMP/routes.out"
traps=$(sed -n 's/.*trapped calls total=\([0-9]*\).*/\1/p' "$SRT_TMP/routes.err")
check "BIRD's pattern: at most one trapped call per route change (${traps:-none} for 1000)" \
    test "${traps:-99999}" -le 1002
# Batched writers: 64 requests a datagram, the ACKs read one recvmsg each, or by recvmmsg,
# which srouter answers from one recvmmsg and one sendmmsg of its own on the pair. The probe
# fails (EPROTO) if an ACK is not named the kernel's (pid 0) or comes out of order.
for pattern in batched mmsg; do
    for family in "" -6; do
        nr as_nobody timeout 60 "$SROUTER" run -- "$PROBES/probe-netlink-routes" -n 1000 -p "$pattern" $family \
            >"$SRT_TMP/routes-$pattern.out" 2>"$SRT_TMP/routes-$pattern.err" || true
        check "probe-netlink-routes wrote 1000 routes${family:+ (IPv6)} $pattern, every ACK from pid 0 and in order" \
            grep -q "^$pattern 1000 routes" "$SRT_TMP/routes-$pattern.out"
    done
done
summary
