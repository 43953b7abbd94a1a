#!/usr/bin/env bats
# berth events and /v1/metrics against a real daemon.

load helpers

setup() {
        setup_tmp
}

teardown() {
        # a sanitized daemon reports at exit (SANITIZE builds: BERTH=build-san/berth)
        if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                stop_daemon
                if grep -E "Sanitizer|runtime error:" "$DAEMON_LOG" >&2; then
                        teardown_tmp
                        return 1
                fi
        fi
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

@test "events: the journal keeps the history across daemon restarts (and kill -9)" {
        start_daemon
        "$BERTH" volume create before >/dev/null
        stop_daemon
        [ -s "$ROOT/events/events.log" ]
        start_daemon
        "$BERTH" volume create during >/dev/null
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        rm -f "$SOCK"
        start_daemon
        "$BERTH" volume rm before >/dev/null
        until=$(( $(date +%s) + 1 ))
        run "$BERTH" events --since 0 --until "$until" --filter type=daemon --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .Action | tr '\n' ' ')" = "start start start " ]
        run "$BERTH" events --since 0 --until "$until" --filter type=volume --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.Action + ":" + .Actor.ID' | tr '\n' ' ')" = \
                "create:before create:during destroy:before " ]
        # filters apply to the history as they do to live events
        run "$BERTH" events --since 0 --until "$until" --filter volume=before --filter event=destroy \
                --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.Action + ":" + .Actor.ID')" = "destroy:before" ]
        # --since the second daemon's event leaves the first daemon's events out
        run "$BERTH" events --since 0 --until "$until" --filter volume=during --format json
        [ "$status" -eq 0 ]
        tn=$(echo "$output" | jq -r .timeNano)
        since="$((tn / 1000000000)).$(printf %09d $((tn % 1000000000)))"
        run "$BERTH" events --since "$since" --until "$until" --filter type=volume --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.Action + ":" + .Actor.ID' | tr '\n' ' ')" = \
                "create:during destroy:before " ]
}

@test "events: the journal is bounded, the oldest events roll off, a cut line is skipped" {
        cfg=$TEST_TMP/daemon.json
        echo '{"events-journal-size": 4096}' >"$cfg"
        start_daemon --config-file "$cfg"
        for i in $(seq 40); do
                "$BERTH" volume create "vol$i" >/dev/null
        done
        size=$(cat "$ROOT"/events/events.log* | wc -c)
        [ "$size" -le 4096 ]
        [ -s "$ROOT/events/events.log.1" ]
        until=$(( $(date +%s) + 1 ))
        run "$BERTH" events --since 0 --until "$until" --format json
        [ "$status" -eq 0 ]
        n=$(echo "$output" | wc -l)
        [ "$n" -gt 10 ] && [ "$n" -lt 41 ]
        # the daemon's start event and the first volumes rolled off; the newest is last
        [ "$(echo "$output" | jq -r 'select(.Type == "daemon") | .Action')" = "" ]
        [ "$(echo "$output" | tail -1 | jq -r .Actor.ID)" = vol40 ]
        [ "$(echo "$output" | head -1 | jq -r .Actor.ID)" != vol1 ]
        stop_daemon
        # a daemon killed in the middle of a write: the cut line is skipped, nothing else
        printf '{"time":1,"type":"volu' >>"$ROOT/events/events.log"
        start_daemon --config-file "$cfg"
        run "$BERTH" events --since 0 --until "$(( $(date +%s) + 1 ))" --filter type=daemon \
                --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .Action | tr '\n' ' ')" = "start " ]
        run "$BERTH" events --since 0 --until "$(( $(date +%s) + 1 ))" --filter volume=vol40
        [ "$status" -eq 0 ]
        [[ "$output" == *"volume create vol40"* ]]
        stop_daemon
        # a bad size is refused naming the key
        echo '{"events-journal-size": 10}' >"$cfg"
        run "$BERTH" daemon --root "$TEST_TMP/root2" --run "$TEST_TMP/run2" --config-file "$cfg"
        [ "$status" -eq 1 ]
        [[ "$output" == *'events-journal-size\": expected bytes from 4096'* ]]
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
