#!/usr/bin/env bash
# Benchmark ftpcap against a bare pcap-parser walk, cat, tcpdump and tshark.
#
#   bench/run.sh [SIZE]            SIZE of the bulk and mixed captures (default 1G;
#                                  K/M/G = 10^3/10^6/10^9 bytes)
#
# Environment:
#   CONTROL_SESSIONS  minimum sessions in the control-heavy capture (default 40000)
#   CONTROL_SIZE      minimum bytes of the control-heavy capture (default SIZE/5)
#   RUNS              hyperfine runs per command (default 5; tshark always 1)
#   TSHARK=0          skip tshark;  TSHARK_PACKETS=N  run tshark on the first N packets
#   SEED              generator seed (default 5)
#   OUT               scratch directory (default bench/out, git-ignored)
#
# Captures are generated once and reused (delete bench/out to regenerate).
# Results go to $OUT/results-<time>/ and the markdown table to its table.md.
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

SIZE=${1:-1G}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=${OUT:-$HERE/out}
RUNS=${RUNS:-5}
SEED=${SEED:-5}
TSHARK=${TSHARK:-1}
TSHARK_PACKETS=${TSHARK_PACKETS:-0}
CONTROL_SESSIONS=${CONTROL_SESSIONS:-40000}
cd "$REPO"

need() { command -v "$1" >/dev/null 2>&1 || { echo "run.sh: $1 not found ($2)" >&2; exit 1; }; }
need hyperfine "apt-get install -y hyperfine"
need tcpdump "apt-get install -y tcpdump"
need python3 "python3 is needed for the generator and the table"
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }
if [ "$TSHARK" = 1 ] && ! command -v tshark >/dev/null 2>&1; then
    echo "run.sh: tshark not installed, skipping it (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark)" >&2
    TSHARK=0
fi

bytes() { python3 -c "import sys; sys.path.insert(0, '$HERE'); import make_captures as m; print(m.parse_size('$1'))"; }
SIZE_B=$(bytes "$SIZE")
CONTROL_SIZE=${CONTROL_SIZE:-$((SIZE_B / 5))}

echo "== build" >&2
nice -n 5 cargo build --release --quiet --bin ftpcap --example bare_walk
FTPCAP=$REPO/target/release/ftpcap
BARE=$REPO/target/release/examples/bare_walk

mkdir -p "$OUT"
gen() { # name kind size [extra args]
    local name=$1 kind=$2 size=$3; shift 3
    if [ ! -s "$OUT/$name" ]; then
        echo "== generate $name" >&2
        nice -n 5 python3 "$HERE/make_captures.py" --kind "$kind" --size "$size" --seed "$SEED" \
            --out "$OUT" --name "$name.tmp" "$@" >&2
        mv "$OUT/$name.tmp" "$OUT/$name"
    fi
}
BULK=bulk-$SIZE.pcap
BULK2=bulk-2x$SIZE.pcap
BULKB=bulk-$SIZE-b.pcap
CTRL=control-$CONTROL_SESSIONS-$CONTROL_SIZE.pcap
MIXED=mixed-$SIZE.pcapng
gen "$BULK" bulk "$SIZE_B"
gen "$BULK2" bulk "$((2 * SIZE_B))"
SEED=$((SEED + 1)) gen "$BULKB" bulk "$SIZE_B"
gen "$CTRL" control 0 --control-sessions "$CONTROL_SESSIONS" --control-size "$CONTROL_SIZE"
gen "$MIXED" mixed "$SIZE_B"

RES=$OUT/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RES"
MEAS=$RES/measurements.tsv
: >"$MEAS"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ {print $2 " GiB RAM"}')"
    echo "versions: $(rustc --version), $(hyperfine --version), $(tcpdump --version 2>&1 | head -1)$(command -v tshark >/dev/null && echo ", $(tshark --version 2>/dev/null | head -1)")"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RES/machine.txt"

echo "== warm the page cache" >&2
for f in "$BULK" "$BULK2" "$BULKB" "$CTRL" "$MIXED"; do cat "$OUT/$f" >/dev/null; done

packets() { "$BARE" "$1" | awk -F'\t' '{print $2+0}'; }

# measure GROUP FILE(S) TOOL RUNS COMMAND: hyperfine timing; peak RSS from /usr/bin/time -v
# wrapped around the same runs (max over runs). FILE(S) is a space-separated list.
measure() {
    local group=$1 files=$2 tool=$3 runs=$4 cmd=$5
    local tag
    tag=$(echo "$group-$tool" | tr -c 'A-Za-z0-9.-' '_')
    local rss=$RES/$tag.rss
    : >"$rss"
    local warm=1
    [ "$runs" -gt 1 ] || warm=0
    echo "== $group: $tool" >&2
    hyperfine --style basic --warmup "$warm" --runs "$runs" --export-json "$RES/$tag.json" \
        "/usr/bin/time -v -a -o $rss $cmd" >&2
    local size=0 pk=0 f
    for f in $files; do
        size=$((size + $(stat -c %s "$f")))
        pk=$((pk + $(packets "$f")))
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$files" "$size" "$pk" "$tool" "$RES/$tag.json" "$rss" >>"$MEAS"
}

for f in "$BULK" "$CTRL" "$MIXED"; do
    p=$OUT/$f
    measure "$f" "$p" ftpcap "$RUNS" "$FTPCAP --quiet $p -o /dev/null"
    # with data-connection tracking on (transfers report) as well
    measure "$f" "$p" "ftpcap --transfers" "$RUNS" "$FTPCAP --quiet $p -o /dev/null --transfers /dev/null"
    measure "$f" "$p" bare_walk "$RUNS" "$BARE $p"
    measure "$f" "$p" cat "$RUNS" "cat $p > /dev/null"
    measure "$f" "$p" tcpdump "$RUNS" "tcpdump -r $p -w /dev/null 2>/dev/null"
    if [ "$TSHARK" = 1 ]; then
        tp=$p
        if [ "$TSHARK_PACKETS" -gt 0 ]; then
            # a slice of the first N packets; ftpcap is timed on the same slice
            tp=$RES/slice-$TSHARK_PACKETS-$f
            editcap -r "$p" "$tp" "1-$TSHARK_PACKETS"
            cat "$tp" >/dev/null
            measure "$f[slice]" "$tp" ftpcap "$RUNS" "$FTPCAP --quiet $tp -o /dev/null"
            measure "$f[slice]" "$tp" bare_walk "$RUNS" "$BARE $tp"
            measure "$f[slice]" "$tp" tshark 1 "tshark -r $tp -Y 'ftp.response.code == 214 || ftp.response.code == 503' > /dev/null 2>&1"
        else
            measure "$f" "$p" tshark 1 "tshark -r $p -Y 'ftp.response.code == 214 || ftp.response.code == 503' > /dev/null 2>&1"
        fi
    fi
done

# per-byte cost at SIZE and 2xSIZE
measure "scale:$BULK" "$OUT/$BULK" ftpcap "$RUNS" "$FTPCAP --quiet $OUT/$BULK -o /dev/null"
measure "scale:$BULK2" "$OUT/$BULK2" ftpcap "$RUNS" "$FTPCAP --quiet $OUT/$BULK2 -o /dev/null"
measure "scale:$BULK2" "$OUT/$BULK2" bare_walk "$RUNS" "$BARE $OUT/$BULK2"

# one file vs two files, --jobs 1 vs --jobs 2
measure "jobs:1 file" "$OUT/$BULK" "ftpcap --jobs 1" "$RUNS" "$FTPCAP --quiet --jobs 1 $OUT/$BULK -o /dev/null"
measure "jobs:2 files" "$OUT/$BULK $OUT/$BULKB" "ftpcap --jobs 1" "$RUNS" "$FTPCAP --quiet --jobs 1 $OUT/$BULK $OUT/$BULKB -o /dev/null"
measure "jobs:2 files" "$OUT/$BULK $OUT/$BULKB" "ftpcap --jobs 2" "$RUNS" "$FTPCAP --quiet --jobs 2 $OUT/$BULK $OUT/$BULKB -o /dev/null"

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine.txt"
python3 "$HERE/report.py" "$MEAS" | tee "$RES/table.md"
echo "results: $RES" >&2
