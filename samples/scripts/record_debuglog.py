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
a = ap.parse_args()

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

for cmd, codes in entries:
    print("%s -> %s" % (cmd, " ".join(codes) if codes else "(no reply seen)"))
