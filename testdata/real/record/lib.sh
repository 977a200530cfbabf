# shellcheck shell=bash
# Common helpers for the loopback recording scripts.  Source it, do not run it.
#
# Conventions used by every record-*.sh script:
#   CASE       name of the capture directory under testdata/real/
#   OUT        testdata/real/$CASE (capture.pcap, README.md, expected.tsv)
#   WORK       a private temporary directory (servers, logs, originals)
#   run ...    run a client command and log it verbatim into $WORK/commands.log
#   expect ... append one row to expected.tsv, hashing the ORIGINAL file
#
# Traffic goes only to 127.0.0.1 / ::1.  tcpdump listens on "lo" only.

set -euo pipefail
export LC_ALL=C TZ=UTC

REC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REAL_DIR=$(cd "$REC_DIR/.." && pwd)
PY=/usr/bin/python3          # Debian python (has python3-pyftpdlib)

init_case() {
	CASE=$1
	OUT=$REAL_DIR/$CASE
	WORK=$(mktemp -d "/tmp/streamx-rec-$CASE.XXXXXX")
	mkdir -p "$OUT" "$WORK/log"
	: >"$WORK/commands.log"
	: >"$WORK/expected.tsv"
	PIDS=()
	trap cleanup EXIT
	echo "== $CASE (work dir $WORK)"
}

cleanup() {
	local rc=$?
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		echo "!! $CASE failed (rc=$rc); work dir kept: $WORK" >&2
	elif [ -z "${KEEP_WORK:-}" ]; then
		rm -rf "$WORK"
	fi
}

# bg NAME cmd... : start a background process, remember its pid.
bg() {
	local name=$1; shift
	"$@" >"$WORK/log/$name.out" 2>"$WORK/log/$name.err" &
	PIDS+=($!)
	eval "PID_$name=$!"
}

# stop NAME [SIG]: stop one background process started with bg, by pid.
stop() {
	local name=$1 sig=${2:-TERM} pid
	eval "pid=\${PID_$name}"
	kill "-$sig" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_port HOST PORT: wait until a TCP listener accepts on HOST:PORT.
wait_port() {
	local host=$1 port=$2 i
	for i in $(seq 1 100); do
		if $PY - "$host" "$port" <<'PYEOF' 2>/dev/null; then return 0; fi
import socket, sys
ss = [l.split() for l in open('/proc/net/tcp6' if ':' in sys.argv[1] else '/proc/net/tcp')][1:]
port = int(sys.argv[2])
sys.exit(0 if any(int(s[1].split(':')[1], 16) == port and s[3] == '0A' for s in ss) else 1)
PYEOF
		sleep 0.1
	done
	echo "port $host:$port never came up" >&2
	return 1
}

# capture_start FILTER: tcpdump on lo into $WORK/capture.pcap
capture_start() {
	CAP_FILTER=$1
	bg tcpdump tcpdump -i lo -s 0 -U --immediate-mode -n -Z root -w "$WORK/capture.pcap" "$CAP_FILTER"
	local i
	for i in $(seq 1 100); do
		grep -q "listening on" "$WORK/log/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
}

capture_stop() {
	sleep 1.5   # let FIN/ACKs arrive; > libpcap block timeout
	stop tcpdump INT
	cat "$WORK/log/tcpdump.err" >&2
	cp "$WORK/capture.pcap" "$OUT/capture.pcap"
}

# run CMD...: log the exact command line, then run it.  Non-zero exit codes are
# logged, not fatal (several steps are meant to fail: 530, 401, 404, aborts).
run() {
	local q
	q=$(printf '%q ' "$@")
	q=${q//$WORK/\$WORK}
	printf '$ %s\n' "${q% }" >>"$WORK/commands.log"
	local rc=0
	"$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '  (exit status %d)\n' "$rc" >>"$WORK/commands.log"
	fi
	return 0
}

# note TEXT: a comment line in the command log
note() { printf '\n# %s\n' "$*" >>"$WORK/commands.log"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# expect PROTO CMD DIR NAME FILE [KIND]: row from the original FILE.
expect() {
	local proto=$1 cmd=$2 dir=$3 name=$4 file=$5 kind=${6:-file}
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$proto" "$cmd" "$dir" "$name" \
		"$(size "$file")" "$(sha "$file")" "$kind" >>"$WORK/expected.tsv"
}

# same-check A B: abort if two files differ (sanity check of a transfer)
same() {
	if ! cmp -s "$1" "$2"; then
		echo "MISMATCH: $1 vs $2" >&2
		return 1
	fi
}

versions() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || echo "$p (not a Debian package)"
	done
}

finish_expected() { cp "$WORK/expected.tsv" "$OUT/expected.tsv"; }

# write_readme TITLE [VERIFY_ARGS...] < description.md
# README.md = description (stdin) + generated sections: versions, commands,
# expected.tsv, extra notes ($WORK/notes.md) and the tshark verification.
write_readme() {
	local title=$1; shift
	local r=$OUT/README.md
	{
		echo "# $title"
		echo
		cat
		echo
		echo "## Tool versions (Debian 12 packages)"
		echo
		echo '```'
		cat "$WORK/versions.txt"
		echo '```'
		echo
		echo "## Commands (exactly as run by \`record/$(basename "$0")\`)"
		echo
		echo "\`\$WORK\` is the script's temporary directory; \`\$WORK/orig\` holds the originals made by"
		echo "\`record/mkfiles.sh\`. Non-zero exit statuses are expected where noted."
		echo
		echo '```'
		sed '1{/^$/d}' "$WORK/commands.log"
		echo '```'
		echo
		echo "## expected.tsv"
		echo
		echo "Columns (tab-separated, no header): protocol, command, direction (c2s|s2c),"
		echo "name (server path or URL), size, sha256, kind (file|listing|truncated)."
		echo "Sizes and hashes of files come from the originals, not from the capture."
		echo
		echo "| proto | command | dir | name | size | sha256 (first 16) | kind |"
		echo "|---|---|---|---|---:|---|---|"
		awk -F'\t' '{printf "| %s | %s | %s | `%s` | %s | %s | %s |\n", $1, $2, $3, $4, $5, substr($6, 1, 16), $7}' "$OUT/expected.tsv"
		if [ -s "$WORK/notes.md" ]; then
			echo
			echo "## Notes from the recording run"
			echo
			cat "$WORK/notes.md"
		fi
		echo
		echo "## Verification with tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}')"
		echo
		echo "Output of \`record/verify.sh $CASE $*\`:"
		echo
		"$REC_DIR/verify.sh" "$OUT" "$@"
	} >"$r"
}

# mdnote TEXT...: add a line to the generated "Notes" section
mdnote() { printf '%s\n' "$*" >>"$WORK/notes.md"; }

# logfile FILE: include a client script (lftp -f ...) verbatim in the command log
logfile() {
	{
		printf '  --- contents of %s ---\n' "${1//$WORK/\$WORK}"
		sed -e "s|$WORK|\$WORK|g" -e 's/^/  | /' "$1"
	} >>"$WORK/commands.log"
}

# make_originals: $WORK/orig from mkfiles.sh
make_originals() {
	"$REC_DIR/mkfiles.sh" "$WORK/orig" >/dev/null
	ORIG=$WORK/orig
}

# abort_note STREAMDIR ORIGINAL LABEL: find the connection payload that is a
# non-empty proper prefix of ORIGINAL and note its length.
abort_note() {
	local dir=$1 orig=$2 label=$3 f n found=
	for f in "$dir"/*.bin; do
		n=$(stat -c %s "$f")
		[ "$n" -gt 0 ] && [ "$n" -lt "$(size "$orig")" ] || continue
		if cmp -s "$f" <(head -c "$n" "$orig"); then
			found=1
			local b=${f##*/}
			local id=${b%%_*}
			mdnote "- Truncated transfer $label ($(size "$orig") bytes): only $n bytes are in the capture"
			mdnote "  (tshark tcp.stream $id, \`${b%.bin}\`), an exact prefix of the original."
			mdnote "  The data connection ends with: $(tshark -r "$OUT/capture.pcap" -Y "tcp.stream==$id && (tcp.flags.fin==1 || tcp.flags.reset==1)" -T fields -e tcp.srcport -e tcp.dstport -e tcp.flags.str 2>/dev/null | awk '{printf "%s%s->%s %s", (NR>1 ? "; " : ""), $1, $2, $3}')."
		fi
	done
	[ -n "$found" ] || mdnote "- Truncated transfer $label: no prefix of the original found in the capture!"
}
