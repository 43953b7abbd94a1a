#!/usr/bin/env bats
# berth events and /v1/metrics against a real daemon.

load helpers

setup() {
        setup_tmp
}

teardown() {
        teardown_tmp
}

@test "events: the daemon's start event is in the history, with filters and --until" {
        start_daemon
        run "$BERTH" events --since 0 --until "$(( $(date +%s) + 1 ))" --filter type=daemon --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.Type + " " + .Action')" = "daemon start" ]
        [ "$(echo "$output" | jq -r .Actor.Attributes.root)" = "$ROOT" ]
        # a filter that matches nothing prints nothing
        run "$BERTH" events --since 0 --until "$(( $(date +%s) + 1 ))" --filter type=volume
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        # default output format: time type action id (attributes)
        run "$BERTH" events --since 0 --until "$(( $(date +%s) + 1 ))"
        [ "$status" -eq 0 ]
        [[ "$output" == *" daemon start  (root=$ROOT, version="* ]]
}

@test "events: bad filters and times are refused" {
        start_daemon
        run "$BERTH" events --filter colour=red --until 1
        [ "$status" -eq 1 ]
        [[ "$output" == *"invalid filter 'colour'"* ]]
        run "$BERTH" events --since yesterday --until 1
        [ "$status" -eq 1 ]
        [[ "$output" == *"invalid time 'yesterday'"* ]]
        run "$BERTH" events --filter nokey
        [ "$status" -eq 2 ]
        [[ "$output" == *"expected KEY=VALUE"* ]]
}

@test "events: a live subscriber ends when --until passes" {
        start_daemon
        until=$(( $(date +%s) + 1 ))
        run timeout 10 "$BERTH" events --until "$until" --filter type=daemon
        [ "$status" -eq 0 ]
}

@test "metrics: Prometheus text with request counts and the latency histogram" {
        start_daemon
        "$BERTH" info >/dev/null
        run curl -sf --unix-socket "$RUN/berth.sock" http://berth/v1/metrics
        [ "$status" -eq 0 ]
        [[ "$output" == *"# TYPE berth_api_requests_total counter"* ]]
        [[ "$output" == *'berth_api_requests_total{code="200"} '* ]]
        [[ "$output" == *'berth_api_request_duration_seconds_bucket{le="+Inf"} '* ]]
        count=$(echo "$output" | awk '/^berth_api_request_duration_seconds_count/ {print $2}')
        [ "$count" -ge 1 ]
}

@test "daemon.json: loaded at start, reloaded on SIGHUP with a reload event, bad files refused" {
        cfg=$TEST_TMP/daemon.json
        echo '{"log-level": "info", "labels": ["zone=a"]}' >"$cfg"
        start_daemon --config-file "$cfg"
        echo '{"debug": true}' >"$cfg"
        kill -HUP "$DAEMON_PID"
        for _ in $(seq 50); do
                grep -q 'Reloaded the configuration' "$DAEMON_LOG" && break
                sleep 0.1
        done
        grep -q 'Reloaded the configuration' "$DAEMON_LOG"
        run "$BERTH" events --since 0 --until "$(( $(date +%s) + 1 ))" --filter event=reload --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .Actor.Attributes.config)" = "$cfg" ]
        # a broken file on reload keeps the daemon running with the old settings
        echo '{"bogus": 1}' >"$cfg"
        kill -HUP "$DAEMON_PID"
        for _ in $(seq 50); do
                grep -q 'unknown setting' "$DAEMON_LOG" && break
                sleep 0.1
        done
        grep -q 'unknown setting \\"bogus\\"' "$DAEMON_LOG"
        run "$BERTH" version
        [ "$status" -eq 0 ]
        stop_daemon
        # at start, a broken file stops the daemon with the file and key named
        run "$BERTH" daemon --root "$TEST_TMP/root2" --run "$TEST_TMP/run2" --config-file "$cfg"
        [ "$status" -eq 1 ]
        [[ "$output" == *"$cfg: unknown setting"* ]]
        [ ! -e "$TEST_TMP/run2/berth.sock" ]
}
