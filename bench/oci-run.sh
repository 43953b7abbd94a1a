#!/usr/bin/env bash
# `run` of a busybox bundle running `true` by each OCI runtime, N rounds, the runtimes taking
# turns within each round (so that load changes hit them all alike); prints the median, p25 and
# p75 wall time per run and each berth row's ratio to crun. Needs root and busybox-static.
#
# Rows: crun, runc, `berth-runtime run` (the static runtime binary podman --runtime and dockerd
# --add-runtime point at), `berth-engine oci run` (execs berth-runtime) and `berth oci run`
# (the thin CLI, execs berth-runtime). All in one private mount namespace where a v1 hugetlb
# hierarchy is mounted when the host has none: crun refuses hybrid cgroups without it
# (/work/shared/PEERS.md); berth and runc run the same way with or without it.
#
#   bench/oci-run.sh [N]        (default N=30)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${OCI_RUN_BENCH_NS:-}" ]; then
        [ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
        export OCI_RUN_BENCH_NS=1
        exec unshare -m --propagation private "$0" "$@"
fi
if ! mountpoint -q /sys/fs/cgroup/hugetlb && [ -e /sys/fs/cgroup/unified ]; then
        mkdir -p /sys/fs/cgroup/hugetlb 2>/dev/null || true
        mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null || true
fi

N=${1:-30}
BERTH=${BERTH:-$PWD/build/berth}
ENGINE=${BERTH_ENGINE:-$(dirname "$BERTH")/berth-engine}
RUNTIME=${BERTH_RUNTIME:-$(dirname "$BERTH")/berth-runtime}
[ -x /bin/busybox ] || { echo "needs busybox-static" >&2; exit 1; }
for b in "$BERTH" "$ENGINE" "$RUNTIME"; do
        [ -x "$b" ] || { echo "build $b first (make)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$work/bundle/rootfs/bin/"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && "$RUNTIME" spec)
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$work/bundle/config.json" \
        >"$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"

names=()
cmds=()
add() { # NAME CMD...
        names+=("$1")
        shift
        cmds+=("$*")
}
command -v crun >/dev/null && add crun crun --root "$work/state-crun"
command -v runc >/dev/null && add runc runc --root "$work/state-runc"
add berth-runtime "$RUNTIME" --root "$work/state-berth"
add "berth-engine oci" "$ENGINE" oci --root "$work/state-berth"
add "berth oci" "$BERTH" oci --root "$work/state-berth"

declare -A times failed
# one_run K I: runs runtime K once, appends its wall time in us to times[K].
one_run() {
        local k=$1 i=$2 t0 t1
        [ -n "${failed[$k]:-}" ] && return 0
        t0=$EPOCHREALTIME
        # shellcheck disable=SC2086 # the command line is split on purpose (no spaces in paths)
        if ! ${cmds[$k]} run --bundle "$work/bundle" "bench-$$-$k-$i" </dev/null >/dev/null \
                2>"$work/err"; then
                failed[$k]="failed: $(head -c 120 "$work/err")"
                return 0
        fi
        t1=$EPOCHREALTIME
        times[$k]+="$(((${t1/./} - ${t0/./}))) "
}

for ((i = 0; i < N; i++)); do
        for k in "${!names[@]}"; do
                one_run "$k" "$i"
        done
done

# stats K: "median p25 p75" in ms.
stats() {
        printf '%s\n' ${times[$1]} | sort -n | awk '
                { a[NR] = $1 }
                function q(p,  i) { i = int(p * (NR - 1) + 0.5) + 1; return a[i] / 1000 }
                END {
                        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                        printf "%.2f %.2f %.2f\n", m / 1000, q(0.25), q(0.75)
                }'
}

printf '%-18s %8s %8s %8s %9s   (%d rounds of /bin/true, runtimes alternating; %s)\n' \
        runtime median p25 p75 "vs crun" "$N" "$(uptime | sed 's/.*load/load/')"
crun_med=
for k in "${!names[@]}"; do
        if [ -n "${failed[$k]:-}" ]; then
                printf '%-18s %s\n' "${names[$k]}" "${failed[$k]}"
                continue
        fi
        read -r med p25 p75 < <(stats "$k")
        [ "${names[$k]}" = crun ] && crun_med=$med
        ratio=
        if [ -n "$crun_med" ] && [[ "${names[$k]}" == berth* ]]; then
                ratio=$(awk -v a="$med" -v b="$crun_med" 'BEGIN { printf "%.2fx", a / b }')
        fi
        printf '%-18s %8s %8s %8s %9s\n' "${names[$k]}" "$med" "$p25" "$p75" "$ratio"
done
