#!/bin/sh
# The guest srouter runs for a DN42 node: the node's own addresses on lo (so they answer pings
# and are the source of what the node sends; they must match OWNIP and OWNIPv6 in bird.conf),
# then BIRD in the foreground. Run from this directory:
#   srouter run --wg wg-example.conf -- sh guest.sh
set -e
ip addr add 172.20.0.1/32 dev lo
ip -6 addr add fd00:1234:5678::1/128 dev lo
exec bird -f -c bird.conf -s "${BIRD_SOCKET:-bird.ctl}"
