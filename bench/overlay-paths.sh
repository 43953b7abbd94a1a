#!/usr/bin/env bash
# Overlay data paths compared by hand, without berth (issue #10; docs/bench.md "Overlay
# networks"): two "hosts" (network namespaces) on a private underlay bridge (veth ends, MTU
# 1500, 198.18.x.0/24 as tests/cluster/), each with a "container" namespace per variant, and
# iperf3 (one stream, default options, T_SECS s) from the container on host 2 to the one on host
# 1, the variants and the underlay (host 2 -> host 1) alternating, the order rotating every
# round; medians and the medians of the per-round ratios to the underlay. Each host namespace
# has what berth puts there: conntrack in use (a NAT rule), the VXLAN packets untracked, and
# for (a) the untracked container subnet and the same-bridge accept. Variants (VARIANTS,
# default "a b d"):
#   a  veth + bridge + VXLAN in the host namespace (berth's bridge path; br_netfilter's hooks
#      run for the bridged frames: bridge-nf-call-iptables is 1 in every namespace here)
#   b  macvlan (bridge mode) children of the VXLAN device in the containers, the host's address
#      on one more child (berth's macvlan path)
#   d  veth + bridge + VXLAN in a namespace of its own per network with
#      bridge-nf-call-iptables=0 there (docker's swarm overlay layout)
# (ipvlan, the other candidate, is not in this kernel.) Every VXLAN device: VNI per variant,
# port 4789, learning off, ARP proxy, MTU 1450, static FDB and neighbour entries.
# Needs root, iproute2, nft, iperf3, jq, bc, busybox. Traffic stays in the namespaces it
# creates; everything is removed at exit.
#
#   ROUNDS=7 T_SECS=5 bench/overlay-paths.sh
set -euo pipefail
ROUNDS=${ROUNDS:-5}
SECS=${T_SECS:-5}
VARIANTS=${VARIANTS:-"a b d"}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
for c in iperf3 jq bc nft busybox; do
        command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 77; }
done
id=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
UB=ovp$id
net=
for x in $(shuf -i 1-254 -n 40); do
        if ! ip route show | grep -q "198\.18\.$x\." && ! ip addr show | grep -q "inet 198\.18\.$x\."; then
                net=$x
                break
        fi
done
[ -n "$net" ] || { echo "no free 198.18.x.0/24" >&2; exit 1; }
NSS=()
SRV=
cleanup() {
        set +e
        [ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
        for n in "${NSS[@]}"; do ip netns delete "$n"; done
        ip link del "$UB" 2>/dev/null
}
trap cleanup EXIT
newns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up; }
H=(x "ovp-$id-h1" "ovp-$id-h2")
ip link add "$UB" type bridge
ip link set "$UB" up
for i in 1 2; do
        h=${H[$i]}
        newns "$h"
        ip link add "$UB$i" type veth peer name eth0 netns "$h"
        ip link set "$UB$i" master "$UB" up
        ip -n "$h" addr add "198.18.$net.$i/24" dev eth0
        ip -n "$h" link set eth0 up
        ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
        ip netns exec "$h" nft -f - <<NFT
table ip ovp {
  chain raw_pre {
    type filter hook prerouting priority raw;
    iifname "br-a" ip saddr 10.77.1.0/24 ip daddr 10.77.1.0/24 ip daddr != 10.77.1.1 notrack
    ip daddr 198.18.$net.$i udp dport 4789 notrack
  }
  chain raw_out {
    type filter hook output priority raw;
    ip saddr 198.18.$net.$i udp dport 4789 notrack
  }
  chain forward {
    type filter hook forward priority 0;
    iifname "br-a" oifname "br-a" accept
    ct state established,related accept
    iifname "x1" drop
    iifname "x2" drop
    oifname "x3" drop
  }
  chain post {
    type nat hook postrouting priority srcnat;
    ip saddr 10.77.0.0/16 ip daddr != 10.77.0.0/16 oifname "eth0" masquerade
  }
}
NFT
done
sub() { case $1 in a) echo 1 ;; b) echo 2 ;; d) echo 4 ;; esac; }
mac() { printf '02:42:0a:4d:%02x:%02x' "$1" "$2"; }
ctr() { echo "ovp-$id-c$1$2"; } # VARIANT HOST
vxlan() { # NS NAME VNI HOST
        ip -n "$1" link add "$2" type vxlan id "$3" local "198.18.$net.$4" dstport 4789 nolearning proxy
        ip -n "$1" link set "$2" mtu 1450
}
peer() { # NS VXDEV SUBNET REMOTE_HOST: the remote container is .(10 + REMOTE_HOST)
        ip -n "$1" neigh replace "10.77.$3.$((10 + $4))" lladdr "$(mac "$3" $((10 + $4)))" dev "$2" nud permanent
        bridge -n "$1" fdb append "$(mac "$3" $((10 + $4)))" dev "$2" dst "198.18.$net.$4" self permanent
}
ctr_addr() { # NS IFNAME SUBNET HOST
        ip -n "$1" link set "$2" mtu 1450 address "$(mac "$3" $((10 + $4)))" up
        ip -n "$1" addr add "10.77.$3.$((10 + $4))/24" dev "$2"
}
setup_a() {
        local i h c
        for i in 1 2; do
                h=${H[$i]} c=$(ctr a $i)
                newns "$c"
                ip -n "$h" link add br-a type bridge
                ip -n "$h" link set br-a mtu 1450
                ip -n "$h" addr add 10.77.1.1/24 dev br-a
                vxlan "$h" vx-a 101 $i
                ip -n "$h" link set vx-a master br-a
                ip -n "$h" link set vx-a up
                ip -n "$h" link set br-a up
                ip -n "$h" link add va$i type veth peer name eth0 netns "$c"
                ip -n "$h" link set va$i mtu 1450 master br-a up
                ctr_addr "$c" eth0 1 $i
                peer "$h" vx-a 1 $((3 - i))
        done
}
setup_b() {
        local i h c
        for i in 1 2; do
                h=${H[$i]} c=$(ctr b $i)
                newns "$c"
                vxlan "$h" vx-b 102 $i
                ip -n "$h" link set vx-b up
                ip -n "$h" link add link vx-b name br-b type macvlan mode bridge
                ip -n "$h" addr add 10.77.2.1/24 dev br-b
                ip -n "$h" link set br-b up
                ip -n "$h" link add link vx-b name eth0 netns "$c" type macvlan mode bridge
                ctr_addr "$c" eth0 2 $i
                peer "$h" vx-b 2 $((3 - i))
        done
}
setup_d() {
        local i h c o
        for i in 1 2; do
                h=${H[$i]} c=$(ctr d $i) o=ovp-$id-o$i
                newns "$c"
                newns "$o"
                ip netns exec "$o" sysctl -qw net.bridge.bridge-nf-call-iptables=0
                # created in the host namespace (its UDP socket stays there), then moved
                vxlan "$h" vx-d 104 $i
                ip -n "$h" link set vx-d netns "$o"
                ip -n "$o" link add br0 type bridge
                ip -n "$o" link set br0 mtu 1450
                ip -n "$o" link set vx-d master br0
                ip -n "$o" link set vx-d up
                ip -n "$o" link set br0 up
                ip -n "$o" link add vd$i type veth peer name eth0 netns "$c"
                ip -n "$o" link set vd$i mtu 1450 master br0 up
                ctr_addr "$c" eth0 4 $i
                peer "$o" vx-d 4 $((3 - i))
        done
}
for v in $VARIANTS; do "setup_$v"; done
for v in $VARIANTS; do
        ip netns exec "$(ctr "$v" 2)" busybox ping -c 1 -W 2 "10.77.$(sub "$v").11" >/dev/null ||
                { echo "variant $v: no connectivity" >&2; exit 1; }
done

run_once() { # SERVER_NS CLIENT_NS ADDR: Gbit/s received (0 when the run failed)
        local out
        timeout $((SECS + 10)) ip netns exec "$1" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        SRV=$!
        sleep 0.3
        out=$(timeout $((SECS + 10)) ip netns exec "$2" iperf3 -c "$3" -p 5201 -t "$SECS" -J || true)
        wait "$SRV" 2>/dev/null || true
        SRV=
        printf '%s' "$out" | jq -r '(.end.sum_received.bits_per_second // 0) / 1e9'
}
run() {
        if [ "$1" = u ]; then
                run_once "${H[1]}" "${H[2]}" "198.18.$net.1"
        else
                run_once "$(ctr "$1" 1)" "$(ctr "$1" 2)" "10.77.$(sub "$1").11"
        fi
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
pct() { echo "scale=1; 100 * $1 / $2" | bc; }

# shellcheck disable=SC2206
paths=(u $VARIANTS)
declare -A all rat
echo "iperf3 ${SECS}s x $ROUNDS rounds (Gbit/s; u = underlay; load average before the round):"
for r in $(seq "$ROUNDS"); do
        declare -A g=()
        line="  round $r (load $(cut -d' ' -f1 /proc/loadavg)):"
        n=${#paths[@]}
        for k in $(seq 0 $((n - 1))); do
                p=${paths[$(((k + r) % n))]}
                g[$p]=$(run "$p")
                line+=$(printf ' %s %.2f' "$p" "${g[$p]}")
        done
        for p in $VARIANTS; do
                all[$p]="${all[$p]:-} ${g[$p]}"
                rat[$p]="${rat[$p]:-} $(pct "${g[$p]}" "${g[u]}")"
        done
        all[u]="${all[u]:-} ${g[u]}"
        echo "$line"
done
mu=$(median ${all[u]})
printf '  median u: %.2f Gbit/s\n' "$mu"
for p in $VARIANTS; do
        m=$(median ${all[$p]})
        printf '  median %s: %.2f Gbit/s, %s %% of the underlay (median of the per-round ratios %s %%)\n' \
                "$p" "$m" "$(pct "$m" "$mu")" "$(median ${rat[$p]})"
done
echo "  load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
