#!/usr/bin/python3
"""Sends one HTTP request in two TCP segments, the marker SPLITMARKER-0451
cut in the middle: "GET /search?q=SPLITMA" then, 200 ms later,
"RKER-0451 HTTP/1.1 ...". TCP_NODELAY keeps the two writes apart.

usage: splitclient.py PORT
"""
import socket
import sys
import time

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b"GET /search?q=SPLITMA")
time.sleep(0.2)
s.sendall(b"RKER-0451 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
while s.recv(65536):
    pass
s.close()
