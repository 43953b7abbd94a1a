#!/usr/bin/env bash
# Cold pull of a multi-layer image from a loopback docker-registry: berth (daemon + CLI) beside
# `skopeo copy` to an OCI layout when skopeo is installed. One run each; prints seconds and the
# ratio. Needs root (the daemon), docker-registry, python3.
#
#   bench/image-pull.sh [LAYERS] [MIB_PER_LAYER]
set -euo pipefail
cd "$(dirname "$0")/.."
LAYERS=${1:-8}
MIB=${2:-4}
BERTH=${BERTH:-$PWD/build/berth}
for c in docker-registry python3 curl; do
        command -v "$c" >/dev/null || { echo "image-pull: needs $c" >&2; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "image-pull: needs root" >&2; exit 77; }
[ -x "$BERTH" ] || { echo "image-pull: build $BERTH first" >&2; exit 1; }

T=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
REG_PID= DAEMON_PID=
cleanup() {
        set +e
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
        fi
        if [ -n "$REG_PID" ]; then
                kill -TERM "$REG_PID" 2>/dev/null
                wait "$REG_PID" 2>/dev/null
        fi
        rm -rf "$T"
}
trap cleanup EXIT

# An OCI layout with LAYERS gzip layers of MIB MiB (half random, half zeros) each.
python3 - "$T/layout" "$LAYERS" "$MIB" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out + "/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(b)
    return "sha256:" + d, len(b)
layers, diffs = [], []
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(mib << 19) + bytes(mib << 19)
        ti = tarfile.TarInfo(f"layer{i}/data"); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, s = put(gzip.compress(raw, 1))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                  "layers": layers}).encode()
md, ms = put(man)
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms}]}, open(out + "/index.json", "w"))
PY

PORT=$((20000 + RANDOM % 20000))
cat >"$T/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $T/registry}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break; sleep 0.1; done

"$BERTH" daemon --root "$T/root" --run "$T/run" --bridge none >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$T/run/berth.sock" ] && break; sleep 0.05; done
export BERTH_HOST=unix://$T/run/berth.sock
REF=127.0.0.1:$PORT/bench/img:1
ID=$("$BERTH" load -i "$T/layout" | awk '/Loaded image ID:/ {print $4}')
"$BERTH" tag "$ID" "$REF"
"$BERTH" push -q "$REF" >/dev/null
"$BERTH" rmi -f "$REF" >/dev/null

now() { date +%s.%N; }
t0=$(now)
"$BERTH" pull -q "$REF" >/dev/null
t1=$(now)
berth_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
printf 'image-pull: %d layers x %d MiB, berth pull (download + verify + unpack): %.3f s\n' \
        "$LAYERS" "$MIB" "$berth_s"
if command -v skopeo >/dev/null; then
        t0=$(now)
        skopeo copy -q --src-tls-verify=false "docker://$REF" "oci:$T/skopeo:1" >/dev/null
        t1=$(now)
        sk_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
        printf 'image-pull: skopeo copy to an OCI layout (download + verify, no unpack): %.3f s, ratio berth/skopeo %.2f\n' \
                "$sk_s" "$(awk -v a="$berth_s" -v b="$sk_s" 'BEGIN { print a / b }')"
fi
