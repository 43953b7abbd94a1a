#!/usr/bin/env bats
# The controller's secrets and configs (issue #8): berth secret/config create, ls, inspect, rm;
# a stack using them with `external: true`; values encrypted in state.db.
# Run under the shared lock: flock /tmp/berth-integ.lock bats tests/integration/secrets.bats

bats_require_minimum_version 1.5.0
load helpers

BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

setup_file() {
        [ "$(id -u)" -eq 0 ] || return 0
        [ -x "$BUSYBOX_BIN" ] || return 0
        busybox_tar "$BATS_FILE_TMPDIR/busybox.tar"
}

setup() {
        skip_unless_cmd jq
        setup_tmp
}

teardown() {
        if [ -n "${BERTH_HOST:-}" ] && [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                local ids
                "$BERTH" down -t 0 -p sec >/dev/null 2>&1 || true
                ids=$("$BERTH" ps -aq --no-trunc 2>/dev/null || true)
                [ -n "$ids" ] && "$BERTH" rm -f $ids >/dev/null 2>&1 || true
                "$BERTH" network prune -f >/dev/null 2>&1 || true
                stop_daemon
                ! grep -E "Sanitizer|runtime error:" "$DAEMON_LOG" >&2 || return 1
        fi
        if [ -n "${TEST_TMP:-}" ] && grep -q "$TEST_TMP" /proc/self/mountinfo; then
                local m
                for m in $(grep -o "$TEST_TMP/[^ ]*" /proc/self/mountinfo | sort -r); do
                        umount -l "$m" 2>/dev/null || true
                done
        fi
        teardown_tmp
}

B() { "$BERTH" "$@"; }

no_containers() {
        [ -z "$(B ps -aq)" ]
}

@test "secret and config: create, ls, inspect, rm; nothing in plain text in state.db" {
        start_daemon --bridge none
        printf 'Sup3r-S3cret-Value' >"$TEST_TMP/pw"
        run B secret create --label env=prod db_pw "$TEST_TMP/pw"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "${#output}" -eq 25 ]
        id=$output
        # from stdin
        run B secret create other - <<<"from-stdin"
        [ "$status" -eq 0 ]
        # names are unique, validated, values bounded
        run B secret create db_pw "$TEST_TMP/pw"
        [ "$status" -eq 1 ]
        assert_contains "$output" "secret 'db_pw' already exists"
        run B secret create 'bad name' "$TEST_TMP/pw"
        [ "$status" -eq 1 ]
        assert_contains "$output" "invalid secret name 'bad name'"
        head -c 600000 /dev/zero >"$TEST_TMP/big"
        run B secret create big "$TEST_TMP/big"
        [ "$status" -ne 0 ]
        assert_contains "$output" "500 KiB"
        run B secret create nofile "$TEST_TMP/missing"
        [ "$status" -ne 0 ]
        assert_contains "$output" "$TEST_TMP/missing"

        run B secret ls
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "$(printf '%s' "${lines[0]}" | grep -E '^ID +NAME +DRIVER +CREATED +UPDATED$')" ]
        [ "${#lines[@]}" -eq 3 ]
        assert_contains "${lines[1]}" "$id"
        assert_contains "${lines[1]}" "db_pw"
        run B secret ls -q --filter label=env=prod
        [ "$output" = "$id" ]
        run B secret ls --filter name=oth --format '{{.Name}} {{.Labels}}'
        [ "$output" = "other " ]
        run B secret ls --format json
        assert_json "${lines[0]}" .Name db_pw
        run B secret ls --filter bogus=1
        [ "$status" -eq 2 ]

        run B secret inspect db_pw
        [ "$status" -eq 0 ]
        assert_json "$output" '.[0].Spec.Name' db_pw
        assert_json "$output" '.[0].Spec.Labels.env' prod
        assert_json "$output" '.[0].ID' "$id"
        ! echo "$output" | grep -q "Sup3r"
        ! echo "$output" | grep -q sealed
        run B secret inspect -f '{{.Spec.Name}}' "${id:0:8}"
        [ "$output" = db_pw ]
        run B secret inspect nope
        [ "$status" -eq 1 ]
        assert_contains "$output" "secret 'nope' not found"

        # configs show their data in base64, like docker's
        printf 'listen 80;' | B config create site.conf -
        run B config inspect site.conf
        assert_json "$output" '.[0].Spec.Data' "$(printf 'listen 80;' | base64)"
        run B config ls
        [ "$(echo "${lines[0]}" | tr -s ' ')" = "ID NAME CREATED UPDATED" ]

        # the key file, and no value in the database in plain text
        [ "$(stat -c %a "$ROOT/controller/secrets.key")" = 600 ]
        [ "$(stat -c %s "$ROOT/controller/secrets.key")" = 32 ]
        ! grep -a -q "Sup3r-S3cret-Value" "$ROOT"/controller/state.db*
        grep -a -q "db_pw" "$ROOT"/controller/state.db*

        run B secret rm db_pw other nope
        [ "$status" -eq 1 ]
        assert_contains "$output" "db_pw"
        run B secret ls -q
        [ -z "$output" ]
}

@test "a stack with external secrets and configs: mounted with uid/gid/mode, rm refused while used" {
        skip_unless_root
        skip_unless_cmd nft ip
        [ -x "$BUSYBOX_BIN" ] || skip "needs busybox-static"
        start_daemon --log-format text --bridge none
        run B import -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" busybox
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        cat >"$TEST_TMP/compose.yaml" <<'YAML'
name: sec
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    secrets:
      - source: pw
        uid: "1000"
        gid: "1001"
        mode: 0440
      - envtok
    configs:
      - source: site
        target: /etc/site.conf
networks:
  default:
    ipam:
      config: [{subnet: 10.213.7.0/24}]
secrets:
  pw:
    external: true
    name: db_pw
  envtok:
    environment: SEC_TEST_TOKEN
configs:
  site:
    external: true
YAML
        export SEC_TEST_TOKEN=Env-Token-Value-77
        # missing external secret: refused before anything is created, naming file:line
        run B up -d -f "$TEST_TMP/compose.yaml"
        [ "$status" -ne 0 ]
        assert_contains "$output" "$TEST_TMP/compose.yaml:20:3: secrets.pw: external secret 'db_pw' not found"
        run B ls
        ! echo "$output" | grep -q "^sec "
        [ -z "$(B network ls -q --filter label=berth.stack=sec)" ]

        printf 'Ext-S3cret\n' | B secret create db_pw -
        run B up -d -f "$TEST_TMP/compose.yaml"
        [ "$status" -ne 0 ]
        assert_contains "$output" "configs.site: external config 'site' not found"
        printf 'k=v' | B config create site -

        run B up -d --wait --wait-timeout 60 -f "$TEST_TMP/compose.yaml"
        [ "$status" -eq 0 ] || { echo "$output"; cat "$DAEMON_LOG"; false; }
        id=$(B ps -q --filter name=sec.app. | head -1)
        [ -n "$id" ]
        run B exec "$id" cat /run/secrets/pw
        [ "$output" = "Ext-S3cret" ]
        run B exec "$id" stat -c '%a %u %g' /run/secrets/pw
        [ "$output" = "440 1000 1001" ]
        run B exec "$id" cat /run/secrets/envtok
        [ "$output" = "Env-Token-Value-77" ]
        run B exec "$id" cat /etc/site.conf
        [ "$output" = "k=v" ]
        run B exec "$id" sh -c 'echo x >/run/secrets/pw'
        [ "$status" -ne 0 ]
        # neither value is in the database in plain text
        ! grep -a -q "Ext-S3cret" "$ROOT"/controller/state.db*
        ! grep -a -q "Env-Token-Value-77" "$ROOT"/controller/state.db*

        # in use: refused, naming the stack and the service
        run B secret rm db_pw
        [ "$status" -eq 1 ]
        assert_contains "$output" "secret 'db_pw' is in use by stack 'sec' (service 'app')"
        run B config rm site
        [ "$status" -eq 1 ]
        assert_contains "$output" "in use by stack 'sec'"
        # immutable
        run api POST /v1/secrets/db_pw/update -d '{}'
        assert_contains "$output" "immutable"

        run B down -t 0 -p sec
        [ "$status" -eq 0 ]
        eventually no_containers
        run B secret rm db_pw
        [ "$status" -eq 0 ]
        run B config rm site
        [ "$status" -eq 0 ]
}
