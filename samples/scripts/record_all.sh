#!/usr/bin/env bash
# Re-make all real-server captures: samples/real/ and samples/servers/.
# Run as root from anywhere:  sudo samples/scripts/record_all.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/record_real.sh"
"$here/record_servers.sh"
