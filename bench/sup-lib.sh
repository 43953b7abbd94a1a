# Shared by the supervisor benchmarks (readopt.sh, cycles.sh, restart.sh; peers.sh for
# restart_sample): a private daemon on a temporary root with a busybox image, and host counters.
# Source it; needs root and busybox-static. Every wait is bounded.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH:-$SRC/build/berth}
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root" >&2; exit 77; }
[ -x "$BUSYBOX" ] || { echo "$0: needs $BUSYBOX (busybox-static)" >&2; exit 77; }
[ -x "$BERTH" ] || { echo "$0: build $BERTH first (make)" >&2; exit 1; }

B() { "$BERTH" "$@"; }

# A temporary root, removed at exit with everything the daemon made.
sup_init() {
        TMP=$(mktemp -d /tmp/berth-bench.XXXXXX)
        DAEMON_PID=
        trap sup_cleanup EXIT
        local r=$TMP/rootfs a
        mkdir -p "$r/bin" "$r/etc" "$r/tmp"
        cp "$BUSYBOX" "$r/bin/busybox"
        for a in $("$BUSYBOX" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
        tar -C "$r" -cf "$TMP/busybox.tar" .
        export BERTH_HOST=unix://$TMP/run/berth.sock
}

# The daemon's own nft tables and default bridge are named after its root (docs/networking.md)
# and outlive it on purpose; a bench's root is gone afterwards, so they go too.
net_instance_drop() { # INSTANCE
        [ -n "$1" ] && [ "$1" != berth ] && [ "$1" != null ] || return 0
        ip link del "$1" 2>/dev/null || true
        nft delete table ip "$1" 2>/dev/null || true
        nft delete table bridge "$1" 2>/dev/null || true
}

sup_cleanup() {
        local inst=
        if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                local ids
                inst=$(B info --format json 2>/dev/null | jq -r '.BerthNetwork.NftTable // empty' || true)
                ids=$(B ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && B rm -f $ids >/dev/null 2>&1 || true
                B network prune -f >/dev/null 2>&1 || true
                kill -TERM "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
        fi
        net_instance_drop "$inst"
        if [ -n "${TMP:-}" ]; then
                # what an interrupted run may leave mounted under our root (deepest first)
                { grep -F "$TMP/" /proc/self/mountinfo || true; } | awk '{print $5}' | sort -r |
                        while read -r m; do umount "$m" 2>/dev/null || true; done
                rm -rf "$TMP"
        fi
}

# Starts the daemon (extra arguments passed on) and waits for its socket; sets DAEMON_PID.
sup_daemon() {
        local i
        rm -f "$TMP/run/berth.sock"
        "$BERTH" daemon --root "$TMP/root" --run "$TMP/run" --bridge none --log-level warn "$@" \
                >>"$TMP/daemon.log" 2>&1 &
        DAEMON_PID=$!
        for i in $(seq 400); do
                [ -S "$TMP/run/berth.sock" ] && return 0
                sleep 0.025
        done
        cat "$TMP/daemon.log" >&2
        return 1
}

sup_image() {
        B import -c 'CMD ["sh"]' "$TMP/busybox.tar" busybox >/dev/null
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# mounts under our temporary root only: other work on a shared host mounts things too
n_mounts() { grep -c "$TMP" /proc/self/mountinfo || true; }
n_cgroups() { find /sys/fs/cgroup -maxdepth 3 -path '*/berth/*' -type d 2>/dev/null | wc -l; }
n_links() { ip -o link show | wc -l; }
# rules in this daemon's own nft tables (named per root: docs/networking.md)
n_rules() {
        local t
        t=$(B info --format json | jq -r '.BerthNetwork.NftTable // "berth"')
        { nft list table ip "$t" 2>/dev/null; nft list table bridge "$t" 2>/dev/null; } |
                grep -cE '^[[:space:]]+[a-z].*(accept|drop|dnat|snat|masquerade|jump|goto|return|counter)' || true
}

median() {
        sort -n | awk '{a[NR] = $1} END { if (NR == 0) { print "n/a"; exit }
                if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# the value below which 99% of the samples fall (nearest rank)
p99() {
        sort -n | awk '{a[NR] = $1} END { if (NR == 0) { print "n/a"; exit }
                i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; print a[i] }'
}

# One sample of crash-to-running latency (bench/restart.sh, bench/peers.sh restart): runs NAME
# from IMAGE with --restart always, exiting 1 after 0.3 s, waits (bounded: 100 polls) for its
# first restart and prints the time from its `die` event to the next `start` event in
# microseconds. FORMAT renders one event of CLI's `events` as "ACTION UNIX-NANOSECONDS":
# '{{.Action}} {{.timeNano}}' for berth, '{{.Action}} {{.TimeNano}}' for docker,
# '{{.Status}} {{.Time.UnixNano}}' for podman (whose die is "died"). RM_OPT... go to the final
# `rm -f` (podman's waits for the stop timeout first unless given -t 0). CLI may be a function.
restart_sample() { # CLI IMAGE NAME FORMAT [RM_OPT...]
        local cli=$1 img=$2 name=$3 fmt=$4 since ev die= start= i
        shift 4
        since=$(date +%s)
        "$cli" run -d --name "$name" --network none --restart always "$img" \
                sh -c 'sleep 0.3; exit 1' >/dev/null || return 1
        for i in $(seq 100); do
                ev=$("$cli" events --since "$since" --until "$(($(date +%s) + 1))" \
                        --filter "container=$name" --format "$fmt" 2>/dev/null)
                die=$(awk '$1 == "die" || $1 == "died" {print $2; exit}' <<<"$ev")
                start=$([ -n "$die" ] && awk -v d="$die" '$1 == "start" && $2 >= d {print $2; exit}' <<<"$ev")
                [ -n "$start" ] && break
                sleep 0.1
        done
        "$cli" rm -f "$@" "$name" >/dev/null 2>&1 || true
        [ -n "$start" ] || return 1
        echo $(((start - die) / 1000))
}
