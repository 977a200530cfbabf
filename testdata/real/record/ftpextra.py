#!/usr/bin/python3
"""Python ftplib client for what curl/lftp cannot do: STOU and an aborted RETR.

usage: ftpextra.py HOST PORT USER PASS STOU_FILE ABORT_NAME PREFIX_OUT
  * STOU of STOU_FILE (server picks the name; printed as "STOU-NAME <name>")
  * RETR ABORT_NAME, read only a few KB, then ABOR (sent with MSG_OOB as
    ftplib does) -> the data connection is torn down mid-transfer.
    The bytes the client did read are written to PREFIX_OUT.
All on one control connection, passive mode (PASV on IPv4, EPSV on IPv6).
"""
import ftplib
import socket
import sys
import time

host, port, user, pw, stou_file, abort_name, prefix_out = sys.argv[1:8]
assert host in ("127.0.0.1", "::1"), "loopback only"

ftp = ftplib.FTP()
ftp.set_debuglevel(1)
ftp.connect(host, int(port), timeout=10)
ftp.login(user, pw)

with open(stou_file, "rb") as f:
    resp = ftp.storbinary("STOU", f)
print("STOU-RESPONSE", resp)

ftp.voidcmd("TYPE I")
# Open the passive data connection by hand so that a small receive buffer is
# set BEFORE connect(): the advertised window stays small, the server cannot
# push the whole file into socket buffers, and the RETR is really in
# progress when ABOR arrives.
dhost, dport = ftp.makepasv()
conn = socket.socket(ftp.af, socket.SOCK_STREAM)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
conn.connect((dhost, dport))
resp = ftp.sendcmd("RETR " + abort_name)
assert resp.startswith("1"), resp
got = b""
while len(got) < 16384:
    chunk = conn.recv(4096)
    if not chunk:
        break
    got += chunk
time.sleep(0.3)          # let the server fill the (small) receive window
print("ABOR ->", ftp.abort())
conn.close()
try:
    print("after ABOR:", ftp.getresp())
except ftplib.Error as e:
    print("after ABOR:", e)
with open(prefix_out, "wb") as f:
    f.write(got)
ftp.quit()
