//! `ftpcap transcript`: one session as an annotated, terminal-safe text.

use super::escape_bytes;
use crate::ftp::transcript::TranscriptEntry;
use crate::report::transfers::TransferRow;
use std::fmt::Write as _;

/// A recorded session ready to print.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub capture: String,
    pub session: u64,
    pub client: String,
    pub server: String,
    pub server_software: String,
    pub user: String,
    pub entries: Vec<TranscriptEntry>,
    pub transfers: Vec<TransferRow>,
    pub ended: String,
}

fn time_of(e: &TranscriptEntry) -> String {
    match e {
        TranscriptEntry::Command(c) => c.origin.ts.to_string(),
        TranscriptEntry::Reply { reply, .. } => reply.origin.ts.to_string(),
        TranscriptEntry::Note { ts, .. } => ts.to_string(),
    }
}

/// Renders the transcript; every byte from the wire goes through
/// [`escape_bytes`], so no control sequence reaches the terminal.
pub fn render(t: &Transcript, show_passwords: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "session {} in {}: client {} -> server {}",
        t.session,
        escape_bytes(t.capture.as_bytes(), false),
        t.client,
        t.server
    );
    if !t.server_software.is_empty() || !t.user.is_empty() {
        let _ = writeln!(out, "server software: {}   user: {}", or_dash(&t.server_software), or_dash(&t.user));
    }
    let _ = writeln!(out, "{:>7}  {:<32} line", "frame", "time");
    // Transfer outcomes go right after the reply that ended them.
    let mut entries: Vec<(u64, u8, String, Vec<String>)> = Vec::new();
    for e in &t.entries {
        let (lead, lines) = match e {
            TranscriptEntry::Command(c) => ("C: ", vec![escape_bytes(&c.display_raw(show_passwords), false)]),
            TranscriptEntry::Reply { reply, rule } => {
                let mut lines: Vec<String> = reply.lines().iter().map(|l| escape_bytes(l, false)).collect();
                if let Some(rule) = rule {
                    lines.push(format!("   ^ checker: the command broke rule {rule}"));
                }
                if reply.flags.incomplete {
                    lines.push("   ^ part of this reply is missing from the capture".into());
                }
                ("S: ", lines)
            }
            TranscriptEntry::Note { text, .. } => ("-- ", vec![escape_bytes(text.as_bytes(), false)]),
        };
        let lines = lines.into_iter().map(|l| if l.starts_with("   ^") { l } else { format!("{lead}{l}") }).collect();
        entries.push((e.frame(), 0, time_of(e), lines));
    }
    for tr in &t.transfers {
        let frame = tr.end_frame.unwrap_or(tr.start_frame);
        let mut line = format!("== transfer {} {}: {}", tr.command, tr.argument, tr.outcome);
        if !tr.cause.is_empty() {
            let _ = write!(line, " ({}): {}", tr.cause, tr.cause_detail);
        }
        let _ = write!(
            line,
            " [mode {}, data connection {}, {} bytes, replies {}]",
            tr.mode,
            tr.data_connection,
            tr.bytes.map(|b| b.to_string()).unwrap_or_else(|| "no".into()),
            tr.replies
        );
        entries.push((frame, 1, tr.end_time.clone(), vec![line]));
    }
    entries.sort_by_key(|(frame, order, _, _)| (*frame, *order));
    for (frame, _, time, lines) in entries {
        for (i, l) in lines.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "{frame:>7}  {time:<32} {l}");
            } else {
                let _ = writeln!(out, "{:>7}  {:<32} {l}", "", "");
            }
        }
    }
    let _ = writeln!(out, "ended: {}", t.ended);
    out
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}
