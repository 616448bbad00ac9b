#!/usr/bin/env bash
# Re-make samples/servers/<server>/<misstep>.pcap (+ .log ground truth): how
# vsftpd, proftpd, pure-ftpd and pyftpdlib answer protocol missteps, recorded
# with the raw-socket client on loopback.  Run as root:
#     sudo samples/scripts/record_servers.sh
# Idempotent; SERVERS="vsftpd proftpd" limits the servers.  Also writes
# samples/servers/VERSIONS.txt.
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
source "$(dirname "${BASH_SOURCE[0]}")/record_lib.sh"

require_root
ensure_deps
setup_user
make_workdir
trap cleanup EXIT

OUT="$REPO/samples/servers"
mkdir -p "$OUT"
SERVERS=${SERVERS:-"vsftpd proftpd pure-ftpd pyftpdlib"}

for srv in $SERVERS; do
    d="$OUT/$srv"
    mkdir -p "$d"
    rm -f "$d"/*.pcap "$d"/*.log
    start_server "$srv"
    rec_raw "$d/pass-before-user"      -- "PASS xyz" "${LOGIN[@]}" "QUIT"
    rec_raw "$d/pass-twice"            -- "${LOGIN[@]}" "PASS $FTP_PASS" "QUIT"
    rec_raw "$d/rnto-without-rnfr"     -- "${LOGIN[@]}" "RNTO newname" "QUIT"
    rec_raw "$d/rnfr-other-rnto"       -- "${LOGIN[@]}" "RNFR hello.txt" "PWD" "RNTO x" "QUIT"
    # REST survives NOOP?  The data byte count of the RETR tells (2048 vs 1948).
    rec_raw "$d/rest-then-noop"        -- "${LOGIN[@]}" "TYPE I" "PASV" "REST 100" "NOOP" "RETR hello.txt" "QUIT"
    # no PASV/PORT before RETR; pyftpdlib answers 150 and then waits
    rec_raw "$d/transfer-without-port" --timeout 3 -- "${LOGIN[@]}" "RETR hello.txt" "QUIT"
    rec_raw "$d/port-after-epsv-all"   -- "${LOGIN[@]}" "EPSV ALL" "PORT *" "EPRT *" "PASV" "QUIT"
    rec_raw "$d/pbsz-without-auth"     -- "${LOGIN[@]}" "PBSZ 0" "QUIT"
    rec_raw "$d/prot-without-pbsz"     -- "${LOGIN[@]}" "PROT P" "QUIT"
    rec_raw "$d/host-after-login"      -- "${LOGIN[@]}" "HOST localhost" "QUIT"
    rec_raw "$d/commands-after-quit"   -- "${LOGIN[@]}" "QUIT||NOOP"
    rec_raw "$d/pipelined"             -- "${LOGIN[@]}" "PWD||SYST||HELP||RNTO x" "QUIT"
    rec_raw "$d/help"                  -- "HELP" "${LOGIN[@]}" "HELP" "QUIT"
    rec_raw "$d/help-cmd"              -- "${LOGIN[@]}" "HELP RETR" "QUIT"
    rec_raw "$d/site-help"             -- "${LOGIN[@]}" "SITE HELP" "QUIT"
    stop_server
done

{
    echo "# FTP servers used for samples/servers and samples/real (recorded $(date -u +%Y-%m-%d), $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -m))"
    for srv in vsftpd proftpd pure-ftpd pyftpdlib; do server_version "$srv"; done
    echo "# clients"
    echo "python-ftplib: Python $("$PY" -c 'import platform;print(platform.python_version())') ftplib"
    echo "lftp: $(lftp --version | head -1 | sed 's/ | Copyright.*//')"
    echo "curl: $(curl --version | head -1)"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -1); $(tcpdump --version 2>&1 | sed -n 2p)"
} >"$OUT/VERSIONS.txt"
chown --reference="$REPO" "$OUT/VERSIONS.txt" 2>/dev/null || true

"$PY" "$SCRIPT_DIR/record_readme.py" servers "$OUT"
report_failures || true
log "done: $(find "$OUT" -name '*.pcap' | wc -l) captures in $OUT ($(du -sh "$OUT" | cut -f1))"
