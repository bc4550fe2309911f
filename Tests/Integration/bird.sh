#!/usr/bin/env bash
# bird.sh — BIRD 2 as a rootless router (issue 7): the stock daemon inside srouter peers over
# BGP with BIRD 2 behind wireguard-go on two tunnels, its `protocol kernel` programs
# srouter's FIB through the emulated rtnetlink, and srouter forwards between the peers.
#
#   ns $NS_P1 (AS 4242420002)           ns $NS_R (uid 65534, AS 4242420001)          ns $NS_P2 (AS 4242420003)
#   wireguard-go w1  ─── WG ─── srouter run --wg ${P}r --wg ${P}s -- guest.sh ─── WG ───  wireguard-go w2
#   fe80::1 10.77.0.1/24          ${P}r fe80::2 10.77.0.2/24   ${P}s 10.78.0.2/24       10.78.0.1/24 fd78::1/64
#   lo 172.22.1.1 fd22:1::1                    fd78::2/64 fe80::2/64                    fe80::1/64, lo 172.22.2.1
#   static 172.22.1.0/24, fd22:1::/48   BIRD: static 172.22.9.0/24, fd22:9::/48;     static 172.22.2.0/24
#                                       kernel (v4, v6) into srouter's FIB
#
# BGP sessions (srouter's BIRD protocol ↔ the peer's):
#   p1     ↔ r      fe80::1 ↔ fe80::2, direct, extended next hop (RFC 8950), ttl security (GTSM)
#   p2     ↔ r      10.78.0.1 ↔ 10.78.0.2, IPv4, with BFD (100 ms, × 3)
#   p2md5  ↔ rmd5   fd78::1 ↔ fd78::2, TCP MD5 (RFC 2385) with the same key: comes up
#   p1md5  ↔ rmd5   10.77.0.1 ↔ 10.77.0.2, TCP MD5 with different keys: stays down
#   p2gtsm ↔ rgtsm  fe80::1 ↔ fe80::2 on p2's tunnel, ttl security only in srouter: stays down
#
# Checks: sessions Established (or not, as above); srouter's BIRD installs p1's and p2's
# prefixes into srouter's FIB; p1 learns p2's prefix and p2 p1's through srouter; the guest
# pings p1; ping, traceroute (srouter is hop 1) and a TCP transfer from p1 to p2 cross
# srouter; BFD on the p2 session comes up; with 5% loss on p1's underlay the sessions stay
# up. Faults: p2's wireguard-go and BIRD die (BFD notices, routes withdrawn everywhere) and come back
# (restored); SIGTERM to srouter (BIRD shuts down cleanly, the peers see a Cease, srouter
# exits 0); srouter again with the same files, whose BIRD is killed (srouter exits 137).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

command -v bird >/dev/null || { fail "bird (Debian's bird2) is not installed"; summary; }

MD5_KEY="dn42-md5-key"   # p2md5 ↔ rmd5, both sides
MD5_WRONG="not-the-key"  # p1's rmd5 (srouter's p1md5 has $MD5_KEY)

topology_up
wg_peer_up p1 w1 51820
wg_peer_up p2 w2 51820
P1IF=$(wg_if w1)
P2IF=$(wg_if w2)
RIF=${SRT_PREFIX}r  # srouter's tunnel to p1
SIF=${SRT_PREFIX}s  # srouter's tunnel to p2
"$SROUTER" genkey >"$SRT_TMP/r.key"
R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key")

# MARK: - The tunnels: AllowedIPs cover what is routed through each, both ways

p1_addresses() {
    n1 ip addr add 10.77.0.1/24 dev "$P1IF" &&
        n1 ip addr add fe80::1/64 dev "$P1IF" nodad &&
        wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" \
            "10.77.0.2/32,fe80::2/128,172.22.9.0/24,fd22:9::/48,172.22.2.0/24"
}
p2_addresses() {
    n2 ip addr add 10.78.0.1/24 dev "$P2IF" &&
        n2 ip addr add fd78::1/64 dev "$P2IF" nodad &&
        n2 ip addr add fe80::1/64 dev "$P2IF" nodad &&
        wg_peer_add p2 w2 "$R_PUB" "$R2_V4:51901" \
            "10.78.0.2/32,fd78::2/128,fe80::2/128,172.22.9.0/24,172.22.1.0/24"
}
p1_addresses
p2_addresses
n1 ip addr add 172.22.1.1/32 dev lo
n1 ip addr add fd22:1::1/128 dev lo
n2 ip addr add 172.22.2.1/32 dev lo
srouter_wg_conf "$SRT_TMP/$RIF.conf" "$SRT_TMP/r.key" 51900 "10.77.0.2/24, fe80::2/64" "${WG_PUB[w1]}" \
    "$P1_V4:51820" "10.77.0.1/32, fe80::1/128, 172.22.1.0/24, fd22:1::/48" "Table = off"
srouter_wg_conf "$SRT_TMP/$SIF.conf" "$SRT_TMP/r.key" 51901 "10.78.0.2/24, fd78::2/64, fe80::2/64" "${WG_PUB[w2]}" \
    "$P2_V4:51820" "10.78.0.1/32, fd78::1/128, fe80::1/128, 172.22.2.0/24" "Table = off"

# MARK: - p1 and p2: BIRD 2 natively, as DN42 operators configure it

# BGP routes go into the kernel with the node's own address as preferred source, so replies
# to pings and connections from p1 come back to 172.22.1.1, which p2 reaches through srouter.
cat >"$SRT_TMP/p1.conf" <<EOF
log "$SRT_TMP/bird-p1.log" all;
router id 10.77.0.1;
protocol device { scan time 2; }
protocol static { ipv4; route 172.22.1.0/24 via "lo"; }
protocol static { ipv6; route fd22:1::/48 via "lo"; }
protocol kernel { ipv4 { export filter { if source != RTS_BGP then reject; krt_prefsrc = 172.22.1.1; accept; }; }; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; }
protocol bgp r {
    local fe80::1 as 4242420002;
    neighbor fe80::2 % '$P1IF' as 4242420001;
    direct;
    ttl security on;
    hold time 9;
    connect retry time 2;
    ipv4 { extended next hop on; import all; export where source = RTS_STATIC; };
    ipv6 { import all; export where source = RTS_STATIC; };
}
protocol bgp rmd5 {
    local 10.77.0.1 as 4242420002;
    neighbor 10.77.0.2 as 4242420001;
    password "$MD5_WRONG";
    hold time 9;
    connect retry time 2;
    ipv4 { import none; export none; };
}
EOF
cat >"$SRT_TMP/p2.conf" <<EOF
log "$SRT_TMP/bird-p2.log" all;
router id 10.78.0.1;
protocol device { scan time 2; }
protocol static { ipv4; route 172.22.2.0/24 via "lo"; }
protocol bfd { interface "$P2IF" { min rx interval 100 ms; min tx interval 100 ms; idle tx interval 300 ms; multiplier 3; }; }
protocol kernel { ipv4 { export filter { if source != RTS_BGP then reject; krt_prefsrc = 172.22.2.1; accept; }; }; }
protocol bgp r {
    local 10.78.0.1 as 4242420003;
    neighbor 10.78.0.2 as 4242420001;
    hold time 9;
    connect retry time 2;
    bfd on;
    ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp rmd5 {
    local fd78::1 as 4242420003;
    neighbor fd78::2 as 4242420001;
    password "$MD5_KEY";
    hold time 9;
    connect retry time 2;
    ipv6 { import none; export none; };
}
protocol bgp rgtsm {
    local fe80::1 as 4242420003;
    neighbor fe80::2 % '$P2IF' as 4242420001;
    direct;
    hold time 9;
    connect retry time 2;
    ipv6 { import none; export none; };
}
EOF
bg_start p1 bird-p1 bird -f -c "$SRT_TMP/p1.conf" -s "$SRT_TMP/bird-p1.ctl" -P "$SRT_TMP/bird-p1.pid"
P1_BIRD_PID=$BG_PID
bg_start p2 bird-p2 bird -f -c "$SRT_TMP/p2.conf" -s "$SRT_TMP/bird-p2.ctl" -P "$SRT_TMP/bird-p2.pid"
P2_BIRD_PID=$BG_PID

# MARK: - r: BIRD 2 inside srouter, as uid 65534

guest_dir=$SRT_TMP/guest
mkdir -m 0777 "$guest_dir"
cat >"$guest_dir/bird.conf" <<EOF
log stderr all;
router id 10.77.0.2;
protocol device { scan time 2; }
protocol direct { ipv4; ipv6; interface "$RIF", "$SIF"; }
protocol static { ipv4; route 172.22.9.0/24 blackhole; }
protocol static { ipv6; route fd22:9::/48 blackhole; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; scan time 2; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; scan time 2; }
template bgp peer {
    local as 4242420001;
    hold time 9;
    connect retry time 2;
    error wait time 2, 10;  # BIRD's default waits 60 s after a hold timer expiry
}
protocol bgp p1 from peer {
    local fe80::2;
    neighbor fe80::1 % '$RIF' as 4242420002;
    direct;
    ttl security on;
    ipv4 { extended next hop on; import all; export where source ~ [RTS_STATIC, RTS_BGP]; };
    ipv6 { import all; export where source ~ [RTS_STATIC, RTS_BGP]; };
}
protocol bfd { interface "$SIF" { min rx interval 100 ms; min tx interval 100 ms; idle tx interval 300 ms; multiplier 3; }; }
protocol bgp p2 from peer {
    local 10.78.0.2;
    neighbor 10.78.0.1 as 4242420003;
    bfd on;
    ipv4 { import all; export where source ~ [RTS_STATIC, RTS_BGP]; };
}
protocol bgp p2md5 from peer {
    local fd78::2;
    neighbor fd78::1 as 4242420003;
    password "$MD5_KEY";
    ipv6 { import none; export none; };
}
protocol bgp p1md5 from peer {
    local 10.77.0.2;
    neighbor 10.77.0.1 as 4242420002;
    password "$MD5_KEY";
    ipv4 { import none; export none; };
}
protocol bgp p2gtsm from peer {
    local fe80::2;
    neighbor fe80::1 % '$SIF' as 4242420003;
    direct;
    ttl security on;
    ipv6 { import none; export none; };
}
EOF
# The guest: BIRD in the foreground (its exit status is srouter's), and beside it, while BIRD
# lives, a loop that records srouter's FIB as the guest sees it and runs a ping when asked.
cat >"$guest_dir/guest.sh" <<EOF
#!/bin/sh
bird_pid=\$\$
while kill -0 \$bird_pid 2>/dev/null && sleep 1; do
    if [ -e "$guest_dir/ping.request" ]; then
        rm -f "$guest_dir/ping.request"
        "$guest_dir/ping" -c 3 -i 0.3 -W 2 172.22.1.1 >"$guest_dir/ping.log" 2>&1
        echo "rc=\$?" >>"$guest_dir/ping.log"
        mv "$guest_dir/ping.log" "$guest_dir/ping.out"
    fi
    ip route show >"$guest_dir/routes4.new" 2>&1 && mv "$guest_dir/routes4.new" "$guest_dir/routes4"
    ip -6 route show >"$guest_dir/routes6.new" 2>&1 && mv "$guest_dir/routes6.new" "$guest_dir/routes6"
done &
exec bird -f -c "$guest_dir/bird.conf" -s "$guest_dir/bird.ctl" -P "$guest_dir/bird.pid"
EOF
chmod 0755 "$guest_dir/guest.sh" "$SRT_TMP"
chmod 0644 "$SRT_TMP/$RIF.conf" "$SRT_TMP/$SIF.conf"
install -m 0755 "$(command -v ping)" "$guest_dir/ping"
# The node's own addresses on a dummy interface, as a DN42 node holds them (inside 172.22.9.0/24
# and fd22:9::/48, which BIRD announces).
DUMMY=(--dummy "dn42=172.22.9.1/32,fd22:9::1/128")
srouter_start r --log-level info "${DUMMY[@]}" --wg "$SRT_TMP/$RIF.conf" --wg "$SRT_TMP/$SIF.conf" -- "$guest_dir/guest.sh"

r_birdc() { birdc -s "$guest_dir/bird.ctl" "$@"; }
p1_birdc() { n1 birdc -s "$SRT_TMP/bird-p1.ctl" "$@"; }
p2_birdc() { n2 birdc -s "$SRT_TMP/bird-p2.ctl" "$@"; }
in_fib4() { grep -q "^$1" "$guest_dir/routes4"; }

# MARK: - The sessions

if wait_for "p1 Established inside srouter" 40 bird_established p1 r_birdc; then
    pass "srouter's BIRD: p1 Established (IPv6 link-local, direct, ttl security on both sides)"
fi
check "p1's BIRD: r Established" bird_established r p1_birdc
if wait_for "p2 Established inside srouter" 15 bird_established p2 r_birdc; then
    pass "srouter's BIRD: p2 Established (IPv4 tunnel addresses)"
fi
check "p2's BIRD: r Established" bird_established r p2_birdc
if wait_for "p2md5 Established inside srouter" 15 bird_established p2md5 r_birdc; then
    pass "srouter's BIRD: p2md5 Established (TCP MD5, same key both sides)"
fi
check "p2's BIRD: rmd5 Established" bird_established rmd5 p2_birdc

# BFD (RFC 5880/5881) on the p2 session: UDP 3784 with TTL 255 both ways through srouter's stack.
bfd_up() { "$@" show bfd sessions 2>/dev/null | grep -E "^10\.78\.0\.[12] " | grep -q " Up "; }
if wait_for "BFD session with p2 Up inside srouter" 20 bfd_up r_birdc; then
    pass "BFD session 10.78.0.1 Up in srouter's BIRD"
fi
check "BFD session 10.78.0.2 Up in p2's BIRD" bfd_up p2_birdc

# MARK: - Routes: srouter's FIB, and each peer learns the other through srouter

check "srouter's BIRD learned 172.22.1.0/24 over IPv6 (extended next hop)" \
    sh -c "birdc -s '$guest_dir/bird.ctl' show route 172.22.1.0/24 all | grep -q 'via fe80::1'"
if wait_for "172.22.1.0/24 in srouter's FIB via fe80::1" 15 \
    grep -q "^172.22.1.0/24 via inet6 fe80::1 dev $RIF proto bird" "$guest_dir/routes4"; then
    pass "protocol kernel installed 172.22.1.0/24 via inet6 fe80::1 in srouter's FIB"
fi
if wait_for "fd22:1::/48 in srouter's FIB" 15 grep -q "^fd22:1::/48 via fe80::1 dev $RIF proto bird" "$guest_dir/routes6"; then
    pass "protocol kernel installed fd22:1::/48 via fe80::1 in srouter's FIB"
fi
if wait_for "172.22.2.0/24 in srouter's FIB via 10.78.0.1" 15 \
    grep -q "^172.22.2.0/24 via 10.78.0.1 dev $SIF proto bird" "$guest_dir/routes4"; then
    pass "protocol kernel installed p2's 172.22.2.0/24 via 10.78.0.1 in srouter's FIB"
fi
if wait_for "p1's kernel: 172.22.9.0/24 from BGP" 15 kernel_bird_route "$NS_P1" 172.22.9.0/24 "inet6 fe80::2"; then
    pass "p1's BIRD learned srouter's 172.22.9.0/24 and installed it via inet6 fe80::2"
fi
if wait_for "p1's kernel: p2's 172.22.2.0/24 through srouter" 15 kernel_bird_route "$NS_P1" 172.22.2.0/24 "inet6 fe80::2"; then
    pass "p1 learned p2's 172.22.2.0/24 through srouter's BIRD (AS path $(p1_birdc show route 172.22.2.0/24 all | grep -o 'BGP.as_path: .*' | head -n 1))"
fi
if wait_for "p2's kernel: p1's 172.22.1.0/24 through srouter" 15 kernel_bird_route "$NS_P2" 172.22.1.0/24 10.78.0.2; then
    pass "p2 learned p1's 172.22.1.0/24 through srouter's BIRD, via 10.78.0.2"
fi

# MARK: - Interfaces as BIRD's protocol device sees them (rtnetlink)

check "BIRD's protocol device sees lo, both tunnels and the dummy interface" \
    sh -c "birdc -s '$guest_dir/bird.ctl' show interfaces | grep -q '^lo ' && \
        birdc -s '$guest_dir/bird.ctl' show interfaces | grep -q '^$RIF ' && \
        birdc -s '$guest_dir/bird.ctl' show interfaces | grep -q '^$SIF ' && \
        birdc -s '$guest_dir/bird.ctl' show interfaces | grep -q '^dn42 '"
check "... with the dummy's addresses" sh -c "birdc -s '$guest_dir/bird.ctl' show interfaces | grep -A3 '^dn42 ' | grep -q '172.22.9.1/32'"
check "p1 pings the node address 172.22.9.1 on srouter's dummy interface (BGP route to 172.22.9.0/24)" \
    n1 ping -q -c 2 -i 0.3 -W 2 -I 172.22.1.1 172.22.9.1
check "p1 pings fd22:9::1 on it too" n1 ping -6 -q -c 2 -i 0.3 -W 2 fd22:9::1

# MARK: - Traffic: the guest to p1; p1 to p2 across srouter's FIB

touch "$guest_dir/ping.request"
if wait_for "the guest's ping to 172.22.1.1" 20 grep -q "^rc=" "$guest_dir/ping.out"; then
    check "the guest pings 172.22.1.1 through srouter's FIB and the tunnel ($(grep -o '[0-9]* received' "$guest_dir/ping.out"))" \
        grep -q "^rc=0" "$guest_dir/ping.out"
fi
check "p1 reaches srouter's link-local fe80::2 (the BGP session's address)" n1 ping -6 -q -c 2 -i 0.3 -W 2 "fe80::2%$P1IF"
check "p1 → p2's 172.22.2.1 through srouter (ping from 172.22.1.1, the route's prefsrc)" \
    n1 ping -q -c 3 -i 0.3 -W 2 172.22.2.1
n1 traceroute -n -q 1 -w 2 172.22.2.1 >"$SRT_TMP/traceroute.txt" 2>&1 || true
cat "$SRT_TMP/traceroute.txt"
check "traceroute p1 → 172.22.2.1: srouter (10.77.0.2) is hop 1 (its time exceeded)" \
    grep -qE '^ *1 +10\.77\.0\.2 ' "$SRT_TMP/traceroute.txt"
check "traceroute p1 → 172.22.2.1: p2 is hop 2" grep -qE '^ *2 +172\.22\.2\.1 ' "$SRT_TMP/traceroute.txt"
n2 python3 "$SRT_LIB_DIR/tcp_peer.py" serve 6001 172.22.2.1 >"$SRT_TMP/serve.log" 2>&1 &
bg_track $!
wait_for "TCP listener in p2" 5 grep -q listening "$SRT_TMP/serve.log"
check "TCP p1 → p2 through srouter: 4 MiB arrive intact (count and CRC-32)" \
    n1 timeout 60 python3 "$SRT_LIB_DIR/tcp_peer.py" send 172.22.2.1 6001 4194304

# MARK: - Sessions that must stay down: wrong MD5 key; GTSM on one side only

# p1's kernel counts srouter's segments whose signature fails with p1's key (TCPMD5Failure):
# srouter signs, with its key; and it must not accept p1's, so the session never comes up.
md5_failures() { n1 nstat -az TcpExtTCPMD5Failure | awk '/TcpExtTCPMD5Failure/ { print $2 }'; }
if wait_for "p1's kernel rejects srouter's signatures (wrong key)" 15 sh -c "[ \"\$(ip netns exec $NS_P1 nstat -az TcpExtTCPMD5Failure | awk '/TcpExtTCPMD5Failure/ { print \$2 }')\" -gt 0 ]"; then
    pass "srouter signs p1md5's segments; p1's kernel rejects them with its other key ($(md5_failures) failures)"
fi
check "p1md5 (MD5, different keys) is not Established in srouter's BIRD" bird_not_established p1md5 r_birdc
check "... nor in p1's BIRD" bird_not_established rmd5 p1_birdc
# srouter's BIRD sets IPV6_MINHOPCOUNT 255 on its sockets and sends with hop limit 255;
# p2's BIRD sends with 1 (direct eBGP), so srouter drops p2's segments once the option is set.
# (p2's side may still reach Established for a moment: as on Linux, an OPEN that arrives
# before BIRD's accept() sets the option gets through, srouter's BIRD answers KEEPALIVE, and
# then it never hears p2's, until its hold timer expires.)
check "p2gtsm (ttl security in srouter only; p2 sends hop limit 1) is not Established in srouter's BIRD" \
    bird_not_established p2gtsm r_birdc

# MARK: - 5% loss on p1's underlay: the sessions stay up

# This kernel has no sch_netem (tc qdisc … netem: "Specified qdisc kind is unknown"), so p1's
# WireGuard packets go through lossy_relay.py in p1 instead: 5% of the datagrams dropped each
# way, for longer than the hold time (9 s), with pings and a TCP transfer across meanwhile.
since() { local proto=$1; shift; "$@" show protocols "$proto" | awk -v p="$proto" '$1 == p { print $5 }'; }
r_since=$(since p1 r_birdc)
p1_since=$(since r p1_birdc)
n1 python3 "$SRT_LIB_DIR/lossy_relay.py" 127.0.0.1 51821 "$R1_V4" 51900 0.05 0 0 7 >"$SRT_TMP/relay.log" 2>&1 &
RELAY_PID=$!
bg_track "$RELAY_PID"
wait_for "lossy relay in p1" 5 grep -q ready "$SRT_TMP/relay.log"
relay_engage "$SRT_TMP/relay.log" 10.77.0.2
n2 python3 "$SRT_LIB_DIR/tcp_peer.py" serve 6002 172.22.2.1 >"$SRT_TMP/serve-lossy.log" 2>&1 &
bg_track $!
wait_for "second TCP listener in p2" 5 grep -q listening "$SRT_TMP/serve-lossy.log"
check "5% loss: TCP p1 → p2, 1 MiB intact" n1 timeout 60 python3 "$SRT_LIB_DIR/tcp_peer.py" send 172.22.2.1 6002 1048576
n1 ping -q -c 40 -i 0.3 -W 1 172.22.2.1 >"$SRT_TMP/lossy-ping.txt" 2>&1 || true
received=$(grep -oE '[0-9]+ received' "$SRT_TMP/lossy-ping.txt" | grep -oE '^[0-9]+' || echo 0)
check "5% loss: most pings p1 → p2 cross ($received of 40; each crosses the lossy link twice)" test "$received" -ge 28
check "5% loss for $((40 * 3 / 10))+ s: p1 stayed Established in srouter's BIRD (since $r_since)" \
    sh -c "[ \"\$(birdc -s '$guest_dir/bird.ctl' show protocols p1 | awk '\$1 == \"p1\" { print \$4, \$5, \$6 }')\" = 'up $r_since Established' ]"
check "... and r in p1's BIRD (since $p1_since)" \
    sh -c "[ \"\$(ip netns exec $NS_P1 birdc -s '$SRT_TMP/bird-p1.ctl' show protocols r | awk '\$1 == \"r\" { print \$4, \$5, \$6 }')\" = 'up $p1_since Established' ]"
n1 wg set "$P1IF" peer "$R_PUB" endpoint "$R1_V4:51900"
n1 ping -q -c 1 -W 2 10.77.0.2 >/dev/null  # srouter roams back to p1's own endpoint
_srt_kill 1 "$RELAY_PID"
check "the relay carried the tunnel and dropped some ($(grep -o 'stats.*' "$SRT_TMP/relay.log"))" \
    grep -qE "stats in=[0-9]{3,} dropped=[1-9]" "$SRT_TMP/relay.log"

# MARK: - Fault: p2's wireguard-go and BIRD die; routes are withdrawn, then restored

# wireguard-go dies first (SIGKILL; it comes back with its key but no peer yet), so BIRD's
# Cease on SIGTERM is lost: srouter's BIRD finds out by BFD (3 × 300 ms), long before its
# hold timer (9 s).
wg_peer_restart w2
_srt_kill 3 "$P2_BIRD_PID"
gone_at=$(_srt_now_ms)
if wait_for "172.22.2.0/24 withdrawn from srouter's FIB" 20 \
    sh -c "! grep -q '^172.22.2.0/24' '$guest_dir/routes4'"; then
    pass "p2 gone: srouter's BIRD drops p2's route from srouter's FIB ($(($(_srt_now_ms) - gone_at)) ms)"
fi
check "srouter's BIRD saw p2 go by BFD, not by its hold timer" \
    sh -c "birdc -s '$guest_dir/bird.ctl' show protocols all p2 | grep -q 'BFD session down'"
if wait_for "p1's kernel loses 172.22.2.0/24" 10 sh -c "! ip -n $NS_P1 route show 172.22.2.0/24 | grep -q ."; then
    pass "p2 gone: srouter's BIRD withdraws 172.22.2.0/24 from p1"
fi
check "p1 → 172.22.2.1 fails while p2 is gone" sh -c "! ip netns exec $NS_P1 ping -q -c 1 -W 1 172.22.2.1 >/dev/null 2>&1"
p2_addresses
bg_start p2 bird-p2-again bird -f -c "$SRT_TMP/p2.conf" -s "$SRT_TMP/bird-p2.ctl" -P "$SRT_TMP/bird-p2.pid"
P2_BIRD_PID=$BG_PID
if wait_for "p2 Established again inside srouter" 30 bird_established p2 r_birdc; then
    pass "p2's wireguard-go and BIRD restarted: the session returns"
fi
if wait_for "172.22.2.0/24 back in srouter's FIB" 15 \
    grep -q "^172.22.2.0/24 via 10.78.0.1 dev $SIF proto bird" "$guest_dir/routes4"; then
    pass "p2's route restored in srouter's FIB"
fi
if wait_for "p1's kernel: 172.22.2.0/24 again" 15 kernel_bird_route "$NS_P1" 172.22.2.0/24 "inet6 fe80::2"; then
    pass "p2's route restored in p1"
fi
if wait_for "p2's kernel: 172.22.1.0/24 again" 15 kernel_bird_route "$NS_P2" 172.22.1.0/24 10.78.0.2; then
    pass "p1's route restored in p2"
fi
check "p1 → 172.22.2.1 through srouter again" n1 ping -q -c 2 -i 0.3 -W 2 172.22.2.1

# MARK: - Fault: SIGTERM to srouter; BIRD shuts down first, the peers see a Cease

srouter_stop r 10
check "srouter exits 0 on SIGTERM: BIRD's own status after a clean shutdown (got ${SROUTER_RC[r]})" \
    test "${SROUTER_RC[r]}" = 0
check "srouter forwarded SIGTERM to BIRD" grep -q "forwarding Terminated to the guest" "${SROUTER_LOG[r]}"
check "BIRD inside srouter shut down cleanly (\"Shutdown completed\")" grep -q "Shutdown completed" "${SROUTER_LOG[r]}"
check "p1's BIRD received BIRD's Cease (administrative shutdown) from srouter" \
    grep -q "r: Received: Administrative shutdown" "$SRT_TMP/bird-p1.log"
check "p2's BIRD received it too" grep -q "r: Received: Administrative shutdown" "$SRT_TMP/bird-p2.log"
check "srouter's TCP dropped p2gtsm's segments below IPV6_MINHOPCOUNT 255" \
    grep -qE "stack totals.*tcp-below-min-ttl=[1-9]" "${SROUTER_LOG[r]}"
check "srouter's TCP dropped p1md5's segments signed with the wrong key" \
    grep -qE "stack totals.*tcp-bad-signature=[1-9]" "${SROUTER_LOG[r]}"

# MARK: - Fault: BIRD dies inside srouter; srouter exits with its status

rm -f "$guest_dir/bird.pid"
srouter_start r2 --log-level info "${DUMMY[@]}" --wg "$SRT_TMP/$RIF.conf" --wg "$SRT_TMP/$SIF.conf" -- "$guest_dir/guest.sh"
if wait_for "srouter again: p2 Established" 30 bird_established p2 r_birdc; then
    pass "srouter started again with the same files: p2 Established"
fi
bird_pid=$(cat "$guest_dir/bird.pid")
kill -KILL "$bird_pid"
srouter_wait r2 10 || true
check "BIRD killed (SIGKILL) inside srouter: srouter exits 137 (got ${SROUTER_RC[r2]-still running})" \
    test "${SROUTER_RC[r2]-}" = 137
summary
