#!/usr/bin/env bats
# Pull, push and login against Debian's docker-registry serving HTTPS on 127.0.0.1 with a
# certificate from a CA made by the test: refused with a certificate error until the CA is in
# the daemon's --registry-certs-dir/HOST:PORT/ca.crt, never downgraded to plain HTTP (also with
# --insecure-registry), then login (htpasswd), push and pull work.

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

# CA NAME: a self-signed CA in $TEST_TMP/NAME.{crt,key}.
make_ca() {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test $1" \
                -keyout "$TEST_TMP/$1.key" -out "$TEST_TMP/$1.crt" >/dev/null 2>&1
}

# Server certificate for 127.0.0.1 signed by the CA "ca": $TEST_TMP/server.{crt,key}.
make_server_cert() {
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
                -keyout "$TEST_TMP/server.key" -out "$TEST_TMP/server.csr" >/dev/null 2>&1
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$TEST_TMP/ext.cnf"
        openssl x509 -req -in "$TEST_TMP/server.csr" -CA "$TEST_TMP/ca.crt" \
                -CAkey "$TEST_TMP/ca.key" -CAcreateserial -days 2 -extfile "$TEST_TMP/ext.cnf" \
                -out "$TEST_TMP/server.crt" >/dev/null 2>&1
}

# Starts docker-registry with TLS and htpasswd auth on 127.0.0.1:$REG_PORT.
start_tls_registry() {
        REG_PORT=$(free_port)
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $TEST_TMP/registry}}"
                echo "http: {addr: 127.0.0.1:$REG_PORT, tls: {certificate: $TEST_TMP/server.crt, key: $TEST_TMP/server.key}}"
                echo "auth: {htpasswd: {realm: berth, path: $TEST_TMP/htpasswd}}"
        } >"$TEST_TMP/registry.yml"
        docker-registry serve "$TEST_TMP/registry.yml" >"$TEST_TMP/registry.log" 2>&1 &
        REG_PID=$!
        local i
        for i in $(seq 100); do
                curl -s -o /dev/null --cacert "$TEST_TMP/ca.crt" "https://127.0.0.1:$REG_PORT/v2/" &&
                        return 0
                sleep 0.1
        done
        cat "$TEST_TMP/registry.log" >&2
        return 1
}

make_rootfs() {
        mkdir -p "$TEST_TMP/rootfs/bin" "$TEST_TMP/rootfs/etc"
        cp /bin/busybox "$TEST_TMP/rootfs/bin/busybox"
        echo 'root:x:0:0:root:/root:/bin/sh' >"$TEST_TMP/rootfs/etc/passwd"
}

@test "TLS registry: certificate errors without the CA, no downgrade, login/push/pull with it" {
        skip_unless_root
        skip_unless_cmd docker-registry htpasswd openssl curl
        [ -x /bin/busybox ] || skip "needs busybox-static"
        make_ca ca
        make_ca other
        make_server_cert
        htpasswd -Bbc "$TEST_TMP/htpasswd" alice s3cret >/dev/null 2>&1
        start_tls_registry
        host=127.0.0.1:$REG_PORT
        certs=$TEST_TMP/certs.d
        mkdir -p "$certs"
        start_daemon --registry-certs-dir "$certs" --insecure-registry "$host"
        make_rootfs
        ref=$host/tls/bb:1
        run "$BERTH" import "$TEST_TMP/rootfs" "$ref"
        [ "$status" -eq 0 ]
        id=$output

        # no CA: a certificate error naming where the CA goes; --insecure-registry does not
        # turn this into plain HTTP (the registry would answer that with HTTP 400)
        run "$BERTH" login -u alice -p s3cret "$host"
        [ "$status" -ne 0 ]
        assert_contains "$output" "certificate of '$host' not trusted"
        assert_contains "$output" "$certs/$host/ca.crt"
        run "$BERTH" push "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "not trusted"
        [[ "$output" != *"http://"* ]]
        run "$BERTH" pull "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "not trusted"
        [ ! -e "$ROOT/auth.json" ]

        # the wrong CA: still refused, and the message says the file holds another CA
        mkdir -p "$certs/$host"
        cp "$TEST_TMP/other.crt" "$certs/$host/ca.crt"
        run "$BERTH" login -u alice -p s3cret "$host"
        [ "$status" -ne 0 ]
        assert_contains "$output" "holds different CAs"

        # the right CA in another *.crt beside the wrong ca.crt (docker reads every *.crt):
        # Basic auth through login, then push and pull over TLS
        cp "$TEST_TMP/ca.crt" "$certs/$host/registry.crt"
        run "$BERTH" push "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "unauthorized"
        run "$BERTH" login -u alice -p wrong "$host"
        [ "$status" -ne 0 ]
        run "$BERTH" login -u alice -p s3cret "$host"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Login Succeeded"
        run "$BERTH" push "$ref"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Pushed: $ref"
        # the registry holds it: ask it directly over TLS
        run curl -sf --cacert "$TEST_TMP/ca.crt" -u alice:s3cret "https://$host/v2/tls/bb/tags/list"
        [ "$status" -eq 0 ]
        assert_contains "$output" '"1"'

        run "$BERTH" rmi "$ref"
        [ "$status" -eq 0 ]
        run "$BERTH" pull "$ref"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Pulled: $ref"
        run "$BERTH" image inspect --format '{{.Id}}' "$ref"
        [ "$output" = "$id" ]
}

@test "a registry with a certs.d directory is HTTPS only, even on loopback" {
        skip_unless_root
        skip_unless_cmd docker-registry openssl curl
        make_ca ca
        REG_PORT=$(free_port)
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $TEST_TMP/registry}}"
                echo "http: {addr: 127.0.0.1:$REG_PORT}"
        } >"$TEST_TMP/registry.yml"
        docker-registry serve "$TEST_TMP/registry.yml" >"$TEST_TMP/registry.log" 2>&1 &
        REG_PID=$!
        for _ in $(seq 100); do
                curl -s -o /dev/null "http://127.0.0.1:$REG_PORT/v2/" && break
                sleep 0.1
        done
        host=127.0.0.1:$REG_PORT
        mkdir -p "$TEST_TMP/certs.d/$host"
        cp "$TEST_TMP/ca.crt" "$TEST_TMP/certs.d/$host/ca.crt"
        start_daemon --registry-certs-dir "$TEST_TMP/certs.d"
        run "$BERTH" pull "$host/x/y:1"
        [ "$status" -ne 0 ]
        assert_contains "$output" "TLS error with '$host'"
        # without the directory the same plain registry is reached over HTTP
        rm -rf "$TEST_TMP/certs.d/$host"
        run "$BERTH" pull "$host/x/y:1"
        [ "$status" -ne 0 ]
        assert_contains "$output" "not found"
}

@test "daemon: --registry-certs-dir must be absolute" {
        run "$BERTH" daemon --root "$TEST_TMP/r" --run "$TEST_TMP/u" --registry-certs-dir rel
        [ "$status" -ne 0 ]
        assert_contains "$output" "--registry-certs-dir 'rel' must be an absolute path"
}

# Certificate NAME for CN signed by the CA "CA" with extended key usage EKU (+ IP SAN for
# servers): $TEST_TMP/NAME.{crt,key}.
make_cert() { # NAME CA EKU
        openssl req -newkey rsa:2048 -nodes -subj "/CN=berth $1" \
                -keyout "$TEST_TMP/$1.key" -out "$TEST_TMP/$1.csr" >/dev/null 2>&1
        if [ "$3" = serverAuth ]; then
                printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
        else
                printf 'extendedKeyUsage=%s\n' "$3"
        fi >"$TEST_TMP/$1.cnf"
        openssl x509 -req -in "$TEST_TMP/$1.csr" -CA "$TEST_TMP/$2.crt" -CAkey "$TEST_TMP/$2.key" \
                -CAcreateserial -days 2 -extfile "$TEST_TMP/$1.cnf" -out "$TEST_TMP/$1.crt" \
                >/dev/null 2>&1
}

@test "TLS registry: a certs.d ca.crt adds to the system CAs; client certificates (clientcas)" {
        skip_unless_root
        skip_unless_cmd docker-registry openssl curl
        [ -x /bin/busybox ] || skip "needs busybox-static"
        make_ca ca    # signs the registry's certificate: a "system" CA here
        make_ca other # unrelated: what certs.d/HOST/ca.crt holds
        make_ca cli   # the registry's clientcas
        make_cert server ca serverAuth
        make_cert client cli clientAuth
        make_cert rogue other clientAuth
        # the system CAs: a hashed directory holding ca.crt (SSL_CERT_DIR, as for OpenSSL)
        mkdir -p "$TEST_TMP/sysca"
        cp "$TEST_TMP/ca.crt" "$TEST_TMP/sysca/"
        openssl rehash "$TEST_TMP/sysca"
        REG_PORT=$(free_port)
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $TEST_TMP/registry}}"
                echo "http: {addr: 127.0.0.1:$REG_PORT, tls: {certificate: $TEST_TMP/server.crt, key: $TEST_TMP/server.key, clientcas: [$TEST_TMP/cli.crt]}}"
        } >"$TEST_TMP/registry.yml"
        docker-registry serve "$TEST_TMP/registry.yml" >"$TEST_TMP/registry.log" 2>&1 &
        REG_PID=$!
        for _ in $(seq 100); do
                curl -s -o /dev/null --cacert "$TEST_TMP/ca.crt" --cert "$TEST_TMP/client.crt" \
                        --key "$TEST_TMP/client.key" "https://127.0.0.1:$REG_PORT/v2/" && break
                sleep 0.1
        done
        host=127.0.0.1:$REG_PORT
        certs=$TEST_TMP/certs.d
        mkdir -p "$certs/$host"
        cp "$TEST_TMP/other.crt" "$certs/$host/ca.crt"
        SSL_CERT_DIR=$TEST_TMP/sysca start_daemon --registry-certs-dir "$certs"
        make_rootfs
        ref=$host/cc/bb:1
        run "$BERTH" import "$TEST_TMP/rootfs" "$ref"
        [ "$status" -eq 0 ]
        id=$output

        # the server's certificate verifies through the system CAs although ca.crt holds
        # another CA (it adds, it does not replace); the registry then wants a client certificate
        run "$BERTH" push "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "'$host' asks for a TLS client certificate"
        assert_contains "$output" "$certs/$host/client.cert"
        [[ "$output" != *"not trusted"* ]]

        # half a client certificate: a clear error before any request
        cp "$TEST_TMP/client.crt" "$certs/$host/client.cert"
        run "$BERTH" pull "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "has client.cert but not client.key"

        # a certificate from a CA the registry does not trust
        cp "$TEST_TMP/rogue.crt" "$certs/$host/client.cert"
        cp "$TEST_TMP/rogue.key" "$certs/$host/client.key"
        run "$BERTH" push "$ref"
        [ "$status" -ne 0 ]
        assert_contains "$output" "refused the TLS client certificate"

        # the right one: push, then pull it back
        cp "$TEST_TMP/client.crt" "$certs/$host/client.cert"
        cp "$TEST_TMP/client.key" "$certs/$host/client.key"
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
}

@test "TLS registry: without a hashed CA directory the system bundle (SSL_CERT_FILE) still adds to certs.d" {
        skip_unless_root
        skip_unless_cmd docker-registry openssl curl
        make_ca ca
        make_ca other
        make_cert server ca serverAuth
        REG_PORT=$(free_port)
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $TEST_TMP/registry}}"
                echo "http: {addr: 127.0.0.1:$REG_PORT, tls: {certificate: $TEST_TMP/server.crt, key: $TEST_TMP/server.key}}"
        } >"$TEST_TMP/registry.yml"
        docker-registry serve "$TEST_TMP/registry.yml" >"$TEST_TMP/registry.log" 2>&1 &
        REG_PID=$!
        for _ in $(seq 100); do
                curl -s -o /dev/null --cacert "$TEST_TMP/ca.crt" "https://127.0.0.1:$REG_PORT/v2/" && break
                sleep 0.1
        done
        host=127.0.0.1:$REG_PORT
        mkdir -p "$TEST_TMP/certs.d/$host" "$TEST_TMP/nohash"
        cp "$TEST_TMP/other.crt" "$TEST_TMP/certs.d/$host/ca.crt"
        # an empty SSL_CERT_DIR forces the fallback: the bundle file goes in front of ca.crt
        SSL_CERT_DIR=$TEST_TMP/nohash SSL_CERT_FILE=$TEST_TMP/ca.crt \
                start_daemon --registry-certs-dir "$TEST_TMP/certs.d"
        run "$BERTH" pull "$host/x/y:1"
        [ "$status" -ne 0 ]
        assert_contains "$output" "not found"
        [[ "$output" != *"not trusted"* ]]
        stop_daemon
        # and with a bundle that lacks the CA, the certificate is refused
        SSL_CERT_DIR=$TEST_TMP/nohash SSL_CERT_FILE=$TEST_TMP/other.crt \
                start_daemon --registry-certs-dir "$TEST_TMP/certs.d"
        run "$BERTH" pull "$host/x/y:1"
        [ "$status" -ne 0 ]
        assert_contains "$output" "not trusted"
}
