#!/usr/bin/env bash
# Re-make samples/ftps/: FTPS (FTP over TLS) control sessions recorded from
# real servers (vsftpd, ProFTPD mod_tls, Pure-FTPd, pyftpdlib TLS_FTPHandler)
# and clients (Python ftplib via record_ftps_client.py, curl, lftp, openssl
# s_client), explicit (AUTH TLS) and implicit (port 990), TLS 1.2 and 1.3,
# with HELP (214) and sequence errors (503) inside the encrypted channel.
# Run as root:  sudo samples/scripts/record_ftps.sh
# Re-runnable: installs what is missing (tshark too), (re)creates user
# ftptest, overwrites the captures.  ONLY="GLOB..." re-makes only the
# captures whose name matches one of the GLOBs (e.g. ONLY='proftpd-* *-ccc').
#
# Everything runs in a private network namespace "ftps-rec" (its own
# loopback: port 21 and 990 do not collide with anything on the machine),
# removed at the end, and a private mount namespace in which the test user's
# home is a tmpfs (only hello.txt and ro/ in it).  For each capture NAME:
#   NAME.pcap       tcpdump of the control and data connections
#   NAME.keys       the client's TLS key log (NSS format: SSLKEYLOGFILE /
#                   Python keylog_filename), throwaway keys of a local session
#   NAME.log        the client's own "command -> reply code(s)" log
#   NAME.truth.tsv  what tshark decrypts with NAME.keys (ftp rows)
# and README.md, made by ftps_readme.py from tshark (version, cipher suite,
# SNI, alerts, 214/503 rows) and from ftps_truth.py's log == tshark check.
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
NS=ftps-rec

source "$(dirname "${BASH_SOURCE[0]}")/record_lib.sh"
require_root

if [ "${FTPS_IN_NS:-}" != 1 ]; then
    # installs need the network, which the namespace does not have
    ensure_deps
    command -v tshark >/dev/null || { log "apt-get install tshark"; apt_install tshark || { apt-get update -q >/dev/null; apt_install tshark; }; }
    teardown() {
        ip netns pids $NS 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del $NS 2>/dev/null || true
    }
    teardown
    trap teardown EXIT
    ip netns add $NS
    ip -n $NS link set lo up
    # and its own mount namespace, for a private $FTP_HOME (below)
    FTPS_IN_NS=1 ip netns exec $NS unshare -m --propagation private bash "$0" "$@"
    exit $?
fi

ensure_deps   # (installed above: only sets the server paths)
setup_user
# a tmpfs over the test user's home, seen only by this script and its
# servers: other recordings running at the same time (record_*.sh share user
# ftptest) cannot rename or delete hello.txt under our feet
mount -t tmpfs -o mode=755,size=16m ftps-home "$FTP_HOME"
make_workdir
trap cleanup EXIT

OUT="$REPO/samples/ftps"
mkdir -p "$OUT"
ONLY=${ONLY:-*}
# control 21 and 990, passive data ports
CAPTURE_FILTER="tcp and (port 21 or port 990 or portrange $PASV_LO-$PASV_HI)"
CLIENT="$SCRIPT_DIR/record_ftps_client.py"
SNI=ftps.ftpcap.test          # the server name the clients send (SNI)
# Debian's vsftpd 3.0.3 allows one TLS 1.2 suite by default (ssl_ciphers=
# ECDHE-RSA-AES256-GCM-SHA384); HIGH lets the clients choose the others
VSFTPD_TLS12="ssl_ciphers=HIGH"

wanted() {
    local - g
    set -f   # ONLY's globs are matched against capture names, not files
    for g in $ONLY; do case $(basename "$1") in $g) return 0 ;; esac; done
    return 1
}

# the scripted session inside TLS (explicit FTPS): sequence errors, HELP,
# a passive LIST and RETR over TLS data connections
STEPS=("AUTH TLS" "PASS xyz" "USER $FTP_USER" "PASS $FTP_PASS" "HELP" "RNTO newname"
       "PROT P" "PBSZ 0" "PROT P" "LIST" "TYPE I" "RETR hello.txt" "QUIT")

# ftps_check BASE [implicit]: the capture is complete (every flow has SYN and
# FIN/RST, no holes) and, before the AUTH, the log matches the cleartext wire
ftps_check() {
    local base=$1
    if [ "${2-}" = implicit ]; then
        "$PY" "$SCRIPT_DIR/record_check.py" "$base.pcap"
    else
        "$PY" "$SCRIPT_DIR/record_check.py" "$base.pcap" "$base.log"
    fi
}

# ftps_retry BASE KIND CMD...: run CMD until ftps_check is happy (3 tries),
# then write BASE.truth.tsv and compare it with BASE.log
ftps_retry() {
    local base=$1 kind=$2; shift 2
    wanted "$base" || return 0
    server_up
    local try
    for try in 1 2 3; do
        "$@"
        if ftps_check "$base" "$kind" >"$WORK/check.out" 2>&1 && [ "${CAPTURE_DROPPED:-0}" = 0 ]; then
            break
        fi
        log "check failed for $(basename "$base") (try $try): $(head -c 400 "$WORK/check.out")"
        [ $try = 3 ] && CHECK_FAILED+=("$base")
    done
    "$PY" "$SCRIPT_DIR/ftps_truth.py" "$base" || log "WARNING: $(basename "$base"): log and tshark disagree (see above)"
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log" | cut -c1-300)"
}

# ftplib BASE [client options] -- STEP...   (keys in BASE.keys unless --no-keylog)
_ftplib() {
    local base=$1; shift
    local opts=() keys=yes
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ "$1" = --no-keylog ]; then keys=no; else opts+=("$1"); fi
        shift
    done
    shift
    rm -f "$base.keys"
    [ $keys = yes ] && opts+=(--keylog "$base.keys")
    reset_home
    capture_start "$base.pcap"
    "$PY" "$CLIENT" --host 127.0.0.1 --port "$FTP_PORT" "${opts[@]}" -- "$@" >"$base.log" \
        || log "client exited non-zero for $base"
    capture_stop
}
ftplib() { local k=explicit; [ "$FTP_PORT" = 990 ] && k=implicit; ftps_retry "$1" $k _ftplib "$@"; }

# curl BASE URL-PATH [curl options]: curl -v with SSLKEYLOGFILE (NO_KEYLOG=1:
# none), the log from its debug output (record_debuglog.py); --resolve makes
# it send the SNI
_curl() {
    local base=$1 path=$2; shift 2
    local scheme=ftp
    [ "$FTP_PORT" = 990 ] && scheme=ftps
    rm -f "$base.keys"
    reset_home
    capture_start "$base.pcap"
    local keylog=$base.keys
    [ -n "${NO_KEYLOG-}" ] && keylog=/dev/null
    SSLKEYLOGFILE=$keylog curl -v -s -k --max-time 20 --resolve "$SNI:$FTP_PORT:127.0.0.1" \
        -o "$WORK/curl.out" "$@" "$scheme://$FTP_USER:$FTP_PASS@$SNI:$FTP_PORT/$path" \
        2>"$WORK/curl.dbg" || log "curl exited non-zero for $base"
    capture_stop
    "$PY" "$SCRIPT_DIR/record_debuglog.py" curl <"$WORK/curl.dbg" >"$base.log"
    # implicit: say so on the first line, as record_ftps_client.py does
    if [ $scheme = ftps ]; then sed -i '1s/$/ [implicit TLS (curl ftps:\/\/)]/' "$base.log"; fi
    # curl -v does not show its last command (QUIT): add it from the decrypted capture
    "$PY" "$SCRIPT_DIR/ftps_truth.py" --append-trailing "$base"
}
curl_() { local k=explicit; [ "$FTP_PORT" = 990 ] && k=implicit; ftps_retry "$1" $k _curl "$@"; }

# lftp BASE COMMANDS: lftp (GnuTLS, which honours SSLKEYLOGFILE) with
# explicit FTPS forced; the replies to `quote` go to its stdout, not its
# debug log: record_debuglog.py --stdout takes them from there
_lftp() {
    local base=$1 cmds=$2
    rm -f "$base.keys"
    reset_home
    capture_start "$base.pcap"
    SSLKEYLOGFILE="$base.keys" lftp -d -u "$FTP_USER,$FTP_PASS" \
        -e "set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no; set net:max-retries 1; $cmds; bye" \
        "ftp://127.0.0.1:$FTP_PORT" >"$WORK/lftp.out" 2>"$WORK/lftp.dbg" || log "lftp exited non-zero for $base"
    capture_stop
    "$PY" "$SCRIPT_DIR/record_debuglog.py" lftp --password "$FTP_PASS" --stdout "$WORK/lftp.out" \
        <"$WORK/lftp.dbg" >"$base.log"
}
lftp_() { ftps_retry "$1" explicit _lftp "$@"; }

# sclient BASE [s_client options] -- LINE...: openssl s_client -starttls ftp,
# one line a step (0.4 s apart); a line "K" or "k" is not sent but makes
# s_client send a TLS 1.3 KeyUpdate (K: update_requested, the server
# answers with its own).  s_client would take a line starting with Q or R
# for its own commands too: the FTP commands go in lower case.
_sclient() {
    local base=$1; shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    rm -f "$base.keys"
    reset_home
    capture_start "$base.pcap"
    { sleep 0.5; local l; for l in "$@"; do printf '%s\n' "$l"; sleep 0.4; done; sleep 1; } |
        timeout 30 openssl s_client -connect "127.0.0.1:$FTP_PORT" -starttls ftp -servername "$SNI" \
            -quiet -no_ign_eof -crlf -keylogfile "$base.keys" "${opts[@]}" \
            >"$WORK/sclient.out" 2>"$WORK/sclient.err" || true
    capture_stop
    "$PY" "$SCRIPT_DIR/ftps_truth.py" --sclient-log "$WORK/sclient.out" "$base" -- "$@" >"$base.log"
}
sclient() { ftps_retry "$1" explicit _sclient "$@"; }

# write_proftpd_conf from record_lib.sh, plus PROFTPD_TLS_EDIT (a sed script)
eval "lib_$(declare -f write_proftpd_conf)"
PROFTPD_TLS_EDIT=""
write_proftpd_conf() {
    lib_write_proftpd_conf
    [ -z "$PROFTPD_TLS_EDIT" ] || sed -i "$PROFTPD_TLS_EDIT" "$WORK/proftpd.conf"
}

# use_server NAME: the server (with the settings in force now) that the next
# captures need; it is (re)started only when a wanted capture needs it
WANT_SERVER="" RUNNING=""
use_server() { WANT_SERVER="$1|$FTP_PORT|${VSFTPD_EXTRA//$'\n'/,}|$PROFTPD_TLS_EDIT|${FTP_IMPLICIT-}"; }
server_up() {
    [ "$RUNNING" = "$WANT_SERVER" ] && [ -n "$SERVER_PID" ] && return 0
    stop_server
    start_server "${WANT_SERVER%%|*}"
    RUNNING=$WANT_SERVER
}

B="$OUT"
# ------------------------------------------------------------- vsftpd, explicit
VSFTPD_EXTRA=$VSFTPD_TLS12
use_server vsftpd
ftplib "$B/vsftpd-ftplib-tls13-aes256gcm" --sni $SNI -- "${STEPS[@]}"
ftplib "$B/vsftpd-ftplib-tls12-aes128gcm" --sni $SNI --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -- "${STEPS[@]}"
ftplib "$B/vsftpd-ftplib-tls12-aes128cbc-sha256" --sni $SNI --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256 -- "${STEPS[@]}"
# the client refuses the self-signed certificate: TLS 1.3, its alert is
# encrypted under the handshake keys (in NAME.keys)
ftplib "$B/vsftpd-ftplib-tls13-badcert" --sni $SNI --verify -- "AUTH TLS" "USER $FTP_USER" "QUIT"

# require_ssl_reuse=YES: a data connection that does not resume the
# control connection's TLS session gets 522 (and vsftpd ends the session)
VSFTPD_EXTRA="$VSFTPD_TLS12
require_ssl_reuse=YES"
use_server vsftpd
ftplib "$B/vsftpd-ftplib-tls13-reuse-required-522" --sni $SNI -- "${STEPS[@]}"
# the same with resumption (TLS 1.2 session ticket): the data connections work
ftplib "$B/vsftpd-ftplib-tls12-reuse-resumed" --sni $SNI --reuse-session --tls-max 1.2 \
    --ciphers ECDHE-RSA-AES256-GCM-SHA384 -- "${STEPS[@]}"
# curl resumes the session for its data connection (TLS 1.3, PSK)
curl_ "$B/vsftpd-curl-tls13-chacha20-reuse" hello.txt --ssl-reqd --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 \
    -Q HELP -Q '*RNTO x' -Q '*PASS xyz'

# vsftpd's own cipher list (TLS 1.2: ECDHE-RSA-AES256-GCM-SHA384 only): the
# control connection is TLS 1.3, on the data connection the client offers
# only TLS 1.2 with AES-128-GCM, and the server refuses that handshake
VSFTPD_EXTRA=""
use_server vsftpd
ftplib "$B/vsftpd-ftplib-data-handshake-fails" --sni $SNI --data-tls-max 1.2 --data-ciphers ECDHE-RSA-AES128-GCM-SHA256 -- \
    "AUTH TLS" "USER $FTP_USER" "PASS $FTP_PASS" "PBSZ 0" "PROT P" "LIST" "HELP" "QUIT"

# ------------------------------------------------------------- proftpd, explicit
PROFTPD_TLS_EDIT=""     # record_lib.sh: TLSOptions NoSessionReuseRequired
use_server proftpd
ftplib "$B/proftpd-ftplib-tls13-chacha20" --sni $SNI --tls13-ciphersuites TLS_CHACHA20_POLY1305_SHA256 -- "${STEPS[@]}"
ftplib "$B/proftpd-ftplib-tls12-chacha20" --sni $SNI --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 -- "${STEPS[@]}"
# CCC (RFC 4217): after 200 both sides close TLS (close_notify) and the
# rest of the control connection is cleartext; PROT P stays in force
ftplib "$B/proftpd-ftplib-tls13-ccc" --sni $SNI --tls13-ciphersuites TLS_AES_128_GCM_SHA256 -- \
    "AUTH TLS" "USER $FTP_USER" "PASS $FTP_PASS" "HELP" "RNTO newname" "PBSZ 0" "PROT P" "LIST" \
    "CCC" "HELP" "RNTO x" "TYPE I" "RETR hello.txt" "QUIT"
curl_ "$B/proftpd-curl-tls12-aes256gcm-ccc" "" --ssl-reqd --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384 \
    --ftp-ssl-ccc --ftp-ssl-ccc-mode active -Q HELP -Q '*RNTO x'
lftp_ "$B/proftpd-lftp-tls13" "quote HELP; quote RNTO x; ls"
# the client refuses the certificate: TLS 1.2, the alert is in clear (no
# key: the handshake never got to the key exchange)
ftplib "$B/proftpd-ftplib-tls12-badcert" --sni $SNI --verify --tls-max 1.2 -- "AUTH TLS" "USER $FTP_USER" "QUIT"

# ProFTPD's default: data connections must resume the control session
PROFTPD_TLS_EDIT="/NoSessionReuseRequired/d"
use_server proftpd
ftplib "$B/proftpd-ftplib-tls12-reuse-required-425" --sni $SNI --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -- "${STEPS[@]}"
# ... and a client that resumes the session by its ID (no tickets): LIST works
ftplib "$B/proftpd-ftplib-tls12-reuse-sessionid" --sni $SNI --tls-max 1.2 --reuse-session --no-tickets -- \
    "AUTH TLS" "USER $FTP_USER" "PASS $FTP_PASS" "PBSZ 0" "PROT P" "LIST" "QUIT"
PROFTPD_TLS_EDIT=""

# ------------------------------------------------------------- pure-ftpd, explicit
use_server pure-ftpd
ftplib "$B/pure-ftpd-ftplib-tls13-aes128gcm" --sni $SNI --tls13-ciphersuites TLS_AES_128_GCM_SHA256 -- "${STEPS[@]}"
ftplib "$B/pure-ftpd-ftplib-tls12-aes256cbc-sha384" --sni $SNI --tls-max 1.2 --ciphers ECDHE-RSA-AES256-SHA384 -- "${STEPS[@]}"
curl_ "$B/pure-ftpd-curl-tls12-chacha20" "" --ssl-reqd --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 \
    -Q HELP -Q '*RNTO x'
# TLS 1.3 KeyUpdate: s_client sends two (K: update_requested, k: not)
sclient "$B/pure-ftpd-openssl-tls13-keyupdate" -ciphersuites TLS_AES_128_GCM_SHA256 -- \
    "user $FTP_USER" "pass $FTP_PASS" "help" "K" "rnto x" "k" "help" "quit"
# CCC with Pure-FTPd (vsftpd and pyftpdlib answer CCC with 500)
ftplib "$B/pure-ftpd-ftplib-tls12-ccc" --sni $SNI --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -- \
    "AUTH TLS" "PASS xyz" "USER $FTP_USER" "PASS $FTP_PASS" "HELP" "RNTO newname" "PBSZ 0" "PROT P" "LIST" \
    "CCC" "HELP" "RNTO x" "LIST" "QUIT"
# without key logs: what a capture alone shows
ftplib "$B/pure-ftpd-ftplib-tls13-nokeys" --no-keylog --sni $SNI -- "${STEPS[@]}"

# ------------------------------------------------------------- pyftpdlib, explicit
use_server pyftpdlib
ftplib "$B/pyftpdlib-ftplib-tls13-aes256gcm" --sni $SNI -- "${STEPS[@]}"
# RSA key exchange, SHA-1 MAC, MAC-then-encrypt (no encrypt_then_mac)
ftplib "$B/pyftpdlib-ftplib-tls12-aes256cbc-sha1-mte" --sni $SNI --tls-max 1.2 --ciphers AES256-SHA --no-etm -- "${STEPS[@]}"
curl_ "$B/pyftpdlib-curl-tls13-aes128gcm" hello.txt --ssl-reqd --tls13-ciphers TLS_AES_128_GCM_SHA256 \
    -Q HELP -Q '*RNTO x'
# without a key log (curl writes none without SSLKEYLOGFILE)
NO_KEYLOG=1 curl_ "$B/pyftpdlib-curl-tls12-nokeys" "" --ssl-reqd --tls-max 1.2 -Q HELP -Q '*RNTO x'

# ------------------------------------------------------------- implicit FTPS, port 990
FTP_PORT=990
VSFTPD_EXTRA="$VSFTPD_TLS12
implicit_ssl=YES"
use_server vsftpd
ftplib "$B/vsftpd-ftplib-implicit-tls13-aes256gcm" --implicit --sni $SNI -- "${STEPS[@]:1}"
curl_ "$B/vsftpd-curl-implicit-tls12-chacha20" "" --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 \
    -Q HELP -Q '*RNTO x'
export FTP_PORT FTP_IMPLICIT=1      # record_pyftpdlib_server.py: implicit FTPS
use_server pyftpdlib
# AUTH TLS inside implicit TLS: 503 Already using TLS
ftplib "$B/pyftpdlib-ftplib-implicit-tls12-aes256gcm" --implicit --sni $SNI --tls-max 1.2 \
    --ciphers ECDHE-RSA-AES256-GCM-SHA384 -- "${STEPS[@]}"
unset FTP_IMPLICIT
FTP_PORT=21
stop_server

{
    echo "# FTP servers and clients used for samples/ftps (recorded $(date -u +%Y-%m-%d), $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -m))"
    server_version vsftpd
    server_version proftpd
    server_version pure-ftpd
    server_version pyftpdlib
    echo "python-ftplib: Python $("$PY" -c 'import platform;print(platform.python_version())') ftplib, $("$PY" -c 'import ssl;print(ssl.OPENSSL_VERSION)')"
    echo "curl: $(curl --version | head -1)"
    echo "lftp: $(lftp --version | head -1 | tr -s ' |' ' ')($(lftp --version | grep -o 'GnuTLS [0-9.]*' | head -1))"
    echo "openssl: $(openssl version)"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -2 | tr '\n' ';' | sed 's/;$//; s/;/; /')"
    echo "tshark: $(tshark --version | head -1)"
} >"$OUT/VERSIONS.txt"
"$PY" "$SCRIPT_DIR/ftps_readme.py" "$OUT"
chown -R --reference="$REPO" "$OUT" 2>/dev/null || true
report_failures || true
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT ($(du -sh "$OUT" | cut -f1))"
