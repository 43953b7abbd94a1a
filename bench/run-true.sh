#!/bin/bash
# Container start latency: `berth run --rm --network none IMG true`, median of RUNS runs, beside
# crun/runc/podman/docker when they are installed (skipped otherwise), and the total time of
# N_DETACHED sequential `run -d IMG sleep` (all removed afterwards).
#
#   sudo bench/run-true.sh [RUNS] [N_DETACHED]
#
# Uses a private daemon on a temporary root; needs root and busybox-static.
set -euo pipefail

RUNS=${1:-50}
N_DETACHED=${2:-100}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$SRC/build/berth}
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ "$(id -u)" -eq 0 ] || { echo "run-true.sh: needs root" >&2; exit 77; }
[ -x "$BUSYBOX" ] || { echo "run-true.sh: needs $BUSYBOX (busybox-static)" >&2; exit 77; }
[ -x "$BERTH" ] || { echo "run-true.sh: build $BERTH first (make)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/berth-bench.XXXXXX)
DAEMON_PID=
cleanup() {
        if [ -n "$DAEMON_PID" ]; then
                local ids
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                kill -TERM "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
        fi
        rm -rf "$TMP"
}
trap cleanup EXIT

# time of one command in milliseconds
ms() {
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || return 1
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
}

median() {
        sort -n | awk '{a[NR] = $1} END { if (NR == 0) { print "n/a"; exit }
                if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

bench_cmd() { # NAME CMD...
        local name=$1 i t
        shift
        : >"$TMP/times"
        for i in $(seq "$RUNS"); do
                t=$(ms "$@") || {
                        echo "$name: command failed: $*" >&2
                        "$@" 2>&1 | tail -2 >&2 || true
                        return 1
                }
                echo "$t" >>"$TMP/times"
        done
        printf '%-28s median %6s ms over %d runs\n' "$name" "$(median <"$TMP/times")" "$RUNS"
}

# the image
mkdir -p "$TMP/rootfs/bin" "$TMP/rootfs/etc" "$TMP/rootfs/tmp"
cp "$BUSYBOX" "$TMP/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do
        [ -e "$TMP/rootfs/bin/$a" ] || ln -s busybox "$TMP/rootfs/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$TMP/rootfs/etc/passwd"
echo 'root:x:0:' >"$TMP/rootfs/etc/group"
tar -C "$TMP/rootfs" -cf "$TMP/busybox.tar" .

"$BERTH" daemon --root "$TMP/root" --run "$TMP/run" --bridge none --log-level error >"$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
export BERTH_HOST=unix://$TMP/run/berth.sock
for i in $(seq 200); do
        [ -S "$TMP/run/berth.sock" ] && break
        sleep 0.05
done
"$BERTH" import "$TMP/busybox.tar" bench-busybox >/dev/null

echo "== run --rm --network none IMG true"
"$BERTH" run --rm --network none bench-busybox true # warm up
bench_cmd "berth" "$BERTH" run --rm --network none bench-busybox true

if command -v crun >/dev/null || command -v runc >/dev/null; then
        mkdir -p "$TMP/bundle"
        cp -a "$TMP/rootfs" "$TMP/bundle/rootfs"
        for rt in crun runc; do
                command -v "$rt" >/dev/null || continue
                (cd "$TMP/bundle" && rm -f config.json && "$rt" spec &&
                        sed -i 's/"sh"/"true"/; s/"terminal": true/"terminal": false/' config.json)
                bench_cmd "$rt run" sh -c "cd '$TMP/bundle' && $rt run bench-\$\$" ||
                        echo "$rt: does not run on this host (see above), skipped"
        done
else
        echo "crun, runc: not installed, skipped"
fi
for peer in podman docker; do
        if command -v "$peer" >/dev/null && timeout 10 "$peer" image inspect busybox >/dev/null 2>&1; then
                bench_cmd "$peer" "$peer" run --rm --network none busybox true ||
                        echo "$peer: failed, skipped"
        else
                echo "$peer: not installed (or no local busybox image), skipped"
        fi
done

echo "== $N_DETACHED sequential run -d IMG sleep 600"
t0=$(date +%s%N)
for i in $(seq "$N_DETACHED"); do
        "$BERTH" run -d --network none bench-busybox sleep 600 >/dev/null
done
t1=$(date +%s%N)
total=$(((t1 - t0) / 1000000))
printf 'berth run -d x%d: total %d ms, %d ms per container\n' "$N_DETACHED" "$total" \
        $((total / N_DETACHED))
running=$("$BERTH" ps -q | wc -l)
echo "running: $running"
shim_rss=$(ps -eo rss=,args= | awk -v root="$TMP/root" '$3 == "shim" && index($0, root) {s += $1; n++}
        END { if (n) printf "%d KiB average over %d shims", s / n, n }')
echo "shim RSS: ${shim_rss:-n/a}"
