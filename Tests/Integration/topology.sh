#!/bin/bash
#
# topology.sh — the test bed itself: underlay, unprivileged user, wireguard-go peers, an
# srouter guest that says it is alive, and a cleanup that leaves nothing behind.
#
#    ns $NS_P1                         ns $NS_R                            ns $NS_P2
#  wireguard-go wg1 ── veth ── srouter run -- sh (uid 65534) ── veth ── wireguard-go wg2
#   198.18.1.1   fd00:1::1   198.18.1.2 fd00:1::2 │ 198.18.2.2 fd00:2::2   198.18.2.1 fd00:2::1
#
# The peers point at srouter's underlay addresses, but no packet goes through a tunnel yet:
# nothing here sends on wg1/wg2, and neither has a keepalive.

set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

# MARK: - Underlay

topology_up
pass "underlay: p1 ↔ r and r ↔ p2 over IPv4 and IPv6"
check "underlay: p1 has no route to p2 (r is no router)" \
	eval '! n1 ping -q -c 1 -W 1 "$P2_V4" >/dev/null 2>&1'

# MARK: - The unprivileged user

status=$(nr as_nobody cat /proc/self/status)
# field KEY: the value of KEY in $status, fields joined by one space.
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ +/, ""); print }' <<<"$status"; }
[[ $(field Uid) == '65534 65534 65534 65534' ]] && pass "as_nobody: uid 65534" || fail "as_nobody: Uid '$(field Uid)'"
[[ $(field Gid) == '65534 65534 65534 65534' ]] && pass "as_nobody: gid 65534" || fail "as_nobody: Gid '$(field Gid)'"
[[ -z $(field Groups) ]] && pass "as_nobody: no supplementary groups" || fail "as_nobody: Groups '$(field Groups)'"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
	[[ $(field $cap) == 0000000000000000 ]] && pass "as_nobody: $cap empty" || fail "as_nobody: $cap $(field $cap)"
done

# MARK: - wireguard-go peers

wg_peer_up p1 wg1 51820
wg_peer_up p2 wg2 51820
wg_peer_add p1 wg1 "${WG_PUB[wg2]}" "$R1_V4:51820" 10.99.0.2/32,fd99::2/128
wg_peer_add p2 wg2 "${WG_PUB[wg1]}" "[$R2_V6]:51820" 10.99.0.1/32,fd99::1/128

for w in wg1 wg2; do
	ns=${WG_NS[$w]} dev=$(wg_if "$w") other=wg2
	[[ $w == wg2 ]] && other=wg1
	link=$(nsexec "$ns" ip -o link show dev "$dev")
	[[ $link == *"<"*",UP,"*">"* ]] && pass "$w: $dev is up" || fail "$w: $dev not up: $link"
	[[ -z $(nsexec "$ns" ip -6 addr show dev "$dev") ]] &&
		pass "$w: no automatic IPv6 link-local (addrgenmode none)" || fail "$w: $dev has IPv6 addresses"
	[[ $(nsexec "$ns" wg show "$dev" public-key) == "${WG_PUB[$w]}" ]] &&
		pass "$w: wg show lists its public key" || fail "$w: wg show public-key"
	[[ $(nsexec "$ns" wg show "$dev" listen-port) == 51820 ]] &&
		pass "$w: listening on 51820" || fail "$w: listen-port $(nsexec "$ns" wg show "$dev" listen-port)"
	[[ $(nsexec "$ns" wg show "$dev" peers) == "${WG_PUB[$other]}" ]] &&
		pass "$w: peer is $other" || fail "$w: peers $(nsexec "$ns" wg show "$dev" peers)"
done
[[ $(n1 wg show "$(wg_if wg1)" endpoints) == "${WG_PUB[wg2]}"$'\t'"$R1_V4:51820" ]] &&
	pass "wg1: endpoint $R1_V4:51820" || fail "wg1: endpoints $(n1 wg show "$(wg_if wg1)" endpoints)"
[[ $(n2 wg show "$(wg_if wg2)" allowed-ips) == "${WG_PUB[wg1]}"$'\t'"10.99.0.1/32 fd99::1/128" ]] &&
	pass "wg2: allowed-ips" || fail "wg2: allowed-ips $(n2 wg show "$(wg_if wg2)" allowed-ips)"

# MARK: - srouter with a trivial guest

if [[ -x $SROUTER ]]; then
	srouter_start r -- sh -c 'echo guest-alive; sleep 1'
	srouter_is_nobody() {
		local comm uid
		read -r comm 2>/dev/null <"/proc/${SROUTER_PID[r]}/comm" || return 1
		uid=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/${SROUTER_PID[r]}/status") || return 1
		[[ $comm == srouter && $uid == '65534 65534 65534 65534' ]]
	}
	wait_for "srouter running as uid 65534" 5 srouter_is_nobody && pass "srouter runs as uid 65534"
	rc=0
	srouter_wait r 30 || rc=$?
	if ((rc == 124)); then
		fail "srouter still runs 30 s after a guest of one second"
		dump_logs
		srouter_stop r
	elif ((rc != 0)); then
		fail "srouter exited $rc"
		dump_logs
	else
		pass "srouter exited 0 with its guest"
	fi
	grep -qx guest-alive "${SROUTER_LOG[r]}" && pass "guest printed guest-alive" ||
		fail "no guest-alive in ${SROUTER_LOG[r]}"
else
	fail "srouter binary not found at $SROUTER: build it with (cd $SRT_ROOT && swift build), or set SROUTER"
fi

# MARK: - Cleanup

wg_pids=("${WG_PID[@]}")
wg_socks=()
for w in "${!WG_IF[@]}"; do wg_socks+=("/var/run/wireguard/${WG_IF[$w]}.sock"); done
cleanup
left=$(ip netns list | awk -v p="$SRT_PREFIX-" 'index($1, p) == 1')
[[ -z $left ]] && pass "cleanup: no namespace $SRT_PREFIX-* left" || fail "cleanup: left $left"
alive=()
for p in "${wg_pids[@]}"; do _srt_alive "$p" && alive+=("$p"); done
((${#alive[@]} == 0)) && pass "cleanup: wireguard-go stopped" || fail "cleanup: still running ${alive[*]}"
socks=()
for s in "${wg_socks[@]}"; do [[ -e $s ]] && socks+=("$s"); done
((${#socks[@]} == 0)) && pass "cleanup: no UAPI socket left" || fail "cleanup: left ${socks[*]}"
[[ ! -e $SRT_TMP || ${SRT_KEEP-} == 1 ]] && pass "cleanup: $SRT_TMP removed" || fail "cleanup: $SRT_TMP left"

# A script that aborts half-way, and one killed by SIGTERM (as run.sh's timeout does),
# clean up as well.
child_leaves_nothing() {
	local how=$1 out prefix
	out=$(mktemp)
	timeout -k 10 3 bash -c '
		set -euo pipefail
		source "$1"
		echo "prefix=$SRT_PREFIX"
		topology_up
		wg_peer_up p1 c1 51820
		bg_start r sleeper sleep 100
		case $2 in abort) false ;; term) sleep 100 ;; esac
	' child "$SRT_LIB_DIR/lib.sh" "$how" >"$out" 2>&1 || true
	prefix=$(sed -n 's/^prefix=//p' "$out")
	if [[ -z $prefix ]]; then
		fail "child ($how): no prefix; output: $(tr '\n' ' ' <"$out")"
	elif [[ -n $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1') ]] ||
		[[ -e /var/run/wireguard/${prefix}c1.sock ]] || compgen -G "/tmp/$prefix.*" >/dev/null; then
		fail "child ($how): leftovers of $prefix"
	elif ! grep -q "^child: 0 passed, 1 failed$" "$out"; then
		fail "child ($how): summary: $(tr '\n' ' ' <"$out")"
	else
		pass "child ($how): summary printed and nothing left behind"
	fi
	rm -f "$out"
}
child_leaves_nothing abort
child_leaves_nothing term

summary
