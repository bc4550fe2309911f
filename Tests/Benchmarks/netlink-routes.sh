#!/usr/bin/env bash
# Benchmark (not a test): route writes through rtnetlink — Linux's FIB in a network namespace
# of its own against srouter's emulated rtnetlink, in the same run, by
# Guest/probes/netlink-routes: N blackhole routes added and deleted one request and ACK at a
# time (BIRD's `protocol kernel` pattern) and in batches of 64 per datagram. Prints a markdown
# table: routes per second natively and under srouter, and the ratio (median of REPEAT runs).
#
#   Tests/Benchmarks/netlink-routes.sh [-n ROUTES[,ROUTES…]] [-r REPEAT] [-c release|debug]   (as root)
#
# -n takes a list of table sizes (e.g. 1000,100000,1000000), each measured in turn.
#
# Under srouter BIRD's sendto({AF_NETLINK}, 12) runs natively and the recvmsg of its ACK is
# trapped (the filter cannot read a msghdr, DESIGN §3): one trapped call per route change, as
# the table's "traps/route" column counts from srouter's exit log (the trap's price is
# syscall-cost.sh's). The batched pattern traps once per ACK too: each ACK is a datagram of
# its own, as on Linux; the mmsg pattern reads them with recvmmsg, up to 64 per trap. A second table splits a route change in BIRD's pattern into
# srouter's own work (parsing, the FIB change, answers and notifications, as srouter logs it
# at exit) and the rest.
set -euo pipefail
routes=1000
repeat=3
config=release
while getopts "n:r:c:" opt; do
    case "$opt" in
        n) routes=$OPTARG ;;
        r) repeat=$OPTARG ;;
        c) config=$OPTARG ;;
        *) echo "usage: $0 [-n ROUTES[,ROUTES…]] [-r REPEAT] [-c release|debug]" >&2; exit 2 ;;
    esac
done
((EUID == 0)) || { echo "netlink-routes.sh: run as root (the native side writes a namespace's FIB)" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift build -c "$config" --product srouter >/dev/null
swift build -c "$config" --product probe-netlink-routes >/dev/null
bin="$(swift build -c "$config" --show-bin-path)"
probe="$bin/probe-netlink-routes"
work="$(mktemp -d)"
ns="srt-nlbench-$$"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

IFS=, read -r -a sizes <<<"$routes"
for size in "${sizes[@]}"; do
    for ((i = 0; i < repeat; i++)); do
        for family in 4 6; do
            flag=""
            [[ $family == 6 ]] && flag=-6
            for pattern in bird batched mmsg; do
                ip netns exec "$ns" "$probe" -n "$size" -p "$pattern" $flag | sed "s/^/$size v$family native /" >>"$work/results"
                "$bin/srouter" run --log-level info -- "$probe" -n "$size" -p "$pattern" $flag 2>"$work/srouter.log" |
                    sed "s/^/$size v$family srouter /" >>"$work/results"
                # Trapped calls of the whole run (its few set-up calls included) per route
                # change: SIZE added and SIZE deleted.
                grep -o 'trapped calls total=[0-9]*' "$work/srouter.log" |
                    awk -v s="$size" -v f="v$family" -v p="$pattern" -F= '{ print s, f, p, $2 / (2 * s) }' >>"$work/traps"
                # srouter's own work on the requests, apart from the traps (BIRD's pattern).
                [[ $pattern == bird ]] || continue
                grep -o 'work-ns=[0-9]*' "$work/srouter.log" | sed "s/work-ns=/$size v$family /" >>"$work/work"
            done
        done
    done
done

# median FILE KEY… → the median of the last column over the lines whose first fields are KEY…
median() {
    local file=$1
    shift
    awk -v key="$*" '{ k = $1; for (j = 2; j <= split(key, parts, " "); j++) k = k " " $j } k == key { v = $NF; sub("/s", "", v); print v }' "$file" |
        sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.6g", v[int((NR + 1) / 2)] }'
}

echo "| routes | family | pattern | Linux routes/s | srouter routes/s | ratio | srouter traps/route |"
echo "|---|---|---|---|---|---|---|"
for size in "${sizes[@]}"; do
    for family in v4 v6; do
        for pattern in bird batched mmsg; do
            native=$(median "$work/results" "$size" "$family" native "$pattern")
            sandboxed=$(median "$work/results" "$size" "$family" srouter "$pattern")
            ratio=$(awk -v a="$sandboxed" -v b="$native" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
            traps=$(median "$work/traps" "$size" "$family" "$pattern")
            printf '| %s | %s | %s | %.0f | %.0f | %s× | %.3f |\n' "$size" "$family" "$pattern" "$native" "$sandboxed" "$ratio" "$traps"
        done
    done
done
echo
echo "| routes | family | µs per route change in BIRD's pattern | srouter's own work (parse, FIB, answers) | the rest: 1 trapped call and copies |"
echo "|---|---|---|---|---|"
for size in "${sizes[@]}"; do
    for family in v4 v6; do
        per=$(awk -v s="$size" -v f="$family" '$1 == s && $2 == f { print $3 / (2 * s) / 1000 }' "$work/work" | sort -g |
            awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }')
        whole=$(awk -v r="$(median "$work/results" "$size" "$family" srouter bird)" 'BEGIN { printf "%.1f", (r > 0 ? 1e6 / r : 0) }')
        rest=$(awk -v a="$whole" -v b="$per" 'BEGIN { printf "%.1f", a - b }')
        echo "| $size | $family | $whole | $per | $rest |"
    done
done
