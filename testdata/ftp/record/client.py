#!/usr/bin/python3
"""Python ftplib client for the testdata/ftp/edge recording.

usage: client.py PORT TLS_PORT OUTDIR
Writes every file it receives to OUTDIR/<step>-<name> so the recording
script can check them against the originals. Each step prints one line.
"""
import ftplib
import io
import os
import socket
import sys
import time

port, tls_port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
H = "127.0.0.1"
_active = iter(range(61040, 61050))


class FTP(ftplib.FTP):
    """ftplib.FTP whose active-mode (PORT) listener takes a port from
    61040-61049, so that tcpdump's filter can name every port."""

    def makeport(self):
        sock = socket.create_server((H, next(_active)), backlog=1)
        self.sendport(H, sock.getsockname()[1])
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        return sock


def save(step, data):
    with open(os.path.join(out, step), "wb") as f:
        f.write(data)


def retr(ftp, step, cmd, rest=None):
    buf = io.BytesIO()
    resp = ftp.retrbinary(cmd, buf.write, rest=rest)
    save(step, buf.getvalue())
    print(step, cmd, resp, len(buf.getvalue()))


# 1. failed login, then a successful one on the same control connection
ftp = FTP()
ftp.connect(H, port, timeout=10)
try:
    ftp.login("mallory", "letmein")
except ftplib.error_perm as e:
    print("1 failed login:", e)
ftp.login("alice", "s3cret")
print("1 second login ok")
ftp.quit()

# 2. the main session (passive mode; the server announces 10.9.8.7)
ftp = FTP()
ftp.connect(H, port, timeout=10)
ftp.login("alice", "s3cret")
print("2 FEAT", ftp.sendcmd("FEAT").splitlines()[0])
print("2 HELP", ftp.sendcmd("HELP").splitlines()[0])
print("2 PWD", ftp.pwd())
ftp.voidcmd("TYPE I")
print("2 SIZE", ftp.sendcmd("SIZE blob.bin"))
retr(ftp, "2a-blob.bin", "RETR blob.bin")
retr(ftp, "2b-blob.bin", "RETR blob.bin")              # same name twice
retr(ftp, "2c-passwd", "RETR ../../etc/passwd")         # hostile name
retr(ftp, "2d-evil", "RETR /odd dir/evil<>:|?*.txt")    # absolute, odd characters
retr(ftp, "2e-long", "RETR " + "L" * 230 + ".txt")      # very long name
retr(ftp, "2f-con", "RETR CON.txt")                     # Windows device name
ftp.cwd("sub")
retr(ftp, "2g-notes.txt", "RETR notes.txt")             # relative to /sub
ftp.sendcmd("CDUP")
lines = []
ftp.retrlines("RETR text.txt", lines.append)            # TYPE A
save("2h-text.txt", ("\n".join(lines) + "\n").encode())
print("2h text.txt ascii", len(lines), "lines")
names = ftp.nlst()
print("2i NLST", len(names))
listing = []
ftp.retrlines("LIST", listing.append)
print("2j LIST", len(listing))
mlsd = []
ftp.retrlines("MLSD", mlsd.append)
print("2k MLSD", len(mlsd))
ftp.voidcmd("TYPE I")
retr(ftp, "2l-blob-rest", "RETR blob.bin", rest=1000)   # REST 1000
try:
    print("2m LPSV", ftp.sendcmd("LPSV"))
except ftplib.Error as e:
    print("2m LPSV refused:", e)
ftp.set_pasv(False)                                     # active mode: PORT
with open(os.path.join(out, "..", "orig", "up.bin"), "rb") as f:
    print("2n STOR", ftp.storbinary("STOR up.bin", f))
with open(os.path.join(out, "..", "orig", "evil-up.txt"), "rb") as f:
    print("2o STOR hostile", ftp.storbinary("STOR ../../../tmp/evil-up.txt", f))
retr(ftp, "2p-notes.txt", "RETR /sub/notes.txt")        # active download
ftp.set_pasv(True)
try:
    ftp.retrbinary("RETR missing.bin", lambda b: None)  # 550, data connection unused
except ftplib.error_perm as e:
    print("2q missing:", e)

# 3. aborted download (as ftplib does it: ABOR sent with MSG_OOB)
ftp.voidcmd("TYPE I")
dhost, dport = ftp.makepasv()
conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
conn.connect((dhost, dport))
resp = ftp.sendcmd("RETR big-abort.bin")
got = b""
while len(got) < 16384:
    chunk = conn.recv(4096)
    if not chunk:
        break
    got += chunk
time.sleep(0.3)
print("3 ABOR ->", ftp.abort())
conn.close()
try:
    print("3 after ABOR:", ftp.getresp())
except ftplib.Error as e:
    print("3 after ABOR:", e)
save("3-abort-prefix", got)
ftp.quit()

# 4. AUTH TLS: the rest of the session is encrypted
tls = ftplib.FTP_TLS()
tls.connect(H, tls_port, timeout=10)
tls.login("alice", "s3cret")    # AUTH TLS first, then USER/PASS inside TLS
tls.prot_p()
retr(tls, "4-blob-tls.bin", "RETR blob.bin")
tls.quit()
print("done")
