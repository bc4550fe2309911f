#!/usr/bin/env bash
# Installs what srouter's build, demo and tests need on Debian 12, as root.
# The Swift toolchain itself (swift.org's, 6.0 or later) is expected on PATH.
set -euo pipefail

packages=(
    # build: the system libraries srouter links (DESIGN §2)
    pkg-config libseccomp-dev libsodium-dev libcap-dev
    # tests and demo: real programs in the sandbox and on the far side (DESIGN §7, §8)
    iproute2 util-linux procps python3 iputils-ping iputils-tracepath traceroute bird2 wireguard-go
    wireguard-tools iperf3 curl socat
    # the container image (Images/build.sh, Tests/Integration/container.sh; DESIGN §8: runc, not crun)
    podman runc debootstrap
    # operator.sh reads srouter capture's pcap back
    tshark
    # frr.sh: FRR's zebra, staticd and bgpd as guests (vtysh reads their state)
    frr
    # gobgp.sh: gobgpd as a guest, the gobgp CLI beside it
    gobgpd
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # wireshark-common asks whether non-root users may capture: no (tests read files only).
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    # --no-install-recommends: wireguard-tools would otherwise pull in a kernel image.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (install the Swift 6 toolchain)" >&2; exit 1; }
echo "setup: ok"
