#!/usr/bin/env python3
# A registry on 127.0.0.1 that serves the manifest and config of slow/img:1 at once and then
# half of its one layer, and holds the rest back: for tests that interrupt a pull midway.
#   slow-registry.py PORTFILE STATEDIR
# Writes the port to PORTFILE; STATEDIR/started once the layer is half sent, STATEDIR/closed
# when the client went away (a write failed). Exits after that, or after 60 s.
import gzip, hashlib, http.server, io, json, os, sys, tarfile, threading, time

portfile, state = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = os.urandom(4 << 20)
    ti = tarfile.TarInfo("big")
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
raw = buf.getvalue()
layer = gzip.compress(raw, 1)
sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
               "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer),
                "size": len(layer)}]}).encode()
done = threading.Event()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, body, ctype, head=False):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        p = self.path
        if p == "/v2/":
            self.reply(b"{}", "application/json", head)
        elif p == "/v2/slow/img/manifests/1":
            self.reply(manifest, "application/vnd.oci.image.manifest.v1+json", head)
        elif p == "/v2/slow/img/blobs/" + sha(config):
            self.reply(config, "application/octet-stream", head)
        elif p == "/v2/slow/img/blobs/" + sha(layer) and not head:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(layer)))
            self.end_headers()
            half = len(layer) // 2
            self.wfile.write(layer[:half])
            self.wfile.flush()
            open(os.path.join(state, "started"), "w").close()
            try:
                for i in range(300):  # one byte every 0.2 s, never the whole rest
                    time.sleep(0.2)
                    self.wfile.write(layer[half + i:half + i + 1])
                    self.wfile.flush()
            except OSError:
                open(os.path.join(state, "closed"), "w").close()
            done.set()
            self.close_connection = True
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
threading.Thread(target=srv.serve_forever, daemon=True).start()
done.wait(60)
