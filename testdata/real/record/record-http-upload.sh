#!/bin/bash
# Record testdata/real/http-python-upload: record/uploadserver.py (python3
# http.server) on 127.0.0.1:8000; curl uploads (multipart, PUT, urlencoded
# form, chunked request body) and a raw-socket pipelining client.  Run as root.
. "$(dirname "$0")/lib.sh"
init_case http-python-upload
make_originals

H=127.0.0.1
P=8000
U=http://$H:$P
FILES=$WORK/files
STORE=$WORK/store
CL=$WORK/client
mkdir -p "$FILES" "$STORE" "$CL"
cp -p "$ORIG"/{pipe-a.txt,pipe-b.json,image.png} "$FILES/"
printf 'name=alice&comment=hello+world%%21+%%C3%%A9t%%C3%%A9&n=42' >"$WORK/form.txt"

{ versions python3 curl tcpdump tshark; echo "python $($PY -V 2>&1 | cut -d' ' -f2) (/usr/bin/python3, http.server)"; } >"$WORK/versions.txt"

bg httpd $PY "$REC_DIR/uploadserver.py" $H $P "$FILES" "$STORE"
wait_port $H $P
capture_start "tcp port $P"

note "1. multipart/form-data POST with two files and a plain field (curl 7.88 sends no Expect header for multipart)"
run curl -sS -F "a=@$ORIG/up-multipart.txt;type=text/plain" -F "b=@$ORIG/up-multipart.bin" -F note=two-files "$U/upload" -o "$CL/r1.txt"

note "2. PUT of a file (Content-Length, Expect: 100-continue)"
run curl -sS -T "$ORIG/up-put.bin" "$U/put/up-put.bin" -o "$CL/r2.txt"

note "3. POST of an urlencoded form (application/x-www-form-urlencoded, no file)"
run curl -sS --data-binary "@$WORK/form.txt" "$U/form" -o "$CL/r3.txt"

note "4. POST with a chunked request body (Transfer-Encoding: chunked, no Content-Length)"
run curl -sS -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' --data-binary "@$ORIG/notes.txt" "$U/chunked" -o "$CL/r4.txt"

note "5. three pipelined GETs written in one send() on one connection (record/pipeline.py)"
run $PY "$REC_DIR/pipeline.py" $H $P "$CL/pipe.raw" /files/pipe-a.txt /files/pipe-b.json /files/image.png

capture_stop
stop httpd TERM

# the server stored what it received; check the payloads against the originals
ls "$STORE" >"$WORK/stored.txt"
mp=$STORE/$(grep -- '-POST-upload.body$' "$WORK/stored.txt")
grep -qF -- "$(head -c 200 "$ORIG/up-multipart.txt")" "$mp"
$PY - "$mp" "$ORIG/up-multipart.txt" "$ORIG/up-multipart.bin" <<'PYEOF'
import sys
body, a, b = (open(p, "rb").read() for p in sys.argv[1:4])
assert body.count(a) == 1 and body.count(b) == 1, "multipart parts not found verbatim"
PYEOF
same "$ORIG/up-put.bin" "$STORE/$(grep -- '-PUT-up-put.bin.body$' "$WORK/stored.txt")"
same "$WORK/form.txt" "$STORE/$(grep -- '-POST-form.body$' "$WORK/stored.txt")"
same "$ORIG/notes.txt" "$STORE/$(grep -- '-POST-chunked.body$' "$WORK/stored.txt")"
same "$ORIG/pipe-a.txt" "$CL/pipe.raw.0"
same "$ORIG/pipe-b.json" "$CL/pipe.raw.1"
same "$ORIG/image.png" "$CL/pipe.raw.2"

expect http POST c2s "$U/upload" "$ORIG/up-multipart.txt"
expect http POST c2s "$U/upload" "$ORIG/up-multipart.bin"
expect http PUT c2s "$U/put/up-put.bin" "$ORIG/up-put.bin"
expect http POST c2s "$U/form" "$WORK/form.txt"
expect http POST c2s "$U/chunked" "$ORIG/notes.txt"
expect http GET s2c "$U/files/pipe-a.txt" "$ORIG/pipe-a.txt"
expect http GET s2c "$U/files/pipe-b.json" "$ORIG/pipe-b.json"
expect http GET s2c "$U/files/image.png" "$ORIG/image.png"
finish_expected

{
	echo "- Multipart POST /upload: the rows are the two file parts (field \`a\`: up-multipart.txt,"
	echo "  text/plain; field \`b\`: up-multipart.bin, application/octet-stream); the form also has a"
	echo "  plain field \`note=two-files\`. The whole request body (curl's random boundary) as the"
	echo "  server stored it: $(size "$mp") bytes, sha256 $(sha "$mp")."
	echo "- POST /form: the row is the urlencoded body itself: \`$(cat "$WORK/form.txt")\`."
	echo "- POST /chunked: the row is the de-chunked request body (notes.txt); on the wire it is"
	echo "  chunked by curl."
	echo "- Every upload gets a one-line text/plain response (not in expected.tsv), e.g.:"
	echo
	echo '```'
	cat "$CL"/r[1-4].txt
	echo '```'
	echo
	echo "- Pipelining: the three GET requests are in a single TCP segment; the server answers them"
	echo "  in order on the same connection and closes it after the third (Connection: close)."
	echo "  Status lines seen by the client:"
	echo
	echo '```'
	grep -a '^HTTP/1' "$CL/pipe.raw" | tr -d '\r'
	echo '```'
	echo
	echo "- Server log (stderr of uploadserver.py):"
	echo
	echo '```'
	sed 's/ - - \[[^]]*\]//' "$WORK/log/httpd.err"
	echo '```'
} >>"$WORK/notes.md"

write_readme "http-python-upload: python3 http.server on 127.0.0.1:8000, curl uploads and pipelined GETs" \
	http <"$REC_DIR/desc/http-python-upload.md"
echo "done: $OUT"
