#!/usr/bin/env bash
# TCP throughput with iperf3 (T=${T_SECS:-3} s per run, median of ${N:-3} runs, Gbit/s):
#   container -> container on a berth user network,
#   host -> a container's published port on 127.0.0.1 (DNAT through berth's nft table),
#   namespace -> namespace over a hand-made veth + bridge pair (the kernel's baseline).
# docker/podman are not measured (not installed on the development VM; never started here).
# Needs root, iperf3 and busybox-static. iperf3 is the host's binary run inside the container's
# network namespace (nsenter -n), so only the network path differs. Traffic goes only to
# loopback and to the namespaces this script creates; everything it made is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BERTH=$PWD/$BUILD/berth
N=${N:-3}
SECS=${T_SECS:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench/net-throughput.sh: needs root" >&2; exit 77; }
for c in iperf3 jq nsenter /bin/busybox; do
        command -v "$c" >/dev/null || { echo "bench/net-throughput.sh: needs $c" >&2; exit 77; }
done
make -s -j2 "$BUILD/berth"

T=$(mktemp -d /tmp/berth-tput.XXXXXX)
NSA=berth-tput-a-$$
NSB=berth-tput-b-$$
BR=btp$$
SRV=
cleanup() {
        [ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true
        if [ -n "${DPID:-}" ]; then
                "$BERTH" rm -f ta tb >/dev/null 2>&1 || true
                "$BERTH" network rm tput >/dev/null 2>&1 || true
                kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
        fi
        if [ -n "${INST:-}" ]; then
                ip link del "$INST" 2>/dev/null || true
                nft delete table ip "$INST" 2>/dev/null || true
                nft delete table bridge "$INST" 2>/dev/null || true
        fi
        ip netns del "$NSA" 2>/dev/null || true
        ip netns del "$NSB" 2>/dev/null || true
        ip link del "$BR" 2>/dev/null || true
        rm -rf "$T"
}
trap cleanup EXIT

# One iperf3 run: server command prefix and port (5201 inside the server's namespace), client
# command prefix, target address and port. Prints Gbit/s received (0 when the run failed).
run_once() { # SERVER_PREFIX CLIENT_PREFIX ADDR PORT
        local out
        # shellcheck disable=SC2086
        timeout $((SECS + 10)) $1 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        SRV=$!
        sleep 0.3
        # shellcheck disable=SC2086
        out=$(timeout $((SECS + 10)) $2 iperf3 -c "$3" -p "$4" -t "$SECS" -J || true)
        kill "$SRV" 2>/dev/null || true
        wait "$SRV" 2>/dev/null || true
        SRV=
        printf '%s' "$out" | jq -r '(.end.sum_received.bits_per_second // 0) / 1e9'
}

median_gbps() { # SERVER_PREFIX CLIENT_PREFIX ADDR PORT
        local i
        for i in $(seq "$N"); do
                run_once "$@"
        done | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'
}

# --- berth ---
mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
ln -s busybox "$T/rootfs/bin/sleep"
tar -C "$T/rootfs" -cf "$T/img.tar" .
"$BERTH" daemon --root "$T/root" --run "$T/run" --bridge none --log-level error >"$T/log" 2>&1 &
DPID=$!
export BERTH_HOST=unix://$T/run/berth.sock
for _ in $(seq 100); do [ -S "$T/run/berth.sock" ] && break; sleep 0.05; done
INST=$(curl -s --unix-socket "$T/run/berth.sock" http://berth/v1/info | jq -r .BerthNetwork.NftTable)
"$BERTH" import "$T/img.tar" tput >/dev/null
"$BERTH" network create --subnet "${SUBNET:-10.243.1.0/24}" tput >/dev/null
PORT=${PORT:-25201}
"$BERTH" run -d --name ta --network tput -p "127.0.0.1:$PORT:5201" tput sleep 600 >/dev/null
"$BERTH" run -d --name tb --network tput tput sleep 600 >/dev/null
PA=$("$BERTH" inspect -f '{{.State.Pid}}' ta)
PB=$("$BERTH" inspect -f '{{.State.Pid}}' tb)
IPA=$("$BERTH" inspect -f '{{.NetworkSettings.Networks.tput.IPAddress}}' ta)

c2c=$(median_gbps "nsenter -t $PA -n" "nsenter -t $PB -n" "$IPA" 5201)
pub=$(median_gbps "nsenter -t $PA -n" "" 127.0.0.1 "$PORT")

# --- hand-made veth + bridge ---
ip netns add "$NSA"
ip netns add "$NSB"
ip link add "$BR" type bridge
ip link set "$BR" up
for x in a b; do
        ns=$NSA
        [ $x = b ] && ns=$NSB
        ip link add "${BR}$x" type veth peer name eth0 netns "$ns"
        ip link set "${BR}$x" master "$BR" up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
done
ip -n "$NSA" addr add 10.244.77.2/24 dev eth0
ip -n "$NSB" addr add 10.244.77.3/24 dev eth0
raw=$(median_gbps "ip netns exec $NSA" "ip netns exec $NSB" 10.244.77.2 5201)

echo "TCP throughput, iperf3 ${SECS}s, median of $N (Gbit/s):"
printf '  %-44s %s\n' "berth: container -> container (user network)" "$c2c"
printf '  %-44s %s\n' "berth: host -> published port (127.0.0.1)" "$pub"
printf '  %-44s %s\n' "hand-made veth + bridge: ns -> ns" "$raw"
