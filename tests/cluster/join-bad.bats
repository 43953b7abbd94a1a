#!/usr/bin/env bats
# Joins the controller must refuse with a clear reason, leaving nothing recorded: an expired
# join token, an agent whose clock is far off the controller's, a bad --ttl.

load helpers

setup() {
        cluster_setup 2
        start_controller
}

teardown() {
        cluster_teardown
}

@test "a token rotated with --ttl joins before it expires and is refused after, naming the expiry" {
        local tok
        tok=$("${CTL[@]}" node token --rotate --ttl 10s 2>"$TEST_TMP/ttl.err")
        grep -q "(expires at " "$TEST_TMP/ttl.err"
        # in time: an agent joins with it (the agent's start and join must fit in the TTL: 10 s
        # leaves a loaded machine a margin that 3 s did not)
        start_agent 2 early --token "$tok"
        grep -q "Joined" "$AGENT_ERR" || { cat "$AGENT_ERR"; false; }
        # wait (bounded: 30 s for a 10 s token) until the controller calls it expired
        local i secret=${tok##*-}
        for i in $(seq 300); do
                run on_host 2 curl -sS --cacert "$TEST_TMP/h1/root/pki/ca.crt" -X POST \
                        -d '{"secret":"'"$secret"'","name":"probe","csr":"x"}' "$CL_URL/v1/nodes/join"
                [[ "$output" == *"expired at"* ]] && break
                sleep 0.1
        done
        [[ "$output" == *"expired at"* ]] || { echo "$output"; false; }
        # after: berth agent is refused, told what to do, and nothing is recorded
        start_agent 2 late --token "$tok"
        grep -q "expired at" "$AGENT_ERR" || { cat "$AGENT_ERR"; false; }
        grep -q "make a new one with .berth node token --rotate." "$AGENT_ERR"
        node_names | grep -q '^early$'
        ! node_names | grep -q '^late$\|^probe$'
        # the secret is checked first: a wrong one is still "wrong secret", not "expired"
        run on_host 2 curl -sS --cacert "$TEST_TMP/h1/root/pki/ca.crt" -X POST \
                -d '{"secret":"'"$(printf '%064d' 0)"'","name":"x","csr":"x"}' "$CL_URL/v1/nodes/join"
        [[ "$output" == *"wrong secret"* ]] || { echo "$output"; false; }
        # bad values change nothing
        run "${CTL[@]}" node token --ttl 1h
        [ "$status" -eq 2 ]
        [[ "$output" == *"add --rotate"* ]]
        run "${CTL[@]}" node token --rotate --ttl soon
        [ "$status" -eq 2 ]
        [[ "$output" == *"--ttl 'soon'"* ]] || { echo "$output"; false; }
        [ "$("${CTL[@]}" node token 2>/dev/null)" = "$tok" ]
}

@test "a join from a clock two hours off is refused with the skew; within the hour it joins" {
        local secret=${CL_TOKEN##*-} before now
        before=$(node_names | sort)
        now=$(date +%s%6N)
        run on_host 2 curl -sS --cacert "$TEST_TMP/h1/root/pki/ca.crt" -X POST \
                -d '{"secret":"'"$secret"'","name":"skewed","csr":"x","time_usec":'"$((now - 7200000000))"'}' \
                "$CL_URL/v1/nodes/join"
        [[ "$output" == *"clock skew: the agent's clock is 72"*" s behind the controller's"* ]] ||
                { echo "$output"; false; }
        run on_host 2 curl -sS --cacert "$TEST_TMP/h1/root/pki/ca.crt" -X POST \
                -d '{"secret":"'"$secret"'","name":"skewed","csr":"x","time_usec":'"$((now + 7200000000))"'}' \
                "$CL_URL/v1/nodes/join"
        [[ "$output" == *"s ahead of the controller's"* ]] || { echo "$output"; false; }
        [ "$(node_names | sort)" = "$before" ]
        # berth agent sends its clock: a real join within the tolerance works
        start_agent 2 on-time --token "$CL_TOKEN"
        grep -q "Joined" "$AGENT_ERR"
}
