#!/bin/bash
# Record testdata/real/sample: one small mixed capture for the README's first
# command -- FTP (pyftpdlib 127.0.0.1:2121: a failed login, PASV RETR x2, STOR),
# HTTP (nginx 127.0.0.1:8081: keep-alive GETs, gzip+chunked; python
# uploadserver 127.0.0.1:8000: multipart POST) and one TLS 1.3 session
# (openssl s_server 127.0.0.1:8443, SNI example.test).  Run as root.
. "$(dirname "$0")/lib.sh"
init_case sample
make_originals

H=127.0.0.1
SRV=$WORK/ftproot
WWW=$WORK/www
NG=$WORK/nginx
STORE=$WORK/store
TLS=$WORK/tls
CL=$WORK/client
mkdir -p "$SRV/incoming" "$WWW" "$NG/tmp" "$NG/logs" "$STORE" "$TLS" "$CL"
cp -p "$ORIG/doc.pdf" "$SRV/report.pdf"
cp -p "$ORIG/readme.txt" "$SRV/readme.txt"
cp -p "$ORIG"/{data.json,image.png} "$WWW/"
cat >"$WWW/index.html" <<'HTML'
<!doctype html>
<html><head><title>streamx sample</title></head>
<body>
<h1>streamx sample page</h1>
<p>This page is served by nginx on 127.0.0.1:8081 and comes back gzip'd and chunked.</p>
<p><img src="image.png" alt="sample image"> <a href="data.json">data.json</a></p>
</body></html>
HTML
touch -d '2024-03-01 12:00:00 UTC' "$WWW"/* "$SRV"/* "$SRV/incoming" "$SRV" "$WWW"

cat >"$NG/nginx.conf" <<CONF
daemon off;
master_process off;
pid $NG/nginx.pid;
error_log $NG/logs/error.log info;
events { worker_connections 64; }
http {
    types { text/html html; application/json json; image/png png; }
    default_type application/octet-stream;
    access_log $NG/logs/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    gzip on;
    gzip_types text/plain application/json;
    gzip_min_length 20;
    server {
        listen $H:8081;
        server_name localhost;
        root $WWW;
    }
}
CONF

# throwaway self-signed certificate for the TLS session (new key every run)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=example.test -addext subjectAltName=DNS:example.test \
	-keyout "$TLS/key.pem" -out "$TLS/cert.pem" 2>/dev/null

{ versions python3 python3-pyftpdlib nginx-light curl openssl tcpdump tshark; } >"$WORK/versions.txt"

bg ftpd $PY "$REC_DIR/ftpserver.py" $H 2121 "$SRV" 60000 60019
bg nginx nginx -p "$NG" -e "$NG/logs/error.log" -c "$NG/nginx.conf"
bg httpd $PY "$REC_DIR/uploadserver.py" $H 8000 "$WWW" "$STORE"
bg tls openssl s_server -accept $H:8443 -cert "$TLS/cert.pem" -key "$TLS/key.pem" -www -naccept 1 -quiet
wait_port $H 2121; wait_port $H 8081; wait_port $H 8000; wait_port $H 8443
capture_start "tcp and (port 2121 or portrange 60000-60019 or port 8081 or port 8000 or port 8443)"

note "FTP 1. failed login (530)"
run curl -sS -u alice:guess ftp://$H:2121/readme.txt -o "$CL/should-not-exist"
note "FTP 2. passive (PASV) RETR of two files on one control connection, then STOR"
run curl -sS --disable-epsv -u alice:s3cret ftp://$H:2121/report.pdf -o "$CL/report.pdf" ftp://$H:2121/readme.txt -o "$CL/readme.txt"
run curl -sS --disable-epsv -u alice:s3cret -T "$ORIG/up-multipart.bin" ftp://$H:2121/incoming/upload.bin

note "HTTP 1. three GETs on one keep-alive connection (index.html and data.json gzip'd + chunked)"
run curl -sS --compressed http://$H:8081/index.html -o "$CL/index.html" http://$H:8081/data.json -o "$CL/data.json" http://$H:8081/image.png -o "$CL/image.png"
note "HTTP 2. multipart POST of one file"
run curl -sS -F "file=@$ORIG/notes.txt;type=text/plain" http://$H:8000/upload -o "$CL/post-reply.txt"

note "TLS: one TLS 1.3 handshake with SNI example.test and an (encrypted) GET / to openssl s_server -www"
run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect $H:8443 -servername example.test -quiet >$CL/tls-reply.txt 2>$CL/tls-client.err"

capture_stop
stop ftpd TERM; stop nginx TERM; stop httpd TERM; stop tls TERM

[ ! -e "$CL/should-not-exist" ]
same "$ORIG/doc.pdf" "$CL/report.pdf"
same "$ORIG/readme.txt" "$CL/readme.txt"
same "$ORIG/up-multipart.bin" "$SRV/incoming/upload.bin"
for f in index.html data.json image.png; do same "$WWW/$f" "$CL/$f"; done
grep -q 'Ciphers supported in s_server' "$CL/tls-reply.txt"
grep -qF -- "$(cat "$ORIG/notes.txt")" "$STORE"/*-POST-upload.body

expect ftp RETR s2c /report.pdf "$ORIG/doc.pdf"
expect ftp RETR s2c /readme.txt "$ORIG/readme.txt"
expect ftp STOR c2s /incoming/upload.bin "$ORIG/up-multipart.bin"
expect http GET s2c http://$H:8081/index.html "$WWW/index.html"
expect http GET s2c http://$H:8081/data.json "$ORIG/data.json"
expect http GET s2c http://$H:8081/image.png "$ORIG/image.png"
expect http POST c2s http://$H:8000/upload "$ORIG/notes.txt"
finish_expected

{
	echo "- index.html is written by the script (not by mkfiles.sh); its hash is in expected.tsv."
	echo "- POST /upload is multipart/form-data (field \`file\`, filename notes.txt); the row is the file part."
	echo "- TLS: the certificate is generated fresh on every run (self-signed, CN/SAN example.test)."
	echo "  Nothing on port 8443 is carvable; the capture only shows the ClientHello (SNI"
	echo "  example.test), the ServerHello and encrypted records. Client's view:"
	echo
	echo '```'
	grep -v '^depth\|^verify' "$CL/tls-client.err" || true
	head -3 "$CL/tls-reply.txt" | tr -d '\r'
	echo '...'
	echo '```'
} >>"$WORK/notes.md"

write_readme "sample: a little FTP, HTTP and TLS on loopback (the README's first example)" \
	-d tcp.port==2121,ftp -d tcp.port==8443,tls --streams ftp-data http <"$REC_DIR/desc/sample.md"
echo "done: $OUT"
