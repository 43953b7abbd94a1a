#!/usr/bin/env bash
# Scheduling at scale, end to end: a controller (`berth daemon`, in a private network namespace)
# and NODES hollow nodes (build/bench/hollow: the real node agent with an in-memory pod runtime,
# no containers, like Kubernetes' kubemark); one stack of 100 services x (PODS/100) replicas is
# brought up, and the script times, from just before `berth up` sends the stack:
#   placed:  until the controller has logged a START for every pod,
#   running: until the controller has accepted reports of every pod running from the hollow
#            nodes (the whole loop: plan, store, long-polled assignments, agents' local passes
#            and reports); placements/s is PODS / running,
# and reads the daemon's peak RSS (VmHWM). Nomad publishes 1 500-3 750 placements/s for its
# scheduler benchmarks; no peer runs here. One run (the numbers are noisy on a shared machine).
# build/bench/sched prints the bare scheduler and planner rates in-process.
#
#   bench/sched.sh [PODS] [NODES] [HEARTBEAT]      (default: 10000 100 1)
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
HOLLOW=${HOLLOW:-$PWD/build/bench/hollow}
PODS=${1:-10000}
NODES=${2:-100}
HB=${3:-1}
SERVICES=100
[ "$(id -u)" -eq 0 ] || { echo "needs root (a network namespace for the daemon)" >&2; exit 1; }
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }
[ -x "$BERTH" ] && [ -x "$HOLLOW" ] || { echo "build first: make build/berth build/bench/hollow" >&2; exit 1; }
[ "$PODS" -ge "$SERVICES" ] || { echo "PODS must be >= $SERVICES" >&2; exit 2; }
REPLICAS=$((PODS / SERVICES))
PODS=$((REPLICAS * SERVICES))

tmp=$(mktemp -d /tmp/berth-sch.XXXXXX)
ns="bsc-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pids=()

stop_pid() {
        kill -TERM "$1" 2>/dev/null || return 0
        for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}
cleanup() {
        local i
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}"; done
        ip netns delete "$ns" 2>/dev/null || true
        [ -z "${KEEP_LOG:-}" ] || cp "$tmp/err" "$KEEP_LOG"
        rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
nsenter --net="/run/netns/$ns" "$BERTH" daemon --root "$tmp/root" --run "$tmp/run" \
        --heartbeat "$HB" --log-format text >"$tmp/out" 2>"$tmp/err" &
dpid=$!
pids+=("$dpid")
CTL=("$BERTH" -H "unix://$tmp/run/berth.sock")
for _ in $(seq 200); do [ -S "$tmp/run/berth.sock" ] && break; sleep 0.05; done
# The daemon's own node takes no pods: only hollow nodes count.
for _ in $(seq 100); do
        self=$("${CTL[@]}" node ls --format '{{.ID}}' 2>/dev/null | head -1) && [ -n "$self" ] && break
        sleep 0.1
done
"${CTL[@]}" node update --availability pause "$self" >/dev/null

"$HOLLOW" "$tmp/run/berth.sock" "$NODES" "$HB" "$PODS" >"$tmp/hollow.out" 2>"$tmp/hollow.err" &
pids+=("$!")
ready=0
for _ in $(seq 600); do
        ready=$("${CTL[@]}" node ls --format '{{.Name}} {{.Status}}' | grep -c '^hollow-.* ready$' || true)
        [ "$ready" -eq "$NODES" ] && break
        sleep 0.1
done
[ "$ready" -eq "$NODES" ] || { echo "only $ready/$NODES hollow nodes ready" >&2; tail "$tmp/hollow.err" >&2; exit 1; }
rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")

{
        printf '{"version": 1, "name": "bench", "services": {'
        for ((i = 0; i < SERVICES; i++)); do
                [ "$i" -gt 0 ] && printf ','
                printf '"s%03d": {"name": "s%03d", "kind": "service", "replicas": %d,' "$i" "$i" "$REPLICAS"
                printf ' "hash": "b%063d", "placement": {"constraints": ["node.labels.zone!=none"]},' "$i"
                printf ' "pod": {"restart": {"policy": "always"}, "containers": [{"name": "c",'
                printf ' "image": "busybox", "command": ["true"],'
                printf ' "resources": {"reservations": {"cpus": 0.1, "memory": 67108864}}}]}}'
        done
        printf '}}\n'
} >"$tmp/stack.json"

# What is measured: t0 is taken just before `berth up` sends the stack; "running" is the moment
# the hollow nodes' accepted status reports (the controller's 204) hold every pod running, as
# build/bench/hollow prints it (CLOCK_REALTIME, same host). So placements/s = pods / (running -
# t0) covers the whole loop: the up (validate, plan, store), the assignment long-polls, the
# agents' local passes and their reports. "placed" is when the controller's log holds a START
# for every pod.
t0=$(date +%s.%N)
"${CTL[@]}" up -d -f "$tmp/stack.json" >/dev/null
t_up=$(echo "$(date +%s.%N) - $t0" | bc)
placed=
t_run=
after_run=0
for _ in $(seq 6000); do
        if [ -z "$placed" ] && [ "$(grep -c '\] START s[0-9]*/[0-9]* on hollow-' "$tmp/err" || true)" -ge "$PODS" ]; then
                placed=$(echo "$(date +%s.%N) - $t0" | bc)
        fi
        if [ -z "$t_run" ] && grep -q "^running $PODS at " "$tmp/hollow.out"; then
                t_run=$(echo "$(awk '/^running / {print $4}' "$tmp/hollow.out") - $t0" | bc)
        fi
        [ -n "$placed" ] && [ -n "$t_run" ] && break
        # an up that places every pod itself logs no START (passes do): running is what counts
        if [ -n "$t_run" ]; then
                after_run=$((after_run + 1))
                [ "$after_run" -ge 40 ] && break
        fi
        sleep 0.05
done
[ -n "$t_run" ] || {
        echo "did not converge in 300 s: placed '${placed:-no}', running '${t_run:-no}'" >&2
        tail -5 "$tmp/err" >&2
        exit 1
}
# The controller agrees: every pod of the stack is running in its view.
running=0
for _ in $(seq 20); do
        running=$("${CTL[@]}" --format json stack ps -p bench 2>/dev/null |
                jq '[.[] | select(.state == "running")] | length' 2>/dev/null || echo 0)
        [ "$running" -ge "$PODS" ] && break
        sleep 0.5
done
[ "$running" -ge "$PODS" ] || { echo "the controller lists $running/$PODS running" >&2; exit 1; }
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$dpid/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")
per_node=$(echo "$PODS / $NODES" | bc)

printf 'scheduling %d pods (%d services x %d) onto %d hollow nodes, heartbeat %ss\n' \
        "$PODS" "$SERVICES" "$REPLICAS" "$NODES" "$HB"
if [ -n "$placed" ]; then
        printf '  berth  up answered after %6.2f s; every START logged after %6.2f s\n' "$t_up" "$placed"
else
        printf '  berth  up answered after %6.2f s (it placed every pod itself: no START lines)\n' "$t_up"
fi
printf '  berth  all %d pods reported running after %6.2f s: %6.0f placements/s end to end\n' \
        "$PODS" "$t_run" "$(echo "$PODS / $t_run" | bc -l)"
printf '  berth  controller daemon: RSS %d MiB with %d nodes idle, %d MiB with %d pods, peak %d MiB\n' \
        "$((rss_idle / 1024))" "$NODES" "$((rss / 1024))" "$PODS" "$((hwm / 1024))"
printf '  nomad  1 500-3 750 placements/s (published; not installed here)\n'
printf '  (%d pods per node)\n' "$per_node"
