#!/bin/bash
# Records testdata/ftp/edge/capture.pcap: real pyftpdlib servers and the
# python ftplib client (client.py) on 127.0.0.1, captured by tcpdump on lo.
# Run as root from anywhere: testdata/ftp/record/record.sh
# Writes edge/capture.pcap and edge/expected.tsv (hashes of the originals,
# or of the bytes the client received where the wire form differs).
set -euo pipefail
export LC_ALL=C TZ=UTC
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/../edge
PY=/usr/bin/python3
PORT=2131 TLS_PORT=2132
WORK=$(mktemp -d /tmp/streamx-ftp-edge.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$OUT" "$WORK/root/sub" "$WORK/root/etc" "$WORK/root/odd dir" "$WORK/root/tmp" "$WORK/orig" "$WORK/client"

# Originals: deterministic pseudo-random bytes and text.
$PY - "$WORK" <<'PYEOF'
import os, random, sys
w = sys.argv[1]
rnd = random.Random(20240301)
def put(rel, data):
    with open(os.path.join(w, rel), "wb") as f:
        f.write(data)
put("root/blob.bin", bytes(rnd.getrandbits(8) for _ in range(24576)))
put("root/big-abort.bin", bytes(rnd.getrandbits(8) for _ in range(524288)))
put("root/etc/passwd", b"root:x:0:0:not the real one:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
put("root/odd dir/evil<>:|?*.txt", b"odd characters in the name\n")
put("root/" + "L" * 230 + ".txt", b"a very long name\n")
put("root/CON.txt", b"a Windows device name\n")
put("root/sub/notes.txt", b"".join(b"note %04d: the quick brown fox\n" % i for i in range(200)))
put("root/text.txt", b"".join(b"line %d of an ASCII-mode transfer\n" % i for i in range(100)))
put("orig/up.bin", bytes(rnd.getrandbits(8) for _ in range(20000)))
put("orig/evil-up.txt", b"uploaded under a hostile name\n")
PYEOF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/cert.pem" -out "$WORK/cert.pem.crt" \
	-days 2 -subj /CN=localhost 2>/dev/null
cat "$WORK/cert.pem.crt" >>"$WORK/cert.pem"

$PY "$HERE/server.py" $PORT "$WORK/root" 61000 61019 >"$WORK/server.log" 2>&1 & PIDS+=($!)
$PY "$HERE/server.py" $TLS_PORT "$WORK/root" 61020 61039 "$WORK/cert.pem" >"$WORK/server-tls.log" 2>&1 & PIDS+=($!)
sleep 1
tcpdump -i lo -s 0 -U --immediate-mode -n -Z root -w "$WORK/capture.pcap" \
	"host 127.0.0.1 and tcp and (port $PORT or port $TLS_PORT or portrange 61000-61049)" \
	2>"$WORK/tcpdump.err" & TCPDUMP=$!
sleep 1
$PY "$HERE/client.py" $PORT $TLS_PORT "$WORK/client" | tee "$WORK/client.log"
sleep 1.5
kill -INT $TCPDUMP; wait $TCPDUMP || true
cat "$WORK/tcpdump.err" >&2

# The client's copies must equal the originals (sanity check of the run).
cmp "$WORK/client/2a-blob.bin" "$WORK/root/blob.bin"
cmp "$WORK/client/2c-passwd" "$WORK/root/etc/passwd"
cmp "$WORK/client/2g-notes.txt" "$WORK/root/sub/notes.txt"
cmp "$WORK/root/up.bin" "$WORK/orig/up.bin"
cmp "$WORK/root/tmp/evil-up.txt" "$WORK/orig/evil-up.txt"
cmp "$WORK/client/4-blob-tls.bin" "$WORK/root/blob.bin"

cp "$WORK/capture.pcap" "$OUT/capture.pcap"
sha() { sha256sum "$1" | cut -d' ' -f1; }
row() { printf 'ftp\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(stat -c %s "$4")" "$(sha "$4")" "$5"; }
L=$(printf 'L%.0s' $(seq 1 230)).txt
# The ASCII-mode transfer carries CRLF line ends: hash the wire form.
sed 's/$/\r/' "$WORK/root/text.txt" >"$WORK/text-crlf.txt"
tail -c +1001 "$WORK/root/blob.bin" >"$WORK/blob-from-1000.bin"
{
	row RETR s2c /blob.bin "$WORK/root/blob.bin" file
	row RETR s2c /blob.bin "$WORK/root/blob.bin" file
	row RETR s2c /etc/passwd "$WORK/root/etc/passwd" file
	row RETR s2c "/odd dir/evil<>:|?*.txt" "$WORK/root/odd dir/evil<>:|?*.txt" file
	row RETR s2c "/$L" "$WORK/root/$L" file
	row RETR s2c /CON.txt "$WORK/root/CON.txt" file
	row RETR s2c /sub/notes.txt "$WORK/root/sub/notes.txt" file
	row RETR s2c /text.txt "$WORK/text-crlf.txt" ascii
	row RETR s2c /blob.bin "$WORK/blob-from-1000.bin" rest
	row STOR c2s /up.bin "$WORK/orig/up.bin" file
	row STOR c2s /tmp/evil-up.txt "$WORK/orig/evil-up.txt" file
	row RETR s2c /sub/notes.txt "$WORK/root/sub/notes.txt" file
	row RETR s2c /big-abort.bin "$WORK/root/big-abort.bin" truncated
} >"$OUT/expected.tsv"
cp "$WORK/client.log" "$OUT/client.log"
sed -E 's/^[0-9-]+ [0-9:,]+ //' "$WORK/server.log" >"$OUT/server.log"
echo "wrote $OUT"
