#!/usr/bin/env bats
# `berth oci` on real bundles: lifecycle, exit codes, and one test per isolation default that
# tries to break it from inside the container.

load oci-helpers

setup() {
        oci_setup
}

teardown() {
        oci_teardown
}

@test "spec writes a config.json that parses, and refuses to overwrite it" {
        run jq -r '.process.capabilities.bounding | length' "$BUNDLE/config.json"
        [ "$output" = 14 ]
        cd "$BUNDLE"
        run "$BERTH" oci spec
        [ "$status" -ne 0 ]
        [[ "$output" == *"exists"* ]]
}

@test "features prints JSON with namespaces and seccomp actions" {
        run oci features
        [ "$status" -eq 0 ]
        echo "$output" | jq -e '.linux.namespaces | index("pid")'
        echo "$output" | jq -e '.linux.seccomp.actions | index("SCMP_ACT_ERRNO")'
        [ "$(echo "$output" | jq -r .ociVersionMax)" = 1.1.0 ]
}

@test "run passes the container's exit code through" {
        run_ctr /bin/tinit exit 42
        [ "$status" -eq 42 ]
        run_ctr /bin/true
        [ "$status" -eq 0 ]
}

@test "command not found exits 127, not executable exits 126" {
        run_ctr nosuchcommand
        [ "$status" -eq 127 ] || true
        [ "$status" -eq 127 ]
        [[ "$output" == *"'nosuchcommand' not found"* ]]
        run_ctr /bin/noexec
        [ "$status" -eq 126 ]
}

@test "create, start, state, kill and delete" {
        set_args /bin/tinit sleep 1000
        ocid create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1
        [ "$status" -eq 0 ]
        run oci state c1
        [ "$(echo "$output" | jq -r .status)" = created ]
        [ "$(echo "$output" | jq -r .pid)" = "$(cat "$BATS_TEST_TMPDIR/pid")" ]
        [ "$(echo "$output" | jq -r .bundle)" = "$BUNDLE" ]
        run oci start c1
        [ "$status" -eq 0 ]
        [ "$(oci state c1 | jq -r .status)" = running ]
        run oci start c1
        [ "$status" -ne 0 ]
        run oci delete c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"--force"* ]]
        run oci kill c1 SIGKILL
        [ "$status" -eq 0 ]
        for _ in $(seq 50); do
                [ "$(oci state c1 | jq -r .status)" = stopped ] && break
                sleep 0.1
        done
        [ "$(oci state c1 | jq -r .status)" = stopped ]
        run oci delete c1
        [ "$status" -eq 0 ]
        [ ! -d "$STATE/c1" ]
        [ -z "$(cgroup_dirs)" ]
        run oci state c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"does not exist"* ]]
}

@test "kill accepts names and numbers, and --all" {
        set_args /bin/tinit sleep 1000
        ocid run -d --bundle "$BUNDLE" c1
        [ "$status" -eq 0 ]
        run oci kill c1 NOSUCHSIG
        [ "$status" -eq 2 ]
        run oci kill --all c1 9
        [ "$status" -eq 0 ]
        for _ in $(seq 50); do
                [ "$(oci state c1 | jq -r .status)" = stopped ] && break
                sleep 0.1
        done
        [ "$(oci state c1 | jq -r .status)" = stopped ]
}

@test "exec, ps, pause and resume on a running container" {
        set_args /bin/tinit sleep 1000
        ocid run -d --bundle "$BUNDLE" c1
        [ "$status" -eq 0 ]
        run oci exec c1 /bin/tinit hostname
        [ "$status" -eq 0 ]
        [ "$output" = berth ]
        run oci exec -e FOO=bar c1 /bin/sh -c 'echo $FOO'
        [ "$output" = bar ]
        run oci exec c1 /bin/tinit exit 7
        [ "$status" -eq 7 ]
        run oci exec c1 nosuch
        [ "$status" -eq 127 ]
        run oci ps --format json c1
        [ "$(echo "$output" | jq length)" -eq 1 ]
        run oci exec c1 /bin/tinit caps
        [[ "$output" == *"CapEff:	00000000a80425fb"* ]]
        run oci pause c1
        [ "$status" -eq 0 ]
        [ "$(oci state c1 | jq -r .status)" = paused ]
        run oci resume c1
        [ "$(oci state c1 | jq -r .status)" = running ]
        run oci delete --force c1
        [ "$status" -eq 0 ]
        [ -z "$(cgroup_dirs)" ]
}

@test "exec --process runs a process.json" {
        set_args /bin/tinit sleep 1000
        ocid run -d --bundle "$BUNDLE" c1
        [ "$status" -eq 0 ]
        echo '{"args":["/bin/tinit","id"],"cwd":"/","user":{"uid":1000,"gid":1000}}' \
                >"$BATS_TEST_TMPDIR/p.json"
        run oci exec --process "$BATS_TEST_TMPDIR/p.json" c1
        [ "$status" -eq 0 ]
        [[ "$output" == "uid=1000 gid=1000"* ]]
}

@test "capabilities are exactly docker's default set, no_new_privs is set, seccomp is on" {
        run_ctr /bin/tinit caps
        [ "$status" -eq 0 ]
        [[ "$output" == *"CapEff:	00000000a80425fb"* ]]
        [[ "$output" == *"CapBnd:	00000000a80425fb"* ]]
        [[ "$output" == *"CapInh:	0000000000000000"* ]]
        [[ "$output" == *"CapAmb:	0000000000000000"* ]]
        [[ "$output" == *"NoNewPrivs:	1"* ]]
        [[ "$output" == *"Seccomp:	2"* ]]
}

@test "a non-root user gets no effective capabilities" {
        edit '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 6]}'
        edit '.process.capabilities.effective = [] | .process.capabilities.permitted = []'
        run_ctr /bin/tinit id
        [ "$output" = "uid=1000 gid=1000 groups=5,6" ]
        run_ctr /bin/tinit caps
        [[ "$output" == *"CapEff:	0000000000000000"* ]]
}

@test "shocker: open_by_handle_at is denied" {
        run_ctr /bin/tinit open_by_handle
        [ "$status" -eq 1 ]
        [ "$output" = "FAIL EPERM" ]
}

@test "keyctl is denied by seccomp" {
        run_ctr /bin/tinit keyctl
        [ "$output" = "FAIL EPERM" ]
}

@test "mount and unshare are denied" {
        run_ctr /bin/tinit mount
        [ "$output" = "FAIL EPERM" ]
        run_ctr /bin/tinit unshare
        [ "$output" = "FAIL EPERM" ]
}

@test "loading a kernel module is denied" {
        run_ctr /bin/tinit init_module
        [ "$output" = "FAIL EPERM" ]
}

@test "/proc/sys and /proc/sysrq-trigger are read-only" {
        run_ctr /bin/tinit write /proc/sys/kernel/hostname pwned
        [ "$output" = "FAIL EROFS" ]
        run_ctr /bin/tinit write /proc/sysrq-trigger h
        [ "$status" -eq 1 ]
        [[ "$output" == "FAIL "* ]]
}

@test "/sys is read-only" {
        run_ctr /bin/tinit write /sys/kernel/uevent_helper /x
        [ "$output" = "FAIL EROFS" ]
}

@test "masked paths read empty" {
        run_ctr /bin/sh -c 'wc -c < /proc/timer_list; ls /sys/firmware | wc -l'
        [ "$status" -eq 0 ]
        [ "${lines[0]}" -eq 0 ]
        [ "${lines[1]}" -eq 0 ]
        run_ctr /bin/tinit cat /proc/keys
        [ "$status" -eq 0 ]
        [ -z "$output" ]
}

@test "mknod of a host disk is denied" {
        edit '.root.readonly = false'
        run_ctr /bin/tinit mknod /tmp/sda
        [ "$status" -eq 1 ]
        [ "$output" = "FAIL EPERM" ]
}

@test "pid namespace: only the container's processes are visible or signalable" {
        run_ctr /bin/ps -o pid
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -le 3 ]
        run_ctr /bin/tinit kill $$ 0
        [ "$output" = "FAIL ESRCH" ]
}

@test "uts namespace: the host's hostname does not change" {
        before=$(hostname)
        edit '.hostname = "inside"'
        run_ctr /bin/tinit hostname
        [ "$output" = inside ]
        run_ctr /bin/tinit sethostname pwned
        [ "$output" = "FAIL EPERM" ]
        [ "$(hostname)" = "$before" ]
}

@test "memory limit: a hog is OOM-killed with 137" {
        edit '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
        run_ctr /bin/tinit hog 256
        [ "$status" -eq 137 ]
}

@test "pids limit stops a fork bomb" {
        edit '.linux.resources.pids = {"limit": 16}'
        run_ctr /bin/tinit forkbomb 200
        [ "$status" -eq 1 ]
        [[ "$output" == "FORK_FAILED_AT "*" EAGAIN" ]]
}

@test "terminal: run attaches a pty" {
        edit '.process.terminal = true'
        run_ctr /bin/sh -c 'tty; exit 3'
        [ "$status" -eq 3 ]
        [[ "$output" == "/dev/pts/"* ]]
}

@test "terminal: --console-socket receives the pty master" {
        command -v python3 >/dev/null || skip "needs python3"
        edit '.process.terminal = true'
        set_args /bin/tinit sleep 1000
        sock=$BATS_TEST_TMPDIR/console.sock
        python3 - "$sock" >"$BATS_TEST_TMPDIR/console.out" <<'PY' &
import array, socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
msg, anc, flags, addr = c.recvmsg(16, socket.CMSG_LEN(4))
fds = array.array("i"); fds.frombytes(anc[0][2])
print("GOT_FD", os.readlink("/proc/self/fd/%d" % fds[0]))
PY
        for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
        ocid create --bundle "$BUNDLE" --console-socket "$sock" c1
        [ "$status" -eq 0 ]
        wait
        [[ "$(cat "$BATS_TEST_TMPDIR/console.out")" == "GOT_FD /dev/pts/ptmx" ]]
        ocid create --bundle "$BUNDLE" c2
        [ "$status" -ne 0 ]
        [[ "$output" == *"console-socket"* ]]
}

@test "bad config.json: a clear error naming the field, nothing left behind" {
        edit '.process.args = []'
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"config.json: process.args: must be a non-empty array"* ]]
        [ ! -d "$STATE/c1" ]
        set_args /bin/true
        edit '.linux.sysctl = {"kernel.panic": "1"}'
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"'kernel.panic' is not namespaced"* ]]
        [ ! -d "$STATE/c1" ]
        [ -z "$(cgroup_dirs)" ]
}

@test "failed setup leaves no cgroup or state behind" {
        set_args nosuchcommand
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -ne 0 ]
        [ ! -d "$STATE/c1" ]
        [ -z "$(cgroup_dirs)" ]
}

@test "duplicate ids and bad ids are refused" {
        set_args /bin/tinit sleep 1000
        ocid create --bundle "$BUNDLE" c1
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"already exists"* ]]
        ocid create --bundle "$BUNDLE" "../x"
        [ "$status" -ne 0 ]
        [[ "$output" == *"invalid container id"* ]]
}

@test "sysctl in the container's namespaces and bind mounts with options" {
        mkdir -p "$BATS_TEST_TMPDIR/data"
        echo hello >"$BATS_TEST_TMPDIR/data/f"
        edit ".mounts += [{\"destination\": \"/data\", \"source\": \"$BATS_TEST_TMPDIR/data\", \"options\": [\"rbind\", \"ro\"]}]"
        edit '.linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": "80"}'
        run_ctr /bin/sh -c 'cat /data/f; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; /bin/tinit write /data/g'
        [ "${lines[0]}" = hello ]
        [ "${lines[1]}" = 80 ]
        [ "${lines[2]}" = "FAIL EROFS" ]
}

@test "global options runc callers pass are accepted; --systemd-cgroup is refused" {
        run "$BERTH" oci --root "$STATE" --log "$BATS_TEST_TMPDIR/log" --log-format json --debug list
        [ "$status" -eq 0 ]
        run "$BERTH" oci --systemd-cgroup list
        [ "$status" -eq 2 ]
        [[ "$output" == *"not supported"* ]]
}

@test "a bundle made by crun spec runs unchanged" {
        command -v crun >/dev/null || skip "crun not installed"
        rm "$BUNDLE/config.json"
        (cd "$BUNDLE" && crun spec)
        edit '.process.terminal = false | .process.args = ["/bin/tinit", "exit", "5"]'
        edit ".linux.cgroupsPath = \"$CGPATH\""
        run oci run --bundle "$BUNDLE" c1 </dev/null
        echo "$output"
        [ "$status" -eq 5 ]
}

@test "user namespace: root inside is an unprivileged uid outside" {
        chown -R 100000:100000 "$BUNDLE/rootfs"
        # The mapped root must be able to reach the rootfs through bats' 0700 temp dirs.
        p=$BUNDLE
        while [ "$p" != /tmp ] && [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
        edit '.linux.namespaces += [{"type": "user"}]'
        edit '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
        edit '.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
        run_ctr /bin/sh -c '/bin/tinit id; cat /proc/self/uid_map'
        echo "$output"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "uid=0 gid=0 groups=" ]
        [[ "${lines[1]}" =~ ^\ +0\ +100000\ +65536$ ]]
        edit 'del(.linux.uidMappings)'
        ocid create --bundle "$BUNDLE" c1
        [[ "$output" == *"uidMappings"* ]]
}

@test "hooks run at their lifecycle points with the state on stdin" {
        H=$BATS_TEST_TMPDIR/hooks
        mkdir -p "$H"
        hook() { # KIND: a hook that saves its stdin (the state) to $H/KIND
                echo "{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > $H/$1\"]}"
        }
        edit ".hooks = {\"prestart\": [$(hook prestart)], \"createRuntime\": [$(hook createRuntime)],
                \"createContainer\": [$(hook createContainer)], \"poststart\": [$(hook poststart)],
                \"poststop\": [$(hook poststop)],
                \"startContainer\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > /dev/shm/started\"]}]}"
        set_args /bin/tinit sleep 1000
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -eq 0 ]
        pid=$(oci state c1 | jq .pid)
        for k in prestart createRuntime createContainer; do
                [ "$(jq -r .status "$H/$k")" = creating ]
                [ "$(jq -r .id "$H/$k")" = c1 ]
                [ "$(jq -r .pid "$H/$k")" = "$pid" ]
                [ "$(jq -r .bundle "$H/$k")" = "$BUNDLE" ]
        done
        [ ! -e "$H/poststart" ]
        ocid start c1
        [ "$status" -eq 0 ]
        [ "$(jq -r .status "$H/poststart")" = running ]
        # startContainer ran inside the container (its /dev/shm) before the process.
        run oci exec c1 /bin/cat /dev/shm/started
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .id)" = c1 ]
        [ ! -e "$H/poststop" ]
        ocid delete --force c1
        [ "$status" -eq 0 ]
        [ "$(jq -r .status "$H/poststop")" = stopped ]
}

@test "a failing or hanging createRuntime hook fails create and leaves nothing behind" {
        edit '.hooks = {"createRuntime": [{"path": "/bin/false"}]}'
        set_args /bin/true
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"hook '/bin/false' exited with status 1"* ]]
        [ ! -d "$STATE/c1" ]
        [ -z "$(cgroup_dirs)" ]
        edit '.hooks = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}'
        ocid create --bundle "$BUNDLE" c1
        [ "$status" -ne 0 ]
        [[ "$output" == *"timed out after 1 s"* ]]
        [ ! -d "$STATE/c1" ]
}

@test "a failing poststart hook is a warning, not a failure" {
        edit '.hooks = {"poststart": [{"path": "/bin/false"}]}'
        run_ctr /bin/tinit exit 0
        [ "$status" -eq 0 ]
        [[ "$output" == *"poststart: hook '/bin/false' exited with status 1, ignoring"* ]]
}

@test "events --stats reports the cgroup's usage and limits" {
        edit '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 30}'
        set_args /bin/tinit sleep 1000
        ocid run -d --bundle "$BUNDLE" c1
        [ "$status" -eq 0 ]
        run oci events --stats c1
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq .data.memory.usage.limit)" -eq 67108864 ]
        [ "$(echo "$output" | jq .data.pids.limit)" -eq 30 ]
        [ "$(echo "$output" | jq .data.pids.current)" -ge 1 ]
        [ "$(echo "$output" | jq .data.memory.usage.usage)" -gt 0 ]
        run oci events c1
        [ "$status" -eq 2 ]
}

@test "exec -t gives the process a terminal" {
        set_args /bin/tinit sleep 1000
        ocid run -d --bundle "$BUNDLE" c1
        run oci exec -t c1 /bin/sh -c 'tty; exit 4'
        [ "$status" -eq 4 ]
        [[ "$output" == "/dev/pts/"* ]]
}

@test "rlimits, oomScoreAdj, umask, cwd and env reach the process" {
        edit '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]'
        edit '.process.oomScoreAdj = 321 | .process.user.umask = 63 | .process.cwd = "/work/dir"'
        edit '.process.env += ["GREETING=hi"]'
        run_ctr /bin/sh -c 'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; umask; pwd; echo $GREETING'
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = 123 ]
        [ "${lines[1]}" = 456 ]
        [ "${lines[2]}" = 321 ]
        [ "${lines[3]}" = 0077 ]
        [ "${lines[4]}" = /work/dir ]
        [ "${lines[5]}" = hi ]
}

@test "the root file system is read-only by default, writable when asked" {
        run_ctr /bin/tinit write /bin/x
        [ "$output" = "FAIL EROFS" ]
        edit '.root.readonly = false'
        run_ctr /bin/tinit write /bin/x
        [ "$output" = WROTE ]
}
