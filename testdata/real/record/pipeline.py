#!/usr/bin/python3
"""pipeline.py HOST PORT OUT PATH... -- HTTP/1.1 pipelining with a raw socket.

All GET requests are written with ONE sendall() before any response is read
(the last one carries "Connection: close"); the raw response stream is read
until EOF and saved to OUT; each response body is saved to OUT.<i>.
"""
import socket
import sys

host, port, out, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
assert host in ("127.0.0.1", "::1"), "loopback only"
req = b""
for i, p in enumerate(paths):
    req += b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: streamx-pipeline/1.0\r\n" % (p.encode(), host.encode(), port)
    if i == len(paths) - 1:
        req += b"Connection: close\r\n"
    req += b"\r\n"
s = socket.create_connection((host, port))
s.sendall(req)
raw = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    raw += b
s.close()
with open(out, "wb") as f:
    f.write(raw)
rest = raw
for i in range(len(paths)):
    head, rest = rest.split(b"\r\n\r\n", 1)
    n = int([l.split(b":", 1)[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    with open("%s.%d" % (out, i), "wb") as f:
        f.write(rest[:n])
    print(head.split(b"\r\n")[0].decode(), paths[i], n)
    rest = rest[n:]
assert rest == b"", rest
