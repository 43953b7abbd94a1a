#!/bin/bash
# Crash-to-running latency: a container with --restart always that exits 0.3 s after it starts;
# the time from its exit (the `die` event) to running again (the next `start` event), for the
# first restart of RUNS fresh containers (the first restart is immediate in berth and docker
# alike; later ones back off). Median and p99, berth beside docker when dockerd is running and
# has a busybox image (it is neither installed, started nor pulled from here).
#
#   sudo bench/restart.sh [RUNS]
set -euo pipefail
RUNS=${1:-20}
. "$(dirname "$0")/sup-lib.sh"

sup_init
sup_daemon
sup_image

# One sample: run a container, wait (bounded) for its first restart, print die->start in us.
sample() { # CLI IMAGE NAME
        local cli=$1 img=$2 name=$3 since ev die start i
        since=$(date +%s)
        "$cli" run -d --name "$name" --network none --restart always "$img" sh -c 'sleep 0.3; exit 1' >/dev/null ||
                return 1
        for i in $(seq 100); do
                ev=$("$cli" events --since "$since" --until "$(($(date +%s) + 1))" \
                        --filter "container=$name" --format '{{json .}}' 2>/dev/null |
                        jq -r 'select(.Action == "die" or .Action == "start") | "\(.Action) \(.timeNano)"')
                die=$(awk '$1 == "die" {print $2; exit}' <<<"$ev")
                start=$([ -n "$die" ] && awk -v d="$die" '$1 == "start" && $2 >= d {print $2; exit}' <<<"$ev")
                [ -n "$start" ] && break
                sleep 0.1
        done
        "$cli" rm -f "$name" >/dev/null 2>&1 || true
        [ -n "${start:-}" ] || return 1
        echo $(((start - die) / 1000))
}

series() { # CLI IMAGE OUT
        local i
        : >"$3"
        for i in $(seq "$RUNS"); do
                sample "$1" "$2" "berth-bench-restart-$i" >>"$3" || {
                        echo "restart.sh: $1: no restart seen" >&2
                        return 1
                }
        done
}

series "$BERTH" busybox "$TMP/berth"
row="crash-to-running, first restart, $RUNS runs | median $(median <"$TMP/berth") us, p99 $(p99 <"$TMP/berth") us"
header="workload | berth"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 &&
        docker image inspect busybox >/dev/null 2>&1; then
        header+=" | docker"
        if series docker busybox "$TMP/docker"; then
                row+=" | median $(median <"$TMP/docker") us, p99 $(p99 <"$TMP/docker") us"
        else
                row+=" | failed"
        fi
else
        header+=" | docker (not running or no busybox image: -)"
        row+=" | -"
fi
echo "$header"
echo "$row"
