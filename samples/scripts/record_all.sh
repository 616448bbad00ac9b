#!/usr/bin/env bash
# Re-make all real-server captures: samples/real/ and samples/servers/.
# Run as root from anywhere:  sudo samples/scripts/record_all.sh
# -h/--help prints the comment above; other options are not taken.
case "${1:-}" in
    -h|--help) sed -n "2,3p" "$0" | sed "s/^# \{0,1\}//"; exit 0 ;;
    -?*) [ -e "$1" ] || { echo "$(basename "$0"): unknown option $1 (see --help)" >&2; exit 2; } ;;
esac
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/record_real.sh"
"$here/record_servers.sh"
