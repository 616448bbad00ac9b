#!/usr/bin/env python3
"""Times two ftpcap binaries side by side on the same captures, runs
interleaved (old, new, old, new, ...) so that a change in machine load hits
both alike; prints the fastest run of each as MB/s and the new/old ratio,
plain and with --transfers, as a markdown table."""
import argparse
import os
import subprocess
import time


def fastest(cmd, runs):
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("old", help="the baseline ftpcap binary")
    ap.add_argument("new", help="the ftpcap binary under test")
    ap.add_argument("captures", nargs="+", help="capture files")
    ap.add_argument("--runs", type=int, default=7, help="runs of each binary per case (default 7)")
    args = ap.parse_args()
    print("| capture | MB | mode | old MB/s | new MB/s | new/old time |")
    print("|---|---:|---|---:|---:|---:|")
    for cap in args.captures:
        mb = os.path.getsize(cap) / 1e6
        with open(cap, "rb") as f:  # warm the page cache
            while f.read(1 << 24):
                pass
        for mode, extra in (("plain", []), ("transfers", ["--transfers", "/dev/null"])):
            best = {"old": float("inf"), "new": float("inf")}
            for _ in range(args.runs):
                for name in ("old", "new"):
                    cmd = [getattr(args, name), "--quiet", cap, "-o", "/dev/null", *extra]
                    best[name] = min(best[name], fastest(cmd, 1))
            print(f"| {os.path.basename(cap)} | {mb:.0f} | {mode} | {mb / best['old']:.0f} | "
                  f"{mb / best['new']:.0f} | {best['new'] / best['old']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
