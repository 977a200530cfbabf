#!/bin/bash
# Record testdata/real/ftp-pyftpdlib-ipv4: pyftpdlib on 127.0.0.1:2121,
# clients curl, lftp and python ftplib.  Run as root (tcpdump on lo).
. "$(dirname "$0")/lib.sh"
init_case ftp-pyftpdlib-ipv4
make_originals

H=127.0.0.1
P=2121
U=ftp://$H:$P
SRV=$WORK/srv
CL=$WORK/client
mkdir -p "$SRV/sub/deep" "$CL"
cp -p "$ORIG"/{blob-100k.bin,readme.txt,image.png,doc.pdf,lorem.txt,big-abort.bin} "$SRV/"
cp -p "$ORIG/notes.txt" "$SRV/sub/"
cp -p "$ORIG/nested.bin" "$SRV/sub/deep/"
touch -d '2024-03-01 12:00:00 UTC' "$SRV/sub/deep" "$SRV/sub" "$SRV"

{ versions python3 python3-pyftpdlib lftp curl tcpdump tshark; echo "python $($PY -V 2>&1 | cut -d' ' -f2) (/usr/bin/python3, ftplib)"; } >"$WORK/versions.txt"

bg ftpd $PY "$REC_DIR/ftpserver.py" $H $P "$SRV" 60000 60019
wait_port $H $P
capture_start "tcp and (port $P or portrange 60000-60019 or portrange 50000-50019)"

note "1. failed login (530), curl"
run curl -sS -u alice:wrong "$U/readme.txt" -o "$CL/should-not-exist"

note "2. one lftp control connection: PASV transfers, listings, CWD, STOR, SIZE/MDTM, MKD/RMD, RNFR/RNTO, DELE, then active mode (PORT)"
cat >"$WORK/session.lftp" <<LFTP
set ftp:passive-mode on
set ftp:prefer-epsv no
set ftp:ssl-allow no
set ftp:port-range 50000-50019
set net:max-retries 1
set xfer:clobber on
open -u alice,s3cret -p $P $H
get blob-100k.bin -o $CL/blob-100k.bin
get readme.txt -o $CL/readme.txt
ls > $CL/lftp-list.txt
nlist > $CL/lftp-nlst.txt
cd sub/deep
get nested.bin -o $CL/nested.bin
cd /
put $ORIG/up-stor.bin -o up-stor.bin
quote SIZE up-stor.bin
quote MDTM readme.txt
mkdir newdir
rmdir newdir
mv up-stor.bin stored-renamed.bin
put $ORIG/scratch.txt -o scratch.txt
rm scratch.txt
set ftp:passive-mode off
get image.png -o $CL/image.png
put $ORIG/up-active.bin -o up-active.bin
bye
LFTP
run lftp -f "$WORK/session.lftp"
logfile "$WORK/session.lftp"

note "3. curl, EPSV (default), three objects on one control connection (RETR /doc.pdf, CWD sub + RETR notes.txt, LIST /sub/)"
run curl -sS -u alice:s3cret "$U/doc.pdf" -o "$CL/doc.pdf" "$U/sub/notes.txt" -o "$CL/notes.txt" "$U/sub/" -o "$CL/list-sub.txt"

note "4. curl, PASV instead of EPSV: NLST of /sub/deep/; then MLSD of / (EPSV)"
run curl -sS -u alice:s3cret --disable-epsv -l "$U/sub/deep/" -o "$CL/nlst-deep.txt"
run curl -sS -u alice:s3cret -X MLSD "$U/" -o "$CL/mlsd-root.txt"

note "5. STOR then APPE to the same file (curl --append)"
run curl -sS -u alice:s3cret -T "$ORIG/appe-base.txt" "$U/appended.txt"
run curl -sS -u alice:s3cret --append -T "$ORIG/appe-part.txt" "$U/appended.txt"

note "6. curl -I: MDTM + SIZE only, no data connection"
run curl -sS -u alice:s3cret -I "$U/lorem.txt" -o "$CL/head-lorem.txt"

note "7. active mode with EPRT (curl -P), RETR and STOR (--ftp-create-dirs -> MKD up)"
run curl -sS -u alice:s3cret -P "$H:50000-50019" "$U/lorem.txt" -o "$CL/lorem.txt"
run curl -sS -u alice:s3cret -P "$H:50000-50019" --ftp-create-dirs -T "$ORIG/up-eprt.bin" "$U/up/up-eprt.bin"

note "8. python ftplib on one control connection: STOU, then RETR big-abort.bin aborted with ABOR after 16 KiB"
run $PY "$REC_DIR/ftpextra.py" $H $P alice s3cret "$ORIG/up-stou.bin" big-abort.bin "$CL/abort-prefix.bin"

capture_stop
stop ftpd TERM
cp "$WORK/log/ftpd.err" "$WORK/server.log"

# ---- sanity checks of the transfers (client copies / server copies vs originals)
for f in blob-100k.bin readme.txt nested.bin image.png doc.pdf notes.txt lorem.txt; do same "$ORIG/$f" "$CL/$f"; done
same "$ORIG/up-stor.bin" "$SRV/stored-renamed.bin"
same "$ORIG/up-active.bin" "$SRV/up-active.bin"
same "$ORIG/up-eprt.bin" "$SRV/up/up-eprt.bin"
cat "$ORIG/appe-base.txt" "$ORIG/appe-part.txt" | cmp - "$SRV/appended.txt"
[ ! -e "$SRV/scratch.txt" ] && [ ! -e "$SRV/newdir" ] && [ ! -e "$CL/should-not-exist" ]
stou=$(grep -o 'STOU .*/srv/[^ ]*' "$WORK/server.log" | sed 's|.*/srv/||' | head -1)
same "$ORIG/up-stou.bin" "$SRV/$stou"
cmp -s "$CL/abort-prefix.bin" <(head -c 16384 "$ORIG/big-abort.bin")

# Listings: curl and lftp turn the CRLF line ends of an ASCII-mode listing into
# LF; put the CR back to get the bytes the server sent.
for f in lftp-list lftp-nlst list-sub nlst-deep mlsd-root; do sed 's/$/\r/' "$CL/$f.txt" >"$CL/$f.crlf"; done

# ---- expected.tsv, in capture order
expect ftp RETR s2c /blob-100k.bin "$ORIG/blob-100k.bin"
expect ftp RETR s2c /readme.txt "$ORIG/readme.txt"
expect ftp LIST s2c / "$CL/lftp-list.crlf" listing
expect ftp NLST s2c / "$CL/lftp-nlst.crlf" listing
expect ftp RETR s2c /sub/deep/nested.bin "$ORIG/nested.bin"
expect ftp STOR c2s /up-stor.bin "$ORIG/up-stor.bin"
expect ftp STOR c2s /scratch.txt "$ORIG/scratch.txt"
expect ftp RETR s2c /image.png "$ORIG/image.png"
expect ftp STOR c2s /up-active.bin "$ORIG/up-active.bin"
expect ftp RETR s2c /doc.pdf "$ORIG/doc.pdf"
expect ftp RETR s2c /sub/notes.txt "$ORIG/notes.txt"
expect ftp LIST s2c /sub/ "$CL/list-sub.crlf" listing
expect ftp NLST s2c /sub/deep/ "$CL/nlst-deep.crlf" listing
expect ftp MLSD s2c / "$CL/mlsd-root.crlf" listing
expect ftp STOR c2s /appended.txt "$ORIG/appe-base.txt"
expect ftp APPE c2s /appended.txt "$ORIG/appe-part.txt"
expect ftp RETR s2c /lorem.txt "$ORIG/lorem.txt"
expect ftp STOR c2s /up/up-eprt.bin "$ORIG/up-eprt.bin"
expect ftp STOU c2s "/$stou" "$ORIG/up-stou.bin"
expect ftp RETR s2c /big-abort.bin "$ORIG/big-abort.bin" truncated
finish_expected

# ---- how much of the aborted RETR is on the wire
$PY "$REC_DIR/streams.py" "$OUT/capture.pcap" "$WORK/streams" >"$WORK/streams.tsv"
abort_note "$WORK/streams" "$ORIG/big-abort.bin" "RETR /big-abort.bin"
mdnote "  The client read 16384 bytes, then sent ABOR (ftplib, MSG_OOB); the server answered"
mdnote "  \`426 Transfer aborted via ABOR.\` + \`226 ABOR command successful.\`."
mdnote "- STOU: the server chose the name \`$stou\` (announced in \`150 FILE: $stou\`)."
mdnote "- Listing rows (kind=listing) have no original file: they are hashed from the listing"
mdnote "  the client received (curl -o / lftp redirection) with CRLF line ends restored"
mdnote "  (both clients convert the ASCII-mode CRLF to LF); the table \"whole-connection"
mdnote "  payloads\" below confirms these are exactly the bytes on the wire."
mdnote "- Server log (pyftpdlib):"
mdnote ""
mdnote '```'
sed -e 's/^[0-9-]* [0-9:,]* //' -e "s|$SRV|<root>|g" "$WORK/server.log" | grep -v 'Running as user' >>"$WORK/notes.md"
mdnote '```'

write_readme "ftp-pyftpdlib-ipv4: pyftpdlib on 127.0.0.1:2121, clients curl, lftp, python ftplib" \
	-d tcp.port==$P,ftp --streams ftp-data <"$REC_DIR/desc/ftp-pyftpdlib-ipv4.md"
echo "done: $OUT"
