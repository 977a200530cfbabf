"""Deterministic text, JSON, PNG and PDF originals (fixed seeds)."""
import json
import os
import random
import struct
import sys
import zlib

os.chdir(sys.argv[1])

WORDS = ("packet stream segment window ack syn fin reset carve file transfer "
         "passive active listing server client loopback capture forensic "
         "offset length chunk gzip header body request response port").split()


def text(seed, size, width=72):
    rnd = random.Random(seed)
    out, line = [], []
    total = 0
    while total < size:
        w = rnd.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > width:
            s = " ".join(line) + "\n"
            out.append(s)
            total += len(s)
            line = []
        line.append(w)
    data = "".join(out).encode()[:size]
    return data[:-1] + b"\n"


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


write("readme.txt", b"streamx ground-truth capture\n"
      b"This small text file is fetched with RETR / GET in the loopback captures.\n"
      b"Line three: the quick brown fox jumps over the lazy dog.\n"
      b"\xc3\xa9t\xc3\xa9 -- a little UTF-8 never hurts.\n" * 4)
write("lorem.txt", text(1, 20000))
write("notes.txt", text(2, 1500))
write("appe-base.txt", text(3, 700))
write("appe-part.txt", text(4, 300))
write("up-multipart.txt", text(5, 2500))
write("scratch.txt", b"scratch file, stored then deleted (DELE)\n")
write("v6-notes.txt", text(6, 3000))
write("vs-readme.txt", text(7, 2000))
write("pipe-a.txt", text(8, 600))

rnd = random.Random(42)
records = [{"id": i, "name": rnd.choice(WORDS) + "-" + str(i),
            "size": rnd.randrange(1, 1 << 20),
            "tags": rnd.sample(WORDS, 3),
            "ok": rnd.random() < 0.8} for i in range(80)]
write("data.json", (json.dumps({"records": records}, indent=1) + "\n").encode())
write("pipe-b.json", (json.dumps(records[:10]) + "\n").encode())


def png(w, h, seed):
    rnd = random.Random(seed)
    raw = b""
    for y in range(h):
        raw += b"\x00" + bytes(v for x in range(w) for v in (
            (x * 255) // w, (y * 255) // h, rnd.randrange(256) if (x ^ y) & 8 else 128))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


write("image.png", png(48, 48, 7))


def pdf(msg):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            None,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    stream = b"BT /F1 18 Tf 30 70 Td (" + msg + b") Tj ET"
    objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


write("doc.pdf", pdf(b"Hello from streamx"))
