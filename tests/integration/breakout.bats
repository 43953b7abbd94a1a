#!/usr/bin/env bats
# Break-out attempts through the daemon path (berth run with its defaults, not a hand-made OCI
# bundle as in oci.bats): each isolation and security default is tried from inside and fails.

load helpers
load ctr-helpers

# The busybox image plus the static test helper tinit (tests/helpers/tinit.c) as "bt".
import_bt() {
        [ -x "$BERTH_HELPERS/tinit" ] || skip "needs build/helpers/tinit"
        local r=$TEST_TMP/btroot
        mkdir -p "$r"
        tar -C "$r" -xf "$BATS_FILE_TMPDIR/busybox.tar"
        cp "$BERTH_HELPERS/tinit" "$r/bin/tinit"
        tar -C "$r" -cf "$TEST_TMP/bt.tar" .
        B import "$TEST_TMP/bt.tar" bt >/dev/null
}

BERTH_HELPERS=${BERTH_HELPERS:-$BERTH_SRC/build/helpers}

R() { B run --rm --network none bt "$@"; }

@test "shocker, mount, unshare, keyctl and module loading are denied by default" {
        import_bt
        run R tinit open_by_handle
        [ "$status" -eq 1 ]
        [ "$output" = "FAIL EPERM" ] || { echo "$output"; false; }
        run R tinit mount
        [ "$output" = "FAIL EPERM" ] || { echo "$output"; false; }
        run R tinit unshare
        [ "$output" = "FAIL EPERM" ] || { echo "$output"; false; }
        run R tinit keyctl
        [ "$output" = "FAIL EPERM" ] || { echo "$output"; false; }
        run R tinit init_module
        [ "$output" = "FAIL EPERM" ] || { echo "$output"; false; }
        # busybox's own mount fails too
        run R mount -t tmpfs none /mnt
        [ "$status" -ne 0 ]
}

@test "/proc/sys, /proc/sysrq-trigger and /sys are read-only; masked paths read empty" {
        import_bt
        run R tinit write /proc/sys/kernel/hostname pwned
        [ "$output" = "FAIL EROFS" ] || { echo "$output"; false; }
        run R tinit write /proc/sysrq-trigger h
        [ "$status" -eq 1 ]
        [[ "$output" == "FAIL "* ]]
        run R tinit write /sys/kernel/uevent_helper /x
        [ "$output" = "FAIL EROFS" ] || { echo "$output"; false; }
        run R sh -c 'wc -c < /proc/timer_list; cat /proc/kcore 2>/dev/null | wc -c; ls /sys/firmware | wc -l'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "${lines[0]}" -eq 0 ]
        [ "${lines[1]}" -eq 0 ]
        [ "${lines[2]}" -eq 0 ]
}

@test "device nodes for host disks cannot be used; the device allowlist holds" {
        import_bt
        run R tinit mknod /tmp/sda
        [ "$status" -eq 1 ]
        [[ "$output" == "FAIL "* ]] || { echo "$output"; false; }
        # --device adds exactly one node
        run B run --rm --network none --device /dev/null:/dev/extra bt sh -c 'echo x > /dev/extra && echo ok'
        [ "$output" = ok ] || { echo "$output"; false; }
}

@test "host processes are neither visible nor signalable; the host's hostname stays" {
        import_bt
        run R ps -o pid
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -le 3 ] || { echo "$output"; false; }
        run R tinit kill $$ 0
        [ "$output" = "FAIL ESRCH" ] || { echo "$output"; false; }
        local before
        before=$(hostname)
        run B run --rm --network none -h inside bt tinit hostname
        [ "$output" = inside ]
        run R tinit sethostname pwned
        [ "$output" = "FAIL EPERM" ] || { echo "$output"; false; }
        run R hostname pwned
        [ "$status" -ne 0 ]
        [ "$(hostname)" = "$before" ]
}

@test "a symlink planted in a volume does not lead out: cp, a new mount, volume rm" {
        import_bt
        local marker=$TEST_TMP/host-marker
        echo host >"$marker"
        B run --rm --network none -v trap:/vol bt sh -c "ln -s / /vol/root; ln -s $marker /vol/m; ln -s /etc /vol/etc"
        # cp through the links resolves inside the container
        B run -d --name vt --network none -v trap:/vol bt sleep 300 >/dev/null
        wait_state vt '{{.State.Status}}' running
        run bash -c "'$BERTH' cp vt:/vol/root/etc/passwd - | tar -xOf -"
        [ "$output" = "$(B exec vt cat /etc/passwd)" ] || { echo "$output"; false; }
        run B cp vt:/vol/m/. -
        [ "$status" -ne 0 ]
        # writing through the volume's link lands in the container
        echo pushed >"$TEST_TMP/p"
        B cp "$TEST_TMP/p" vt:/vol/etc/pushed-$$
        [ ! -e "/etc/pushed-$$" ]
        [ "$(B exec vt cat /etc/pushed-$$)" = pushed ]
        # a second container mounting a sub-path through the link gets the container's view
        run B run --rm --network none -v trap:/vol bt cat /vol/m
        [ "$status" -ne 0 ]
        # removing the volume removes the links, never what they point to
        B rm -f vt >/dev/null
        B volume rm trap
        [ "$(cat "$marker")" = host ]
        [ -f /etc/passwd ]
}

@test "--privileged and --cap-add ALL run with the daemon's capabilities" {
        import_bt
        run B run --rm --network none --privileged bt sh -c 'grep CapEff /proc/self/status'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [[ "$output" != *"0000000000000000"* ]]
        run B run --rm --network none --cap-add ALL bt sh -c 'grep CapBnd /proc/self/status'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # --privileged allows mounting
        run B run --rm --network none --privileged bt mount -t tmpfs none /tmp
        [ "$status" -eq 0 ] || { echo "$output"; false; }
}
