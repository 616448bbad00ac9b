#!/usr/bin/env python3
"""The two ends of samples/scripts/record_ftps_pyftpdlib.sh: a pyftpdlib
TLS_FTPHandler on 127.0.0.1:2121, and an ftplib FTP_TLS client that logs in
inside TLS, sends HELP, RNTO x (503), PWD and HELP, writes its key log and
prints `command -> code` lines (the ground truth)."""
import argparse
import ftplib
import ssl


def server(home, cert):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import TLS_FTPHandler
    from pyftpdlib.servers import FTPServer
    auth = DummyAuthorizer()
    auth.add_user("ftptest", "s3cret-pass", home, perm="elradfmw")
    handler = TLS_FTPHandler
    handler.certfile = cert
    handler.authorizer = auth
    handler.passive_ports = range(40100, 40110)
    FTPServer(("127.0.0.1", 2121), handler).serve_forever()


def client(version, keys, ciphers=None, no_etm=False):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = keys
    if version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        if no_etm:
            # SSL_OP_NO_ENCRYPT_THEN_MAC: the classic MAC-then-encrypt.
            ctx.options |= 0x80000
    f = ftplib.FTP_TLS(context=ctx)
    f.connect("127.0.0.1", 2121)
    print("AUTH TLS ->", f.auth()[:3])
    print("USER ftptest ->", f.sendcmd("USER ftptest")[:3])
    print("PASS **** ->", f.sendcmd("PASS s3cret-pass")[:3])
    for command in ["HELP", "RNTO x", "PWD", "HELP"]:
        try:
            code = f.sendcmd(command)[:3]
        except ftplib.Error as e:
            code = str(e)[:3]
        print(command, "->", code)
    print("QUIT ->", f.quit()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("home")
    s.add_argument("cert")
    c = sub.add_parser("client")
    c.add_argument("version", choices=["1.2", "1.3"])
    c.add_argument("keys", help="key log file to write")
    c.add_argument("--ciphers", help="TLS 1.2 cipher list (OpenSSL names)")
    c.add_argument("--no-etm", action="store_true", help="do not offer encrypt-then-MAC (RFC 7366)")
    a = ap.parse_args()
    if a.role == "server":
        server(a.home, a.cert)
    else:
        client(a.version, a.keys, a.ciphers, a.no_etm)


if __name__ == "__main__":
    main()
