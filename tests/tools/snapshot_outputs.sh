#!/usr/bin/env bash
# Runs an ftpcap binary over every sample with every report and format and
# writes what it printed (stdout, stderr, exit code, report files) under OUT.
# Two snapshots diffed (`diff -r`) show whether a change altered any output:
#
#   tests/tools/snapshot_outputs.sh OLD_BINARY /tmp/old
#   tests/tools/snapshot_outputs.sh target/release/ftpcap /tmp/new
#   diff -r /tmp/old /tmp/new
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
[ $# -eq 2 ] || { echo "${0##*/}: needs two arguments, BINARY OUT (see --help)" >&2; exit 2; }
set -uo pipefail
BIN=$(realpath "$1"); OUT=$2
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
rm -rf "$OUT"; mkdir -p "$OUT"
run() { # name, args...
    local name=$1; shift
    local d="$OUT/$name"; mkdir -p "$d"
    (cd "$d" && "$BIN" "$@" >stdout 2>stderr; echo $? >rc)
}
n=0
while IFS= read -r f; do
    n=$((n + 1))
    p="$REPO/$f"; k=$(echo "$f" | tr '/' '_')
    run "$k.default" "$p"
    run "$k.all" "$p" --violations --codes 4xx,5xx,214 --transfers t.csv --sessions s.csv -o i.csv
    run "$k.jsonl" "$p" --violations --format jsonl --transfers t.jsonl --sessions s.jsonl
    run "$k.pw" "$p" --show-passwords --detect --overlap last -q
    run "$k.tr1" transcript "$p" --session 1
    run "$k.tr2" transcript "$p" --session 2
done < <(find samples -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' -o -name '*.cap' \) | sort)
run all.j1 "$REPO/samples" -j1 --transfers t.csv --sessions s.csv
run all.j2 "$REPO/samples" -j2 --transfers t.csv --sessions s.csv --violations
run all.small "$REPO/samples" -j1 --max-flows 4 --max-pending 2 --max-line 40 --max-reply-lines 3 --max-buffer 100 --transfers t.csv --sessions s.csv
echo "$n captures snapshotted into $OUT" >&2
