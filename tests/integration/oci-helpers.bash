# Shared setup for the `berth oci` bats tests: a busybox + tinit bundle in a temp dir, a private
# state root, and cleanup of every container, cgroup and mount after each test.

BERTH=${BERTH:-$PWD/build/berth}
BERTH_HELPERS=${BERTH_HELPERS:-$(dirname "$BERTH")/helpers}

oci_setup() {
        [ "$(id -u)" -eq 0 ] || skip "needs root"
        [ -x /bin/busybox ] || skip "needs busybox-static"
        command -v jq >/dev/null || skip "needs jq"
        [ -x "$BERTH_HELPERS/tinit" ] || skip "needs build/helpers/tinit"
        STATE=$BATS_TEST_TMPDIR/state
        BUNDLE=$BATS_TEST_TMPDIR/bundle
        mkdir -p "$BUNDLE/rootfs"/{bin,proc,sys,dev,tmp,etc,mnt}
        cp /bin/busybox "$BUNDLE/rootfs/bin/"
        for a in sh ls cat echo true false id hostname ps sleep mount; do
                ln -s busybox "$BUNDLE/rootfs/bin/$a"
        done
        cp "$BERTH_HELPERS/tinit" "$BUNDLE/rootfs/bin/"
        printf 'no exec bit\n' >"$BUNDLE/rootfs/bin/noexec"
        chmod 0644 "$BUNDLE/rootfs/bin/noexec"
        (cd "$BUNDLE" && "$BERTH" oci spec)
        # Each test gets its own cgroup path so parallel runs do not collide.
        CGPATH="berth-test/$(basename "$BATS_TEST_TMPDIR")-$$"
        edit ".linux.cgroupsPath = \"$CGPATH\""
}

oci_teardown() {
        [ -n "${STATE:-}" ] || return 0
        if [ -d "$STATE" ]; then
                for d in "$STATE"/*/; do
                        [ -d "$d" ] || continue
                        "$BERTH" oci --root "$STATE" delete --force "$(basename "$d")" || true
                done
        fi
        rm -rf "$BATS_TEST_TMPDIR/state"
        # The shared parent of the tests' cgroups goes when the last test leaves it.
        find /sys/fs/cgroup/*/ -maxdepth 4 -type d -name berth-test -empty -delete 2>/dev/null || true
        rmdir /sys/fs/cgroup/*/berth-test /sys/fs/cgroup/*/*/*/berth-test 2>/dev/null || true
}

# Applies a jq program to config.json.
edit() {
        jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
        mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# Sets process.args from the arguments.
set_args() {
        local a
        a=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
        edit ".process.args = $a"
}

oci() {
        "$BERTH" oci --root "$STATE" "$@"
}

# Runs the container in the foreground with the given args; sets $status and $output.
run_ctr() {
        set_args "$@"
        run oci run --bundle "$BUNDLE" "ctr-$BATS_TEST_NUMBER" </dev/null
}

# Absolute paths of the test's cgroup dirs that may be left behind.
cgroup_dirs() {
        local c
        for c in memory pids cpu devices freezer; do
                find /sys/fs/cgroup/$c -maxdepth 6 -type d -path "*$CGPATH*" 2>/dev/null
        done
}

# Runs `berth oci ARGS` for commands that leave a container process behind (create, run -d):
# its stdio goes to a file, not to bats' pipes (which the container would keep open). Sets
# $status and $output like `run`.
ocid() {
        local out=$BATS_TEST_TMPDIR/ocid.out
        status=0
        "$BERTH" oci --root "$STATE" "$@" </dev/null >"$out" 2>&1 || status=$?
        output=$(cat "$out")
}
