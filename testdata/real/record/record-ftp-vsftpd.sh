#!/bin/bash
# Record testdata/real/ftp-vsftpd: vsftpd (anonymous, uploads to /incoming) on
# 127.0.0.1:2122, clients curl and lftp.  Run as root (vsftpd chroots and
# drops to the "ftp" user; tcpdump on lo).
. "$(dirname "$0")/lib.sh"
init_case ftp-vsftpd
make_originals

H=127.0.0.1
P=2122
U=ftp://$H:$P
SRV=$WORK/srv
CL=$WORK/client
chmod 755 "$WORK"
mkdir -p "$SRV/incoming" "$WORK/empty" "$CL"
cp -p "$ORIG/vs-blob.bin" "$ORIG/vs-readme.txt" "$SRV/"
chown ftp:ftp "$SRV/incoming"
chmod 755 "$SRV" "$WORK/empty"
touch -d '2024-03-01 12:00:00 UTC' "$SRV/incoming" "$SRV"

cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=$H
listen_port=$P
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$SRV
anon_upload_enable=YES
anon_umask=022
write_enable=YES
local_enable=NO
pasv_enable=YES
pasv_min_port=60100
pasv_max_port=60119
connect_from_port_20=NO
secure_chroot_dir=$WORK/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$WORK/vsftpd.log
dual_log_enable=YES
xferlog_file=$WORK/xferlog
ftpd_banner=streamx test server (vsftpd)
CONF

{ versions vsftpd lftp curl tcpdump tshark; } >"$WORK/versions.txt"

bg vsftpd vsftpd "$WORK/vsftpd.conf"
wait_port $H $P
capture_start "tcp and (port $P or portrange 60100-60119 or portrange 50000-50019)"

note "1. failed login: vsftpd is anonymous-only (530)"
run curl -sS -u alice:s3cret "$U/vs-readme.txt" -o "$CL/should-not-exist"

note "2. curl anonymous, EPSV: RETR /vs-blob.bin and LIST / on one control connection"
run curl -sS "$U/vs-blob.bin" -o "$CL/vs-blob.bin" "$U/" -o "$CL/list-root.txt"

note "3. lftp anonymous, one control connection: PASV RETR + STOR into /incoming, then PORT RETR"
cat >"$WORK/session.lftp" <<LFTP
set ftp:passive-mode on
set ftp:ssl-allow no
set ftp:port-range 50000-50019
set net:max-retries 1
set xfer:clobber on
open -p $P $H
get vs-readme.txt -o $CL/vs-readme.txt
cd incoming
put $ORIG/vs-up.bin -o vs-up.bin
cd /
set ftp:passive-mode off
get vs-blob.bin -o $CL/vs-blob-2.bin
bye
LFTP
run lftp -f "$WORK/session.lftp"
logfile "$WORK/session.lftp"

capture_stop
stop vsftpd TERM

same "$ORIG/vs-blob.bin" "$CL/vs-blob.bin"
same "$ORIG/vs-blob.bin" "$CL/vs-blob-2.bin"
same "$ORIG/vs-readme.txt" "$CL/vs-readme.txt"
same "$ORIG/vs-up.bin" "$SRV/incoming/vs-up.bin"
[ ! -e "$CL/should-not-exist" ]
sed 's/$/\r/' "$CL/list-root.txt" >"$CL/list-root.crlf"

expect ftp RETR s2c /vs-blob.bin "$ORIG/vs-blob.bin"
expect ftp LIST s2c / "$CL/list-root.crlf" listing
expect ftp RETR s2c /vs-readme.txt "$ORIG/vs-readme.txt"
expect ftp STOR c2s /incoming/vs-up.bin "$ORIG/vs-up.bin"
expect ftp RETR s2c /vs-blob.bin "$ORIG/vs-blob.bin"
finish_expected

mdnote "- The listing row is hashed from curl's copy with CRLF line ends restored."
mdnote "- \`/vs-blob.bin\` is fetched twice (EPSV by curl, PORT by lftp): two rows, same hash."
mdnote "- vsftpd log (log_ftp_protocol=YES):"
mdnote ""
mdnote '```'
sed -e 's/^[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9]* [0-9:]* [0-9]* //' "$WORK/vsftpd.log" >>"$WORK/notes.md"
mdnote '```'

write_readme "ftp-vsftpd: vsftpd (anonymous) on 127.0.0.1:2122, clients curl and lftp" \
	-d tcp.port==$P,ftp --streams ftp-data <"$REC_DIR/desc/ftp-vsftpd.md"
echo "done: $OUT"
