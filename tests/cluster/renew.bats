#!/usr/bin/env bats
# Node certificate renewal end to end (docs/cluster.md, "Renewal"): a controller that signs
# 30-second node certificates (--node-cert-ttl 30s), an agent that renews its own while it
# runs. The old certificate is not revoked by a renewal: it stays valid until it expires, then
# the TLS handshake refuses it. Also: advertise_addr in the node record. Nothing asserts
# timings; every wait is bounded.

load helpers
bats_require_minimum_version 1.5.0

setup() {
        skip_unless_cmd jq curl openssl
        cluster_setup 2
        start_controller --heartbeat 0.5 --node-grace 3 --log-format text --node-cert-ttl 30s
        start_agent 2 node-2 --token "$CL_TOKEN" --heartbeat 0.5 --log-format text
        grep -q "Joined" "$AGENT_ERR" || { cat "$AGENT_ERR"; return 1; }
        TLS="$TEST_TMP/h2-node-2/root/node-tls"
}

teardown() {
        cluster_teardown
}

serial_of() { openssl x509 -noout -serial -in "$1" | cut -d= -f2; }
end_of() { date -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%s; }
serial_changed() { [ "$(serial_of "$TLS/node.crt")" != "$1" ]; }

# HTTP status of a node-scoped request made with certificate $1 and key $2 (000: no answer,
# e.g. the handshake failed).
node_get() {
        on_host 2 curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$TLS/ca.crt" \
                --cert "$1" --key "$2" "$CL_URL/v1/nodes/node-2/tunnel?timeout=0" 2>/dev/null ||
                true
}

node_ready() {
        [ "$("${CTL[@]}" node inspect --format '{{.status}}' node-2)" = ready ]
}

@test "--node-cert-ttl: the agent renews its certificate while it runs; the old one works until it expires" {
        # the short validity is in the certificate
        nb=$(date -d "$(openssl x509 -noout -startdate -in "$TLS/node.crt" | cut -d= -f2)" +%s)
        na=$(end_of "$TLS/node.crt")
        [ $((na - nb)) -le 60 ] || { openssl x509 -noout -dates -in "$TLS/node.crt"; false; }
        old_serial=$(serial_of "$TLS/node.crt")
        cp "$TLS/node.crt" "$TEST_TMP/old.crt"
        cp "$TLS/node.key" "$TEST_TMP/old.key"
        [ "$(node_get "$TEST_TMP/old.crt" "$TEST_TMP/old.key")" = 200 ]

        # renewed on disk within the certificate's life (bounded: 60 s)
        for _ in $(seq 120); do
                serial_changed "$old_serial" && break
                sleep 0.5
        done
        serial_changed "$old_serial" || { cat "$AGENT_ERR"; false; }
        wait_line "$AGENT_ERR" "Renewed the node certificate" 50
        [ "$(end_of "$TLS/node.crt")" -gt "$na" ]
        [ "$(stat -c %a "$TLS/node.key")" = 600 ]
        openssl verify -CAfile "$TLS/ca.crt" "$TLS/node.crt"
        [[ "$(openssl x509 -noout -subject -in "$TLS/node.crt")" == *"CN = node-2"* ]]

        # the agent keeps heartbeating with it: its reports move the heartbeat on
        eventually node_ready
        hb1=$("${CTL[@]}" node inspect --format '{{.last_heartbeat_usec}}' node-2)
        for _ in $(seq 100); do
                hb2=$("${CTL[@]}" node inspect --format '{{.last_heartbeat_usec}}' node-2)
                [ "$hb2" != "$hb1" ] && break
                sleep 0.2
        done
        [ "$hb2" != "$hb1" ] || { tail -20 "$AGENT_ERR"; false; }

        # the old certificate is not revoked by the renewal: accepted until it expires ...
        if [ "$(date +%s)" -lt "$((na - 2))" ]; then
                [ "$(node_get "$TEST_TMP/old.crt" "$TEST_TMP/old.key")" = 200 ]
        fi
        # ... then refused at the handshake, while the agent's current one works
        for _ in $(seq 70); do
                [ "$(date +%s)" -gt "$((na + 1))" ] && break
                sleep 1
        done
        [ "$(node_get "$TEST_TMP/old.crt" "$TEST_TMP/old.key")" = 000 ]
        # (a renewal may replace the pair between the two copies: one more try then)
        cur_ok() {
                cp "$TLS/node.crt" "$TEST_TMP/cur.crt"
                cp "$TLS/node.key" "$TEST_TMP/cur.key"
                [ "$(node_get "$TEST_TMP/cur.crt" "$TEST_TMP/cur.key")" = 200 ]
        }
        cur_ok || { sleep 1; cur_ok; }
        # still ready, more than a whole certificate life after the join
        eventually node_ready
        grep -c "Renewed the node certificate" "$AGENT_ERR"
}

@test "advertise_addr is in the node record and in node ls" {
        run "${CTL[@]}" node inspect --format '{{.advertise_addr}}' node-2
        [ "$status" -eq 0 ]
        [ "$output" = "$(cl_addr 2)" ]
        run "${CTL[@]}" node ls
        [ "$status" -eq 0 ]
        [[ "$output" == *ADDRESS* ]]
        [[ "$output" == *"$(cl_addr 2)"* ]] || { echo "$output"; false; }
        run "${CTL[@]}" node ls --format '{{.Name}} {{.Address}}'
        [[ "$output" == *"node-2 $(cl_addr 2)"* ]]
}

@test "--node-cert-ttl refuses what is not a duration in range" {
        for bad in 5s 0 abc 30x 4000d ""; do
                run "$BERTH" daemon --root "$TEST_TMP/x" --node-cert-ttl "$bad"
                [ "$status" -ne 0 ]
                [[ "$output" == *"invalid --node-cert-ttl '$bad'"* ]] || { echo "$output"; false; }
        done
        [ ! -e "$TEST_TMP/x" ]
}
