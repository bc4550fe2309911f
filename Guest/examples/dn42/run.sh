#!/bin/sh
# A DN42 node, rootless: srouter with one WireGuard tunnel per peer (--wg, one per file) and a
# dummy interface holding the node's own addresses (they must match OWNIP and OWNIPv6 in
# bird.conf), and stock BIRD 2 as its guest. Run from this directory, as any user:
#   ./run.sh            (birdc -s bird.ctl show protocols, from another terminal)
exec "${SROUTER:-srouter}" run \
    --dummy dn42=172.20.0.1/32,fd00:1234:5678::1/128 \
    --wg wg-example.conf \
    -- bird -f -c bird.conf -s "${BIRD_SOCKET:-bird.ctl}"
