#!/usr/bin/env bats
# The foreground `berth up` (no -d) runs in the thin berth (cli/stacks_follow.c: uhttp streams
# multiplexed with ppoll, no libcurl): it prints each container's log lines behind
# "service-slot |", attaches containers that start later, and Ctrl-C stops the stack.
# Run under the shared lock: flock /tmp/berth-integ.lock bats tests/integration/up-foreground.bats

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        busybox_tar "$BATS_FILE_TMPDIR/busybox.tar"
}

setup() {
        skip_unless_root
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        setup_tmp
        UP_PID=
        # --bridge none and network_mode none: no network, nothing on the host's firewall
        start_daemon --log-format text --bridge none
        run "$BERTH" import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

teardown() {
        if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
                kill -KILL "$UP_PID" 2>/dev/null || true
        fi
        if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                "$BERTH" down -t 0 -p fg >/dev/null 2>&1 || true
                stop_daemon
        fi
        teardown_tmp
}

# eventually (helpers.bash) polls 150 times here: a foreground up's start and stop take longer.
EVENTUALLY_TRIES=150

out_has() { grep -q -- "$1" "$TEST_TMP/up.out"; }
stack_ctrs() { "$BERTH" ps -q --filter name=fg. | wc -l; }

@test "foreground up in the thin berth: log lines of every container, late ones too; Ctrl-C stops the stack" {
        cat >"$TEST_TMP/fg.yaml" <<'YAML'
name: fg
services:
  tick:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "i=0; while [ $$i -lt 600 ]; do echo tick-$$i; i=$$((i+1)); sleep 0.5; done"]
    stop_grace_period: 1s
  late:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "sleep 2; echo late-hello; exec sleep 600"]
    stop_grace_period: 1s
YAML
        "$BERTH" up -f "$TEST_TMP/fg.yaml" >"$TEST_TMP/up.out" 2>&1 &
        UP_PID=$!
        eventually out_has "tick-1 *| tick-"
        # the thin berth itself follows the logs: it was not handed to berth-engine
        [ "$(readlink /proc/$UP_PID/exe)" = "$(readlink -f "$BERTH")" ]
        eventually out_has "late-1 *| late-hello"
        [ "$(stack_ctrs)" -eq 2 ]
        kill -INT "$UP_PID"
        local i
        for i in $(seq 150); do
                kill -0 "$UP_PID" 2>/dev/null || break
                sleep 0.2
        done
        run wait "$UP_PID"
        UP_PID=
        [ "$status" -eq 0 ] || { cat "$TEST_TMP/up.out"; false; }
        run cat "$TEST_TMP/up.out"
        [[ "$output" == *"Attaching to the logs of stack 'fg'"* ]]
        [[ "$output" == *"Stack 'fg' stopped."* ]]
        [ -z "$("$BERTH" ps -aq --filter name=fg.)" ]
        run "$BERTH" ls
        ! echo "$output" | grep -q "^fg "
}
