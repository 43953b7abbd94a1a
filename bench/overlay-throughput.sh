#!/usr/bin/env bash
# Cross-host container TCP throughput over a berth overlay network (VXLAN) against the plain
# underlay: a controller and two agents, each in its own network namespace on a private bridge
# (198.18.x.0/24, as tests/cluster/); a stack of 2 busybox pods on a `driver: overlay` network,
# one per agent. iperf3 (the host's binary, run inside each namespace with nsenter -n, so only
# the network path differs; the same options for both) from the container on host 3 to the one
# on host 2 over the overlay, and between the same two host namespaces over the underlay;
# ROUNDS rounds (default 3) of T_SECS seconds each (default 5), the two paths alternating and
# their order flipping every round; the table gives every run with the load average beside it,
# the medians and the median of the per-round ratios. It prints the settings of both paths
# first (MTU, offloads, VXLAN options, br_netfilter, berth's notrack rules).
# OVT_AB=1 also runs, in every round, both paths without berth's overlay fast-path rules (the
# notrack chains and the same-bridge accept removed from the host namespaces' berth tables, put
# back after): the before/after of issue #10's change on the same cluster and load.
# OVT_BRNF=1 adds a diagnostic round with bridge-nf-call-iptables=0 in the two host namespaces
# (this script's own; a host keeps whatever it has): what br_netfilter costs the overlay.
# Target (issue #10): overlay >= 80 % of the underlay. Needs root, iproute2, jq, iperf3,
# busybox-static (ethtool for the offload listing). Traffic stays inside the namespaces this
# script creates; everything it made is removed at exit.
#
#   bench/overlay-throughput.sh                 # ROUNDS=5 T_SECS=5 OVT_AB=1 OVT_BRNF=1 ...
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
cat >"$tmp/ovt.json" <<JSON
{"version": 1, "name": "ovt", "networks": {"mesh": {"name": "ovt_mesh", "driver": "overlay"}},
 "services": {"srv": {"name": "srv", "kind": "service", "replicas": 2,
  "hash": "b100000000000000000000000000000000000000000000000000000000000001",
  "placement": {"constraints": ["node.role==worker"]},
  "pod": {"restart": {"policy": "always"}, "stop_grace_period_ms": 1000,
   "networks": {"mesh": {}},
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
IP2=$(info 2 | jq -r '.[0].NetworkSettings.Networks[].IPAddress' | head -1)
MTU=$(nsenter -t "$P2" -n ip -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
# Wait until host 3 has host 2's pod (the endpoint table reached it).
for _ in $(seq 300); do
        nsenter -t "$P3" -n ping -c 1 -W 1 "$IP2" >/dev/null 2>&1 && break
        sleep 0.1
done

load() { cut -d' ' -f1-3 /proc/loadavg; }
NS2=/run/netns/bon-$id-2
NS3=/run/netns/bon-$id-3
OVS=(nsenter -t "$P2" -n)
OVC=(nsenter -t "$P3" -n)
UNS=(nsenter --net="$NS2")
UNC=(nsenter --net="$NS3")

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

settings() {
        local br vx vb
        br=$(nsenter --net="$NS2" ip -o link show type bridge | awk -F': ' '/br-/{print $2; exit}')
        vx=$(nsenter --net="$NS2" ip -o link show type vxlan | awk -F': ' '{print $2; exit}')
        vb=$(nsenter --net="$NS2" ip -o link show master "$br" type veth | awk -F'[:@]' '{print $2; exit}' | tr -d ' ')
        echo "Settings (host 2; host 3 is the same):"
        echo "  overlay path: container eth0 -> host veth $vb -> bridge $br -> $vx -> underlay eth0"
        printf '    %-28s mtu %-5s %s\n' "container eth0" "$(mtu "${OVS[@]}" eth0)" "$(feat "${OVS[@]}" eth0)"
        printf '    %-28s mtu %-5s %s\n' "host veth $vb" "$(mtu "${UNS[@]}" "$vb")" "$(feat "${UNS[@]}" "$vb")"
        printf '    %-28s mtu %-5s %s\n' "bridge $br" "$(mtu "${UNS[@]}" "$br")" "$(feat "${UNS[@]}" "$br")"
        printf '    %-28s mtu %-5s %s\n' "vxlan $vx" "$(mtu "${UNS[@]}" "$vx")" "$(feat "${UNS[@]}" "$vx")"
        printf '    %-28s %s\n' "vxlan options" "$(nsenter --net="$NS2" ip -d -o link show "$vx" |
                grep -o 'vxlan id .*ageing [0-9]* [a-z0-9 ]*' | sed 's/ *addrgenmode.*//')"
        printf '    %-28s %s\n' "berth notrack rules" "$(nsenter --net="$NS2" nft list ruleset 2>/dev/null |
                grep -c ' notrack$')"
        echo "  underlay path (both paths cross it): host eth0 (veth) -> bridge $br_u -> host eth0"
        printf '    %-28s mtu %-5s %s\n' "host eth0" "$(mtu "${UNS[@]}" eth0)" "$(feat "${UNS[@]}" eth0)"
        printf '    %-28s mtu %-5s %s\n' "bridge $br_u (root ns)" "$(mtu "$br_u")" "$(feat "$br_u")"
        printf '    %-28s %s (host ns), %s (root ns, the underlay bridge)\n' "bridge-nf-call-iptables" \
                "$(nsenter --net="$NS2" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo -)" \
                "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo -)"
        echo "  iperf3: -t $SECS, 1 stream, default options, the same for both paths"
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
ov_run() { run_once "nsenter -t $P2 -n" "nsenter -t $P3 -n" "$IP2"; }
un_run() { run_once "nsenter --net=$NS2" "nsenter --net=$NS3" "198.18.$net.2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
pct() { echo "scale=1; 100 * $1 / $2" | bc 2>/dev/null || echo "?"; }

# fastpath off|on: berth's overlay fast-path rules out of / back into both host namespaces.
fastpath() {
        local n t h
        for n in 2 3; do
                t=$(nsenter --net="/run/netns/bon-$id-$n" nft list tables | awk '/^table ip berth/ {print $3; exit}')
                if [ "$1" = off ]; then
                        nsenter --net="/run/netns/bon-$id-$n" nft list table ip "$t" >"$tmp/fastpath$n.nft"
                        nsenter --net="/run/netns/bon-$id-$n" nft delete chain ip "$t" overlay_notrack
                        nsenter --net="/run/netns/bon-$id-$n" nft delete chain ip "$t" overlay_notrack_out
                        h=$(nsenter --net="/run/netns/bon-$id-$n" nft -a list chain ip "$t" forward |
                                awk '/oifname "br-[0-9a-f]*" accept/ {print $NF; exit}')
                        nsenter --net="/run/netns/bon-$id-$n" nft delete rule ip "$t" forward handle "$h"
                else
                        { echo "delete table ip $t"; cat "$tmp/fastpath$n.nft"; } |
                                nsenter --net="/run/netns/bon-$id-$n" nft -f -
                fi
        done
}

br_u=$br
settings
echo
echo "Cross-host TCP throughput, iperf3 ${SECS}s x $ROUNDS rounds, alternating (Gbit/s):"
printf '  %-5s  %-24s %8s   %-24s %8s   %7s\n' round "overlay (load)" Gbit/s "underlay (load)" Gbit/s "ov/un %"
ovs=() uns=() rat=() abo=() abu=() abr=()
for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then
                o=$(ov_run); lo=$(load); u=$(un_run); lu=$(load)
        else
                u=$(un_run); lu=$(load); o=$(ov_run); lo=$(load)
        fi
        ovs+=("$o") uns+=("$u")
        p=$(pct "$o" "$u")
        rat+=("$p")
        printf '  %-5s  %-24s %8.2f   %-24s %8.2f   %7s\n' "$r" "($lo)" "$o" "($lu)" "$u" "$p"
        if [ "${OVT_AB:-0}" = 1 ]; then
                fastpath off
                o=$(ov_run); lo=$(load); u=$(un_run); lu=$(load)
                fastpath on
                abo+=("$o") abu+=("$u")
                p=$(pct "$o" "$u")
                abr+=("$p")
                printf '  %-5s  %-24s %8.2f   %-24s %8.2f   %7s  (without the fast-path rules)\n' \
                        "$r-" "($lo)" "$o" "($lu)" "$u" "$p"
        fi
done
mo=$(median "${ovs[@]}")
mu=$(median "${uns[@]}")
printf '  %-5s  %-24s %8.2f   %-24s %8.2f   %7s  (median of the ratios %s %%; target >= 80 %%)\n' \
        median "" "$mo" "" "$mu" "$(pct "$mo" "$mu")" "$(median "${rat[@]}")"
if [ "${OVT_AB:-0}" = 1 ]; then
        mo=$(median "${abo[@]}")
        mu=$(median "${abu[@]}")
        printf '  %-5s  %-24s %8.2f   %-24s %8.2f   %7s  (without the fast-path rules; median of the ratios %s %%)\n' \
                "median-" "" "$mo" "" "$mu" "$(pct "$mo" "$mu")" "$(median "${abr[@]}")"
fi
echo "  container MTU $MTU, underlay MTU $(mtu "${UNS[@]}" eth0); load at the end: $(load)"

if [ "${OVT_BRNF:-0}" = 1 ]; then
        # Diagnostic only, in this script's own host namespaces: the same, with br_netfilter
        # off for bridged frames (the overlay bridges; the underlay bridge is in the root ns).
        for n in "$NS2" "$NS3"; do nsenter --net="$n" sysctl -qw net.bridge.bridge-nf-call-iptables=0; done
        o=$(ov_run); lo=$(load); u=$(un_run); lu=$(load)
        for n in "$NS2" "$NS3"; do nsenter --net="$n" sysctl -qw net.bridge.bridge-nf-call-iptables=1; done
        printf '  %-5s  %-24s %8.2f   %-24s %8.2f   %7s  (bridge-nf-call-iptables=0 in the host namespaces)\n' \
                brnf0 "($lo)" "$o" "($lu)" "$u" "$(pct "$o" "$u")"
fi
