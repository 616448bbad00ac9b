#!/usr/bin/env python3
"""Generate the deterministic benchmark captures of bench/run.sh (bulk, control, mixed) in bench/out/.

Three kinds, all Ethernet (link type 1), written in big chunks:

  bulk     pcap   FTP sessions (login, TYPE I, PASV/227, RETR/STOR/LIST, 150/226,
                  QUIT) whose passive data connections carry MTU-size segments
                  (1514-byte frames, 1448-byte payload); most bytes are data.
  control  pcap   many short FTP control sessions: real recorded sessions from
                  samples/real/ (help, pass-before-user, rnto-without-rnfr,
                  pipelined, prot-without-pbsz; IPv4 only) replayed with new
                  addresses, ports, sequence numbers and times, plus synthesised
                  dialogues (220, USER/331, PASS/230, SYST/215, PWD/257, HELP with
                  the servers' real multi-line 214, some 503s, QUIT/221) using
                  the real servers' reply texts; SYN/FIN handshakes.
  mixed    pcapng FTP control and bulk sessions among HTTP (port 80) flows, bulk
                  TCP on 443/22/445 and UDP DNS, one Enhanced Packet Block per
                  frame.

Every session gets its own 4-tuple (client IP from a counter, random ephemeral
port), random ISNs with consistent sequence/ack numbers per connection, TCP
timestamps, and a global clock that only moves forward; sessions overlap (a
fixed number run concurrently and are merged by time). IPv4, TCP and UDP
checksums are correct. Output depends only on --seed and the sizes.

Usage: bench/make_captures.py --size 1G [--kind bulk|control|mixed|all]
       [--control-sessions 40000] [--seed 5] [--out bench/out]
"""

import argparse
import glob
import heapq
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

T0_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z

IPH = struct.Struct("!BBHHHBBH4s4s")
TCPH = struct.Struct("!HHIIBBHHH")
UDPH = struct.Struct("!HHHH")
TSOPT = struct.Struct("!BBBBII")
SYNTS = struct.Struct("!BBII")
PCAP_REC = struct.Struct("<IIII")
EPB = struct.Struct("<IIIIIII")

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10

_paysum_cache = {}


def paysum(payload):
    """Ones-complement sum of payload (mod 0xffff), cached per payload."""
    s = _paysum_cache.get(payload)
    if s is None:
        b = payload + b"\0" if len(payload) & 1 else payload
        s = int.from_bytes(b, "big") % 0xFFFF
        if len(_paysum_cache) < 50000:
            _paysum_cache[payload] = s
    return s


def fold(x):
    return (~(x % 0xFFFF)) & 0xFFFF


def parse_size(text):
    text = text.strip().upper().rstrip("B")
    mult = 1
    for suffix, m in (("K", 10**3), ("M", 10**6), ("G", 10**9)):
        if text.endswith(suffix):
            mult, text = m, text[:-1]
    return int(float(text) * mult)


def ip4(n):
    return struct.pack("!I", n)


def mac_for(ip):
    return b"\x02\x00" + ip


class Conn:
    """One TCP connection; dir 0 = client to server, 1 = server to client."""

    __slots__ = ("eth", "src", "dst", "ports", "isn", "nxt", "tsv", "last_ts", "ipid", "win", "pseudo")

    def __init__(self, rng, cip, sip, cport, sport):
        cmac, smac = mac_for(cip), mac_for(sip)
        self.eth = (smac + cmac + b"\x08\x00", cmac + smac + b"\x08\x00")
        self.src = (cip, sip)
        self.dst = (sip, cip)
        self.ports = ((cport, sport), (sport, cport))
        self.isn = [rng.getrandbits(32), rng.getrandbits(32)]
        self.nxt = [0, 0]
        self.tsv = [rng.getrandbits(31), rng.getrandbits(31)]
        self.last_ts = [0, 0]
        self.ipid = [rng.getrandbits(16), rng.getrandbits(16)]
        self.win = (502, 509)
        self.pseudo = (int.from_bytes(cip + sip + b"\x00\x06", "big"), int.from_bytes(sip + cip + b"\x00\x06", "big"))

    def seg(self, d, t, flags, payload=b"", rel_seq=None, rel_ack=None, win=None):
        """Frame bytes of one segment sent in direction d at time t (us)."""
        o = 1 - d
        if rel_seq is None:
            rel_seq = self.nxt[d]
        if rel_ack is None:
            rel_ack = self.nxt[o]
        end = rel_seq + len(payload) + (1 if flags & (SYN | FIN) else 0)
        if end > self.nxt[d]:
            self.nxt[d] = end
        seq = (self.isn[d] + rel_seq) & 0xFFFFFFFF
        ack = (self.isn[o] + rel_ack) & 0xFFFFFFFF if flags & ACK else 0
        tsval = (self.tsv[d] + t // 1000) & 0xFFFFFFFF
        if flags & SYN:
            opts = b"\x02\x04\x05\xb4\x04\x02" + SYNTS.pack(8, 10, tsval, self.last_ts[o]) + b"\x01\x03\x03\x07"
        else:
            opts = TSOPT.pack(1, 1, 8, 10, tsval, self.last_ts[o])
        self.last_ts[d] = tsval
        hlen = 20 + len(opts)
        sport, dport = self.ports[d]
        w = self.win[d] if win is None else win
        tcp = TCPH.pack(sport, dport, seq, ack, hlen << 2, flags, w, 0, 0) + opts
        tcplen = hlen + len(payload)
        ck = fold(self.pseudo[d] + tcplen + int.from_bytes(tcp, "big") + (paysum(payload) if payload else 0))
        tcp = tcp[:16] + ck.to_bytes(2, "big") + tcp[18:]
        ipid = self.ipid[d]
        self.ipid[d] = (ipid + 1) & 0xFFFF
        iph = IPH.pack(0x45, 0, 20 + tcplen, ipid, 0x4000, 64, 6, 0, self.src[d], self.dst[d])
        iph = iph[:10] + fold(int.from_bytes(iph, "big")).to_bytes(2, "big") + iph[12:]
        return b"".join((self.eth[d], iph, tcp, payload))


def udp_frame(src, dst, sport, dport, payload, ipid):
    ulen = 8 + len(payload)
    pseudo = int.from_bytes(src + dst + b"\x00\x11", "big") + ulen
    u = UDPH.pack(sport, dport, ulen, 0)
    ck = fold(pseudo + int.from_bytes(u, "big") + paysum(payload)) or 0xFFFF
    u = u[:6] + ck.to_bytes(2, "big")
    iph = IPH.pack(0x45, 0, 20 + ulen, ipid, 0x4000, 64, 17, 0, src, dst)
    iph = iph[:10] + fold(int.from_bytes(iph, "big")).to_bytes(2, "big") + iph[12:]
    return b"".join((mac_for(dst) + mac_for(src) + b"\x08\x00", iph, u, payload))


# ---------------------------------------------------------------- real sessions


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off : off + 16])
        off += 16
        out.append((sec * 1_000_000 + (frac // 1000 if nano else frac), data[off : off + incl]))
        off += incl
    return linktype, out


def control_script(path):
    """The first IPv4 port-21 connection of a real capture as a replay script:
    [(rel_us, dir, flags, payload, rel_seq, rel_ack, window)]."""
    linktype, frames = read_pcap(path)
    if linktype != 1:
        return None
    isn = {}
    key = None
    script = []
    t_first = None
    for ts, fr in frames:
        if len(fr) < 54 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
            continue
        ihl = (fr[14] & 15) * 4
        tot = struct.unpack("!H", fr[16:18])[0]
        t = fr[14 + ihl : 14 + tot]
        sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", t[:16])
        if 21 not in (sport, dport):
            continue
        d = 0 if dport == 21 else 1
        cport = sport if d == 0 else dport
        if key is None:
            if not (flags & SYN and d == 0):
                return None
            key = cport
        if cport != key:
            continue
        payload = bytes(t[(off >> 4) * 4 :])
        if flags & SYN:
            isn[d] = seq
        if d not in isn:
            return None
        if t_first is None:
            t_first = ts
        rel_seq = (seq - isn[d]) & 0xFFFFFFFF
        rel_ack = (ack - isn.get(1 - d, ack)) & 0xFFFFFFFF if flags & ACK else 0
        script.append((ts - t_first, d, flags, payload, rel_seq, rel_ack, win))
    return script or None


def load_real(rng):
    scripts, help_texts, greetings = [], [], []
    for scen in ("help", "pass-before-user", "rnto-without-rnfr", "pipelined", "prot-without-pbsz"):
        for path in sorted(glob.glob(os.path.join(REPO, "samples", "real", "*-" + scen + ".pcap"))):
            s = control_script(path)
            if not s:
                continue
            scripts.append((os.path.basename(path), s))
            if scen == "help":
                server = b"".join(p for (_, d, _, p, _, _, _) in s if d == 1)
                lines = server.split(b"\r\n")
                # the first multi-line 214 reply, verbatim
                for i, ln in enumerate(lines):
                    if ln.startswith(b"214-"):
                        j = i + 1
                        while j < len(lines) and not lines[j].startswith(b"214 "):
                            j += 1
                        if j < len(lines):
                            help_texts.append(b"\r\n".join(lines[i : j + 1]) + b"\r\n")
                        break
                g = []
                for ln in lines:
                    g.append(ln)
                    if ln.startswith(b"220 "):
                        break
                greetings.append(b"\r\n".join(g) + b"\r\n")
    if not help_texts:
        help_texts.append(
            b"214-The following commands are recognized.\r\n ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n"
            b" MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR RNTO\r\n"
            b" SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD\r\n214 Help OK.\r\n"
        )
    if not greetings:
        greetings.append(b"220 (vsFTPd 3.0.3)\r\n")
    return scripts, help_texts, greetings


# ---------------------------------------------------------------- generators


class Ctx:
    """Shared deterministic state: random source, address counters, real texts."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.client_n = 0
        self.scripts, self.help_texts, self.greetings = load_real(self.rng)
        self.servers = [ip4((192 << 24) | (0 << 16) | (2 << 8) | (10 + i)) for i in range(8)]
        self.http_servers = [ip4((198 << 24) | (51 << 16) | (100 << 8) | (10 + i)) for i in range(16)]
        self.other_servers = [ip4((203 << 24) | (0 << 16) | (113 << 8) | (10 + i)) for i in range(16)]
        self.dns = ip4((10 << 24) | (255 << 16) | (255 << 8) | 53)
        r = random.Random(seed + 1)
        self.blocks = [bytes(r.getrandbits(8) for _ in range(1448)) for _ in range(16)]
        self.stats = {}

    def client(self):
        """A fresh (client IP, port): the IP changes every 4 sessions."""
        n = self.client_n
        self.client_n += 1
        ip = ip4((10 << 24) + 256 + n // 4)
        port = 32768 + (n % 4) * 7000 + self.rng.randrange(7000)
        return ip, port


def handshake(c, t, rtt):
    yield t, c.seg(0, t, SYN)
    yield t + rtt // 2, c.seg(1, t + rtt // 2, SYN | ACK)
    yield t + rtt, c.seg(0, t + rtt, ACK)


def close(c, t, rtt, first=0):
    o = 1 - first
    yield t, c.seg(first, t, FIN | ACK)
    yield t + rtt // 2, c.seg(o, t + rtt // 2, FIN | ACK)
    yield t + rtt, c.seg(first, t + rtt, ACK)


def exchange(c, t, rtt, cmd, reply, rng):
    """Client command, server reply (piggybacking the ACK when quick), client
    ACK if its next command is not immediate. Returns frames and the end time."""
    out = []
    out.append((t, c.seg(0, t, PSH | ACK, cmd)))
    think = rng.randrange(100, 30000)
    ts = t + rtt // 2 + think
    if think > 40000:
        out.append((t + rtt // 2 + 200, c.seg(1, t + rtt // 2 + 200, ACK)))
    for i in range(0, len(reply), 1448):
        out.append((ts, c.seg(1, ts, PSH | ACK, reply[i : i + 1448])))
        ts += 20
    te = ts + rtt // 2
    if rng.random() < 0.5:
        out.append((te, c.seg(0, te, ACK)))
    return out, te


def ftp_replay(ctx, t0):
    rng = ctx.rng
    name, script = ctx.scripts[rng.randrange(len(ctx.scripts))]
    cip, cport = ctx.client()
    c = Conn(rng, cip, ctx.servers[rng.randrange(len(ctx.servers))], cport, 21)
    scale = rng.uniform(0.5, 4.0)  # loopback timings stretched to a network
    for rel, d, flags, payload, rel_seq, rel_ack, win in script:
        t = t0 + int(rel * scale)
        yield t, c.seg(d, t, flags, payload, rel_seq, rel_ack, win)
    ctx.stats["sessions_replayed"] = ctx.stats.get("sessions_replayed", 0) + 1


USERS = [b"ftptest", b"alice", b"bob", b"backup", b"anonymous", b"www-data", b"deploy", b"carol"]


def ftp_control(ctx, t0):
    """Synthesised short session with the servers' real greetings and HELP texts."""
    rng = ctx.rng
    k = rng.randrange(len(ctx.greetings))
    greet, help_text = ctx.greetings[k], ctx.help_texts[k % len(ctx.help_texts)]
    cip, cport = ctx.client()
    c = Conn(rng, cip, ctx.servers[rng.randrange(len(ctx.servers))], cport, 21)
    rtt = rng.randrange(500, 60000)
    yield from handshake(c, t0, rtt)
    t = t0 + rtt + rng.randrange(100, 5000)
    yield t, c.seg(1, t, PSH | ACK, greet)
    t += rtt // 2
    yield t, c.seg(0, t, ACK)
    user = USERS[rng.randrange(len(USERS))]
    steps = []
    x = rng.random()
    if x < 0.04:
        steps.append((b"PASS secret\r\n", b"503 Login with USER first.\r\n"))
    steps += [
        (b"USER " + user + b"\r\n", b"331 Please specify the password.\r\n"),
        (b"PASS s3cret-pass\r\n", b"230 Login successful.\r\n"),
        (b"SYST\r\n", b"215 UNIX Type: L8\r\n"),
        (b"PWD\r\n", b'257 "/home/' + user + b'" is the current directory\r\n'),
        (b"HELP\r\n", help_text),
    ]
    if 0.04 <= x < 0.08:
        steps.append((b"RNTO newname\r\n", b"503 RNFR required first.\r\n"))
    steps.append((b"QUIT\r\n", b"221 Goodbye.\r\n"))
    for cmd, reply in steps:
        t += rng.randrange(200, 20000)
        frames, t = exchange(c, t, rtt, cmd, reply, rng)
        yield from frames
    t += 200
    yield from close(c, t, rtt, first=1)
    ctx.stats["sessions_synth"] = ctx.stats.get("sessions_synth", 0) + 1


def data_stream(ctx, c, t, d, nbytes, gap):
    """nbytes from side d in 1448-byte segments, ACKed every second segment."""
    blocks = ctx.blocks
    o = 1 - d
    sent = 0
    i = 0
    while sent < nbytes:
        n = min(1448, nbytes - sent)
        p = blocks[i & 15] if n == 1448 else blocks[i & 15][:n]
        yield t, c.seg(d, t, ACK if n == 1448 else PSH | ACK, p)
        sent += n
        i += 1
        if i & 1 == 0 or sent >= nbytes:
            yield t + 30, c.seg(o, t + 30, ACK)
        t += gap
    return t


def ftp_bulk(ctx, t0, size_cap, port=21):
    """Login, then 1-3 transfers over passive data connections."""
    rng = ctx.rng
    cip, cport = ctx.client()
    sip = ctx.servers[rng.randrange(len(ctx.servers))]
    c = Conn(rng, cip, sip, cport, port)
    rtt = rng.randrange(500, 40000)
    yield from handshake(c, t0, rtt)
    t = t0 + rtt + rng.randrange(100, 5000)
    yield t, c.seg(1, t, PSH | ACK, b"220 (vsFTPd 3.0.3)\r\n")
    t += rtt // 2
    yield t, c.seg(0, t, ACK)
    for cmd, reply in (
        (b"USER ftptest\r\n", b"331 Please specify the password.\r\n"),
        (b"PASS s3cret-pass\r\n", b"230 Login successful.\r\n"),
        (b"TYPE I\r\n", b"200 Switching to Binary mode.\r\n"),
    ):
        t += rng.randrange(200, 5000)
        frames, t = exchange(c, t, rtt, cmd, reply, rng)
        yield from frames
    ntrans = rng.choice((1, 1, 2, 3))
    for k in range(ntrans):
        kind = rng.random()
        if k == 0 or kind < 0.7:
            verb, nbytes, d = b"RETR", int(size_cap * rng.uniform(0.3, 1.0) / ntrans), 1
        elif kind < 0.9:
            verb, nbytes, d = b"STOR", int(size_cap * rng.uniform(0.1, 0.5) / ntrans), 0
        else:
            verb, nbytes, d = b"LIST", rng.randrange(200, 4000), 1
        nbytes = max(nbytes, 100)
        dport = rng.randrange(40000, 50000)
        a = sip
        pasv = b"227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n" % (a[0], a[1], a[2], a[3], dport >> 8, dport & 255)
        t += rng.randrange(200, 5000)
        frames, t = exchange(c, t, rtt, b"PASV\r\n", pasv, rng)
        yield from frames
        fname = b"file%05d.bin" % rng.randrange(100000)
        cmd = b"LIST\r\n" if verb == b"LIST" else verb + b" " + fname + b"\r\n"
        t += rng.randrange(100, 2000)
        yield t, c.seg(0, t, PSH | ACK, cmd)
        dc = Conn(rng, cip, sip, (cport + 1 + k) if cport < 65000 else cport - 1 - k, dport)
        yield from handshake(dc, t + 50, rtt)
        t += rtt + 100
        if verb == b"RETR":
            prelim = b"150 Opening BINARY mode data connection for " + fname + b" (%d bytes).\r\n" % nbytes
        elif verb == b"STOR":
            prelim = b"150 Ok to send data.\r\n"
        else:
            prelim = b"150 Here comes the directory listing.\r\n"
        yield t, c.seg(1, t, PSH | ACK, prelim)
        t += 50
        gap = rng.choice((12, 25, 50, 100))  # us per segment: ~1 Gb/s .. ~115 Mb/s
        t = yield from data_stream(ctx, dc, t, d, nbytes, gap)
        yield from close(dc, t, rtt, first=d)
        t += rtt
        yield t, c.seg(1, t, PSH | ACK, b"226 Transfer complete.\r\n")
        t += rtt // 2
        yield t, c.seg(0, t, ACK)
        ctx.stats["ftp_transfers"] = ctx.stats.get("ftp_transfers", 0) + 1
    t += rng.randrange(200, 5000)
    frames, t = exchange(c, t, rtt, b"QUIT\r\n", b"221 Goodbye.\r\n", rng)
    yield from frames
    yield from close(c, t + 100, rtt, first=1)
    ctx.stats["sessions_bulk"] = ctx.stats.get("sessions_bulk", 0) + 1


def http_flow(ctx, t0):
    rng = ctx.rng
    cip, cport = ctx.client()
    c = Conn(rng, cip, ctx.http_servers[rng.randrange(16)], cport, 80)
    rtt = rng.randrange(1000, 80000)
    yield from handshake(c, t0, rtt)
    t = t0 + rtt
    for _ in range(rng.choice((1, 1, 2, 3))):
        path = b"/static/%08x.js" % rng.getrandbits(32)
        req = (
            b"GET " + path + b" HTTP/1.1\r\nHost: www.example.net\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0)"
            b" Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.5\r\n"
            b"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
        )
        yield t, c.seg(0, t, PSH | ACK, req)
        body = int(rng.paretovariate(1.2) * 2000)
        body = min(body, 400_000)
        t += rtt // 2 + rng.randrange(100, 20000)
        hdr = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/javascript\r\nContent-Length: %d\r\n\r\n" % body
        yield t, c.seg(1, t, PSH | ACK, hdr)
        t = yield from data_stream(ctx, c, t + 10, 1, body, 40)
        t += rng.randrange(1000, 200000)
    yield from close(c, t, rtt, first=0)
    ctx.stats["http_flows"] = ctx.stats.get("http_flows", 0) + 1


def other_bulk(ctx, t0, size_cap):
    rng = ctx.rng
    cip, cport = ctx.client()
    port = rng.choice((443, 443, 22, 445))
    c = Conn(rng, cip, ctx.other_servers[rng.randrange(16)], cport, port)
    rtt = rng.randrange(1000, 60000)
    yield from handshake(c, t0, rtt)
    t = t0 + rtt
    yield t, c.seg(0, t, PSH | ACK, ctx.blocks[3][:517])
    t += rtt
    t = yield from data_stream(ctx, c, t, 1, int(size_cap * rng.uniform(0.2, 1.0)), rng.choice((12, 25, 50)))
    yield from close(c, t, rtt, first=1)
    ctx.stats["other_bulk_flows"] = ctx.stats.get("other_bulk_flows", 0) + 1


def dns_pair(ctx, t0):
    rng = ctx.rng
    cip, cport = ctx.client()
    qid = rng.getrandbits(16)
    name = b"".join(bytes([len(p)]) + p for p in (b"host%d" % rng.randrange(10000), b"example", b"com")) + b"\0"
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"
    ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04" + ip4(rng.getrandbits(32))
    r = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + name + b"\x00\x01\x00\x01" + ans
    yield t0, udp_frame(cip, ctx.dns, cport, 53, q, rng.getrandbits(16))
    t = t0 + rng.randrange(300, 30000)
    yield t, udp_frame(ctx.dns, cip, 53, cport, r, rng.getrandbits(16))
    ctx.stats["dns_pairs"] = ctx.stats.get("dns_pairs", 0) + 1


# ---------------------------------------------------------------- writers


class Writer:
    def __init__(self, path, ng):
        self.f = open(path, "wb")
        self.ng = ng
        self.buf = []
        self.buffered = 0
        self.bytes = 0
        self.packets = 0
        if ng:
            shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
            self._raw(struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body)) + shb_body + struct.pack("<I", 12 + len(shb_body)))
            idb_body = struct.pack("<HHI", 1, 0, 262144)
            self._raw(struct.pack("<II", 1, 12 + len(idb_body)) + idb_body + struct.pack("<I", 12 + len(idb_body)))
        else:
            self._raw(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

    def _raw(self, b):
        self.buf.append(b)
        self.buffered += len(b)
        self.bytes += len(b)

    def frame(self, t, data):
        n = len(data)
        if self.ng:
            pad = (-n) & 3
            blen = 32 + n + pad
            rec = EPB.pack(6, blen, 0, t >> 32, t & 0xFFFFFFFF, n, n)
            self.buf.append(rec)
            self.buf.append(data + b"\0" * pad + blen.to_bytes(4, "little"))
            size = blen
        else:
            self.buf.append(PCAP_REC.pack(t // 1_000_000, t % 1_000_000, n, n))
            self.buf.append(data)
            size = 16 + n
        self.bytes += size
        self.buffered += size
        self.packets += 1
        if self.buffered >= 8 << 20:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []
        self.buffered = 0

    def close(self):
        self.flush()
        self.f.close()


def run(writer, ctx, target, slots, start_session, min_sessions=0):
    """Keep `slots` sessions running; start new ones until `target` bytes are
    written (and at least min_sessions started), then drain. Time only moves forward."""
    heap = []
    order = 0
    started = 0
    t = T0_US
    for i in range(slots):
        g = start_session(ctx, t + i * 3000, target - writer.bytes)
        started += 1
        first = next(g, None)
        if first is not None:
            heapq.heappush(heap, (first[0], order, first[1], g))
            order += 1
    while heap:
        t, _, frame, g = heapq.heappop(heap)
        writer.frame(t, frame)
        nxt = next(g, None)
        if nxt is None:
            if writer.bytes < target or started < min_sessions:
                g = start_session(ctx, t + ctx.rng.randrange(0, 20000), target - writer.bytes)
                started += 1
                nxt = next(g, None)
        if nxt is not None:
            if nxt[0] < t:  # never let time go backwards
                nxt = (t, nxt[1])
            heapq.heappush(heap, (nxt[0], order, nxt[1], g))
            order += 1
    return started


def make_bulk(ctx, path, size):
    w = Writer(path, ng=False)
    slots = 4
    cap = max(min(50_000_000, size // 20), 200_000)

    def start(ctx, t, remaining):
        return ftp_bulk(ctx, t, max(min(cap, remaining // slots), 100_000))

    run(w, ctx, size, slots, start)
    w.close()
    return w


def make_control(ctx, path, size, sessions):
    w = Writer(path, ng=False)

    def start(ctx, t, remaining):
        if ctx.rng.random() < 0.3:
            return ftp_replay(ctx, t)
        return ftp_control(ctx, t)

    run(w, ctx, size, 64, start, min_sessions=sessions)
    w.close()
    return w


def make_mixed(ctx, path, size):
    w = Writer(path, ng=True)
    cap = max(min(20_000_000, size // 50), 200_000)

    def start(ctx, t, remaining):
        x = ctx.rng.random()
        if x < 0.30:
            return ftp_control(ctx, t) if ctx.rng.random() < 0.7 else ftp_replay(ctx, t)
        if x < 0.33:
            return ftp_bulk(ctx, t, max(min(cap // 4, remaining // 32), 50_000))
        if x < 0.60:
            return http_flow(ctx, t)
        if x < 0.63:
            return other_bulk(ctx, t, max(min(cap, remaining // 32), 50_000))
        return dns_pair(ctx, t)

    run(w, ctx, size, 32, start)
    w.close()
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1G", help="bytes per bulk/mixed capture (K/M/G = 10^3/10^6/10^9)")
    ap.add_argument("--kind", default="all", choices=("bulk", "control", "mixed", "all"))
    ap.add_argument("--control-sessions", type=int, default=40000, help="at least this many control sessions")
    ap.add_argument("--control-size", default="0", help="at least this many bytes in the control capture")
    ap.add_argument("--seed", type=int, default=5, help="generator seed (default 5)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="output folder (default bench/out)")
    ap.add_argument("--name", help="file name (single --kind only)")
    a = ap.parse_args()
    if a.name and a.kind == "all":
        ap.error("--name needs a single --kind")
    os.makedirs(a.out, exist_ok=True)
    size = parse_size(a.size)
    kinds = ("bulk", "control", "mixed") if a.kind == "all" else (a.kind,)
    for kind in kinds:
        ctx = Ctx(a.seed + {"bulk": 0, "control": 100, "mixed": 200}[kind])
        t = time.time()
        if kind == "bulk":
            path = os.path.join(a.out, a.name or "bulk-%s.pcap" % a.size)
            w = make_bulk(ctx, path, size)
        elif kind == "control":
            path = os.path.join(a.out, a.name or "control-%d.pcap" % a.control_sessions)
            w = make_control(ctx, path, parse_size(a.control_size), a.control_sessions)
        else:
            path = os.path.join(a.out, a.name or "mixed-%s.pcapng" % a.size)
            w = make_mixed(ctx, path, size)
        dt = time.time() - t
        frames = w.bytes - (24 if not w.ng else 0)
        per = 16 if not w.ng else 32
        avg = (frames - per * w.packets) / max(w.packets, 1)
        stats = " ".join("%s=%d" % kv for kv in sorted(ctx.stats.items()))
        print(
            "%s: %d bytes, %d packets, avg frame %.0f B, %s; %.1f s (%.0f MB/s)"
            % (path, w.bytes, w.packets, avg, stats, dt, w.bytes / dt / 1e6),
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
