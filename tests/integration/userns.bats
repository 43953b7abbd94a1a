#!/usr/bin/env bats
# Daemon-wide user namespace remap (--userns-remap): container root is an unprivileged host uid
# from /etc/subuid and /etc/subgid; --userns=host opts out. "default" creates the system user
# berth-remap and its ranges once (like docker's dockremap), so this suite leaves that user.

load helpers
load ctr-helpers

# Restarts the suite's daemon with the remap; the test directory must be searchable.
remap_daemon() { # ARGS...
        stop_daemon
        chmod 0711 "$TEST_TMP"
        start_daemon --log-format text "$@"
}

@test "userns-remap default: root inside, the mapped uid outside, volumes and files owned by it" {
        skip_unless_cmd useradd
        remap_daemon --userns-remap default
        getent passwd berth-remap >/dev/null
        local start
        start=$(sed -n 's/^berth-remap:\([0-9]*\):.*/\1/p' /etc/subuid | head -1)
        [ -n "$start" ]
        # inside: uid 0, the map to the range
        run B run --rm --network none busybox sh -c 'id -u; cat /proc/self/uid_map'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "${lines[0]}" = 0 ]
        [ "$(echo "${lines[1]}" | awk '{print $1, $2, $3}')" = "0 $start 65536" ]
        # outside: the process runs as the mapped uid
        B run -d --name rm1 --network none -v rvol:/vol busybox sh -c 'echo from-ctr >/vol/f; touch /rootfile; sleep 300'
        wait_state rm1 '{{.State.Status}}' running
        local pid
        pid=$(B inspect -f '{{.State.Pid}}' rm1)
        [ "$(stat -c %u "/proc/$pid")" = "$start" ]
        # files written to a volume belong to the mapped root on the host
        local mp i
        mp=$(B volume inspect -f '{{.Mountpoint}}' rvol)
        for i in $(seq 50); do [ -s "$mp/f" ] && break; sleep 0.1; done
        [ "$(stat -c %u "$mp/f")" = "$start" ]
        [ "$(stat -c %u "$mp")" = "$start" ]
        # the image's files are root's inside (the shifted copy), writable by it
        run B exec rm1 sh -c 'id -u; stat -c %u /bin/busybox; ls /rootfile'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "${lines[0]}" = 0 ]
        [ "${lines[1]}" = 0 ]
        # cp into it: the copies belong to the mapped root on the host, root inside
        echo x >"$TEST_TMP/cpf"
        B cp "$TEST_TMP/cpf" rm1:/cpf
        [ "$(B exec rm1 stat -c %u /cpf)" = 0 ]
        # not root on the host: the container root cannot load modules nor mknod a host disk
        run B exec rm1 mknod /tmp/sda b 8 0
        [ "$status" -ne 0 ]
        # --userns=host opts out
        run B run --rm --network none --userns=host busybox cat /proc/self/uid_map
        [ "$(echo "$output" | awk '{print $1, $2}')" = "0 0" ] || { echo "$output"; false; }
        # --privileged needs --userns=host
        run B run --rm --network none --privileged busybox true
        [ "$status" -ne 0 ]
        [[ "$output" == *"--userns=host"* ]] || { echo "$output"; false; }
        run B run --rm --network none --privileged --userns=host busybox true
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # the remap survives a daemon restart; exec still maps
        stop_daemon
        start_daemon --log-format text --userns-remap default
        wait_state rm1 '{{.State.Status}}' running
        [ "$(B exec rm1 id -u)" = 0 ]
}

@test "userns-remap USER:GROUP from daemon.json; bad values are clear errors" {
        skip_unless_cmd useradd
        # the default user exists after the first test, or is made here
        remap_daemon --userns-remap default
        stop_daemon
        printf '{"userns-remap": "berth-remap:berth-remap"}\n' >"$TEST_TMP/daemon.json"
        start_daemon --log-format text --config-file "$TEST_TMP/daemon.json"
        local start
        start=$(sed -n 's/^berth-remap:\([0-9]*\):.*/\1/p' /etc/subuid | head -1)
        run B run --rm --network none busybox cat /proc/self/uid_map
        [ "$(echo "$output" | awk '{print $2}')" = "$start" ] || { echo "$output"; false; }
        # a per-container mode other than host is refused, naming the field
        run B create --userns=private busybox true
        [ "$status" -ne 0 ]
        [[ "$output" == *"UsernsMode"* ]] || { echo "$output"; false; }
        stop_daemon
        # bad daemon values: the daemon does not start and says why
        run timeout 20 "$BERTH" daemon --root "$TEST_TMP/r2" --run "$TEST_TMP/run2" --userns-remap no-such-user-x
        [ "$status" -ne 0 ]
        [[ "$output" == *"no such user 'no-such-user-x'"* ]] || { echo "$output"; false; }
        run timeout 20 "$BERTH" daemon --root "$TEST_TMP/r2" --run "$TEST_TMP/run2" --userns-remap nobody
        [ "$status" -ne 0 ]
        [[ "$output" == *"/etc/subuid"* ]] || { echo "$output"; false; }
        # refused after its networking started: nothing of it is left on the host
        inst=$(berth_net_instance "$TEST_TMP/r2")
        ! ip link show "$inst" 2>/dev/null
        ! nft list table ip "$inst" 2>/dev/null
        printf '{"userns-remap": 5}\n' >"$TEST_TMP/bad.json"
        run timeout 20 "$BERTH" daemon --root "$TEST_TMP/r2" --run "$TEST_TMP/run2" --config-file "$TEST_TMP/bad.json"
        [ "$status" -ne 0 ]
        [[ "$output" == *"userns-remap"* ]] || { echo "$output"; false; }
        # without a remap, only "host" is accepted per container
        start_daemon --log-format text
        run B create --userns=foo busybox true
        [ "$status" -ne 0 ]
        [[ "$output" == *"UsernsMode"* ]] || { echo "$output"; false; }
        run B create --userns=host busybox true
        [ "$status" -eq 0 ]
}

@test "userns-remap: an image's shifted layer copies go with the image; crash leftovers at start" {
        skip_unless_cmd useradd
        remap_daemon --userns-remap default
        busybox_tar "$TEST_TMP/gc.tar" 'root:x:0:0:root:/root:/bin/sh\ngc:x:7:7::/:/bin/sh\n'
        B import "$TEST_TMP/gc.tar" gcimg:1 >/dev/null
        local copies
        run B run --rm --network none gcimg:1 grep -c gc /etc/passwd
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        B run --rm --network none busybox true
        copies=$(ls -d "$TEST_TMP"/root/userns/*/* | wc -l)
        [ "$copies" -ge 2 ] # busybox's layer and gcimg's
        # removal frees the copy of gcimg's layer, keeps busybox's
        B rmi gcimg:1 >/dev/null
        [ "$(ls -d "$TEST_TMP"/root/userns/*/* | wc -l)" -eq $((copies - 1)) ]
        run B run --rm --network none busybox true
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # on the default bridge too (the daemon's network namespace, the remapped init's /sys)
        run B run --rm busybox sh -c 'id -u; ip -o -4 addr show eth0'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "${lines[0]}" = 0 ]
        [[ "${lines[1]}" == *"inet "* ]] || { echo "$output"; false; }
        # a half-made copy of a dead daemon is removed at the next start, a live maker's is kept
        local dir dead
        dir=$(ls -d "$TEST_TMP"/root/userns/*/ | head -1)
        dead=$(sh -c 'echo $$') # a pid that has exited
        mkdir -p "${dir}.tmp-deadbeef-$dead/diff" "${dir}.tmp-cafe-$$/diff"
        stop_daemon
        start_daemon --log-format text --userns-remap default
        [ ! -e "${dir}.tmp-deadbeef-$dead" ]
        [ -e "${dir}.tmp-cafe-$$" ]
        rm -rf "${dir}.tmp-cafe-$$"
}
