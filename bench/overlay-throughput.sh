#!/usr/bin/env bash
# Cross-host container TCP throughput over a berth overlay network (VXLAN) against the plain
# underlay: a controller and two agents, each in its own network namespace on a private bridge
# (198.18.x.0/24, as tests/cluster/); a stack of 2 busybox pods on a `driver: overlay` network,
# one per agent. One iperf3 run (T_SECS, default 5 s) from the container on host 3 to the one
# on host 2 over the overlay, and one between the same two host namespaces over the underlay.
# iperf3 is the host's binary run inside each namespace (nsenter -n), so only the network path
# differs. Target (issue #10): overlay >= 80 % of the underlay. Needs root, iproute2, jq, iperf3
# and busybox-static. Traffic stays inside the namespaces this script creates; everything it
# made is removed at exit.
#
#   bench/overlay-throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
SECS=${T_SECS:-5}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
for c in iperf3 jq nsenter bc /bin/busybox; do
        command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 77; }
done
[ -x "$BERTH" ] || { echo "build berth first (make)" >&2; exit 1; }

. bench/cluster-lib.sh
bcl_init berth-ovt bo bon
SRV=
cleanup() {
        [ -n "$SRV" ] && stop_pid "$SRV"
        bcl_cleanup
}
trap cleanup EXIT
bcl_hosts
bcl_busybox_tar

mkdir -p "$tmp/h1" "$tmp/r1"
nsenter --net="/run/netns/bon-$id-1" "$BERTH" daemon --root "$tmp/h1/root" --run "$tmp/r1" \
        --listen "198.18.$net.1:7443" --log-format text >"$tmp/h1/out" 2>"$tmp/h1/err" &
pids+=($!)
wait_line "$tmp/h1/out" '^BERTH1-'
token=$(grep -m1 '^BERTH1-' "$tmp/h1/out")
CTL=("$BERTH" -H "unix://$tmp/r1/berth.sock")
for i in 2 3; do
        d=$tmp/h$i
        mkdir -p "$d" "$tmp/r$i"
        nsenter --net="/run/netns/bon-$id-$i" "$BERTH" agent --join "https://198.18.$net.1:7443" \
                --token "$token" --name "node-$i" --root "$d/root" --run "$tmp/r$i" \
                --advertise-addr "198.18.$net.$i" --log-format text >"$d/out" 2>"$d/err" &
        pids+=($!)
        wait_line "$d/err" "Joined '"
        for _ in $(seq 100); do [ -S "$tmp/r$i/berth.sock" ] && break; sleep 0.05; done
        "$BERTH" -H "unix://$tmp/r$i/berth.sock" import -c 'CMD ["sh"]' "$tmp/busybox.tar" \
                busybox >/dev/null
done
cat >"$tmp/ovt.json" <<JSON
{"version": 1, "name": "ovt", "networks": {"mesh": {"name": "ovt_mesh", "driver": "overlay"}},
 "services": {"srv": {"name": "srv", "kind": "service", "replicas": 2,
  "hash": "b100000000000000000000000000000000000000000000000000000000000001",
  "placement": {"constraints": ["node.role==worker"]},
  "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
   "networks": {"mesh": {}},
   "containers": [{"name": "srv", "image": "busybox",
    "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]}]}}}}
JSON
"${CTL[@]}" up -d -f "$tmp/ovt.json" >/dev/null

ctr_on() { "$BERTH" -H "unix://$tmp/r$1/berth.sock" ps -q --filter label=berth.service=srv | head -1; }
for _ in $(seq 600); do
        [ -n "$(ctr_on 2)" ] && [ -n "$(ctr_on 3)" ] && break
        sleep 0.1
done
[ -n "$(ctr_on 2)" ] && [ -n "$(ctr_on 3)" ] || { echo "pods did not start on both agents" >&2; exit 1; }
info() { "$BERTH" -H "unix://$tmp/r$1/berth.sock" inspect "$(ctr_on "$1")"; }
P2=$(info 2 | jq -r '.[0].State.Pid')
P3=$(info 3 | jq -r '.[0].State.Pid')
IP2=$(info 2 | jq -r '.[0].NetworkSettings.Networks[].IPAddress' | head -1)
MTU=$(nsenter -t "$P2" -n ip -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
# Wait until host 3 has host 2's pod (the endpoint table reached it).
for _ in $(seq 300); do
        nsenter -t "$P3" -n ping -c 1 -W 1 "$IP2" >/dev/null 2>&1 && break
        sleep 0.1
done

run_once() { # SERVER_PREFIX CLIENT_PREFIX ADDR: Gbit/s received (0 when the run failed)
        local out
        # shellcheck disable=SC2086
        timeout $((SECS + 10)) $1 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        SRV=$!
        sleep 0.3
        # shellcheck disable=SC2086
        out=$(timeout $((SECS + 10)) $2 iperf3 -c "$3" -p 5201 -t "$SECS" -J || true)
        stop_pid "$SRV"
        SRV=
        printf '%s' "$out" | jq -r '(.end.sum_received.bits_per_second // 0) / 1e9'
}

ov=$(run_once "nsenter -t $P2 -n" "nsenter -t $P3 -n" "$IP2")
under=$(run_once "nsenter --net=/run/netns/bon-$id-2" "nsenter --net=/run/netns/bon-$id-3" \
        "198.18.$net.2")
pct=$(echo "scale=1; 100 * $ov / $under" | bc 2>/dev/null || echo "?")
echo "Cross-host TCP throughput, iperf3 ${SECS}s, one run (Gbit/s), load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-52s %6.2f  (container MTU %s)\n' "berth overlay (VXLAN): container -> container" "$ov" "$MTU"
printf '  %-52s %6.2f\n' "underlay: host namespace -> host namespace" "$under"
printf '  %-52s %6s %%  (target >= 80 %%)\n' "overlay / underlay" "$pct"
