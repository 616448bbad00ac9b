#!/usr/bin/env python3
"""Score ftpcap's incident report on the evidence captures against their
ground truth (NAME.truth.tsv, written by evidence_truth.py).

For each capture with a NAME.truth.tsv: runs `ftpcap -q --show-passwords
CAPTURE`, and matches each report row to a truth row with the same code
whose reply is carried by the row's frame (any frame holding a byte of the
reply, copies included; each truth row matches once).  Then:

  expected  truth rows (214/503 replies in the client's log)
  in cap    of those, rows whose reply code is in the capture at all
            (a -s 68 cut with TCP timestamps keeps 2 payload bytes)
  found     truth rows that a report row matched
  right     found rows whose command is the truth's command (or, where the
            capture cut the command, a head of it)
  wrong     found rows with another command (or none)
  extra     report rows that matched no truth row

    evidence_score.py --ftpcap target/release/ftpcap samples/evidence
    evidence_score.py --ftpcap BIN --details FILE.pcap
"""
import argparse
import csv
import io
import os
import re
import subprocess
import sys


def read_truth(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def run_ftpcap(binary, cap):
    p = subprocess.run([binary, "-q", "--show-passwords", cap], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit("%s failed on %s: %s" % (binary, cap, p.stderr[-400:]))
    return list(csv.DictReader(io.StringIO(p.stdout)))


def score(binary, cap):
    truth = read_truth(re.sub(r"\.pcap(ng)?$", ".truth.tsv", cap))
    rows = run_ftpcap(binary, cap)
    frames = [set(int(x) for x in t["reply_frames"].split(",") if x) for t in truth]
    matched = [None] * len(truth)
    extra, notes = [], []
    for r in rows:
        fr = int(r["frame"])
        hit = next((i for i, t in enumerate(truth)
                    if matched[i] is None and t["code"] == r["code"] and fr in frames[i]), None)
        if hit is None:
            extra.append(r)
            notes.append("extra: frame %s %s %r command %r" % (r["frame"], r["code"], r["reply"][:40], r["command"]))
        else:
            matched[hit] = r
    right = wrong = 0
    for t, r in zip(truth, matched):
        if r is None:
            notes.append("missed: row %s %s (%s) frame %s" % (t["row"], t["code"], t["command"], t["reply_frame"]))
            continue
        cmd, want = r["command"], t["command"]
        ok = cmd == want or (t["command_captured"] not in ("full", "") and cmd and want.startswith(cmd))
        if ok:
            right += 1
        else:
            wrong += 1
            notes.append("wrong: row %s %s want %r got %r (frame %s)" % (t["row"], t["code"], want, cmd, r["frame"]))
    res = {"expected": len(truth), "in_cap": sum(t["code_captured"] == "yes" for t in truth),
           "found": sum(m is not None for m in matched), "right": right, "wrong": wrong,
           "extra": len(extra)}
    return res, notes


def captures(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".truth.tsv"):
                base = os.path.join(d, f[:-len(".truth.tsv")])
                for ext in (".pcap", ".pcapng"):
                    if os.path.exists(base + ext):
                        out.append(base + ext)
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="evidence folder(s) or captures")
    ap.add_argument("--ftpcap", default="target/release/ftpcap", help="the ftpcap binary")
    ap.add_argument("--details", action="store_true", help="list every missed, wrong and extra row")
    a = ap.parse_args()
    total = {}
    groups = {}
    print("| capture | expected | in cap | found | right | wrong | extra |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for p in a.paths:
        root = p if os.path.isdir(p) else os.path.dirname(p)
        for cap in (captures(p) if os.path.isdir(p) else [p]):
            res, notes = score(a.ftpcap, cap)
            rel = os.path.relpath(cap, root)
            print("| `%s` | %d | %d | %d | %d | %d | %d |" % (
                rel, res["expected"], res["in_cap"], res["found"], res["right"], res["wrong"], res["extra"]))
            if a.details:
                for n in notes:
                    print("    " + n)
            g = groups.setdefault(os.path.dirname(rel) or ".", {})
            for k, v in res.items():
                g[k] = g.get(k, 0) + v
                total[k] = total.get(k, 0) + v
    print()
    print("| condition | expected | in cap | found | right | wrong | extra |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, g in sorted(groups.items()) + [("**all**", total)]:
        print("| %s | %d | %d | %d | %d | %d | %d |" % (
            name, g["expected"], g["in_cap"], g["found"], g["right"], g["wrong"], g["extra"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
