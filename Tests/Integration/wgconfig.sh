#!/usr/bin/env bash
# wgconfig.sh — `srouter run --wg` refuses bad input before starting anything: a bad
# wg-quick file (exit 2, file:line: key: reason), a port already taken (exit 125); and
# `srouter run --config FILE` brings up what its file names, or names the line at fault.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up  # everything below runs in ns r, as uid 65534

conf=$SRT_TMP/wgbad.conf
cat >"$conf" <<EOF
[Interface]
PrivateKey = $("$SROUTER" genkey)
ListenPort = 51950

[Peer]
PublicKey = not-a-key
AllowedIPs = 10.0.0.0/8
EOF
chmod 0755 "$SRT_TMP"
chmod 0644 "$conf"
mkdir -m 0777 "$SRT_TMP/w"
rc=0
nr as_nobody "$SROUTER" run --wg "$conf" -- touch "$SRT_TMP/w/started" >"$SRT_TMP/out" 2>&1 || rc=$?
check "a bad wg-quick file exits 2" test "$rc" = 2
check "... naming file, line and key" grep -q "$conf:6: PublicKey: not a valid key" "$SRT_TMP/out"
check "... and nothing was started" test ! -e "$SRT_TMP/w/started"

cat >"$conf" <<EOF
[Interface]
PrivateKey = $("$SROUTER" genkey)
ListenPort = 51951
EOF
chmod 0755 "$SRT_TMP"
chmod 0644 "$conf"
ip netns exec "$NS_R" python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', 51951))
open('$SRT_TMP/bound', 'w').close()
time.sleep(10)" &
bg_track $!
wait_for "a socket holding port 51951" 5 test -e "$SRT_TMP/bound"
rc=0
nr as_nobody "$SROUTER" run --wg "$conf" -- true >"$SRT_TMP/out" 2>&1 || rc=$?
check "a taken listen port exits 125" test "$rc" = 125
check "... saying which address" grep -q "bind(\[::\]:51951): Address already in use" "$SRT_TMP/out"
# MARK: --config: srouter.conf with a glob of wg-quick files and a [Dummy] section
cfg=$SRT_TMP/etc-srouter
mkdir -p "$cfg/wg"
cat >"$cfg/wg/tun7.conf" <<EOF
[Interface]
PrivateKey = $("$SROUTER" genkey)
Address = 10.97.0.1/24, fe80::97/64
EOF
cat >"$cfg/srouter.conf" <<EOF
# the container's /etc/srouter/srouter.conf
[Router]
WireGuard = wg/*.conf
LogLevel = info
Name = cfgtest
Control = run/cfgtest.sock

[Dummy]
Name = node
Address = 172.20.97.1/32, fd42:97::1/128
EOF
mkdir -m 0700 "$cfg/run" && chown 65534:65534 "$cfg/run"
chmod -R a+rX "$cfg"
rc=0
nr as_nobody "$SROUTER" run --config "$cfg/srouter.conf" -- sh -c "ls $cfg/run; ip -br addr" >"$SRT_TMP/out" 2>"$SRT_TMP/err" || rc=$?
check "--config: the guest runs (exit 0)" test "$rc" = 0
check "--config: the glob's tunnel is an interface with its address" grep -qE "^tun7 .*10\.97\.0\.1/24" "$SRT_TMP/out"
check "--config: the [Dummy] interface holds both addresses" grep -qE "^node .*172\.20\.97\.1/32 fd42:97::1/128" "$SRT_TMP/out"
check "--config: Name and Control place the control socket" grep -qx "cfgtest.sock" "$SRT_TMP/out"
check "--config: LogLevel = info took effect" grep -q "^srouter: info: guest started" "$SRT_TMP/err"

cat >"$cfg/bad.conf" <<EOF
[Router]
WireGuard = wg/*.conf
Policy = policy.json
Policy = other.json
EOF
chmod a+r "$cfg/bad.conf"
rc=0
nr as_nobody "$SROUTER" run --config "$cfg/bad.conf" -- touch "$SRT_TMP/w/config-started" >"$SRT_TMP/out" 2>&1 || rc=$?
check "a bad --config file exits 2" test "$rc" = 2
check "... naming file, line and key" grep -q "$cfg/bad.conf:4: Policy: given twice" "$SRT_TMP/out"
check "... and nothing was started" test ! -e "$SRT_TMP/w/config-started"
summary
