#!/usr/bin/env bats
# berth on a pure cgroup v2 host (issue #6). Each test runs a daemon in a mount and cgroup
# namespace of its own where /sys/fs/cgroup is a cgroup2 mount only, rooted at a test cgroup
# of the host's cgroup2 hierarchy (/sys/fs/cgroup/unified on a hybrid host, /sys/fs/cgroup on a
# v2 one): the daemon sees the v2 driver and puts its containers in berth/<id> below that root.
# On a hybrid host the controllers stay with v1, so this is v2 without controllers: freeze, kill,
# placement and removal work; limits are refused naming the missing controller. Needs root,
# unshare, nsenter and busybox-static; strace (optional) shows the syscalls used. Every wait is
# bounded.

load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        busybox_tar "$BATS_FILE_TMPDIR/busybox.tar"
}

# The host's cgroup2 mount, or nothing.
host_cgroup2() {
        local m
        for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
                if [ "$(stat -fc %T "$m" 2>/dev/null)" = cgroup2fs ]; then
                        echo "$m"
                        return 0
                fi
        done
}

# Starts the daemon inside the namespace (in the test cgroup, its root there).
start_v2_daemon() {
        DAEMON_LOG=$TEST_TMP/daemon.log
        rm -f "$RUN/berth.sock"
        sh -c 'cg=$1 h=$2 && shift 2 && echo $$ >"$cg/cgroup.procs" && exec nsenter -t "$h" -m -C "$@"' sh \
                "$CG" "$HOLDER" "$BERTH" daemon --root "$ROOT" --run "$RUN" --bridge none \
                --log-format text >>"$DAEMON_LOG" 2>&1 &
        DAEMON_PID=$!
        DAEMON_PIDS+=("$DAEMON_PID")
        DAEMON_ROOTS+=("$ROOT")
        SOCK=$RUN/berth.sock
        export BERTH_HOST=unix://$SOCK
        if ! wait_for_socket "$SOCK"; then
                cat "$DAEMON_LOG" >&2
                return 1
        fi
}

setup() {
        skip_unless_root
        skip_unless_cmd unshare nsenter jq
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        HOST_CG2=$(host_cgroup2)
        [ -n "$HOST_CG2" ] || skip "needs a cgroup2 hierarchy"
        setup_tmp
        ROOT=$TEST_TMP/root
        RUN=$TEST_TMP/run
        CG=$HOST_CG2/berth-it-cg2-$$-$BATS_TEST_NUMBER
        mkdir "$CG"
        # the namespace, kept by a holder process: the daemon (and its restarts) enter it
        sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -m -C --propagation private sh -c \
                "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec sleep 100000"' sh "$CG" &
        HOLDER=$!
        local i
        for i in $(seq 50); do
                [ "$(nsenter -t "$HOLDER" -m stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] &&
                        break
                sleep 0.1
        done
        [ "$(nsenter -t "$HOLDER" -m stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
        start_v2_daemon
        run "$BERTH" import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

teardown() {
        local ids pid sanitized=
        if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                stop_daemon
                # a sanitized daemon reports at exit (SANITIZE builds: BERTH=build-san/berth)
                grep -E "Sanitizer|runtime error:" "$DAEMON_LOG" >&2 && sanitized=1
        fi
        if [ -n "${HOLDER:-}" ]; then
                kill "$HOLDER" 2>/dev/null || true
                wait "$HOLDER" 2>/dev/null || true
        fi
        if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
                # whatever a failed test left: its processes, then the cgroups, deepest first
                for pid in $(cat $(find "$CG" -name cgroup.procs) 2>/dev/null); do
                        kill -KILL "$pid" 2>/dev/null || true
                done
                for i in $(seq 20); do
                        find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
                        [ -d "$CG" ] || break
                        sleep 0.1
                done
        fi
        teardown_tmp
        [ -z "${sanitized:-}" ]
}

B() { "$BERTH" "$@"; }

# Polls (bounded) until `inspect -f FMT NAME` prints WANT.
wait_state() { # NAME FMT WANT
        local i
        for i in $(seq 100); do
                [ "$(B inspect -f "$2" "$1" 2>/dev/null)" = "$3" ] && return 0
                sleep 0.05
        done
        echo "$1: $2 is '$(B inspect -f "$2" "$1")', want '$3'" >&2
        return 1
}

# Polls (bounded) until PATH is gone.
wait_gone() { # PATH
        local i
        for i in $(seq 100); do
                [ -e "$1" ] || return 0
                sleep 0.05
        done
        echo "$1 is still there" >&2
        return 1
}

# Runs CMD... with strace following the daemon and its children; the trace is in $TRACE.
# Sets STRACE=0 (and runs CMD alone) when strace is missing.
with_strace() { # SYSCALLS CMD...
        local calls=$1 spid i
        shift
        TRACE=$TEST_TMP/strace.out
        if ! command -v strace >/dev/null; then
                STRACE=0
                "$@"
                return
        fi
        STRACE=1
        strace -f -qq -e trace="$calls" -o "$TRACE" -p "$DAEMON_PID" 2>/dev/null &
        spid=$!
        # attached once the daemon shows a tracer
        for i in $(seq 50); do
                [ "$(awk '/^TracerPid/ {print $2}' "/proc/$DAEMON_PID/status")" != 0 ] && break
                sleep 0.1
        done
        "$@"
        kill -INT "$spid"
        wait "$spid" || true
}

@test "cgroup2: the daemon runs on the v2 driver; each container in its own cgroup under berth's, born there, none left after stop and rm" {
        [ "$(B info --format '{{.CgroupMode}}')" = v2 ]
        with_strace clone3,clone B run -d --name c1 --network none busybox sleep 1000
        id=$(B inspect -f '{{.Id}}' c1)
        pid=$(B inspect -f '{{.State.Pid}}' c1)
        [ "$pid" -gt 0 ]
        # the host's view of the namespace's /sys/fs/cgroup/berth/<id>
        grep -qx "$pid" "$CG/berth/$id/cgroup.procs"
        # only the container's processes in it; the daemon stays at the namespace's root
        [ "$(wc -l <"$CG/berth/$id/cgroup.procs")" -eq 1 ]
        grep -qx "$DAEMON_PID" "$CG/cgroup.procs"
        if [ "$STRACE" = 1 ]; then
                # clone3 with CLONE_INTO_CGROUP: no attach by cgroup.procs after the clone
                grep -q 'clone3(.*CLONE_INTO_CGROUP' "$TRACE"
        fi
        # and the inside of the container sees itself at the root of a cgroup namespace
        run B exec c1 cat /proc/self/cgroup
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | grep '^0::')" = "0::/" ]
        B run -d --name c2 --network none busybox sleep 1000 >/dev/null
        id2=$(B inspect -f '{{.Id}}' c2)
        [ -d "$CG/berth/$id2" ]
        B stop -t 1 c1 >/dev/null
        wait_state c1 '{{.State.Status}}' exited
        wait_gone "$CG/berth/$id"
        ! kill -0 "$pid" 2>/dev/null
        B rm c1 >/dev/null
        B rm -f c2 >/dev/null
        wait_gone "$CG/berth/$id2"
        # nothing of the containers' stays mounted in the daemon's namespace
        ! nsenter -t "$HOLDER" -m grep -q "$ROOT/containers/" /proc/self/mountinfo
}

@test "cgroup2: pause and unpause through cgroup.freeze" {
        B run -d --name p1 --network none busybox sh -c 'while :; do sleep 0.1; done' >/dev/null
        id=$(B inspect -f '{{.Id}}' p1)
        B pause p1 >/dev/null
        [ "$(cat "$CG/berth/$id/cgroup.freeze")" = 1 ]
        grep -qx 'frozen 1' "$CG/berth/$id/cgroup.events"
        [ "$(B inspect -f '{{.State.Status}}' p1)" = paused ]
        # a paused container refuses exec, as docker's does
        run B exec p1 true
        [ "$status" -ne 0 ]
        B unpause p1 >/dev/null
        [ "$(cat "$CG/berth/$id/cgroup.freeze")" = 0 ]
        grep -qx 'frozen 0' "$CG/berth/$id/cgroup.events"
        [ "$(B inspect -f '{{.State.Status}}' p1)" = running ]
        run B exec p1 echo thawed
        [ "$status" -eq 0 ]
        [ "$output" = thawed ]
}

@test "cgroup2: kill goes through cgroup.kill, also for a paused container with several processes" {
        B run -d --name k1 --network none busybox sh -c 'sleep 1000 & sleep 1000 & wait' >/dev/null
        id=$(B inspect -f '{{.Id}}' k1)
        for i in $(seq 50); do
                [ "$(wc -l <"$CG/berth/$id/cgroup.procs")" -eq 3 ] && break
                sleep 0.1
        done
        pids=$(cat "$CG/berth/$id/cgroup.procs")
        [ "$(echo "$pids" | wc -l)" -eq 3 ]
        B pause k1 >/dev/null
        with_strace open,openat B kill k1
        wait_state k1 '{{.State.ExitCode}}' 137
        if [ "$STRACE" = 1 ]; then
                grep -q "berth/$id/cgroup.kill" "$TRACE"
        fi
        for p in $pids; do
                ! kill -0 "$p" 2>/dev/null
        done
        wait_gone "$CG/berth/$id"
}

@test "cgroup2: top and stats work without controllers; limits are reported unavailable" {
        B run -d --name s1 --network none busybox sh -c 'sleep 1000 & sleep 1000 & wait' >/dev/null
        sleeps() { awk '$2 == "sleep" && $3 == "1000"' | wc -l; }
        for i in $(seq 50); do
                [ "$(B top s1 | sleeps)" -eq 2 ] && break
                sleep 0.1
        done
        run B top s1
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | sleeps)" -eq 2 ]
        [[ "$output" == *"sh -c sleep 1000 & sleep 1000 & wait"* ]]
        run B stats --no-stream --format json s1
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .PIDs)" = 3 ]
        if grep -qw memory "$CG/cgroup.controllers"; then
                [[ "$(echo "$output" | jq -r .MemUsage)" != "-- / --" ]]
        else
                [ "$(echo "$output" | jq -r .MemUsage)" = "-- / --" ]
                [ "$(echo "$output" | jq -r .MemPerc)" = "--" ]
                run api GET "/v1/containers/s1/stats?stream=false"
                [ "$status" -eq 0 ]
                [ "$(echo "$output" | jq -c .memory_stats)" = "{}" ]
                [ "$(echo "$output" | jq -r .cpu_stats.cpu_usage.total_usage)" -gt 0 ]
        fi
        run B stats --no-stream s1
        [ "$status" -eq 0 ]
        [[ "$output" == *s1* ]]
}

@test "cgroup2: --memory without the memory controller is refused naming it, and leaves no cgroup" {
        if grep -qw memory "$CG/cgroup.controllers"; then
                # a host that delegates it: the limit is set
                B run -d --name m1 --network none --memory 64m busybox sleep 1000 >/dev/null
                id=$(B inspect -f '{{.Id}}' m1)
                [ "$(cat "$CG/berth/$id/memory.max")" = 67108864 ]
                return 0
        fi
        run B run -d --name m1 --network none --memory 64m busybox sleep 1000
        [ "$status" -ne 0 ]
        [[ "$output" == *"memory limit (--memory): the cgroup v2 controller 'memory' is not available"* ]]
        id=$(B inspect -f '{{.Id}}' m1)
        [ "$(B inspect -f '{{.State.Status}}' m1)" = created ]
        [ ! -e "$CG/berth/$id" ]
        ! nsenter -t "$HOLDER" -m grep -q "$ROOT/containers/$id" /proc/self/mountinfo
        # the same for a live update of a running container
        B run -d --name u1 --network none busybox sleep 1000 >/dev/null
        run B update --memory 64m u1
        [ "$status" -ne 0 ]
        [[ "$output" == *"memory limit (--memory): the cgroup v2 controller 'memory' is not available"* ]]
        [ "$(B inspect -f '{{.State.Status}}' u1)" = running ]
        # the record keeps no limit that was not applied
        [ "$(B inspect u1 | jq '.[0].HostConfig.Memory // 0')" = 0 ]
}

@test "cgroup2: the shims are re-adopted after kill -9 of the daemon" {
        B run -d --name r1 --network none busybox sleep 1000 >/dev/null
        B run -d --name r2 --network none --restart always busybox sh -c 'sleep 1000' >/dev/null
        id1=$(B inspect -f '{{.Id}}' r1)
        pid1=$(B inspect -f '{{.State.Pid}}' r1)
        pid2=$(B inspect -f '{{.State.Pid}}' r2)
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        kill -0 "$pid1"
        kill -0 "$pid2"
        start_v2_daemon
        wait_state r1 '{{.State.Status}}' running
        wait_state r2 '{{.State.Status}}' running
        [ "$(B inspect -f '{{.State.Pid}}' r1)" = "$pid1" ]
        [ "$(B inspect -f '{{.State.Pid}}' r2)" = "$pid2" ]
        [ "$(B ps -q | wc -l)" -eq 2 ]
        # the re-adopted containers are fully managed: pause, kill, restart policy, rm
        B pause r1 >/dev/null
        [ "$(cat "$CG/berth/$id1/cgroup.freeze")" = 1 ]
        B unpause r1 >/dev/null
        kill -KILL "$pid2"
        wait_state r2 '{{.RestartCount}}' 1
        wait_state r2 '{{.State.Status}}' running
        B rm -f r1 r2 >/dev/null
        wait_gone "$CG/berth/$id1"
        [ -z "$(find "$CG/berth" -mindepth 1 -type d)" ]
}
