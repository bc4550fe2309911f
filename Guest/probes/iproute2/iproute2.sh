#!/bin/sh
# iproute2.sh IFACE — iproute2 as a router operator runs it, for Tests/Integration/sockets.sh
# (scenario "iproute2", issue 6 conformance): the same commands natively in a network namespace
# and under srouter, their output as "KEY: LINE" lines (KEY: the step and the line's number),
# diffed by the harness. Reads first (links, addresses, routes of every table, lookups, rules,
# neighbours), then writes and their effects (routes of every kind, with replace, append and
# delete; an address; the MTU; Linux's errors for bad requests), with `ip monitor` recording
# the notifications. Everything it adds it removes, so two runs print the same.
set -u
IF=$1
step() {
    key=$1
    shift
    "$@" >/tmp/iproute2.$$ 2>&1
    rc=$?
    n=0
    while IFS= read -r line; do
        echo "$key.$n: $line"
        n=$((n + 1))
    done </tmp/iproute2.$$
    echo "$key.status: $rc"
    rm -f /tmp/iproute2.$$
}

# MARK: - Reads
step link ip -o link show
step link-lo ip -d link show dev lo
step addr ip addr show
step addr6 ip -6 addr show
step addr-dev ip -o addr show dev "$IF"
step route ip route show table all
step route6 ip -6 route show table all
step route-main ip route show
step route-get-peer ip route get 10.77.0.1
step route-get-local ip route get 10.77.0.2
step route-get-lo ip route get 127.0.0.1
step route-get6 ip -6 route get fd77::1
step route-get6-ll ip -6 route get fe80::1 oif "$IF"
step route-get-none ip route get 192.0.2.1
step rule ip rule show
step rule6 ip -6 rule show
step neigh ip neigh show
step netconf ip netconf show
step netconf6 ip -6 netconf show

# MARK: - Writes, watched by ip monitor
monitor=/tmp/iproute2-monitor.$$
ip -o monitor route address link >"$monitor" 2>&1 &
monitor_pid=$!
sleep 0.5
step add-via ip route add 10.90.0.0/16 via 10.77.0.1
step add-dev ip route add 10.91.0.0/16 dev "$IF" metric 5 proto static
step add-blackhole ip route add blackhole 10.92.0.0/16
step add-unreachable ip route add unreachable 10.96.0.0/16 metric 7
step add-prohibit ip -6 route add prohibit fd96::/32
step add-table ip route add 10.97.0.0/16 dev "$IF" table 100
step add-v6-ll ip -6 route add fd90::/32 via fe80::1 dev "$IF"
step add-v6-global ip -6 route add fd91::/32 via fd77::1 metric 300
step add-v4-via-v6 ip route add 10.93.0.0/16 via inet6 fe80::1 dev "$IF"
step add-exists ip route add 10.90.0.0/16 via 10.77.0.1
step add-bad-gateway ip route add 10.94.0.0/16 via 10.99.0.1
step add-no-device ip route add 10.94.0.0/16
step add-host-bits ip route add 10.94.0.1/16 dev "$IF"
step add-v6-unreachable-gw ip -6 route add fd94::/32 via fd99::1
step add-v6-local-gw ip -6 route add fd94::/32 via fd77::2
step add-v6-ll-no-dev ip -6 route add fd94::/32 via fe80::1
step add-bad-src ip route add 10.94.0.0/16 dev "$IF" src 10.1.1.1
step replace ip route replace 10.90.0.0/16 via 10.77.0.1 proto bird
step append ip route append 10.91.0.0/16 dev "$IF" metric 5 proto static
step change-missing ip route change 10.95.0.0/16 dev "$IF"
step multipath ip route add 10.98.0.0/16 nexthop via 10.77.0.1 weight 2 nexthop via 10.77.0.3
step show-after ip route show
step show6-after ip -6 route show
step show-table ip route show table 100
step get-after ip route get 10.90.1.1
step get-table ip route get 10.97.1.1 table 100
step del ip route del 10.90.0.0/16
step del-missing ip route del 10.90.0.0/16
step del-metric ip route del 10.91.0.0/16 metric 5
step del-metric-again ip route del 10.91.0.0/16 metric 5
step del-rest sh -c "ip route del 10.92.0.0/16; ip route del 10.96.0.0/16; ip -6 route del fd96::/32; \
    ip route del 10.97.0.0/16 table 100; ip -6 route del fd90::/32; ip -6 route del fd91::/32; \
    ip route del 10.93.0.0/16; ip route del 10.98.0.0/16"
step addr-add ip addr add 10.78.0.2/24 dev "$IF"
step addr-add-exists ip addr add 10.78.0.2/24 dev "$IF"
step addr-add-peer ip addr add 172.20.1.1 peer 172.20.1.2/32 dev "$IF"
step addr-add6 ip -6 addr add fd78::2/64 dev "$IF" nodad
step addr-show ip -o addr show dev "$IF"
step addr-routes ip route show table all
step addr-del ip addr del 10.78.0.2/24 dev "$IF"
step addr-del-missing ip addr del 10.78.0.2/24 dev "$IF"
step addr-del-rest sh -c "ip addr del 172.20.1.1 peer 172.20.1.2/32 dev $IF; ip -6 addr del fd78::2/64 dev $IF"
step mtu ip link set dev "$IF" mtu 1380
step mtu-show ip -o link show dev "$IF"
step mtu-small ip link set dev "$IF" mtu 10
step mtu-back ip link set dev "$IF" mtu 1420
step final-route ip route show table all
step final-addr ip -o addr show
sleep 0.5
kill "$monitor_pid" 2>/dev/null
wait "$monitor_pid" 2>/dev/null
n=0
while IFS= read -r line; do
    echo "monitor.$n: $line"
    n=$((n + 1))
done <"$monitor"
rm -f "$monitor"
