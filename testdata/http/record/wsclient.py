#!/usr/bin/python3
"""A WebSocket client on a raw socket: handshake, one masked text frame,
read the echo, close. Fixed key and masks, so the capture is stable.
Usage: wsclient.py PORT"""
import socket
import sys

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % int(sys.argv[1]))
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode())


def send(op, payload, mask=b"\x37\xfa\x21\x3d"):
    s.sendall(bytes([0x80 | op, 0x80 | len(payload)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))


msg = b"GET /not-http-inside-websocket HTTP/1.1\r\n\r\n"  # looks like HTTP, is not
send(1, msg)
b0, n = s.recv(2)
print(s.recv(n).decode())
send(8, b"")
print(s.recv(2))
s.close()
