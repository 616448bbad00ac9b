#!/usr/bin/env python3
"""'transfers' scenario with Python's ftplib, logging "command -> reply codes".

login; passive RETR hello.txt; active (PORT) LIST; RETR of a missing file
(550 expected); QUIT.  Active-mode listeners use a port in --active-ports so
that the capture filter can stay narrow.
"""
import argparse
import ftplib
import socket
import sys


class LoggingFTP(ftplib.FTP):
    """ftplib.FTP that records which reply (code) answered which command.
    Shared with record_transfers_client.py, which adds a note per entry."""

    def __init__(self, *args, active_ports=(41000, 41100), **kw):
        self.entries = []          # [command, [codes], ...] (see new_entry)
        self.active_ports = active_ports
        super().__init__(*args, **kw)

    def new_entry(self, command):
        return [command, []]

    def putcmd(self, line):
        self.entries.append(self.new_entry(line))
        super().putcmd(line)

    def getresp(self):
        try:
            resp = super().getresp()
        except ftplib.Error as e:
            self._note(str(e)[:3])
            raise
        self._note(resp[:3])
        return resp

    def _note(self, code):
        if not self.entries:
            self.entries.append(self.new_entry("(connect)"))
        self.entries[-1][1].append(code)

    def free_port(self):
        """A listening socket on a port in the active range (so that the
        capture filter can stay narrow)."""
        lo, hi = self.active_ports
        for p in range(lo, hi + 1):
            try:
                return socket.create_server((self.sock.getsockname()[0], p), family=self.af, backlog=1)
            except OSError:
                continue
        raise OSError("no free active port")

    def makeport(self):
        # same as ftplib.FTP.makeport, but bind to a port in a fixed range
        sock = self.free_port()
        port = sock.getsockname()[1]
        host = self.sock.getsockname()[0]
        if self.af == socket.AF_INET:
            self.sendport(host, port)
        else:
            self.sendeprt(host, port)
        if self.timeout is not ftplib._GLOBAL_DEFAULT_TIMEOUT:
            sock.settimeout(self.timeout)
        return sock


def add_client_args(ap):
    """The server and account options every recording client takes."""
    ap.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=21, help="server port (default 21)")
    ap.add_argument("--user", default="ftptest", help="login (default ftptest)")
    ap.add_argument("--password", default="s3cret-pass", help="password (default s3cret-pass)")
    ap.add_argument("--active-ports", default="41000-41100", metavar="LO-HI",
                    help="port range of the active-mode listeners (default 41000-41100)")
    return ap


def logged_in(a, client=None):
    """A client of class `client` (default LoggingFTP) connected and logged
    in with the options of add_client_args."""
    lo, hi = (int(x) for x in a.active_ports.split("-"))
    ftp = (client or LoggingFTP)(active_ports=(lo, hi), timeout=10)
    ftp.connect(a.host, a.port)
    ftp.login(a.user, a.password)
    return ftp


def main():
    a = add_client_args(argparse.ArgumentParser(description=__doc__)).parse_args()
    ftp = logged_in(a)
    nbytes = [0]

    def sink(b):
        nbytes[0] += len(b)

    ftp.set_pasv(True)
    ftp.retrbinary("RETR hello.txt", sink)
    data_note = {len(ftp.entries) - 1: nbytes[0]}
    ftp.set_pasv(False)
    lines = []
    ftp.retrlines("LIST", lines.append)
    data_note[len(ftp.entries) - 1] = sum(len(x) + 2 for x in lines)
    try:
        ftp.retrbinary("RETR no-such-file.txt", sink)
    except ftplib.error_perm:
        pass
    try:
        ftp.quit()
    except (EOFError, OSError):
        pass
    for i, (cmd, codes) in enumerate(ftp.entries):
        extra = " [data %d bytes]" % data_note[i] if i in data_note else ""
        print("%s -> %s%s" % (cmd, " ".join(codes) or "(none)", extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
