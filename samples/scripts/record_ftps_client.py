#!/usr/bin/env python3
"""FTPS client (Python ftplib FTP_TLS) for samples/ftps/ (started by record_ftps.sh).

    record_ftps_client.py [options] [--] STEP...

Each STEP is one command line, sent as it is with ftplib's raw sendcmd (so
sequence errors such as PASS before USER or RNTO without RNFR really reach
the server), one command per step, waiting for the whole reply before the
next.  Some steps do more than send their line:

  AUTH TLS / AUTH SSL   after a 234 the control socket is wrapped in TLS
                        (the handshake happens here)
  PROT P / PROT C       after a 200, later data connections are (not) TLS
  CCC                   after a 200 the control connection's TLS is shut
                        down (close_notify both ways), the rest is cleartext
  LIST, NLST, MLSD, RETR F, STOR F
                        a passive transfer: ftplib sends PASV (or EPSV) and
                        the command, and with PROT P wraps the data
                        connection in TLS; the data are read to the end

With --implicit the control connection is TLS from the first byte (implicit
FTPS, port 990), before the 220.

--keylog FILE: the TLS secrets of every connection (control and data) go to
FILE as an NSS key log (Python's ssl keylog_filename); without it none is
written.  --tls13-ciphersuites: OpenSSL's TLS 1.3 suites, which Python's ssl
cannot set; the client sets them through an OpenSSL config file
($OPENSSL_CONF) before it loads ssl.

The log on stdout has one line per command, "command -> reply code(s)", as
record_client.py writes it, with notes in brackets: the TLS version and
cipher suite the client negotiated, the data bytes, a failed handshake.

    (connect) -> 220
    AUTH TLS -> 234 [TLS TLSv1.3 TLS_AES_256_GCM_SHA384]
    PASS xyz -> 503
    LIST -> 150 226 [data 187 bytes; data TLS TLSv1.3 TLS_AES_256_GCM_SHA384, new session]
    RETR hello.txt -> 150 522 [data TLS handshake: EOF ...]
    QUIT -> 221
"""
import argparse
import os
import sys
import tempfile

TRANSFER = {"RETR", "LIST", "NLST", "MLSD", "STOR", "APPE", "STOU"}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="server port (default 21, 990 with --implicit)")
    ap.add_argument("--implicit", action="store_true", help="implicit FTPS: TLS before the 220")
    ap.add_argument("--sni", metavar="NAME",
                    help="server name sent in the ClientHello (default: none, as for an IP address)")
    ap.add_argument("--keylog", metavar="FILE", help="write the TLS secrets here (NSS key log); "
                    "the file is truncated first")
    ap.add_argument("--tls-max", choices=["1.2", "1.3"], help="highest TLS version offered")
    ap.add_argument("--data-tls-max", choices=["1.2", "1.3"],
                    help="highest TLS version offered on data connections (default: as --tls-max)")
    ap.add_argument("--data-ciphers", metavar="LIST",
                    help="TLS 1.2 cipher list on data connections (default: as --ciphers)")
    ap.add_argument("--tls-min", choices=["1.2", "1.3"], help="lowest TLS version offered")
    ap.add_argument("--ciphers", metavar="LIST", help="OpenSSL cipher list for TLS 1.2 (set_ciphers)")
    ap.add_argument("--tls13-ciphersuites", metavar="LIST",
                    help="OpenSSL TLS 1.3 cipher suites, e.g. TLS_CHACHA20_POLY1305_SHA256")
    ap.add_argument("--no-etm", action="store_true",
                    help="do not offer encrypt_then_mac (CBC suites then MAC-then-encrypt)")
    ap.add_argument("--no-tickets", action="store_true", help="do not ask for session tickets (TLS 1.2)")
    ap.add_argument("--reuse-session", action="store_true",
                    help="data connections resume the control connection's TLS session "
                    "(ftplib does not by default)")
    ap.add_argument("--verify", action="store_true",
                    help="verify the server certificate against the system CAs (a self-signed "
                    "one then fails the handshake: the client sends an alert)")
    ap.add_argument("--timeout", type=float, default=10.0, help="socket timeout in seconds (default 10)")
    ap.add_argument("--echo", action="store_true", help="also print every reply line on stderr")
    ap.add_argument("steps", nargs="+", metavar="STEP")
    a = ap.parse_args()
    if a.port is None:
        a.port = 990 if a.implicit else 21
    return a


def set_tls13_suites(suites):
    """Python's ssl has no set_ciphersuites: give OpenSSL a config file that
    sets them for every SSL_CTX (must happen before ssl is imported)."""
    fd, path = tempfile.mkstemp(prefix="ftps-client-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write("openssl_conf = ftps_conf\n[ftps_conf]\nssl_conf = ftps_ssl\n"
                "[ftps_ssl]\nsystem_default = ftps_default\n"
                "[ftps_default]\nCiphersuites = %s\n" % suites)
    os.environ["OPENSSL_CONF"] = path
    return path


def main():
    a = parse_args()
    conf = set_tls13_suites(a.tls13_ciphersuites) if a.tls13_ciphersuites else None
    # only now: OpenSSL reads $OPENSSL_CONF when ssl is first loaded
    import ftplib
    import socket
    import ssl

    if conf:
        os.unlink(conf)

    versions = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    if a.keylog:
        open(a.keylog, "w").close()

    def make_context(tls_max, ciphers):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if a.verify:
            ctx.load_default_certs()
            ctx.check_hostname = bool(a.sni)
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls_max:
            ctx.maximum_version = versions[tls_max]
        if a.tls_min:
            ctx.minimum_version = versions[a.tls_min]
        if ciphers:
            ctx.set_ciphers(ciphers)
        if a.no_etm:
            ctx.options |= 1 << 19          # SSL_OP_NO_ENCRYPT_THEN_MAC (not exported by Python)
        if a.no_tickets:
            ctx.options |= ssl.OP_NO_TICKET
        if a.keylog:
            ctx.keylog_filename = a.keylog  # appends
        return ctx

    ctx = make_context(a.tls_max, a.ciphers)
    data_ctx = ctx
    if a.data_tls_max or a.data_ciphers:
        data_ctx = make_context(a.data_tls_max or a.tls_max, a.data_ciphers or a.ciphers)

    def describe(s):
        v, c = s.version(), s.cipher()[0]
        return "TLS %s %s%s" % (v, c, ", resumed" if s.session_reused else ", new session")

    class Client(ftplib.FTP_TLS):
        def getline(self):
            line = super().getline()
            if a.echo:
                print("<- " + line, file=sys.stderr)
            return line

        def __init__(self):
            self.entries = []       # [command, [codes], [notes]]
            super().__init__(context=ctx, timeout=a.timeout)

        def note(self, text):
            self.entries[-1][2].append(text)

        def putcmd(self, line):
            self.entries.append([line, [], []])
            super().putcmd(line)

        def getresp(self):
            try:
                resp = super().getresp()
            except ftplib.Error as e:
                self._code(str(e)[:3])
                raise
            self._code(resp[:3])
            return resp

        def _code(self, code):
            if not self.entries:
                self.entries.append(["(connect)", [], []])
            self.entries[-1][1].append(code)

        def connect_implicit(self):
            self.sock = socket.create_connection((a.host, a.port), self.timeout)
            self.af = self.sock.family
            self.entries.append(["(connect)", [], []])
            self.sock = ctx.wrap_socket(self.sock, server_hostname=a.sni)
            self.note("implicit " + describe(self.sock))
            self.file = self.sock.makefile("r", encoding=self.encoding)
            self.welcome = self.getresp()

        def secure(self):
            """the control socket after a 234 to AUTH"""
            self.sock = ctx.wrap_socket(self.sock, server_hostname=a.sni)
            self.file = self.sock.makefile("r", encoding=self.encoding)
            self.note(describe(self.sock))

        def clear(self):
            """the control socket after a 200 to CCC"""
            self.sock = self.sock.unwrap()
            self.file = self.sock.makefile("r", encoding=self.encoding)
            self.note("TLS closed, control channel cleartext")

        def ntransfercmd(self, cmd, rest=None):
            # ftplib.FTP_TLS.ntransfercmd, with optional session reuse and notes
            conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
            if self._prot_p:
                session = self.sock.session if a.reuse_session else None
                try:
                    conn = data_ctx.wrap_socket(conn, server_hostname=a.sni, session=session)
                except (ssl.SSLError, OSError) as e:
                    conn.close()
                    raise DataTLSError(e)
                self.note("data " + describe(conn))
            return conn, size

    class DataTLSError(Exception):
        pass

    ftp = Client()
    closed = False
    try:
        if a.implicit:
            ftp.connect_implicit()
        else:
            ftp.connect(a.host, a.port)
    except ssl.SSLError as e:
        ftp.entries = ftp.entries or [["(connect)", [], []]]
        ftp.note("TLS handshake failed: %s" % (e.reason or e))
        closed = True
    except (OSError, EOFError) as e:
        ftp.entries = ftp.entries or [["(connect)", [], []]]
        ftp.entries[-1][1].append("(%s)" % type(e).__name__)
        closed = True

    for step in a.steps:
        if closed:
            ftp.entries.append([step, ["(not sent: connection closed)"], []])
            continue
        words = step.split(" ", 1)
        verb = words[0].upper()
        arg = words[1] if len(words) > 1 else ""
        try:
            if verb in TRANSFER:
                ftp.set_pasv(True)
                nbytes = 0
                try:
                    if verb in ("STOR", "APPE", "STOU"):
                        conn, _ = ftp.ntransfercmd(step)
                        conn.sendall(b"uploaded over FTPS by record_ftps_client.py\n" * 8)
                        nbytes = 8 * 45
                    else:
                        conn, _ = ftp.ntransfercmd(step)
                        while True:
                            d = conn.recv(65536)
                            if not d:
                                break
                            nbytes += len(d)
                    if isinstance(conn, ssl.SSLSocket):
                        try:
                            conn.unwrap()
                        except (ssl.SSLError, OSError) as e:
                            ftp.note("data TLS shutdown: %s" % (getattr(e, "reason", None) or e))
                    conn.close()
                    ftp.note("data %d bytes" % nbytes)
                    ftp.voidresp()
                except DataTLSError as e:
                    err = e.args[0]
                    ftp.note("data TLS handshake failed: %s" % (getattr(err, "reason", None) or err))
                    ftp.getresp()
            else:
                ftp.sendcmd(step)
                code = ftp.entries[-1][1][-1]
                if verb == "AUTH" and code == "234":
                    try:
                        ftp.secure()
                    except ssl.SSLError as e:
                        ftp.note("TLS handshake failed: %s" % (e.reason or e))
                        closed = True
                elif verb == "PROT" and code.startswith("2"):
                    ftp._prot_p = arg.strip().upper() == "P"
                elif verb == "CCC" and code.startswith("2"):
                    ftp.clear()
                elif verb == "QUIT":
                    closed = True
        except ftplib.Error:
            pass
        except (EOFError, OSError) as e:
            if ftp.entries and ftp.entries[-1][0] in (step, "PASV", "EPSV", "TYPE I"):
                if isinstance(e, EOFError):
                    ftp.entries[-1][1].append("(closed)")
                else:
                    ftp.entries[-1][1].append("(%s)" % type(e).__name__)
                    ftp.note("control connection: %s" % (getattr(e, "reason", None) or e))
            closed = True
    try:
        ftp.sock.close()
    except (OSError, AttributeError):
        pass
    for cmd, codes, notes in ftp.entries:
        extra = " [%s]" % "; ".join(notes) if notes else ""
        print("%s -> %s%s" % (cmd, " ".join(codes) or "(no reply)", extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
