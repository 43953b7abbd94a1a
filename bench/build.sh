#!/usr/bin/env bash
# berth build: a 12-step Dockerfile on a busybox base (COPY of 1000 small files, several RUN
# steps): cold build, then a fully cached rebuild, then a rebuild after editing one file. One
# run each; prints seconds. Needs root (the daemon and RUN containers) and busybox-static.
#
#   bench/build.sh [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-1000}
BERTH=${BERTH:-$PWD/build/berth}
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
[ "$(id -u)" -eq 0 ] || { echo "build bench: needs root" >&2; exit 77; }
[ -x "$BUSYBOX_BIN" ] || { echo "build bench: needs busybox-static" >&2; exit 77; }
[ -x "$BERTH" ] || { echo "build bench: build $BERTH first" >&2; exit 1; }

T=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
DAEMON_PID=
cleanup() {
        set +e
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
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
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
tar -C "$r" -cf "$T/busybox.tar" .

"$BERTH" daemon --root "$T/root" --run "$T/run" --log-format text >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
export BERTH_HOST=unix://$T/run/berth.sock
for _ in $(seq 100); do
        [ -S "$T/run/berth.sock" ] && break
        sleep 0.05
done
"$BERTH" import -c 'CMD ["sh"]' "$T/busybox.tar" busybox >/dev/null

# Context: FILES small files and a 12-step Dockerfile.
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

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

t0=$(now)
"$BERTH" build -q -t bench:1 "$c" >/dev/null
t1=$(now)
"$BERTH" build -t bench:1 "$c" >"$T/cached.log"
t2=$(now)
echo "edited" >"$c/files/f500.txt"
"$BERTH" build -q -t bench:1 "$c" >/dev/null
t3=$(now)
hits=$(grep -c 'Using cache' "$T/cached.log" || true)
echo "build bench: 12 steps, COPY of $FILES files, 4 RUN steps"
echo "  cold build:               $(elapsed "$t0" "$t1") s"
echo "  fully cached rebuild:     $(elapsed "$t1" "$t2") s ($hits cache hits)"
echo "  rebuild after 1-file edit: $(elapsed "$t2" "$t3") s"
