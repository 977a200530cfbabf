#!/usr/bin/python3
"""Loopback pyftpdlib server for the testdata/ftp recordings.

usage: server.py PORT ROOT PASV_LO PASV_HI [CERTFILE]
  127.0.0.1 only. One user alice/s3cret with full permissions on ROOT.
  The passive replies announce 10.9.8.7 (masquerade_address), not
  127.0.0.1: a server behind NAT. Clients must ignore the announced
  address (python ftplib does by default, curl with --ftp-skip-pasv-ip).
  With CERTFILE the server is pyftpdlib's TLS_FTPHandler (AUTH TLS).
  Data sockets get SO_SNDBUF 32 KiB so that an ABOR really interrupts a
  transfer in progress (Linux otherwise auto-tunes loopback buffers to MBs).
"""
import logging
import socket
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

port, root, lo, hi = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cert = sys.argv[5] if len(sys.argv) > 5 else None

auth = DummyAuthorizer()
auth.add_user("alice", "s3cret", root, perm="elradfmwMT")


class SmallBufDTP(DTPHandler):
    def __init__(self, sock, cmd_channel):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
        super().__init__(sock, cmd_channel)


if cert:
    from pyftpdlib.handlers import TLS_FTPHandler, TLS_DTPHandler
    handler = TLS_FTPHandler
    handler.certfile = cert
    handler.tls_control_required = False
    handler.tls_data_required = False
else:
    handler = FTPHandler
    handler.dtp_handler = SmallBufDTP
handler.authorizer = auth
handler.banner = "streamx edge-case server (pyftpdlib) ready."
handler.passive_ports = range(lo, hi + 1)
handler.masquerade_address = "10.9.8.7"
handler.permit_foreign_addresses = False
handler.auth_failed_timeout = 0.1

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
server = FTPServer(("127.0.0.1", port), handler)
server.serve_forever(timeout=0.5)
