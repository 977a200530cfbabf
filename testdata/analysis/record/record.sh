#!/bin/bash
# Record the loopback captures of testdata/analysis/<case>/ with real servers
# and clients (Debian 12 packages), for the traffic-analysis tests.
#
# usage: record.sh [CASE...]     (default: every case)
# Run as root: tcpdump listens on "lo"; traffic goes to 127.0.0.1 only.
#
# Each case writes testdata/analysis/<case>/capture.pcap and README.md
# (what was run, exactly, with tool versions, and tshark's view of it).
# The findings each capture must give are in the test
# (cmd/streamx/analysis_test.go), written by hand from the commands below.
set -euo pipefail
export LC_ALL=C TZ=UTC

REC=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$REC/.." && pwd)
REAL_REC=$(cd "$REC/../../real/record" && pwd)
PY=/usr/bin/python3
H=127.0.0.1

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
	PIDS=()
}
trap cleanup EXIT

# bg NAME CMD...: start a background process, logging to $WORK/NAME.log
bg() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
}

stop() {
	local pid
	eval "pid=\${PID_$1}"
	kill "${2:--TERM}" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

wait_port() {
	local i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/$H/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "port $1 never came up" >&2
	return 1
}

# run CMD...: log the command line verbatim, run it; a failing exit status
# is logged, not fatal (several steps are meant to fail).
run() {
	local q
	q=$(printf '%q ' "$@")
	printf '$ %s\n' "${q//$WORK/\$WORK}" >>"$WORK/commands.log"
	local rc=0
	"$@" || rc=$?
	if [ $rc -ne 0 ]; then printf '  (exit status %d)\n' $rc >>"$WORK/commands.log"; fi
	sleep 0.2
}

note() { printf '\n# %s\n' "$*" >>"$WORK/commands.log"; }

begin() {
	CASE=$1
	OUT=$ROOT/$CASE
	WORK=$(mktemp -d "/tmp/streamx-analysis-$CASE.XXXXXX")
	mkdir -p "$OUT"
	: >"$WORK/commands.log"
	echo "== $CASE"
}

capture_start() {
	CAP_FILTER=$1
	bg tcpdump tcpdump -i lo -s 0 -B 65536 -U --immediate-mode -n -w "$WORK/capture.pcap" "$CAP_FILTER"
	local i
	for i in $(seq 1 100); do
		grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
}

capture_stop() {
	sleep 1.5
	stop tcpdump -INT
	# a capture that lost packets is no test capture
	if ! grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log"; then
		cat "$WORK/tcpdump.log" >&2
		echo "tcpdump dropped packets: record again" >&2
		return 1
	fi
	grep 'packets' "$WORK/tcpdump.log" | sed 's/^/    /' >"$WORK/tcpdump-stats.txt"
	cp "$WORK/capture.pcap" "$OUT/capture.pcap"
}

# finish TITLE: write README.md from the description on stdin, the
# commands, versions and tshark's tables; remove the work directory.
finish() {
	local title=$1
	{
		echo "# $CASE: $title"
		echo
		cat
		echo
		echo "Re-record with \`record/record.sh $CASE\` (as root). Timestamps, ports and"
		echo "certificates change with every recording; the test's expectations do not."
		echo
		echo "## Commands (exactly as run)"
		echo
		echo '```'
		sed '1{/^$/d}' "$WORK/commands.log"
		echo '```'
		echo
		echo "## Tool versions (Debian 12 packages)"
		echo
		echo '```'
		dpkg-query -W -f '${Package} ${Version}\n' tcpdump tshark curl openssl nginx-light python3 python3-pyftpdlib 2>/dev/null
		echo '```'
		echo
		echo "tcpdump (\`-i lo -s 0 -B 65536 -U --immediate-mode\`, filter \`$CAP_FILTER\`):"
		echo
		cat "$WORK/tcpdump-stats.txt"
		if [ -s "$WORK/notes.md" ]; then
			echo
			echo "## Notes"
			echo
			cat "$WORK/notes.md"
		fi
		echo
		echo "## tshark's view"
		echo
		echo '```'
		echo "\$ tshark -r capture.pcap -q -z conv,tcp -z endpoints,ip"
		tshark -r "$OUT/capture.pcap" -q -z conv,tcp -z endpoints,ip 2>/dev/null
		echo '```'
	} >"$OUT/README.md"
	cleanup
	rm -rf "$WORK"
}

# --- ftp-login: a failed FTP login, then a successful one with a download
case_ftp_login() {
	begin ftp-login
	mkdir -p "$WORK/root" "$WORK/client"
	printf 'streamx analysis test file\n' >"$WORK/root/readme.txt"
	bg ftpd $PY "$REAL_REC/ftpserver.py" $H 2121 "$WORK/root" 60000 60009
	wait_port 2121
	capture_start "tcp and (port 2121 or portrange 60000-60009)"
	note "a wrong password: 530"
	run curl -sS -u alice:guess "ftp://$H:2121/readme.txt" -o "$WORK/client/nothing"
	note "the right one: 230, then PASV RETR readme.txt"
	run curl -sS --disable-epsv -u alice:s3cret "ftp://$H:2121/readme.txt" -o "$WORK/client/readme.txt"
	capture_stop
	cmp "$WORK/root/readme.txt" "$WORK/client/readme.txt"
	finish "a failed FTP login, then a successful one" <<'EOF'
pyftpdlib (`../../real/record/ftpserver.py`: user alice, password s3cret) on **127.0.0.1:2121**,
passive ports 60000-60009; curl as the client. Two control connections: `alice`/`guess`
(530), then `alice`/`s3cret` (230) and a passive RETR of `readme.txt`.

Findings: Failed_Login (alice, 530), Plaintext_Credentials alice/guess (refused),
Plaintext_Credentials alice/s3cret (accepted). Port 2121 suggests FTP: no port finding; the
data connection is FTP's, not a service of its own.
EOF
}

# --- ftp-brute-force: ten wrong passwords, then the right one
case_ftp_brute_force() {
	begin ftp-brute-force
	mkdir -p "$WORK/root" "$WORK/client"
	printf 'x\n' >"$WORK/root/readme.txt"
	bg ftpd $PY "$REAL_REC/ftpserver.py" $H 2121 "$WORK/root" 60010 60019
	wait_port 2121
	capture_start "tcp and (port 2121 or portrange 60010-60019)"
	note "ten failed logins (four user names), then alice with the right password (no transfer: -I asks only for the size)"
	local up
	for up in root:toor admin:admin alice:alice alice:123456 alice:password test:test root:root admin:letmein alice:qwerty alice:alice1; do
		run curl -sS -u "$up" "ftp://$H:2121/readme.txt" -o "$WORK/client/nothing"
	done
	run curl -sS -I -u alice:s3cret "ftp://$H:2121/readme.txt" -o "$WORK/client/head"
	capture_stop
	finish "FTP brute force: ten failed logins from one client, then a success" <<'EOF'
pyftpdlib (user alice, password s3cret) on **127.0.0.1:2121** (its delay after a failed login
is 0.2 s in `ftpserver.py`); curl tries ten user/password pairs, one connection each, then
logs in as alice with the right password.

Findings: one Brute_Force (10 failures within about 3 s, users root, admin, alice, test;
"then user alice logged in"), and Plaintext_Credentials alice/s3cret (accepted). The ten
refused attempts are the Brute_Force's evidence, not ten Failed_Login and ten
Plaintext_Credentials notices.
EOF
}

# --- http-auth: Basic auth accepted and refused, a challenge, 401, 403, 404, port 8081, plaintext on 443
case_http_auth() {
	begin http-auth
	local NG=$WORK/nginx WWW=$WORK/www
	mkdir -p "$WWW/private" "$WWW/forbidden" "$NG/tmp" "$NG/logs" "$WORK/client"
	printf 'secret\n' >"$WWW/private/secret.txt"
	printf 'forbidden\n' >"$WWW/forbidden/x.txt"
	printf '<html><body>plain</body></html>\n' >"$WWW/index.html"
	# fixed salt: a reproducible htpasswd (alice/s3cret, bob/hunter2)
	{
		printf 'alice:%s\n' "$(openssl passwd -apr1 -salt streamx1 s3cret)"
		printf 'bob:%s\n' "$(openssl passwd -apr1 -salt streamx2 hunter2)"
	} >"$NG/htpasswd"
	cat >"$NG/nginx.conf" <<CONF
daemon off;
master_process off;
pid $NG/nginx.pid;
error_log $NG/logs/error.log info;
events { worker_connections 64; }
http {
    types { text/html html; text/plain txt; }
    access_log $NG/logs/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    server {
        listen $H:8081;
        listen $H:443;
        root $WWW;
        location /private/ { auth_basic "streamx"; auth_basic_user_file $NG/htpasswd; }
        location /forbidden/ { deny all; }
    }
}
CONF
	bg nginx nginx -p "$NG" -e "$NG/logs/error.log" -c "$NG/nginx.conf"
	wait_port 8081
	wait_port 443
	capture_start "tcp and (port 8081 or port 443)"
	local U=http://$H:8081
	note "Basic auth accepted (200)"
	run curl -sS -u alice:s3cret "$U/private/secret.txt" -o "$WORK/client/1"
	note "Basic auth refused (401)"
	run curl -sS -u alice:wrong "$U/private/secret.txt" -o "$WORK/client/2"
	note "--anyauth: a request without credentials, the 401 challenge, the same request with them (200), one connection"
	run curl -sS --anyauth -u bob:hunter2 "$U/private/secret.txt" -o "$WORK/client/3"
	note "a missing page (404)"
	run curl -sS "$U/missing.html" -o "$WORK/client/4"
	note "a forbidden page (403)"
	run curl -sS "$U/forbidden/x.txt" -o "$WORK/client/5"
	note "the private page without credentials, and nothing after it (401)"
	run curl -sS "$U/private/secret.txt" -o "$WORK/client/6"
	note "plain HTTP on port 443"
	run curl -sS "http://$H:443/index.html" -o "$WORK/client/7"
	capture_stop
	grep -q secret "$WORK/client/1"
	grep -q secret "$WORK/client/3"
	finish "HTTP Basic auth, a 401 challenge, 401, 403 and 404, a server on 8081, plain HTTP on 443" <<'EOF'
nginx on **127.0.0.1:8081** and, in plain HTTP, on **127.0.0.1:443**; `/private/` needs Basic
auth (htpasswd: alice/s3cret, bob/hunter2), `/forbidden/` is denied to all. curl, one
connection per command.

Findings: Plaintext_Credentials alice/s3cret (accepted), alice/wrong (refused) and
bob/hunter2 (accepted); Failed_Login alice (401); Access_Denied 403 `/forbidden/x.txt` and
401 `/private/secret.txt` (the last request, without credentials); HTTP_Error 404
`/missing.html`; Service_Nonstandard_Port http on 8081 (6 connections);
Plaintext_Where_Encryption_Usual http on 443. The 401 in answer to `--anyauth`'s first
request is a challenge, answered on the same connection: not a finding.
EOF
}

# --- tls-sni: TLS 1.3 and TLS 1.2 (certificate in clear) with SNI, one on a port of its own
case_tls_sni() {
	begin tls-sni
	local T=$WORK/tls
	mkdir -p "$T"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=example.test -addext subjectAltName=DNS:example.test \
		-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
	bg tls13 openssl s_server -accept $H:8443 -cert "$T/cert.pem" -key "$T/key.pem" -www -naccept 1 -quiet
	bg tls12 openssl s_server -accept $H:4433 -cert "$T/cert.pem" -key "$T/key.pem" -www -naccept 1 -quiet -tls1_2 -alpn http/1.1
	wait_port 8443
	wait_port 4433
	# wait_port's probe connections were accepted: restart with a fresh -naccept 1
	stop tls13
	stop tls12
	bg tls13 openssl s_server -accept $H:8443 -cert "$T/cert.pem" -key "$T/key.pem" -www -naccept 1 -quiet
	bg tls12 openssl s_server -accept $H:4433 -cert "$T/cert.pem" -key "$T/key.pem" -www -naccept 1 -quiet -tls1_2 -alpn http/1.1
	sleep 0.5
	capture_start "tcp and (port 8443 or port 4433)"
	note "TLS 1.3, SNI example.test, an (encrypted) GET /"
	run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect $H:8443 -servername example.test -quiet >$WORK/r13 2>$WORK/e13"
	note "TLS 1.2, SNI example.test, ALPN h2,http/1.1 (the server picks http/1.1), on port 4433"
	run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect $H:4433 -servername example.test -tls1_2 -alpn h2,http/1.1 -quiet >$WORK/r12 2>$WORK/e12"
	capture_stop
	grep -q 'Ciphers supported' "$WORK/r13"
	grep -q 'Ciphers supported' "$WORK/r12"
	local fp
	fp=$(openssl x509 -in "$T/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	printf '%s\n' "$fp" >"$OUT/cert-sha256.txt"
	{
		echo "- The throwaway certificate's SHA-256 fingerprint (\`openssl x509 -fingerprint -sha256\`)"
		echo "  is in \`cert-sha256.txt\`: $fp"
		echo "- Server's choice, from the clients' stderr:"
		echo '```'
		grep -h -i 'protocol\|cipher' "$WORK/e13" "$WORK/e12" 2>/dev/null || true
		echo '```'
	} >"$WORK/notes.md"
	finish "TLS 1.3 and TLS 1.2 handshakes with SNI" <<'EOF'
`openssl s_server -www` with a throwaway self-signed certificate (CN and SAN example.test, made by
the script) on **127.0.0.1:8443** (TLS 1.3) and on **127.0.0.1:4433** (`-tls1_2 -alpn
http/1.1`); `openssl s_client -servername example.test` sends `GET /` in each session.

tls.jsonl: two lines. 8443: TLSv13, server_name example.test, no certificate (encrypted in
TLS 1.3). 4433: TLSv12, next_protocol http/1.1, alpn [h2, http/1.1], the certificate's
fingerprint (cert-sha256.txt), subject and issuer CN=example.test, self_signed.
Findings: Service_Nonstandard_Port tls on 4433 (a port no standard service uses); 8443
suggests TLS: nothing there.
EOF
}

# --- tcp-failures: a refused port and an unanswered SYN
case_tcp_failures() {
	begin tcp-failures
	# A listener whose accept queue is full (backlog 0, one connection
	# queued and never accepted): Linux drops the SYNs of the next
	# connection, which is never answered.
	cat >"$WORK/full.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9999))
s.listen(0)
f = socket.create_connection(("127.0.0.1", 9999))  # fills the queue
print("ready", flush=True)
time.sleep(30)
PY
	bg full $PY "$WORK/full.py"
	local i
	for i in $(seq 1 50); do grep -q ready "$WORK/full.log" 2>/dev/null && break; sleep 0.1; done
	capture_start "tcp and (port 9 or (port 9999 and port 40999))"
	note "nothing listens on port 9: the kernel answers the SYN with a RST"
	run curl -sS "http://$H:9/"
	note "port 9999's accept queue is full: the SYN and its retransmissions get no answer (curl gives up after 3 s)"
	run curl -sS --local-port 40999 --connect-timeout 3 "http://$H:9999/"
	capture_stop
	finish "a refused connection and an unanswered SYN" <<'EOF'
A refused port: curl to **127.0.0.1:9**, where nothing listens (SYN, RST-ACK: Zeek REJ). An
unanswered SYN: a Python listener on **127.0.0.1:9999** with `listen(0)` and one connection
queued and never accepted, so its accept queue is full and Linux drops new SYNs; curl, from
port 40999, sends the SYN and its retransmissions and gives up after 3 s (Zeek S0). The
capture filter keeps only curl's connection to 9999, not the one filling the queue.

Findings: Connection_Rejected 127.0.0.1:9, Host_No_Answer 127.0.0.1:9999.
EOF
}

# --- http-cut: a response reset mid-transfer, and one cut short by a FIN
case_http_cut() {
	begin http-cut
	cat >"$WORK/cut.py" <<'PY'
# GET /reset: Content-Length 50000, 10000 bytes, then close with SO_LINGER 0 (RST).
# GET /short: Content-Length 50000, 10000 bytes, then an ordinary close (FIN).
import socket, struct
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8000))
s.listen(5)
print("ready", flush=True)
for _ in range(2):
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        req += c.recv(4096)
    path = req.split(b" ")[1]
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000\r\n\r\n" + b"x" * 10000)
    if path == b"/reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
	bg cut $PY "$WORK/cut.py"
	local i
	for i in $(seq 1 50); do grep -q ready "$WORK/cut.log" 2>/dev/null && break; sleep 0.1; done
	capture_start "tcp and port 8000"
	note "the server resets the connection after 10000 of 50000 body bytes"
	run curl -sS "http://$H:8000/reset" -o "$WORK/reset.bin"
	note "the server closes (FIN) after 10000 of 50000 body bytes"
	run curl -sS "http://$H:8000/short" -o "$WORK/short.bin"
	capture_stop
	finish "HTTP responses cut short: by a reset, and by a close" <<'EOF'
A small Python server on **127.0.0.1:8000** announces `Content-Length: 50000` and sends 10000
body bytes; for `/reset` it then closes with SO_LINGER 0 (the kernel sends a RST), for
`/short` it closes normally (FIN). curl reports the transfer as partial both times.

Findings: Reset_Mid_Transfer (GET /reset, reset by the server) and Truncated_Transfer (GET
/short). Port 8000 suggests HTTP: no port finding.
EOF
}

# --- scan: one source trying 20 closed ports of one host
case_scan() {
	begin scan
	capture_start "tcp and portrange 20001-20020"
	note "connect() to 20 ports where nothing listens, one after another"
	run $PY -c '
import socket
for p in range(20001, 20021):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", p))
    except OSError:
        pass
    s.close()
'
	capture_stop
	finish "a port scan: 20 refused connection attempts from one source" <<'EOF'
Python `connect()`s to **127.0.0.1:20001-20020**, where nothing listens: 20 SYNs, 20
RST-ACKs (Zeek REJ), within a few milliseconds.

Findings: one Scan (port scan of 127.0.0.1: 20 ports, all refused), and no
Connection_Rejected notices: the refused attempts are the scan's evidence.
EOF
}

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
	cases=(ftp-login ftp-brute-force http-auth tls-sni tcp-failures http-cut scan)
fi
for c in "${cases[@]}"; do
	"case_${c//-/_}"
done
