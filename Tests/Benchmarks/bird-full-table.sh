#!/usr/bin/env bash
# Benchmark (not a test): BIRD 2 loading a synthetic full table through `protocol kernel`
# (issue 9, P4) — the same BIRD and configuration writing Linux's FIB in a network namespace
# of its own, and writing srouter's through its emulated rtnetlink (`srouter run -- bird`),
# in the same run. As root (the native side needs a namespace):
#
#   Tests/Benchmarks/bird-full-table.sh [-4 N4] [-6 N6] [-r REPEAT] [-c release|debug]
#       [-s SEED] [-p POLL] [-S SCAN] [-t TIMEOUT] [-b BINDIR]
#
# The table (made once per run from SEED): N4 IPv4 prefixes (default 1,000,000) and N6 IPv6
# prefixes (default 230,000), unique, with fib-benchmark's generator and length mix (the
# global table's: most /24, then /22, /23, /20, /21…; IPv6 mostly /48, then /32, /44, /40,
# /29) minus 127/8, which BIRD ignores as bogus; `route P blackhole;` in one static protocol
# per family, exported by one `protocol kernel` per family (`export all`, no learn, no merge
# paths, kernel and device scan time SCAN, default 86400 s, so no periodic scan runs during
# the measurement: only BIRD's start-up scans).
#
# Each repetition starts BIRD from nothing on each side and polls the FIB every POLL seconds
# (default 0.5) until it holds all N4 + N6 routes (Linux: /proc/net/fib_triestat and
# /proc/net/rt6_stats, which cost the FIB next to nothing; srouter: `srouter show stats
# --json` until the first route, then — show stats walks the whole FIB, its cost at the full
# table is printed — srouter's and BIRD's CPU time until both are idle, checked by one show
# stats), then times a dump of the whole table (`ip route`, `ip -6 route`:
# what each of BIRD's periodic scans reads) and BIRD's stop (SIGTERM: BIRD withdraws every
# route it exported). Every phase is bounded by TIMEOUT seconds (default 1800); a side that
# does not get there is reported as failed with where it stopped, and the logs are kept.
#
# Printed (median of REPEAT, min–max): seconds from start to the full FIB and routes/s, the
# install phase alone (from the first route in the FIB; BIRD first parses its configuration
# and scans the FIB), the dump and the stop, BIRD's RSS; for srouter, the trapped calls per
# route up to the full FIB (from `show stats`), the trap floor — routes × one trapped round
# trip, syscall-cost's getsockname-unix measured under srouter in the same run by
# probe-syscall-cost — and srouter's time over it, srouter's own rtnetlink work per request
# (its exit log), and srouter's memory per route: its VmRSS with the full table minus its
# VmRSS just before the first route came (BIRD started, FIB empty), over the routes (and its
# VmHWM, before and after one show stats). -b BINDIR uses srouter and probe-syscall-cost
# from BINDIR instead of building them.
set -euo pipefail
n4=1000000
n6=230000
repeat=3
config=release
seed=1
poll=0.5
scan=86400
limit=1800
bindir=""
usage="usage: $0 [-4 N4] [-6 N6] [-r REPEAT] [-c release|debug] [-s SEED] [-p POLL] [-S SCAN] [-t TIMEOUT] [-b BINDIR]"
while getopts "4:6:r:c:s:p:S:t:b:" opt; do
    case "$opt" in
        4) n4=$OPTARG ;;
        6) n6=$OPTARG ;;
        r) repeat=$OPTARG ;;
        c) config=$OPTARG ;;
        s) seed=$OPTARG ;;
        p) poll=$OPTARG ;;
        S) scan=$OPTARG ;;
        t) limit=$OPTARG ;;
        b) bindir=$OPTARG ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
((EUID == 0)) || { echo "bird-full-table.sh: run as root (the native side writes a namespace's FIB)" >&2; exit 2; }
command -v bird >/dev/null && command -v python3 >/dev/null ||
    { echo "bird-full-table.sh: needs bird (BIRD 2) and python3 on PATH" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if [[ -z $bindir ]]; then
    swift build -c "$config" --product srouter >/dev/null
    swift build -c "$config" --product probe-syscall-cost >/dev/null
    bindir="$(swift build -c "$config" --show-bin-path)"
fi
srouter=$bindir/srouter
work="$(mktemp -d)"
chmod 0755 "$work"
ns="srt-fulltable-$$"
routes=$((n4 + n6))
native_pid="" srouter_pid="" keep=0
cleanup() {
    local p
    for p in $native_pid $srouter_pid; do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    if ((keep)); then echo "bird-full-table.sh: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
now() { echo "${EPOCHREALTIME}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }  # kB
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# fail SIDE WHAT: report where SIDE stopped, keep the logs, end the run.
fail() {
    keep=1
    echo "bird-full-table.sh: $1: $2" >&2
    exit 1
}

# The table: fib-benchmark's generator (Tests/Benchmarks/FIBBenchmark/SyntheticTable.swift,
# xorshift64*, the same draws) minus 127/8, written as two static protocols.
python3 - "$n4" "$n6" "$seed" "$work/routes.conf" <<'PY'
import ipaddress, sys
n4, n6, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
M = (1 << 64) - 1
state = seed or 0x2545F4914F6CDD1D
def draw():
    global state
    s = state
    s ^= s >> 12
    s ^= (s << 25) & M
    s ^= s >> 27
    state = s
    return (s * 0x2545F4914F6CDD1D) & M
def picker(weights):
    total = sum(w for _, w in weights)
    def pick():
        point = draw() % total
        for length, w in weights:
            if point < w:
                return length
            point -= w
        return weights[0][0]
    return pick
pick4 = picker([(24, 600), (22, 110), (23, 100), (20, 45), (21, 45), (19, 25), (16, 15), (18, 15), (17, 12),
                (15, 4), (14, 4), (13, 3), (12, 2), (11, 1), (10, 1), (8, 1), (25, 2), (26, 2), (27, 2),
                (28, 2), (29, 2), (30, 2), (32, 2)])
pick6 = picker([(48, 470), (32, 120), (40, 70), (44, 100), (29, 50), (36, 30), (46, 25), (47, 20), (45, 15),
                (42, 15), (28, 10), (33, 10), (34, 10), (35, 10), (38, 10), (56, 10), (64, 10), (24, 5),
                (20, 2), (128, 5)])
registries = [0x2001, 0x2400, 0x2401, 0x2403, 0x2404, 0x2600, 0x2602, 0x2604, 0x2606,
              0x2800, 0x2803, 0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2a05, 0x2a06, 0x2a0e, 0x2c0f]
with open(out, "w") as f:
    f.write("protocol static static4 {\n    ipv4;\n")
    seen, written = set(), 0
    while written < n4:
        length = pick4()
        value = (0x01000000 + draw() % 0xdf000000) & (0xffffffff << (32 - length)) & 0xffffffff
        if (value << 8 | length) in seen:
            continue
        seen.add(value << 8 | length)
        draw(); draw()  # fib-benchmark's next-hop draws
        if value >> 24 == 127:
            continue
        f.write("    route %s/%d blackhole;\n" % (ipaddress.IPv4Address(value), length))
        written += 1
    f.write("}\nprotocol static static6 {\n    ipv6;\n")
    seen = set()
    while len(seen) < n6:
        length = pick6()
        high = registries[draw() % len(registries)] << 48 | draw() >> 16
        value = (high << 64 | draw()) & ~((1 << (128 - length)) - 1)
        if (value << 8 | length) in seen:
            continue
        seen.add(value << 8 | length)
        draw(); draw()
        f.write("    route %s/%d blackhole;\n" % (ipaddress.IPv6Address(value), length))
    f.write("}\n")
PY
cat >"$work/bird.conf" <<CONF
log stderr { info, remote, warning, error, auth, fatal, bug };
router id 192.0.2.1;
protocol device { scan time $scan; }
protocol kernel kernel4 { ipv4 { import none; export all; }; learn off; merge paths off; scan time $scan; }
protocol kernel kernel6 { ipv6 { import none; export all; }; learn off; merge paths off; scan time $scan; }
include "$work/routes.conf";
CONF
chmod 0644 "$work/bird.conf" "$work/routes.conf"
bird -p -c "$work/bird.conf" || fail config "BIRD refuses the generated configuration"

# The price of one trapped round trip on this machine, now: getsockname-unix under srouter.
"$srouter" run -- "$bindir/probe-syscall-cost" -n 2000 >"$work/syscall-cost" ||
    fail "probe-syscall-cost" "did not run under srouter"
trap_ns=$(awk '$1 == "getsockname-unix" { print $3 }' "$work/syscall-cost")

# native_count → routes in the namespace's FIB beyond its own (IPv4 prefixes of the main trie,
# which holds the local table too until a rule splits them, and IPv6 fib6 entries).
native_count() {
    ip netns exec "$ns" sh -c 'awk "/^Main:/ { m = 1 } m && /Prefixes:/ { print \$2; exit }" /proc/net/fib_triestat;
        read -r _ _ _ e _ </proc/net/rt6_stats; echo $((0x$e))' | paste -sd' '
}
# srouter_count → "ROUTES TRAPS": main's routes and the trapped calls so far; the calls by
# name to $work/traps.json.
srouter_count() {
    "$srouter" show stats --json --control "$work/control.sock" >"$work/stats.json" 2>/dev/null || { echo "0 0"; return; }
    python3 - "$work/stats.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
calls = report.get("trappedCalls", {})
json.dump(calls, open(sys.argv[1].replace("stats.json", "traps.json"), "w"))
print(report.get("routes", {}).get("main", 0), sum(calls.values()))
PY
}

# ticks PID…: their CPU time so far (utime + stime, clock ticks, every thread).
ticks() {
    local p sum=0 f
    for p in "$@"; do
        f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
        sum=$((sum + $(awk '{ print $12 + $13 }' <<<"$f")))
    done
    echo "$sum"
}
timed_out() { (($(awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { print (b - a > l) }'))); }
# wait_full SIDE PID: poll every POLL seconds until the FIB holds every route; sets t_first
# and t_full, the moments the first route and the whole table were there (each halfway
# between the last poll before and the first after: ± POLL/2), and for srouter rss_before (VmRSS at the last poll with the FIB
# empty), load_traps, poll_ms (the last show stats) and peak_load (VmHWM before it). Linux: the namespace's routes beyond base4 and base6, its
# own. srouter: `show stats` until the first route (cheap while the FIB is small), then —
# since show stats walks the FIB, ~0.8 s at 1.23M routes — srouter's and BIRD's CPU time
# until a poll finds both idle, and one show stats to check that the FIB is full.
wait_full() {
    local side=$1 pid=$2 count=0 traps=0 a b started last cpu="" busy=0 guest=""
    t_first="" t_full="" rss_before=0 last=$t0
    while :; do
        alive "$pid" || fail "$side" "BIRD (or srouter) exited before the FIB was full: $(tail -n 5 "$work/$side.log" | tr '\n' ' ')"
        if [[ $side == native ]]; then
            read -r a b <<<"$(native_count)"
            count=$((a - base4 + b - base6))
        elif [[ -z $t_first ]] || ((busy <= idle_ticks)); then
            peak_load=$(hwm "$pid")
            started=$(now)
            read -r count traps <<<"$(srouter_count)"
            poll_ms=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
            ((count > 0)) || rss_before=$(rss "$pid")
        fi
        [[ -n $t_first ]] || ((count == 0)) || t_first=$(awk -v a="$last" -v b="$(now)" 'BEGIN { printf "%.3f", (a + b) / 2 }')
        if ((count >= routes)); then
            t_full=$(awk -v a="$last" -v b="$(now)" 'BEGIN { printf "%.3f", (a + b) / 2 }')
            load_traps=$traps
            return 0
        fi
        timed_out && fail "$side" "timeout after $limit s with $count of $routes routes in the FIB (RSS $(rss "$pid") kB)"
        if [[ $side == srouter && -n $t_first ]]; then
            [[ -n $guest ]] || guest=$(sed -n 's/.*guest started .* pid=\([0-9]*\).*/\1/p' "$work/srouter.log" | head -n 1)
            cpu=$(ticks "$pid" $guest)
        fi
        last=$(now)
        echo "$side $(since "$t0") $count $cpu" >>"$work/progress-$side-$i"
        sleep "$poll"
        if [[ -n $cpu ]]; then busy=$(($(ticks "$pid" $guest) - cpu)); else busy=0; fi
    done
}
# A poll interval in which srouter and BIRD use at most 5% of a core (2 ticks at least) is idle.
idle_ticks=$(awk -v p="$poll" -v hz="$(getconf CLK_TCK)" 'BEGIN { t = int(p * hz / 20); print (t < 2 ? 2 : t) }')
# wait_exit PID: until PID is gone (≤ TIMEOUT).
wait_exit() {
    local start
    start=$(now)
    while alive "$1"; do
        (($(awk -v a="$start" -v b="$(now)" -v l="$limit" 'BEGIN { print (b - a > l) }'))) && return 1
        sleep 0.1
    done
    wait "$1" 2>/dev/null || true
}
# measure SIDE PID DUMP-COMMAND…: once wait_full is done, the phases (load, install), a dump of
# the whole table by DUMP-COMMAND (dump: seconds, dumped: lines) and BIRD's stop by SIGTERM to
# PID (stop: seconds).
measure() {
    local side=$1 pid=$2 d
    shift 2
    load=$(awk -v a="$t0" -v b="$t_full" 'BEGIN { printf "%.3f", b - a }')
    install=$(awk -v a="$t_first" -v b="$t_full" 'BEGIN { printf "%.3f", b - a }')
    d=$(now)
    dumped=$("$@" sh -c 'ip route show table main; ip -6 route show table main' | wc -l)
    dump=$(since "$d")
    d=$(now)
    kill -TERM "$pid"
    wait_exit "$pid" || fail "$side" "BIRD did not stop within $limit s of SIGTERM"
    stop=$(since "$d")
}

: >"$work/results"
for ((i = 1; i <= repeat; i++)); do
    # Linux: BIRD in a namespace of its own.
    ip netns add "$ns"
    ip netns exec "$ns" ip link set lo up
    read -r base4 base6 <<<"$(native_count)"
    t0=$(now)
    ip netns exec "$ns" bird -f -c "$work/bird.conf" -s "$work/native.ctl" 2>"$work/native.log" &
    native_pid=$!
    wait_full native "$native_pid"
    bird_rss=$(rss "$native_pid")
    measure native "$native_pid" ip netns exec "$ns"
    native_pid=""
    left=$(ip netns exec "$ns" ip route show proto bird | wc -l)
    ip netns del "$ns"
    echo "native $load $install $dump $stop $bird_rss $dumped $left" >>"$work/results"

    # srouter: the same BIRD as its guest.
    rm -f "$work/guest.ctl" "$work/control.sock"
    t0=$(now)
    "$srouter" run --log-level debug --control "$work/control.sock" -- \
        bird -f -c "$work/bird.conf" -s "$work/guest.ctl" 2>"$work/srouter.log" &
    srouter_pid=$!
    wait_full srouter "$srouter_pid"
    rss_after=$(rss "$srouter_pid")
    peak=$(hwm "$srouter_pid")
    guest=$(sed -n 's/.*guest started .* pid=\([0-9]*\).*/\1/p' "$work/srouter.log" | head -n 1)
    bird_rss=$(rss "$guest")
    cp "$work/traps.json" "$work/traps-$i.json"
    measure srouter "$srouter_pid" "$srouter" exec --control "$work/control.sock" --
    srouter_pid=""
    total=$(sed -n 's/.*trapped calls total=\([0-9]*\).*/\1/p' "$work/srouter.log")
    # srouter's own rtnetlink work (parse, FIB change, answers) per request, load and withdraw.
    work_ns=$(sed -n 's/.*rtnetlink totals datagrams=\([0-9]*\) work-ns=\([0-9]*\).*/\2 \1/p' "$work/srouter.log" |
        awk '{ w += $1; n += $2 } END { printf "%.0f", (n > 0 ? w / n : 0) }')
    cp "$work/srouter.log" "$work/srouter-$i.log"
    echo "srouter $load $install $dump $stop $bird_rss $dumped 0 $rss_before $rss_after $peak $load_traps ${total:-0} $poll_ms $peak_load $work_ns" >>"$work/results"
done

# stat SIDE COLUMN [SCALE]: "median (min–max)" of COLUMN of SIDE's rows, times SCALE.
stat() {
    awk -v s="$1" -v c="$2" -v k="${3:-1}" '$1 == s { print $c * k }' "$work/results" | sort -g |
        awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; f = (m >= 100 ? "%.0f" : "%.2f");
            printf f " (" f "–" f ")", m, v[1], v[NR] }'
}
median() {
    awk -v s="$1" -v c="$2" '$1 == s { print $c }' "$work/results" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# rate SIDE COLUMN: routes/s over COLUMN's seconds, "median (min–max)"; "—" if the median is
# within the polls' resolution.
rate() {
    awk -v s="$1" -v c="$2" -v n="$routes" '$1 == s { print ($c > 0 ? n / $c : 0), $c }' "$work/results" | sort -g |
        awk -v p="$poll" '{ v[NR] = $1; t[NR] = $2 } END { m = int((NR + 1) / 2)
            if (t[m] < p) print "— (under the poll interval)"; else printf "%.0f (%.0f–%.0f)", v[m], v[1], v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
floor=$(awk -v n="$routes" -v t="$trap_ns" 'BEGIN { printf "%.3f", n * t / 1e9 }')

echo "| figure | srouter | Linux (BIRD in a netns) | srouter / Linux |"
echo "|---|---|---|---|"
echo "| start → FIB holds all $routes routes, s | $(stat srouter 2) | $(stat native 2) | $(ratio "$(median srouter 2)" "$(median native 2)")× |"
echo "| routes/s, start → full | $(rate srouter 2) | $(rate native 2) | $(ratio "$(median native 2)" "$(median srouter 2)")× |"
echo "| install phase (first route in the FIB → full), s | $(stat srouter 3) | $(stat native 3) | $(ratio "$(median srouter 3)" "$(median native 3)")× |"
echo "| routes/s, install phase | $(rate srouter 3) | $(rate native 3) | $(ratio "$(median native 3)" "$(median srouter 3)")× |"
echo "| dump of the full table (\`ip route\` + \`ip -6 route\`), s | $(stat srouter 4) | $(stat native 4) | $(ratio "$(median srouter 4)" "$(median native 4)")× |"
echo "| BIRD's stop (SIGTERM: withdraws every route), s | $(stat srouter 5) | $(stat native 5) | $(ratio "$(median srouter 5)" "$(median native 5)")× |"
echo "| BIRD's RSS with the table, MiB | $(stat srouter 6 0.0009765625) | $(stat native 6 0.0009765625) | $(ratio "$(median srouter 6)" "$(median native 6)")× |"
echo
echo "| srouter figure | value | goal |"
echo "|---|---|---|"
traps_per=$(awk -v t="$(median srouter 12)" -v n="$routes" 'BEGIN { printf "%.3f", t / n }')
echo "| trapped calls per route, start → full | $traps_per ($(median srouter 12) for $routes) | ≤ 1 |"
echo "| trapped calls per route change, whole run (load and withdraw) | $(awk -v t="$(median srouter 13)" -v n="$routes" 'BEGIN { printf "%.3f", t / (2 * n) }') | ≤ 1 |"
echo "| trapped calls up to the full FIB, by name (repetition 1) | $(python3 -c 'import json, sys; print(" ".join("%s=%d" % kv for kv in sorted(json.load(open(sys.argv[1])).items())))' "$work/traps-1.json") | |"
echo "| trap floor: $routes × $trap_ns ns (getsockname-unix under srouter, this run), s | $floor | |"
echo "| start → full / floor | $(ratio "$(median srouter 2)" "$floor")× | ≤ 1.2× |"
echo "| install phase / floor | $(ratio "$(median srouter 3)" "$floor")× | ≤ 1.2× |"
echo "| install phase, srouter's time beyond Linux's per route, µs (one trap: $(awk -v t="$trap_ns" 'BEGIN { printf "%.1f", t / 1000 }')) | $(awk -v a="$(median srouter 3)" -v b="$(median native 3)" -v n="$routes" 'BEGIN { printf "%.1f", (a - b) * 1e6 / n }') | |"
echo "| srouter's own rtnetlink work per request (parse, FIB change, answers; its exit log), µs | $(awk -v a="$(median srouter 16)" 'BEGIN { printf "%.1f", a / 1000 }') | |"
echo "| srouter's VmRSS before the first route → with the table, MiB | $(awk -v a="$(median srouter 9)" -v b="$(median srouter 10)" 'BEGIN { printf "%.1f → %.1f", a / 1024, b / 1024 }') (peak $(awk -v a="$(median srouter 15)" 'BEGIN { printf "%.1f", a / 1024 }'); $(awk -v a="$(median srouter 11)" 'BEGIN { printf "%.1f", a / 1024 }') after one \`show stats\`) | |"
echo "| srouter's memory per route, B | $(awk -v n="$routes" '$1 == "srouter" { print ($10 - $9) * 1024 / n }' "$work/results" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.0f (%.0f–%.0f)", v[int((NR + 1) / 2)], v[1], v[NR] }') | ≤ 150 |"
echo "| one \`srouter show stats --json\` at the full table, ms | $(stat srouter 14) | |"
echo
echo "$repeat repetitions each; $n4 IPv4 + $n6 IPv6 routes (seed $seed); FIB polled every $poll s; the dumps printed $(median srouter 7) lines (srouter) and $(median native 7) (Linux); $(median native 8) proto bird routes left after Linux's stop."
