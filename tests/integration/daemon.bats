#!/usr/bin/env bats
# berth daemon: the local socket, the mTLS listener, the system routes, limits and shutdown.

load helpers

setup() {
        setup_tmp
}

teardown() {
        teardown_tmp
}

@test "ping, version and info over the unix socket" {
        skip_unless_cmd curl jq
        start_daemon
        [ "$(stat -c %a "$SOCK")" = 660 ]

        run api GET /v1/ping
        [ "$status" -eq 0 ]
        [ "$output" = OK ]

        run api GET /v1/version
        [ "$status" -eq 0 ]
        assert_json "$output" .ApiVersion 1
        assert_json "$output" .Os linux
        assert_json "$output" '.Version | length > 0' true
        assert_json "$output" '.KernelVersion' "$(uname -r)"

        run api GET /v1/info
        [ "$status" -eq 0 ]
        assert_json "$output" .RootDir "$ROOT"
        assert_json "$output" .RunDir "$RUN"
        assert_json "$output" .Pid "$DAEMON_PID"
        assert_json "$output" '.CgroupMode | test("^(v1|v2|hybrid)$")' true
        assert_json "$output" .Containers 0
        assert_json "$output" .Images 0
        assert_json "$output" '.SecurityOptions | type' array
}

@test "berth version and info talk to the daemon" {
        skip_unless_cmd jq
        start_daemon
        run "$BERTH" version
        [ "$status" -eq 0 ]
        assert_contains "$output" "Client:"
        assert_contains "$output" "Server:"

        run "$BERTH" version --format json
        [ "$status" -eq 0 ]
        assert_json "$output" .Server.ApiVersion 1
        assert_json "$output" .Client.Version "$(jq -r .Server.Version <<<"$output")"

        run "$BERTH" info --format '{{.RootDir}} {{json .Containers}}'
        [ "$status" -eq 0 ]
        [ "$output" = "$ROOT 0" ]

        run "$BERTH" info
        [ "$status" -eq 0 ]
        assert_contains "$output" "Root Dir:          $ROOT"

        run "$BERTH" info --format '{{.Root'
        [ "$status" -eq 2 ]
        assert_contains "$output" "unclosed action"
}

@test "berth version without a daemon prints the client, then fails" {
        export BERTH_HOST=unix://$TEST_TMP/none.sock
        run "$BERTH" version
        [ "$status" -eq 1 ]
        assert_contains "$output" "Client:"
        assert_contains "$output" "Cannot connect to the berth daemon at unix://$TEST_TMP/none.sock: is 'berth daemon' running?"

        run "$BERTH" info
        [ "$status" -eq 125 ]
        assert_contains "$output" "Cannot connect to the berth daemon"
}

@test "unknown routes and methods get JSON errors" {
        skip_unless_cmd curl jq
        start_daemon
        run api GET /v1/nope -w '\n%{http_code}'
        [ "$status" -eq 0 ]
        [ "${lines[1]}" = 404 ]
        assert_json "${lines[0]}" .error.code not_found
        assert_json "${lines[0]}" .error.message "no route for GET '/v1/nope'"

        run api DELETE /v1/version -w '\n%{http_code}'
        [ "${lines[1]}" = 405 ]
        assert_json "${lines[0]}" .error.code method_not_allowed
}

@test "a second daemon on the same root is refused and creates nothing" {
        start_daemon
        run "$BERTH" daemon --root "$ROOT" --run "$TEST_TMP/run2" --log-format text
        [ "$status" -eq 1 ]
        assert_contains "$output" "another berth daemon is already running with root '$ROOT'"
        [ ! -e "$TEST_TMP/run2" ]
        # The first one still answers.
        run api GET /v1/ping
        [ "$output" = OK ]
}

@test "bad daemon arguments are named" {
        run "$BERTH" daemon --root relative/dir
        [ "$status" -eq 2 ]
        assert_contains "$output" "--root must be an absolute path, got 'relative/dir'"
        run "$BERTH" daemon --log-format xml
        [ "$status" -eq 2 ]
        assert_contains "$output" "invalid --log-format 'xml'"
        run "$BERTH" daemon --root "$TEST_TMP/r" --run "$TEST_TMP/x" --listen nonsense
        [ "$status" -eq 2 ]
        assert_contains "$output" "bad listen address 'nonsense'"
        run "$BERTH" daemon --root "$TEST_TMP/r" --run "$TEST_TMP/x" --listen myhost:80
        [ "$status" -eq 2 ]
        assert_contains "$output" "'myhost' is not an IP address"
        [ ! -e "$TEST_TMP/r" ]
        [ ! -e "$TEST_TMP/x" ]
        run "$BERTH" daemon --help
        [ "$status" -eq 0 ]
        assert_contains "$output" "Usage: berth daemon"
}

@test "--listen serves HTTPS only to clients with a certificate from the cluster CA" {
        skip_unless_cmd curl openssl jq
        port=$(free_port)
        start_daemon --listen "127.0.0.1:$port"
        pki=$ROOT/pki
        [ "$(stat -c %a "$pki/ca.key")" = 600 ]
        [ "$(stat -c %a "$pki/server.key")" = 600 ]

        run "$BERTH" cert issue alice --root "$ROOT" --out "$TEST_TMP/certs"
        [ "$status" -eq 0 ]

        run curl -sS --max-time 20 --cacert "$pki/ca.crt" --cert "$TEST_TMP/certs/alice.crt" \
                --key "$TEST_TMP/certs/alice.key" "https://127.0.0.1:$port/v1/version"
        [ "$status" -eq 0 ]
        assert_json "$output" .ApiVersion 1

        # The CLI over mTLS.
        run "$BERTH" -H "https://127.0.0.1:$port" --tlscert "$TEST_TMP/certs/alice.crt" \
                --tlskey "$TEST_TMP/certs/alice.key" --tlscacert "$pki/ca.crt" \
                info --format '{{.Listen}}'
        [ "$status" -eq 0 ]
        [ "$output" = "127.0.0.1:$port" ]

        # No client certificate: 401 (only the cluster join is open without one, docs/cluster.md).
        run curl -sS --max-time 20 -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" \
                "https://127.0.0.1:$port/v1/ping"
        [ "$output" = 401 ]

        # A certificate from another CA: refused too.
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
                -subj /CN=mallory -keyout "$TEST_TMP/evil.key" -out "$TEST_TMP/evil.crt" 2>/dev/null
        run curl -sS --max-time 20 --cacert "$pki/ca.crt" --cert "$TEST_TMP/evil.crt" \
                --key "$TEST_TMP/evil.key" "https://127.0.0.1:$port/v1/ping"
        [ "$status" -ne 0 ]

        # Plain HTTP on the TLS port gets nothing useful.
        run curl -sS --max-time 20 "http://127.0.0.1:$port/v1/ping"
        [ "$status" -ne 0 ]
}

@test "berth cert issue writes a key pair that chains to the CA" {
        skip_unless_cmd openssl
        start_daemon
        stop_daemon
        run "$BERTH" cert issue bob --root "$ROOT" --out "$TEST_TMP/out"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "$TEST_TMP/out/bob.crt" ]
        [ "$(stat -c %a "$TEST_TMP/out/bob.key")" = 600 ]
        run openssl verify -CAfile "$ROOT/pki/ca.crt" "$TEST_TMP/out/bob.crt"
        [ "$status" -eq 0 ]
        run openssl x509 -in "$TEST_TMP/out/bob.crt" -noout -subject
        assert_contains "$output" "CN = bob"

        run "$BERTH" cert issue bob --root "$ROOT" --out "$TEST_TMP/out"
        [ "$status" -eq 2 ]
        assert_contains "$output" "already exists"
        run "$BERTH" cert issue carol --root "$TEST_TMP/noroot" --out "$TEST_TMP/out"
        [ "$status" -eq 125 ]
        assert_contains "$output" "load cluster CA"
        [ ! -e "$TEST_TMP/out/carol.key" ]

        run "$BERTH" cert fingerprint --root "$ROOT"
        [ "$status" -eq 0 ]
        fp=$(openssl x509 -in "$ROOT/pki/ca.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
        [ "$output" = "sha256:$fp" ]
}

@test "SIGTERM shuts down cleanly and removes the socket" {
        skip_unless_cmd jq
        start_daemon
        stop_daemon
        [ "$DAEMON_STATUS" -eq 0 ]
        [ ! -e "$SOCK" ]
        # Every log line is JSON.
        while read -r line; do
                assert_json "$line" '.level | length > 0' true
        done <"$DAEMON_LOG"
        assert_contains "$(cat "$DAEMON_LOG")" "shutting down"
        # The lock is free again: a new daemon starts on the same root.
        start_daemon
        run api GET /v1/ping
        [ "$output" = OK ]
}

@test "bad requests get 400, 413, 431 and 408 while another client is served" {
        skip_unless_cmd curl
        start_daemon --request-timeout 1

        # A slow client holds a connection open in the background...
        raw_request "$SOCK" 'GET /v1/ping HTTP/1.1\r\nHost: x\r\n' >"$TEST_TMP/slow.out" &
        slow=$!
        # ...while others are answered.
        run api GET /v1/ping
        [ "$output" = OK ]

        run raw_request "$SOCK" 'NONSENSE\r\n\r\n'
        assert_contains "$output" "HTTP/1.1 400 Bad Request"
        assert_contains "$output" '"code":"bad_request"'

        head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' a >"$TEST_TMP/big"
        run api POST /v1/ping --data-binary "@$TEST_TMP/big" -o /dev/null -w '%{http_code}'
        [ "$output" = 413 ]

        run api GET /v1/ping -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' b)" -o /dev/null -w '%{http_code}'
        [ "$output" = 431 ]

        wait "$slow"
        assert_contains "$(cat "$TEST_TMP/slow.out")" "HTTP/1.1 408 Request Timeout"
        run api GET /v1/ping
        [ "$output" = OK ]
}
