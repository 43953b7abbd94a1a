#!/usr/bin/env bats
# The routing mesh and overlay networks by default (docs/cluster.md "Routing mesh", "Overlay by
# default"): three agents in their own network namespaces ("hosts") on an underlay bridge, the
# controller in a fourth, and a fifth namespace with no berth in it as the outside client. A
# service's published port answers on every host, with or without a replica, and reaches a
# replica on any host; scaling adds a replica to every host's choice, scaling down takes it out;
# `down` leaves no rule. A stack network without a driver is an overlay in this cluster. Traffic
# stays inside the namespaces this file creates. Nothing asserts timings.

load helpers

setup() {
        skip_unless_cmd jq nft
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        cluster_setup 5
        start_workers
}

teardown() {
        cluster_teardown
}

# mesh_json NAME REPLICAS: service "web" (busybox httpd on 8080 answering its own address)
# on overlay network "mesh", published on port 30080 of every node, on the workers.
mesh_json() {
        cat <<JSON
{"version": 1, "name": "$1",
 "networks": {"mesh": {"name": "$1_mesh", "driver": "overlay", "driver_explicit": true}},
 "services": {"web": {"name": "web", "kind": "service", "replicas": $2,
   "hash": "0a00000000000000000000000000000000000000000000000000000000000001",
   "placement": {"constraints": ["node.role==worker"], "max_replicas_per_node": 1},
   "endpoint": {"mode": "vip", "ports": [{"port": 8080, "target": 8080, "protocol": "tcp"}]},
   "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
           "networks": {"mesh": {}},
           "containers": [{"name": "web", "image": "busybox",
                           "ports": [{"target": 8080, "published": "30080", "host_ip": "",
                                      "protocol": "tcp", "mode": "ingress"}],
                           "command": ["sh", "-c", "mkdir -p /www && ifconfig eth0 | grep 'inet addr' | cut -d: -f2 | cut -d' ' -f1 >/www/index.html && exec httpd -f -p 8080 -h /www"]}]}}}}
JSON
}

dump_state() {
        "${CTL[@]}" node ls || true
        "${CTL[@]}" stack ps -p "$1" || true
        tail -20 "$CTL_LOG" || true
        grep -h -A25 "AddressSanitizer\|runtime error\|Segmentation" "$TEST_TMP"/h*/err |
                head -80 || true
        for i in 2 3 4; do
                tail -8 "$TEST_TMP/h$i-node-$i/err" || true
                on_host "$i" nft list ruleset | grep -A3 "map ingress" || true
        done
}

pods_json() { "${CTL[@]}" --format json stack ps -p "$1"; }

n_running() {
        [ "$(pods_json "$1" | jq '[.[] | select(.state == "running")] | length')" -eq "$2" ]
}

# The overlay addresses of the running web replicas, one a line.
web_ips() {
        local i id
        for i in 2 3 4; do
                for id in $(agent_cli "$i" "node-$i" ps -q --filter label=berth.service=web); do
                        agent_cli "$i" "node-$i" inspect "$id" |
                                jq -r '.[0].NetworkSettings.Networks[]?.IPAddress'
                done
        done | grep . | sort -u
}

n_web_ips() { [ "$(web_ips | wc -l)" -eq "$1" ]; }

# What the outside client (host 5) gets from port 30080 of host I.
get_via() {
        on_host 5 timeout 5 "$BUSYBOX_BIN" wget -qO- "http://$(cl_addr "$1"):30080/"
}

answers_via() { [ "$(get_via "$1")" = "$2" ]; }

# The answers of N requests through host I, sorted and unique.
seen_via() {
        local i=$1 n=$2 k
        for k in $(seq "$n"); do
                get_via "$i" || echo "FAILED"
        done | sort -u
}

@test "mesh: a published port answers on every host and reaches a replica anywhere; scale up and down; down leaves no rule" {
        mesh_json m 1 >"$TEST_TMP/m.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/m.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running m 1 || { dump_state m; false; }
        eventually n_web_ips 1 || { dump_state m; false; }
        ip1=$(web_ips)
        # Every worker answers, the two without a replica included (a bounded wait: the
        # others learn of the network and the endpoint after the controller's next pass).
        for i in 2 3 4; do
                eventually answers_via "$i" "$ip1" || {
                        echo "host $i: '$(get_via "$i")' (want $ip1)"
                        dump_state m
                        false
                }
        done
        # Hosts without a replica have the overlay network (created for the mesh alone).
        for i in 2 3 4; do
                on_host "$i" ip -o link show type vxlan | grep -q "vx-" || { dump_state m; false; }
        done

        # Scale to 2: through any host, both replicas answer (round robin, 8 tries).
        mesh_json m 2 >"$TEST_TMP/m.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/m.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running m 2 || { dump_state m; false; }
        eventually n_web_ips 2 || { dump_state m; false; }
        ips=$(web_ips)
        both_via() { [ "$(seen_via "$1" 8)" = "$ips" ]; }
        for i in 2 3 4; do
                eventually both_via "$i" || {
                        echo "host $i answers: $(seen_via "$i" 8 | tr '\n' ' ') (want $ips)"
                        dump_state m
                        false
                }
        done

        # Scale back to 1: the stopped replica leaves every host's mesh; no request fails.
        mesh_json m 1 >"$TEST_TMP/m.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/m.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running m 1 || { dump_state m; false; }
        eventually n_web_ips 1 || { dump_state m; false; }
        left=$(web_ips)
        only_via() { [ "$(seen_via "$1" 6)" = "$left" ]; }
        for i in 2 3 4; do
                eventually only_via "$i" || {
                        echo "host $i answers: $(seen_via "$i" 6 | tr '\n' ' ') (want $left)"
                        dump_state m
                        false
                }
        done

        # down: no mesh port, service chain, SNAT or VXLAN device left on any host.
        run "${CTL[@]}" down -p m
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        clean() {
                ! on_host "$1" nft list ruleset | grep -q "30080\|svc-\|snat to" &&
                        [ -z "$(on_host "$1" ip -o link show type vxlan)" ]
        }
        for i in 1 2 3 4; do
                eventually clean "$i" || {
                        on_host "$i" nft list ruleset
                        false
                }
        done
        run get_via 2
        [ "$status" -ne 0 ]
}

@test "mesh: a port another stack's mesh publishes is refused naming it, nothing created" {
        mesh_json m 1 >"$TEST_TMP/m.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/m.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        mesh_json n 1 >"$TEST_TMP/n.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/n.json"
        [ "$status" -ne 0 ]
        [[ "$output" == *"services.web.ports: host port 30080/tcp is already published by service 'web' of stack 'm'"* ]] || {
                echo "$output"
                false
        }
        run "${CTL[@]}" ls
        [[ "$output" != *$'\nn '* ]] || { echo "$output"; false; }
        run "${CTL[@]}" down -p m
        [ "$status" -eq 0 ]
}

@test "overlay by default: a stack network without a driver spans the hosts; replicas on two hosts reach each other by name" {
        mkdir -p "$TEST_TMP/d"
        cat >"$TEST_TMP/d/compose.yaml" <<'YAML'
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && ifconfig eth0 | grep 'inet addr' | cut -d: -f2 | cut -d' ' -f1 >/www/index.html && exec httpd -f -p 8080 -h /www"]
    expose: ["8080"]
    deploy:
      replicas: 2
      placement:
        constraints: ["node.role==worker"]
        max_replicas_per_node: 1
YAML
        run "${CTL[@]}" up -d -p d -f "$TEST_TMP/d/compose.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running d 2 || { dump_state d; false; }
        hosts=()
        for i in 2 3 4; do
                id=$(agent_cli "$i" "node-$i" ps -q --filter label=berth.service=web | head -1)
                [ -n "$id" ] && hosts+=("$i")
        done
        [ "${#hosts[@]}" -eq 2 ] || { dump_state d; false; }
        a=${hosts[0]} b=${hosts[1]}
        # The network was made an overlay by the controller (no driver in the file).
        drv=$(agent_cli "$a" "node-$a" network inspect d_default | jq -r '.[0].Driver')
        [ "$drv" = "overlay" ] || { echo "driver '$drv'"; false; }
        ida=$(agent_cli "$a" "node-$a" ps -q --filter label=berth.service=web | head -1)
        idb=$(agent_cli "$b" "node-$b" ps -q --filter label=berth.service=web | head -1)
        ipb=$(agent_cli "$b" "node-$b" inspect "$idb" | jq -r '.[0].NetworkSettings.Networks[]?.IPAddress')
        podb=$(pods_json d | jq -r --arg n "node-$b" '.[] | select(.node == $n) | .id' | head -1)
        [ -n "$podb" ] && [ -n "$ipb" ]
        by_name() {
                [ "$(agent_cli "$a" "node-$a" exec "$ida" timeout 5 wget -qO- "http://$podb:8080/")" = "$ipb" ]
        }
        eventually by_name || {
                agent_cli "$a" "node-$a" exec "$ida" nslookup "$podb" || true
                dump_state d
                false
        }
        # The service name resolves too (to its VIP, across the hosts).
        vip=$(agent_cli "$a" "node-$a" exec "$ida" nslookup web 2>/dev/null | awk '/^Address/ {x=$NF} END {print x}')
        case "$vip" in 10.96.*) ;; *) echo "web resolves to '$vip'"; false ;; esac
        run "${CTL[@]}" down -p d
        [ "$status" -eq 0 ]
}

@test "mesh: a Kubernetes NodePort answers on every host, on the cluster's default overlay network" {
        # The controller's own node may get the pod: it needs the image too.
        "${CTL[@]}" import -c 'CMD ["sh"]' "$TEST_TMP/busybox.tar" busybox >/dev/null
        cat >"$TEST_TMP/k.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers:
      - name: hello
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && echo hello-nodeport >/www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  type: NodePort
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080, nodePort: 30090}]
YAML
        run "${CTL[@]}" up -d -p k -f "$TEST_TMP/k.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running k 1 || { dump_state k; false; }
        np_via() {
                [ "$(on_host 5 timeout 5 "$BUSYBOX_BIN" wget -qO- "http://$(cl_addr "$1"):30090/")" = "hello-nodeport" ]
        }
        for i in 1 2 3 4; do
                eventually np_via "$i" || { echo "host $i"; dump_state k; false; }
        done
        run "${CTL[@]}" down -p k
        [ "$status" -eq 0 ]
        gone() { ! on_host "$1" nft list ruleset | grep -q "30090"; }
        for i in 1 2 3 4; do
                eventually gone "$i" || { on_host "$i" nft list ruleset; false; }
        done
}

# The overlay address of the first web container on host I (its id in $2).
ctr_ip() {
        agent_cli "$1" "node-$1" inspect "$2" | jq -r '.[0].NetworkSettings.Networks[]?.IPAddress'
}

@test "overlay egress: a container on a driver-less stack network reaches a server outside the cluster and publishes a port on its host; down leaves no rule" {
        # The outside server: busybox httpd in host 5 (no berth there), on the underlay only.
        mkdir -p "$TEST_TMP/www"
        echo outside-ok >"$TEST_TMP/www/index.html"
        on_host_bg 5 "$BUSYBOX_BIN" httpd -f -p 8099 -h "$TEST_TMP/www" &
        CL_PIDS+=($!)
        mkdir -p "$TEST_TMP/e"
        cat >"$TEST_TMP/e/compose.yaml" <<'YAML'
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo published-ok >/www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{target: 8080, published: "18085", mode: host}]
    deploy:
      placement:
        constraints: ["node.role==worker"]
YAML
        run "${CTL[@]}" up -d -p e -f "$TEST_TMP/e/compose.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running e 1 || { dump_state e; false; }
        h=
        for i in 2 3 4; do
                id=$(agent_cli "$i" "node-$i" ps -q --filter label=berth.service=web | head -1)
                [ -n "$id" ] && { h=$i; break; }
        done
        [ -n "$h" ] || { dump_state e; false; }
        drv=$(agent_cli "$h" "node-$h" network inspect e_default | jq -r '.[0].Driver')
        [ "$drv" = "overlay" ] || { echo "driver '$drv'"; false; }
        subnet=$(agent_cli "$h" "node-$h" network inspect e_default | jq -r '.[0].IPAM.Config[0].Subnet')
        [ -n "$subnet" ] && [ "$subnet" != null ]
        # The default route is the host's own overlay address (on its bridge, not the gateway).
        route=$(agent_cli "$h" "node-$h" exec "$id" ip route)
        gw=$(agent_cli "$h" "node-$h" network inspect e_default | jq -r '.[0].IPAM.Config[0].Gateway')
        [[ "$route" == *"default via "* && "$route" != *"default via $gw "* ]] || {
                echo "$route (gateway $gw)"
                false
        }
        # Out of the cluster: to the underlay address of host 5, masqueraded by host h.
        egress() {
                [ "$(agent_cli "$h" "node-$h" exec "$id" timeout 5 wget -qO- "http://$(cl_addr 5):8099/")" = "outside-ok" ]
        }
        eventually egress || {
                echo "$route"
                on_host "$h" nft list ruleset
                dump_state e
                false
        }
        # A port the container publishes on its host (host mode, not the mesh) answers there.
        published() {
                [ "$(on_host 5 timeout 5 "$BUSYBOX_BIN" wget -qO- "http://$(cl_addr "$h"):18085/")" = "published-ok" ]
        }
        eventually published || { on_host "$h" nft list ruleset; dump_state e; false; }
        # down: no rule naming the overlay subnet on any host.
        run "${CTL[@]}" down -p e
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        clean() { ! on_host "$1" nft list ruleset | grep -qF "$subnet"; }
        for i in 1 2 3 4; do
                eventually clean "$i" || { on_host "$i" nft list ruleset; false; }
        done
}

@test "mesh: two replicas with a fixed published port answer on every host; on a bridge network the same file is refused, nothing created" {
        mkdir -p "$TEST_TMP/r"
        cat >"$TEST_TMP/r/compose.yaml" <<'YAML'
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo replicas-ok >/www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["8080:80"]
    deploy:
      replicas: 2
      placement:
        constraints: ["node.role==worker"]
YAML
        run "${CTL[@]}" up -d -p r -f "$TEST_TMP/r/compose.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running r 2 || { dump_state r; false; }
        r_via() {
                [ "$(on_host 5 timeout 5 "$BUSYBOX_BIN" wget -qO- "http://$(cl_addr "$1"):8080/")" = "replicas-ok" ]
        }
        for i in 1 2 3 4; do
                eventually r_via "$i" || { echo "host $i"; dump_state r; false; }
        done
        run "${CTL[@]}" down -p r
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # The same service on a bridge network: every replica would bind 8080 on its node.
        cat >>"$TEST_TMP/r/compose.yaml" <<'YAML'
networks:
  default:
    driver: bridge
YAML
        run "${CTL[@]}" up -d -p r2 -f "$TEST_TMP/r/compose.yaml"
        [ "$status" -ne 0 ]
        [[ "$output" == *"services.web.ports: host port 8080 is published by 2 replicas (use a range or drop the host port)"* ]] || {
                echo "$output"
                false
        }
        run "${CTL[@]}" ls
        [[ "$output" != *"r2"* ]] || { echo "$output"; false; }
}
