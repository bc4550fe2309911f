#!/usr/bin/env bash
# rekey.sh — srouter renews its session with wireguard-go after REKEY_AFTER_TIME (120 s,
# WireGuard paper §6.2), with real timers, while traffic keeps flowing.
#
#   ns $NS_P1: wireguard-go 10.77.0.1 ── veth ── ns $NS_R: srouter --wg (10.77.0.2), uid 65534
#
# srouter initiated the first handshake (it has the peer's endpoint), so it is the initiator
# of the keypair and must start a new handshake when it sends on a keypair older than 120 s.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
if tunnel_up rk; then
    pass "first handshake"
fi
first=$(n1 wg show "$P1IF" latest-handshakes | awk '{print $2}')
check "ping on the first session" n1 ping -c 2 -i 0.2 -W 2 10.77.0.2

# Keep the session busy until past REKEY_AFTER_TIME: one ping every 5 s for 130 s.
lost=0
for _ in $(seq 1 26); do
    n1 ping -c 1 -W 2 10.77.0.2 >/dev/null || lost=$((lost + 1))
    sleep 5
done
check "pings kept passing across the rekey (lost $lost of 26)" test "$lost" -le 1
second=$(n1 wg show "$P1IF" latest-handshakes | awk '{print $2}')
check "a new handshake happened after REKEY_AFTER_TIME ($first → $second)" test "$second" -gt "$first"
check "ping on the new session" n1 ping -c 2 -i 0.2 -W 2 10.77.0.2
summary
