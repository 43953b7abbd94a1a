#!/bin/bash
# Leak check, two modes:
#   create (default): N create/start/stop/rm cycles of a container on a user bridge network with
#     a published port, after a warm-up of 3.
#   crash: one container with --restart always that exits at once, restarted N times by the
#     daemon (backoff capped at 1 ms through daemon.json, so the loop is not throttled).
# Prints the time per cycle and, before and after: the daemon's RSS and open fds, the mounts under
# its root, berth cgroups, the host's links and berth's nft rules.
# Every PROGRESS (1000) cycles the counters go to stderr, in the order of the final table.
# CYCLES_NETWORK=none runs the containers without a network (no bridge, no nft rules, no port):
# nothing shared with other work on the host, so it can run outside the integration lock.
# tests/integration/readopt.bats runs it with 300 cycles and asserts that nothing grew.
#
#   sudo bench/cycles.sh [N] [create|crash]
set -euo pipefail
N=${1:-1000}
MODE=${2:-create}
. "$(dirname "$0")/sup-lib.sh"

case $MODE in
create | crash) ;;
*)
        echo "cycles.sh: unknown mode '$MODE' (create or crash)" >&2
        exit 2
        ;;
esac

sup_init
echo '{"restart-backoff-max-ms": 1}' >"$TMP/daemon.json"
sup_daemon --config-file "$TMP/daemon.json"
sup_image
if [ "${CYCLES_NETWORK:-}" = none ]; then
        net=(--network none)
else
        B network create --subnet "${CYCLES_SUBNET:-10.244.0.0/24}" cycles >/dev/null
        port=
        for p in $(seq $((30000 + RANDOM % 9000)) 39999); do
                ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$p\$" && continue
                port=$p
                break
        done
        net=(--network cycles -p "127.0.0.1:$port:80")
fi

cycle() {
        B create --name cyc "${net[@]}" busybox sleep 100000 >/dev/null &&
                B start cyc >/dev/null && B stop -t 0 cyc >/dev/null && B rm cyc >/dev/null
}

counters() {
        echo "$(rss_kb "$DAEMON_PID") $(fds "$DAEMON_PID") $(n_mounts) $(n_cgroups) $(n_links) $(n_rules)"
}

restarts() { B inspect --format '{{.RestartCount}}' crash 2>/dev/null || echo 0; }

# CYCLES_SETTLE=S (both modes): also the daemon's RSS while idle, S seconds after start-up and S
# seconds after the cycles (the daemon trims its heap when quiet, every 5 s), so the two are
# measured in the same state.
settle_rss() {
        sleep "$CYCLES_SETTLE"
        rss_kb "$DAEMON_PID"
}

if [ "$MODE" = crash ]; then
        [ "${CYCLES_SETTLE:-0}" -gt 0 ] && idle_before=$(settle_rss)
        # warm-up: the first 3 restarts
        B run -d --name crash "${net[@]}" --restart always busybox \
                sh -c 'exit 1' >/dev/null
        for i in $(seq 300); do
                [ "$(restarts)" -ge 3 ] && break
                sleep 0.1
        done
        read -r -a before <<<"$(counters)"
        base=$(restarts)
        t0=$(date +%s%N)
        next=${PROGRESS:-1000}
        # bounded: polled every 0.5 s (plus an inspect), at most N / 2 + 60 polls: enough for
        # 4 restarts a second on a busy machine
        for i in $(seq $((N / 2 + 60))); do
                done_n=$(($(restarts) - base))
                [ "$done_n" -ge "$N" ] && break
                if [ "$done_n" -ge "$next" ]; then
                        echo "cycles: after $done_n restarts: $(counters) ($(((($(date +%s%N) - t0) / 1000 / done_n))) us per restart)" >&2
                        next=$((next + ${PROGRESS:-1000}))
                fi
                sleep 0.5
        done
        done_n=$(($(restarts) - base))
        B rm -f crash >/dev/null
        t1=$(date +%s%N)
        [ "$done_n" -ge "$N" ] || { echo "cycles.sh: only $done_n of $N restarts" >&2; exit 1; }
        sleep 0.5
        read -r -a after <<<"$(counters)"
        [ "${CYCLES_SETTLE:-0}" -gt 0 ] && idle_after=$(settle_rss)
        echo "cycles: $done_n crash/restart cycles | $(((t1 - t0) / 1000000)) ms, $(((t1 - t0) / 1000 / done_n)) us per restart"
else
        [ "${CYCLES_SETTLE:-0}" -gt 0 ] && idle_before=$(settle_rss)
        for i in 1 2 3; do
                cycle || { echo "cycles.sh: warm-up cycle $i failed" >&2; tail -5 "$TMP/daemon.log" >&2; exit 1; }
        done
        read -r -a before <<<"$(counters)"
        t0=$(date +%s%N)
        for i in $(seq "$N"); do
                cycle || { echo "cycles.sh: cycle $i failed" >&2; tail -5 "$TMP/daemon.log" >&2; exit 1; }
                # progress on stderr for long runs: the counters every PROGRESS cycles
                if [ $((i % ${PROGRESS:-1000})) -eq 0 ] && [ "$i" -lt "$N" ]; then
                        echo "cycles: after $i: $(counters) ($(((($(date +%s%N) - t0) / 1000 / i))) us per cycle)" >&2
                fi
        done
        t1=$(date +%s%N)
        # the kernel destroys the last container's network namespace, and with it the host end
        # of its veth, asynchronously after its processes are gone: wait (bounded, 5 s) for the
        # link count to settle before sampling
        for i in $(seq 50); do
                [ "$(n_links)" -le "${before[4]}" ] && break
                sleep 0.1
        done
        read -r -a after <<<"$(counters)"
        [ "${CYCLES_SETTLE:-0}" -gt 0 ] && idle_after=$(settle_rss)
        echo "cycles: $N create/start/stop/rm cycles | $(((t1 - t0) / 1000000)) ms, $(((t1 - t0) / 1000 / N)) us per cycle"
fi
echo "counter | before | after"
names=("daemon RSS KiB" "daemon fds" "mounts" "berth cgroups" "links" "nft rules")
for k in 0 1 2 3 4 5; do
        echo "${names[k]} | ${before[k]} | ${after[k]}"
done
if [ -n "${idle_before:-}" ]; then
        echo "daemon RSS KiB, idle ${CYCLES_SETTLE} s | $idle_before | $idle_after"
fi
