#!/usr/bin/env bash
# Record real IP fragments: vsftpd and the raw-socket client talking across a
# path whose middle hop has a small MTU, PMTU discovery off on both ends (so
# DF is clear and the routers fragment instead of dropping), captured where
# the fragments arrive. Writes samples/fragments/real-vsftpd-mtu{296,128,68}.pcap
# with the client's .log next to each (the ground truth tests/fragments.rs
# checks the rows against). Run as root:  sudo samples/scripts/record_fragments.sh
#
# Four network namespaces joined by veth pairs (TSO/GSO/GRO off, so packets
# are what a NIC would send):
#   frg-cli 10.88.1.2 -- 10.88.1.1 frg-r1 10.88.9.1 ==MTU== 10.88.9.2 frg-r2 10.88.2.1 -- 10.88.2.2 frg-srv
# The endpoints' links keep MTU 1500 (TCP sends full-size segments, as
# across a real path), net.ipv4.ip_no_pmtu_disc=1 clears DF; r1 and r2
# fragment onto the middle link, where tcpdump (in frg-r2) sees both
# directions in fragments. All namespaces are removed at the end.
# -h/--help prints the comment above; other options are not taken.
case "${1:-}" in
    -h|--help) sed -n "2,15p" "$0" | sed "s/^# \{0,1\}//"; exit 0 ;;
    -?*) [ -e "$1" ] || { echo "$(basename "$0"): unknown option $1 (see --help)" >&2; exit 2; } ;;
esac
set -euo pipefail
NSS=(frg-cli frg-r1 frg-r2 frg-srv)

source "$(dirname "${BASH_SOURCE[0]}")/record_lib.sh"
require_root

# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth pair between two namespaces
link() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$4" addr add "$6" dev "$5"
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$4" ethtool -K "$5" tso off gso off gro off >/dev/null 2>&1 || true
}

if [ "${FRG_IN_NS:-}" != 1 ]; then
    command -v tcpdump >/dev/null && [ -x /usr/sbin/vsftpd ] || die "needs tcpdump and vsftpd (samples/scripts/record_all.sh installs them)"
    teardown() {
        local ns
        for ns in "${NSS[@]}"; do
            ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
            ip netns del "$ns" 2>/dev/null || true
        done
    }
    teardown
    trap teardown EXIT
    for ns in "${NSS[@]}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    link frg-cli frg-c0 10.88.1.2/24 frg-r1 frg-c1 10.88.1.1/24
    link frg-r1 frg-m0 10.88.9.1/24 frg-r2 frg-m1 10.88.9.2/24
    link frg-r2 frg-s1 10.88.2.1/24 frg-srv frg-s0 10.88.2.2/24
    ip -n frg-cli route add default via 10.88.1.1
    ip -n frg-srv route add default via 10.88.2.1
    ip -n frg-r1 route add 10.88.2.0/24 via 10.88.9.2
    ip -n frg-r2 route add 10.88.1.0/24 via 10.88.9.1
    for ns in frg-r1 frg-r2; do ip netns exec $ns sysctl -qw net.ipv4.ip_forward=1; done
    for ns in frg-cli frg-srv; do ip netns exec $ns sysctl -qw net.ipv4.ip_no_pmtu_disc=1; done
    FRG_IN_NS=1 ip netns exec frg-srv bash "$0" "$@"
    exit $?
fi

VSFTPD_BIN=/usr/sbin/vsftpd
FTP_BIND=10.88.2.2
# capture_start runs tcpdump in the background: this one on the middle link.
tcpdump() { exec ip netns exec frg-r2 tcpdump "$@"; }
CAPTURE_IFACE=frg-m1
# Every IP packet: fragments after the first carry no ports.
CAPTURE_FILTER="ip"
setup_user
make_workdir
trap cleanup EXIT
OUT="$REPO/samples/fragments"
mkdir -p "$OUT"
start_server vsftpd

for mtu in 296 128 68; do
    for ns in frg-r1 frg-r2; do
        ip -n $ns link set dev "$([ $ns = frg-r1 ] && echo frg-m0 || echo frg-m1)" mtu $mtu
    done
    base="$OUT/real-vsftpd-mtu$mtu"
    reset_home
    capture_start "$base.pcap"
    ip netns exec frg-cli "$PY" "$SCRIPT_DIR/record_client.py" --host "$FTP_BIND" -- \
        "USER $FTP_USER" "PASS $FTP_PASS" "HELP" "RNTO renamed-after-a-path-long-enough-to-need-fragments.txt" \
        "CWD /a/directory/name/that/is/long/enough/to/be/split/over/several/fragments/of/the/small/mtu/hop" \
        "PASV" "RETR hello.txt" "STAT" "QUIT" >"$base.log" || log "client exited non-zero at MTU $mtu"
    capture_stop
    log "$(basename "$base"): $(tr '\n' ';' <"$base.log")"
done
