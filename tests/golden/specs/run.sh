#!/usr/bin/env bash
# Golden tests for stack files: every directory under cases/ holds input files and either
# expected.json (the output of `berth config --format json`) or expected.err (its stderr and
# exit code, for files that must be rejected).
#
#   args     optional: arguments for `berth config` (default: none, i.e. compose.yaml & co.)
#   env      optional: KEY=VALUE lines; the command runs with only these (plus PATH) set
#   cmd      optional: a whole command line instead of `config --format json ARGS`
#   expected.stderr  optional next to expected.json: the warnings the command must print
#
# Absolute paths of the case directory print as @DIR@. Regenerate the expected files after
# an intended change with:  UPDATE=1 BERTH=build/berth tests/golden/specs/run.sh [CASE...]
# then review the diff.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BERTH=${BERTH:-build/berth}
# A relative BERTH is relative to the caller's directory or, failing that, the repository.
[ -x "$BERTH" ] || BERTH=$here/../../../$BERTH
BERTH=$(cd "$(dirname "$BERTH")" && pwd)/$(basename "$BERTH")
n=0
fail=0
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
        mapfile -t cases < <(cd "$here/cases" && ls -d */ | tr -d /)
fi
for c in "${cases[@]}"; do
        d=$here/cases/$c
        n=$((n + 1))
        args=()
        [ -f "$d/args" ] && read -r -a args <"$d/args"
        envs=()
        [ -f "$d/env" ] && mapfile -t envs < <(grep -v '^#' "$d/env")
        if [ -f "$d/cmd" ]; then
                read -r -a cmd <"$d/cmd"
        else
                cmd=(config --format json "${args[@]}")
        fi
        out=$(cd "$d" && env -i PATH="$PATH" HOME=/nonexistent "${envs[@]}" "$BERTH" "${cmd[@]}" 2>"$d/.stderr")
        rc=$?
        err=$(cat "$d/.stderr")
        rm -f "$d/.stderr"
        out=${out//$d/@DIR@}
        # Hashes cover absolute paths (bind sources), so they depend on the checkout; cases
        # with a keep-hash file compare them exactly.
        [ -f "$d/keep-hash" ] || out=$(printf '%s\n' "$out" | sed -E -e 's/"hash": "[0-9a-f]{64}"/"hash": "@HASH@"/' -e 's/^( *)hash: [0-9a-f]{64}$/\1hash: @HASH@/')
        err=${err//$d/@DIR@}
        if [ -f "$d/expected.err" ] || { [ -n "${UPDATE:-}" ] && [ $rc -ne 0 ]; }; then
                got=$(printf 'exit %d\n%s\n' "$rc" "$err")
                exp_file=$d/expected.err
        else
                got=$(printf '%s\n' "$out")
                [ $rc -ne 0 ] && got=$(printf 'exit %d\n%s\n%s\n' "$rc" "$out" "$err")
                exp_file=$d/expected.json
        fi
        if [ -n "${UPDATE:-}" ]; then
                printf '%s\n' "$got" >"$exp_file"
                [ -f "$d/expected.stderr" ] && printf '%s\n' "$err" >"$d/expected.stderr"
                echo "ok $n - $c # updated"
                continue
        fi
        if [ ! -f "$exp_file" ]; then
                echo "not ok $n - $c (no expected file; run with UPDATE=1)"
                fail=1
                continue
        fi
        if [ "$exp_file" = "$d/expected.json" ] && [ -f "$d/expected.stderr" ]; then
                got=$(printf '%s\n--- stderr\n%s\n' "$got" "$err")
                exp_file=$d/.expected
                { cat "$d/expected.json"; echo "--- stderr"; cat "$d/expected.stderr"; } >"$exp_file"
        fi
        if diff -u "$exp_file" <(printf '%s\n' "$got") >"$d/.diff" 2>&1; then
                echo "ok $n - specs/$c"
        else
                echo "not ok $n - specs/$c"
                sed 's/^/# /' "$d/.diff" | head -n 40
                fail=1
        fi
        rm -f "$d/.diff" "$d/.expected"
done
# The corpus: every realistic file must load.
for f in "$here"/../../corpus/compose/*.yaml "$here"/../../corpus/kube/*.yaml; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        name=${f#"$here"/../../}
        if msg=$(cd "$(dirname "$f")" && env -i PATH="$PATH" HOME=/nonexistent "$BERTH" config -q -f "$f" -p corpus 2>&1); then
                echo "ok $n - $name loads"
        else
                echo "not ok $n - $name loads"
                echo "# $msg"
                fail=1
        fi
done
# Round trips: whenever a corpus file converts to the other format, the result must load.
rt=$(mktemp -d /tmp/berth-golden-rt.XXXXXX)
for f in "$here"/../../corpus/compose/*.yaml "$here"/../../corpus/kube/*.yaml; do
        [ -f "$f" ] || continue
        case $f in */kube/*) to=compose ;; *) to=kube ;; esac
        name=${f#"$here"/../../}
        (cd "$(dirname "$f")" && env -i PATH="$PATH" HOME=/nonexistent "$BERTH" convert --to $to -f "$f" -p rt >"$rt/out.yaml" 2>/dev/null) || continue
        n=$((n + 1))
        if msg=$(cd "$rt" && env -i PATH="$PATH" HOME=/nonexistent "$BERTH" config -q -f "$rt/out.yaml" -p rt 2>&1); then
                echo "ok $n - $name converts to $to and loads back"
        else
                echo "not ok $n - $name converts to $to and loads back"
                echo "# $msg"
                fail=1
        fi
done
rm -rf "$rt"
echo "1..$n"
exit $fail
