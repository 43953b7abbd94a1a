#!/usr/bin/env bash
# berth beside its peers (docker 20.10 + containerd, podman, crun/runc, docker-compose 1.29,
# skopeo), same busybox image everywhere, medians of N runs, berth and peer in the same run.
# Prints markdown tables; a peer that cannot run here gets the reason in its cell.
#
#   sudo bench/peers.sh [SECTION...]     sections: run bridge restart detach mem pull saveload
#                                        compose composenet kube imagepull
#   N=10 sudo bench/peers.sh run         runs per median (default 10); N_CTR (default 20) for
#                                        detach; N_SVC (default 10) for compose; MEM_LEVELS
#                                        (default "10 100") and MEM_IDLE (8 s) for mem
#
# Peers run on private state only (see /work/shared/PEERS.md): containerd and dockerd with
# their own sockets, roots and pid files under /var/lib/berth-bench and /run/berth-bench,
# dockerd with --iptables=false --ip6tables=false --bridge=none (the host's firewall is not
# touched), podman with --root/--runroot there, cgroupfs and its own containers.conf. Every
# daemon is stopped by pid on exit and its state removed. Needs root.
#
# `bridge` runs a second berth daemon, a second dockerd (with its own containerd) and podman's
# CNI bridge inside a network namespace of its own (berth-bench-peers), so their bridges and
# iptables/nftables rules never reach the host's; it checks the host's ruleset before and after.
# Runs hold PEERS_LOCK (/tmp/berth-peers.lock; other engineers' benches take it too): unless a
# caller already holds it (`flock /tmp/berth-peers.lock bench/peers.sh ...`: then the lock file is
# open on an inherited descriptor), the script runs itself again under flock.
set -uo pipefail
PEERS_LOCK=${PEERS_LOCK:-/tmp/berth-peers.lock}
if [ -z "${BERTH_PEERS_LOCKED:-}" ]; then
        for fd in /proc/$$/fd/*; do
                [ "$(readlink "$fd")" = "$PEERS_LOCK" ] && BERTH_PEERS_LOCKED=1
        done
fi
if [ -z "${BERTH_PEERS_LOCKED:-}" ]; then
        BERTH_PEERS_LOCKED=1 exec flock -w "${PEERS_LOCK_WAIT:-3600}" "$PEERS_LOCK" "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1

N=${N:-10}
N_CTR=${N_CTR:-20}
N_SVC=${N_SVC:-10}
BERTH=${BERTH:-$PWD/build/berth}
BUSYBOX=${BUSYBOX:-/bin/busybox}
DOCKER=/usr/bin/docker # not a newer client that may be first in PATH
SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(run bridge restart detach mem pull saveload compose kube)

[ "$(id -u)" -eq 0 ] || { echo "peers.sh: needs root" >&2; exit 77; }
[ -x "$BUSYBOX" ] || { echo "peers.sh: needs $BUSYBOX (busybox-static)" >&2; exit 77; }
[ -x "$BERTH" ] || make -s -j2 all || exit 1
. bench/sup-lib.sh # restart_sample, p99

STATE=/var/lib/berth-bench
RUNDIR=/run/berth-bench
T=$(mktemp -d /tmp/berth-peers.XXXXXX)
PIDS=() # daemons we started, stopped in reverse order
REG_PID=
BERTH_PID=

log() { echo "# $*" >&2; }

stop_pid() { # PID: TERM, wait up to 10 s, then KILL
        local p=$1 i
        kill -TERM "$p" 2>/dev/null || return 0
        for i in $(seq 100); do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
}

cleanup() {
        set +e
        ns_down
        if [ -n "$BERTH_PID" ]; then
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1
        fi
        if [ -S "$RUNDIR/docker.sock" ]; then
                ids=$(dk ps -aq 2>/dev/null)
                [ -n "$ids" ] && dk rm -f $ids >/dev/null 2>&1
        fi
        if command -v podman >/dev/null && [ -d "$STATE/podman" ]; then
                pm rm -af -t 0 >/dev/null 2>&1
                pm system reset -f >/dev/null 2>&1
        fi
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
                stop_pid "${PIDS[$i]}"
        done
        [ -n "$REG_PID" ] && stop_pid "$REG_PID"
        [ -s "$T/pushpid" ] && stop_pid "$(cat "$T/pushpid")"
        # overlay mounts the peers may have left below their roots
        grep -o " $STATE/[^ ]*\| $RUNDIR/[^ ]*\| $T/[^ ]*" /proc/self/mounts | sort -r |
                while read -r m; do umount -l "$m" 2>/dev/null; done
        rm -rf "$STATE" "$RUNDIR" "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- measuring ----

now_ns() { date +%s%N; }

# ms CMD...: wall time of one run in ms; fails (printing the command's tail) when it fails.
ms() {
        local t0 t1
        t0=$(now_ns)
        if ! "$@" >"$T/out" 2>&1; then
                tail -n 2 "$T/out" | tr '\n' ' ' | cut -c1-160 >"$T/why"
                return 1
        fi
        t1=$(now_ns)
        echo $(((t1 - t0) / 1000000))
}

median() {
        sort -n | awk '{a[NR] = $1} END { if (NR == 0) { print "n/a"; exit }
                if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# [PREP=FUNCTION] bench_median RUNS CMD...: median ms, or "failed: why". PREP runs untimed
# before each run (to remove what the previous run made).
bench_median() {
        local runs=$1 i t
        shift
        : >"$T/times"
        for i in $(seq "$runs"); do
                [ -n "${PREP:-}" ] && "$PREP" >/dev/null 2>&1
                t=$(ms "$@") || { echo "failed: $(cat "$T/why")"; return 1; }
                echo "$t" >>"$T/times"
        done
        median <"$T/times"
}

# ratio PEER BERTH: "2.31x" (peer / berth, > 1: berth is faster), or "-"
ratio() {
        awk -v p="$1" -v b="$2" 'BEGIN { if (p + 0 > 0 && b + 0 > 0) printf "%.2fx", p / b;
                else printf "-" }'
}

# row LABEL BERTH_VALUE PEER_VALUE...: a markdown row with the ratios of the numeric cells
row() {
        local label=$1 b=$2 cells="" rs="" v
        shift 2
        for v in "$@"; do
                cells+=" | $v"
                rs+=" $(ratio "$v" "$b")"
        done
        echo "| $label | $b$cells |$rs |"
}

# ---- the image ----

make_image() {
        local r=$T/rootfs
        mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root"
        cp "$BUSYBOX" "$r/bin/busybox"
        for a in $("$BUSYBOX" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
        echo 'root:x:0:' >"$r/etc/group"
        tar -C "$r" -cf "$T/busybox.tar" .
}
IMG=localhost/bench-busybox:latest

# ---- engines ----

start_berth() {
        # the run dir holds unix sockets: keep its path short
        mkdir -p "$RUNDIR"
        "$BERTH" daemon --root "$STATE/berth" --run "$RUNDIR/b" --log-level error \
                --bridge none >"$T/berth.log" 2>&1 &
        BERTH_PID=$!
        PIDS+=("$BERTH_PID")
        export BERTH_HOST=unix://$RUNDIR/b/berth.sock
        for _ in $(seq 200); do
                [ -S "$RUNDIR/b/berth.sock" ] && break
                sleep 0.05
        done
        "$BERTH" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null
}

dk() { "$DOCKER" -H "unix://$RUNDIR/docker.sock" "$@"; }
DOCKER_WHY=
start_docker() {
        if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null ||
                [ ! -x "$DOCKER" ]; then
                DOCKER_WHY="not installed (scripts/deps.sh --bench)"
                return 1
        fi
        mkdir -p "$STATE/containerd" "$STATE/docker" "$RUNDIR"
        cat >"$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUNDIR/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUNDIR/containerd.sock"
[ttrpc]
  address = "$RUNDIR/containerd.sock.ttrpc"
[debug]
  address = "$RUNDIR/containerd-debug.sock"
EOF
        containerd --config "$STATE/containerd.toml" >"$T/containerd.log" 2>&1 &
        CONTAINERD_PID=$!
        PIDS+=("$CONTAINERD_PID")
        for _ in $(seq 200); do
                [ -S "$RUNDIR/containerd.sock" ] && break
                sleep 0.05
        done
        echo '{}' >"$STATE/daemon.json"
        dockerd --config-file "$STATE/daemon.json" --containerd "$RUNDIR/containerd.sock" \
                --data-root "$STATE/docker" --exec-root "$RUNDIR/docker-exec" \
                -H "unix://$RUNDIR/docker.sock" --pidfile "$RUNDIR/docker.pid" \
                --iptables=false --ip6tables=false --bridge=none >"$T/dockerd.log" 2>&1 &
        DOCKERD_PID=$!
        PIDS+=("$DOCKERD_PID")
        for _ in $(seq 300); do
                dk version >/dev/null 2>&1 && return 0
                kill -0 "$DOCKERD_PID" 2>/dev/null || break
                sleep 0.1
        done
        DOCKER_WHY="dockerd did not start: $(tail -n 1 "$T/dockerd.log" | cut -c1-120)"
        return 1
}

PODMAN=(podman --root "$STATE/podman/root" --runroot "$RUNDIR/podman" --tmpdir "$RUNDIR/podman-tmp"
        --cgroup-manager cgroupfs --events-backend file --runtime runc)
pm() { CONTAINERS_CONF=$STATE/containers.conf "${PODMAN[@]}" "$@"; }
PODMAN_WHY=
setup_podman() {
        command -v podman >/dev/null || { PODMAN_WHY="not installed (scripts/deps.sh --bench)"; return 1; }
        mkdir -p "$STATE/podman" "$RUNDIR"
        # the hard nofile limit here is 20000 (no CAP_SYS_RESOURCE): podman's default fails
        cat >"$STATE/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "cni"
network_config_dir = "$STATE/cni"
EOF
        # the default network "podman" as Debian ships it (cni-podman0, 10.88.0.0/16), but with
        # its address leases below $STATE instead of /var/lib/cni (bridge section only)
        mkdir -p "$STATE/cni"
        cat >"$STATE/cni/87-podman-bridge.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    { "type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$STATE/cni-ipam",
                "routes": [{ "dst": "0.0.0.0/0" }],
                "ranges": [[{ "subnet": "10.88.0.0/16", "gateway": "10.88.0.1" }]] } },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" },
    { "type": "tuning" }
  ]
}
EOF
        return 0
}

import_peers() {
        if [ -z "$DOCKER_WHY" ] && ! dk import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' \
                "$T/busybox.tar" "$IMG" >/dev/null 2>"$T/err"; then
                DOCKER_WHY="import failed: $(head -c 120 "$T/err")"
        fi
        if [ -z "$PODMAN_WHY" ] && ! pm import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' \
                "$T/busybox.tar" "$IMG" >/dev/null 2>"$T/err"; then
                PODMAN_WHY="import failed: $(head -c 120 "$T/err")"
        fi
}

# cell WHY CMD...: the median of CMD, or the reason the peer does not run
cell() {
        local why=$1
        shift
        if [ -n "$why" ]; then
                echo "$why"
                return
        fi
        bench_median "$N" "$@"
}

# ---- sections ----

section_run() {
        echo
        echo "### run --rm IMG true (median of $N, ms)"
        echo
        echo "| workload | berth | docker | podman | crun run | runc run | ratio (peer / berth) |"
        echo "|---|---|---|---|---|---|---|"
        "$BERTH" run --rm --network none "$IMG" true >/dev/null 2>&1 # warm up
        local b d p c r
        b=$(bench_median "$N" "$BERTH" run --rm --network none "$IMG" true)
        d=$(cell "$DOCKER_WHY" dk run --rm --network none "$IMG" true)
        p=$(cell "$PODMAN_WHY" pm run --rm --network none "$IMG" true)
        mkdir -p "$T/bundle"
        cp -a "$T/rootfs" "$T/bundle/rootfs"
        c="not installed"
        r="not installed"
        if command -v crun >/dev/null; then
                (cd "$T/bundle" && rm -f config.json && crun spec &&
                        sed -i 's/"sh"/"true"/; s/"terminal": true/"terminal": false/' config.json)
                c=$(bench_median "$N" sh -c "cd '$T/bundle' && crun run bench-c\$\$")
                # crun refuses hybrid cgroups (PEERS.md): say so instead of a number
                case $c in failed:*hybrid*)
                        c="crun refuses hybrid cgroups here (PEERS.md)" ;;
                esac
        fi
        if command -v runc >/dev/null; then
                (cd "$T/bundle" && rm -f config.json && runc spec &&
                        sed -i 's/"sh"/"true"/; s/"terminal": true/"terminal": false/' config.json)
                r=$(bench_median "$N" sh -c "cd '$T/bundle' && runc run bench-r\$\$")
        fi
        row "run --rm --network none IMG true" "$b" "$d" "$p" "$c" "$r"
}

# ---- the bridge section's network namespace ----

# berth, dockerd (with a containerd of its own) and podman's CNI plugins run in $NS, so that
# their bridges (berth-*, docker0, cni-podman0) and their nftables/iptables rules live in it and
# the host's firewall is not touched. nsenter --net, not `ip netns exec`: the latter also gives
# the command a new mount namespace with a fresh /sys, where /sys/fs/cgroup is empty and no
# engine can make a cgroup. Unix sockets by path work across network namespaces, so the CLIs run
# outside it.
NS=berth-bench-peers
NS_MADE=
NS_PIDS=() # daemons started in $NS, stopped in reverse order
NSENTER=(nsenter "--net=/run/netns/$NS") # execs (no fork): $! of a daemon started with it is its pid
nsx() { "${NSENTER[@]}" "$@"; }
B2() { BERTH_HOST=unix://$RUNDIR/bn/berth.sock "$BERTH" "$@"; }
dk2() { "$DOCKER" -H "unix://$RUNDIR/dn.sock" "$@"; }
pn() { CONTAINERS_CONF=$STATE/containers.conf nsx "${PODMAN[@]}" "$@"; }

ns_up() {
        ls /run/netns 2>/dev/null | sort >"$T/netns.before"
        if ip netns list | grep -q "^$NS\b"; then
                log "removing $NS left by an interrupted run"
                ip netns del "$NS" || return 1
        fi
        ip netns add "$NS" || return 1
        NS_MADE=1
        ip -n "$NS" link set lo up
}

ns_down() {
        local ids i
        [ -n "$NS_MADE" ] || return 0
        if [ -S "$RUNDIR/bn/berth.sock" ]; then
                ids=$(B2 ps -aq --no-trunc 2>/dev/null)
                [ -n "$ids" ] && B2 rm -f $ids >/dev/null 2>&1
        fi
        if [ -S "$RUNDIR/dn.sock" ]; then
                ids=$(dk2 ps -aq 2>/dev/null)
                [ -n "$ids" ] && dk2 rm -f $ids >/dev/null 2>&1
        fi
        [ -z "$PODMAN_WHY" ] && [ -d "$STATE/podman" ] && pn rm -af -t 0 >/dev/null 2>&1
        for ((i = ${#NS_PIDS[@]} - 1; i >= 0; i--)); do
                stop_pid "${NS_PIDS[$i]}"
        done
        NS_PIDS=()
        # network namespaces podman made for its containers (cni-*) and did not remove
        ls /run/netns 2>/dev/null | sort | comm -13 "$T/netns.before" - | grep '^cni-' |
                while read -r n; do ip netns del "$n" 2>/dev/null; done
        ip netns del "$NS"
        NS_MADE=
}

START_WHY= # why start_berth_ns or start_docker_ns failed
start_berth_ns() {
        mkdir -p "$RUNDIR/bn"
        "${NSENTER[@]}" "$BERTH" daemon --root "$STATE/berth-ns" --run "$RUNDIR/bn" --log-level error \
                >"$T/berth-ns.log" 2>&1 &
        NS_PIDS+=("$!")
        for _ in $(seq 200); do
                [ -S "$RUNDIR/bn/berth.sock" ] && break
                sleep 0.05
        done
        B2 import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null \
                2>"$T/err" && return 0
        START_WHY="daemon in $NS did not start: $(tail -q -n 1 "$T/berth-ns.log" "$T/err" | tr '\n' ' ' | cut -c1-120)"
        return 1
}

start_docker_ns() {
        local cpid dpid
        [ -n "$DOCKER_WHY" ] && { START_WHY=$DOCKER_WHY; return 1; }
        mkdir -p "$STATE/containerd-ns" "$STATE/docker-ns"
        cat >"$STATE/containerd-ns.toml" <<EOF
version = 2
root = "$STATE/containerd-ns/root"
state = "$RUNDIR/cn"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUNDIR/cn.sock"
[ttrpc]
  address = "$RUNDIR/cn.sock.ttrpc"
[debug]
  address = "$RUNDIR/cn-debug.sock"
EOF
        "${NSENTER[@]}" containerd --config "$STATE/containerd-ns.toml" >"$T/containerd-ns.log" 2>&1 &
        cpid=$!
        NS_PIDS+=("$cpid")
        for _ in $(seq 200); do
                [ -S "$RUNDIR/cn.sock" ] && break
                sleep 0.05
        done
        # the default bridge docker0 and dockerd's iptables rules: both inside $NS
        "${NSENTER[@]}" dockerd --config-file "$STATE/daemon.json" --containerd "$RUNDIR/cn.sock" \
                --data-root "$STATE/docker-ns" --exec-root "$RUNDIR/dn-exec" \
                -H "unix://$RUNDIR/dn.sock" --pidfile "$RUNDIR/dn.pid" >"$T/dockerd-ns.log" 2>&1 &
        dpid=$!
        NS_PIDS+=("$dpid")
        for _ in $(seq 300); do
                if dk2 version >/dev/null 2>&1; then
                        dk2 import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" \
                                "$IMG" >/dev/null 2>"$T/err" && return 0
                        START_WHY="import failed: $(head -c 120 "$T/err")"
                        return 1
                fi
                kill -0 "$dpid" 2>/dev/null || break
                sleep 0.1
        done
        START_WHY="dockerd in $NS did not start: $(tail -n 1 "$T/dockerd-ns.log" | cut -c1-120)"
        return 1
}

# The host's firewall as text: iptables and ip6tables (nft-backed here), the nft ruleset without
# berth's per-root tables (other engineers' daemons add and remove theirs meanwhile) and without
# counters, IPv4 forwarding, and any docker0/cni-podman0 link.
host_fw() {
        { iptables-save; ip6tables-save; } 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//g'
        nft list ruleset 2>/dev/null | awk '/^table / { skip = ($3 ~ /^berth/) } !skip' |
                sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
        echo "ip_forward $(cat /proc/sys/net/ipv4/ip_forward)"
        ip -o link show | awk -F': ' '$2 ~ /^(docker0|cni-podman0)/ {print "link " $2}'
}

# us CMD...: wall time of one run in microseconds; fails like ms.
us() {
        local t0 t1
        t0=$(now_ns)
        if ! "$@" >"$T/out" 2>&1; then
                tail -n 2 "$T/out" | tr '\n' ' ' | cut -c1-160 >"$T/why"
                return 1
        fi
        t1=$(now_ns)
        echo $(((t1 - t0) / 1000))
}
us_ms() { awk '{ if ($1 == "n/a") print "n/a"; else printf "%.1f\n", $1 / 1000 }'; }
quantile() { # P (0-100): the nearest-rank percentile of the numbers on stdin
        sort -n | awk -v p="$1" '{a[NR] = $1} END { if (NR == 0) { print "n/a"; exit }
                i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

br_run() { # ENGINE NETWORK
        case $1 in
        berth) B2 run --rm --network "$2" "$IMG" true ;;
        docker) dk2 run --rm --network "$2" "$IMG" true ;;
        podman) pn run --rm --network "$2" "$IMG" true ;;
        esac
}

# bridge (issue #5): `run --rm IMG true` on each engine's default bridge network beside
# `--network none`, every engine's daemon in $NS; the engines and the two modes alternate run by
# run (the mode order flips every round), so load drifts hit all alike.
section_bridge() {
        local -A why=()
        local e m i t nb dn db fw modes
        echo
        echo "### run --rm IMG true: --network none vs the default bridge (median of $N, ms; engines and modes alternate run by run, daemons in a network namespace of their own)"
        echo
        host_fw >"$T/fw.before"
        if ! ns_up 2>"$T/err"; then
                echo "| could not create network namespace $NS: $(head -c 120 "$T/err") |"
                return
        fi
        # (not in $(...): the daemons' pids must reach NS_PIDS)
        START_WHY=
        start_berth_ns
        why[berth]=$START_WHY
        START_WHY=
        start_docker_ns
        why[docker]=$START_WHY
        why[podman]=$PODMAN_WHY
        for e in berth docker podman; do
                : >"$T/br-$e-none"
                : >"$T/br-$e-bridge"
                : >"$T/br-$e-diff"
                [ -n "${why[$e]}" ] && continue
                for m in none bridge; do # warm up: first runs fill caches, podman's makes the bridge
                        br_run "$e" "$m" >"$T/out" 2>&1 ||
                                { why[$e]="failed ($m): $(tail -n 2 "$T/out" | tr '\n' ' ' | cut -c1-140)"; break; }
                done
        done
        for i in $(seq "$N"); do
                modes="none bridge"
                [ $((i % 2)) -eq 0 ] && modes="bridge none"
                for e in berth docker podman; do
                        [ -n "${why[$e]}" ] && continue
                        local t_none='' t_bridge=''
                        for m in $modes; do
                                t=$(us br_run "$e" "$m") ||
                                        { why[$e]="failed ($m, run $i): $(cat "$T/why")"; break; }
                                echo "$t" >>"$T/br-$e-$m"
                                [ "$m" = none ] && t_none=$t || t_bridge=$t
                        done
                        [ -n "${why[$e]}" ] && continue
                        echo $((t_bridge - t_none)) >>"$T/br-$e-diff"
                done
        done
        echo "| engine | --network none | default bridge | bridge - none (difference of the medians) | bridge - none, per round: median (p25 .. p75) | bridge: peer / berth |"
        echo "|---|---|---|---|---|---|"
        nb=$(median <"$T/br-berth-bridge" | us_ms)
        for e in berth docker podman; do
                if [ -n "${why[$e]}" ]; then
                        echo "| $e | ${why[$e]} | | | | |"
                        continue
                fi
                dn=$(median <"$T/br-$e-none" | us_ms)
                db=$(median <"$T/br-$e-bridge" | us_ms)
                echo "| $e | $dn | $db | $(awk -v a="$db" -v b="$dn" 'BEGIN { printf "%.1f", a - b }') |" \
                        "$(median <"$T/br-$e-diff" | us_ms) ($(quantile 25 <"$T/br-$e-diff" | us_ms) .." \
                        "$(quantile 75 <"$T/br-$e-diff" | us_ms)) | $(ratio "$db" "$nb") |"
        done
        if [ -z "${why[berth]}" ]; then
                t=$(median <"$T/br-berth-diff" | us_ms)
                echo
                echo "Issue #5 target, berth's bridge adds at most 3 ms to its --network none time" \
                        "(median of the per-round differences): $(awk -v d="$t" \
                        'BEGIN { print (d <= 3 ? "met" : "not met") }') ($t ms; half of the rounds" \
                        "differ by $(quantile 25 <"$T/br-berth-diff" | us_ms) to" \
                        "$(quantile 75 <"$T/br-berth-diff" | us_ms) ms at this load)."
        fi
        echo
        echo "Inside $NS at the end: links $(ip -n "$NS" -o link show | awk -F': ' '{sub(/@.*/, "", $2); printf "%s ", $2}' | sed 's/ $//');" \
                "nft tables $(ip netns exec "$NS" nft list tables | awk '{printf "%s %s, ", $2, $3}' | sed 's/, $//')."
        ns_down
        host_fw >"$T/fw.after"
        echo
        if fw=$(diff "$T/fw.before" "$T/fw.after"); then
                echo "The host's firewall (iptables-save, ip6tables-save, the nft ruleset without" \
                        "berth's per-root tables, ip_forward, no docker0/cni-podman0) is the same" \
                        "before and after."
        else
                echo "The host's firewall CHANGED during the run (berth's per-root tables left out):"
                echo
                echo '```'
                echo "$fw" | head -n 40
                echo '```'
        fi
}

# restart (issue #6): crash-to-running latency of the first restart, restart_sample
# (bench/sup-lib.sh) for each engine in turn, run by run.
section_restart() {
        local -A why=([berth]="" [docker]="$DOCKER_WHY" [podman]="$PODMAN_WHY")
        local i e v mb md
        echo
        echo "### crash-to-running: first restart of a --restart always container that exits 1 after 0.3 s (from its die event to its next start event, $N runs, engines alternating, ms)"
        echo
        for e in berth docker podman; do : >"$T/rs-$e"; done
        for i in $(seq "$N"); do
                for e in berth docker podman; do
                        [ -n "${why[$e]}" ] && continue
                        case $e in
                        berth) v=$(restart_sample B "$IMG" "bench-rs-$i" '{{.Action}} {{.timeNano}}') ;;
                        docker) v=$(restart_sample dk "$IMG" "bench-rs-$i" '{{.Action}} {{.TimeNano}}') ;;
                        podman) v=$(restart_sample pm "$IMG" "bench-rs-$i" '{{.Status}} {{.Time.UnixNano}}' -t 0) ;;
                        esac || { why[$e]="no restart seen (run $i)"; continue; }
                        echo "$v" >>"$T/rs-$e"
                done
        done
        echo "| engine | median | p99 | runs | median: peer / berth |"
        echo "|---|---|---|---|---|"
        mb=$(median <"$T/rs-berth" | us_ms)
        for e in berth docker podman; do
                if [ -n "${why[$e]}" ]; then
                        echo "| $e | ${why[$e]} | | | |"
                        continue
                fi
                md=$(median <"$T/rs-$e" | us_ms)
                echo "| $e | $md | $(p99 <"$T/rs-$e" | us_ms) | $(wc -l <"$T/rs-$e") | $(ratio "$md" "$mb") |"
        done
        if [ -z "${why[berth]}" ]; then
                echo
                echo "Issue #6 target, berth under 10 ms:" \
                        "$(awk -v d="$mb" 'BEGIN { print (d < 10 ? "met" : "not met") }') (median $mb ms)."
        fi
        return 0
}

# N_CTR x run -d (sleep) then one rm -f of all of them; total ms each.
detach_cycle() { # ENGINE-FUNCTION
        local e=$1 i t0 t1 t2 ids
        t0=$(now_ns)
        for i in $(seq "$N_CTR"); do
                $e run -d --network none "$IMG" sleep 600 >/dev/null 2>"$T/err" ||
                        { echo "failed: $(head -c 120 "$T/err")"; return 1; }
        done
        t1=$(now_ns)
        ids=$($e ps -aq)
        # podman's rm -f waits for the stop timeout first (sleep ignores SIGTERM); docker and
        # berth kill at once
        if [ "$e" = pm ]; then pm rm -f -t 0 $ids >/dev/null 2>&1; else $e rm -f $ids >/dev/null 2>&1; fi
        t2=$(now_ns)
        echo "$(((t1 - t0) / 1000000)) $(((t2 - t1) / 1000000))"
}
B() { "$BERTH" "$@"; }

section_detach() {
        local b d p
        echo
        echo "### $N_CTR x run -d IMG sleep 600, then rm -f of all (ms, one run each)"
        echo
        echo "| workload | berth | docker | podman | ratio (peer / berth) |"
        echo "|---|---|---|---|---|"
        b=$(detach_cycle B)
        d=${DOCKER_WHY:-$(detach_cycle dk)}
        p=${PODMAN_WHY:-$(detach_cycle pm)}
        row "$N_CTR x run -d" "${b%% *}" "${d%% *}" "${p%% *}"
        row "rm -f of $N_CTR" "${b##* }" "${d##* }" "${p##* }"
}

# pids of the per-container helper processes of an engine
shim_pids() {
        case $1 in
        berth) pgrep -f "berth shim .*--run $RUNDIR/b " ;;
        docker) pgrep -f "containerd-shim-runc-v2 .*-address $RUNDIR/containerd.sock" ;;
        podman) pgrep -f "conmon .*$RUNDIR/podman" ;;
        esac
}

# smaps_rollup FIELD PID...: the field summed over the processes, KiB (Rss, Pss, Private_Dirty)
smaps_kib() {
        local f=$1 p s=0 v
        shift
        for p in "$@"; do
                v=$(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
                s=$((s + ${v:-0}))
        done
        echo "$s"
}

# daemon pids of an engine (podman has none)
daemon_pids() {
        case $1 in
        berth) echo "$BERTH_PID" ;;
        docker) echo "$DOCKERD_PID $CONTAINERD_PID" ;;
        esac
}

# mem (issue #6): the daemons idle and with each of MEM_LEVELS (default "10 100") sleeping
# containers per engine, in RSS and PSS (PSS splits shared pages among the processes mapping
# them: N shims of one binary do not count its code N times), after MEM_IDLE (default 8) quiet
# seconds each time (berth's daemon trims itself when quiet: agent/daemon_trim.c). Per
# container: the mean shim PSS plus the growth of the daemon's private dirty memory (heap,
# data) divided by the number of containers (bench/memory.sh's measure, berth alone).
section_mem() {
        local -A why=([berth]="" [docker]="$DOCKER_WHY" [podman]="$PODMAN_WHY") v=()
        local e l n have i pids s cells
        local levels=${MEM_LEVELS:-10 100} idle=${MEM_IDLE:-8}
        echo
        echo "### memory: daemons idle and with $(echo "$levels" | sed 's/ / and /g') sleeping containers per engine (KiB; each after $idle quiet seconds)"
        echo
        echo "| what | berth | docker (dockerd + containerd) | podman | ratio (peer / berth) |"
        echo "|---|---|---|---|---|"
        sleep "$idle"
        for e in berth docker; do
                [ -n "${why[$e]}" ] && continue
                pids=$(daemon_pids "$e")
                v[$e.rss0]=$(smaps_kib Rss $pids)
                v[$e.pss0]=$(smaps_kib Pss $pids)
                v[$e.priv0]=$(smaps_kib Private_Dirty $pids)
        done
        cell_of() { # ENGINE KEY
                if [ -n "${why[$1]}" ]; then echo "${why[$1]}"; else echo "${v[$1.$2]:-no daemon}"; fi
        }
        row "daemon idle RSS" "$(cell_of berth rss0)" "$(cell_of docker rss0)" "no daemon"
        row "daemon idle PSS" "$(cell_of berth pss0)" "$(cell_of docker pss0)" "no daemon"
        have=0
        for l in $levels; do
                for e in berth docker podman; do
                        [ -n "${why[$e]}" ] && continue
                        for i in $(seq $((have + 1)) "$l"); do
                                case $e in
                                berth) B run -d --network none "$IMG" sleep 600 ;;
                                docker) dk run -d --network none "$IMG" sleep 600 ;;
                                podman) pm run -d --network none "$IMG" sleep 600 ;;
                                esac >/dev/null 2>"$T/err" ||
                                        { why[$e]="run -d failed: $(head -c 120 "$T/err")"; break; }
                        done
                done
                have=$l
                sleep "$idle"
                for e in berth docker podman; do
                        [ -n "${why[$e]}" ] && continue
                        s=$(shim_pids "$e")
                        n=$(echo "$s" | grep -c .)
                        [ "$n" -gt 0 ] || { why[$e]="no shim found"; continue; }
                        # shellcheck disable=SC2086 # lists of pids
                        v[$e.shim]=$(($(smaps_kib Pss $s) / n))
                        v[$e.cost]=${v[$e.shim]}
                        [ "$e" = podman ] && continue
                        pids=$(daemon_pids "$e")
                        v[$e.rss]=$(smaps_kib Rss $pids)
                        v[$e.pss]=$(smaps_kib Pss $pids)
                        # a garbage-collected daemon's private memory can shrink meanwhile
                        v[$e.grow]=$((($(smaps_kib Private_Dirty $pids) - ${v[$e.priv0]}) / l))
                        [ "${v[$e.grow]}" -lt 0 ] && v[$e.grow]=0
                        v[$e.cost]=$((${v[$e.shim]} + ${v[$e.grow]}))
                done
                row "daemon RSS, $l containers" "$(cell_of berth rss)" "$(cell_of docker rss)" "no daemon"
                row "daemon PSS, $l containers" "$(cell_of berth pss)" "$(cell_of docker pss)" "no daemon"
                row "shim PSS per container, mean of $l (berth shim / containerd-shim-runc-v2 / conmon)" \
                        "$(cell_of berth shim)" "$(cell_of docker shim)" "$(cell_of podman shim)"
                row "per container: shim PSS + the daemon's private growth / $l" \
                        "$(cell_of berth cost)" "$(cell_of docker cost)" "$(cell_of podman cost)"
        done
        for e in berth docker podman; do
                case $e in
                berth) cells=$(B ps -aq) ;;
                docker) [ -n "$DOCKER_WHY" ] && continue; cells=$(dk ps -aq) ;;
                podman) [ -n "$PODMAN_WHY" ] && continue; cells=$(pm ps -aq) ;;
                esac
                [ -z "$cells" ] && continue
                case $e in
                berth) B rm -f $cells ;;
                docker) dk rm -f $cells ;;
                podman) pm rm -f -t 0 $cells ;;
                esac >/dev/null 2>&1
        done
        echo
        echo "Issue #6 targets: berth's daemon under 10 MiB RSS idle ($(cell_of berth rss0) KiB), per" \
                "container under 0.3 MiB PSS ($(cell_of berth cost) KiB with $have containers)."
}

start_registry() {
        REG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        cat >"$T/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $T/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REG_PORT}
EOF
        docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
        REG_PID=$!
        for _ in $(seq 100); do
                curl -s -o /dev/null "http://127.0.0.1:$REG_PORT/v2/" && return 0
                sleep 0.1
        done
        return 1
}

section_pull() {
        local ref b d p s
        echo
        echo "### pull of a 3-layer image (busybox + 2 x 4 MiB) from a loopback docker-registry (median of $N, ms)"
        echo
        echo "| workload | berth | docker | podman | skopeo copy (to an OCI dir, no unpack) | ratio (peer / berth) |"
        echo "|---|---|---|---|---|---|"
        if ! command -v docker-registry >/dev/null || ! start_registry; then
                echo "| pull | docker-registry not installed or not starting | | | | |"
                return
        fi
        ref=127.0.0.1:$REG_PORT/bench/three:1
        # the image: berth's busybox plus two committed layers of random bytes
        B run --name l2 --network none "$IMG" sh -c 'head -c 4194304 /dev/urandom >/l2' >/dev/null &&
                B commit l2 bench/two:1 >/dev/null &&
                B run --name l3 --network none bench/two:1 sh -c 'head -c 4194304 /dev/urandom >/l3' >/dev/null &&
                B commit l3 "$ref" >/dev/null && B push "$ref" >/dev/null ||
                { echo "| pull | could not build and push the image | | | | |"; return; }
        B rm -f l2 l3 >/dev/null
        B rmi bench/two:1 >/dev/null
        # berth's own base layer must not be reused: drop the base image for this section
        B rmi "$IMG" >/dev/null
        rm_b() { B rmi "$ref"; }
        rm_d() { dk rmi "$ref"; }
        rm_p() { pm rmi "$ref"; }
        rm_s() { rm -rf "$T/oci"; }
        b=$(PREP=rm_b bench_median "$N" B pull "$ref")
        d=$(PREP=rm_d cell "$DOCKER_WHY" dk pull "$ref")
        p=$(PREP=rm_p cell "$PODMAN_WHY" pm pull --tls-verify=false "$ref")
        s="not installed"
        command -v skopeo >/dev/null && s=$(PREP=rm_s bench_median "$N" skopeo copy \
                --src-tls-verify=false "docker://$ref" "oci:$T/oci:x")
        row "pull 3 layers" "$b" "$d" "$p" "$s"
        B rmi "$ref" >/dev/null 2>&1
        [ -z "$DOCKER_WHY" ] && dk rmi "$ref" >/dev/null 2>&1
        [ -z "$PODMAN_WHY" ] && pm rmi "$ref" >/dev/null 2>&1
        B import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null
}

# imagepull (issue #3): a 6-layer image of ~55 MiB of this host's binaries and a 1-layer busybox
# image, pushed by skopeo to a loopback docker-registry from OCI layouts (bench/gen-image.py);
# cold pulls (rmi before each run, untimed) and cold pushes (a new repository each run).
section_imagepull() {
        local big bb b d p s i
        echo
        echo "### image pull/push from a loopback docker-registry (median of $N, ms; skopeo copies to/from an OCI dir, no unpack)"
        echo
        echo "| workload | berth | docker | podman | skopeo copy | ratio (peer / berth) |"
        echo "|---|---|---|---|---|---|"
        if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null ||
                { [ -z "$REG_PID" ] && ! start_registry; }; then
                echo "| pull | docker-registry or skopeo not installed, or not starting | | | | |"
                return
        fi
        # berth's busybox image has the same layer (diff id): drop it for this section
        B rmi "$IMG" >/dev/null
        big=127.0.0.1:$REG_PORT/bench/bin6:1
        bb=127.0.0.1:$REG_PORT/bench/busybox:1
        python3 bench/gen-image.py "$T/bin6" bin 6 55 "$big" 2>&1 | sed 's/^/# bin6: /' >&2
        python3 bench/gen-image.py "$T/bb" tar "$T/busybox.tar" "$bb" 2>/dev/null
        skopeo copy -q --dest-tls-verify=false "oci:$T/bin6" "docker://$big" >/dev/null &&
                skopeo copy -q --dest-tls-verify=false "oci:$T/bb" "docker://$bb" >/dev/null ||
                { echo "| pull | skopeo could not push the images | | | | |"; return; }
        for ref in "$big" "$bb"; do
                rm_b() { B rmi "$ref"; }
                rm_d() { dk rmi "$ref"; }
                rm_p() { pm rmi "$ref"; }
                rm_s() { rm -rf "$T/oci"; }
                b=$(PREP=rm_b bench_median "$N" B pull -q "$ref")
                d=$(PREP=rm_d cell "$DOCKER_WHY" dk pull -q "$ref")
                p=$(PREP=rm_p cell "$PODMAN_WHY" pm pull -q --tls-verify=false "$ref")
                s=$(PREP=rm_s bench_median "$N" skopeo copy -q --src-tls-verify=false \
                        "docker://$ref" "oci:$T/oci:x")
                [ "$ref" = "$big" ] && row "pull 6 layers, 55 MiB" "$b" "$d" "$p" "$s"
                [ "$ref" = "$bb" ] && row "pull busybox (1 layer)" "$b" "$d" "$p" "$s"
        done
        # cold push of the 6-layer image: each run into a new, empty registry on a new port
        # (untimed), so that no engine can skip or cross-mount a blob it pushed before
        push_reg() { # CLIENT: a fresh registry in $T/pushreg; its port in $T/pushport
                local port pid
                [ -s "$T/pushpid" ] && stop_pid "$(cat "$T/pushpid")"
                rm -rf "$T/pushreg"
                port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
                printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
                        "$T/pushreg" "$port" >"$T/pushreg.yml"
                docker-registry serve "$T/pushreg.yml" >>"$T/registry.log" 2>&1 &
                pid=$!
                echo "$pid" >"$T/pushpid"
                echo "$port" >"$T/pushport"
                for _ in $(seq 100); do
                        curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
                        sleep 0.05
                done
                case $1 in
                berth) B tag "$big" "127.0.0.1:$port/push/img:1" ;;
                docker) dk tag "$big" "127.0.0.1:$port/push/img:1" ;;
                esac
        }
        prep_b() { push_reg berth; }
        prep_d() { push_reg docker; }
        prep_s() { push_reg skopeo; }
        push_b() { B push -q "127.0.0.1:$(cat "$T/pushport")/push/img:1"; }
        push_d() { dk push "127.0.0.1:$(cat "$T/pushport")/push/img:1"; }
        push_s() { skopeo copy -q --dest-tls-verify=false "oci:$T/bin6" \
                "docker://127.0.0.1:$(cat "$T/pushport")/push/img:1"; }
        b=$(PREP=prep_b bench_median "$N" push_b)
        d="$DOCKER_WHY"
        [ -z "$DOCKER_WHY" ] && dk pull -q "$big" >/dev/null 2>&1 && d=$(PREP=prep_d bench_median "$N" push_d)
        s=$(PREP=prep_s bench_median "$N" push_s)
        [ -s "$T/pushpid" ] && stop_pid "$(cat "$T/pushpid")"
        row "push 6 layers, 55 MiB (cold, empty registry)" "$b" "$d" "not measured" "$s"
        B rmi "$big" "$bb" >/dev/null 2>&1
        [ -z "$DOCKER_WHY" ] && dk rmi "$big" "$bb" >/dev/null 2>&1
        [ -z "$PODMAN_WHY" ] && pm rmi "$big" "$bb" >/dev/null 2>&1
        B import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null
}

section_saveload() {
        local b d p
        echo
        echo "### save and load of the busybox image (median of $N, ms; every engine loads the tarball berth saved)"
        echo
        echo "| workload | berth | docker | podman | ratio (peer / berth) |"
        echo "|---|---|---|---|---|"
        rm_tars() { rm -f "$T/b.tar" "$T/d.tar" "$T/p.tar"; }
        b=$(PREP=rm_tars bench_median "$N" B save -o "$T/b.tar" "$IMG")
        d=$(PREP=rm_tars cell "$DOCKER_WHY" dk save -o "$T/d.tar" "$IMG")
        p=$(PREP=rm_tars cell "$PODMAN_WHY" pm save -o "$T/p.tar" "$IMG")
        B save -o "$T/b.tar" "$IMG"
        row "save" "$b" "$d" "$p"
        cp "$T/b.tar" "$T/common.tar"
        rmimg_b() { B rmi "$IMG"; }
        rmimg_d() { dk rmi "$IMG"; }
        rmimg_p() { pm rmi "$IMG"; }
        b=$(PREP=rmimg_b bench_median "$N" B load -i "$T/common.tar")
        d=$(PREP=rmimg_d cell "$DOCKER_WHY" dk load -i "$T/common.tar")
        p=$(PREP=rmimg_p cell "$PODMAN_WHY" pm load -i "$T/common.tar")
        row "load" "$b" "$d" "$p"
        # a peer that could not load berth's tarball gets its image back for what follows
        B image inspect "$IMG" >/dev/null 2>&1 ||
                B import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null
        [ -z "$DOCKER_WHY" ] && { dk image inspect "$IMG" >/dev/null 2>&1 ||
                dk import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null; }
        [ -z "$PODMAN_WHY" ] && { pm image inspect "$IMG" >/dev/null 2>&1 ||
                pm import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" "$IMG" >/dev/null; }
        return 0
}

compose_file() { # N IMAGE NET (none: network_mode none; user: the stack's default network)
        local i
        echo "version: '3.8'"
        echo "services:"
        for ((i = 1; i <= $1; i++)); do
                printf '  s%d:\n    image: %s\n    command: ["sleep", "600"]\n' "$i" "$2"
                [ "$3" = none ] && printf '    network_mode: none\n'
        done
        return 0
}

section_compose() {
        echo
        echo "### compose: up -d, a no-change up -d and down -t 0 of $N_SVC services, network_mode none (median of $N, ms)"
        compose_rows B "$RUNDIR/docker.sock" none
}

# composenet (issue #8's workload): the same, every service on the stack's default (user bridge)
# network, with berth's and dockerd's daemons in $NS (their bridges and rules stay there).
section_composenet() {
        local -A why=()
        echo
        echo "### compose: up -d, a no-change up -d and down -t 0 of $N_SVC services on one user network (median of $N, ms; daemons in a network namespace of their own)"
        host_fw >"$T/fw.before"
        if ! ns_up 2>"$T/err"; then
                echo
                echo "| could not create network namespace $NS: $(head -c 120 "$T/err") |"
                return
        fi
        START_WHY=
        start_berth_ns
        why[berth]=$START_WHY
        START_WHY=
        start_docker_ns
        why[docker]=$START_WHY
        if [ -n "${why[berth]}" ]; then
                echo
                echo "| berth: ${why[berth]} |"
        else
                DOCKER_WHY_SAVED=$DOCKER_WHY
                DOCKER_WHY=${why[docker]}
                compose_rows B2 "$RUNDIR/dn.sock" user
                DOCKER_WHY=$DOCKER_WHY_SAVED
        fi
        ns_down
        host_fw >"$T/fw.after"
        if cmp -s "$T/fw.before" "$T/fw.after"; then
                echo "(the host's firewall is the same before and after)"
        else
                echo "(the host's firewall changed during the run:"
                diff "$T/fw.before" "$T/fw.after" | head -n 10
                echo ")"
        fi
}

compose_rows() { # BERTH-FUNCTION DOCKER-SOCKET NET
        local cb=$1 dsock=$2 net=$3 b_up b_nc b_down d_up d_nc d_down i t0 t1 t2 t3
        echo
        echo "| workload | berth | docker-compose 1.29 | ratio (peer / berth) |"
        echo "|---|---|---|---|"
        mkdir -p "$T/compose"
        compose_file "$N_SVC" "$IMG" "$net" >"$T/compose/compose.yaml"
        : >"$T/bu"
        : >"$T/bn"
        : >"$T/bd"
        for i in $(seq "$N"); do
                t0=$(now_ns)
                "$cb" up -d -p benchc -f "$T/compose/compose.yaml" >/dev/null 2>"$T/err" ||
                        { b_up="failed: $(head -c 120 "$T/err")"; break; }
                # count until every container runs, as docker-compose up -d returns then
                for _ in $(seq 1500); do
                        [ "$("$cb" ps -q | wc -l)" -ge "$N_SVC" ] && break
                        sleep 0.02
                done
                t1=$(now_ns)
                "$cb" up -d -p benchc -f "$T/compose/compose.yaml" >/dev/null 2>&1
                t2=$(now_ns)
                "$cb" down -t 0 -p benchc >/dev/null 2>&1
                # and down counts until the containers are gone
                for _ in $(seq 600); do
                        [ -z "$("$cb" ps -aq)" ] && break
                        sleep 0.02
                done
                t3=$(now_ns)
                echo $(((t1 - t0) / 1000000)) >>"$T/bu"
                echo $(((t2 - t1) / 1000000)) >>"$T/bn"
                echo $(((t3 - t2) / 1000000)) >>"$T/bd"
        done
        b_up=${b_up:-$(median <"$T/bu")}
        b_nc=$(median <"$T/bn")
        b_down=$(median <"$T/bd")
        if ! command -v docker-compose >/dev/null; then
                d_up="not installed"
                d_nc=$d_up
                d_down=$d_up
        elif [ -n "$DOCKER_WHY" ]; then
                d_up=$DOCKER_WHY
                d_nc=$d_up
                d_down=$d_up
        else
                : >"$T/du"
                : >"$T/dn"
                : >"$T/dd"
                for i in $(seq "$N"); do
                        t0=$(now_ns)
                        DOCKER_HOST=unix://$dsock docker-compose -p benchc \
                                -f "$T/compose/compose.yaml" up -d >/dev/null 2>"$T/err" ||
                                { d_up="failed: $(tail -c 120 "$T/err")"; break; }
                        t1=$(now_ns)
                        DOCKER_HOST=unix://$dsock docker-compose -p benchc \
                                -f "$T/compose/compose.yaml" up -d >/dev/null 2>&1
                        t2=$(now_ns)
                        DOCKER_HOST=unix://$dsock docker-compose -p benchc \
                                -f "$T/compose/compose.yaml" down -t 0 >/dev/null 2>&1
                        t3=$(now_ns)
                        echo $(((t1 - t0) / 1000000)) >>"$T/du"
                        echo $(((t2 - t1) / 1000000)) >>"$T/dn"
                        echo $(((t3 - t2) / 1000000)) >>"$T/dd"
                done
                d_up=${d_up:-$(median <"$T/du")}
                d_nc=$(median <"$T/dn")
                d_down=$(median <"$T/dd")
        fi
        row "up -d ($N_SVC services)" "$b_up" "$d_up"
        row "no-change up -d" "$b_nc" "$d_nc"
        row "down -t 0" "$b_down" "$d_down"
}

# A Kubernetes Pod of N containers (sleep), no network: the same manifest for both tools.
kube_pod() { # N IMAGE
        local i
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: benchk\nspec:\n  containers:\n'
        for ((i = 1; i <= $1; i++)); do
                printf '  - name: c%d\n    image: %s\n    command: ["sleep", "600"]\n' "$i" "$2"
        done
}

# berth up -d of a kube Pod with 10 containers beside podman play kube (issue #8: 0.74 s).
section_kube() {
        local b_up b_down p_up p_down i t0 t1 t2
        echo
        echo "### kube: one Pod of 10 containers (sleep), up and down (median of $N, ms)"
        echo
        echo "| workload | berth up -d / down -t 0 | podman play kube / play kube --down | ratio (peer / berth) |"
        echo "|---|---|---|---|"
        mkdir -p "$T/kube"
        kube_pod 10 "$IMG" >"$T/kube/pod.yaml"
        : >"$T/ku"
        : >"$T/kd"
        for i in $(seq "$N"); do
                t0=$(now_ns)
                B up -d -p benchk -f "$T/kube/pod.yaml" >/dev/null 2>"$T/err" ||
                        { b_up="failed: $(head -c 120 "$T/err")"; break; }
                # until every container runs, as podman play kube returns then
                for _ in $(seq 1500); do
                        [ "$(B ps -q | wc -l)" -ge 10 ] && break
                        sleep 0.02
                done
                t1=$(now_ns)
                B down -t 0 -p benchk >/dev/null 2>&1
                for _ in $(seq 600); do
                        [ -z "$(B ps -aq)" ] && break
                        sleep 0.02
                done
                t2=$(now_ns)
                echo $(((t1 - t0) / 1000000)) >>"$T/ku"
                echo $(((t2 - t1) / 1000000)) >>"$T/kd"
        done
        b_up=${b_up:-$(median <"$T/ku")}
        b_down=$(median <"$T/kd")
        if [ -n "$PODMAN_WHY" ]; then
                p_up=$PODMAN_WHY
                p_down=$p_up
        else
                : >"$T/pu"
                : >"$T/pd"
                for i in $(seq "$N"); do
                        t0=$(now_ns)
                        pm play kube --network none "$T/kube/pod.yaml" >/dev/null 2>"$T/err" ||
                                { p_up="failed: $(tail -c 120 "$T/err" | tr '\n' ' ')"; break; }
                        t1=$(now_ns)
                        pm play kube --down "$T/kube/pod.yaml" >/dev/null 2>&1
                        t2=$(now_ns)
                        echo $(((t1 - t0) / 1000000)) >>"$T/pu"
                        echo $(((t2 - t1) / 1000000)) >>"$T/pd"
                done
                pm pod rm -f benchk >/dev/null 2>&1
                p_up=${p_up:-$(median <"$T/pu")}
                p_down=$(median <"$T/pd")
        fi
        row "up (1 pod, 10 containers)" "$b_up" "$p_up"
        row "down" "$b_down" "$p_down"
}

# ---- main ----

make_image
start_berth || { echo "berth daemon did not start" >&2; cat "$T/berth.log" >&2; exit 1; }
start_docker || true
setup_podman || true
log "docker: ${DOCKER_WHY:-ok}; podman: ${PODMAN_WHY:-ok}"

echo "## berth beside its peers: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
echo
echo "berth $("$BERTH" version 2>/dev/null | awk '/Version:/ {print $2; exit}') ($(git rev-parse --short HEAD 2>/dev/null))"
[ -z "$DOCKER_WHY" ] && echo "docker $(dk version -f '{{.Server.Version}}' 2>/dev/null), containerd $(containerd --version | awk '{print $3}')"
[ -z "$PODMAN_WHY" ] && echo "podman $(pm version -f '{{.Client.Version}}' 2>/dev/null) (runtime runc)"
echo "ratio = peer / berth: above 1 means berth is faster (or smaller)."

# pull first: the peers must not hold the busybox layer yet
for s in "${SECTIONS[@]}"; do
        [ "$s" = pull ] && section_pull
        [ "$s" = imagepull ] && section_imagepull
done
import_peers
for s in "${SECTIONS[@]}"; do
        case $s in
        pull | imagepull) ;;
        run | bridge | restart | detach | mem | saveload | compose | composenet | kube) "section_$s" ;;
        *) echo "unknown section '$s' (run bridge restart detach mem pull saveload compose composenet kube imagepull)" >&2 ;;
        esac
done
