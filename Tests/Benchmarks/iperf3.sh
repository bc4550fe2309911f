#!/usr/bin/env bash
# Benchmark (not a test): TCP throughput of a guest's sockets through srouter against the
# Linux kernel's TCP over wireguard-go, in the same run (issue 5). As root:
#
#   ns $NS_P1: wireguard-go w1 (10.77.0.1, 10.79.0.1), iperf3 -s
#        ├── WireGuard ── ns $NS_R: srouter run --wg … -- iperf3 -c 10.77.0.1   (uid 65534)
#        └── WireGuard ── ns $NS_R: wireguard-go wn 10.79.0.2, kernel TCP: iperf3 -c 10.79.0.1
#   ns $NS_R: srouter run --wg a.conf -- iperf3 -s   10.81.0.1
#        └── WireGuard ── ns $NS_P2: srouter run --wg b.conf -- iperf3 -c 10.81.0.1   10.81.0.2
#
#   Tests/Benchmarks/iperf3.sh [-t SECONDS] [-r REPEAT]
#
# Prints a markdown table: Mbit/s each way (guest → p1, p1 → guest with -R) for both paths and
# the ratio srouter / Linux (median of REPEAT runs); and a guest in one srouter to a guest in
# a second srouter (no kernel TCP at either end), against the same Linux figure. Context switches are expensive on these
# machines: compare ratios taken in one run, never absolute figures across runs.
set -euo pipefail
SRT_NAME=iperf3-benchmark
# srouter's release build unless SROUTER names another (lib.sh's default is the debug build).
SRT_RELEASE=1
source "$(dirname "$(readlink -f "$0")")/../Integration/lib.sh"
seconds=5
repeat=3
while getopts "t:r:" opt; do
    case "$opt" in
        t) seconds=$OPTARG ;;
        r) repeat=$OPTARG ;;
        *) echo "usage: $0 [-t SECONDS] [-r REPEAT]" >&2; exit 2 ;;
    esac
done

topology_up
wg_peer_up p1 w1 51820
P1IF=$(wg_if w1)
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add 10.79.0.1/24 dev "$P1IF"
# The kernel's path: wireguard-go in r, as a Linux host running wireguard-go would.
wg_peer_up r wn 51901
RNIF=$(wg_if wn)
nr ip addr add 10.79.0.2/24 dev "$RNIF"
wg_peer_add r wn "${WG_PUB[w1]}" "$P1_V4:51820" "10.79.0.1/32"
wg_peer_add p1 w1 "${WG_PUB[wn]}" "$R1_V4:51901" "10.79.0.2/32"
# srouter's path.
RIF=${SRT_PREFIX}r
"$SROUTER" genkey >"$SRT_TMP/r.key"
srouter_wg_conf "$SRT_TMP/$RIF.conf" "$SRT_TMP/r.key" 51900 10.77.0.2/24 "${WG_PUB[w1]}" "$P1_V4:51820" 10.77.0.1/32
chmod 0755 "$SRT_TMP"
wg_peer_add p1 w1 "$("$SROUTER" pubkey <"$SRT_TMP/r.key")" "$R1_V4:51900" "10.77.0.2/32"
nsexec "$NS_P1" iperf3 -s -B 10.77.0.1 -p 5201 >/dev/null 2>&1 &
bg_track $!
nsexec "$NS_P1" iperf3 -s -B 10.79.0.1 -p 5202 >/dev/null 2>&1 &
bg_track $!
wait_for "iperf3 servers in p1" 10 n1 sh -c 'ss -ltn | grep -q ":5201 " && ss -ltn | grep -q ":5202 "'
wait_for "the kernel's tunnel" 15 nr ping -c 1 -W 1 10.79.0.1

# Two srouters, guest to guest: A in r (the server), B in p2 (the client), over r ↔ p2's veth.
"$SROUTER" genkey >"$SRT_TMP/sa.key"
"$SROUTER" genkey >"$SRT_TMP/sb.key"
srouter_wg_conf "$SRT_TMP/${SRT_PREFIX}a.conf" "$SRT_TMP/sa.key" 51930 10.81.0.1/24 \
    "$("$SROUTER" pubkey <"$SRT_TMP/sb.key")" "" 10.81.0.2/32
srouter_wg_conf "$SRT_TMP/${SRT_PREFIX}b.conf" "$SRT_TMP/sb.key" 51931 10.81.0.2/24 \
    "$("$SROUTER" pubkey <"$SRT_TMP/sa.key")" "$R2_V4:51930" 10.81.0.1/32
# pair_run DIRECTION I: one iperf3 test between the two srouters' guests; the client's JSON.
pair_run() {
    local flag=() dir=$SRT_TMP/pair-$1-$2
    [[ $1 == down ]] && flag=(-R)
    mkdir -m 0777 "$dir"
    srouter_start "pair-s-$1-$2" --log-level warning --wg "$SRT_TMP/${SRT_PREFIX}a.conf" -- iperf3 -s -1 -p 5301
    sleep 0.5
    (cd "$dir" && exec env HOME="$dir" XDG_RUNTIME_DIR="$dir" ip netns exec "$NS_P2" "${SRT_AS_NOBODY[@]}" \
        "$SROUTER" run --log-level warning --wg "$SRT_TMP/${SRT_PREFIX}b.conf" -- \
        iperf3 -J -c 10.81.0.1 -p 5301 -t "$seconds" "${flag[@]}") 2>"$dir/client.err" | grep -v '^srouter: ' >"$dir/client.json"
    srouter_wait "pair-s-$1-$2" 30 || srouter_stop "pair-s-$1-$2"
}

# mbits FILE: the receiver's Mbit/s in iperf3's JSON.
mbits() { python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6, 1))' "$1"; }

for ((i = 0; i < repeat; i++)); do
    for direction in up down; do
        flag=()
        [[ $direction == down ]] && flag=(-R)
        nr iperf3 -J -c 10.79.0.1 -p 5202 -t "$seconds" "${flag[@]}" >"$SRT_TMP/linux-$direction-$i.json"
        srouter_start "iperf-$direction-$i" --log-level warning --wg "$SRT_TMP/$RIF.conf" -- \
            iperf3 -J -c 10.77.0.1 -p 5201 -t "$seconds" "${flag[@]}"
        srouter_wait "iperf-$direction-$i" $((seconds + 30)) || true
        # The guest's JSON is srouter's stdout (with srouter's own log lines on stderr, filtered).
        grep -v '^srouter: ' "${SROUTER_LOG[iperf-$direction-$i]}" >"$SRT_TMP/srouter-$direction-$i.json"
        echo "$direction linux $(mbits "$SRT_TMP/linux-$direction-$i.json")" >>"$SRT_TMP/results"
        echo "$direction srouter $(mbits "$SRT_TMP/srouter-$direction-$i.json")" >>"$SRT_TMP/results"
        pair_run "$direction" "$i"
        echo "$direction pair $(mbits "$SRT_TMP/pair-$direction-$i/client.json")" >>"$SRT_TMP/results"
    done
done

median() {
    awk -v d="$1" -v s="$2" '$1 == d && $2 == s { print $3 }' "$SRT_TMP/results" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }'
}
echo "| direction | Linux TCP over wireguard-go, Mbit/s | guest through srouter, Mbit/s | ratio |"
echo "|---|---|---|---|"
for direction in up down; do
    linux=$(median "$direction" linux)
    srouter=$(median "$direction" srouter)
    label="guest → p1"
    [[ $direction == down ]] && label="p1 → guest"
    echo "| $label | $linux | $srouter | $(awk -v a="$srouter" -v b="$linux" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')× |"
done
for direction in up down; do
    linux=$(median "$direction" linux)
    pair=$(median "$direction" pair)
    label="guest → guest in a second srouter"
    [[ $direction == down ]] && label="guest ← guest in a second srouter (-R)"
    echo "| $label | $linux | $pair | $(awk -v a="$pair" -v b="$linux" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')× |"
done
echo
echo "$repeat runs of $seconds s each; median."
pass "iperf3 benchmark ran"
summary
