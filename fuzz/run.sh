#!/usr/bin/env bash
# Runs cargo-fuzz targets for a fixed time each and prints a table of
# executions, corpus size and outcome. Used by CI (short runs) and for
# campaigns:  fuzz/run.sh [SECONDS [TARGET...]]   (default: 60 s, every target)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Uses the nightly toolchain
# when rustup has one, else stable with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes
# -Z flags). Seeds from fuzz/seeds/<target>/ are copied into a scratch
# corpus (fuzz/corpus/, git-ignored). Exits 1 if any target found a crash;
# the input is in fuzz/artifacts/<target>/.
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
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^ftpcap-fuzz$'); fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

"${fuzz[@]}" build -O >/dev/null
status=0
printf '| target | seconds | executions | exec/s | corpus | result |\n|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  find "seeds/$t" -type f -exec cp -n {} "corpus/$t/" \;
  log="artifacts/$t.log"
  if "${fuzz[@]}" run -O "$t" "corpus/$t" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/$log)"
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "corpus/$t" -type f | wc -l)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
done
exit $status
