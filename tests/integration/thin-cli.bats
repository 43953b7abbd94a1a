#!/usr/bin/env bats
# The two binaries (docs/containers.md, "Two binaries"): the thin berth runs the CLI alone and
# execs berth-engine, same argv, for what cli.c's cli_engine_cmds names and for https hosts.

load helpers
bats_require_minimum_version 1.5.0

setup() {
        setup_tmp
        ENGINE=$(dirname "$BERTH")/berth-engine
        [ -x "$ENGINE" ] || skip "no berth-engine beside $BERTH"
}

teardown() {
        teardown_tmp
}

@test "the thin berth loads none of the engine's libraries" {
        skip_unless_cmd ldd
        run ldd "$BERTH"
        [ "$status" -eq 0 ]
        for lib in libcurl libarchive libssl libcrypto libnftables libseccomp libsqlite3 libldns \
                libisal libmnl libcap libev libjansson libyaml; do
                if [[ "$output" == *"$lib"* ]]; then
                        echo "thin berth links $lib: $output" >&2
                        return 1
                fi
        done
        run ldd "$ENGINE"
        [[ "$output" == *libcurl* ]]
        [[ "$output" == *libarchive* ]]
}

@test "engine commands are handed over with the same argv, and listed in --help" {
        run "$BERTH" --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"  cp  "* ]]
        [[ "$output" == *"cert issue"* ]]
        [[ "$output" == *"  oci  "* ]]
        run "$BERTH" oci features
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .ociVersionMax)" = 1.1.0 ]
        # berth-engine's own argument check answers
        run "$BERTH" cp onlyone
        [ "$status" -eq 2 ]
        [[ "$output" == *"'cp' requires exactly two arguments"* ]]
        run "$BERTH" cert fingerprint --root "$TEST_TMP/noroot"
        [ "$status" -eq 125 ]
        [[ "$output" == *"$TEST_TMP/noroot/pki/ca.crt"* ]]
}

@test "a missing or wrong berth-engine is a clear error, never a loop" {
        BERTH_ENGINE=/nonexistent/berth-engine run -127 "$BERTH" cert fingerprint
        [ "$status" -eq 127 ]
        [[ "$output" == *"Failed to run '/nonexistent/berth-engine'"* ]]
        BERTH_ENGINE=$BERTH run "$BERTH" cert fingerprint
        [ "$status" -eq 125 ]
        [[ "$output" == *"is not berth-engine"* ]]
        # the engine clears the marker: what it runs does not inherit it
        run env BERTH_ENGINE_EXEC=1 "$ENGINE" version --help
        [ "$status" -eq 0 ]
}

@test "what goes to berth-engine: https hosts; what stays: up, up -d, ps" {
        printf 'services:\n  web:\n    image: busybox\n' >"$TEST_TMP/compose.yaml"
        BERTH_ENGINE=/nonexistent run -127 "$BERTH" -H https://127.0.0.1:1 ps
        [ "$status" -eq 127 ]
        [[ "$output" == *"Failed to run"* ]]
        # these run in the thin berth: the error is about the daemon, not the engine
        # (a foreground up follows the logs itself: cli/stacks_follow.c)
        BERTH_ENGINE=/nonexistent BERTH_HOST=unix://$TEST_TMP/none.sock \
                run "$BERTH" up -f "$TEST_TMP/compose.yaml"
        [[ "$output" != *"Failed to run"* ]]
        [[ "$output" == *"Cannot connect to the berth daemon"* ]]
        BERTH_ENGINE=/nonexistent BERTH_HOST=unix://$TEST_TMP/none.sock \
                run "$BERTH" up -d -f "$TEST_TMP/compose.yaml"
        [[ "$output" != *"Failed to run"* ]]
        [[ "$output" == *"Cannot connect to the berth daemon"* ]]
        BERTH_ENGINE=/nonexistent BERTH_HOST=unix://$TEST_TMP/none.sock run "$BERTH" ps
        [ "$status" -eq 125 ]
        [[ "$output" == *"Cannot connect to the berth daemon at unix://$TEST_TMP/none.sock"* ]]
}

@test "a daemon started through the thin berth is berth-engine, same pid; the CLI talks to it" {
        skip_unless_root
        start_daemon --bridge none
        [ "$(readlink /proc/$DAEMON_PID/exe)" = "$(readlink -f "$ENGINE")" ]
        run "$BERTH" version
        [ "$status" -eq 0 ]
        [[ "$output" == *"Server:"* ]]
        run "$BERTH" info --format json
        [ "$status" -eq 0 ]
        echo "$output" | jq -e . >/dev/null
        # an API error keeps its message and exit code through the new client
        run "$BERTH" inspect no-such-container
        [ "$status" -eq 1 ]
        [[ "$output" == *"no-such-container"* ]]
}

@test "berth oci and berth-engine oci run berth-runtime, which links no shared library" {
        skip_unless_cmd ldd
        RUNTIME=$(dirname "$BERTH")/berth-runtime
        [ -x "$RUNTIME" ] || skip "no berth-runtime beside $BERTH"
        # static in normal builds; a sanitized build links libseccomp, libcap and jansson only
        run ldd "$RUNTIME"
        for lib in libcurl libarchive libssl libcrypto libnftables libsqlite3 libldns libisal \
                libmnl libev libyaml; do
                if [[ "$output" == *"$lib"* ]]; then
                        echo "berth-runtime links $lib: $output" >&2
                        return 1
                fi
        done
        # both forms: runc's command line and `berth-runtime oci ...`
        run "$RUNTIME" features
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .ociVersionMax)" = 1.1.0 ]
        run "$RUNTIME" oci --version
        [ "$status" -eq 0 ]
        [[ "$output" == *"berth oci version"* ]]
        # the thin berth and berth-engine exec it: a wrong $BERTH_RUNTIME names itself
        for b in "$BERTH" "$ENGINE"; do
                BERTH_RUNTIME=/nonexistent/berth-runtime run -127 "$b" oci features
                [ "$status" -eq 127 ]
                [[ "$output" == *"Failed to run '/nonexistent/berth-runtime'"* ]]
        done
        # without berth-runtime installed, berth-engine runs the same code itself
        mkdir "$TEST_TMP/bin"
        cp "$BERTH" "$ENGINE" "$TEST_TMP/bin/"
        run "$TEST_TMP/bin/berth" oci features
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .ociVersionMax)" = 1.1.0 ]
}
