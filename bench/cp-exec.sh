#!/bin/bash
# exec and cp through the daemon: `berth exec C true` latency (with and without a console), and
# cp throughput: a 64 MiB file in (PUT /archive, tar streamed) and out (`cp C:PATH -`, GET
# /archive), and a tree of 1000 small files in. Medians of RUNS runs; berth only (no peer
# section for cp/exec in bench/peers.sh yet).
#
#   sudo bench/cp-exec.sh [RUNS]
set -euo pipefail

RUNS=${1:-7}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$SRC/build/berth}
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ "$(id -u)" -eq 0 ] || { echo "cp-exec.sh: needs root" >&2; exit 77; }
[ -x "$BUSYBOX" ] || { echo "cp-exec.sh: needs $BUSYBOX (busybox-static)" >&2; exit 77; }
[ -x "$BERTH" ] || { echo "cp-exec.sh: build $BERTH first (make)" >&2; exit 1; }

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

# NAME MiB CMD...: median ms (and MiB/s when MiB > 0)
bench_cmd() {
        local name=$1 mib=$2 i t m
        shift 2
        : >"$TMP/times"
        for i in $(seq "$RUNS"); do
                t=$(ms "$@") || { echo "$name: command failed: $*" >&2; return 1; }
                echo "$t" >>"$TMP/times"
        done
        m=$(median <"$TMP/times")
        if [ "$mib" -gt 0 ]; then
                printf '%-34s median %6s ms  %6s MiB/s  (%d runs)\n' "$name" "$m" \
                        "$(awk -v m="$m" -v s="$mib" 'BEGIN { printf "%.0f", s * 1000 / (m > 0 ? m : 1) }')" "$RUNS"
        else
                printf '%-34s median %6s ms  (%d runs)\n' "$name" "$m" "$RUNS"
        fi
}

mkdir -p "$TMP/rootfs/bin" "$TMP/rootfs/etc" "$TMP/rootfs/tmp"
cp "$BUSYBOX" "$TMP/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do
        [ -e "$TMP/rootfs/bin/$a" ] || ln -s busybox "$TMP/rootfs/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$TMP/rootfs/etc/passwd"
echo 'root:x:0:' >"$TMP/rootfs/etc/group"
tar -C "$TMP/rootfs" -cf "$TMP/busybox.tar" .

"$BERTH" daemon --root "$TMP/root" --run "$TMP/run" --log-level error >"$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
export BERTH_HOST=unix://$TMP/run/berth.sock
for i in $(seq 200); do
        [ -S "$TMP/run/berth.sock" ] && break
        sleep 0.05
done
"$BERTH" import "$TMP/busybox.tar" bench-busybox >/dev/null
"$BERTH" run -d --name bench-c --network none bench-busybox sleep 3600 >/dev/null

head -c $((64 * 1024 * 1024)) /dev/urandom >"$TMP/big"
mkdir -p "$TMP/tree"
for d in $(seq 10); do
        mkdir -p "$TMP/tree/d$d"
        for f in $(seq 100); do echo "$d $f" >"$TMP/tree/d$d/f$f"; done
done

echo "== exec (uptime: $(uptime | sed 's/.*load/load/'))"
bench_cmd "berth exec C true" 0 "$BERTH" exec bench-c true
if command -v script >/dev/null; then
        bench_cmd "berth exec -it C true (script pty)" 0 script -qec "'$BERTH' exec -it bench-c true" /dev/null
fi
echo "== cp"
bench_cmd "cp 64 MiB file in" 64 "$BERTH" cp "$TMP/big" bench-c:/tmp/big
bench_cmd "cp 64 MiB file out (cp C:P -)" 64 sh -c "'$BERTH' cp bench-c:/tmp/big - >/dev/null"
bench_cmd "cp 1000 small files in" 0 "$BERTH" cp "$TMP/tree" bench-c:/tmp/tree
