#!/usr/bin/env bats
# Compose build: sections through `berth up` and `berth stack build` (docs/build.md "Compose"):
# a busybox base imported from Debian's busybox-static, a daemon on a temporary root. Needs root.

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
        start_daemon --log-format text
        run "$BERTH" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
        P=$TEST_TMP/proj
        mkdir -p "$P/app"
        echo one >"$P/app/v.txt"
        cat >"$P/app/Dockerfile" <<'DF'
FROM busybox
ARG MSG
COPY v.txt /v.txt
RUN echo "msg=$MSG" >/msg
DF
        cat >"$P/compose.yaml" <<'YAML'
name: bt
services:
  web:
    build:
      context: ./app
      args:
        MSG: hello
      labels:
        org.example.built-by: compose
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 2s
YAML
}

teardown() {
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ]; then
                "$BERTH" down -p bt >/dev/null 2>&1 || true
                local ids i
                for i in $(seq 50); do
                        ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                        [ -z "$ids" ] && break
                        sleep 0.1
                done
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
        fi
        teardown_tmp
}

B() { "$BERTH" "$@"; }

# The id of the web service's running container (empty when there is none).
web_ctr() {
        "$BERTH" ps -q --no-trunc --filter label=berth.service=web
}

# Waits (bounded) until the web container runs and `cat /v.txt` in it prints $1.
web_has() { # CONTENT
        local i id
        for i in $(seq 100); do
                id=$(web_ctr)
                if [ -n "$id" ] && [ "$("$BERTH" exec "$id" cat /v.txt 2>/dev/null)" = "$1" ]; then
                        return 0
                fi
                sleep 0.2
        done
        echo "web never ran with /v.txt = $1" >&2
        return 1
}

@test "compose build: up builds the missing image, runs it; a second up does not rebuild" {
        cd "$P"
        run B up -d --wait --wait-timeout 60
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        assert_contains "$output" "Building service 'web' (image 'bt-web')"
        assert_contains "$output" "web | Step 4/4 : RUN"
        assert_contains "$output" "Built service 'web': sha256:"
        web_has one
        id=$(web_ctr)
        [ "$(B exec "$id" cat /msg)" = "msg=hello" ]
        run B image inspect bt-web
        assert_json "$output" '.[0].Config.Labels["org.example.built-by"]' compose
        img=$(echo "$output" | jq -r '.[0].Id')

        # Unchanged: no build, nothing recreated.
        run B up -d
        [ "$status" -eq 0 ]
        [[ "$output" != *"Building"* ]]
        assert_contains "$output" "nothing to do"
        [ "$(web_ctr)" = "$id" ]

        # up --build with nothing changed: every step cached, same image, same container.
        run B up -d --build
        [ "$status" -eq 0 ]
        assert_contains "$output" "Using cache"
        assert_contains "$output" "Built service 'web': $img"
        assert_contains "$output" "nothing to do"
}

@test "compose build: up --build after a file change rebuilds and recreates the container" {
        cd "$P"
        run B up -d --wait --wait-timeout 60
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        web_has one
        old=$(web_ctr)
        echo two >"$P/app/v.txt"
        # Without --build the existing image is used.
        run B up -d
        [ "$status" -eq 0 ]
        [[ "$output" != *"Building"* ]]
        run B up -d --build
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "Building service 'web'"
        web_has two
        [ "$(web_ctr)" != "$old" ]
}

@test "compose build: --no-build with a missing image fails naming the service; stack build" {
        cd "$P"
        run B up -d --no-build
        [ "$status" -ne 0 ]
        assert_contains "$output" "service 'web': image 'bt-web' is missing and --no-build was given"
        run B ls
        [[ "$output" != *"bt"* ]]
        run B up -d --build --no-build
        [ "$status" -eq 2 ]

        run B stack build
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "Building service 'web'"
        run B image inspect bt-web
        [ "$status" -eq 0 ]
        # berth build without a context PATH is the same, with -f naming the compose file.
        run B build -q -f compose.yaml web
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [[ "$output" == sha256:* ]]
        run B stack build nope
        [ "$status" -eq 2 ]
        assert_contains "$output" "no such service 'nope'"
}

@test "compose build: dockerfile, dockerfile_inline, target, tags and bad sections" {
        mkdir -p "$P/two/sub"
        cat >"$P/two/sub/Build.df" <<'DF'
FROM busybox AS base
RUN echo base >/stage
FROM base AS final
RUN echo final >/stage
DF
        cat >"$P/compose.yaml" <<'YAML'
name: bt
services:
  a:
    image: example.org/team/a:v1
    build:
      context: ./two
      dockerfile: sub/Build.df
      target: base
      tags: ["bt-a-extra:1"]
  b:
    build:
      context: ./app
      dockerfile_inline: |
        FROM busybox
        RUN echo inline >/inline
YAML
        cd "$P"
        run B stack build
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B run --rm example.org/team/a:v1 cat /stage
        [ "$output" = "base" ]
        run B image inspect bt-a-extra:1
        [ "$status" -eq 0 ]
        run B run --rm bt-b cat /inline
        [ "$output" = "inline" ]

        cat >"$P/compose.yaml" <<'YAML'
name: bt
services:
  web:
    build:
      context: https://example.invalid/repo.git
YAML
        run B stack build
        [ "$status" -ne 0 ]
        assert_contains "$output" "service 'web': build.context 'https://example.invalid/repo.git' is not a local directory"
        cat >"$P/compose.yaml" <<'YAML'
name: bt
services:
  web:
    build:
      context: ./app
      extra_hosts: ["x:1.2.3.4"]
YAML
        run B stack build
        [ "$status" -ne 0 ]
        assert_contains "$output" "service 'web': build.extra_hosts is not supported"
}

@test "compose build: cache_from reuses the steps of another image; other cache types refused" {
        cd "$P"
        run B stack build
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        cat >"$P/compose.yaml" <<'YAML'
name: bt
services:
  copy:
    build:
      context: ./app
      args:
        MSG: hello
      cache_from: ["type=registry,ref=bt-web"]
YAML
        rm -rf "$ROOT/build-cache"
        run B stack build
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        # ARG, COPY and RUN come from bt-web's records (no local cache is left)
        [ "$(grep -c -- "---> Using cache from bt-web" <<<"$output")" -eq 3 ]
        ! grep -q "Running in" <<<"$output"
        # the same layers (bt-web has a label more, so the configs differ)
        [ "$(B image inspect -f '{{json .RootFS.Layers}}' bt-copy)" = \
                "$(B image inspect -f '{{json .RootFS.Layers}}' bt-web)" ]
        run B run --rm bt-copy cat /msg
        [ "$output" = "msg=hello" ]

        sed -i 's/type=registry,ref=bt-web/type=local,src=\/tmp\/x/' "$P/compose.yaml"
        run B stack build
        [ "$status" -ne 0 ]
        assert_contains "$output" "service 'copy': build.cache_from[0] 'type=local,src=/tmp/x': only images"
}
