#!/bin/bash
# Records capture.pcap on loopback: see README.md. Needs root (tcpdump),
# /usr/bin/python3 with python3-pyftpdlib, curl. Traffic only to 127.0.0.1.
set -euo pipefail
export LC_ALL=C TZ=UTC
HERE=$(cd "$(dirname "$0")" && pwd)
REC=$HERE/../../real/record
WORK=$(mktemp -d /tmp/streamx-grep-rec.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
HTTP_PORT=18481 FTP_PORT=18421

mkdir -p "$WORK/ftp" && echo "hello over ftp" >"$WORK/ftp/hello.txt"
/usr/bin/python3 "$HERE/gzipserver.py" $HTTP_PORT & PIDS+=($!)
/usr/bin/python3 "$REC/ftpserver.py" 127.0.0.1 $FTP_PORT "$WORK/ftp" 18430 18439 >"$WORK/ftp.log" 2>&1 & PIDS+=($!)
sleep 1
tcpdump -i lo -s 0 -U -w "$WORK/capture.pcap" "tcp and host 127.0.0.1 and (port $HTTP_PORT or port $FTP_PORT or portrange 18430-18439)" 2>"$WORK/tcpdump.log" & TPID=$!
sleep 1
/usr/bin/python3 "$HERE/splitclient.py" $HTTP_PORT
curl -s --compressed -o /dev/null "http://127.0.0.1:$HTTP_PORT/report"
curl -s -o /dev/null "ftp://alice:s3cret@127.0.0.1:$FTP_PORT/hello.txt"
sleep 1
kill -INT $TPID; wait $TPID || true
cp "$WORK/capture.pcap" "$HERE/capture.pcap"
echo "wrote $HERE/capture.pcap"
