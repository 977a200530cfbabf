#!/usr/bin/env bash
# make bench: builds streamx, generates a deterministic capture (default about
# 1 GB: HTTP keep-alive/chunked/gzip/POST, FTP control+data, IPv6, reordered
# and duplicated segments) with the in-repo generator, and measures streamx
# next to tcpflow and tshark (when installed) on the same capture in the same
# run: MB/s of capture, peak RSS, and the ratios the performance issue asks
# for. Machines are noisy: compare ratios, not absolute times.
#
# The output of the full extract run is checked against the generator's
# truth (bench/verify: every file byte-exact, every connection's byte counts
# and transcripts). When streamx has --workers, extract runs with 1 and 2
# workers and the two output folders must be identical (bench/verify -same).
# Ends with the goals table: measured value, goal, PASS/FAIL/SKIP.
#
# Output goes to $WORK, on disk; every run starts after a sync, so that no run
# pays for the writeback of the one before. With MEM=1 (the default when
# /dev/shm has room), the write-heavy runs are also made with their output in
# memory (tmpfs): there the comparison is of CPU, not of the disk.
#
# Environment: SIZE (capture size, default 1G), WORK (default bench/work),
# TSHARK=0 (skip tshark), BIG=1 (also a BIGSIZE=3G capture, same seed:
# extract's peak RSS must stay flat; needs ~3.2 GB for the capture, kept for
# the next run, and ~6 GB for the output, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-1G}
WORK=${WORK:-bench/work}
mkdir -p "$WORK"
CAP="$WORK/bench-$SIZE.pcap"
TRUTH="$WORK/truth-$SIZE.json"
go build -o "$WORK/streamx" ./cmd/streamx
go build -o "$WORK/floor" ./bench/floor
go build -o "$WORK/verify" ./bench/verify
echo "disk: $(df -h "$WORK" | awk 'NR==2{print $4" free of "$2" on "$6}')"

# space KB: is there room for KB more kilobytes in $WORK (with 1 GB spare)?
space() {
  local avail
  avail=$(df -Pk "$WORK" | awk 'NR==2{print $4}')
  if [ "$avail" -lt $(( $1 + 1024 * 1024 )) ]; then
    echo "not enough disk in $WORK: $(( avail / 1024 )) MiB free, need $(( $1 / 1024 + 1024 )) MiB"
    return 1
  fi
}

gen() { # size capture truth
  if [ ! -s "$2" ] || [ ! -s "$3" ]; then
    echo "generating $2 ($1)..."
    go run ./cmd/streamx-gencap -bench "$2" -size "$1" -seed 1 -truth "$3"
  fi
}
gen "$SIZE" "$CAP" "$TRUTH"
BYTES=$(stat -c %s "$CAP")
OUTKB=$(( BYTES / 1024 * 2 )) # an extract output folder: files + transcripts, under 2x the capture
echo "capture: $CAP, $BYTES bytes"
cat "$CAP" > /dev/null # warm the page cache so every tool reads from memory

declare -A MBS RSS EL FAILED
run() { # name, command... (writes into $WORK/out, removed before and after)
  local name=$1; shift
  rm -rf "$WORK/out"
  runkeep "$name" "$@"
  rm -rf "$WORK/out"
}
runkeep() { # name, command...: run and measure; the command's output is kept
  local name=$1; shift
  sync
  if ! /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/$name.stdout" 2> "$WORK/$name.stderr"; then
    FAILED[$name]=1
    echo "$name: FAILED (see $WORK/$name.stderr)"; return 0
  fi
  local el rss
  read -r el rss < "$WORK/time.txt"
  EL[$name]=$el
  MBS[$name]=$(awk -v b="$BYTES" -v t="$el" 'BEGIN{ if (t<=0) t=0.001; printf "%.0f", b/t/1e6 }')
  RSS[$name]=$(( rss / 1024 ))
  printf "%-32s %8.2fs %7s MB/s %6s MiB peak RSS\n" "$name" "$el" "${MBS[$name]}" "${RSS[$name]}"
}

VERIFY="" VERIFY_OK=""
run floor            "$WORK/floor" "$CAP"
run streamx-flows    "$WORK/streamx" flows -q --json "$CAP"
if space "$OUTKB"; then
  rm -rf "$WORK/out-extract"
  runkeep streamx-extract "$WORK/streamx" extract -q --no-report "$CAP" -o "$WORK/out-extract"
  if [ -z "${FAILED[streamx-extract]:-}" ]; then
    # The truth check: every file byte-exact, every connection's transcripts.
    if "$WORK/verify" -truth "$TRUTH" -out "$WORK/out-extract" -transcripts > "$WORK/verify.stdout" 2>&1; then
      VERIFY_OK=1
    fi
    sed 's/^/  /' "$WORK/verify.stdout"
    VERIFY=$(grep '^verify: .* files byte-exact' "$WORK/verify.stdout" | tail -1 | sed 's/^verify: //; s/ (.*//; s/ byte-exact//') || true
    [ -n "$VERIFY" ] || VERIFY="verify failed (see $WORK/verify.stdout)"
  fi
  rm -rf "$WORK/out-extract"
fi
run streamx-extract-notranscripts "$WORK/streamx" extract -q --no-report --no-transcripts "$CAP" -o "$WORK/out"

# --workers: 1 vs 2 for extract (outputs must be identical), 1 vs default
# for flows.
HELP=$("$WORK/streamx" extract --help 2>&1 || true)
WORKERS="" SAME="" SAME_OK=""
if grep -q -- --workers <<< "$HELP"; then
  WORKERS=1
  if space $(( OUTKB * 2 )); then
    rm -rf "$WORK/out-w1" "$WORK/out-w2"
    runkeep streamx-extract-workers1 "$WORK/streamx" extract -q --no-report --workers 1 "$CAP" -o "$WORK/out-w1"
    runkeep streamx-extract-workers2 "$WORK/streamx" extract -q --no-report --workers 2 "$CAP" -o "$WORK/out-w2"
    if [ -z "${FAILED[streamx-extract-workers1]:-}${FAILED[streamx-extract-workers2]:-}" ]; then
      if "$WORK/verify" -same "$WORK/out-w1" "$WORK/out-w2" > "$WORK/verify-same.stdout" 2>&1; then
        SAME_OK=1 SAME=IDENTICAL
      else
        SAME=DIFFERENT
      fi
      sed 's/^/  /' "$WORK/verify-same.stdout"
    fi
    rm -rf "$WORK/out-w1" "$WORK/out-w2"
  fi
  if "$WORK/streamx" flows --help 2>&1 | grep -c -- --workers > /dev/null; then
    run streamx-flows-workers1 "$WORK/streamx" flows -q --json --workers 1 "$CAP"
  else
    echo "streamx flows has no --workers flag: flows --workers 1 skipped"
  fi
else
  echo "streamx has no --workers flag: worker runs skipped"
fi

if command -v tcpflow >/dev/null; then
  if space "$OUTKB"; then
    run tcpflow          tcpflow -r "$CAP" -o "$WORK/out"
    run tcpflow-e-http   tcpflow -e http -r "$CAP" -o "$WORK/out"
  fi
else
  echo "tcpflow not installed: no comparison (apt-get install tcpflow)"
fi
if command -v tshark >/dev/null && [ "${TSHARK:-1}" = 1 ]; then
  rm -rf "$WORK/out"; mkdir -p "$WORK/out"
  runkeep tshark-export-http tshark -r "$CAP" -q --export-objects "http,$WORK/out"
  rm -rf "$WORK/out"
fi

# MEM=1: the write-heavy runs again with their output in memory (tmpfs).
SHM=${SHM:-/dev/shm/streamx-bench}
if [ "${MEM:-auto}" != 0 ] && [ -d "$(dirname "$SHM")" ] && \
   [ "$(df -Pk "$(dirname "$SHM")" | awk 'NR==2{print $4}')" -gt $(( OUTKB * 2 )) ]; then
  MEMRUN=1
  mrun() { # name, command... with $SHM/out as the output
    local name=$1; shift
    rm -rf "$SHM"; mkdir -p "$SHM"
    runkeep "$name" "$@"
    rm -rf "$SHM"
  }
  echo "in memory ($SHM):"
  mrun mem-streamx-extract "$WORK/streamx" extract -q --no-report "$CAP" -o "$SHM/out"
  mrun mem-streamx-extract-notranscripts "$WORK/streamx" extract -q --no-report --no-transcripts "$CAP" -o "$SHM/out"
  mrun mem-streamx-extract-workers1 "$WORK/streamx" extract -q --no-report --workers 1 "$CAP" -o "$SHM/out"
  if command -v tcpflow >/dev/null; then
    mrun mem-tcpflow tcpflow -r "$CAP" -o "$SHM/out"
    mrun mem-tcpflow-e-http tcpflow -e http -r "$CAP" -o "$SHM/out"
  fi
fi

# BIG=1: the same mix at BIGSIZE (3G); extract's peak RSS must not grow
# with the capture (within ~10%).
BIGSIZE=${BIGSIZE:-3G}
BIGRSS=""
if [ "${BIG:-0}" = 1 ] && [ "$SIZE" != "$BIGSIZE" ]; then
  BIGCAP="$WORK/bench-$BIGSIZE.pcap" BIGTRUTH="$WORK/truth-$BIGSIZE.json"
  if [ -s "$BIGCAP" ] || space $(( $(numfmt --from=iec "${BIGSIZE^^}") / 1024 * 11 / 10 )); then
    gen "$BIGSIZE" "$BIGCAP" "$BIGTRUTH"
    BIGBYTES=$(stat -c %s "$BIGCAP")
    if space $(( BIGBYTES / 1024 * 2 )); then
      cat "$BIGCAP" > /dev/null
      rm -rf "$WORK/out-big"
      SAVEBYTES=$BYTES BYTES=$BIGBYTES
      runkeep "streamx-extract-$BIGSIZE" "$WORK/streamx" extract -q --no-report "$BIGCAP" -o "$WORK/out-big"
      BYTES=$SAVEBYTES
      BIGRSS=${RSS[streamx-extract-$BIGSIZE]:-}
      if [ -n "$BIGRSS" ]; then
        "$WORK/verify" -truth "$BIGTRUTH" -out "$WORK/out-big" -transcripts 2>&1 | tail -1 | sed "s/^verify:/  verify ($BIGSIZE):/" || true
      fi
      rm -rf "$WORK/out-big"
    fi
  fi
fi

echo
echo "Go benchmarks of the hot units:"
go test -run '^$' -bench . -benchmem ./decode ./flowtable ./assembler ./sink ./filter ./extractors/httpx ./transcript ./extractors/content 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true

# The goals table.
ALLPASS=1
row() { # goal, measured, target, verdict
  printf "  %-44s %-42s %-10s %s\n" "$1" "$2" "$3" "$4"
  [ "$4" = PASS ] || [ "$4" = SKIP ] || ALLPASS=0
}
ratio_row() { # goal, a, b, min: time(b)/time(a) = MB/s(a)/MB/s(b) >= min
  local goal=$1 a=$2 b=$3 want=$4
  if [ -n "${FAILED[$a]:-}" ] || [ -n "${FAILED[$b]:-}" ]; then
    row "$goal" "run failed" ">= ${want}x" FAIL
  elif [ -z "${EL[$a]:-}" ] || [ -z "${EL[$b]:-}" ]; then
    row "$goal" "not run" ">= ${want}x" SKIP
  else
    local r
    r=$(awk -v a="${EL[$a]}" -v b="${EL[$b]}" 'BEGIN{ if (a<=0) a=0.001; printf "%.2f", b/a }')
    row "$goal" "${r}x (${MBS[$a]} vs ${MBS[$b]} MB/s)" ">= ${want}x" \
      "$(awk -v r="$r" -v w="$want" 'BEGIN{ print (r >= w) ? "PASS" : "FAIL" }')"
  fi
}
echo
echo "goals ($SIZE capture, $(nproc) CPUs):"
printf "  %-44s %-42s %-10s %s\n" goal measured target result
ratio_row "flows / tcpflow"                            streamx-flows tcpflow 4
ratio_row "flows / read+decode floor"                  streamx-flows floor 0.33
ratio_row "extract (all) / tcpflow"                    streamx-extract tcpflow 1
ratio_row "extract --no-transcripts / tcpflow -e http" streamx-extract-notranscripts tcpflow-e-http 3
if [ -n "${FAILED[streamx-extract]:-}" ]; then
  row "extract peak RSS" "run failed" "< 128 MiB" FAIL
elif [ -n "${RSS[streamx-extract]:-}" ]; then
  row "extract peak RSS" "${RSS[streamx-extract]} MiB" "< 128 MiB" "$([ "${RSS[streamx-extract]}" -lt 128 ] && echo PASS || echo FAIL)"
else
  row "extract peak RSS" "not run" "< 128 MiB" SKIP
fi
if [ -n "$WORKERS" ]; then
  ratio_row "extract --workers 2 / --workers 1"        streamx-extract-workers2 streamx-extract-workers1 1.6
  if [ -n "$SAME" ]; then
    row "extract --workers 1 and 2 outputs identical" "$SAME" "identical" "$([ -n "$SAME_OK" ] && echo PASS || echo FAIL)"
  else
    row "extract --workers 1 and 2 outputs identical" "not compared" "identical" FAIL
  fi
else
  row "extract --workers 2 / --workers 1" "no --workers flag" ">= 1.6x" SKIP
  row "extract --workers 1 and 2 outputs identical" "no --workers flag" "identical" SKIP
fi
if [ -n "$VERIFY" ]; then
  row "extract output byte-exact vs truth" "$VERIFY" "all" "$([ -n "$VERIFY_OK" ] && echo PASS || echo FAIL)"
else
  row "extract output byte-exact vs truth" "not verified" "all" FAIL
fi
if [ -n "$BIGRSS" ] && [ -n "${RSS[streamx-extract]:-}" ]; then
  row "extract peak RSS, $BIGSIZE vs $SIZE capture" "$BIGRSS vs ${RSS[streamx-extract]} MiB" "<= +10%" \
    "$(awk -v a="$BIGRSS" -v b="${RSS[streamx-extract]}" 'BEGIN{ print (a <= b * 1.10) ? "PASS" : "FAIL" }')"
elif [ "${BIG:-0}" = 1 ]; then
  row "extract peak RSS, $BIGSIZE vs $SIZE capture" "not measured" "<= +10%" FAIL
fi
if [ -n "${MEMRUN:-}" ]; then
  echo "  with the output in memory (tmpfs: CPU, not the disk):"
  ratio_row "  extract (all) / tcpflow"                    mem-streamx-extract mem-tcpflow 1
  ratio_row "  extract --no-transcripts / tcpflow -e http" mem-streamx-extract-notranscripts mem-tcpflow-e-http 3
  ratio_row "  extract --workers 2 / --workers 1"          mem-streamx-extract mem-streamx-extract-workers1 1.6
fi
if [ -n "${EL[streamx-flows-workers1]:-}" ]; then
  echo "  (info) flows default / flows --workers 1: $(awk -v a="${EL[streamx-flows]:-0}" -v b="${EL[streamx-flows-workers1]:-0}" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", b/a; else print "n/a" }')"
fi
[ "$ALLPASS" = 1 ] && echo "  all goals met" || echo "  some goals not met"
