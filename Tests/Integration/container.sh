#!/usr/bin/env bash
# container.sh — srouter's image (issue 8): Images/build.sh builds it offline, and podman runs
# it as a user would deploy it — every capability dropped, no new privileges, uid 65534, no
# /dev/net/tun, configuration mounted read-only — in the router namespace of the BIRD
# scenario. srouter is the container's PID 1 and BIRD 2 its guest; BIRD peers with BIRD 2 in
# p1 and p2 behind wireguard-go, and srouter forwards between them.
#
#   ns $NS_P1 (AS 4242420002)      ns $NS_R: podman --network ns:/run/netns/$NS_R           ns $NS_P2 (AS 4242420003)
#                                  container: srouter (PID 1, uid 65534, CapEff 0)
#                                             └─ bird -f -c /etc/bird/bird.conf (AS 4242420001)
#   wireguard-go w1 ──── WG ──── wg-p1 fe80::2 10.77.0.2/24     wg-p2 10.78.0.2/24 ──── WG ──── wireguard-go w2
#   fe80::1 10.77.0.1/24           :51900 on $R1_V4             :51901 on $R2_V4           10.78.0.1/24
#   lo 172.22.1.1 fd22:1::1        dummy node 172.22.9.1/32 fd22:9::1/128                  lo 172.22.2.1
#   static 172.22.1.0/24, fd22:1::/48   static 172.22.9.0/24, fd22:9::/48                  static 172.22.2.0/24
#
#   host: $SRT_TMP/etc/srouter → /etc/srouter:ro (srouter.conf, wg/wg-p1.conf, wg/wg-p2.conf)
#         $SRT_TMP/etc/bird    → /etc/bird:ro    (bird.conf)
#
# BGP: p1 ↔ r over fe80::1 ↔ fe80::2 (direct, extended next hop); p2 ↔ r over 10.78.0.1 ↔ 10.78.0.2.
#
# Checks: the image builds and says what it runs; with nothing mounted it exits 2 naming the
# missing file; in the container PID 1 is srouter, no process has a capability, no_new_privs
# is set, there is no /dev/net/tun and /etc/srouter is read-only; both sessions Established; the stock `wg show` inside sees the handshakes; routes
# learned both ways; pings from p1 to the container's dummy addresses and across it to p2;
# PID 1 reaps an orphan and forwards SIGHUP to BIRD (which reconfigures, sessions kept);
# `podman stop` ends it within its timeout with BIRD's clean shutdown (exit 0, peers see a Cease).
#
# Environment: SRT_IMAGE_BUILD_TIMEOUT (seconds Images/build.sh may take, default 420),
# CONTAINERS_CONF (default Images/containers.conf), and lib.sh's.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

export CONTAINERS_CONF=${CONTAINERS_CONF:-$SRT_ROOT/Images/containers.conf}
IMAGE=localhost/srouter:test-$SRT_PREFIX
CNAME=$SRT_PREFIX-router
STOP_TIMEOUT=10

for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed (Tests/setup.sh installs it)"; summary; }
done

# MARK: - The image

# The image is this run's own (removed at cleanup); the base image stays cached in podman's
# storage and /var/tmp for the next run.
on_cleanup timeout 60 podman rmi --force "$IMAGE"
build_started=$SECONDS
# In the background, so that a signal (run.sh's time limit) reaches this script at once and
# its cleanup stops the build too; bounded (a cold build takes a minute or two here: a release
# build of srouter beside debootstrap).
timeout -k 10 "${SRT_IMAGE_BUILD_TIMEOUT:-420}" "$SRT_ROOT/Images/build.sh" --tag "$IMAGE" >"$SRT_TMP/build.log" 2>&1 &
bg_track $!
build_rc=0
wait $! || build_rc=$?
sed 's/^/    /' "$SRT_TMP/build.log"
if ((build_rc == 0)); then
    pass "Images/build.sh built $IMAGE in $((SECONDS - build_started)) s ($(grep -o 'done: .*' "$SRT_TMP/build.log"))"
else
    fail "Images/build.sh failed (exit $build_rc$( ((build_rc == 124)) && echo ": timed out"))"
    summary
fi
image_config() { podman image inspect --format "{{json .Config.$1}}" "$IMAGE"; }
check "ENTRYPOINT is srouter run --config /etc/srouter/srouter.conf" \
    test "$(image_config Entrypoint)" = '["/usr/local/bin/srouter","run","--config","/etc/srouter/srouter.conf","--"]'
check "CMD is bird -f -c /etc/bird/bird.conf" test "$(image_config Cmd)" = '["bird","-f","-c","/etc/bird/bird.conf"]'
check "the image runs as 65534:65534" test "$(image_config User)" = '"65534:65534"'

# Nothing mounted: srouter refuses to start a router without its configuration.
timeout 30 podman run --rm --network none --cap-drop=ALL --security-opt no-new-privileges --user 65534:65534 \
    "$IMAGE" >"$SRT_TMP/unconfigured.out" 2>&1 && unconfigured_rc=0 || unconfigured_rc=$?
check "with nothing mounted the container exits 2 at once (got $unconfigured_rc)" test "$unconfigured_rc" = 2
check "... naming the missing file: $(head -n 1 "$SRT_TMP/unconfigured.out")" \
    grep -q '/etc/srouter/srouter.conf' "$SRT_TMP/unconfigured.out"

# MARK: - The peers: wireguard-go and BIRD 2 in p1 and p2, as in bird.sh

topology_up
wg_peer_up p1 w1 51820
wg_peer_up p2 w2 51820
P1IF=$(wg_if w1)
P2IF=$(wg_if w2)
wg genkey >"$SRT_TMP/r.key"
R_PUB=$(wg pubkey <"$SRT_TMP/r.key")
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add fe80::1/64 dev "$P1IF" nodad
wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.2/32,fe80::2/128,172.22.9.0/24,fd22:9::/48,172.22.2.0/24"
n2 ip addr add 10.78.0.1/24 dev "$P2IF"
wg_peer_add p2 w2 "$R_PUB" "$R2_V4:51901" "10.78.0.2/32,172.22.9.0/24,172.22.1.0/24"
n1 ip addr add 172.22.1.1/32 dev lo
n1 ip addr add fd22:1::1/128 dev lo
n2 ip addr add 172.22.2.1/32 dev lo

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
    hold time 9;
    connect retry time 2;
    ipv4 { extended next hop on; import all; export where source = RTS_STATIC; };
    ipv6 { import all; export where source = RTS_STATIC; };
}
EOF
cat >"$SRT_TMP/p2.conf" <<EOF
log "$SRT_TMP/bird-p2.log" all;
router id 10.78.0.1;
protocol device { scan time 2; }
protocol static { ipv4; route 172.22.2.0/24 via "lo"; }
protocol kernel { ipv4 { export filter { if source != RTS_BGP then reject; krt_prefsrc = 172.22.2.1; accept; }; }; }
protocol bgp r {
    local 10.78.0.1 as 4242420003;
    neighbor 10.78.0.2 as 4242420001;
    hold time 9;
    connect retry time 2;
    ipv4 { import all; export where source = RTS_STATIC; };
}
EOF
bg_start p1 bird-p1 bird -f -c "$SRT_TMP/p1.conf" -s "$SRT_TMP/bird-p1.ctl" -P "$SRT_TMP/bird-p1.pid"
bg_start p2 bird-p2 bird -f -c "$SRT_TMP/p2.conf" -s "$SRT_TMP/bird-p2.ctl" -P "$SRT_TMP/bird-p2.pid"

# MARK: - The container's configuration, as an operator mounts it

etc=$SRT_TMP/etc
mkdir -p "$etc/srouter/wg" "$etc/bird"
cat >"$etc/srouter/srouter.conf" <<EOF
[Router]
WireGuard = wg/*.conf
LogLevel = info

[Dummy]
Name = node
Address = 172.22.9.1/32, fd22:9::1/128
EOF
cat >"$etc/srouter/wg/wg-p1.conf" <<EOF
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51900
Address = 10.77.0.2/24, fe80::2/64

[Peer]
PublicKey = ${WG_PUB[w1]}
Endpoint = $P1_V4:51820
AllowedIPs = 10.77.0.1/32, fe80::1/128, 172.22.1.0/24, fd22:1::/48
EOF
cat >"$etc/srouter/wg/wg-p2.conf" <<EOF
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51901
Address = 10.78.0.2/24

[Peer]
PublicKey = ${WG_PUB[w2]}
Endpoint = $P2_V4:51820
AllowedIPs = 10.78.0.1/32, 172.22.2.0/24
EOF
cat >"$etc/bird/bird.conf" <<EOF
log stderr all;
router id 10.77.0.2;
protocol device { scan time 2; }
protocol direct { ipv4; ipv6; interface "wg-p1", "wg-p2"; }
protocol static { ipv4; route 172.22.9.0/24 blackhole; }
protocol static { ipv6; route fd22:9::/48 blackhole; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; scan time 2; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; scan time 2; }
template bgp peer {
    local as 4242420001;
    hold time 9;
    connect retry time 2;
    error wait time 2, 10;
}
protocol bgp p1 from peer {
    local fe80::2;
    neighbor fe80::1 % 'wg-p1' as 4242420002;
    direct;
    ipv4 { extended next hop on; import all; export where source ~ [RTS_STATIC, RTS_BGP]; };
    ipv6 { import all; export where source ~ [RTS_STATIC, RTS_BGP]; };
}
protocol bgp p2 from peer {
    local 10.78.0.2;
    neighbor 10.78.0.1 as 4242420003;
    ipv4 { import all; export where source ~ [RTS_STATIC, RTS_BGP]; };
}
EOF
# The runtime user owns its configuration; the private keys are its alone.
chown -R 65534:65534 "$etc"
chmod 0700 "$etc/srouter/wg"
chmod 0600 "$etc/srouter/wg/"*.conf

# MARK: - Run it

on_cleanup timeout 60 podman rm --force --time 2 "$CNAME"
timeout 60 podman run --detach --name "$CNAME" \
    --cap-drop=ALL --security-opt no-new-privileges --user 65534:65534 \
    --network "ns:/run/netns/$NS_R" \
    --volume "$etc/srouter:/etc/srouter:ro" --volume "$etc/bird:/etc/bird:ro" \
    --stop-timeout "$STOP_TIMEOUT" \
    "$IMAGE" >"$SRT_TMP/container.id"
podman logs --follow "$CNAME" >"$SRT_TMP/container.log" 2>&1 &
bg_track $!

# cx CMD…: run CMD inside the container (as its user, with its capabilities: none), bounded.
cx() { timeout -k 2 20 podman exec "$CNAME" "$@"; }
r_birdc() { cx birdc "$@"; }
p1_birdc() { n1 birdc -s "$SRT_TMP/bird-p1.ctl" "$@"; }
p2_birdc() { n2 birdc -s "$SRT_TMP/bird-p2.ctl" "$@"; }

if ! wait_for "the container runs and BIRD's control socket answers" 20 r_birdc show status; then
    podman ps --all --filter "name=$CNAME" >&2 || true
    summary
fi
pass "the container runs $(podman inspect --format '{{.Config.Cmd}}' "$CNAME") under srouter"

# MARK: - What the container may do: nothing privileged

check "PID 1 in the container is srouter" test "$(cx cat /proc/1/comm)" = srouter
check "PID 1 runs as uid 65534" sh -c "timeout 20 podman exec '$CNAME' grep -E '^Uid:' /proc/1/status | grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534$'"
# Every process in the container, srouter, BIRD and this check's own: all five sets empty and
# no_new_privs set. (uid 65534 alone would give an empty CapEff; --cap-drop=ALL is what
# empties the bounding set, so that not even a setuid file could bring one back.)
cx sh -c 'for s in /proc/[0-9]*/status; do printf "%s " "$s"; grep -E "^(Name|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):" "$s" | tr -s "\t\n" "  "; echo; done' \
    >"$SRT_TMP/caps.txt"
sed 's/^/    /' "$SRT_TMP/caps.txt"
check "the container runs bird" grep -q 'Name: bird ' "$SRT_TMP/caps.txt"
check "no process in the container has a capability (CapInh/Prm/Eff/Bnd/Amb all 0) and each has no_new_privs" \
    sh -c "! grep -vE '^\S+ Name: \S+ CapInh: 0+ CapPrm: 0+ CapEff: 0+ CapBnd: 0+ CapAmb: 0+ NoNewPrivs: 1 \$' '$SRT_TMP/caps.txt'"
check "no /dev/net/tun in the container" cx sh -c '! test -e /dev/net/tun'
check "/etc/srouter is mounted read-only" cx sh -c '! touch /etc/srouter/probe 2>/dev/null'

# MARK: - The sessions, from inside the container and from the peers

if wait_for "p1 Established in the container's BIRD" 40 bird_established p1 r_birdc; then
    pass "container's BIRD: p1 Established (IPv6 link-local fe80::1, direct, extended next hop)"
fi
check "p1's BIRD: r Established" bird_established r p1_birdc
if wait_for "p2 Established in the container's BIRD" 20 bird_established p2 r_birdc; then
    pass "container's BIRD: p2 Established (IPv4 10.78.0.1)"
fi
check "p2's BIRD: r Established" bird_established r p2_birdc
handshake() { [[ $(cx wg show "$1" latest-handshakes | awk '{ print $2 }') =~ ^[1-9][0-9]*$ ]]; }
check "the stock wg show inside the container: wg-p1 has a handshake with p1" handshake wg-p1
check "... and wg-p2 with p2" handshake wg-p2
check "wg show wg-p1 names p1's key as its peer" sh -c "timeout 20 podman exec '$CNAME' wg show wg-p1 peers | grep -qxF '${WG_PUB[w1]}'"

# The operator's tools inside the container, through srouter's control socket.
check "podman exec … srouter show peers: p1's key" \
    sh -c "timeout 20 podman exec '$CNAME' srouter show peers | grep -qF '${WG_PUB[w1]}'"
check "podman exec … srouter exec -- ip -br addr: the container router's interfaces" \
    sh -c "timeout 20 podman exec '$CNAME' srouter exec -- ip -br addr | grep -q '^wg-p1 '"

# MARK: - Routes both ways, and traffic to and across the container

if wait_for "the container's BIRD learned p1's 172.22.1.0/24 via fe80::1" 15 \
    sh -c "timeout 20 podman exec '$CNAME' birdc show route 172.22.1.0/24 all | grep -q 'via fe80::1 on wg-p1'"; then
    pass "the container's BIRD learned p1's 172.22.1.0/24 over IPv6 (via fe80::1 on wg-p1)"
fi
if wait_for "the container's BIRD learned p2's 172.22.2.0/24" 15 \
    sh -c "timeout 20 podman exec '$CNAME' birdc show route 172.22.2.0/24 | grep -q 'via 10.78.0.1 on wg-p2'"; then
    pass "the container's BIRD learned p2's 172.22.2.0/24 via 10.78.0.1"
fi
if wait_for "p1's kernel: 172.22.9.0/24 from the container" 15 kernel_bird_route "$NS_P1" 172.22.9.0/24 "inet6 fe80::2"; then
    pass "p1's kernel has the container's 172.22.9.0/24 via inet6 fe80::2 (BGP)"
fi
if wait_for "p1's kernel: fd22:9::/48 from the container" 15 kernel_bird_route "$NS_P1" fd22:9::/48 fe80::2; then
    pass "p1's kernel has the container's fd22:9::/48 via fe80::2 (BGP)"
fi
if wait_for "p1's kernel: p2's 172.22.2.0/24 through the container" 15 kernel_bird_route "$NS_P1" 172.22.2.0/24 "inet6 fe80::2"; then
    pass "p1 learned p2's 172.22.2.0/24 through the container's BIRD"
fi
if wait_for "p2's kernel: p1's 172.22.1.0/24 through the container" 15 kernel_bird_route "$NS_P2" 172.22.1.0/24 10.78.0.2; then
    pass "p2 learned p1's 172.22.1.0/24 through the container's BIRD"
fi
check "p1 pings 172.22.9.1 on the container's dummy interface" n1 ping -q -c 2 -i 0.3 -W 2 -I 172.22.1.1 172.22.9.1
check "p1 pings fd22:9::1 on it" n1 ping -6 -q -c 2 -i 0.3 -W 2 fd22:9::1
check "p1 pings fe80::2 on wg-p1 (the session's address)" n1 ping -6 -q -c 2 -i 0.3 -W 2 "fe80::2%$P1IF"
check "p1 → p2's 172.22.2.1 across the container (srouter's FIB, written by BIRD)" \
    n1 ping -q -c 3 -i 0.3 -W 2 172.22.2.1
n2 python3 "$SRT_LIB_DIR/tcp_peer.py" serve 6001 172.22.2.1 >"$SRT_TMP/serve.log" 2>&1 &
bg_track $!
wait_for "TCP listener in p2" 5 grep -q listening "$SRT_TMP/serve.log"
check "TCP p1 → p2 across the container: 1 MiB intact (count and CRC-32)" \
    n1 timeout 60 python3 "$SRT_LIB_DIR/tcp_peer.py" send 172.22.2.1 6001 1048576

# MARK: - srouter as PID 1: it reaps orphans and forwards signals

# A process started by `podman exec` is no descendant of srouter: when its parent exits, the
# kernel hands it to the namespace's init, srouter, which must reap it.
orphan=$(cx sh -c 'sleep 2 </dev/null >/dev/null 2>&1 & echo $!')
orphan_ppid() { cx sh -c "cut -d' ' -f4 /proc/$orphan/stat"; }
check "an orphan in the container (pid $orphan) is reparented to PID 1" test "$(orphan_ppid)" = 1
if wait_for "srouter reaps the orphan $orphan" 10 cx sh -c "! test -e /proc/$orphan"; then
    pass "srouter (PID 1) reaped the orphan: no zombie left"
fi
podman kill --signal HUP "$CNAME" >/dev/null
if wait_for "BIRD reconfigures on the SIGHUP sent to the container" 10 grep -q "Reconfigured" "$SRT_TMP/container.log"; then
    pass "SIGHUP to the container: srouter forwarded it to BIRD, which reconfigured"
fi
check "srouter logged the forwarded SIGHUP" grep -q "forwarding Hangup to the guest" "$SRT_TMP/container.log"
check "p1 still Established after the reconfiguration" bird_established p1 r_birdc

# MARK: - podman stop: SIGTERM to srouter, BIRD shuts down, the container exits 0

stop_started=$(_srt_now_ms)
check "podman stop (timeout ${STOP_TIMEOUT}s) returns" timeout $((STOP_TIMEOUT + 20)) podman stop --time "$STOP_TIMEOUT" "$CNAME"
stop_ms=$(($(_srt_now_ms) - stop_started))
check "... in ${stop_ms} ms, well within its timeout (SIGKILL would come at ${STOP_TIMEOUT} s)" test "$stop_ms" -lt 5000
check "the container exited 0 (BIRD's status after a clean shutdown; got $(podman inspect --format '{{.State.ExitCode}}' "$CNAME"))" \
    test "$(podman inspect --format '{{.State.ExitCode}}' "$CNAME")" = 0
wait_for "the container's log is complete" 5 grep -q "Shutdown completed" "$SRT_TMP/container.log" || true
check "srouter forwarded SIGTERM to BIRD" grep -q "forwarding Terminated to the guest" "$SRT_TMP/container.log"
check "BIRD shut down cleanly (\"Shutdown completed\")" grep -q "Shutdown completed" "$SRT_TMP/container.log"
check "p1's BIRD received the Cease (administrative shutdown)" grep -q "r: Received: Administrative shutdown" "$SRT_TMP/bird-p1.log"
check "p2's BIRD received it too" grep -q "r: Received: Administrative shutdown" "$SRT_TMP/bird-p2.log"
summary
