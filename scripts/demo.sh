#!/usr/bin/env bash
# The README's first command ends here: starts a berth daemon on a temporary root, shows what it
# found on this machine, loads the example stack into berth's canonical model and, as root with
# busybox-static installed, runs it (berth up -d), shows its pods and takes it down again.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/build/berth}
tmp=$(mktemp -d /tmp/berth-demo.XXXXXX)
pid=
cleanup() {
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                # Containers outlive the daemon (their shims): leave none behind.
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                "$BERTH" network prune -f >/dev/null 2>&1 || true
                kill -TERM "$pid"
                wait "$pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT

"$BERTH" daemon --root "$tmp/root" --run "$tmp/run" >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
        [ -S "$tmp/run/berth.sock" ] && break
        sleep 0.05
done
export BERTH_HOST=unix://$tmp/run/berth.sock
"$BERTH" version
echo
"$BERTH" info
if "$BERTH" config --help >/dev/null 2>&1; then
        echo
        echo "== the example stack, normalised (berth config -f examples/webapp/compose.yaml --services)"
        "$BERTH" config -f examples/webapp/compose.yaml --services
fi

if ! "$BERTH" up --help >/dev/null 2>&1; then
        exit 0
fi
echo
echo "== the plan, changing nothing (berth up --dry-run -f examples/webapp/compose.yaml)"
"$BERTH" up --dry-run -f examples/webapp/compose.yaml
if [ "$(id -u)" -ne 0 ] || [ ! -x /bin/busybox ]; then
        echo
        echo "(running the stack needs root and busybox-static; skipped)"
        exit 0
fi
echo
echo "== build the example's image from Debian's busybox-static"
examples/webapp/build-images.sh "$BERTH"
echo
echo "== berth up -d --wait -f examples/webapp/compose.yaml (api waits for db to be healthy)"
"$BERTH" up -d --wait --wait-timeout 60 -f examples/webapp/compose.yaml
echo
echo "== berth ls; berth stack ps -p webapp"
"$BERTH" ls
"$BERTH" stack ps -p webapp
echo
api=$("$BERTH" ps -q --filter label=berth.service=api | head -1)
echo "== berth logs $api (the api service)"
"$BERTH" logs "$api" || true
echo
echo "== web answers through its published ports (compose.yaml: 127.0.0.1:18080-18081)"
for port in 18080 18081; do
        echo "-- http://127.0.0.1:$port/"
        if command -v wget >/dev/null 2>&1; then
                wget -q -T 3 -O - "http://127.0.0.1:$port/" || echo "(no answer on $port)"
        else
                busybox wget -q -T 3 -O - "http://127.0.0.1:$port/" || echo "(no answer on $port)"
        fi
done
echo
echo "== api finds db by its service name on the internal 'back' network"
"$BERTH" exec "$api" nslookup db || true
echo
echo "== berth down -v -p webapp (its networks and its volume go too)"
"$BERTH" down -v -p webapp
for _ in $(seq 300); do
        [ -z "$("$BERTH" ps -aq)" ] && break
        sleep 0.1
done
for _ in $(seq 100); do
        "$BERTH" network ls | grep -q webapp_ || break
        sleep 0.1
done
"$BERTH" ps -a
"$BERTH" network ls
