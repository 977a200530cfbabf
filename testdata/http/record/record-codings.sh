#!/bin/bash
# Records testdata/http/codings-upgrade-connect/: real curl against a
# python3 http.server on 127.0.0.1:8093 serving bodies coded gzip, deflate
# (zlib and raw), br, zstd and "gzip, br"; curl through a CONNECT proxy on
# 127.0.0.1:8094; a WebSocket upgrade; a request carrying "Upgrade: h2c"
# that the server ignores. Traffic to 127.0.0.1 only; tcpdump on lo.
#
# Run from the repository root as root:  testdata/http/record/record-codings.sh
set -euo pipefail
export LC_ALL=C TZ=UTC
REC=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$REC/../../.." && pwd)
OUT=$ROOT/testdata/http/codings-upgrade-connect
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/streamx-rec-codings.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$OUT" "$WORK/files" "$WORK/client"

# Originals, deterministic: text and JSON from a seeded generator, binary
# from SHA-256 in counter mode.
$PY - "$WORK/files" <<'PYEOF'
import hashlib, json, random, sys
d = sys.argv[1]
r = random.Random(4)
words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore".split()
text = "\n".join(" ".join(r.choice(words) for _ in range(12)) for _ in range(900)) + "\n"
open(d + "/story.txt", "w").write(text)
open(d + "/records.json", "w").write(json.dumps([{"id": i, "name": r.choice(words), "score": r.random()} for i in range(250)], indent=1))
open(d + "/blob.bin", "wb").write(b"".join(hashlib.sha256(b"blob%d" % i).digest() for i in range(1000)))
PYEOF
(cd "$ROOT" && go run ./testdata/http/record/encode "$WORK"/files/story.txt "$WORK"/files/records.json "$WORK"/files/blob.bin)

$PY "$REC/server.py" "$WORK/files" 8093 2>"$WORK/server.log" & PIDS+=($!)
$PY "$REC/proxy.py" 8094 2>"$WORK/proxy.log" & PIDS+=($!)
sleep 1
tcpdump -i lo -s 0 -U -w "$WORK/capture.pcap" 'tcp port 8093 or tcp port 8094' 2>"$WORK/tcpdump.log" & TCPDUMP=$!
sleep 1

U=http://127.0.0.1:8093/c
C="$WORK/client"
: >"$WORK/commands.log"
run() { printf '$ %s\n' "$*" >>"$WORK/commands.log"; "$@"; }
# 1. one keep-alive connection, every coding, Content-Length (curl --compressed decodes)
run curl -sS --compressed "$U/story.txt?ce=gzip" -o "$C/1-gzip" "$U/story.txt?ce=deflate" -o "$C/1-deflate" \
	"$U/story.txt?ce=deflate-raw" -o "$C/1-deflate-raw" "$U/story.txt?ce=br" -o "$C/1-br" \
	"$U/story.txt?ce=zstd" -o "$C/1-zstd" "$U/story.txt?ce=gzip-br" -o "$C/1-gzip-br"
# 2. chunked and coded: JSON as br, binary as zstd
run curl -sS --compressed "$U/records.json?ce=br&chunked=1" -o "$C/2-br" "$U/blob.bin?ce=zstd&chunked=1" -o "$C/2-zstd"
# 3. through a CONNECT tunnel (plain HTTP inside it)
run curl -sS -p -x http://127.0.0.1:8094 "$U/records.json?ce=identity" -o "$C/3-tunnel"
# 4. a WebSocket upgrade (101), then frames
run $PY "$REC/wsclient.py" 8093 >"$C/4-ws.txt"
# 5. curl asks for h2c ("Upgrade: h2c"); the server ignores it and answers HTTP/1.1
run curl -sS --http2 "$U/blob.bin?ce=identity" -o "$C/5-h2c"
sleep 1
kill "$TCPDUMP"; wait "$TCPDUMP" || true

# Every curl output must be the original: curl's decoders (zlib, libbrotli,
# libzstd) agree with the coded bytes on the wire.
check() { cmp -s "$1" "$WORK/files/$2" || { echo "curl output $1 differs from $2" >&2; exit 1; }; }
for c in gzip deflate deflate-raw br zstd gzip-br; do check "$C/1-$c" story.txt; done
check "$C/2-br" records.json; check "$C/2-zstd" blob.bin; check "$C/3-tunnel" records.json; check "$C/5-h2c" blob.bin

cp "$WORK/capture.pcap" "$OUT/capture.pcap"
sha() { sha256sum "$WORK/files/$1" | cut -d' ' -f1; }
size() { stat -c %s "$WORK/files/$1"; }
{
	for c in gzip deflate deflate-raw br zstd gzip-br; do
		printf 'http\tGET\ts2c\t%s\t%s\t%s\tfile\n' "$U/story.txt?ce=$c" "$(size story.txt)" "$(sha story.txt)"
	done
	printf 'http\tGET\ts2c\t%s\t%s\t%s\tfile\n' "$U/records.json?ce=br&chunked=1" "$(size records.json)" "$(sha records.json)"
	printf 'http\tGET\ts2c\t%s\t%s\t%s\tfile\n' "$U/blob.bin?ce=zstd&chunked=1" "$(size blob.bin)" "$(sha blob.bin)"
	printf 'http\tGET\ts2c\t%s\t%s\t%s\tfile\n' "$U/records.json?ce=identity" "$(size records.json)" "$(sha records.json)"
	printf 'http\tGET\ts2c\t%s\t%s\t%s\tfile\n' "$U/blob.bin?ce=identity" "$(size blob.bin)" "$(sha blob.bin)"
} >"$OUT/expected.tsv"
{
	cat "$REC/codings.md"
	echo; echo 'Commands (the work directory is a temporary one):'; echo
	echo '```'; sed "s|$WORK|\$WORK|g" "$WORK/commands.log"; echo '```'
	echo; echo 'Server log:'; echo; echo '```'; cat "$WORK/server.log" "$WORK/proxy.log"; echo '```'
	echo; echo 'WebSocket client output:'; echo; echo '```'; cat "$C/4-ws.txt"; echo '```'
	echo; echo 'Coded sizes on the wire (bytes):'; echo; echo '```'; (cd "$WORK/files" && ls -l | awk 'NR>1 {print $5, $9}'); echo '```'
	echo; echo 'Tool versions:'; echo; echo '```'
	dpkg-query -W -f '${Package} ${Version}\n' curl tcpdump python3 2>/dev/null; echo '```'
	echo; echo 'tshark -q -z conv,tcp:'; echo; echo '```'; tshark -n -q -r "$OUT/capture.pcap" -z conv,tcp 2>/dev/null | sed -n '/TCP Conv/,$p'; echo '```'
} >"$OUT/README.md"
echo "wrote $OUT"
