//! The `--sessions` report's row: one per control session, with its columns.

use super::columns::report_row;

report_row! {
    /// The `--sessions` report's row: one per control session.
    pub struct SessionRow, SESSION_COLUMNS {
        capture: String => "as in the incident report",
        session: u64 => "as in the incident report",
        client_ip: String => "the client end",
        client_port: u16 => "its port",
        server_ip: String => "the server end",
        server_port: u16 => "its port",
        start_time: String => "time of the session's first packet (RFC 3339 UTC)",
        start_frame: u64 => "its frame",
        end_time: String => "time of its last packet",
        end_frame: u64 => "its frame",
        duration_s: super::Seconds => "seconds from first to last packet, six decimals (a JSON number in JSONL)",
        user: String => "the name from the last `USER`, empty if none",
        server_software: String => "as in the incident report",
        banner: String => "the greeting, every line",
        syst: String => "the reply to `SYST`, if the client asked",
        login: String => "`ok` after a 230 or 202 to USER, PASS or ACCT; `failed` after a 530 to one of them with no login before; `none` (no login seen)",
        commands: u64 => "commands the client sent",
        replies_214: u64 => "214 replies",
        replies_503: u64 => "503 replies",
        transfers_ok: u64 => "transfers with outcome `complete`",
        transfers_failed: u64 => "transfers with outcome `failed` or `aborted` (an `incomplete-capture` transfer counts in neither)",
        bytes_up: u64 => "payload bytes of uploads (STOR, STOU, APPE)",
        bytes_down: u64 => "payload bytes of downloads and listings",
        tls: bool => "`true` when the client sent AUTH",
        ended: String => "`quit`, `fin`, `rst`, `capture-end`, `idle-timeout`, `evicted`, `new connection on the same 4-tuple`; `(encrypted after AUTH)` is added when the rest was TLS",
        /// Verbs the client used that the server's own HELP list lacks.
        unlisted_commands: String => "verbs the client used that the server's own HELP list lacks",
        warnings: String => "what was wrong with this session's evidence, `key=count` joined by `;`: `gaps`, `reassembly-cap`, `garbage-lines`, `unpaired-replies`, `replies-lost-in-gap`, `pending-cap`, `code-mismatch`, `long-lines`, `reply-line-cap`, `cut-lines`, `telnet-sb-as-data`",
        encapsulation: String => "the tunnels the session came in, outermost first, joined by `/`: `vxlan(vni=N)`, `geneve(vni=N)`, `gre`, `gre(key=N)`, `gretap`, `gretap(key=N)`, `erspan2(session=N)`, `erspan3(session=N)`, `ipip` (IPv4 in IP), `ip6in` (IPv6 in IP), `mpls(label=N)` (the top label), `pppoe(session=N)`; empty for traffic captured directly",
        tls_version: String => "FTPS: the TLS version the ServerHello chose (`TLS 1.3`, `TLS 1.2`, …); empty for a cleartext session",
        tls_cipher: String => "the cipher suite chosen (IANA name)",
        tls_sni: String => "the server name the client asked for (SNI)",
        tls_result: String => "`decrypted` (with `--tls-keylog`), `no key`, `not decrypted (cipher)` (a suite ftpcap does not decrypt), `alert: NAME` (how the handshake or session ended, e.g. `alert: bad_certificate`), `handshake incomplete`",
        community_id: String => "the control connection's [Community ID](https://github.com/corelight/community-id-spec) (v1, seed 0, base64: `1:…`), as Zeek's, Suricata's and Arkime's logs write it, to join rows with them",
    }
}
