#!/usr/bin/env bats
# Networks and volumes through the daemon and the CLI: user networks, DNS names, published TCP
# and UDP ports, --internal, connect/disconnect, restarts, cleanup, errors; volume commands.
# Needs root. Traffic goes only to loopback and to the containers the tests create. Networks get
# explicit subnets (the pools may be taken by other daemons' networks). Each daemon root has its
# own nft tables and default bridge ($NFT below, see berth_net_instance in helpers.bash).

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
BERTH_HELPERS=${BERTH_HELPERS:-$BERTH_SRC/build/helpers}

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        local r=$BATS_FILE_TMPDIR/rootfs a
        mkdir -p "$r/bin" "$r/etc" "$r/tmp"
        cp "$BUSYBOX_BIN" "$r/bin/busybox"
        for a in $("$BUSYBOX_BIN" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        [ -x "$BERTH_HELPERS/udpecho" ] && cp "$BERTH_HELPERS/udpecho" "$r/bin/udpecho"
        printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
        printf 'root:x:0:\n' >"$r/etc/group"
        tar -C "$r" -cf "$BATS_FILE_TMPDIR/busybox.tar" .
}

setup() {
        skip_unless_root
        skip_unless_cmd nft ip jq curl
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        setup_tmp
        NFT=$(berth_net_instance "$TEST_TMP/root")
        EXTRA_HOSTS=()
}

# Starts the daemon (default: --bridge none, so that the test owns every network it sees) and
# imports busybox.
net_daemon() {
        if [ $# -eq 0 ]; then set -- --bridge none; fi
        start_daemon --log-format text "$@"
        run "$BERTH" import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

teardown() {
        local h ids
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                EXTRA_HOSTS+=("$BERTH_HOST")
        fi
        for h in "${EXTRA_HOSTS[@]}"; do
                ids=$(BERTH_HOST=$h "$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && BERTH_HOST=$h "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                BERTH_HOST=$h "$BERTH" network prune -f >/dev/null 2>&1 || true
        done
        teardown_tmp
}

B() { "$BERTH" "$@"; }

# A host port nothing listens on (checked by binding it with busybox nc briefly is racy; the
# kernel's ephemeral range is avoided).
free_port() {
        local p
        for p in $(seq $((20000 + RANDOM % 9000)) 29999); do
                if ! ss -Hltun 2>/dev/null | awk '{print $5}' | grep -qE "[:.]$p\$"; then
                        echo "$p"
                        return 0
                fi
        done
        return 1
}

short() { B inspect -f '{{.Id}}' "$1" | cut -c1-12; }

@test "containers on a user network reach each other by name and alias, not across networks" {
        net_daemon
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B network create --subnet 10.241.2.0/24 n2 >/dev/null
        B run -d --name srv --network n1 --network-alias web busybox httpd -f -p 80 -h /etc >/dev/null
        sid=$(short srv)
        run B run --rm --network n1 busybox wget -qO- http://srv/hostname
        [ "$status" -eq 0 ]
        [ "$output" = "$sid" ]
        run B run --rm --network n1 busybox wget -qO- http://web/hostname
        [ "$output" = "$sid" ]
        run B run --rm --network n1 busybox wget -qO- "http://$sid/hostname"
        [ "$output" = "$sid" ]
        ip=$(B inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' srv)
        run B run --rm --network n2 busybox nslookup srv
        [ "$status" -ne 0 ]
        n1if=$(bridge_of n1)
        B run -d --name probe --network n2 busybox sleep 300 >/dev/null
        nft list table ip "$NFT" | grep -q "$n1if"
        run B exec probe timeout 3 wget -qO- "http://$ip/hostname"
        [ "$status" -ne 0 ]
        [ "$output" != "$sid" ]
}

@test "a container on two networks resolves the members of both, and of no other network" {
        net_daemon
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B network create --subnet 10.241.2.0/24 n2 >/dev/null
        B network create --subnet 10.241.3.0/24 n3 >/dev/null
        B run -d --name a1 --network n1 busybox sleep 300 >/dev/null
        B run -d --name b2 --network n2 --network-alias bee busybox sleep 300 >/dev/null
        B run -d --name c3 --network n3 busybox sleep 300 >/dev/null
        B run -d --name both --network n1 --network n2 busybox sleep 300 >/dev/null
        run B exec both nslookup a1
        [ "$status" -eq 0 ]
        assert_contains "$output" 10.241.1.
        run B exec both nslookup b2
        [ "$status" -eq 0 ]
        assert_contains "$output" 10.241.2.
        run B exec both nslookup bee
        assert_contains "$output" 10.241.2.
        run B exec both nslookup c3
        [ "$status" -ne 0 ]
        # a1 (n1 only) does not see n2's members
        run B exec a1 nslookup b2
        [ "$status" -ne 0 ]
        # connecting at run time extends the view; disconnecting shrinks it
        B network connect n3 both
        run B exec both nslookup c3
        [ "$status" -eq 0 ]
        assert_contains "$output" 10.241.3.
        B network disconnect n3 both
        run B exec both nslookup c3
        [ "$status" -ne 0 ]
}

@test "a published TCP port answers from the host's loopback and from another container" {
        net_daemon
        port=$(free_port)
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B network create --subnet 10.241.2.0/24 n2 >/dev/null
        B run -d --name web --network n1 -p "$port:80" busybox httpd -f -p 80 -h /etc >/dev/null
        sid=$(short web)
        run curl -s --max-time 5 "http://127.0.0.1:$port/hostname"
        [ "$output" = "$sid" ]
        gw=$(B network inspect -f '{{(index .IPAM.Config 0).Gateway}}' n2 2>/dev/null ||
                B network inspect n2 | jq -r '.[0].IPAM.Config[0].Gateway')
        run B run --rm --network n2 busybox wget -qO- "http://$gw:$port/hostname"
        [ "$output" = "$sid" ]
        run B port web
        [ "$output" = "80/tcp -> 0.0.0.0:$port" ]
        j=$(B inspect web)
        assert_json "$j" '.[0].NetworkSettings.Ports."80/tcp"[0].HostPort' "$port"
        # the same port again: refused, nothing created
        run B run -d --name web2 --network n1 -p "$port:80" busybox true
        [ "$status" -ne 0 ]
        assert_contains "$output" "$port"
        run B ps -a -q --filter name=web2
        [ -z "$output" ]
}

@test "a published UDP port answers" {
        [ -x "$BERTH_HELPERS/udpecho" ] || skip "needs build/helpers/udpecho"
        net_daemon
        port=$(free_port)
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B run -d --name uu --network n1 -p "127.0.0.1:$port:5353/udp" busybox udpecho serve 5353 >/dev/null
        run "$BERTH_HELPERS/udpecho" send 127.0.0.1 "$port" hello
        [ "$status" -eq 0 ]
        [ "$output" = "echo:hello" ]
        run B run --rm --network n1 busybox udpecho send "$(B inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' uu)" 5353 direct
        [ "$output" = "echo:direct" ]
}

@test "-P publishes exposed ports on free host ports and records them" {
        net_daemon
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B run -d --name pp --network n1 -P --expose 80 busybox httpd -f -p 80 -h /etc >/dev/null
        port=$(B inspect pp | jq -r '.[0].NetworkSettings.Ports."80/tcp"[0].HostPort')
        [ -n "$port" ] && [ "$port" != null ] && [ "$port" -gt 0 ]
        run curl -s --max-time 5 "http://127.0.0.1:$port/hostname"
        [ "$output" = "$(short pp)" ]
        # berth port shows the host ports actually bound, like docker
        run B port pp
        [ "$status" -eq 0 ]
        [ "$output" = "80/tcp -> 0.0.0.0:$port" ]
        run B port pp 80
        [ "$output" = "0.0.0.0:$port" ]
        run B port pp 80/tcp
        [ "$output" = "0.0.0.0:$port" ]
        run B port pp 81
        [ "$status" -ne 0 ]
        assert_contains "$output" "no public port '81/tcp' published for 'pp'"
        run B port pp 80/xyz
        [ "$status" -ne 0 ]
        assert_contains "$output" "'80/xyz'"
        # -p with an empty host port, and an explicit one with an address
        fixed=$(free_port)
        B run -d --name p2 --network n1 -p 8080 -p "127.0.0.1:$fixed:90/udp" busybox sleep 300 >/dev/null
        run B port p2
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq 2 ]
        # sorted by container port
        [ "${lines[0]}" = "90/udp -> 127.0.0.1:$fixed" ]
        [[ "${lines[1]}" =~ ^8080/tcp\ -\>\ 0\.0\.0\.0:[0-9]+$ ]]
        [ "${lines[1]##*:}" != 0 ]
        B stop -t 1 p2 >/dev/null
        run B port p2
        [ "$status" -eq 0 ]
        [ -z "$output" ]
}

@test "an --internal network has no way out and cannot publish ports" {
        net_daemon
        B network create --subnet 10.241.3.0/24 --internal int >/dev/null
        assert_json "$(B network inspect int)" '.[0].Internal' true
        run B run --rm --network int busybox ip route
        [ "$status" -eq 0 ]
        [[ "$output" != *default* ]]
        B run -d --name aa --network int busybox sleep 300 >/dev/null
        run B run --rm --network int busybox ping -c1 -W2 aa
        [ "$status" -eq 0 ]
        run B run --rm --network int -p 28080:80 busybox true
        [ "$status" -ne 0 ]
        assert_contains "$output" "internal"
}

@test "network connect and disconnect work on running containers" {
        net_daemon
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B network create --subnet 10.241.2.0/24 n2 >/dev/null
        B run -d --name c1 --network n1 busybox sleep 300 >/dev/null
        B run -d --name c2 --network n2 busybox sleep 300 >/dev/null
        c2ip=$(B inspect -f '{{.NetworkSettings.Networks.n2.IPAddress}}' c2)
        run B exec c1 ping -c1 -W1 "$c2ip"
        [ "$status" -ne 0 ]
        B network connect --alias other n2 c1
        run B exec c1 ping -c1 -W2 "$c2ip"
        [ "$status" -eq 0 ]
        run B exec c2 ping -c1 -W2 other
        [ "$status" -eq 0 ]
        j=$(B inspect c1)
        [ "$(printf '%s' "$j" | jq -r '.[0].NetworkSettings.Networks | keys | join(",")')" = "n1,n2" ]
        id=$(B inspect -f '{{.Id}}' c1)
        assert_json "$(B network inspect n2)" ".[0].Containers.\"$id\".Name" c1
        run B network rm n2
        [ "$status" -ne 0 ]
        B network disconnect n2 c1
        run B exec c1 ip link show eth1
        [ "$status" -ne 0 ]
        run B exec c1 ping -c1 -W1 "$c2ip"
        [ "$status" -ne 0 ]
        run B network disconnect n2 c1
        [ "$status" -ne 0 ]
}

@test "--ip, --mac-address, aliases, resolv.conf and hosts of a container" {
        net_daemon
        B network create --subnet 10.213.7.0/24 --gateway 10.213.7.1 n3 >/dev/null
        B run -d --name ss --network n3 --ip 10.213.7.50 --mac-address 02:42:0a:d5:07:99 \
                --network-alias al --add-host h1:192.0.2.7 --dns-search example.test \
                --dns-option ndots:2 busybox sleep 300 >/dev/null
        j=$(B inspect ss)
        assert_json "$j" '.[0].NetworkSettings.Networks.n3.IPAddress' 10.213.7.50
        assert_json "$j" '.[0].NetworkSettings.Networks.n3.Gateway' 10.213.7.1
        assert_json "$j" '.[0].NetworkSettings.Networks.n3.MacAddress' 02:42:0a:d5:07:99
        assert_json "$j" '.[0].NetworkSettings.Networks.n3.Aliases | index("al") != null' true
        assert_json "$j" '.[0].NetworkSettings.IPAddress' 10.213.7.50
        run B exec ss cat /etc/resolv.conf
        [ "$(printf '%s\n' "$output" | head -1)" = "nameserver 10.213.7.1" ]
        assert_contains "$output" "search example.test"
        assert_contains "$output" "options ndots:2"
        [[ "$output" != *"nameserver 127."* ]]
        run B exec ss cat /etc/hosts
        assert_contains "$output" "10.213.7.50"
        assert_contains "$output" "192.0.2.7	h1"
        run B run --rm --network n3 busybox nslookup al 10.213.7.1
        assert_contains "$output" "10.213.7.50"
}

@test "--link sets the alias's environment and hosts entry" {
        net_daemon
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B run -d --name db --network n1 --expose 5432 busybox sleep 300 >/dev/null
        ip=$(B inspect -f '{{.NetworkSettings.IPAddress}}' db)
        run B run --rm --network n1 --link db:dbalias busybox sh -c 'env; cat /etc/hosts'
        [ "$status" -eq 0 ]
        assert_contains "$output" "DBALIAS_PORT_5432_TCP_ADDR=$ip"
        assert_contains "$output" "DBALIAS_PORT=tcp://$ip:5432"
        assert_contains "$output" "$ip	dbalias db"
}

@test "bad networks, addresses and ports are clear errors that create nothing" {
        net_daemon
        B network create --subnet 10.214.0.0/16 a >/dev/null
        run B network create --subnet 10.214.1.0/24 b
        [ "$status" -ne 0 ]
        assert_contains "$output" "overlaps"
        run B network create --subnet 10.215.0.0/24 --gateway 10.216.0.1 b
        [ "$status" -ne 0 ]
        assert_contains "$output" "gateway"
        run B network create --subnet 10.215.0.0/33 b
        [ "$status" -ne 0 ]
        assert_contains "$output" "CIDR"
        run B network create a
        [ "$status" -ne 0 ]
        assert_contains "$output" "already exists"
        [ "$(B network ls -q | wc -l)" -eq 1 ]
        run B run -d --name x1 --network nope busybox true
        [ "$status" -ne 0 ]
        assert_contains "$output" "network nope not found"
        run B run -d --name x2 --network a --ip 10.99.0.5 busybox true
        [ "$status" -ne 0 ]
        assert_contains "$output" "10.99.0.5"
        port=$(free_port)
        "$BUSYBOX_BIN" nc -l -p "$port" >/dev/null 2>&1 &
        ncpid=$!
        for i in $(seq 50); do
                ss -Hltn | awk '{print $4}' | grep -qE "[:.]$port\$" && break
                sleep 0.05
        done
        run B run -d --name x3 --network a -p "$port:80" busybox true
        kill "$ncpid" 2>/dev/null || true
        wait "$ncpid" 2>/dev/null || true
        [ "$status" -ne 0 ]
        assert_contains "$output" "$port"
        run B ps -a -q
        [ -z "$output" ]
        [ -z "$(ls "$ROOT/containers")" ]
}

@test "after rm, network rm and daemon stop nothing of berth's remains" {
        net_daemon
        id=$(B network create --subnet 10.241.1.0/24 n1)
        B run -d --name cc --network n1 -p 127.0.0.1:28123:80 busybox sleep 300 >/dev/null
        veth=$(B inspect -f '{{.NetworkSettings.Networks.n1.EndpointID}}' cc)
        ip link show "$veth" >/dev/null
        ip link show "br-${id:0:12}" >/dev/null
        nft list table ip "$NFT" | grep -q 28123
        B rm -f cc >/dev/null
        # a stopped container's host end is deleted in the background (netmgr mgr_unlink_async)
        for _ in $(seq 50); do
                ip link show "$veth" >/dev/null 2>&1 || break
                sleep 0.1
        done
        run ip link show "$veth"
        [ "$status" -ne 0 ]
        ! nft list table ip "$NFT" 2>/dev/null | grep -q 28123
        B network rm n1
        run ip link show "br-${id:0:12}"
        [ "$status" -ne 0 ]
        stop_daemon
        [ "$DAEMON_STATUS" -eq 0 ]
        [ ! -e "$ROOT/networks/n1.json" ]
        # this root's tables go with its last network; nothing else of it is left
        run nft list table ip "$NFT"
        [ "$status" -ne 0 ]
        run nft list table bridge "$NFT"
        [ "$status" -ne 0 ]
        run ip link show "$NFT"
        [ "$status" -ne 0 ]
}

@test "kill -9 of the daemon and restart: every rule once, the container still reachable" {
        net_daemon
        port=$(free_port)
        B network create --subnet 10.241.1.0/24 n1 >/dev/null
        B run -d --name web --network n1 -p "$port:80" busybox httpd -f -p 80 -h /etc >/dev/null
        sid=$(short web)
        [ "$(nft list table ip "$NFT" | grep -o "\\. $port :" | wc -l)" -eq 1 ]
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        rm -f "$SOCK"
        start_daemon --log-format text --bridge none
        [ "$(nft list table ip "$NFT" | grep -o "\\. $port :" | wc -l)" -eq 1 ]
        [ "$(nft list table ip "$NFT" | grep -c 'chain publish')" -eq 1 ]
        run curl -s --max-time 5 "http://127.0.0.1:$port/hostname"
        [ "$output" = "$sid" ]
        assert_json "$(B inspect web)" '.[0].State.Status' running
}

@test "the default network: run without --network gets an address on the root's bridge" {
        net_daemon
        stop_daemon
        # an explicit subnet: a host's pools can be used up by other roots' bridges
        start_daemon --log-format text --bip 10.242.9.1/24
        run B network ls --format '{{.Name}} {{.Driver}}'
        assert_contains "$output" "bridge bridge"
        B run -d --name dd busybox sleep 300 >/dev/null
        j=$(B inspect dd)
        assert_json "$j" '.[0].HostConfig.NetworkMode' bridge
        ip=$(printf '%s' "$j" | jq -r '.[0].NetworkSettings.Networks.bridge.IPAddress')
        [ -n "$ip" ] && [ "$ip" != null ]
        "$BUSYBOX_BIN" ping -c1 -W2 "$ip" >/dev/null
        # the bridge of this root, named like its nft tables (berth0 only for /var/lib/berth)
        assert_json "$(api GET /v1/info)" '.BerthNetwork.NftTable' "$NFT"
        assert_json "$(api GET /v1/info)" '.BerthNetwork.DefaultBridge' "$NFT"
        [ -n "$(ip -o link show master "$NFT")" ]
        run B network rm bridge
        [ "$status" -ne 0 ]
        B run --rm --network none busybox true
}

subnet_of() { B network inspect "$1" | jq -r '.[0].IPAM.Config[0].Subnet'; }

@test "--default-address-pool and daemon.json's default-address-pools give the subnets" {
        net_daemon
        stop_daemon
        start_daemon --log-format text --default-address-pool base=10.246.0.0/16,size=24
        run subnet_of bridge
        [ "$output" = 10.246.0.0/24 ]
        B network create p1 >/dev/null
        run subnet_of p1
        [ "$output" = 10.246.1.0/24 ]
        B network rm p1 >/dev/null
        stop_daemon
        # the file's pools (the flag would win); the default network keeps its recorded subnet
        printf '{"default-address-pools": [{"base": "10.247.0.0/16", "size": 26}]}' \
                >"$TEST_TMP/daemon.json"
        start_daemon --log-format text --config-file "$TEST_TMP/daemon.json"
        B network create p2 >/dev/null
        run subnet_of p2
        [ "$output" = 10.247.0.0/26 ]
        run subnet_of bridge
        [ "$output" = 10.246.0.0/24 ]
        B network rm p2 >/dev/null
        # bad pools: the daemon does not start and says which
        run "$BERTH" daemon --root "$TEST_TMP/r2" --run "$TEST_TMP/x2" \
                --default-address-pool base=10.246.0.0/16
        [ "$status" -ne 0 ]
        assert_contains "$output" "--default-address-pool: address pool 'base=10.246.0.0/16'"
        printf '{"default-address-pools": [{"base": "10.247.0.0/16", "size": 8}]}' \
                >"$TEST_TMP/bad.json"
        run "$BERTH" daemon --root "$TEST_TMP/r2" --run "$TEST_TMP/x2" --config-file "$TEST_TMP/bad.json"
        [ "$status" -ne 0 ]
        assert_contains "$output" "bad.json"
        assert_contains "$output" "size 8 is shorter than the base's prefix length 16"
}

# Starts a daemon with the default network (--bip $3) on root $1 (run dir $2) and imports
# busybox; sets BERTH_HOST to it. (The choice of a free subnet for a second root's default
# network is tested in test-net-instance, in a private namespace: this host's pools may be
# used up by other daemons.)
second_daemon() { # ROOT RUN BIP
        local pid
        "$BERTH" daemon --root "$1" --run "$2" --bip "$3" --log-format text >"$1.log" 2>&1 &
        pid=$!
        DAEMON_PIDS+=("$pid")
        DAEMON_ROOTS+=("$1")
        export BERTH_HOST=unix://$2/berth.sock
        EXTRA_HOSTS+=("$BERTH_HOST")
        wait_for_socket "$2/berth.sock" || { cat "$1.log" >&2; return 1; }
        B import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox >/dev/null
        LAST_PID=$pid
}

@test "two daemons with different roots own separate bridges and tables" {
        local ra=$TEST_TMP/ra rb=$TEST_TMP/rb ta tb pa pb ha hb sa sb ida pida ipb
        ta=$(berth_net_instance "$ra")
        tb=$(berth_net_instance "$rb")
        [ "$ta" != "$tb" ]
        second_daemon "$ra" "$TEST_TMP/runa" 10.242.10.1/24
        ha=$BERTH_HOST
        pida=$LAST_PID
        second_daemon "$rb" "$TEST_TMP/runb" 10.242.11.1/24
        hb=$BERTH_HOST
        pa=$(free_port)
        pb=$((pa + 1))
        BERTH_HOST=$ha B run -d --name wa -p "127.0.0.1:$pa:80" busybox httpd -f -p 80 -h /etc >/dev/null
        BERTH_HOST=$hb B run -d --name wb -p "127.0.0.1:$pb:80" busybox httpd -f -p 80 -h /etc >/dev/null
        ida=$(BERTH_HOST=$ha B inspect -f '{{.Id}}' wa | cut -c1-12)
        sb=$(BERTH_HOST=$hb B inspect -f '{{.Id}}' wb | cut -c1-12)
        # own default bridges with different subnets
        sa=$(BERTH_HOST=$ha B network inspect bridge | jq -r '.[0].IPAM.Config[0].Subnet')
        [ "$sa" = 10.242.10.0/24 ]
        [ "$(BERTH_HOST=$hb B network inspect bridge | jq -r '.[0].IPAM.Config[0].Subnet')" = 10.242.11.0/24 ]
        [ -n "$(ip -o link show master "$ta")" ]
        [ -n "$(ip -o link show master "$tb")" ]
        nft list table ip "$ta" | grep -q "\\. $pa :"
        ! nft list table ip "$ta" | grep -q "\\. $pb :"
        nft list table ip "$tb" | grep -q "\\. $pb :"
        run curl -s --max-time 5 "http://127.0.0.1:$pa/hostname"
        [ "$output" = "$ida" ]
        run curl -s --max-time 5 "http://127.0.0.1:$pb/hostname"
        [ "$output" = "$sb" ]
        # the roots' networks are isolated from each other (each root's forward chain drops
        # traffic between its bridges and any other berth bridge)
        ipb=$(BERTH_HOST=$hb B inspect -f '{{.NetworkSettings.IPAddress}}' wb)
        [ -n "$ipb" ]
        run env BERTH_HOST="$ha" "$BERTH" exec wa timeout 3 wget -qO- "http://$ipb/hostname"
        [ "$status" -ne 0 ]
        [ "$output" != "$sb" ]
        # restarting a (reconciliation) and then removing everything of a leaves b alone
        kill -TERM "$pida"
        for _ in $(seq 100); do kill -0 "$pida" 2>/dev/null || break; sleep 0.05; done
        rm -f "$TEST_TMP/runa/berth.sock"
        second_daemon "$ra" "$TEST_TMP/runa" 10.242.10.1/24
        [ "$(nft list table ip "$tb" | grep -o "\\. $pb :" | wc -l)" -eq 1 ]
        [ "$(nft list table ip "$ta" | grep -o "\\. $pa :" | wc -l)" -eq 1 ]
        BERTH_HOST=$ha B rm -f wa >/dev/null
        ! nft list table ip "$ta" | grep -q "\\. $pa :"
        cleanup_net_instance "$ra"
        run nft list tables
        [[ "$output" != *"$ta"* ]]
        assert_contains "$output" "table ip $tb"
        run curl -s --max-time 5 "http://127.0.0.1:$pb/hostname"
        [ "$output" = "$sb" ]
        BERTH_HOST=$hb B rm -f wb >/dev/null
        export BERTH_HOST=$hb
}

@test "volume create, ls, inspect, rm and prune" {
        net_daemon
        [ "$(B volume create v1)" = v1 ]
        B volume create --label team=a v2 >/dev/null
        anon=$(B volume create)
        [ ${#anon} -eq 64 ]
        run B volume ls -q
        assert_contains "$output" v1
        assert_contains "$output" v2
        run B volume ls -q --filter label=team=a
        [ "$output" = v2 ]
        assert_json "$(B volume inspect v1)" '.[0].Driver' local
        B run -d --name cc --network none -v v1:/data busybox sleep 300 >/dev/null
        run B volume ls -q --filter dangling=true
        [[ "$output" != *v1* ]]
        assert_contains "$output" v2
        run B volume rm v1
        [ "$status" -ne 0 ]
        assert_contains "$output" "in use"
        run B volume prune -f
        assert_contains "$output" "$anon"
        run B volume ls -q
        assert_contains "$output" v2
        run B volume prune -f -a
        assert_contains "$output" v2
        [ "$(B volume ls -q)" = v1 ]
        B rm -f cc >/dev/null
        B volume rm v1
        [ -z "$(B volume ls -q)" ]
        run B volume rm v1
        [ "$status" -ne 0 ]
        B volume rm -f v1
        run B volume create 'bad/name'
        [ "$status" -ne 0 ]
        assert_contains "$output" "bad/name"
}
