#!/usr/bin/env bash
# operator.sh — the operator's tools against a running router (issue 10): the control
# socket, `srouter show … [--json]`, the stock `wg show` on srouter's UAPI, `srouter capture`
# read back with tshark, metrics through the control socket and over HTTP inside the
# tunnel, and bad or stalling clients.
#
#   ns $NS_P1                                     ns $NS_R
#   wireguard-go $P1IF  10.77.0.1/24, fe80::1     srouter run --name ops --metrics 10.77.0.2:9100
#   198.18.1.1:51820 ────────── veth ──────────── 198.18.1.2:51900   (uid 65534)
#   ping, TCP to :7000, curl :9100                 guest: ip route add …; TCP echo :7000, UDP :7001
#
# srouter runs as uid 65534, so its control socket is $XDG_RUNTIME_DIR/srouter/ops.sock
# (it cannot write /run/srouter); the clients run as uid 65534 too.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

command -v tshark >/dev/null || { fail "tshark is not installed (Tests/setup.sh installs it)"; summary; }

cat >"$SRT_TMP/guest.py" <<'PY'
# The guest: a TCP echo server on :7000 and a bound UDP socket on :7001, until killed.
import selectors, socket
sel = selectors.DefaultSelector()
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", 7000))
listener.listen(8)
sel.register(listener, selectors.EVENT_READ)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 7001))
while True:
    for key, _ in sel.select():
        if key.fileobj is listener:
            conn, _ = listener.accept()
            sel.register(conn, selectors.EVENT_READ)
        else:
            data = key.fileobj.recv(4096)
            if data:
                key.fileobj.sendall(data)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
PY
RIF=${SRT_PREFIX}r
cat >"$SRT_TMP/guest.sh" <<EOF
#!/bin/sh
set -e
ip route add 10.123.0.0/16 via 10.77.0.1 dev $RIF
ip route add 10.124.0.0/24 dev $RIF table 100
# The guest runs as srouter's uid, so it may connect to the control socket: srouter must refuse it.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"{\"command\":\"show\",\"report\":\"interfaces\"}\\n")
except BrokenPipeError:
    pass  # refused at accept: the answer is already there to read
open(sys.argv[2], "wb").write(s.recv(4096))' "\$XDG_RUNTIME_DIR/srouter/ops.sock" "\$XDG_RUNTIME_DIR/guest-control.out"
# ... and its UAPI socket, which would give it the private key.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"get=1\\n\\n")
    answer = s.recv(4096)
except OSError:
    answer = b""
open(sys.argv[2], "wb").write(answer)' "\$XDG_RUNTIME_DIR/wireguard/$RIF.sock" "\$XDG_RUNTIME_DIR/guest-uapi.out"
exec /usr/bin/python3 $SRT_TMP/guest.py
EOF
chmod 0755 "$SRT_TMP/guest.sh"
chmod 0644 "$SRT_TMP/guest.py"

topology_up
start_s=$(date +%s)
SRT_GUEST_CMD=(sh "$SRT_TMP/guest.sh")
if tunnel_up ops --name ops --metrics 10.77.0.2:9100; then
    pass "srouter (--name ops, --metrics) and wireguard-go complete a handshake"
fi
DIR=${SROUTER_DIR[ops]}
CTL=$DIR/srouter/ops.sock
LOG=${SROUTER_LOG[ops]}
PUB=${WG_PUB[w1]}
PUB_RE=$(sed 's/[+/.]/\\&/g' <<<"$PUB") # the key inside an extended regex

# srt ARGS…: the srouter CLI in ns r as uid 65534, with srouter's XDG_RUNTIME_DIR.
srt() { nr as_nobody env XDG_RUNTIME_DIR="$DIR" "$SROUTER" "$@"; }
# json_check FILE PYTHON-EXPR: the expression, over `r` = the parsed FILE, is true.
json_check() { python3 -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

# MARK: the control socket: where, and who may use it
wait_for "the control socket" 10 test -S "$CTL"
check "the control socket is owner-only: 0600, uid 65534" test "$(stat -c '%a %u' "$CTL")" = "600 65534"
check "... in a 0700 directory of uid 65534" test "$(stat -c '%a %u' "$DIR/srouter")" = "700 65534"
check "srouter logged one info line naming the fallback path" \
    test "$(grep -cF "info: control socket is $CTL (/run/srouter: " "$LOG")" = 1
rc=0
nr setpriv --reuid=65533 --regid=65533 --clear-groups "$SROUTER" show interfaces --control "$CTL" \
    >"$SRT_TMP/other.out" 2>&1 || rc=$?
check "another user cannot use it (exit 1: permission denied)" \
    sh -c "test $rc = 1 && grep -q 'Permission denied' '$SRT_TMP/other.out'"
check "the guest (same uid) is refused" grep -qx '{"error":"not served to the guest","ok":false,"version":1}' "$DIR/guest-control.out"
check "... with one notice" grep -qE "notice: control socket: refused a guest process pid=[0-9]+$" "$LOG"
check "the guest gets nothing from the UAPI socket (no private key)" \
    sh -c "test -e '$DIR/guest-uapi.out' && ! test -s '$DIR/guest-uapi.out'"
check "... with one notice" grep -qE "notice: UAPI socket: refused a guest process pid=[0-9]+$" "$LOG"

# Traffic for the counters, and a connection that stays open for `show sockets`.
check "ping 10.77.0.2 across the tunnel" n1 ping -c 3 -i 0.2 -W 2 10.77.0.2
n1 python3 -c "
import socket, time
s = socket.create_connection(('10.77.0.2', 7000), timeout=5)
s.sendall(b'held'); assert s.recv(16) == b'held'
open('$SRT_TMP/held', 'w').close()
time.sleep(60)" &
bg_track $!
wait_for "a TCP connection to the guest's echo server" 15 test -e "$SRT_TMP/held"
wait_for "the guest's routes" 10 sh -c "ip netns exec '$NS_R' ${SRT_AS_NOBODY[*]} env XDG_RUNTIME_DIR='$DIR' '$SROUTER' show routes --router ops | grep -q 10.123.0.0/16"

# MARK: srouter show --json, parsed and checked against what we know
srt show interfaces --router ops --json >"$SRT_TMP/interfaces.json"
check "show interfaces --json is JSON" sh -c "python3 -m json.tool '$SRT_TMP/interfaces.json' >/dev/null"
check "... lo and $RIF, in index order" json_check "$SRT_TMP/interfaces.json" \
    "[i['name'] for i in r['interfaces']] == ['lo', '$RIF'] and r['interfaces'][1]['index'] == 2"
check "... $RIF: UP, wireguard, MTU 1420, 10.77.0.2/24 and fe80::2/64" json_check "$SRT_TMP/interfaces.json" \
    "r['interfaces'][1]['state'] == 'UP' and r['interfaces'][1]['kind'] == 'wireguard' and r['interfaces'][1]['mtu'] == 1420 and r['interfaces'][1]['addresses'] == ['10.77.0.2/24', 'fe80::2/64']"
check "... counts what the pings brought in" json_check "$SRT_TMP/interfaces.json" \
    "r['interfaces'][1]['rxPackets'] >= 3 and r['interfaces'][1]['txBytes'] > 0"

srt show peers --router ops --json >"$SRT_TMP/peers.json"
check "show peers --json: srouter's key and port" json_check "$SRT_TMP/peers.json" \
    "r['interfaces'][0]['name'] == '$RIF' and r['interfaces'][0]['publicKey'] == '$R_PUB' and r['interfaces'][0]['listenPort'] == 51900"
check "... the peer: key, preshared key, endpoint, allowed IPs" json_check "$SRT_TMP/peers.json" \
    "[(p['publicKey'], p['presharedKey'], p['endpoint'], p['allowedIPs']) for p in r['interfaces'][0]['peers']] == [('$PUB', True, '$P1_V4:51820', ['10.77.0.1/32', 'fe80::1/128'])]"
check "... session up, a handshake since the start, bytes both ways" json_check "$SRT_TMP/peers.json" \
    "[(p['sessionUp'], p['latestHandshake'] >= $start_s, p['handshakeAgeSeconds'] < 120, p['rxBytes'] > 0, p['txBytes'] > 0) for p in r['interfaces'][0]['peers']] == [(True, True, True, True, True)]"

srt show routes --router ops --json >"$SRT_TMP/routes.json"
check "show routes --json: the guest's route in main" json_check "$SRT_TMP/routes.json" \
    "{'table': 254, 'family': 'inet', 'destination': '10.123.0.0/16', 'type': 'unicast', 'nextHops': [{'gateway': '10.77.0.1', 'device': '$RIF', 'weight': 1}], 'metric': 0, 'proto': 'boot', 'scope': 'global'} in [{k: v for k, v in x.items() if k not in ('source', 'mtu')} for x in r['routes']]"
check "... main only: not table 100's" json_check "$SRT_TMP/routes.json" "all(x['table'] == 254 for x in r['routes'])"
srt show routes --router ops --table all --json >"$SRT_TMP/routes-all.json"
check "show routes --table all --json: table 100 and local too" json_check "$SRT_TMP/routes-all.json" \
    "any(x['table'] == 100 and x['destination'] == '10.124.0.0/24' for x in r['routes']) and any(x['table'] == 255 and x['type'] == 'local' and x['destination'] == '10.77.0.2/32' for x in r['routes'])"

srt show sockets --router ops --json >"$SRT_TMP/sockets.json"
check "show sockets --json: the guest's listener, its UDP socket, the metrics listener" json_check "$SRT_TMP/sockets.json" \
    "{('tcp', 'LISTEN', '*:7000'), ('udp', 'UNCONN', '*:7001'), ('tcp', 'LISTEN', '10.77.0.2:9100')} <= {(s['netid'], s['state'], s['local']) for s in r['sockets']}"
check "... and the held connection from p1, ESTAB" json_check "$SRT_TMP/sockets.json" \
    "any(s['netid'] == 'tcp' and s['state'] == 'ESTAB' and s['local'] == '10.77.0.2:7000' and s['peer'].startswith('10.77.0.1:') for s in r['sockets'])"

srt show stats --router ops --json >"$SRT_TMP/stats.json"
check "show stats --json: echo replies and deliveries counted" json_check "$SRT_TMP/stats.json" \
    "r['stack']['echo-replies'] >= 3 and r['stack']['delivered'] >= 3 and r['stack']['no-route'] >= 0"
check "... the guest's trapped calls by name (socket, bind, listen, accept)" json_check "$SRT_TMP/stats.json" \
    "r['trappedCalls'].get('socket', 0) >= 2 and r['trappedCalls'].get('bind', 0) >= 2 and r['trappedCalls'].get('listen', 0) >= 1 and r['trappedCalls'].get('accept4', 0) + r['trappedCalls'].get('accept', 0) >= 1"
check "... WireGuard drops by reason and routes per table" json_check "$SRT_TMP/stats.json" \
    "r['wireguard']['$RIF']['malformed'] == 0 and r['routes']['100'] == 1 and r['routes']['main'] >= 3"

# MARK: text output, read as the Linux tools print it
check "show interfaces reads like ip -br addr" \
    sh -c "ip netns exec '$NS_R' ${SRT_AS_NOBODY[*]} env XDG_RUNTIME_DIR='$DIR' '$SROUTER' show interfaces --router ops | grep -qxE '$RIF +UP +10\.77\.0\.2/24 fe80::2/64 '"
srt show routes --router ops >"$SRT_TMP/routes.txt"
check "show routes: the guest's route as ip route prints it" grep -qx "10.123.0.0/16 via 10.77.0.1 dev $RIF" "$SRT_TMP/routes.txt"
check "... and the connected prefix" grep -qx "10.77.0.0/24 dev $RIF proto kernel scope link src 10.77.0.2" "$SRT_TMP/routes.txt"
check "show routes --table 100" test "$(srt show routes --router ops --table 100)" = "10.124.0.0/24 dev $RIF scope link"
check "show routes --table all names the local table" \
    sh -c "ip netns exec '$NS_R' ${SRT_AS_NOBODY[*]} env XDG_RUNTIME_DIR='$DIR' '$SROUTER' show routes --router ops --table all | grep -qx 'local 10.77.0.2 dev $RIF table local proto kernel scope host src 10.77.0.2'"
srt show sockets --router ops >"$SRT_TMP/sockets.txt"
check "show sockets reads like ss -tuna" grep -qE "^tcp +LISTEN +0 +8 +\*:7000 +\*:\*$" "$SRT_TMP/sockets.txt"
check "... with its header" grep -q "^Netid State      Recv-Q Send-Q Local Address:Port" "$SRT_TMP/sockets.txt"
check "show stats: sections with the nonzero counters" \
    sh -c "ip netns exec '$NS_R' ${SRT_AS_NOBODY[*]} env XDG_RUNTIME_DIR='$DIR' '$SROUTER' show stats --router ops | grep -qE '^  echo-replies +[0-9]+$'"

# MARK: the stock wg show against srouter's UAPI, checked exactly (as the kernel selftest does)
# srouter as uid 65534 cannot create /var/run/wireguard/$RIF.sock, where wg looks: a link
# to its own socket puts it there for the (root) wg tool.
ln -s "$UAPI_SOCK" "/var/run/wireguard/$RIF.sock"
WG_IF[uapi]=$RIF # cleanup removes the link
check "wg show: public key" test "$(nr wg show "$RIF" public-key)" = "$R_PUB"
check "wg show: listening port" test "$(nr wg show "$RIF" listen-port)" = 51900
check "wg show: peers" test "$(nr wg show "$RIF" peers)" = "$PUB"
check "wg show: preshared key" test "$(nr wg show "$RIF" preshared-keys)" = "$PUB	$(cat "$SRT_TMP/psk")"
check "wg show: endpoint" test "$(nr wg show "$RIF" endpoints)" = "$PUB	$P1_V4:51820"
check "wg show: allowed ips" test "$(nr wg show "$RIF" allowed-ips)" = "$PUB	10.77.0.1/32 fe80::1/128"
check "wg show: persistent keepalive" test "$(nr wg show "$RIF" persistent-keepalive)" = "$PUB	off"
read -r _ hs < <(nr wg show "$RIF" latest-handshakes)
check "wg show: latest handshake ($hs) since the start" test "$hs" -ge "$start_s" -a "$hs" -le "$(date +%s)"
# A late packet of the earlier traffic (a TCP FIN's retransmission, say) may pass between the
# two reads: the counters must agree in one of a few tries, not differ by chance.
transfer_agrees() {
    local _ rx tx
    for _ in 1 2 3 4 5; do
        read -r _ rx tx < <(nr wg show "$RIF" transfer)
        srt show peers --router ops --json >"$SRT_TMP/peers2.json"
        json_check "$SRT_TMP/peers2.json" \
            "(r['interfaces'][0]['peers'][0]['rxBytes'], r['interfaces'][0]['peers'][0]['txBytes']) == ($rx, $tx)" &&
            return 0
        echo "wg show transfer $rx $tx; show peers: $(cat "$SRT_TMP/peers2.json" | head -c 300)" >&2
        sleep 0.3
    done
    return 1
}
check "wg show: transfer as show peers --json counts it" transfer_agrees
nr wg show "$RIF" >"$SRT_TMP/wg-show.txt"
srt show peers --router ops >"$SRT_TMP/show-peers.txt"
sed -E 's/^  latest handshake: .*/  latest handshake: X/' "$SRT_TMP/wg-show.txt" >"$SRT_TMP/wg-show.masked"
sed -E 's/^  latest handshake: .*/  latest handshake: X/' "$SRT_TMP/show-peers.txt" >"$SRT_TMP/show-peers.masked"
check "srouter show peers prints what wg show prints" diff -u "$SRT_TMP/wg-show.masked" "$SRT_TMP/show-peers.masked"
cat >"$SRT_TMP/wg-show.expected" <<EOF
interface: $RIF
  public key: $R_PUB
  private key: (hidden)
  listening port: 51900

peer: $PUB
  preshared key: (hidden)
  endpoint: $P1_V4:51820
  allowed ips: 10.77.0.1/32, fe80::1/128
  latest handshake: X
EOF
grep -v '^  transfer: ' "$SRT_TMP/wg-show.masked" >"$SRT_TMP/wg-show.notransfer"
check "wg show $RIF: the whole output" diff -u "$SRT_TMP/wg-show.expected" "$SRT_TMP/wg-show.notransfer"
check "... and its transfer line" grep -qE '^  transfer: [0-9.]+ (B|KiB) received, [0-9.]+ (B|KiB) sent$' "$SRT_TMP/wg-show.txt"

# MARK: capture, read back with tshark
bg_start r capture1 as_nobody env XDG_RUNTIME_DIR="$DIR" "$SROUTER" capture "$RIF" --router ops -w "$DIR/c1.pcap"
cap_pid=$BG_PID
wait_for "capture started" 10 grep -q "capture started interface=$RIF" "$LOG"
n1 ping -c 3 -i 0.2 -W 2 10.77.0.2 >/dev/null
n1 python3 -c "
import socket
s = socket.create_connection(('10.77.0.2', 7000), timeout=5)
s.sendall(b'hello-capture'); assert s.recv(64) == b'hello-capture'
s.close()"
sleep 0.5
kill -INT "$cap_pid"
wait "$cap_pid" || true
check "capture stops on SIGINT and says how many packets" grep -qE '^[0-9]+ packets captured$' "$SRT_TMP/capture1.log"
check "tshark reads the file as raw IP" sh -c "tshark -r '$DIR/c1.pcap' -T fields -e frame.encap_type 2>/dev/null | sort -u | grep -qx 7"
count() { tshark -r "$DIR/c1.pcap" -Y "$1" 2>/dev/null | wc -l; }
check "... 3 echo requests from 10.77.0.1, 3 replies (both directions)" \
    test "$(count 'icmp.type == 8 && ip.src == 10.77.0.1')" = 3 -a "$(count 'icmp.type == 0 && ip.src == 10.77.0.2')" = 3
check "... the TCP handshake to :7000 (SYN, SYN-ACK)" \
    test "$(count 'tcp.port == 7000 && tcp.flags.syn == 1')" -ge 2
check "... the echoed payload both ways" \
    test "$(tshark -r "$DIR/c1.pcap" -Y 'tcp.port == 7000' -T fields -e tcp.payload 2>/dev/null | grep -c "$(printf hello-capture | xxd -p)")" = 2
check "... and the FIN exchange" test "$(count 'tcp.port == 7000 && tcp.flags.fin == 1')" -ge 2
wait_for "capture stopped, nothing dropped" 5 grep -q "capture stopped dropped=0 interface=$RIF" "$LOG"

# -c COUNT and a pcap stream on stdout, straight into tshark.
n1 ping -c 20 -i 0.2 -W 2 10.77.0.2 >/dev/null &
bg_track $!
check "capture -c 4 to stdout, piped into tshark -r -" \
    sh -c "ip netns exec '$NS_R' ${SRT_AS_NOBODY[*]} env XDG_RUNTIME_DIR='$DIR' timeout 20 '$SROUTER' capture '$RIF' --router ops -c 4 2>/dev/null | tshark -r - -Y icmp 2>/dev/null | wc -l | grep -qx 4"
rc=0
srt capture lo --router ops -c 1 >"$SRT_TMP/cap-lo.out" 2>&1 || rc=$?
check "capture of a non-WireGuard interface is refused (exit 1)" \
    sh -c "test $rc = 1 && grep -q 'not a WireGuard interface' '$SRT_TMP/cap-lo.out'"

# MARK: metrics through the control socket and over HTTP inside the tunnel
srt metrics --router ops >"$SRT_TMP/metrics.txt"
check "metrics: the peer's received bytes" \
    grep -qE "^srouter_peer_receive_bytes_total\{interface=\"$RIF\",peer=\"$PUB_RE\"\} [1-9][0-9]*$" "$SRT_TMP/metrics.txt"
check "metrics: the handshake age" \
    grep -qE "^srouter_peer_handshake_age_seconds\{interface=\"$RIF\",peer=\"$PUB_RE\"\} [0-9]+$" "$SRT_TMP/metrics.txt"
check "metrics: interface up, routes per table, trapped calls, drops by reason" sh -c "
    grep -qx 'srouter_interface_up{interface=\"$RIF\",kind=\"wireguard\"} 1' '$SRT_TMP/metrics.txt' &&
    grep -qx 'srouter_routes{family=\"inet\",table=\"100\"} 1' '$SRT_TMP/metrics.txt' &&
    grep -qE '^srouter_trapped_calls_total\{syscall=\"socket\"\} [1-9]' '$SRT_TMP/metrics.txt' &&
    grep -qE '^srouter_packets_dropped_total\{reason=\"no-route\"\} [0-9]+$' '$SRT_TMP/metrics.txt'"
cat >"$SRT_TMP/promcheck.py" <<'PY'
# Checks Prometheus text format 0.0.4: every sample's family has HELP and TYPE first, names
# and labels are well-formed, values are numbers; prints the number of samples.
import re, sys
typed, samples = set(), 0
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+]+|NaN)$')
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        typed.add(line.split()[2])
    elif line.startswith("# HELP ") or not line:
        continue
    else:
        m = sample.match(line)
        if not m or m.group(1) not in typed:
            sys.exit("bad sample: " + line)
        samples += 1
print(samples)
PY
check "metrics: valid Prometheus text" python3 "$SRT_TMP/promcheck.py" "$SRT_TMP/metrics.txt"
n1 curl -sS --max-time 5 -o "$SRT_TMP/metrics-http.txt" -w '%{http_code} %{content_type}\n' \
    http://10.77.0.2:9100/metrics >"$SRT_TMP/http.status"
check "HTTP metrics from p1 through the tunnel: 200, text/plain version 0.0.4" \
    grep -qx "200 text/plain; version=0.0.4; charset=utf-8" "$SRT_TMP/http.status"
check "... valid, with the same families" bash -c "
    python3 '$SRT_TMP/promcheck.py' '$SRT_TMP/metrics-http.txt' >/dev/null &&
    diff <(grep '^# TYPE' '$SRT_TMP/metrics.txt') <(grep '^# TYPE' '$SRT_TMP/metrics-http.txt')"
check "... and nothing listens on the host's network for it (ns r)" sh -c "! ip netns exec '$NS_R' ss -Htln | grep -q ':9100 '"
check "... so the underlay address refuses it" sh -c "! ip netns exec '$NS_P1' curl -s --max-time 3 http://$R1_V4:9100/metrics"

# MARK: bad and stalling clients
cat >"$SRT_TMP/bad.py" <<'PY'
# Sends bad requests; each must get {"ok": false, "error": …} and a close.
import json, socket, sys
def ask(data):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.sendall(data)
    out = b""
    while not out.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    answer = json.loads(out.split(b"\n")[0])
    assert answer["ok"] is False and answer["error"] and answer["version"] == 1, (data[:40], answer)
    return answer["error"]
for bad in [b"garbage\n", b"\xff\xfe\n", b'{"command": 5}\n', b'{"command":"nope"}\n', b'[1, 2]\n',
            b'{"command":"show","report":"nope"}\n', b'{"command":"show","report":"routes","table":"x"}\n',
            b'{"command":"capture","interface":"nope"}\n', b"{" + b"a" * 70000 + b"\n"]:
    print(ask(bad))
PY
check "bad requests get an error answer" nr as_nobody /usr/bin/python3 "$SRT_TMP/bad.py" "$CTL"
nr as_nobody /usr/bin/python3 -c "
import socket, time
held = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX); s.connect('$CTL'); s.sendall(b'{\"command\":\"sh'); held.append(s)
open('$DIR/stalled', 'w').close()
time.sleep(30)" &
bg_track $!
wait_for "8 stalled clients" 5 test -e "$DIR/stalled"
check "with 8 clients stalled mid-request, show still answers at once" \
    nr as_nobody env XDG_RUNTIME_DIR="$DIR" timeout 3 "$SROUTER" show interfaces --router ops
check "and the tunnel still passes pings" n1 ping -c 2 -i 0.2 -W 2 10.77.0.2
check "srouter is still running" kill -0 "${SROUTER_PID[ops]}"

# MARK: logs: one line per event
check "log: the handshake" grep -qF "info: handshake complete endpoint=$P1_V4:51820 interface=$RIF peer=$PUB" "$LOG"
check "log: the guest's route changes, summarised" grep -qE "info: routes changed added=2 removed=0 total=[0-9]+$" "$LOG"

srouter_stop ops
check "srouter removes its control socket when it exits" test ! -e "$CTL"
summary
