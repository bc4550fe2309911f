#!/usr/bin/env bash
# srouter's sandbox, shown in one minute. No root needed for srouter itself, no network
# namespace, no outside network: every guest below is an ordinary program.
#
#   ./Guest/examples/sandbox-demo.sh          (after: swift build -c release)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
srouter="${SROUTER:-}"
if [[ -z $srouter ]]; then
    for candidate in "$root/.build/release/srouter" "$root/.build/debug/srouter"; do
        [[ -x $candidate ]] && { srouter=$candidate; break; }
    done
fi
[[ -x $srouter ]] || { echo "build srouter first: swift build -c release" >&2; exit 1; }
probes="$(dirname "$srouter")"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; echo "[exit $?]"; }

say "The guest runs with no capabilities, no_new_privs, and srouter's seccomp filter"
show "$srouter" run -- sh -c 'grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'

say "Its network is srouter's: an AF_INET socket is served by srouter's own stack"
show "$srouter" run -- python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM)'

say "AF_UNIX runs natively: two guest processes talk over a socket"
tmp="$(mktemp -d)"
show "$srouter" run -- python3 -c "
import os, socket
path = '$tmp/demo.sock'
server = socket.socket(socket.AF_UNIX); server.bind(path); server.listen(1)
if os.fork() == 0:
    client = socket.socket(socket.AF_UNIX); client.connect(path); client.send(b'ping')
    print('child got', client.recv(4).decode()); os._exit(0)
conn, _ = server.accept(); print('parent got', conn.recv(4).decode()); conn.send(b'pong')
os.wait()"
rm -rf "$tmp"

say "Interfaces come from srouter, not the host (if_nametoindex asks through an AF_UNIX socket)"
show "$srouter" run -- python3 -c 'import socket; print("lo is", socket.if_nametoindex("lo")); socket.if_nametoindex("eth0")'

if [[ -x $probes/probe-hostile ]]; then
    say "A hostile guest tries every way out (summary)"
    # The guest finds srouter's pid as its guard's parent (guest → guard → srouter).
    "$srouter" run -- sh -c 'exec "$0" --srouter-pid "$(awk "/^PPid:/ {print \$2}" /proc/$PPID/status)"' \
        "$probes/probe-hostile" | sed 's/^/  /' | tail -n 22
fi

say "Exit statuses are the guest's: false → 1, death by SIGTERM → 143, missing command → 127"
show "$srouter" run -- false
show "$srouter" run -- sh -c 'kill -TERM $$'
show "$srouter" run -- no-such-daemon

say "A bad policy names its file and entry, and nothing starts"
bad="$(mktemp)"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", "sokcet"], "action": "SCMP_ACT_ALLOW"}]}' >"$bad"
show "$srouter" run --policy "$bad" -- true
rm -f "$bad"

if command -v bird >/dev/null; then
    say "BIRD 2, unmodified: its configuration parses; its rtnetlink socket is srouter's to serve"
    show "$srouter" run -- bird -p -c "$root/Guest/examples/sandbox/bird.conf"
    show "$srouter" run -- bird -f -c "$root/Guest/examples/sandbox/bird.conf" -s "${TMPDIR:-/tmp}/srouter-demo-bird.ctl"
else
    echo "(install bird2 to see BIRD started under srouter: apt-get install --no-install-recommends bird2)"
fi
echo
echo "srouter $("$srouter" --version): sandbox demo done."
