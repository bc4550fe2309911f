#!/usr/bin/env bash
# guest-sockets.sh — real programs under srouter use its stack through their own sockets
# (issue 5): the guest's AF_INET/AF_INET6 sockets are served by srouter and reach p1 only
# through the WireGuard tunnel.
#
#   ns $NS_P1                                  ns $NS_R (uid 65534)
#   wireguard-go w1 10.77.0.1 fd77::1   ───   srouter run --wg ${P}r -- GUEST
#   echo servers (port 7), http.server,       10.77.0.2/24 fd77::2/64
#   iperf3 -s, curl and iperf3 clients
#
# Checks: guest_socket_checks.py (non-blocking connect readiness, EALREADY/EISCONN, refused
# connects, TCP and UDP echo both families with IP_PKTINFO/IPV6_PKTINFO and TTL/hop-limit
# control messages, ICMP errors on connected UDP, re-binding a closed listener's port,
# names and socket types); curl downloads from p1 (v4, v6) byte-exact; python3's
# http.server in the guest serving p1's curl over both families (one dual-stack socket);
# ping and ping -6 from the guest; iperf3 TCP both directions and UDP, guest as client and
# as server; socat TCP (files byte-exact) and UDP, both ways.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"
here=$(dirname "$(readlink -f "$0")")
PYTHON=/usr/bin/python3

topology_up
wg_peer_up p1 w1 51820
P1IF=$(wg_if w1)
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add fd77::1/64 dev "$P1IF"
RIF=${SRT_PREFIX}r
"$SROUTER" genkey >"$SRT_TMP/r.key"
R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key")
cat >"$SRT_TMP/$RIF.conf" <<CONF
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51900
Address = 10.77.0.2/24, fd77::2/64

[Peer]
PublicKey = ${WG_PUB[w1]}
Endpoint = $P1_V4:51820
AllowedIPs = 10.77.0.1/32, fd77::1/128
CONF
chmod 0644 "$SRT_TMP/$RIF.conf"
chmod 0755 "$SRT_TMP"
wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.2/32,fd77::2/128"

# Content both sides serve, readable by uid 65534.
mkdir -p "$SRT_TMP/www"
head -c 3000000 /dev/urandom >"$SRT_TMP/www/blob"
chmod -R a+rX "$SRT_TMP/www"
want=$(sha256sum <"$SRT_TMP/www/blob" | cut -d' ' -f1)
# ping carries cap_net_raw as a file capability, which no_new_privs refuses to exec: the
# guest runs a copy without it, which uses ICMP datagram sockets, as unprivileged ping does.
install -m 0755 "$(command -v ping)" "$SRT_TMP/ping"

nsexec "$NS_P1" "$PYTHON" "$here/echo_servers.py" 10.77.0.1 fd77::1 &
bg_track $!
(cd "$SRT_TMP/www" && exec ip netns exec "$NS_P1" "$PYTHON" -m http.server --bind :: 8000) >/dev/null 2>&1 &
bg_track $!
wait_for "p1's servers" 10 n1 sh -c 'ss -ltn | grep -q ":8000 " && ss -ltn | grep -q "10.77.0.1:7 "'

# run_guest NAME TIMEOUT CMD…: srouter with CMD as its guest; output in $SRT_TMP/NAME.out.
run_guest() {
	local name=$1 limit=$2
	shift 2
	srouter_start "$name" --log-level info --wg "$SRT_TMP/$RIF.conf" -- "$@"
	srouter_wait "$name" "$limit" || true
	srouter_stop "$name"
	cp "${SROUTER_LOG[$name]}" "$SRT_TMP/$name.out"
}

# 1. Socket behaviours, checked by the guest itself.
run_guest checks 90 "$PYTHON" "$here/guest_socket_checks.py" 10.77.0.1 fd77::1 10.77.0.2
while read -r verdict rest; do
	case $verdict in
	ok) pass "guest: $rest" ;;
	FAIL) fail "guest: $rest" ;;
	esac
done < <(grep -E '^(ok|FAIL) ' "$SRT_TMP/checks.out")
check "guest checks ran to the end" grep -q '^checks: 0 failed' "$SRT_TMP/checks.out"

# 2. curl in the guest downloads from p1 (v4 and v6), byte-exact.
cat >"$SRT_TMP/fetch.sh" <<SH
for url in http://10.77.0.1:8000/blob 'http://[fd77::1]:8000/blob'; do
	echo "fetched \$url \$(curl -sS -g -m 20 "\$url" | sha256sum | cut -d' ' -f1)"
done
SH
chmod 0755 "$SRT_TMP/fetch.sh"
run_guest fetch 60 sh "$SRT_TMP/fetch.sh"
check "curl in the guest: IPv4 download byte-exact" grep -q "fetched http://10.77.0.1:8000/blob $want" "$SRT_TMP/fetch.out"
check "curl in the guest: IPv6 download byte-exact" grep -q "fetched http://\[fd77::1\]:8000/blob $want" "$SRT_TMP/fetch.out"

# 3. A server in the guest: python3's http.server on one dual-stack socket, curl from p1.
srouter_start server --log-level info --wg "$SRT_TMP/$RIF.conf" -- \
	sh -c "cd '$SRT_TMP/www' && exec $PYTHON -m http.server --bind :: 8080"
wait_for "the guest's http.server" 20 n1 curl -sS -m 2 -o /dev/null http://10.77.0.2:8080/
got4=$(n1 curl -sS -m 20 http://10.77.0.2:8080/blob | sha256sum | cut -d' ' -f1)
got6=$(n1 curl -sS -g -m 20 'http://[fd77::2]:8080/blob' | sha256sum | cut -d' ' -f1)
check "http.server in the guest: IPv4 (v4-mapped on a dual-stack socket)" test "$got4" = "$want"
check "http.server in the guest: IPv6" test "$got6" = "$want"
srouter_stop server

# 4. ping and ping -6 from the guest.
run_guest ping4 30 "$SRT_TMP/ping" -c 3 -i 0.2 -W 2 10.77.0.1
check "ping from the guest: 3 replies" grep -q '3 packets transmitted, 3 received' "$SRT_TMP/ping4.out"
run_guest ping6 30 "$SRT_TMP/ping" -6 -c 3 -i 0.2 -W 2 fd77::1
check "ping -6 from the guest: 3 replies" grep -q '3 packets transmitted, 3 received' "$SRT_TMP/ping6.out"

# 5. iperf3: the guest as client (both directions, and UDP), then as server.
iperf_client() {
	local name=$1
	shift
	nsexec "$NS_P1" iperf3 -s -1 -B 10.77.0.1 >/dev/null 2>&1 &
	bg_track $!
	wait_for "iperf3 server in p1" 10 n1 sh -c 'ss -ltn | grep -q "10.77.0.1:5201 "'
	run_guest "$name" 60 iperf3 -c 10.77.0.1 -t 3 "$@"
	grep -E ' (sender|receiver)$' "$SRT_TMP/$name.out" | sed 's/^/    /' || true
}
iperf_client iperf-up
check "iperf3 TCP guest → p1" grep -qE 'MBytes .* receiver$' "$SRT_TMP/iperf-up.out"
iperf_client iperf-down -R
check "iperf3 TCP p1 → guest (-R)" grep -qE 'MBytes .* receiver$' "$SRT_TMP/iperf-down.out"
iperf_client iperf-udp -u -b 20M
check "iperf3 UDP guest → p1" grep -qE ' receiver$' "$SRT_TMP/iperf-udp.out"
srouter_start iperf-server --log-level info --wg "$SRT_TMP/$RIF.conf" -- iperf3 -s -1 -B 10.77.0.2
wait_for "iperf3 server in the guest" 20 n1 sh -c 'ss -tn | grep -q . ; true'
sleep 1
check "iperf3 TCP p1 → guest's server" n1 iperf3 -c 10.77.0.2 -t 3
srouter_stop iperf-server

# 6. socat, TCP and UDP, both ways: files carried byte-exact, datagrams delivered.
mkdir -m 0777 "$SRT_TMP/socat"
nsexec "$NS_P1" timeout 30 socat -u TCP-LISTEN:7200,bind=10.77.0.1,reuseaddr "OPEN:$SRT_TMP/socat/from-guest,creat,trunc" &
bg_track $!
wait_for "socat TCP listener in p1" 10 n1 sh -c 'ss -ltn | grep -q "10.77.0.1:7200 "'
run_guest socat-up 30 socat -u "FILE:$SRT_TMP/www/blob" TCP:10.77.0.1:7200
wait_for "socat in p1 has the whole file" 10 sh -c "[ \"\$(sha256sum <'$SRT_TMP/socat/from-guest' | cut -d' ' -f1)\" = '$want' ]" || true
check "socat TCP guest → p1: 3 MB byte-exact" \
    sh -c "[ \"\$(sha256sum <'$SRT_TMP/socat/from-guest' | cut -d' ' -f1)\" = '$want' ]"
srouter_start socat-server --log-level info --wg "$SRT_TMP/$RIF.conf" -- \
    socat -u TCP6-LISTEN:7201,reuseaddr,ipv6only=0 "OPEN:$SRT_TMP/socat/from-p1,creat,trunc"
# The listener takes one connection: p1's client retries until the guest's socat listens.
check "socat TCP p1 → guest's listener" \
    n1 timeout 20 socat -u "FILE:$SRT_TMP/www/blob" "TCP:[fd77::2]:7201,retry=40,interval=0.25"
srouter_wait socat-server 10 || true
check "socat TCP p1 → guest: 3 MB byte-exact (over IPv6)" \
    sh -c "[ \"\$(sha256sum <'$SRT_TMP/socat/from-p1' | cut -d' ' -f1)\" = '$want' ]"
srouter_stop socat-server
nsexec "$NS_P1" timeout 20 socat -u UDP-RECV:7202,bind=10.77.0.1 "OPEN:$SRT_TMP/socat/udp-from-guest,creat,append" &
bg_track $!
wait_for "socat UDP receiver in p1" 10 n1 sh -c 'ss -lun | grep -q "10.77.0.1:7202 "'
run_guest socat-udp-up 20 sh -c 'echo datagram-from-guest | socat -u - UDP-SENDTO:10.77.0.1:7202'
if wait_for "the guest's datagram in p1" 10 grep -q datagram-from-guest "$SRT_TMP/socat/udp-from-guest"; then
    pass "socat UDP guest → p1"
fi
srouter_start socat-udp-server --log-level info --wg "$SRT_TMP/$RIF.conf" -- \
    timeout 15 socat -u UDP6-RECV:7203 "OPEN:$SRT_TMP/socat/udp-from-p1,creat,append"
sleep 2
for _ in 1 2 3; do n1 sh -c 'echo datagram-from-p1 | socat -u - UDP-SENDTO:10.77.0.2:7203'; sleep 0.3; done
if wait_for "p1's datagram in the guest" 10 grep -q datagram-from-p1 "$SRT_TMP/socat/udp-from-p1"; then
    pass "socat UDP p1 → guest (v4-mapped on a dual-stack socket)"
fi
srouter_stop socat-udp-server

summary
