//! The `--transfers` report's row: its columns, and how a judged transfer
//! becomes one.

use super::columns::report_row;
use crate::data::outcome::{bytes_kind, classify, transferred_bytes};
use crate::data::{DataConn, Transfer};

report_row! {
    /// The `--transfers` report's row: one per data command.
    pub struct TransferRow, TRANSFER_COLUMNS {
        capture: String => "as in the incident report",
        session: u64 => "as in the incident report",
        user: String => "as in the incident report",
        command: String => "the data command (RETR, STOR, STOU, APPE, LIST, NLST, MLSD)",
        argument: String => "its path",
        mode: String => "`passive` (PASV), `active` (PORT), `extended-passive` (EPSV), `extended-active` (EPRT), `none`",
        data_ip: String => "the data address announced on the control channel (every number range-checked)",
        data_port: Option<u16> => "its port",
        /// `initiator->listener` of the data connection seen, or `none`.
        data_connection: String => "the TCP connection seen for it, `initiator->listener`, or `none`",
        bytes: Option<u64> => "payload bytes of the transfer's direction, counted from TCP sequence numbers (retransmissions once; a snaplen does not matter); for a decrypted FTPS data connection the plaintext bytes (see `bytes_kind`)",
        announced_size: Option<u64> => "size the server announced (`150 … (N bytes)`, or `213` to `SIZE` of the same path)",
        replies: String => "the control replies to the command, in order (`150 226`, `150 426`, `425`)",
        start_time: String => "time of the command",
        start_frame: u64 => "its frame",
        end_time: String => "time of its final reply",
        end_frame: Option<u64> => "its frame",
        data_first_frame: Option<u64> => "first packet of the data connection",
        data_last_frame: Option<u64> => "last packet of the data connection",
        outcome: String => "`complete`, `failed`, `aborted` (the client sent ABOR before the final reply), `incomplete-capture` (the server reports success but the data connection, or part of it, is not in the capture; or the capture ends before the final reply). A transfer with no final reply although the server answered later commands is `failed`",
        cause: String => "stable id: `pasv-private-address`, `data-connection-refused`, `no-data-connection`, `data-connection-failed`, `reset-mid-transfer`, `short-transfer`, `permission-denied`, `file-not-found`, `file-unavailable`, `disk-full`, `not-logged-in`, `bad-sequence`, `command-rejected`, `server-error`, `aborted-by-client`, `data-connection-not-captured`, `no-data-setup-seen`, `short-capture`, `no-final-reply`, `tls-session-reuse-required` (FTPS: vsftpd's 522, or a 425 or 522 after the data connection's TLS handshake made a new session instead of resuming the control connection's, as ProFTPD does), `data-connection-tls-failed` (FTPS: the data connection's TLS handshake ended in an alert, named in `cause_detail`, or was closed before it finished; or the server's 425/522 says TLS failed)",
        cause_detail: String => "one sentence",
        bytes_kind: String => "what `bytes` counts: `cleartext` (a plain data connection), `plaintext` (a PROT P data connection decrypted with `--tls-keylog`: the application data inside TLS), `tls-records` (a PROT P data connection not decrypted: TLS record bytes, headers and handshake included); empty when no data connection was seen",
        community_id: String => "the data connection's Community ID (as in the incident report), empty when `data_connection` is `none`",
    }
}

/// A finished transfer's row, judged with its data connection as it is now.
pub(crate) fn transfer_row(capture: &str, t: &Transfer, conn: Option<&DataConn>) -> TransferRow {
    use crate::report::cell;
    let (outcome, cause, detail) = classify(t, conn);
    TransferRow {
        capture: capture.to_string(),
        session: t.session,
        user: t.user.clone(),
        command: t.verb.clone(),
        argument: cell(&t.argument),
        mode: t.announcement.map(|a| a.mode.label()).unwrap_or("none").to_string(),
        data_ip: t.announcement.map(|a| a.addr.ip().to_string()).unwrap_or_default(),
        data_port: t.announcement.map(|a| a.addr.port()),
        data_connection: conn.map(|c| format!("{}->{}", c.initiator, c.listener)).unwrap_or_else(|| "none".into()),
        bytes: conn.map(|c| transferred_bytes(t, c)),
        announced_size: t.announced_size,
        replies: t.replies.iter().map(u16::to_string).collect::<Vec<_>>().join(" "),
        start_time: t.start.ts.to_string(),
        start_frame: t.start.frame,
        end_time: t.end.map(|e| e.ts.to_string()).unwrap_or_default(),
        end_frame: t.end.map(|e| e.frame),
        data_first_frame: conn.map(|c| c.first.frame),
        data_last_frame: conn.map(|c| c.last.frame),
        outcome: outcome.into(),
        cause: cause.into(),
        cause_detail: detail,
        bytes_kind: conn.map(bytes_kind).unwrap_or_default().to_string(),
        community_id: conn.map(|c| crate::report::community_id::tcp(c.initiator, c.listener)).unwrap_or_default(),
    }
}
