#!/usr/bin/env bash
# Benchmark (not a test): start-up to a BGP session (issue 9, P7) — `srouter run --wg … --
# bird` from launch to BGP Established with BIRD in p1, beside the same BIRD natively in a
# namespace with its tunnel from wireguard-go started at the same moment, same run. As root:
#
#   ns $NS_P1: wireguard-go w1 (10.77.0.1, 10.79.0.1), BIRD AS 4242420001, passive
#        ├── WireGuard ── ns $NS_R: srouter run --wg $RIF.conf -- bird   (uid 65534) 10.77.0.2
#        └── WireGuard ── ns $NS_R: wireguard-go wn + bird (root)                      10.79.0.2
#
#   Tests/Benchmarks/startup.sh [-r REPEAT]
#
# Each repetition starts one side from nothing (the native side's wireguard-go included, as
# srouter's WireGuard is), polls `birdc show protocols` every 20 ms until Established, and
# stops it again. Prints milliseconds (median, min–max) for both and the ratio.
set -euo pipefail
SRT_NAME=startup-benchmark
# srouter's release build unless SROUTER names another (lib.sh's default is the debug build).
SRT_RELEASE=1
source "$(dirname "$(readlink -f "$0")")/../Integration/lib.sh"
repeat=3
while getopts "r:" opt; do
    case "$opt" in
        r) repeat=$OPTARG ;;
        *) echo "usage: $0 [-r REPEAT]" >&2; exit 2 ;;
    esac
done

topology_up
wg_peer_up p1 w1 51820
P1IF=$(wg_if w1)
n1 ip addr add 10.77.0.1/24 dev "$P1IF"
n1 ip addr add 10.79.0.1/24 dev "$P1IF"
wg_peer_up r wn 51901
RNIF=$(wg_if wn)
wg_peer_add p1 w1 "${WG_PUB[wn]}" "$R1_V4:51901" "10.79.0.2/32"

RIF=${SRT_PREFIX}r
"$SROUTER" genkey >"$SRT_TMP/r.key"
R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key")
srouter_wg_conf "$SRT_TMP/$RIF.conf" "$SRT_TMP/r.key" 51900 10.77.0.2/24 "${WG_PUB[w1]}" "$P1_V4:51820" 10.77.0.1/32 \
    "Table = off"
wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.2/32"

cat >"$SRT_TMP/p1.conf" <<CONF
router id 10.77.0.1;
protocol device {}
protocol bgp to_srouter { local 10.77.0.1 as 4242420001; neighbor 10.77.0.2 as 4242420002; passive on;
    ipv4 { import all; export none; }; }
protocol bgp to_native { local 10.79.0.1 as 4242420001; neighbor 10.79.0.2 as 4242420002; passive on;
    ipv4 { import all; export none; }; }
CONF
r_conf() {  # r_conf LOCAL FILE: the router's BIRD, initiating at once
    cat >"$2" <<CONF
router id $1;
protocol device { scan time 1; }
protocol bgp p1 { local $1 as 4242420002; neighbor ${1%.2}.1 as 4242420001; connect delay time 0;
    ipv4 { import all; export none; }; }
CONF
}
guest=$SRT_TMP/guest.d
mkdir -m 0777 "$guest"
chmod 0755 "$SRT_TMP"
r_conf 10.77.0.2 "$guest/bird.conf"
r_conf 10.79.0.2 "$SRT_TMP/native.conf"
chmod 0644 "$SRT_TMP/$RIF.conf" "$guest/bird.conf"
bg_start p1 bird-p1 bird -f -c "$SRT_TMP/p1.conf" -s "$SRT_TMP/bird-p1.ctl"
wait_for "BIRD in p1" 10 n1 birdc -s "$SRT_TMP/bird-p1.ctl" show status

# until_established BIRDC…: milliseconds until p1 is Established (polled every 20 ms, ≤ 60 s).
until_established() {
    local start=$1 deadline
    shift
    deadline=$((start + 60000))
    until bird_established p1 "$@"; do
        (($(_srt_now_ms) < deadline)) || { echo "timeout" >&2; return 1; }
        sleep 0.02
    done
    echo $(($(_srt_now_ms) - start))
}

: >"$SRT_TMP/times"
for ((i = 1; i <= repeat; i++)); do
    # srouter: everything from one command.
    rm -f "$guest/bird.ctl"
    start=$(_srt_now_ms)
    srouter_start "s$i" --wg "$SRT_TMP/$RIF.conf" -- bird -f -c "$guest/bird.conf" -s "$guest/bird.ctl"
    ms=$(until_established "$start" birdc -s "$guest/bird.ctl")
    echo "srouter $ms" >>"$SRT_TMP/times"
    srouter_stop "s$i" 10
    # Linux: wireguard-go restarted and configured, then BIRD, in the namespace.
    start=$(_srt_now_ms)
    wg_peer_restart wn
    nr ip addr add 10.79.0.2/24 dev "$RNIF"
    wg_peer_add r wn "${WG_PUB[w1]}" "$P1_V4:51820" "10.79.0.1/32"
    nr bird -f -c "$SRT_TMP/native.conf" -s "$SRT_TMP/native.ctl" -P "$SRT_TMP/native.pid" >"$SRT_TMP/native-bird.log" 2>&1 &
    native_pid=$!
    bg_track "$native_pid"
    ms=$(until_established "$start" birdc -s "$SRT_TMP/native.ctl")
    echo "native $ms" >>"$SRT_TMP/times"
    _srt_kill 5 "$native_pid"
    # Both sessions down in p1 before the next round.
    wait_for "p1's sessions down" 15 \
        bash -c "! ip netns exec $NS_P1 birdc -s $SRT_TMP/bird-p1.ctl show protocols | grep -q Established"
done

stat() {  # stat SIDE: "median (min–max)" of SIDE's milliseconds
    awk -v s="$1" '$1 == s { print $2 }' "$SRT_TMP/times" | sort -n |
        awk '{ v[NR] = $1 } END { printf "%d (%d–%d)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
median() { awk -v s="$1" '$1 == s { print $2 }' "$SRT_TMP/times" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "| figure | srouter | Linux (wireguard-go + BIRD in a netns) | ratio |"
echo "|---|---|---|---|"
ratio=$(awk -v a="$(median srouter)" -v b="$(median native)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "| start to BGP Established, ms | $(stat srouter) | $(stat native) | ${ratio}× |"
echo
echo "$repeat repetitions each."
