#!/bin/bash
# mkfiles.sh DIR -- create the deterministic original files used by all captures.
#
# Binary files: AES-128-CTR keystream (fixed key per file, zero IV) over zeros,
#               so every run produces byte-identical files.
# Text / JSON / PNG / PDF: mkfiles.py with a fixed random seed.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
dir=$1
mkdir -p "$dir"
cd "$dir"

# bin NAME SIZE KEYBYTE
bin() {
	local b key
	b=$(printf '%02x' "$3")
	key=$b$b$b$b$b$b$b$b$b$b$b$b$b$b$b$b
	head -c "$2" /dev/zero |
		openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000 -nosalt >"$1"
}

bin blob-100k.bin     102400 1
bin blob-60k.bin       61440 2
bin big-abort.bin     262144 3   # only a prefix of it ever crosses the wire
bin nested.bin          5000 4
bin up-stor.bin        30000 5
bin up-active.bin      20000 6
bin up-eprt.bin        12345 7
bin up-stou.bin         4096 8
bin up-put.bin         25000 9
bin up-multipart.bin    9000 10
bin v6-blob.bin        40000 11
bin v6-up.bin          15000 12
bin vs-blob.bin        30000 13
bin vs-up.bin          10000 14

/usr/bin/python3 "$here/mkfiles.py" .

# Fixed modification time, so Last-Modified / ETag / MDTM are stable.
touch -d '2024-03-01 12:00:00 UTC' ./*
