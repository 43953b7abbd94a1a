#!/usr/bin/env bats
# Cluster-wide `logs` and `exec` (docs/cluster.md): the CLI talks to the controller's daemon,
# the container runs on an agent in another network namespace; the controller reaches it
# through the agent's reverse channel (orchestrator/tunnel.h). Nothing asserts timings.

load helpers
bats_require_minimum_version 1.5.0

setup() {
        skip_unless_cmd jq
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        cluster_setup 3
        start_controller --heartbeat 0.5 --node-grace 2 --log-format text
        for i in 2 3; do
                start_agent "$i" "node-$i" --token "$CL_TOKEN" --heartbeat 0.5 --log-format text
                grep -q "Joined" "$AGENT_ERR" || { cat "$AGENT_ERR"; return 1; }
                agent_import_busybox "$i" "node-$i"
        done
}

teardown() {
        cluster_teardown
}

stack_json() {
        cat <<JSON
{"version": 1, "name": "$1",
 "services": {"web": {"name": "web", "kind": "service", "replicas": 2,
   "hash": "d100000000000000000000000000000000000000000000000000000000000001",
   "placement": {"constraints": ["node.role==worker"]},
   "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
           "containers": [{"name": "web", "image": "busybox",
                           "command": ["sh", "-c", "echo hello-from-\$(hostname); trap 'exit 0' TERM; while :; do sleep 0.2; done"]}]}}}}
JSON
}

running_pods() {
        "${CTL[@]}" --format json stack ps -p "$1" |
                jq -r '.[] | select(.state == "running") | "\(.id) \(.node)"' | sort
}

n_running() { [ "$(running_pods "$1" | wc -l)" -eq "$2" ]; }

@test "logs and exec reach a container on another node through the controller" {
        stack_json lx >"$TEST_TMP/lx.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/lx.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running lx 2 || { "${CTL[@]}" stack ps -p lx; tail -20 "$CTL_LOG"; false; }
        read -r pod node < <(running_pods lx | head -1)
        [[ "$node" == node-* ]]
        ctr="$pod.web"
        # Not on the controller's own node: its engine does not know the container.
        run "${CTL[@]}" inspect "$ctr"
        [ "$status" -ne 0 ]

        # logs: the line the container printed, fetched from its node. ("running" comes with the
        # container's start, its shell prints a moment later: bounded wait for the line.)
        logged() { "${CTL[@]}" logs "$ctr" 2>/dev/null | grep -q hello-from-; }
        eventually logged || true
        run "${CTL[@]}" logs "$ctr"
        [ "$status" -eq 0 ] || { echo "$output"; tail -20 "$CTL_LOG"; false; }
        [[ "$output" == *hello-from-* ]]
        grep -q "Proxying GET /v1/containers/.*/logs.* to node '$node'" "$CTL_LOG"
        grep -q "Proxied GET /v1/containers/" "$TEST_TMP/h${node#node-}-$node/err"

        # exec: output and exit code come back.
        run "${CTL[@]}" exec "$ctr" sh -c 'echo out-of-exec; exit 3'
        [ "$status" -eq 3 ] || { echo "status $status: $output"; false; }
        [[ "$output" == *out-of-exec* ]]
        run "${CTL[@]}" exec "$ctr" true
        [ "$status" -eq 0 ]
        # A command the container lacks: the node's error, not "No such container".
        run -127 "${CTL[@]}" exec "$ctr" /nonexistent
        [ "$status" -ne 0 ]
        [[ "$output" != *"No such container"* ]] || { echo "$output"; false; }

        # service logs: every replica, wherever it runs, prefixed with its slot (the other
        # replica's line too may come a moment after it runs: bounded wait).
        both_logged() {
                local out
                out=$("${CTL[@]}" service logs lx/web 2>/dev/null) &&
                        [[ "$out" == *"web.1 | hello-from-"* && "$out" == *"web.2 | hello-from-"* ]]
        }
        eventually both_logged || true
        run "${CTL[@]}" service logs lx/web
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [[ "$output" == *"web.1 | hello-from-"* ]]
        [[ "$output" == *"web.2 | hello-from-"* ]]
        run "${CTL[@]}" service logs -n x lx/web
        [ "$status" -eq 2 ]
        [[ "$output" == *"--tail: expected a number"* ]]

        # A container no node has: a clear error, no proxying.
        run "${CTL[@]}" logs lx.nosuch.1.0000.web
        [ "$status" -ne 0 ]
        [[ "$output" == *"No such container"* ]]
}

@test "the proxy refuses bad requests and node certificates" {
        run "${CTL[@]}" --format json stack ls
        [ "$status" -eq 0 ]
        # A path outside the containers API is refused, naming the field.
        run curl -sS --unix-socket "$TEST_TMP/h1/run/berth.sock" -X POST \
                -d '{"container": "x.web", "path": "/v1/images/json"}' http://x/v1/cluster/proxy
        [[ "$output" == *"path: only /v1/containers/"* ]]
        run curl -sS --unix-socket "$TEST_TMP/h1/run/berth.sock" -X POST \
                -d '{"path": "/v1/containers/x/logs"}' http://x/v1/cluster/proxy
        [[ "$output" == *"container: expected"* ]]
        # A node's own certificate may not proxy to other nodes.
        d="$TEST_TMP/h2-node-2/root/node-tls"
        run on_host 2 curl -sS --cacert "$d/ca.crt" --cert "$d/node.crt" --key "$d/node.key" \
                -X POST -d '{"container": "x.web", "path": "/v1/containers/x/logs"}' \
                "$CL_URL/v1/cluster/proxy"
        [[ "$output" == *"node certificates cannot do this"* ]] || { echo "$output"; false; }
}
