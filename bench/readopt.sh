#!/bin/bash
# Re-adoption after kill -9 of the daemon: N running containers (default 100, on a user bridge
# network), then ROUNDS times: kill -9 the daemon, start it, and time from its start until it
# lists all N containers as running (the shims re-adopted). Prints the median and the daemon's
# RSS after re-adoption, and the shims' mean RSS.
#
#   sudo bench/readopt.sh [N] [ROUNDS]
set -euo pipefail
N=${1:-100}
ROUNDS=${2:-3}
. "$(dirname "$0")/sup-lib.sh"

sup_init
sup_daemon
sup_image
B network create --subnet 10.243.0.0/24 readopt >/dev/null
for i in $(seq "$N"); do
        B run -d --name "r$i" --network readopt busybox sleep 100000 >/dev/null
done

running() { curl -sf --max-time 5 --unix-socket "$TMP/run/berth.sock" "http://b/v1/containers" | jq length; }

: >"$TMP/times"
for round in $(seq "$ROUNDS"); do
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        t0=$(date +%s%N)
        sup_daemon
        for i in $(seq 2000); do
                [ "$(running 2>/dev/null || echo 0)" = "$N" ] && break
                sleep 0.005
        done
        t1=$(date +%s%N)
        [ "$(running)" = "$N" ] || { echo "readopt.sh: only $(running) of $N running" >&2; exit 1; }
        echo $(((t1 - t0) / 1000)) >>"$TMP/times"
done
shim_total=0
shims=0
for p in $(pgrep -f "shim --root $TMP/root "); do
        shim_total=$((shim_total + $(rss_kb "$p")))
        shims=$((shims + 1))
done
printf 'workload | berth\n'
printf 'readopt: daemon start to %d containers known and running (median of %d) | %s ms\n' \
        "$N" "$ROUNDS" "$(median <"$TMP/times" | awk '{printf "%.1f", $1 / 1000}')"
printf 'readopt: daemon RSS after re-adopting %d containers | %d KiB\n' "$N" "$(rss_kb "$DAEMON_PID")"
printf 'readopt: shim RSS, mean of %d | %d KiB\n' "$shims" "$((shim_total / (shims ? shims : 1)))"
