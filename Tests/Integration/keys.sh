#!/usr/bin/env bash
# keys.sh — srouter genkey/pubkey/genpsk are interchangeable with wg genkey/pubkey/genpsk
# (wireguard-tools is the reference implementation we did not write).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

mismatches=0
for i in $(seq 1 25); do
    ours=$("$SROUTER" genkey)
    theirs=$(wg genkey)
    [[ $(echo "$ours" | "$SROUTER" pubkey) == $(echo "$ours" | wg pubkey) ]] || mismatches=$((mismatches + 1))
    [[ $(echo "$theirs" | "$SROUTER" pubkey) == $(echo "$theirs" | wg pubkey) ]] || mismatches=$((mismatches + 1))
done
check "srouter pubkey and wg pubkey agree on 50 keys from both genkeys" test "$mismatches" = 0

key=$("$SROUTER" genkey)
check "genkey prints 44 characters of base64 for 32 bytes" test "$(echo "$key" | base64 -d | wc -c)" = 32
psk=$("$SROUTER" genpsk)
check "genpsk prints 44 characters of base64 for 32 bytes" test "$(echo "$psk" | base64 -d | wc -c)" = 32
check "two genkeys differ" test "$key" != "$("$SROUTER" genkey)"
rc=0
echo "not a key" | "$SROUTER" pubkey >/dev/null 2>"$SRT_TMP/err" || rc=$?
check "pubkey refuses garbage with exit 1" test "$rc" = 1
check "... and says why" grep -q "not a private key" "$SRT_TMP/err"

summary
