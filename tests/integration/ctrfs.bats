#!/usr/bin/env bats
# Container file-system commands (commit, diff): a daemon on a temporary root and a busybox
# image imported from Debian's busybox-static, as in containers.bats. Needs root.

bats_require_minimum_version 1.5.0
load helpers

load ctr-helpers

@test "commit: the new image has the container's files and --change CMD" {
        run B run --name c1 --network none busybox sh -c 'echo committed >/data/new; rm /data/file; mkdir -p /etc/x; echo y >/etc/x/z'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B commit -a "Jane <j@example.com>" -m "my message" -c 'CMD ["cat", "/data/new"]' c1 snap:v1
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [[ "$output" == sha256:* ]]
        run B run --rm --network none snap:v1
        [ "$status" -eq 0 ]
        [ "$output" = "committed" ]
        # the deletion is a whiteout in the new layer
        run B run --rm --network none snap:v1 ls /data
        [ "$status" -eq 0 ]
        [ "$output" = "new" ]
        run B image inspect -f '{{json .Config.Cmd}}' snap:v1
        assert_contains "$output" '"cat","/data/new"'
        run B history snap:v1
        assert_contains "$output" "my message"
        # the new layer is stored gzip-compressed: its blob digest is not its diff id, and the
        # blob in the store starts with the gzip magic
        id=$(B image inspect -f '{{.Id}}' snap:v1)
        layer=$(jq -r --arg id "$id" '.images[$id].layers[-1]' "$ROOT/images/index.json")
        diff=$(B image inspect -f '{{json .RootFS.Layers}}' snap:v1 | jq -r '.[-1]')
        [[ "$layer" == sha256:* && "$diff" == sha256:* && "$layer" != "$diff" ]]
        [ "$(head -c 2 "$ROOT/images/blobs/sha256/${layer#sha256:}" | od -An -tx1 | tr -d ' ')" = 1f8b ]
}

@test "commit of a running container pauses it and leaves it running" {
        run B run -d --name c2 --network none busybox sh -c 'echo live >/tmp/live; sleep 300'
        [ "$status" -eq 0 ]
        for i in $(seq 50); do B container diff c2 | grep -q /tmp/live && break; sleep 0.1; done
        run B commit c2 live:1
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        wait_state c2 '{{.State.Status}}' running
        run B run --rm --network none live:1 cat /tmp/live
        [ "$output" = "live" ]
        run B commit --pause=false c2
        [ "$status" -eq 0 ]
}

@test "commit refuses bad input and creates nothing" {
        run B run --name c3 --network none busybox true
        [ "$status" -eq 0 ]
        before=$(B images -q | wc -l)
        run B commit -c 'BOGUS x' c3 bad:1
        [ "$status" -ne 0 ]
        assert_contains "$output" "BOGUS"
        run B commit c3 'Bad Ref'
        [ "$status" -ne 0 ]
        assert_contains "$output" "invalid reference"
        run B commit nosuch x:1
        [ "$status" -ne 0 ]
        assert_contains "$output" "nosuch"
        [ "$(B images -q | wc -l)" -eq "$before" ]
}

@test "diff shows A, C and D" {
        run B run --name d1 --network none busybox sh -c 'echo a >/data/added; echo c >>/etc/passwd; rm /data/file'
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B container diff d1
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "A /data/added"
        assert_contains "$output" "C /etc/passwd"
        assert_contains "$output" "D /data/file"
        assert_contains "$output" "C /data"
        run B container diff nosuch
        [ "$status" -ne 0 ]
}

@test "export: a tar of the merged file system, running or stopped" {
        run B run --name e1 --network none busybox sh -c 'echo x >/data/exported; rm /data/file'
        [ "$status" -eq 0 ]
        run B export -o "$TEST_TMP/e1.tar" e1
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run tar -tf "$TEST_TMP/e1.tar"
        assert_contains "$output" "data/exported"
        assert_contains "$output" "bin/busybox"
        ! grep -q "data/file" <<<"$output"
        ! grep -q "\.wh\." <<<"$output"
        # stdout form; the stopped container's rootfs is unmounted again afterwards
        B export e1 >"$TEST_TMP/e1b.tar"
        tar -tf "$TEST_TMP/e1b.tar" | grep -q "data/exported"
        ! grep -q "$TEST_TMP/root/containers/.*/rootfs" /proc/self/mountinfo
        run B run -d --name e2 --network none busybox sh -c 'echo y >/tmp/running; sleep 300'
        [ "$status" -eq 0 ]
        for i in $(seq 50); do B container diff e2 | grep -q /tmp/running && break; sleep 0.1; done
        run B export -o "$TEST_TMP/e2.tar" e2
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        tar -tf "$TEST_TMP/e2.tar" | grep -q "tmp/running"
        run B export nosuch -o "$TEST_TMP/x.tar"
        [ "$status" -ne 0 ]
        [ ! -e "$TEST_TMP/x.tar" ]
}

@test "cp out of and into a stopped container, docker's directory rules" {
        run B create --name s1 --network none busybox sh
        [ "$status" -eq 0 ]
        run B cp s1:/data/file "$TEST_TMP/got"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$(cat "$TEST_TMP/got")" = "from the image" ]
        # directory into an existing directory: DEST/data
        mkdir "$TEST_TMP/dir"
        run B cp s1:/data "$TEST_TMP/dir"
        [ "$status" -eq 0 ]
        [ -f "$TEST_TMP/dir/data/file" ]
        # DIR/. copies the contents
        mkdir "$TEST_TMP/dir2"
        run B cp s1:/data/. "$TEST_TMP/dir2"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ -f "$TEST_TMP/dir2/file" ]
        # a file to a missing dir/ is an error
        run B cp s1:/data/file "$TEST_TMP/missing/"
        [ "$status" -ne 0 ]
        # into the container
        echo hello >"$TEST_TMP/in.txt"
        run B cp "$TEST_TMP/in.txt" s1:/tmp/
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B cp "$TEST_TMP/in.txt" s1:/renamed.txt
        [ "$status" -eq 0 ]
        run B container diff s1
        assert_contains "$output" "A /tmp/in.txt"
        assert_contains "$output" "A /renamed.txt"
        run B cp s1:/nope "$TEST_TMP/x"
        [ "$status" -ne 0 ]
        assert_contains "$output" "/nope"
}

@test "cp with a running container; -a keeps the owner" {
        run B run -d --name r1 --network none busybox sh -c 'echo in >/home/alice/f; chown 1000:1000 /home/alice/f; sleep 300'
        [ "$status" -eq 0 ]
        for i in $(seq 50); do B container diff r1 | grep -q /home/alice/f && break; sleep 0.1; done
        run B cp -a r1:/home/alice/f "$TEST_TMP/f"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$(stat -c %u "$TEST_TMP/f")" = 1000 ]
        run B cp r1:/home/alice/f "$TEST_TMP/f2"
        [ "$(stat -c %u "$TEST_TMP/f2")" = 0 ]
        echo pushed >"$TEST_TMP/p"
        run B cp "$TEST_TMP/p" r1:/tmp/p
        [ "$status" -eq 0 ]
        run B exec r1 cat /tmp/p
        [ "$output" = "pushed" ]
}

@test "cp cannot escape through a symlink in the container" {
        run B run --name evil --network none busybox sh -c 'ln -s /etc /evil; echo ctrpasswd >/etc/passwd; ln -s / /up; ln -s /tmp/../../.. /dots'
        [ "$status" -eq 0 ]
        run B cp evil:/evil/passwd "$TEST_TMP/out"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$(cat "$TEST_TMP/out")" = "ctrpasswd" ]
        run B cp evil:/dots/etc/passwd "$TEST_TMP/out2"
        [ "$status" -eq 0 ]
        [ "$(cat "$TEST_TMP/out2")" = "ctrpasswd" ]
        # writing through the link lands in the container's /etc, not the host's
        echo marker >"$TEST_TMP/marker-$$"
        run B cp "$TEST_TMP/marker-$$" evil:/evil/
        [ "$status" -eq 0 ]
        [ ! -e "/etc/marker-$$" ]
        run B cp "$TEST_TMP/marker-$$" evil:/up/etc/m2
        [ ! -e /etc/m2 ]
        run B container diff evil
        assert_contains "$output" "/etc/marker-$$"
        # the symlink itself is copied without -L, followed (inside the root) with -L
        run B cp evil:/evil "$TEST_TMP/link"
        [ -L "$TEST_TMP/link" ]
        [ "$(readlink "$TEST_TMP/link")" = /etc ]
        run B cp -L evil:/evil "$TEST_TMP/linkdir"
        [ "$status" -eq 0 ]
        [ "$(cat "$TEST_TMP/linkdir/passwd")" = "ctrpasswd" ]
}

@test "daemon --insecure-registry: validated, repeatable" {
        run "$BERTH" daemon --root "$TEST_TMP/r2" --run "$TEST_TMP/run2" --insecure-registry 'http://x/y'
        [ "$status" -ne 0 ]
        assert_contains "$output" "invalid --insecure-registry 'http://x/y'"
        run "$BERTH" daemon --help
        assert_contains "$output" "--insecure-registry"
}

df_json() { "$BERTH" --format json system df; }
jq_num() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

@test "system df numbers follow image imports and container writes" {
        n0=$(df_json | jq_num 'len(d["Images"])')
        s0=$(df_json | jq_num 'd["LayersSize"]')
        run B import -m other -c 'CMD ["sh"]' "$BATS_FILE_TMPDIR/busybox.tar" other:1
        [ "$status" -eq 0 ]
        run B commit -c 'CMD ["sh"]' "$(B create --network none busybox sh -c 'true')" big:1
        # the import is the same content: same layer, one more image
        [ "$(df_json | jq_num 'len(d["Images"])')" -eq $((n0 + 2)) ]
        run B run --name w1 --network none busybox sh -c 'dd if=/dev/zero of=/data/blob bs=1k count=300 2>/dev/null'
        [ "$status" -eq 0 ]
        size=$(df_json | jq_num '[c["SizeRw"] for c in d["Containers"] if c["Names"][0]=="/w1"][0]')
        [ "$size" -ge 307200 ]
        [ "$(df_json | jq_num 'd["ContainersReclaimable"]')" -ge 307200 ]
        run B system df
        assert_contains "$output" "Images"
        assert_contains "$output" "Local Volumes"
        run B system df -v
        assert_contains "$output" "w1"
        [ "$s0" -gt 0 ]
}

@test "container prune removes only stopped containers" {
        run B run -d --name keep --network none busybox sleep 300
        [ "$status" -eq 0 ]
        run B run --name gone1 --network none busybox true
        run B create --name gone2 --network none busybox true
        run B container prune -f
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "Total reclaimed space"
        run B ps -a --format '{{.Names}}'
        assert_contains "$output" "keep"
        ! grep -q gone <<<"$output"
        # without -f and a "no" answer nothing happens
        run B run --name gone3 --network none busybox true
        run bash -c "echo n | '$BERTH' container prune"
        run B ps -a --format '{{.Names}}'
        assert_contains "$output" "gone3"
}

@test "image prune: dangling only, -a every unused image; system prune" {
        run B import -m unused "$BATS_FILE_TMPDIR/busybox.tar" unused:1
        [ "$status" -eq 0 ]
        run B import -m dangling "$BATS_FILE_TMPDIR/busybox.tar"
        [ "$status" -eq 0 ]
        dangling=$output
        run B run -d --name user --network none busybox sleep 300
        [ "$status" -eq 0 ]
        run B image prune -f
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        assert_contains "$output" "$dangling"
        run B images
        assert_contains "$output" "unused"
        run B system prune -a -f
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        run B images
        ! grep -q unused <<<"$output"
        assert_contains "$output" "busybox"
        run B ps --format '{{.Names}}'
        assert_contains "$output" "user"
}
