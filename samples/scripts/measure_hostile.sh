#!/usr/bin/env bash
# Runs ftpcap on every hostile capture and prints a markdown table:
# input, size, exit code, rows kept, warnings (kinds and counts from stderr),
# peak RSS, MB/s, and the ratio of seconds-per-byte to a normal capture of
# similar size (samples/real/vsftpd-ftplib.pcap repeated, each copy its own
# session; made by gen_hostile.py --baseline and cached in the scratch dir).
# Times are the fastest of 5 runs (9 above 4 MB), the input's runs
# interleaved with the normal capture's so that the load of the machine
# weighs on both alike.
#
# Usage: samples/scripts/measure_hostile.sh [BIG_DIR]
#   BIG_DIR (default target/hostile-big) holds the big captures made by
#   `python3 samples/scripts/gen_hostile.py --big BIG_DIR`; skipped if absent.
# Needs a release build (cargo build --release) and GNU time (/usr/bin/time).
# -h, --help: print this text and exit.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
args=()
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --) shift; args+=("$@"); break ;;
        -?*) echo "${0##*/}: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) args+=("$1") ;;
    esac
    shift
done
set -- ${args[@]+"${args[@]}"}
[ $# -le 1 ] || { echo "${0##*/}: too many arguments (see --help)" >&2; exit 2; }
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release/ftpcap
BIG=${1:-target/hostile-big}
SCRATCH=${SCRATCH:-target/hostile-baseline}
mkdir -p "$SCRATCH"
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }

now() { date +%s%N; }

# once FILE -> sets ONCE (wall-clock nanoseconds of one run), RC,
# RSS_KB and ERRFILE
once() {
  local f=$1 t0 t1
  ERRFILE=$SCRATCH/stderr.txt
  t0=$(now)
  set +e
  /usr/bin/time -f '%M' -o "$SCRATCH/rss.txt" "$BIN" "$f" >"$SCRATCH/stdout.txt" 2>"$ERRFILE"
  RC=$?
  set -e
  t1=$(now)
  RSS_KB=$(tail -1 "$SCRATCH/rss.txt")
  ONCE=$((t1 - t0))
}

reps_for() { if [ "$1" -lt 4000000 ]; then echo 5; else echo 9; fi; }

# baseline_file SIZE -> prints the normal capture of about SIZE bytes (made once)
baseline_file() {
  local want=$1 bucket=65536 f
  while [ "$bucket" -lt "$want" ]; do bucket=$((bucket * 2)); done
  f=$SCRATCH/baseline-$bucket.pcap
  [ -f "$f" ] || python3 samples/scripts/gen_hostile.py --baseline "$bucket" "$f" >&2
  echo "$f"
}

# measure FILE [BASE] -> SECS (fastest run of FILE) and BASE_SECS (fastest
# of BASE), runs of the two interleaved so that a change in the machine's
# load hits both alike; RC, RSS_KB and ERRFILE from FILE's last run
measure() {
  local f=$1 base=${2:-} reps best= bbest=
  reps=$(reps_for "$(stat -c %s "$f")")
  for _ in $(seq "$reps"); do
    if [ -n "$base" ]; then
      once "$base"
      if [ -z "$bbest" ] || [ "$ONCE" -lt "$bbest" ]; then bbest=$ONCE; fi
    fi
    once "$f"
    if [ -z "$best" ] || [ "$ONCE" -lt "$best" ]; then best=$ONCE; fi
  done
  SECS=$(awk -v n="$best" 'BEGIN { printf "%.6f", n / 1e9 }')
  BASE_SECS=$(awk -v n="${bbest:-0}" 'BEGIN { printf "%.6f", n / 1e9 }')
}

files=(samples/hostile/*.pcap samples/hostile/*.pcapng)
if [ -d "$BIG" ]; then
  for f in "$BIG"/*.pcap "$BIG"/*.pcapng; do [ -f "$f" ] && files+=("$f"); done
fi

echo "| input | size | exit | rows | warnings (stderr) | peak RSS | MB/s | s/byte vs normal |"
echo "|---|---:|---:|---:|---|---:|---:|---:|"
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  size=$(stat -c %s "$f")
  base=
  if [ "$size" -ge 100000 ]; then base=$(baseline_file "$size"); fi
  measure "$f" "$base"
  rows=$(grep -o '[0-9]* row(s)' "$ERRFILE" | tail -1 | cut -d' ' -f1)
  warn=$(sed -n 's/^ftpcap: warnings: //p' "$ERRFILE")
  skipped=$(sed -n 's/^ftpcap: frames skipped: /skipped: /p' "$ERRFILE")
  problem=$({ grep -v -e '^ftpcap: warning' -e '^ftpcap: [0-9]* capture' -e '^ftpcap: frames skipped' "$ERRFILE" || true; } \
    | head -1 | sed -e 's/^ftpcap: [^ ]*: //' -e 's/; stopped reading there//' -e 's/ (analysed the .*//')
  notes=$(printf '%s\n' "$problem" "$warn" "$skipped" | sed '/^$/d' | paste -sd';' | sed -e 's/;/; /g' -e 's/|/\\|/g')
  mbs=$(awk -v n="$size" -v s="$SECS" 'BEGIN { printf "%.1f", n / 1e6 / (s > 0 ? s : 1e-9) }')
  if [ -n "$base" ]; then
    bsize=$(stat -c %s "$base")
    ratio=$(awk -v n="$size" -v s="$SECS" -v bn="$bsize" -v b="$BASE_SECS" 'BEGIN { printf "%.2f", (s / n) / (b / bn) }')
  else
    ratio="n/a (startup-bound, $(awk -v s="$SECS" 'BEGIN { printf "%.1f", s * 1000 }') ms)"
  fi
  printf '| %s | %s | %s | %s | %s | %.1f MiB | %s | %s |\n' \
    "${f#samples/hostile/}" "$size" "$RC" "${rows:-0}" "${notes:-none}" "$(awk -v k="$RSS_KB" 'BEGIN { print k / 1024 }')" \
    "$mbs" "$ratio"
done
