#!/bin/bash
# Memory of the daemon idle and per container, in RSS and PSS (PSS divides shared pages among
# the processes that map them, so N shims of one binary do not count its code N times): the
# daemon alone, then with N sleeping containers (no network), and the mean of their shims.
# Issue #6's targets: the daemon under 10 MiB idle, per container (shim PSS + the growth of the
# daemon's private memory) under 0.3 MiB. "Busy" is one second after the last request; "idle" is
# after IDLE (8) quiet seconds, once the daemon has trimmed itself (agent/daemon_trim.c: free
# heap back to the kernel, start-up code pages dropped from its resident set).
#
#   sudo bench/memory.sh [N]
set -euo pipefail
N=${1:-20}
. "$(dirname "$0")/sup-lib.sh"

IDLE=${IDLE:-8}

sup_init
sup_daemon
sup_image

pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
rss() { awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# the daemon's dirty private pages (heap, data): their growth is what a container costs it; its PSS
# moves with whatever else maps the same libraries)
priv() { awk '/^Private_Dirty:/ {print $2}' "/proc/$1/smaps_rollup"; }

sleep 1
d0br=$(rss "$DAEMON_PID")
d0bp=$(pss "$DAEMON_PID")
sleep "$IDLE"
d0r=$(rss "$DAEMON_PID")
d0p=$(pss "$DAEMON_PID")
d0v=$(priv "$DAEMON_PID")
for i in $(seq "$N"); do
        B run -d --network none --name "mem$i" busybox sleep 600 >/dev/null
done
sleep 1
d1br=$(rss "$DAEMON_PID")
d1bp=$(pss "$DAEMON_PID")
sleep "$IDLE"
d1r=$(rss "$DAEMON_PID")
d1p=$(pss "$DAEMON_PID")
d1v=$(priv "$DAEMON_PID")
# this daemon's shims only: their command line names its root
sp=0
sr=0
ns=0
for p in $(pgrep -f "shim --root $TMP/root" || true); do
        sp=$((sp + $(pss "$p")))
        sr=$((sr + $(rss "$p")))
        ns=$((ns + 1))
done
[ "$ns" -gt 0 ] || { echo "memory.sh: no shim found" >&2; exit 1; }
echo "memory | RSS KiB | PSS KiB"
echo "daemon busy (1 s after start) | $d0br | $d0bp"
echo "daemon idle | $d0r | $d0p"
echo "daemon with $N containers, busy | $d1br | $d1bp"
echo "daemon with $N containers, idle | $d1r | $d1p"
echo "shim (mean of $ns) | $((sr / ns)) | $((sp / ns))"
echo "per container (shim + daemon private growth) | $(((sr + d1v - d0v) / N)) | $(((sp + d1v - d0v) / N))"
