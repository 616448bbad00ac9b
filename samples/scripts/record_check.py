#!/usr/bin/env python3
"""Check a recorded capture against its ground-truth log.

    record_check.py FILE.pcap [FILE.log]

1. every TCP flow in the capture is complete: SYN and FIN seen in each
   direction and the payload sequence numbers have no holes (the capture lost
   nothing);
2. if a log is given: the commands the client sent on the FTP control
   connection (port 21) and the reply codes the server sent, as found in the
   capture, are exactly those of the log ("cmd -> codes" lines).  After an
   AUTH that got 234 the control channel is TLS, so only the part before it
   is compared.

Exit status 0 if all is well, 1 otherwise (reasons on stdout).  Also used as
a module by record_debuglog.py (control_streams, split_replies).
"""
import re
import struct
import sys


def read_pcap(path):
    """Yield (src, sport, dst, dport, seq, flags, payload) for TCP packets."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:            # Ethernet
            etype, ip = struct.unpack(">H", pkt[12:14])[0], pkt[14:]
        elif linktype == 113:        # Linux cooked
            etype, ip = struct.unpack(">H", pkt[14:16])[0], pkt[16:]
        else:
            raise SystemExit("unsupported linktype %d" % linktype)
        if etype == 0x0800 and ip[9] == 6:
            hl = (ip[0] & 15) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            src, dst, tcp = ip[12:16], ip[16:20], ip[hl:total]
        elif etype == 0x86DD and ip[6] == 6:
            plen = struct.unpack(">H", ip[4:6])[0]
            src, dst, tcp = ip[8:24], ip[24:40], ip[40:40 + plen]
        else:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        flags = tcp[13]
        yield src, sport, dst, dport, seq, flags, tcp[(tcp[12] >> 4) * 4:]


def flows(path):
    """{(src,sport,dst,dport): {"syn": isn or None, "fin": seq or None, "segs": {seq: payload}}}"""
    out = {}
    for src, sport, dst, dport, seq, flags, payload in read_pcap(path):
        f = out.setdefault((src, sport, dst, dport), {"syn": None, "fin": None, "rst": False, "segs": {}})
        if flags & 0x02:
            f["syn"] = seq
        if flags & 0x01:
            f["fin"] = seq + len(payload)
        if flags & 0x04:
            f["rst"] = True
        if payload:
            f["segs"][seq] = payload
    return out


def check_flows(path):
    problems = []
    fl = flows(path)
    for key, f in fl.items():
        name = "%d->%d" % (key[1], key[3])
        rev = fl.get((key[2], key[3], key[0], key[1]), {})
        if f["syn"] is None and f["rst"] and not f["segs"] and rev.get("syn") is not None:
            continue                             # a refused connection: RST to a SYN
        if f["syn"] is not None and not f["segs"] and not rev:
            continue                             # SYNs nobody answered
        if f["syn"] is None:
            problems.append("%s: no SYN" % name)
            continue
        base = (f["syn"] + 1) & 0xFFFFFFFF
        pos = 0                                  # relative offset reached so far
        for rel, ln in sorted(((seq - base) & 0xFFFFFFFF, len(p)) for seq, p in f["segs"].items()):
            if rel > pos:
                problems.append("%s: %d bytes missing at offset %d" % (name, rel - pos, pos))
            pos = max(pos, rel + ln)
        if f["fin"] is None and not f["rst"] and not rev.get("rst"):
            problems.append("%s: neither FIN nor RST (capture cut short?)" % name)
        elif f["fin"] is not None and pos != ((f["fin"] - base) & 0xFFFFFFFF):
            problems.append("%s: payload ends before FIN" % name)
    return problems


def control_streams(path, port=21):
    """(client_bytes, server_bytes) of the first control connection to `port`."""
    fl = flows(path)
    first = None
    for src, sport, dst, dport, seq, flags, payload in read_pcap(path):
        if dport == port and flags & 0x02:
            first = (src, sport, dst, dport)
            break
    if first is None:
        return b"", b""

    def joined(key):
        f = fl.get(key)
        if not f:
            return b""
        base = (f["syn"] + 1) if f["syn"] is not None else min(f["segs"] or [0])
        return b"".join(f["segs"][s] for s in sorted(f["segs"], key=lambda s: (s - base) & 0xFFFFFFFF))
    src, sport, dst, dport = first
    return joined(first), joined((dst, dport, src, sport))


def split_replies(raw):
    """Reply codes in a server byte stream (a multi-line reply counts once)."""
    codes, open_code = [], None
    for ln in raw.decode("latin-1").split("\n"):
        ln = ln.rstrip("\r")
        if open_code is not None:
            if ln.startswith(open_code + " ") or ln == open_code:
                codes.append(open_code)
                open_code = None
            continue
        m = re.match(r"^(\d{3})([ -]?)", ln)
        if m:
            if m.group(2) == "-":
                open_code = m.group(1)
            else:
                codes.append(m.group(1))
    return codes


def read_log(path):
    """[(command, [codes])] without the (connect) line's name."""
    out = []
    for ln in open(path):
        ln = ln.rstrip("\n")
        if not ln or ln.startswith("#"):
            continue
        cmd, _, rest = ln.partition(" -> ")
        rest = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", rest)
        out.append((cmd, [t for t in rest.split() if re.fullmatch(r"\d{3}", t)],
                    "not sent" in ln))
    return out


def check_log(pcap, log):
    problems = []
    entries = read_log(log)
    c, s = control_streams(pcap)
    # Telnet IP / Synch before ABOR (IAC IP IAC DM) are not part of the command
    c = re.sub(rb"\xff[\xf0-\xfe]", b"", c)
    wire_cmds = [x.rstrip("\r") for x in c.decode("latin-1").split("\n")][:-1]
    wire_codes = split_replies(s)
    log_cmds = [cmd for cmd, _, unsent in entries if cmd != "(connect)" and not unsent]
    log_codes = [code for _, codes, _ in entries for code in codes]
    # TLS: stop at the AUTH that got 234
    for i, (cmd, codes, _) in enumerate(entries):
        if cmd.upper().startswith("AUTH ") and "234" in codes:
            n_cmds = sum(1 for e in entries[:i + 1] if e[0] != "(connect)")
            n_codes = sum(len(e[1]) for e in entries[:i + 1])
            log_cmds, log_codes = log_cmds[:n_cmds], log_codes[:n_codes]
            wire_cmds, wire_codes = wire_cmds[:n_cmds], wire_codes[:n_codes]
            break
    if log_cmds != wire_cmds:
        problems.append("commands differ: log %r vs capture %r" % (log_cmds, wire_cmds))
    if log_codes != wire_codes:
        problems.append("reply codes differ: log %r vs capture %r" % (log_codes, wire_codes))
    return problems


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture", help="the recorded capture")
    ap.add_argument("log", nargs="?", help="the client's log to check it against")
    args = ap.parse_args()
    problems = check_flows(args.capture)
    if args.log:
        problems += check_log(args.capture, args.log)
    for p in problems:
        print("%s: %s" % (args.capture, p))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
