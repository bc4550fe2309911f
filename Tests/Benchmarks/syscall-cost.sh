#!/usr/bin/env bash
# Benchmark (not a test): the cost of a system call under srouter against the same call
# natively, measured in the same run by Guest/probes/syscall-cost. Prints a markdown table
# with both figures and their ratio (median of REPEAT runs, with min and max).
#
#   Tests/Benchmarks/syscall-cost.sh [-n ITERATIONS] [-r REPEAT] [-c release|debug]
#
# getppid and socket-unix are never trapped (the filter lets them through: their ratio is the
# filter's own cost); getsockname-unix, socket-inet and setsockopt-inet are trapped, and their
# ratio is the price of one seccomp user-notification round trip on this machine;
# tcp-connect-accept is a whole loopback TCP handshake (socket, connect, accept trapped;
# srouter's own TCP against the kernel's).
#
# The floor under every trapped call is measured natively in the same repetitions by
# Guest/probes/notify-floor: a bare seccomp user-notification round trip to a supervisor that
# only receives and answers, in four variants (blocking or epoll, with or without
# SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), printed in a second table. The first table's last
# column divides each trapped call by its number of traps times the floor srouter's own set-up
# matches: epoll with SYNC_WAKE_UP, as NotificationLoop sets it (floor-epoll where the kernel
# refuses the flag). 1.0× would be a trap that costs srouter nothing beyond the mechanism.
set -euo pipefail
iterations=2000
repeat=5
config=release
while getopts "n:r:c:" opt; do
    case "$opt" in
        n) iterations=$OPTARG ;;
        r) repeat=$OPTARG ;;
        c) config=$OPTARG ;;
        *) echo "usage: $0 [-n ITERATIONS] [-r REPEAT] [-c release|debug]" >&2; exit 2 ;;
    esac
done
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift build -c "$config" --product srouter >/dev/null
swift build -c "$config" --product probe-syscall-cost >/dev/null
swift build -c "$config" --product probe-notify-floor >/dev/null
bin="$(swift build -c "$config" --show-bin-path)"
probe="$bin/probe-syscall-cost"
floor_probe="$bin/probe-notify-floor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for ((i = 0; i < repeat; i++)); do
    "$probe" -n "$iterations" >>"$work/native"
    "$floor_probe" -n "$iterations" >>"$work/floor"
    "$bin/srouter" run -- "$probe" -n "$iterations" >>"$work/sandboxed"
done

# stats FILE NAME → "median min max" of the ns/call column.
stats() {
    awk -v name="$2" '$1 == name { print $3 }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.0f %.0f %.0f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# outcome FILE NAME → the RESULT column of NAME's rows: "ok", or every other value once.
outcome() {
    awk -v name="$2" '$1 == name && $4 != "ok" && !seen[$4]++ { printf "%s%s", n++ ? " " : "", $4 }
        END { if (n == 0) printf "ok" }' "$1"
}

# ratio A B → A / B with one decimal (0 when B is 0).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'
}

floor_name=floor-epoll-sync-wakeup
[[ "$(outcome "$work/floor" "$floor_name")" == ok ]] || floor_name=floor-epoll
read -r floor_ns _ <<<"$(stats "$work/floor" "$floor_name")"

echo "| call | native ns (min–max) | under srouter ns (min–max) | ratio | trapped | ÷ $floor_name per trap |"
echo "|---|---|---|---|---|---|"
for name in getppid socket-unix getsockname-unix socket-inet setsockopt-inet tcp-connect-accept; do
    read -r nm nlo nhi <<<"$(stats "$work/native" "$name")"
    read -r sm slo shi <<<"$(stats "$work/sandboxed" "$name")"
    trapped=no traps=0
    case $name in
        getsockname-unix | socket-inet | setsockopt-inet) trapped=yes traps=1 ;;
        tcp-connect-accept) trapped="yes (socket, connect, accept)" traps=3 ;;
    esac
    to_floor=—
    ((traps == 0 || floor_ns == 0)) || to_floor="$(ratio "$sm" $((traps * floor_ns)))×"
    echo "| $name | $nm ($nlo–$nhi) | $sm ($slo–$shi) | $(ratio "$sm" "$nm")× | $trapped | $to_floor |"
done
echo
echo "| floor: bare seccomp-notify round trip, natively | ns (min–max) | result |"
echo "|---|---|---|"
for name in floor-blocking floor-epoll floor-sync-wakeup floor-epoll-sync-wakeup; do
    result="$(outcome "$work/floor" "$name")"
    if [[ $result == ok ]]; then
        read -r fm flo fhi <<<"$(stats "$work/floor" "$name")"
        echo "| $name | $fm ($flo–$fhi) | ok |"
    else
        echo "| $name | — | $result |"
    fi
done
echo
echo "$repeat runs of $iterations calls each; median (min–max). Ratios mean something only"
echo "within one run on one machine. The last column divides by $floor_name, the floor that"
echo "matches srouter's NotificationLoop; tcp-connect-accept's also holds the TCP work itself."
