#!/usr/bin/env bash
# frr.sh — stock FRR (Debian's zebra, staticd and bgpd, unmodified) as srouter's guests, run
# as the unprivileged user frr (FRR wants its user in group frrvty; uid 65534 is not):
#
#   ns $NS_P1 (AS 65001)                        ns $NS_R (AS 65002)
#   wireguard-go w1 10.77.0.1/24 ─── WG ───    srouter run --wg ${P}r (10.77.0.2/24)
#   BIRD 2: static 172.23.1.0/24                   --dummy node=10.78.0.2/24,fd78::2/64 -- zebra
#                                               srouter exec --router frrt -- staticd, bgpd
#
# zebra sees srouter's interfaces and addresses (vtysh); staticd's routes (a gateway, a
# blackhole, IPv6) reach srouter's FIB and leave it when staticd stops; bgpd peers with BIRD
# over the tunnel, BIRD's prefix enters srouter's FIB through zebra (and leaves when bgpd
# stops) and bgpd's reaches p1's kernel table through BIRD; and zebra met none of what stopped
# it before: capset refused, NETLINK_ADD_MEMBERSHIP binding the socket, socket filters.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

ZEBRA=/usr/lib/frr/zebra STATICD=/usr/lib/frr/staticd BGPD=/usr/lib/frr/bgpd
[[ -x $ZEBRA && -x $STATICD && -x $BGPD ]] || { fail "FRR is not installed ($ZEBRA): Tests/setup.sh installs it"; summary; }
id frr >/dev/null 2>&1 || { fail "FRR's user frr does not exist"; summary; }
command -v bird >/dev/null || { fail "bird (Debian's bird2) is not installed"; summary; }

# MARK: - p1: BIRD behind wireguard-go

topology_up
bird_peer_p1 frr 172.23.1.0/24 172.23.9.0/24

# MARK: - r: FRR inside srouter

dir=$SRT_TMP/frr.d
mkdir -m 0755 "$dir"
chmod 0755 "$SRT_TMP"
AS_FRR=(setpriv --reuid=frr --regid=frr --init-groups --inh-caps=-all --bounding-set=-all --)
printf 'hostname srt-zebra\nlog file %s/zebra.log debugging\n' "$dir" >"$dir/zebra.conf"
cat >"$dir/staticd.conf" <<'EOF'
hostname srt-staticd
ip route 10.200.0.0/24 10.78.0.1
ip route 10.201.0.0/24 blackhole
ipv6 route fd99:1::/64 fd78::1
EOF
cat >"$dir/bgpd.conf" <<'EOF'
hostname srt-bgpd
router bgp 65002
 bgp router-id 10.77.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.77.0.1 remote-as 65001
 neighbor 10.77.0.1 timers connect 2
 address-family ipv4 unicast
  network 172.23.9.0/24
 exit-address-family
EOF
chown -R frr:frr "$dir"
daemon_args=(-z "$dir/zserv.api" --vty_socket "$dir" -u frr -g frr)

# srt ARGS…: srouter as frr, beside the router (its control socket is under $dir).
srt() { ip netns exec "$NS_R" env HOME="$dir" XDG_RUNTIME_DIR="$dir" "${AS_FRR[@]}" "$SROUTER" "$@"; }
# fib_has PATTERN: srouter's main table (both families) has a line matching PATTERN.
fib_has() { srt show routes --router frrt | grep -qE "$1"; }
fib_lacks() { ! fib_has "$1"; }
vty() { ip netns exec "$NS_R" vtysh --vty_socket "$dir" "$@"; }
# guest NAME CMD…: CMD beside zebra in the router, as frr, in the background (BG_PID).
guest() {
    local name=$1
    shift
    bg_start r "$name" env HOME="$dir" XDG_RUNTIME_DIR="$dir" "${AS_FRR[@]}" "$SROUTER" exec --router frrt -- "$@"
}

bg_start r zebra env HOME="$dir" XDG_RUNTIME_DIR="$dir" "${AS_FRR[@]}" "$SROUTER" run --name frrt \
    --wg "$SRT_TMP/$RIF.conf" --dummy node=10.78.0.2/24,fd78::2/64 -- \
    "$ZEBRA" -f "$dir/zebra.conf" -i "$dir/zebra.pid" "${daemon_args[@]}"
zebra_pid=$BG_PID
wait_for "zebra's zserv socket" 30 test -S "$dir/zserv.api"
wait_for "zebra's vty" 10 vty -c 'show version'

# MARK: - zebra: interfaces and addresses

vty -c 'show interface node' >"$SRT_TMP/interface.txt" 2>&1 || true
check "zebra sees srouter's interface: node is up" grep -q "Interface node is up" "$SRT_TMP/interface.txt"
check "... with its IPv4 address" grep -q "inet 10.78.0.2/24" "$SRT_TMP/interface.txt"
check "... and its IPv6 address" grep -q "inet6 fd78::2/64" "$SRT_TMP/interface.txt"
vty -c "show interface $RIF" >"$SRT_TMP/tunnel.txt" 2>&1 || true
check "zebra sees the WireGuard interface with 10.77.0.2/24" grep -q "inet 10.77.0.2/24" "$SRT_TMP/tunnel.txt"
vty -c 'show ip route connected' >"$SRT_TMP/connected.txt" 2>&1 || true
check "zebra has the connected prefix" grep -qE "^C>\* 10\.78\.0\.0/24 is directly connected, node" "$SRT_TMP/connected.txt"

# MARK: - staticd

guest staticd "$STATICD" -f "$dir/staticd.conf" -i "$dir/staticd.pid" "${daemon_args[@]}"
staticd_pid=$BG_PID
wait_for "staticd's route via a gateway in srouter's FIB" 30 fib_has '^10\.200\.0\.0/24 via 10\.78\.0\.1 dev node'
check "staticd's blackhole in srouter's FIB" fib_has '^blackhole 10\.201\.0\.0/24'
check "staticd's IPv6 route in srouter's FIB" fib_has '^fd99:1::/64 via fd78::1 dev node'
vty -c 'show ip route static' >"$SRT_TMP/static.txt" 2>&1 || true
check "zebra installed them (FIB-installed marks)" grep -qE "^S>\* 10\.200\.0\.0/24 \[1/0\] via 10\.78\.0\.1, node" "$SRT_TMP/static.txt"
_srt_kill 10 "$staticd_pid"
wait_for "staticd's routes leave srouter's FIB when it stops" 20 fib_lacks '10\.200\.0\.0/24'
check "... the blackhole too" fib_lacks '10\.201\.0\.0/24'

# MARK: - bgpd ↔ BIRD over the tunnel

guest bgpd "$BGPD" -f "$dir/bgpd.conf" -i "$dir/bgpd.pid" "${daemon_args[@]}"
bgpd_pid=$BG_PID
if wait_for "BIRD in p1: the session with bgpd Established" 60 bird_established frr p1_birdc; then
    pass "BIRD in p1: the session with bgpd is Established"
fi
# The neighbour's line: … Up/Down State/PfxRcd PfxSnt Desc — up, with BIRD's one prefix.
bgp_received() { vty -c 'show bgp ipv4 unicast summary' | grep -qE '^10\.77\.0\.1 +4 +65001 .* [0-9:]+ +1 +[0-9]+ +N/A'; }
if wait_for "bgpd: 10.77.0.1 up, one prefix received" 30 bgp_received; then
    pass "bgpd: 10.77.0.1 (AS 65001) up, one prefix received"
fi
if wait_for "BIRD's prefix in srouter's FIB" 20 fib_has "^172\.23\.1\.0/24 via 10\.77\.0\.1 dev $RIF"; then
    pass "BIRD's prefix, learned by bgpd, is in srouter's FIB through zebra"
fi
if wait_for "bgpd's prefix in p1's kernel table" 20 \
    bash -c "ip -n '$NS_P1' route show 172.23.9.0/24 | grep -q 'via 10.77.0.2 dev $P1IF'"; then
    pass "bgpd's prefix reached p1's kernel table through BIRD"
fi
_srt_kill 10 "$bgpd_pid"
if wait_for "BIRD's prefix leaves srouter's FIB when bgpd stops" 20 fib_lacks '172\.23\.1\.0/24'; then
    pass "BIRD's prefix leaves srouter's FIB when bgpd stops"
fi

# MARK: - what zebra logged

log=$dir/zebra.log
check "zebra logged no capability failure" bash -c "! grep -qi 'cap_set_proc' '$log'"
check "zebra logged no failed netlink bind" bash -c "! grep -q \"Can't bind netlink\" '$log'"
check "zebra logged no refused socket filter" bash -c "! grep -q \"Can't install socket filter\" '$log'"
check "zebra logged no route write error" bash -c "! grep -qE 'netlink-dp.*error: (File exists|Invalid)' '$log'"
_srt_kill 10 "$zebra_pid"
summary
