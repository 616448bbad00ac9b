#!/usr/bin/env python3
"""Write samples/real/README.md or samples/servers/README.md from the .log files.

    record_readme.py real    [DIR]     # DIR defaults to samples/real
    record_readme.py servers [DIR]     # DIR defaults to samples/servers

Called at the end of record_real.sh / record_servers.sh so the READMEs always
list the reply codes of the captures actually on disk.
"""
import os
import re
import sys

SERVERS = ["vsftpd", "proftpd", "pure-ftpd", "pyftpdlib"]

REAL = [
    ("help", "login, HELP, HELP USER, SITE HELP, QUIT"),
    ("pass-before-user", "PASS before any USER, then a normal USER/PASS login, QUIT"),
    ("rnto-without-rnfr", "login, RNTO with no RNFR before it, QUIT"),
    ("prot-without-pbsz", "login, PROT P (no PBSZ, no AUTH), PBSZ 0 (no AUTH), QUIT"),
    ("pipelined", "login, then `PWD\\r\\nSYST\\r\\nHELP\\r\\nRNTO x\\r\\n` in ONE send(), QUIT"),
    ("ftplib", "Python ftplib: passive RETR hello.txt, active (PORT) LIST, RETR of a missing file, QUIT"),
    ("lftp", "lftp: `get hello.txt`, `ls`, `bye` (ftp:ssl-allow no; lftp's own FEAT/OPTS/SIZE/MDTM/PRET probing)"),
    ("curl", "curl: hello.txt then no-such-file.txt over one re-used connection (curl asks SIZE, gets 550 and never sends RETR; its final QUIT is not in `curl -v`, the log takes it from the capture)"),
    ("curl-auth-tls", "curl --ssl-reqd: AUTH SSL/TLS -> 234, after that the control channel is TLS (log = curl's decrypted view; the capture only matches it up to the 234)"),
    ("ipv6", "over ::1 with the raw client: login, EPSV + NLST, EPRT + LIST, QUIT"),
]

MISSTEPS = [
    ("pass-before-user", "PASS xyz before any USER, then USER/PASS, QUIT", "PASS xyz"),
    ("pass-twice", "USER, PASS, a second PASS after login, QUIT", "PASS s3cret-pass#2"),
    ("rnto-without-rnfr", "login, RNTO newname without RNFR, QUIT", "RNTO newname"),
    ("rnfr-other-rnto", "login, RNFR hello.txt, PWD, RNTO x (another command between RNFR and RNTO), QUIT", "PWD,RNTO x"),
    ("rest-then-noop", "login, TYPE I, PASV, REST 100, NOOP, RETR hello.txt (2048 bytes: 1948 bytes sent = REST survived the NOOP), QUIT", "RETR hello.txt"),
    ("transfer-without-port", "login, RETR hello.txt with no PASV/PORT first (client waits 3 s), QUIT", "RETR hello.txt"),
    ("port-after-epsv-all", "login, EPSV ALL, then PORT, EPRT, PASV, QUIT", "EPSV ALL,PORT,EPRT,PASV"),
    ("pbsz-without-auth", "login, PBSZ 0 without AUTH, QUIT", "PBSZ 0"),
    ("prot-without-pbsz", "login, PROT P without AUTH/PBSZ, QUIT", "PROT P"),
    ("host-after-login", "login, HOST localhost (RFC 7151: HOST must come before USER), QUIT", "HOST localhost"),
    ("commands-after-quit", "login, then `QUIT\\r\\nNOOP\\r\\n` in one send(): NOOP is never answered", "QUIT,NOOP"),
    ("pipelined", "login, `PWD\\r\\nSYST\\r\\nHELP\\r\\nRNTO x\\r\\n` in one send(), QUIT", "RNTO x"),
    ("help", "HELP before login, login, HELP, QUIT", "HELP#1,HELP#2"),
    ("help-cmd", "login, HELP RETR, QUIT", "HELP RETR"),
    ("site-help", "login, SITE HELP, QUIT", "SITE HELP"),
]


SERVER_NOTES = """## Notes (observed with the versions in VERSIONS.txt)

- REST survives an intervening NOOP on all four servers (the RETR sends 1948 of 2048 bytes).
- RNFR, PWD, RNTO: all four still rename (250). ProFTPD answers the PWD with `501 Bad sequence of
  commands` (the pending RNFR) but then performs the RNTO anyway; the others answer PWD normally.
- Second PASS after login: vsftpd `230 Already logged in.`, ProFTPD/pyftpdlib 503, Pure-FTPd 530.
  PASS before USER: 503 everywhere except Pure-FTPd (530).
- EPSV ALL: vsftpd (200) refuses PORT and PASV with `550 Permission denied.` but accepts EPRT (200);
  ProFTPD (200) refuses all three with 500; pyftpdlib (220!) refuses all three with 501; Pure-FTPd
  (220 "Active mode is disabled") refuses PORT/EPRT with 501 but still grants PASV (227).
- PBSZ/PROT without AUTH: 503 (vsftpd, Pure-FTPd, pyftpdlib) but ProFTPD says `500 ... not
  understood` although mod_tls is loaded (it only knows them once TLS is up).
- HOST after login: ProFTPD (which implements HOST) 503; the others do not know HOST: 500.
- HELP before login: vsftpd 530, the others 214. Pure-FTPd's HELP (with or without argument) is the
  SITE command list, the same text as SITE HELP.
- RETR without PASV/PORT: 425 from vsftpd, ProFTPD, Pure-FTPd; pyftpdlib sends `150 File status
  okay. About to open data connection.` and then nothing (waits for a data connection); QUIT -> 221.
- After `QUIT\\r\\nNOOP\\r\\n` in one segment all four reply 221 and close with FIN; NOOP never answered.
- Pipelined commands are answered in order by all four.
- TCP segmentation of replies differs: vsftpd and ProFTPD write each line of a multi-line reply as
  its own segment, pyftpdlib writes first line / body / last line separately, Pure-FTPd writes the
  whole reply at once (its 220 banner is a 5-line `220-` reply).
"""

REAL_NOTES = """## Notes

- pyftpdlib opens transfers with `125` (data connection already open), the others with `150`.
  pyftpdlib connects the active data connection as soon as PORT/EPRT is received
  (`200 Active data connection established.`), the others on LIST/RETR.
- lftp probes differently per server: FEAT first, then `OPTS UTF8 ON` / `OPTS MLST` (pyftpdlib 530
  to `OPTS UTF8 ON` before login, Pure-FTPd 504); with ProFTPD it also sends `CLNT`, `LANG` and
  `HOST 127.0.0.1` before USER (HOST -> 220); with Pure-FTPd it sends `PRET` before each PASV.
- curl tries `AUTH SSL` first: vsftpd/ProFTPD/pyftpdlib accept (234), Pure-FTPd says 500 and curl
  retries with `AUTH TLS` (234).
- vsftpd sends files as-is even in TYPE A; the others convert LF to CRLF in ASCII mode.
"""


def read_log(path):
    out = []
    for ln in open(path):
        ln = ln.rstrip("\n")
        if ln:
            cmd, _, rest = ln.partition(" -> ")
            out.append((cmd, rest))
    return out


def fmt(path):
    return "`" + " · ".join("%s -> %s" % (c, r) for c, r in read_log(path)) + "`"


def key_codes(path, spec):
    """Reply text for the commands named in spec ("A,B#2": 2nd occurrence of B)."""
    entries = read_log(path)
    res = []
    for want in spec.split(","):
        name, _, nth = want.partition("#")
        nth = int(nth or 1)
        seen = 0
        for cmd, rest in entries:
            if cmd == name or (cmd.split(" ")[0] == name and " " not in name):
                seen += 1
                if seen == nth:
                    rest = re.sub(r"\s*\[pipelined [0-9/]+\]", "", rest)
                    res.append(rest if len(spec.split(",")) == 1 else "%s %s" % (name.split(" ")[0], rest))
                    break
    return ", ".join(res)


def real(d):
    lines = [
        "# Real FTP sessions (loopback captures)",
        "",
        "Captured with `tcpdump -i lo -s 0` from real servers (vsftpd, ProFTPD, Pure-FTPd, pyftpdlib; exact",
        "versions in `../servers/VERSIONS.txt`) and real clients (a raw-socket client, Python ftplib, lftp, curl)",
        "on 127.0.0.1 / ::1, port 21, user `ftptest` / `s3cret-pass`, home with `hello.txt` (2048 bytes) and a",
        "read-only `ro/`. Servers offer explicit FTPS (AUTH TLS) but do not require it.",
        "",
        "Each `<server>-<scenario>.pcap` has a `<server>-<scenario>.log`: one line `command -> reply code(s)`",
        "per command, as seen by the client (ground truth of which reply answered which command). `150 226`",
        "= preliminary + final reply; `[data N bytes]` = bytes on the data connection; `[pipelined i/n]` = sent",
        "in one send() with the others of that group; `(closed)` = connection closed before any reply;",
        "`(no reply within Ns)` = nothing more within the client's timeout. `record_check.py` verified that",
        "every capture is complete and matches its log.",
        "",
        "Capture filter: `tcp and (port 21 or port 20 or portrange 40000-40100 or portrange 41000-41100)`",
        "(control port, passive range of the servers, active range of the clients). Re-make (as root):",
        "`samples/scripts/record_real.sh`.",
        "",
    ]
    for scen, desc in REAL:
        files = [s for s in SERVERS if os.path.exists(os.path.join(d, "%s-%s.log" % (s, scen)))]
        if not files:
            continue
        lines.append("## %s — %s" % (scen, desc))
        lines.append("")
        for s in files:
            base = "%s-%s" % (s, scen)
            lines.append("- `%s.pcap`: %s" % (base, fmt(os.path.join(d, base + ".log"))))
        lines.append("")
    lines.append(REAL_NOTES)
    return "\n".join(lines)


def servers(d):
    present = [s for s in SERVERS if os.path.isdir(os.path.join(d, s))]
    lines = [
        "# How real FTP servers answer protocol missteps",
        "",
        "One capture per server and misstep: `<server>/<misstep>.pcap`, recorded on loopback with the",
        "raw-socket client `../scripts/record_client.py` (one send() per command, waits for the full reply;",
        "pipelined groups in a single send()). `<server>/<misstep>.log` is the ground truth: one line",
        "`command -> reply code(s)` per command (see `../real/README.md` for the notation). Every capture",
        "was checked by `record_check.py` (complete TCP streams, log == wire). Login is `USER ftptest` /",
        "`PASS s3cret-pass`. Servers offer explicit FTPS (AUTH TLS), not required; ProFTPD runs with",
        "mod_tls, mod_site_misc, mod_copy loaded and `DelayEngine off`. Versions: `VERSIONS.txt`.",
        "Re-make (as root): `samples/scripts/record_servers.sh`.",
        "",
        "## Summary: reply to the misstep",
        "",
        "| misstep | " + " | ".join(present) + " |",
        "|---|" + "---|" * len(present),
    ]
    for name, _, spec in MISSTEPS:
        row = []
        for s in present:
            p = os.path.join(d, s, name + ".log")
            row.append(key_codes(p, spec) if os.path.exists(p) else "—")
        lines.append("| %s | %s |" % (name, " | ".join(row)))
    lines.append("")
    lines.append(SERVER_NOTES)
    for s in present:
        lines.append("## %s" % s)
        lines.append("")
        for name, desc, _ in MISSTEPS:
            p = os.path.join(d, s, name + ".log")
            if os.path.exists(p):
                lines.append("- `%s/%s.pcap` — %s: %s" % (s, name, desc, fmt(p)))
        lines.append("")
    return "\n".join(lines)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["real", "servers"], help="which kind of folder")
    ap.add_argument("folder", nargs="?", help="the folder (default: samples/real or samples/servers)")
    args = ap.parse_args()
    samples = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    mode, d = args.mode, args.folder or os.path.join(samples, args.mode)
    text = real(d) if mode == "real" else servers(d)
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(text.rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
