#!/usr/bin/env python3
"""Turn `lftp -d` or `curl -v` debug output (stdin) into the sample log format

    (connect) -> 220
    USER ftptest -> 331
    RETR hello.txt -> 150 226

i.e. one line per control command with the code(s) of the reply/replies that
answered it, as seen by the client.  Usage: record_debuglog.py lftp|curl
"""
import argparse
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("tool", choices=["lftp", "curl"])
ap.add_argument("--password", help="replace a masked 'PASS XXXX' by this")
ap.add_argument("--pcap", help="append commands that the client sent after its "
                "debug output ended (curl does not show its final QUIT), "
                "taken from the FTP control connection in this capture")
a = ap.parse_args()


def control_streams(path, port=21):
    """Return (client_bytes, server_bytes) of the first control connection."""
    import struct
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    segs = {}          # (direction, client_port) -> {seq: payload}
    first = None
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:
            etype = struct.unpack(">H", pkt[12:14])[0]
            ip = pkt[14:]
        elif linktype == 113:     # Linux cooked
            etype = struct.unpack(">H", pkt[14:16])[0]
            ip = pkt[16:]
        else:
            raise SystemExit("unsupported linktype %d" % linktype)
        if etype == 0x0800 and ip[9] == 6:
            tcp = ip[(ip[0] & 15) * 4:]
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = tcp[:total - (ip[0] & 15) * 4]
        elif etype == 0x86DD and ip[6] == 6:
            plen = struct.unpack(">H", ip[4:6])[0]
            tcp = ip[40:40 + plen]
        else:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if dport == port:
            key = ("c", sport)
        elif sport == port:
            key = ("s", dport)
        else:
            continue
        if first is None:
            first = key[1]
        if payload:
            segs.setdefault(key, {})[seq] = payload
    def joined(key):
        d = segs.get(key, {})
        return b"".join(d[k] for k in sorted(d))   # no seq wrap on tiny captures
    return joined(("c", first)), joined(("s", first))


def split_replies(raw):
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

if a.tool == "lftp":
    cmd_re, rep_re = re.compile(r"^---> (.*)$"), re.compile(r"^<--- ?(.*)$")
else:
    cmd_re, rep_re = re.compile(r"^> (.*)$"), re.compile(r"^< ?(.*)$")

entries = [["(connect)", []]]
open_code = None           # code of an unfinished multi-line reply
for raw in sys.stdin:
    line = raw.rstrip("\r\n")
    m = cmd_re.match(line)
    if m and open_code is None:
        cmd = m.group(1)
        if a.password and cmd.startswith("PASS ") and set(cmd[5:]) <= {"X", "*"}:
            cmd = "PASS " + a.password
        entries.append([cmd, []])
        continue
    m = rep_re.match(line)
    if not m:
        continue
    text = m.group(1)
    if open_code is not None:
        if text.startswith(open_code + " ") or text == open_code:
            entries[-1][1].append(open_code)
            open_code = None
        continue
    mm = re.match(r"^(\d{3})([ -]?)", text)
    if not mm:
        continue
    if mm.group(2) == "-":
        open_code = mm.group(1)
    else:
        entries[-1][1].append(mm.group(1))

if a.pcap:
    cbytes, sbytes = control_streams(a.pcap)
    wire_cmds = [c.rstrip("\r") for c in cbytes.decode("latin-1").split("\n")][:-1]
    wire_codes = split_replies(sbytes)
    logged = len(entries) - 1
    nlogged_codes = sum(len(c) for _, c in entries)
    flat = [c for _, cs in entries for c in cs]
    if ([c for c, _ in entries[1:]] == wire_cmds[:logged] and len(wire_cmds) > logged
            and nlogged_codes > 0 and flat == wire_codes[:nlogged_codes]):
        extra_codes = wire_codes[nlogged_codes:]
        for cmd in wire_cmds[logged:]:
            code = extra_codes.pop(0) if extra_codes else "(no reply)"
            entries.append([cmd, [code + " [from the pcap: not shown in %s's debug output]" % a.tool]])

for cmd, codes in entries:
    print("%s -> %s" % (cmd, " ".join(codes) if codes else "(no reply seen)"))
