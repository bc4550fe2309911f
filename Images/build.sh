#!/usr/bin/env bash
#
# build.sh — build srouter's OCI image with podman, offline: no registry is contacted.
#
#   sudo Images/build.sh [--tag TAG] [--srouter BINARY]
#
#   debootstrap --variant=minbase bookworm       srouter (swift build -c release
#   + bird2 iproute2 wireguard-tools              --static-swift-stdlib), on the host
#   + libseccomp2 libsodium23 libcap2                         │
#   docs, man pages, locales, apt lists removed               │
#           │ podman import                                   │
#           ▼                                                 ▼
#   localhost/srouter-base:bookworm-KEY  ──── Images/Containerfile ────▶  TAG (default localhost/srouter:latest)
#
# The base image is made once and reused while its tag exists (KEY is a hash of the recipe
# below, so a changed recipe makes a new one); the stripped rootfs is also kept as a tarball
# in $SRT_IMAGE_CACHE, and debootstrap's downloaded packages too. With neither cached,
# debootstrap runs in the background while swift builds srouter.
#
# --srouter BINARY uses that binary instead of building one; it must run on Debian 12 with
# only the libraries above (build.sh checks it with ldd inside the image).
#
# Environment:
#   SRT_IMAGE_CACHE  cache directory (default /var/tmp/srouter-image)
#   SRT_MIRROR       Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   CONTAINERS_CONF  podman's configuration (default Images/containers.conf: runc, cgroupfs, ulimits)
#
# Prints one line per step, the image's size at the end; exits non-zero on the first error.

set -euo pipefail

images_dir=$(cd "$(dirname "$(readlink -f "$0")")" && pwd -P)
root=$(cd "$images_dir/.." && pwd -P)
cache=${SRT_IMAGE_CACHE:-/var/tmp/srouter-image}
mirror=${SRT_MIRROR:-http://deb.debian.org/debian}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$images_dir/containers.conf}

tag=localhost/srouter:latest
binary=""
while (($#)); do
	case $1 in
	--tag) tag=${2:?--tag needs a value}; shift 2 ;;
	--srouter) binary=${2:?--srouter needs a path}; shift 2 ;;
	-h | --help) sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

started=$SECONDS
say() { printf 'build.sh: [%3ds] %s\n' $((SECONDS - started)) "$*"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

((EUID == 0)) || die "run as root (rootful podman, debootstrap)"
for tool in podman runc debootstrap; do
	command -v "$tool" >/dev/null || die "$tool is not installed (Tests/setup.sh installs it)"
done
[[ -n $binary ]] || command -v swift >/dev/null || die "swift is not on PATH (or pass --srouter BINARY)"

# MARK: - The base image's recipe (its hash names the base image)

suite=bookworm
packages=bird2,iproute2,wireguard-tools,libseccomp2,libsodium23,libcap2

# make_rootfs DIR: a minimal Debian with the packages above, stripped of what a router in a
# container never reads. dpkg is told to leave those paths out if a package is added later.
make_rootfs() {
	local dir=$1
	debootstrap --variant=minbase --include="$packages" --cache-dir="$cache/debs" \
		"$suite" "$dir" "$mirror" || return 1
	# No package manager at run time (the image is rebuilt, not upgraded): apt, its keys and
	# libraries, and what only installers and file systems need, 16 MB.
	chroot "$dir" dpkg --purge apt libapt-pkg6.0 debian-archive-keyring gpgv libgnutls30 \
		libp11-kit0 libtasn1-6 libnettle8 libhogweed6 libidn2-0 libunistring2 libffi8 \
		e2fsprogs libext2fs2 libss2 logsave tzdata >/dev/null || return 1
	cat >"$dir/etc/dpkg/dpkg.cfg.d/01-srouter-image" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/lintian/*
	EOF
	rm -rf "$dir"/usr/share/{doc,man,info,locale,lintian}/* \
		"$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old \
		"$dir"/var/log/* "$dir"/tmp/* "$dir"/var/tmp/*
	# debootstrap's host name and resolver files; podman provides its own.
	rm -f "$dir/etc/hostname" "$dir/etc/resolv.conf"
}

key=$({ echo "$suite $packages"; declare -f make_rootfs; } | sha256sum | cut -c1-12)
base=localhost/srouter-base:$suite-$key
tarball=$cache/base-$suite-$key.tar

mkdir -p "$cache/debs"
exec 9>"$cache/lock"
flock -w 600 9 || die "another build.sh holds $cache/lock"

# MARK: - Cleanup

work=$(mktemp -d "$cache/work.XXXXXX")
base_pid=""
on_exit() {
	local rc=$?
	if [[ -n $base_pid ]] && kill -0 "$base_pid" 2>/dev/null; then
		kill -TERM -- "-$base_pid" 2>/dev/null || kill -TERM "$base_pid" 2>/dev/null || true
		wait "$base_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	((rc == 0)) || echo "build.sh: failed (exit $rc)" >&2
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# MARK: - Steps

# base_image: the base image exists afterwards, from podman's storage, the tarball, or a new
# debootstrap. Its output goes to $work/base.log.
base_image() {
	if podman image exists "$base"; then
		echo "base image $base is there"
		return 0
	fi
	if [[ ! -s $tarball ]]; then
		local rootfs=$work/rootfs
		echo "debootstrap --variant=minbase $suite + $packages from $mirror"
		make_rootfs "$rootfs" || { echo "debootstrap failed"; return 1; }
		echo "rootfs: $(du -sh "$rootfs" | cut -f1)"
		tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" ||
			{ rm -f "$tarball.tmp"; return 1; }
		rm -rf "$rootfs"
	fi
	echo "podman import $tarball"
	podman import --message "debootstrap --variant=minbase $suite + $packages" "$tarball" "$base"
}

# Base images and tarballs of earlier recipes are not used again.
for old in "$cache"/base-*.tar; do [[ ! -e $old || $old == "$tarball" ]] || rm -f "$old"; done
podman image ls --format '{{.Repository}}:{{.Tag}}' localhost/srouter-base | grep -vxF "$base" |
	xargs -r podman rmi >/dev/null 2>&1 || true

if podman image exists "$base"; then
	say "base image $base: cached"
elif [[ -s $tarball ]]; then
	say "base image $base: importing the cached rootfs $tarball"
	base_image >"$work/base.log" 2>&1 || { cat "$work/base.log" >&2; die "podman import failed"; }
else
	say "base image $base: debootstrap $suite (minbase + $packages) in the background (log: $work/base.log)"
	set -m # its own process group, so that on_exit can stop debootstrap and its children
	base_image >"$work/base.log" 2>&1 &
	base_pid=$!
	set +m
fi

if [[ -z $binary ]]; then
	say "srouter: swift build -c release --static-swift-stdlib --product srouter"
	(cd "$root" && swift build -c release --static-swift-stdlib --product srouter) >"$work/swift.log" 2>&1 ||
		{ tail -n 40 "$work/swift.log" >&2; die "swift build failed"; }
	tail -n 1 "$work/swift.log"
	binary=$(cd "$root" && swift build -c release --static-swift-stdlib --show-bin-path)/srouter
fi
[[ -x $binary ]] || die "no srouter binary at $binary"
install -m 0755 "$binary" "$work/srouter"
strip "$work/srouter" # symbols and debug information: 83 MB → 61 MB
say "srouter: $binary ($(du -h "$work/srouter" | cut -f1) stripped)"

if [[ -n $base_pid ]]; then
	say "base image: waiting for debootstrap"
	if ! wait "$base_pid"; then
		base_pid=""
		tail -n 30 "$work/base.log" >&2
		die "base image failed"
	fi
	base_pid=""
	say "base image $base: $(grep '^rootfs:' "$work/base.log" || echo imported)"
fi

say "podman build $tag (FROM $base)"
cp "$images_dir/Containerfile" "$work/Containerfile"
podman build --pull=never --network=none --format=oci --layers=false \
	--build-arg "BASE=$base" --tag "$tag" --file "$work/Containerfile" "$work" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log" >&2; die "podman build failed"; }

say "check: srouter's libraries resolve inside the image"
libs=$(podman run --rm --network=none --entrypoint /usr/bin/ldd "$tag" /usr/local/bin/srouter) ||
	die "ldd failed inside the image"
if grep -q 'not found' <<<"$libs"; then
	echo "$libs" >&2
	die "srouter needs a library the image lacks"
fi
echo "$libs" | awk '{ print "    " $1 }'
version=$(podman run --rm --network=none --entrypoint /usr/local/bin/srouter "$tag" --version) ||
	die "srouter --version failed inside the image"
bird_version=$(podman run --rm --network=none --entrypoint /usr/sbin/bird "$tag" --version 2>&1) ||
	die "bird --version failed inside the image"
say "check: $version; $bird_version"

size=$(podman image inspect --format '{{.Size}}' "$tag")
say "done: $tag, $((size / 1000000)) MB ($size bytes)"
