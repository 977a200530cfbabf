#!/usr/bin/python3
"""Loopback pyftpdlib server used by the FTP recordings.

usage: ftpserver.py HOST PORT ROOT PASV_LO PASV_HI
One user: alice / s3cret, full permissions on ROOT.  Run with Debian's
/usr/bin/python3 (python3-pyftpdlib).

Only deviation from a stock pyftpdlib server: data sockets get a fixed
SO_SNDBUF of 32 KiB.  Without it Linux auto-tunes the loopback send buffer to
megabytes, the server hands a whole file to the kernel at once and logs it as
"completed" even when the client aborts after a few KB, so ABOR could never
interrupt a transfer that is still in progress.
"""
import logging
import socket
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

host, port, root, lo, hi = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
assert host in ("127.0.0.1", "::1"), "loopback only"

auth = DummyAuthorizer()
auth.add_user("alice", "s3cret", root, perm="elradfmwMT")

class SmallBufDTP(DTPHandler):
    def __init__(self, sock, cmd_channel):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
        super().__init__(sock, cmd_channel)


handler = FTPHandler
handler.dtp_handler = SmallBufDTP
handler.authorizer = auth
handler.banner = "streamx test server (pyftpdlib) ready."
handler.passive_ports = range(lo, hi + 1)
handler.permit_foreign_addresses = False
handler.auth_failed_timeout = 0.2     # default 3 s delay after a bad password

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(message)s")
server = FTPServer((host, port), handler)
server.serve_forever(timeout=0.5)
