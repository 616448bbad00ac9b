#!/usr/bin/env python3
"""A user-space IPv4 router between two interfaces that impairs what it
forwards the way `tc qdisc ... netem` does (for kernels built without
sch_netem, like the one the evidence was recorded on).

It reads every frame on the two interfaces (AF_PACKET), forwards the IPv4
frames addressed to the far side's host (the MACs rewritten, TTL - 1, header
checksum recomputed) and leaves everything else (ARP, frames for this host)
to the kernel, whose own IP forwarding must be off.  Each forwarded frame
goes through a netem-like impairment, the same in both directions:

  loss P%              drop it
  duplicate P%         send it twice (the copy gets its own delay)
  delay D [J]          hold it D ms, or uniformly D-J .. D+J ms (jitter: frames
                       then overtake each other, as with netem)
  reorder P% [C%]      with delay: P% of the frames (correlation C%) go at
                       once, the others wait D ms, so they are overtaken

    evidence_impair.py --a ev-m0 --a-host 10.88.1.2 --a-mac MAC \\
        --b ev-m1 --b-host 10.88.2.2 --b-mac MAC --seed 1 -- delay 10ms reorder 25% 50%

Runs until SIGTERM / SIGINT; prints what it did on stderr then.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def parse_spec(words):
    """netem words -> dict(loss, dup, delay, jitter, reorder, reorder_corr) (fractions, seconds)."""
    spec = {"loss": 0.0, "dup": 0.0, "delay": 0.0, "jitter": 0.0, "reorder": 0.0, "reorder_corr": 0.0}

    def pct(w):
        return float(w.rstrip("%")) / 100

    def ms(w):
        if w.endswith("ms"):
            return float(w[:-2]) / 1000
        if w.endswith("us"):
            return float(w[:-2]) / 1e6
        if w.endswith("s"):
            return float(w[:-1])
        return float(w) / 1000

    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if w == "loss":
            spec["loss"] = pct(nxt)
            i += 2
        elif w == "duplicate":
            spec["dup"] = pct(nxt)
            i += 2
        elif w == "delay":
            spec["delay"] = ms(nxt)
            i += 2
            if i < len(words) and words[i][0].isdigit():
                spec["jitter"] = ms(words[i])
                i += 1
        elif w == "reorder":
            spec["reorder"] = pct(nxt)
            i += 2
            if i < len(words) and words[i][0].isdigit():
                spec["reorder_corr"] = pct(words[i])
                i += 1
        else:
            raise SystemExit("unknown impairment word %r" % w)
    return spec


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Side:
    def __init__(self, ifname, host, host_mac):
        self.ifname = ifname
        self.host = socket.inet_aton(host)
        self.host_mac = mac(host_mac)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.mac = open("/sys/class/net/%s/address" % ifname).read().strip()
        self.mac = mac(self.mac)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="first interface")
    ap.add_argument("--a-host", required=True, help="IPv4 address of the host behind it")
    ap.add_argument("--a-mac", required=True, help="that host's MAC address")
    ap.add_argument("--b", required=True, help="second interface")
    ap.add_argument("--b-host", required=True)
    ap.add_argument("--b-mac", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("spec", nargs="*", help="netem words: loss 5%% | duplicate 5%% | delay 10ms [5ms] | reorder 25%% [50%%]")
    a = ap.parse_args()
    spec = parse_spec(a.spec)
    rng = random.Random(a.seed)
    sides = [Side(a.a, a.a_host, a.a_mac), Side(a.b, a.b_host, a.b_mac)]
    by_fd = {s.sock.fileno(): (s, sides[1 - i]) for i, s in enumerate(sides)}
    queue, n = [], 0
    stats = {"forwarded": 0, "lost": 0, "duplicated": 0, "sent": 0, "overtaken": 0}
    last_reorder = [False]
    stop = [False]

    def on_signal(*_):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def delay_of():
        d = spec["delay"]
        if spec["reorder"]:
            p = spec["reorder"]
            if spec["reorder_corr"] and rng.random() < spec["reorder_corr"]:
                immediate = last_reorder[0]
            else:
                immediate = rng.random() < p
            last_reorder[0] = immediate
            if immediate:
                return 0.0
        if spec["jitter"]:
            d = max(0.0, rng.uniform(d - spec["jitter"], d + spec["jitter"]))
        return d

    last_due = [0.0, 0.0]
    print("evidence_impair: forwarding %s <-> %s with %s" % (a.a, a.b, " ".join(a.spec) or "no impairment"),
          file=sys.stderr, flush=True)
    while not stop[0]:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            out.sock.send(frame)
            stats["sent"] += 1
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        try:
            ready, _, _ = select.select(list(by_fd), [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            src, dst = by_fd[fd]
            try:
                frame, addr = src.sock.recvfrom(65536)
            except InterruptedError:
                continue
            if addr[2] == PACKET_OUTGOING or len(frame) < 34:
                continue
            if frame[0:6] != src.mac or frame[12:14] != b"\x08\x00" or frame[30:34] != dst.host:
                continue                        # not ours to route: ARP, frames for this host, ...
            ihl = (frame[14] & 15) * 4
            ttl = frame[22]
            if ttl <= 1:
                continue
            hdr = bytearray(frame[14:14 + ihl])
            hdr[8] = ttl - 1
            hdr[10:12] = b"\0\0"
            hdr[10:12] = struct.pack("!H", ip_checksum(bytes(hdr)))
            out = dst.host_mac + dst.mac + frame[12:14] + bytes(hdr) + frame[14 + ihl:]
            stats["forwarded"] += 1
            if spec["loss"] and rng.random() < spec["loss"]:
                stats["lost"] += 1
                continue
            copies = 2 if spec["dup"] and rng.random() < spec["dup"] else 1
            stats["duplicated"] += copies - 1
            k = 0 if src is sides[0] else 1
            for _ in range(copies):
                due = time.monotonic() + delay_of()
                if due < last_due[k]:
                    stats["overtaken"] += 1
                last_due[k] = max(last_due[k], due)
                n += 1
                heapq.heappush(queue, (due, n, dst, out))
    for due, _, out, frame in sorted(queue):
        out.sock.send(frame)
    print("evidence_impair: %s" % ", ".join("%s %d" % kv for kv in stats.items()), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
