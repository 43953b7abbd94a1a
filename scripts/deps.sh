#!/usr/bin/env bash
# Installs berth's build (and, with --test, test) dependencies from Debian's archive. --bench
# adds the peers bench/peers.sh compares berth with (docker, containerd, podman, compose...).
# --test installs podman, dockerd and containerd too: tests/integration/oci-peers.bats runs them
# (privately, by pid) to drive berth's OCI runtime; nothing starts them at install (Debian's
# invoke-rc.d finds no runlevel without an init system, and this image's policy-rc.d says no).
# Idempotent: when every package is already present it changes nothing and runs no apt-get.
set -euo pipefail

build_pkgs=(
        build-essential pkg-config make gcc
        libyaml-dev libjansson-dev libcurl4-openssl-dev libarchive-dev libssl-dev
        libseccomp-dev libcap-dev libmnl-dev libev-dev libhttp-parser-dev
        libnftables-dev libsqlite3-dev libldns-dev zlib1g-dev libisal-dev
        busybox-static iproute2 nftables ca-certificates
)
test_pkgs=(
        bats clang libclang-rt-14-dev clang-format curl jq
        docker-registry apache2-utils skopeo openssl procps psmisc
        util-linux kmod
        mmdebstrap
        crun runc python3 iperf3
        podman conmon docker.io containerd
)

bench_pkgs=(
        docker.io containerd docker-compose podman conmon crun runc skopeo docker-registry
        hyperfine iperf3 uidmap slirp4netns fuse-overlayfs containernetworking-plugins catatonit
        busybox-static python3 curl buildah ethtool
)

want=("${build_pkgs[@]}")
case "${1:-}" in
--test) want+=("${test_pkgs[@]}") ;;
--bench) want+=("${bench_pkgs[@]}") ;;
"") ;;
*) echo "usage: $0 [--test|--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
                missing+=("$p")
        fi
done
if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                echo "deps.sh: missing packages (${missing[*]}); run as root" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --test also makes a Debian bookworm root file system with gcc, once, from the same archive
# the packages come from: tests/integration/build.bats builds examples/debian-build (a static
# C program compiled in one stage, copied into FROM scratch) on it.
if [ "${1:-}" = --test ] && [ "$(id -u)" -eq 0 ]; then
        fixture=/var/cache/berth-test/debian-gcc-bookworm.tar
        if [ ! -s "$fixture" ]; then
                mkdir -p "${fixture%/*}"
                rm -f "$fixture.tmp.tar"
                if mmdebstrap --quiet --variant=essential --include=gcc,libc6-dev bookworm \
                        "$fixture.tmp.tar"; then
                        mv "$fixture.tmp.tar" "$fixture"
                else
                        rm -f "$fixture.tmp.tar"
                        echo "deps.sh: mmdebstrap failed: build.bats will report the Debian build test as skipped" >&2
                fi
        fi
fi
exit 0
