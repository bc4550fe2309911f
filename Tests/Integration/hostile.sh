#!/usr/bin/env bash
# hostile.sh — a guest that tries every way out of the sandbox (Guest/probes/hostile).
#
#   ns $NS_R
#   ┌──────────────────────────────────────────────────────────────────┐
#   │ listener on 127.0.0.1 (TCP + UDP), started by this test          │
#   │ srouter run -- probe-hostile   as root, then as uid 65534        │
#   └──────────────────────────────────────────────────────────────────┘
#
# Every escape must fail: TCP and UDP to the listener, AF_PACKET, a NETLINK_ROUTE write,
# io_uring, ptrace/process_vm_writev/pidfd_getfd and /proc/PID/mem on srouter, int 0x80, x32,
# namespaces, bpf, perf_event_open, userfaultfd (and /dev/userfaultfd), keyctl, mount.
# The listener must see nothing from the guest (a native connection afterwards proves that it
# would have), r's route table must not change, and srouter must still be serving.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
work="$SRT_TMP/hostile"
mkdir -p "$work"
chmod 0777 "$work"
tcp_port=47001
udp_port=47002

cat >"$work/listener.py" <<'PY'
import socket, sys, threading
tcp_port, udp_port, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def record(line):
    with open(log, "a") as f:
        f.write(line + "\n")
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", tcp_port))
t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", udp_port))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        record(f"udp {peer} {data!r}")
threading.Thread(target=udp, daemon=True).start()
open(log + ".ready", "w").close()
while True:
    c, peer = t.accept()
    record(f"tcp {peer}")
    c.close()
PY
: >"$work/seen"
bg_start r listener python3 "$work/listener.py" "$tcp_port" "$udp_port" "$work/seen"
wait_for "host listener ready" 10 test -e "$work/seen.ready"

route_table_before=$(nr ip -4 route show table all)

for who in root nobody; do
    prefix=()
    [[ $who == nobody ]] && prefix=("${SRT_AS_NOBODY[@]}")
    # The guest finds srouter's pid as its guard's parent (guest → guard → srouter).
    rc=0
    ip netns exec "$NS_R" "${prefix[@]}" "$SROUTER" run -- sh -c \
        'guard=$PPID; srouter=$(awk "/^PPid:/ {print \$2}" /proc/$guard/status); exec "$0" --host-tcp "$1" --host-udp "$2" --srouter-pid "$srouter"' \
        "$PROBES/probe-hostile" "$tcp_port" "$udp_port" >"$work/out-$who" 2>&1 || rc=$?
    sed "s/^/    [$who] /" "$work/out-$who"
    check "$who: every escape failed (probe-hostile exit $rc)" test "$rc" = 0
    check "$who: no check escaped" sh -c "! grep -q ESCAPED '$work/out-$who'"
    for name in tcp-host udp-host af-packet netlink-route-write socketpair-inet io-uring \
        ptrace-srouter vm-write-srouter proc-mem-srouter pidfd-getfd-srouter int80-socket \
        x32-socket unshare-netns clone-netns bpf perf-event-open userfaultfd keyctl mount \
        still-served; do
        check "$who: $name was tried and failed" grep -qE "^ok $name" "$work/out-$who"
    done
    check "$who: the host listener saw nothing from the guest" test ! -s "$work/seen"
    check "$who: r's route table is unchanged" test "$(nr ip -4 route show table all)" = "$route_table_before"
done

# Positive control: the listener does record a native connection and datagram, so its
# silence above means something.
nr python3 -c "
import socket
socket.create_connection(('127.0.0.1', $tcp_port), timeout=2).close()
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'native', ('127.0.0.1', $udp_port))"
if wait_for "control: the listener records a native TCP connection" 5 grep -q "^tcp" "$work/seen"; then pass "control: the listener records a native TCP connection"; fi
if wait_for "control: the listener records a native datagram" 5 grep -q "^udp" "$work/seen"; then pass "control: the listener records a native datagram"; fi

summary
