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
        busybox_tar "$BATS_FILE_TMPDIR/busybox.tar" 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/tmp:/bin/sh\n' 'root:x:0:\nalice:x:1000:\n'
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
                "$BERTH" down -t 0 -p kv >/dev/null 2>&1 || true
                "$BERTH" down -t 0 -p hp >/dev/null 2>&1 || true
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                "$BERTH" network prune -f >/dev/null 2>&1 || true
        fi
        local leftover=
        # Stop the daemon here to check its log for sanitizer reports (SANITIZE builds).
        if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                stop_daemon
                if grep -E "Sanitizer|runtime error:" "$DAEMON_LOG" >&2; then
                        leftover=1
                fi
        fi
        if [ -n "${TEST_TMP:-}" ] && grep -q "$TEST_TMP" /proc/self/mountinfo; then
                echo "mounts left behind:" >&2
                grep "$TEST_TMP" /proc/self/mountinfo >&2
                leftover=1
                local m
                for m in $(grep -o "$TEST_TMP/[^ ]*" /proc/self/mountinfo | sort -r); do
                        umount -l "$m" 2>/dev/null || true
                done
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

# The id of the running container of a service (the first one). Containers are named
# STACK.SERVICE.SLOT.HASH.CONTAINER (label filters given twice are alternatives in berth ps).
ctr_of() { # STACK SERVICE
        B ps -q --filter "name=$1.$2." | head -1
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

# The memory limit of a container's cgroup (v1 memory controller or cgroup2).
mem_limit() { # ID
        local pid cg
        pid=$(B inspect "$1" | jq -r '.[0].State.Pid')
        cg=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
        if [ -n "$cg" ] && [ -f "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" ]; then
                cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes"
                return
        fi
        cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
        cat "/sys/fs/cgroup/unified$cg/memory.max"
}

@test "pods: a named volume survives down and up and goes with down -v; secrets, configs, limits" {
        # a secret from the environment of up: unset, up refuses before creating anything
        run B up -d -f "$PODS/vol.yaml"
        [ "$status" -eq 2 ]
        assert_contains "$output" "secrets.envtok.environment: variable 'BERTH_TEST_TOKEN' is not set"
        run B ls
        ! echo "$output" | grep -q "^two "
        export BERTH_TEST_TOKEN=from-env
        run B up -d --wait --wait-timeout 60 -f "$PODS/vol.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        id=$(ctr_of two app)
        run B volume inspect two_data
        [ "$status" -eq 0 ]
        assert_json "$output" '.[0].Labels.purpose' test
        assert_json "$output" '.[0].Labels["com.docker.compose.project"]' two

        # secret: content, mode 0400; config: content, default mode 0444
        run B exec "$id" cat /run/secrets/token
        [ "$output" = "s3cret-token" ]
        run B exec "$id" stat -c %a /run/secrets/token
        [ "$output" = "400" ]
        run B exec "$id" cat /run/secrets/envtok
        [ "$output" = "from-env" ]
        run B exec "$id" sh -c 'cat /etc/app.conf; echo; stat -c %a /etc/app.conf'
        [ "$output" = "k=v
444" ]
        run B exec "$id" sh -c 'echo x >/run/secrets/token'
        [ "$status" -ne 0 ]
        # the rest of the model
        run B exec "$id" sh -c 'echo "$GREETING $(pwd) $(ulimit -n)"; grep myhost /etc/hosts'
        assert_contains "$output" "hello /data 100"
        assert_contains "$output" "10.1.2.3"
        run B inspect "$id"
        assert_json "$output" '.[0].HostConfig.PidsLimit' 50
        assert_json "$output" '.[0].HostConfig.NanoCpus' 500000000
        assert_json "$output" '.[0].HostConfig.CapDrop[0]' NET_RAW
        [ "$(mem_limit "$id")" -eq 67108864 ]
        # the pod's secrets live on a tmpfs of the pod
        grep "$TEST_TMP/run/pods/" /proc/self/mountinfo | grep -q " - tmpfs "

        B exec "$id" sh -c 'echo kept >/data/f'
        run B down -p two
        [ "$status" -eq 0 ]
        # the pod's secrets tmpfs went with it (unmounted once the DELETE of the pod's last
        # container has answered, pods_engine.c removal_finish: after the containers are gone)
        gone_with_tmpfs() {
                no_containers && ! grep -q "$TEST_TMP/run/pods/" /proc/self/mountinfo
        }
        eventually gone_with_tmpfs || { grep "$TEST_TMP/run/pods/" /proc/self/mountinfo; false; }
        B volume inspect two_data >/dev/null

        run B up -d --wait --wait-timeout 60 -f "$PODS/vol.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        run in_svc two app 'cat /data/f'
        [ "$output" = "kept" ]

        run B down -v -p two
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "Removing volume two_data"
        run B volume inspect two_data
        [ "$status" -ne 0 ]
        eventually no_network two_default
}

@test "pods: two replicas cannot publish the same host port, in the file or by a scale" {
        # compose refuses it in the file ...
        sed 's/replicas: 2/replicas: 1/' "$PODS/ports.yaml" >"$TEST_TMP/ports1.yaml"
        run B up -d -f "$PODS/ports.yaml"
        [ "$status" -ne 0 ]
        assert_contains "$output" "published by 2 replicas"
        # ... and so does the controller's up for a scale that would make it happen (a bridge
        # network: no routing mesh; docs/cluster.md "Several replicas, one fixed port"), which
        # changes nothing
        run B up -d --wait --wait-timeout 60 -f "$TEST_TMP/ports1.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        run B scale -p two web=2
        [ "$status" -ne 0 ]
        assert_contains "$output" "services.web.ports: host port $WEB_PORT is published by 2 replicas"
        run B stack ps -p two
        [ "$(echo "$output" | grep -c running)" -eq 1 ] || { echo "$output"; false; }
        run wget -q -T 2 -O - "http://127.0.0.1:$WEB_PORT/"
        assert_contains "$output" "web-page"
}

# Whether `nslookup NAME` in the service's container lists N addresses of the stack subnet.
resolves_to() { # STACK SERVICE NAME N PREFIX
        local got
        got=$(in_svc "$1" "$2" "nslookup $3" 2>/dev/null | grep "^Address.*$5" | grep -vc ':53$' || true)
        [ "$got" -eq "$4" ]
}

@test "pods: two stacks on one host are isolated; scale changes what the service name resolves to" {
        export OTHER_PORT
        OTHER_PORT=$(free_port)
        run B up -d --wait --wait-timeout 60 -f "$PODS/two.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        run B up -d --wait --wait-timeout 60 -f "$PODS/other.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        # each stack's web finds its own db
        eventually in_svc two web 'nc -w 2 db 5000 | grep -q db-answer'
        eventually in_svc other web 'nc -w 2 db 5000 | grep -q db-answer'
        eventually resolves_to other web db 1 10.213.4.
        # the other stack's db address is not reachable
        dbip=$(B inspect "$(ctr_of two db)" | jq -r '.[0].NetworkSettings.Networks | to_entries[0].value.IPAddress')
        [ -n "$dbip" ] && [ "$dbip" != null ]
        run in_svc other web "nc -w 2 $dbip 5000"
        [ "$status" -ne 0 ] || [ -z "$output" ]
        ! echo "$output" | grep -q db-answer

        # scale: the service name answers with every replica
        run B scale -p other db=3
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually resolves_to other web db 3 10.213.4.
        run B scale -p other db=1
        [ "$status" -eq 0 ]
        eventually resolves_to other web db 1 10.213.4.
        run B down -p other
        run B down -p two
        eventually no_containers
        eventually no_network other_default
        eventually no_network two_default
}

@test "pods: Ctrl-C on a foreground up stops the stack, printing each container" {
        "$BERTH" up -f "$PODS/two.yaml" >"$TEST_TMP/up.out" 2>&1 &
        local up=$!
        two_running() {
                [ "$(B ps -q --filter name=two. | wc -l)" -eq 2 ]
        }
        eventually two_running
        kill -INT "$up"
        local i
        for i in $(seq 150); do
                kill -0 "$up" 2>/dev/null || break
                sleep 0.2
        done
        run wait "$up"
        [ "$status" -eq 0 ] || { cat "$TEST_TMP/up.out"; false; }
        run cat "$TEST_TMP/up.out"
        assert_contains "$output" "Gracefully stopping stack 'two'"
        assert_contains "$output" "Stopped two.web.1."
        assert_contains "$output" "Stopped two.db.1."
        assert_contains "$output" "Stack 'two' stopped."
        no_containers
        run B ls
        ! echo "$output" | grep -q "^two "
        eventually no_network two_default
}

# One request from db to web by service name, with up to 10 tries.
fetch_web() {
        local i out
        for i in $(seq 10); do
                out=$(in_svc two db 'timeout 5 wget -q -O - http://web:8080/' 2>/dev/null) && {
                        echo "$out"
                        return 0
                }
                sleep 0.2
        done
        return 1
}

# Whether both web replicas run the template of the latest up.
web_updated() {
        local n
        n=$(B stack ps -p two --format json | jq '[.[] | select(.service == "web" and .state == "running")] | length')
        [ "$n" -eq 2 ] && [ "$(B ps -q --filter name=two.web. | wc -l)" -eq 2 ] &&
                B ps --format '{{.Names}}' | grep "^two.web." | grep -q "$1" &&
                ! B ps --format '{{.Names}}' | grep "^two.web." | grep -qv "$1"
}

@test "pods: a rolling update replaces the replicas one by one; web answers throughout" {
        VERSION=1 run B up -d --wait --wait-timeout 90 -f "$PODS/roll.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        run fetch_web
        [ "$output" = "version-1" ] || { echo "got: $output ($status)"; B stack ps -p two; false; }
        VERSION=2 run B up -d -f "$PODS/roll.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        hash=$(B --format json ls | jq -r '.[] | select(.name == "two") | .services.web.hash' | cut -c1-12)
        [ -n "$hash" ] && [ "$hash" != null ]
        # Requests during the rollout: each must get an answer (old or new), bounded (200
        # requests; under load a health-gated rollout of two replicas outlasted 60 of them).
        local i done=
        for i in $(seq 200); do
                run fetch_web
                [ "$status" -eq 0 ] || { echo "no answer at request $i"; B stack ps -p two; false; }
                if web_updated "$hash"; then
                        done=1
                        break
                fi
        done
        [ -n "$done" ] || { B stack ps -p two; false; }
        run fetch_web
        [ "$output" = "version-2" ]
        # one replica at a time, in slot order
        l1=$(grep -n "Created pod 'two.web.1.$hash'" "$DAEMON_LOG" | head -1 | cut -d: -f1)
        l2=$(grep -n "Created pod 'two.web.2.$hash'" "$DAEMON_LOG" | head -1 | cut -d: -f1)
        [ -n "$l1" ] && [ -n "$l2" ] && [ "$l1" -lt "$l2" ]
}

# One request from client to web's VIP, no retry (busybox wget has no -T: timeout bounds it).
fetch_vip() {
        in_svc two client 'timeout 5 wget -q -O - http://web:8080/'
}

# Whether both web replicas run IMAGE and no other web container is left.
web_on_image() { # IMAGE
        local ids id n=0
        ids=$(B ps -q --filter name=two.web.)
        for id in $ids; do
                B inspect "$id" | jq -r '.[0].Config.Image' | grep -q "$1" || return 1
                n=$((n + 1))
        done
        [ "$n" -eq 2 ]
}

@test "pods: service VIP: one address, round robin over ready replicas, dnsrr, no failed request during an image update" {
        run "$BERTH" import -c 'CMD ["sh"]' -c 'ENV V=v2' "$BATS_FILE_TMPDIR/busybox.tar" busybox2
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B up -d --wait --wait-timeout 90 -f "$PODS/vip.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        # web resolves to one VIP from the service range, rr to both replicas
        eventually resolves_to two client web 1 10.96. || { in_svc two client "nslookup web"; false; }
        run resolves_to two client web 0 10.213.6.
        [ "$status" -eq 0 ]
        eventually resolves_to two client rr 2 10.213.6.
        # the VIP is in berth's nft table with both replicas as backends
        run nft list ruleset
        # (an element "VIP . tcp . PORT : goto svc-..." of the services map, engine/net/nft.c)
        [[ "$output" =~ 10\.96\.[0-9]+\.[0-9]+\ \.\ tcp\ \.\ [0-9]+\ :\ goto\ svc- ]]
        assert_contains "$output" "numgen inc mod 2"
        # connections are spread over both replicas
        local i seen=
        for i in $(seq 6); do
                run fetch_vip
                [ "$status" -eq 0 ] || { echo "request $i failed: $output"; false; }
                seen="$seen${output%% *}"$'\n'
        done
        [ "$(printf '%s' "$seen" | sort -u | grep -c .)" -eq 2 ] || { echo "$seen"; false; }

        # The bridge takes the lowest MAC of its ports unless its address was set: removing
        # the port it took it from would change the gateway's MAC under the containers' ARP
        # caches and stall their traffic through the gateway. engine/net pins it (type 3:
        # NET_ADDR_SET).
        local br
        br=$(bridge_of two_default)
        [ "$(cat "/sys/class/net/$br/addr_assign_type")" = 3 ]
        # an image update, start-first one replica at a time: no request fails meanwhile
        WEB_IMAGE=busybox2 run B up -d -f "$PODS/vip.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        local done= n=0
        for i in $(seq 100); do
                run fetch_vip
                [ "$status" -eq 0 ] || { echo "request $i failed ($status): $output"; B stack ps -p two; nft list ruleset | grep 10.96.; false; }
                n=$((n + 1))
                if web_on_image busybox2; then
                        done=1
                        break
                fi
        done
        [ -n "$done" ] || { B stack ps -p two; false; }
        [ "$n" -ge 2 ]
        # after the update: the same VIP, only new replicas behind it
        for i in $(seq 4); do
                run fetch_vip
                [ "$status" -eq 0 ]
                assert_contains "$output" " v2"
        done

        # The VIP is an element of the daemon's services map ("10.96.x.y . tcp . 8080 : goto
        # svc-...") with a chain of its own: there now, gone after down.
        local tbl
        tbl=$(B info --format json | jq -r '.BerthNetwork.NftTable')
        [ -n "$tbl" ] && [ "$tbl" != null ]
        no_vip() { ! nft list table ip "$1" 2>/dev/null | grep -qE '10\.96\.|svc-'; }
        ! no_vip "$tbl" || { nft list table ip "$tbl"; false; }
        run B down -p two
        [ "$status" -eq 0 ]
        eventually no_containers
        eventually no_vip "$tbl" || { nft list table ip "$tbl"; false; }
}

web_count() { # N
        [ "$(B ps -q --filter name=two.web. | wc -l)" -eq "$1" ]
}

@test "pods: healing keeps the VIP: a deleted replica is recreated; after a daemon restart the name and VIP answer again" {
        run B up -d --wait --wait-timeout 90 -f "$PODS/vip.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        eventually fetch_vip
        client=$(ctr_of two client)
        # a deleted web container: the agent recreates its pod
        old=$(ctr_of two web)
        B rm -f "$old" >/dev/null
        eventually web_count 2
        B ps -q --no-trunc --filter name=two.web. | grep -qv "^$old"
        ! B ps -q --no-trunc | grep -q "^$old"
        eventually fetch_vip

        # a daemon restart: the containers stay, the agent re-sends the names and the VIP
        stop_daemon
        start_daemon --log-format text --bridge none
        [ "$(ctr_of two client)" = "$client" ]
        eventually resolves_to two client web 1 10.96.
        local i ok=0
        for i in $(seq 20); do
                fetch_vip >/dev/null 2>&1 && { ok=1; break; }
                sleep 0.5
        done
        [ "$ok" -eq 1 ] || { nft list ruleset | grep 10.96.; cat "$DAEMON_LOG"; false; }
        run nft list ruleset
        assert_contains "$output" "numgen inc mod 2"

        run B down -p two
        [ "$status" -eq 0 ]
        eventually no_containers
}

@test "pods: a replica reaches itself through its service's VIP and its own published port (hairpin)" {
        skip_unless_cmd wget
        run B up -d --wait --wait-timeout 60 -f "$PODS/hairpin.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        local id me gw
        id=$(ctr_of hp web)
        [ -n "$id" ]
        me=$(B exec "$id" hostname)
        eventually B exec "$id" timeout 5 wget -q -O /dev/null http://127.0.0.1:8080/
        # The only replica is the VIP's only backend: every request comes back to its own
        # bridge port.
        for i in 1 2 3; do
                run B exec "$id" timeout 5 wget -q -O - http://web:8080/
                [ "$status" -eq 0 ] && [ "$output" = "$me" ] || { echo "VIP request $i ($status): $output"; false; }
        done
        # The published port through the host's address on the network (the gateway).
        gw=$(B network inspect hp_default | jq -r '.[0].IPAM.Config[0].Gateway')
        [ "$gw" = 10.213.19.1 ]
        run B exec "$id" timeout 5 wget -q -O - "http://$gw:$WEB_PORT/"
        [ "$status" -eq 0 ] && [ "$output" = "$me" ] || { echo "published port ($status): $output"; false; }
        # The host end of the container's veth is in hairpin mode.
        local port
        port=$(ip -o link show master "$(bridge_of hp_default)" | awk -F': ' '{print $2}' | cut -d@ -f1)
        [ -n "$port" ]
        [ "$(cat "/sys/class/net/$port/brport/hairpin_mode")" = 1 ]

        run B down -p hp
        [ "$status" -eq 0 ]
        eventually no_containers
        eventually no_network hp_default
}

@test "pods: a Kubernetes ClusterIP Service gets a VIP: port 80 reaches targetPort 8080 on both replicas" {
        run B up -d --wait --wait-timeout 90 -p kv -f "$PODS/kube-vip.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        eventually resolves_to kv client websvc 1 10.96.
        local i seen=
        for i in $(seq 6); do
                run in_svc kv client 'timeout 5 wget -q -O - http://websvc/'
                [ "$status" -eq 0 ] || { echo "request $i failed: $output"; false; }
                seen="$seen$output"$'\n'
        done
        [ "$(printf '%s' "$seen" | sort -u | grep -c .)" -eq 2 ] || { echo "$seen"; false; }
        run B down -p kv
        [ "$status" -eq 0 ]
        eventually no_containers
        eventually no_network kv_default
}

@test "pods: a pod whose start fails is reported with why and retried with backoff, not in a loop" {
        run B up -d --wait --wait-timeout 3 -f "$PODS/badcmd.yaml"
        [ "$status" -ne 0 ] || { echo "$output"; false; }
        assert_contains "$output" "bad/1"
        assert_contains "$output" "/no/such/binary"
        run B stack ps -p two
        assert_contains "$output" "failed: "
        [ "$(echo "$output" | grep -c running)" -eq 1 ] || { echo "$output"; false; }
        # retried with backoff (100 ms doubling): a handful of creates in these seconds, where
        # recreating it on every pass made hundreds
        n=$(grep -c "Created pod 'two.bad" "$DAEMON_LOG" || true)
        [ "$n" -ge 1 ] && [ "$n" -le 15 ] || { echo "creates: $n"; false; }
}
