#!/usr/bin/env bash
# Builds srouter and runs every test: the unit tests (swift test), then every integration
# script in Tests/Integration (network namespaces; run as root). Ends with one line
# "N passed, M failed" over both, and exits non-zero if anything failed.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
logs="$(mktemp -d /tmp/srouter-tests.XXXXXX)"
trap 'rm -rf "$logs"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "build"
swift build 2>&1 | tail -n 20
build_status=${PIPESTATUS[0]}
if ((build_status != 0)); then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

step "unit tests (swift test)"
swift test --xunit-output "$logs/unit.xml" 2>&1 | tee "$logs/unit.log" | grep -vE '^(\[[0-9]+/[0-9]+\]|Building|Compiling|Write|Linking)' | tail -n 60
unit_status=${PIPESTATUS[0]}
# Swift Testing writes its report beside the requested name (…-swift-testing.xml).
report="$(ls "$logs"/unit*swift-testing*.xml 2>/dev/null | head -n1)"
unit_total=0
unit_failed=0
if [[ -n "$report" ]]; then
    unit_total=$(grep -o '<testcase ' "$report" | wc -l)
    unit_failed=$(grep -c '<failure' "$report" || true)
fi
if ((unit_status != 0 && unit_failed == 0)); then unit_failed=1; fi
echo "unit: $((unit_total - unit_failed)) passed, $unit_failed failed"

step "integration tests"
./Tests/Integration/run.sh 2>&1 | tee "$logs/integration.log"
integration_status=${PIPESTATUS[0]}
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/integration.log" | tail -n1)"
int_passed=0
int_failed=1
if [[ -n "$line" ]]; then
    int_passed=$(awk '{print $1}' <<<"$line")
    int_failed=$(awk '{print $3}' <<<"$line")
fi
if ((integration_status != 0 && int_failed == 0)); then int_failed=1; fi

passed=$((unit_total - unit_failed + int_passed))
failed=$((unit_failed + int_failed))
echo
echo "$passed passed, $failed failed"
((failed == 0))
