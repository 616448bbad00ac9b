#!/usr/bin/env bash
# Re-make all real-server captures: samples/real/ and samples/servers/.
# Run as root from anywhere:  sudo samples/scripts/record_all.sh
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
[ $# -eq 0 ] || { echo "${0##*/}: takes no arguments, got $1 (see --help)" >&2; exit 2; }
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/record_real.sh"
"$here/record_servers.sh"
