#!/usr/bin/python3
"""streams.py PCAP OUTDIR: dump the payload of every TCP connection, per direction.

Uses `tshark -z follow,tcp,raw,N` (tshark does the reassembly).  Writes
OUTDIR/<N>_<A>_<B>.bin for the bytes A sent to B, where A:port / B:port are the
two endpoints (A = the side that sent the first captured packet), and prints
one line per file:  N  A  B  size  sha256
"""
import hashlib
import os
import subprocess
import sys

pcap, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
ids = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.stream"],
                     capture_output=True, text=True, check=True).stdout.split()
ids = sorted({int(i) for i in ids if i})
args = ["tshark", "-r", pcap, "-q"]
for i in ids:
    args += ["-z", "follow,tcp,raw,%d" % i]
text = subprocess.run(args, capture_output=True, text=True, check=True).stdout

blocks = text.split("===================================================================\nFollow: tcp,raw\n")
for blk in blocks[1:]:
    lines = blk.split("\n")
    filt = lines[0]                       # "Filter: tcp.stream eq N"
    n = int(filt.split()[-1])
    node0 = lines[1].split(": ", 1)[1].strip()
    node1 = lines[2].split(": ", 1)[1].strip()
    data = [bytearray(), bytearray()]
    for ln in lines[3:]:
        if ln.startswith("=" * 10):
            break
        if not ln.strip():
            continue
        side = 1 if ln.startswith("\t") else 0
        data[side] += bytes.fromhex(ln.strip())
    for side, (a, b) in enumerate(((node0, node1), (node1, node0))):
        name = "%d_%s_%s.bin" % (n, a.replace(":", "-").replace("[", "").replace("]", ""),
                                  b.replace(":", "-").replace("[", "").replace("]", ""))
        with open(os.path.join(out, name), "wb") as f:
            f.write(data[side])
        print("%d\t%s\t%s\t%d\t%s" % (n, a, b, len(data[side]), hashlib.sha256(data[side]).hexdigest()))
