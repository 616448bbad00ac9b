//! The end of a control connection: flushing what its streams still hold,
//! its end-of-session warnings, its sessions-report row and its transcript.

use super::connection::{route, Conn, Meta};
use super::Ctx;
use crate::diag::Warning;
use crate::flow::{Origin, Slot};
use crate::ftp::transcript::TranscriptEntry;
use crate::ftp::StopReason;
use crate::report::transcript::Transcript;
use crate::report::{cell, multiline_cell, SessionRow};
use std::net::SocketAddr;

/// Flushes a connection that is over (FIN/RST, idle, evicted, capture
/// end); `end` says which.
pub(super) fn finish_conn(slot: Slot<Conn>, ctx: &mut Ctx<'_>, end: &'static str) {
    // A quiet connection is not read again: flows are evicted or time out
    // long after their last packet, when their memory is out of every
    // cache, and a flood of them is mostly that wait.
    if slot.silent && !ctx.config.session_rows {
        if slot.session_id != 0 {
            ctx.data.session_end(slot.session_id);
            ctx.encapsulations.remove(&slot.session_id);
            ctx.tls.remove(&slot.session_id);
        }
        return;
    }
    // Worked on in place: moving a connection out of its box copies a
    // kilobyte, per session.
    let mut conn = slot.conn;
    finish_in_place(&mut conn, slot.last_frame, ctx, end);
    ctx.encapsulations.remove(&slot.session_id);
    ctx.tls.remove(&slot.session_id);
}

fn finish_in_place(conn: &mut Conn, last_frame: u64, ctx: &mut Ctx<'_>, end: &'static str) {
    ctx.total_buffered = ctx.total_buffered.saturating_sub(conn.to_server.buffered() + conn.to_client.buffered());
    let Some(meta) = conn.meta else { return };
    let Conn { to_server, to_client, session, held, .. } = &mut *conn;
    to_server.finish(&mut |ev| route(ev, true, to_client, held, session, &meta, ctx));
    to_client.finish(&mut |ev| route(ev, false, to_server, held, session, &meta, ctx));
    conn.drain(Origin::default(), true, &meta, ctx);
    conn.session.client_end();
    conn.session.server_end(&mut |ex| ctx.exchange(&meta, ex));
    let id = meta.session_id;
    ctx.data.session_end(id);
    let transcribed = conn.session.transcript.is_recording();
    let row = (ctx.config.session_rows || transcribed).then(|| session_row(conn, last_frame, &meta, ctx, end));
    let dropped = conn.session.transcript.dropped();
    if dropped > 0 {
        ctx.warn_session(Warning::TranscriptCapHit, id, || {
            format!("transcript too long; {dropped} later lines not kept in memory")
        });
    }
    if let Some(entries) = conn.session.transcript.take() {
        ctx.transcripts.push(transcript(conn, entries, &meta, ctx.capture, row.as_ref()));
    }
    for (r, side) in [(&conn.to_server, "client"), (&conn.to_client, "server")] {
        if r.stats.cap_hits > 0 {
            ctx.warn_session(Warning::ReassemblyCapHit, id, || {
                format!("{side} stream exceeded the out-of-order buffer cap")
            });
        }
        if r.stats.out_of_window > 0 {
            ctx.warn_session(Warning::OutOfWindow, id, || {
                format!("{} {side} segments far outside the stream ignored", r.stats.out_of_window)
            });
        }
    }
    let s = &conn.session;
    let unlisted = s.unlisted_verbs();
    if !unlisted.is_empty() {
        let names = unlisted.join(" ");
        ctx.warn_session(Warning::CommandNotInHelpList, id, || {
            format!("the client used {names}, which the server's HELP list does not contain")
        });
    }
    if let Some(row) = row.filter(|_| ctx.config.session_rows) {
        ctx.sessions.push((row.session, 0), row);
    }
    if s.stopped == Some(StopReason::Encrypted) {
        ctx.warn_session(Warning::SessionEncrypted, id, || {
            "the control channel is TLS and was not decrypted (--tls-keylog gives the keys)".into()
        });
    }
    let w = s.warnings;
    let (truncated, lost) = s.line_warnings();
    let dropped = s.reply_lines_dropped();
    let telnet = s.subnegotiations_as_data();
    let counted: [(Warning, u64, &dyn Fn() -> String); 9] = [
        (Warning::UnparsableServerLine, w.garbage_lines, &|| {
            format!("{} server lines are not replies", w.garbage_lines)
        }),
        (Warning::UnpairedReply, w.unpaired_replies, &|| {
            format!("{} replies answer no captured command", w.unpaired_replies)
        }),
        (Warning::ReplyLostInGap, w.replies_lost_in_gap, &|| {
            format!("{} replies began in a gap; their commands were taken as answered", w.replies_lost_in_gap)
        }),
        (Warning::PendingCapHit, w.pending_overflow, &|| format!("{} unanswered commands dropped", w.pending_overflow)),
        (Warning::ReplyCodeMismatch, w.code_mismatch, &|| {
            format!("{} multi-line replies closed with another code", w.code_mismatch)
        }),
        (Warning::LineOverLengthCap, truncated, &|| format!("{truncated} lines cut at the length cap")),
        (Warning::ReplyLineCapHit, dropped, &|| {
            format!("{dropped} lines of over-long multi-line replies dropped (--max-reply-lines)")
        }),
        (Warning::LineCutByGap, lost, &|| format!("{lost} lines cut by gaps, kept as far as they were captured")),
        (Warning::SubnegotiationAsData, telnet, &|| {
            format!("{telnet} Telnet IAC SB with no IAC SE within 64 bytes or before the line end, kept as data")
        }),
    ];
    for (kind, n, detail) in counted {
        if n > 0 {
            ctx.warn_session(kind, id, detail);
        }
    }
}

/// The transcript of a finished session, with notes on where it stops.
fn transcript(
    conn: &Conn,
    mut entries: Vec<TranscriptEntry>,
    meta: &Meta,
    capture: &str,
    row: Option<&SessionRow>,
) -> Transcript {
    let dropped = conn.session.transcript.dropped();
    if dropped > 0 {
        let last = entries.last().map(|e| e.frame()).unwrap_or(0);
        entries.push(TranscriptEntry::Note {
            frame: last,
            ts: conn.last_seen,
            text: format!("transcript cut here: {dropped} later lines not kept (memory cap)"),
        });
    }
    if conn.session.stopped == Some(StopReason::Encrypted) {
        let last = entries.last().map(|e| e.frame()).unwrap_or(0);
        entries.push(TranscriptEntry::Note {
            frame: last,
            ts: conn.last_seen,
            text: "AUTH was accepted: the rest of the control channel is TLS and was not parsed".into(),
        });
    }
    Transcript {
        capture: capture.to_string(),
        session: meta.session_id,
        client: SocketAddr::new(meta.client.ip, meta.client.port).to_string(),
        server: SocketAddr::new(meta.server.ip, meta.server.port).to_string(),
        server_software: row.map(|r| r.server_software.clone()).unwrap_or_default(),
        user: row.map(|r| r.user.clone()).unwrap_or_default(),
        entries,
        transfers: Vec::new(),
        ended: row.map(|r| r.ended.clone()).unwrap_or_default(),
    }
}

/// The `--sessions` row of a finished connection (transfer counts are
/// added as its transfers are reported).
fn session_row(conn: &Conn, last_frame: u64, meta: &Meta, ctx: &mut Ctx<'_>, end: &'static str) -> SessionRow {
    let s = &conn.session;
    let w = s.warnings;
    let (truncated, lost) = s.line_warnings();
    let (a, b) = (&conn.to_server.stats, &conn.to_client.stats);
    let cap_hits = u64::from(a.cap_hits) + u64::from(b.cap_hits);
    let notes: Vec<String> = [
        (Warning::GapInStream, u64::from(a.gaps) + u64::from(b.gaps)),
        (Warning::ReassemblyCapHit, cap_hits),
        (Warning::UnparsableServerLine, w.garbage_lines),
        (Warning::UnpairedReply, w.unpaired_replies),
        (Warning::ReplyLostInGap, w.replies_lost_in_gap),
        (Warning::PendingCapHit, w.pending_overflow),
        (Warning::ReplyCodeMismatch, w.code_mismatch),
        (Warning::LineOverLengthCap, truncated),
        (Warning::ReplyLineCapHit, s.reply_lines_dropped()),
        (Warning::LineCutByGap, lost),
        (Warning::SubnegotiationAsData, s.subnegotiations_as_data()),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .filter_map(|(kind, n)| Some(format!("{}={n}", kind.session_key()?)))
    .collect();
    let ended = if s.quit_answered { "quit" } else { end };
    let banner = s.banner.as_deref().unwrap_or(b"");
    let unlisted = s.unlisted_verbs();
    let (ok, failed, up, down) = ctx.data.session_totals(meta.session_id);
    let tls = ctx.tls.get(&meta.session_id).map(|t| t.summary()).unwrap_or_default();
    SessionRow {
        capture: ctx.capture.to_string(),
        session: meta.session_id,
        client_ip: meta.client.ip.to_string(),
        client_port: meta.client.port,
        server_ip: meta.server.ip.to_string(),
        server_port: meta.server.port,
        start_time: conn.first.ts.to_string(),
        start_frame: conn.first.frame,
        end_time: conn.last_seen.to_string(),
        end_frame: last_frame,
        duration_s: crate::report::Seconds(conn.last_seen.secs_since(&conn.first.ts).max(0.0)),
        user: s.user().map(cell).unwrap_or_default(),
        server_software: s.software().get().map(|v| cell(v.as_bytes())).unwrap_or_default(),
        banner: multiline_cell(banner),
        syst: s.syst.as_deref().map(multiline_cell).unwrap_or_default(),
        login: s.login.as_str().to_string(),
        commands: s.commands,
        replies_214: s.replies_214,
        replies_503: s.replies_503,
        transfers_ok: ok,
        transfers_failed: failed,
        bytes_up: up,
        bytes_down: down,
        tls: s.auth_sent,
        ended: if s.stopped == Some(StopReason::Encrypted) && ended != "quit" {
            format!("{ended} (encrypted after AUTH)")
        } else {
            ended.to_string()
        },
        unlisted_commands: unlisted.join(" "),
        warnings: notes.join(";"),
        encapsulation: ctx.encapsulations.get(&meta.session_id).map(ToString::to_string).unwrap_or_default(),
        tls_version: tls.version,
        tls_cipher: tls.cipher,
        tls_sni: tls.sni,
        tls_result: tls.result,
        community_id: crate::report::community_id::tcp(
            std::net::SocketAddr::new(meta.client.ip, meta.client.port),
            std::net::SocketAddr::new(meta.server.ip, meta.server.port),
        ),
    }
}
