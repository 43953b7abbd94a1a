#!/usr/bin/env bash
# berth build benchmarks (docs/build.md "Benchmark"), medians of RUNS runs:
#   1. a 12-step Dockerfile on a busybox base (COPY of FILES small files, 4 RUN steps): cold
#      (--no-cache), fully cached, and after editing one file;
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
cleanup() {
        set +e
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
        if command -v docker >/dev/null && [ -n "${DOCKER_TAGS:-}" ]; then
                docker rmi -f $DOCKER_TAGS >/dev/null 2>&1
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
if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
        docker import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$T/busybox.tar" berth-bench-busybox >/dev/null
        DOCKER_TAGS="berth-bench-busybox berth-bench-t"
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
        docker) echo "docker build -q --network none $3 -f $2/Dockerfile.peer -t berth-bench-t $2" ;;
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
[ "${#peers[@]}" -gt 1 ] || echo "  (no peers: dockerd is not running and podman is not installed)"
