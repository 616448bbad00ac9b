#!/usr/bin/env python3
"""Python ftplib driver for samples/transfers/ (started by record_transfers.sh).

    record_transfers_client.py [--host H] [--port P] [--user U] [--password P]
                               [--active-ports LO-HI] SCENARIO

Scenarios (login first, QUIT last):
  retr-pasv     passive RETR hello.txt (2048 bytes)
  active        active (PORT, or EPRT on IPv6) RETR hello.txt, then STOR up.bin (4096 bytes)
  ipv6          over ::1: EPSV RETR hello.txt, EPSV LIST, EPRT STOR up.bin
  retr-missing  passive RETR no-such-file.txt (550 expected)
  stor-denied   passive STOR ro/new.txt into the read-only directory
  abor          passive RETR big.bin; after ~64 KB the client sends ABOR
                (after Telnet IP + Synch, like the BSD ftp client), reads
                the replies, then drains the data connection
  rst           passive RETR big.bin; after ~64 KB the client closes the data
                socket with SO_LINGER 0, so the kernel sends RST
  port-refused  PORT to a client port where nothing listens, then RETR

The log on stdout has one line per command, "command -> reply codes", the
same format as record_client.py (checked by record_check.py and tests/cli.rs).
"""
import argparse
import ftplib
import socket
import struct
import sys
import time

import record_ftplib

BIG_READ = 64 * 1024
SCENARIOS = ["retr-pasv", "active", "ipv6", "retr-missing", "stor-denied", "abor", "rst", "port-refused"]


class LoggingFTP(record_ftplib.LoggingFTP):
    """record_ftplib's logging client, with a note (data bytes) per entry."""

    def new_entry(self, command):
        return [command, [], ""]

    def note_data(self, n):
        # the transfer command is the last entry that is a data command
        for e in reversed(self.entries):
            if e[0].split(" ")[0] in ("RETR", "STOR", "LIST", "NLST", "MLSD", "APPE", "STOU"):
                e[2] = " [data %d bytes]" % n
                return


def read_n(s, n):
    got = 0
    while got < n:
        d = s.recv(min(8192, n - got))
        if not d:
            break
        got += len(d)
    return got


def main():
    ap = record_ftplib.add_client_args(argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("scenario", choices=SCENARIOS, metavar="SCENARIO", help="one of: " + ", ".join(SCENARIOS))
    a = ap.parse_args()
    ftp = record_ftplib.logged_in(a, LoggingFTP)
    nbytes = [0]

    def sink(b):
        nbytes[0] += len(b)

    def retr(cmd):
        nbytes[0] = 0
        try:
            ftp.retrbinary(cmd, sink)
            ftp.note_data(nbytes[0])
        except ftplib.error_perm:
            pass

    def stor(cmd, size):
        import io
        try:
            ftp.storbinary(cmd, io.BytesIO(bytes(i % 251 for i in range(size))))
            ftp.note_data(size)
        except ftplib.error_perm:
            pass

    sc = a.scenario
    if sc == "retr-pasv":
        ftp.set_pasv(True)
        retr("RETR hello.txt")
    elif sc == "active":
        ftp.set_pasv(False)
        retr("RETR hello.txt")
        stor("STOR up.bin", 4096)
    elif sc == "ipv6":
        ftp.set_pasv(True)
        retr("RETR hello.txt")
        lines = []
        ftp.retrlines("LIST", lines.append)
        ftp.note_data(sum(len(x) + 2 for x in lines))
        ftp.set_pasv(False)
        stor("STOR up.bin", 4096)
    elif sc == "retr-missing":
        ftp.set_pasv(True)
        retr("RETR no-such-file.txt")
    elif sc == "stor-denied":
        ftp.set_pasv(True)
        stor("STOR ro/new.txt", 4096)
    elif sc in ("abor", "rst"):
        ftp.sendcmd("TYPE I")
        ftp.set_pasv(True)
        data = ftp.transfercmd("RETR big.bin")
        got = read_n(data, BIG_READ)
        if sc == "rst":
            data.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            data.close()
            ftp.note_data(got)
            try:
                ftp.getresp()
            except ftplib.Error:
                pass
        else:
            # like the BSD ftp client (RFC 959 4.1.3): Telnet IP and Synch
            # (IAC IP, IAC as urgent data, then DM) before ABOR; vsftpd's
            # async_abor_enable reacts to the SIGURG.  The replies are read
            # before the rest of the data connection.
            abor = ["ABOR", [], ""]
            retr_entry = ftp.entries[-1]
            ftp.sock.send(b"\xff\xf4\xff", socket.MSG_OOB)
            ftp.sock.sendall(b"\xf2ABOR\r\n")
            # a 4xx ends RETR, then ABOR gets its own reply; a lone 2xx
            # answers ABOR (the transfer had already ended)
            first = ftp.getline()[:3]
            ftp.sock.settimeout(3)
            try:
                second = ftp.getline()[:3]
            except (socket.timeout, EOFError):
                second = None
            ftp.sock.settimeout(10)
            if second is None:
                abor[1].append(first)
            else:
                retr_entry[1].append(first)
                abor[1].append(second)
            data.settimeout(3)
            try:
                while True:
                    d = data.recv(65536)
                    if not d:
                        break
                    got += len(d)
            except OSError:
                pass
            data.close()
            retr_entry[2] = " [data %d bytes]" % got
            ftp.entries.append(abor)
    elif sc == "port-refused":
        # a port in the active range that nothing listens on
        s = ftp.free_port()
        port = s.getsockname()[1]
        s.close()
        try:
            ftp.sendport("127.0.0.1", port)
        except ftplib.Error:
            pass      # pyftpdlib connects at once and answers PORT with 425
        try:
            ftp.sendcmd("RETR hello.txt")
        except ftplib.Error:
            pass
    else:
        raise SystemExit("unknown scenario %s" % sc)
    time.sleep(0.2)
    try:
        ftp.quit()
    except (EOFError, OSError, ftplib.Error):
        pass
    for cmd, codes, note in ftp.entries:
        print("%s -> %s%s" % (cmd, " ".join(codes) or "(none)", note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
