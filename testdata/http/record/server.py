#!/usr/bin/python3
"""HTTP/1.1 server for the codings capture (python3 http.server).

GET /c/NAME?ce=CODING[&chunked=1]  serves files/NAME as coded by
                                    encode (see CODINGS), with that
                                    Content-Encoding, by Content-Length or
                                    chunked (1000-byte chunks).
GET /ws                             a WebSocket handshake (101), then
                                    echoes one text frame and closes.
Usage: server.py FILES_DIR PORT
"""
import base64
import hashlib
import http.server
import os
import sys
import urllib.parse

FILES, PORT = sys.argv[1], int(sys.argv[2])

# ce query value -> (file suffix, Content-Encoding header)
CODINGS = {
    "identity": ("", None),
    "gzip": (".gz", "gzip"),
    "deflate": (".zz", "deflate"),           # zlib-wrapped, RFC 9110
    "deflate-raw": (".deflate", "deflate"),  # raw RFC 1951, as many servers send
    "br": (".br", "br"),
    "zstd": (".zst", "zstd"),
    "gzip-br": (".gz.br", "gzip, br"),       # gzip, then brotli
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write('127.0.0.1 "%s" %s\n' % (self.requestline, args[1] if len(args) > 1 else ""))

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/ws":
            return self.websocket()
        q = urllib.parse.parse_qs(u.query)
        name = os.path.basename(u.path)
        suffix, ce = CODINGS[q.get("ce", ["identity"])[0]]
        body = open(os.path.join(FILES, name + suffix), "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream" if name.endswith(".bin") else "text/plain")
        if ce:
            self.send_header("Content-Encoding", ce)
        chunked = q.get("chunked") == ["1"]
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 1000):
                part = body[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            op, data = read_frame(self.rfile)
            if op == 8:  # close: answer it
                self.wfile.write(b"\x88\x00")
                break
            reply = b"echo: " + data
            self.wfile.write(bytes([0x81, len(reply)]) + reply)
            self.wfile.flush()
        self.close_connection = True


def read_frame(f):
    b0, b1 = f.read(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(f.read(2), "big")
    mask = f.read(4) if b1 & 0x80 else b"\0\0\0\0"
    data = bytes(c ^ mask[i % 4] for i, c in enumerate(f.read(n)))
    return b0 & 0x0F, data


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
