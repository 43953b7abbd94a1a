#!/usr/bin/env bash
# Embedded DNS under load: N=${N:-200} containers (busybox sleep) on one user network, then a
# client in one more container's network namespace (build/bench/dns-client, run with nsenter -n)
# looks their names up Q=${Q:-5000} times, one query after the other over UDP to the network's
# DNS server (its gateway address), and the script prints p50/p99/max in microseconds.
# Issue #5's target: p99 under 1 ms. Needs root, jq and busybox-static; runs its own daemon on a
# temporary root (--bridge none) and a user network on SUBNET (default 10.244.0.0/22), and
# removes everything it made at exit. Traffic goes only to that network.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BERTH=$PWD/$BUILD/berth
N=${N:-200}
Q=${Q:-5000}
SUBNET=${SUBNET:-10.244.0.0/22}
[ "$(id -u)" -eq 0 ] || { echo "bench/dns.sh: needs root" >&2; exit 77; }
for c in jq nsenter /bin/busybox; do
        command -v "$c" >/dev/null || { echo "bench/dns.sh: needs $c" >&2; exit 77; }
done
[ "$N" -ge 1 ] && [ "$N" -le 1000 ] || { echo "bench/dns.sh: N must be 1..1000" >&2; exit 2; }
make -s -j2 "$BUILD/berth" "$BUILD/bench/dns-client"

T=$(mktemp -d /tmp/berth-dns.XXXXXX)
cleanup() {
        if [ -n "${DPID:-}" ]; then
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                # shellcheck disable=SC2086
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                "$BERTH" network rm dnsb >/dev/null 2>&1 || true
                kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
        fi
        if [ -n "${INST:-}" ]; then
                nft delete table ip "$INST" 2>/dev/null || true
                nft delete table bridge "$INST" 2>/dev/null || true
        fi
        rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
ln -s busybox "$T/rootfs/bin/sleep"
ln -s busybox "$T/rootfs/bin/sh"
tar -C "$T/rootfs" -cf "$T/img.tar" .
"$BERTH" daemon --root "$T/root" --run "$T/run" --bridge none --log-level error >"$T/log" 2>&1 &
DPID=$!
export BERTH_HOST=unix://$T/run/berth.sock
for _ in $(seq 100); do [ -S "$T/run/berth.sock" ] && break; sleep 0.05; done
INST=$(curl -s --unix-socket "$T/run/berth.sock" http://berth/v1/info | jq -r .BerthNetwork.NftTable)
"$BERTH" import "$T/img.tar" bench >/dev/null
"$BERTH" network create --subnet "$SUBNET" dnsb >/dev/null
GW=$("$BERTH" network inspect dnsb | jq -r '.[0].IPAM.Config[0].Gateway')

s=$(date +%s%N)
for i in $(seq 0 $((N - 1))); do
        "$BERTH" run -d --name "c$i" --network dnsb bench sleep 3600 >/dev/null
done
e=$(date +%s%N)
"$BERTH" run -d --name client --network dnsb bench sleep 3600 >/dev/null
PID=$("$BERTH" inspect -f '{{.State.Pid}}' client)
read -r p50 p99 max < <(nsenter -t "$PID" -n "$BUILD/bench/dns-client" "$GW" c "$N" "$Q")
echo "$N containers on one network (started in $(((e - s) / 1000000)) ms): DNS lookup from a" \
        "container, $Q queries: p50 ${p50} us, p99 ${p99} us, max ${max} us"
