#!/usr/bin/env bats
# exec -it: a console (pty) for the exec'd process, its size from the client and on SIGWINCH
# through POST /v1/exec/{id}/resize, detach keys, exit codes, after a daemon restart.

load helpers
load ctr-helpers

bats_require_minimum_version 1.5.0

# Runs CMD under script(1) (a pty) with the terminal set to 33x101 first.
in_pty() { # CMD
        timeout 60 script -qec "stty rows 33 cols 101; $1" /dev/null
}

@test "exec -it: a console of the client's size, and the exit code" {
        skip_unless_cmd script
        B run -d --name ct busybox sleep 300
        wait_state ct '{{.State.Status}}' running
        run in_pty "'$BERTH' exec -it ct sh -c 'tty; stty size; [ -t 0 ] && echo stdin-tty; echo TERM=\$TERM'"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [[ "$output" == *"/dev/pts/"* ]] || { echo "$output"; false; }
        [[ "$output" == *"33 101"* ]] || { echo "$output"; false; }
        [[ "$output" == *"stdin-tty"* ]] || { echo "$output"; false; }
        [[ "$output" == *"TERM=xterm"* ]] || { echo "$output"; false; }
        # The exit code of the process.
        run in_pty "'$BERTH' exec -it ct sh -c 'exit 7'"
        [ "$status" -eq 7 ] || { echo "$status $output"; false; }
        # Not found: 127; not executable: 126 (docker's codes).
        run -127 in_pty "'$BERTH' exec -it ct /nonexistent"
        [ "$status" -eq 127 ] || { echo "$status $output"; false; }
        run -126 in_pty "'$BERTH' exec -it ct /etc/passwd"
        [ "$status" -eq 126 ] || { echo "$status $output"; false; }
        # Input goes through the console (echo by the line discipline, the shell reads it).
        run in_pty "printf 'echo in-\$((6*7))\nexit 3\n' | '$BERTH' exec -it ct sh"
        [ "$status" -eq 3 ] || { echo "$status $output"; false; }
        [[ "$output" == *"in-42"* ]] || { echo "$output"; false; }
        # -t without -i: the console, no input forwarded.
        run in_pty "'$BERTH' exec -t ct sh -c 'tty'"
        [ "$status" -eq 0 ]
        [[ "$output" == *"/dev/pts/"* ]] || { echo "$output"; false; }
        # -u applies to the console's process too.
        run in_pty "'$BERTH' exec -it -u alice ct id -u"
        [[ "$output" == *"1000"* ]] || { echo "$output"; false; }
}

@test "exec -t follows the client's window size on SIGWINCH" {
        skip_unless_cmd script
        B run -d --name ct busybox sleep 300
        wait_state ct '{{.State.Status}}' running
        # Inside, wait (bounded) for the new size; outside, resize the pty and signal the CLI.
        printf '%s\n' 'for i in $(seq 100); do s=$(stty size); [ "$s" = "40 120" ] && break; sleep 0.1; done' \
                'echo "size=$s"' | B exec -i ct sh -c 'cat >/tmp/w.sh'
        run in_pty "'$BERTH' exec -t ct sh /tmp/w.sh & p=\$!; sleep 1; stty rows 40 cols 120; kill -WINCH \$p; wait \$p"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [[ "$output" == *"size=40 120"* ]] || { echo "$output"; false; }
}

@test "exec -it: the detach keys leave the process running" {
        skip_unless_cmd script
        B run -d --name ct busybox sleep 300
        wait_state ct '{{.State.Status}}' running
        # ctrl-p ctrl-q detaches: exit 0, the process still runs (it writes a file later).
        run in_pty "(sleep 1; printf '\020\021') | '$BERTH' exec -it ct sh -c 'sleep 2; echo done >/tmp/after; sleep 60'"
        [ "$status" -eq 0 ] || { echo "$status $output"; false; }
        local i
        for i in $(seq 100); do
                B exec ct cat /tmp/after 2>/dev/null | grep -q done && break
                sleep 0.1
        done
        [ "$(B exec ct cat /tmp/after)" = done ]
        # Other keys; a partial sequence is input.
        run in_pty "(sleep 1; printf 'echo \020z-partial\n'; sleep 1; printf 'X') | '$BERTH' exec -it --detach-keys X ct sh"
        [ "$status" -eq 0 ] || { echo "$status $output"; false; }
        [[ "$output" == *"z-partial"* ]] || { echo "$output"; false; }
        # Bad keys: a clear error naming the field.
        run in_pty "'$BERTH' exec -it --detach-keys ctrl-99 ct true"
        [ "$status" -ne 0 ]
        [[ "$output" == *"etachKeys"* ]] || { echo "$output"; false; }
}

@test "exec instances: create, start, resize and inspect routes" {
        B run -d --name ct busybox sleep 300
        wait_state ct '{{.State.Status}}' running
        # A created exec without Tty runs through start (NDJSON) and reports its exit code.
        local id
        id=$(api POST /v1/containers/ct/exec -H 'Content-Type: application/json' \
                -d '{"Cmd":["sh","-c","echo hi; exit 4"],"Create":true}' | jq -r .Id)
        [ ${#id} -eq 64 ]
        run api GET "/v1/exec/$id/json"
        assert_json "$output" '.Running == false and .ExitCode == null and .ProcessConfig.entrypoint == "sh"' true
        run api POST "/v1/exec/$id/start" -H 'Content-Type: application/json' -d '{}'
        [[ "$output" == *'"hi\n"'* ]] || { echo "$output"; false; }
        run api GET "/v1/exec/$id/json"
        assert_json "$output" '.Running == false and .ExitCode == 4' true
        # Started twice: 409. Resize without a console: 400. Unknown exec: 404.
        run api POST "/v1/exec/$id/start" -w '%{http_code}' -o /dev/null -d '{}'
        [ "$output" = 409 ]
        run api POST "/v1/exec/$id/resize?h=10&w=10" -w '%{http_code}' -o /dev/null
        [ "$output" = 400 ]
        run api POST "/v1/exec/nope/resize?h=10&w=10" -w '%{http_code}' -o /dev/null
        [ "$output" = 404 ]
        run api GET "/v1/exec/nope/json" -w '%{http_code}' -o /dev/null
        [ "$output" = 404 ]
        # A bad ConsoleSize is refused at create, naming the field.
        run api POST /v1/containers/ct/exec -H 'Content-Type: application/json' \
                -d '{"Cmd":["true"],"Tty":true,"Create":true,"ConsoleSize":[1]}'
        [[ "$output" == *"ConsoleSize"* ]] || { echo "$output"; false; }
        # A Tty exec started detached: resize works while it runs, inspect shows it running.
        id=$(api POST /v1/containers/ct/exec -H 'Content-Type: application/json' \
                -d '{"Cmd":["sleep","30"],"Tty":true,"Create":true}' | jq -r .Id)
        run api POST "/v1/exec/$id/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
        [[ "$output" == *Pid* ]] || { echo "$output"; false; }
        local i
        for i in $(seq 50); do
                api GET "/v1/exec/$id/json" | jq -e .Pid >/dev/null && break
                sleep 0.1
        done
        run api POST "/v1/exec/$id/resize?h=20&w=70" -w '%{http_code}' -o /dev/null
        [ "$output" = 200 ]
        run api POST "/v1/exec/$id/resize?h=0&w=70" -w '%{http_code}' -o /dev/null
        [ "$output" = 400 ]
        run api GET "/v1/exec/$id/json"
        assert_json "$output" '.Running == true and .ProcessConfig.tty == true' true
}

@test "exec -it works after a daemon restart" {
        skip_unless_cmd script
        B run -d --name ct busybox sleep 300
        wait_state ct '{{.State.Status}}' running
        stop_daemon
        start_daemon --log-format text
        wait_state ct '{{.State.Status}}' running
        run in_pty "'$BERTH' exec -it ct sh -c 'tty; stty size; exit 9'"
        [ "$status" -eq 9 ] || { echo "$status $output"; false; }
        [[ "$output" == *"/dev/pts/"* ]] || { echo "$output"; false; }
        [[ "$output" == *"33 101"* ]] || { echo "$output"; false; }
}
