#!/usr/bin/env bats
# berth's OCI runtime driven by its peers, as runc would be: podman with --runtime and dockerd
# (through containerd's runc shim) with --add-runtime. Both run on private state in the test's
# directory (their own roots, sockets and pid files; dockerd with --iptables=false and no
# bridge, so the host's firewall is not touched) and are stopped by pid. A wrapper script logs
# every runtime call, so the test knows berth ran the containers and not runc.

load helpers

setup() {
        skip_unless_root
        setup_tmp
        busybox_tar "$TEST_TMP/bb.tar"
        RT_LOG=$TEST_TMP/runtime.log
        # berth-runtime takes runc's command line itself, as crun does
        RUNTIME=${BERTH_RUNTIME:-$(dirname "$BERTH")/berth-runtime}
        [ -x "$RUNTIME" ] || skip "no berth-runtime beside $BERTH (make)"
        cat >"$TEST_TMP/berth-runc" <<EOF
#!/bin/sh
echo "\$*" >>"$RT_LOG"
exec "$RUNTIME" "\$@"
EOF
        chmod +x "$TEST_TMP/berth-runc"
        PEER_PIDS=()
        # the peers' cgroups go under a parent of this test's own, removed at teardown
        CG_PARENT=berth-oci-peers-$(basename "$TEST_TMP")
}

teardown() {
        local pid i
        if [ -n "${PM_ROOT:-}" ]; then
                pm rm -af -t 0 >/dev/null 2>&1 || true
                pm system reset -f >/dev/null 2>&1 || true
        fi
        if [ -S "${TEST_TMP:-/nonexistent}/docker.sock" ]; then
                dk rm -f $(dk ps -aq) >/dev/null 2>&1 || true
        fi
        # dockerd before containerd: the reverse of their start
        for ((i = ${#PEER_PIDS[@]} - 1; i >= 0; i--)); do
                pid=${PEER_PIDS[i]}
                kill -TERM "$pid" 2>/dev/null || continue
                for _ in $(seq 100); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null || true
        done
        if [ -n "${CG_PARENT:-}" ]; then
                for i in $(seq 50); do
                        find /sys/fs/cgroup/*/"$CG_PARENT" /sys/fs/cgroup/unified/"$CG_PARENT" \
                                -depth -type d -exec rmdir {} + 2>/dev/null
                        ls -d /sys/fs/cgroup/*/"$CG_PARENT" >/dev/null 2>&1 || break
                        sleep 0.1
                done
                # a controller that is not mounted (hugetlb on this host) is a plain directory
                # of the tmpfs, where conmon still makes its cgroup and writes a tasks file
                for d in /sys/fs/cgroup/*/"$CG_PARENT"; do
                        if [ -d "$d" ] && [ "$(stat -f -c %T "$(dirname "$d")")" = tmpfs ]; then
                                rm -rf "$d"
                        fi
                done
        fi
        if [ -n "${TEST_TMP:-}" ]; then
                grep -F " $TEST_TMP/" /proc/self/mounts | awk '{print $2}' | sort -r |
                        xargs -r -n1 umount -l 2>/dev/null || true
        fi
        teardown_tmp
}

pm() {
        CONTAINERS_CONF=$TEST_TMP/containers.conf podman --root "$PM_ROOT" \
                --runroot "$TEST_TMP/pm-run" --tmpdir "$TEST_TMP/pm-tmp" \
                --cgroup-manager cgroupfs --events-backend file \
                --runtime "$TEST_TMP/berth-runc" "$@"
}

dk() {
        /usr/bin/docker -H "unix://$TEST_TMP/docker.sock" "$@"
}

# The runtime calls in the log that name id (create and start at least).
runtime_calls() { # ID
        grep -c -- "$1" "$RT_LOG" || true
}

@test "podman --runtime berth: run, exit codes, run -d, exec, top, pause, stop, rm" {
        skip_unless_cmd podman conmon
        PM_ROOT=$TEST_TMP/pm-root
        # the hard nofile and nproc limits here are below podman's defaults and cannot be
        # raised without CAP_SYS_RESOURCE (PEERS.md)
        cat >"$TEST_TMP/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
        PM_CG=(--cgroup-parent "/$CG_PARENT")
        pm import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$TEST_TMP/bb.tar" bbx >/dev/null
        run pm run "${PM_CG[@]}" --rm --network none bbx sh -c 'echo hello; grep CapEff /proc/self/status'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "${lines[0]}" = hello ]
        # docker's default capability set (CapEff a80425fb), not everything
        [[ "${lines[1]}" == *00000000a80425fb ]] || { echo "$output"; false; }
        run pm run "${PM_CG[@]}" --rm --network none bbx sh -c 'exit 7'
        [ "$status" -eq 7 ]
        local id
        id=$(pm run "${PM_CG[@]}" -d --network none bbx sleep 300)
        [ "$(pm inspect -f '{{.OCIRuntime}}' "$id")" = "$TEST_TMP/berth-runc" ]
        [ "$(runtime_calls "$id")" -ge 2 ]
        grep -q "^.*create .*$id" "$RT_LOG"
        run pm exec "$id" sh -c 'echo exec-ok; ps -o comm'
        [ "$status" -eq 0 ] || { echo "status $status: $output"; tail -5 "$RT_LOG"; false; }
        [ "${lines[0]}" = exec-ok ]
        [[ "$output" == *sleep* ]]
        run pm top "$id"
        [[ "$output" == *"sleep 300"* ]] || { echo "$output"; false; }
        pm pause "$id" >/dev/null
        [ "$(pm inspect -f '{{.State.Status}}' "$id")" = paused ]
        pm unpause "$id" >/dev/null
        [ "$(pm inspect -f '{{.State.Status}}' "$id")" = running ]
        pm stop -t 1 "$id" >/dev/null
        [ "$(pm inspect -f '{{.State.ExitCode}}' "$id")" = 137 ] # sleep ignores SIGTERM as pid 1
        pm rm "$id" >/dev/null
        grep -q "delete.*$id" "$RT_LOG"
}

@test "dockerd --add-runtime berth: run, exit codes, run -d, exec, top, pause, stop" {
        skip_unless_cmd dockerd containerd /usr/bin/docker
        local S=$TEST_TMP i
        cat >"$S/containerd.toml" <<EOF
version = 2
root = "$S/ctrd-root"
state = "$S/ctrd-state"
[grpc]
  address = "$S/containerd.sock"
[ttrpc]
  address = "$S/containerd.sock.ttrpc"
[debug]
  address = "$S/containerd-debug.sock"
EOF
        containerd --config "$S/containerd.toml" >"$S/containerd.log" 2>&1 &
        PEER_PIDS+=($!)
        for i in $(seq 100); do [ -S "$S/containerd.sock" ] && break; sleep 0.1; done
        echo '{}' >"$S/daemon.json"
        dockerd --config-file "$S/daemon.json" --containerd "$S/containerd.sock" \
                --data-root "$S/docker" --exec-root "$S/docker-exec" \
                -H "unix://$S/docker.sock" --pidfile "$S/docker.pid" \
                --iptables=false --ip6tables=false --bridge=none --cgroup-parent "/$CG_PARENT" \
                --add-runtime "berth=$S/berth-runc" >"$S/dockerd.log" 2>&1 &
        PEER_PIDS+=($!)
        for i in $(seq 200); do dk version >/dev/null 2>&1 && break; sleep 0.1; done
        dk version >/dev/null || { tail -5 "$S/dockerd.log"; false; }
        dk import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$S/bb.tar" bbx >/dev/null
        run dk run --rm --runtime berth --network none bbx sh -c 'echo hello; grep CapEff /proc/self/status'
        [ "$status" -eq 0 ] || { echo "$output"; tail -5 "$S/dockerd.log"; false; }
        [ "${lines[0]}" = hello ]
        [[ "${lines[1]}" == *00000000a80425fb ]] || { echo "$output"; false; }
        run dk run --rm --runtime berth --network none bbx sh -c 'exit 9'
        [ "$status" -eq 9 ]
        local id
        id=$(dk run -d --runtime berth --network none bbx sleep 300)
        [ "$(dk inspect -f '{{.HostConfig.Runtime}}' "$id")" = berth ]
        [ "$(runtime_calls "$id")" -ge 2 ]
        run dk exec "$id" sh -c 'echo exec-ok'
        [ "$output" = exec-ok ] || { echo "$output"; false; }
        run dk top "$id"
        [[ "$output" == *"sleep 300"* ]] || { echo "$output"; false; }
        dk pause "$id" >/dev/null
        [ "$(dk inspect -f '{{.State.Status}}' "$id")" = paused ]
        dk unpause "$id" >/dev/null
        dk stop -t 1 "$id" >/dev/null
        [ "$(dk inspect -f '{{.State.ExitCode}}' "$id")" = 137 ]
        dk rm "$id" >/dev/null
}
