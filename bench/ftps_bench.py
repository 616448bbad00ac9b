#!/usr/bin/env python3
"""Decryption throughput on FTPS: makes larger captures by repeating real
FTPS sessions of samples/ftps (each copy on its own IPv4 address, later in
time, IP and TCP checksums recomputed; the TLS records are the recorded
ones, so the sample's key log opens every copy), then times ftpcap on each
with the key log and without it, runs interleaved, fastest run kept.

    bench/ftps_bench.py [--ftpcap target/release/ftpcap] [--copies 2000] [--runs 5] [--out bench/out]

Captures (made once, reused):
  ftps-control.pcap  pure-ftpd-openssl-tls13-keyupdate: a TLS 1.3 control
                     channel (HELP, RNTO, KeyUpdates), no data connection
  ftps-data.pcap     vsftpd-ftplib-tls13-aes256gcm: TLS 1.3 control channel
                     and two PROT P data connections (LIST, RETR 2048 bytes)
  ftps-data12.pcap   vsftpd-ftplib-tls12-reuse-resumed: TLS 1.2 AES-256-GCM,
                     data connections resuming the control session

MB/s is capture bytes (headers included) per second. `control MB` and
`data MB` are the TCP payload bytes of the control connections (port 21 or
990: TLS records, and the cleartext before AUTH TLS) and of the data
connections (TLS records). `plain` decrypts the control channels only
(data connections are followed only with --transfers); `transfers` the
PROT P data connections too. `control MB/s`: control payload per second of
the `plain` run with keys; `data MB/s (marginal)`: data payload over the
time the `transfers` run with keys takes beyond the `plain` one (the cost of
following and decrypting the data connections). The data connections of
these sessions are small (a listing and 2048 bytes), so per-connection
work (handshake, key schedule) weighs more than in bulk transfers."""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAPTURES = {
    "ftps-control": "pure-ftpd-openssl-tls13-keyupdate",
    "ftps-data": "vsftpd-ftplib-tls13-aes256gcm",
    "ftps-data12": "vsftpd-ftplib-tls12-reuse-resumed",
}


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit(f"{path}: not a little-endian pcap")
    nano = magic == 0xA1B23C4D
    header, at, packets = data[:24], 24, []
    while at + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[at:at + 16])
        packets.append((sec, frac, orig, data[at + 16:at + 16 + incl]))
        at += 16 + incl
    return header, nano, packets


def rewrite(frame, ip):
    """Ethernet + IPv4 + TCP: both addresses set to `ip`, checksums redone."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame, (0, 0)
    ihl = (frame[14] & 15) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    ip_hdr = bytearray(frame[14:14 + ihl])
    ip_hdr[12:16] = ip
    ip_hdr[16:20] = ip
    ip_hdr[10:12] = b"\0\0"
    ip_hdr[10:12] = struct.pack("!H", checksum(bytes(ip_hdr)))
    seg = bytearray(frame[14 + ihl:14 + total])
    tls = (0, 0)
    if frame[23] == 6 and len(seg) >= 20:
        seg[16:18] = b"\0\0"
        pseudo = ip + ip + struct.pack("!BBH", 0, 6, len(seg))
        seg[16:18] = struct.pack("!H", checksum(pseudo + bytes(seg)))
        sport, dport = struct.unpack("!HH", seg[:4])
        payload = len(seg) - (seg[12] >> 4) * 4
        control = sport in (21, 990) or dport in (21, 990)
        tls = (payload, 0) if control else (0, payload)
    return frame[:14] + bytes(ip_hdr) + bytes(seg) + frame[14 + total:], tls


def make(name, sample, copies, out):
    path = os.path.join(out, f"{name}.pcap")
    keys = os.path.join(out, f"{name}.keys")
    meta = os.path.join(out, f"{name}.tlsbytes")
    if os.path.exists(path) and os.path.exists(meta):
        with open(meta) as f:
            control, data = map(int, f.read().split())
        return path, keys, (control, data)
    src = os.path.join(ROOT, "samples", "ftps", sample)
    header, nano, packets = read_pcap(src + ".pcap")
    scale = 1_000_000_000 if nano else 1_000_000
    first = packets[0][0] * scale + packets[0][1]
    span = packets[-1][0] * scale + packets[-1][1] - first + scale // 100
    totals = [0, 0]
    with open(path + ".tmp", "wb") as f:
        f.write(header)
        for k in range(copies):
            ip = bytes([10, (k >> 16) & 255, (k >> 8) & 255, k & 255])
            for sec, frac, orig, frame in packets:
                t = sec * scale + frac + k * span
                body, tls = rewrite(frame, ip)
                totals[0] += tls[0]
                totals[1] += tls[1]
                f.write(struct.pack("<IIII", t // scale, t % scale, len(body), orig - len(frame) + len(body)))
                f.write(body)
    os.replace(path + ".tmp", path)
    shutil.copy(src + ".keys", keys)
    with open(meta, "w") as f:
        f.write(f"{totals[0]} {totals[1]}")
    return path, keys, tuple(totals)


def run(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ftpcap", default=os.path.join(ROOT, "target", "release", "ftpcap"))
    ap.add_argument("--copies", type=int, default=2000, help="copies of each session (default 2000)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each case (default 5)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("| capture | MB | control MB | data MB | mode | with keys | without | keys/none time | control MB/s | data MB/s (marginal) |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for name, sample in CAPTURES.items():
        path, keys, (control, data) = make(name, sample, a.copies, a.out)
        mb = os.path.getsize(path) / 1e6
        with open(path, "rb") as f:  # warm the page cache
            while f.read(1 << 24):
                pass
        plain_keys = None
        for mode, extra in (("plain", []), ("transfers", ["--transfers", "/dev/null"])):
            best = {"keys": float("inf"), "none": float("inf")}
            for _ in range(a.runs):
                base = [a.ftpcap, "--quiet", path, "-o", "/dev/null", *extra]
                best["keys"] = min(best["keys"], run(base + ["--tls-keylog", keys]))
                best["none"] = min(best["none"], run(base))
            if plain_keys is None:
                plain_keys = best["keys"]
                speed, marginal = f"{control / 1e6 / best['keys']:.1f}", ""
            else:
                extra_time = best["keys"] - plain_keys
                speed = ""
                marginal = f"{data / 1e6 / extra_time:.1f}" if data and extra_time > 0 else ""
            print(f"| {name} | {mb:.1f} | {control / 1e6:.1f} | {data / 1e6:.1f} | {mode} | "
                  f"{mb / best['keys']:.1f} MB/s | {mb / best['none']:.1f} MB/s | "
                  f"{best['keys'] / best['none']:.2f} | {speed} | {marginal} |", flush=True)


if __name__ == "__main__":
    main()
