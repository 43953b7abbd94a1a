#!/usr/bin/env bash
# `berth run --rm IMG true` on the default bridge vs `--network none`, N=${N:-25} runs of each,
# alternating so both see the same machine load: medians, and the median of the per-pair
# difference (what bridge networking adds). Needs root and busybox-static; runs its own daemon on
# a temporary root and removes everything it made (its root's own bridge and nft tables). BIP:
# the default network's subnet (default 10.243.0.1/24: the host's pools may be used up by other daemons).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BERTH=$PWD/$BUILD/berth
N=${N:-25}
[ "$(id -u)" -eq 0 ] || { echo "bench/bridge.sh: needs root" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "bench/bridge.sh: needs busybox-static" >&2; exit 77; }
make -s -j2 "$BUILD/berth"

T=$(mktemp -d /tmp/berth-bench.XXXXXX)
cleanup() {
        [ -n "${DPID:-}" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
        # this root's default bridge and nft tables (engine/net/net.c net_instance_name)
        if [ -n "${INST:-}" ]; then
                ip link del "$INST" 2>/dev/null || true
                nft delete table ip "$INST" 2>/dev/null || true
                nft delete table bridge "$INST" 2>/dev/null || true
        fi
        rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
ln -s busybox "$T/rootfs/bin/true"
ln -s busybox "$T/rootfs/bin/sh"
tar -C "$T/rootfs" -cf "$T/img.tar" .
"$BERTH" daemon --root "$T/root" --run "$T/run" --bip "${BIP:-10.243.0.1/24}" --log-level error >"$T/log" 2>&1 &
DPID=$!
export BERTH_HOST=unix://$T/run/berth.sock
for i in $(seq 100); do [ -S "$T/run/berth.sock" ] && break; sleep 0.05; done
INST=$(curl -s --unix-socket "$T/run/berth.sock" http://berth/v1/info | jq -r .BerthNetwork.NftTable)
"$BERTH" import "$T/img.tar" bench >/dev/null

run_us() { # NETWORK: wall time of one run in microseconds
        local s e
        s=$(date +%s%N)
        "$BERTH" run --rm --network "$1" bench true >/dev/null
        e=$(date +%s%N)
        echo $(((e - s) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }

# none and bridge alternate, so both see the same load; the difference is taken per pair.
"$BERTH" run --rm --network none bench true >/dev/null # warm up
"$BERTH" run --rm --network bridge bench true >/dev/null
: >"$T/none"
: >"$T/bridge"
: >"$T/diff"
for _ in $(seq "$N"); do
        a=$(run_us none)
        b=$(run_us bridge)
        echo "$a" >>"$T/none"
        echo "$b" >>"$T/bridge"
        echo $((b - a)) >>"$T/diff"
done
echo "run --rm true, median of $N (alternating): --network none $(median <"$T/none") ms," \
        "default bridge $(median <"$T/bridge") ms, bridge - none per pair $(median <"$T/diff") ms"
