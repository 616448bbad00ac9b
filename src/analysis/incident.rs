//! An incident row from a reported reply: the checker's verdict on it and
//! its one-sentence diagnosis.

use super::connection::Meta;
use crate::ftp::pairing::SentCommand;
use crate::ftp::rules::{Rule, Source, RFC_503_VERBS};
use crate::ftp::Exchange;
use crate::report::{IncidentRow, RowFlags, RowText};
use std::sync::Arc;

/// The row for a reported reply. `verdict` is [`verdict`]'s, shown when
/// the report has a verdict column (`--violations`).
pub(super) fn incident_row(
    capture: &Arc<str>,
    meta: &Meta,
    ex: &Exchange<'_>,
    show_passwords: bool,
    verdict: Option<Option<&'static str>>,
) -> IncidentRow {
    let code = ex.reply.code;
    let sent = ex.sent;
    let previous = sent.and_then(|s| s.previous.as_ref());
    let mut text = RowText::default();
    text.wire(&[ex.user.unwrap_or_default()]);
    text.wire_lines(ex.reply.text());
    text.wire(&sent.map(|s| s.command.display_parts(show_passwords)).unwrap_or_default());
    text.wire(&previous.map(|c| c.display_parts(show_passwords)).unwrap_or_default());
    let rule = diagnose(code, ex.sent, ex.violation, ex.greeting, text.plain_buf());
    text.end_plain();
    text.plain(ex.help_commands);
    text.wire(&[ex.server_software.get().unwrap_or_default().as_bytes()]);
    IncidentRow::new(
        capture.clone(),
        ex.reply.origin.frame,
        ex.reply.origin.ts,
        meta.session_id,
        (meta.client.ip, meta.client.port),
        (meta.server.ip, meta.server.port),
        code,
        sent.map(|s| s.command.origin.frame),
        previous.map(|c| c.origin.frame),
        rule,
        row_flags(ex),
        verdict.map(|v| v.unwrap_or("")),
        text,
    )
}

/// What is partial about the evidence of a reply and its command.
fn row_flags(ex: &Exchange<'_>) -> RowFlags {
    let flags = ex.reply.flags;
    let command = ex.sent.map(|s| &*s.command);
    RowFlags {
        reply_cut: flags.cut || flags.incomplete,
        command_cut: command.is_some_and(|c| c.cut),
        after_gap: flags.after_gap || command.is_some_and(|c| c.after_gap),
        tls_decrypted: ex.tls_decrypted,
    }
}

/// The checker's verdict on a reply: `refused` (503 to a command that broke
/// a rule), `accepted` (1xx–3xx anyway: a lenient server), `other` (another
/// error), `server-policy` (a 503 no rule predicts).
pub(super) fn verdict(code: u16, violation: Option<&'static Rule>, paired: bool) -> Option<&'static str> {
    match (violation.is_some(), code) {
        (true, 503) => Some("refused"),
        (true, 100..=399) => Some("accepted"),
        (true, _) => Some("other"),
        (false, 503) if paired => Some("server-policy"),
        _ => None,
    }
}

/// The rule id for a reported reply; its one-sentence diagnosis goes to
/// `out` (pieces pushed, not formatted: a busy capture has a row every few
/// packets).
fn diagnose(
    code: u16,
    sent: Option<&SentCommand>,
    violation: Option<&'static Rule>,
    greeting: bool,
    out: &mut Vec<u8>,
) -> &'static str {
    use std::io::Write as _;
    let Some(sent) = sent else {
        if greeting {
            out.extend_from_slice(b"The server's greeting; it answers no command.");
            return "greeting";
        }
        if code == 421 {
            out.extend_from_slice(b"Unsolicited 421: the server is closing the control connection.");
            return "unsolicited";
        }
        let _ = write!(
            out,
            "{code} reply that answers no command in the capture (the command may not have been captured)."
        );
        return if code == 214 { "help" } else { "unpaired" };
    };
    let verb = if sent.command.verb.is_empty() { "the command" } else { sent.command.verb.as_str() };
    if code == 214 {
        let arg = String::from_utf8_lossy(sent.command.arg()).to_ascii_uppercase();
        let _ = match sent.command.verb.as_str() {
            "HELP" if arg.trim().is_empty() => write!(out, "Help reply to HELP: the commands the server recognises."),
            "HELP" => write!(out, "Help reply to HELP {}: help for one command.", escape_word(arg.trim())),
            "SITE" if arg.trim_start().starts_with("HELP") => {
                write!(out, "Help reply to SITE HELP: the server's SITE commands.")
            }
            _ => write!(out, "Help reply (214) to {verb}, which is not a HELP command."),
        };
        return "help";
    }
    if let Some(rule) = violation {
        rule.write_diagnosis(&sent.command.verb, out);
        if code == 503 && rule.source == Source::ServerPolicy {
            out.extend_from_slice(b" The 503 is this server's policy, not an RFC requirement.");
        }
        return rule.id;
    }
    if code == 503 {
        if RFC_503_VERBS.contains(&sent.command.verb.as_str()) {
            out.extend_from_slice(verb.as_bytes());
            out.extend_from_slice(b" was refused with 503 although the checker found no skipped step before it: server policy (or an earlier reply missing from the capture).");
        } else {
            out.extend_from_slice(b"503 to ");
            out.extend_from_slice(verb.as_bytes());
            out.extend_from_slice(b" goes beyond the RFCs, which allow 503 only for PASS, ACCT, RNTO, ADAT, PBSZ, PROT and HOST; no ordering rule was broken: server policy.");
        }
        return "server-policy";
    }
    ""
}

fn escape_word(s: &str) -> String {
    crate::report::escape_bytes(s.as_bytes(), false)
}
