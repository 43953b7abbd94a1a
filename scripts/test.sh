#!/usr/bin/env bash
# Runs every berth test suite and ends with one line "N passed, N failed".
#
#   scripts/test.sh            install test deps, build, unit + golden + integration tests (plain and
#                              under ASan+UBSan), fuzz smoke, format check
#   QUICK=1 scripts/test.sh    skip the sanitized pass and the fuzz smoke (for local iteration)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --test || { echo "deps.sh failed"; echo "0 passed, 1 failed"; exit 1; }

JOBS=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
skipped=0
failures=()
logdir=$(mktemp -d /tmp/berth-test-logs.XXXXXX)

# Counts TAP lines of one run; a run that exits non-zero without any "not ok" counts one failure.
tally() { # NAME LOGFILE EXITCODE
        local name=$1 log=$2 rc=$3 ok nok sk
        ok=$(grep -cE '^ok ' "$log" || true)
        nok=$(grep -cE '^not ok ' "$log" || true)
        sk=$(grep -cE '^ok .*# (SKIP|skip)' "$log" || true)
        passed=$((passed + ok - sk))
        skipped=$((skipped + sk))
        failed=$((failed + nok))
        if [ "$nok" -gt 0 ]; then
                failures+=("$name: $(grep -E '^not ok ' "$log" | head -n 5 | tr '\n' ';')")
        elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
                failed=$((failed + 1))
                failures+=("$name: exited $rc")
        fi
}

step() { # NAME COMMAND...: a step that is one test (build, format-check)
        local name=$1 log
        shift
        log="$logdir/$(echo "$name" | tr ' /' '__').log"
        echo "== $name"
        if "$@" >"$log" 2>&1; then
                passed=$((passed + 1))
                echo "ok - $name"
        else
                failed=$((failed + 1))
                failures+=("$name")
                echo "not ok - $name"
                tail -n 60 "$log"
        fi
}

run_unit() { # BUILD_DIR LABEL
        local b=$1 label=$2 t log rc
        for t in "$b"/tests/test-*; do
                [ -x "$t" ] || continue
                log="$logdir/$label-$(basename "$t").log"
                timeout 300 "$t" >"$log" 2>&1
                rc=$?
                echo "-- $label $(basename "$t"): $(grep -cE '^ok ' "$log") ok, $(grep -cE '^not ok ' "$log") not ok (exit $rc)"
                grep -E '^not ok |^#   ' "$log" | head -n 20
                [ $rc -ne 0 ] && [ $rc -ne 1 ] && [ $rc -ne 77 ] && tail -n 30 "$log"
                tally "$label $(basename "$t")" "$log" "$rc"
        done
}

run_golden() { # BUILD_DIR LABEL
        local b=$1 label=$2 log rc
        [ -x tests/golden/run.sh ] || return 0
        log="$logdir/$label-golden.log"
        BERTH="$PWD/$b/berth" BUILD="$b" timeout 600 tests/golden/run.sh >"$log" 2>&1
        rc=$?
        echo "-- $label golden: $(grep -cE '^ok ' "$log") ok, $(grep -cE '^not ok ' "$log") not ok"
        grep -A8 -E '^not ok ' "$log" | head -n 60
        tally "$label golden" "$log" "$rc"
}

run_bats() { # BUILD_DIR LABEL DIR
        local b=$1 label=$2 dir=$3 log rc
        ls "$dir"/*.bats >/dev/null 2>&1 || return 0
        log="$logdir/$label-$(basename "$dir").log"
        echo "== $label bats $dir"
        BERTH="$PWD/$b/berth" BERTH_HELPERS="$PWD/$b/helpers" BERTH_SRC="$PWD" \
                timeout 2400 bats --tap "$dir" >"$log" 2>&1
        rc=$?
        echo "-- $label $dir: $(grep -cE '^ok ' "$log") ok, $(grep -cE '^not ok ' "$log") not ok (exit $rc)"
        grep -A15 -E '^not ok ' "$log" | head -n 150
        tally "$label $dir" "$log" "$rc"
}

step "build" make -j"$JOBS" tests
if [ -x build/berth ]; then
        run_unit build unit
        run_golden build plain
        run_bats build plain tests/integration
        run_bats build plain tests/cluster
fi

if [ -z "${QUICK:-}" ]; then
        step "build (ASan+UBSan)" make -j"$JOBS" SANITIZE=address,undefined tests
        if [ -x build-san/berth ]; then
                export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
                export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
                export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
                run_unit build-san asan
                run_golden build-san asan
                run_bats build-san asan tests/integration
                unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
        fi
        step "fuzz smoke" make -j"$JOBS" fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
fi
step "format-check" make format-check

echo
if [ ${#failures[@]} -gt 0 ]; then
        echo "Failures:"
        printf '  %s\n' "${failures[@]}"
fi
echo "logs: $logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
