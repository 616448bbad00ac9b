# Helpers sourced by record_real.sh, record_servers.sh and record_transfers.sh (not run on its own).
# shellcheck shell=bash
#
# They install and start the servers, make the test user, run tcpdump and the
# recording clients, and check each capture against its client log.
# Everything runs on loopback: the servers listen on 127.0.0.1:21, passive
# ports 40000-40100, client-side active (PORT/EPRT) ports 41000-41100.
# Needs root (port 21, tcpdump, test user).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1-} in
        -h | --help) awk '!/^#/ { exit } !/^#!|shellcheck/ { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    esac
    echo "${0##*/}: source it from a record_*.sh script; it does nothing when run" >&2
    exit 2
fi

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
PY="${PYTHON:-python3}"

FTP_USER=ftptest
FTP_PASS=s3cret-pass
FTP_HOME=/home/$FTP_USER
FTP_PORT=21
FTP_BIND=127.0.0.1   # start_server listens here (all four servers); ::1 for IPv6 (vsftpd, pyftpdlib only)
PASV_ADDRESS=""      # vsftpd pasv_address / pyftpdlib masquerade_address (default: FTP_BIND)
VSFTPD_EXTRA=""      # extra vsftpd.conf lines
CAPTURE_IFACE=lo     # interface tcpdump listens on
PASV_LO=40000
PASV_HI=40100
ACTIVE_PORTS=41000-41100
# Only FTP traffic: control port, port 20, passive range, client active range.
# (a bare 'tcp' filter would also catch unrelated loopback traffic of other
# programs running on the machine)
CAPTURE_FILTER="tcp and (port $FTP_PORT or port 20 or portrange $PASV_LO-$PASV_HI or portrange $ACTIVE_PORTS)"

# Servers that apt cannot co-install (they all "Conflict: ftp-server") are
# unpacked from their .deb into this directory and run from there.
OPT_SERVERS=/opt/ftpcap-servers

WORK=""
SERVER_PID=""
TCPDUMP_PID=""
CAPTURE_FILE=""
CAPTURE_DROPPED=0
CUR_SERVER=""

log() { printf '[record] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# ---------------------------------------------------------------- deps
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

# unpack_deb DEST PKG... : apt-get download + dpkg-deb -x (no install)
unpack_deb() {
    local dest=$1; shift
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && chmod 777 . && apt-get download -q "$@" >/dev/null 2>&1) \
        || { apt-get update -q >/dev/null; (cd "$tmp" && apt-get download -q "$@" >/dev/null); }
    mkdir -p "$dest"
    local f
    for f in "$tmp"/*.deb; do
        dpkg-deb -x "$f" "$dest"
        echo "$(dpkg-deb -f "$f" Package) $(dpkg-deb -f "$f" Version)" >>"$dest/DEB-VERSIONS"
    done
    rm -rf "$tmp"
}

VSFTPD_BIN="" PROFTPD_BIN="" PROFTPD_MODDIR="" PUREFTPD_BIN=""

ensure_deps() {
    local missing=()
    command -v tcpdump >/dev/null || missing+=(tcpdump)
    command -v lftp >/dev/null || missing+=(lftp)
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v ss >/dev/null || missing+=(iproute2)
    # vsftpd is the one FTP server installed through apt.
    if ! command -v vsftpd >/dev/null && [ ! -x /usr/sbin/vsftpd ]; then missing+=(vsftpd); fi
    if [ ${#missing[@]} -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        apt_install "${missing[@]}" || { apt-get update -q >/dev/null; apt_install "${missing[@]}"; }
    fi
    VSFTPD_BIN=/usr/sbin/vsftpd

    # proftpd / pure-ftpd: use an installed one, else unpack the Debian .debs.
    if [ -x /usr/sbin/proftpd ]; then
        PROFTPD_BIN=/usr/sbin/proftpd; PROFTPD_MODDIR=/usr/lib/proftpd
    else
        if [ ! -x $OPT_SERVERS/proftpd/usr/sbin/proftpd ] || [ ! -f $OPT_SERVERS/proftpd/usr/lib/proftpd/mod_tls.so ]; then
            log "unpacking proftpd-core + proftpd-mod-crypto into $OPT_SERVERS/proftpd"
            apt_install libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libidn2-0 libcap2 libacl1
            unpack_deb $OPT_SERVERS/proftpd proftpd-core proftpd-mod-crypto
        fi
        PROFTPD_BIN=$OPT_SERVERS/proftpd/usr/sbin/proftpd; PROFTPD_MODDIR=$OPT_SERVERS/proftpd/usr/lib/proftpd
    fi
    if [ -x /usr/sbin/pure-ftpd ]; then
        PUREFTPD_BIN=/usr/sbin/pure-ftpd
    else
        if [ ! -x $OPT_SERVERS/pure-ftpd/usr/sbin/pure-ftpd ]; then
            log "unpacking pure-ftpd into $OPT_SERVERS/pure-ftpd"
            apt_install libsodium23 libcap2 libpam0g libssl3
            unpack_deb $OPT_SERVERS/pure-ftpd pure-ftpd
        fi
        PUREFTPD_BIN=$OPT_SERVERS/pure-ftpd/usr/sbin/pure-ftpd
    fi
    if ! "$PY" -c 'import pyftpdlib, OpenSSL' 2>/dev/null; then
        log "pip install pyftpdlib pyopenssl"
        "$PY" -m pip install -q pyftpdlib pyopenssl
    fi
}

server_version() {
    case $1 in
        vsftpd)    echo "vsftpd: vsftpd $(dpkg-query -W -f='${Version}' vsftpd) (Debian 12 package, $VSFTPD_BIN)";;
        proftpd)   echo "proftpd: $("$PROFTPD_BIN" -v 2>&1 | head -1) (Debian 12 package $(deb_version proftpd proftpd-core), $PROFTPD_BIN)";;
        pure-ftpd) echo "pure-ftpd: $("$PUREFTPD_BIN" --help 2>&1 | head -1) (Debian 12 package $(deb_version pure-ftpd pure-ftpd), $PUREFTPD_BIN)";;
        pyftpdlib) echo "pyftpdlib: pyftpdlib $("$PY" -c 'import pyftpdlib;print(pyftpdlib.__ver__)') (PyPI; Python $("$PY" -c 'import platform;print(platform.python_version())'), pyOpenSSL $("$PY" -c 'import OpenSSL;print(OpenSSL.__version__)'))";;
    esac
}
# deb_version DIR PKG: version of an apt-installed or unpacked package
deb_version() {
    local v
    v=$(dpkg-query -W -f='${Version}' "$2" 2>/dev/null || true)
    [ -z "$v" ] && [ -f "$OPT_SERVERS/$1/DEB-VERSIONS" ] && v=$(awk -v p="$2" '$1==p{print $2}' "$OPT_SERVERS/$1/DEB-VERSIONS")
    echo "$2 ${v:-unknown}"
}

# ---------------------------------------------------------------- user / files
setup_user() {
    if ! id "$FTP_USER" >/dev/null 2>&1; then
        useradd -m -d "$FTP_HOME" -s /bin/bash "$FTP_USER"
    fi
    echo "$FTP_USER:$FTP_PASS" | chpasswd
    grep -qx /bin/bash /etc/shells || echo /bin/bash >>/etc/shells
    if [ -f /etc/ftpusers ] && grep -qx "$FTP_USER" /etc/ftpusers; then
        sed -i "/^$FTP_USER\$/d" /etc/ftpusers
    fi
}

# Fresh home for every capture: hello.txt (exactly 2048 bytes) and ro/ (read-only).
reset_home() {
    [ -n "$FTP_HOME" ] && [ "$FTP_HOME" != / ] || die "bad FTP_HOME"
    mkdir -p "$FTP_HOME"
    chmod 755 "$FTP_HOME"
    if [ -d "$FTP_HOME/ro" ]; then chmod 755 "$FTP_HOME/ro"; fi
    find "$FTP_HOME" -mindepth 1 -maxdepth 1 ! -name '.*' -exec rm -rf {} +
    local i
    for i in $(seq -w 1 64); do
        printf 'hello from the ftpcap sample server, line %s of hello.txt ..\n' "$i"
    done >"$FTP_HOME/hello.txt"
    truncate -s 2048 "$FTP_HOME/hello.txt"
    mkdir -p "$FTP_HOME/ro"
    printf 'this directory is read-only\n' >"$FTP_HOME/ro/readme.txt"
    chown -R "$FTP_USER:" "$FTP_HOME"
    chmod 444 "$FTP_HOME/ro/readme.txt"
    chmod 555 "$FTP_HOME/ro"
}

make_workdir() {
    WORK=$(mktemp -d /tmp/ftpcap-record.XXXXXX)
    chmod 755 "$WORK"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
    cat "$WORK/key.pem" "$WORK/cert.pem" >"$WORK/combined.pem"
    chmod 600 "$WORK"/*.pem
    mkdir -p /var/run/vsftpd/empty
}

cleanup() {
    local rc=$?
    [ $rc = 0 ] || log "exiting with status $rc"
    capture_stop_quiet
    stop_server
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit $rc
}

# ---------------------------------------------------------------- servers
port_busy() { ss -Hltn "sport = :$FTP_PORT" | grep -q .; }

wait_listen() {
    local i
    for i in $(seq 1 100); do
        port_busy && return 0
        if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

write_vsftpd_conf() {
    local listen
    if [ "$FTP_BIND" = ::1 ]; then
        listen="listen=NO
listen_ipv6=YES
listen_address6=::1"
    else
        listen="listen=YES
listen_ipv6=NO
listen_address=$FTP_BIND
pasv_address=${PASV_ADDRESS:-$FTP_BIND}"
    fi
    cat >"$WORK/vsftpd.conf" <<EOF
$listen
listen_port=$FTP_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
dirmessage_enable=NO
use_localtime=NO
xferlog_enable=NO
connect_from_port_20=NO
port_enable=YES
pasv_enable=YES
pasv_min_port=$PASV_LO
pasv_max_port=$PASV_HI
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
seccomp_sandbox=NO
vsftpd_log_file=$WORK/vsftpd.log
ssl_enable=YES
rsa_cert_file=$WORK/cert.pem
rsa_private_key_file=$WORK/key.pem
allow_anon_ssl=NO
force_local_data_ssl=NO
force_local_logins_ssl=NO
require_ssl_reuse=NO
$VSFTPD_EXTRA
EOF
}

write_proftpd_conf() {
    cat >"$WORK/proftpd.conf" <<EOF
ServerType              standalone
ServerName              "ftpcap ProFTPD"
Port                    $FTP_PORT
DefaultAddress          $FTP_BIND
SocketBindTight         on
UseIPv6                 off
User                    nobody
Group                   nogroup
Umask                   022
PidFile                 $WORK/proftpd.pid
ScoreboardFile          $WORK/proftpd.scoreboard
DelayTable              $WORK/proftpd.delay
SystemLog               $WORK/proftpd.log
TransferLog             none
WtmpLog                 off
# mod_delay (compiled in) otherwise delays failed-login replies by seconds,
# depending on earlier sessions; off keeps the captures small and deterministic
DelayEngine             off
UseReverseDNS           off
AuthPAM                 off
AuthOrder               mod_auth_unix.c
RequireValidShell       off
PassivePorts            $PASV_LO $PASV_HI
AllowOverwrite          on
ModulePath              $PROFTPD_MODDIR
LoadModule              mod_tls.c
LoadModule              mod_site_misc.c
LoadModule              mod_copy.c
<IfModule mod_tls.c>
  TLSEngine             on
  TLSRequired           off
  TLSRSACertificateFile $WORK/cert.pem
  TLSRSACertificateKeyFile $WORK/key.pem
  TLSLog                $WORK/proftpd-tls.log
  TLSOptions            NoSessionReuseRequired
</IfModule>
<Directory $FTP_HOME/ro>
  <Limit WRITE>
    DenyAll
  </Limit>
</Directory>
EOF
}

# start_server NAME
start_server() {
    local name=$1
    port_busy && die "port $FTP_PORT already in use; stop whatever listens there first"
    CUR_SERVER=$name
    case $name in
        vsftpd)
            write_vsftpd_conf
            "$VSFTPD_BIN" "$WORK/vsftpd.conf" </dev/null >"$WORK/vsftpd.out" 2>&1 &
            ;;
        proftpd)
            write_proftpd_conf
            "$PROFTPD_BIN" -n -q -c "$WORK/proftpd.conf" </dev/null >"$WORK/proftpd.out" 2>&1 &
            ;;
        pure-ftpd)
            # -l unix: /etc/shadow auth; -E: no anonymous; -Y 1: TLS optional; -H: no DNS
            "$PUREFTPD_BIN" -S "$FTP_BIND,$FTP_PORT" -l unix -E -H -4 \
                -p $PASV_LO:$PASV_HI -P "${PASV_ADDRESS:-$FTP_BIND}" -Y 1 -2 "$WORK/combined.pem" \
                </dev/null >"$WORK/pure-ftpd.out" 2>&1 &
            ;;
        pyftpdlib)
            FTP_HOST=$FTP_BIND FTP_MASQ=$PASV_ADDRESS "$PY" "$SCRIPT_DIR/record_pyftpdlib_server.py" "$FTP_HOME" "$WORK/combined.pem" \
                </dev/null >"$WORK/pyftpdlib.out" 2>&1 &
            ;;
        *) die "unknown server $name";;
    esac
    SERVER_PID=$!
    if ! wait_listen; then
        cat "$WORK/$name.out" >&2 || true
        stop_server
        die "$name did not start"
    fi
    log "$name started (pid $SERVER_PID)"
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        log "${CUR_SERVER:-server} stopped"
        SERVER_PID=""
        # wait until the port is free again (session children exit on QUIT)
        for i in $(seq 1 50); do port_busy || break; sleep 0.1; done
    fi
}

# ---------------------------------------------------------------- capture
capture_start() {
    local file=$1
    CAPTURE_FILE=$file
    rm -f "$file"
    : >"$WORK/tcpdump.err"
    # --immediate-mode: with TPACKET_V3 libpcap otherwise holds packets in a
    # kernel block for up to 1 s and a SIGINT before that loses them
    tcpdump -i "$CAPTURE_IFACE" -s 0 -U -n --immediate-mode -w "$file" "$CAPTURE_FILTER" 2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    local i
    for i in $(seq 1 100); do
        grep -q 'listening on' "$WORK/tcpdump.err" && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$WORK/tcpdump.err" >&2
    die "tcpdump did not start"
}

capture_stop() {
    sleep 1.2
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    wait "$TCPDUMP_PID" 2>/dev/null || true
    TCPDUMP_PID=""
    CAPTURE_DROPPED=$(awk '/dropped by kernel/{print $1}' "$WORK/tcpdump.err")
    [ "${CAPTURE_DROPPED:-0}" = 0 ] || log "tcpdump: $CAPTURE_DROPPED packets dropped by kernel"
    # tcpdump drops privileges and leaves the file owned by user tcpdump
    chown --reference="$REPO" "$CAPTURE_FILE" 2>/dev/null || true
}

capture_stop_quiet() {
    if [ -n "$TCPDUMP_PID" ]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
        TCPDUMP_PID=""
    fi
}

# ---------------------------------------------------------------- scenarios
CHECK_FAILED=()

# with_retry BASE CMD...: run CMD (records BASE.pcap + BASE.log) until
# record_check.py is happy: capture complete (no lost segments) and the log
# matches the commands/replies on the wire.  Up to 3 tries.
with_retry() {
    local base=$1; shift
    local try
    for try in 1 2 3; do
        "$@"
        if "$PY" "$SCRIPT_DIR/record_check.py" "$base.pcap" "$base.log" >"$WORK/check.out" 2>&1; then
            [ "${CAPTURE_DROPPED:-0}" = 0 ] && return 0
            echo "tcpdump dropped $CAPTURE_DROPPED packets" >"$WORK/check.out"
        fi
        log "check failed for $(basename "$base") (try $try): $(head -c 400 "$WORK/check.out")"
    done
    log "WARNING: $base.pcap still fails record_check.py"
    CHECK_FAILED+=("$base")
}
rec_raw()      { with_retry "$1" _rec_raw "$@"; }
rec_ftplib()   { with_retry "$1" _rec_ftplib "$@"; }
rec_lftp()     { with_retry "$1" _rec_lftp "$@"; }
rec_curl()     { with_retry "$1" _rec_curl "$@"; }
rec_curl_tls() { with_retry "$1" _rec_curl_tls "$@"; }

report_failures() {
    if [ ${#CHECK_FAILED[@]} -gt 0 ]; then
        log "captures failing record_check.py: ${CHECK_FAILED[*]}"
        return 1
    fi
}
# rec_raw OUTBASE [client options...] -- STEP...
#   OUTBASE.pcap + OUTBASE.log; one STEP per send(), "A||B" = pipelined.
_rec_raw() {
    local base=$1; shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    reset_home
    capture_start "$base.pcap"
    "$PY" "$SCRIPT_DIR/record_client.py" --active-ports "$ACTIVE_PORTS" "${opts[@]}" -- "$@" >"$base.log" \
        || log "client exited non-zero for $base"
    capture_stop
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}

# ftplib: passive RETR hello.txt, active LIST, RETR missing file, QUIT
_rec_ftplib() {
    local base=$1
    reset_home
    capture_start "$base.pcap"
    "$PY" "$SCRIPT_DIR/record_ftplib.py" --active-ports "$ACTIVE_PORTS" \
        --user "$FTP_USER" --password "$FTP_PASS" >"$base.log" || log "ftplib failed for $base"
    capture_stop
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}

# lftp: get hello.txt, ls, bye   (ftp:ssl-allow off so the control channel stays clear text)
_rec_lftp() {
    local base=$1
    reset_home
    rm -f "$WORK/lftp-hello.txt"
    capture_start "$base.pcap"
    lftp -d -u "$FTP_USER,$FTP_PASS" \
        -e "set ftp:ssl-allow no; set ftp:port-range $ACTIVE_PORTS; set net:max-retries 1; set cmd:fail-exit yes; get hello.txt -o $WORK/lftp-hello.txt; ls; bye" \
        "ftp://127.0.0.1:$FTP_PORT" >"$WORK/lftp.out" 2>"$WORK/lftp.dbg" || log "lftp exited non-zero for $base"
    capture_stop
    "$PY" "$SCRIPT_DIR/record_debuglog.py" lftp --password "$FTP_PASS" --pcap "$base.pcap" <"$WORK/lftp.dbg" >"$base.log"
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}

# curl: download hello.txt then a missing file on the same (re-used) connection
_rec_curl() {
    local base=$1
    reset_home
    capture_start "$base.pcap"
    curl -v -s --max-time 20 \
        -o "$WORK/curl-hello.txt" "ftp://$FTP_USER:$FTP_PASS@127.0.0.1:$FTP_PORT/hello.txt" \
        -o "$WORK/curl-missing.txt" "ftp://$FTP_USER:$FTP_PASS@127.0.0.1:$FTP_PORT/no-such-file.txt" \
        2>"$WORK/curl.dbg" || true
    capture_stop
    "$PY" "$SCRIPT_DIR/record_debuglog.py" curl --pcap "$base.pcap" <"$WORK/curl.dbg" >"$base.log"
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}

# curl with explicit FTPS (AUTH TLS): the control channel is encrypted after 234
_rec_curl_tls() {
    local base=$1
    reset_home
    capture_start "$base.pcap"
    curl -v -s -k --ssl-reqd --max-time 20 \
        -o "$WORK/curl-hello.txt" "ftp://$FTP_USER:$FTP_PASS@127.0.0.1:$FTP_PORT/hello.txt" \
        2>"$WORK/curl.dbg" || log "curl (TLS) exited non-zero for $base"
    capture_stop
    "$PY" "$SCRIPT_DIR/record_debuglog.py" curl --pcap "$base.pcap" <"$WORK/curl.dbg" >"$base.log"
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}

LOGIN=("USER $FTP_USER" "PASS $FTP_PASS")
