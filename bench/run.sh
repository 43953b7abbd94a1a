#!/usr/bin/env bash
# berth benchmarks: each workload runs against berth and against every peer found installed and
# answering, and prints one table: workload | berth | peers... | ratio (peer / berth, > 1 means
# berth is faster). Peers that are not installed or not running are shown as "-".
#
#   bench/run.sh                 all workloads
#   N=2000 bench/run.sh          fewer requests
# Environment: BERTH (binary, default build/berth), PINGBENCH (default build/bench/pingbench),
# DOCKER_SOCK (/var/run/docker.sock), PODMAN_SOCK (/run/podman/podman.sock).
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
PINGBENCH=${PINGBENCH:-$PWD/build/bench/pingbench}
N=${N:-10000}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
PODMAN_SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}

[ -x "$BERTH" ] && [ -x "$PINGBENCH" ] || make -s -j2 all bench

tmp=$(mktemp -d /tmp/berth-bench.XXXXXX)
daemon_pid=
cleanup() {
        if [ -n "$daemon_pid" ]; then
                kill -TERM "$daemon_pid" 2>/dev/null || true
                wait "$daemon_pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT

"$BERTH" daemon --root "$tmp/root" --run "$tmp/run" --log-level warn >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
        [ -S "$tmp/run/berth.sock" ] && break
        sleep 0.05
done
[ -S "$tmp/run/berth.sock" ] || { cat "$tmp/daemon.log"; exit 1; }

# answers SOCKET PATH: true when an API answers 2xx there.
answers() {
        [ -S "$1" ] && curl -sf --max-time 2 --unix-socket "$1" "http://bench$2" >/dev/null 2>&1
}

# Peers: name, socket, ping path. Only those installed and answering run.
peers=()
if command -v docker >/dev/null 2>&1 && answers "$DOCKER_SOCK" /_ping; then
        peers+=("docker|$DOCKER_SOCK|/_ping")
fi
if command -v podman >/dev/null 2>&1 && answers "$PODMAN_SOCK" /_ping; then
        peers+=("podman|$PODMAN_SOCK|/_ping")
fi

field() { # OUTPUT KEY
        sed -n "s/.*\b$2=\([0-9.]*\).*/\1/p" <<<"$1"
}

rows=()
run_ping() { # LABEL CONCURRENCY
        local label=$1 c=$2 out p entry name sock path cells ratio
        out=$("$PINGBENCH" -s "$tmp/run/berth.sock" -p /v1/ping -n "$N" -c "$c")
        cells="$(field "$out" rps) req/s, p50 $(field "$out" p50_us) us, p99 $(field "$out" p99_us) us"
        ratio=
        for entry in "${peers[@]}"; do
                IFS='|' read -r name sock path <<<"$entry"
                p=$("$PINGBENCH" -s "$sock" -p "$path" -n "$N" -c "$c")
                cells+=" | $(field "$p" rps) req/s, p50 $(field "$p" p50_us) us, p99 $(field "$p" p99_us) us"
                ratio+="$name $(awk -v a="$(field "$out" rps)" -v b="$(field "$p" rps)" 'BEGIN { printf "%.2fx", a / b }') "
        done
        rows+=("$label | $cells | ${ratio:--}")
}

run_ping "$N x GET /v1/ping, 1 connection" 1
run_ping "$N x GET /v1/ping, 8 connections" 8

header="workload | berth"
for entry in "${peers[@]}"; do
        header+=" | ${entry%%|*}"
done
header+=" | ratio (berth rps / peer rps)"
echo "$header"
printf '%s\n' "${rows[@]}"
if [ ${#peers[@]} -eq 0 ]; then
        echo "(no peers: docker and podman are not installed or not answering on their sockets)"
fi
