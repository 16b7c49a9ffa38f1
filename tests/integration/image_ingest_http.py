#!/usr/bin/env python3
"""A tiny HTTP server on 127.0.0.1 for tests/integration/image_ingest.sh.

  /files/NAME     the file, with single-range support (Range: bytes=N-)
  /drop/NAME      the first request sends half the body, then drops the connection
  /redirect/NAME  302 to /files/NAME
  /to-file        302 to file:///etc/passwd (must be refused)
  /slow/NAME      64 KiB every 0.2 s (for the interrupt test)

Usage: image_ingest_http.py ROOT PORT_FILE; logs one line per request
("GET /path Range") on stderr.
"""
import http.server
import os
import re
import socket
import sys
import time

ROOT, PORT_FILE = sys.argv[1], sys.argv[2]
DROPPED = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s range=%s\n" % (self.command, self.path, self.headers.get("Range", "-")))
        sys.stderr.flush()

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        parts = self.path.split("/")
        if len(parts) == 2 and parts[1] == "to-file":
            return self.redirect("file:///etc/passwd")
        if len(parts) != 3:
            return self.send_error(404)
        kind, name = parts[1], os.path.basename(parts[2])
        if kind == "redirect":
            return self.redirect("/files/" + name)
        path = os.path.join(ROOT, name)
        if kind not in ("files", "drop", "slow") or not os.path.isfile(path):
            return self.send_error(404)
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            if not m or int(m.group(1)) >= len(data):
                return self.send_error(416)
            start = int(m.group(1))
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "drop" and name not in DROPPED:
            DROPPED.add(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "slow":
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i : i + 65536])
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
