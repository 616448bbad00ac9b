#!/usr/bin/env python3
"""Generate samples/generated/: small synthetic edge-case FTP captures and their ground truth.

Usage:
    python3 samples/scripts/gen_edge.py [OUTDIR]

OUTDIR defaults to samples/generated/ (next to this script's parent).  Besides
the capture files it writes README.md, EXPECTED.md and expected.json; the
ground truth in EXPECTED.md / expected.json is computed from the generator's own
bookkeeping (which segment carried which stream bytes, which frame number that
segment got), never typed by hand.

Standard library only.  Deterministic: every "random" value (ISNs, client
ports, IP IDs, inter-packet gaps) comes from random.Random seeded with the CRC32
of the output file name, so running the script twice gives byte-identical files.
"""

import calendar
import datetime
import ipaddress
import json
import os
import random
import struct
import sys
import zlib

M32 = 0xFFFFFFFF
START_NS = calendar.timegm((2026, 3, 1, 12, 0, 0)) * 10**9  # 2026-03-01T12:00:00Z

LT_NULL, LT_EN10MB, LT_RAW, LT_LOOP, LT_SLL, LT_SLL2 = 0, 1, 101, 108, 113, 276
LT_NAMES = {
    LT_NULL: "NULL (0, BSD loopback, AF in host/little-endian order)",
    LT_EN10MB: "EN10MB (1, Ethernet)",
    LT_RAW: "RAW (101, raw IPv4/IPv6)",
    LT_LOOP: "LOOP (108, OpenBSD loopback, AF big-endian)",
    LT_SLL: "LINUX_SLL (113, Linux cooked v1)",
    LT_SLL2: "LINUX_SLL2 (276, Linux cooked v2)",
}

C, S = 0, 1  # directions: client->server, server->client
MAC = {C: bytes.fromhex("020000000001"), S: bytes.fromhex("020000000002")}
IP4 = {C: bytes([10, 0, 0, 1]), S: bytes([10, 0, 0, 2])}
IP6 = {C: ipaddress.IPv6Address("2001:db8::1").packed,
       S: ipaddress.IPv6Address("2001:db8::2").packed}

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
MSS_OPT = b"\x02\x04\x05\xb4"  # MSS 1460, only on SYN / SYN-ACK

# ---------------------------------------------------------------- FTP texts
GREETING = b"220 (vsFTPd 3.0.3)\r\n"
R331 = b"331 Please specify the password.\r\n"
R230 = b"230 Login successful.\r\n"
R221 = b"221 Goodbye.\r\n"
R503_RNFR = b"503 RNFR required first.\r\n"
R503_SEQ = b"503 Bad sequence of commands.\r\n"
HELP_214 = (b"214-The following commands are recognized.\r\n"
            b" ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n"
            b" MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n"
            b" RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n"
            b" XPWD XRMD\r\n"
            b"214 Help OK.\r\n")


# ---------------------------------------------------------------- helpers
def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def telnet_clean(b):
    """Strip Telnet commands (RFC 854) the way an FTP server would: IAC IAC -> 0xFF,
    IAC WILL/WONT/DO/DONT x -> dropped, IAC SB ... IAC SE -> dropped, IAC x -> dropped."""
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0xFF and i + 1 < len(b):
            n = b[i + 1]
            if n == 0xFF:
                out.append(0xFF)
                i += 2
            elif n in (251, 252, 253, 254):
                i += 3
            elif n == 250:
                j = b.find(b"\xff\xf0", i + 2)
                i = len(b) if j < 0 else j + 2
            else:
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def show(b):
    """Printable rendering: ASCII as-is, anything else as \\xNN, backslash as \\\\."""
    out = []
    for x in b:
        if x == 0x5C:
            out.append("\\\\")
        elif 0x20 <= x < 0x7F:
            out.append(chr(x))
        else:
            out.append("\\x%02x" % x)
    return "".join(out)


def first_line(b):
    b = telnet_clean(b)
    i = b.find(b"\n")
    line = b if i < 0 else b[:i]
    return line[:-1] if line.endswith(b"\r") else line


def fmt_ts(ns, digits):
    sec, frac = divmod(ns, 10**9)
    base = datetime.datetime.fromtimestamp(sec, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 9:
        return "%s.%09dZ" % (base, frac)
    return "%s.%06dZ" % (base, frac // 1000)


# ---------------------------------------------------------------- capture
class Iface:
    def __init__(self, linktype, tsres=6, name=None, section=0):
        self.linktype = linktype
        self.tsres = tsres          # decimal digits: 6 = microseconds, 9 = nanoseconds
        self.name = name
        self.section = section


class Record:
    def __init__(self, ts, iface, data):
        self.ts, self.iface, self.data = ts, iface, data


class Capture:
    """A list of packet records plus the file format they are written in."""

    def __init__(self, name, ifaces, fmt="pcap", snaplen=262144, endian="<",
                 section_endians=("<",), truncate_last_to=None, tsres_explicit=None):
        self.name = name
        self.rng = random.Random(zlib.crc32(name.encode()))
        self.ifaces = ifaces
        self.fmt = fmt
        self.snaplen = snaplen
        self.endian = endian
        self.section_endians = section_endians
        self.truncate_last_to = truncate_last_to
        # pcapng: set of iface indexes whose IDB carries an explicit if_tsresol option
        self.tsres_explicit = tsres_explicit if tsres_explicit is not None else set()
        self.t = START_NS
        self.records = []
        self.recording = True
        self.pending_ts = None
        self.conns = []
        self.description = ""
        self.notes = []

    # -- time
    def _timestamp(self, iface, delay_ns):
        res = 10 ** (9 - self.ifaces[iface].tsres)
        if self.pending_ts is not None:
            t, self.pending_ts = self.pending_ts, None
            assert t > self.t and t % res == 0, "bad pending timestamp"
        else:
            t = self.t + delay_ns
            if self.ifaces[iface].tsres == 9:
                t += self.rng.randint(0, 999)  # sub-microsecond noise on ns interfaces
            t = -(-t // res) * res
            if t <= self.t:
                t = -(-(self.t + 1) // res) * res
        self.t = t
        return t

    def add(self, iface, frame, delay_ns):
        if not self.recording:
            self.t += delay_ns
            return None
        ts = self._timestamp(iface, delay_ns)
        self.records.append(Record(ts, iface, frame))
        return len(self.records)  # 1-based frame number

    def caplen(self, rec):
        return min(len(rec.data), self.snaplen)

    # -- serialisation
    def serialize(self):
        if self.fmt == "pcap":
            return self._pcap()
        return self._pcapng()

    def _pcap(self):
        e = self.endian
        iface = self.ifaces[0]
        nsec = iface.tsres == 9
        magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
        out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, self.snaplen, iface.linktype))
        for i, rec in enumerate(self.records):
            assert rec.iface == 0
            sec, frac = divmod(rec.ts, 10**9)
            if not nsec:
                assert frac % 1000 == 0
                frac //= 1000
            cl = self.caplen(rec)
            body = rec.data[:cl]
            if self.truncate_last_to is not None and i == len(self.records) - 1:
                body = body[:self.truncate_last_to]
            out += struct.pack(e + "IIII", sec, frac, cl, len(rec.data)) + body
        return bytes(out)

    def _pcapng(self):
        def opt(e, code, val):
            pad = (-len(val)) % 4
            return struct.pack(e + "HH", code, len(val)) + val + b"\0" * pad

        def block(e, btype, body):
            body += b"\0" * ((-len(body)) % 4)
            total = 12 + len(body)
            return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)

        nsec = max(i.section for i in self.ifaces) + 1
        out = bytearray()
        for sec in range(nsec):
            e = self.section_endians[sec]
            local = {}
            blocks = bytearray()
            for gi, ifc in enumerate(self.ifaces):
                if ifc.section != sec:
                    continue
                local[gi] = len(local)
                opts = b""
                if ifc.name:
                    opts += opt(e, 2, ifc.name.encode())          # if_name
                if gi in self.tsres_explicit or ifc.tsres != 6:
                    opts += opt(e, 9, bytes([ifc.tsres]))         # if_tsresol
                if opts:
                    opts += struct.pack(e + "HH", 0, 0)           # opt_endofopt
                blocks += block(e, 1, struct.pack(e + "HHI", ifc.linktype, 0, self.snaplen) + opts)
            for rec in self.records:
                ifc = self.ifaces[rec.iface]
                if ifc.section != sec:
                    continue
                units = rec.ts // (10 ** (9 - ifc.tsres))
                assert units * (10 ** (9 - ifc.tsres)) == rec.ts
                cl = self.caplen(rec)
                body = struct.pack(e + "IIIII", local[rec.iface], units >> 32, units & M32,
                                   cl, len(rec.data)) + rec.data[:cl]
                blocks += block(e, 6, body)
            # first section: real section length; later sections: -1 (unknown)
            seclen = len(blocks) if sec == 0 else -1
            shb_opts = opt(e, 4, b"ftpcap samples/scripts/gen_edge.py") + struct.pack(e + "HH", 0, 0)
            shb = block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, seclen) + shb_opts)
            out += shb + blocks
        return bytes(out)


# ---------------------------------------------------------------- TCP connection
class Msg:
    """A logical FTP message (command line or complete reply) in one direction."""

    def __init__(self, conn, d, off, data, answers):
        self.conn, self.dir, self.off, self.data, self.answers = conn, d, off, data, answers

    @property
    def code(self):
        t = telnet_clean(self.data)
        return int(t[:3]) if t[:3].isdigit() else None


class Conn:
    def __init__(self, cap, iface=0, v6=False, cport=None, sport=21, cisn=None, sisn=None,
                 vlan=(), label=None):
        rng = cap.rng
        self.cap = cap
        self.iface = iface
        self.v6 = v6
        self.cport = cport if cport is not None else rng.randint(50000, 59999)
        self.sport = sport
        self.isn = [cisn if cisn is not None else rng.getrandbits(32),
                    sisn if sisn is not None else rng.getrandbits(32)]
        self.ipid = [rng.randint(0x1000, 0xEFFF), rng.randint(0x1000, 0xEFFF)]
        self.flow = [rng.getrandbits(20), rng.getrandbits(20)]
        self.vlan = list(vlan)
        self.buf = [bytearray(), bytearray()]
        self.flushed = [0, 0]
        self.hi = [0, 0]
        self.syn = [False, False]
        self.fin = [False, False]
        self.segs = []   # (dir, stream offset, payload length, frame or None, payload offset in frame)
        self.msgs = []
        self.label = label or ("%s port %d" % ("IPv6" if v6 else "IPv4", self.cport))
        cap.conns.append(self)

    # -- numbers
    def seq(self, d, off):
        return (self.isn[d] + 1 + off) & M32

    def ackno(self, d):
        p = 1 - d
        if not self.syn[p]:
            return 0
        return (self.isn[p] + 1 + self.hi[p] + (1 if self.fin[p] else 0)) & M32

    def _delay(self, d, payload, flags):
        r = self.cap.rng
        if flags & SYN:
            return r.randint(100, 3000) * 1000
        if payload and d == C:
            return r.randint(20_000, 600_000) * 1000   # user / client think time
        if payload:
            return r.randint(300, 5000) * 1000          # server response time
        return r.randint(50, 40_000) * 1000             # pure ACKs

    # -- frame building
    def _tcp(self, d, flags, seq, ack, payload, opts, urg):
        src_port, dst_port = (self.cport, self.sport) if d == C else (self.sport, self.cport)
        win = 64240 if d == C else 65160
        hdr = struct.pack("!HHIIBBHHH", src_port, dst_port, seq, ack,
                          ((20 + len(opts)) // 4) << 4, flags, win, 0, urg) + opts
        seg = hdr + payload
        src, dst = (IP6 if self.v6 else IP4)[d], (IP6 if self.v6 else IP4)[1 - d]
        if self.v6:
            pseudo = src + dst + struct.pack("!I3xB", len(seg), 6)
        else:
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        c = inet_csum(pseudo + seg)
        return seg[:16] + struct.pack("!H", c) + seg[18:], len(hdr)

    def _ip(self, d, tcp, ext):
        if self.v6:
            nh = 6
            exth = b""
            for kind in reversed(ext or []):
                # 8-byte extension header: next header, hdr ext len 0, PadN option (type 1, len 4)
                exth = struct.pack("!BB", nh, 0) + b"\x01\x04\0\0\0\0" + exth
                nh = {"hbh": 0, "dst": 60}[kind]
            assert "hbh" not in (ext or []) or ext[0] == "hbh"  # HBH must come first
            hdr = struct.pack("!IHBB16s16s", (6 << 28) | self.flow[d], len(exth) + len(tcp), nh, 64,
                              IP6[d], IP6[1 - d])
            return hdr + exth + tcp, 40 + len(exth)
        assert not ext
        ident = self.ipid[d]
        self.ipid[d] = (ident + 1) & 0xFFFF
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident, 0x4000, 64, 6, 0,
                          IP4[d], IP4[1 - d])
        hdr = hdr[:10] + struct.pack("!H", inet_csum(hdr)) + hdr[12:]
        return hdr + tcp, 20

    def _link(self, d, ip):
        lt = self.cap.ifaces[self.iface].linktype
        etype = 0x86DD if self.v6 else 0x0800
        if lt == LT_EN10MB:
            tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in self.vlan)
            f = MAC[1 - d] + MAC[d] + tags + struct.pack("!H", etype) + ip
            hl = 14 + len(tags)
            if len(f) < 60:
                f += b"\0" * (60 - len(f))  # Ethernet minimum-size padding (trailer)
            return f, hl
        assert not self.vlan
        if lt == LT_RAW:
            return ip, 0
        if lt == LT_NULL:
            assert not self.v6
            return struct.pack("<I", 2) + ip, 4
        if lt == LT_LOOP:
            assert not self.v6
            return struct.pack(">I", 2) + ip, 4
        pkttype = 4 if d == C else 0  # PACKET_OUTGOING / PACKET_HOST (captured on the client)
        if lt == LT_SLL:
            return struct.pack("!HHH", pkttype, 1, 6) + MAC[d] + b"\0\0" + struct.pack("!H", etype) + ip, 16
        if lt == LT_SLL2:
            return struct.pack("!HHIHBB", etype, 0, 2, 1, pkttype, 6) + MAC[d] + b"\0\0" + ip, 20
        raise ValueError(lt)

    def packet(self, d, flags, seq, ack, payload=b"", opts=b"", urg=0, ext=None, delay=None,
               capture=True):
        tcp, tcphl = self._tcp(d, flags, seq, ack, payload, opts, urg)
        ip, iphl = self._ip(d, tcp, ext)
        frame, lhl = self._link(d, ip)
        if delay is None:
            delay = self._delay(d, payload, flags)
        if capture:
            fno = self.cap.add(self.iface, frame, delay)
        else:
            self.cap.t += delay
            fno = None
        return fno, lhl + iphl + tcphl

    # -- TCP-level operations
    def handshake(self, syn_ext=None):
        self.packet(C, SYN, self.isn[C], 0, opts=MSS_OPT, ext=syn_ext)
        self.syn[C] = True
        self.packet(S, SYN | ACK, self.isn[S], self.ackno(S), opts=MSS_OPT)
        self.syn[S] = True
        self.ack(C)

    def write(self, d, data, answers=None):
        m = Msg(self, d, len(self.buf[d]), bytes(data), answers)
        self.buf[d] += data
        self.msgs.append(m)
        return m

    def send(self, d, off, length=None, data=None, flags=PSH | ACK, capture=True, **kw):
        """Emit one segment carrying stream bytes [off, off+len) of direction d.
        `data` overrides the bytes (for retransmissions that differ)."""
        if data is None:
            data = bytes(self.buf[d][off:off + length])
        ack = self.ackno(d)
        fno, hl = self.packet(d, flags, self.seq(d, off), ack, data, capture=capture, **kw)
        self.hi[d] = max(self.hi[d], off + len(data))
        self.segs.append((d, off, len(data), fno, hl))
        return fno

    def flush(self, d, splits=(), order=None, lost=(), **kw):
        """Send all not-yet-sent bytes of direction d, cut at the given offsets (relative
        to the first unsent byte), emitted in `order`; pieces in `lost` are sent but
        not captured."""
        start, end = self.flushed[d], len(self.buf[d])
        pts = [start] + [start + s for s in splits] + [end]
        assert pts == sorted(set(pts)), pts
        pieces = list(zip(pts, pts[1:]))
        for i in (order if order is not None else range(len(pieces))):
            a, b = pieces[i]
            self.send(d, a, b - a, capture=i not in lost, **kw)
        self.flushed[d] = end

    def ack(self, d, **kw):
        seq = (self.isn[d] + 1 + self.hi[d] + (1 if self.fin[d] else 0)) & M32
        self.packet(d, ACK, seq, self.ackno(d), **kw)

    def fin_(self, d):
        assert self.hi[d] == len(self.buf[d])
        self.packet(d, FIN | ACK, self.seq(d, self.hi[d]), self.ackno(d))
        self.fin[d] = True

    # -- FTP-level operations
    def cmd(self, line, splits=(), order=None, **kw):
        m = self.write(C, line)
        self.flush(C, splits, order, **kw)
        return m

    def reply(self, text, answers, splits=(), order=None, **kw):
        m = self.write(S, text, answers)
        self.flush(S, splits, order, **kw)
        return m

    def greet(self):
        self.reply(GREETING, None)
        self.ack(C)

    def login(self, user=b"anonymous", pw=b"guest@"):
        u = self.cmd(b"USER " + user + b"\r\n")
        self.reply(R331, u)
        p = self.cmd(b"PASS " + pw + b"\r\n")
        self.reply(R230, p)

    def open(self):
        self.handshake()
        self.greet()
        self.login()

    def close(self):
        q = self.cmd(b"QUIT\r\n")
        self.reply(R221, q)
        self.fin_(S)       # server closes after 221
        self.fin_(C)
        self.ack(S)

    # -- ground truth
    def first_frame(self, m):
        """Frame carrying the message's first byte (lowest sequence number); if several
        captured frames carry it (retransmissions), the earliest in the capture."""
        best = None
        for d, off, ln, fno, hl in self.segs:
            if d != m.dir or fno is None or not (off <= m.off < off + ln):
                continue
            rec = self.cap.records[fno - 1]
            if hl + (m.off - off) >= self.cap.caplen(rec):
                continue  # cut off by snaplen
            best = fno if best is None else min(best, fno)
        return best

    def fully_captured(self, m):
        have = set()
        for d, off, ln, fno, hl in self.segs:
            if d != m.dir or fno is None:
                continue
            rec = self.cap.records[fno - 1]
            avail = min(ln, self.cap.caplen(rec) - hl)
            have.update(range(off, off + max(avail, 0)))
        return all(o in have for o in range(m.off, m.off + len(m.data)))


# ---------------------------------------------------------------- scenarios
def std_session(c, rnto=b"RNTO b\r\n", help_=True):
    """Plain session: greeting, login, RNTO without RNFR -> 503, optional HELP -> 214, QUIT."""
    c.open()
    m = c.cmd(rnto)
    c.reply(R503_RNFR, m)
    if help_:
        h = c.cmd(b"HELP\r\n")
        c.reply(HELP_214, h)
    c.close()


def session_gen(c, rnto=b"RNTO b\r\n"):
    """Same as std_session without HELP, as a generator (yields between steps) for interleaving."""
    c.handshake(); yield
    c.greet(); yield
    u = c.cmd(b"USER anonymous\r\n"); yield
    c.reply(R331, u); yield
    p = c.cmd(b"PASS guest@\r\n"); yield
    c.reply(R230, p); yield
    m = c.cmd(rnto); yield
    c.reply(R503_RNFR, m); yield
    q = c.cmd(b"QUIT\r\n"); yield
    c.reply(R221, q); yield
    c.fin_(S); yield
    c.fin_(C); c.ack(S)


def interleave(*gens):
    gens = list(gens)
    while gens:
        for g in list(gens):
            try:
                next(g)
            except StopIteration:
                gens.remove(g)


def eth(name, **kw):
    return Capture(name, [Iface(LT_EN10MB)], **kw)


def case_split_reply(name):
    """503 to `RNTO b` split over three segments ("50" | "3 Bad sequ" | "ence of commands.\\r\\n");
    multi-line 214 HELP reply cut mid-code ("21"|"4-"), between CR and LF, and just before
    the final "\\n".  The 2-byte "50" segment is padded to the 60-byte Ethernet minimum with
    zero bytes (trailer) that are not TCP payload."""
    cap = eth(name)
    c = Conn(cap)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    c.reply(R503_SEQ, m, splits=[2, 12])
    h = c.cmd(b"HELP\r\n")
    t = HELP_214
    crlf1 = t.index(b"\r\n") + 1
    last = t.rindex(b"\r\n214 ") + 2
    c.reply(t, h, splits=[2, crlf1, last - 1, last + 2, len(t) - 1])
    c.close()
    return cap


def case_out_of_order(name):
    """Pipelined `HELP` + `RNTO b`; the server's 4 segments (214 in three pieces, then the 503)
    are captured in the order 2,1,4,3 (the 503 arrives before the end of the 214).  Then
    `RNTO c` is sent in two segments ("RN" | "TO c\\r\\n") captured in reverse order, so the
    command's first byte is in the LATER frame."""
    cap = eth(name)
    c = Conn(cap)
    c.open()
    h = c.cmd(b"HELP\r\n")
    r = c.cmd(b"RNTO b\r\n")
    c.write(S, HELP_214, h)
    c.write(S, R503_RNFR, r)
    n = len(HELP_214)
    c.flush(S, splits=[100, 200, n], order=[1, 0, 3, 2])
    c.ack(C)
    m = c.write(C, b"RNTO c\r\n")
    c.flush(C, splits=[2], order=[1, 0])
    c.reply(R503_RNFR, m)
    c.close()
    return cap


def case_retransmit_differs(name):
    """(a) 503 to `RNTO b` retransmitted with identical bytes (duplicate must be dropped);
    (b) 503 to `RNTO c` ("503 Bad sequence of commands.") followed by a retransmission of the
    same sequence range whose bytes differ ("200 OK, sequence of commands.", same length);
    ground truth assumes FIRST-copy-wins reassembly, so the reply is the 503;
    (c) 214 to `HELP` sent as bytes [0,40) then a segment covering [20,end) that overlaps
    20 already-sent bytes (identical) and extends beyond them."""
    cap = eth(name)
    c = Conn(cap)
    c.open()
    m1 = c.cmd(b"RNTO b\r\n")
    r1 = c.reply(R503_RNFR, m1)
    c.send(S, r1.off, len(r1.data), delay=210_000_000)          # identical retransmission
    c.ack(C)
    m2 = c.cmd(b"RNTO c\r\n")
    r2 = c.reply(R503_SEQ, m2)
    alt = b"200 OK, sequence of commands.\r\n"
    assert len(alt) == len(r2.data)
    c.send(S, r2.off, data=alt, delay=230_000_000)               # differing retransmission
    c.ack(C)
    h = c.cmd(b"HELP\r\n")
    hr = c.write(S, HELP_214, h)
    c.send(S, hr.off, 40)
    c.send(S, hr.off + 20, len(HELP_214) - 20, delay=205_000_000)  # partial overlap + new data
    c.flushed[S] = len(c.buf[S])
    c.ack(C)
    c.close()
    cap.notes.append("Ground truth assumes first-copy-wins for overlapping bytes; the differing "
                     "retransmission (`200 OK, sequence of commands.`) must NOT be reported as a reply.")
    return cap


def case_pipelined(name):
    """Client sends `PASS x` before USER (503), then `USER a\\r\\nRNTO z\\r\\nHELP\\r\\nNOOP\\r\\n`
    in ONE segment; the server answers 331, 503, 214 (multi-line), 200 in ONE segment;
    then `PASS x` -> 230."""
    cap = eth(name)
    c = Conn(cap)
    c.handshake()
    c.greet()
    p = c.cmd(b"PASS x\r\n")
    c.reply(b"503 Login with USER first.\r\n", p)
    u = c.write(C, b"USER a\r\n")
    rn = c.write(C, b"RNTO z\r\n")
    hp = c.write(C, b"HELP\r\n")
    np_ = c.write(C, b"NOOP\r\n")
    c.flush(C)
    c.write(S, R331, u)
    c.write(S, R503_SEQ, rn)
    c.write(S, HELP_214, hp)
    c.write(S, b"200 NOOP ok.\r\n", np_)
    c.flush(S)
    p2 = c.cmd(b"PASS x\r\n")
    c.reply(R230, p2)
    c.close()
    return cap


def case_several_in_one(name):
    """`RNTO b\\r\\nHELP\\r\\n` pipelined -> "503 Bad sequence.\\r\\n214 Help OK.\\r\\n" in one segment;
    `RNTO c` -> "503 x\\n" (bare LF); `HELP\\n` (bare-LF command) -> multi-line 214 with bare LF;
    `RNTO d\\r\\nHELP\\r\\n` -> one segment holding the whole 503 plus the start of a multi-line
    214 whose rest is in the next segment."""
    cap = eth(name)
    c = Conn(cap)
    c.open()
    a = c.write(C, b"RNTO b\r\n")
    b = c.write(C, b"HELP\r\n")
    c.flush(C)
    c.write(S, b"503 Bad sequence.\r\n", a)
    c.write(S, b"214 Help OK.\r\n", b)
    c.flush(S)
    m = c.cmd(b"RNTO c\r\n")
    c.reply(b"503 x\n", m)
    h = c.cmd(b"HELP\n")
    c.reply(b"214-Commands:\n RNTO HELP QUIT\n214 End.\n", h)
    a = c.write(C, b"RNTO d\r\n")
    b = c.write(C, b"HELP\r\n")
    c.flush(C)
    first = b"503 Bad sequence.\r\n"
    c.write(S, first, a)
    c.write(S, b"214-Help follows\r\n RNTO HELP QUIT\r\n214 End.\r\n", b)
    c.flush(S, splits=[len(first) + 7])
    c.close()
    return cap


def case_ipv6(name):
    """IPv6 (2001:db8::1 -> 2001:db8::2 port 21) over Ethernet.  The SYN and the `RNTO b`
    command carry a Hop-by-Hop Options header, the 503 reply a Destination Options header,
    and both segments of the 214 reply carry Hop-by-Hop + Destination Options."""
    cap = eth(name)
    c = Conn(cap, v6=True)
    c.handshake(syn_ext=["hbh"])
    c.greet()
    c.login()
    m = c.cmd(b"RNTO b\r\n", ext=["hbh"])
    c.reply(R503_RNFR, m, ext=["dst"])
    h = c.cmd(b"HELP\r\n")
    c.reply(HELP_214, h, splits=[150], ext=["hbh", "dst"])
    c.close()
    return cap


def case_vlan(name):
    """Session 1 on 802.1Q VLAN 100 (TPID 0x8100); session 2 QinQ: outer 0x88a8 VID 200,
    inner 0x8100 VID 300.  Each has a 503 to RNTO; session 1 also a 214."""
    cap = eth(name)
    c1 = Conn(cap, vlan=[(0x8100, 100)], label="802.1Q VID 100")
    std_session(c1)
    cap.t += 1_500_000_000
    c2 = Conn(cap, vlan=[(0x88A8, 200), (0x8100, 300)], label="QinQ 0x88a8/200 + 0x8100/300")
    std_session(c2, rnto=b"RNTO q\r\n", help_=False)
    return cap


def simple_link(linktype):
    def build(name):
        cap = Capture(name, [Iface(linktype)])
        std_session(Conn(cap))
        return cap
    build.__doc__ = ("Plain session (503 to `RNTO b`, 214 to `HELP`) with link type %s."
                     % LT_NAMES[linktype])
    return build


def case_two_interfaces(name):
    """pcapng, one section, two IDBs: interface 0 Ethernet (no if_tsresol option, i.e. the
    default microseconds), interface 1 raw IP (linktype 101) with if_tsresol=9 (ns).  One FTP
    session per interface (different client ports), Enhanced Packet Blocks interleaved."""
    cap = Capture(name, [Iface(LT_EN10MB, 6, "eth0"), Iface(LT_RAW, 9, "tun0")], fmt="pcapng")
    a = Conn(cap, iface=0, label="if 0 (Ethernet)")
    b = Conn(cap, iface=1, label="if 1 (raw IP, ns)")
    interleave(session_gen(a, b"RNTO a\r\n"), session_gen(b, b"RNTO b\r\n"))
    return cap


def two_sections(name, endians, doc):
    def build(name=name):
        cap = Capture(name, [Iface(LT_EN10MB, 6, "eth0", section=0),
                             Iface(LT_RAW, 9, "tun0", section=1)],
                      fmt="pcapng", section_endians=endians)
        std_session(Conn(cap, iface=0, label="section 1 if 0 (Ethernet)"), help_=False)
        cap.t += 2_000_000_000
        std_session(Conn(cap, iface=1, label="section 2 if 0 (raw IP, ns)"), rnto=b"RNTO c\r\n",
                    help_=False)
        return cap
    build.__doc__ = doc
    return build


def case_nanosecond(name):
    """Legacy pcap, nanosecond magic 0xa1b23c4d (little-endian); the 503 frame's timestamp has
    fraction .123456789; every frame has sub-microsecond digits."""
    cap = Capture(name, [Iface(LT_EN10MB, 9)])
    c = Conn(cap)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    cap.pending_ts = (cap.t // 10**9 + 2) * 10**9 + 123456789
    c.reply(R503_RNFR, m)
    c.close()
    return cap


def case_big_endian(name):
    """Legacy pcap written big-endian (file starts a1 b2 c3 d4), microseconds."""
    cap = eth(name, endian=">")
    std_session(Conn(cap))
    return cap


def case_truncated(name):
    """503 and 214, then the file is cut inside the last packet record: its header says
    caplen 60 (a 54-byte ACK padded to 60) but only 20 bytes of it are present.  The cut
    record is not counted as a frame."""
    cap = eth(name, truncate_last_to=20)
    std_session(Conn(cap))
    assert len(cap.records[-1].data) == 60
    cap.notes.append("The last record (server's final ACK) is incomplete: header caplen=60, "
                     "20 bytes present. Wireshark shows %d frames and reports the file as cut short."
                     % (len(cap.records) - 1))
    return cap


def case_midstream(name):
    """No handshake/greeting/login in the capture: it starts with the client's `RNTO b`
    (mid-session sequence numbers), then 503, HELP/214, QUIT/221, FINs."""
    cap = eth(name)
    c = Conn(cap)
    cap.recording = False
    c.open()
    cap.recording = True
    std_tail(c)
    return cap


def std_tail(c):
    m = c.cmd(b"RNTO b\r\n")
    c.reply(R503_RNFR, m)
    h = c.cmd(b"HELP\r\n")
    c.reply(HELP_214, h)
    c.close()


def case_gap(name):
    """`CWD pub` -> "250 Directory successfully changed." sent in two segments; the first
    ("250 Direc") is NOT in the capture (the client's later ACKs cover it).  The next reply,
    503 to `RNTO b`, and a 214 to `HELP` must be found intact."""
    cap = eth(name)
    c = Conn(cap)
    c.open()
    cw = c.cmd(b"CWD pub\r\n")
    c.reply(b"250 Directory successfully changed.\r\n", cw, splits=[9], lost=[0])
    std_tail(c)
    cap.notes.append("The 250 reply to `CWD pub` has lost its first 9 bytes; it is not a 214/503 "
                     "and its tail must not be reported as anything.")
    return cap


def case_seq_wrap(name):
    """Server ISN chosen so the server sequence number wraps 2^32 -> 0 in the middle of the
    214 reply; the 214 is sent in three segments, the middle one straddling the wrap.
    A 503 to `RNTO b` follows after the wrap."""
    pre = len(GREETING) + len(R331) + len(R230)
    n = len(HELP_214)
    sisn = (2**32 - 1 - (pre + n // 2)) & M32
    cap = eth(name)
    c = Conn(cap, sisn=sisn)
    c.open()
    h = c.cmd(b"HELP\r\n")
    c.reply(HELP_214, h, splits=[n // 4, 3 * n // 4])
    assert c.seq(S, pre + n // 4) > c.seq(S, pre + 3 * n // 4)  # wrapped inside middle segment
    m = c.cmd(b"RNTO b\r\n")
    c.reply(R503_RNFR, m)
    c.close()
    cap.notes.append("Server ISN = 0x%08x; seq of 214 first byte = 0x%08x." % (sisn, c.seq(S, pre)))
    return cap


def case_telnet_iac(name):
    """Telnet in the control connection: `\\xff\\xf4\\xff\\xf2ABOR\\r\\n` (IAC IP, IAC DM, sent
    with URG, urgent pointer 4) -> 225; `CWD d\\xff\\xffir` (doubled 0xFF = one 0xFF byte) -> 550;
    `\\xff\\xfb\\x01RNTO b` (IAC WILL ECHO before the command) -> server answers IAC DONT ECHO
    + 503 in one segment; `RNTO x\\xff\\xffy` -> 503."""
    cap = eth(name)
    c = Conn(cap)
    c.open()
    a = c.cmd(b"\xff\xf4\xff\xf2ABOR\r\n", flags=PSH | ACK | URG, urg=4)
    c.reply(b"225 No transfer to ABOR.\r\n", a)
    w = c.cmd(b"CWD d\xff\xffir\r\n")
    c.reply(b"550 Failed to change directory.\r\n", w)
    r = c.cmd(b"\xff\xfb\x01RNTO b\r\n")
    c.write(S, b"\xff\xfe\x01")              # IAC DONT ECHO, not part of a reply
    c.msgs.pop()
    c.reply(R503_RNFR, r)
    r2 = c.cmd(b"RNTO x\xff\xffy\r\n")
    c.reply(R503_RNFR, r2)
    c.close()
    cap.notes.append("Commands are shown after Telnet processing (IAC IAC -> one 0xFF byte, "
                     "option negotiation removed); non-ASCII bytes as \\xNN.")
    return cap


def case_port_reuse(name):
    """Two consecutive connections on the SAME 4-tuple.  The first ends with FIN/FIN/ACK; 1.5 s
    later a new SYN with a different ISN starts the second.  Each has a 503 (`RNTO b`, then
    `RNTO c`); the second also a 214."""
    cap = eth(name)
    c1 = Conn(cap, label="connection 1")
    std_session(c1, help_=False)
    cap.t += 1_500_000_000
    cisn2 = (c1.isn[C] + len(c1.buf[C]) + 2 + 0x3A5C11) & M32   # above the old one (TIME_WAIT rules)
    c2 = Conn(cap, cport=c1.cport, cisn=cisn2, label="connection 2 (same 4-tuple)")
    std_session(c2, rnto=b"RNTO c\r\n")
    assert c2.isn != c1.isn
    return cap


def case_snaplen(name):
    """Snaplen 64: frames longer than 64 bytes are cut (caplen < origlen), so the greeting,
    331/230, USER/PASS and 221 are incomplete.  `RNTO b` and "503 Bad.\\r\\n" fit completely
    (62 / 64 bytes)."""
    cap = eth(name, snaplen=64)
    c = Conn(cap)
    c.open()
    m = c.cmd(b"RNTO b\r\n")
    c.reply(b"503 Bad.\r\n", m)
    c.close()
    return cap


CASES = [
    ("split-reply.pcap", case_split_reply),
    ("out-of-order.pcap", case_out_of_order),
    ("retransmit-differs.pcap", case_retransmit_differs),
    ("pipelined.pcap", case_pipelined),
    ("several-in-one.pcap", case_several_in_one),
    ("ipv6.pcap", case_ipv6),
    ("vlan.pcap", case_vlan),
    ("sll2.pcap", simple_link(LT_SLL2)),
    ("sll.pcap", simple_link(LT_SLL)),
    ("null.pcap", simple_link(LT_NULL)),
    ("loop.pcap", simple_link(LT_LOOP)),
    ("rawip.pcap", simple_link(LT_RAW)),
    ("two-interfaces.pcapng", case_two_interfaces),
    ("two-sections.pcapng", two_sections(
        "two-sections.pcapng", ("<", "<"),
        "pcapng with two Section Header Blocks (both little-endian).  Section 1: IDB Ethernet "
        "(microseconds); section 2: its own IDB, raw IP (101) with if_tsresol=9, so interface id 0 "
        "means something different in each section.  One session (with a 503) per section.")),
    ("two-sections-mixed-endian.pcapng", two_sections(
        "two-sections-mixed-endian.pcapng", ("<", ">"),
        "EXTRA: like two-sections.pcapng but the second section is big-endian (allowed by the "
        "pcapng spec: byte order is per section).")),
    ("nanosecond.pcap", case_nanosecond),
    ("big-endian.pcap", case_big_endian),
    ("truncated.pcap", case_truncated),
    ("midstream.pcap", case_midstream),
    ("gap.pcap", case_gap),
    ("seq-wrap.pcap", case_seq_wrap),
    ("telnet-iac.pcap", case_telnet_iac),
    ("port-reuse.pcap", case_port_reuse),
    ("snaplen.pcap", case_snaplen),
]


# ---------------------------------------------------------------- ground truth
def expected(cap):
    rows = []
    for c in cap.conns:
        for m in c.msgs:
            if m.dir != S or m.code not in (214, 503):
                continue
            rf = c.first_frame(m)
            assert rf is not None and c.fully_captured(m), (cap.name, m.data)
            assert m.answers is not None
            cf = c.first_frame(m.answers)
            assert cf is not None, (cap.name, m.answers.data)
            rec = cap.records[rf - 1]
            rows.append({
                "reply_frame": rf,
                "code": m.code,
                "reply_first_line": show(first_line(m.data)),
                "command": show(first_line(m.answers.data)),
                "command_frame": cf,
                "time": fmt_ts(rec.ts, cap.ifaces[rec.iface].tsres),
                "connection": c.label,
                "client_port": c.cport,
                "_key": (rf, cap.conns.index(c), m.off),
            })
    rows.sort(key=lambda r: r.pop("_key"))
    return rows


def n_frames(cap):
    return len(cap.records) - (1 if cap.truncate_last_to is not None else 0)


def format_desc(cap):
    if cap.fmt == "pcapng":
        secs = {}
        for i, f in enumerate(cap.ifaces):
            secs.setdefault(f.section, []).append(f)
        parts = []
        for s, fs in sorted(secs.items()):
            e = "LE" if cap.section_endians[s] == "<" else "BE"
            parts.append("section %d (%s): %s" % (s + 1, e, "; ".join(
                "if %d %s, tsresol 10^-%d%s" % (k, LT_NAMES[f.linktype].split(" (")[0], f.tsres,
                                                 "" if f.tsres != 6 else " (default, no option)")
                for k, f in enumerate(fs))))
        return "pcapng, " + " / ".join(parts)
    f = cap.ifaces[0]
    return "pcap %s-endian, %s, snaplen %d, link %s" % (
        "little" if cap.endian == "<" else "big",
        "nanosecond" if f.tsres == 9 else "microsecond", cap.snaplen, LT_NAMES[f.linktype])


def conn_desc(c):
    return "%s: %s:%d -> %s:%d, client ISN 0x%08x, server ISN 0x%08x" % (
        c.label,
        "2001:db8::1" if c.v6 else "10.0.0.1", c.cport,
        "2001:db8::2" if c.v6 else "10.0.0.2", c.sport, c.isn[C], c.isn[S])


def doc(fn):
    return " ".join((fn.__doc__ or "").split())


README_HEAD = """\
# Synthetic edge-case captures

Generated by `samples/scripts/gen_edge.py` (Python 3, standard library only):

    python3 samples/scripts/gen_edge.py            # writes into samples/generated/

Output is deterministic (fixed seeds derived from each file name); re-running
must reproduce byte-identical files. Do not edit the files here by hand.

Conventions in all files:

* client 10.0.0.1:5xxxx (IPv6 2001:db8::1) <-> server 10.0.0.2:21 (2001:db8::2),
  MACs 02:00:00:00:00:01 / 02:00:00:00:00:02; correct IPv4 header checksums and
  TCP checksums; MSS option on SYN/SYN-ACK only; fixed "random-looking" ISNs.
* Timestamps start at 2026-03-01T12:00:00Z and strictly increase.
* Each session: `220` greeting, `USER`/`331`, `PASS`/`230`, the case's special
  part, `QUIT`/`221`, server FIN, client FIN, server ACK (unless stated).
* Ethernet frames shorter than 60 bytes are zero-padded to 60 (trailer after
  the IP datagram), like frames received from a real NIC: use the IP length,
  not the frame length, to find the TCP payload.
* Ground truth for every 214 and 503 reply is in `EXPECTED.md` (and
  machine-readable `expected.json`); tshark 4.0 results are in `TSHARK.md`.

| file | size | frames | what it exercises |
|---|---:|---:|---|
"""

EXPECTED_HEAD = """\
# Expected 214 / 503 replies in the generated captures

Generated by `samples/scripts/gen_edge.py` from its own bookkeeping (do not edit).

* *frame* = 1-based packet-record number as Wireshark numbers them (only packet
  records count; in pcapng only Enhanced Packet Blocks, numbered across sections
  and interfaces).
* *reply frame* = frame carrying the reply's FIRST byte in reassembled stream
  order (the segment with the lowest sequence number containing that byte); if
  several captured frames carry that byte (retransmission), the earliest one.
* *command frame* = same rule for the first byte of the command line the reply
  answers.
* Overlapping data: first copy wins.
* *command* / *first line* are shown after Telnet processing (IAC IAC -> 0xFF,
  IAC option negotiation dropped) without the line ending; bytes outside
  printable ASCII are written `\\xNN`, a backslash as `\\\\`.
* *time* = the reply frame's timestamp (UTC), 6 or 9 fractional digits
  depending on the interface's resolution.
"""


def main():
    import argparse
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Writes the generated edge-case captures, their README.md, "
                                 "EXPECTED.md and expected.json (the ground truth the tests check). "
                                 "Deterministic: two runs give byte-identical files.")
    ap.add_argument("outdir", nargs="?", default=os.path.join(os.path.dirname(here), "generated"),
                    help="output folder (default: samples/generated)")
    outdir = ap.parse_args().outdir
    os.makedirs(outdir, exist_ok=True)
    readme = [README_HEAD]
    exp_md = [EXPECTED_HEAD]
    exp_json = {}
    for name, build in CASES:
        cap = build(name)
        data = cap.serialize()
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        rows = expected(cap)
        exp_json[name] = {"frames": n_frames(cap), "replies": rows}
        readme.append("| `%s` | %d | %d | %s |\n" % (name, len(data), n_frames(cap),
                                                     doc(build).replace("|", "\\|")))
        exp_md.append("\n## %s\n\n%s\n\nFormat: %s. Frames: %d.\n\n" % (
            name, doc(build), format_desc(cap), n_frames(cap)))
        for c in cap.conns:
            exp_md.append("* %s\n" % conn_desc(c))
        for n in cap.notes:
            exp_md.append("* Note: %s\n" % n)
        exp_md.append("\n| reply frame | code | command | command frame | reply first line | time (UTC) | connection |\n"
                      "|---:|---:|---|---:|---|---|---|\n")
        for r in rows:
            exp_md.append("| %d | %d | `%s` | %d | `%s` | %s | %s |\n" % (
                r["reply_frame"], r["code"], r["command"], r["command_frame"],
                r["reply_first_line"], r["time"], r["connection"]))
    with open(os.path.join(outdir, "README.md"), "w", newline="\n") as f:
        f.write("".join(readme))
    with open(os.path.join(outdir, "EXPECTED.md"), "w", newline="\n") as f:
        f.write("".join(exp_md))
    with open(os.path.join(outdir, "expected.json"), "w", newline="\n") as f:
        json.dump(exp_json, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
