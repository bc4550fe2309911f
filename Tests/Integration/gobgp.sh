#!/usr/bin/env bash
# gobgp.sh — stock GoBGP (Debian's gobgpd) as srouter's guest, as uid 65534:
#
#   ns $NS_P1 (AS 65001)                        ns $NS_R (uid 65534, AS 65002)
#   wireguard-go w1 10.77.0.1/24 ─── WG ───    srouter run --wg ${P}r (10.77.0.2/24) -- gobgpd
#   BIRD 2: static 172.24.1.0/24                   (gRPC API on a unix socket: the gobgp CLI
#                                                   outside the sandbox)
#
# gobgpd listens on port 179 (served by srouter: natively uid 65534 may not bind it), peers
# with BIRD over the tunnel, learns BIRD's prefix, and a route added with `gobgp global rib
# add` reaches p1's kernel table through BIRD; when srouter stops, BIRD sees the session end.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

command -v gobgpd >/dev/null && command -v gobgp >/dev/null ||
    { fail "gobgpd and gobgp (Debian's gobgpd) are not installed: Tests/setup.sh installs them"; summary; }
command -v bird >/dev/null || { fail "bird (Debian's bird2) is not installed"; summary; }

topology_up
bird_peer_p1 gobgp 172.24.1.0/24 172.24.9.0/24

cat >"$SRT_TMP/gobgpd.toml" <<'EOF'
[global.config]
  as = 65002
  router-id = "10.77.0.2"
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.77.0.1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
EOF
chmod 0644 "$SRT_TMP/gobgpd.toml"
chmod 0755 "$SRT_TMP"
srouter_start gobgp --wg "$SRT_TMP/$RIF.conf" -- gobgpd -f "$SRT_TMP/gobgpd.toml" -p --pprof-disable \
    --api-hosts "unix://$SRT_TMP/srouter-gobgp.d/api.sock"
api=$SRT_TMP/srouter-gobgp.d/api.sock
cli() { gobgp --target "unix://$api" "$@"; }

wait_for "gobgpd's API socket" 30 test -S "$api"
if wait_for "BIRD in p1: the session with gobgpd Established" 60 bird_established gobgp p1_birdc; then
    pass "BIRD in p1: the session with gobgpd is Established"
fi
check "gobgpd: the neighbour 10.77.0.1 is Established" bash -c "gobgp --target 'unix://$api' neighbor 10.77.0.1 | grep -q 'BGP state = ESTABLISHED'"
learned() { cli global rib -a ipv4 | grep -qE '172\.24\.1\.0/24 +10\.77\.0\.1 +65001'; }
if wait_for "gobgpd learned BIRD's prefix" 20 learned; then
    pass "gobgpd learned BIRD's prefix 172.24.1.0/24 from 10.77.0.1"
fi
check "gobgp global rib add" cli global rib add -a ipv4 172.24.9.0/24
if wait_for "the added route in p1's kernel table" 20 \
    bash -c "ip -n '$NS_P1' route show 172.24.9.0/24 | grep -q 'via 10.77.0.2 dev $P1IF'"; then
    pass "a route added through gobgpd's API reached p1's kernel table through BIRD"
fi
check "srouter logged no denied call" bash -c "! grep -q 'denied a system call' '${SROUTER_LOG[gobgp]}'"
srouter_stop gobgp 10
check "srouter exited 0 after SIGTERM (gobgpd's own status)" test "${SROUTER_RC[gobgp]}" = 0
if wait_for "BIRD sees the session end when srouter stops" 20 bird_not_established gobgp p1_birdc; then
    pass "BIRD sees the session end when srouter stops"
fi
summary
