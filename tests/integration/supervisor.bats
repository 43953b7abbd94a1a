#!/usr/bin/env bats
# The agent as supervisor (issue #6): container events, metrics, crash-loop leaks. Needs root.

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        local r=$BATS_FILE_TMPDIR/rootfs
        mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/data" "$r/home/alice"
        cp "$BUSYBOX_BIN" "$r/bin/busybox"
        local a
        for a in $("$BUSYBOX_BIN" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' >"$r/etc/passwd"
        printf 'root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n' >"$r/etc/group"
        echo "from the image" >"$r/data/file"
        tar -C "$r" -cf "$BATS_FILE_TMPDIR/busybox.tar" .
}

setup() {
        skip_unless_root
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        setup_tmp
        start_daemon --log-format text
        run "$BERTH" import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

teardown() {
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ]; then
                local ids
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
        fi
        # Nothing of ours may stay mounted.
        if [ -n "${TEST_TMP:-}" ] && grep -q "$TEST_TMP" /proc/self/mountinfo; then
                echo "mounts left behind:" >&2
                grep "$TEST_TMP" /proc/self/mountinfo >&2
                teardown_tmp
                return 1
        fi
        # Stop the daemon here to check its log for sanitizer reports (SANITIZE builds).
        if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                stop_daemon
                if grep -E "Sanitizer|runtime error:" "$DAEMON_LOG" >&2; then
                        teardown_tmp
                        return 1
                fi
        fi
        teardown_tmp
}

B() { "$BERTH" "$@"; }

wait_state() { # NAME FMT WANT
        local i got
        for i in $(seq 100); do
                got=$(B inspect -f "$2" "$1" 2>/dev/null || true)
                [ "$got" = "$3" ] && return 0
                sleep 0.1
        done
        echo "$1: '$2' is '$got', wanted '$3'" >&2
        return 1
}

# The events of the test so far, as "action name" lines.
events_since() { # SINCE [FILTER...]
        local since=$1
        shift
        B events --since "$since" --until "$(($(date +%s) + 1))" --format json "$@" |
                jq -r '.Action + " " + .Actor.Attributes.name'
}

@test "events: run, pause, exec, stop, rename and rm publish docker's container events" {
        since=$(date +%s)
        B run -d --name ev1 --network none -l team=blue busybox sleep 300 >/dev/null
        B pause ev1
        B unpause ev1
        run B exec ev1 sh -c 'exit 3'
        [ "$status" -eq 3 ]
        B stop -t 1 ev1 >/dev/null
        B rename ev1 ev2
        B rm ev2 >/dev/null
        run events_since "$since" --filter type=container
        [ "$status" -eq 0 ]
        want="create ev1
start ev1
pause ev1
unpause ev1
exec_create: sh -c exit 3 ev1
exec_start: sh -c exit 3 ev1
exec_die ev1
kill ev1
kill ev1
die ev1
stop ev1
rename ev2
destroy ev2"
        [ "$output" = "$want" ] || { echo "got: $output"; return 1; }
        # attributes: image, labels, exitCode of die and of exec_die, signal of kill, oldName
        run B events --since "$since" --until "$(($(date +%s) + 1))" --format json --filter event=die
        [ "$(echo "$output" | jq -r .Actor.Attributes.exitCode)" = "137" ]
        [ "$(echo "$output" | jq -r .Actor.Attributes.image)" = "busybox" ]
        [ "$(echo "$output" | jq -r .Actor.Attributes.team)" = "blue" ]
        [ "$(echo "$output" | jq -r .status)" = "die" ]
        run B events --since "$since" --until "$(($(date +%s) + 1))" --format json --filter event=kill
        # sleep as PID 1 ignores SIGTERM: the stop timeout ends in SIGKILL
        [ "$(echo "$output" | jq -r .Actor.Attributes.signal | tr '\n' ' ')" = "15 9 " ]
        run B events --since "$since" --until "$(($(date +%s) + 1))" --format json --filter event=exec_die
        [ "$(echo "$output" | jq -r .Actor.Attributes.exitCode)" = "3" ]
        run B events --since "$since" --until "$(($(date +%s) + 1))" --format json --filter event=rename
        [ "$(echo "$output" | jq -r .Actor.Attributes.oldName)" = "ev1" ]
        # event=exec_start matches the "exec_start: CMD" action
        run events_since "$since" --filter event=exec_start
        [ "$output" = "exec_start: sh -c exit 3 ev1" ]
}

@test "events: filters by container and event; restart and kill events" {
        since=$(date +%s)
        B run -d --name a1 --network none busybox sleep 300 >/dev/null
        B run -d --name b1 --network none busybox sleep 300 >/dev/null
        B kill -s KILL b1 >/dev/null
        wait_state b1 '{{.State.Status}}' exited
        B restart -t 1 a1 >/dev/null
        run events_since "$since" --filter container=b1
        [ "$output" = "create b1
start b1
kill b1
die b1" ] || { echo "got: $output"; return 1; }
        run events_since "$since" --filter container=a1 --filter event=start --filter event=restart
        [ "$output" = "start a1
start a1
restart a1" ] || { echo "got: $output"; return 1; }
        # the image filter matches the container's image; events of other types are excluded
        run events_since "$since" --filter event=create --filter image=busybox
        [ "$output" = "create a1
create b1" ] || { echo "got: $output"; return 1; }
        B rm -f a1 b1 >/dev/null
        run events_since "$since" --filter event=destroy
        [ "$(echo "$output" | sort | tr '\n' ' ')" = "destroy a1 destroy b1 " ]
}

@test "events: image import, tag, save, untag, delete and load" {
        since=$(date +%s)
        # another config than setup's busybox: another image id
        B import -c 'CMD ["true"]' "$BATS_FILE_TMPDIR/busybox.tar" test/ev:1 >/dev/null
        B tag test/ev:1 test/ev:2
        B save -o "$TEST_TMP/ev.tar" test/ev:2
        B rmi test/ev:2 >/dev/null
        B rmi test/ev:1 >/dev/null
        B load -i "$TEST_TMP/ev.tar" >/dev/null
        run B events --since "$since" --until "$(($(date +%s) + 1))" --format json --filter type=image
        [ "$status" -eq 0 ]
        # setup's import may fall in the same second
        output=$(echo "$output" | jq -c 'select(.Actor.Attributes.name != "busybox")')
        got=$(echo "$output" | jq -r '.Action + " " + (.Actor.Attributes.name // "-")')
        want="import test/ev:1
tag test/ev:2
save test/ev:2
untag test/ev:2
untag test/ev:1
delete -
load test/ev:2"
        [ "$got" = "$want" ] || { echo "got: $got"; return 1; }
        # delete names the image id that import reported
        id=$(echo "$output" | jq -r 'select(.Action == "import") | .Actor.ID')
        [ "$(echo "$output" | jq -r 'select(.Action == "delete") | .Actor.ID')" = "$id" ]
        run B events --since "$since" --until "$(($(date +%s) + 1))" --format json --filter type=image --filter event=tag
        [ "$(echo "$output" | jq -r .Action)" = "tag" ]
}

metric() { # NAME_WITH_LABELS
        curl -sf --unix-socket "$RUN/berth.sock" http://berth/v1/metrics |
                awk -v k="$1" '$1 == k {print $2}'
}

@test "metrics: containers by state, restarts, shims alive" {
        [ "$(metric 'berth_containers{state="running"}')" = "0" ]
        [ "$(metric berth_shims_alive)" = "0" ]
        [ "$(metric berth_container_restarts_total)" = "0" ]
        B create --name m1 --network none busybox sleep 300 >/dev/null
        B run -d --name m2 --network none busybox sleep 300 >/dev/null
        B run -d --name m3 --network none busybox sleep 300 >/dev/null
        B pause m3
        B run -d --name m4 --network none --restart on-failure:2 busybox sh -c 'exit 1' >/dev/null
        wait_state m4 '{{.State.Status}} {{.RestartCount}}' 'exited 2'
        [ "$(metric 'berth_containers{state="created"}')" = "1" ]
        [ "$(metric 'berth_containers{state="running"}')" = "1" ]
        [ "$(metric 'berth_containers{state="paused"}')" = "1" ]
        [ "$(metric 'berth_containers{state="exited"}')" = "1" ]
        [ "$(metric berth_shims_alive)" = "2" ]
        [ "$(metric berth_container_restarts_total)" = "2" ]
        [ "$(metric 'berth_container_health{status="healthy"}')" = "0" ]
        B unpause m3
        B restart -t 0 m2 >/dev/null
        [ "$(metric berth_container_restarts_total)" = "3" ]
        [ "$(metric 'berth_containers{state="running"}')" = "2" ]
}

@test "health: a passing check turns healthy; inspect, ps and the event show it" {
        since=$(date +%s)
        B run -d --name h1 --network none --health-cmd 'echo fine; test -e /bin/sh' \
                --health-interval 200ms --health-retries 2 busybox sleep 300 >/dev/null
        wait_state h1 '{{.State.Health.Status}}' healthy
        run B inspect -f '{{json .State.Health}}' h1
        [ "$(echo "$output" | jq -r '.Log[0].ExitCode')" = "0" ]
        [ "$(echo "$output" | jq -r '.Log[0].Output')" = "fine" ]
        [ "$(echo "$output" | jq -r '.FailingStreak')" = "0" ]
        run B ps --format '{{.Status}}' --filter name=h1
        [[ "$output" == "Up "*" (healthy)" ]] || { echo "$output"; return 1; }
        run events_since "$since" --filter event=health_status
        [ "$(echo "$output" | head -1)" = "health_status: healthy h1" ]
        [ "$(metric 'berth_container_health{status="healthy"}')" = "1" ]
}

@test "health: a failing check turns unhealthy after the retries; a restart resets it" {
        since=$(date +%s)
        B run -d --name h2 --network none --health-cmd 'test -e /tmp/ok' \
                --health-interval 200ms --health-retries 2 busybox sleep 300 >/dev/null
        run B ps --format '{{.Status}}' --filter name=h2
        [[ "$output" == "Up "*" (health: starting)" ]] || { echo "$output"; return 1; }
        wait_state h2 '{{.State.Health.Status}}' unhealthy
        run B inspect -f '{{.State.Health.FailingStreak}}' h2
        [ "$output" -ge 2 ]
        run B ps --format '{{.Status}}' --filter name=h2
        [[ "$output" == "Up "*" (unhealthy)" ]] || { echo "$output"; return 1; }
        B exec h2 touch /tmp/ok
        wait_state h2 '{{.State.Health.Status}}' healthy
        run events_since "$since" --filter event=health_status
        [ "$output" = "health_status: unhealthy h2
health_status: healthy h2" ] || { echo "got: $output"; return 1; }
        # no health-on-failure: the container keeps running
        [ "$(B inspect -f '{{.State.Status}}' h2)" = "running" ]
        # a stop ends the checks; a start begins again at starting, so healthy is a change again
        B stop -t 0 h2 >/dev/null
        B start h2 >/dev/null
        for i in $(seq 100); do
                [ "$(events_since "$since" --filter event=health_status | grep -c healthy)" -ge 3 ] && break
                sleep 0.1
        done
        run events_since "$since" --filter event=health_status
        [ "$output" = "health_status: unhealthy h2
health_status: healthy h2
health_status: healthy h2" ] || { echo "got: $output"; return 1; }
}

@test "health: a hanging probe is killed at the timeout" {
        B run -d --name h3 --network none --health-cmd 'sleep 100' --health-interval 300ms \
                --health-timeout 300ms --health-retries 1 busybox sleep 300 >/dev/null
        wait_state h3 '{{.State.Health.Status}}' unhealthy
        # several probes timed out: killed ones would pile up in the container
        for i in $(seq 100); do
                [ "$(B inspect -f '{{.State.Health.FailingStreak}}' h3)" -ge 3 ] && break
                sleep 0.1
        done
        run B inspect -f '{{json .State.Health}}' h3
        [ "$(echo "$output" | jq -r '.Log[0].ExitCode')" = "-1" ]
        [[ "$(echo "$output" | jq -r '.Log[0].Output')" == "Health check exceeded timeout"* ]]
        # at most the current probe runs in it
        run B top h3
        [ "$(echo "$output" | grep -c 'sleep 100')" -le 1 ]
}

@test "health: --health-on-failure=restart restarts an unhealthy container, kill kills it" {
        since=$(date +%s)
        B run -d --name h4 --network none --health-cmd false --health-interval 200ms \
                --health-retries 1 --health-on-failure restart busybox sleep 300 >/dev/null
        for i in $(seq 100); do
                [ "$(B inspect -f '{{.RestartCount}}' h4)" -ge 1 ] && break
                sleep 0.1
        done
        [ "$(B inspect -f '{{.RestartCount}}' h4)" -ge 1 ]
        wait_state h4 '{{.State.Status}}' running
        run events_since "$since" --filter container=h4 --filter event=restart
        [[ "$output" == "restart h4"* ]]
        B run -d --name h5 --network none --health-cmd false --health-interval 200ms \
                --health-retries 1 --health-on-failure kill busybox sleep 300 >/dev/null
        wait_state h5 '{{.State.Status}} {{.State.ExitCode}}' 'exited 137'
        run B run -d --name h6 --network none --health-cmd true --health-on-failure explode busybox true
        [ "$status" -ne 0 ]
        [[ "$output" == *"explode"* ]]
}

daemon_fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
daemon_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status"; }

wait_restarts() { # NAME N: bounded wait until RestartCount >= N
        local i
        for i in $(seq 1500); do
                [ "$(B inspect -f '{{.RestartCount}}' "$1")" -ge "$2" ] && return 0
                sleep 0.1
        done
        echo "$1 restarted only $(B inspect -f '{{.RestartCount}}' "$1") times" >&2
        return 1
}

@test "leaks: 300 restarts of a crash-looping container leave the daemon's fds and RSS flat" {
        stop_daemon
        echo '{"restart-backoff-max-ms": 10}' >"$TEST_TMP/daemon.json"
        start_daemon --log-format text --config-file "$TEST_TMP/daemon.json"
        B run -d --name crash --network none --restart always busybox sh -c 'exit 1' >/dev/null
        wait_restarts crash 30
        fd0=$(daemon_fds)
        rss0=$(daemon_rss_kb)
        wait_restarts crash 330
        B stop -t 1 crash >/dev/null
        fd1=$(daemon_fds)
        rss1=$(daemon_rss_kb)
        echo "fds $fd0 -> $fd1, RSS $rss0 kB -> $rss1 kB" >&3
        [ "$fd1" -le $((fd0 + 2)) ]
        [ "$rss1" -le $((rss0 + 4096)) ]
        [ "$(metric berth_container_restarts_total)" -ge 330 ]
        [ "$(metric berth_shims_alive)" = "0" ]
}

@test "daemon config: a bad restart-backoff-max-ms is refused naming the key" {
        stop_daemon
        echo '{"restart-backoff-max-ms": 0}' >"$TEST_TMP/bad.json"
        run "$BERTH" daemon --log-format text --root "$ROOT" --run "$RUN" --config-file "$TEST_TMP/bad.json"
        [ "$status" -ne 0 ]
        [[ "$output" == *'"restart-backoff-max-ms": expected milliseconds'* ]]
}
