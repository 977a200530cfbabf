#!/bin/bash
# Record testdata/real/http-nginx: nginx (private config, gzip on) on
# 127.0.0.1:8081, clients curl and wget.  Run as root (tcpdump on lo).
. "$(dirname "$0")/lib.sh"
init_case http-nginx
make_originals

H=127.0.0.1
P=8081
U=http://$H:$P
WWW=$WORK/www
CL=$WORK/client
NG=$WORK/nginx
mkdir -p "$WWW/private" "$CL" "$NG/tmp" "$NG/logs"
cp -p "$ORIG"/{lorem.txt,data.json,image.png,blob-60k.bin,doc.pdf,notes.txt} "$WWW/"
cp -p "$ORIG/readme.txt" "$WWW/private/secret.txt"
touch -d '2024-03-01 12:00:00 UTC' "$WWW/private" "$WWW"
# fixed salt -> reproducible htpasswd line (user bob, password hunter2)
printf 'bob:%s\n' "$(openssl passwd -apr1 -salt streamx1 hunter2)" >"$NG/htpasswd"

cat >"$NG/nginx.conf" <<CONF
# private nginx: foreground, single process, everything under $NG
daemon off;
master_process off;
pid $NG/nginx.pid;
error_log $NG/logs/error.log info;
events { worker_connections 64; }
http {
    types {
        text/html html; text/plain txt; application/json json;
        image/png png; application/pdf pdf; application/octet-stream bin;
    }
    default_type application/octet-stream;
    access_log $NG/logs/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    keepalive_timeout 10;
    server_tokens on;

    gzip on;
    gzip_types text/plain application/json;
    gzip_min_length 20;
    gzip_http_version 1.0;   # also compress for HTTP/1.0 clients (close-delimited body)

    server {
        listen $H:$P;
        server_name localhost;
        root $WWW;
        location = /empty { return 204; }
        location /private/ {
            auth_basic "streamx private";
            auth_basic_user_file $NG/htpasswd;
        }
    }
}
CONF

{ versions nginx-light nginx-common curl wget tcpdump tshark; } >"$WORK/versions.txt"

bg nginx nginx -p "$NG" -e "$NG/logs/error.log" -c "$NG/nginx.conf"
wait_port $H $P
capture_start "tcp port $P"

note "1. keep-alive: four objects on one connection; text/plain and JSON come back gzip'd + chunked"
run curl -sS --compressed -D "$CL/h1.txt" "$U/lorem.txt" -o "$CL/lorem.txt" "$U/data.json" -o "$CL/data.json" \
	"$U/image.png" -o "$CL/image.png" "$U/blob-60k.bin" -o "$CL/blob-60k.bin"

note "2. HEAD"
run curl -sS -I "$U/doc.pdf" -o "$CL/head-doc.txt"
etag=$(sed -n 's/^ETag: \(.*\)\r$/\1/Ip' "$CL/head-doc.txt")
lastmod=$(sed -n 's/^Last-Modified: \(.*\)\r$/\1/Ip' "$CL/head-doc.txt")

note "3. conditional GETs -> 304 (If-None-Match with the ETag from the HEAD, then If-Modified-Since via curl -z)"
run curl -sS -H "If-None-Match: $etag" "$U/doc.pdf" -o "$CL/304a.bin" -w '%{http_code}\n'
run curl -sS -z "$lastmod" "$U/image.png" -o "$CL/304b.bin" -w '%{http_code}\n'

note "4. 404 and 204"
run curl -sS "$U/missing.txt" -o "$CL/404.html" -w '%{http_code}\n'
run curl -sS "$U/empty" -o "$CL/204.bin" -w '%{http_code}\n'

note "5. range requests, two connections"
run curl -sS -r 0-999 "$U/blob-60k.bin" -o "$CL/range-a.bin" -w '%{http_code}\n'
run curl -sS -r 1000- "$U/blob-60k.bin" -o "$CL/range-b.bin" -w '%{http_code}\n'

note "6. Basic auth: wrong password (401), then right password (200)"
run curl -sS -u bob:wrong "$U/private/secret.txt" -o "$CL/401.html" -w '%{http_code}\n'
run curl -sS -u bob:hunter2 "$U/private/secret.txt" -o "$CL/secret.txt" -w '%{http_code}\n'

note "7. wget"
run wget -q -O "$CL/doc-wget.pdf" "$U/doc.pdf"

note "8. HTTP/1.0 request with gzip: no Content-Length, no chunking, body ends at FIN"
run curl -sS -0 --compressed "$U/notes.txt" -o "$CL/notes.txt" -w '%{http_code}\n'

capture_stop
stop nginx TERM

for f in lorem.txt data.json image.png blob-60k.bin notes.txt; do same "$ORIG/$f" "$CL/$f"; done
same "$ORIG/readme.txt" "$CL/secret.txt"
same "$ORIG/doc.pdf" "$CL/doc-wget.pdf"
head -c 1000 "$ORIG/blob-60k.bin" >"$WORK/slice-a.bin"
tail -c +1001 "$ORIG/blob-60k.bin" >"$WORK/slice-b.bin"
same "$WORK/slice-a.bin" "$CL/range-a.bin"
same "$WORK/slice-b.bin" "$CL/range-b.bin"
[ ! -s "$CL/304a.bin" ] && [ ! -s "$CL/304b.bin" ] && [ ! -s "$CL/204.bin" ]

expect http GET s2c "$U/lorem.txt" "$ORIG/lorem.txt"
expect http GET s2c "$U/data.json" "$ORIG/data.json"
expect http GET s2c "$U/image.png" "$ORIG/image.png"
expect http GET s2c "$U/blob-60k.bin" "$ORIG/blob-60k.bin"
expect http GET s2c "$U/blob-60k.bin" "$WORK/slice-a.bin"
expect http GET s2c "$U/blob-60k.bin" "$WORK/slice-b.bin"
expect http GET s2c "$U/private/secret.txt" "$ORIG/readme.txt"
expect http GET s2c "$U/doc.pdf" "$ORIG/doc.pdf"
expect http GET s2c "$U/notes.txt" "$ORIG/notes.txt"
finish_expected

{
	echo "- Responses in expected.tsv (all 200 unless noted; bodies are the decoded payload):"
	echo
	echo "  | URL | status | on the wire |"
	echo "  |---|---|---|"
	echo "  | /lorem.txt | 200 | Content-Encoding: gzip, Transfer-Encoding: chunked (keep-alive, 1st on conn) |"
	echo "  | /data.json | 200 | gzip + chunked (same connection) |"
	echo "  | /image.png | 200 | Content-Length (same connection) |"
	echo "  | /blob-60k.bin | 200 | Content-Length (same connection) |"
	echo "  | /blob-60k.bin | 206 | Content-Range: bytes 0-999/61440 -- the row's hash is of that slice |"
	echo "  | /blob-60k.bin | 206 | Content-Range: bytes 1000-61439/61440 -- slice, own connection |"
	echo "  | /private/secret.txt | 200 | Basic auth bob:hunter2; identity (curl sent no Accept-Encoding) |"
	echo "  | /doc.pdf | 200 | wget, Content-Length |"
	echo "  | /notes.txt | 200 | HTTP/1.0 request; gzip, neither Content-Length nor chunked: body ends with the server's FIN |"
	echo
	echo "- Responses NOT in expected.tsv (no payload, or an error page generated by nginx):"
	echo
	echo "  | request | status | body |"
	echo "  |---|---|---|"
	echo "  | HEAD /doc.pdf | 200 | none (Content-Length: $(size "$ORIG/doc.pdf") announced) |"
	echo "  | GET /doc.pdf, If-None-Match: $etag | 304 | none |"
	echo "  | GET /image.png, If-Modified-Since: $lastmod | 304 | none |"
	echo "  | GET /missing.txt | 404 | nginx error page, $(size "$CL/404.html") bytes, sha256 $(sha "$CL/404.html") |"
	echo "  | GET /empty | 204 | none |"
	echo "  | GET /private/secret.txt as bob:wrong | 401 | nginx error page, $(size "$CL/401.html") bytes, sha256 $(sha "$CL/401.html") |"
	echo
	echo "- Response headers of the keep-alive connection (curl -D):"
	echo
	echo '```'
	tr -d '\r' <"$CL/h1.txt"
	echo '```'
	echo
	echo "- nginx access log:"
	echo
	echo '```'
	cat "$NG/logs/access.log"
	echo '```'
} >>"$WORK/notes.md"

write_readme "http-nginx: nginx on 127.0.0.1:8081 (gzip, chunked, keep-alive, 304/404/204/206/401), curl and wget" \
	http <"$REC_DIR/desc/http-nginx.md"
echo "done: $OUT"
