#!/usr/bin/env python3
"""Reorder the packets of a pcap within windows of N packets, keeping each
packet's own timestamp (so time goes backwards where packets moved), as a
capture from a multi-queue NIC or a capture buffer shows them.

The records are cut into consecutive windows of --window packets and each
window is shuffled with a seeded random generator (the same seed gives the
same file).  Only the order of the records changes; their headers (time,
lengths) and bytes are copied as they are.  Classic pcap only (any
endianness, micro- or nanosecond, any link type).

    evidence_reorder.py --window 4 --seed 1 clean.pcap reordered.pcap
"""
import argparse
import random
import struct
import sys


def read_records(data):
    """(global header bytes, [record bytes]) of a classic pcap."""
    if len(data) < 24:
        raise SystemExit("not a pcap: shorter than its header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit("not a classic pcap (pcapng is not supported)")
    off, records = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        if off + 16 + incl > len(data):
            raise SystemExit("record at byte %d runs past the end of the file" % off)
        records.append(data[off:off + 16 + incl])
        off += 16 + incl
    if off != len(data):
        raise SystemExit("%d trailing bytes after the last record" % (len(data) - off))
    return data[:24], records


def reorder(records, window, rng):
    out = []
    for i in range(0, len(records), window):
        chunk = records[i:i + window]
        rng.shuffle(chunk)
        out.extend(chunk)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="the pcap to reorder")
    ap.add_argument("output", help="where to write the reordered pcap")
    ap.add_argument("--window", "-n", type=int, default=4,
                    help="packets per window shuffled together (default 4)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    a = ap.parse_args()
    if a.window < 1:
        ap.error("--window must be at least 1")
    with open(a.input, "rb") as f:
        header, records = read_records(f.read())
    out = reorder(records, a.window, random.Random(a.seed))
    moved = sum(1 for x, y in zip(records, out) if x is not y)
    with open(a.output, "wb") as f:
        f.write(header)
        f.writelines(out)
    print("%s: %d packets, %d moved (window %d, seed %d)" % (a.output, len(out), moved, a.window, a.seed),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
