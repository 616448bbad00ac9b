//! The `--transfers` report's row: its columns, and how a judged transfer
//! becomes one.

use crate::data::outcome::{classify, transferred_bytes};
use crate::data::{DataConn, Transfer};
use serde::Serialize;

/// The `--transfers` report's row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TransferRow {
    pub capture: String,
    pub session: u64,
    pub user: String,
    pub command: String,
    pub argument: String,
    pub mode: String,
    pub data_ip: String,
    pub data_port: Option<u16>,
    /// `initiator->listener` of the data connection seen, or `none`.
    pub data_connection: String,
    pub bytes: Option<u64>,
    pub announced_size: Option<u64>,
    pub replies: String,
    pub start_time: String,
    pub start_frame: u64,
    pub end_time: String,
    pub end_frame: Option<u64>,
    pub data_first_frame: Option<u64>,
    pub data_last_frame: Option<u64>,
    pub outcome: String,
    pub cause: String,
    pub cause_detail: String,
}

pub const TRANSFER_COLUMNS: &[&str] = &[
    "capture",
    "session",
    "user",
    "command",
    "argument",
    "mode",
    "data_ip",
    "data_port",
    "data_connection",
    "bytes",
    "announced_size",
    "replies",
    "start_time",
    "start_frame",
    "end_time",
    "end_frame",
    "data_first_frame",
    "data_last_frame",
    "outcome",
    "cause",
    "cause_detail",
];

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
    }
}
