#!/usr/bin/env bash
# Builds a Debian bookworm base image with a C compiler from Debian's archive (mmdebstrap) and
# imports it into berth as debian-gcc:bookworm. Needs root, mmdebstrap, and the apt archive
# reachable (about 2 minutes and 350 MB).
#
#   examples/debian-build/make-base.sh [IMAGE]
set -euo pipefail
IMAGE=${1:-debian-gcc:bookworm}
BERTH=${BERTH:-berth}
command -v mmdebstrap >/dev/null || { echo "make-base: apt-get install mmdebstrap" >&2; exit 1; }
T=$(mktemp -d /tmp/berth-debian.XXXXXX)
trap 'rm -rf "$T"' EXIT
mmdebstrap --variant=essential --include=gcc,libc6-dev bookworm "$T/rootfs.tar"
"$BERTH" import -c 'CMD ["/bin/bash"]' \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$T/rootfs.tar" "$IMAGE"
