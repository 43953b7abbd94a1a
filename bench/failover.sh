#!/usr/bin/env bash
# Failover time: a controller and two agents, each in its own network namespace on a private
# bridge (198.18.x.0/24, as tests/cluster/), a stack of R busybox pods (with a health check)
# spread over the agents; then, RUNS times: kill -KILL the agent that runs slot 1 (its pods
# keep running in their shims) and time until every slot is running healthy on the other agent;
# restart the killed agent and wait until its stale copies are stopped. Measured twice, each
# with a fresh cluster: the default grace (5 s, heartbeat 1 s) and a 1 s grace (heartbeat
# 0.25 s). Prints the medians beside the published defaults of Swarm, Nomad and Kubernetes
# (none of them is installed here, so they are quoted, not measured). Needs root, iproute2,
# jq and busybox-static.
#
#   bench/failover.sh [RUNS] [REPLICAS]          (default: 3 4)
#   SETTINGS="5:1 1:0.25" bench/failover.sh      (GRACE:HEARTBEAT pairs, seconds)
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
RUNS=${1:-3}
REPLICAS=${2:-4}
SETTINGS=${SETTINGS:-5:1 1:0.25}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "needs busybox-static" >&2; exit 1; }
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }
[ -x "$BERTH" ] || { echo "build berth first (make)" >&2; exit 1; }

. bench/cluster-lib.sh
bcl_init berth-fo bf bfn
declare -A apid
trap bcl_cleanup EXIT
bcl_hosts
bcl_busybox_tar

# Each host: root $tmp/hI, run $tmp/rI (short: the shims' socket paths must fit 107 bytes).
# nsenter --net, not `ip netns exec`, which remounts /sys and hides the cgroup hierarchies.
start_agent() { # I HEARTBEAT
        local i=$1 d=$tmp/h$1
        mkdir -p "$d" "$tmp/r$i"
        : >"$d/err"
        nsenter --net="/run/netns/bfn-$id-$i" "$BERTH" agent --join "https://198.18.$net.1:7443" \
                --token "$token" --name "node-$i" --root "$d/root" --run "$tmp/r$i" \
                --heartbeat "$2" --log-format text >"$d/out" 2>"$d/err" &
        apid[$i]=$!
        pids+=($!)
        wait_line "$d/err" "Joined '\|Already joined '"
        for _ in $(seq 100); do [ -S "$tmp/r$i/berth.sock" ] && break; sleep 0.05; done
}

healthy() { # prints "slot node" of healthy replicas
        "${CTL[@]}" --format json stack ps -p fo |
                jq -r '.[] | select(.state == "running" and .health == "healthy") | "\(.slot) \(.node)"'
}
wait_healthy_off() { # NODE: all replicas healthy, none on NODE
        for _ in $(seq 1200); do
                local h
                h=$(healthy)
                if [ "$(echo "$h" | grep -c .)" -eq "$REPLICAS" ] && ! echo "$h" | grep -q " $1\$"; then
                        return 0
                fi
                sleep 0.05
        done
        echo "replicas did not settle off $1" >&2
        return 1
}

# measure GRACE HEARTBEAT: a fresh cluster, RUNS failovers; sets MEDIAN and TIMES.
measure() {
        local grace=$1 hb=$2 run victim vi t0 t1 i
        rm -rf "$tmp"/h? "$tmp"/r?
        mkdir -p "$tmp/h1" "$tmp/r1"
        nsenter --net="/run/netns/bfn-$id-1" "$BERTH" daemon --root "$tmp/h1/root" \
                --run "$tmp/r1" --listen "198.18.$net.1:7443" --heartbeat "$hb" \
                --node-grace "$grace" --log-format text >"$tmp/h1/out" 2>"$tmp/h1/err" &
        pids+=($!)
        wait_line "$tmp/h1/out" '^BERTH1-'
        token=$(grep -m1 '^BERTH1-' "$tmp/h1/out")
        CTL=("$BERTH" -H "unix://$tmp/r1/berth.sock")
        for i in 2 3; do
                start_agent "$i" "$hb"
                "$BERTH" -H "unix://$tmp/r$i/berth.sock" import -c 'CMD ["sh"]' \
                        "$tmp/busybox.tar" busybox >/dev/null
        done
        cat >"$tmp/fo.json" <<JSON
{"version": 1, "name": "fo", "services": {"web": {"name": "web", "kind": "service",
 "replicas": $REPLICAS, "hash": "f100000000000000000000000000000000000000000000000000000000000001",
 "placement": {"constraints": ["node.role==worker"]},
 "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
  "containers": [{"name": "web", "image": "busybox",
   "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"],
   "healthcheck": {"test": ["CMD", "true"], "interval_ms": 300, "timeout_ms": 2000, "retries": 2}}]}}}}
JSON
        "${CTL[@]}" up -d -f "$tmp/fo.json" >/dev/null
        wait_healthy_off none
        TIMES=()
        for run in $(seq "$RUNS"); do
                victim=$(healthy | awk '$1 == 1 {print $2}')
                vi=${victim#node-}
                t0=$(date +%s.%N)
                kill -KILL "${apid[$vi]}"
                wait "${apid[$vi]}" 2>/dev/null || true
                wait_healthy_off "$victim"
                t1=$(date +%s.%N)
                TIMES+=("$(echo "$t1 - $t0" | bc)")
                # back, and its stale copies gone, before the next run
                start_agent "$vi" "$hb"
                for _ in $(seq 600); do
                        [ -z "$("$BERTH" -H "unix://$tmp/r$vi/berth.sock" ps -q)" ] && break
                        sleep 0.1
                done
                # let the returning node report a few times before killing the other one
                sleep "$(echo "$hb * 3" | bc)"
        done
        MEDIAN=$(printf '%s\n' "${TIMES[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        bcl_stop_cluster
}

printf 'failover: kill -9 of an agent -> %d replicas running healthy elsewhere (%d runs each)\n' \
        "$REPLICAS" "$RUNS"
for setting in $SETTINGS; do
        measure "${setting%%:*}" "${setting##*:}"
        printf '  berth   grace %4ss heartbeat %4ss: median %5.2f s  (%s)\n' "${setting%%:*}" \
                "${setting##*:}" "$MEDIAN" "$(printf '%.2f ' "${TIMES[@]}")"
done
cat <<'EOF2'
  published defaults (not measured here):
  swarm   ~15 s   (dispatcher heartbeat period 5 s x grace multiplier 3)
  nomad   ~20 s   (heartbeat_grace 10 s plus the heartbeat TTL, then rescheduling)
  k8s     ~5m50s  (node-monitor-grace-period 40-50 s + pod eviction after 300 s)
EOF2
