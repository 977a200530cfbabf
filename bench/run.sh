#!/usr/bin/env bash
# make bench: builds streamx, generates a deterministic capture (default about
# 1 GB: HTTP keep-alive/chunked/gzip/POST, FTP control+data, IPv6, reordered
# and duplicated segments) with the in-repo generator, and measures streamx
# next to tcpflow and tshark (when installed) on the same capture in the same
# run: MB/s of capture, peak RSS, and the ratios the performance issue asks
# for. Machines are noisy: compare ratios, not absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-1G}
WORK=${WORK:-bench/work}
mkdir -p "$WORK"
CAP="$WORK/bench-$SIZE.pcap"
go build -o "$WORK/streamx" ./cmd/streamx
go build -o "$WORK/floor" ./bench/floor
if [ ! -s "$CAP" ]; then
  echo "generating $CAP ($SIZE)..."
  go run ./cmd/streamx-gencap -bench "$CAP" -size "$SIZE" -seed 1 -truth "$WORK/truth-$SIZE.json"
fi
BYTES=$(stat -c %s "$CAP")
echo "capture: $CAP, $BYTES bytes"
cat "$CAP" > /dev/null # warm the page cache so every tool reads from memory

declare -A MBS RSS
run() { # name, command...
  local name=$1; shift
  rm -rf "$WORK/out"
  if ! /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/$name.stdout" 2> "$WORK/$name.stderr"; then
    echo "$name: FAILED (see $WORK/$name.stderr)"; return
  fi
  read -r el rss < "$WORK/time.txt"
  MBS[$name]=$(awk -v b="$BYTES" -v t="$el" 'BEGIN{ if (t<=0) t=0.001; printf "%.0f", b/t/1e6 }')
  RSS[$name]=$(( rss / 1024 ))
  printf "%-28s %8.2fs %7s MB/s %6s MiB peak RSS\n" "$name" "$el" "${MBS[$name]}" "${RSS[$name]}"
}

run floor            "$WORK/floor" "$CAP"
run streamx-flows    "$WORK/streamx" flows -q --json "$CAP"
run streamx-extract  "$WORK/streamx" extract -q --no-report "$CAP" -o "$WORK/out"
run streamx-extract-notranscripts "$WORK/streamx" extract -q --no-report --no-transcripts "$CAP" -o "$WORK/out"
if command -v tcpflow >/dev/null; then
  run tcpflow          tcpflow -r "$CAP" -o "$WORK/out"
  run tcpflow-e-http   tcpflow -e http -r "$CAP" -o "$WORK/out"
else
  echo "tcpflow not installed: no comparison (apt-get install tcpflow)"
fi
if command -v tshark >/dev/null && [ "${TSHARK:-1}" = 1 ]; then
  mkdir -p "$WORK/out"
  run tshark-export-http tshark -r "$CAP" -q --export-objects "http,$WORK/out"
fi
rm -rf "$WORK/out"

ratio() { # a b: MB/s of a over b
  if [ -n "${MBS[$1]:-}" ] && [ -n "${MBS[$2]:-}" ]; then
    awk -v a="${MBS[$1]}" -v b="${MBS[$2]}" 'BEGIN{ printf "%.2fx", a/b }'
  else
    printf "n/a"
  fi
}
echo
echo "ratios (goal in brackets):"
echo "  flows / tcpflow                     $(ratio streamx-flows tcpflow)   [>= 4x]"
echo "  flows / read+decode floor           $(ratio streamx-flows floor)   [>= 0.33x]"
echo "  extract (all) / tcpflow             $(ratio streamx-extract tcpflow)   [>= 1x]"
echo "  extract --no-transcripts / tcpflow -e http  $(ratio streamx-extract-notranscripts tcpflow-e-http)   [>= 3x]"
echo "  extract peak RSS                    ${RSS[streamx-extract]:-n/a} MiB   [< 128 MiB]"
echo
echo "Go benchmarks of the hot units:"
go test -run '^$' -bench . -benchmem ./decode ./flowtable ./assembler ./sink ./filter 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
