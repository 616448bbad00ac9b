#!/usr/bin/env python3
"""Fragment the IP packets of real captures as a small-MTU hop would.

Every IPv4 or IPv6 packet of the input whose IP packet is longer than the MTU
is split into fragments of at most MTU bytes (the fragment payloads a
multiple of 8, as RFC 791 and RFC 8200 say), each a frame of its own with
the original frame's link header and timestamp. Packets that fit pass whole.
Then, from a random.Random seeded with the CRC32 of the output file's name
(so re-running gives byte-identical files), some fragmented packets have
their fragments shuffled, some a fragment sent twice, and some their last
fragment held back behind the next frame: the reorderings and duplicates a
capture of a real fragmenting path shows. Without --out-of-order and
--duplicates the fragments are in order, once each.

The rows ftpcap finds in the result must be those of the input (only the
frame numbers change: a reassembled segment gets the number of the fragment
that completed it); tests/fragments.rs checks exactly that.

Usage:
    python3 samples/scripts/gen_fragments.py INPUT.pcap OUTPUT.pcap --mtu 68
        [--out-of-order P] [--duplicates P] [--delays P]
    python3 samples/scripts/gen_fragments.py --set OUTDIR

--set re-makes the checked-in set (samples/fragments/, from the captures in
samples/real/ and samples/transfers/) and its README.md, byte for byte.

Classic little- or big-endian pcap in, the same out; Ethernet (1), raw IP
(101) or Linux cooked (113) link layers. Standard library only.
"""

import argparse
import os
import random
import struct
import sys
import zlib


def ipv4_checksum(header):
    if len(header) % 2:
        header += b"\0"
    s = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def link_header_len(linktype, frame):
    """Bytes before the IP header, or None when the frame carries no IP."""
    if linktype == 1:
        at = 12
        ethertype = struct.unpack("!H", frame[at:at + 2])[0]
        while ethertype in (0x8100, 0x88A8):
            at += 4
            ethertype = struct.unpack("!H", frame[at:at + 2])[0]
        return at + 2 if ethertype in (0x0800, 0x86DD) else None
    if linktype == 101:
        return 0
    if linktype == 113:
        return 16 if struct.unpack("!H", frame[14:16])[0] in (0x0800, 0x86DD) else None
    sys.exit("link type %d not supported" % linktype)


def fragment_ipv4(ip, mtu):
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    header, payload = bytearray(ip[:ihl]), ip[ihl:total]
    step = (mtu - ihl) // 8 * 8
    out = []
    for start in range(0, len(payload), step):
        part = payload[start:start + step]
        more = start + step < len(payload)
        h = bytearray(header)
        struct.pack_into("!H", h, 2, ihl + len(part))
        struct.pack_into("!H", h, 6, (start // 8) | (0x2000 if more else 0))  # DF cleared
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, ipv4_checksum(bytes(h)))
        out.append(bytes(h) + part)
    return out


def fragment_ipv6(ip, mtu, ident):
    """Fragments after the fixed header (no extension headers expected)."""
    plen = struct.unpack("!H", ip[4:6])[0]
    fixed, payload = bytearray(ip[:40]), ip[40:40 + plen]
    next_header = fixed[6]
    step = (mtu - 48) // 8 * 8
    out = []
    for start in range(0, len(payload), step):
        part = payload[start:start + step]
        more = start + step < len(payload)
        h = bytearray(fixed)
        h[6] = 44
        struct.pack_into("!H", h, 4, 8 + len(part))
        frag = struct.pack("!BBHI", next_header, 0, start | (1 if more else 0), ident)
        out.append(bytes(h) + frag + part)
    return out


# The checked-in set: (source, output name, MTU), all with the reorderings
# of SET_OPTIONS.
SET = [
    ("samples/real/vsftpd-pipelined.pcap", "vsftpd-pipelined-mtu68.pcap", 68),
    ("samples/real/pyftpdlib-help.pcap", "pyftpdlib-help-mtu68.pcap", 68),
    ("samples/real/pyftpdlib-help.pcap", "pyftpdlib-help-mtu128.pcap", 128),
    ("samples/real/pyftpdlib-help.pcap", "pyftpdlib-help-mtu296.pcap", 296),
    ("samples/real/pure-ftpd-help.pcap", "pure-ftpd-help-mtu296.pcap", 296),
    ("samples/real/pure-ftpd-lftp.pcap", "pure-ftpd-lftp-mtu128.pcap", 128),
    ("samples/transfers/vsftpd-ipv6-epsv-eprt.pcap", "vsftpd-ipv6-epsv-eprt-mtu128.pcap", 128),
]
SET_OPTIONS = {"out_of_order": 0.3, "duplicates": 0.2, "delays": 0.15}

README = """# Fragmented captures

Real captures with every IP packet longer than a small MTU split into IP
fragments, as a router on a path with that MTU (and PMTU discovery off, DF
cleared) would split them; made by
`python3 samples/scripts/gen_fragments.py --set samples/fragments`
(deterministic: re-running gives byte-identical files). In each, 30% of the
fragmented packets have their fragments shuffled, 20% one fragment sent
twice, and 15% their last fragment held back behind the next frame (keeping
its own timestamp). IPv4 fragments clear DF; IPv6 fragments carry a fragment
header after the fixed header (IPv6 links have an MTU of at least 1280, so
the 128 here is what a tunnel inside such a path could do).

The rows ftpcap finds in each must be those of its source, column for
column but the frame numbers (a reassembled segment gets the number of the
fragment that completed it): `tests/fragments.rs` checks the incident,
transfers and sessions reports against the source's (an independent
oracle: the unfragmented capture). tshark (`-z follow,tcp,raw`) reassembles
the same control streams from both.

| capture | source | MTU | frames | fragments | bytes |
|---|---|---:|---:|---:|---:|
{rows}

## Recorded

`real-vsftpd-mtu{296,128,68}.pcap` are real: vsftpd 3.0.3 and the raw-socket
client (`record_client.py`) in two network namespaces, routed through two more
whose link has the small MTU, `net.ipv4.ip_no_pmtu_disc=1` on both ends (DF
clear), captured on that link, where both directions travel in fragments the
Linux routers made (`samples/scripts/record_fragments.sh`, as root). The
client's `.log` next to each is the ground truth `tests/cli.rs` checks the
pairing against (`real_samples_match_client_logs`); it includes a passive
RETR whose data connection is fragmented too.

| capture | MTU | frames | fragments | bytes |
|---|---:|---:|---:|---:|
{real}
"""


def count_fragments(path):
    """(frames, fragments) of a little-endian Ethernet pcap."""
    data = open(path, "rb").read()
    at, frames, fragments = 24, 0, 0
    while at + 16 <= len(data):
        caplen = struct.unpack("<I", data[at + 8:at + 12])[0]
        ip = data[at + 16 + 14:at + 16 + caplen]
        at += 16 + caplen
        frames += 1
        if ip and ip[0] >> 4 == 4 and struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
            fragments += 1
        elif ip and ip[0] >> 4 == 6 and ip[6] == 44:
            fragments += 1
    return frames, fragments


def fragment_file(input_path, output_path, mtu, out_of_order=0.0, duplicates=0.0, delays=0.0):
    """Writes the fragmented capture; returns (frames, fragments)."""
    data = open(input_path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        sys.exit("%s: not a classic pcap" % input_path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    rng = random.Random(zlib.crc32(output_path.split("/")[-1].encode()))
    frames = []  # [ts_sec, ts_frac, frame bytes]
    delayed = []  # indexes of last fragments held back
    fragments = 0
    at = 24
    ident = 0x10000
    while at + 16 <= len(data):
        sec, frac, caplen, origlen = struct.unpack(e + "IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        off = link_header_len(linktype, frame)
        ip = frame[off:] if off is not None else b""
        pieces = None
        if ip and ip[0] >> 4 == 4 and struct.unpack("!H", ip[2:4])[0] > mtu \
                and struct.unpack("!H", ip[6:8])[0] & 0x3FFF == 0 and caplen == origlen:
            pieces = fragment_ipv4(ip, mtu)
        elif ip and ip[0] >> 4 == 6 and 40 + struct.unpack("!H", ip[4:6])[0] > mtu \
                and caplen == origlen:
            ident += 1
            pieces = fragment_ipv6(ip, mtu, ident)
        if pieces is None:
            frames.append([sec, frac, frame])
            continue
        group = [[sec, frac, frame[:off] + p] for p in pieces]
        if rng.random() < out_of_order:
            rng.shuffle(group)
        if rng.random() < duplicates:
            group.insert(rng.randrange(len(group) + 1), list(rng.choice(group)))
        fragments += len(group)
        frames.extend(group)
        if rng.random() < delays and len(group) > 1:
            delayed.append(len(frames) - 1)
    # A delayed last fragment swaps places with the frame after it.
    for i in delayed:
        if i + 1 < len(frames):
            frames[i], frames[i + 1] = frames[i + 1], frames[i]
    out = bytearray(data[:24])
    for sec, frac, frame in frames:
        out.extend(struct.pack(e + "IIII", sec, frac, len(frame), len(frame)))
        out.extend(frame)
    open(output_path, "wb").write(out)
    return len(frames), fragments


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--mtu", type=int, help="largest IP packet on the hop (at least 68)")
    ap.add_argument("--out-of-order", type=float, default=0.0, metavar="P",
                    help="share of fragmented packets whose fragments are shuffled")
    ap.add_argument("--duplicates", type=float, default=0.0, metavar="P",
                    help="share of fragmented packets with one fragment sent twice")
    ap.add_argument("--delays", type=float, default=0.0, metavar="P",
                    help="share of fragmented packets whose last fragment comes after the next frame")
    ap.add_argument("--set", metavar="OUTDIR", help="re-make the checked-in set and its README.md in OUTDIR")
    args = ap.parse_args()
    if args.set:
        if args.input or args.output or args.mtu:
            ap.error("--set takes no other arguments")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        os.makedirs(args.set, exist_ok=True)
        rows = []
        for source, name, mtu in SET:
            out = os.path.join(args.set, name)
            frames, fragments = fragment_file(os.path.join(root, source), out, mtu, **SET_OPTIONS)
            rows.append("| `%s` | `%s` | %d | %d | %d | %d |"
                        % (name, source, mtu, frames, fragments, os.path.getsize(out)))
        real = []
        for mtu in (296, 128, 68):
            name = "real-vsftpd-mtu%d.pcap" % mtu
            path = os.path.join(args.set, name)
            if os.path.exists(path):
                frames, fragments = count_fragments(path)
                real.append("| `%s` | %d | %d | %d | %d |" % (name, mtu, frames, fragments, os.path.getsize(path)))
        with open(os.path.join(args.set, "README.md"), "w") as f:
            f.write(README.replace("{rows}", "\n".join(rows)).replace("{real}", "\n".join(real)))
        return
    if not (args.input and args.output and args.mtu):
        ap.error("INPUT, OUTPUT and --mtu are needed (or --set OUTDIR)")
    if args.mtu < 68:
        ap.error("--mtu must be at least 68 (RFC 791)")
    fragment_file(args.input, args.output, args.mtu, args.out_of_order, args.duplicates, args.delays)


if __name__ == "__main__":
    main()
