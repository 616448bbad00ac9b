#!/usr/bin/env python3
"""Raw-socket FTP control client used to record sample captures.

Each positional argument is one *step*.  A step is normally one command line,
sent with its own send() call; the client then waits for the complete reply
(multi-line replies are handled) before sending the next step.  A step that
contains the separator (default "||") holds several commands which are sent
together in ONE send() call (pipelined); the replies are then read in order.

Data connections (only as much as needed for the samples):
  * a 227 / 229 reply to PASV / EPSV is remembered; the client connects to
    that address just before it sends the next transfer command
    (RETR, LIST, NLST, MLSD, STOR, APPE, STOU), like ftplib does;
  * "PORT *" / "EPRT *" make the client listen on 127.0.0.1 (or ::1) on a
    port from --active-ports and replace "*" by that address;
  * after a 1xx reply to a transfer command the data connection (if any) is
    read to EOF and the byte count is logged; then the final reply is read.

The log printed on stdout is the ground truth of which reply answered which
command, one line per command:

    (connect) -> 220
    USER ftptest -> 331
    RETR hello.txt -> 150 226 [data 2048 bytes]
    PWD -> 257 [pipelined 1/4]
    NOOP -> (closed)
"""
import argparse
import re
import socket
import sys
import time

TRANSFER = {"RETR", "LIST", "NLST", "MLSD", "STOR", "APPE", "STOU"}


class Closed(Exception):
    pass


class Timeout(Exception):
    pass


class Conn:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.buf = b""
        self.timeout = timeout

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout()
        except (ConnectionResetError, BrokenPipeError):
            raise Closed()
        if not data:
            raise Closed()
        self.buf += data

    def line(self, deadline):
        while b"\n" not in self.buf:
            self._fill(deadline)
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("latin-1")

    def reply(self, timeout=None):
        """Read one complete (possibly multi-line) reply; return (code, lines)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        first = self.line(deadline)
        lines = [first]
        m = re.match(r"^(\d{3})([- ]?)", first)
        if not m:
            return "???", lines
        code = m.group(1)
        if m.group(2) == "-":
            while True:
                ln = self.line(deadline)
                lines.append(ln)
                if ln.startswith(code + " ") or ln == code:
                    break
        return code, lines


def parse_227(text):
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", text)
    if not m:
        return None
    n = [int(x) for x in m.groups()]
    return "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]


def parse_229(text, host):
    m = re.search(r"\((.)\1\1(\d+)\1\)", text)
    if not m:
        return None
    return host, int(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=21)
    ap.add_argument("--timeout", type=float, default=15.0,
                    help="seconds to wait for each reply (default 15)")
    ap.add_argument("--sep", default="||", help="pipelined command separator")
    ap.add_argument("--active-ports", default="41000-41100",
                    help="port range for PORT * / EPRT * listeners")
    ap.add_argument("--echo", action="store_true",
                    help="also print full reply text on stderr")
    ap.add_argument("steps", nargs="+")
    a = ap.parse_args()

    def dbg(s):
        if a.echo:
            print(s, file=sys.stderr)

    sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    c = Conn(sock, a.timeout)
    out = []

    def log(s):
        out.append(s)
        print(s, flush=True)

    try:
        code, lines = c.reply()
        for ln in lines:
            dbg("<- " + ln)
        log("(connect) -> %s" % code)
    except (Timeout, Closed) as e:
        log("(connect) -> (%s)" % type(e).__name__.lower())
        return 1

    pasv_addr = None          # (host, port) from the last 227/229
    listener = None           # socket for PORT * / EPRT *
    closed = False
    plo, phi = (int(x) for x in a.active_ports.split("-"))

    def make_listener():
        fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
        for p in range(plo, phi + 1):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((a.host, p))
            except OSError:
                s.close()
                continue
            s.listen(1)
            return s, p
        raise RuntimeError("no free port in %s" % a.active_ports)

    for step in a.steps:
        cmds = step.split(a.sep)
        n = len(cmds)
        if closed:
            for cmd in cmds:
                log("%s -> (not sent: connection closed)" % cmd)
            continue
        # substitute PORT * / EPRT *
        for i, cmd in enumerate(cmds):
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("PORT", "EPRT") and cmd.endswith(" *"):
                if listener:
                    listener.close()
                listener, p = make_listener()
                if verb == "PORT":
                    cmds[i] = "PORT 127,0,0,1,%d,%d" % (p // 256, p % 256)
                else:
                    af = 2 if ":" in a.host else 1
                    cmds[i] = "EPRT |%d|%s|%d|" % (af, a.host, p)
        # data connection for passive transfers: connect before sending
        data = None
        verb0 = cmds[0].split(" ", 1)[0].upper()
        if n == 1 and verb0 in TRANSFER and pasv_addr:
            try:
                data = socket.create_connection(pasv_addr, timeout=a.timeout)
            except OSError as e:
                dbg("data connect failed: %s" % e)
            pasv_addr = None
        payload = "".join(cmd + "\r\n" for cmd in cmds).encode("latin-1")
        for cmd in cmds:
            dbg("-> " + cmd)
        try:
            sock.sendall(payload)
        except OSError:
            closed = True
            for cmd in cmds:
                log("%s -> (send failed: connection closed)" % cmd)
            continue
        for idx, cmd in enumerate(cmds):
            verb = cmd.split(" ", 1)[0].upper()
            tag = " [pipelined %d/%d]" % (idx + 1, n) if n > 1 else ""
            codes = []
            note = ""
            nbytes = None
            if closed:
                log("%s -> (closed)%s" % (cmd, tag))
                continue
            while True:
                try:
                    code, lines = c.reply()
                except Timeout:
                    note = " (no reply within %gs)" % a.timeout if codes else ""
                    if not codes:
                        codes.append("(timeout %gs)" % a.timeout)
                    break
                except Closed:
                    closed = True
                    codes.append("(closed)")
                    break
                for ln in lines:
                    dbg("<- " + ln)
                codes.append(code)
                text = "\n".join(lines)
                if code == "227":
                    pasv_addr = parse_227(text)
                elif code == "229":
                    pasv_addr = parse_229(text, a.host)
                if code.startswith("1") and verb in TRANSFER:
                    # preliminary reply: move the data, then wait for the final reply
                    if data is None and listener is not None:
                        listener.settimeout(a.timeout)
                        try:
                            data, _ = listener.accept()
                        except OSError:
                            data = None
                        listener.close()
                        listener = None
                    if data is not None:
                        nbytes = 0
                        data.settimeout(a.timeout)
                        try:
                            while True:
                                d = data.recv(65536)
                                if not d:
                                    break
                                nbytes += len(d)
                        except OSError:
                            pass
                        data.close()
                        data = None
                    continue
                if code.startswith("1"):
                    continue
                break
            extra = " [data %d bytes]" % nbytes if nbytes is not None else ""
            log("%s -> %s%s%s%s" % (cmd, " ".join(codes), extra, note, tag))
        if data is not None:
            data.close()
    # give the server a moment, then close (QUIT normally already closed it)
    try:
        sock.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
