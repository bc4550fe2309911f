#!/usr/bin/env bash
# Benchmark (not a test): forwarding between two WireGuard peers (issue 9, P2) — p1 → srouter
# → p2, beside a Linux namespace router between two wireguard-go tunnels, same run. As root:
#
#   ns $NS_P1: wireguard-go w1                        ns $NS_P2: wireguard-go w2
#     10.77.0.1 ── srouter run --wg a.conf --wg b.conf (uid 65534) ── 10.78.0.1
#     10.79.0.1 ── ns $NS_R: wireguard-go wa ─ ip_forward ─ wb ─────── 10.80.0.1
#
#   Tests/Benchmarks/forwarding.sh [-t SECONDS] [-r REPEAT] [-b MBITS]
#
# iperf3 UDP from p1 to p2 with 64- and 1400-byte datagrams, offered at -b (default 1000
# Mbit/s, far above what either path carries here), through each path in turn; the figure
# is what p2 received, in packets per second (median of REPEAT runs, min–max), and the ratio
# srouter / Linux. Each side is one wireguard-go peer per tunnel end, so both paths pay the
# same wireguard-go costs in p1 and p2.
set -euo pipefail
SRT_NAME=forwarding-benchmark
# srouter's release build unless SROUTER names another (lib.sh's default is the debug build).
SRT_RELEASE=1
source "$(dirname "$(readlink -f "$0")")/../Integration/lib.sh"
seconds=5 repeat=3 offered=1000
while getopts "t:r:b:" opt; do
    case "$opt" in
        t) seconds=$OPTARG ;;
        r) repeat=$OPTARG ;;
        b) offered=$OPTARG ;;
        *) echo "usage: $0 [-t SECONDS] [-r REPEAT] [-b MBITS]" >&2; exit 2 ;;
    esac
done

topology_up
wg_peer_up p1 w1 51820
wg_peer_up p2 w2 51820
P1IF=$(wg_if w1) P2IF=$(wg_if w2)
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add 10.79.0.1/24 dev "$P1IF"
n2 ip addr add 10.78.0.1/24 dev "$P2IF"
n2 ip addr add 10.80.0.1/24 dev "$P2IF"
# Each path's far side with its own source address: a reply from a wildcard socket (iperf3's
# UDP server) must leave by the path it came in on, or wireguard-go drops it (AllowedIPs).
n1 ip route add 10.78.0.0/24 dev "$P1IF" src 10.77.0.1
n1 ip route add 10.80.0.0/24 dev "$P1IF" src 10.79.0.1
n2 ip route add 10.77.0.0/24 dev "$P2IF" src 10.78.0.1
n2 ip route add 10.79.0.0/24 dev "$P2IF" src 10.80.0.1

# Linux's router: two wireguard-go interfaces in r, forwarding on.
wg_peer_up r wa 51911
wg_peer_up r wb 51912
nr ip addr add 10.79.0.2/24 dev "$(wg_if wa)"
nr ip addr add 10.80.0.2/24 dev "$(wg_if wb)"
nr sysctl -qw net.ipv4.ip_forward=1
wg_peer_add r wa "${WG_PUB[w1]}" "$P1_V4:51820" "10.79.0.1/32"
wg_peer_add r wb "${WG_PUB[w2]}" "$P2_V4:51820" "10.80.0.1/32"
wg_peer_add p1 w1 "${WG_PUB[wa]}" "$R1_V4:51911" "10.79.0.2/32,10.80.0.0/24"
wg_peer_add p2 w2 "${WG_PUB[wb]}" "$R2_V4:51912" "10.80.0.2/32,10.79.0.0/24"

# srouter: one wg-quick file per side.
for side in a b; do
    "$SROUTER" genkey >"$SRT_TMP/s$side.key"
done
srouter_wg_conf "$SRT_TMP/${SRT_PREFIX}a.conf" "$SRT_TMP/sa.key" 51900 10.77.0.2/24 "${WG_PUB[w1]}" "$P1_V4:51820" 10.77.0.1/32
srouter_wg_conf "$SRT_TMP/${SRT_PREFIX}b.conf" "$SRT_TMP/sb.key" 51901 10.78.0.2/24 "${WG_PUB[w2]}" "$P2_V4:51820" 10.78.0.1/32
chmod 0755 "$SRT_TMP"
wg_peer_add p1 w1 "$("$SROUTER" pubkey <"$SRT_TMP/sa.key")" "$R1_V4:51900" "10.77.0.2/32,10.78.0.0/24"
wg_peer_add p2 w2 "$("$SROUTER" pubkey <"$SRT_TMP/sb.key")" "$R2_V4:51901" "10.78.0.2/32,10.77.0.0/24"
srouter_start fwd --log-level warning --wg "$SRT_TMP/${SRT_PREFIX}a.conf" --wg "$SRT_TMP/${SRT_PREFIX}b.conf" -- sleep 100000

nsexec "$NS_P2" iperf3 -s -p 5201 >/dev/null 2>&1 &
bg_track $!
wait_for "iperf3 server in p2" 10 n2 sh -c 'ss -ltn | grep -q ":5201 "'
wait_for "p1 → p2 through Linux's router" 15 n1 ping -c 1 -W 1 -I 10.79.0.1 10.80.0.1
wait_for "p1 → p2 through srouter" 15 n1 ping -c 1 -W 1 -I 10.77.0.1 10.78.0.1

# pps FILE: packets per second p2 received, from iperf3's JSON (UDP: sent less lost).
pps() {
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print(round((s["packets"] - s["lost_packets"]) / s["seconds"]))' "$1"
}

for ((i = 0; i < repeat; i++)); do
    for size in 64 1400; do
        n1 iperf3 -J -u -b "${offered}M" -l "$size" -t "$seconds" -c 10.80.0.1 -B 10.79.0.1 -p 5201 \
            >"$SRT_TMP/linux-$size-$i.json"
        echo "$size linux $(pps "$SRT_TMP/linux-$size-$i.json")" >>"$SRT_TMP/results"
        n1 iperf3 -J -u -b "${offered}M" -l "$size" -t "$seconds" -c 10.78.0.1 -B 10.77.0.1 -p 5201 \
            >"$SRT_TMP/srouter-$size-$i.json"
        echo "$size srouter $(pps "$SRT_TMP/srouter-$size-$i.json")" >>"$SRT_TMP/results"
    done
done

stat() {  # stat SIZE SIDE: "median (min–max)"
    awk -v z="$1" -v s="$2" '$1 == z && $2 == s { print $3 }' "$SRT_TMP/results" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%d (%d–%d)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
median() { stat "$@" | cut -d' ' -f1; }
echo "| figure | srouter | Linux router between wireguard-go tunnels | ratio |"
echo "|---|---|---|---|"
for size in 64 1400; do
    ratio=$(awk -v a="$(median "$size" srouter)" -v b="$(median "$size" linux)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    echo "| forwarded p1 → p2, $size B UDP, packets/s | $(stat "$size" srouter) | $(stat "$size" linux) | ${ratio}× |"
done
echo
echo "$repeat runs of $seconds s each per size, offered ${offered} Mbit/s."
pass "forwarding benchmark ran"
summary
