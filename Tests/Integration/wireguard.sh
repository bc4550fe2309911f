#!/usr/bin/env bash
# wireguard.sh — srouter's userspace WireGuard against wireguard-go (a real peer we did not
# write), srouter running as uid 65534 with no capabilities.
#
#   ns $NS_P1                                   ns $NS_R
#   wireguard-go $P1IF  10.77.0.1/24, fe80::1   srouter run --wg $RIF.conf -- sleep
#   198.18.1.1:51820 ───────── veth ─────────── 198.18.1.2:51900
#                                               answers ping on 10.77.0.2, fe80::2
#
# Handshake; ping and ping -6 (link-local with %if) across the tunnel; wg show on the
# wireguard-go side and srouter's UAPI report the handshake and transfer; restart of
# wireguard-go → the session recovers; p1's underlay address changes → srouter roams; a flood
# of initiations with valid mac1 → cookie replies while pings keep passing; garbage is counted.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
if tunnel_up wg; then
    pass "handshake with wireguard-go completes (with a preshared key)"
fi
check "srouter logged the handshake" grep -q "handshake complete" "${SROUTER_LOG[wg]}"
check "ping 10.77.0.2 across the tunnel" n1 ping -c 3 -i 0.2 -W 2 10.77.0.2
check "ping -6 fe80::2%$P1IF (link-local) across the tunnel" n1 ping -6 -c 3 -i 0.2 -W 2 "fe80::2%$P1IF"
check "ping with 1300-byte payloads" n1 ping -c 2 -s 1300 -W 2 10.77.0.2

transfer=$(n1 wg show "$P1IF" transfer)
rx=$(awk '{print $2}' <<<"$transfer")
tx=$(awk '{print $3}' <<<"$transfer")
check "wg show (wireguard-go) counts received bytes ($rx)" test "$rx" -gt 0
check "wg show (wireguard-go) counts sent bytes ($tx)" test "$tx" -gt 0

if wait_for "srouter's UAPI socket" 5 test -S "$UAPI_SOCK"; then
    uapi_get >"$SRT_TMP/uapi.txt"
    check "UAPI get: the peer's public key (hex)" grep -q "^public_key=$(echo "${WG_PUB[w1]}" | base64 -d | xxd -p -c 64)$" "$SRT_TMP/uapi.txt"
    check "UAPI get: the peer's endpoint" grep -q "^endpoint=$P1_V4:51820$" "$SRT_TMP/uapi.txt"
    check "UAPI get: a handshake time" grep -qE "^last_handshake_time_sec=[1-9]" "$SRT_TMP/uapi.txt"
    check "UAPI get: received bytes" grep -qE "^rx_bytes=[1-9]" "$SRT_TMP/uapi.txt"
    check "UAPI get: allowed IPs" grep -q "^allowed_ip=10.77.0.1/32$" "$SRT_TMP/uapi.txt"
    check "UAPI get: the preshared key" grep -q "^preshared_key=$(base64 -d <"$SRT_TMP/psk" | xxd -p -c 64)$" "$SRT_TMP/uapi.txt"
    check "UAPI get: ends with errno=0" grep -q "^errno=0$" "$SRT_TMP/uapi.txt"
fi

# MARK: wireguard-go restarts: the session recovers without restarting srouter
kill "${WG_PID[w1]}"
wait "${WG_PID[w1]}" 2>/dev/null || true
unset "WG_IF[w1]"
ip netns exec "$NS_P1" true
cp "$SRT_TMP/w1.key" "$SRT_TMP/w1.key.keep"
# Same interface name, same key, same port: a restarted peer.
(
    LOG_LEVEL=verbose exec ip netns exec "$NS_P1" wireguard-go -f "$P1IF"
) >"$SRT_TMP/wg-w1-restart.log" 2>&1 &
WG_PID[w1]=$!
WG_IF[w1]=$P1IF
bg_track "${WG_PID[w1]}"
wait_for "restarted wireguard-go" 5 test -S "/var/run/wireguard/$P1IF.sock"
n1 ip link set dev "$P1IF" addrgenmode none
n1 wg set "$P1IF" private-key "$SRT_TMP/w1.key.keep" listen-port 51820 \
    peer "$R_PUB" endpoint "$R1_V4:51900" allowed-ips "10.77.0.2/32,fe80::2/128" preshared-key "$SRT_TMP/psk"
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add fe80::1/64 dev "$P1IF"
n1 ip link set dev "$P1IF" up
if wait_for "ping after wireguard-go restarted" 20 n1 ping -c 1 -W 1 10.77.0.2; then
    pass "the session recovers after wireguard-go restarts, srouter untouched"
fi

# MARK: roaming: p1's underlay address changes; srouter follows the authenticated source
# (Deleting a primary address also deletes its secondaries: delete first, then add.)
n1 ip addr del "$P1_V4/24" dev to-r
n1 ip addr add 198.18.1.11/24 dev to-r
if wait_for "ping from p1's new underlay address" 20 n1 ping -c 1 -W 1 10.77.0.2; then
    pass "pings pass after p1 moved to 198.18.1.11"
fi
uapi_get >"$SRT_TMP/uapi-roamed.txt" || true
check "srouter roamed to p1's new endpoint" grep -q "^endpoint=198.18.1.11:51820$" "$SRT_TMP/uapi-roamed.txt"

# MARK: a flood of initiations with valid mac1 gets cookie replies; the session keeps working
cat >"$SRT_TMP/flood.py" <<'PY'
import base64, hashlib, os, socket, sys, time
target, port, pub = sys.argv[1], int(sys.argv[2]), base64.b64decode(sys.argv[3])
mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.001)
replies = 0
deadline = time.time() + 3
sent = 0
while time.time() < deadline and sent < 3000:
    body = bytes([1, 0, 0, 0]) + os.urandom(112)
    mac1 = hashlib.blake2s(body, digest_size=16, key=mac1_key).digest()
    s.sendto(body + mac1 + bytes(16), (target, port))
    sent += 1
    try:
        while True:
            data, _ = s.recvfrom(2048)
            if len(data) == 64 and data[0] == 3:
                replies += 1
    except (socket.timeout, BlockingIOError):
        pass
print(sent, replies)
PY
read -r sent replies < <(n1 python3 "$SRT_TMP/flood.py" "$R1_V4" 51900 "$R_PUB")
check "a flood of $sent initiations with valid mac1 gets cookie replies ($replies)" test "$replies" -gt 0
check "the established session keeps passing pings after the flood" n1 ping -c 3 -i 0.2 -W 2 10.77.0.2

# MARK: garbage is counted and dropped; srouter keeps running
n1 python3 -c "
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(500):
    s.sendto(os.urandom(n % 200), ('$R1_V4', 51900))"
check "srouter survives 500 garbage datagrams" kill -0 "${SROUTER_PID[wg]}"
# (The totals are logged at most every 10 s, when traffic passes: keep pinging.)
if wait_for "srouter logs the dropped datagrams" 20 sh -c "ip netns exec '$NS_P1' ping -c 1 -W 1 10.77.0.2 >/dev/null; grep -q 'datagrams dropped.*malformed=' '${SROUTER_LOG[wg]}'"; then
    pass "garbage is counted in srouter's log ($(grep -o 'malformed=[0-9]*' "${SROUTER_LOG[wg]}" | tail -n1))"
fi
check "... and still answers pings" n1 ping -c 2 -i 0.2 -W 2 10.77.0.2

srouter_stop wg

# MARK: as root, the UAPI socket is where the stock wg tool looks: wg show and wg set work
QIF=${SRT_PREFIX}q
"$SROUTER" genkey >"$SRT_TMP/q.key"
cat >"$SRT_TMP/$QIF.conf" <<EOF
[Interface]
PrivateKey = $(cat "$SRT_TMP/q.key")
ListenPort = 51901
Address = 10.99.0.2/24
[Peer]
PublicKey = ${WG_PUB[w1]}
AllowedIPs = 10.99.0.1/32
EOF
(exec ip netns exec "$NS_R" "$SROUTER" run --wg "$SRT_TMP/$QIF.conf" -- sleep 600) >"$SRT_TMP/srouter-root.log" 2>&1 &
root_pid=$!
bg_track "$root_pid"
if wait_for "srouter's UAPI socket in /var/run/wireguard" 10 test -S "/var/run/wireguard/$QIF.sock"; then
    check "wg show: srouter's public key" test "$(wg show "$QIF" public-key)" = "$("$SROUTER" pubkey <"$SRT_TMP/q.key")"
    check "wg show: its listening port" test "$(wg show "$QIF" listen-port)" = 51901
    check "wg show: the peer and its allowed IPs" test "$(wg show "$QIF" allowed-ips)" = "$(printf '%s\t10.99.0.1/32' "${WG_PUB[w1]}")"
    other=$(wg genkey | wg pubkey)
    wg set "$QIF" peer "$other" allowed-ips 10.98.0.0/24,fd98::/64 endpoint 198.18.2.1:51999 persistent-keepalive 25
    check "wg set adds a peer" sh -c "wg show '$QIF' peers | grep -qx '$other'"
    check "wg set: its allowed IPs" sh -c "wg show '$QIF' allowed-ips | grep -q '10.98.0.0/24 fd98::/64'"
    check "wg set: its endpoint" sh -c "wg show '$QIF' endpoints | grep -q '198.18.2.1:51999'"
    check "wg set: its keepalive" sh -c "wg show '$QIF' persistent-keepalive | grep -q '$other.25'"
    wg set "$QIF" peer "$other" remove
    check "wg set … remove takes it away" sh -c "! wg show '$QIF' peers | grep -qx '$other'"
    # A live session: wireguard-go in p1 learns this interface and pings it.
    n1 ip addr add 10.99.0.1/24 dev "$P1IF"
    n1 wg set "$P1IF" peer "$("$SROUTER" pubkey <"$SRT_TMP/q.key")" endpoint "$R1_V4:51901" allowed-ips 10.99.0.2/32
    check "ping the root srouter's interface" n1 ping -c 2 -i 0.2 -W 2 10.99.0.2
    check "wg show on srouter's side: latest handshake" sh -c "wg show '$QIF' latest-handshakes | awk '{exit !(\$2 > 0)}'"
    check "wg show on srouter's side: transfer" sh -c "wg show '$QIF' transfer | awk '{exit !(\$2 > 0 && \$3 > 0)}'"
    check "wg show on srouter's side: the roamed endpoint" sh -c "wg show '$QIF' endpoints | grep -q '198.18.1.11:51820'"
    # wg set listen-port: srouter moves to another UDP port; the peer follows it there.
    wg set "$QIF" listen-port 51911
    check "wg set listen-port: wg show reports the new port" test "$(wg show "$QIF" listen-port)" = 51911
    n1 wg set "$P1IF" peer "$("$SROUTER" pubkey <"$SRT_TMP/q.key")" endpoint "$R1_V4:51911"
    check "... and the session goes on from it" n1 ping -c 2 -i 0.2 -W 2 10.99.0.2
    # wg set private-key: a new static key; the peer knows it only once told, then a new
    # handshake with the new key carries the pings.
    "$SROUTER" genkey >"$SRT_TMP/q2.key"
    wg set "$QIF" private-key "$SRT_TMP/q2.key"
    check "wg set private-key: wg show reports the new public key" \
        test "$(wg show "$QIF" public-key)" = "$("$SROUTER" pubkey <"$SRT_TMP/q2.key")"
    n1 wg set "$P1IF" peer "$("$SROUTER" pubkey <"$SRT_TMP/q.key")" remove
    n1 wg set "$P1IF" peer "$("$SROUTER" pubkey <"$SRT_TMP/q2.key")" endpoint "$R1_V4:51911" allowed-ips 10.99.0.2/32
    check "... and a handshake with the new key carries pings" \
        wait_for "ping with the new key" 15 n1 ping -c 1 -W 1 10.99.0.2
fi
kill -TERM "$root_pid"
wait "$root_pid" 2>/dev/null || true
check "srouter removes its UAPI socket when it exits" test ! -e "/var/run/wireguard/$QIF.sock"

summary
