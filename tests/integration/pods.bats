#!/usr/bin/env bats
# Stack pods as real containers on real stack networks (issue #8): service names and aliases
# in DNS, published ports, named volumes, secrets, resources, isolation between stacks, scale.
# Run under the shared lock: flock /tmp/berth-integ.lock bats tests/integration/pods.bats

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
PODS=$BERTH_SRC/tests/integration/pods

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        local r=$BATS_FILE_TMPDIR/rootfs a
        mkdir -p "$r/bin" "$r/etc" "$r/tmp"
        cp "$BUSYBOX_BIN" "$r/bin/busybox"
        for a in $("$BUSYBOX_BIN" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/tmp:/bin/sh\n' >"$r/etc/passwd"
        printf 'root:x:0:\nalice:x:1000:\n' >"$r/etc/group"
        tar -C "$r" -cf "$BATS_FILE_TMPDIR/busybox.tar" .
}

setup() {
        skip_unless_root
        skip_unless_cmd nft ip jq
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        setup_tmp
        MADE_BERTH0=
        ip link show berth0 >/dev/null 2>&1 || MADE_BERTH0=1
        # --bridge none: no default network, the test owns every network it sees.
        start_daemon --log-format text --bridge none
        run "$BERTH" import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
        export WEB_PORT
        WEB_PORT=$(free_port)
}

teardown() {
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                local ids
                "$BERTH" down -t 0 -p two >/dev/null 2>&1 || true
                "$BERTH" down -t 0 -p other >/dev/null 2>&1 || true
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                "$BERTH" network prune -f >/dev/null 2>&1 || true
        fi
        local leftover=
        if [ -n "${TEST_TMP:-}" ] && grep -q "$TEST_TMP" /proc/self/mountinfo; then
                echo "mounts left behind:" >&2
                grep "$TEST_TMP" /proc/self/mountinfo >&2
                leftover=1
        fi
        teardown_tmp
        if [ -n "$MADE_BERTH0" ] && ip link show berth0 >/dev/null 2>&1 &&
                [ -z "$(ip -o link show master berth0 2>/dev/null)" ]; then
                ip link del berth0 2>/dev/null || true
        fi
        if ! ip -o link show | grep -qE ': (berth0|br-[0-9a-f]{12})[:@]'; then
                nft delete table ip berth 2>/dev/null || true
                nft delete table bridge berth 2>/dev/null || true
        fi
        [ -z "$leftover" ]
}

B() { "$BERTH" "$@"; }

# Polls (bounded: 100 tries) until CMD... succeeds.
eventually() {
        local i
        for i in $(seq 100); do
                "$@" 2>/dev/null && return 0
                sleep 0.2
        done
        "$@"
}

# The id of the running container of a service (the first one).
ctr_of() { # STACK SERVICE
        B ps -q --filter "label=berth.stack=$1" --filter "label=berth.service=$2" | head -1
}

# Runs a shell command in the service's first container.
in_svc() { # STACK SERVICE CMD
        local id
        id=$(ctr_of "$1" "$2")
        [ -n "$id" ] || return 1
        B exec "$id" sh -c "$3"
}

no_containers() {
        [ -z "$(B ps -aq)" ]
}

no_network() { # NAME
        ! B network inspect "$1" >/dev/null 2>&1
}

@test "pods: web reaches db by service name, published port answers on 127.0.0.1, down removes the network" {
        skip_unless_cmd wget
        run B up -d --wait --wait-timeout 60 -f "$PODS/two.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        run B network inspect two_default
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_json "$output" '.[0].Labels["com.docker.compose.project"]' two
        assert_json "$output" '.[0].Labels["berth.stack"]' two
        # web -> db by the service name (DNS of the stack network)
        eventually in_svc two web 'nc -w 2 db 5000 | grep -q db-answer'
        # the pod name is a DNS name too
        db=$(ctr_of two db)
        pod=$(B inspect "$db" | jq -r '.[0].Config.Labels["berth.pod"]')
        eventually in_svc two web "nslookup $pod 2>/dev/null | grep -q Address"
        # the published port, from the host
        run eventually wget -q -T 2 -O - "http://127.0.0.1:$WEB_PORT/"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        assert_contains "$output" "web-page"

        run B down -p two
        [ "$status" -eq 0 ]
        eventually no_containers
        eventually no_network two_default
}
