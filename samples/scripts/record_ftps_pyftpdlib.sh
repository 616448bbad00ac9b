#!/usr/bin/env bash
# Re-make samples/ftps-pyftpdlib/: explicit FTPS (AUTH TLS) sessions between
# pyftpdlib's TLS_FTPHandler and Python ftplib on loopback, TLS 1.3 and
# TLS 1.2, with the client's key log (ssl keylog_filename) and its own log
# of command -> reply, HELP and a 503 (RNTO without RNFR) inside TLS.
# Run as root (tcpdump):  samples/scripts/record_ftps_pyftpdlib.sh [OUTDIR]
# Needs python3 with pyftpdlib and pyOpenSSL, openssl, tcpdump.
case "${1:-}" in
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -?*) echo "$(basename "$0"): unknown option $1 (see --help)" >&2; exit 2 ;;
esac
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(realpath -m "${1:-$HERE/../ftps-pyftpdlib}")
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$WORK/home"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/cert.pem" -out "$WORK/cert.pem" -days 2 -subj "/CN=ftps.test" 2>/dev/null
python3 "$HERE/ftps_pyftpdlib.py" server "$WORK/home" "$WORK/cert.pem" &
SERVER=$!
sleep 1
for version in 1.3 1.2; do
    name=pyftpdlib-ftplib-tls${version/./}
    tcpdump -i lo -U -w "$OUT/$name.pcap" 'tcp port 2121' 2>/dev/null &
    DUMP=$!
    sleep 0.5
    python3 "$HERE/ftps_pyftpdlib.py" client "$version" "$OUT/$name.keys" >"$OUT/$name.log"
    sleep 0.5
    kill $DUMP
    wait $DUMP 2>/dev/null || true
done
