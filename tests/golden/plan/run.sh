#!/usr/bin/env bash
# Planner golden cases: the driver prints one TAP line per case directory.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-}
if [ -z "$build" ] && [ -n "${BERTH:-}" ]; then build=$(dirname "$BERTH"); fi
build=${build:-build}
# Relative build directories are relative to the repository root.
case $build in /*) ;; *) build=$here/../../../$build ;; esac
bin=$build/tests/test-plan-golden
if [ ! -x "$bin" ]; then
        echo "1..0 # SKIP $bin not built"
        exit 0
fi
exec "$bin"
