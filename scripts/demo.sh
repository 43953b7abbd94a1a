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
echo "Where to reach it: compose.yaml publishes web on 127.0.0.1:18080-18081. Pods run in"
echo "their own network namespace without interfaces until the engine's bridge networking is"
echo "wired into pods (docs/controller.md), so nothing is published yet."
echo
echo "== berth down -p webapp"
"$BERTH" down -p webapp
for _ in $(seq 300); do
        [ -z "$("$BERTH" ps -aq)" ] && break
        sleep 0.1
done
"$BERTH" ps -a
