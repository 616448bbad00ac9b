#!/usr/bin/env python3
"""Write samples/transfers/README.md from the captures, their client logs and
what the built ftpcap reports for them; or print the Markdown table of
docs/real-servers.md.

    transfers_readme.py [FTPCAP [DIR]]           # writes DIR/README.md
    transfers_readme.py --table [FTPCAP [DIR]]   # prints the table on stdout

FTPCAP defaults to target/release/ftpcap, DIR to samples/transfers.

Nothing in the "ftpcap reports" column is typed by hand: it is the
`--transfers` report of FTPCAP on each capture.
"""
import csv
import io
import os
import shutil
import subprocess
import sys

SCENARIOS = [
    ("pasv-retr-ok", "Python ftplib: passive (PASV) RETR hello.txt (2048 bytes), the transfer succeeds"),
    ("active-retr-stor-ok", "Python ftplib: active (PORT) RETR hello.txt, then active STOR up.bin (4096 bytes); both succeed"),
    ("ipv6-epsv-eprt", "Python ftplib over ::1: EPSV RETR hello.txt, EPSV LIST, EPRT STOR up.bin"),
    ("retr-missing", "Python ftplib: passive RETR no-such-file.txt, the server answers 550 (the data connection is opened and unused)"),
    ("stor-denied", "Python ftplib: passive STOR ro/new.txt into the read-only directory (vsftpd 553, pyftpdlib 550 Not enough privileges)"),
    ("abor", "Python ftplib + hand-made abort: RETR big.bin (1 MiB, server limited to 256 KB/s); after 64 KB the client sends IAC IP, IAC DM (urgent) and ABOR, like the BSD ftp client; the server answers 426 to RETR and 226 to ABOR"),
    ("rst-mid-transfer", "Python ftplib: RETR big.bin; after 64 KB the client closes the data socket with SO_LINGER 0, so its kernel sends RST; the server answers 426 (bytes = what the server sent before the RST, more than the client read)"),
    ("port-refused", "Python ftplib: PORT to a client port where nothing listens; the server's SYN gets RST. vsftpd connects at RETR and answers it 425; pyftpdlib connects at PORT, answers PORT 425, then answers RETR with 150 and nothing more (QUIT is answered while RETR waits)"),
    ("pasv-refused", "raw client: PASV, then an iptables rule (`REJECT --reject-with tcp-reset` on the passive ports, in the recording namespace) answers the client's SYN with RST; RETR gets 425 after vsftpd's accept_timeout (5 s)"),
    ("pasv-unreachable", "raw client in a second network namespace: the server's PASV reply advertises an address nobody has (vsftpd `pasv_address=10.255.0.1`, pyftpdlib `masquerade_address=192.0.2.1`); the client's SYNs to it go unanswered (captured on the veth, Ethernet frames). vsftpd answers RETR 425 after accept_timeout; pyftpdlib answers 150 and never a final reply, the client gives up after 8 s and QUITs"),
]
SERVERS = ["vsftpd", "pyftpdlib"]


def transfers(ftpcap, path):
    out = subprocess.run([ftpcap, "--quiet", "--transfers", "/dev/stdout", "-o", "/dev/null", path],
                         check=True, capture_output=True).stdout.decode()
    return list(csv.DictReader(io.StringIO(out)))


def log_line(path):
    try:
        return " · ".join(ln.strip() for ln in open(path) if ln.strip())
    except OSError:
        return ""


def captures(d):
    for scen, what in SCENARIOS:
        for srv in SERVERS:
            name = "%s-%s.pcap" % (srv, scen)
            if os.path.exists(os.path.join(d, name)):
                yield scen, what, name


def table(ftpcap, d):
    cols = ["command", "argument", "mode", "data_connection", "bytes", "replies", "outcome", "cause"]
    lines = ["| capture | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for _, _, name in captures(d):
        for r in transfers(ftpcap, os.path.join(d, name)):
            cells = [r[c] if r[c] else "" for c in cols]
            lines.append("| `%s` | %s |" % (name, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def readme(ftpcap, d):
    out = ["# Data transfers that succeed and fail (real servers, real clients)", ""]
    out.append(
        "Recorded with `tcpdump -s 0` by `../scripts/record_transfers.sh` (as root) in a private network\n"
        "namespace (`ftx-rec`, its own loopback 127.0.0.1 / ::1, port 21), user `ftptest`, home with\n"
        "`hello.txt` (2048 bytes), `big.bin` (1 MiB) and a read-only `ro/`. Servers: vsftpd and pyftpdlib\n"
        "(versions in `VERSIONS.txt`); data connections limited to 256 KB/s (vsftpd `local_max_rate`,\n"
        "pyftpdlib `ThrottledDTPHandler`) so ABOR and RST land mid-transfer. Clients: Python ftplib\n"
        "(`../scripts/record_transfers_client.py`) and the raw-socket client (`../scripts/record_client.py`).\n"
        "The `pasv-unreachable` captures cross a veth pair to a second namespace (`ftx-peer`).")
    out.append("")
    out.append(
        "Each capture has a `.log`: the client's own `command -> reply code(s)` (`[data N bytes]` = bytes\n"
        "the client read or wrote). `record_check.py` checked every capture against its log (complete TCP\n"
        "flows: FIN or RST on each, no holes; the same commands and reply codes on the wire). The\n"
        "\"ftpcap\" line is the `--transfers` report of the ftpcap built from this tree\n"
        "(`../scripts/transfers_readme.py` writes this file); `tests/cli.rs`\n"
        "(`transfer_samples_have_the_known_causes`) pins command, outcome and cause for each.")
    out.append("")
    last = None
    for scen, what, name in captures(d):
        if scen != last:
            out += ["## %s" % scen, "", what, ""]
            last = scen
        base = os.path.join(d, name[:-5])
        out.append("- `%s`: client log `%s`" % (name, log_line(base + ".log")))
        for r in transfers(ftpcap, os.path.join(d, name)):
            out.append("  - ftpcap: %s %s, mode %s, data connection %s, %s bytes, replies `%s` → **%s**%s" % (
                r["command"], r["argument"] or "(no argument)", r["mode"], r["data_connection"],
                r["bytes"] or "no", r["replies"], r["outcome"],
                " / `%s`: %s" % (r["cause"], r["cause_detail"]) if r["cause"] else ""))
        out.append("")
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(out).rstrip() + "\n")


def main():
    import argparse
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", action="store_true",
                    help="print the Markdown table on stdout instead of writing DIR/README.md")
    ap.add_argument("ftpcap", metavar="FTPCAP", nargs="?",
                    default=os.path.join(root, "target", "release", "ftpcap"),
                    help="the ftpcap binary (default: target/release/ftpcap)")
    ap.add_argument("dir", metavar="DIR", nargs="?", default=os.path.join(root, "samples", "transfers"),
                    help="the folder of captures and logs (default: samples/transfers)")
    a = ap.parse_args()
    if shutil.which(a.ftpcap) is None:
        ap.error("no ftpcap binary at %s (cargo build --release)" % a.ftpcap)
    if a.table:
        sys.stdout.write(table(a.ftpcap, a.dir))
    else:
        readme(a.ftpcap, a.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
