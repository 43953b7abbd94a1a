#!/usr/bin/env bash
# Builds the image the webapp example uses, localhost/webapp-busybox:latest, from Debian's
# busybox-static (no registry needed) and imports it into a running berth daemon.
#
#   examples/webapp/build-images.sh [BERTH]      (BERTH defaults to `berth` on PATH)
set -euo pipefail

BERTH=${1:-${BERTH:-berth}}
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
IMAGE=localhost/webapp-busybox:latest

if [ ! -x "$BUSYBOX_BIN" ] || ! "$BUSYBOX_BIN" --list >/dev/null 2>&1; then
        echo "build-images.sh: needs a static busybox at $BUSYBOX_BIN (apt-get install busybox-static)" >&2
        exit 1
fi
work=$(mktemp -d /tmp/webapp-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/srv" "$root/data"
cp "$BUSYBOX_BIN" "$root/bin/busybox"
for a in $("$BUSYBOX_BIN" --list); do
        [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/srv:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nwww:x:33:\n' >"$root/etc/group"
cat >"$root/srv/index.html" <<'HTML'
<!doctype html><title>berth webapp</title><h1>Hello from a berth stack</h1>
HTML
tar -C "$root" -cf "$work/rootfs.tar" .
"$BERTH" import -c 'CMD ["sh"]' "$work/rootfs.tar" "$IMAGE"
echo "Built $IMAGE"
