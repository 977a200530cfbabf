#!/bin/bash
# verify.sh CASE_DIR [-d DECODE_AS]... [--streams] [EXPORT_PROTO]...
#   e.g. verify.sh ../ftp-pyftpdlib-ipv4 -d tcp.port==2121,ftp --streams ftp-data
# Checks a committed capture with tshark and prints a Markdown report:
#   * loopback-only check (any frame not 127/8 <-> 127/8 or ::1 <-> ::1 fails)
#   * tshark -q -z conv,tcp
#   * tshark --export-objects PROTO (ftp-data, http) and a comparison of the
#     exported objects' sha256 with the sha256 column of expected.tsv
#   * --streams: every expected.tsv row is looked up among the payloads of
#     whole TCP connections (one direction, reassembled by tshark
#     follow,tcp,raw) -- for FTP each data connection carries exactly one object
set -euo pipefail
export LC_ALL=C
dir=$1; shift
cap=$dir/capture.pcap
exp=$dir/expected.tsv
dec=()
protos=()
streams=
while [ $# -gt 0 ]; do
	case $1 in
	-d) dec+=(-d "$2"); shift 2 ;;
	--streams) streams=1; shift ;;
	*) protos+=("$1"); shift ;;
	esac
done
tmp=$(mktemp -d /tmp/streamx-verify.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ts() { tshark -r "$cap" "${dec[@]}" "$@" 2>/dev/null; }

frames=$(ts | wc -l)
nonlo=$(ts -Y '!((ip.src==127.0.0.0/8 && ip.dst==127.0.0.0/8) || (ipv6.src==::1 && ipv6.dst==::1))' | wc -l)
nontcp=$(ts -Y '!tcp' | wc -l)
echo "### Loopback check"
echo
echo '```'
echo "frames: $frames   non-loopback frames: $nonlo   non-TCP frames: $nontcp   file size: $(stat -c %s "$cap") bytes"
echo '```'
[ "$nonlo" -eq 0 ] || { echo "NON-LOOPBACK TRAFFIC IN $cap" >&2; exit 1; }
echo
echo "### tshark -q -z conv,tcp"
echo
echo '```'
ts -q -z conv,tcp | sed -n '/^====/,$p' | sed -e 's/  *$//'
echo '```'

if [ -n "$streams" ]; then
	/usr/bin/python3 "$(dirname "$0")/streams.py" "$cap" "$tmp/streams" >"$tmp/streams.tsv"
	echo
	echo "### expected.tsv FTP rows vs. whole-connection payloads (tshark follow,tcp,raw)"
	echo
	echo "| command | name | kind | size | TCP stream carrying exactly these bytes |"
	echo "|---|---|---|---:|---|"
	while IFS=$'\t' read -r pr cmd d name sz h kind; do
		[ "$pr" = ftp ] || continue   # HTTP objects are never a whole connection
		m=$(awk -F'\t' -v h="$h" '$5==h {printf "%s#%s %s -> %s", (n++ ? "; " : ""), $1, $2, $3}' "$tmp/streams.tsv")
		echo "| $cmd | \`$name\` | $kind | $sz | ${m:-**none**} |"
	done <"$exp"
fi

for proto in "${protos[@]}"; do
	out=$tmp/$proto
	mkdir -p "$out"
	ts -q --export-objects "$proto,$out" >/dev/null || true
	case $proto in ftp-data) p=ftp ;; *) p=$proto ;; esac
	echo
	echo "### tshark ${dec[*]} --export-objects $proto"
	echo
	echo "(**none** = the exported object is not an expected.tsv object: an error page, an upload"
	echo "reply, a whole multipart body, or the prefix of a truncated transfer.)"
	echo
	echo "| exported as | size | sha256 (first 16) | identical expected.tsv row |"
	echo "|---|---:|---|---|"
	: >"$tmp/matched"
	while read -r f; do
		s=$(stat -c %s "$out/$f")
		h=$(sha256sum "$out/$f" | cut -d' ' -f1)
		row=$(awk -F'\t' -v h="$h" '$6==h {print $2" "$4" ("$7")"; exit}' "$exp")
		[ -n "$row" ] && echo "$h" >>"$tmp/matched"
		echo "| \`$f\` | $s | ${h:0:16} | ${row:-**none**} |"
	done < <(find "$out" -type f -printf '%f\n' | sort)
	echo
	echo "expected.tsv $p rows that tshark did not export identically:"
	echo
	echo '```'
	awk -F'\t' -v p="$p" 'FILENAME==ARGV[1] {m[$1]=1; next} $1==p && !($6 in m) {print $2"\t"$3"\t"$4"\t"$5"\t"$7; n++} END {if (!n) print "(none)"}' \
		"$tmp/matched" "$exp"
	echo '```'
done
