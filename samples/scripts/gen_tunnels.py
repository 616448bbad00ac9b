#!/usr/bin/env python3
"""Makes samples/tunnels/: a real capture as a mirror would deliver it, every
frame wrapped in a tunnel (VXLAN, GENEVE, GRE, GRETAP, ERSPAN II/III, IP in
IP, MPLS, PPPoE, QinQ, and nested stacks), outer addresses 198.51.100.1/2.

The inner frames are those of the source capture byte for byte, so the rows
ftpcap finds in a wrapped capture must be the rows of the source (whose truth
is its client log, samples/real/*.log); tests/cli.rs checks that, and that
the sessions report names the layers.
"""
import argparse
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)


def read_pcap(path):
    data = open(path, "rb").read()
    magic, _, _, _, _, snap, link = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4 and link == 1, "a little-endian Ethernet pcap"
    at, frames = 24, []
    while at + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[at:at + 16])
        frames.append((sec, usec, data[at + 16:at + 16 + incl]))
        at += 16 + incl
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for sec, usec, frame in frames:
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def ethernet(ethertype, payload):
    return bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]) + struct.pack(">H", ethertype) + payload


def ipv4(protocol, payload):
    total = 20 + len(payload)
    head = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, protocol, 0,
                       bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2]))
    return head + payload


def ipv6(next_header, payload):
    src = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])
    dst = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2])
    return struct.pack(">IHBB", 0x60000000, len(payload), next_header, 64) + src + dst + payload


def udp(dst, payload):
    return struct.pack(">HHHH", 49152, dst, 8 + len(payload), 0) + payload


def inner_ip(frame):
    assert frame[12:14] == b"\x08\x00", "IPv4 inside"
    return frame[14:]


def vxlan(frame, vni=42, port=4789):
    return ethernet(0x0800, ipv4(17, udp(port, struct.pack(">BxxxI", 0x08, vni << 8) + frame)))


def geneve(frame, vni=7):
    option = struct.pack(">HBB", 0x0101, 0x01, 0) + b"\x00\x00\x00\x00"  # class, type, length 1 word
    head = struct.pack(">BBHI", len(option) // 4, 0, 0x6558, vni << 8)
    return ethernet(0x0800, ipv4(17, udp(6081, head + option + frame)))


def gre(frame, key=5):
    # Checksum, key and sequence present; IPv4 inside.
    head = struct.pack(">HHHHII", 0xB000, 0x0800, 0, 0, key, 1)
    return ethernet(0x0800, ipv4(47, head + inner_ip(frame)))


def gretap(frame, key=6):
    return ethernet(0x0800, ipv4(47, struct.pack(">HHI", 0x2000, 0x6558, key) + frame))


def erspan2(frame, session=3):
    gre_head = struct.pack(">HHI", 0x1000, 0x88BE, 1)
    span = struct.pack(">HHI", 0x1000, session, 0)
    return ethernet(0x0800, ipv4(47, gre_head + span + frame))


def erspan3(frame, session=4):
    gre_head = struct.pack(">HHI", 0x1000, 0x22EB, 1)
    span = struct.pack(">HHII", 0x2000, session, 0, 1)  # O flag: platform subheader follows
    return ethernet(0x0800, ipv4(47, gre_head + span + b"\x00" * 8 + frame))


def ipip(frame):
    return ethernet(0x0800, ipv4(4, inner_ip(frame)))


def ipip6(frame):
    # IPv4 inside an IPv6 outer header.
    return ethernet(0x86DD, ipv6(4, inner_ip(frame)))


def mpls(frame):
    labels = struct.pack(">II", (100 << 12) | 64, (200 << 12) | 0x100 | 64)
    return ethernet(0x8847, labels + inner_ip(frame))


def pppoe(frame, session=17):
    ppp = b"\x00\x21" + inner_ip(frame)
    return ethernet(0x8864, struct.pack(">BBHH", 0x11, 0, session, len(ppp)) + ppp)


def qinq(frame):
    # Two VLAN tags (802.1ad outer, 802.1Q inner) on the inner frame.
    return frame[:12] + struct.pack(">HHHH", 0x88A8, 100, 0x8100, 10) + frame[12:]


CASES = [
    ("vxlan.pcap", lambda f: vxlan(f)),
    ("vxlan-8472.pcap", lambda f: vxlan(f, vni=9, port=8472)),
    ("geneve.pcap", geneve),
    ("gre.pcap", gre),
    ("gretap.pcap", gretap),
    ("erspan2.pcap", erspan2),
    ("erspan3.pcap", erspan3),
    ("ipip.pcap", ipip),
    ("ipv4-in-ipv6.pcap", ipip6),
    ("mpls.pcap", mpls),
    ("pppoe.pcap", pppoe),
    ("vxlan-qinq.pcap", lambda f: vxlan(qinq(f))),
    ("gre-in-vxlan.pcap", lambda f: vxlan(gre(f))),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=os.path.join(SAMPLES, "real", "vsftpd-pipelined.pcap"),
                    help="the capture to wrap (little-endian Ethernet pcap)")
    ap.add_argument("outdir", nargs="?", default=os.path.join(SAMPLES, "tunnels"),
                    help="output folder (default: samples/tunnels)")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    frames = read_pcap(args.source)
    rows = []
    for name, wrap in CASES:
        write_pcap(os.path.join(args.outdir, name), [(s, u, wrap(f)) for s, u, f in frames])
        rows.append("| `%s` | %s |" % (name, name[:-5]))
    with open(os.path.join(args.outdir, "README.md"), "w", newline="\n") as f:
        f.write("# Tunnelled captures\n\n")
        f.write("`samples/real/%s` with every frame wrapped as a mirror would deliver it, made by\n"
                "`samples/scripts/gen_tunnels.py`. The rows ftpcap reports must be those of the\n"
                "source capture; the sessions report's `encapsulation` column names the layers.\n\n"
                % os.path.basename(args.source))
        f.write("| capture | layers (outermost first) |\n|---|---|\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
