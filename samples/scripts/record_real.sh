#!/usr/bin/env bash
# Re-make samples/real/*.pcap (+ .log ground truth) from real FTP servers and
# clients on loopback.  Run as root:  sudo samples/scripts/record_real.sh
# Idempotent: installs what is missing, (re)creates user ftptest, overwrites
# the captures.  SERVERS="vsftpd pyftpdlib" limits the servers.
#
# Each capture <server>-<scenario>.pcap has a <server>-<scenario>.log next to
# it: one line "command -> reply code(s)" per command, as seen by the client.
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

OUT="$REPO/samples/real"
mkdir -p "$OUT"
SERVERS=${SERVERS:-"vsftpd pyftpdlib proftpd pure-ftpd"}

for srv in $SERVERS; do
    rm -f "$OUT/$srv"-*.pcap "$OUT/$srv"-*.log
    start_server "$srv"
    b="$OUT/$srv"
    rec_raw "$b-help" -- "${LOGIN[@]}" "HELP" "HELP USER" "SITE HELP" "QUIT"
    rec_raw "$b-pass-before-user" -- "PASS xyz" "${LOGIN[@]}" "QUIT"
    rec_raw "$b-rnto-without-rnfr" -- "${LOGIN[@]}" "RNTO newname" "QUIT"
    rec_raw "$b-prot-without-pbsz" -- "${LOGIN[@]}" "PROT P" "PBSZ 0" "QUIT"
    rec_raw "$b-pipelined" -- "${LOGIN[@]}" "PWD||SYST||HELP||RNTO x" "QUIT"
    # transfers: ftplib (passive RETR, active LIST, 550 RETR), lftp, curl
    rec_ftplib "$b-ftplib"
    rec_lftp "$b-lftp"
    rec_curl "$b-curl"
    # explicit FTPS: AUTH TLS -> 234, then the control channel is TLS
    rec_curl_tls "$b-curl-auth-tls"
    stop_server
done

# IPv6 (::1): EPSV / EPRT transfers with the raw client
for srv in $SERVERS; do
    case $srv in vsftpd|pyftpdlib) ;; *) continue;; esac
    FTP_BIND=::1
    start_server "$srv"
    rec_raw "$OUT/$srv-ipv6" --host ::1 -- "${LOGIN[@]}" "EPSV" "NLST" "EPRT *" "LIST" "QUIT"
    stop_server
    FTP_BIND=127.0.0.1
done

"$PY" "$SCRIPT_DIR/record_readme.py" real "$OUT"
report_failures || true
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT ($(du -sh "$OUT" | cut -f1))"
