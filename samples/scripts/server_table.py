#!/usr/bin/env python3
"""Prints the server x misstep table of docs/real-servers.md, made by ftpcap
itself from the captures in samples/servers/ (each cell: reply code and
ftpcap's verdict for the command that broke the sequence).

    cargo build --release && python3 samples/scripts/server_table.py

The binary is $FTPCAP if set, else target/release/ftpcap.
"""
import csv
import io
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FTPCAP", os.path.join(ROOT, "target", "release", "ftpcap"))
SERVERS = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib"]


def rows(capture):
    out = subprocess.run(
        [BIN, "--quiet", "--violations", "--codes", "1xx,2xx,3xx,4xx,5xx", capture],
        check=False, capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def cell(misstep, rs):
    judged = [r for r in rs if r["verdict"] and r["rule"] not in ("help", "pipelined-command")]
    if judged:
        seen = []
        for r in judged:
            verb = r["command"].split(" ")[0]
            text = f"{verb} {r['code']} {r['verdict']}"
            if text not in seen:
                seen.append(text)
        return " / ".join(seen)
    helps = [r for r in rs if r["code"] == "214"]
    if misstep.startswith("help") or misstep == "site-help":
        if helps:
            n = len(helps[-1]["help_commands"].split())
            return f"214 help ({n} commands listed)"
        refused = [r for r in rs if r["command"].upper().startswith(("HELP", "SITE"))]
        return " / ".join(f"{r['code']}" for r in refused) or "no reply"
    if misstep == "pipelined":
        p = [r for r in rs if r["rule"] == "pipelined-command"]
        return f"{len(p)} pipelined, answered in order"
    if misstep == "commands-after-quit":
        after = [r for r in rs if r["previous_command"].upper() == "QUIT"]
        return " / ".join(f"{r['code']} {r['verdict']}" for r in after) or "no reply (connection closed)"
    return "no rule broken"


def main():
    import argparse
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    missteps = sorted({f.rsplit(".", 1)[0] for s in SERVERS
                       for f in os.listdir(os.path.join(ROOT, "samples", "servers", s)) if f.endswith(".pcap")})
    print("| misstep | " + " | ".join(SERVERS) + " |")
    print("|---|" + "---|" * len(SERVERS))
    for m in missteps:
        cells = []
        for s in SERVERS:
            path = os.path.join("samples", "servers", s, m + ".pcap")
            cells.append(cell(m, rows(os.path.join(ROOT, path))) if os.path.exists(os.path.join(ROOT, path)) else "-")
        print(f"| {m} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
