#!/usr/bin/env python3
"""Ground truth for the captures in samples/evidence, from tshark and the
client's log, never from ftpcap.

For every capture NAME.pcap / NAME.pcapng that has a NAME.log next to it,
writes NAME.truth.tsv: one row per 214 or 503 reply, with the command it
answers and where both are in the capture.  Also writes INVENTORY.md in the
folder given (one line per capture: what is in it, what survives, what
tshark's FTP dissector finds).

How the truth is derived:

1. tshark decodes every frame of the FTP control connection (the first SYN
   to port 21; `-T fields` of tcp.seq_raw, tcp.len, tcp.payload, ...).
2. The two byte streams are rebuilt by placing each frame's payload at its
   TCP sequence offset from that direction's SYN (first copy wins; a later
   copy must carry the same bytes), so the order of the frames, duplicates
   and retransmissions do not matter.  A snaplen-cut capture carries only
   the heads of its payloads: its streams come from the uncut capture of the
   same packets recorded at the same time (NAME-sNN -> NAME-full.pcap; the
   sequence numbers are the same).
3. The streams must be complete and must reproduce the client's log
   exactly: the command lines in order, and the reply codes in order (a
   multi-line reply counts once).  The k-th reply in the server's stream is
   then the k-th reply code of the log, and the log says which command it
   answered (record_client.py waits for each reply before the next step;
   pipelined groups are answered in order).  Any disagreement is an error.
4. Each 214/503 reply and its command are then located in the capture
   itself: every frame that carries a byte of it (all copies), the first
   frame that carries its first byte, and how much of it the capture holds
   (snaplen cuts).
5. tshark's own `-z follow,tcp,raw` of the control stream is compared with
   the rebuilt streams (INVENTORY.md says where it agrees), and tshark's
   FTP dissector (`ftp.response.code`, TCP desegmentation on) is asked which
   of the rows it sees.

    evidence_truth.py samples/evidence            # every capture under it
    evidence_truth.py FILE.pcap [--reference FULL.pcap]
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record_check import read_log  # noqa: E402

CODES = ("214", "503")
FIELDS = ["frame.number", "tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
          "tcp.seq_raw", "tcp.len", "tcp.flags.syn", "tcp.flags.ack", "tcp.payload",
          "tcp.analysis.retransmission", "tcp.analysis.out_of_order",
          "tcp.analysis.duplicate_ack", "tcp.analysis.lost_segment",
          "tcp.analysis.spurious_retransmission", "ftp.response.code"]
TSHARK = ["tshark", "-n", "-o", "tcp.desegment_tcp_streams:TRUE",
          "-o", "tcp.analyze_sequence_numbers:TRUE"]


class TruthError(Exception):
    pass


def tshark_frames(path):
    """[dict] one per TCP frame of the capture."""
    cmd = TSHARK + ["-r", path, "-Y", "tcp", "-T", "fields", "-E", "separator=\t",
                    "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    frames = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        if not v.get("tcp.seq_raw"):
            continue
        # an ICMP-quoted TCP header would give two values: keep the outer one
        first = {k: (x.split(",")[0] if k != "ftp.response.code" else x) for k, x in v.items()}
        first["ftp.response.code"] = [c for c in v.get("ftp.response.code", "").split(",") if c]
        frames.append(first)
    return frames


def control_conn(frames):
    """(stream index, (client ip, port), (server ip, port)) of the first SYN to port 21."""
    for f in frames:
        if f["tcp.dstport"] == "21" and f["tcp.flags.syn"] in ("1", "True") and f["tcp.flags.ack"] in ("0", "False"):
            return f["tcp.stream"], (f["ip.src"], f["tcp.srcport"]), (f["ip.dst"], f["tcp.dstport"])
    raise TruthError("no SYN to port 21")


def segments(frames, client, server):
    """{"c": [...], "s": [...]} (frame, rel offset, wire length, captured bytes) per direction."""
    isn = {}
    for f in frames:
        ep = (f["ip.src"], f["tcp.srcport"])
        d = "c" if ep == client else "s" if ep == server else None
        if d and f["tcp.flags.syn"] in ("1", "True") and d not in isn:
            isn[d] = int(f["tcp.seq_raw"])
    if set(isn) != {"c", "s"}:
        raise TruthError("control connection without a SYN in each direction")
    out = {"c": [], "s": []}
    for f in frames:
        src, dst = (f["ip.src"], f["tcp.srcport"]), (f["ip.dst"], f["tcp.dstport"])
        if (src, dst) == (client, server):
            d = "c"
        elif (src, dst) == (server, client):
            d = "s"
        else:
            continue
        wire = int(f["tcp.len"] or 0)
        if wire == 0:
            continue
        rel = (int(f["tcp.seq_raw"]) - isn[d] - 1) & 0xFFFFFFFF
        data = bytes.fromhex(f["tcp.payload"]) if f["tcp.payload"] else b""
        out[d].append((int(f["frame.number"]), rel, wire, data))
    return out


def rebuild(segs):
    """The byte stream of one direction (first copy of each byte wins)."""
    buf = {}
    for frame, rel, wire, data in segs:
        if len(data) < wire:
            raise TruthError("frame %d is cut (%d of %d bytes): needs --reference" % (frame, len(data), wire))
        for i, b in enumerate(data):
            old = buf.setdefault(rel + i, b)
            if old != b:
                raise TruthError("frame %d disagrees with an earlier copy at offset %d" % (frame, rel + i))
    n = len(buf)
    if n and max(buf) != n - 1:
        missing = next(i for i in range(n + 1) if i not in buf)
        raise TruthError("stream has a hole at offset %d" % missing)
    return bytes(buf[i] for i in range(n))


def reply_spans(raw):
    """[(code, start, end)] of the replies in a server stream (multi-line = one)."""
    out, pos, open_code, open_start = [], 0, None, 0
    for ln in raw.split(b"\n"):
        start, end = pos, pos + len(ln) + 1
        pos = end
        text = ln.rstrip(b"\r").decode("latin-1")
        if open_code is not None:
            if text.startswith(open_code + " ") or text == open_code:
                out.append((open_code, open_start, min(end, len(raw))))
                open_code = None
            continue
        m = re.match(r"^(\d{3})([ -]?)", text)
        if m:
            if m.group(2) == "-":
                open_code, open_start = m.group(1), start
            else:
                out.append((m.group(1), start, min(end, len(raw))))
    return out


def command_spans(raw):
    """[(line, start, end)] of the command lines in a client stream."""
    out, pos = [], 0
    for ln in raw.split(b"\n")[:-1]:
        end = pos + len(ln) + 1
        out.append((re.sub(r"\xff[\xf0-\xfe]", "", ln.rstrip(b"\r").decode("latin-1")), pos, end))
        pos = end
    return out


def follow(path, stream):
    """(client bytes, server bytes) of tshark's -z follow,tcp,raw of `stream`."""
    out = subprocess.run(TSHARK + ["-r", path, "-q", "-z", "follow,tcp,raw,%s" % stream],
                         check=True, capture_output=True, text=True).stdout
    nodes, parts = {}, {0: [], 1: []}
    for line in out.splitlines():
        m = re.match(r"^Node ([01]): (.*):(\d+)$", line)
        if m:
            nodes[int(m.group(1))] = m.group(3)
            continue
        if re.fullmatch(r"\t?[0-9a-f]+", line):
            parts[1 if line.startswith("\t") else 0].append(bytes.fromhex(line.strip()))
    srv = 1 if nodes.get(1) == "21" else 0
    return b"".join(parts[1 - srv]), b"".join(parts[srv])


def locate(segs, start, end):
    """(first frame carrying byte `start`, all frames carrying a byte of
    [start, end), bytes of [start, end) captured from `start` on)."""
    first, frames, have = None, set(), set()
    for frame, rel, wire, data in segs:
        if rel < end and rel + wire > start:
            frames.add(frame)
            if rel <= start < rel + wire and (first is None or frame < first):
                first = frame
            have.update(range(max(rel, start), min(rel + len(data), end)))
    head = 0
    while start + head in have:
        head += 1
    return first, sorted(frames), head


def esc(b):
    return b.decode("latin-1").replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def truth(path, log, reference=None):
    """(rows, info) for one capture."""
    frames = tshark_frames(path)
    stream, client, server = control_conn(frames)
    segs = segments(frames, client, server)
    ref_path = reference or path
    if reference:
        rframes = tshark_frames(reference)
        rstream, rclient, rserver = control_conn(rframes)
        if (rclient, rserver) != (client, server):
            raise TruthError("reference %s has another control connection" % reference)
        rsegs = segments(rframes, client, server)
    else:
        rsegs, rstream = segs, stream
    cbytes, sbytes = rebuild(rsegs["c"]), rebuild(rsegs["s"])
    try:
        fc, fs = follow(ref_path, rstream)
        follow_ok = (fc, fs) == (cbytes, sbytes)
    except subprocess.CalledProcessError:
        follow_ok = False

    entries = read_log(log)
    log_cmds = [cmd for cmd, _, unsent in entries if cmd != "(connect)" and not unsent]
    cmds = command_spans(cbytes)
    if [c for c, _, _ in cmds] != log_cmds:
        raise TruthError("commands in the capture differ from the log")
    replies = reply_spans(sbytes)
    pairs = []    # (code, command or "", command number) per reply, from the log
    cno = 0
    for cmd, codes, unsent in entries:
        if cmd != "(connect)" and not unsent:
            cno += 1
        for code in codes:
            pairs.append((code, "" if cmd == "(connect)" else cmd, cno if cmd != "(connect)" else 0))
    if [c for c, _, _ in replies] != [p[0] for p in pairs]:
        raise TruthError("reply codes in the capture differ from the log")

    ftp_codes = {int(f["frame.number"]): f["ftp.response.code"] for f in frames if f["ftp.response.code"]}
    rows = []
    for k, ((code, start, end), (lcode, cmd, n)) in enumerate(zip(replies, pairs), 1):
        if code not in CODES:
            continue
        first, allf, head = locate(segs["s"], start, end)
        row = {"row": len(rows) + 1, "code": code, "command": cmd, "command_no": n, "reply_no": k,
               "reply_offset": start, "reply_len": end - start, "reply_frame": first or "",
               "reply_frames": ",".join(map(str, allf)),
               "reply_captured": "full" if head == end - start else "head:%d" % head,
               "code_captured": "yes" if head >= 3 else "no",
               "reply_head": esc(sbytes[start:start + min(head, 80)])}
        if n:
            _, cs, ce = cmds[n - 1]
            cfirst, call, chead = locate(segs["c"], cs, ce)
            row.update({"command_frame": cfirst or "", "command_frames": ",".join(map(str, call)),
                        "command_captured": "full" if chead == ce - cs else "head:%d" % chead,
                        "command_head": esc(cbytes[cs:cs + min(chead, ce - cs)].rstrip(b"\r\n"))})
        else:
            row.update({"command_frame": "", "command_frames": "", "command_captured": "",
                        "command_head": ""})
        row["tshark_ftp"] = "yes" if any(code in ftp_codes.get(f, []) for f in allf) else "no"
        rows.append(row)
    flags = lambda key: sum(1 for f in frames if f[key] not in ("", "0"))  # noqa: E731
    info = {"frames": len(frames), "follow_ok": follow_ok, "reference": reference,
            "retrans": flags("tcp.analysis.retransmission"),
            "spurious": flags("tcp.analysis.spurious_retransmission"),
            "ooo": flags("tcp.analysis.out_of_order"), "dupack": flags("tcp.analysis.duplicate_ack"),
            "lost": flags("tcp.analysis.lost_segment"),
            "tshark_rows": sum(1 for f, cs in ftp_codes.items() for c in cs if c in CODES)}
    return rows, info


COLUMNS = ["row", "code", "command", "command_no", "reply_no", "reply_offset", "reply_len",
           "reply_frame", "reply_frames", "reply_captured", "code_captured", "reply_head",
           "command_frame", "command_frames", "command_captured", "command_head", "tshark_ftp"]


def write_tsv(path, rows):
    with open(path, "w") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(str(r[c]) for c in COLUMNS) + "\n")


def reference_for(path):
    """NAME-sNN.pcap -> NAME-full.pcap (a snaplen-cut capture's uncut twin)."""
    m = re.match(r"^(.*)-s\d+(\.pcap(?:ng)?)$", path)
    if m and os.path.exists(m.group(1) + "-full" + m.group(2)):
        return m.group(1) + "-full" + m.group(2)
    return None


def captures(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if re.search(r"\.pcap(ng)?$", f) and os.path.exists(os.path.join(d, re.sub(r"\.pcap(ng)?$", ".log", f))):
                out.append(os.path.join(d, f))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="evidence folder(s) or single captures")
    ap.add_argument("--reference", help="uncut capture of the same packets (single capture only)")
    a = ap.parse_args()
    failed = 0
    for root in a.paths:
        single = os.path.isfile(root)
        files = [root] if single else captures(root)
        inv = []
        for cap in files:
            log = re.sub(r"\.pcap(ng)?$", ".log", cap)
            ref = a.reference if single and a.reference else reference_for(cap)
            try:
                rows, info = truth(cap, log, ref)
            except (TruthError, subprocess.CalledProcessError) as e:
                print("%s: %s" % (cap, e), file=sys.stderr)
                failed += 1
                continue
            write_tsv(re.sub(r"\.pcap(ng)?$", ".truth.tsv", cap), rows)
            inv.append((os.path.relpath(cap, root if not single else os.path.dirname(cap)), os.path.getsize(cap),
                        rows, info))
        if not single:
            write_inventory(root, inv)
    return 1 if failed else 0


def write_inventory(root, inv):
    with open(os.path.join(root, "INVENTORY.md"), "w") as f:
        f.write("# Evidence inventory\n\n"
                "Written by `samples/scripts/evidence_truth.py` from tshark and the client logs (never from "
                "ftpcap). One line per capture. *rows*: 214/503 replies in the client log (= lines of "
                "`NAME.truth.tsv`); *code cut*: rows whose reply code is not in the capture (snaplen); "
                "*reply cut* / *cmd cut*: rows whose reply / command text is only partly captured; "
                "*tshark FTP*: rows tshark's FTP dissector shows with the right code at one of the reply's "
                "frames (and in brackets every frame where it shows a 214/503, copies included); "
                "*follow*: whether `tshark -z follow,tcp,raw` of the control stream gives the same bytes "
                "as the streams rebuilt by sequence number (for a snaplen-cut capture: of its uncut twin); "
                "then tshark's TCP analysis counts (retransmission, spurious retransmission, out-of-order, "
                "duplicate ACK, previous segment not captured).\n\n"
                "| capture | bytes | frames | rows | code cut | reply cut | cmd cut | tshark FTP | follow "
                "| retr | spur | ooo | dupack | lost |\n"
                "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
        for rel, size, rows, i in inv:
            f.write("| `%s` | %d | %d | %d | %d | %d | %d | %d (%d) | %s | %d | %d | %d | %d | %d |\n" % (
                rel, size, i["frames"], len(rows),
                sum(r["code_captured"] == "no" for r in rows),
                sum(r["reply_captured"] != "full" for r in rows),
                sum(r["command_captured"] not in ("full", "") for r in rows),
                sum(r["tshark_ftp"] == "yes" for r in rows), i["tshark_rows"],
                "yes" if i["follow_ok"] else "no", i["retrans"], i["spurious"], i["ooo"], i["dupack"],
                i["lost"]))


if __name__ == "__main__":
    sys.exit(main())
