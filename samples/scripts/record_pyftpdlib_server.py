#!/usr/bin/env python3
"""Minimal pyftpdlib server for the sample captures (started by record_lib.sh).

Usage: record_pyftpdlib_server.py HOME [CERTFILE]
Listens on 127.0.0.1:21 ($FTP_HOST if set), user ftptest / s3cret-pass,
passive ports 40000-40100, HOME/ro is read-only.  With CERTFILE (and
pyOpenSSL) explicit FTPS (AUTH TLS) is offered but not required, like the
other servers.  $FTP_MASQ: the address PASV announces; $FTP_RATE: bytes per
second on data connections; $FTP_PORT: the port (default 21); $FTP_IMPLICIT=1
(with CERTFILE): implicit FTPS, the control connection is TLS from the first
byte and the 220 comes after the handshake.
"""
import argparse
import os

_ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
_ap.add_argument("home", help="the served folder (HOME/ro is read-only)")
_ap.add_argument("certfile", nargs="?", help="certificate and key (PEM): offer AUTH TLS")
_args = _ap.parse_args()

from pyftpdlib.authorizers import DummyAuthorizer  # noqa: E402  (after parsing: --help needs no pyftpdlib)
from pyftpdlib.servers import FTPServer  # noqa: E402

home = _args.home
cert = _args.certfile
host = os.environ.get("FTP_HOST", "127.0.0.1")

auth = DummyAuthorizer()
auth.add_user("ftptest", "s3cret-pass", home, perm="elradfmwMT")
auth.override_perm("ftptest", os.path.join(home, "ro"), perm="elr", recursive=True)

handler = None
if cert:
    try:
        from pyftpdlib.handlers import TLS_FTPHandler
        handler = TLS_FTPHandler
        handler.certfile = cert
        handler.tls_control_required = False
        handler.tls_data_required = False
        if os.environ.get("FTP_IMPLICIT") == "1":
            class ImplicitTLS_FTPHandler(TLS_FTPHandler):
                """Implicit FTPS: the handshake first, then the 220 banner."""

                def handle(self):
                    self.secure_connection(self.ssl_context)

                def handle_ssl_established(self):
                    TLS_FTPHandler.handle(self)

            handler = ImplicitTLS_FTPHandler
    except ImportError:
        handler = None
if handler is None:
    from pyftpdlib.handlers import FTPHandler
    handler = FTPHandler
handler.authorizer = auth
handler.passive_ports = range(40000, 40101)
if os.environ.get("FTP_MASQ"):
    # the address PASV announces instead of the real one (as behind NAT)
    handler.masquerade_address = os.environ["FTP_MASQ"]
if os.environ.get("FTP_RATE"):
    # bytes per second on data connections (like vsftpd's local_max_rate)
    from pyftpdlib.handlers import ThrottledDTPHandler
    ThrottledDTPHandler.read_limit = int(os.environ["FTP_RATE"])
    ThrottledDTPHandler.write_limit = int(os.environ["FTP_RATE"])
    handler.dtp_handler = ThrottledDTPHandler
server = FTPServer((host, int(os.environ.get("FTP_PORT", "21"))), handler)
print("pyftpdlib listening", flush=True)
server.serve_forever()
