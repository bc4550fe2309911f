#!/usr/bin/env bash
# exec.sh — `srouter exec -- CMD` runs CMD inside a running router (issue 10): its network
# (a ping across the tunnel, `ip route`, a route it adds is the router's), its exit status and
# signals, its stdin and working directory; a command not found; the exec'd command is a guest
# too (refused on the control socket); a client that dies takes its command with it.
#
#   ns $NS_P1                                   ns $NS_R (uid 65534)
#   wireguard-go $P1IF  10.77.0.1/24, fe80::1   srouter run --name ex --wg $RIF.conf -- sleep
#   198.18.1.1:51820 ───────── veth ─────────── srouter exec --router ex -- ping 10.77.0.1, …
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
if tunnel_up ex --name ex; then
    pass "the router (srouter run --name ex) is up with its tunnel"
fi
DIR=${SROUTER_DIR[ex]}
wait_for "the control socket" 10 test -S "$DIR/srouter/ex.sock"
# ping carries cap_net_raw as a file capability, which an empty bounding set refuses to exec:
# the command runs a copy without it (ICMP datagram sockets, as unprivileged ping does).
install -m 0755 "$(command -v ping)" "$SRT_TMP/ping"
chmod 0755 "$SRT_TMP"

# ex ARGS…: srouter exec --router ex -- ARGS… in ns r as uid 65534, finding the router by
# XDG_RUNTIME_DIR as its owner would.
ex() { nr as_nobody env HOME="$DIR" XDG_RUNTIME_DIR="$DIR" timeout 30 "$SROUTER" exec --router ex -- "$@"; }

check "exec -- ping 10.77.0.1: across the router's tunnel" ex "$SRT_TMP/ping" -c 2 -i 0.2 -W 2 10.77.0.1
check "exec -- ping -6 fe80::1%$RIF: link-local on the router's interface" ex "$SRT_TMP/ping" -6 -c 2 -i 0.2 -W 2 "fe80::1%$RIF"
ex ip -br addr >"$SRT_TMP/addr.out" 2>&1 || true
check "exec -- ip -br addr: the router's interfaces" grep -qE "^$RIF .*10\.77\.0\.2/24" "$SRT_TMP/addr.out"
check "exec -- ip route add: the route is the router's" ex ip route add 192.0.2.0/24 via 10.77.0.1 dev "$RIF"
nr as_nobody env XDG_RUNTIME_DIR="$DIR" "$SROUTER" show routes --router ex >"$SRT_TMP/routes.out" 2>&1 || true
check "... srouter show routes lists it" grep -q "^192.0.2.0/24 via 10.77.0.1 dev $RIF" "$SRT_TMP/routes.out"
ex ip route >"$SRT_TMP/ip-route.out" 2>&1 || true
check "... and a second exec -- ip route sees it" grep -q "^192.0.2.0/24 via 10.77.0.1 dev $RIF" "$SRT_TMP/ip-route.out"

rc=0; ex sh -c 'exit 7' || rc=$?
check "exec: the command's exit status (7)" test "$rc" = 7
rc=0; ex sh -c 'kill -TERM $$' || rc=$?
check "exec: death by SIGTERM is 143" test "$rc" = 143
rc=0; ex no-such-command-here >"$SRT_TMP/missing.out" 2>&1 || rc=$?
check "exec: a command not found is 127" test "$rc" = 127
check "... saying so" grep -q "no-such-command-here: command not found" "$SRT_TMP/missing.out"
check "exec: stdin, stdout pass through" test "$(echo through | ex cat)" = through
check "exec: the working directory is the client's" test "$(cd "$SRT_TMP" && ex pwd)" = "$SRT_TMP"
ex sh -c 'cat /proc/self/status' >"$SRT_TMP/status.out" 2>&1 || true
check "exec: the command holds no capability" grep -qE "^CapEff:\s+0+$" "$SRT_TMP/status.out"
check "exec: the command has no_new_privs" grep -qE "^NoNewPrivs:\s+1$" "$SRT_TMP/status.out"
check "exec: the command runs under the seccomp filter" grep -qE "^Seccomp:\s+2$" "$SRT_TMP/status.out"
rc=0; ex "$SROUTER" show interfaces --router ex >"$SRT_TMP/inner-show.out" 2>&1 || rc=$?
check "exec: the command is a guest: the control socket refuses it" test "$rc" != 0
check "... and srouter logs the refusal" grep -q "refused a guest process" "${SROUTER_LOG[ex]}"

# Signals go to the command; a client that dies takes its command along.
# (Started without a function or subshell in between, so that $! is the client itself.)
ip netns exec "$NS_R" "${SRT_AS_NOBODY[@]}" env HOME="$DIR" XDG_RUNTIME_DIR="$DIR" "$SROUTER" exec --router ex -- sleep 4242 &
client=$!
bg_track "$client"
wait_for "the exec'd sleep 4242" 10 pgrep -f "^sleep 4242"
kill -INT "$client"
rc=0; timeout 10 tail --pid="$client" -f /dev/null || true
wait "$client" || rc=$?
check "exec: SIGINT to the client reaches the command (exit 130)" test "$rc" = 130
ip netns exec "$NS_R" "${SRT_AS_NOBODY[@]}" env HOME="$DIR" XDG_RUNTIME_DIR="$DIR" "$SROUTER" exec --router ex -- sleep 4343 &
client=$!
bg_track "$client"
wait_for "the exec'd sleep 4343" 10 pgrep -f "^sleep 4343"
kill -KILL "$client"
wait "$client" 2>/dev/null || true
check "exec: a client killed with SIGKILL takes its command with it" \
    wait_for "sleep 4343 gone" 10 bash -c '! pgrep -f "^sleep 4343"'
check "the router still runs" kill -0 "${SROUTER_PID[ex]}"
summary
