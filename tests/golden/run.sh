#!/usr/bin/env bash
# Runs every golden-test family: each tests/golden/<family>/run.sh prints TAP lines itself.
# Environment: BERTH (the binary under test), BUILD (its build directory).
set -uo pipefail
cd "$(dirname "$0")"
rc=0
for r in */run.sh; do
        [ -x "$r" ] || continue
        "./$r" || rc=1
done
exit $rc
