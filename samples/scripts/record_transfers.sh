#!/usr/bin/env bash
# Re-make samples/transfers/*.pcap (+ .log ground truth): data transfers that
# succeed and fail in the classic ways, with real servers (vsftpd, pyftpdlib)
# and real clients (Python ftplib, the raw-socket client record_client.py).
# Run as root:  sudo samples/scripts/record_transfers.sh
#
# Everything runs in a private network namespace "ftx-rec" (its own loopback,
# so port 21 does not collide with anything else on the machine), plus a
# second namespace "ftx-peer" joined by a veth pair (ftx-v0 10.77.0.1 <->
# ftx-v1 10.77.0.2) for the one capture that needs a routed path: a client in
# ftx-peer trying a PASV address that does not exist, whose SYNs are dropped
# (ftx-rec does not forward) and so go unanswered.  Both namespaces are
# removed at the end.
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
NS=ftx-rec PEER=ftx-peer

source "$(dirname "${BASH_SOURCE[0]}")/record_lib.sh"
require_root

if [ "${FTX_IN_NS:-}" != 1 ]; then
    # installs need the network, which the namespaces do not have
    ensure_deps
    teardown() {
        ip netns pids $NS 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns pids $PEER 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del $NS 2>/dev/null || true
        ip netns del $PEER 2>/dev/null || true
    }
    teardown
    trap teardown EXIT
    ip netns add $NS
    ip netns add $PEER
    ip -n $NS link set lo up
    ip -n $PEER link set lo up
    ip link add ftx-v0 netns $NS type veth peer name ftx-v1 netns $PEER
    ip -n $NS addr add 10.77.0.1/24 dev ftx-v0
    ip -n $PEER addr add 10.77.0.2/24 dev ftx-v1
    ip -n $NS link set ftx-v0 up
    ip -n $PEER link set ftx-v1 up
    ip -n $PEER route add default via 10.77.0.1
    ip netns exec $NS sysctl -qw net.ipv4.ip_forward=0
    # one segment per packet on the wire, as a real NIC would show them
    ip netns exec $NS ethtool -K ftx-v0 tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec $PEER ethtool -K ftx-v1 tso off gso off gro off >/dev/null 2>&1 || true
    FTX_IN_NS=1 ip netns exec $NS bash "$0" "$@"
    exit $?
fi

ensure_deps   # (installed above: only sets the server paths)
setup_user
make_workdir
trap cleanup EXIT

OUT="$REPO/samples/transfers"
mkdir -p "$OUT"
rm -f "$OUT"/*.pcap "$OUT"/*.log
# accept_timeout: a passive data connection that never comes gets its 425
# after 5 s (default 60); async_abor_enable: vsftpd watches for ABOR sent as
# urgent data during a transfer (default off: it finishes the file first).
# local_max_rate / FTP_RATE (pyftpdlib's ThrottledDTPHandler): 256 KB/s, so
# the 1 MiB file takes 4 s and ABOR / RST come mid-transfer, not after the
# server has pushed the whole file into socket buffers.
VSFTPD_EXTRA="accept_timeout=5
connect_timeout=5
async_abor_enable=YES
local_max_rate=262144"
export FTP_RATE=262144

# big.bin (1 MiB) for the ABOR and RST captures, next to hello.txt and ro/
make_big() {
    "$PY" -c 'import sys; sys.stdout.buffer.write(bytes(i * 7 % 256 for i in range(1 << 20)))' >"$FTP_HOME/big.bin"
    chown "$FTP_USER:" "$FTP_HOME/big.bin"
}

# tx_ftplib BASE SCENARIO [client options]: record_transfers_client.py
_tx_ftplib() {
    local base=$1 sc=$2; shift 2
    reset_home; make_big
    capture_start "$base.pcap"
    "$PY" "$SCRIPT_DIR/record_transfers_client.py" --active-ports "$ACTIVE_PORTS" \
        --user "$FTP_USER" --password "$FTP_PASS" "$@" "$sc" >"$base.log" || log "client failed for $base"
    capture_stop
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}
tx_ftplib() { with_retry "$1" _tx_ftplib "$@"; }

# tx_raw BASE [ip netns exec NS] -- record_client.py args: the raw client
_tx_raw() {
    local base=$1; shift
    local pre=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
    shift
    reset_home
    capture_start "$base.pcap"
    "${pre[@]}" "$PY" "$SCRIPT_DIR/record_client.py" --active-ports "$ACTIVE_PORTS" "$@" >"$base.log" \
        || log "client exited non-zero for $base"
    capture_stop
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
}
tx_raw() { with_retry "$1" _tx_raw "$@"; }

for srv in vsftpd pyftpdlib; do
    start_server "$srv"
    b="$OUT/$srv"
    tx_ftplib "$b-pasv-retr-ok" retr-pasv
    tx_ftplib "$b-active-retr-stor-ok" active
    tx_ftplib "$b-retr-missing" retr-missing
    tx_ftplib "$b-stor-denied" stor-denied
    tx_ftplib "$b-abor" abor
    tx_ftplib "$b-rst-mid-transfer" rst
    tx_ftplib "$b-port-refused" port-refused
    stop_server
done

# IPv6 (::1): EPSV RETR and LIST, EPRT STOR
for srv in vsftpd pyftpdlib; do
    FTP_BIND=::1
    start_server "$srv"
    tx_ftplib "$OUT/$srv-ipv6-epsv-eprt" ipv6 --host ::1
    stop_server
    FTP_BIND=127.0.0.1
done

# Passive data connection refused: a firewall answers SYNs to the passive
# ports with RST (iptables in this namespace only).
start_server vsftpd
iptables -I INPUT -i lo -p tcp --dport $PASV_LO:$PASV_HI -j REJECT --reject-with tcp-reset
tx_raw "$OUT/vsftpd-pasv-refused" -- --timeout 10 -- "${LOGIN[@]}" "PASV" "RETR hello.txt" "QUIT"
iptables -D INPUT -i lo -p tcp --dport $PASV_LO:$PASV_HI -j REJECT --reject-with tcp-reset
stop_server

# PASV advertises an address nobody has (a NAT/masquerade setting gone
# wrong): the client (in ftx-peer) tries it, its SYNs go unanswered, and the
# server gives up waiting with 425.  Control traffic and the SYNs cross the
# veth, so this one is captured on ftx-v0 (Ethernet frames).  Not retried:
# the unanswered SYNs are a flow without FIN, which record_check.py flags.
FTP_BIND=10.77.0.1 PASV_ADDRESS=10.255.0.1 CAPTURE_IFACE=ftx-v0
start_server vsftpd
_tx_raw "$OUT/vsftpd-pasv-unreachable" ip netns exec $PEER -- --host 10.77.0.1 --timeout 8 -- \
    "${LOGIN[@]}" "PASV" "RETR hello.txt" "QUIT"
stop_server
PASV_ADDRESS=192.0.2.1
start_server pyftpdlib
_tx_raw "$OUT/pyftpdlib-pasv-unreachable" ip netns exec $PEER -- --host 10.77.0.1 --timeout 8 -- \
    "${LOGIN[@]}" "PASV" "RETR hello.txt" "QUIT"
stop_server
FTP_BIND=127.0.0.1 PASV_ADDRESS="" CAPTURE_IFACE=lo

{
    echo "# FTP servers and clients used for samples/transfers (recorded $(date -u +%Y-%m-%d), $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -m))"
    server_version vsftpd
    server_version pyftpdlib
    echo "python-ftplib: Python $("$PY" -c 'import platform;print(platform.python_version())') ftplib"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -2 | tr '\n' ';' | sed 's/;$//; s/;/; /')"
} >"$OUT/VERSIONS.txt"
# README.md: what each capture shows and what ftpcap reports (needs a build)
if [ -x "$REPO/target/release/ftpcap" ]; then
    "$PY" "$SCRIPT_DIR/transfers_readme.py" "$REPO/target/release/ftpcap" "$OUT"
else
    log "no target/release/ftpcap: run cargo build --release, then samples/scripts/transfers_readme.py target/release/ftpcap $OUT"
fi
chown --reference="$REPO" "$OUT"/* 2>/dev/null || true
report_failures || true
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT ($(du -sh "$OUT" | cut -f1))"
