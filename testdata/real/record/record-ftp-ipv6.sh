#!/bin/bash
# Record testdata/real/ftp-pyftpdlib-ipv6: pyftpdlib on [::1]:2121, EPSV and
# EPRT only (IPv6 has no PASV/PORT), clients curl and lftp.  Run as root.
. "$(dirname "$0")/lib.sh"
init_case ftp-pyftpdlib-ipv6
make_originals

H=::1
P=2121
U="ftp://[$H]:$P"
SRV=$WORK/srv
CL=$WORK/client
mkdir -p "$SRV/pub" "$CL"
cp -p "$ORIG/v6-blob.bin" "$ORIG/readme.txt" "$SRV/"
cp -p "$ORIG/v6-notes.txt" "$SRV/pub/"
touch -d '2024-03-01 12:00:00 UTC' "$SRV/pub" "$SRV"

{ versions python3 python3-pyftpdlib lftp curl tcpdump tshark; } >"$WORK/versions.txt"

bg ftpd $PY "$REC_DIR/ftpserver.py" $H $P "$SRV" 60000 60019
wait_port $H $P
capture_start "tcp and ip6 and (port $P or portrange 60000-60019 or portrange 50000-50019)"

note "1. curl, EPSV: RETR /v6-blob.bin and LIST / on one control connection"
run curl -sS -g -u alice:s3cret "$U/v6-blob.bin" -o "$CL/v6-blob.bin" "$U/" -o "$CL/list-root.txt"

note "2. curl, active mode over IPv6 = EPRT |2|::1|port|: RETR /pub/v6-notes.txt (CWD pub), STOR /pub/curl-eprt.bin"
run curl -sS -g -u alice:s3cret -P "[$H]:50000-50019" "$U/pub/v6-notes.txt" -o "$CL/v6-notes.txt"
run curl -sS -g -u alice:s3cret -P "[$H]:50000-50019" -T "$ORIG/up-eprt.bin" "$U/pub/curl-eprt.bin"

note "3. lftp, one control connection: EPSV RETR + STOR + LIST, then EPRT RETR + STOR"
cat >"$WORK/session.lftp" <<LFTP
set ftp:passive-mode on
set ftp:ssl-allow no
set ftp:port-range 50000-50019
set ftp:port-ipv6 ::1
set net:max-retries 1
set xfer:clobber on
open -u alice,s3cret -p $P $H
get readme.txt -o $CL/readme.txt
put $ORIG/v6-up.bin -o pub/v6-up.bin
cd pub
ls > $CL/lftp-list-pub.txt
set ftp:passive-mode off
get v6-notes.txt -o $CL/v6-notes-2.txt
put $ORIG/up-active.bin -o lftp-eprt.bin
bye
LFTP
run lftp -f "$WORK/session.lftp"
logfile "$WORK/session.lftp"

capture_stop
stop ftpd TERM
cp "$WORK/log/ftpd.err" "$WORK/server.log"

same "$ORIG/v6-blob.bin" "$CL/v6-blob.bin"
same "$ORIG/v6-notes.txt" "$CL/v6-notes.txt"
same "$ORIG/v6-notes.txt" "$CL/v6-notes-2.txt"
same "$ORIG/readme.txt" "$CL/readme.txt"
same "$ORIG/up-eprt.bin" "$SRV/pub/curl-eprt.bin"
same "$ORIG/v6-up.bin" "$SRV/pub/v6-up.bin"
same "$ORIG/up-active.bin" "$SRV/pub/lftp-eprt.bin"
for f in list-root lftp-list-pub; do sed 's/$/\r/' "$CL/$f.txt" >"$CL/$f.crlf"; done

expect ftp RETR s2c /v6-blob.bin "$ORIG/v6-blob.bin"
expect ftp LIST s2c / "$CL/list-root.crlf" listing
expect ftp RETR s2c /pub/v6-notes.txt "$ORIG/v6-notes.txt"
expect ftp STOR c2s /pub/curl-eprt.bin "$ORIG/up-eprt.bin"
expect ftp RETR s2c /readme.txt "$ORIG/readme.txt"
expect ftp STOR c2s /pub/v6-up.bin "$ORIG/v6-up.bin"
expect ftp LIST s2c /pub "$CL/lftp-list-pub.crlf" listing
expect ftp RETR s2c /pub/v6-notes.txt "$ORIG/v6-notes.txt"
expect ftp STOR c2s /pub/lftp-eprt.bin "$ORIG/up-active.bin"
finish_expected

mdnote "- Listing rows (kind=listing) are hashed from the client's copy with the CRLF line"
mdnote "  ends restored (curl/lftp write LF); see the whole-connection table below."
mdnote "- \`/pub/v6-notes.txt\` is fetched twice (EPRT by curl, EPRT by lftp): two rows, same hash."
mdnote "- Server log (pyftpdlib):"
mdnote ""
mdnote '```'
sed -e 's/^[0-9-]* [0-9:,]* //' -e "s|$SRV|<root>|g" "$WORK/server.log" | grep -v 'Running as user' >>"$WORK/notes.md"
mdnote '```'

write_readme "ftp-pyftpdlib-ipv6: pyftpdlib on [::1]:2121, EPSV/EPRT, clients curl and lftp" \
	-d tcp.port==$P,ftp --streams ftp-data <"$REC_DIR/desc/ftp-pyftpdlib-ipv6.md"
echo "done: $OUT"
