# Shared helpers for berth's bats tests (STYLE C19c). Load with `load helpers`.
#
# Environment: BERTH (the binary under test; scripts/test.sh sets it, default build/berth),
# BERTH_HELPERS (static payloads), BERTH_SRC (the source tree).

BERTH_SRC=${BERTH_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BERTH=${BERTH:-$BERTH_SRC/build/berth}

# A fresh temporary directory per test: $TEST_TMP. Daemons started with start_daemon live there.
setup_tmp() {
        TEST_TMP=$(mktemp -d /tmp/berth-it.XXXXXX)
        DAEMON_PIDS=()
        DAEMON_ROOTS=()
}

# The name of ROOT's kernel objects (net_instance_name in engine/net/net.c): "berth" for
# /var/lib/berth, else "berth-" + the 32-bit FNV-1a hash of the path in hex. It names the nft
# tables `ip NAME` and `bridge NAME` and the default bridge (berth0 for "berth").
berth_net_instance() { # ROOT
        local s=$1 h=2166136261 c
        while [ ${#s} -gt 1 ] && [ "${s%/}" != "$s" ]; do s=${s%/}; done
        if [ "$s" = /var/lib/berth ]; then
                echo berth
                return
        fi
        for c in $(printf '%s' "$s" | od -An -tu1 -v); do
                h=$((((h ^ c) * 16777619) & 0xffffffff))
        done
        printf 'berth-%08x\n' "$h"
}

# Removes the default bridge and the nft tables of a temporary root (its daemon has stopped):
# they outlive the daemon on purpose (running containers keep them), but a test's root is gone.
cleanup_net_instance() { # ROOT
        local inst
        inst=$(berth_net_instance "$1")
        [ "$inst" = berth ] && return 0
        ip link del "$inst" 2>/dev/null || true
        nft delete table ip "$inst" 2>/dev/null || true
        nft delete table bridge "$inst" 2>/dev/null || true
}

# Stops every daemon this test started (by pid) and removes the temporary directory.
teardown_tmp() {
        local pid i root
        for pid in "${DAEMON_PIDS[@]}"; do
                kill -TERM "$pid" 2>/dev/null || continue
                for i in $(seq 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null || true
        done
        for root in "${DAEMON_ROOTS[@]}"; do
                cleanup_net_instance "$root"
        done
        if [ -n "${TEST_TMP:-}" ]; then
                rm -rf "$TEST_TMP"
        fi
}

# Writes a busybox root file system as a tarball (for `berth import`): Debian's busybox-static
# with every applet linked, /etc/passwd and /etc/group (default: root only), and /tmp.
busybox_tar() { # TAR [PASSWD_TEXT [GROUP_TEXT]]
        local tar=$1 r a
        r=$(mktemp -d "${TMPDIR:-/tmp}/berth-busybox.XXXXXX")
        mkdir -p "$r/bin" "$r/etc" "$r/tmp"
        cp "${BUSYBOX_BIN:-/bin/busybox}" "$r/bin/busybox"
        for a in $("$r/bin/busybox" --list); do
                [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
        done
        printf '%b' "${2:-root:x:0:0:root:/root:/bin/sh\n}" >"$r/etc/passwd"
        printf '%b' "${3:-root:x:0:\n}" >"$r/etc/group"
        tar -C "$r" -cf "$tar" .
        rm -rf "$r"
}

skip_unless_root() {
        [ "$(id -u)" -eq 0 ] || skip "needs root"
}

skip_unless_cmd() { # CMD...
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || skip "needs $c"
        done
}

# Waits (bounded) until PATH exists as a socket.
wait_for_socket() { # PATH [TRIES]
        local i
        for i in $(seq "${2:-100}"); do
                [ -S "$1" ] && return 0
                sleep 0.05
        done
        echo "socket $1 did not appear" >&2
        return 1
}

# Starts `berth daemon` on $TEST_TMP/root and $TEST_TMP/run (override with ROOT= / RUN=) with
# extra arguments, waits for its socket and exports BERTH_HOST. Sets DAEMON_PID.
start_daemon() { # [ARGS...]
        ROOT=${ROOT:-$TEST_TMP/root}
        RUN=${RUN:-$TEST_TMP/run}
        DAEMON_LOG=$TEST_TMP/daemon.log
        "$BERTH" daemon --root "$ROOT" --run "$RUN" "$@" >"$DAEMON_LOG" 2>&1 &
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

# Sends SIGTERM to the daemon and waits for it; its exit status ends up in $DAEMON_STATUS.
stop_daemon() {
        local i
        kill -TERM "$DAEMON_PID"
        for i in $(seq 100); do
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.05
        done
        DAEMON_STATUS=0
        wait "$DAEMON_PID" || DAEMON_STATUS=$?
}

# curl against the daemon's unix socket: api GET /v1/info [curl args...]
api() { # METHOD PATH [CURL ARGS...]
        local m=$1 p=$2
        shift 2
        curl -sS --max-time 30 --unix-socket "$SOCK" -X "$m" "$@" "http://berth$p"
}

# Sends raw bytes (printf escapes allowed) on a unix socket and prints everything the server
# answers until it closes the connection.
raw_request() { # SOCKET DATA
        perl -MIO::Socket::UNIX -e '
                alarm 60;
                my ($path, $data) = @ARGV;
                my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
                        or die "connect $path: $!";
                $s->autoflush(1);
                print $s $data;
                local $/;
                my $r = <$s>;
                print $r if defined $r;' "$1" "$(printf "$2")"
}

# jq assertions: assert_json JSON FILTER EXPECTED
assert_json() {
        local got
        got=$(printf '%s' "$1" | jq -r "$2") || {
                echo "not JSON or bad filter '$2': $1" >&2
                return 1
        }
        if [ "$got" != "$3" ]; then
                echo "jq '$2': expected '$3', got '$got' in: $1" >&2
                return 1
        fi
}

assert_contains() { # HAYSTACK NEEDLE
        case "$1" in
        *"$2"*) return 0 ;;
        esac
        echo "expected to find '$2' in: $1" >&2
        return 1
}

# A TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
        local p i
        for i in $(seq 50); do
                p=$((20000 + RANDOM % 20000))
                if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
                        echo "$p"
                        return 0
                fi
        done
        return 1
}

# eventually CMD...: runs CMD until it succeeds, EVENTUALLY_TRIES times (default 100) 0.2 s
# apart, quietly; then once more, whose output and status are the result.
eventually() {
        local i
        for i in $(seq "${EVENTUALLY_TRIES:-100}"); do
                "$@" 2>/dev/null && return 0
                sleep 0.2
        done
        "$@"
}

# bridge_of NETWORK: the kernel's name of a bridge network's device.
bridge_of() {
        echo "br-$("$BERTH" network inspect "$1" | jq -r '.[0].Id' | cut -c1-12)"
}
