#!/usr/bin/env bash
# bird.sh — BIRD 2 as a rootless router (issue 7, first part): the stock daemon inside
# srouter peers over BGP with BIRD 2 behind wireguard-go, and its `protocol kernel` programs
# srouter's FIB through the emulated rtnetlink.
#
#   ns $NS_P1 (AS 4242420002)                    ns $NS_R (uid 65534, AS 4242420001)
#   wireguard-go w1 fe80::1 10.77.0.1  ─── WG ─── srouter run --wg ${P}r -- bird
#   lo 172.22.1.1/32 fd22:1::1/128                 fe80::2 10.77.0.2, announces 172.22.9.0/24
#   bird: static 172.22.1.0/24, fd22:1::/48        kernel protocols (v4, v6) into srouter's FIB
#
# One BGP session over IPv6 link-local in direct mode (no multihop), with extended next hop
# (RFC 8950) so IPv4 routes travel over it with IPv6 next hops. Checks: the session is
# Established on both sides; BIRD inside srouter learns p1's prefixes and installs them
# through `protocol kernel` (IPv4 via an IPv6 link-local next hop, RTA_VIA); p1 learns
# srouter's; a ping from the guest to p1's 172.22.1.1 crosses srouter's FIB and the tunnel;
# stopping p1's BIRD withdraws its routes from srouter's FIB.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

command -v bird >/dev/null || { fail "bird (Debian's bird2) is not installed"; summary; }

topology_up
wg_peer_up p1 w1 51820
P1IF=$(wg_if w1)
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add fe80::1/64 dev "$P1IF" nodad
n1 ip addr add 172.22.1.1/32 dev lo
n1 ip addr add fd22:1::1/128 dev lo
RIF=${SRT_PREFIX}r
"$SROUTER" genkey >"$SRT_TMP/r.key"
R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key")
cat >"$SRT_TMP/$RIF.conf" <<EOF
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51900
Address = 10.77.0.2/24, fe80::2/64
Table = off

[Peer]
PublicKey = ${WG_PUB[w1]}
Endpoint = $P1_V4:51820
AllowedIPs = 10.77.0.1/32, fe80::1/128, 172.22.1.0/24, fd22:1::/48
EOF
wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.2/32,fe80::2/128,172.22.9.0/24,fd22:9::/48"
n1 ip route add 172.22.9.0/24 dev "$P1IF"

# MARK: - p1: BIRD 2 natively
cat >"$SRT_TMP/p1.conf" <<EOF
log "$SRT_TMP/bird-p1.log" all;
router id 10.77.0.1;
protocol device { scan time 2; }
protocol static { ipv4; route 172.22.1.0/24 via "lo"; }
protocol static { ipv6; route fd22:1::/48 via "lo"; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; }
protocol bgp r {
    local fe80::1 as 4242420002;
    neighbor fe80::2 % '$P1IF' as 4242420001;
    direct;
    hold time 9;
    connect retry time 2;
    ipv4 { extended next hop on; import all; export where source = RTS_STATIC; };
    ipv6 { import all; export where source = RTS_STATIC; };
}
EOF
bg_start p1 bird-p1 bird -f -c "$SRT_TMP/p1.conf" -s "$SRT_TMP/bird-p1.ctl" -P "$SRT_TMP/bird-p1.pid"
P1_BIRD_PID=$BG_PID

# MARK: - r: BIRD 2 inside srouter, as uid 65534
guest_dir=$SRT_TMP/guest
mkdir -m 0777 "$guest_dir"
cat >"$guest_dir/bird.conf" <<EOF
log stderr all;
router id 10.77.0.2;
protocol device { scan time 2; }
protocol direct { ipv4; ipv6; interface "$RIF"; }
protocol static { ipv4; route 172.22.9.0/24 blackhole; }
protocol static { ipv6; route fd22:9::/48 blackhole; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; scan time 2; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; scan time 2; }
protocol bgp p1 {
    local fe80::2 as 4242420001;
    neighbor fe80::1 % '$RIF' as 4242420002;
    direct;
    hold time 9;
    connect retry time 2;
    ipv4 { extended next hop on; import all; export where source = RTS_STATIC; };
    ipv6 { import all; export where source = RTS_STATIC; };
}
EOF
# The guest: BIRD, and a loop that records srouter's FIB as the guest sees it.
cat >"$guest_dir/guest.sh" <<EOF
#!/bin/sh
bird -f -c "$guest_dir/bird.conf" -s "$guest_dir/bird.ctl" -P "$guest_dir/bird.pid" &
while sleep 1; do
    if [ -e "$guest_dir/ping.request" ]; then
        rm -f "$guest_dir/ping.request"
        "$guest_dir/ping" -c 3 -i 0.3 -W 2 172.22.1.1 >"$guest_dir/ping.log" 2>&1
        echo "rc=\$?" >>"$guest_dir/ping.log"
        mv "$guest_dir/ping.log" "$guest_dir/ping.out"
    fi
    ip route show >"$guest_dir/routes4.new" 2>&1 && mv "$guest_dir/routes4.new" "$guest_dir/routes4"
    ip -6 route show >"$guest_dir/routes6.new" 2>&1 && mv "$guest_dir/routes6.new" "$guest_dir/routes6"
done
EOF
chmod 0755 "$guest_dir/guest.sh" "$SRT_TMP"
chmod 0644 "$SRT_TMP/$RIF.conf"
install -m 0755 "$(command -v ping)" "$guest_dir/ping"
srouter_start r --log-level info --wg "$SRT_TMP/$RIF.conf" -- "$guest_dir/guest.sh"

established() { "$@" show protocols 2>/dev/null | grep -qE "Established"; }
r_birdc() { birdc -s "$guest_dir/bird.ctl" "$@"; }
p1_birdc() { n1 birdc -s "$SRT_TMP/bird-p1.ctl" "$@"; }

if wait_for "BGP Established inside srouter" 40 established r_birdc; then
    pass "BGP session Established in srouter's BIRD (IPv6 link-local, direct)"
fi
if wait_for "BGP Established in p1" 10 established p1_birdc; then
    pass "BGP session Established in p1's BIRD"
fi
check "srouter's BIRD learned 172.22.1.0/24 over IPv6 (extended next hop)" \
    sh -c "birdc -s '$guest_dir/bird.ctl' show route 172.22.1.0/24 all | grep -q 'via fe80::1'"
if wait_for "172.22.1.0/24 in srouter's FIB via fe80::1" 15 \
    grep -q "^172.22.1.0/24 via inet6 fe80::1 dev $RIF proto bird" "$guest_dir/routes4"; then
    pass "protocol kernel installed 172.22.1.0/24 via inet6 fe80::1 in srouter's FIB"
fi
if wait_for "fd22:1::/48 in srouter's FIB" 15 grep -q "^fd22:1::/48 via fe80::1 dev $RIF proto bird" "$guest_dir/routes6"; then
    pass "protocol kernel installed fd22:1::/48 via fe80::1 in srouter's FIB"
fi
if wait_for "p1 learned 172.22.9.0/24 from srouter" 15 \
    sh -c "ip netns exec $NS_P1 birdc -s '$SRT_TMP/bird-p1.ctl' show route 172.22.9.0/24 | grep -q 172.22.9.0/24"; then
    pass "p1's BIRD learned srouter's 172.22.9.0/24"
fi
check "p1's kernel has 172.22.9.0/24 from BGP" sh -c "ip -n $NS_P1 route show 172.22.9.0/24 | grep -q 'proto bird'"

# A ping from inside srouter to p1's 172.22.1.1 takes the BGP route out of the tunnel (the
# guest's loop runs it when asked).
touch "$guest_dir/ping.request"
if wait_for "the guest's ping to 172.22.1.1" 20 grep -q "^rc=" "$guest_dir/ping.out"; then
    check "the guest pings 172.22.1.1 through srouter's FIB and the tunnel ($(grep -o '[0-9]* received' "$guest_dir/ping.out"))" \
        grep -q "^rc=0" "$guest_dir/ping.out"
fi
check "srouter answers BGP's peer through the tunnel (p1 pings 10.77.0.2)" n1 ping -c 2 -W 2 10.77.0.2
check "p1 reaches srouter's link-local fe80::2 (the BGP session's address)" n1 ping -6 -c 2 -W 2 "fe80::2%$P1IF"

# MARK: - Withdrawal: p1's BIRD stops; srouter's BIRD and FIB drop the routes.
_srt_kill 3 "$P1_BIRD_PID"
if wait_for "172.22.1.0/24 withdrawn from srouter's FIB" 20 \
    sh -c "! grep -q '^172.22.1.0/24' '$guest_dir/routes4'"; then
    pass "the route is withdrawn from srouter's FIB when p1's BIRD stops"
fi
check "srouter still runs" kill -0 "${SROUTER_PID[r]}"
srouter_stop r
summary
