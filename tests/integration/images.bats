#!/usr/bin/env bats
# Images through the daemon and the CLI: import, list, inspect, history, tag, save, rmi, load,
# and pull/push/login against Debian's docker-registry on 127.0.0.1.

load helpers

setup() {
        setup_tmp
        REG_PID=
}

teardown() {
        if [ -n "$REG_PID" ]; then
                kill -TERM "$REG_PID" 2>/dev/null || true
                wait "$REG_PID" 2>/dev/null || true
        fi
        teardown_tmp
}

# A busybox-static rootfs in $TEST_TMP/rootfs.
make_rootfs() {
        mkdir -p "$TEST_TMP/rootfs/bin" "$TEST_TMP/rootfs/etc"
        cp /bin/busybox "$TEST_TMP/rootfs/bin/busybox"
        "$TEST_TMP/rootfs/bin/busybox" --install -s "$TEST_TMP/rootfs/bin"
        # --install -s writes absolute links to /bin/busybox: fine inside the image
        echo 'root:x:0:0:root:/root:/bin/sh' >"$TEST_TMP/rootfs/etc/passwd"
}

# Starts docker-registry on 127.0.0.1:$REG_PORT; $1 = htpasswd file (optional).
start_registry() {
        REG_PORT=$(free_port)
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $TEST_TMP/registry}}"
                echo "http: {addr: 127.0.0.1:$REG_PORT}"
                if [ -n "${1:-}" ]; then
                        echo "auth: {htpasswd: {realm: berth, path: $1}}"
                fi
        } >"$TEST_TMP/registry.yml"
        docker-registry serve "$TEST_TMP/registry.yml" >"$TEST_TMP/registry.log" 2>&1 &
        REG_PID=$!
        local i
        for i in $(seq 100); do
                curl -s -o /dev/null "http://127.0.0.1:$REG_PORT/v2/" && return 0
                sleep 0.1
        done
        cat "$TEST_TMP/registry.log" >&2
        return 1
}

@test "import, images, inspect, history, tag, save, rmi, load" {
        skip_unless_root
        skip_unless_cmd jq
        [ -x /bin/busybox ] || skip "needs busybox-static"
        start_daemon
        make_rootfs

        run "$BERTH" import -c 'CMD ["/bin/sh"]' -c 'ENV A=1' -m first "$TEST_TMP/rootfs" test/bb:1
        [ "$status" -eq 0 ]
        id=$output
        [[ "$id" == sha256:* ]]

        run "$BERTH" images --format json
        [ "$status" -eq 0 ]
        assert_json "$output" '.[0].Repository' test/bb
        assert_json "$output" '.[0].Tag' 1

        run "$BERTH" image inspect test/bb:1
        [ "$status" -eq 0 ]
        assert_json "$output" '.[0].Id' "$id"
        assert_json "$output" '.[0].Config.Cmd[0]' /bin/sh
        assert_json "$output" '.[0].Config.Env[0]' A=1

        run "$BERTH" history test/bb:1
        [ "$status" -eq 0 ]
        assert_contains "$output" "berth import"

        run "$BERTH" tag test/bb:1 localhost:5000/x/y:2
        [ "$status" -eq 0 ]
        run "$BERTH" images -q
        [ "$output" = "${id:7:12}" ]

        run "$BERTH" save -o "$TEST_TMP/save.tar" test/bb:1
        [ "$status" -eq 0 ]
        tar -tf "$TEST_TMP/save.tar" | grep -qx manifest.json
        tar -tf "$TEST_TMP/save.tar" | grep -qx oci-layout

        run "$BERTH" rmi "$id"
        [ "$status" -ne 0 ]
        assert_contains "$output" "referenced by 2 references"
        run "$BERTH" rmi -f "$id"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Deleted: $id"
        [ -z "$(ls "$ROOT/images/layers")" ]

        run "$BERTH" load -i "$TEST_TMP/save.tar"
        [ "$status" -eq 0 ]
        [ "$output" = "Loaded image: test/bb:1" ]
        run "$BERTH" image inspect --format '{{.Id}}' test/bb:1
        [ "$output" = "$id" ]

        run "$BERTH" image inspect nosuch
        [ "$status" -eq 1 ]
        assert_contains "$output" "no such image: 'nosuch'"
        run "$BERTH" import -c 'FROM x' "$TEST_TMP/rootfs" x:1
        [ "$status" -ne 0 ]
        assert_contains "$output" "invalid --change 'FROM x': unknown instruction"
}

@test "push to and pull from a loopback registry, with htpasswd login" {
        skip_unless_root
        skip_unless_cmd docker-registry htpasswd curl jq
        [ -x /bin/busybox ] || skip "needs busybox-static"
        htpasswd -Bbc "$TEST_TMP/htpasswd" alice s3cret >/dev/null 2>&1
        start_registry "$TEST_TMP/htpasswd"
        start_daemon
        make_rootfs
        ref=127.0.0.1:$REG_PORT/test/bb:1

        run "$BERTH" import "$TEST_TMP/rootfs" "$ref"
        [ "$status" -eq 0 ]
        id=$output

        run "$BERTH" push "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "unauthorized"

        run "$BERTH" login -u alice -p wrong "127.0.0.1:$REG_PORT"
        [ "$status" -ne 0 ]
        run bash -c "echo s3cret | '$BERTH' login -u alice --password-stdin 127.0.0.1:$REG_PORT"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Login Succeeded"
        [ "$(stat -c %a "$ROOT/auth.json")" = 600 ]

        run "$BERTH" push "$ref"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Pushed: $ref"

        run "$BERTH" rmi "$ref"
        [ "$status" -eq 0 ]
        run "$BERTH" pull "$ref"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Pulled: $ref"
        run "$BERTH" image inspect --format '{{.Id}}' "$ref"
        [ "$output" = "$id" ]

        run "$BERTH" pull "127.0.0.1:$REG_PORT/test/bb:nope"
        [ "$status" -ne 0 ]
        assert_contains "$output" "not found"

        run "$BERTH" logout "127.0.0.1:$REG_PORT"
        [ "$status" -eq 0 ]
        run "$BERTH" pull Bad/Name
        [ "$status" -ne 0 ]
        assert_contains "$output" "must be lowercase"
}

@test "kill -9 of the daemon in the middle of a pull: the pull dies too, nothing registered, tmp cleared at restart" {
        skip_unless_root
        skip_unless_cmd python3
        python3 "$BATS_TEST_DIRNAME/slow-registry.py" "$TEST_TMP/port" "$TEST_TMP" &
        REG_PID=$!
        for _ in $(seq 100); do
                [ -s "$TEST_TMP/port" ] && break
                sleep 0.1
        done
        ref=127.0.0.1:$(cat "$TEST_TMP/port")/slow/img:1
        start_daemon
        "$BERTH" pull "$ref" >"$TEST_TMP/pull.out" 2>&1 &
        cli=$!
        for _ in $(seq 100); do
                [ -e "$TEST_TMP/started" ] && break
                sleep 0.1
        done
        [ -e "$TEST_TMP/started" ]
        # half the layer is in: a blob and a stage dir are in flight
        [ -n "$(ls "$ROOT/images/tmp")" ]
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" || true
        # the pull's helper went with the daemon: the registry sees its connection close
        for _ in $(seq 50); do
                [ -e "$TEST_TMP/closed" ] && break
                sleep 0.1
        done
        [ -e "$TEST_TMP/closed" ]
        wait "$cli" || true
        wait "$REG_PID" || true
        REG_PID=
        rm -f "$RUN/berth.sock"
        start_daemon
        run "$BERTH" images -q
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        [ -z "$(ls "$ROOT/images/tmp")" ]
        [ -z "$(ls "$ROOT/images/layers")" ]
}
