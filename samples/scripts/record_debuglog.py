#!/usr/bin/env python3
"""Turn `lftp -d` or `curl -v` debug output (stdin) into the sample log format

    (connect) -> 220
    USER ftptest -> 331
    RETR hello.txt -> 150 226

i.e. one line per control command with the code(s) of the reply/replies that
answered it, as seen by the client.

    record_debuglog.py lftp [--password PASS] [--pcap FILE.pcap] <lftp-d-stderr >FILE.log
    record_debuglog.py curl [--pcap FILE.pcap] <curl-v-stderr >FILE.log
"""
import argparse
import os
import re
import sys

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("tool", choices=["lftp", "curl"], help="which client wrote the debug output")
ap.add_argument("--password", help="replace a masked 'PASS XXXX' by this")
ap.add_argument("--pcap", help="append commands that the client sent after its "
                "debug output ended (curl does not show its final QUIT), "
                "taken from the FTP control connection in this capture")
ap.add_argument("--quote-output", metavar="FILE",
                help="lftp's standard output: the replies it printed for `quote` "
                "commands (which -d does not show), given in order to the commands "
                "that have no reply in the debug output")
ap.add_argument("--quote-note", metavar="TEXT",
                help="append ` [TEXT]` to each reply taken from --quote-output")
a = ap.parse_args()


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record_check import control_streams, split_replies  # noqa: E402


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

if a.quote_output:
    with open(a.quote_output, "rb") as f:
        printed = split_replies(f.read())
    for entry in entries[1:]:
        if not entry[1] and printed:
            note = f" [{a.quote_note}]" if a.quote_note else ""
            entry[1].append(printed.pop(0) + note)

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
