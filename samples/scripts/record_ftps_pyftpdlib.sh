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
# name, TLS version, TLS 1.2 cipher list, extra client options
while read -r name version ciphers extra; do
    tcpdump -i lo -U -w "$OUT/$name.pcap" 'tcp port 2121' 2>/dev/null &
    DUMP=$!
    sleep 0.5
    python3 "$HERE/ftps_pyftpdlib.py" client "$version" "$OUT/$name.keys" ${ciphers:+--ciphers "$ciphers"} $extra >"$OUT/$name.log"
    sleep 0.5
    kill $DUMP
    wait $DUMP 2>/dev/null || true
done <<LIST
pyftpdlib-ftplib-tls13 1.3
pyftpdlib-ftplib-tls12 1.2
pyftpdlib-ftplib-tls12-chacha20 1.2 ECDHE-RSA-CHACHA20-POLY1305
pyftpdlib-ftplib-tls12-cbc-sha256 1.2 ECDHE-RSA-AES128-SHA256
pyftpdlib-ftplib-tls12-cbc-sha 1.2 ECDHE-RSA-AES256-SHA
pyftpdlib-ftplib-tls12-cbc-sha-mte 1.2 ECDHE-RSA-AES256-SHA --no-etm
LIST
