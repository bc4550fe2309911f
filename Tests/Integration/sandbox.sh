#!/usr/bin/env bash
# sandbox.sh — srouter's process duties and sandbox basics, as root and as uid 65534.
#
#   ns $NS_R (lo only matters here)
#   srouter run -- CMD   as root, and as uid 65534 with no capabilities (as_nobody)
#
# Exit statuses (true, false, death by signal, command not found, bad policy), signal
# forwarding, a daemonizing guest, a failing guest's leftovers, SIGKILL to srouter, children
# and threads of the guest served, an AF_UNIX round trip between two guest processes, a guest
# killed with calls in flight, and interface ioctls compared with Linux's own answers.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

topology_up
work="$SRT_TMP/sandbox"
mkdir -p "$work"
chmod 0777 "$work"

# as USER CMD…: run CMD in ns r as root or as nobody.
as() {
    local who=$1
    shift
    if [[ $who == nobody ]]; then nr as_nobody "$@"; else nr "$@"; fi
}

# start_bg USER OUT ERR ARGS…: `srouter ARGS…` in the background as USER; PID is srouter's
# own pid (the subshell execs ip netns exec, which execs setpriv, which execs srouter).
start_bg() {
    local who=$1 out=$2 err=$3
    shift 3
    local prefix=()
    [[ $who == nobody ]] && prefix=("${SRT_AS_NOBODY[@]}")
    (exec ip netns exec "$NS_R" "${prefix[@]}" "$SROUTER" "$@") >"$out" 2>"$err" &
    PID=$!
    bg_track "$PID"
}

# status_of USER ARGS…: srouter's exit status for `srouter ARGS…` run as USER.
status_of() {
    local who=$1 rc=0
    shift
    as "$who" "$SROUTER" "$@" >"$work/out" 2>&1 || rc=$?
    echo "$rc"
}

expect_status() {
    local who=$1 want=$2 desc=$3
    shift 3
    local got
    got=$(status_of "$who" "$@")
    if [[ $got == "$want" ]]; then
        pass "$who: $desc exits $want"
    else
        fail "$who: $desc exits $got, want $want: $(head -c 400 "$work/out")"
    fi
}

for who in root nobody; do
    # MARK: exit statuses
    expect_status "$who" 0 "run -- true" run -- true
    expect_status "$who" 1 "run -- false" run -- false
    expect_status "$who" 143 "run -- sh -c 'kill -TERM \$\$'" run -- sh -c 'kill -TERM $$'
    expect_status "$who" 7 "run -- sh -c 'exit 7'" run -- sh -c 'exit 7'
    expect_status "$who" 127 "a command that does not exist" run -- srouter-no-such-command
    check "$who: says the command was not found" grep -q "srouter-no-such-command: command not found" "$work/out"
    expect_status "$who" 126 "a file that is not executable" run -- /etc/hostname

    # MARK: the guest's credentials
    as "$who" "$SROUTER" run -- sh -c 'cat /proc/self/status' >"$work/status" 2>&1
    for field in CapInh CapPrm CapEff CapBnd CapAmb; do
        check "$who: guest $field is empty" grep -qE "^$field:\s+0+$" "$work/status"
    done
    check "$who: guest has no_new_privs" grep -qE '^NoNewPrivs:\s+1$' "$work/status"
    check "$who: guest is under a seccomp filter" grep -qE '^Seccomp:\s+2$' "$work/status"
    # capset: told it succeeded (FRR raises CAP_NET_ADMIN around its netlink writes), nothing
    # granted, nothing logged as a denial.
    as "$who" "$SROUTER" run -- python3 -c '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)(1 << 12, 1 << 12, 0, 0, 0, 0)  # effective, permitted: CAP_NET_ADMIN
print("capset", libc.syscall(126, header, data), ctypes.get_errno())
header = (ctypes.c_uint32 * 2)(0x20080522, 0)
libc.syscall(125, header, data)
print("capget-permitted", data[1])' >"$work/capset" 2>&1
    check "$who: capset succeeds for the guest" grep -qx "capset 0 0" "$work/capset"
    check "$who: ... and grants nothing" grep -qx "capget-permitted 0" "$work/capset"
    check "$who: ... and is not logged as denied" bash -c "! grep -q 'denied a system call' '$work/capset'"

    # MARK: bad policies: exit 2, file and entry named, nothing started
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", "sokcet"], "action": "SCMP_ACT_ALLOW"}]}' >"$work/bad.json"
    rm -f "$work/started"
    expect_status "$who" 2 "an invalid policy" run --policy "$work/bad.json" -- touch "$work/started"
    check "$who: the error names the file and the entry" grep -q "$work/bad.json: syscalls\[0\].names\[1\]: unknown system call \"sokcet\"" "$work/out"
    check "$who: nothing was started under an invalid policy" test ! -e "$work/started"
    expect_status "$who" 2 "a missing policy file" run --policy "$work/missing.json" -- true
    check "$who: the error names the missing file" grep -q "$work/missing.json" "$work/out"
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO"}]}' >"$work/noexec.json"
    expect_status "$who" 2 "a policy that denies execve" run --policy "$work/noexec.json" -- true

    # MARK: a policy is enforced
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}' >"$work/nomkdir.json"
    as "$who" "$SROUTER" run --policy "$work/nomkdir.json" -- mkdir "$work/dir-$who" >"$work/out" 2>&1 || true
    check "$who: a call the policy denies fails with its errnoRet" grep -q "Permission denied" "$work/out"
    check "$who: ... and did not happen" test ! -e "$work/dir-$who"

    # MARK: signals are forwarded
    for sig in USR1 USR2 HUP INT TERM; do
        rm -f "$work/ready"
        start_bg "$who" "$work/out" "$work/err" run -- sh -c "trap 'exit 42' $sig; touch $work/ready; while :; do sleep 0.05; done"
        pid=$PID
        if wait_for "$who: guest ready for SIG$sig" 10 test -e "$work/ready"; then
            # srouter's own pid: the chain ip netns exec → setpriv → srouter is exec'd.
            kill -s "$sig" "$pid"
            rc=0
            wait "$pid" || rc=$?
            if [[ $rc == 42 ]]; then pass "$who: SIG$sig reaches the guest"; else fail "$who: SIG$sig: srouter exited $rc, want 42"; fi
        fi
    done

    # MARK: a daemonizing guest is served until its last process exits
    rm -f "$work/daemon-done"
    start=$(date +%s%N)
    rc=0
    as "$who" "$SROUTER" run -- sh -c "(sleep 1; touch $work/daemon-done) & exit 0" >"$work/out" 2>&1 || rc=$?
    elapsed=$((($(date +%s%N) - start) / 1000000))
    check "$who: a daemonized guest's status is its main process's (0)" test "$rc" = 0
    check "$who: srouter waited for the daemon ($elapsed ms)" test -e "$work/daemon-done"

    # MARK: a failing guest takes its leftovers with it
    rc=0
    as "$who" "$SROUTER" run -- sh -c "sleep 60 & echo \$! > $work/leftover; exit 3" >"$work/out" 2>&1 || rc=$?
    check "$who: a failing guest's status is kept (3)" test "$rc" = 3
    leftover=$(cat "$work/leftover")
    if wait_for "$who: its leftover process was killed" 5 sh -c "! kill -0 $leftover 2>/dev/null"; then pass "$who: its leftover process was killed"; fi

    # MARK: SIGKILL to srouter kills every guest process
    rm -f "$work/pids"
    start_bg "$who" "$work/out" "$work/err" run -- sh -c "sleep 60 & echo \$! >> $work/pids; (sleep 61 & echo \$! >> $work/pids; wait) & echo \$\$ >> $work/pids; wait"
    pid=$PID
    if wait_for "$who: guest processes started" 10 sh -c "test \$(wc -l < $work/pids 2>/dev/null || echo 0) -ge 3"; then
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null || true
        for guest in $(cat "$work/pids"); do
            if wait_for "$who: SIGKILL to srouter kills guest process $guest" 5 sh -c "! kill -0 $guest 2>/dev/null"; then pass "$who: SIGKILL to srouter kills guest process $guest"; fi
        done
    fi

    # MARK: if the guard dies, srouter stops every guest process and exits 125
    rm -f "$work/pids"
    start_bg "$who" "$work/out" "$work/err" run -- sh -c "sleep 60 & echo \$! >> $work/pids; (sleep 61 & echo \$! >> $work/pids); echo \$\$ >> $work/pids; wait"
    pid=$PID
    if wait_for "$who: guest processes started" 10 sh -c "test \$(wc -l < $work/pids 2>/dev/null || echo 0) -ge 3"; then
        kill -KILL "$(pgrep -P "$pid" -x srouter-guard)"
        rc=0
        wait "$pid" || rc=$?
        check "$who: srouter exits 125 when its guard is killed" test "$rc" = 125
        for guest in $(cat "$work/pids"); do
            if wait_for "$who: guest process $guest stopped with the guard" 5 sh -c "! kill -0 $guest 2>/dev/null"; then pass "$who: guest process $guest stopped with the guard"; fi
        done
    fi

    # MARK: children and threads of the guest are served
    # Served: the guest's descriptor is an AF_UNIX pair end, yet SO_DOMAIN says AF_INET (2).
    as "$who" "$SROUTER" run -- sh -c 'sh -c "python3 -c \"import socket; s = socket.socket(); print(\\\"domain\\\", s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN))\""' >"$work/out" 2>&1 || true
    check "$who: a grandchild's socket(AF_INET) is served (SO_DOMAIN 2)" grep -q "domain 2" "$work/out"
    rc=0
    as "$who" "$SROUTER" run -- "$PROBES/probe-threads" -t 8 -n 20 >"$work/out" 2>&1 || rc=$?
    check "$who: a multi-threaded guest is served consistently" test "$rc" = 0
    check "$who: every thread got a served socket" grep -q "results consistent: yes, socket(AF_INET)=fd" "$work/out"

    # MARK: AF_UNIX between two guest processes
    rc=0
    as "$who" "$SROUTER" run -- "$PROBES/probe-unix" "$work" >"$work/out" 2>&1 || rc=$?
    check "$who: AF_UNIX round trips between guest processes work ($(tail -n1 "$work/out"))" test "$rc" = 0

    # MARK: a guest killed with calls in flight
    rm -f "$work/guestpid"
    start_bg "$who" "$work/out" "$work/err" run --log-level info -- sh -c "echo \$\$ > $work/guestpid; exec $PROBES/probe-threads -t 8 -n 100000"
    pid=$PID
    wait_for "$who: busy guest started" 10 test -s "$work/guestpid" || true
    sleep 0.5
    kill -KILL "$(cat "$work/guestpid")" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
    check "$who: srouter reports the guest's SIGKILL (137)" test "$rc" = 137
    if grep -qE "(warning|error):" "$work/err"; then
        fail "$who: calls withdrawn by a dying guest are dropped quietly: $(grep -E '(warning|error):' "$work/err" | head -3)"
    else
        pass "$who: calls withdrawn by a dying guest are dropped quietly"
    fi
done

# MARK: as PID 1 (a container's entrypoint): the exit status passes through, no zombies
rc=0
zombies=$(nr unshare --pid --fork --mount-proc "$SROUTER" run -- sh -c \
    'for i in 1 2 3; do (sleep 0.1 &); done; sleep 1; ps -eo stat= | grep -c "^Z"; exit 5') || rc=$?
check "PID 1: srouter exits with the guest's status (5)" test "$rc" = 5
check "PID 1: orphans of the guest are reaped (zombies: $zombies)" test "$zombies" = 0

# MARK: interface ioctls answer as Linux does (native: a fresh netns with lo up)
cat >"$work/ifprobe.py" <<'PY'
import array, errno, fcntl, socket, struct
def attempt(name, f):
    try:
        print(name, f())
    except OSError as e:
        print(name, "error", errno.errorcode.get(e.errno, e.errno))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
attempt("if_nametoindex(lo)", lambda: socket.if_nametoindex("lo"))
attempt("if_nametoindex(nonexistent0)", lambda: socket.if_nametoindex("nonexistent0"))
attempt("if_indextoname(1)", lambda: socket.if_indextoname(1))
attempt("if_indextoname(999)", lambda: socket.if_indextoname(999))
ifreq = lambda name: struct.pack("16s24x", name.encode())
attempt("SIOCGIFFLAGS(lo)", lambda: struct.unpack_from("16xh", fcntl.ioctl(s, 0x8913, ifreq("lo")))[0])
attempt("SIOCGIFMTU(lo)", lambda: struct.unpack_from("16xi", fcntl.ioctl(s, 0x8921, ifreq("lo")))[0])
attempt("SIOCGIFINDEX(long name)", lambda: struct.unpack_from("16xi", fcntl.ioctl(s, 0x8933, struct.pack("16s24x", b"lo\0xxxxxxxxxxxxx")))[0])
attempt("SIOCGIFINDEX(nonexistent0)", lambda: fcntl.ioctl(s, 0x8933, ifreq("nonexistent0")))
attempt("SIOCGIFNAME(7)", lambda: fcntl.ioctl(s, 0x8910, struct.pack("16si20x", b"", 7)))
attempt("SIOCGIFINDEX(bad pointer)", lambda: fcntl.ioctl(s, 0x8933, 8))
buf = array.array("B", b"\0" * 40 * 4)
addr, _ = buf.buffer_info()
def conf():
    req = struct.pack("iiQ", len(buf), 0, addr)
    out = fcntl.ioctl(s, 0x8912, req)
    n = struct.unpack_from("i", out)[0] // 40
    raw = buf.tobytes()
    return [(raw[i*40:i*40+16].rstrip(b"\0").decode(), socket.inet_ntoa(raw[i*40+20:i*40+24])) for i in range(n)]
attempt("SIOCGIFCONF", conf)
attempt("SIOCGIFCONF(length only)", lambda: struct.unpack_from("i", fcntl.ioctl(s, 0x8912, struct.pack("iiQ", 0, 0, 0)))[0])
attempt("after EFAULT, if_nametoindex(lo)", lambda: socket.if_nametoindex("lo"))
PY
unshare -n sh -c "ip link set lo up && python3 $work/ifprobe.py" >"$work/native.txt" 2>&1
nr as_nobody "$SROUTER" run -- python3 "$work/ifprobe.py" 2>&1 | grep -v "^srouter: " >"$work/srouter.txt" || true
if diff -u "$work/native.txt" "$work/srouter.txt" >"$work/ioctl.diff"; then
    pass "interface ioctls answer as Linux does ($(wc -l <"$work/native.txt") probes, EFAULT included)"
else
    fail "interface ioctls differ from Linux: $(cat "$work/ioctl.diff")"
fi

summary
