#!/usr/bin/env bash
# berth build benchmarks (docs/build.md "Benchmark"), medians of RUNS runs:
#   1. a 12-step Dockerfile on a busybox base (COPY of FILES small files, 4 RUN steps): cold
#      (--no-cache), fully cached, and after editing one file; then the same file cold and
#      cached beside `docker build` (legacy builder and BuildKit) and `buildah bud`. For that
#      the script starts its own containerd and dockerd (PEERS=0 skips the peers) as
#      /work/shared/PEERS.md describes: roots, sockets and pidfiles under its temporary
#      directory, --bridge=none --iptables=false, both stopped by pid at the end; buildah runs
#      on a private --root/--runroot there, with runc;
#   2. a two-stage build whose stages are independent: --jobs 1 (one after another) vs --jobs 2;
#   3. the Dockerfiles of tests/integration/build.bats (instructions, multi-stage): cold and
#      cached, beside docker (when dockerd answers) and podman (when installed, on a private
#      storage root under the temporary directory). For the peers RUN uses --network none, and so
#      does berth in that table.
# Needs root (the daemon and RUN containers) and busybox-static.
#
#   bench/build.sh [FILES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-1000}
RUNS=${2:-3}
BERTH=${BERTH:-$PWD/build/berth}
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
[ "$(id -u)" -eq 0 ] || { echo "build bench: needs root" >&2; exit 77; }
[ -x "$BUSYBOX_BIN" ] || { echo "build bench: needs busybox-static" >&2; exit 77; }
[ -x "$BERTH" ] || { echo "build bench: build $BERTH first" >&2; exit 1; }

T=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
DAEMON_PID=
PODMAN_ROOT=
CONTAINERD_PID=
DOCKERD_PID=
BUILDAH_ROOT=
PEERS=${PEERS:-1}
DOCKER=/usr/bin/docker # not a newer client that may be first in PATH
stop_pid() { # PID: TERM, wait up to 10 s, then KILL
        local p=$1
        kill -TERM "$p" 2>/dev/null || return 0
        for _ in $(seq 100); do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
}
cleanup() {
        set +e
        if [ -n "$DOCKERD_PID" ]; then
                dk rmi -f berth-bench-busybox berth-bench-12 berth-bench-t >/dev/null 2>&1
                stop_pid "$DOCKERD_PID"
        fi
        [ -n "$CONTAINERD_PID" ] && stop_pid "$CONTAINERD_PID"
        if [ -n "$BUILDAH_ROOT" ]; then
                bh rm -a >/dev/null 2>&1
                bh rmi -a -f >/dev/null 2>&1
        fi
        # whatever docker, containerd or buildah left mounted under the temporary directory
        grep -o " $T/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do
                umount -l "$m"
        done
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
        fi
        if [ -n "$PODMAN_ROOT" ]; then
                podman --root "$PODMAN_ROOT/root" --runroot "$PODMAN_ROOT/run" rmi -a -f >/dev/null 2>&1
                grep -o " $PODMAN_ROOT[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do
                        umount "$m"
                done
        fi
        rm -rf "$T"
}
trap cleanup EXIT

# Base image.
r=$T/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/tmp"
cp "$BUSYBOX_BIN" "$r/bin/busybox"
for a in $("$BUSYBOX_BIN" --list); do
        [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\n' >"$r/etc/group"
tar -C "$r" -cf "$T/busybox.tar" .

"$BERTH" daemon --root "$T/root" --run "$T/run" --log-format text >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
export BERTH_HOST=unix://$T/run/berth.sock
for _ in $(seq 100); do
        [ -S "$T/run/berth.sock" ] && break
        sleep 0.05
done
"$BERTH" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" busybox >/dev/null

now() { date +%s%N; }
# Median of the numbers on stdin (milliseconds), printed in seconds.
median() { sort -n | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m / 1000 }'; }
# Runs "$@" RUNS times; prints the median wall time in seconds. Fails when a run fails.
timed() {
        local i t0 t1
        for i in $(seq "$RUNS"); do
                t0=$(now)
                "$@" >"$T/last.log" 2>&1 || { cat "$T/last.log" >&2; return 1; }
                t1=$(now)
                echo $(((t1 - t0) / 1000000))
        done | median
}

# ---- 1. the 12-step Dockerfile ----
c=$T/ctx
mkdir -p "$c/files"
for i in $(seq "$FILES"); do
        echo "file $i" >"$c/files/f$i.txt"
done
cat >"$c/Dockerfile" <<'DF'
FROM busybox
ENV APP=/app
WORKDIR /app
COPY files/ ./files/
RUN ls files | wc -l > count
RUN cat files/f1.txt files/f2.txt > head.txt
ARG BUILD_ID=1
RUN echo "build $BUILD_ID" > id.txt
LABEL bench=build
RUN mkdir -p out && cp -r files out/
EXPOSE 8080
CMD ["cat", "count"]
DF
t0=$(now)
"$BERTH" build -q -t bench:1 "$c" >/dev/null
t1=$(now)
first=$(awk -v d=$(((t1 - t0) / 1000000)) 'BEGIN { printf "%.3f", d / 1000 }')
cold=$(timed "$BERTH" build -q --no-cache -t bench:1 "$c")
cached=$(timed "$BERTH" build -t bench:1 "$c")
hits=$(grep -c 'Using cache' "$T/last.log" || true)
echo "edited" >"$c/files/f500.txt"
t0=$(now)
"$BERTH" build -q -t bench:1 "$c" >/dev/null
t1=$(now)
edit=$(awk -v d=$(((t1 - t0) / 1000000)) 'BEGIN { printf "%.3f", d / 1000 }')
echo "== 12-step Dockerfile, COPY of $FILES files, 4 RUN steps (median of $RUNS)"
echo "  first build:                $first s"
echo "  cold build (--no-cache):    $cold s"
echo "  fully cached rebuild:       $cached s ($hits cache hits)"
echo "  rebuild after 1-file edit:  $edit s (one run)"

# ---- 1b. the same 12-step Dockerfile beside docker build and buildah bud ----
# RUN with --network none everywhere (dockerd runs with --bridge=none, so it has no bridge).
dk() { "$DOCKER" -H "unix://$T/docker/run/docker.sock" "$@"; }
bh() {
        CONTAINERS_CONF=$T/buildah/containers.conf buildah --root "$T/buildah/root" \
                --runroot "$T/buildah/run" --storage-driver overlay "$@"
}
start_docker() {
        if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null ||
                [ ! -x "$DOCKER" ]; then
                echo "  (docker: not installed: scripts/deps.sh --bench)"
                return 1
        fi
        local d=$T/docker
        mkdir -p "$d/containerd" "$d/data" "$d/run"
        cat >"$d/containerd.toml" <<EOF
version = 2
root = "$d/containerd/root"
state = "$d/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/run/containerd.sock"
[ttrpc]
  address = "$d/run/containerd.sock.ttrpc"
[debug]
  address = "$d/run/containerd-debug.sock"
EOF
        containerd --config "$d/containerd.toml" >"$d/containerd.log" 2>&1 &
        CONTAINERD_PID=$!
        for _ in $(seq 200); do
                [ -S "$d/run/containerd.sock" ] && break
                sleep 0.05
        done
        echo '{}' >"$d/daemon.json"
        dockerd --config-file "$d/daemon.json" --containerd "$d/run/containerd.sock" \
                --data-root "$d/data" --exec-root "$d/run/exec" \
                -H "unix://$d/run/docker.sock" --pidfile "$d/run/docker.pid" \
                --iptables=false --ip6tables=false --bridge=none >"$d/dockerd.log" 2>&1 &
        DOCKERD_PID=$!
        for _ in $(seq 300); do
                dk version >/dev/null 2>&1 && return 0
                kill -0 "$DOCKERD_PID" 2>/dev/null || break
                sleep 0.1
        done
        echo "  (docker: dockerd did not start: $(tail -n 1 "$d/dockerd.log" | cut -c1-120))"
        return 1
}
setup_buildah() {
        if ! command -v buildah >/dev/null; then
                echo "  (buildah: not installed: scripts/deps.sh --bench)"
                return 1
        fi
        BUILDAH_ROOT=$T/buildah
        mkdir -p "$BUILDAH_ROOT"
        # the hard nofile limit here is 20000 (no CAP_SYS_RESOURCE): the default fails
        cat >"$BUILDAH_ROOT/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
EOF
        local ctr
        if ctr=$(bh from scratch 2>"$T/buildah.log") &&
                bh add "$ctr" "$T/busybox.tar" / >/dev/null 2>>"$T/buildah.log" &&
                bh config --cmd sh --env PATH=/bin "$ctr" 2>>"$T/buildah.log" &&
                bh commit -q "$ctr" localhost/berth-bench-busybox >/dev/null 2>>"$T/buildah.log" &&
                bh rm "$ctr" >/dev/null 2>>"$T/buildah.log"; then
                return 0
        fi
        echo "  (buildah: importing the base failed: $(tail -n 1 "$T/buildah.log" | cut -c1-100))"
        return 1
}
build12() { # PEER [--no-cache]
        case $1 in
        berth) "$BERTH" build -q --network none ${2:-} -t bench:1 "$c" ;;
        docker-legacy)
                DOCKER_BUILDKIT=0 dk build -q --network none ${2:-} -f "$T/Dockerfile.peer" \
                        -t berth-bench-12 "$c"
                ;;
        docker-buildkit)
                DOCKER_BUILDKIT=1 dk build -q --network none ${2:-} -f "$T/Dockerfile.peer" \
                        -t berth-bench-12 "$c"
                ;;
        buildah)
                bh bud -q --layers --network none ${2:-} -f "$T/Dockerfile.peer" \
                        -t berth-bench-12 "$c"
                ;;
        esac
}
if [ "$PEERS" != 0 ]; then
        sed 's/^FROM busybox/FROM berth-bench-busybox/' "$c/Dockerfile" >"$T/Dockerfile.peer"
        b12=(berth)
        if start_docker; then
                if dk import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" \
                        berth-bench-busybox >/dev/null; then
                        b12+=(docker-legacy docker-buildkit)
                else
                        echo "  (docker: import failed)"
                fi
        fi
        setup_buildah && b12+=(buildah)
        echo "== the 12-step Dockerfile beside the peers (RUN --network none; median of $RUNS)"
        printf '  %-16s %10s %10s %12s %12s\n' "" "cold" "cached" "cold/berth" "cached/berth"
        bcold=0
        bcached=0
        for peer in "${b12[@]}"; do
                # one build first, so "cached" finds every step
                if ! build12 "$peer" >"$T/last.log" 2>&1 ||
                        ! pc=$(timed build12 "$peer" --no-cache) ||
                        ! pk=$(timed build12 "$peer"); then
                        echo "  $peer: failed: $(tail -n 1 "$T/last.log" | cut -c1-100)"
                        continue
                fi
                if [ "$peer" = berth ]; then
                        bcold=$pc
                        bcached=$pk
                fi
                printf '  %-16s %9ss %9ss %11sx %11sx\n' "$peer" "$pc" "$pk" \
                        "$(awk -v a="$pc" -v b="$bcold" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')" \
                        "$(awk -v a="$pk" -v b="$bcached" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"
        done
fi

# ---- 2. two independent stages ----
p=$T/par
mkdir -p "$p"
cat >"$p/Dockerfile" <<'DF'
FROM busybox AS one
RUN i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo $i >/r1
RUN mkdir /d1 && for i in $(seq 300); do echo $i >/d1/f$i; done
FROM busybox AS two
RUN i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo $i >/r2
RUN mkdir /d2 && for i in $(seq 300); do echo $i >/d2/f$i; done
FROM busybox
COPY --from=one /r1 /d1 /out/one/
COPY --from=two /r2 /d2 /out/two/
DF
serial=$(timed "$BERTH" build -q --no-cache --jobs 1 "$p")
parallel=$(timed "$BERTH" build -q --no-cache --jobs 2 "$p")
echo "== two independent stages (2 RUN steps each, then COPY --from both; --no-cache, median of $RUNS)"
echo "  --jobs 1 (one after another): $serial s"
echo "  --jobs 2 (side by side):      $parallel s"

# ---- 3. the tests' Dockerfiles, beside the peers ----
ti=$T/t-instr
mkdir -p "$ti"
echo "payload" >"$ti/file.txt"
cat >"$ti/Dockerfile" <<'DF'
FROM busybox
LABEL org.example.kind="test image"
ENV GREETING="hello world" N=1
WORKDIR /app
COPY file.txt ./
RUN echo "$GREETING" > greeting.txt && chown alice greeting.txt
USER alice
EXPOSE 8080 9000/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
ENTRYPOINT ["cat"]
CMD ["greeting.txt"]
DF
tm=$T/t-multi
mkdir -p "$tm"
cat >"$tm/Dockerfile" <<'DF'
FROM busybox AS build
RUN mkdir -p /out && echo artifact >/out/a && echo more >/out/b
FROM busybox AS unused
RUN exit 1
FROM busybox
COPY --from=build /out/ /srv/
CMD ["cat", "/srv/a"]
DF

peers=(berth)
DOCKER_TAGS=
if [ -n "$DOCKERD_PID" ] && dk version >/dev/null 2>&1; then
        DOCKER_TAGS="berth-bench-t"
        peers+=(docker)
fi
if command -v podman >/dev/null; then
        PODMAN_ROOT=$T/podman
        PM=(podman --root "$PODMAN_ROOT/root" --runroot "$PODMAN_ROOT/run")
        # podman's default runtime (crun 1.x) refuses hybrid cgroup hierarchies; runc copes.
        PODMAN_RUNTIME=
        command -v runc >/dev/null && PODMAN_RUNTIME="--runtime runc"
        if "${PM[@]}" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" \
                localhost/berth-bench-busybox >/dev/null 2>"$T/podman.log"; then
                peers+=(podman)
        else
                echo "(podman: import failed, skipped: $(tail -1 "$T/podman.log"))"
        fi
fi
# The peers build FROM their own copy of the same base.
for d in "$ti" "$tm"; do
        sed 's/^FROM busybox/FROM berth-bench-busybox/' "$d/Dockerfile" >"$d/Dockerfile.peer"
done
build_cmd() { # PEER DIR [--no-cache]
        set -- "$1" "$2" "${3:-}"
        case $1 in
        berth) echo "$BERTH build -q --network none $3 $2" ;;
        docker) echo "env DOCKER_BUILDKIT=1 $DOCKER -H unix://$T/docker/run/docker.sock build -q --network none $3 -f $2/Dockerfile.peer -t berth-bench-t $2" ;;
        podman) echo "${PM[*]} build -q --layers --network none $PODMAN_RUNTIME $3 -f $2/Dockerfile.peer -t berth-bench-t $2" ;;
        esac
}
echo "== the tests' Dockerfiles (RUN with --network none; median of $RUNS)"
printf '  %-8s %-26s %10s %10s\n' "" "Dockerfile" "cold" "cached"
for peer in "${peers[@]}"; do
        for d in "$ti" "$tm"; do
                name=$([ "$d" = "$ti" ] && echo "build.bats instructions" || echo "build.bats multi-stage")
                # shellcheck disable=SC2046
                if ! cold=$(timed $(build_cmd "$peer" "$d" --no-cache)) ||
                        ! cached=$(timed $(build_cmd "$peer" "$d")); then
                        echo "  $peer: $name failed, skipped"
                        continue
                fi
                printf '  %-8s %-26s %9ss %9ss\n' "$peer" "$name" "$cold" "$cached"
        done
done
[ "${#peers[@]}" -gt 1 ] || echo "  (no peers: PEERS=0, or dockerd did not start and podman is not installed)"
