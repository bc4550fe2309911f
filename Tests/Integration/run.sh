#!/bin/bash
#
# run.sh — run every integration test script here (each *.sh but lib.sh and run.sh, sorted),
# each in its own bash under a time limit, and add up their "NAME: N passed, M failed"
# lines. The last line is the total, "N passed, M failed"; the exit status is 0 only if M
# is 0. A script that exits non-zero with no failure counted, prints no summary line, or
# runs out of time counts as one failure.
#
#   sudo Tests/Integration/run.sh [SCRIPT…]      # default: all of them
#
# Environment: SRT_TEST_TIMEOUT (seconds per script, default 600); SROUTER, PROBES and the
# other variables of lib.sh pass through to the scripts.

set -uo pipefail

dir=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
limit=${SRT_TEST_TIMEOUT:-600}

if (( EUID != 0 )); then
	echo "run.sh: integration tests need root (network namespaces, tun devices)" >&2
	exit 2
fi

scripts=()
if (($#)); then
	for s in "$@"; do scripts+=("$(readlink -f "$s")"); done
else
	while IFS= read -r s; do
		case $(basename "$s") in lib.sh | run.sh) continue ;; esac
		scripts+=("$s")
	done < <(find "$dir" -maxdepth 1 -type f -name '*.sh' | LC_ALL=C sort)
fi

passed=0
failed=0
out=$(mktemp /tmp/srt-run.XXXXXX)
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	echo "==== $name"
	# The script's own EXIT trap cleans up on SIGTERM; SIGKILL follows 30 s later.
	timeout -k 30 "$limit" bash "$s" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1) || true
	if [[ $line =~ ^[^\ ]+:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
	else
		p=0 f=1
		echo "==== $name: no summary line"
	fi
	if ((rc == 124 || rc == 137)); then
		echo "==== $name: timed out after ${limit}s"
	fi
	if ((rc != 0 && f == 0)); then
		echo "==== $name: exit status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "$passed passed, $failed failed"
((failed == 0))
