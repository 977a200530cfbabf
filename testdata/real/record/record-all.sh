#!/bin/bash
# Re-record every capture under testdata/real/ (run as root; loopback only).
# Needs the Debian packages tcpdump tshark vsftpd lftp curl wget nginx-light
# openssl python3-pyftpdlib (run with /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")"
for s in record-ftp-ipv4.sh record-ftp-ipv6.sh record-ftp-vsftpd.sh \
	record-http-nginx.sh record-http-upload.sh record-sample.sh; do
	./"$s"
done
cd ..
ls -l ./*/capture.pcap
du -cb ./*/capture.pcap | tail -1
