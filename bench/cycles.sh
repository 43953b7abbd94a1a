#!/bin/bash
# Leak check: N create/start/stop/rm cycles of a container on a user bridge network with a
# published port (default 1000), after a warm-up of 3. Prints the time per cycle and, before and
# after: the daemon's RSS and open fds, the mounts under its root, berth cgroups, the host's links
# and berth's nft rules.
# Every PROGRESS (1000) cycles the counters go to stderr, in the order of the final table.
# tests/integration/readopt.bats runs it with 300 cycles and asserts that nothing grew.
#
#   sudo bench/cycles.sh [N]
set -euo pipefail
N=${1:-1000}
. "$(dirname "$0")/sup-lib.sh"

sup_init
sup_daemon
sup_image
B network create --subnet "${CYCLES_SUBNET:-10.244.0.0/24}" cycles >/dev/null
port=
for p in $(seq $((30000 + RANDOM % 9000)) 39999); do
        ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$p\$" && continue
        port=$p
        break
done

cycle() {
        B create --name cyc --network cycles -p "127.0.0.1:$port:80" busybox sleep 100000 >/dev/null &&
                B start cyc >/dev/null && B stop -t 0 cyc >/dev/null && B rm cyc >/dev/null
}

counters() {
        echo "$(rss_kb "$DAEMON_PID") $(fds "$DAEMON_PID") $(n_mounts) $(n_cgroups) $(n_links) $(n_rules)"
}

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
read -r -a after <<<"$(counters)"
echo "cycles: $N create/start/stop/rm cycles | $(((t1 - t0) / 1000000)) ms, $(((t1 - t0) / 1000 / N)) us per cycle"
echo "counter | before | after"
names=("daemon RSS KiB" "daemon fds" "mounts" "berth cgroups" "links" "nft rules")
for k in 0 1 2 3 4 5; do
        echo "${names[k]} | ${before[k]} | ${after[k]}"
done
