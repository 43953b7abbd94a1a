#!/bin/bash
# Crash-to-running latency: a container with --restart always that exits 0.3 s after it starts;
# the time from its exit (the `die` event) to running again (the next `start` event), for the
# first restart of RUNS fresh containers (berth restarts at once the first time, docker after
# its 100 ms initial backoff; later ones back off). Median and p99, berth beside docker when
# dockerd is running and has a busybox image (it is neither installed, started nor pulled from
# here; bench/peers.sh restart runs private docker and podman). The sampling is restart_sample
# in sup-lib.sh.
#
#   sudo bench/restart.sh [RUNS]
set -euo pipefail
RUNS=${1:-20}
. "$(dirname "$0")/sup-lib.sh"

sup_init
sup_daemon
sup_image

series() { # CLI IMAGE OUT EVENT-FORMAT
        local i
        : >"$3"
        for i in $(seq "$RUNS"); do
                restart_sample "$1" "$2" "berth-bench-restart-$i" "$4" >>"$3" || {
                        echo "restart.sh: $1: no restart seen" >&2
                        return 1
                }
        done
}

series "$BERTH" busybox "$TMP/berth" '{{.Action}} {{.timeNano}}'
row="crash-to-running, first restart, $RUNS runs | median $(median <"$TMP/berth") us, p99 $(p99 <"$TMP/berth") us"
header="workload | berth"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 &&
        docker image inspect busybox >/dev/null 2>&1; then
        header+=" | docker"
        if series docker busybox "$TMP/docker" '{{.Action}} {{.TimeNano}}'; then
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
