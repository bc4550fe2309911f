# shellcheck shell=bash
#
# lib.sh — shared helpers for srouter's netns integration tests, in the manner of the
# kernel's tools/testing/selftests/wireguard/netns.sh.
#
#    ns $NS_P1                         ns $NS_R                            ns $NS_P2
#  wireguard-go wg ── veth ── srouter run -- … (uid 65534) ── veth ── wireguard-go wg
#           to-r ─────────── to-p1                 to-p2 ─────────────── to-r
#   198.18.1.1/24        198.18.1.2/24         198.18.2.2/24         198.18.2.1/24
#   fd00:1::1/64         fd00:1::2/64          fd00:2::2/64          fd00:2::1/64
#   $P1_V4 $P1_V6        $R1_V4 $R1_V6         $R2_V4 $R2_V6         $P2_V4 $P2_V6
#
# The underlay is two /24 (/64) links and nothing else: no default routes, no forwarding in
# ns r, so p1 and p2 can reach each other only through srouter's WireGuard tunnels. Every
# packet a test makes stays inside the namespaces below.
#
# Use from a test script:
#
#   #!/bin/bash
#   set -euo pipefail                     # required: every bare command is an assertion
#   source "$(dirname "$(readlink -f "$0")")/lib.sh"
#   topology_up
#   wg_peer_up p1 wg1 51820
#   …  pass "what held" / fail "what did not"
#   summary                               # last line "NAME: N passed, M failed"; exits
#
# The library checks that `set -e` is on. Its own functions do not rely on it: they check
# each step and return non-zero, so they behave the same when called in a condition
# (`if wait_for …`) where bash suspends -e. A script that aborts (set -e, a signal, `exit`)
# still prints its summary, with the abort counted as a failure, and is cleaned up by the
# EXIT trap. Start background processes only through wg_peer_up, srouter_start, bg_start or
# bg_track, at the top level of the script (not in $(…)), so their pids are children of
# the test shell.
#
# Environment:
#   SROUTER      srouter binary (default: `swift build --show-bin-path`/srouter of this repo;
#                with SRT_RELEASE=1, the release build, built first)
#   PROBES       directory of the probe binaries (default: the directory of $SROUTER)
#   SRT_KEEP=1   keep the per-run directory (keys, logs) after cleanup
#   SRT_VERBOSE=1  echo every n1/nr/n2 command
#   SRT_ROUTER_CMD  (array) what srouter_start runs instead of `$SROUTER run` (stack-peer)
#
# Names: one run owns netns ${SRT_PREFIX}-p1/-r/-p2, wireguard-go interfaces
# ${SRT_PREFIX}NAME (NAME starts with a letter, so names of different runs never collide)
# and the directory $SRT_TMP. SRT_PREFIX is srt$$, with _1…_9 appended if leftovers of a
# dead run with the same pid are still there.

[[ -n ${_SRT_LIB_LOADED-} ]] && return 0
_SRT_LIB_LOADED=1

if [[ $- != *e* ]]; then
	echo "lib.sh: test scripts must 'set -euo pipefail' before sourcing lib.sh" >&2
	exit 2
fi
if (( EUID != 0 )); then
	echo "lib.sh: integration tests need root (network namespaces, tun devices)" >&2
	exit 2
fi
set -o errtrace # the ERR trap below sees failures inside functions too

# MARK: - Paths and names

SRT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SRT_ROOT=$(cd "$SRT_LIB_DIR/../.." && pwd -P)
SRT_NAME=${SRT_NAME:-$(basename "$0" .sh)}

_srt_bin_path() {
	local p=""
	if command -v swift >/dev/null 2>&1; then
		# --show-bin-path builds nothing; --ignore-lock keeps it from waiting on a build.
		p=$(cd "$SRT_ROOT" && timeout 60 swift build --show-bin-path --ignore-lock 2>/dev/null) ||
			p=$(cd "$SRT_ROOT" && timeout 60 swift build --show-bin-path 2>/dev/null) || p=""
	fi
	echo "${p:-$SRT_ROOT/.build/debug}"
}
# SRT_RELEASE=1 (set before sourcing; the benchmarks do): the release build, built first.
if [[ -z ${SROUTER-} && ${SRT_RELEASE-} == 1 ]]; then
	(cd "$SRT_ROOT" && swift build -c release --product srouter >&2)
	SROUTER=$(cd "$SRT_ROOT" && swift build -c release --show-bin-path)/srouter
fi
if [[ -z ${SROUTER-} ]]; then
	SROUTER=$(_srt_bin_path)/srouter
fi
PROBES=${PROBES:-$(dirname "$SROUTER")}

_srt_prefix_taken() {
	local p=$1 n
	for n in p1 r p2; do [[ -e /var/run/netns/$p-$n ]] && return 0; done
	compgen -G "/var/run/wireguard/${p}[a-zA-Z]*.sock" >/dev/null && return 0
	return 1
}
SRT_PREFIX=srt$$
for _srt_i in 1 2 3 4 5 6 7 8 9; do
	_srt_prefix_taken "$SRT_PREFIX" || break
	SRT_PREFIX=srt$$_$_srt_i
done
if _srt_prefix_taken "$SRT_PREFIX"; then
	echo "lib.sh: leftovers of earlier runs use every prefix srt$$*; delete them" >&2
	exit 2
fi
unset _srt_i

NS_P1=$SRT_PREFIX-p1
NS_R=$SRT_PREFIX-r
NS_P2=$SRT_PREFIX-p2

P1_V4=198.18.1.1 R1_V4=198.18.1.2 R2_V4=198.18.2.2 P2_V4=198.18.2.1
P1_V6=fd00:1::1 R1_V6=fd00:1::2 R2_V6=fd00:2::2 P2_V6=fd00:2::1

SRT_TMP=$(mktemp -d "/tmp/$SRT_PREFIX.XXXXXX")
chmod 755 "$SRT_TMP" # the unprivileged srouter and its guest may read configs here

# MARK: - State (what cleanup undoes)

SRT_PASSED=0
SRT_FAILED=0
SRT_NETNS=()       # namespaces created, in order
SRT_BG_PIDS=()     # bg_track'ed pids
declare -gA WG_IF=() WG_NS=() WG_PID=() WG_PUB=() WG_PORT=()
declare -gA SROUTER_PID=() SROUTER_LOG=() SROUTER_RC=() SROUTER_DIR=()
SRT_CLEANUP_CMDS=() # on_cleanup'ed commands, quoted
BG_PID=""
_SRT_SUMMARY_DONE=0
_SRT_CLEANED=0
_SRT_FAIL_SITE=""  # SRT_FAILED@line of the last _srt_fail_return
_SRT_ERR=""        # the last failed command, from the ERR trap
_SRT_ERR_SITE=""   # its line in the script

# MARK: - Results

pass() {
	SRT_PASSED=$((SRT_PASSED + 1))
	printf 'PASS  %s\n' "$*"
}

# fail MSG: records a failure and returns 0, so the script goes on; abort yourself if
# later steps depend on what failed.
fail() {
	SRT_FAILED=$((SRT_FAILED + 1))
	printf 'FAIL  %s\n' "$*"
}

# check DESC CMD…: pass DESC if CMD succeeds, fail it otherwise. Returns CMD's status, so
# a bare failing check ends the script (the failure is counted once).
check() {
	local desc=$1 rc=0
	shift
	"$@" || rc=$?
	if ((rc == 0)); then pass "$desc"; else _srt_fail_return "$desc (exit $rc: $*)"; fi
	return $rc
}

# _srt_fail_return MSG: fail, and note the script line that called the helper, which is
# about to return non-zero: if set -e aborts the script on that line, the abort is not
# counted a second time.
_srt_fail_return() {
	fail "$@"
	_SRT_FAIL_SITE=$SRT_FAILED@${BASH_LINENO[${#BASH_LINENO[@]} - 2]}
}

# summary: prints "NAME: N passed, M failed" and exits 0 if M is 0, 1 otherwise.
summary() {
	_SRT_SUMMARY_DONE=1
	printf '%s: %d passed, %d failed\n' "$SRT_NAME" "$SRT_PASSED" "$SRT_FAILED"
	if ((SRT_FAILED == 0)); then exit 0; else exit 1; fi
}

# MARK: - Running commands

SRT_AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups
	--inh-caps=-all --bounding-set=-all --)

# nsexec NS CMD…: run CMD in namespace NS (p1, r, p2 or a full name). `nsexec r as_nobody
# CMD…` runs it there as uid/gid 65534, no groups, no capabilities. If SRT_CMD_TIMEOUT is
# set (wait_for sets it), the command is killed after that many seconds.
nsexec() {
	local ns
	ns=$(ns_name "$1") || return 1
	shift
	if [[ ${1-} == as_nobody ]]; then
		shift
		set -- "${SRT_AS_NOBODY[@]}" "$@"
	fi
	[[ ${SRT_VERBOSE-} == 1 ]] && printf '[%s] %s\n' "${ns#"$SRT_PREFIX"-}" "$*" >&2
	if [[ -n ${SRT_CMD_TIMEOUT-} ]]; then
		timeout -k 1 "$SRT_CMD_TIMEOUT" ip netns exec "$ns" "$@"
	else
		ip netns exec "$ns" "$@"
	fi
}
n1() { nsexec "$NS_P1" "$@"; }
nr() { nsexec "$NS_R" "$@"; }
n2() { nsexec "$NS_P2" "$@"; }

# as_nobody CMD…: run CMD here as uid/gid 65534, no supplementary groups, no capabilities
# (effective, permitted, inheritable, ambient and bounding sets all empty). no_new_privs is
# left to srouter, so tests can see that srouter sets it for its guest.
as_nobody() { "${SRT_AS_NOBODY[@]}" "$@"; }

# ns_name p1|r|p2|FULL: print the full namespace name.
ns_name() {
	case $1 in
	p1 | "$NS_P1") echo "$NS_P1" ;;
	r | "$NS_R") echo "$NS_R" ;;
	p2 | "$NS_P2") echo "$NS_P2" ;;
	*) echo "lib.sh: unknown namespace '$1'" >&2; return 1 ;;
	esac
}

_srt_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# _srt_alive PID: the process exists and is not a zombie.
_srt_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# _srt_wait_gone TIMEOUT_S PID…: wait until none of the PIDs is alive. 0 if they all went.
_srt_wait_gone() {
	local deadline=$(($(_srt_now_ms) + $1 * 1000)) p alive
	shift
	while :; do
		alive=0
		for p in "$@"; do _srt_alive "$p" && alive=1; done
		((alive == 0)) && return 0
		(($(_srt_now_ms) >= deadline)) && return 1
		sleep 0.1
	done
}

# _srt_descendants PID: print the pids of PID's descendants (children first).
_srt_descendants() {
	local -A kids=()
	local f stat rest pid ppid
	for f in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$f" || continue
		pid=${stat%% *}
		rest=${stat##*) }
		read -r _ ppid _ <<<"$rest"
		kids[$ppid]+=" $pid"
	done
	local queue=("$1") p c
	while ((${#queue[@]})); do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		for c in ${kids[$p]-}; do
			echo "$c"
			queue+=("$c")
		done
	done
}

# _srt_kill TIMEOUT_S PID…: SIGTERM the PIDs and their descendants, wait up to TIMEOUT_S,
# then SIGKILL whatever is left; reap our children. Never fails.
_srt_kill() {
	local t=$1 p all=()
	shift
	for p in "$@"; do
		[[ -n $p ]] || continue
		all+=("$p")
		mapfile -t -O "${#all[@]}" all < <(_srt_descendants "$p")
	done
	((${#all[@]})) || return 0
	kill -TERM "${all[@]}" 2>/dev/null || true
	if ! _srt_wait_gone "$t" "${all[@]}"; then
		kill -KILL "${all[@]}" 2>/dev/null || true
		_srt_wait_gone 2 "${all[@]}" || true
	fi
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
	return 0
}

# bg_track PID: have cleanup kill PID (and its descendants).
bg_track() { SRT_BG_PIDS+=("$1"); }

# bg_start NS LOGNAME CMD…: run CMD in namespace NS in the background, output to
# $SRT_TMP/LOGNAME.log; sets BG_PID to its pid (the command itself, not a shell) and tracks it.
bg_start() {
	local ns=$1 log=$SRT_TMP/$2.log
	ns=$(ns_name "$ns") || return 1
	shift 2
	if [[ ${1-} == as_nobody ]]; then
		shift
		set -- "${SRT_AS_NOBODY[@]}" "$@"
	fi
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	BG_PID=$!
	bg_track "$BG_PID"
}

# dump_logs: the tail of every log of this run, to stderr.
dump_logs() {
	local f
	for f in "$SRT_TMP"/*.log; do
		[[ -e $f ]] || continue
		printf -- '---- %s (last 40 lines) ----\n' "${f#"$SRT_TMP"/}" >&2
		tail -n 40 "$f" >&2 || true
	done
	printf -- '---- end of logs ----\n' >&2
}

# wait_for DESC TIMEOUT_S CMD…: run CMD every 0.2 s until it succeeds (0) or TIMEOUT_S
# passes; then fail DESC, print CMD's last output and every log, and return 1. Each run of
# CMD through n1/nr/n2/nsexec is killed when the time is up; other commands must return.
wait_for() {
	local desc=$1 t=$2 out=$SRT_TMP/wait_for.out left
	shift 2
	local deadline=$(($(_srt_now_ms) + t * 1000))
	while :; do
		left=$(((deadline - $(_srt_now_ms) + 999) / 1000))
		((left < 1)) && left=1
		if SRT_CMD_TIMEOUT=$left "$@" >"$out" 2>&1; then
			return 0
		fi
		if (($(_srt_now_ms) >= deadline)); then
			_srt_fail_return "timed out after ${t}s: $desc"
			{
				printf -- '---- last output of: %s ----\n' "$*"
				tail -n 20 "$out" || true
			} >&2
			dump_logs
			return 1
		fi
		sleep 0.2
	done
}

# MARK: - Topology

# topology_up: three namespaces with lo up, veth p1(to-r)↔r(to-p1) and r(to-p2)↔p2(to-r)
# with the addresses in the picture, checked by one bounded ping per address.
topology_up() {
	local ns
	for ns in "$NS_P1" "$NS_R" "$NS_P2"; do
		ip netns add "$ns" || { _srt_fail_return "ip netns add $ns"; return 1; }
		SRT_NETNS+=("$ns")
		ip -n "$ns" link set lo up || { _srt_fail_return "lo up in $ns"; return 1; }
	done
	{
		ip -n "$NS_P1" link add to-r type veth peer name to-p1 netns "$NS_R" &&
			ip -n "$NS_P2" link add to-r type veth peer name to-p2 netns "$NS_R" &&
			ip -n "$NS_P1" addr add "$P1_V4/24" dev to-r &&
			ip -n "$NS_P1" addr add "$P1_V6/64" dev to-r nodad &&
			ip -n "$NS_R" addr add "$R1_V4/24" dev to-p1 &&
			ip -n "$NS_R" addr add "$R1_V6/64" dev to-p1 nodad &&
			ip -n "$NS_R" addr add "$R2_V4/24" dev to-p2 &&
			ip -n "$NS_R" addr add "$R2_V6/64" dev to-p2 nodad &&
			ip -n "$NS_P2" addr add "$P2_V4/24" dev to-r &&
			ip -n "$NS_P2" addr add "$P2_V6/64" dev to-r nodad &&
			ip -n "$NS_P1" link set to-r up &&
			ip -n "$NS_R" link set to-p1 up &&
			ip -n "$NS_R" link set to-p2 up &&
			ip -n "$NS_P2" link set to-r up
	} || { _srt_fail_return "underlay links and addresses"; return 1; }
	local a
	# Links that just came up may lose the first probe to neighbour discovery: retry, bounded.
	for a in "$R1_V4" "$R1_V6"; do
		wait_for "underlay: p1 ping $a" 10 n1 ping -q -c 1 -W 1 "$a" || return 1
	done
	for a in "$R2_V4" "$R2_V6"; do
		wait_for "underlay: p2 ping $a" 10 n2 ping -q -c 1 -W 1 "$a" || return 1
	done
}

# MARK: - wireguard-go peers

# wg_if NAME: print the interface name of wireguard-go peer NAME.
wg_if() { echo "${WG_IF[$1]:?no wireguard-go peer named $1}"; }

# wg_peer_up NS NAME LISTEN_PORT: start `wireguard-go -f ${SRT_PREFIX}NAME` in NS, with a
# new key pair and LISTEN_PORT, addrgenmode none, link up. Sets WG_IF[NAME], WG_NS[NAME],
# WG_PID[NAME], WG_PUB[NAME], WG_PORT[NAME]; files $SRT_TMP/NAME.{key,pub,pid}, wg-NAME.log.
wg_peer_up() {
	local ns name=$2 port=$3 ifname pid
	ns=$(ns_name "$1") || return 1
	ifname=$SRT_PREFIX$name
	if [[ ! $name =~ ^[a-zA-Z][a-zA-Z0-9]*$ ]] || ((${#ifname} > 15)); then
		_srt_fail_return "wg_peer_up: '$name' must start with a letter and $ifname fit in 15 characters"
		return 1
	fi
	[[ -z ${WG_IF[$name]-} ]] || { _srt_fail_return "wg_peer_up: $name exists"; return 1; }
	(umask 077 && wg genkey >"$SRT_TMP/$name.key") &&
		wg pubkey <"$SRT_TMP/$name.key" >"$SRT_TMP/$name.pub" ||
		{ _srt_fail_return "wg_peer_up $name: key generation"; return 1; }
	LOG_LEVEL=verbose ip netns exec "$ns" wireguard-go -f "$ifname" >"$SRT_TMP/wg-$name.log" 2>&1 &
	pid=$!
	WG_IF[$name]=$ifname WG_NS[$name]=$ns WG_PID[$name]=$pid WG_PORT[$name]=$port
	WG_PUB[$name]=$(<"$SRT_TMP/$name.pub")
	echo "$pid" >"$SRT_TMP/$name.pid"
	wait_for "wireguard-go $ifname in $ns" 5 \
		_srt_wg_ready "$ns" "$ifname" "$pid" || return 1
	if ! _srt_alive "$pid"; then
		_srt_fail_return "wireguard-go $ifname exited"
		dump_logs
		return 1
	fi
	{
		ip -n "$ns" link set dev "$ifname" addrgenmode none &&
			ip netns exec "$ns" wg set "$ifname" private-key "$SRT_TMP/$name.key" listen-port "$port" &&
			ip -n "$ns" link set dev "$ifname" up
	} || { _srt_fail_return "wg_peer_up $name: configure $ifname"; dump_logs; return 1; }
}

# _srt_wg_ready NS IFNAME PID: tun and UAPI socket are there, or wireguard-go is gone.
_srt_wg_ready() {
	_srt_alive "$3" || return 0
	ip -n "$1" link show dev "$2" >/dev/null && [[ -S /var/run/wireguard/$2.sock ]]
}

# wg_peer_restart NAME: SIGKILL wireguard-go peer NAME (its interface, addresses and routes
# go with it) and start it again in its namespace with the same key and listen port, link
# up, no peers: re-add its addresses and peers. Updates WG_PID[NAME]; appends to wg-NAME.log.
wg_peer_restart() {
	local name=$1 ns=${WG_NS[$1]-} ifname=${WG_IF[$1]-} pid
	[[ -n $ifname ]] || { _srt_fail_return "wg_peer_restart: no wireguard-go peer $name"; return 1; }
	kill -KILL "${WG_PID[$name]}" 2>/dev/null || true
	_srt_wait_gone 5 "${WG_PID[$name]}" || { _srt_fail_return "wireguard-go $ifname survived SIGKILL"; return 1; }
	wait "${WG_PID[$name]}" 2>/dev/null || true
	wait_for "$ifname gone from $ns" 5 bash -c "! ip -n '$ns' link show dev '$ifname' >/dev/null 2>&1" || return 1
	rm -f "/var/run/wireguard/$ifname.sock"
	LOG_LEVEL=verbose ip netns exec "$ns" wireguard-go -f "$ifname" >>"$SRT_TMP/wg-$name.log" 2>&1 &
	pid=$!
	WG_PID[$name]=$pid
	echo "$pid" >"$SRT_TMP/$name.pid"
	wait_for "wireguard-go $ifname in $ns (restarted)" 5 _srt_wg_ready "$ns" "$ifname" "$pid" || return 1
	_srt_alive "$pid" || { _srt_fail_return "restarted wireguard-go $ifname exited"; dump_logs; return 1; }
	{
		ip -n "$ns" link set dev "$ifname" addrgenmode none &&
			ip netns exec "$ns" wg set "$ifname" private-key "$SRT_TMP/$name.key" listen-port "${WG_PORT[$name]}" &&
			ip -n "$ns" link set dev "$ifname" up
	} || { _srt_fail_return "wg_peer_restart $name: configure $ifname"; dump_logs; return 1; }
}

# wg_peer_add NS NAME PEER_PUBKEY ENDPOINT ALLOWED_IPS [KEEPALIVE]: add a peer to
# wireguard-go peer NAME in NS. ALLOWED_IPS is comma-separated; ENDPOINT is host:port
# ([v6]:port), or "" for none.
wg_peer_add() {
	local ns name=$2 pub=$3 ep=$4 ips=$5 ka=${6-}
	ns=$(ns_name "$1") || return 1
	local ifname=${WG_IF[$name]-}
	[[ -n $ifname ]] || { _srt_fail_return "wg_peer_add: no wireguard-go peer $name"; return 1; }
	local args=(peer "$pub" allowed-ips "$ips")
	[[ -n $ep ]] && args+=(endpoint "$ep")
	[[ -n $ka ]] && args+=(persistent-keepalive "$ka")
	ip netns exec "$ns" wg set "$ifname" "${args[@]}" ||
		{ _srt_fail_return "wg_peer_add $name: wg set ${args[*]}"; return 1; }
}

# MARK: - srouter

# srouter_start NAME ARGS…: start `$SROUTER run ARGS…` in ns r as uid 65534 in the
# background, cwd, HOME and XDG_RUNTIME_DIR a fresh directory of its own; stdout and stderr
# to $SRT_TMP/srouter-NAME.log. Sets SROUTER_PID[NAME], SROUTER_LOG[NAME], SROUTER_DIR[NAME].
srouter_start() {
	local name=$1 dir log pid
	shift
	if [[ ! -x $SROUTER ]]; then
		_srt_fail_return "srouter binary not found at $SROUTER: build it with (cd $SRT_ROOT && swift build), or set SROUTER"
		return 1
	fi
	[[ -z ${SROUTER_PID[$name]-} ]] || { _srt_fail_return "srouter_start: $name exists"; return 1; }
	dir=$SRT_TMP/srouter-$name.d
	log=$SRT_TMP/srouter-$name.log
	mkdir -m 700 "$dir" && chown 65534:65534 "$dir" ||
		{ _srt_fail_return "srouter_start: $dir"; return 1; }
	local cmd=("$SROUTER" run)
	[[ -z ${SRT_ROUTER_CMD-} ]] || cmd=("${SRT_ROUTER_CMD[@]}")
	(
		cd "$dir" &&
			exec env HOME="$dir" XDG_RUNTIME_DIR="$dir" USER=nobody LOGNAME=nobody \
				ip netns exec "$NS_R" "${SRT_AS_NOBODY[@]}" "${cmd[@]}" "$@"
	) >"$log" 2>&1 &
	pid=$!
	SROUTER_PID[$name]=$pid SROUTER_LOG[$name]=$log SROUTER_DIR[$name]=$dir
	echo "$pid" >"$SRT_TMP/srouter-$name.pid"
}

# srouter_wait NAME TIMEOUT_S: wait for srouter NAME to exit by itself. Returns its exit
# status (also in SROUTER_RC[NAME]), or 124 if it still runs after TIMEOUT_S (it is left
# running).
srouter_wait() {
	local name=$1 pid=${SROUTER_PID[$1]-} rc=0
	[[ -n $pid ]] || { echo "srouter_wait: no srouter $name" >&2; return 1; }
	if [[ -n ${SROUTER_RC[$name]-} ]]; then return "${SROUTER_RC[$name]}"; fi
	_srt_wait_gone "$2" "$pid" || return 124
	wait "$pid" || rc=$?
	SROUTER_RC[$name]=$rc
	return $rc
}

# srouter_stop NAME [TIMEOUT_S]: SIGTERM srouter NAME, wait up to TIMEOUT_S (default 5),
# then SIGKILL it and what it started. Sets SROUTER_RC[NAME]; returns 0.
srouter_stop() {
	local name=$1 t=${2:-5} pid=${SROUTER_PID[$1]-} rc=0
	[[ -n $pid && -z ${SROUTER_RC[$name]-} ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! _srt_wait_gone "$t" "$pid"; then
		echo "srouter $name ignored SIGTERM for ${t}s: SIGKILL" >&2
		_srt_kill 0 "$pid"
	fi
	wait "$pid" 2>/dev/null || rc=$?
	SROUTER_RC[$name]=$rc
	return 0
}

# srouter_wg_conf FILE KEYFILE PORT ADDRESS PEER_PUB ENDPOINT ALLOWED_IPS [EXTRA…]: write a
# wg-quick file for srouter, readable by uid 65534: [Interface] with the private key in
# KEYFILE, ListenPort PORT, Address ADDRESS and EXTRA lines (e.g. "Table = off"); one [Peer]
# with PEER_PUB, ENDPOINT ("" for none) and ALLOWED_IPS.
srouter_wg_conf() {
	local file=$1 key=$2 port=$3 address=$4 peer=$5 endpoint=$6 allowed=$7 line
	shift 7
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = %s\nAddress = %s\n' "$(cat "$key")" "$port" "$address"
		for line in "$@"; do printf '%s\n' "$line"; done
		printf '\n[Peer]\nPublicKey = %s\n' "$peer"
		[[ -z $endpoint ]] || printf 'Endpoint = %s\n' "$endpoint"
		printf 'AllowedIPs = %s\n' "$allowed"
	} >"$file" && chmod 0644 "$file"
}

# MARK: - A tunnel between wireguard-go in p1 and srouter in r

# tunnel_up NAME ARGS…: wireguard-go peer w1 in p1 (10.77.0.1/24, fe80::1) and srouter NAME
# in r (uid 65534) with a wg-quick file for interface ${SRT_PREFIX}r (10.77.0.2/24, fe80::2,
# port 51900) whose peer is w1, with a preshared key ($SRT_TMP/psk) on both sides; ARGS are
# extra `srouter run` options before `--`; the guest is SRT_GUEST_CMD (an array; default
# `sleep 600`). Sets P1IF,
# RIF, R_PUB and UAPI_SOCK, and waits for the first handshake.
tunnel_up() {
	local name=$1
	shift
	wg_peer_up p1 w1 51820 || return 1
	P1IF=$(wg_if w1)
	n1 ip addr add 10.77.0.1/24 dev "$P1IF" && n1 ip addr add fe80::1/64 dev "$P1IF" || return 1
	RIF=${SRT_PREFIX}r
	"$SROUTER" genkey >"$SRT_TMP/r.key" && R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key") || return 1
	"$SROUTER" genpsk >"$SRT_TMP/psk" || return 1
	cat >"$SRT_TMP/$RIF.conf" <<EOF
# srouter's side of the tunnel, as a DN42 operator writes it
[Interface]
PrivateKey = $(cat "$SRT_TMP/r.key")
ListenPort = 51900
Address = 10.77.0.2/24, fe80::2/64
Table = off

[Peer]
PublicKey = ${WG_PUB[w1]}
PresharedKey = $(cat "$SRT_TMP/psk")
Endpoint = $P1_V4:51820
AllowedIPs = 10.77.0.1/32, fe80::1/128
EOF
	chmod 0644 "$SRT_TMP/$RIF.conf" && chmod 0755 "$SRT_TMP"
	wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.2/32,fe80::2/128" || return 1
	n1 wg set "$P1IF" peer "$R_PUB" preshared-key "$SRT_TMP/psk" || return 1
	if [[ -n ${SRT_ROUTER_CMD-} ]]; then
		srouter_start "$name" --log-level info "$@" --wg "$SRT_TMP/$RIF.conf" || return 1
	else
		local guest=(sleep 600)
		[[ -z ${SRT_GUEST_CMD+set} ]] || guest=("${SRT_GUEST_CMD[@]}")
		srouter_start "$name" --log-level info "$@" --wg "$SRT_TMP/$RIF.conf" -- "${guest[@]}" || return 1
	fi
	UAPI_SOCK=${SROUTER_DIR[$name]}/wireguard/$RIF.sock
	wait_for "handshake between srouter and wireguard-go" 15 _srt_handshake_seen
}

# relay_engage RELAY_LOG PING_TARGET: point wireguard-go peer w1's endpoint for srouter at
# the lossy relay (127.0.0.1:51821) until the relay has carried traffic both ways, i.e.
# srouter roamed to it. wireguard-go roams too: a packet srouter sent straight to p1 before it
# saw the relay would pull w1 back, so the endpoint is set again, up to 5 times.
relay_engage() {
	local log=$1 target=$2 try poll
	for try in 1 2 3 4 5; do
		n1 wg set "$P1IF" peer "$R_PUB" endpoint 127.0.0.1:51821 || return 1
		n1 ping -q -c 2 -i 0.2 -W 1 "$target" >/dev/null 2>&1 || true
		for poll in $(seq 1 15); do
			grep -q "both ways" "$log" && return 0
			sleep 0.2
		done
	done
	_srt_fail_return "the relay never carried traffic both ways"
	return 1
}

_srt_handshake_seen() { [[ $(n1 wg show "$P1IF" latest-handshakes | awk '{print $2}') != 0 ]]; }

# uapi_get: srouter's answer to `get=1` on $UAPI_SOCK (uid 65534 cannot write
# /var/run/wireguard, so the socket is in srouter's XDG_RUNTIME_DIR).
uapi_get() {
	python3 - "$UAPI_SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(b"get=1\n\n")
data = b""
while not data.endswith(b"\n\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode(), end="")
PY
}

# MARK: - BIRD

# bird_peer_p1 PROTOCOL P1_PREFIX R_PREFIX: BIRD 2 in p1 behind wireguard-go w1
# (10.77.0.1/24, AS 65001) with a BGP protocol PROTOCOL to 10.77.0.2 (AS 65002: srouter's
# guest), announcing the static P1_PREFIX and exporting what BGP brings into p1's kernel
# table; the tunnel lets R_PREFIX through from srouter. Writes srouter's side,
# $SRT_TMP/$RIF.conf (interface ${SRT_PREFIX}r, 10.77.0.2/24, port 51900); sets P1IF, RIF,
# R_PUB and the function p1_birdc.
bird_peer_p1() {
	local proto=$1 p1_prefix=$2 r_prefix=$3
	wg_peer_up p1 w1 51820 || return 1
	P1IF=$(wg_if w1) RIF=${SRT_PREFIX}r
	"$SROUTER" genkey >"$SRT_TMP/r.key" && R_PUB=$("$SROUTER" pubkey <"$SRT_TMP/r.key") ||
		{ _srt_fail_return "bird_peer_p1: srouter's key"; return 1; }
	n1 ip addr add 10.77.0.1/24 dev "$P1IF" &&
		wg_peer_add p1 w1 "$R_PUB" "$R1_V4:51900" "10.77.0.2/32,$r_prefix" &&
		srouter_wg_conf "$SRT_TMP/$RIF.conf" "$SRT_TMP/r.key" 51900 "10.77.0.2/24" "${WG_PUB[w1]}" \
			"$P1_V4:51820" "10.77.0.1/32, $p1_prefix" "Table = off" || return 1
	cat >"$SRT_TMP/p1.conf" <<EOF
log "$SRT_TMP/bird-p1.log" all;
router id 10.77.0.1;
protocol device { scan time 2; }
protocol static { ipv4; route $p1_prefix blackhole; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
protocol bgp $proto {
    local 10.77.0.1 as 65001;
    neighbor 10.77.0.2 as 65002;
    hold time 9;
    connect retry time 2;
    ipv4 { import all; export where source = RTS_STATIC; };
}
EOF
	bg_start p1 bird-p1 bird -f -c "$SRT_TMP/p1.conf" -s "$SRT_TMP/bird-p1.ctl" -P "$SRT_TMP/bird-p1.pid"
}
p1_birdc() { n1 birdc -s "$SRT_TMP/bird-p1.ctl" "$@"; }

# bird_established PROTOCOL BIRDC…: the BGP protocol PROTOCOL of the BIRD that `BIRDC show
# protocols` asks (birdc with its -s, run where it must be) is Established.
bird_established() {
	local proto=$1
	shift
	"$@" show protocols "$proto" 2>/dev/null | grep -qE "^$proto +BGP .* Established"
}

# bird_not_established PROTOCOL BIRDC…: that BIRD answers, and PROTOCOL is not Established.
bird_not_established() {
	local proto=$1
	shift
	"$@" show protocols "$proto" | grep -E "^$proto +BGP" | grep -vq Established
}

# kernel_bird_route NS PREFIX GATEWAY: the kernel of namespace NS has PREFIX (IPv4 or IPv6)
# from BIRD via GATEWAY ("10.78.0.2", "fe80::2", or "inet6 fe80::2" for IPv4 over IPv6).
kernel_bird_route() {
	local family=-4
	[[ $2 == *:* ]] && family=-6
	ip -n "$1" "$family" route show "$2" | grep -q "via $3 .*proto bird"
}

# MARK: - Cleanup

# on_cleanup CMD…: have cleanup run CMD first (before it stops processes and deletes the
# namespaces), the last registered first: what a test made outside this library, such as a
# container. CMD's failure is ignored.
on_cleanup() { SRT_CLEANUP_CMDS=("$(printf '%q ' "$@")" "${SRT_CLEANUP_CMDS[@]}"); }

# cleanup: run the on_cleanup commands; stop every srouter, tracked process and wireguard-go;
# kill anything still in our namespaces; delete them, the UAPI sockets and $SRT_TMP.
# Idempotent; never fails.
cleanup() {
	((_SRT_CLEANED)) && return 0
	_SRT_CLEANED=1
	set +e
	local name ns pids=() p
	for p in "${SRT_CLEANUP_CMDS[@]}"; do eval "$p"; done
	for name in "${!SROUTER_PID[@]}"; do srouter_stop "$name" 5; done
	_srt_kill 3 "${SRT_BG_PIDS[@]}"
	for name in "${!WG_PID[@]}"; do pids+=("${WG_PID[$name]}"); done
	_srt_kill 3 "${pids[@]}"
	for ns in "${SRT_NETNS[@]}"; do
		pids=()
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		((${#pids[@]})) && _srt_kill 2 "${pids[@]}"
		ip netns del "$ns" 2>/dev/null || [[ ! -e /var/run/netns/$ns ]] ||
			echo "cleanup: could not delete netns $ns" >&2
	done
	for name in "${!WG_IF[@]}"; do rm -f "/var/run/wireguard/${WG_IF[$name]}.sock"; done
	if [[ ${SRT_KEEP-} == 1 ]]; then
		echo "cleanup: kept $SRT_TMP" >&2
	else
		rm -rf "$SRT_TMP"
	fi
	SRT_NETNS=() SRT_BG_PIDS=()
	return 0
}

_srt_on_err() {
	local rc=$1 cmd=$2 i where=""
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		where+="${where:+ ← }$(basename "${BASH_SOURCE[$i]}"):${BASH_LINENO[$((i - 1))]}"
		[[ ${FUNCNAME[$i]-} == main ]] || where+=" (${FUNCNAME[$i]})"
	done
	_SRT_ERR="'$cmd' returned $rc at $where"
	_SRT_ERR_SITE=${BASH_LINENO[${#BASH_LINENO[@]} - 2]}
}

_srt_on_exit() {
	local rc=$?
	trap - ERR
	set +e
	if ((!_SRT_SUMMARY_DONE)); then
		case $rc in
		129) _SRT_ERR="SIGHUP" ;;
		130) _SRT_ERR="SIGINT" ;;
		143) _SRT_ERR="SIGTERM" ;;
		esac
		if ((rc != 0)); then
			if [[ $SRT_FAILED@$_SRT_ERR_SITE == "$_SRT_FAIL_SITE" ]]; then
				printf 'abort (exit %d): %s\n' "$rc" "${_SRT_ERR:-exit $rc}"
			else
				fail "aborted (exit $rc): ${_SRT_ERR:-exit $rc}"
			fi
		fi
		cleanup
		_SRT_SUMMARY_DONE=1
		printf '%s: %d passed, %d failed\n' "$SRT_NAME" "$SRT_PASSED" "$SRT_FAILED"
		((rc == 0 && SRT_FAILED > 0)) && rc=1
		exit "$rc"
	fi
	cleanup
	exit "$rc"
}

trap '_srt_on_err $? "$BASH_COMMAND"' ERR
trap _srt_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
