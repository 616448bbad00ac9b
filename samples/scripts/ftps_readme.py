#!/usr/bin/env python3
"""Write samples/ftps/README.md from the captures, their logs and tshark.

    ftps_readme.py [DIR]        (DIR defaults to samples/ftps)

Per capture: the TLS version, cipher suite, SNI, resumption, alerts and
KeyUpdates of every TLS connection as tshark reads them (decrypted with
NAME.keys where there is one), the 214 and 503 replies inside TLS, the data
connections' outcome from the client log, and whether the log and tshark's
decrypted lines agree (ftps_truth.py's check).  The descriptions of what
each capture was made to show are below in DESCRIPTIONS.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ftps_truth as truth  # noqa: E402

SERVERS = {"vsftpd": "vsftpd 3.0.3", "proftpd": "ProFTPD 1.3.8 mod_tls", "pure-ftpd": "Pure-FTPd 1.0.50",
           "pyftpdlib": "pyftpdlib 2.2.0 TLS_FTPHandler"}
CLIENTS = {"ftplib": "Python ftplib", "curl": "curl 7.88.1", "lftp": "lftp 4.9.2 (GnuTLS)",
           "openssl": "openssl s_client 3.0"}

STEPS = ("the scripted session (`record_ftps.sh` STEPS): `AUTH TLS`, `PASS xyz` before USER, login, "
         "`HELP`, `RNTO newname` without RNFR, `PROT P` before PBSZ, `PBSZ 0`, `PROT P`, passive "
         "`LIST` and `TYPE I` + passive `RETR hello.txt` over TLS data connections, `QUIT`")
CURL = ("curl `--ssl-reqd` with `-Q HELP -Q '*RNTO x'` (quote commands after the login; `*`: go on "
        "when they fail); curl sends `AUTH SSL` first")

DESCRIPTIONS = {
    "vsftpd-ftplib-tls13-aes256gcm": STEPS + "; TLS 1.3 with the default suite.",
    "vsftpd-ftplib-tls12-aes128gcm": STEPS + "; TLS 1.2 forced by the client (`maximum_version`), "
    "ECDHE-RSA-AES128-GCM-SHA256 (vsftpd with `ssl_ciphers=HIGH`).",
    "vsftpd-ftplib-tls12-aes128cbc-sha256": STEPS + "; TLS 1.2 AES-128-CBC with HMAC-SHA256 "
    "(ECDHE-RSA-AES128-SHA256); the client offers encrypt_then_mac (see the connection lines for "
    "what the server chose).",
    "vsftpd-ftplib-tls13-badcert": "The client verifies the certificate (system CAs) and refuses the "
    "self-signed one: it sends a fatal alert, vsftpd writes `500 OOPS: ...` in cleartext on the "
    "socket, the client resets. USER and QUIT are never sent.",
    "vsftpd-ftplib-tls13-reuse-required-522": STEPS + "; vsftpd with `require_ssl_reuse=YES` and "
    "ftplib, which does not resume the control session on the data connection: the data handshake "
    "completes, then `522 SSL connection failed: session reuse required` and vsftpd ends the session.",
    "vsftpd-ftplib-tls12-reuse-resumed": STEPS + "; `require_ssl_reuse=YES` again, but the client "
    "passes the control connection's session to the data connections (`--reuse-session`): TLS 1.2 "
    "session-ticket resumption (abbreviated handshake), the transfers work.",
    "vsftpd-curl-tls13-chacha20-reuse": CURL + ", plus `-Q '*PASS xyz'` after the login (vsftpd: "
    "230); RETR hello.txt; TLS 1.3 TLS_CHACHA20_POLY1305_SHA256 (`--tls13-ciphers`); "
    "`require_ssl_reuse=YES`: curl resumes the session (PSK) on the data connection.",
    "vsftpd-ftplib-data-handshake-fails": "Control connection TLS 1.3; on the data connection the "
    "client offers only TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, which vsftpd's default cipher list "
    "(ECDHE-RSA-AES256-GCM-SHA384) does not allow: the server's handshake_failure alert on the data "
    "connection, then vsftpd writes `500 OOPS: ... no shared cipher` in cleartext into the TLS "
    "control connection; the client's TLS layer sees a bad record (WRONG_VERSION_NUMBER) and sends "
    "a protocol_version alert.",
    "proftpd-ftplib-tls13-chacha20": STEPS + "; TLS 1.3 TLS_CHACHA20_POLY1305_SHA256 (set through "
    "an OpenSSL config, Python's ssl has no set_ciphersuites).",
    "proftpd-ftplib-tls12-chacha20": STEPS + "; TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305.",
    "proftpd-ftplib-tls13-ccc": "CCC (RFC 4217): `AUTH TLS`, login, `HELP` and `RNTO newname` inside "
    "TLS, `PBSZ 0`, `PROT P`, LIST over TLS, then `CCC` -> 200, close_notify both ways, and `HELP`, "
    "`RNTO x` (503), `TYPE I`, RETR (still PROT P: TLS data) and QUIT in cleartext. TLS 1.3 "
    "TLS_AES_128_GCM_SHA256.",
    "proftpd-curl-tls12-aes256gcm-ccc": CURL + ", with `--ftp-ssl-ccc --ftp-ssl-ccc-mode active`: "
    "CCC right after PROT P, so the HELP (214) and RNTO (503) are in cleartext after the TLS close; "
    "LIST over a resumed TLS 1.2 data connection.",
    "proftpd-ftplib-tls12-reuse-sessionid": "ProFTPD's default (data connections must resume the "
    "control session) and a client that resumes it without tickets (`--reuse-session "
    "--no-tickets`): TLS 1.2 session-ID resumption on the data connection, LIST works.",
    "pure-ftpd-ftplib-tls12-ccc": "CCC with Pure-FTPd (`200 Control connection unencrypted`): "
    "`AUTH TLS`, `PASS xyz` (530), login, `HELP`, `RNTO newname` (503), `PBSZ 0`, `PROT P`, LIST over "
    "TLS, `CCC`, then `HELP`, `RNTO x` (503), LIST (still PROT P) and QUIT in cleartext; TLS 1.2 "
    "ECDHE-RSA-AES128-GCM-SHA256.",
    "proftpd-lftp-tls13": "lftp with `ftp:ssl-force`: FEAT in clear, AUTH TLS, then lftp's `HOST "
    "127.0.0.1` inside TLS draws 503 from ProFTPD, `quote HELP`, `quote RNTO x`, `ls` (LIST over a "
    "resumed TLS 1.3 data connection). lftp uses GnuTLS, whose SSLKEYLOGFILE wrote the key log.",
    "proftpd-ftplib-tls12-badcert": "TLS 1.2 and the client refuses the certificate: the alert "
    "(unknown_ca) is in cleartext; the key log has no secret (the handshake never reached the key "
    "exchange).",
    "proftpd-ftplib-tls12-reuse-required-425": STEPS + "; ProFTPD's default (no "
    "`NoSessionReuseRequired`): the unresumed data connections get `425 Unable to build data "
    "connection: Operation not permitted` after their TLS handshake; the session goes on.",
    "pure-ftpd-ftplib-tls13-aes128gcm": STEPS + "; TLS 1.3 TLS_AES_128_GCM_SHA256. Pure-FTPd "
    "answers PASS before USER with 530, not 503.",
    "pure-ftpd-ftplib-tls12-aes256cbc-sha384": STEPS + "; TLS 1.2 AES-256-CBC with HMAC-SHA384 "
    "(ECDHE-RSA-AES256-SHA384); the client offers encrypt_then_mac (see the connection lines).",
    "pure-ftpd-curl-tls12-chacha20": CURL + " (Pure-FTPd refuses AUTH SSL with 500, curl then sends "
    "AUTH TLS); LIST; TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305.",
    "pure-ftpd-openssl-tls13-keyupdate": "openssl s_client `-starttls ftp` (AUTH TLS), commands in "
    "lower case, TLS 1.3 TLS_AES_128_GCM_SHA256, and two KeyUpdates from the client: after HELP one "
    "with update_requested (the server answers with its own KeyUpdate), after `rnto x` one without; "
    "the replies after them are under the next traffic secrets, which the key log does not hold "
    "(derived from *_TRAFFIC_SECRET_0).",
    "pure-ftpd-ftplib-tls13-nokeys": STEPS + "; recorded WITHOUT a key log: only the cleartext up to "
    "AUTH TLS and the TLS handshake's clear parts (ClientHello with SNI, ServerHello) are readable.",
    "pyftpdlib-ftplib-tls13-aes256gcm": STEPS + "; pyftpdlib answers PROT before PBSZ with 503, so "
    "there are three 503s inside TLS.",
    "pyftpdlib-ftplib-tls12-aes256cbc-sha1-mte": STEPS + "; TLS 1.2 AES256-SHA: RSA key exchange, "
    "AES-256-CBC, HMAC-SHA1, and MAC-then-encrypt (the client does not offer encrypt_then_mac).",
    "pyftpdlib-curl-tls13-aes128gcm": CURL + "; RETR hello.txt; TLS 1.3 TLS_AES_128_GCM_SHA256.",
    "pyftpdlib-curl-tls12-nokeys": CURL + "; LIST; TLS 1.2, recorded WITHOUT a key log (curl ran "
    "without SSLKEYLOGFILE): version, cipher suite, SNI and alerts are in clear in TLS 1.2.",
    "vsftpd-ftplib-implicit-tls13-aes256gcm": "Implicit FTPS (vsftpd `implicit_ssl=YES`, port "
    "990): TLS from the first byte, the 220 inside; then the scripted session without AUTH.",
    "vsftpd-curl-implicit-tls12-chacha20": "Implicit FTPS with curl `ftps://...:990/`, "
    "`-Q HELP -Q '*RNTO x'`, LIST; TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305.",
    "pyftpdlib-ftplib-implicit-tls12-aes256gcm": "Implicit FTPS on port 990 with pyftpdlib "
    "(record_pyftpdlib_server.py, FTP_IMPLICIT=1: the handshake before the 220); the scripted "
    "session including `AUTH TLS`, which inside TLS draws `503 Already using TLS.`; TLS 1.2 "
    "ECDHE-RSA-AES256-GCM-SHA384.",
}


OBSERVATIONS = """## Observations (with the versions in VERSIONS.txt)

- HelloRetryRequest: vsftpd and Pure-FTPd answer a ClientHello whose key share is x25519 (Python,
  curl, s_client) with a HelloRetryRequest for secp256r1, on every TLS 1.3 connection, data
  connections too; ProFTPD and pyftpdlib take x25519 (and lftp's GnuTLS needs none either).
- vsftpd sends a CertificateRequest (the client answers with an empty Certificate).
- Debian's vsftpd allows one TLS 1.2 suite by default (`ssl_ciphers=ECDHE-RSA-AES256-GCM-SHA384`);
  the TLS 1.2 vsftpd captures other than that run with `ssl_ciphers=HIGH`.
- After a failed handshake vsftpd writes `500 OOPS: <OpenSSL error>` in cleartext, inside what
  is, for the client, a TLS connection (`vsftpd-ftplib-tls13-badcert`,
  `vsftpd-ftplib-data-handshake-fails`).
- `require_ssl_reuse=YES` (vsftpd): 522 and the end of the session (vsftpd closes the control
  connection); ProFTPD's default reuse check: `425 Unable to build data connection: Operation not
  permitted` after the data connection's handshake, and the session goes on. Both only after the
  data handshake has completed.
- CCC: ProFTPD (`200 Clearing control channel protection`; its HELP still lists `CCC*` as
  unimplemented) and Pure-FTPd (`200 Control connection unencrypted`) do it; vsftpd
  (`500 Unknown command.`) and pyftpdlib (`500 Command "CCC" not understood.`) do not. PROT P
  stays in force after CCC: the later data connections are TLS.
- curl sends `AUTH SSL` first (accepted with 234 by vsftpd, ProFTPD, pyftpdlib; Pure-FTPd says
  500 and curl then sends `AUTH TLS`). curl and lftp resume the control session on their data
  connections; Python's ftplib does not unless told (`--reuse-session`).
- PROT before PBSZ inside TLS: 503 from pyftpdlib only; vsftpd, ProFTPD and Pure-FTPd say 200.
  PASS before USER: 503, except Pure-FTPd (530). AUTH TLS inside implicit TLS: pyftpdlib 503.
- lftp (GnuTLS) sends the IP address `127.0.0.1` as SNI; the other clients here send the
  `ftps.ftpcap.test` they were given.
- After the 221 openssl s_client sends a `decode_error` alert when Pure-FTPd closes without
  close_notify. Which side sends close_notify at the end differs by server and client (see the
  connection lines); several control connections end with none at all.
- pyftpdlib answers a transfer with 125 or 150 depending on whether the data connection was
  already open (a race the client does not control): re-recording can change it.
- Alerts inside TLS 1.3 appear under their names only when decrypted (the record type is
  application_data); the `unknown_ca` alerts of the `*-badcert` captures are in cleartext (sent
  before the client switched to its handshake keys), so the key-less view names them too.

## Not recorded

- CCC on vsftpd and pyftpdlib: they do not implement it (500).
- A TLS 1.3 KeyUpdate from Python or curl: neither can send one; openssl s_client does.
- TLS 1.2 renegotiation, TLS 1.3 0-RTT, active-mode (PORT) FTPS data connections: not asked for.

""".split("\n")


def short_version(showname):
    m = re.search(r"(TLS \d\.\d)", showname or "")
    return m.group(1) if m else "?"


def name_of(showname):
    return re.sub(r"^[^:]*: ", "", showname or "").strip()


def connections(base):
    """{tcp stream: info} for every TLS connection tshark sees."""
    conns = {}
    packets = truth.pdml(base, data_tls=True, display_filter="tls")
    for pkt in packets:
        tcp = pkt.find("proto[@name='tcp']")
        stream = int(tcp.find("field[@name='tcp.stream']").get("show"))
        sport = int(tcp.find("field[@name='tcp.srcport']").get("show"))
        dport = int(tcp.find("field[@name='tcp.dstport']").get("show"))
        c = conns.setdefault(stream, {
            "control": dport in (21, 990) or sport in (21, 990), "version": None, "cipher": None,
            "sni": None, "hrr": False, "resumed": False, "cert": False, "alerts": [], "keyupdates": 0,
            "ext": set(), "first": truth.frame_number(pkt)})
        from_client = dport in (21, 990) or 40000 <= dport <= 40100   # to the control or a passive port
        for hs in pkt.iter("field"):
            if hs.get("name") == "tls.alert_message.desc":
                c["alerts"].append("%s %s" % ("client" if from_client else "server", name_of(hs.get("showname"))))
            if hs.get("name") != "tls.handshake":
                continue
            t = hs.find("field[@name='tls.handshake.type']")
            if t is None:
                continue
            htype = int(t.get("show"))
            if htype == 1:
                sni = hs.find(".//field[@name='tls.handshake.extensions_server_name']")
                if sni is not None:
                    c["sni"] = sni.get("show")
                for ext in hs.iter("field"):
                    t = ext.find("field[@name='tls.handshake.extension.type']")
                    ln = ext.find("field[@name='tls.handshake.extension.len']")
                    if t is not None and ln is not None and t.get("show") == "35" and int(ln.get("show")) > 0:
                        c["ticket_offered"] = True
            elif htype == 2:
                rnd = hs.find(".//field[@name='tls.handshake.random']")
                if rnd is not None and rnd.get("show", "").replace(":", "").startswith("cf21ad74e59a6111"):
                    c["hrr"] = True
                    continue
                sv = hs.find(".//field[@name='tls.handshake.extensions.supported_version']")
                v = hs.find("field[@name='tls.handshake.version']")
                c["version"] = short_version((sv if sv is not None else v).get("showname"))
                cs = hs.find("field[@name='tls.handshake.ciphersuite']")
                c["cipher"] = re.sub(r" \(0x[0-9a-f]+\)$", "", name_of(cs.get("showname")))
                for e in hs.iter("field"):
                    if e.get("name") == "tls.handshake.extension.type":
                        c["ext"].add(int(e.get("show")))
                if 41 in c["ext"]:
                    c["resumed"] = True        # TLS 1.3 pre_shared_key accepted
            elif htype == 11 and not from_client:
                c["cert"] = True
            elif htype == 24:
                c["keyupdates"] += 1
    for c in conns.values():
        if c["version"] == "TLS 1.2" and not c["cert"]:
            c["resumed"] = True                # abbreviated handshake: no Certificate
    return [conns[k] for k in sorted(conns)]


def count_in_tls(base, entries, has_keys):
    """(#214, #503) replies inside TLS: from tshark's decrypted lines, or
    from the log when there is no key (then they are not visible)."""
    if has_keys:
        _, _, lines = truth.wire(base)
        reps = truth.replies(lines)
        return (sum(1 for code, tls, _ in reps if tls and code == "214"),
                sum(1 for code, tls, _ in reps if tls and code == "503")), "tshark"
    # no key: everything after the AUTH's 234 is inside TLS (as logged)
    inside, n214, n503 = False, 0, 0
    for cmd, codes, _ in entries:
        if inside:
            n214 += codes.count("214")
            n503 += codes.count("503")
        if cmd.upper().startswith("AUTH") and "234" in codes:
            inside = True
    return (n214, n503), "log"


def data_outcome(base):
    out = []
    for ln in open(base + ".log"):
        cmd, _, rest = ln.rstrip("\n").partition(" -> ")
        verb = cmd.split(" ")[0].upper()
        if verb in ("LIST", "NLST", "MLSD", "RETR", "STOR") and "not sent" in rest:
            out.append("%s not sent" % verb)
        elif verb in ("LIST", "NLST", "MLSD", "RETR", "STOR"):
            codes = " ".join(re.findall(r"\b\d{3}\b|\((?:closed|SSLError)\)", re.sub(r"\[.*?\]", "", rest)))
            note = ""
            m = re.search(r"data TLS handshake failed: (\w+)", rest)
            if m:
                note = " (data TLS handshake failed: %s)" % m.group(1)
            else:
                m = re.search(r"data (\d+) bytes", rest)
                if m:
                    note = " (%s bytes)" % m.group(1)
            out.append("%s %s%s" % (verb, codes, note))
    return "; ".join(out) or "none"


def describe_conn(c):
    bits = [c["version"] or "no ServerHello", c["cipher"] or ""]
    if c["hrr"]:
        bits.append("HelloRetryRequest")
    if c["version"]:
        if not c["resumed"]:
            bits.append("full handshake")
        elif c["version"] == "TLS 1.3":
            bits.append("resumed (PSK)")
        else:
            bits.append("resumed (%s)" % ("session ticket" if c.get("ticket_offered") else "session ID"))
    if c["version"] == "TLS 1.2" and c["cipher"] and "CBC" in c["cipher"]:
        bits.append("encrypt_then_mac" if 22 in c["ext"] else "MAC-then-encrypt")
    if c["keyupdates"]:
        bits.append("%d KeyUpdate messages" % c["keyupdates"])
    if c["sni"]:
        bits.append("SNI " + c["sni"])
    if c["alerts"]:
        bits.append("alerts: " + ", ".join(c["alerts"]))
    return ", ".join(b for b in bits if b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ftps"))
    a = ap.parse_args()
    d = os.path.normpath(a.dir)
    names = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".pcap"))
    rows, sections, differences = [], [], []
    for name in names:
        base = os.path.join(d, name)
        server = next(srv for srv in sorted(SERVERS, key=len, reverse=True) if name.startswith(srv + "-"))
        client = name[len(server) + 1:].split("-")[0]
        entries = truth.read_log(base + ".log")
        has_keys = truth.keys_of(base) is not None
        conns = connections(base)
        control = [c for c in conns if c["control"]]
        mode = "implicit (990)" if truth.implicit(base + ".pcap") else \
            "explicit (%s)" % next((c for c, codes, _ in entries if c.upper().startswith("AUTH") and "234" in codes), "AUTH ?")
        (n214, n503), src = count_in_tls(base, entries, has_keys)
        ctl = control[0] if control else {}
        diffs, notes = truth.compare(base)
        agree = "agree" if not diffs else "differ (below)"
        if diffs:
            differences.append((name, diffs))
        cipher = ctl.get("cipher") or "-"
        alerts = [x for x in ctl.get("alerts", []) if "Close Notify" not in x]
        rows.append("| `%s` | %s | %s | %s | %s | %s | %s%s | %s%s | %s | %s%s |" % (
            name, SERVERS[server], CLIENTS[client], mode, ctl.get("version") or "-", cipher,
            n214, "" if src == "tshark" else " (log)", n503, "" if src == "tshark" else " (log)",
            data_outcome(base), agree if has_keys else agree + ", no key",
            "" if not alerts else "; alert: " + ", ".join(alerts)))
        files = ["`%s.pcap`" % name, "`%s.log`" % name, "`%s.truth.tsv`" % name]
        if has_keys:
            files.insert(1, "`%s.keys`" % name)
        sec = ["### %s" % name, "", DESCRIPTIONS.get(name, "(no description)"), "",
               "Files: %s (%d bytes of capture)." % (", ".join(files), os.path.getsize(base + ".pcap")), ""]
        for i, c in enumerate(conns):
            sec.append("- %s connection %d: %s" % ("control" if c["control"] else "data", i + 1, describe_conn(c)))
        sec.append("- log vs tshark: %s%s" % ("agree" if not diffs else "DIFFER: " + "; ".join(diffs),
                                              "" if not notes else " (" + "; ".join(notes) + ")"))
        sec += ["", "```", open(base + ".log").read().rstrip("\n"), "```", ""]
        sections.append("\n".join(sec))

    total = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    out = [
        "# FTPS samples (FTP over TLS, with key logs)",
        "",
        "Real FTPS sessions recorded by `../scripts/record_ftps.sh` (as root; in a private network "
        "namespace, on its loopback): servers vsftpd 3.0.3, ProFTPD 1.3.8 (mod_tls), Pure-FTPd 1.0.50 "
        "(`-Y 1`) and pyftpdlib 2.2.0 (TLS_FTPHandler), clients Python 3.11 ftplib "
        "(`../scripts/record_ftps_client.py`, OpenSSL 3.0), curl 7.88.1 (OpenSSL), lftp 4.9.2 (GnuTLS) "
        "and openssl s_client; explicit (AUTH TLS / AUTH SSL) and implicit (port 990) FTPS, TLS 1.2 and "
        "1.3, AES-GCM, ChaCha20-Poly1305 and AES-CBC, with HELP (214) and sequence errors (503) inside "
        "the encrypted channel. Versions: `VERSIONS.txt`. The certificate is a fresh self-signed "
        "RSA-2048 one (CN=localhost) per run; the clients send the SNI `ftps.ftpcap.test`.",
        "",
        "For each capture `NAME`:",
        "",
        "- `NAME.pcap`: the control connection and the passive data connections (tcpdump, Ethernet "
        "link type, loopback).",
        "- `NAME.keys`: the client's TLS key log in NSS format (Python's `keylog_filename`, curl's and "
        "lftp's `SSLKEYLOGFILE`, s_client's `-keylogfile`): `CLIENT_RANDOM` lines for TLS 1.2, "
        "`CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`, "
        "`CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0` (and `EXPORTER_SECRET`) for TLS 1.3, for "
        "every connection, data connections too. Throwaway keys of local test sessions. Two captures "
        "have none on purpose (`*-nokeys`).",
        "- `NAME.log`: the ground truth from the client: one line `command -> reply code(s)` per "
        "command as the client saw it, with notes in brackets (the TLS version and suite the client "
        "negotiated, data bytes, handshake failures); `(not sent: ...)` for commands the client never "
        "sent; `#` lines are comments (s_client's KeyUpdates). curl's log is its `-v` output "
        "(`record_debuglog.py`), and its final QUIT, which `-v` does not show, is added from the "
        "decrypted capture and marked so; lftp's replies to `quote` come from its standard output, "
        "marked so.",
        "- `NAME.truth.tsv`: tshark's view, decrypted with `NAME.keys` (tshark 4.0.17):",
        "",
        "  ```",
        "  tshark -r NAME.pcap -o tls.keylog_file:NAME.keys -Y ftp -T fields -E header=y \\",
        "      -e frame.number -e ftp.request.command -e ftp.request.arg -e ftp.response.code",
        "  ```",
        "",
        "  For implicit FTPS add `-o 'uat:ssl_keys:\"127.0.0.1\",\"990\",\"ftp\",\"ANY-RSA-KEY.pem\",\"\"'` "
        "(tshark 4.0 has no FTP-over-TLS port; this binds port 990 to ftp inside TLS, the RSA key is "
        "any throwaway one and decrypts nothing). tshark follows `AUTH TLS` into TLS but not `AUTH "
        "SSL` (curl's first choice): for those captures the rows after the 234 come from a second "
        "pass with `-d tcp.port==21,tls` and the same ssl_keys entry for port 21 (and, after a CCC, "
        "from the first pass again), merged by frame number. `../scripts/ftps_truth.py NAME` re-makes "
        "the file. A row per line-carrying TLS record: continuation lines of a multi-line reply have "
        "no code, and the closing line has the code again when it came in a record of its own, so a "
        "multi-line 214 can be two 214 rows.",
        "",
        "`ftps_truth.py` also checks that the log and tshark agree: the commands, and the reply codes "
        "with the decrypted lines grouped into replies (NNN- ... NNN). Without a key, only the "
        "cleartext part is compared. The passive data connections are decrypted with "
        "`--disable-protocol ftp-data -d tcp.port==40000-40100,tls` (for the TLS facts below).",
        "",
        "## Captures",
        "",
        "TLS and cipher suite: the control connection's, from tshark. 214 / 503: replies inside TLS "
        "(tshark, decrypted; `(log)`: from the client log, as tshark cannot see them without a key). "
        "Data: the transfer commands' replies from the client log.",
        "",
        "| capture | server | client | FTPS | TLS | cipher suite | 214 in TLS | 503 in TLS | data connections | log vs tshark |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ] + rows + [
        "",
        "Total size of this folder: %d KB." % (total // 1024),
        "",
    ]
    if differences:
        out += ["## Where the log and tshark differ", ""]
        for name, diffs in differences:
            out.append("- `%s`: %s" % (name, "; ".join(diffs)))
        out += ["",
                "Each is a line the server sent that the client never read: after a failed TLS "
                "handshake vsftpd writes `500 OOPS: <OpenSSL error>` straight onto the socket, in "
                "cleartext (tshark reads it as an FTP reply); the client had given up on the "
                "connection (failed certificate check: it resets) or its TLS layer fails on the "
                "cleartext bytes (WRONG_VERSION_NUMBER).", ""]
    out += OBSERVATIONS + ["## Details", ""] + sections
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
