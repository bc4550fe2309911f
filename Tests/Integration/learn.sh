#!/usr/bin/env bash
# learn.sh — `srouter run --learn FILE` records a workload's system calls and writes a
# minimal seccomp profile; given back as --policy, the same workload runs, and a call it
# never made is refused.
#
#   ns $NS_P1                                   ns $NS_R (uid 65534)
#   wireguard-go $P1IF  10.77.0.1/24, fe80::1   srouter run --learn|--policy FILE --wg $RIF.conf
#   198.18.1.1:51820 ───────── veth ─────────── -- sh workload.sh: ping p1 across the tunnel,
#                                                  ip -br addr, BIRD (device, direct, static,
#                                                  kernel) for a few seconds, birdc, ip route
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
tunnel_up wg >/dev/null || true
srouter_stop wg  # tunnel_up's own srouter (a sleep) frees the tunnel's port for the runs below

work=$SRT_TMP/learn
mkdir -p "$work"
# ping carries cap_net_raw as a file capability, which an empty bounding set refuses to exec:
# the guest runs a copy without it (ICMP datagram sockets, as unprivileged ping does).
install -m 0755 "$(command -v ping)" "$work/ping"
cat >"$work/bird.conf" <<'EOF'
log stderr all;
router id 10.77.0.2;
protocol device { scan time 1; }
protocol direct { ipv4; ipv6; }
protocol static { ipv4; route 192.0.2.0/24 blackhole; }
protocol kernel { ipv4 { export all; }; scan time 1; }
EOF
cat >"$work/workload.sh" <<EOF
set -e
$work/ping -c 2 -i 0.2 -W 2 10.77.0.1 | grep -q ' 0% packet loss' && echo "ping ok"
ip -br addr | grep -q '^$RIF .*10.77.0.2/24' && echo "ip ok"
python3 $work/capset.py && echo "capset ok"
bird -f -c $work/bird.conf -s $work/bird.ctl 2>$work/bird.err &
pid=\$!
sleep 0.1  # always: learning records only the paths a run takes, so the replay must not take new ones
for i in \$(seq 1 50); do
    ip route | grep -q '^blackhole 192.0.2.0/24 proto bird' && break
    sleep 0.2
done
birdc -s $work/bird.ctl show route | grep -q '192.0.2.0/24 .*blackhole' && echo "birdc ok"
ip route | grep -q '^blackhole 192.0.2.0/24 proto bird' && echo "kernel route ok"
kill -TERM \$pid
wait \$pid && echo "bird stopped"
EOF
# capset raising CAP_NET_ADMIN, as FRR's daemons do around their netlink writes: the default
# policy answers it with success, and so must the learning run and the learned profile.
cat >"$work/capset.py" <<'EOF'
import ctypes, platform, sys
SYS_capset = {"x86_64": 126, "aarch64": 91}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
data = (ctypes.c_uint32 * 6)(1 << 12, 1 << 12, 0, 0, 0, 0)  # effective, permitted: CAP_NET_ADMIN
sys.exit(0 if libc.syscall(SYS_capset, header, data) == 0 else ctypes.get_errno())
EOF
chmod -R a+rwX "$work"

run_workload() {  # run_workload OUT ARGS…: the workload under srouter run ARGS, in ns r
    local out=$1
    shift
    rm -f "$work/bird.ctl"
    (cd "$work" && nr as_nobody env HOME="$work" XDG_RUNTIME_DIR="$work" \
        timeout 60 "$SROUTER" run --wg "$SRT_TMP/$RIF.conf" "$@" -- sh "$work/workload.sh") >"$out" 2>&1
}

expect_workload() {  # expect_workload LABEL OUT: the workload's five steps all reported
    local step
    for step in "ping ok" "ip ok" "capset ok" "birdc ok" "kernel route ok" "bird stopped"; do
        check "$1: $step" grep -qx "$step" "$2"
    done
}

profile=$work/learned.json
rc=0
run_workload "$work/learn.out" --learn "$profile" || rc=$?
check "--learn: the workload exits 0" test "$rc" = 0
expect_workload "--learn" "$work/learn.out"
check "--learn: the profile is written and srouter says so" grep -q "learned a policy file=$profile" "$work/learn.out"
check "--learn: srouter policy check accepts the profile" "$SROUTER" policy check "$profile"
names=$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(' '.join(p['syscalls'][0]['names']))" "$profile")
default_count=$("$SROUTER" policy default | python3 -c "import json,sys; print(sum(len(r['names']) for r in json.load(sys.stdin)['syscalls']))")
count=$(wc -w <<<"$names")
check "--learn: the profile allows $count calls, fewer than the default policy's $default_count" test "$count" -lt "$default_count"
for call in execve openat ioctl socket rt_sigreturn; do
    check "--learn: the profile allows $call (the workload made it)" grep -qw "$call" <<<"$names"
done
check "--learn: the profile answers capset with success (errnoRet 0), as the default policy does" python3 -c "
import json, sys
rules = json.load(open(sys.argv[1]))['syscalls']
sys.exit(0 if any(r['names'] == ['capset'] and r['action'] == 'SCMP_ACT_ERRNO' and r.get('errnoRet') == 0 for r in rules) else 1)" "$profile"
for call in mkdir mkdirat unlinkat mount; do
    check "--learn: the profile does not allow $call (never made)" bash -c "! grep -qw $call <<<'$names'"
done

rc=0
run_workload "$work/replay.out" --policy "$profile" || rc=$?
[[ $rc == 0 ]] || grep -E "denied|not permitted" "$work/replay.out" >&2 || true
check "--policy learned.json: the same workload exits 0" test "$rc" = 0
expect_workload "--policy learned.json" "$work/replay.out"
check "--policy learned.json: nothing was refused" bash -c "! grep -q 'Operation not permitted' '$work/replay.out' '$work/bird.err'"

rc=0
(cd "$work" && nr as_nobody timeout 20 "$SROUTER" run --policy "$profile" -- sh -c "mkdir $work/newdir") \
    >"$work/other.out" 2>&1 || rc=$?
check "--policy learned.json: a call the workload never made (mkdir) fails" test "$rc" != 0
check "... with EPERM" grep -q "Operation not permitted" "$work/other.out"
check "... and did nothing" test ! -e "$work/newdir"
check "... and srouter logs the denial: the call and the thread" \
    grep -qE "denied a system call errno=EPERM syscall=mkdir tid=[0-9]+" "$work/other.out"

rc=0
"$SROUTER" run --learn "$work/x.json" --policy "$profile" -- true >"$work/both.out" 2>&1 || rc=$?
check "--learn with --policy is refused" test "$rc" != 0
check "... saying why" grep -q "cannot run under --policy" "$work/both.out"
summary
