# Multi-host harness for berth's cluster tests (docs/cluster.md). Root only.
#
# cluster_setup N creates an underlay bridge bc-<rand> and N network namespaces ("hosts")
# bcn-<rand>-1..N, each joined to the bridge by a veth and given 198.18.<X>.<i>/24 (the benchmark
# range, RFC 2544; a /24 not routed on this machine is picked). Host 1 runs the controller
# (start_controller), the others agents (start_agent). Every process is started by this file,
# recorded by pid, and killed in cluster_teardown, which also deletes the namespaces and the
# bridge. Traffic stays on the bridge and inside the namespaces.

load ../integration/helpers

CL_PORT=7443

cluster_pick_subnet() {
        local x
        for x in $(shuf -i 1-254 -n 40); do
                if ! ip route show | grep -q "198\.18\.$x\." &&
                        ! ip addr show | grep -q "inet 198\.18\.$x\."; then
                        echo "$x"
                        return 0
                fi
        done
        return 1
}

cluster_setup() {
        local n=$1 i ns
        skip_unless_root
        command -v ip >/dev/null || skip "needs iproute2"
        setup_tmp
        CL_ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
        CL_BR="bc-$CL_ID"
        CL_NET=$(cluster_pick_subnet) || skip "no free 198.18.x.0/24"
        CL_NS=()
        CL_PIDS=()
        ip link add "$CL_BR" type bridge
        ip link set "$CL_BR" up
        for i in $(seq 1 "$n"); do
                ns="bcn-$CL_ID-$i"
                ip netns add "$ns"
                CL_NS+=("$ns")
                ip link add "bv$CL_ID$i" type veth peer name eth0 netns "$ns"
                ip link set "bv$CL_ID$i" master "$CL_BR" up
                ip -n "$ns" link set lo up
                ip -n "$ns" addr add "198.18.$CL_NET.$i/24" dev eth0
                ip -n "$ns" link set eth0 up
        done
}

cluster_teardown() {
        local pid i ns d run dpid ids
        for pid in "${CL_PIDS[@]}"; do
                cl_stop_pid "$pid"
        done
        # Containers outlive their agent (shims), and a live agent would create its assigned
        # pods again: once every agent is stopped, a plain daemon on each root (it adopts the
        # shims) removes what is left, then stops.
        for d in "$TEST_TMP"/h*/; do
                [ -n "$(ls -A "$d/root/containers" 2>/dev/null)" ] || continue
                run=$(readlink -f "$d/run")
                i=$(basename "$d")
                i=${i#h}
                i=${i%%-*}
                rm -f "$run/berth.sock"
                on_host_bg "$i" "$BERTH" daemon --root "$d/root" --run "$run" >/dev/null 2>&1 &
                dpid=$!
                if wait_for_socket "$run/berth.sock"; then
                        ids=$("$BERTH" -H "unix://$run/berth.sock" ps -aq 2>/dev/null || true)
                        [ -n "$ids" ] &&
                                "$BERTH" -H "unix://$run/berth.sock" rm -f $ids >/dev/null 2>&1 || true
                fi
                cl_stop_pid "$dpid"
        done
        for ns in "${CL_NS[@]}"; do
                ip netns delete "$ns" 2>/dev/null || true
        done
        [ -n "${CL_BR:-}" ] && ip link delete "$CL_BR" 2>/dev/null || true
        teardown_tmp
}

# Stops process $1 (TERM, then KILL after 5 s).
cl_stop_pid() {
        local i
        kill -TERM "$1" 2>/dev/null || return 0
        for i in $(seq 50); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}

cl_addr() { echo "198.18.$CL_NET.$1"; }

# Runs a command inside host i's namespace.
on_host() {
        local i=$1
        shift
        ip netns exec "${CL_NS[$((i - 1))]}" "$@"
}

# on_host_bg I CMD... &: the same for a background process. The exec makes $! the pid of the
# command itself (ip netns exec execs it too), so teardown's kill reaches it; with a plain
# function call $! would be a subshell whose child outlives it and keeps bats waiting.
on_host_bg() {
        local i=$1
        shift
        # nsenter --net only switches the network namespace: `ip netns exec` also remounts
        # /sys for the namespace, which hides the cgroup hierarchies containers need.
        exec nsenter --net="/run/netns/${CL_NS[$((i - 1))]}" "$@"
}

# Waits until file $1 has a line matching $2 (for at most $3 tenths of a second).
wait_line() {
        local i
        for i in $(seq "${3:-150}"); do
                grep -q "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

# start_controller [ARGS...]: the controller on host 1; sets CL_URL, CL_TOKEN, CTL (a berth CLI
# command line) and CTL_LOG.
start_controller() {
        local d="$TEST_TMP/h1"
        mkdir -p "$d"
        on_host_bg 1 "$BERTH" daemon --root "$d/root" --run "$d/run" \
                --listen "$(cl_addr 1):$CL_PORT" "$@" >"$d/out" 2>"$d/err" &
        CL_PIDS+=($!)
        wait_line "$d/out" '^BERTH1-' || { cat "$d/err" >&2; return 1; }
        CL_TOKEN=$(grep -m1 '^BERTH1-' "$d/out")
        CL_URL="https://$(cl_addr 1):$CL_PORT"
        CTL=("$BERTH" -H "unix://$d/run/berth.sock")
        CTL_LOG="$d/err"
}

# start_agent I NAME [ARGS...]: an agent on host I; waits until it joined or failed.
start_agent() {
        local i=$1 name=$2 d="$TEST_TMP/h$1-$2"
        shift 2
        mkdir -p "$d"
        # The run directory holds the shims' unix sockets (shims/<64 hex>.sock, at most 107
        # bytes in all): a short directory $TEST_TMP/rK, linked from $d/run for the tests.
        if [ ! -L "$d/run" ]; then
                CL_NRUN=$((${CL_NRUN:-0} + 1))
                mkdir -p "$TEST_TMP/r$CL_NRUN"
                ln -s "$TEST_TMP/r$CL_NRUN" "$d/run"
        fi
        # Emptied here, not only by the redirection: wait_line must not see a previous run's
        # lines before the background shell truncates the file.
        : >"$d/err"
        on_host_bg "$i" "$BERTH" agent --join "$CL_URL" --name "$name" --root "$d/root" \
                --run "$(readlink "$d/run")" --advertise-addr "$(cl_addr "$i")" "$@" >"$d/out" 2>"$d/err" &
        AGENT_PID=$!
        CL_PIDS+=($AGENT_PID)
        AGENT_ERR="$d/err"
        AGENT_SOCK="$d/run/berth.sock"
        wait_line "$d/err" "Joined '\|Already joined '\|Failed to join '\|Failed to start" || return 1
}

# The berth CLI against the daemon of agent NAME on host I: agent_cli I NAME ARGS...
agent_cli() {
        local i=$1 name=$2
        shift 2
        "$BERTH" -H "unix://$TEST_TMP/h$i-$name/run/berth.sock" "$@"
}

# Imports a busybox image (Debian's busybox-static) into agent NAME on host I.
agent_import_busybox() {
        local i=$1 name=$2 r=$TEST_TMP/rootfs a
        if [ ! -e "$TEST_TMP/busybox.tar" ]; then
                mkdir -p "$r/bin" "$r/etc" "$r/tmp"
                cp "$BUSYBOX_BIN" "$r/bin/busybox"
                for a in $("$BUSYBOX_BIN" --list); do
                        [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
                done
                printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
                tar -C "$r" -cf "$TEST_TMP/busybox.tar" .
        fi
        wait_for_socket "$TEST_TMP/h$i-$name/run/berth.sock" || return 1
        agent_cli "$i" "$name" import -c 'CMD ["sh"]' "$TEST_TMP/busybox.tar" busybox >/dev/null
}

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

# Polls (at most 30 s) until CMD... succeeds.
eventually() {
        local i
        for i in $(seq 150); do
                "$@" && return 0
                sleep 0.2
        done
        "$@"
}

# The node names the controller records.
node_names() {
        "${CTL[@]}" node ls --format '{{.Name}}'
}

# A controller on host 1 (heartbeat 0.5 s, grace 2 s) and agents node-2..node-4 on hosts 2-4,
# each with the busybox image; AGENT_PIDS[i] is host i's agent. For the failover and overlay
# suites.
start_workers() {
        local i
        start_controller --heartbeat 0.5 --node-grace 2 --log-format text
        AGENT_PIDS=()
        for i in 2 3 4; do
                start_agent "$i" "node-$i" --token "$CL_TOKEN" --heartbeat 0.5 --log-format text
                grep -q "Joined" "$AGENT_ERR" || { cat "$AGENT_ERR"; return 1; }
                AGENT_PIDS[$i]=$AGENT_PID
                agent_import_busybox "$i" "node-$i"
        done
}
