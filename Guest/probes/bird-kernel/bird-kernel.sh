#!/bin/sh
# bird-kernel.sh DIR — BIRD 2's kernel protocol against whatever FIB it runs on: Linux's in a
# network namespace, or srouter's through its emulated rtnetlink. Needs an interface named
# `node` holding 172.20.50.1/32 and fd42:50::1/128, `bird`, `birdc` and `ip` on PATH, and
# DIR writable (BIRD's control socket and log). Prints one line per check, "NOT …" when it
# fails; the test compares the lines with Linux's.
#
# learn: routes another program added (proto static) are imported; export: BIRD's static
# routes appear in the FIB as `proto bird`; a disabled protocol's route is withdrawn and
# comes back; on SIGTERM BIRD flushes what it exported and leaves the others alone.
set -u
dir=$1
here=$(dirname "$0")
ip route add 198.51.100.0/24 dev node proto static
ip -6 route add 2001:db8:50::/48 dev node proto static
bird -f -c "$here/bird.conf" -s "$dir/bird.ctl" 2>"$dir/bird.err" &
pid=$!
ctl() { birdc -s "$dir/bird.ctl" "$@" 2>/dev/null; }
wait_for() {  # wait_for CONDITION LABEL: up to 10 s
    for _ in $(seq 1 50); do
        if eval "$1" 2>/dev/null; then echo "$2"; return 0; fi
        sleep 0.2
    done
    echo "NOT $2"
}
wait_for "ctl show route 198.51.100.0/24 | grep -q kernel4" "learn: 198.51.100.0/24 (proto static) imported by kernel4"
wait_for "ctl show route 2001:db8:50::/48 | grep -q kernel6" "learn: 2001:db8:50::/48 (proto static) imported by kernel6"
wait_for "ip route | grep -q '^blackhole 192.0.2.0/24 proto bird'" "export: blackhole 192.0.2.0/24 proto bird in the FIB"
wait_for "ip -6 route | grep -q '^blackhole 2001:db8:51::/48 .*proto bird'" "export: blackhole 2001:db8:51::/48 proto bird in the FIB"
ctl disable static4 >/dev/null
wait_for "! ip route | grep -q '192.0.2.0/24'" "withdraw: static4 disabled, 192.0.2.0/24 gone from the FIB"
ctl enable static4 >/dev/null
wait_for "ip route | grep -q '^blackhole 192.0.2.0/24 proto bird'" "export: static4 enabled again, 192.0.2.0/24 back"
kill -TERM "$pid"
wait "$pid"
echo "bird exited with status $?"
if ip route | grep -q 'proto bird'; then echo "NOT flush: no IPv4 proto bird route left"; else echo "flush: no IPv4 proto bird route left"; fi
if ip -6 route | grep -q 'proto bird'; then echo "NOT flush: no IPv6 proto bird route left"; else echo "flush: no IPv6 proto bird route left"; fi
if ip route | grep -q '^198.51.100.0/24 dev node proto static'; then echo "flush: the learned IPv4 route stays"; else echo "NOT flush: the learned IPv4 route stays"; fi
if ip -6 route | grep -q '^2001:db8:50::/48 dev node proto static'; then echo "flush: the learned IPv6 route stays"; else echo "NOT flush: the learned IPv6 route stays"; fi
