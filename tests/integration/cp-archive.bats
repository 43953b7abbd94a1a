#!/usr/bin/env bats
# cp into a container as a tar stream (PUT /v1/containers/{id}/archive), cp with '-' (tar on
# stdin/stdout), GET/HEAD archive with docker's stat header, and the escape attempts.

load helpers
load ctr-helpers

# A tar made by python's tarfile from a small description: evil_tar OUT SPEC...
# SPEC: f:NAME:CONTENT (file), d:NAME (dir), l:NAME:TARGET (symlink), h:NAME:TARGET (hardlink)
evil_tar() {
        python3 - "$@" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
with tarfile.open(out, "w") as t:
    for spec in sys.argv[2:]:
        kind, rest = spec.split(":", 1)
        ti = tarfile.TarInfo()
        if kind == "f":
            name, data = rest.split(":", 1)
            ti.name, ti.size, ti.mode = name, len(data), 0o644
            ti.uid = ti.gid = 1234
            t.addfile(ti, io.BytesIO(data.encode()))
            continue
        if kind == "d":
            ti.name, ti.type, ti.mode = rest, tarfile.DIRTYPE, 0o755
        else:
            name, target = rest.split(":", 1)
            ti.name, ti.linkname = name, target
            ti.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
        t.addfile(ti)
EOF
}

@test "cp HOST CTR:PATH streams a tar: files, directories, docker's rules" {
        B run -d --name cpr --network none busybox sleep 300
        wait_state cpr '{{.State.Status}}' running
        mkdir -p "$TEST_TMP/src/sub"
        echo one >"$TEST_TMP/src/a"
        echo two >"$TEST_TMP/src/sub/b"
        ln -s a "$TEST_TMP/src/link"
        chmod 0751 "$TEST_TMP/src/sub"
        # a directory into an existing directory lands as DEST/NAME
        run B cp "$TEST_TMP/src" cpr:/tmp
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$(B exec cpr cat /tmp/src/sub/b)" = two ]
        [ "$(B exec cpr readlink /tmp/src/link)" = a ]
        [ "$(B exec cpr stat -c %a /tmp/src/sub)" = 751 ]
        # to a missing name: the directory is renamed
        run B cp "$TEST_TMP/src" cpr:/tmp/renamed
        [ "$status" -eq 0 ]
        [ "$(B exec cpr cat /tmp/renamed/a)" = one ]
        # DIR/. copies the contents
        run B exec cpr mkdir /tmp/contents
        run B cp "$TEST_TMP/src/." cpr:/tmp/contents
        [ "$status" -eq 0 ]
        [ "$(B exec cpr cat /tmp/contents/sub/b)" = two ]
        # a file onto a file replaces it; a file to a new name; ownership is the container's root
        run B cp "$TEST_TMP/src/a" cpr:/tmp/src/sub/b
        [ "$status" -eq 0 ]
        [ "$(B exec cpr cat /tmp/src/sub/b)" = one ]
        chown 1000:1000 "$TEST_TMP/src/a"
        run B cp "$TEST_TMP/src/a" cpr:/tmp/f
        [ "$(B exec cpr stat -c %u:%g /tmp/f)" = 0:0 ]
        run B cp -a "$TEST_TMP/src/a" cpr:/tmp/fa
        [ "$(B exec cpr stat -c %u:%g /tmp/fa)" = 1000:1000 ]
        # refusals, each naming the path
        run B cp "$TEST_TMP/src" cpr:/tmp/f
        [ "$status" -ne 0 ]
        [[ "$output" == *"cannot copy a directory to file"* ]] || { echo "$output"; false; }
        run B cp "$TEST_TMP/src/a" cpr:/nodir/
        [ "$status" -ne 0 ]
        [[ "$output" == *"/nodir/"* ]] || { echo "$output"; false; }
        run B cp "$TEST_TMP/src/a" cpr:/no/such/parent
        [ "$status" -ne 0 ]
        [[ "$output" == *"/no/such"* ]] || { echo "$output"; false; }
        run B cp "$TEST_TMP/missing" cpr:/tmp
        [ "$status" -ne 0 ]
        [[ "$output" == *"$TEST_TMP/missing"* ]] || { echo "$output"; false; }
        run B exec cpr ls /tmp/missing
        [ "$status" -ne 0 ]
}

@test "cp - CTR:DIR extracts a tar from stdin; cp CTR:PATH - writes one to stdout" {
        B create --name cps --network none busybox sh
        mkdir -p "$TEST_TMP/t/d"
        echo piped >"$TEST_TMP/t/d/x"
        tar -C "$TEST_TMP/t" -cf - d | B cp - cps:/data
        B cp cps:/data - >"$TEST_TMP/out.tar"
        tar -tf "$TEST_TMP/out.tar" | sort >"$TEST_TMP/list"
        grep -qx 'data/d/x' "$TEST_TMP/list" || { cat "$TEST_TMP/list"; false; }
        grep -qx 'data/file' "$TEST_TMP/list"
        mkdir "$TEST_TMP/x"
        tar -C "$TEST_TMP/x" -xf "$TEST_TMP/out.tar"
        [ "$(cat "$TEST_TMP/x/data/d/x")" = piped ]
        # a compressed stream works too
        tar -C "$TEST_TMP/t" -czf - d | B cp - cps:/tmp
        B cp cps:/tmp/d/x - | tar -xOf - x >"$TEST_TMP/one"
        [ "$(cat "$TEST_TMP/one")" = piped ]
        # '-' into something that is not an existing directory
        run bash -c "tar -C '$TEST_TMP/t' -cf - d | '$BERTH' cp - cps:/data/file"
        [ "$status" -ne 0 ]
        [[ "$output" == *"not a directory"* ]] || { echo "$output"; false; }
        run bash -c "tar -C '$TEST_TMP/t' -cf - d | '$BERTH' cp - cps:/nope"
        [ "$status" -ne 0 ]
        [[ "$output" == *"/nope"* ]] || { echo "$output"; false; }
        run bash -c "echo garbage | '$BERTH' cp - cps:/tmp"
        [ "$status" -ne 0 ]
        [[ "$output" == *"archive"* ]] || { echo "$output"; false; }
        run B cp cps:/nope -
        [ "$status" -ne 0 ]
        [[ "$output" == *"/nope"* ]] || { echo "$output"; false; }
}

@test "GET and HEAD /archive: docker's X-Docker-Container-Path-Stat, the tar" {
        B create --name cph --network none busybox sh
        run api HEAD "/v1/containers/cph/archive?path=/data/file" -I
        [[ "$output" == *"200"* ]] || { echo "$output"; false; }
        local hdr
        hdr=$(printf '%s' "$output" | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //Ip')
        assert_json "$(printf '%s' "$hdr" | base64 -d)" '.name + " " + (.size|tostring) + " " + (.mode|tostring)' "file 15 420"
        run api HEAD "/v1/containers/cph/archive?path=/data" -I
        hdr=$(printf '%s' "$output" | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //Ip')
        # a directory has Go's ModeDir bit (1<<31)
        assert_json "$(printf '%s' "$hdr" | base64 -d)" '.mode >= 2147483648' true
        run api HEAD "/v1/containers/cph/archive?path=/nope" -I
        [[ "$output" == *"404"* ]] || { echo "$output"; false; }
        api GET "/v1/containers/cph/archive?path=/data" -o "$TEST_TMP/g.tar"
        tar -tf "$TEST_TMP/g.tar" | grep -qx 'data/file'
        run api GET "/v1/containers/cph/archive" -w '%{http_code}' -o /dev/null
        [ "$output" = 400 ]
}

@test "cp and PUT /archive cannot escape: '..', planted symlinks, links in the tar" {
        B run --name cpe --network none busybox sh -c 'ln -s / /up; ln -s /etc/passwd /tmp/planted; ln -s ../../../../etc /tmp/dots'
        local m=marker-$$-$RANDOM
        # '..' in an entry is refused and nothing is written
        evil_tar "$TEST_TMP/dd.tar" "f:ok-before:x" "f:../../../../../tmp/$m:x"
        run B cp - cpe:/tmp <"$TEST_TMP/dd.tar"
        [ "$status" -ne 0 ]
        [[ "$output" == *"'..' is not allowed"* ]] || { echo "$output"; false; }
        [ ! -e "/tmp/$m" ]
        # a symlink in the tar, then a file through it: lands inside the container
        evil_tar "$TEST_TMP/ln.tar" "l:esc:/" "f:esc/tmp/$m:inside" "l:esc2:../../../.." "f:esc2/tmp/$m-2:inside"
        run B cp - cpe:/tmp <"$TEST_TMP/ln.tar"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ ! -e "/tmp/$m" ]
        [ ! -e "/tmp/$m-2" ]
        run B container diff cpe
        assert_contains "$output" "/tmp/$m"
        # an absolute entry name stays inside too
        evil_tar "$TEST_TMP/abs.tar" "f:/tmp/$m-abs:x"
        run B cp - cpe:/ <"$TEST_TMP/abs.tar"
        [ "$status" -eq 0 ]
        [ ! -e "/tmp/$m-abs" ]
        # a hard link to a host file name resolves in the container's root
        local links
        links=$(stat -c %h /etc/passwd)
        evil_tar "$TEST_TMP/hl.tar" "h:hl2:../../../etc/passwd"
        run B cp - cpe:/tmp <"$TEST_TMP/hl.tar"
        [ "$status" -ne 0 ]
        [[ "$output" == *"bad link target"* ]] || { echo "$output"; false; }
        # link targets are relative to the extraction directory, resolved in the root
        evil_tar "$TEST_TMP/hl.tar" "h:hl:/etc/passwd"
        run B cp - cpe:/ <"$TEST_TMP/hl.tar"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$(stat -c %h /etc/passwd)" = "$links" ]
        [ "$(B cp cpe:/hl - | tar -xOf -)" = "$(B cp cpe:/etc/passwd - | tar -xOf -)" ]
        # a planted symlink as the cp target is replaced, never written through
        echo data >"$TEST_TMP/newfile"
        local before
        before=$(sha256sum /etc/passwd)
        run B cp "$TEST_TMP/newfile" cpe:/tmp/planted
        [ "$status" -eq 0 ]
        [ "$(sha256sum /etc/passwd)" = "$before" ]
        B start cpe >/dev/null || true
        run B cp cpe:/tmp/planted -
        [[ "$output" == *data* ]] || { echo "$output"; false; }
        # through '/up' and '/tmp/dots' (symlinks to the root and above it)
        run B cp "$TEST_TMP/newfile" "cpe:/up/tmp/$m-up"
        [ "$status" -eq 0 ]
        [ ! -e "/tmp/$m-up" ]
        run B cp "$TEST_TMP/newfile" "cpe:/tmp/dots/$m-dots"
        [ ! -e "/etc/$m-dots" ]
        # device nodes are not extracted
        python3 - "$TEST_TMP/dev.tar" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("sda"); ti.type = tarfile.BLKTYPE; ti.devmajor = 8; ti.devminor = 0
    t.addfile(ti)
EOF
        run B cp - cpe:/tmp <"$TEST_TMP/dev.tar"
        [ "$status" -ne 0 ]
        [[ "$output" == *"device nodes"* ]] || { echo "$output"; false; }
}

@test "cp CTR:PATH HOST is written by the CLI (its mount namespace), -L follows, bad destinations" {
        B run -d --name cpo --network none busybox sh -c 'mkdir -p /d/sub; echo x >/d/f; echo y >/d/sub/g; ln -s /d/f /lnk; ln -s sub /d/rel; sleep 300'
        wait_state cpo '{{.State.Status}}' running
        local i
        for i in $(seq 50); do B exec cpo test -L /d/rel && break; sleep 0.1; done
        # a tmpfs only the CLI's mount namespace sees: the daemon could not have written there
        mkdir -p "$TEST_TMP/priv"
        run unshare -m --propagation private sh -c '
                mount -t tmpfs t "$1" &&
                "$2" cp cpo:/d "$1/out" && "$2" cp cpo:/d/f "$1/" && "$2" cp -L cpo:/lnk "$1/l" &&
                "$2" cp cpo:/lnk "$1/l2" && "$2" cp cpo:/d/. "$1/out" &&
                cat "$1/out/f" "$1/out/sub/g" "$1/f" "$1/l" && readlink "$1/l2" "$1/out/rel"' \
                sh "$TEST_TMP/priv" "$BERTH"
        [ "$status" -eq 0 ] || { echo "$output"; false; }
        [ "$output" = "$(printf 'x\ny\nx\nx\n/d/f\nsub')" ] || { echo "$output"; false; }
        [ -z "$(ls -A "$TEST_TMP/priv")" ] # nothing landed outside that namespace
        # docker's rules: a directory onto a file, a file into a missing dir/, a missing parent
        echo old >"$TEST_TMP/file"
        run B cp cpo:/d "$TEST_TMP/file"
        [ "$status" -ne 0 ]
        [[ "$output" == *"cannot copy a directory"* ]] || { echo "$output"; false; }
        [ "$(cat "$TEST_TMP/file")" = old ]
        run B cp cpo:/d/f "$TEST_TMP/nodir/"
        [ "$status" -ne 0 ]
        [ ! -e "$TEST_TMP/nodir" ]
        run B cp cpo:/d/f "$TEST_TMP/no/parent"
        [ "$status" -ne 0 ]
        [[ "$output" == *"parent directory"* ]] || { echo "$output"; false; }
        # a file onto an existing file replaces it
        B cp cpo:/d/f "$TEST_TMP/file"
        [ "$(cat "$TEST_TMP/file")" = x ]
}
