#!/usr/bin/env python3
"""Generate adversarial ("hostile") captures: samples/hostile/, or measure_hostile.sh's big set.

Usage:
    python3 samples/scripts/gen_hostile.py [OUTDIR]        # small set -> samples/hostile/
    python3 samples/scripts/gen_hostile.py --big DIR       # big set (not checked in) -> DIR
    python3 samples/scripts/gen_hostile.py --baseline BYTES OUT
        # a "normal" capture of about BYTES: samples/real/vsftpd-ftplib.pcap
        # repeated, each copy on its own addresses and later in time

Standard library only; reuses the pcap/pcapng writer and TCP connection model
of gen_edge.py.  Deterministic: every random choice comes from random.Random
seeded with the CRC32 of the output file name (and of the variant), so two
runs give byte-identical files.
"""

import os
import random
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_edge as E  # noqa: E402
from gen_edge import C, S, SYN, ACK, PSH, FIN, Conn, eth  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
M32 = 0xFFFFFFFF


def rng_for(name):
    return random.Random(zlib.crc32(name.encode()))


# ---------------------------------------------------------------- helpers
def pcap_header(linktype=1, snaplen=262144):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(ts_ns, data, orig=None):
    sec, frac = divmod(ts_ns, 10**9)
    return struct.pack("<IIII", sec, frac // 1000, len(data), orig if orig is not None else len(data)) + data


def ng_block(btype, body):
    body += b"\0" * ((-len(body)) % 4)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def ng_shb():
    return ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def ng_idb(linktype=1):
    return ng_block(1, struct.pack("<HHI", linktype, 0, 262144))


def ng_epb(ts_ns, data):
    units = ts_ns // 1000
    return ng_block(6, struct.pack("<IIIII", 0, units >> 32, units & M32, len(data), len(data)) + data)


def write(outdir, name, data, index, doc):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)
    index.append((name, len(data), doc))


def std_session(c, extra=()):
    """Greeting, login, RNTO without RNFR -> 503, HELP -> 214, then `extra` (cmd, reply)
    pairs, then QUIT.  Returns nothing; the connection is closed."""
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    c.reply(E.R503_RNFR, m)
    h = c.cmd(b"HELP\r\n")
    c.reply(E.HELP_214, h)
    for cmd, rep in extra:
        m = c.cmd(cmd)
        c.reply(rep, m)
    c.close()


# ---------------------------------------------------------------- cases
def syn_flood(name, n):
    """A real session (503 + 214) whose middle is drowned in `n` SYNs to port 21,
    each from its own address/port (never answered)."""
    cap = eth(name)
    c = Conn(cap, cport=40000, cisn=1000, sisn=2000)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    c.reply(E.R503_RNFR, m)
    # The flood: raw frames, built fast (checksums are left 0; ftpcap does not check them).
    r = rng_for(name + "/flood")
    tmpl_mac = E.MAC[S] + E.MAC[C] + b"\x08\x00"
    for i in range(n):
        src = bytes([10, 128 + (i >> 16) % 64, (i >> 8) & 0xFF, i & 0xFF])
        sport = 1024 + r.randrange(60000)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 44, i & 0xFFFF, 0x4000, 64, 6, 0, src, E.IP4[S])
        tcp = struct.pack("!HHIIBBHHH", sport, 21, r.getrandbits(32), 0, 6 << 4, SYN, 64240, 0, 0) + E.MSS_OPT
        cap.add(0, tmpl_mac + ip + tcp + b"\0\0", 1000)
    h = c.cmd(b"HELP\r\n")
    c.reply(E.HELP_214, h)
    c.close()
    return cap


def session_flood(name, n):
    """A real session (503 + 214) whose middle is drowned in `n` sessions that
    each carry payload (a `220` greeting and a `USER`), each its own 4-tuple:
    they fill the flow table with connections that cannot be dropped as idle."""
    cap = eth(name)
    c = Conn(cap, cport=40000, cisn=1000, sisn=2000)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    c.reply(E.R503_RNFR, m)
    tmpl_s = E.MAC[C] + E.MAC[S] + b"\x08\x00"
    tmpl_c = E.MAC[S] + E.MAC[C] + b"\x08\x00"
    for i in range(n):
        client = bytes([10, 128 + (i >> 16) % 64, (i >> 8) & 0xFF, i & 0xFF])
        cport = 1024 + i % 60000
        for (mac, src, dst, sp, dp, seq, payload) in (
            (tmpl_s, E.IP4[S], client, 21, cport, 7000, b"220 flood\r\n"),
            (tmpl_c, client, E.IP4[S], cport, 21, 9000, b"USER x\r\n"),
        ):
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), i & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
            tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, 1, 5 << 4, 0x18, 64240, 0, 0)
            cap.add(0, mac + ip + tcp + payload, 1000)
    h = c.cmd(b"HELP\r\n")
    c.reply(E.HELP_214, h)
    c.close()
    return cap


def one_byte_segments(name):
    """A full session (greeting, login, 503 to RNTO, 214 to HELP, QUIT) in which every
    segment in both directions carries exactly one byte."""
    cap = eth(name)
    c = Conn(cap)

    def every_byte(d):
        n = len(c.buf[d]) - c.flushed[d]
        c.flush(d, splits=list(range(1, n)), delay=1000)

    c.handshake()
    for d, text, answers in [(S, E.GREETING, None)]:
        c.write(d, text, answers)
        every_byte(d)
    for cmd, rep in [(b"USER anonymous\r\n", E.R331), (b"PASS guest@\r\n", E.R230),
                     (b"RNTO b\r\n", E.R503_RNFR), (b"HELP\r\n", E.HELP_214), (b"QUIT\r\n", E.R221)]:
        m = c.write(C, cmd)
        every_byte(C)
        c.write(S, rep, m)
        every_byte(S)
    c.fin_(S)
    c.fin_(C)
    c.ack(S)
    return cap


def holes(name, n):
    """2n exchanges of `RNTO x` -> 503 (each in its own segment); every other server
    segment is missing from the capture (n holes).  The client's ACKs never move past
    the greeting, so the holes stay open in the out-of-order buffer until a buffer cap
    or the end of the stream."""
    cap = eth(name)
    c = Conn(cap, cport=40001, cisn=5000, sisn=7000)
    c.open()
    frozen_ack = c.ackno(C)
    c.ackno = lambda d: frozen_ack if d == C else Conn.ackno(c, d)
    for i in range(2 * n):
        m = c.write(C, b"RNTO x\r\n")
        c.flush(C, delay=1000)
        c.write(S, E.R503_SEQ, m)
        c.flush(S, lost=(0,) if i % 2 == 1 else (), delay=1000)
    del c.ackno
    c.close()
    return cap


def huge_reply(name, size):
    """HELP answered by one multi-line 214 of about `size` (lines of 64 bytes),
    sent in 1448-byte segments; then RNTO -> 503 and QUIT."""
    cap = eth(name)
    c = Conn(cap, cport=40002)
    c.open()
    h = c.cmd(b"HELP\r\n")
    line = b" ABOR ACCT ALLO APPE CDUP CWD DELE EPRT EPSV FEAT HELP LIST MDTM\r\n"
    body = b"214-The following commands are recognized.\r\n" + line * (size // len(line)) + b"214 Help OK.\r\n"
    c.write(S, body, h)
    c.flush(S, splits=list(range(1448, len(body), 1448)), delay=1000)
    m = c.cmd(b"RNTO b\r\n")
    c.reply(E.R503_RNFR, m)
    c.close()
    return cap


def endless_line(name, size):
    """RNTO -> 503, then HELP answered by `214 ` followed by `size` with no line
    end; the server then closes the connection (FIN)."""
    cap = eth(name)
    c = Conn(cap, cport=40003)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    c.reply(E.R503_RNFR, m)
    h = c.cmd(b"HELP\r\n")
    body = b"214 " + b"A" * size
    c.write(S, body, h)
    c.flush(S, splits=list(range(1448, len(body), 1448)), delay=1000)
    c.fin_(S)
    c.fin_(C)
    c.ack(S)
    return cap


def session_records(name, linktype=1):
    """Frames of one standard session (503 + 214), as (ts, bytes)."""
    cap = E.Capture(name, [E.Iface(linktype)])
    std_session(Conn(cap, cport=40004))
    return [(r.ts, r.data) for r in cap.records]


def caplen_4gib(name):
    """A standard session, then a record header claiming a caplen of 0xFFFFFFFF
    (4 GiB) followed by 64 bytes of junk."""
    recs = session_records(name)
    out = bytearray(pcap_header())
    for ts, d in recs:
        out += pcap_record(ts, d)
    out += struct.pack("<IIII", recs[-1][0] // 10**9 + 1, 0, 0xFFFFFFFF, 0xFFFFFFFF) + b"\xAA" * 64
    return bytes(out)


def pcapng_short_block_min(name):
    """The pcap-parser 0.17 panic reproducer: a section header then
    `01 00 00 80 08 00 00 00 08 00 00 00` (a Process Information Block of length 8)."""
    return ng_shb() + bytes.fromhex("010000800800000008000000")


def pcapng_short_block(name):
    """A standard session in pcapng, then the same short (length 8) block."""
    out = ng_shb() + ng_idb()
    for ts, d in session_records(name):
        out += ng_epb(ts, d)
    return out + bytes.fromhex("010000800800000008000000")


def pcapng_bogus_epb(name, variant):
    """A standard session in pcapng, then an Enhanced Packet Block with bogus lengths."""
    recs = session_records(name)
    out = bytearray(ng_shb() + ng_idb())
    for ts, d in recs:
        out += ng_epb(ts, d)
    ts = recs[-1][0] + 10**9
    units = ts // 1000
    payload = recs[5][1]
    if variant == "caplen":
        # caplen far beyond the block
        body = struct.pack("<IIIII", 0, units >> 32, units & M32, 0xFFFFFF00, len(payload)) + payload
        out += ng_block(6, body)
    elif variant == "trailer":
        # trailing block length differs from the leading one
        blk = bytearray(ng_block(6, struct.pack("<IIIII", 0, units >> 32, units & M32, len(payload),
                                                  len(payload)) + payload))
        blk[-4:] = struct.pack("<I", len(blk) + 4)
        out += blk
    elif variant == "huge":
        # a block length of 0xFFFFFFF0 (multiple of 4) with a few bytes behind it
        out += struct.pack("<II", 6, 0xFFFFFFF0) + b"\0" * 64
    elif variant == "tiny":
        # EPB whose block length (20) is below the EPB's fixed 32 bytes
        out += struct.pack("<II", 6, 20) + b"\0" * 8 + struct.pack("<I", 20)
    return bytes(out)


def overlap_disagree(name):
    """503 to `RNTO b` whose bytes are retransmitted three times with different
    contents over shifted ranges (partial overlaps on both ends, one covering the
    whole reply, one arriving before the original), then a 214 whose middle is
    overlapped by 40 segments of garbage."""
    cap = eth(name)
    c = Conn(cap, cport=40005)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    r = c.write(S, E.R503_SEQ, m)
    n = len(E.R503_SEQ)
    # a later segment first (out of order), then the original, then disagreeing copies
    c.send(S, r.off + 10, n - 10)
    c.send(S, r.off, 12)
    c.send(S, r.off + 4, data=b"XXXXXXXXXXXXXXXX")
    c.send(S, r.off, data=b"200 All good, nothing to see.\r\n"[:n])
    c.send(S, r.off + n - 6, data=b"zzzzzz")
    c.flushed[S] = len(c.buf[S])
    c.ack(C)
    h = c.cmd(b"HELP\r\n")
    hr = c.write(S, E.HELP_214, h)
    ln = len(E.HELP_214)
    rr = rng_for(name + "/garbage")
    c.send(S, hr.off, 60)
    for i in range(40):
        a = rr.randrange(20, ln - 20)
        b = min(ln, a + rr.randrange(1, 30))
        c.send(S, hr.off + a, data=bytes(rr.randrange(0x21, 0x7F) for _ in range(b - a)), delay=1000)
    c.send(S, hr.off + 60, ln - 60)
    c.flushed[S] = len(c.buf[S])
    c.ack(C)
    c.close()
    return cap


def seq_wrap_reply(name):
    """The server's sequence numbers wrap past 2^32 in the middle of a multi-line 214,
    whose segments arrive out of order across the wrap; a 503 follows."""
    cap = eth(name)
    greet_len = len(E.GREETING) + len(E.R331) + len(E.R230)
    # choose the ISN so that the wrap falls 100 bytes into the 214
    sisn = (2**32 - 1 - greet_len - 100) & M32
    c = Conn(cap, cport=40006, sisn=sisn)
    c.open()
    h = c.cmd(b"HELP\r\n")
    c.write(S, E.HELP_214, h)
    c.flush(S, splits=[50, 99, 100, 101, 150], order=[0, 2, 1, 4, 3, 5])
    m = c.cmd(b"RNTO b\r\n")
    c.reply(E.R503_RNFR, m)
    c.close()
    return cap


def time_backwards(name):
    """A standard session whose timestamps jump around: back by an hour, back to
    1970 (zero), forward to 2106 (0xFFFFFFFF seconds), and back again."""
    cap = eth(name)
    std_session(Conn(cap, cport=40007))
    jumps = [0, 0, -3600 * 10**9, 0, None, 0, "max", -10**9, 0]
    for i, rec in enumerate(cap.records):
        j = jumps[i % len(jumps)]
        if j is None:
            rec.ts = 0
        elif j == "max":
            rec.ts = 0xFFFFFFFF * 10**9
        else:
            rec.ts = max(0, rec.ts + j)
    return cap


def cut_in_header(name):
    """A standard session; the file ends 7 bytes into the next record header."""
    recs = session_records(name)
    out = bytearray(pcap_header())
    for ts, d in recs:
        out += pcap_record(ts, d)
    return bytes(out) + pcap_record(recs[-1][0] + 1000, recs[-1][1])[:7]


def cut_in_block(name):
    """A standard session in pcapng; the file ends in the middle of the last EPB."""
    out = ng_shb() + ng_idb()
    recs = session_records(name)
    for ts, d in recs:
        out += ng_epb(ts, d)
    return out[:-25]


def mutate_real(src, name, variant):
    """A real capture with seeded damage: `flips` flips N random bits after the
    file header; `cut` truncates at a random point; `both` does both."""
    data = bytearray(open(src, "rb").read())
    r = rng_for(name)
    if variant in ("flips", "both"):
        for _ in range(r.randint(8, 24)):
            pos = r.randrange(24, len(data))
            data[pos] ^= 1 << r.randrange(8)
    if variant in ("cut", "both"):
        data = data[:r.randrange(len(data) // 3, len(data) - 1)]
    return bytes(data)


def html_markup(name):
    """Markup and script in the banner, USER, commands, replies and a HELP list,
    aimed at the `--html` page: `<script>`, `</script>` inside text, an `<img
    onerror>`, a `javascript:` link, an HTML comment opener, `&` entities and
    U+2028 (a JavaScript line break). Each would set the page's title to
    ALERTED if it ran. The server answers 503 to each odd command, so each
    becomes a row."""
    cap = eth(name)
    c = Conn(cap, cport=40009)
    c.handshake()
    c.reply(b"220 <script>document.title='ALERTED'</script> FTP\r\n", None)
    c.ack(C)
    u = c.cmd(b"USER <img src=x onerror=\"document.title='ALERTED'\">\r\n")
    c.reply(E.R331, u)
    p = c.cmd(b"PASS secret\r\n")
    c.reply(E.R230, p)
    odd = [
        b"RNTO </script><script>document.title='ALERTED'</script>\r\n",
        b"RNTO <a href=\"javascript:document.title='ALERTED'\">x</a>\r\n",
        b"RNTO <!-- &amp; &lt;b&gt; \xe2\x80\xa8 \xe2\x80\xa9\r\n",
        b"RNTO \"});document.title='ALERTED';({\"\r\n",
    ]
    for cmd in odd:
        m = c.cmd(cmd)
        c.reply(b"503 <b>Bad</b> sequence: " + cmd.rstrip(b"\r\n") + b"\r\n", m)
    h = c.cmd(b"HELP\r\n")
    c.reply(b"214-The following commands are recognized <svg onload=alert(1)>.\r\n"
            b" RETR STOR </pre><script>document.title='ALERTED'</script> HELP\r\n"
            b"214 Help OK.\r\n", h)
    c.close()
    return cap


def inert_output(name):
    """Commands and replies crafted against the reports: spreadsheet formulas
    (`=HYPERLINK`, `+cmd`, `@SUM`, `-2+3`), CSV/JSON metacharacters, NUL, DEL,
    a C1 CSI (U+009B), invalid UTF-8, terminal escapes (ESC [ 2 J, ESC ] 0 ; title BEL)
    in the banner, USER, commands, replies, a HELP list and a RETR path, and a PASS
    (with an ESC and a formula in it) that must stay masked.  The server answers
    503 to each odd command, so each becomes a row."""
    cap = eth(name)
    c = Conn(cap, cport=40008)
    c.handshake()
    c.reply(b"220 \x1b]0;owned\x07vsFTPd 3.0.3 \x1b[2J\r\n", None)
    c.ack(C)
    u = c.cmd(b"USER \x1b[2Jadmin=1+1\r\n")
    c.reply(E.R331, u)
    p = c.cmd(b"PASS =s3cr\x1bt,\"pw\"\r\n")
    c.reply(E.R230, p)
    odd = [
        b"=HYPERLINK(\"http://evil.example/\",\"click\")\r\n",
        b"+cmd|' /C calc'!A0\r\n",
        b"@SUM(1+1)*cmd|' /C calc'!A0\r\n",
        b"-2+3\r\n",
        b"RNTO a,b\"c\r\n",
        b"RNTO \x1b[2J\x1b]0;title\x07\r\n",
        b"RNTO \xc3\x28\x80\xfe \xe2\x80\xa8 \xc2\x9b31m\r\n",
        b"RNTO nul\x00del\x7ftab\tcr\rend\\x41\r\n",
    ]
    for cmd in odd:
        m = c.cmd(cmd)
        c.reply(b"503 \x1b[31mBad\x1b[0m sequence: \"" + cmd.rstrip(b"\r\n") + b"\"\r\n", m)
    p2 = c.cmd(b"PASS \x1b[2J=HYPERLINK(\"x\")\r\n")
    c.reply(b"503 Already logged in \x1b]0;t\x07.\r\n", p2)
    h = c.cmd(b"HELP\r\n")
    c.reply(b"214-The following commands are recognized \x1b[2J.\r\n"
            b" =CMD @SUM \x1b[2J RETR STOR \xff\xfe HELP\r\n"
            b"214 Help \x1b]0;x\x07OK.\r\n", h)
    s = c.cmd(b"SYST\r\n")
    c.reply(b"215 UNIX \x1b[2J Type: L8\r\n", s)
    pv = c.cmd(b"PASV\r\n")
    c.reply(b"227 Entering Passive Mode (10,0,0,2,156,64).\r\n", pv)
    rt = c.cmd(b"RETR =HYPERLINK(\"x\")\x1b[2J.txt\r\n")
    c.reply(b"550 \x1b[2JNo such file.\r\n", rt)
    c.close()
    return cap


SMALL = [
    ("syn-flood.pcap", lambda n: syn_flood(n, 5000).serialize(), syn_flood.__doc__.replace("`n`", "5,000")),
    ("one-byte-segments.pcap", lambda n: one_byte_segments(n).serialize(), one_byte_segments.__doc__),
    ("holes.pcap", lambda n: holes(n, 2000).serialize(), holes.__doc__.replace("2n exchanges", "4,000 exchanges").replace("(n holes)", "(2,000 holes)")),
    ("huge-reply.pcap", lambda n: huge_reply(n, 200_000).serialize(),
     huge_reply.__doc__.replace("`size`", "200 KB")),
    ("endless-line.pcap", lambda n: endless_line(n, 200_000).serialize(),
     endless_line.__doc__.replace("`size`", "200 KB")),
    ("caplen-4gib.pcap", caplen_4gib, caplen_4gib.__doc__),
    ("pcapng-short-block-min.pcapng", pcapng_short_block_min, pcapng_short_block_min.__doc__),
    ("pcapng-short-block.pcapng", pcapng_short_block, pcapng_short_block.__doc__),
    ("pcapng-epb-caplen.pcapng", lambda n: pcapng_bogus_epb(n, "caplen"),
     "A standard session in pcapng, then an EPB whose captured length (0xFFFFFF00) is far beyond its block."),
    ("pcapng-epb-trailer.pcapng", lambda n: pcapng_bogus_epb(n, "trailer"),
     "A standard session in pcapng, then an EPB whose trailing block length differs from the leading one."),
    ("pcapng-epb-huge.pcapng", lambda n: pcapng_bogus_epb(n, "huge"),
     "A standard session in pcapng, then a block header claiming 0xFFFFFFF0 bytes, followed by 64 bytes."),
    ("pcapng-epb-tiny.pcapng", lambda n: pcapng_bogus_epb(n, "tiny"),
     "A standard session in pcapng, then an EPB of block length 20 (below the EPB's fixed 32 bytes)."),
    ("overlap-disagree.pcap", lambda n: overlap_disagree(n).serialize(), overlap_disagree.__doc__),
    ("seq-wrap-reply.pcap", lambda n: seq_wrap_reply(n).serialize(), seq_wrap_reply.__doc__),
    ("time-backwards.pcap", lambda n: time_backwards(n).serialize(), time_backwards.__doc__),
    ("cut-in-header.pcap", cut_in_header, cut_in_header.__doc__),
    ("cut-in-block.pcapng", cut_in_block, cut_in_block.__doc__),
    ("inert-output.pcap", lambda n: inert_output(n).serialize(), inert_output.__doc__),
    ("html-markup.pcap", lambda n: html_markup(n).serialize(), html_markup.__doc__),
]

MUTATED = [
    ("real-vsftpd-flips.pcap", "vsftpd-ftplib.pcap", "flips"),
    ("real-vsftpd-cut.pcap", "vsftpd-ftplib.pcap", "cut"),
    ("real-proftpd-flips.pcap", "proftpd-help.pcap", "flips"),
    ("real-proftpd-both.pcap", "proftpd-help.pcap", "both"),
    ("real-pure-ftpd-flips.pcap", "pure-ftpd-ftplib.pcap", "flips"),
    ("real-pyftpdlib-both.pcap", "pyftpdlib-lftp.pcap", "both"),
]

BIG = [
    ("big-syn-flood.pcap", lambda n: syn_flood(n, 1_000_000).serialize(), "1,000,000 SYNs around a real session"),
    ("big-session-flood.pcap", lambda n: session_flood(n, 300_000).serialize(),
     "300,000 sessions that each carry payload, around a real session"),
    ("big-holes.pcap", lambda n: holes(n, 100_000).serialize(), "100,000 holes in one server stream"),
    ("big-huge-reply.pcap", lambda n: huge_reply(n, 10_000_000).serialize(), "a 10 MB multi-line 214"),
    ("big-endless-line.pcap", lambda n: endless_line(n, 10_000_000).serialize(), "a 10 MB line with no end"),
]


README_HEAD = """\
# Hostile captures

Adversarial and broken captures for ftpcap (issue 6), made by
`python3 samples/scripts/gen_hostile.py` (deterministic: re-running it gives
byte-identical files). Big variants (1,000,000-SYN flood, 100,000 holes,
10 MB multi-line reply, 10 MB line with no end) are made on demand, never
checked in: `python3 samples/scripts/gen_hostile.py --big target/hostile-big`.
`samples/scripts/measure_hostile.sh` runs ftpcap on all of them and prints
exit code, rows, warnings, peak RSS and speed; `tests/hostile.rs` pins exit
codes, rows, warning kinds and inert output; `tests/expected/samples/hostile/`
holds the exact reports.

"Standard session" below: greeting, USER/PASS, `RNTO b` answered 503, `HELP`
answered by a multi-line 214, QUIT.

"""


def clean(doc):
    return " ".join(doc.split())


def baseline(size, out):
    """`samples/real/vsftpd-ftplib.pcap` repeated until the file holds `size` bytes;
    copy k has its client's address changed to 127.a.b.1 and its server's to
    127.a.b.2, and its timestamps moved k*10 s later, so every copy is its own
    session.  The sample was recorded on loopback, where both ends are
    127.0.0.1: which end is which comes from the SYNs (the client opens the
    control and, in passive mode, the data connections)."""
    src = open(os.path.join(SAMPLES, "real", "vsftpd-ftplib.pcap"), "rb").read()
    hdr, body = src[:24], src[24:]
    recs = []
    pos = 0
    while pos + 16 <= len(body):
        sec, usec, cl, ol = struct.unpack("<IIII", body[pos:pos + 16])
        recs.append((sec, usec, ol, body[pos + 16:pos + 16 + cl]))
        pos += 16 + cl

    def ports(d):
        ihl = (d[14] & 0x0F) * 4
        return struct.unpack(">HH", d[14 + ihl:18 + ihl]), d[14 + ihl + 13]

    opened = set()  # (client port, server port) of every connection's SYN
    for _, _, _, d in recs:
        if len(d) >= 54 and d[12:14] == b"\x08\x00" and d[23] == 6:
            (sp, dp), flags = ports(d)
            if flags & 0x12 == 0x02:
                opened.add((sp, dp))
    with open(out, "wb") as f:
        f.write(hdr)
        written, k = 24, 0
        while written < size:
            a, b = (k >> 8) & 0xFF, k & 0xFF
            client, server = bytes([127, a, b, 1]), bytes([127, a, b, 2])
            for sec, usec, ol, d in recs:
                d = bytearray(d)
                if len(d) >= 54 and d[12:14] == b"\x08\x00" and d[23] == 6:
                    (sp, dp), _ = ports(d)
                    from_server = (dp, sp) in opened or (sp == 21 and (sp, dp) not in opened)
                    d[26:30], d[30:34] = (server, client) if from_server else (client, server)
                rec = struct.pack("<IIII", sec + 10 * k, usec, len(d), ol) + bytes(d)
                f.write(rec)
                written += len(rec)
            k += 1


def main():
    import argparse
    ap = argparse.ArgumentParser(description="Writes the small hostile captures and their README.md to OUTDIR "
                                 "(default samples/hostile), or with --big / --baseline the captures "
                                 "measure_hostile.sh times. Deterministic: two runs give byte-identical files.")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--big", metavar="DIR", help="write the big hostile captures (for measure_hostile.sh) to DIR instead")
    mode.add_argument("--baseline", nargs=2, metavar=("BYTES", "FILE"),
                      help="write a normal capture of about BYTES to FILE (the baseline of measure_hostile.sh)")
    ap.add_argument("outdir", nargs="?",
                    help="output folder of the small set (default: samples/hostile)")
    args = ap.parse_args()
    if args.outdir is not None and (args.big or args.baseline):
        ap.error("OUTDIR is for the small set; --big and --baseline name their own output")
    if args.outdir is None:
        args.outdir = os.path.join(SAMPLES, "hostile")
    if args.baseline:
        if not args.baseline[0].isdigit():
            ap.error("--baseline: BYTES must be a number of bytes, not %r" % args.baseline[0])
        baseline(int(args.baseline[0]), args.baseline[1])
        return
    big = args.big is not None
    outdir = args.big if big else args.outdir
    os.makedirs(outdir, exist_ok=True)
    index = []
    if big:
        for name, build, doc in BIG:
            write(outdir, name, build(name), index, doc)
        return
    for name, build, doc in SMALL:
        write(outdir, name, build(name), index, clean(doc))
    for name, src, variant in MUTATED:
        data = mutate_real(os.path.join(SAMPLES, "real", src), name, variant)
        what = {"flips": "8-24 random bit flips after the file header",
                "cut": "truncated at a random point",
                "both": "random bit flips, then truncated at a random point"}[variant]
        write(outdir, name, data, index, "`samples/real/%s` with %s (seeded)." % (src, what))
    with open(os.path.join(outdir, "README.md"), "w", newline="\n") as f:
        f.write(README_HEAD)
        f.write("| capture | bytes | what |\n|---|---:|---|\n")
        for name, size, doc in index:
            f.write("| `%s` | %d | %s |\n" % (name, size, doc.replace("|", "\\|")))


if __name__ == "__main__":
    main()
