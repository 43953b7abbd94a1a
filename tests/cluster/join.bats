#!/usr/bin/env bats
# Joining agents to a controller on another "host" (network namespace), and node management.

load helpers

setup() {
        cluster_setup 3
        start_controller
}

teardown() {
        cluster_teardown
}

@test "an agent joins with the right token and shows up ready" {
        start_agent 2 node-a --token "$CL_TOKEN" --label zone=z1
        grep -q "Joined '$CL_URL' as node 'node-a'" "$AGENT_ERR"
        # the node certificate is signed by the cluster CA, for the node, with its address
        crt="$TEST_TMP/h2-node-a/root/node-tls/node.crt"
        openssl verify -CAfile "$TEST_TMP/h1/root/pki/ca.crt" "$crt"
        openssl x509 -in "$crt" -noout -subject | grep -q 'CN *= *node-a'
        openssl x509 -in "$crt" -noout -ext subjectAltName | grep -q "$(cl_addr 2)"
        [ "$(stat -c %a "$TEST_TMP/h2-node-a/root/node-tls/node.key")" = 600 ]
        run "${CTL[@]}" node ls
        echo "$output"
        [ "$status" -eq 0 ]
        echo "$output" | grep -E '^node-a +node-a +ready +active +198\.18\.[0-9]+\.2 +zone=z1'
}

@test "a wrong token and a forged certificate are refused, nothing is recorded" {
        before=$(node_names | sort)
        bad="${CL_TOKEN%????}0000"
        [ "$bad" != "$CL_TOKEN" ]
        start_agent 2 node-bad --token "$bad"
        grep -q "Failed to join" "$AGENT_ERR"
        grep -q "wrong secret" "$AGENT_ERR"
        # a token for another cluster (wrong CA hash) is refused before anything is sent
        other="BERTH1-$(printf '%064d' 0)-${CL_TOKEN##*-}"
        start_agent 3 node-other --token "$other"
        grep -q "sha256 is not the token's" "$AGENT_ERR"
        [ ! -e "$TEST_TMP/h3-node-other/root/node-tls/node.crt" ]

        # a certificate signed by another CA: the TLS handshake fails, on every route
        f="$TEST_TMP/forge"
        mkdir -p "$f"
        openssl ecparam -name prime256v1 -genkey -noout -out "$f/ca.key" 2>/dev/null
        openssl req -x509 -new -key "$f/ca.key" -subj /CN=evil-ca -days 2 -out "$f/ca.crt"
        openssl ecparam -name prime256v1 -genkey -noout -out "$f/n.key" 2>/dev/null
        openssl req -new -key "$f/n.key" -subj /CN=node-forged -out "$f/n.csr"
        openssl x509 -req -in "$f/n.csr" -CA "$f/ca.crt" -CAkey "$f/ca.key" -CAcreateserial \
                -days 2 -out "$f/n.crt" 2>/dev/null
        ca="$TEST_TMP/h1/root/pki/ca.crt"
        run on_host 2 curl -sS --cacert "$ca" --cert "$f/n.crt" --key "$f/n.key" \
                -X POST -d '{"name":"node-forged"}' "$CL_URL/v1/nodes/join"
        [ "$status" -ne 0 ]
        run on_host 2 curl -sS --cacert "$ca" --cert "$f/n.crt" --key "$f/n.key" \
                -X PUT -d '{"pods":[]}' "$CL_URL/v1/nodes/node-forged/status"
        [ "$status" -ne 0 ]
        # and without any certificate only the join is open
        run on_host 2 curl -sS -o /dev/null -w '%{http_code}' --cacert "$ca" "$CL_URL/v1/nodes"
        [ "$output" = 401 ]
        [ "$(node_names | sort)" = "$before" ]
}

@test "a duplicate name is refused" {
        start_agent 2 node-a --token "$CL_TOKEN"
        grep -q "Joined" "$AGENT_ERR"
        start_agent 3 node-a --token "$CL_TOKEN"
        grep -q "409" "$AGENT_ERR"
        grep -q "already exists" "$AGENT_ERR"
        [ "$(node_names | grep -c '^node-a$')" = 1 ]
}

@test "token rotation makes the old token fail" {
        old=$CL_TOKEN
        run "${CTL[@]}" node token
        [ "$output" = "$old" ]
        run "${CTL[@]}" node token --rotate
        [ "$status" -eq 0 ]
        new=$output
        [ "$new" != "$old" ]
        [ "${new%-*}" = "${old%-*}" ] # same CA pin
        start_agent 2 node-old --token "$old"
        grep -q "wrong secret" "$AGENT_ERR"
        start_agent 3 node-new --token "$new"
        grep -q "Joined" "$AGENT_ERR"
        ! node_names | grep -q '^node-old$'
        node_names | grep -q '^node-new$'
}

@test "node update, inspect and rm" {
        start_agent 2 node-a --token "$CL_TOKEN" --label zone=z1
        grep -q "Joined" "$AGENT_ERR"
        run "${CTL[@]}" node update --label-add rack=r7 --label-rm zone --availability drain node-a
        [ "$status" -eq 0 ]
        run "${CTL[@]}" node inspect --format '{{json .labels}} {{.availability}}' node-a
        echo "$output"
        [ "$output" = '{"rack":"r7"} drain' ]
        run "${CTL[@]}" node update --availability sideways node-a
        [ "$status" -eq 2 ]
        echo "$output" | grep -q "expected active, pause or drain"
        run "${CTL[@]}" node inspect nosuch
        [ "$status" -ne 0 ]
        echo "$output" | grep -q "nosuch"
        run "${CTL[@]}" node rm --force node-a
        [ "$status" -eq 0 ]
        ! node_names | grep -q '^node-a$'
        # the removed node cannot come back with its old certificate: it is revoked
        wait_line "$AGENT_ERR" "revoked\|SSL\|TLS\|is not a node" 100 || { cat "$AGENT_ERR"; false; }
        tls="$TEST_TMP/h2-node-a/root/node-tls"
        run on_host 2 curl -fsS --cacert "$tls/ca.crt" --cert "$tls/node.crt" --key "$tls/node.key" \
                -X POST -d '{"name":"node-a"}' "$CL_URL/v1/nodes/join"
        [ "$status" -ne 0 ]
}

@test "a node certificate acts only for its own node" {
        start_agent 2 node-a --token "$CL_TOKEN"
        grep -q "Joined" "$AGENT_ERR"
        start_agent 3 node-b --token "$CL_TOKEN"
        grep -q "Joined" "$AGENT_ERR"
        tls="$TEST_TMP/h2-node-a/root/node-tls"
        a=(on_host 2 curl -sS -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt"
                --cert "$tls/node.crt" --key "$tls/node.key")
        run "${a[@]}" -X PUT -d '{"pods":[]}' "$CL_URL/v1/nodes/node-b/status"
        [ "$output" = 403 ]
        run "${a[@]}" "$CL_URL/v1/nodes/node-b/assignments"
        [ "$output" = 403 ]
        run "${a[@]}" -X POST -d '{"csr":"x"}' "$CL_URL/v1/nodes/node-b/renew"
        [ "$output" = 403 ]
        # its own node is fine
        run "${a[@]}" -X PUT -d '{"pods":[]}' "$CL_URL/v1/nodes/node-a/status"
        [ "$output" = 204 ]
        run "${a[@]}" "$CL_URL/v1/nodes/node-a/assignments"
        [ "$output" = 200 ]
        grep -q "Refused PUT /v1/nodes/node-b/status from certificate 'node-a'" "$TEST_TMP/h1/err"
}
