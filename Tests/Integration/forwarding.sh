#!/usr/bin/env bash
# forwarding.sh — srouter forwards between two WireGuard peers by its FIB.
#
#   ns $NS_P1                          ns $NS_R (uid 65534)                  ns $NS_P2
#   wireguard-go w1 10.77.0.1   ─── srouter run --wg ${P}ra --wg ${P}rb ───  wireguard-go w2 10.78.0.1
#   lo 192.0.2.1, 2001:db8:1::1     ra 10.77.0.2/24 MTU 1420                 lo 198.51.100.1, 2001:db8:2::1
#                                   rb 10.78.0.2/24 fd78::2/64 MTU 1280
#
# srouter's routes come from the wg-quick files (Table = auto: a route per AllowedIPs, as
# wg-quick adds them). Checks: ping across both ways (IPv4 and IPv6); traceroute from p1
# shows srouter as the first hop; TTL expiry answered; 4000-byte pings to srouter itself
# (reassembly, fragmented replies); PMTU discovery across the 1280-byte
# tunnel (fragmentation needed / packet too big, then a 10 MiB TCP transfer p1 → p2 through
# srouter arrives intact); unroutable destinations answered with net unreachable.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
wg_peer_up p1 w1 51820
wg_peer_up p2 w2 51820
P1IF=$(wg_if w1)
P2IF=$(wg_if w2)
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add 192.0.2.1/32 dev lo
n1 ip addr add 2001:db8:1::1/128 dev lo
n1 ip addr add fd77::1/64 dev "$P1IF"
n2 ip addr add 10.78.0.1/24 dev "$P2IF"
n2 ip addr add 198.51.100.1/32 dev lo
n2 ip addr add 2001:db8:2::1/128 dev lo
n2 ip addr add fd78::1/64 dev "$P2IF"
n2 ip link set dev "$P2IF" mtu 1280

RA=${SRT_PREFIX}ra
RB=${SRT_PREFIX}rb
"$SROUTER" genkey >"$SRT_TMP/r.key"
R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key")
cat >"$SRT_TMP/$RA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51900
Address = 10.77.0.2/24, fd77::2/64

[Peer]
PublicKey = ${WG_PUB[w1]}
Endpoint = $P1_V4:51820
AllowedIPs = 10.77.0.1/32, 192.0.2.0/24, 2001:db8:1::/48
CONF
cat >"$SRT_TMP/$RB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51901
Address = 10.78.0.2/24, fd78::2/64
MTU = 1280

[Peer]
PublicKey = ${WG_PUB[w2]}
Endpoint = $P2_V4:51820
AllowedIPs = 10.78.0.1/32, 198.51.100.0/24, 2001:db8:2::/48
CONF
chmod 0644 "$SRT_TMP"/*.conf && chmod 0755 "$SRT_TMP"
wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.0/24,198.51.100.0/24,203.0.113.0/24,fd77::/64,2001:db8:2::/48"
wg_peer_add p2 w2 "$R_PUB" "$R2_V4:51901" "10.78.0.0/24,192.0.2.0/24,fd78::/64,2001:db8:1::/48"
n1 ip route add 198.51.100.0/24 dev "$P1IF" src 192.0.2.1
n1 ip route add 203.0.113.0/24 dev "$P1IF" src 192.0.2.1
n1 ip -6 route add 2001:db8:2::/48 dev "$P1IF" src 2001:db8:1::1
n2 ip route add 192.0.2.0/24 dev "$P2IF" src 198.51.100.1
n2 ip -6 route add 2001:db8:1::/48 dev "$P2IF" src 2001:db8:2::1

srouter_start fwd --log-level info --wg "$SRT_TMP/$RA.conf" --wg "$SRT_TMP/$RB.conf" -- sleep 600
wait_for "srouter's handshakes with both peers" 15 bash -c \
    "[[ \$(ip netns exec $NS_P1 wg show $P1IF latest-handshakes | awk '{print \$2}') != 0 &&
        \$(ip netns exec $NS_P2 wg show $P2IF latest-handshakes | awk '{print \$2}') != 0 ]]"

check "p1 → p2 ping through srouter (IPv4)" n1 ping -c 3 -i 0.2 -W 2 -I 192.0.2.1 198.51.100.1
check "p2 → p1 ping through srouter (IPv4)" n2 ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 192.0.2.1
check "p1 → p2 ping through srouter (IPv6)" n1 ping -6 -c 3 -i 0.2 -W 2 -I 2001:db8:1::1 2001:db8:2::1

n1 traceroute -n -q 1 -w 2 -s 192.0.2.1 198.51.100.1 >"$SRT_TMP/traceroute.txt" 2>&1 || true
cat "$SRT_TMP/traceroute.txt"
check "traceroute: srouter (10.77.0.2) is hop 1" grep -qE '^ *1 +10\.77\.0\.2 ' "$SRT_TMP/traceroute.txt"
check "traceroute: p2 (198.51.100.1) is hop 2" grep -qE '^ *2 +198\.51\.100\.1 ' "$SRT_TMP/traceroute.txt"
n1 traceroute -6 -n -q 1 -w 2 -s 2001:db8:1::1 2001:db8:2::1 >"$SRT_TMP/traceroute6.txt" 2>&1 || true
cat "$SRT_TMP/traceroute6.txt"
check "traceroute -6: srouter (fd77::2) is hop 1" grep -qE '^ *1 +fd77::2 ' "$SRT_TMP/traceroute6.txt"

n1 ping -c 1 -W 2 -t 1 -I 192.0.2.1 198.51.100.1 >"$SRT_TMP/ttl.txt" 2>&1 || true
check "TTL 1: time exceeded from srouter" grep -q "From 10.77.0.2 .*Time to live exceeded" "$SRT_TMP/ttl.txt"

n1 ping -c 1 -W 2 -M do -s 1300 -I 192.0.2.1 198.51.100.1 >"$SRT_TMP/pmtu.txt" 2>&1 || true
cat "$SRT_TMP/pmtu.txt"
check "DF and 1328 bytes into the 1280 tunnel: fragmentation needed, mtu 1280" \
    grep -qE "Frag needed and DF set \(mtu = 1280\)|mtu=1280|mtu = 1280" "$SRT_TMP/pmtu.txt"
n1 ping -6 -c 1 -W 2 -M do -s 1300 -I 2001:db8:1::1 2001:db8:2::1 >"$SRT_TMP/pmtu6.txt" 2>&1 || true
cat "$SRT_TMP/pmtu6.txt"
check "IPv6 1348 bytes into the 1280 tunnel: packet too big, mtu 1280" grep -qiE "too big.*1280|mtu=1280|mtu = 1280" "$SRT_TMP/pmtu6.txt"
check "4000-byte ping to srouter's IPv4 address: fragments reassembled, reply fragmented" \
    n1 ping -c 2 -i 0.3 -W 2 -M dont -s 4000 10.77.0.2
check "4000-byte ping to srouter's IPv6 address: reassembled, reply fragmented (RFC 8200 §4.5)" \
    n1 ping -6 -c 2 -i 0.3 -W 2 -s 4000 -I 2001:db8:1::1 fd77::2
check "without DF, 1400-byte pings are fragmented by srouter and answered" \
    n1 ping -c 2 -W 2 -M dont -s 1400 -I 192.0.2.1 198.51.100.1

n2 python3 "$SRT_LIB_DIR/tcp_peer.py" serve 6001 198.51.100.1 >"$SRT_TMP/serve.log" 2>&1 &
bg_track $!
wait_for "listener in p2" 5 grep -q listening "$SRT_TMP/serve.log"
check "TCP p1 → p2 through srouter, 10 MiB intact (PMTU discovered across the 1280 tunnel)" \
    n1 timeout 120 python3 -c "
import socket, sys, zlib
sys.path.insert(0, '$SRT_LIB_DIR'); import tcp_peer
s = socket.create_connection(('198.51.100.1', 6001), timeout=60, source_address=('192.0.2.1', 0))
total = 10485760
for piece in tcp_peer.pattern_chunks(total): s.sendall(piece)
s.shutdown(socket.SHUT_WR)
answer = tcp_peer.read_all(s).decode().strip()
print('answer', answer)
sys.exit(0 if answer == f'{total} {tcp_peer.pattern_crc(total):x}' else 1)"

n1 ping -c 1 -W 2 -I 192.0.2.1 203.0.113.1 >"$SRT_TMP/unreach.txt" 2>&1 || true
check "no route: net unreachable from srouter" grep -q "From 10.77.0.2 .*Destination Net Unreachable" "$SRT_TMP/unreach.txt"
srouter_stop fwd
check "srouter's exit log counts what it forwarded" grep -qE 'stack totals.*forwarded=[1-9]' "${SROUTER_LOG[fwd]}"
check "... and the ICMP errors it sent" grep -qE 'stack totals.*icmp-errors-sent=[1-9]' "${SROUTER_LOG[fwd]}"

summary
