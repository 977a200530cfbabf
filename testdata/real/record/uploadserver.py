#!/usr/bin/python3
"""Tiny HTTP/1.1 server for the upload captures (python3 http.server subclass).

usage: uploadserver.py HOST PORT FILES_DIR STORE_DIR
  GET  /files/<name>       static file from FILES_DIR (SimpleHTTPRequestHandler)
  POST /<anything>         body (Content-Length or chunked) stored in STORE_DIR
  PUT  /<anything>         same
Stored bodies are named NN-METHOD-<last path element>.body, NN = arrival order.
The response is 201 (PUT) / 200 (POST) with a one-line text/plain body.
Keep-alive and pipelining work because protocol_version is HTTP/1.1 and every
response carries Content-Length.  "Expect: 100-continue" is answered by
BaseHTTPRequestHandler itself (HTTP/1.1 100 Continue).
"""
import functools
import hashlib
import os
import sys
from http.server import HTTPServer, SimpleHTTPRequestHandler

host, port, files_dir, store_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
assert host in ("127.0.0.1", "::1"), "loopback only"
os.makedirs(store_dir, exist_ok=True)
counter = [0]


class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "streamx-upload/1.0"

    def translate_path(self, path):
        # only /files/... is served, from FILES_DIR
        if not path.startswith("/files/"):
            return os.path.join(files_dir, "\0nonexistent")
        return super().translate_path(path[len("/files"):])

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass       # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()          # CRLF after the chunk
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def store(self, status):
        body = self.read_body()
        counter[0] += 1
        name = "%02d-%s-%s.body" % (counter[0], self.command, os.path.basename(self.path.rstrip("/")) or "root")
        with open(os.path.join(store_dir, name), "wb") as f:
            f.write(body)
        reply = ("stored %d bytes as %s sha256=%s\n" % (len(body), name, hashlib.sha256(body).hexdigest())).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_POST(self):
        self.store(200)

    def do_PUT(self):
        self.store(201)


httpd = HTTPServer((host, port), functools.partial(Handler, directory=files_dir))
httpd.serve_forever()
