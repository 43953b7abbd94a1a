#!/usr/bin/env bash
# Generates a compose file with 200 services (a realistic mix: images, ports, volumes,
# environment, healthchecks, depends_on, networks, deploy sections) and times
# `berth config` on it. Prints docker-compose's time beside it when installed.
#
#   BERTH=build/berth bench/specs-200.sh [RUNS]
set -euo pipefail
BERTH=${BERTH:-build/berth}
RUNS=${1:-20}
dir=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

{
        echo "name: bench"
        echo "x-common: &common"
        echo "  restart: unless-stopped"
        echo "  logging: {driver: json-file, options: {max-size: 10m}}"
        echo "services:"
        for i in $(seq 1 200); do
                cat <<EOS
  svc$i:
    <<: *common
    image: registry.example.com/team/svc$i:\${TAG:-1.$i}
    command: ["/app/server", "--port", "8080", "--name", "svc$i"]
    ports: ["$((20000 + 3 * i))-$((20002 + 3 * i)):8080", "127.0.0.1:$((40000 + 3 * i))-$((40002 + 3 * i)):9090/udp"]
    environment:
      SERVICE: svc$i
      UPSTREAM: http://svc$(( (i % 200) + 1 )):8080
      LOG_LEVEL: \${LOG_LEVEL:-info}
    volumes:
      - data$((i % 20)):/data
      - ./conf/svc$i:/etc/svc:ro
    networks: [net$((i % 4)), shared]
    healthcheck:
      test: ["CMD", "/app/health"]
      interval: 10s
      timeout: 2s
      retries: 3
    depends_on: [$( [ "$i" -gt 1 ] && echo "svc$((i - 1))" || echo "" )]
    deploy:
      replicas: $(( (i % 3) + 1 ))
      resources: {limits: {cpus: "0.5", memory: 256m}}
      update_config: {parallelism: 1, delay: 5s, order: start-first}
EOS
        done
        echo "volumes:"
        for i in $(seq 0 19); do echo "  data$i: {}"; done
        echo "networks:"
        for i in 0 1 2 3; do echo "  net$i: {}"; done
        echo "  shared: {}"
} >"$dir/compose.yaml"

"$BERTH" config -q -f "$dir/compose.yaml" || { echo "berth config failed"; exit 1; }
# Wall time is noisy on a shared machine; CPU time (user+sys) is what the loader costs.
TIMEFORMAT='%R %U %S'
t=$( { time for _ in $(seq 1 "$RUNS"); do
        "$BERTH" config --format json -f "$dir/compose.yaml" >/dev/null
done; } 2>&1 )
read -r real user sys <<<"$t"
awk -v r="$real" -v u="$user" -v s="$sys" -v n="$RUNS" -v l="$(wc -l <"$dir/compose.yaml")" \
        'BEGIN { printf "berth config, 200 services (%d lines): %.1f ms wall, %.1f ms CPU per run (%d runs)\n", l, r * 1000 / n, (u + s) * 1000 / n, n }'

for dc in "docker compose" docker-compose; do
        if $dc version >/dev/null 2>&1; then
                start=$(date +%s%N)
                $dc -f "$dir/compose.yaml" config >/dev/null 2>&1 || true
                end=$(date +%s%N)
                printf '%s config: %d ms (one run)\n' "$dc" $(( (end - start) / 1000000 ))
                break
        fi
done
