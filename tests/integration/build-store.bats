#!/usr/bin/env bats
# berth build and the store around it: built layers are stored gzip-compressed (a push sends
# them so, a pull brings them back), a daemon killed during a RUN leaves nothing behind once
# it is started again, and --cache-from reuses the steps recorded in another image. Needs root.

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
        REG_PID=
        start_daemon --log-format text
        run "$BERTH" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
        CTX=$TEST_TMP/ctx
        mkdir -p "$CTX"
}

teardown() {
        if [ -n "$REG_PID" ]; then
                kill -TERM "$REG_PID" 2>/dev/null || true
                wait "$REG_PID" 2>/dev/null || true
        fi
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

# docker-registry on 127.0.0.1:$REG_PORT, no auth.
start_registry() {
        REG_PORT=$(free_port)
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $TEST_TMP/registry}}"
                echo "http: {addr: 127.0.0.1:$REG_PORT}"
        } >"$TEST_TMP/registry.yml"
        docker-registry serve "$TEST_TMP/registry.yml" >"$TEST_TMP/registry.log" 2>&1 &
        REG_PID=$!
        local i
        for i in $(seq 100); do
                curl -s -o /dev/null "http://127.0.0.1:$REG_PORT/v2/" && return 0
                sleep 0.1
        done
        cat "$TEST_TMP/registry.log" >&2
        return 1
}

@test "build: layers are stored gzip-compressed; push to a loopback registry and pull back" {
        skip_unless_cmd docker-registry curl jq
        start_registry
        echo "payload" >"$CTX/file.txt"
        cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
WORKDIR /app
COPY file.txt ./
RUN echo built >/app/run.txt
CMD ["cat", "/app/file.txt", "/app/run.txt"]
DF
        ref=127.0.0.1:$REG_PORT/test/built:1
        run B build -q -t "$ref" "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }

        # The config has the diff ids (uncompressed tars) of the base and the three new layers.
        run B image inspect -f '{{json .RootFS.Layers}}' "$ref"
        [ "$status" -eq 0 ]
        diffs=$output
        [ "$(echo "$diffs" | jq length)" -eq 4 ]

        run B push "$ref"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
                -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
                "http://127.0.0.1:$REG_PORT/v2/test/built/manifests/1")
        # the busybox base was imported (uncompressed); the built ones are gzip
        run jq -r '.layers[1:][].mediaType' <<<"$manifest"
        [ "${#lines[@]}" -eq 3 ]
        for l in "${lines[@]}"; do
                [[ "$l" == *gzip ]] || { echo "not gzip: $l"; false; }
        done
        i=1
        for d in $(jq -r '.layers[1:][].digest' <<<"$manifest"); do
                # the blob the registry holds is gzip and its content is the diff id's tar
                curl -sf -o "$TEST_TMP/blob" "http://127.0.0.1:$REG_PORT/v2/test/built/blobs/$d"
                [ "$(head -c 2 "$TEST_TMP/blob" | od -An -tx1 | tr -d ' ')" = 1f8b ]
                [ "sha256:$(sha256sum <"$TEST_TMP/blob" | cut -d' ' -f1)" = "$d" ]
                want=$(jq -r ".[$i]" <<<"$diffs")
                [ "sha256:$(gzip -dc <"$TEST_TMP/blob" | sha256sum | cut -d' ' -f1)" = "$want" ]
                [ "$d" != "$want" ]
                i=$((i + 1))
        done

        run B rmi -f "$ref" busybox
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B pull "$ref"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B run --rm "$ref"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "payload"
        assert_contains "$output" "built"
}

@test "build: a daemon killed with -9 during a RUN leaves nothing once it starts again" {
        skip_unless_cmd jq pgrep
        marker=bk$$x$RANDOM
        cat >"$CTX/Dockerfile" <<DF
FROM busybox
COPY Dockerfile /x
RUN sleep 120; echo $marker
DF
        B build -t killed "$CTX" >"$TEST_TMP/build.out" 2>&1 &
        cli=$!
        local i
        for i in $(seq 200); do
                pgrep -f "echo $marker" >/dev/null && break
                sleep 0.1
        done
        pgrep -f "echo $marker" >/dev/null || { cat "$TEST_TMP/build.out"; false; }

        # What the build holds now: its endpoint (veth and address), overlay mount, work dirs.
        # endpoints live in <network>.live (rewritten on connect, engine/net/netmgr.c)
        ifname=$(cat "$ROOT"/networks/*.live "$ROOT"/networks/*.json 2>/dev/null |
                jq -r '.endpoints[]? | select(.id | startswith("build-")) | .host_ifname' |
                sort -u)
        [ -n "$ifname" ]
        ip link show "$ifname" >/dev/null
        [ "$(grep -c " $ROOT/build-tmp/" /proc/self/mountinfo)" -gt 0 ]
        [ -n "$(ls -A "$ROOT/build-tmp")" ]

        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" || true
        run wait "$cli"
        [ "$status" -ne 0 ]
        rm -f "$SOCK" # the dead daemon's: start_daemon waits for the new one's
        start_daemon --log-format text

        # Nothing is left: no process of the RUN, no mount, no work dir, no endpoint, no veth.
        for i in $(seq 50); do
                pgrep -f "echo $marker" >/dev/null || break
                sleep 0.1
        done
        run pgrep -f "echo $marker"
        [ "$status" -ne 0 ] || { echo "left running: $output"; cat "$DAEMON_LOG"; false; }
        [ "$(grep -c " $ROOT/build-tmp/" /proc/self/mountinfo)" -eq 0 ]
        [ ! -e "$ROOT/build-tmp" ] || [ -z "$(ls -A "$ROOT/build-tmp")" ]
        run grep -ls '"build-' "$ROOT"/networks/*.json "$ROOT"/networks/*.live
        [ -z "$output" ] || { cat "${lines[@]}"; false; }
        run ip link show "$ifname"
        [ "$status" -ne 0 ]
        grep -q "Released endpoint 'build-" "$DAEMON_LOG"
        # and the daemon builds again
        printf 'FROM busybox\nRUN echo again >/again\n' >"$CTX/Dockerfile"
        run B build -q -t again "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "build: --cache-from reuses the steps recorded in an image pulled from a registry" {
        skip_unless_cmd docker-registry curl jq
        start_registry
        echo one >"$CTX/a.txt"
        cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV STAGE=x
COPY a.txt /a.txt
RUN cat /proc/sys/kernel/random/uuid >/stamp
LABEL k=v
CMD ["cat", "/stamp"]
DF
        ref=127.0.0.1:$REG_PORT/test/cached:1
        run B build -t "$ref" "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        id1=$(B image inspect -f '{{.Id}}' "$ref")
        stamp1=$(B run --rm "$ref")
        run B push "$ref"
        [ "$status" -eq 0 ] || { echo "$output"; false; }

        # No local step cache and no local copy of the image: --cache-from pulls it and every
        # step is taken from it (the RUN does not run again: same stamp, same image).
        run B rmi -f "$ref"
        rm -rf "$ROOT/build-cache"
        run B build --cache-from "$ref" -t again "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "Pulling cache_from image $ref"
        [ "$(grep -c -- "---> Using cache from $ref" <<<"$output")" -eq 5 ]
        ! grep -q "Running in" <<<"$output"
        [ "$(B run --rm again)" = "$stamp1" ]
        [ "$(B image inspect -f '{{.Id}}' again)" = "$id1" ]

        # An edited file misses from that step on; the steps before it still come from the image.
        echo two >"$CTX/a.txt"
        rm -rf "$ROOT/build-cache"
        run B build --cache-from "$ref" -t edited "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$(grep -c -- "---> Using cache from $ref" <<<"$output")" -eq 1 ]
        [ "$(B run --rm edited)" != "$stamp1" ]

        # Without --cache-from (and no local cache) the RUN runs again.
        echo one >"$CTX/a.txt"
        rm -rf "$ROOT/build-cache"
        run B build -t fresh "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        ! grep -q "Using cache" <<<"$output"
        [ "$(B run --rm fresh)" != "$stamp1" ]

        # An image that cannot be had is reported and the build goes on.
        port=$(free_port)
        run B build --cache-from "127.0.0.1:$port/none:1" -t fresh "$CTX"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "cache_from image 127.0.0.1:$port/none:1 is not used"
        run B build --cache-from "" "$CTX"
        [ "$status" -eq 2 ]
}
