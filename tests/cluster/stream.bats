#!/usr/bin/env bats
# Streams through the controller's reverse channel (docs/cluster.md, "Streams"): `logs -f`,
# `exec -i`, `exec -it` and `exec -d` of a container on another node, from a CLI that talks
# to the controller over mutual TLS with an operator certificate. Nothing asserts timings;
# every wait is bounded.

load helpers
bats_require_minimum_version 1.5.0

setup() {
        skip_unless_cmd jq curl script
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        cluster_setup 3
        start_controller --heartbeat 0.5 --node-grace 2 --log-format text
        for i in 2 3; do
                start_agent "$i" "node-$i" --token "$CL_TOKEN" --heartbeat 0.5 --log-format text
                grep -q "Joined" "$AGENT_ERR" || { cat "$AGENT_ERR"; return 1; }
                AGENT_PIDS[$i]=$AGENT_PID
                agent_import_busybox "$i" "node-$i"
        done
        pki="$TEST_TMP/h1/root/pki"
        "$BERTH" cert issue op --root "$TEST_TMP/h1/root" --out "$TEST_TMP/op" >/dev/null
        # The operator's CLI, over https from host 2's namespace (the controller is on host 1).
        OPARGS=("$BERTH" -H "$CL_URL" --tlscert "$TEST_TMP/op/op.crt"
                --tlskey "$TEST_TMP/op/op.key" --tlscacert "$pki/ca.crt")
        OP=(on_host 2 "${OPARGS[@]}")
        # in the background, with $! the CLI's own pid
        OPBG=(on_host_bg 2 "${OPARGS[@]}")
}

teardown() {
        [ -n "${FOLLOW_PID:-}" ] && kill "$FOLLOW_PID" 2>/dev/null
        cluster_teardown
}

stack_json() {
        cat <<JSON
{"version": 1, "name": "$1",
 "services": {"web": {"name": "web", "kind": "service", "replicas": 2,
   "hash": "d100000000000000000000000000000000000000000000000000000000000002",
   "placement": {"constraints": ["node.role==worker"]},
   "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
           "containers": [{"name": "web", "image": "busybox",
                           "command": ["sh", "-c", "echo started; trap 'exit 0' TERM; while :; do sleep 0.2; done"]}]}}}}
JSON
}

running_pods() {
        "${CTL[@]}" --format json stack ps -p "$1" |
                jq -r '.[] | select(.state == "running") | "\(.id) \(.node)"' | sort
}

n_running() { [ "$(running_pods "$1" | wc -l)" -eq "$2" ]; }

# The controller's open tunnel streams.
streams() {
        curl -sS --unix-socket "$TEST_TMP/h1/run/berth.sock" http://x/v1/cluster/tunnel | jq .streams
}
streams_are() { [ "$(streams)" = "$1" ]; }

# Helper processes (tunnel streams) of the agent with pid $1.
helpers_of() { pgrep -P "$1" -x berth-tunnel | wc -l; }
helpers_are() { [ "$(helpers_of "$1")" = "$2" ]; }

# A running replica on node-2 or node-3: sets CTR, NODE, NODE_I.
pick_container() {
        local pod
        stack_json st >"$TEST_TMP/st.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/st.json"
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
        eventually n_running st 2 || { "${CTL[@]}" stack ps -p st; return 1; }
        read -r pod NODE < <(running_pods st | head -1)
        CTR="$pod.web"
        NODE_I=${NODE#node-}
}

@test "logs -f through the controller shows new lines and ends with the CLI" {
        pick_container
        # The operator's CLI runs on host 2; the container may be on either agent.
        "${OPBG[@]}" logs -f "$CTR" >"$TEST_TMP/follow.out" 2>"$TEST_TMP/follow.err" &
        FOLLOW_PID=$!
        wait_line "$TEST_TMP/follow.out" started 150 || {
                cat "$TEST_TMP/follow.err"
                tail -20 "$CTL_LOG"
                false
        }
        eventually streams_are 1
        helpers_are "${AGENT_PIDS[$NODE_I]}" 1
        grep -q "Proxying GET /v1/containers/.*/logs.*follow=1.* to node '$NODE' (stream)" "$CTL_LOG"
        # A line written after the follow started arrives.
        run "${OP[@]}" exec "$CTR" sh -c 'echo written-later-42 >/proc/1/fd/1'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        wait_line "$TEST_TMP/follow.out" written-later-42 150 || {
                cat "$TEST_TMP/follow.out" "$TEST_TMP/follow.err"
                false
        }
        kill -0 "$FOLLOW_PID"
        # The CLI goes: the stream ends on the controller and on the agent.
        kill "$FOLLOW_PID"
        wait "$FOLLOW_PID" || true
        FOLLOW_PID=
        eventually streams_are 0
        eventually helpers_are "${AGENT_PIDS[$NODE_I]}" 0

        # service logs -f follows every replica (one follower each).
        "${OPBG[@]}" service logs -f st/web >"$TEST_TMP/svc.out" 2>&1 &
        FOLLOW_PID=$!
        wait_line "$TEST_TMP/svc.out" "web.1 | started" 150
        wait_line "$TEST_TMP/svc.out" "web.2 | started" 150 || { cat "$TEST_TMP/svc.out"; false; }
        eventually streams_are 2
        kill "$FOLLOW_PID"
        wait "$FOLLOW_PID" || true
        FOLLOW_PID=
        eventually streams_are 0 || { ps -ef | grep "berth" | grep -v grep; grep -i tunnel "$CTL_LOG" | tail; false; }

        # The container ends: so does the follow, by itself.
        "${OPBG[@]}" logs -f "$CTR" >"$TEST_TMP/follow2.out" 2>&1 &
        FOLLOW_PID=$!
        wait_line "$TEST_TMP/follow2.out" started 150
        run "${OP[@]}" exec "$CTR" kill 1
        for _ in $(seq 100); do
                kill -0 "$FOLLOW_PID" 2>/dev/null || break
                sleep 0.1
        done
        ! kill -0 "$FOLLOW_PID" 2>/dev/null || { cat "$TEST_TMP/follow2.out"; false; }
        FOLLOW_PID=
}

@test "exec -i, exec -it and exec -d on another node through the controller" {
        pick_container
        # -i: stdin goes in, its EOF ends the command, the exit code comes back.
        run "${OP[@]}" exec -i "$CTR" sh -c 'read x; echo "got-$x"; exit 7' <<<"hello"
        [ "$status" -eq 7 ] || { echo "status $status: $output"; tail -20 "$CTL_LOG"; false; }
        [[ "$output" == *got-hello* ]]
        run "${OP[@]}" exec -i "$CTR" cat <<<"through-cat"
        [ "$status" -eq 0 ]
        [[ "$output" == *through-cat* ]]

        # -it under a pty (script): an interactive shell, its echo, its exit code.
        cmd="nsenter --net=/run/netns/${CL_NS[1]} ${OPARGS[*]} exec -it $CTR sh"
        run -5 script -qec "$cmd" /dev/null < <(sleep 1; printf 'echo tty-$((6*7))\nexit 5\n')
        [[ "$output" == *tty-42* ]] || { echo "$output"; false; }
        # a resize reached the node's exec (its console size is the pty's)
        run script -qec "stty cols 91 rows 13; $cmd -c 'stty size'" /dev/null </dev/null
        [[ "$output" == *"13 91"* ]] || { echo "$output"; false; }

        # -d: the command keeps running after the CLI returned.
        run "${OP[@]}" exec -d "$CTR" sh -c 'sleep 300'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run "${OP[@]}" exec "$CTR" ps
        [[ "$output" == *"sleep 300"* ]] || { echo "$output"; false; }

        # No controller streams or helpers are left behind.
        eventually streams_are 0 || { ps -ef | grep "berth" | grep -v grep; false; }
        eventually helpers_are "${AGENT_PIDS[$NODE_I]}" 0 || { ps -ef --forest | grep -B2 -A3 "berth agent" | grep -v grep; grep -i "proxied" "$TEST_TMP"/h*-node-*/err | tail ; false; }
        # The non-streamed channel still works and still refuses what it refused.
        run "${OP[@]}" logs "$CTR"
        [[ "$output" == *started* ]]
        run "${OP[@]}" logs -f st.nosuch.1.0000.web
        [ "$status" -ne 0 ]
        [[ "$output" == *"No such container"* ]]
        run curl -sS --unix-socket "$TEST_TMP/h1/run/berth.sock" -X POST -H 'Connection: Upgrade' \
                -H 'Upgrade: tcp' -d "{\"container\": \"$CTR\", \"path\": \"/v1/images/json\"}" \
                http://x/v1/cluster/proxy
        [[ "$output" == *"path: only /v1/containers/"* ]]
}
