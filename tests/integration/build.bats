#!/usr/bin/env bats
# berth build end to end: a daemon on a temporary root, a busybox base image imported from
# Debian's busybox-static, Dockerfiles in a temporary context. Needs root.

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        busybox_tar "$BATS_FILE_TMPDIR/busybox.tar" \
                'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' \
                'root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n'
}

setup() {
        skip_unless_root
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        setup_tmp
        start_daemon --log-format text
        run "$BERTH" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
        CTX=$TEST_TMP/ctx
        mkdir -p "$CTX"
}

teardown() {
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ]; then
                local ids
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
        fi
        if [ -n "${TEST_TMP:-}" ] && grep -q "$TEST_TMP" /proc/self/mountinfo; then
                echo "mounts left behind:" >&2
                grep "$TEST_TMP" /proc/self/mountinfo >&2
                teardown_tmp
                return 1
        fi
        teardown_tmp
}

B() { "$BERTH" "$@"; }

@test "build: each instruction's effect in image inspect and in a container" {
        echo "payload" >"$CTX/file.txt"
        cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
LABEL org.example.kind="test image"
MAINTAINER Jane <jane@example.com>
ENV GREETING="hello world" N=1
WORKDIR /app
COPY --chown=alice:staff --chmod=0640 file.txt ./
RUN echo "$GREETING" > /app/greeting && id -u > /app/uid
USER alice
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s CMD true
CMD ["sh", "-c", "cat /app/greeting; stat -c '%U:%G %a' /app/file.txt; pwd; id -un"]
DF
        run B build -t built:1 "$CTX"
        echo "$output"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Step 7/13 : RUN echo"
        assert_contains "$output" "Successfully tagged built:1"
        j=$(B image inspect built:1)
        assert_json "$j" '.[0].Config.Labels["org.example.kind"]' "test image"
        assert_json "$j" '.[0].Config.WorkingDir' "/app"
        assert_json "$j" '.[0].Config.User' "alice"
        assert_json "$j" '.[0].Config.ExposedPorts | keys | join(",")' "53/udp,8080/tcp"
        assert_json "$j" '.[0].Config.StopSignal' "SIGTERM"
        run B run --rm --network none built:1
        echo "$output"
        [ "$status" -eq 0 ]
        assert_contains "$output" "hello world"
        assert_contains "$output" "alice:staff 640"
        assert_contains "$output" "/app"
}

@test "build: cache hits after no change, misses after editing one file" {
        echo one >"$CTX/a.txt"
        echo two >"$CTX/b.txt"
        cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN echo first-step
COPY a.txt /a.txt
COPY b.txt /b.txt
RUN cat /a.txt /b.txt
DF
        run B build -t cache:1 "$CTX"
        [ "$status" -eq 0 ]
        run B build -t cache:1 "$CTX"
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$(grep -c 'Using cache' <<<"$output")" -eq 4 ]
        echo changed >"$CTX/b.txt"
        run B build -t cache:1 "$CTX"
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$(grep -c 'Using cache' <<<"$output")" -eq 2 ]
        assert_contains "$output" "changed"
        run B build --no-cache -t cache:1 "$CTX"
        [ "$(grep -c 'Using cache' <<<"$output")" -eq 0 ]
}

@test "build: .dockerignore keeps files out of COPY" {
        mkdir -p "$CTX/docs" "$CTX/src"
        echo keep >"$CTX/src/main.c"
        echo secret >"$CTX/secret.key"
        echo doc >"$CTX/docs/a.md"
        echo readme >"$CTX/docs/README.md"
        mkdir -p "$CTX/src/deep/er" "$CTX/logs"
        echo log >"$CTX/src/deep/er/trace.log"
        echo log >"$CTX/top.log"
        echo keep >"$CTX/src/deep/er/keep.log"
        printf '*.key\ndocs\n!docs/README.md\n**/*.log\n!src/**/keep.log\n' >"$CTX/.dockerignore"
        printf 'FROM busybox\nCOPY . /ctx/\nCMD ["find", "/ctx", "-type", "f"]\n' >"$CTX/Dockerfile"
        run B build -t ign:1 "$CTX"
        [ "$status" -eq 0 ]
        run B run --rm --network none ign:1
        echo "$output"
        assert_contains "$output" "/ctx/src/main.c"
        assert_contains "$output" "/ctx/docs/README.md"
        [[ "$output" != *secret.key* ]]
        [[ "$output" != *docs/a.md* ]]
        # ** matches any number of directories (none too); ! brings one file back
        [[ "$output" != *trace.log* ]]
        [[ "$output" != *top.log* ]]
        assert_contains "$output" "/ctx/src/deep/er/keep.log"
}

@test "build: multi-stage with FROM scratch and a static binary" {
        [ -x "${BERTH_HELPERS:-$BERTH_SRC/build/helpers}/tinit" ] || skip "needs build/helpers/tinit"
        cp "${BERTH_HELPERS:-$BERTH_SRC/build/helpers}/tinit" "$CTX/tinit"
        cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS prep
COPY tinit /out/tinit
RUN echo produced > /out/msg
FROM busybox AS never-used
RUN exit 1
FROM scratch
COPY --from=prep /out/ /
ENTRYPOINT ["/tinit"]
DF
        run B build -t multi:1 "$CTX"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" != *"exit 1"* ]]
        j=$(B image inspect multi:1)
        assert_json "$j" '.[0].RootFS.Layers | length' "1"
        run B run --rm --network none multi:1 exit 0
        echo "$output"
        [ "$status" -eq 0 ]
}

@test "build: ARG scoping, --build-arg, heredocs and ONBUILD" {
        cat >"$CTX/Dockerfile" <<'DF'
ARG BASE=busybox
FROM ${BASE}
ARG VERSION=1.0
ENV SEEN_BASE="${BASE:-not-visible}"
RUN <<EOF
echo "version $VERSION" > /version
EOF
COPY <<EOF /etc/app.conf
v=${VERSION}
EOF
ONBUILD RUN echo from-trigger > /trigger
DF
        run B build --build-arg VERSION=2.5 -t parent:1 "$CTX"
        echo "$output"
        [ "$status" -eq 0 ]
        run B run --rm --network none parent:1 sh -c 'cat /version /etc/app.conf; echo $SEEN_BASE'
        echo "$output"
        assert_contains "$output" "version 2.5"
        assert_contains "$output" "v=2.5"
        assert_contains "$output" "not-visible"
        printf 'FROM parent:1\nCMD ["cat", "/trigger"]\n' >"$CTX/Dockerfile"
        run B build -t child:1 "$CTX"
        echo "$output"
        [ "$status" -eq 0 ]
        assert_contains "$output" "Executing ONBUILD trigger"
        run B run --rm --network none child:1
        [ "$output" = "from-trigger" ]
}

@test "build: a failing RUN reports exit code, output and line; nothing is tagged" {
        printf 'FROM busybox\nRUN echo ok\nRUN echo broken-output; exit 7\n' >"$CTX/Dockerfile"
        run B build -t failing:1 "$CTX"
        echo "$output"
        [ "$status" -eq 1 ]
        assert_contains "$output" "Dockerfile:3"
        assert_contains "$output" "exit code: 7"
        assert_contains "$output" "broken-output"
        run B image inspect failing:1
        [ "$status" -ne 0 ]
        [ -z "$(ls "$ROOT/build-tmp" 2>/dev/null | grep -v '^oci$\|^jobs$' || true)" ]
        # the helper's note goes when the daemon has reaped it (just after the error line)
        local i
        for i in $(seq 50); do
                [ -z "$(ls "$ROOT/build-tmp/jobs" 2>/dev/null || true)" ] && break
                sleep 0.1
        done
        [ -z "$(ls "$ROOT/build-tmp/jobs" 2>/dev/null || true)" ]
}

@test "build: COPY ../x is refused with the line number" {
        printf 'FROM busybox\n\nCOPY ../x /x\n' >"$CTX/Dockerfile"
        run B build "$CTX"
        echo "$output"
        [ "$status" -eq 1 ]
        assert_contains "$output" "Dockerfile:3: COPY: '../x' is outside the build context"
        printf 'FROM busybox\nRUNN x\n' >"$CTX/Dockerfile"
        run B build "$CTX"
        [ "$status" -eq 1 ]
        assert_contains "$output" "Dockerfile:2: unknown instruction: RUNN"
}

@test "build: context as a tar stream on stdin, -f and --target" {
        mkdir -p "$CTX/sub"
        printf 'FROM busybox AS one\nRUN echo one > /which\nFROM one AS two\nRUN echo two > /which\n' >"$CTX/sub/Build.df"
        run bash -c "tar -C '$CTX' -cf - . | '$BERTH' build -f sub/Build.df --target one -t tgt:1 -"
        echo "$output"
        [ "$status" -eq 0 ]
        run B run --rm --network none tgt:1 cat /which
        [ "$output" = "one" ]
        # With a directory, -f is relative to the working directory, as in docker.
        run bash -c "cd '$TEST_TMP' && '$BERTH' build -f ctx/sub/Build.df -t tgt:2 ctx"
        echo "$output"
        [ "$status" -eq 0 ]
        run B run --rm --network none tgt:2 cat /which
        [ "$output" = "two" ]
        run bash -c "cd '$TEST_TMP' && '$BERTH' build -f /etc/hostname ctx"
        [ "$status" -eq 1 ]
        assert_contains "$output" "must be inside the build context"
}

@test "build: examples/debian-build compiles a static C program in a Debian stage, FROM scratch" {
        # scripts/deps.sh --test makes this tarball (mmdebstrap from Debian's archive)
        : "${BERTH_DEBIAN_TAR:=/var/cache/berth-test/debian-gcc-bookworm.tar}"
        [ -s "$BERTH_DEBIAN_TAR" ] ||
                skip "no $BERTH_DEBIAN_TAR: scripts/deps.sh --test makes it with mmdebstrap"
        run B import -c 'CMD ["/bin/bash"]' \
                -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                "$BERTH_DEBIAN_TAR" debian-gcc:bookworm
        [ "$status" -eq 0 ]
        run B build -t hello:static "$BERTH_SRC/examples/debian-build"
        echo "$output"
        [ "$status" -eq 0 ]
        j=$(B image inspect hello:static)
        assert_json "$j" '.[0].RootFS.Layers | length' "1"
        run B run --rm --network none hello:static
        [ "$output" = "hello from a static binary built by berth (scratch)" ]
}

# The default bridge network's gateway address.
bridge_gateway() {
        "$BERTH" network inspect bridge | jq -r '.[0].IPAM.Config[0].Gateway'
}

@test "build: RUN runs on the default bridge (reaches the gateway), --network none and host" {
        skip_unless_cmd jq
        gw=$(bridge_gateway)
        [ -n "$gw" ] && [ "$gw" != null ]
        port=$(free_port)
        mkdir -p "$TEST_TMP/www"
        echo "from the host" >"$TEST_TMP/www/index.html"
        # A server the test runs on the bridge's gateway address (a host address; nothing else).
        "$BUSYBOX_BIN" httpd -f -p "$gw:$port" -h "$TEST_TMP/www" &
        srv=$!
        # listening before the build's RUN asks it (bounded wait)
        listening() { ss -Hltn | awk '{print $4}' | grep -qxF "$1"; }
        eventually listening "$gw:$port" || true
        cat >"$CTX/Dockerfile" <<DF
FROM busybox
RUN ip -4 -o addr show eth0 >/addr && wget -q -O /got http://$gw:$port/index.html
RUN --network=none ! ip link show eth0 && echo isolated >/none
DF
        run B build -t net-test "$CTX"
        kill "$srv" || true
        wait "$srv" || true
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        run B run --rm net-test cat /got /none
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "from the host" ]
        [ "${lines[1]}" = "isolated" ]
        # The RUN had an address of the bridge's subnet, and the endpoint is gone afterwards.
        run B run --rm net-test cat /addr
        assert_contains "$output" "inet ${gw%.*.*}."
        ! grep -qs '"build-' "$ROOT"/networks/*.json "$ROOT"/networks/*.live

        # --network none: no eth0 in any RUN; host: the host's interfaces.
        printf 'FROM busybox\nRUN ! ip link show eth0\n' >"$CTX/Dockerfile"
        run B build --network none "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        printf 'FROM busybox\nRUN ip link show %s\n' "$(berth_net_instance "$ROOT")" >"$CTX/Dockerfile"
        run B build --no-cache --network host "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B build --network nope "$CTX"
        [ "$status" -ne 0 ]
        assert_contains "$output" "network 'nope' is not supported for builds"
}

@test "build: independent stages run at the same time; the image has both results" {
        # Each stage waits (bounded) for the other's marker in a shared cache mount: both
        # succeed only when they run side by side.
        cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS one
RUN --mount=type=cache,id=meet,target=/c touch /c/one && i=0 && while [ ! -e /c/two ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done && test -e /c/two && echo r1 >/r1
FROM busybox AS two
RUN --mount=type=cache,id=meet,target=/c touch /c/two && i=0 && while [ ! -e /c/one ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done && test -e /c/one && echo r2 >/r2
FROM busybox
COPY --from=one /r1 /r1
COPY --from=two /r2 /r2
CMD ["cat", "/r1", "/r2"]
DF
        run B build --jobs 2 -t par "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "[one] Step 2/8 : RUN"
        assert_contains "$output" "[two] Step 4/8 : RUN"
        run B run --rm par
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "r1" ]
        [ "${lines[1]}" = "r2" ]
        run B build --jobs 9 "$CTX"
        [ "$status" -eq 2 ]
}
