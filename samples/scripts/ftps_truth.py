#!/usr/bin/env python3
"""Ground truth for samples/ftps/ from tshark, and its check against the client log.

    ftps_truth.py BASE...              write BASE.truth.tsv, compare with BASE.log
    ftps_truth.py --append-trailing BASE
                                       add to BASE.log the commands tshark decrypts
                                       after the last one the client logged (curl's
                                       debug output never shows its QUIT)
    ftps_truth.py --sclient-log OUT BASE -- LINE...
                                       print the log of an openssl s_client session
                                       (record_ftps.sh): LINEs as sent, replies from
                                       s_client's output OUT, in order

BASE.truth.tsv is tshark's own view of the control connection(s), decrypted
with the key log BASE.keys when there is one:

    tshark -r BASE.pcap -o tls.keylog_file:BASE.keys -Y ftp -T fields -E header=y \\
        -e frame.number -e ftp.request.command -e ftp.request.arg -e ftp.response.code

tshark 4.0 has no FTP-over-TLS port, so for implicit FTPS (port 990) the
port is bound to ftp inside TLS with an ssl_keys entry whose RSA key is a
throwaway one (it decrypts nothing; the key log does):
    -o 'uat:ssl_keys:"127.0.0.1","990","ftp","/tmp/any-rsa-key.pem",""'

Note on reading it: tshark gives one row per line-carrying TLS record or TCP
segment.  A continuation line of a multi-line reply has an empty code, and
the closing line ("214 Help OK.") has the code again when the server sent it
in a record of its own, so a multi-line 214 can show as two 214 rows.  The
check below therefore compares the log with the decrypted lines themselves
(tshark -T pdml), grouped into replies the FTP way (NNN- ... NNN).

tshark 4.0 follows "AUTH TLS" into TLS, but not "AUTH SSL" (what curl sends
first, and vsftpd, ProFTPD and pyftpdlib accept): there the rows after the
234 come from a second pass that decodes port 21 as TLS from the start
(-d tcp.port==21,tls and the ssl_keys entry for port 21), merged by frame.

(and, after a CCC, the cleartext rows from the first pass again).

The check prints one line per capture, "agree" or what differs, and exits 1
if any capture differs.  Captures made without a key log are compared up to
what tshark can read (up to the AUTH TLS).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record_check import read_log, read_pcap, split_replies  # noqa: E402

FIELDS = ["frame.number", "ftp.request.command", "ftp.request.arg", "ftp.response.code"]
_dummy_key = None


def dummy_rsa_key():
    global _dummy_key
    if _dummy_key is None:
        fd, path = tempfile.mkstemp(prefix="ftps-truth-", suffix=".pem")
        os.close(fd)
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _dummy_key = path
    return _dummy_key


def implicit(pcap):
    for _src, sport, _dst, dport, _seq, _flags, _payload in read_pcap(pcap):
        if 990 in (sport, dport):
            return True
    return False


def keys_of(base):
    k = base + ".keys"
    return k if os.path.exists(k) else None


def tshark_opts(base, data_tls=False, tls_port=None):
    """tshark options that decrypt BASE.pcap (data_tls: also decode the
    passive data connections as TLS, not as ftp-data; tls_port: decode this
    control port as FTP in TLS from its first byte)."""
    opts = ["-r", base + ".pcap"]
    if keys_of(base):
        opts += ["-o", "tls.keylog_file:" + keys_of(base)]
    if tls_port is None and implicit(base + ".pcap"):
        tls_port = 990
    if tls_port:
        opts += ["-o", 'uat:ssl_keys:"127.0.0.1","%d","ftp","%s",""' % (tls_port, dummy_rsa_key())]
        if tls_port != 990:
            opts += ["-d", "tcp.port==%d,tls" % tls_port]
    if data_tls:
        opts += ["--disable-protocol", "ftp-data", "-d", "tcp.port==40000-40100,tls"]
    return opts


def tshark(args):
    r = subprocess.run(["tshark"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit("tshark %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


def auth_ssl_frame(base):
    """tshark 4.0 follows AUTH TLS into TLS but not AUTH SSL (what curl sends
    first): then the frame of the 234 that answered AUTH SSL, else None."""
    pending = False
    for frame, _tls, req, ln in ftp_lines(_pdml(tshark_opts(base), "ftp")):
        if req:
            pending = ln.upper().startswith("AUTH SSL")
        elif pending and ln.startswith("234"):
            return frame
    return None


def passes(base, data_tls=False):
    """[(tshark options, keep(frame))]: one pass, or for AUTH SSL two: the
    cleartext up to the 234 (and after a CCC's TLS close), and the control
    port decoded as TLS for the frames in between."""
    split = auth_ssl_frame(base)
    if split is None:
        return [(tshark_opts(base, data_tls), lambda f: True)]
    tls_opts = tshark_opts(base, data_tls, tls_port=21)
    out = tshark(tls_opts + ["-Y", "tcp.port==21 && tls.record.content_type", "-T", "fields",
                             "-e", "frame.number"]).split()
    end = max(int(x) for x in out) if out else split
    return [(tshark_opts(base, data_tls), lambda f: f <= split or f > end),
            (tls_opts, lambda f: split < f <= end)]


def write_truth(base):
    fields = []
    for f in FIELDS:
        fields += ["-e", f]
    rows = []
    header = None
    for opts, keep in passes(base):
        out = tshark(opts + ["-Y", "ftp", "-T", "fields", "-E", "header=y"] + fields).decode("latin-1")
        lines = out.split("\n")
        header = lines[0]
        keeping = False
        for r in lines[1:]:
            first = r.split("\t")[0]
            if first.isdigit():
                keeping = keep(int(first))
            # (a line that does not start with a frame number is the rest of a
            # row whose argument held a newline: tshark's view of TLS bytes)
            if keeping and first.isdigit():
                rows.append(r)
    rows.sort(key=lambda r: int(r.split("\t")[0]))
    with open(base + ".truth.tsv", "w", encoding="latin-1") as f:
        f.write("\n".join([header] + rows) + "\n")


def _pdml(opts, display_filter=None):
    args = opts + ["-T", "pdml"]
    if display_filter:
        args += ["-Y", display_filter]
    return ET.fromstring(tshark(args))


def pdml(base, data_tls=False, display_filter=None):
    """[packet elements] of BASE.pcap as tshark decrypts them (passes merged)."""
    out = []
    for opts, keep in passes(base, data_tls):
        for pkt in _pdml(opts, display_filter).iter("packet"):
            if keep(frame_number(pkt)):
                out.append(pkt)
    out.sort(key=frame_number)
    return out


def frame_number(pkt):
    return int(pkt.find("proto[@name='frame']/field[@name='frame.number']").get("show"))


def ftp_lines(packets):
    """[(frame, in_tls, is_request, line)] for every FTP line tshark shows."""
    out = []
    if isinstance(packets, ET.Element):
        packets = packets.iter("packet")
    for pkt in packets:
        frame = None
        in_tls = False
        for proto in pkt.findall("proto"):
            name = proto.get("name")
            if name == "frame":
                frame = int(proto.find("field[@name='frame.number']").get("show"))
            elif name == "tls":
                in_tls = True
            elif name == "ftp":
                req = proto.find("field[@name='ftp.request']")
                is_req = req is not None and req.get("show") == "1"
                for fl in proto.findall("field[@name='']"):
                    raw = bytes.fromhex(fl.get("value", ""))
                    for ln in raw.decode("latin-1").split("\n"):
                        if ln:
                            out.append((frame, in_tls, is_req, ln.rstrip("\r")))
    return out


def wire(base):
    """(commands, reply codes, n_in_tls) that tshark decrypts on the control connection(s)."""
    lines = ftp_lines(pdml(base, display_filter="ftp"))
    cmds = [ln for _, _, req, ln in lines if req]
    server = "\n".join(ln for _, _, req, ln in lines if not req) + "\n"
    return cmds, split_replies(server.encode("latin-1")), lines


def replies(lines):
    """[(code, in_tls, first_frame)] of the server's replies (multi-line counted once)."""
    out, open_code = [], None
    for frame, tls, req, ln in lines:
        if req:
            continue
        if open_code is not None:
            if ln.startswith(open_code + " ") or ln == open_code:
                open_code = None
            continue
        m = re.match(r"^(\d{3})([ -]?)", ln)
        if m:
            out.append((m.group(1), tls, frame))
            if m.group(2) == "-":
                open_code = m.group(1)
    return out


def log_view(base):
    entries = read_log(base + ".log")
    cmds = [c for c, _, unsent in entries if c != "(connect)" and not unsent]
    codes = [code for _, cs, _ in entries for code in cs]
    return entries, cmds, codes


def compare(base):
    """A list of differences between BASE.log and what tshark decrypts (empty: they agree),
    and notes that are not differences."""
    entries, lcmds, lcodes = log_view(base)
    wcmds, wcodes, _ = wire(base)
    notes = []
    if not keys_of(base):
        # tshark sees the cleartext part only: up to the AUTH that got 234
        n = len(wcmds)
        notes.append("no key log: tshark reads %d of the %d commands and %d of the %d replies "
                     "(the cleartext part)" % (n, len(lcmds), len(wcodes), len(lcodes)))
        lcmds, lcodes = lcmds[:n], lcodes[:len(wcodes)]
    diffs = []
    if [c.upper() for c in lcmds] != [c.upper() for c in wcmds]:
        diffs.append("commands: log %r, tshark %r" % (lcmds, wcmds))
    if lcodes != wcodes:
        diffs.append("reply codes: log %r, tshark %r" % (lcodes, wcodes))
    return diffs, notes


def append_trailing(base, tool="curl"):
    entries, lcmds, lcodes = log_view(base)
    wcmds, wcodes, _ = wire(base)
    if wcmds[:len(lcmds)] != lcmds or wcodes[:len(lcodes)] != lcodes or len(wcmds) <= len(lcmds):
        return
    extra = wcodes[len(lcodes):]
    with open(base + ".log", "a") as f:
        for cmd in wcmds[len(lcmds):]:
            code = extra.pop(0) if extra else "(no reply)"
            f.write("%s -> %s [from tshark: not shown in %s's debug output]\n" % (cmd, code, tool))


def sclient_log(out_file, base, lines):
    """The log of an s_client -starttls ftp session: the STARTTLS part from the
    cleartext wire (s_client does it itself), then each line with its reply."""
    from record_check import control_streams
    c, s = control_streams(base + ".pcap")
    pre = []
    for ln in s.split(b"\n"):          # the server's cleartext: up to the 234
        pre.append(ln)
        if ln.startswith(b"234"):
            break
    codes = split_replies(b"\n".join(pre) + b"\n")
    cmds = []
    for ln in c.split(b"\n"):          # the client's: up to the AUTH
        cmds.append(ln.rstrip(b"\r").decode("latin-1"))
        if ln.upper().startswith(b"AUTH"):
            break
    print("(connect) -> %s" % codes.pop(0))
    for cmd in cmds:
        print("%s -> %s [sent by openssl s_client -starttls ftp]" % (cmd, codes.pop(0) if codes else "(no reply)"))
    got = split_replies(open(out_file, "rb").read())
    for ln in lines:
        if ln in ("K", "k"):
            print("# KeyUpdate (%s) sent by openssl s_client" %
                  ("update_requested" if ln == "K" else "update_not_requested"))
            continue
        print("%s -> %s" % (ln, got.pop(0) if got else "(no reply)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--append-trailing", action="store_true",
                    help="append the commands tshark decrypts after the last logged one")
    ap.add_argument("--sclient-log", metavar="OUT", help="print the log of an s_client session")
    ap.add_argument("base", nargs="+", help="capture name without .pcap (BASE.pcap, BASE.keys, BASE.log)")
    a, rest = ap.parse_known_args()
    if a.sclient_log:
        base = a.base[0]
        lines = a.base[1:] + [x for x in rest if x != "--"]
        sclient_log(a.sclient_log, base, lines)
        return 0
    if rest:
        ap.error("unknown arguments %s" % rest)
    bad = 0
    for base in a.base:
        if base.endswith(".pcap"):
            base = base[:-5]
        if a.append_trailing:
            append_trailing(base)
            continue
        write_truth(base)
        diffs, notes = compare(base)
        name = os.path.basename(base)
        print("%s: %s%s" % (name, "DIFFERS: " + "; ".join(diffs) if diffs else "log and tshark agree",
                            "" if not notes else " (" + "; ".join(notes) + ")"))
        bad += bool(diffs)
    if _dummy_key:
        os.unlink(_dummy_key)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
