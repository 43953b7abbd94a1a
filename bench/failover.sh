#!/usr/bin/env bash
# Failover time: a controller and two agents, each in its own network namespace on a private
# bridge (198.18.x.0/24, as tests/cluster/), a stack of R busybox pods (with a health check)
# spread over the agents; then, RUNS times: kill -KILL the agent that runs slot 1 (its pods
# keep running in their shims) and time until every slot is running healthy on the other agent;
# restart the killed agent and wait until its stale copies are stopped. Prints the median and
# each run with the heartbeat and grace used. No peer does this on one machine here (swarm and
# nomad are not installed), so berth only. Needs root, iproute2, jq and busybox-static.
#
#   bench/failover.sh [RUNS] [REPLICAS]          (default: 3 4)
#   HEARTBEAT=0.5 GRACE=2 bench/failover.sh      (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
RUNS=${1:-3}
REPLICAS=${2:-4}
HEARTBEAT=${HEARTBEAT:-1}
GRACE=${GRACE:-5}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "needs busybox-static" >&2; exit 1; }
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }
[ -x "$BERTH" ] || { echo "build berth first (make)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/berth-failover.XXXXXX)
id=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
br="bf-$id"
net=
for x in $(shuf -i 1-254 -n 40); do
        if ! ip route show | grep -q "198\.18\.$x\." && ! ip addr show | grep -q "inet 198\.18\.$x\."; then
                net=$x
                break
        fi
done
[ -n "$net" ] || { echo "no free 198.18.x.0/24" >&2; exit 1; }
pids=()
declare -A apid

cleanup() {
        local s ids p
        for s in "$tmp"/h*/run/berth.sock; do
                [ -S "$s" ] || continue
                ids=$("$BERTH" -H "unix://$s" ps -aq 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" -H "unix://$s" rm -f $ids >/dev/null 2>&1 || true
        done
        for p in "${pids[@]}"; do
                kill -TERM "$p" 2>/dev/null || continue
                for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$p" 2>/dev/null || true
        done
        for i in 1 2 3; do ip netns delete "bfn-$id-$i" 2>/dev/null || true; done
        ip link delete "$br" 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

ip link add "$br" type bridge
ip link set "$br" up
for i in 1 2 3; do
        ip netns add "bfn-$id-$i"
        ip link add "bf$id$i" type veth peer name eth0 netns "bfn-$id-$i"
        ip link set "bf$id$i" master "$br" up
        ip -n "bfn-$id-$i" link set lo up
        ip -n "bfn-$id-$i" addr add "198.18.$net.$i/24" dev eth0
        ip -n "bfn-$id-$i" link set eth0 up
done

wait_line() { # FILE PATTERN
        for _ in $(seq 300); do
                grep -q "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        echo "timed out waiting for '$2' in $1" >&2
        return 1
}

mkdir -p "$tmp/h1"
ip netns exec "bfn-$id-1" "$BERTH" daemon --root "$tmp/h1/root" --run "$tmp/h1/run" \
        --listen "198.18.$net.1:7443" --heartbeat "$HEARTBEAT" --node-grace "$GRACE" \
        --log-format text >"$tmp/h1/out" 2>"$tmp/h1/err" &
pids+=($!)
wait_line "$tmp/h1/out" '^BERTH1-'
token=$(grep -m1 '^BERTH1-' "$tmp/h1/out")
CTL=("$BERTH" -H "unix://$tmp/h1/run/berth.sock")

r=$tmp/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
tar -C "$r" -cf "$tmp/busybox.tar" .

start_agent() { # I
        local i=$1 d=$tmp/h$1
        mkdir -p "$d"
        ip netns exec "bfn-$id-$i" "$BERTH" agent --join "https://198.18.$net.1:7443" \
                --token "$token" --name "node-$i" --root "$d/root" --run "$d/run" \
                --heartbeat "$HEARTBEAT" --log-format text >"$d/out" 2>>"$d/err" &
        apid[$i]=$!
        pids+=($!)
        wait_line "$d/err" "Joined '\|Already joined '"
        for _ in $(seq 100); do [ -S "$d/run/berth.sock" ] && break; sleep 0.05; done
}
for i in 2 3; do
        start_agent "$i"
        "$BERTH" -H "unix://$tmp/h$i/run/berth.sock" import -c 'CMD ["sh"]' "$tmp/busybox.tar" \
                busybox >/dev/null
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
wait_healthy_off none
times=()
for run in $(seq "$RUNS"); do
        victim=$(healthy | awk '$1 == 1 {print $2}')
        vi=${victim#node-}
        t0=$(date +%s.%N)
        kill -KILL "${apid[$vi]}"
        wait_healthy_off "$victim"
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc)")
        # back, and its stale copies gone, before the next run
        start_agent "$vi"
        for _ in $(seq 600); do
                [ -z "$("$BERTH" -H "unix://$tmp/h$vi/run/berth.sock" ps -q)" ] && break
                sleep 0.1
        done
        # let the returning node report a few times before killing the other one
        sleep "$(echo "$HEARTBEAT * 3" | bc)"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'failover (kill -9 of an agent -> %d replicas healthy elsewhere), heartbeat %ss, grace %ss\n' \
        "$REPLICAS" "$HEARTBEAT" "$GRACE"
printf '  berth: median %.2f s over %d runs (%s)\n' "$median" "$RUNS" "$(printf '%.2f ' "${times[@]}")"
