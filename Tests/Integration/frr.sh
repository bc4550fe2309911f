#!/usr/bin/env bash
# frr.sh — stock FRR (Debian's zebra and staticd, unmodified) as srouter's guests, run as
# the unprivileged user frr (FRR wants its user in group frrvty; uid 65534 is not):
#
#   ns $NS_R:  srouter run --dummy node=10.77.0.2/24,fd77::2/64 -- zebra
#              srouter exec --router frrt -- staticd
#
# zebra sees srouter's interfaces and addresses (vtysh), staticd's routes (a gateway, a
# blackhole, IPv6) reach srouter's FIB and leave it when staticd stops, and zebra met none of
# what stopped it before: capset refused, NETLINK_ADD_MEMBERSHIP binding the socket, socket
# filters not served.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

ZEBRA=/usr/lib/frr/zebra STATICD=/usr/lib/frr/staticd
[[ -x $ZEBRA && -x $STATICD ]] || { fail "FRR is not installed ($ZEBRA): Tests/setup.sh installs it"; summary; }
id frr >/dev/null 2>&1 || { fail "FRR's user frr does not exist"; summary; }

topology_up
dir=$SRT_TMP/frr.d
mkdir -m 0755 "$dir"
chmod 0755 "$SRT_TMP"
AS_FRR=(setpriv --reuid=frr --regid=frr --init-groups --inh-caps=-all --bounding-set=-all --)
printf 'hostname srt-zebra\nlog file %s/zebra.log debugging\n' "$dir" >"$dir/zebra.conf"
cat >"$dir/staticd.conf" <<'EOF'
hostname srt-staticd
ip route 10.200.0.0/24 10.77.0.1
ip route 10.201.0.0/24 blackhole
ipv6 route fd99:1::/64 fd77::1
EOF
chown -R frr:frr "$dir"
daemon_args=(-z "$dir/zserv.api" --vty_socket "$dir" -u frr -g frr)

# srt ARGS…: srouter as frr, beside the router (its control socket is under $dir).
srt() { ip netns exec "$NS_R" env HOME="$dir" XDG_RUNTIME_DIR="$dir" "${AS_FRR[@]}" "$SROUTER" "$@"; }
# fib_has PATTERN: srouter's main table (both families) has a line matching PATTERN.
fib_has() { srt show routes --router frrt | grep -qE "$1"; }
fib_lacks() { ! fib_has "$1"; }
vty() { ip netns exec "$NS_R" vtysh --vty_socket "$dir" "$@"; }

bg_start r zebra env HOME="$dir" XDG_RUNTIME_DIR="$dir" "${AS_FRR[@]}" "$SROUTER" run --name frrt \
    --dummy node=10.77.0.2/24,fd77::2/64 -- "$ZEBRA" -f "$dir/zebra.conf" -i "$dir/zebra.pid" "${daemon_args[@]}"
zebra_pid=$BG_PID
wait_for "zebra's zserv socket" 30 test -S "$dir/zserv.api"
wait_for "zebra's vty" 10 vty -c 'show version'

vty -c 'show interface node' >"$SRT_TMP/interface.txt" 2>&1 || true
check "zebra sees srouter's interface: node is up" grep -q "Interface node is up" "$SRT_TMP/interface.txt"
check "... with its IPv4 address" grep -q "inet 10.77.0.2/24" "$SRT_TMP/interface.txt"
check "... and its IPv6 address" grep -q "inet6 fd77::2/64" "$SRT_TMP/interface.txt"
vty -c 'show ip route connected' >"$SRT_TMP/connected.txt" 2>&1 || true
check "zebra has the connected prefix" grep -qE "^C>\* 10\.77\.0\.0/24 is directly connected, node" "$SRT_TMP/connected.txt"

bg_start r staticd env HOME="$dir" XDG_RUNTIME_DIR="$dir" "${AS_FRR[@]}" "$SROUTER" exec --router frrt -- \
    "$STATICD" -f "$dir/staticd.conf" -i "$dir/staticd.pid" "${daemon_args[@]}"
staticd_pid=$BG_PID
wait_for "staticd's route via a gateway in srouter's FIB" 30 fib_has '^10\.200\.0\.0/24 via 10\.77\.0\.1 dev node'
check "staticd's blackhole in srouter's FIB" fib_has '^blackhole 10\.201\.0\.0/24'
check "staticd's IPv6 route in srouter's FIB" fib_has '^fd99:1::/64 via fd77::1 dev node'
vty -c 'show ip route static' >"$SRT_TMP/static.txt" 2>&1 || true
check "zebra installed them (FIB-installed marks)" grep -qE "^S>\* 10\.200\.0\.0/24 \[1/0\] via 10\.77\.0\.1, node" "$SRT_TMP/static.txt"

_srt_kill 10 "$staticd_pid"
wait_for "staticd's routes leave srouter's FIB when it stops" 20 fib_lacks '10\.200\.0\.0/24'
check "... the blackhole too" fib_lacks '10\.201\.0\.0/24'

log=$dir/zebra.log
check "zebra logged no capability failure" bash -c "! grep -qi 'cap_set_proc' '$log'"
check "zebra logged no failed netlink bind" bash -c "! grep -q \"Can't bind netlink\" '$log'"
check "zebra logged no refused socket filter" bash -c "! grep -q \"Can't install socket filter\" '$log'"
check "zebra logged no route write error" bash -c "! grep -qE 'netlink-dp.*error: (File exists|Invalid)' '$log'"
_srt_kill 10 "$zebra_pid"
summary
