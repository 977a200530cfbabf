#!/usr/bin/python3
"""Loopback HTTP/1.1 server for the grep recording.

usage: gzipserver.py PORT
GET /report answers with a gzip'd body sent chunked (Transfer-Encoding:
chunked, Content-Encoding: gzip), the body holding GZIPPED-SECRET-7731: the
marker never appears on the wire in clear. Any other path answers 200 with a
short plain body.
"""
import gzip
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(sys.argv[1])


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/report":
            body = b"quarterly numbers\n" * 50 + b"token: GZIPPED-SECRET-7731\n" + b"end\n" * 20
            z = gzip.compress(body, mtime=0)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(z), 100):
                part = z[i:i + 100]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *a):
        pass


HTTPServer(("127.0.0.1", port), H).serve_forever()
