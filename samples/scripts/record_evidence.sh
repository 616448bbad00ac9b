#!/usr/bin/env bash
# Re-make samples/evidence/: FTP control traffic "as it really arrives" (issue
# 13): snaplen-cut, merged two-tap, impaired-network (tc netem) and reordered
# captures of real servers (vsftpd, ProFTPD, Pure-FTPd, pyftpdlib) driven by
# the raw-socket client record_client.py, with the client's log (NAME.log)
# and a ground-truth file (NAME.truth.tsv, from tshark) next to every capture.
# Run as root:  sudo samples/scripts/record_evidence.sh [options]
#
# Three network namespaces joined by two veth pairs, so frames have Ethernet
# headers and every packet crosses a router:
#   ev-cli  ev-c0 10.88.1.2  <->  ev-m0 10.88.1.1  ev-mid  ev-m1 10.88.2.1
#   <->  ev-s0 10.88.2.2  ev-srv  (the FTP server, port 21)
# The client tap is tcpdump on ev-c0, the server tap tcpdump on ev-s0; netem
# impairs the router's two egress interfaces (both directions).  Nothing
# leaves the namespaces; they are removed at the end.  Re-runnable: each
# condition's folder is emptied and made again.
#
# Options:
#   --conditions LIST  comma-separated subset of snaplen-cut,merged,impaired,
#                      reordered (default: all four)
#   --servers LIST     comma-separated subset of vsftpd,proftpd,pure-ftpd,
#                      pyftpdlib (default: all four)
#   --out DIR          output folder (default: samples/evidence)
#   --impair-with HOW  netem (tc qdisc netem), user (evidence_impair.py, a
#                      user-space router applying the same netem words) or
#                      auto (default: netem if the kernel has it, else user)
#   --no-truth         record only; do not (re)write the .truth.tsv files
#   -h, --help         print this text
set -euo pipefail

usage() { sed -n "2,28p" "$0" | sed "s/^# \{0,1\}//"; }
ARGS=("$@")
CONDITIONS="snaplen-cut,merged,impaired,reordered"
SERVER_LIST="vsftpd,proftpd,pure-ftpd,pyftpdlib"
OUT_ARG=""
TRUTH=1
IMPAIR_WITH=auto
while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --conditions) [ $# -ge 2 ] || { echo "--conditions needs a value" >&2; exit 2; }; CONDITIONS=$2; shift 2 ;;
        --conditions=*) CONDITIONS=${1#*=}; shift ;;
        --servers) [ $# -ge 2 ] || { echo "--servers needs a value" >&2; exit 2; }; SERVER_LIST=$2; shift 2 ;;
        --servers=*) SERVER_LIST=${1#*=}; shift ;;
        --out) [ $# -ge 2 ] || { echo "--out needs a value" >&2; exit 2; }; OUT_ARG=$2; shift 2 ;;
        --out=*) OUT_ARG=${1#*=}; shift ;;
        --impair-with) [ $# -ge 2 ] || { echo "--impair-with needs a value" >&2; exit 2; }; IMPAIR_WITH=$2; shift 2 ;;
        --impair-with=*) IMPAIR_WITH=${1#*=}; shift ;;
        --no-truth) TRUTH=0; shift ;;
        *) echo "$(basename "$0"): unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $IMPAIR_WITH in netem|user|auto) ;; *) echo "--impair-with: netem, user or auto" >&2; exit 2 ;; esac
for c in ${CONDITIONS//,/ }; do
    case $c in snaplen-cut|merged|impaired|reordered) ;; *) echo "unknown condition $c" >&2; exit 2 ;; esac
done
for s in ${SERVER_LIST//,/ }; do
    case $s in vsftpd|proftpd|pure-ftpd|pyftpdlib) ;; *) echo "unknown server $s" >&2; exit 2 ;; esac
done

source "$(dirname "${BASH_SOURCE[0]}")/record_lib.sh"
require_root
OUT=${OUT_ARG:-$REPO/samples/evidence}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

NS_CLI=ev-cli NS_MID=ev-mid NS_SRV=ev-srv
CLI_IP=10.88.1.2 SRV_IP=10.88.2.2

if [ "${EV_IN_NS:-}" != 1 ]; then
    # installs need the network, which the namespaces do not have
    ensure_deps
    command -v tshark >/dev/null && command -v mergecap >/dev/null && command -v editcap >/dev/null \
        || { log "apt-get install tshark wireshark-common"; apt_install tshark wireshark-common; }
    command -v ethtool >/dev/null || apt_install ethtool
    teardown() {
        local ns
        for ns in $NS_CLI $NS_MID $NS_SRV; do
            ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true
            ip netns del $ns 2>/dev/null || true
        done
    }
    teardown
    trap teardown EXIT
    for ns in $NS_CLI $NS_MID $NS_SRV; do ip netns add $ns; ip -n $ns link set lo up; done
    ip link add ev-c0 netns $NS_CLI type veth peer name ev-m0 netns $NS_MID
    ip link add ev-s0 netns $NS_SRV type veth peer name ev-m1 netns $NS_MID
    ip -n $NS_CLI addr add $CLI_IP/24 dev ev-c0
    ip -n $NS_MID addr add 10.88.1.1/24 dev ev-m0
    ip -n $NS_MID addr add 10.88.2.1/24 dev ev-m1
    ip -n $NS_SRV addr add $SRV_IP/24 dev ev-s0
    for pair in $NS_CLI:ev-c0 $NS_MID:ev-m0 $NS_MID:ev-m1 $NS_SRV:ev-s0; do
        ns=${pair%%:*} dev=${pair#*:}
        ip -n "$ns" link set "$dev" up
        # one TCP segment per frame, as a real NIC puts them on the wire, with
        # its checksums computed (evidence_impair.py forwards frames as read)
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
    done
    ip -n $NS_CLI route add default via 10.88.1.1
    ip -n $NS_SRV route add default via 10.88.2.1
    ip netns exec $NS_MID sysctl -qw net.ipv4.ip_forward=1
    EV_IN_NS=1 ip netns exec $NS_SRV bash "$0" "${ARGS[@]}"
    if [ $TRUTH = 1 ]; then
        log "ground truth (tshark) for every capture"
        "$PY" "$SCRIPT_DIR/evidence_truth.py" "$OUT"
    fi
    chown -R --reference="$REPO" "$OUT" 2>/dev/null || true
    log "done: $(find "$OUT" -name '*.pcap*' | wc -l) captures in $OUT ($(du -sh "$OUT" | cut -f1))"
    exit 0
fi

# ------------------------------------------------------------ inside ev-srv
ensure_deps   # (installed above: only sets the server paths)
setup_user
make_workdir
FTP_BIND=$SRV_IP
CAPS=()       # pids of the running tcpdumps
CAP_FILES=()

ev_cleanup() {
    local rc=$?
    local p
    for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    impair_clear
    stop_server
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit $rc
}
trap ev_cleanup EXIT

# cap_start NS IFACE SNAPLEN FILE: one more tcpdump (-Z root: the file is
# written as root, not as user tcpdump)
cap_start() {
    local ns=$1 dev=$2 snap=$3 file=$4 n=${#CAPS[@]}
    rm -f "$file"
    : >"$WORK/tcpdump.$n.err"
    ip netns exec "$ns" tcpdump -i "$dev" -s "$snap" -U -n --immediate-mode -Z root -w "$file" \
        "$CAPTURE_FILTER" 2>"$WORK/tcpdump.$n.err" &
    CAPS+=($!)
    CAP_FILES+=("$file")
    local i
    for i in $(seq 1 100); do
        grep -q 'listening on' "$WORK/tcpdump.$n.err" && return 0
        sleep 0.05
    done
    cat "$WORK/tcpdump.$n.err" >&2
    die "tcpdump on $ns/$dev did not start"
}
# cap_stop [SECONDS]: stop every tcpdump after SECONDS (default 1.2) of quiet;
# fails if one of them dropped packets
cap_stop() {
    sleep "${1:-1.2}"
    local p n=0 dropped=0 d
    for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${CAPS[@]}"; do
        wait "$p" 2>/dev/null || true
        d=$(awk '/dropped by kernel/{print $1}' "$WORK/tcpdump.$n.err")
        [ "${d:-0}" = 0 ] || { log "tcpdump ${CAP_FILES[$n]}: $d packets dropped by kernel"; dropped=1; }
        n=$((n + 1))
    done
    CAPS=() CAP_FILES=()
    return $dropped
}

# impair_set WORDS...: the same netem impairment on both router egresses.
# With sch_netem in the kernel: tc qdisc ... netem.  Without it (the kernel
# the checked-in evidence was recorded on has no CONFIG_NET_SCH_NETEM):
# ev-mid's IP forwarding is switched off and evidence_impair.py routes
# between ev-m0 and ev-m1 in user space, applying the same netem words.
IMPAIR_PID="" IMPAIR_HOW=""
have_netem() {
    ip netns exec $NS_MID tc qdisc replace dev ev-m0 root netem delay 0ms 2>/dev/null || return 1
    ip netns exec $NS_MID tc qdisc del dev ev-m0 root 2>/dev/null || true
}
impair_set() {
    if [ "$IMPAIR_WITH" = netem ] || { [ "$IMPAIR_WITH" = auto ] && have_netem; }; then
        IMPAIR_HOW=netem
        local dev
        for dev in ev-m0 ev-m1; do ip netns exec $NS_MID tc qdisc replace dev $dev root netem "$@"; done
        return
    fi
    IMPAIR_HOW=evidence_impair.py
    ip netns exec $NS_MID sysctl -qw net.ipv4.ip_forward=0
    : >"$WORK/impair.err"
    ip netns exec $NS_MID "$PY" "$SCRIPT_DIR/evidence_impair.py" \
        --a ev-m0 --a-host $CLI_IP --a-mac "$(ip netns exec $NS_CLI cat /sys/class/net/ev-c0/address)" \
        --b ev-m1 --b-host $SRV_IP --b-mac "$(ip netns exec $NS_SRV cat /sys/class/net/ev-s0/address)" \
        --seed "$RANDOM" -- "$@" 2>"$WORK/impair.err" &
    IMPAIR_PID=$!
    local i
    for i in $(seq 1 100); do
        grep -q forwarding "$WORK/impair.err" && return 0
        sleep 0.05
    done
    cat "$WORK/impair.err" >&2
    die "evidence_impair.py did not start"
}
# impair_clear: back to a clean router; IMPAIR_STATS says what was done
impair_clear() {
    local dev
    IMPAIR_STATS=""
    for dev in ev-m0 ev-m1; do ip netns exec $NS_MID tc qdisc del dev $dev root 2>/dev/null || true; done
    if [ -n "$IMPAIR_PID" ]; then
        kill -TERM "$IMPAIR_PID" 2>/dev/null || true
        wait "$IMPAIR_PID" 2>/dev/null || true
        IMPAIR_PID=""
        IMPAIR_STATS=$(sed -n 's/^evidence_impair: \(.*forwarded.*\)$/\1/p' "$WORK/impair.err")
        ip netns exec $NS_MID sysctl -qw net.ipv4.ip_forward=1
    fi
}

# The scripted session: 40 commands, ten HELP-type commands (214) and eight
# or so that draw a 503 on most servers (PASS before USER, RNTO without
# RNFR, PROT and PBSZ without AUTH, RNTO after RNFR+NOOP), a rename, two
# passive transfers and one pipelined group of three.
SESSION=(
    "PASS early-pass" "USER $FTP_USER" "PASS $FTP_PASS"
    "HELP" "SYST" "RNTO nowhere.txt" "PWD" "HELP USER" "TYPE I"
    "PROT P" "PBSZ 0" "NOOP" "RNFR hello.txt" "RNTO renamed.txt"
    "RNTO renamed-again.txt" "SITE HELP" "PASV" "RETR renamed.txt"
    "HELP RETR" "CWD ro" "PWD" "RNTO ro-target.txt" "CDUP"
    "MKD newdir" "RMD newdir" "STAT" "HELP NOOP"
    "HELP||RNTO pipelined.txt||NOOP"
    "REST 100" "RNFR renamed.txt" "NOOP" "RNTO back.txt"
    "TYPE A" "PASV" "LIST" "SIZE renamed.txt" "HELP SITE"
    "RNTO final.txt" "QUIT"
)

# session LOG: one scripted session from ev-cli, its log to LOG
session() {
    reset_home
    ip netns exec $NS_CLI "$PY" "$SCRIPT_DIR/record_client.py" --host $SRV_IP \
        --active-ports "$ACTIVE_PORTS" -- "${SESSION[@]}" >"$1" || log "client exited non-zero for $1"
}

# lftp_session LOG PCAP: lftp 4.9 (a real client: FEAT, OPTS, EPSV/PASV, its
# own command order) with quoted HELP / RNTO / PROT among two transfers; its
# `-d` output turned into the log format by record_debuglog.py (the replies
# to `quote` commands are in what lftp printed, not in its -d output)
LFTP_SCRIPT="set ftp:ssl-allow no; set net:max-retries 2; set cmd:fail-exit no; \
quote HELP; quote RNTO nowhere.txt; quote HELP USER; get hello.txt -o WORKDIR/lftp-hello.txt; \
quote PROT P; quote SITE HELP; ls; quote RNTO x; quote HELP RETR; quote PBSZ 0; quote HELP; bye"
lftp_session() {
    reset_home
    rm -f "$WORK/lftp-hello.txt"
    ip netns exec $NS_CLI lftp -d -u "$FTP_USER,$FTP_PASS" -e "${LFTP_SCRIPT//WORKDIR/$WORK}" \
        "ftp://$SRV_IP:$FTP_PORT" >"$WORK/lftp.out" 2>"$WORK/lftp.dbg" || log "lftp exited non-zero for $1"
    LFTP_LOG=$1
}
# lftp_log PCAP: write LFTP_LOG from lftp's debug output (after cap_stop)
lftp_log() {
    "$PY" "$SCRIPT_DIR/record_debuglog.py" lftp --password "$FTP_PASS" --quote-output "$WORK/lftp.out" \
        --pcap "$1" <"$WORK/lftp.dbg" >"$LFTP_LOG"
}

# check PCAP LOG: record_check.py (capture complete, log matches the wire)
check() {
    "$PY" "$SCRIPT_DIR/record_check.py" "$1" "$2" >"$WORK/check.out" 2>&1 && return 0
    log "check failed for $(basename "$1"): $(head -c 400 "$WORK/check.out")"
    return 1
}
FAILED=()
# retry NAME CMD...: CMD until it succeeds, 3 tries
retry() {
    local name=$1 try; shift
    for try in 1 2 3; do
        "$@" && return 0
        log "$name: try $try failed"
    done
    log "WARNING: $name still failing after 3 tries (kept as is)"
    FAILED+=("$name")
}

# ---- 1. snaplen-cut: four tcpdumps on the server side at once, -s 0 (the
# uncut reference) and -s 68 / 96 / 128; again with TCP timestamps off
# (54-byte headers: 14 payload bytes survive -s 68, "503 RNFR requi")
_rec_snaplen() {
    local srv=$1 tag=$2 d=$OUT/snaplen-cut
    local b=$d/$srv$tag
    cap_start $NS_SRV ev-s0 0 "$b-full.pcap"
    local s
    for s in 68 96 128; do cap_start $NS_SRV ev-s0 $s "$b-s$s.pcap"; done
    session "$b-full.log"
    cap_stop || return 1
    check "$b-full.pcap" "$b-full.log" || return 1
    for s in 68 96 128; do cp "$b-full.log" "$b-s$s.log"; done
}
rec_snaplen() {
    local srv=$1
    retry "snaplen-cut/$srv" _rec_snaplen "$srv" ""
    ip netns exec $NS_CLI sysctl -qw net.ipv4.tcp_timestamps=0
    retry "snaplen-cut/$srv-nots" _rec_snaplen "$srv" "-nots"
    ip netns exec $NS_CLI sysctl -qw net.ipv4.tcp_timestamps=1
}

# ---- 2. merged: client tap + server tap of one session; mergecap of the two
# with the server tap's clock shifted +4 ms and -4 ms (mergecap writes pcapng)
_rec_merged() {
    local srv=$1 b=$OUT/merged/$1
    [ "$2" = raw ] || b=$b-$2
    cap_start $NS_CLI ev-c0 0 "$b-client.pcap"
    cap_start $NS_SRV ev-s0 0 "$b-server.pcap"
    if [ "$2" = raw ]; then session "$b-client.log"; else lftp_session "$b-client.log"; fi
    cap_stop || return 1
    [ "$2" = raw ] || lftp_log "$b-client.pcap"
    cp "$b-client.log" "$b-server.log"
    check "$b-client.pcap" "$b-client.log" && check "$b-server.pcap" "$b-server.log" || return 1
    local shift name
    for shift in 0.004:plus4ms -0.004:minus4ms; do
        name=${shift#*:}
        editcap -t "${shift%%:*}" "$b-server.pcap" "$WORK/shifted.pcap"
        mergecap -w "$b-merged-$name.pcapng" "$b-client.pcap" "$WORK/shifted.pcap"
        cp "$b-client.log" "$b-merged-$name.log"
    done
}
rec_merged() {
    retry "merged/$1" _rec_merged "$1" raw
    retry "merged/$1-lftp" _rec_merged "$1" lftp
}

# ---- 3. impaired: netem on both router egresses, client and server taps
IMPAIRMENTS=(
    "loss:loss 5%"
    "dup:duplicate 5%"
    "reorder:delay 10ms reorder 25% 50%"
    "jitter:delay 20ms 15ms"
)
_rec_impaired() {
    local srv=$1 name=$2 spec=$3 client=$4 b=$OUT/impaired/$1-$2
    [ "$client" = raw ] || b=$b-$client
    # shellcheck disable=SC2086
    impair_set $spec
    cap_start $NS_CLI ev-c0 0 "$b-client.pcap"
    cap_start $NS_SRV ev-s0 0 "$b-server.pcap"
    if [ "$client" = raw ]; then session "$b-client.log"; else lftp_session "$b-client.log"; fi
    # retransmitted FINs can come late on a lossy link
    local ok=0
    cap_stop 4 || ok=1
    impair_clear
    [ $ok = 0 ] || return 1
    [ "$client" = raw ] || lftp_log "$b-client.pcap"
    # which impairment, how, and what it did (evidence_impair.py counts
    # frames forwarded / lost / duplicated / sent / overtaken, both ways)
    printf '%s\t%s\t%s\t%s\n' "$(basename "$b")" "$spec" "$IMPAIR_HOW" "${IMPAIR_STATS:-}" >>"$WORK/impairments.tsv"
    cp "$b-client.log" "$b-server.log"
    check "$b-client.pcap" "$b-client.log" && check "$b-server.pcap" "$b-server.log"
}
rec_impaired() {
    local imp
    [ -f "$WORK/impairments.tsv" ] || printf 'capture\timpairment\tapplied_by\twhat_it_did\n' >"$WORK/impairments.tsv"
    for imp in "${IMPAIRMENTS[@]}"; do
        retry "impaired/$1-${imp%%:*}" _rec_impaired "$1" "${imp%%:*}" "${imp#*:}" raw
        retry "impaired/$1-${imp%%:*}-lftp" _rec_impaired "$1" "${imp%%:*}" "${imp#*:}" lftp
    done
}

# ---- 4. reordered: a clean server-tap capture, then its packets shuffled
# within windows of 4 and of 16 packets (timestamps kept)
_rec_reordered() {
    local srv=$1 b=$OUT/reordered/$1
    cap_start $NS_SRV ev-s0 0 "$b-clean.pcap"
    session "$b-clean.log"
    cap_stop || return 1
    check "$b-clean.pcap" "$b-clean.log" || return 1
    local w
    for w in 4 16; do
        "$PY" "$SCRIPT_DIR/evidence_reorder.py" --window $w --seed $w "$b-clean.pcap" "$b-w$w.pcap"
        cp "$b-clean.log" "$b-w$w.log"
    done
}
rec_reordered() { retry "reordered/$1" _rec_reordered "$1"; }

for cond in ${CONDITIONS//,/ }; do
    mkdir -p "$OUT/$cond"
    for srv in ${SERVER_LIST//,/ }; do
        rm -f "$OUT/$cond/$srv"-*
        start_server "$srv"
        case $cond in
            snaplen-cut) rec_snaplen "$srv" ;;
            merged) rec_merged "$srv" ;;
            impaired) rec_impaired "$srv" ;;
            reordered) rec_reordered "$srv" ;;
        esac
        stop_server
    done
done

if [ -f "$WORK/impairments.tsv" ]; then
    # only the last (kept) try of each capture
    # (rows of servers not recorded this time are kept)
    old=$OUT/impaired/IMPAIRMENTS.tsv
    [ -f "$old" ] || old=/dev/null
    awk -F'\t' 'FNR == 1 { if (NR == 1) print; next }
        { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } last[$1] = $0 }
        END { for (i = 1; i <= n; i++) print last[order[i]] }' "$old" "$WORK/impairments.tsv" >"$WORK/imp.new"
    mv "$WORK/imp.new" "$OUT/impaired/IMPAIRMENTS.tsv"
fi
{
    echo "# servers, clients and tools used for samples/evidence (recorded $(date -u +%Y-%m-%d), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), $(uname -m))"
    for srv in vsftpd proftpd pure-ftpd pyftpdlib; do server_version $srv; done
    echo "client: samples/scripts/record_client.py (Python $("$PY" -c 'import platform;print(platform.python_version())'))"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -2 | tr '\n' ';' | sed 's/;$//; s/;/; /')"
    echo "tshark / mergecap / editcap: $(tshark --version | head -1)"
    echo "tc: $(tc -V 2>&1 | head -1)"
} >"$OUT/VERSIONS.txt"
if [ ${#FAILED[@]} -gt 0 ]; then
    log "failed recordings: ${FAILED[*]}"
    exit 1
fi
