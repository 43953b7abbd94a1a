#!/usr/bin/env bash
# Cross-host container TCP throughput over a berth overlay network (VXLAN) against the plain
# underlay: a controller and two agents, each in its own network namespace on a private bridge
# (198.18.x.0/24, as tests/cluster/); a stack of 2 busybox pods on a `driver: overlay` network
# (the default data path: macvlan children of the VXLAN device), one per agent. iperf3 (the
# host's binary, run inside each namespace with nsenter -n, so only the network path differs;
# the same options for both) from the container on host 3 to the one on host 2 over the
# overlay, and between the same two host namespaces over the underlay; ROUNDS rounds (default
# 3) of T_SECS seconds each (default 5), the paths alternating and their order rotating every
# round; the table gives every run with the load average beside it, the medians and the median
# of the per-round ratios. It prints the settings of the paths first (devices, MTU, offloads,
# VXLAN options, br_netfilter, berth's notrack rules).
# OVT_BRIDGE=1 (the default) puts the pods on a second overlay network with
# `berth.overlay.datapath=bridge` (veth + bridge + VXLAN, with br_netfilter's hooks, as before
# the macvlan path) and measures it in every round too: the two data paths on one cluster and
# load. OVT_BRIDGE=0: the macvlan path and the underlay only.
# Target (issue #10): overlay >= 80 % of the underlay. Needs root, iproute2, jq, iperf3,
# busybox-static (ethtool for the offload listing). Traffic stays inside the namespaces this
# script creates; everything it made is removed at exit.
#
#   ROUNDS=7 T_SECS=5 bench/overlay-throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BERTH=${BERTH:-$PWD/build/berth}
SECS=${T_SECS:-5}
ROUNDS=${ROUNDS:-3}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
for c in iperf3 jq nsenter bc /bin/busybox; do
        command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 77; }
done
[ -x "$BERTH" ] || { echo "build berth first (make)" >&2; exit 1; }

. bench/cluster-lib.sh
bcl_init berth-ovt bo bon
SRV=
cleanup() {
        [ -n "$SRV" ] && stop_pid "$SRV"
        bcl_cleanup
}
trap cleanup EXIT
bcl_hosts
bcl_busybox_tar

mkdir -p "$tmp/h1" "$tmp/r1"
nsenter --net="/run/netns/bon-$id-1" "$BERTH" daemon --root "$tmp/h1/root" --run "$tmp/r1" \
        --listen "198.18.$net.1:7443" --log-format text >"$tmp/h1/out" 2>"$tmp/h1/err" &
pids+=($!)
wait_line "$tmp/h1/out" '^BERTH1-'
token=$(grep -m1 '^BERTH1-' "$tmp/h1/out")
CTL=("$BERTH" -H "unix://$tmp/r1/berth.sock")
for i in 2 3; do
        d=$tmp/h$i
        mkdir -p "$d" "$tmp/r$i"
        nsenter --net="/run/netns/bon-$id-$i" "$BERTH" agent --join "https://198.18.$net.1:7443" \
                --token "$token" --name "node-$i" --root "$d/root" --run "$tmp/r$i" \
                --advertise-addr "198.18.$net.$i" --log-format text >"$d/out" 2>"$d/err" &
        pids+=($!)
        wait_line "$d/err" "Joined '"
        for _ in $(seq 100); do [ -S "$tmp/r$i/berth.sock" ] && break; sleep 0.05; done
        "$BERTH" -H "unix://$tmp/r$i/berth.sock" import -c 'CMD ["sh"]' "$tmp/busybox.tar" \
                busybox >/dev/null
done
BRIDGE=${OVT_BRIDGE:-1}
nets='"mesh": {"name": "ovt_mesh", "driver": "overlay"}'
podnets='"mesh": {}'
if [ "$BRIDGE" = 1 ]; then
        nets+=', "meshb": {"name": "ovt_meshb", "driver": "overlay",
                  "options": {"berth.overlay.datapath": "bridge"}}'
        podnets+=', "meshb": {}'
fi
cat >"$tmp/ovt.json" <<JSON
{"version": 1, "name": "ovt", "networks": {$nets},
 "services": {"srv": {"name": "srv", "kind": "service", "replicas": 2,
  "hash": "b100000000000000000000000000000000000000000000000000000000000001",
  "placement": {"constraints": ["node.role==worker"]},
  "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
   "networks": {$podnets},
   "containers": [{"name": "srv", "image": "busybox",
    "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]}]}}}}
JSON
"${CTL[@]}" up -d -f "$tmp/ovt.json" >/dev/null

ctr_on() { "$BERTH" -H "unix://$tmp/r$1/berth.sock" ps -q --filter label=berth.service=srv | head -1; }
for _ in $(seq 600); do
        [ -n "$(ctr_on 2)" ] && [ -n "$(ctr_on 3)" ] && break
        sleep 0.1
done
[ -n "$(ctr_on 2)" ] && [ -n "$(ctr_on 3)" ] || { echo "pods did not start on both agents" >&2; exit 1; }
info() { "$BERTH" -H "unix://$tmp/r$1/berth.sock" inspect "$(ctr_on "$1")"; }
P2=$(info 2 | jq -r '.[0].State.Pid')
P3=$(info 3 | jq -r '.[0].State.Pid')
IP2=$(info 2 | jq -r '.[0].NetworkSettings.Networks.ovt_mesh.IPAddress')
IPB2=
[ "$BRIDGE" = 1 ] && IPB2=$(info 2 | jq -r '.[0].NetworkSettings.Networks.ovt_meshb.IPAddress')
ctr_if() { # PID ADDR: the container's interface holding ADDR
        nsenter -t "$1" -n ip -o -4 addr show | awk -v a="$2" '$4 ~ "^"a"/" {print $2; exit}'
}
IF2=$(ctr_if "$P2" "$IP2")
MTU=$(nsenter -t "$P2" -n ip -o link show "$IF2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
# Wait until host 3 has host 2's pod (the endpoint table reached it), on both networks.
for a in $IP2 $IPB2; do
        for _ in $(seq 300); do
                nsenter -t "$P3" -n busybox ping -c 1 -W 1 "$a" >/dev/null 2>&1 && break
                sleep 0.1
        done
done

load() { cut -d' ' -f1-3 /proc/loadavg; }
NS2=/run/netns/bon-$id-2
NS3=/run/netns/bon-$id-3
OVS=(nsenter -t "$P2" -n)
UNS=(nsenter --net="$NS2")

feat() { # NSENTER... -- DEV: the offloads that matter on the path, "-" when unknown
        local dev=${*: -1} out
        if ! command -v ethtool >/dev/null; then echo "(ethtool missing)"; return; fi
        out=$("${@:1:$#-1}" ethtool -k "$dev" 2>/dev/null) || { echo "-"; return; }
        printf '%s' "$out" | awk -F': ' '
                /^tcp-segmentation-offload:/ {t="tso " $2}
                /^generic-segmentation-offload:/ {g="gso " $2}
                /^generic-receive-offload:/ {r="gro " $2}
                /^tx-udp_tnl-segmentation:/ {u="udp_tnl " $2}
                /^rx-udp-gro-forwarding:/ {f="udp-gro-fwd " $2}
                /^tx-checksumming:/ {c="tx-csum " $2}
                END {print t ", " g ", " r ", " c ", " u ", " f}' | sed 's/ \[fixed\]//g'
}
mtu() { "${@:1:$#-1}" ip -o link show "${*: -1}" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
dev_line() { printf '    %-30s mtu %-5s %s\n' "$1" "$(mtu "${@:2}")" "$(feat "${@:2}")"; }

settings() {
        local hc vx vxb brb vb ifb
        hc=$(nsenter --net="$NS2" ip -o link show type macvlan | awk -F': ' '{print $2; exit}')
        vx=${hc#*@}
        hc=${hc%@*}
        echo "Settings (host 2; host 3 is the same):"
        echo "  overlay, macvlan path: container $IF2 (macvlan child of $vx) -> $vx -> underlay eth0"
        dev_line "container $IF2 ($(nsenter -t "$P2" -n ip -d -o link show "$IF2" |
                grep -o 'macvlan mode [a-z]*'))" "${OVS[@]}" "$IF2"
        dev_line "vxlan $vx" "${UNS[@]}" "$vx"
        dev_line "host child $hc (gateway)" "${UNS[@]}" "$hc"
        printf '    %-30s %s\n' "vxlan options" "$(nsenter --net="$NS2" ip -d -o link show "$vx" |
                grep -o 'vxlan id .*ageing [0-9]* [a-z0-9 ]*' | sed 's/ *addrgenmode.*//')"
        if [ "$BRIDGE" = 1 ]; then
                ifb=$(ctr_if "$P2" "$IPB2")
                brb=$(nsenter --net="$NS2" ip -o link show type bridge | awk -F': ' '/br-/{print $2; exit}')
                vxb=$(nsenter --net="$NS2" ip -o link show master "$brb" type vxlan | awk -F'[:@]' '{print $2; exit}' | tr -d ' ')
                vb=$(nsenter --net="$NS2" ip -o link show master "$brb" type veth | awk -F'[:@]' '{print $2; exit}' | tr -d ' ')
                echo "  overlay, bridge path (berth.overlay.datapath=bridge): container $ifb -> host veth $vb -> bridge $brb -> $vxb -> underlay eth0"
                dev_line "container $ifb" "${OVS[@]}" "$ifb"
                dev_line "host veth $vb" "${UNS[@]}" "$vb"
                dev_line "bridge $brb" "${UNS[@]}" "$brb"
                dev_line "vxlan $vxb" "${UNS[@]}" "$vxb"
        fi
        printf '    %-30s %s\n' "berth notrack rules" "$(nsenter --net="$NS2" nft list ruleset 2>/dev/null |
                grep -c ' notrack$')"
        echo "  underlay path (every path crosses it): host eth0 (veth) -> bridge $br_u -> host eth0"
        dev_line "host eth0" "${UNS[@]}" eth0
        dev_line "bridge $br_u (root ns)" "$br_u"
        printf '    %-30s %s (host ns), %s (root ns, the underlay bridge)\n' "bridge-nf-call-iptables" \
                "$(nsenter --net="$NS2" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo -)" \
                "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo -)"
        echo "  iperf3: -t $SECS, 1 stream, default options, the same for every path"
}

run_once() { # SERVER_NSENTER CLIENT_NSENTER ADDR: Gbit/s received (0 when the run failed)
        local out
        # shellcheck disable=SC2086
        timeout $((SECS + 10)) $1 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        SRV=$!
        sleep 0.3
        # shellcheck disable=SC2086
        out=$(timeout $((SECS + 10)) $2 iperf3 -c "$3" -p 5201 -t "$SECS" -J || true)
        stop_pid "$SRV"
        SRV=
        printf '%s' "$out" | jq -r '(.end.sum_received.bits_per_second // 0) / 1e9'
}
path_run() { # m (macvlan) | b (bridge) | u (underlay)
        case $1 in
        m) run_once "nsenter -t $P2 -n" "nsenter -t $P3 -n" "$IP2" ;;
        b) run_once "nsenter -t $P2 -n" "nsenter -t $P3 -n" "$IPB2" ;;
        u) run_once "nsenter --net=$NS2" "nsenter --net=$NS3" "198.18.$net.2" ;;
        esac
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
pct() { echo "scale=1; 100 * $1 / $2" | bc 2>/dev/null || echo "?"; }

br_u=$br
settings
echo
paths=(m u)
[ "$BRIDGE" = 1 ] && paths=(m b u)
echo "Cross-host TCP throughput, iperf3 ${SECS}s x $ROUNDS rounds, paths alternating, order rotating (Gbit/s; load average after each run):"
hdr=$(printf '  %-5s  %-26s %-26s' round "overlay macvlan (load)" "underlay (load)")
[ "$BRIDGE" = 1 ] && hdr+=$(printf ' %-26s' "overlay bridge (load)")
echo "$hdr   macvlan/un %$([ "$BRIDGE" = 1 ] && echo "   bridge/un %")"
declare -A res lds
rm_=() rb=()
for r in $(seq "$ROUNDS"); do
        n=${#paths[@]}
        for k in $(seq 0 $((n - 1))); do
                p=${paths[$(((k + r) % n))]}
                res[$p]=$(path_run "$p")
                lds[$p]=$(load)
        done
        all_m+=("${res[m]}") all_u+=("${res[u]}")
        rm_+=("$(pct "${res[m]}" "${res[u]}")")
        line=$(printf '  %-5s  %6.2f (%-17s  %6.2f (%-17s' "$r" "${res[m]}" "${lds[m]})" "${res[u]}" "${lds[u]})")
        if [ "$BRIDGE" = 1 ]; then
                all_b+=("${res[b]}")
                rb+=("$(pct "${res[b]}" "${res[u]}")")
                line+=$(printf ' %6.2f (%-17s' "${res[b]}" "${lds[b]})")
        fi
        line+=$(printf '   %10s' "${rm_[-1]}")
        [ "$BRIDGE" = 1 ] && line+=$(printf '   %10s' "${rb[-1]}")
        echo "$line"
done
mm=$(median "${all_m[@]}")
mu=$(median "${all_u[@]}")
printf '  median: macvlan %.2f, underlay %.2f Gbit/s: %s %% (median of the per-round ratios %s %%; target >= 80 %%)\n' \
        "$mm" "$mu" "$(pct "$mm" "$mu")" "$(median "${rm_[@]}")"
if [ "$BRIDGE" = 1 ]; then
        mb=$(median "${all_b[@]}")
        printf '  median: bridge path %.2f Gbit/s: %s %% of the underlay (median of the per-round ratios %s %%)\n' \
                "$mb" "$(pct "$mb" "$mu")" "$(median "${rb[@]}")"
fi
echo "  container MTU $MTU, underlay MTU $(mtu "${UNS[@]}" eth0); load at the end: $(load)"
