#!/usr/bin/env bash
# stack.sh — srouter's network stack in one process (stack-benchmark): forwarding packets/s
# and heap allocations per forwarded packet through the real FIB, and TCP between two stack
# instances beside the kernel's TCP over loopback in the same run.
#
# As root, the benchmark runs in a network namespace of its own whose loopback has the
# tunnel's MTU (1420), so the kernel's TCP moves segments of the same size as srouter's;
# otherwise on the host's loopback (MTU 65536), and the table says so.
#
#   Tests/Benchmarks/stack.sh [-m MEGABYTES] [-n PACKETS] [-r REPEAT] [-c release|debug]
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
megabytes=200 packets=1000000 repeat=3 config=release
while getopts "m:n:r:c:" opt; do
    case $opt in
    m) megabytes=$OPTARG ;;
    n) packets=$OPTARG ;;
    r) repeat=$OPTARG ;;
    c) config=$OPTARG ;;
    *) echo "usage: $0 [-m MEGABYTES] [-n PACKETS] [-r REPEAT] [-c release|debug]" >&2; exit 2 ;;
    esac
done
(cd "$root" && swift build -c "$config" --product stack-benchmark >&2)
bin=$root/.build/$config/stack-benchmark
args=(--megabytes "$megabytes" --packets "$packets" --repeat "$repeat")
if [[ $(id -u) == 0 ]] && unshare -n true 2>/dev/null; then
    unshare -n sh -c 'ip link set lo mtu 1420 up && exec "$0" "$@"' "$bin" "${args[@]}"
    echo "The kernel's loopback had MTU 1420 (a namespace of its own), as srouter's link; it still segments by GSO."
else
    "$bin" "${args[@]}"
    echo "The kernel's loopback had the host's MTU (not root: no namespace of its own)."
fi
