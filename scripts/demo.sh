#!/usr/bin/env bash
# The README's first command ends here: starts a berth daemon on a temporary root, shows what it
# found on this machine, and loads the example stack into berth's canonical model.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/build/berth}
tmp=$(mktemp -d /tmp/berth-demo.XXXXXX)
pid=
cleanup() {
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
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
