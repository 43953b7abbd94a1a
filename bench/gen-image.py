#!/usr/bin/env python3
# Writes an OCI image layout for the image benchmarks (bench/peers.sh imagepull).
#
#   gen-image.py OUT bin LAYERS MIB NAME   LAYERS layers holding about MIB MiB (uncompressed) of
#                                          this host's binaries and libraries (/usr/bin,
#                                          /usr/lib/x86_64-linux-gnu, ...): content that
#                                          compresses like real images do (about 2.5x)
#   gen-image.py OUT tar FILE NAME         one layer: the tarball FILE
#
# Layers are gzip (level 6, mtime 0, like docker); the index names the image NAME
# (org.opencontainers.image.ref.name). Deterministic for a given host.
import gzip, hashlib, io, json, os, sys, tarfile

out, mode = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256", exist_ok=True)


def put(b):
    d = hashlib.sha256(b).hexdigest()
    with open(f"{out}/blobs/sha256/{d}", "wb") as f:
        f.write(b)
    return "sha256:" + d, len(b)


def host_files(limit):
    files, total = [], 0
    for top in ("/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/libexec", "/usr/lib"):
        for dirpath, dirs, names in os.walk(top):
            dirs.sort()
            for n in sorted(names):
                p = os.path.join(dirpath, n)
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                sz = os.path.getsize(p)
                if sz < 4096 or sz > (4 << 20) or p in seen:
                    continue
                seen.add(p)
                files.append(p)
                total += sz
                if total >= limit:
                    return files
    return files


seen = set()
raws = []
if mode == "bin":
    n, mib, name = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    files = host_files(mib << 20)
    per = (len(files) + n - 1) // n
    for i in range(n):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
            for p in files[i * per:(i + 1) * per]:
                ti = t.gettarinfo(p, arcname=p.lstrip("/"))
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = "root"
                ti.mtime = 0
                with open(p, "rb") as f:
                    t.addfile(ti, f)
        raws.append(buf.getvalue())
else:
    tarpath, name = sys.argv[3], sys.argv[4]
    with open(tarpath, "rb") as f:
        raws.append(f.read())

layers, diffs = [], []
for raw in raws:
    diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, s = put(gzip.compress(raw, 6, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin:/usr/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                  "layers": layers}).encode()
md, ms = put(man)
with open(out + "/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(out + "/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
        "annotations": {"org.opencontainers.image.ref.name": name}}]}, f)
print(f"{len(layers)} layers, {sum(len(r) for r in raws) >> 20} MiB uncompressed, "
      f"{sum(l['size'] for l in layers) >> 20} MiB compressed", file=sys.stderr)
