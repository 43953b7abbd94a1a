#!/usr/bin/env bash
# Stack lifecycle timings: N `sleep` services on one network, for N = 10 and 50:
#   up -d (until every pod runs), a no-change up -d, and down -t 0 (until every container is
#   gone). Prints berth's figures, and docker-compose's beside them
#   when docker-compose is installed and a docker daemon answers. Needs root and busybox-static.
#
#   bench/stack-up.sh [N...]       (default: 10 50)
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
SIZES=("${@:-10 50}")
read -r -a SIZES <<<"${SIZES[*]}"
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "needs busybox-static" >&2; exit 1; }
[ -x "$BERTH" ] || { echo "build berth first (make)" >&2; exit 1; }
. bench/sup-lib.sh # net_instance_drop

tmp=$(mktemp -d /tmp/berth-bench.XXXXXX)
pid=
cleanup() {
        local inst=
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                inst=$("$BERTH" info --format json 2>/dev/null | jq -r '.BerthNetwork.NftTable // empty' || true)
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                "$BERTH" network prune -f >/dev/null 2>&1 || true
                kill -TERM "$pid"
                wait "$pid" 2>/dev/null || true
        fi
        net_instance_drop "$inst"
        rm -rf "$tmp"
}
trap cleanup EXIT

"$BERTH" daemon --root "$tmp/root" --run "$tmp/run" --bridge none --log-level warn >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
        [ -S "$tmp/run/berth.sock" ] && break
        sleep 0.05
done
export BERTH_HOST=unix://$tmp/run/berth.sock

r=$tmp/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
tar -C "$r" -cf "$tmp/busybox.tar" .
"$BERTH" import -c 'CMD ["sh"]' "$tmp/busybox.tar" localhost/bench-busybox:latest >/dev/null

# compose N: N sleep services on one network.
compose() {
        local n=$1 i
        echo "name: bench$n"
        echo "services:"
        for ((i = 1; i <= n; i++)); do
                printf '  s%d:\n    image: localhost/bench-busybox:latest\n' "$i"
                printf '    command: ["sleep", "3600"]\n'
                printf '    networks: [net]\n'
        done
        # An explicit subnet: the stack network must not depend on free default pools.
        printf 'networks:\n  net:\n    ipam:\n      config: [{subnet: 10.213.%d.0/24}]\n' "$((100 + n % 100))"
}

now_ms() { date +%s%3N; }

wait_gone() {
        local i
        for i in $(seq 3000); do
                [ -z "$("$BERTH" ps -aq)" ] && return 0
                sleep 0.05
        done
        echo "containers still there after down" >&2
        return 1
}

printf '%-10s %12s %14s %12s\n' services "up -d (s)" "no-change (s)" "down (s)"
for n in "${SIZES[@]}"; do
        compose "$n" >"$tmp/compose-$n.yaml"
        t0=$(now_ms)
        "$BERTH" up -d --wait --wait-timeout 600 -f "$tmp/compose-$n.yaml" >/dev/null
        t1=$(now_ms)
        "$BERTH" up -d -f "$tmp/compose-$n.yaml" >/dev/null
        t2=$(now_ms)
        "$BERTH" down -t 0 -p "bench$n" >/dev/null
        wait_gone
        t3=$(now_ms)
        printf '%-10s %12.2f %14.2f %12.2f   berth\n' "$n" "$(((t1 - t0)))e-3" \
                "$(((t2 - t1)))e-3" "$(((t3 - t2)))e-3"
        if command -v docker-compose >/dev/null && docker info >/dev/null 2>&1; then
                sed 's|localhost/bench-busybox:latest|busybox:latest|' "$tmp/compose-$n.yaml" \
                        >"$tmp/dc-$n.yaml"
                t0=$(now_ms)
                docker-compose -f "$tmp/dc-$n.yaml" up -d --wait >/dev/null 2>&1
                t1=$(now_ms)
                docker-compose -f "$tmp/dc-$n.yaml" up -d >/dev/null 2>&1
                t2=$(now_ms)
                docker-compose -f "$tmp/dc-$n.yaml" down -t 0 >/dev/null 2>&1
                t3=$(now_ms)
                printf '%-10s %12.2f %14.2f %12.2f   docker-compose\n' "$n" "$(((t1 - t0)))e-3" \
                        "$(((t2 - t1)))e-3" "$(((t3 - t2)))e-3"
        fi
done
