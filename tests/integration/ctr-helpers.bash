# Shared by the container suites (containers, ctrfs, supervisor): a busybox image built once
# per file from Debian's busybox-static, a daemon per test with that image imported, and a
# teardown that removes containers, checks that nothing stays mounted and that a sanitized
# daemon reported nothing. Load after helpers: `load helpers` then `load ctr-helpers`.

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

# Polls (bounded) until `inspect -f FMT NAME` prints WANT.
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
