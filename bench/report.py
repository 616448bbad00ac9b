#!/usr/bin/env python3
"""Prints the Markdown tables of a bench/run.sh run from its measurements (measurements.tsv +
hyperfine JSON + RSS); bench/run.sh calls it, and it reprints the tables of an earlier run:

    bench/report.py bench/out/results-<time>/measurements.tsv
"""

import argparse
import json
import os
import re


def load(tsv):
    rows = []
    with open(tsv) as f:
        for line in f:
            group, files, size, packets, tool, js, rss = line.rstrip("\n").split("\t")
            with open(js) as jf:
                r = json.load(jf)["results"][0]
            peak = 0
            if os.path.exists(rss):
                with open(rss) as rf:
                    for m in re.finditer(r"Maximum resident set size \(kbytes\): (\d+)", rf.read()):
                        peak = max(peak, int(m.group(1)))
            rows.append(
                dict(
                    group=group,
                    files=" + ".join(os.path.basename(p) for p in files.split()),
                    size=int(size),
                    packets=int(packets),
                    tool=tool,
                    mean=r["mean"],
                    stddev=r.get("stddev") or 0.0,
                    cpu=(r.get("user") or 0.0) + (r.get("system") or 0.0),
                    runs=len(r.get("times", [])) or 1,
                    rss_kb=peak,
                )
            )
    return rows


def ratio(a, b):
    return "%.2f×" % (a / b) if a and b else ""


def table(rows, with_ratios):
    out = []
    head = ["file", "size (MB)", "packets", "tool", "seconds (mean ± sd, runs)", "CPU s (user+sys)", "MB/s", "packets/s", "peak RSS (MB)"]
    if with_ratios:
        head += ["ftpcap ÷ bare walk", "ftpcap ÷ tcpdump", "ftpcap ÷ tshark", "same, by CPU s (bare / tcpdump / tshark)"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    by_group = {}
    for r in rows:
        by_group.setdefault(r["group"], {})[r["tool"]] = r
    for r in rows:
        cells = [
            r["files"] + (" (slice)" if "[slice]" in r["group"] else ""),
            "%.1f" % (r["size"] / 1e6),
            "%d" % r["packets"],
            r["tool"],
            "%.3f ± %.3f (%d)" % (r["mean"], r["stddev"], r["runs"]),
            "%.3f" % r["cpu"],
            "%.0f" % (r["size"] / r["mean"] / 1e6),
            "%.2fM" % (r["packets"] / r["mean"] / 1e6),
            "%.1f" % (r["rss_kb"] / 1024),
        ]
        if with_ratios:
            g = by_group[r["group"]]
            if r["tool"].startswith("ftpcap"):
                cells += [ratio(r["mean"], g.get(t, {}).get("mean")) for t in ("bare_walk", "tcpdump", "tshark")]
                cells.append(" / ".join(ratio(r["cpu"], g.get(t, {}).get("cpu")) or "–" for t in ("bare_walk", "tcpdump", "tshark")))
            else:
                cells += ["", "", "", ""]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("measurements", metavar="MEASUREMENTS.tsv",
                    help="the measurements.tsv of a run (machine.txt beside it is printed too)")
    a = ap.parse_args()
    rows = load(a.measurements)
    info = os.path.join(os.path.dirname(a.measurements), "machine.txt")
    if os.path.exists(info):
        with open(info) as f:
            print("```\n" + f.read().rstrip() + "\n```\n")
    main_rows = [r for r in rows if not r["group"].startswith(("scale:", "jobs:"))]
    scale = [r for r in rows if r["group"].startswith("scale:")]
    jobs = [r for r in rows if r["group"].startswith("jobs:")]
    print("### ftpcap vs baselines (warm page cache; seconds = wall-clock mean from hyperfine)\n")
    print(table(main_rows, True))
    if scale:
        print("\n### Per-byte cost at SIZE and 2×SIZE (bulk)\n")
        print(table(scale, False))
    if jobs:
        print("\n### One file vs two files, --jobs 1 vs --jobs 2 (bulk)\n")
        print(table(jobs, False))
        one = [r for r in jobs if r["group"] == "jobs:1 file"]
        j1 = [r for r in jobs if r["tool"] == "ftpcap --jobs 1" and r["group"] == "jobs:2 files"]
        j2 = [r for r in jobs if r["tool"] == "ftpcap --jobs 2"]
        if one and j1 and j2:
            print(
                "\nTwo files: --jobs 1 time ÷ --jobs 2 time = %.2f×; two files with --jobs 2 take %.2f× the time of one file."
                % (j1[0]["mean"] / j2[0]["mean"], j2[0]["mean"] / one[0]["mean"])
            )


if __name__ == "__main__":
    main()
