#!/usr/bin/env bats
# Stacks through the controller inside `berth daemon`: up (dry run, apply), ls, stack ps, diff,
# scale, down, bad input, and the agent-side node API.

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

setup() {
        setup_tmp
        SHOP=$BERTH_SRC/tests/integration/stacks/shop.json
}

teardown() {
        # Containers outlive the daemon (their shims): remove what a failed test left.
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ]; then
                local ids s
                # A failed test's stacks first: their agent would create again what rm removes
                # (and the shims would outlive the daemon).
                for s in $("$BERTH" --format json ls 2>/dev/null | jq -r '.[].name' 2>/dev/null); do
                        "$BERTH" down -t 0 -p "$s" >/dev/null 2>&1 || true
                done
                idle() { [ -z "$("$BERTH" ps -q 2>/dev/null)" ]; }
                eventually idle || true
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                # Stack networks are bridges in the kernel: never leave them behind.
                "$BERTH" network prune -f >/dev/null 2>&1 || true
        fi
        teardown_tmp
}

# Whether this build reads compose files (specs/ loader linked in).
have_compose_loader() {
        "$BERTH" config --help >/dev/null 2>&1
}

@test "the daemon starts with the controller: no stacks, no pods" {
        skip_unless_cmd curl jq
        start_daemon
        run api GET /v1/stacks
        [ "$status" -eq 0 ]
        [ "$output" = "[]" ]
        run api GET /v1/pods
        [ "$status" -eq 0 ]
        [ "$output" = "[]" ]
        grep -q "Controller started" "$DAEMON_LOG"
        [ -f "$ROOT/controller/state.db" ]
}

@test "up --dry-run prints the plan and creates nothing" {
        start_daemon
        run "$BERTH" up --dry-run -f "$SHOP"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Plan for stack 'shop'"
        assert_contains "$output" "db/1"
        assert_contains "$output" "web/2"
        run "$BERTH" ls
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq 1 ] # the header only
        run "$BERTH" --format json ls
        [ "$output" = "[]" ]
}

@test "up -d, ls, stack ps, diff, scale and down" {
        skip_unless_cmd jq
        start_daemon
        run "$BERTH" up -d -f "$SHOP"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Applied plan to stack 'shop' (generation 1)"

        run "$BERTH" ls
        [ "$status" -eq 0 ]
        assert_contains "$output" "shop"
        assert_contains "$output" "web 0/2"
        run "$BERTH" --format json ls
        assert_json "$output" '.[0].name' shop
        assert_json "$output" '.[0].services.web.replicas' 2

        # No change: the plan keeps everything, the generation moves on.
        run "$BERTH" diff -f "$SHOP"
        [ "$status" -eq 0 ]
        assert_contains "$output" "(none)"
        run "$BERTH" --format json ls
        assert_json "$output" '.[0].generation' 1

        run "$BERTH" scale -p shop web=3
        [ "$status" -eq 0 ]
        run "$BERTH" --format json ls
        assert_json "$output" '.[0].services.web.replicas' 3
        run "$BERTH" scale -p shop nosuch=1
        [ "$status" -eq 2 ]
        assert_contains "$output" "no service 'nosuch'"

        run "$BERTH" stack ps -p shop --format json
        [ "$status" -eq 0 ]
        assert_json "$output" 'type' array

        run "$BERTH" down -p shop -t 0
        [ "$status" -eq 0 ]
        assert_contains "$output" "Stack 'shop' removed."
        run "$BERTH" --format json ls
        [ "$output" = "[]" ]
        run "$BERTH" down -p shop
        [ "$status" -eq 1 ]
        assert_contains "$output" "no such stack 'shop'"
}

@test "a bad stack is refused and leaves no stack behind" {
        skip_unless_cmd jq
        start_daemon
        jq '.services.web.replicas = "two"' "$SHOP" >"$TEST_TMP/bad.json"
        run "$BERTH" up -d -f "$TEST_TMP/bad.json"
        [ "$status" -ne 0 ]
        assert_contains "$output" "services.web.replicas"
        run "$BERTH" --format json ls
        [ "$output" = "[]" ]

        # A file that cannot be read exits 2 without contacting the daemon.
        BERTH_HOST=unix://$TEST_TMP/nothing.sock run "$BERTH" up -f "$TEST_TMP/missing.json"
        [ "$status" -eq 2 ]
        BERTH_HOST=unix://$TEST_TMP/nothing.sock run "$BERTH" up --scale web=x -f "$SHOP"
        [ "$status" -eq 2 ]
        BERTH_HOST=unix://$TEST_TMP/nothing.sock run "$BERTH" up -f "$SHOP" nosuch
        [ "$status" -eq 2 ]
        assert_contains "$output" "no such service 'nosuch'"
}

@test "compose: up --dry-run of examples/webapp and a bad compose file" {
        have_compose_loader || skip "this build has no compose loader (specs/stack.h)"
        start_daemon
        run "$BERTH" up --dry-run -f "$BERTH_SRC/examples/webapp/compose.yaml"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Plan for stack 'webapp'"
        printf 'services:\n  web:\n    image: [unclosed\n' >"$TEST_TMP/compose.yaml"
        run "$BERTH" up -d -f "$TEST_TMP/compose.yaml"
        [ "$status" -eq 2 ]
        assert_contains "$output" "compose.yaml:"
        run "$BERTH" --format json ls
        [ "$output" = "[]" ]
}

@test "node API: join, status, assignments long-poll" {
        skip_unless_cmd curl jq
        start_daemon
        run api POST /v1/nodes/join -d '{"name":"n9","labels":{"zone":"a"}}'
        [ "$status" -eq 0 ]
        assert_json "$output" .id n9
        run api PUT /v1/nodes/n9/status -d '{"pods":[]}'
        [ "$status" -eq 0 ]
        run api PUT /v1/nodes/nosuch/status -d '{"pods":[]}'
        assert_contains "$output" "has not joined"
        run api GET '/v1/nodes/n9/assignments?watch=0'
        [ "$status" -eq 0 ]
        assert_json "$output" '.assignments | length' 0
        rev=$(echo "$output" | jq .revision)
        # Nothing changes for n9: the watch answers after its timeout with 304 and no body.
        run api GET "/v1/nodes/n9/assignments?watch=$rev&timeout=200" -o /dev/null -w '%{http_code}'
        [ "$status" -eq 0 ]
        [ "$output" = 304 ]
        run api GET "/v1/nodes/n9/assignments?watch=x"
        assert_contains "$output" "query parameter 'watch'"

        # A stack placed on n9 wakes its watch.
        jq '.services.db.placement = {"constraints": ["node.id==n9"]} | del(.services.web)' \
                "$SHOP" >"$TEST_TMP/n9.json"
        api GET "/v1/nodes/n9/assignments?watch=$rev&timeout=20000" >"$TEST_TMP/watch.out" &
        watcher=$!
        "$BERTH" up -d -f "$TEST_TMP/n9.json"
        wait "$watcher"
        assert_json "$(cat "$TEST_TMP/watch.out")" '.assignments | length' 1
        assert_json "$(cat "$TEST_TMP/watch.out")" '.assignments[0].service' db
}

# Real containers: a busybox image imported from Debian's busybox-static (as containers.bats).
import_busybox() {
        local r=$TEST_TMP/rootfs a
        mkdir -p "$r/bin" "$r/etc" "$r/tmp"
        cp "$BUSYBOX_BIN" "$r/bin/busybox"
        for a in $("$BUSYBOX_BIN" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
        tar -C "$r" -cf "$TEST_TMP/busybox.tar" .
        "$BERTH" import -c 'CMD ["sh"]' "$TEST_TMP/busybox.tar" busybox >/dev/null
}

running_count() { # N
        [ "$("$BERTH" ps -q | wc -l)" -eq "$1" ]
}

@test "real containers: up -d --wait, ps, no-change up, healing, down" {
        skip_unless_root
        skip_unless_cmd jq
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        start_daemon --log-format text
        import_busybox
        BUSY=$BERTH_SRC/tests/integration/stacks/busy.json

        run "$BERTH" up -d --wait --wait-timeout 60 -f "$BUSY"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        assert_contains "$output" "Stack 'busy' is ready."
        run "$BERTH" stack ps -p busy
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | grep -c running)" -eq 3 ]
        # `ps -p NAME` is the stack's ps; plain ps lists containers.
        run "$BERTH" ps -p busy
        [ "$status" -eq 0 ]
        assert_contains "$output" "SERVICE"
        [ "$(echo "$output" | grep -c running)" -eq 3 ]
        run "$BERTH" ps --format '{{.Names}}'
        assert_contains "$output" "busy.db.1."
        assert_contains "$output" "busy.web.2."
        ids=$("$BERTH" ps -q | sort)
        [ "$(echo "$ids" | wc -l)" -eq 3 ]
        # Labels let the agent rebuild its pods from the engine.
        db=$("$BERTH" ps -q --filter label=berth.service=db)
        run "$BERTH" inspect "$db"
        assert_json "$output" '.[0].Config.Labels["berth.stack"]' busy

        # Up again without a change: same containers.
        run "$BERTH" up -d -f "$BUSY"
        [ "$status" -eq 0 ]
        assert_contains "$output" "nothing to do"
        sleep 2
        [ "$("$BERTH" ps -q | sort)" = "$ids" ]

        # A killed container is healed by the node agent (restart policy always). The kill
        # returns before the container is down (3 still run for a moment), and the controller
        # learns of the restart from the agent's next report: wait for both.
        "$BERTH" kill "$db"
        db_restarted() {
                running_count 3 &&
                        [ "$("$BERTH" --format json stack ps -p busy |
                                jq '[.[] | select(.service == "db")][0].restarts')" = 1 ]
        }
        eventually db_restarted || { "$BERTH" --format json stack ps -p busy; false; }

        # Down removes everything, dependants first. It returns once the controller dropped the
        # stack; the agent then stops each pod, deletes its containers, and logs "Removed pod"
        # after that: wait for all of it.
        run "$BERTH" down -p busy
        [ "$status" -eq 0 ]
        all_removed() {
                [ -z "$("$BERTH" ps -aq)" ] && grep -q "Removed pod 'busy.db" "$DAEMON_LOG"
        }
        eventually all_removed || { "$BERTH" ps -a; tail -20 "$DAEMON_LOG"; false; }
        grep -n "Removed pod 'busy.web" "$DAEMON_LOG" | head -1 | cut -d: -f1 >"$TEST_TMP/web.line"
        grep -n "Removed pod 'busy.db" "$DAEMON_LOG" | head -1 | cut -d: -f1 >"$TEST_TMP/db.line"
        [ "$(cat "$TEST_TMP/web.line")" -lt "$(cat "$TEST_TMP/db.line")" ]
}
