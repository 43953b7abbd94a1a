#!/usr/bin/env bash
# `berth oci run` of a busybox bundle running `true`, N times; prints the median wall time per
# run beside crun and runc when they are installed. Needs root and busybox-static.
# Two berth rows: `berth oci` (the thin CLI, which execs berth-engine: one exec more) and
# `berth-engine oci`, what podman --runtime or dockerd --add-runtime would be given.
#
#   bench/oci-run.sh [N]        (default N=50)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-50}
BERTH=${BERTH:-$PWD/build/berth}
ENGINE=${BERTH_ENGINE:-$(dirname "$BERTH")/berth-engine}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "needs busybox-static" >&2; exit 1; }
[ -x "$BERTH" ] || { echo "build berth first (make)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$work/bundle/rootfs/bin/"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && "$BERTH" oci spec)
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$work/bundle/config.json" \
        >"$work/c.json" && mv "$work/c.json" "$work/bundle/config.json"

# median_ms RUNTIME_CMD...: runs "CMD run --bundle B id-i" N times, prints the median in ms.
median_ms() {
        local times=() i t0 t1
        for ((i = 0; i < N; i++)); do
                t0=$(date +%s%N)
                if ! "$@" run --bundle "$work/bundle" "bench-$$-$i" </dev/null >/dev/null \
                        2>"$work/err"; then
                        echo "failed: $(head -c 120 "$work/err")"
                        return 0
                fi
                t1=$(date +%s%N)
                times+=($(((t1 - t0) / 1000)))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
                m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
                printf "%.2f\n", m / 1000 }'
}

printf '%-8s %10s   (%d runs of /bin/true, median wall time)\n' runtime "ms/run" "$N"
printf '%-8s %10s\n' berth "$(median_ms "$BERTH" oci --root "$work/state-berth")"
if [ -x "$ENGINE" ]; then
        printf '%-8s %10s\n' berth-engine "$(median_ms "$ENGINE" oci --root "$work/state-berth")"
fi
if command -v crun >/dev/null; then
        printf '%-8s %10s\n' crun "$(median_ms crun --root "$work/state-crun")"
fi
if command -v runc >/dev/null; then
        printf '%-8s %10s\n' runc "$(median_ms runc --root "$work/state-runc")"
fi
