#!/usr/bin/env bats
# Stacks through the controller inside `berth daemon`: up (dry run, apply), ls, stack ps, diff,
# scale, down, bad input, and the agent-side node API.

load helpers

setup() {
        setup_tmp
        SHOP=$BERTH_SRC/tests/integration/stacks/shop.json
}

teardown() {
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
        # Nothing changes for n9: the watch answers after its timeout with no assignments.
        run api GET "/v1/nodes/n9/assignments?watch=$rev&timeout=200"
        [ "$status" -eq 0 ]
        assert_json "$output" '.assignments | length' 0
        run api GET "/v1/nodes/n9/assignments?watch=x"
        assert_contains "$output" "query parameter 'watch'"

        # A stack placed on n9 wakes its watch.
        api GET "/v1/nodes/n9/assignments?watch=$rev&timeout=20000" >"$TEST_TMP/watch.out" &
        watcher=$!
        "$BERTH" up -d -f "$SHOP"
        wait "$watcher"
        assert_json "$(cat "$TEST_TMP/watch.out")" '.assignments | length' 1
        assert_json "$(cat "$TEST_TMP/watch.out")" '.assignments[0].service' db
}
