//! How a transfer ended and why: the outcome classifier, from the control
//! channel's replies and what the capture shows of the data connection.

use super::tracker::{DataConn, Transfer};
use crate::ftp::dataaddr::is_private;
use crate::tls::{alert_name, Handshake};

/// True when the client opened the data connection.
fn client_initiated(t: &Transfer, c: &DataConn) -> bool {
    t.announcement.map(|a| a.mode.client_connects()).unwrap_or(c.listener.ip() == t.server_ip)
}

/// Payload bytes of the transfer's direction: from the server for downloads
/// and listings, from the client for uploads. For a decrypted TLS data
/// connection the plaintext, otherwise what TCP carried (TLS records, or
/// cleartext).
pub(crate) fn transferred_bytes(t: &Transfer, c: &DataConn) -> u64 {
    let from_initiator = client_initiated(t, c) == t.uploads();
    if let Some(tls) = c.tls.as_deref().filter(|tls| tls.facts().decrypted) {
        let (initiator, listener) = tls.plaintext_by_tcp_side();
        return if from_initiator { initiator } else { listener };
    }
    if from_initiator {
        c.bytes_from_initiator()
    } else {
        c.bytes_from_listener()
    }
}

/// What `bytes` counts: `plaintext` (a decrypted TLS data connection),
/// `tls-records` (TLS not decrypted), `cleartext`.
pub(crate) fn bytes_kind(c: &DataConn) -> &'static str {
    match c.tls.as_deref() {
        Some(tls) if tls.facts().decrypted => "plaintext",
        Some(_) => "tls-records",
        None => "cleartext",
    }
}

/// The data connection's TLS handshake visibly failed: an alert before it
/// finished, or the connection closed (FIN or RST) in the middle of it.
fn tls_handshake_failure(c: &DataConn) -> Option<String> {
    let facts = c.tls.as_deref()?.facts();
    match facts.handshake {
        Handshake::Alert { code, by_client } => Some(format!(
            "The data connection's TLS handshake failed: the {} sent the alert {} ({code}).",
            if by_client { "client" } else { "server" },
            alert_name(code)
        )),
        Handshake::Started if c.rst_by_initiator || c.rst_by_listener || c.fin_by_initiator || c.fin_by_listener => {
            let how = if c.rst_by_initiator || c.rst_by_listener { "was reset" } else { "was closed" };
            Some(format!("The data connection {how} before its TLS handshake finished."))
        }
        _ => None,
    }
}

/// A data connection whose TLS handshake finished as a new session, not a
/// resumption, and carried no data (when decrypted): what a server that
/// requires the control connection's session to be reused refuses.
fn unresumed_tls(c: Option<&DataConn>) -> bool {
    let Some(facts) = c.and_then(|c| c.tls.as_deref()).map(|t| t.facts()) else { return false };
    facts.handshake == Handshake::Done && !facts.resumed && !(facts.decrypted && facts.plaintext.iter().any(|&n| n > 0))
}

/// Why a data connection never came up, when the capture shows it:
/// refused, a passive address nobody answers at, or no attempt at all.
fn data_setup_failure(t: &Transfer, conn: Option<&DataConn>, refused: bool) -> Option<(&'static str, String)> {
    if refused {
        return Some(("data-connection-refused", "The data connection was refused (RST in answer to its SYN).".into()));
    }
    let never_up = conn.is_none_or(DataConn::unanswered);
    if let Some(a) = t.announcement.filter(|a| a.mode.client_connects() && a.addr.ip() != t.server_ip && never_up) {
        return Some((
            "pasv-private-address",
            format!(
                "PASV advertised {}{}, not the server's address {}, and {} (NAT or a masquerade address).",
                if is_private(&a.addr.ip()) { "the private address " } else { "" },
                a.addr.ip(),
                t.server_ip,
                if conn.is_some() { "the client's SYNs to it got no answer" } else { "no data connection followed" }
            ),
        ));
    }
    if conn.is_none() {
        let detail = match (t.announcement, t.setup_refused) {
            (None, Some((verb, code))) => {
                format!("{verb} was answered {code}, so there was no data connection to use.")
            }
            (None, None) => {
                "No data connection was set up before the command (no PORT, PASV, EPRT or EPSV accepted).".into()
            }
            _ => "No data connection was attempted (firewall or wrong address).".into(),
        };
        return Some(("no-data-connection", detail));
    }
    None
}

/// Outcome and cause of one transfer: the heart of the forensics.
pub fn classify(t: &Transfer, conn: Option<&DataConn>) -> (&'static str, &'static str, String) {
    let final_code = t.end.and(t.replies.last().copied());
    let text = String::from_utf8_lossy(&t.final_text).to_ascii_lowercase();
    let a = t.announcement;
    let bytes = conn.map(|c| transferred_bytes(t, c));
    let refused = conn.is_some_and(|c| {
        c.rst_by_listener && !c.syn_ack && c.bytes_from_listener() == 0 && c.bytes_from_initiator() == 0
    });
    let reset = conn.is_some_and(|c| c.rst_by_listener || c.rst_by_initiator);
    let tls_failure = conn.and_then(tls_handshake_failure);
    if let (Some(detail), false) = (&tls_failure, t.aborted) {
        // Whatever the server said after, no data crossed.
        let after = match final_code {
            Some(code) => format!(" The server answered {code}."),
            None => String::new(),
        };
        return ("failed", "data-connection-tls-failed", format!("{detail}{after}"));
    }
    let Some(code) = final_code else {
        if !t.passed_over {
            return (
                "incomplete-capture",
                "no-final-reply",
                "The capture ends before the server's final reply.".into(),
            );
        }
        if t.reply_gap && !t.aborted {
            return (
                "incomplete-capture",
                "no-final-reply",
                "The server's final reply is not in the capture: server bytes are missing (gap) after the transfer began."
                    .into(),
            );
        }
        // The server answered later commands but never this one.
        if t.aborted {
            return (
                "aborted",
                "aborted-by-client",
                "The client sent ABOR; the server sent no final reply to the transfer.".into(),
            );
        }
        if let Some((cause, detail)) = data_setup_failure(t, conn, refused) {
            return ("failed", cause, format!("{detail} The server never sent a final reply."));
        }
        if reset {
            return (
                "failed",
                "reset-mid-transfer",
                "The data connection was reset (RST); the server never sent a final reply.".into(),
            );
        }
        return (
            "failed",
            "no-final-reply",
            "The server never sent a final reply, though it answered later commands.".into(),
        );
    };
    match code {
        200..=299 => {
            if conn.is_none() {
                if a.is_none() {
                    return (
                        "incomplete-capture",
                        "no-data-setup-seen",
                        "The server reports success, but no data connection was announced on the captured control channel."
                            .into(),
                    );
                }
                return (
                    "incomplete-capture",
                    "data-connection-not-captured",
                    "The server reports success, but the data connection is not in the capture (another sensor or a filter)."
                        .into(),
                );
            }
            if let (Some(size), Some(b)) = (t.announced_size, bytes) {
                if b < size && !t.uploads() {
                    return (
                        "incomplete-capture",
                        "short-capture",
                        format!("The server reports success, but only {b} of {size} bytes are in the capture."),
                    );
                }
            }
            ("complete", "", String::new())
        }
        _ if t.aborted => {
            ("aborted", "aborted-by-client", format!("The client sent ABOR; the transfer ended with {code}."))
        }
        425 | 522 if unresumed_tls(conn) => (
            "failed",
            "tls-session-reuse-required",
            format!(
                "The data connection's TLS handshake made a new session instead of resuming the control connection's, and the server refused it ({code})."
            ),
        ),
        522 if text.contains("reuse") => (
            "failed",
            "tls-session-reuse-required",
            "The server requires the data connection to resume the control connection's TLS session, and it did not (522)."
                .into(),
        ),
        522 | 425 if ["ssl", "tls"].iter().any(|n| text.contains(n)) => {
            ("failed", "data-connection-tls-failed", format!("The data connection's TLS handshake failed ({code})."))
        }
        425 => {
            if let Some((cause, detail)) = data_setup_failure(t, conn, refused) {
                return ("failed", cause, detail);
            }
            ("failed", "data-connection-failed", format!("The server could not open the data connection ({code})."))
        }
        426 if reset => ("failed", "reset-mid-transfer", "The data connection was reset (RST) mid-transfer.".into()),
        426 => ("failed", "short-transfer", "The data connection closed before the transfer completed.".into()),
        450 | 550 | 553 if ["permission", "denied", "not allowed", "privilege"].iter().any(|n| text.contains(n)) => {
            ("failed", "permission-denied", format!("The server refused access ({code})."))
        }
        450 | 550
            if ["no such", "not found", "can't open", "failed to open", "does not exist"]
                .iter()
                .any(|n| text.contains(n)) =>
        {
            ("failed", "file-not-found", format!("The file does not exist ({code})."))
        }
        553 => ("failed", "permission-denied", "The file name is not allowed (553).".into()),
        452 | 552 => ("failed", "disk-full", format!("The server is out of storage ({code}).")),
        530 | 532 => ("failed", "not-logged-in", format!("The transfer needs a login ({code}).")),
        503 => ("failed", "bad-sequence", "The server refused the command as out of sequence (503).".into()),
        500..=502 | 504 => ("failed", "command-rejected", format!("The server rejected the command ({code}).")),
        550 => ("failed", "file-unavailable", "The file is unavailable (550).".into()),
        _ => ("failed", "server-error", format!("The server answered {code}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tracker::{Announcement, DataMode, SeqCounter};
    use crate::flow::Origin;
    use std::net::SocketAddr;

    fn origin(frame: u64) -> Origin {
        Origin { frame, ..Default::default() }
    }

    fn passive_retr(pasv: &str, server: &str, replies: &[u16], final_text: &[u8]) -> Transfer {
        let addr: SocketAddr = pasv.parse().unwrap();
        Transfer {
            session: 1,
            user: "u".into(),
            verb: "RETR".into(),
            argument: b"f".to_vec(),
            announcement: Some(Announcement { id: 1, session: 1, mode: DataMode::Passive, addr, origin: origin(5) }),
            replies: replies.to_vec(),
            final_text: final_text.to_vec(),
            announced_size: None,
            aborted: false,
            passed_over: false,
            command_number: 1,
            reply_gap: false,
            start: origin(7),
            end: (!replies.iter().all(|c| (100..200).contains(c))).then(|| origin(9)),
            server_ip: server.parse().unwrap(),
            setup_refused: None,
        }
    }

    /// A data connection the client tried: `syn_ack`, `rst` from the listener.
    fn attempt(to: &str, syn_ack: bool, rst: bool) -> DataConn {
        DataConn {
            announcement: 1,
            session: 1,
            initiator: "10.77.0.2:48980".parse().unwrap(),
            listener: to.parse().unwrap(),
            syn: true,
            syn_ack,
            rst_by_listener: rst,
            rst_by_initiator: false,
            fin_by_initiator: false,
            fin_by_listener: false,
            from_initiator: SeqCounter::default(),
            from_listener: SeqCounter::default(),
            first: origin(8),
            last: origin(8),
            tls: None,
        }
    }

    #[test]
    fn unanswered_syns_to_a_masquerade_address_are_pasv_private_address() {
        let t = passive_retr("10.255.0.1:40010", "10.77.0.1", &[425], b"425 Failed to establish connection.");
        // The client tried the advertised address: SYNs, no answer.
        let c = attempt("10.255.0.1:40010", false, false);
        assert!(c.unanswered());
        let (outcome, cause, detail) = classify(&t, Some(&c));
        assert_eq!((outcome, cause), ("failed", "pasv-private-address"), "{detail}");
        assert!(detail.contains("SYNs"), "{detail}");
        // Not tried at all: the same cause.
        assert_eq!(classify(&t, None).1, "pasv-private-address");
        // Answered with RST: refused, not an address problem.
        assert_eq!(classify(&t, Some(&attempt("10.255.0.1:40010", false, true))).1, "data-connection-refused");
        // Unanswered SYNs to the server's own address: not a PASV address problem.
        let own = passive_retr("10.77.0.1:40010", "10.77.0.1", &[425], b"425 Failed to establish connection.");
        assert_eq!(classify(&own, Some(&attempt("10.77.0.1:40010", false, false))).1, "data-connection-failed");
    }

    #[test]
    fn a_refused_port_explains_the_missing_data_connection() {
        let mut t = passive_retr("127.0.0.1:41000", "127.0.0.1", &[150], b"150 File status okay.");
        t.announcement = None;
        t.passed_over = true;
        t.setup_refused = Some(("PORT", 425));
        let (outcome, cause, detail) = classify(&t, None);
        assert_eq!((outcome, cause), ("failed", "no-data-connection"));
        assert!(detail.starts_with("PORT was answered 425"), "{detail}");
    }

    #[test]
    fn ftps_data_connection_failures_say_why() {
        let t =
            passive_retr("10.0.0.2:40010", "10.0.0.2", &[522], b"522 SSL connection failed: session reuse required");
        assert_eq!(classify(&t, None).1, "tls-session-reuse-required");
        let t = passive_retr(
            "10.0.0.2:40010",
            "10.0.0.2",
            &[425],
            b"425 Unable to build data connection: TLS negotiation failed",
        );
        assert_eq!(classify(&t, None).1, "data-connection-tls-failed");
    }

    #[test]
    fn not_enough_privileges_is_permission_denied() {
        let mut t = passive_retr("127.0.0.1:40098", "127.0.0.1", &[550], b"550 Not enough privileges.");
        t.verb = "STOR".into();
        assert_eq!(classify(&t, None).1, "permission-denied");
    }

    #[test]
    fn transfer_passed_over_without_final_reply_fails() {
        // RETR got 150, the data connection never came up, and the server
        // answered QUIT without ever ending the RETR.
        let mut t = passive_retr("192.0.2.1:40051", "10.77.0.1", &[150], b"150 File status okay.");
        let c = attempt("192.0.2.1:40051", false, false);
        assert_eq!(classify(&t, Some(&c)).0, "incomplete-capture", "capture ends: nothing is known");
        t.passed_over = true;
        let (outcome, cause, detail) = classify(&t, Some(&c));
        assert_eq!((outcome, cause), ("failed", "pasv-private-address"), "{detail}");
        assert!(detail.contains("never sent a final reply"), "{detail}");
        // An established connection and no final reply: failed, no-final-reply.
        let mut up = attempt("192.0.2.1:40051", true, false);
        up.from_listener.data(1, 100);
        assert_eq!(classify(&t, Some(&up)).1, "no-final-reply");
        assert_eq!(classify(&t, Some(&up)).0, "failed");
        t.aborted = true;
        assert_eq!(classify(&t, Some(&up)).0, "aborted");
    }

    #[test]
    fn a_gap_in_server_bytes_makes_a_missing_final_reply_incomplete() {
        let mut t = passive_retr("127.0.0.1:40010", "127.0.0.1", &[150], b"150 ok");
        t.passed_over = true;
        t.reply_gap = true;
        let (outcome, cause, _) = classify(&t, None);
        assert_eq!((outcome, cause), ("incomplete-capture", "no-final-reply"));
    }
}
