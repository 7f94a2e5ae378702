#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the image localhost/debian-base:12 from Debian's package archive
# with debootstrap, for hosts that reach the archive but no image registry;
# then build memviewfs from it:
#
#   contrib/container/debian-base.sh [MIRROR]
#   podman build --from localhost/debian-base:12 --network host \
#       -t memviewfs -f contrib/container/Containerfile .
#
# Does nothing when the image exists already (podman rmi it to rebuild).
# MIRROR defaults to http://deb.debian.org/debian. Needs root, debootstrap
# and podman; takes about a minute and a half and 200 MB.
set -eu
image=localhost/debian-base:12
mirror=${1:-http://deb.debian.org/debian}
if podman image exists "$image"; then
  exit 0
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
echo "debian-base.sh: debootstrap bookworm from $mirror" >&2
if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
  tail -20 "$rootfs.log" >&2
  rm -f "$rootfs.log"
  exit 1
fi
rm -f "$rootfs.log"
# debootstrap leaves the downloaded .debs behind: not part of the image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
# The environment and command of Docker Hub's debian:12, which the
# Containerfile names (an imported tree has none: commands without a PATH).
tar -C "$rootfs" -c . | podman import --quiet \
  --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD=["bash"]' - "$image" >/dev/null
echo "debian-base.sh: imported $image" >&2
