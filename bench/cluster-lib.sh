# The multi-host harness of the cluster benches (failover.sh, overlay-throughput.sh), sourced:
# three hosts as network namespaces NS-ID-1..3 on a private bridge LINK-ID, with 198.18.X.I/24
# (X a /24 not routed here), each host's root in $tmp/hI and run directory in $tmp/rI (short:
# the shims' socket paths must fit 107 bytes). Processes the bench starts go in pids=() and are
# stopped by pid. Traffic stays on the bridge and inside the namespaces.

# bcl_init TMP_TAG LINK_PREFIX NS_PREFIX: sets tmp, id, br, net, pids; exits when no /24 is free.
bcl_init() {
        tmp=$(mktemp -d "/tmp/$1.XXXXXX")
        id=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
        BCL_LINK=$2
        BCL_NS=$3
        br="$2-$id"
        net=
        for x in $(shuf -i 1-254 -n 40); do
                if ! ip route show | grep -q "198\.18\.$x\." &&
                        ! ip addr show | grep -q "inet 198\.18\.$x\."; then
                        net=$x
                        break
                fi
        done
        [ -n "$net" ] || { echo "no free 198.18.x.0/24" >&2; exit 1; }
        pids=()
}

stop_pid() {
        kill -TERM "$1" 2>/dev/null || return 0
        for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}

# Stops every process of this cluster, then removes the containers left in each root with a
# plain daemon (a live agent would create its assigned pods again), in that host's namespace.
bcl_stop_cluster() {
        local p i dp ids
        for p in "${pids[@]}"; do stop_pid "$p"; done
        pids=()
        for i in 1 2 3; do
                [ -n "$(ls -A "$tmp/h$i/root/containers" 2>/dev/null)" ] || continue
                rm -f "$tmp/r$i/berth.sock"
                nsenter --net="/run/netns/$BCL_NS-$id-$i" "$BERTH" daemon --root "$tmp/h$i/root" \
                        --run "$tmp/r$i" >/dev/null 2>&1 &
                dp=$!
                for _ in $(seq 100); do [ -S "$tmp/r$i/berth.sock" ] && break; sleep 0.05; done
                ids=$("$BERTH" -H "unix://$tmp/r$i/berth.sock" ps -aq 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" -H "unix://$tmp/r$i/berth.sock" rm -f $ids >/dev/null 2>&1 || true
                stop_pid "$dp"
        done
}

# The cluster, the namespaces, the bridge and $tmp.
bcl_cleanup() {
        bcl_stop_cluster
        for i in 1 2 3; do ip netns delete "$BCL_NS-$id-$i" 2>/dev/null || true; done
        ip link delete "$br" 2>/dev/null || true
        rm -rf "$tmp"
}

# The bridge and the three host namespaces.
bcl_hosts() {
        local i
        ip link add "$br" type bridge
        ip link set "$br" up
        for i in 1 2 3; do
                ip netns add "$BCL_NS-$id-$i"
                ip link add "$BCL_LINK$id$i" type veth peer name eth0 netns "$BCL_NS-$id-$i"
                ip link set "$BCL_LINK$id$i" master "$br" up
                ip -n "$BCL_NS-$id-$i" link set lo up
                ip -n "$BCL_NS-$id-$i" addr add "198.18.$net.$i/24" dev eth0
                ip -n "$BCL_NS-$id-$i" link set eth0 up
        done
}

wait_line() { # FILE PATTERN
        for _ in $(seq 300); do
                grep -q "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        echo "timed out waiting for '$2' in $1" >&2
        return 1
}

# $tmp/busybox.tar: a busybox root file system (Debian's busybox-static, every applet linked).
bcl_busybox_tar() {
        local r=$tmp/rootfs a
        mkdir -p "$r/bin" "$r/etc" "$r/tmp"
        cp /bin/busybox "$r/bin/busybox"
        for a in $(/bin/busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
        tar -C "$r" -cf "$tmp/busybox.tar" .
}
