#!/usr/bin/env bats
# Overlay networks across hosts (docs/cluster.md "Overlay networks"): three agents, each in its
# own network namespace ("host") on an underlay bridge, the controller in a fourth. A stack on a
# `driver: overlay` network with a busybox httpd service spread over the hosts: a container on
# one host reaches a replica on another by address, by container name, by service name and by
# VIP; every remote endpoint is a static FDB entry (no flooding, no learning); after a failover
# the entries follow the pod; `down` leaves nothing on any host. Traffic stays inside the
# namespaces this file creates. Nothing asserts timings.

load helpers

setup() {
        skip_unless_cmd jq bridge nft
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        cluster_setup 4
        start_workers
}

teardown() {
        cluster_teardown
}

# stack_json NAME REPLICAS [SUBNET]: service "web" (busybox httpd on 8080 answering its own
# address, VIP port 80) on overlay network "mesh", on the workers.
stack_json() {
        local sub=""
        [ -n "${3:-}" ] && sub=", \"subnet\": \"$3\""
        cat <<JSON
{"version": 1, "name": "$1",
 "networks": {"mesh": {"name": "$1_mesh", "driver": "overlay"$sub}},
 "services": {"web": {"name": "web", "kind": "service", "replicas": $2,
   "hash": "0a00000000000000000000000000000000000000000000000000000000000001",
   "placement": {"constraints": ["node.role==worker"]},
   "endpoint": {"mode": "vip", "ports": [{"port": 80, "target": 8080, "protocol": "tcp"}]},
   "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
           "networks": {"mesh": {"aliases": ["www"]}},
           "containers": [{"name": "web", "image": "busybox",
                           "command": ["sh", "-c", "mkdir -p /www && ifconfig eth0 | grep 'inet addr' | cut -d: -f2 | cut -d' ' -f1 >/www/index.html && exec httpd -f -p 8080 -h /www"]}]}}}}
JSON
}

dump_state() {
        "${CTL[@]}" node ls
        "${CTL[@]}" stack ps -p "$1"
        tail -20 "$CTL_LOG"
        for i in 2 3 4; do tail -8 "$TEST_TMP/h$i-node-$i/err"; done
}

pods_json() { "${CTL[@]}" --format json stack ps -p "$1"; }

n_running() {
        [ "$(pods_json "$1" | jq '[.[] | select(.state == "running")] | length')" -eq "$2" ]
}

# The web container on agent node-I (its id), and its overlay address.
web_on() { agent_cli "$1" "node-$1" ps -q --filter label=berth.service=web | head -1; }
has_web() { [ -n "$(web_on "$1")" ]; }
web_ip_on() {
        agent_cli "$1" "node-$1" inspect "$(web_on "$1")" |
                jq -r '.[0].NetworkSettings.Networks[]?.IPAddress' | head -1
}
web_mac_on() {
        agent_cli "$1" "node-$1" inspect "$(web_on "$1")" |
                jq -r '.[0].NetworkSettings.Networks[]?.MacAddress' | head -1
}
exec_on() { # I CMD...: runs CMD in node-I's web container
        local i=$1
        shift
        agent_cli "$i" "node-$i" exec "$(web_on "$i")" "$@"
}

# The VXLAN devices on host I.
vxlans_on() { on_host "$1" ip -o link show type vxlan | awk -F': ' '{print $2}' | cut -d@ -f1; }

# Whether host I has a static FDB entry MAC -> VTEP on its VXLAN device.
fdb_has() { on_host "$1" bridge fdb show | grep -qi "^$2 dev vx-.* dst $3 .*self permanent"; }

fetch() { # I URL: what node-I's web container gets from URL
        exec_on "$1" timeout 5 wget -qO- "$2"
}
fetch_is() { [ "$(fetch "$1" "$2")" = "$3" ]; } # I URL WANT

# Whether host I's service chains DNAT to every IP:8080 given: the agent puts a remote replica
# behind the VIP once the controller tells it the replica is ready (its node reported it
# running), later than the replica's FDB entry, which exists from its address's allocation on.
vip_has() { # I IP...
        local i=$1 rules ip
        shift
        rules=$(on_host "$i" nft list ruleset) || return 1
        for ip in "$@"; do
                # (a map element "IP . 8080", or "dnat to IP:8080" for a single backend)
                grep -qF -e "$ip . 8080" -e "to $ip:8080" <<<"$rules" || return 1
        done
}

@test "overlay: across hosts by address, names and VIP; FDB entries per endpoint; they follow a moved pod; down leaves nothing" {
        stack_json ov 3 >"$TEST_TMP/ov.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/ov.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running ov 3 || { dump_state ov; false; }
        for i in 2 3 4; do
                eventually has_web "$i" || { dump_state ov; false; }
                [ "$(vxlans_on "$i" | wc -l)" -eq 1 ]
        done
        ip2=$(web_ip_on 2)
        ip3=$(web_ip_on 3)
        ip4=$(web_ip_on 4)
        mac3=$(web_mac_on 3)
        [ -n "$ip3" ] && [ "$ip3" != "$ip2" ] && [ "$ip3" != "$ip4" ]
        # One subnet across the hosts, from the controller.
        [ "${ip2%.*}" = "${ip3%.*}" ]

        # No flooding needed: host 2 has a static entry for every remote endpoint.
        eventually fdb_has 2 "$mac3" "$(cl_addr 3)" || {
                on_host 2 bridge fdb show
                dump_state ov
                false
        }
        eventually fdb_has 2 "$(web_mac_on 4)" "$(cl_addr 4)"
        [ "$(on_host 2 ip -d link show type vxlan | grep -c 'nolearning')" -eq 1 ]

        # By address (bounded wait: "running" is the container's state, its httpd listens a
        # moment later).
        eventually fetch_is 2 "http://$ip3:8080/" "$ip3" || {
                run fetch 2 "http://$ip3:8080/"
                echo "status $status: $output (ip2 $ip2 ip3 $ip3)"
                on_host 2 bridge fdb show | grep vx-
                on_host 2 ip neigh show
                on_host 2 ip -d link show type vxlan
                on_host 2 ip addr
                exec_on 2 ip addr
                exec_on 2 ip route
                exec_on 2 ip neigh
                exec_on 3 ip addr
                exec_on 3 ps
                false
        }
        # By the remote pod's container name (alias www is on every replica).
        pod3=$(pods_json ov | jq -r --arg n node-3 '.[] | select(.node == $n) | .id' | head -1)
        [ -n "$pod3" ]
        run fetch 2 "http://$pod3:8080/"
        [ "$status" -eq 0 ] && [ "$output" = "$ip3" ] || { echo "$output"; false; }
        # By service name: it resolves to the VIP, which balances over the replicas, two of
        # them on other hosts (the third is the client itself, which a bridge port does not
        # reach without hairpin mode).
        vip=$(exec_on 2 nslookup web 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}')
        case "$vip" in 10.96.*) ;; *) echo "web resolves to '$vip'"; false ;; esac
        eventually vip_has 2 "$ip3" "$ip4" || { on_host 2 nft list ruleset; dump_state ov; false; }
        seen=""
        for k in $(seq 9); do
                out=$(fetch 2 "http://web/" || true)
                seen="$seen $out"
        done
        echo "$seen" | tr ' ' '\n' | grep -qx "$ip3" || { echo "VIP answers: $seen"; false; }
        echo "$seen" | tr ' ' '\n' | grep -qx "$ip4" || { echo "VIP answers: $seen"; false; }
        run fetch 3 "http://$vip/"
        [ "$status" -eq 0 ]

        # Node 4 dies: its replica starts elsewhere, and the others' entries follow it.
        mac4=$(web_mac_on 4)
        kill -KILL "${AGENT_PIDS[4]}"
        moved() {
                pods_json ov | jq -e '[.[] | select(.state == "running" and .node != "node-4")] |
                        length == 3' >/dev/null
        }
        eventually moved || { dump_state ov; false; }
        gone4() { ! on_host 2 bridge fdb show | grep -qi "^$mac4 dev vx-.* dst "; }
        eventually gone4 || { on_host 2 bridge fdb show; false; }
        # The replacement runs on node-2 or node-3 with a new address; the other one of them
        # has an entry for it.
        for i in 2 3; do
                n=$(agent_cli "$i" "node-$i" ps -q --filter label=berth.service=web | wc -l)
                [ "$n" -eq 2 ] && host=$i
        done
        [ -n "${host:-}" ] || { dump_state ov; false; }
        other=$((5 - host))
        newmac=$(agent_cli "$host" "node-$host" ps -q --filter label=berth.service=web |
                while read -r id; do
                        agent_cli "$host" "node-$host" inspect "$id" |
                                jq -r '.[0].NetworkSettings.Networks[]?.MacAddress'
                done | grep -vix "$(web_mac_on "$host")" | head -1)
        [ -n "$newmac" ]
        eventually fdb_has "$other" "$newmac" "$(cl_addr "$host")" || {
                on_host "$other" bridge fdb show
                false
        }

        # down: no VXLAN device, FDB entry, bridge or rule left on the live hosts.
        run "${CTL[@]}" down -p ov
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # (the agent deletes the devices first and rewrites its rules after: wait for all of it)
        for i in 2 3; do
                all_gone() {
                        [ -z "$(vxlans_on "$1")" ] &&
                                ! on_host "$1" bridge fdb show | grep -q "dev vx-" &&
                                ! on_host "$1" ip -o link show type bridge | grep -q "br-" &&
                                ! on_host "$1" nft list ruleset | grep -q "snat to"
                }
                eventually all_gone "$i" || {
                        vxlans_on "$i"
                        on_host "$i" nft list ruleset
                        false
                }
        done
}

@test "overlay: a subnet overlapping another network is refused, nothing created" {
        stack_json a 1 10.140.0.0/16 >"$TEST_TMP/a.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/a.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        stack_json b 1 10.140.3.0/24 >"$TEST_TMP/b.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/b.json"
        [ "$status" -ne 0 ]
        [[ "$output" == *"networks.mesh.subnet: '10.140.3.0/24' overlaps network 'a_mesh' (10.140.0.0/16)"* ]] || {
                echo "$output"
                false
        }
        run "${CTL[@]}" ls
        [[ "$output" != *" b "* ]] && [[ "$output" != *$'\nb '* ]] || { echo "$output"; false; }
        run "${CTL[@]}" down -p a
        [ "$status" -eq 0 ]
}

# tracks I SRC DST PORT: whether host I's conntrack table has a flow SRC -> DST:PORT.
tracks() { on_host "$1" grep -q "src=$2 dst=$3 .*dport=$4 " /proc/net/nf_conntrack; }

@test "overlay: container to container frames and the VXLAN packets are not tracked, VIP flows are; isolation rules unchanged" {
        [ -r /proc/net/nf_conntrack ] || skip "no /proc/net/nf_conntrack"
        stack_json fp 2 >"$TEST_TMP/fp.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/fp.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running fp 2 || { dump_state fp; false; }
        read -r a b < <(pods_json fp | jq -r '[.[] | .node | ltrimstr("node-")] | sort | join(" ")')
        [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] || { dump_state fp; false; }
        eventually has_web "$a"
        eventually has_web "$b"
        ipa=$(web_ip_on "$a")
        ipb=$(web_ip_on "$b")
        eventually fdb_has "$a" "$(web_mac_on "$b")" "$(cl_addr "$b")"

        # By address across hosts: it works (once the replica's httpd listens: bounded wait),
        # and neither host keeps state for it.
        eventually fetch_is "$a" "http://$ipb:8080/" "$ipb" || {
                run fetch "$a" "http://$ipb:8080/"
                echo "status $status: $output"
                false
        }
        for h in "$a" "$b"; do
                ! tracks "$h" "$ipa" "$ipb" 8080 || { on_host "$h" cat /proc/net/nf_conntrack; false; }
                ! on_host "$h" grep -q "dport=4789 " /proc/net/nf_conntrack
                on_host "$h" nft list ruleset | grep -q "ip daddr $(cl_addr "$h") udp dport 4789 notrack"
        done
        # The VIP (DNAT, then SNAT to the node's address) is tracked on the client's host, and
        # the remote replica answers through it.
        vip=$(exec_on "$a" nslookup web 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}')
        case "$vip" in 10.96.*) ;; *) echo "web resolves to '$vip'"; false ;; esac
        eventually vip_has "$a" "$ipb" || { on_host "$a" nft list ruleset; dump_state fp; false; }
        seen=""
        for k in $(seq 9); do
                out=$(fetch "$a" "http://$vip/" || true)
                seen="$seen $out"
        done
        echo "$seen" | tr ' ' '\n' | grep -qx "$ipb" || { echo "VIP answers: $seen"; false; }
        tracks "$a" "$ipa" "$vip" 80 || { on_host "$a" cat /proc/net/nf_conntrack; false; }
        # Frames that stay on the overlay bridge are accepted first; the isolation rules for
        # frames that change bridge are all still there.
        # (the network's host device: a macvlan child of the VXLAN device, "br-<id>@vx-<id>")
        br=$(on_host "$a" ip -o link | awk -F': ' '$2 ~ /^br-/ {print $2; exit}' | cut -d@ -f1)
        fwd=$(on_host "$a" nft list ruleset | sed -n '/chain forward {/,/}/p')
        [ "$(echo "$fwd" | sed -n '3s/^[[:space:]]*//p')" = "iifname \"$br\" oifname \"$br\" accept" ] ||
                { echo "$fwd"; false; }
        rules=$(on_host "$a" nft list ruleset)
        grep -qF "iifname \"$br\" oifname != \"$br\" drop" <<<"$rules"
        grep -qF "iifname \"$br\" oifname != \"$br\" oifname { \"berth*\", \"br-*\" } drop" <<<"$rules"

        run "${CTL[@]}" down -p fp
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # (the agent deletes the devices first and rewrites its rules after: wait for both)
        for h in "$a" "$b"; do
                all_gone() {
                        ! on_host "$1" ip -o link | grep -q " br-" &&
                                ! on_host "$1" nft list ruleset | grep -q "notrack"
                }
                eventually all_gone "$h" || {
                        on_host "$h" ip -o link
                        on_host "$h" nft list ruleset
                        false
                }
        done
}

# dp_json NAME [OPTIONS_JSON]: service "web" (2 replicas, both on node-2) and "far" (1, on
# node-3), busybox httpd on 8080 answering its own address, on overlay network "mesh".
dp_json() {
        local opts=""
        [ -n "${2:-}" ] && opts=", \"options\": $2"
        local svc='"kind": "service", "hash": "0b00000000000000000000000000000000000000000000000000000000000001",
   "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000, "networks": {"mesh": {}},
           "containers": [{"name": "web", "image": "busybox",
                           "command": ["sh", "-c", "mkdir -p /www && ifconfig eth0 | grep '"'"'inet addr'"'"' | cut -d: -f2 | cut -d'"'"' '"'"' -f1 >/www/index.html && exec httpd -f -p 8080 -h /www"]}]}'
        cat <<JSON
{"version": 1, "name": "$1",
 "networks": {"mesh": {"name": "$1_mesh", "driver": "overlay"$opts}},
 "services": {"web": {"name": "web", "replicas": 2, $svc,
                      "placement": {"constraints": ["node.hostname==node-2"]}},
              "far": {"name": "far", "replicas": 1, $svc,
                      "placement": {"constraints": ["node.hostname==node-3"]}}}}
JSON
}

# svc_ids I SERVICE: the ids of SERVICE's containers on node-I; svc_ip I ID; svc_pid I ID.
svc_ids() { agent_cli "$1" "node-$1" ps -q --filter "label=berth.service=$2"; }
svc_ip() {
        agent_cli "$1" "node-$1" inspect "$2" | jq -r '.[0].NetworkSettings.Networks[]?.IPAddress' | head -1
}
svc_pid() { agent_cli "$1" "node-$1" inspect "$2" | jq -r '.[0].State.Pid'; }
get_from() { # I ID URL
        agent_cli "$1" "node-$1" exec "$2" timeout 5 wget -qO- "$3"
}
n_ids() { [ "$(svc_ids "$1" "$2" | wc -l)" -eq "$3" ]; }

# dp_traffic: web 1 -> web 2 on node-2 (same host), web 1 -> far (node-3), far -> web 2, and
# names through the embedded DNS on the host's address.
dp_traffic() {
        local w f ip2 ipf
        mapfile -t w < <(svc_ids 2 web | sort)
        f=$(svc_ids 3 far | head -1)
        [ "${#w[@]}" -eq 2 ] && [ -n "$f" ] || return 1
        ip2=$(svc_ip 2 "${w[1]}")
        ipf=$(svc_ip 3 "$f")
        [ "$(get_from 2 "${w[0]}" "http://$ip2:8080/")" = "$ip2" ] || { echo "same host: ${w[0]} -> $ip2"; return 1; }
        [ "$(get_from 2 "${w[0]}" "http://$ipf:8080/")" = "$ipf" ] || { echo "cross host: ${w[0]} -> $ipf"; return 1; }
        [ "$(get_from 3 "$f" "http://$ip2:8080/")" = "$ip2" ] || { echo "cross host: $f -> $ip2"; return 1; }
        [ "$(get_from 2 "${w[0]}" "http://far:8080/")" = "$ipf" ] || { echo "by name: ${w[0]} -> far"; return 1; }
}

@test "overlay data path: containers get macvlan children of the VXLAN device (no veth, no bridge); same-host and cross-host traffic; an agent restart keeps them; icc=false keeps the bridge" {
        dp_json dp >"$TEST_TMP/dp.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/dp.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_running dp 3 || { dump_state dp; false; }
        eventually n_ids 2 web 2 || { dump_state dp; false; }
        eventually n_ids 3 far 1 || { dump_state dp; false; }
        vx=$(vxlans_on 2)
        [ "$(echo "$vx" | wc -l)" -eq 1 ]
        # Host 2: the VXLAN device, one macvlan child of it with the host's addresses, no
        # bridge and no veth of the network; every container's eth0 is a macvlan child too.
        host_if=$(on_host 2 ip -o link show type macvlan | awk -F': ' '{print $2}')
        [ "${host_if%@*}" = "br-${vx#vx-}" ] && [ "${host_if#*@}" = "$vx" ] || { echo "$host_if"; false; }
        on_host 2 ip -o -4 addr show "${host_if%@*}" | grep -q "inet .*/"
        ! on_host 2 ip -o link show type bridge | grep -q "br-"
        ! on_host 2 ip -o link show type veth | grep -q " vb"
        [ "$(agent_cli 2 node-2 network inspect dp_mesh | jq -r '.[0].Options["berth.overlay.datapath"]')" = macvlan ]
        for id in $(svc_ids 2 web); do
                pid=$(svc_pid 2 "$id")
                nsenter -t "$pid" -n ip -d link show eth0 | grep -q "macvlan mode bridge" || {
                        nsenter -t "$pid" -n ip -d link show eth0
                        false
                }
                nsenter -t "$pid" -n ip link show eth0 | grep -q "mtu 1450"
        done
        eventually dp_traffic || { dump_state dp; false; }

        # An agent restart: the containers keep their interfaces and their traffic; the
        # network is adopted as it is (one VXLAN device, one host child).
        before=$(svc_ids 2 web | sort | tr '\n' ' ')
        cl_stop_pid "${AGENT_PIDS[2]}"
        start_agent 2 node-2 --token "$CL_TOKEN" --heartbeat 0.5 --log-format text
        AGENT_PIDS[2]=$AGENT_PID
        wait_for_socket "$TEST_TMP/h2-node-2/run/berth.sock"
        eventually n_ids 2 web 2 || { dump_state dp; false; }
        [ "$(svc_ids 2 web | sort | tr '\n' ' ')" = "$before" ] || { dump_state dp; false; }
        [ "$(vxlans_on 2)" = "$vx" ]
        [ "$(on_host 2 ip -o link show type macvlan | wc -l)" -eq 1 ]
        eventually dp_traffic || { dump_state dp; false; }

        run "${CTL[@]}" down -p dp
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        for i in 2 3; do
                all_gone() {
                        [ -z "$(vxlans_on "$1")" ] &&
                                [ -z "$(on_host "$1" ip -o link show type macvlan)" ] &&
                                ! on_host "$1" ip -o link show type bridge | grep -q "br-" &&
                                ! on_host "$1" nft list ruleset | grep -q "snat to"
                }
                eventually all_gone "$i" || {
                        on_host "$i" ip -o link
                        on_host "$i" nft list ruleset
                        false
                }
        done

        # icc=false: macvlan cannot keep the containers of a host apart, the bridge does.
        dp_json noicc '{"com.docker.network.bridge.enable_icc": "false"}' >"$TEST_TMP/noicc.json"
        run "${CTL[@]}" up -d -f "$TEST_TMP/noicc.json"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        eventually n_ids 2 web 2 || { dump_state noicc; false; }
        on_host 2 ip -o link show type bridge | grep -q "br-"
        [ -z "$(on_host 2 ip -o link show type macvlan)" ]
        [ "$(agent_cli 2 node-2 network inspect noicc_mesh | jq -r '.[0].Options["berth.overlay.datapath"]')" = bridge ]
        eventually n_ids 3 far 1 || { dump_state noicc; false; }
        mapfile -t w < <(svc_ids 2 web | sort)
        ip2=$(svc_ip 2 "${w[1]}")
        ipf=$(svc_ip 3 "$(svc_ids 3 far | head -1)")
        [ -n "$ip2" ] && [ -n "$ipf" ]
        # across hosts it flows (through the VXLAN port), between the two on host 2 it does not
        far_ok() { [ "$(get_from 2 "${w[0]}" "http://$ipf:8080/")" = "$ipf" ]; }
        eventually far_ok || { dump_state noicc; false; }
        run get_from 2 "${w[0]}" "http://$ip2:8080/"
        [ "$status" -ne 0 ] || { echo "icc=false: ${w[0]} reached $ip2: $output"; false; }
        run "${CTL[@]}" down -p noicc
        [ "$status" -eq 0 ] || { echo "$output"; false; }
}
