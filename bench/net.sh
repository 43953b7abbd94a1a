#!/usr/bin/env bash
# Networking benchmarks: veth fast path (peer born in the netns) vs create+move, and embedded
# DNS lookup latency against 200 names. Needs root; everything runs in a private network
# namespace that disappears with the process.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s -j2 "$BUILD/libengine.a" "$BUILD/libcommon.a"
mkdir -p "$BUILD/bench"
cc -std=gnu11 -O2 -D_GNU_SOURCE -Icommon -Iengine $(pkg-config --cflags ldns libmnl) \
        -o "$BUILD/bench/net-bench" bench/net-bench.c "$BUILD/libengine.a" "$BUILD/libcommon.a" \
        $(pkg-config --libs libmnl ldns jansson libnftables) -lev
exec "$BUILD/bench/net-bench"
