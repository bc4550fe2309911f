#!/usr/bin/env bash
# dn42.sh — Guest/examples/dn42 as a DN42 operator copies it (issue 7, "Also"): the example's
# bird.conf, peer file, wg-quick file and run.sh run under srouter (uid 65534) with only the
# keys and the peer's endpoint filled in, against a DN42 peer in p1 (wireguard-go + BIRD 2,
# AS 4242421234, fe80::1234 on the tunnel, announcing 172.22.5.0/24 and fd42:5::/48).
#
#   ns $NS_P1                                        ns $NS_R (uid 65534)
#   wireguard-go w1 fe80::1234 ──── WireGuard ────   ./run.sh: srouter run --dummy … --wg wg-example.conf -- bird
#   lo 172.22.5.1 fd42:5::1                          dummy dn42 172.20.0.1 fd00:1234:5678::1
#
# Checks: the example parses; the session comes up over link-local; srouter's FIB gets the
# peer's prefixes with the node address as source (krt_prefsrc); the peer learns the node's
# prefixes and reaches its addresses; routes outside DN42's ranges are filtered.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

command -v bird >/dev/null || { fail "bird (Debian's bird2) is not installed"; summary; }
EXAMPLE=$SRT_ROOT/Guest/examples/dn42
check "the example bird.conf parses" sh -c "cd '$EXAMPLE' && bird -p -c bird.conf"

topology_up
wg_peer_up p1 w1 51820
P1IF=$(wg_if w1)
n1 ip addr add fe80::1234/64 dev "$P1IF" nodad
n1 ip addr add 172.22.5.1/32 dev lo
n1 ip addr add fd42:5::1/128 dev lo

# The operator's copy: keys and the peer's endpoint filled in, nothing else changed.
node=$SRT_TMP/node
cp -r "$EXAMPLE" "$node"
chmod -R a+rwX "$node"
chmod 0755 "$SRT_TMP"
"$SROUTER" genkey >"$SRT_TMP/node.key"
sed -i -e "s|REPLACE_WITH_YOUR_PRIVATE_KEY|$(cat "$SRT_TMP/node.key")|" \
    -e "s|REPLACE_WITH_THE_PEERS_PUBLIC_KEY|${WG_PUB[w1]}|" \
    -e "s|peer.example.net:21234|$P1_V4:51820|" "$node/wg-example.conf"
chmod 0644 "$node/wg-example.conf"
wg_peer_add p1 w1 "$("$SROUTER" pubkey <"$SRT_TMP/node.key")" "$R1_V4:51820" \
    "fe80::abcd/128,172.20.0.0/27,fd00:1234:5678::/48"

cat >"$SRT_TMP/p1.conf" <<CONF
log "$SRT_TMP/bird-p1.log" all;
router id 172.22.5.1;
protocol device { scan time 2; }
protocol static { ipv4; route 172.22.5.0/24 via "lo"; route 192.0.2.0/24 via "lo"; }
protocol static { ipv6; route fd42:5::/48 via "lo"; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; }
protocol bgp node {
    local fe80::1234 as 4242421234;
    neighbor fe80::abcd % '$P1IF' as 4242420000;
    direct;
    connect retry time 2;
    ipv4 { extended next hop on; import all; export where source = RTS_STATIC; };
    ipv6 { import all; export where source = RTS_STATIC; };
}
CONF
bg_start p1 bird-p1 bird -f -c "$SRT_TMP/p1.conf" -s "$SRT_TMP/bird-p1.ctl" -P "$SRT_TMP/bird-p1.pid"

# The node, run as the README says: from its directory, as uid 65534.
(cd "$node" && exec env HOME="$node" XDG_RUNTIME_DIR="$node" BIRD_SOCKET="$node/bird.ctl" \
    SROUTER="$SROUTER" ip netns exec "$NS_R" "${SRT_AS_NOBODY[@]}" ./run.sh) \
    >"$SRT_TMP/srouter-node.log" 2>&1 &
bg_track $!

if wait_for "the DN42 session Established" 40 sh -c "birdc -s '$node/bird.ctl' show protocols dn42_example | grep -q Established"; then
    pass "the example's session dn42_example is Established over fe80::abcd ⇄ fe80::1234"
fi
if wait_for "the peer's 172.22.5.0/24 in the node's BIRD" 15 sh -c "birdc -s '$node/bird.ctl' show route 172.22.5.0/24 | grep -q 172.22.5.0/24"; then
    pass "the node learned the peer's 172.22.5.0/24 (extended next hop)"
fi
check "the node filtered the peer's 192.0.2.0/24 (outside DN42's ranges)" \
    sh -c "! birdc -s '$node/bird.ctl' show route 192.0.2.0/24 | grep -q 192.0.2.0/24"
if wait_for "the peer learned the node's 172.20.0.0/27" 15 sh -c "ip -n $NS_P1 route show 172.20.0.0/27 | grep -q 'proto bird'"; then
    pass "the peer learned the node's 172.20.0.0/27"
fi
if wait_for "the peer learned fd00:1234:5678::/48" 15 sh -c "ip -n $NS_P1 -6 route show fd00:1234:5678::/48 | grep -q 'proto bird'"; then
    pass "the peer learned the node's fd00:1234:5678::/48"
fi
# The node's addresses answer the peer's: the replies leave by the routes BIRD installed in
# srouter's FIB.
check "the peer pings the node's 172.20.0.1 from 172.22.5.1" n1 ping -c 2 -W 2 -I 172.22.5.1 172.20.0.1
check "the peer pings the node's fd00:1234:5678::1 from fd42:5::1" n1 ping -6 -c 2 -W 2 -I fd42:5::1 fd00:1234:5678::1
summary
