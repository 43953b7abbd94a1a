#!/usr/bin/env bats
# Containers end to end: a daemon on a temporary root, a busybox image imported from Debian's
# busybox-static, and the container commands. Needs root.

bats_require_minimum_version 1.5.0
load helpers

load ctr-helpers

@test "run -d, ps and inspect fields" {
        run B run -d --name web --network none -l tier=front -l team=a busybox sleep 300
        [ "$status" -eq 0 ]
        id=$output
        [ ${#id} -eq 64 ]
        run B ps
        assert_contains "$output" "web"
        assert_contains "$output" "${id:0:12}"
        run B ps -q --filter label=tier=front
        [ "$output" = "${id:0:12}" ]
        # several labels must all match (docker's rule); other keys are alternatives
        run B ps -q --filter label=tier=front --filter label=team=a
        [ "$output" = "${id:0:12}" ]
        run B ps -q --filter label=tier=front --filter label=team=b
        [ -z "$output" ]
        run B ps -q --filter name=web --filter name=nosuch
        [ "$output" = "${id:0:12}" ]
        run B ps -q --filter status=exited
        [ -z "$output" ]
        j=$(B inspect web)
        assert_json "$j" '.[0].Id' "$id"
        assert_json "$j" '.[0].Name' "/web"
        assert_json "$j" '.[0].State.Status' "running"
        assert_json "$j" '.[0].State.Running' "true"
        assert_json "$j" '.[0].Config.Image' "busybox"
        assert_json "$j" '.[0].Config.Hostname' "${id:0:12}"
        assert_json "$j" '.[0].Config.Labels.tier' "front"
        assert_json "$j" '.[0].HostConfig.NetworkMode' "none"
        pid=$(printf '%s' "$j" | jq -r '.[0].State.Pid')
        [ "$pid" -gt 0 ]
        kill -0 "$pid"
        # an id prefix works like the name
        run B inspect -f '{{.Name}}' "${id:0:8}"
        [ "$output" = "/web" ]
}

@test "foreground run prints the output and returns the exit code" {
        run B run --network none busybox sh -c 'echo hello; echo oops >&2; exit 7'
        [ "$status" -eq 7 ]
        assert_contains "$output" "hello"
        assert_contains "$output" "oops"
}

@test "exit codes 125 (bad flag), 126 (not executable), 127 (not found)" {
        run B run --bogus-flag busybox true
        [ "$status" -eq 125 ]
        run B run --network none busybox /etc/passwd
        [ "$status" -eq 126 ]
        run -127 B run --network none busybox no-such-command
        assert_contains "$output" "no-such-command"
        run B run --network none no-such-image true
        [ "$status" -eq 125 ]
        assert_contains "$output" "No such image"
}

@test "stop, kill, restart, pause and unpause" {
        B run -d --name c1 --network none busybox sleep 300
        B pause c1
        wait_state c1 '{{.State.Status}}' paused
        run B exec c1 true
        [ "$status" -ne 0 ]
        B unpause c1
        wait_state c1 '{{.State.Status}}' running
        pid1=$(B inspect -f '{{.State.Pid}}' c1)
        B restart -t 1 c1
        wait_state c1 '{{.State.Status}}' running
        pid2=$(B inspect -f '{{.State.Pid}}' c1)
        [ "$pid1" != "$pid2" ]
        B stop -t 1 c1
        wait_state c1 '{{.State.Status}}' exited
        [ "$(B inspect -f '{{.State.ExitCode}}' c1)" = 137 ]
        B start c1
        wait_state c1 '{{.State.Status}}' running
        B kill -s KILL c1
        wait_state c1 '{{.State.Status}}' exited
        # a trap makes SIGTERM a clean exit
        B run -d --name c2 --network none busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
        B stop -t 20 c2
        [ "$(B inspect -f '{{.State.ExitCode}}' c2)" = 0 ]
}

@test "rm refuses a running container, rm -f removes it with its directory and cgroup" {
        id=$(B run -d --name r1 --network none busybox sleep 300)
        run B rm r1
        [ "$status" -ne 0 ]
        assert_contains "$output" "Stop the container"
        B rm -f r1
        run B inspect r1
        [ "$status" -ne 0 ]
        [ ! -e "$ROOT/containers/$id" ]
        [ ! -e "/sys/fs/cgroup/pids/berth/$id" ]
        [ ! -e "/sys/fs/cgroup/memory/berth/$id" ]
}

@test "logs with --tail, --since, --until and -t" {
        B run --name l1 --network none busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done'
        run B logs l1
        [ "${lines[0]}" = "line1" ]
        [ "${#lines[@]}" -eq 5 ]
        run B logs --tail 2 l1
        [ "$output" = "$(printf 'line4\nline5')" ]
        run B logs -t --tail 1 l1
        [[ "$output" =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T.*Z\ line5$ ]]
        run B logs --since 1h l1
        [ "${#lines[@]}" -eq 5 ]
        run B logs --until 2000-01-01T00:00:00Z l1
        [ -z "$output" ]
        run B logs --since not-a-time l1
        [ "$status" -ne 0 ]
}

@test "logs -f follows until the container exits" {
        B run -d --name f1 --network none busybox sh -c 'echo a; sleep 1; echo b'
        run B logs -f f1
        [ "$output" = "$(printf 'a\nb')" ]
}

@test "wait returns the exit code" {
        B run -d --name w1 --network none busybox sh -c 'sleep 1; exit 3'
        run B wait w1
        [ "$output" = 3 ]
}

@test "exec runs in the container with env, workdir and user" {
        B run -d --name e1 --network none busybox sleep 300
        run B exec e1 sh -c 'echo out; echo err >&2; exit 4'
        [ "$status" -eq 4 ]
        assert_contains "$output" "out"
        assert_contains "$output" "err"
        run B exec -e X=42 -w /tmp -u alice e1 sh -c 'echo $X $(pwd) $(id -un)'
        [ "$output" = "42 /tmp alice" ]
        run -127 B exec e1 no-such-command
        run B exec -d e1 sleep 1
        [ "$status" -eq 0 ]
}

@test "exec output a slow client reads late arrives whole (the daemon waits, drops nothing)" {
        B run -d --name e2 --network none busybox sleep 300
        # the reader starts after 2 s: 32 MiB is far more than the daemon queues for a client
        run bash -c "$BERTH exec e2 head -c 33554432 /dev/zero | { sleep 2; wc -c; }"
        [ "$status" -eq 0 ]
        [ "$output" -eq 33554432 ]
        run bash -c "$BERTH exec -i e2 head -c 33554432 /dev/zero </dev/null | { sleep 2; wc -c; }"
        [ "$status" -eq 0 ]
        [ "$output" -eq 33554432 ]
}

@test "env, workdir, user and hostname are applied" {
        run B run --rm --network none -e FOO=bar -w /work/dir -u alice -h myhost busybox \
                sh -c 'echo "$FOO|$(pwd)|$(id -un):$(id -gn)|$(hostname)|$(cat /etc/hostname)|$PATH"'
        [ "$status" -eq 0 ]
        [ "$output" = "bar|/work/dir|alice:alice|myhost|myhost|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]
        run B run --rm --network none -u 1234:5678 busybox id
        [ "$output" = "uid=1234 gid=5678 groups=5678" ] || [ "$output" = "uid=1234 gid=5678" ]
        run B run --rm --network none -u nobody-here busybox id
        [ "$status" -eq 125 ]
        assert_contains "$output" "unable to find user nobody-here"
        run B run --rm --network none busybox grep -c localhost /etc/hosts
        [ "$output" -ge 1 ]
}

@test "a start whose bundle fails in the shim launcher reports it and leaves no mount" {
        B network create lnch >/dev/null
        id=$(B create --network lnch -u nobody-here busybox id)
        run B start "$id"
        [ "$status" -ne 0 ]
        assert_contains "$output" "unable to find user nobody-here"
        ! grep -q "$ROOT/containers/$id" /proc/self/mountinfo
        run B inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
        [ "$output" = "created 125" ]
        B rm "$id" >/dev/null
        B network rm lnch >/dev/null
}

@test "a named volume is filled from the image and persists between containers" {
        run B run --rm --network none -v vol1:/data busybox sh -c 'cat /data/file; echo kept >/data/new'
        [ "$output" = "from the image" ]
        run B run --rm --network none -v vol1:/data busybox cat /data/new
        [ "$output" = "kept" ]
        [ -f "$ROOT/volumes/vol1/_data/new" ]
}

@test "a read-only bind mount refuses writes; a missing bind source is refused" {
        mkdir -p "$TEST_TMP/share"
        run B run --rm --network none -v "$TEST_TMP/share:/s:ro" busybox sh -c 'echo x >/s/f'
        [ "$status" -ne 0 ]
        assert_contains "$output" "Read-only file system"
        [ ! -e "$TEST_TMP/share/f" ]
        B run --rm --network none -v "$TEST_TMP/share:/s" busybox sh -c 'echo x >/s/f'
        [ -f "$TEST_TMP/share/f" ]
        run B run --network none -v /does/not/exist:/x busybox true
        [ "$status" -eq 125 ]
        assert_contains "$output" "bind source path does not exist: /does/not/exist"
        run B ps -aq
        [ -z "$output" ]
}

@test "--rm removes the container after it exits" {
        run B run --rm --name gone --network none busybox true
        [ "$status" -eq 0 ]
        run B ps -aq
        [ -z "$output" ]
        B run -d --rm --name gone2 --network none busybox true
        for i in $(seq 100); do
                [ -z "$(B ps -aq)" ] && break
                sleep 0.1
        done
        [ -z "$(B ps -aq)" ]
        [ -z "$(ls "$ROOT/containers")" ]
}

@test "restart policy on-failure:2 restarts twice and stops" {
        B run -d --name rp --network none --restart on-failure:2 busybox sh -c 'echo ran; exit 3'
        wait_state rp '{{.State.Status}} {{.RestartCount}}' "exited 2"
        [ "$(B inspect -f '{{.State.ExitCode}}' rp)" = 3 ]
        run B logs rp
        [ "${#lines[@]}" -eq 3 ]
}

@test "restart policy always restarts after exits, a stop holds it" {
        B run -d --name al --network none --restart always busybox sh -c 'sleep 0.2; exit 0'
        wait_state al '{{ge .RestartCount 2}}' true 2>/dev/null ||
                for i in $(seq 100); do
                        [ "$(B inspect -f '{{.RestartCount}}' al)" -ge 2 ] && break
                        sleep 0.1
                done
        [ "$(B inspect -f '{{.RestartCount}}' al)" -ge 2 ]
        B stop -t 1 al
        wait_state al '{{.State.Status}}' exited
        n=$(B inspect -f '{{.RestartCount}}' al)
        sleep 1
        [ "$(B inspect -f '{{.RestartCount}}' al)" = "$n" ]
}

@test "containers survive kill -9 of the daemon and are adopted by the next one" {
        id=$(B run -d --name keep --network none busybox sleep 300)
        B run -d --name quick --network none busybox sh -c 'sleep 1; exit 5'
        pid=$(B inspect -f '{{.State.Pid}}' keep)
        qpid=$(B inspect -f '{{.State.Pid}}' quick)
        kill -9 "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        kill -0 "$pid"
        # "quick" exits while no daemon runs (bounded wait for its process to go)
        if [ "$qpid" -gt 0 ]; then
                gone() { ! kill -0 "$1" 2>/dev/null; }
                eventually gone "$qpid"
        fi
        rm -f "$SOCK"
        start_daemon --log-format text
        run B ps
        assert_contains "$output" "keep"
        [ "$(B inspect -f '{{.State.Pid}}' keep)" = "$pid" ]
        wait_state quick '{{.State.Status}} {{.State.ExitCode}}' "exited 5"
        B stop -t 1 keep
        wait_state keep '{{.State.Status}}' exited
        ! kill -0 "$pid" 2>/dev/null
}

@test "a memory limit OOM kill is reported" {
        [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] || [ -e /sys/fs/cgroup/memory.max ] ||
                skip "no memory controller"
        run B run --name oom --network none -m 8m busybox sh -c 'tail /dev/zero'
        [ "$status" -eq 137 ]
        [ "$(B inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom)" = "true 137" ]
}

@test "a pids limit is enforced" {
        run B run --rm --network none --pids-limit 5 busybox sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait'
        assert_contains "$output" "can't fork"
}

@test "bad input leaves nothing behind" {
        run B run --name 'bad name!' --network none busybox true
        [ "$status" -eq 125 ]
        assert_contains "$output" "nvalid container name"
        run B run --network nope busybox true
        [ "$status" -eq 125 ]
        assert_contains "$output" "network nope not found"
        run B run --network none --log-opt max-size=banana busybox true
        [ "$status" -eq 125 ]
        run B create --network none -v vnew:/v -v /nope:/n busybox true
        [ "$status" -eq 125 ]
        [ ! -e "$ROOT/volumes/vnew" ]
        B create --name dup --network none busybox true
        run B create --name dup --network none busybox true
        [ "$status" -eq 125 ]
        assert_contains "$output" "already in use"
        B rm dup
        [ -z "$(ls "$ROOT/containers")" ]
        [ -z "$(B ps -aq)" ]
        ! grep -q "$TEST_TMP" /proc/self/mountinfo
        run ls /sys/fs/cgroup/pids/berth
        [ -z "$output" ] || ! ls "$ROOT/containers" | grep -q .
}

@test "rename, top, create + start -a, help" {
        B create --name a1 --network none busybox sh -c 'echo started; exit 2'
        run B start -a a1
        [ "$status" -eq 2 ]
        assert_contains "$output" "started"
        B rename a1 a2
        run B inspect -f '{{.Name}}' a2
        [ "$output" = "/a2" ]
        B run -d --name t1 --network none busybox sleep 300
        run B top t1
        assert_contains "$output" "sleep 300"
        run B run --help
        [ "$status" -eq 0 ]
        run B ps --help
        [ "$status" -eq 0 ]
}

@test "-t gives a pty; log rotation keeps max-file files; --init and -i work" {
        run B run --rm -t --network none busybox tty
        [ "$status" -eq 0 ]
        assert_contains "$output" "/dev/pts/"
        id=$(B run -d --network none --log-opt max-size=1k --log-opt max-file=2 busybox \
                sh -c 'i=0; while [ $i -lt 300 ]; do echo "line number $i"; i=$((i+1)); done')
        B wait "$id"
        n=$(ls "$ROOT/containers/$id/" | grep -c -- '-json.log')
        [ "$n" -le 2 ]
        run B logs --tail 1 "$id"
        [ "$output" = "line number 299" ]
        # berth-attach: both exist now (tests in attach.bats)
        if [ -x "$(dirname "$BERTH")/berth-init" ]; then
                run B run --rm --init --network none busybox true
                [ "$status" -eq 0 ]
        fi
        run bash -c "echo piped | '$BERTH' run --rm -i --network none busybox cat"
        [ "$status" -eq 0 ]
        [ "$output" = "piped" ]
}

@test "a corrupt record is reported and skipped; the others load" {
        B create --name good --network none busybox true
        mkdir -p "$ROOT/containers/badbadbad"
        printf '{"Version":1,"Id":' >"$ROOT/containers/badbadbad/config.json"
        stop_daemon
        rm -f "$SOCK"
        start_daemon --log-format text
        run B ps -a --format '{{.Names}}'
        [ "$output" = "good" ]
        grep -q "badbadbad" "$DAEMON_LOG"
        rm -rf "$ROOT/containers/badbadbad"
}

@test "image VOLUMEs become anonymous volumes, removed with rm -v" {
        B import -c 'VOLUME /data' -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" withvol
        id=$(B create --network none withvol cat /data/file)
        vol=$(B inspect -f '{{json .Mounts}}' "$id" | jq -r '.[0].Name')
        [ ${#vol} -eq 64 ]
        [ -d "$ROOT/volumes/$vol" ]
        B start -a "$id" | grep -q "from the image"
        B rm -v "$id"
        [ ! -e "$ROOT/volumes/$vol" ]
}

@test "run -v /DIR makes an anonymous volume (docker's Config.Volumes), removed with rm -v" {
        id=$(B create --network none -v /data busybox sh -c 'echo kept >/data/f; cat /data/f')
        [ "$(B inspect -f '{{json .Mounts}}' "$id" | jq -r '.[0].Destination')" = /data ]
        vol=$(B inspect -f '{{json .Mounts}}' "$id" | jq -r '.[0].Name')
        [ ${#vol} -eq 64 ]
        [ -d "$ROOT/volumes/$vol" ]
        [ "$(B start -a "$id")" = kept ]
        B rm -v "$id"
        [ ! -e "$ROOT/volumes/$vol" ]
        # a relative path is refused, naming the flag's value, and leaves no container behind
        run B create --network none -v data busybox true
        [ "$status" -ne 0 ]
        assert_contains "$output" "data"
        [ -z "$(B ps -aq)" ]
}

@test "a deep run directory: shim and attach sockets past sun_path's 107 bytes still work" {
        stop_daemon
        rm -f "$SOCK"
        # the daemon's own socket fits; <run>/shims/<64 hex>.sock does not
        RUN=$TEST_TMP/run-$(printf '%060d' 0)
        mkdir -p "$RUN"
        start_daemon --log-format text
        [ $((${#RUN} + 76)) -gt 107 ]
        B run -d --name deep --network none busybox sleep 300
        [ "$(B exec deep echo through-the-shim)" = through-the-shim ]
        [ "$(echo via-attach | B run -i --rm --network none busybox cat)" = via-attach ]
        # a new daemon re-adopts the shim through the same long path
        stop_daemon
        rm -f "$SOCK"
        start_daemon --log-format text
        [ "$(B inspect -f '{{.State.Status}}' deep)" = running ]
        [ "$(B exec deep echo again)" = again ]
        B rm -f deep
}

@test "a daemon stop releases waiting clients; an exec in flight does not hold the daemon's lock" {
        B run -d --name hold --network none busybox sleep 300
        B exec hold sleep 60 &
        exec_pid=$!
        run_wait() { B wait hold >"$TEST_TMP/wait.out" 2>&1; }
        run_wait &
        wait_pid=$!
        sleep 1
        stop_daemon
        wait "$wait_pid" || true
        assert_contains "$(cat "$TEST_TMP/wait.out")" "shutting down"
        rm -f "$SOCK"
        start_daemon --log-format text
        [ "$(B inspect -f '{{.State.Status}}' hold)" = running ]
        B rm -f hold
        wait "$exec_pid" || true
}
