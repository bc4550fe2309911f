#!/usr/bin/env bash
# stack.sh — srouter's network stack against the Linux kernel, through wireguard-go.
#
#   ns $NS_P1                                   ns $NS_R
#   wireguard-go $P1IF  10.77.0.1/24, fe80::1   stack-peer --wg $RIF.conf (uid 65534)
#   Linux TCP (tcp_peer.py)  ───── veth ──────  srouter's TCP: sink :5001, source :5002
#
# stack-peer is srouter's stack on its WireGuard interface with small built-in services, for
# use until guest sockets exist. Transfers are checked by length and CRC-32 both ways, clean
# and with loss 2% + reorder + duplicate on p1's underlay (a UDP relay: no sch_netem in
# this kernel); refused connections;
# srouter's active open to a Linux listener; ICMP echo, and the ICMP errors Linux reports.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

BYTES=${SRT_STACK_BYTES:-104857600} # 100 MiB each way
LOSSY_BYTES=${SRT_STACK_LOSSY_BYTES:-104857600} # 100 MiB each way under loss too
PEER=$SRT_LIB_DIR/tcp_peer.py
SRT_ROUTER_CMD=("$PROBES/stack-peer" --tcp-sink 5001 --tcp-source 5002 --udp-echo 7 --md5 10.77.0.1=bgp-secret)

topology_up
if tunnel_up stack; then
    pass "stack-peer's tunnel to wireguard-go is up"
fi
check "ping 10.77.0.2 (ICMP echo from the stack)" n1 ping -c 3 -i 0.2 -W 2 10.77.0.2
check "ping -6 fe80::2%$P1IF" n1 ping -6 -c 3 -i 0.2 -W 2 "fe80::2%$P1IF"

check "Linux → srouter: $BYTES bytes over IPv4, length and CRC-32 match (both ends signing, TCP MD5)" \
    n1 timeout 300 python3 "$PEER" send 10.77.0.2 5001 "$BYTES" bgp-secret
check "TCP MD5: Linux with the wrong key gets no answer" n1 python3 "$PEER" expect-error 10.77.0.2 5001 timeout wrong-secret
check "TCP MD5: Linux without a key gets no answer" n1 python3 "$PEER" expect-error 10.77.0.2 5001 timeout
check "srouter → Linux: $BYTES bytes over IPv4, length and CRC-32 match (TCP MD5)" \
    n1 timeout 300 python3 "$PEER" fetch 10.77.0.2 5002 "$BYTES" bgp-secret
check "Linux → srouter over IPv6 link-local: 10 MiB" \
    n1 timeout 120 python3 "$PEER" send "fe80::2%$P1IF" 5001 10485760
check "Linux resets a connection mid-transfer: srouter's side ends with ECONNRESET" n1 python3 -c "
import socket, struct, sys, time
sys.path.insert(0, '$SRT_LIB_DIR'); import tcp_peer
s = tcp_peer.connect('10.77.0.2', 5001, 10, 'bgp-secret')
s.sendall(b'x' * 100000)
time.sleep(0.5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()"
wait_for "srouter saw the reset" 5 grep -q "received 100000 sent 0 state CLOSED error 104" "${SROUTER_LOG[stack]}"
check "a closed port is refused (ECONNREFUSED)" n1 python3 "$PEER" expect-error 10.77.0.2 5999 ECONNREFUSED
check "UDP echo answers" n1 python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b'hello', ('10.77.0.2', 7)); data, peer = s.recvfrom(100); assert data == b'hello' and peer == ('10.77.0.2', 7)"
check "UDP to a closed port: Linux sees ECONNREFUSED (ICMP port unreachable)" n1 python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.connect(('10.77.0.2', 9999))
s.send(b'x')
try:
    s.recv(10); raise SystemExit(1)
except ConnectionRefusedError:
    pass"

# MARK: srouter opens the connection (active open) to a Linux listener
n1 python3 "$PEER" serve 6001 10.77.0.1 >"$SRT_TMP/serve.log" 2>&1 &
bg_track $!
wait_for "Linux listener" 5 grep -q listening "$SRT_TMP/serve.log"
srouter_stop stack
SRT_ROUTER_CMD=("$PROBES/stack-peer" --connect 10.77.0.1:6001 --bytes 10485760)
srouter_start client --log-level info --wg "$SRT_TMP/$RIF.conf"
if srouter_wait client 120; then
    pass "srouter → Linux listener (active open): 10 MiB sent, half-closed, answer read"
    check "the answer carries the right count and CRC" grep -q "reply: 10485760 $(python3 -c "
import sys; sys.path.insert(0, '$SRT_LIB_DIR'); import tcp_peer; print(format(tcp_peer.pattern_crc(10485760), 'x'))")" "${SROUTER_LOG[client]}"
else
    fail "srouter's active open did not finish (status $?)"
    dump_logs
fi

# MARK: Under loss, reordering and duplication on p1's underlay
# This kernel has no sch_netem, so a relay in p1 impairs the WireGuard datagrams both ways:
# wireguard-go sends to the relay, the relay to srouter (which roams to it), and back.
SRT_ROUTER_CMD=("$PROBES/stack-peer" --tcp-sink 5001 --tcp-source 5002)
srouter_start lossy --log-level info --wg "$SRT_TMP/$RIF.conf"
wait_for "stack-peer ready" 10 grep -q "stack-peer ready" "${SROUTER_LOG[lossy]}"
n1 python3 "$SRT_LIB_DIR/lossy_relay.py" 127.0.0.1 51821 "$R1_V4" 51900 0.02 0.05 0.01 7 >"$SRT_TMP/relay.log" 2>&1 &
bg_track $!
wait_for "lossy relay" 5 grep -q ready "$SRT_TMP/relay.log"
relay_engage "$SRT_TMP/relay.log" 10.77.0.2
check "ping through the lossy relay" n1 ping -c 5 -i 0.2 -W 2 10.77.0.2
check "Linux → srouter, loss 2% + reorder 5% + duplicate 1% both ways: $LOSSY_BYTES bytes intact" \
    n1 timeout 600 python3 "$PEER" send 10.77.0.2 5001 "$LOSSY_BYTES"
check "srouter → Linux, loss 2% + reorder 5% + duplicate 1% both ways: $LOSSY_BYTES bytes intact" \
    n1 timeout 600 python3 "$PEER" fetch 10.77.0.2 5002 "$LOSSY_BYTES"

summary
