//! One FTP control session: lines in, commands and replies paired, judged.
//!
//! [`Session`] frames both directions into lines, parses commands and
//! replies, lets [`super::pairing`] say which command each reply answers,
//! has every command judged by [`super::rules`] and keeps what the reports
//! need (counts, the banner, SYST, the HELP list, the transcript through
//! [`super::transcript`]). After `AUTH` is answered 234 the channel is
//! encrypted and parsing stops, with the reason recorded.

use super::command::Command;
use super::lines::{Line, LineFramer};
use super::pairing::{Pairing, SentCommand};
use super::reply::{Reply, ReplyAssembler, ReplyEvent};
use super::rules::{self, Judged, Rule, SequenceState};
use super::transcript::{TranscriptEntry, TranscriptRecorder};
use crate::config::SessionLimits;
use std::rc::Rc;

/// A reply with everything the report needs about it.
#[derive(Debug)]
pub struct Exchange<'a> {
    pub reply: &'a Reply,
    /// The command it answers (None for the greeting, unsolicited replies,
    /// or when the command was not captured).
    pub sent: Option<&'a SentCommand>,
    /// The first ordering rule the command broke, judged before the reply.
    pub violation: Option<&'static Rule>,
    /// Name from the last USER of the session.
    pub user: Option<&'a [u8]>,
    /// The reply is the server's greeting (it answers no command).
    pub greeting: bool,
    /// This is the first reply to its command: the verdict was made now.
    pub first_reply: bool,
    /// The server software its greeting banner names, once seen.
    pub server_software: ServerSoftware<'a>,
    /// For a 214: the commands it lists, space-separated (see
    /// [`super::identify::help_commands`]).
    pub help_commands: &'a str,
    /// An ABOR the client sent still waits for its reply (so a transfer
    /// ending now ends after the client asked to abort it).
    pub abort_pending: bool,
    /// The reply (and its command) came decrypted from a TLS channel.
    pub tls_decrypted: bool,
}

/// The server software a session's greeting banner names, worked out the
/// first time a report row asks: most sessions draw no row, and naming the
/// software scans the banner for every known server.
#[derive(Debug, Clone, Copy)]
pub struct ServerSoftware<'a> {
    banner: Option<&'a [u8]>,
    name: &'a std::cell::OnceCell<Option<Box<str>>>,
    /// What a reply's wording said when the banner names nothing.
    from_replies: Option<&'static str>,
}

impl<'a> ServerSoftware<'a> {
    /// The banner's name, else the one a reply's wording gave so far.
    pub fn get(&self) -> Option<&'a str> {
        self.name
            .get_or_init(|| self.banner.and_then(super::identify::server_software).map(String::into_boxed_str))
            .as_deref()
            .or(self.from_replies)
    }
}

/// Why a session stopped being parsed before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// AUTH was answered 234: the rest of the control channel is TLS.
    Encrypted,
}

/// Problems a session can report (counted into the run's warnings).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionWarnings {
    pub garbage_lines: u64,
    pub unpaired_replies: u64,
    pub pending_overflow: u64,
    pub code_mismatch: u64,
    /// Replies whose start was lost in a gap (their command was consumed).
    pub replies_lost_in_gap: u64,
}

#[derive(Debug)]
pub struct Session {
    client: LineFramer,
    server: LineFramer,
    replies: ReplyAssembler,
    pairing: Pairing,
    last_command: Option<Rc<Command>>,
    state: SequenceState,
    /// The last USER command (its argument is the user name).
    user: Option<Rc<Command>>,
    pub stopped: Option<StopReason>,
    pub banner: Option<Box<[u8]>>,
    /// The server software the banner names (never guessed), once asked
    /// for (see [`ServerSoftware`]).
    server_software: std::cell::OnceCell<Option<Box<str>>>,
    /// The software the first telling reply's wording names
    /// ([`super::identify::software_from_reply`]).
    software_from_replies: Option<u8>,
    /// The reply to SYST, if any.
    pub syst: Option<Box<[u8]>>,
    /// Commands listed by the server's plain HELP reply (space-separated),
    /// if one was seen.
    pub help_list: Option<Box<super::identify::HelpList>>,
    /// Every verb the client used.
    pub verbs_used: super::identify::VerbSet,
    pub commands: u64,
    pub replies_seen: u64,
    pub replies_214: u64,
    pub replies_503: u64,
    /// `ok` once a login succeeded, `failed` if one was refused, else `none`.
    pub login: Login,
    /// QUIT was answered 221.
    pub quit_answered: bool,
    /// The client sent AUTH (TLS or another mechanism).
    pub auth_sent: bool,
    /// Lines come decrypted from TLS (see [`Session::resume_in_tls`]).
    pub in_tls: bool,
    /// Stream offsets handed on so far (bytes and gaps), per direction.
    client_offset: u64,
    server_offset: u64,
    /// What the segment being read acknowledged of the other direction
    /// (a stream offset); [`NO_ACK`] when it did not say (a plain number
    /// keeps a connection within its allocation size class).
    chunk_ack: u64,
    /// Server stream offset past the segment that carried the latest final
    /// reply: a command whose segment acknowledged less was sent before the
    /// client had that reply (pipelined), whatever the capture's order.
    answered_upto: u64,
    /// Recorded only for sessions selected for `ftpcap transcript`.
    pub transcript: TranscriptRecorder,
    pub warnings: SessionWarnings,
}

/// How the session's login went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// No login seen.
    None,
    /// A 230 or 202 to USER, PASS or ACCT.
    Ok,
    /// A 530 to one of them, with no login before.
    Failed,
}

impl Login {
    pub fn as_str(self) -> &'static str {
        match self {
            Login::None => "none",
            Login::Ok => "ok",
            Login::Failed => "failed",
        }
    }
}

/// [`Session::chunk_ack`] when the segment gave no acknowledgement.
const NO_ACK: u64 = u64::MAX;

impl Session {
    /// What the segment being read acknowledged of the other direction.
    fn ack(&self) -> Option<u64> {
        (self.chunk_ack != NO_ACK).then_some(self.chunk_ack)
    }

    pub fn new(limits: SessionLimits) -> Self {
        Session {
            client: LineFramer::new(limits.max_line),
            server: LineFramer::new(limits.max_line),
            replies: ReplyAssembler::new(limits.max_reply_lines),
            pairing: Pairing::new(limits.max_pending),
            last_command: None,
            state: SequenceState::default(),
            user: None,
            stopped: None,
            banner: None,
            server_software: std::cell::OnceCell::new(),
            software_from_replies: None,
            syst: None,
            help_list: None,
            verbs_used: Default::default(),
            commands: 0,
            replies_seen: 0,
            replies_214: 0,
            replies_503: 0,
            login: Login::None,
            quit_answered: false,
            auth_sent: false,
            in_tls: false,
            client_offset: 0,
            server_offset: 0,
            chunk_ack: NO_ACK,
            answered_upto: 0,
            transcript: TranscriptRecorder::default(),
            warnings: SessionWarnings::default(),
        }
    }

    /// The control channel is TLS from here on (after a 234 to AUTH, or
    /// from the start on an implicit-TLS port): nothing more is read until
    /// decrypted lines come ([`Session::resume_in_tls`]).
    pub fn encrypted(&mut self) {
        self.stopped = Some(StopReason::Encrypted);
    }

    /// Decrypted lines of the TLS channel follow: they are read like
    /// cleartext ones, and the replies say they came decrypted.
    pub fn resume_in_tls(&mut self) {
        if self.stopped == Some(StopReason::Encrypted) {
            self.stopped = None;
        }
        self.in_tls = true;
    }

    /// The TLS session ended and the control channel is cleartext again
    /// (CCC, RFC 4217).
    pub fn resume_cleartext(&mut self) {
        if self.stopped == Some(StopReason::Encrypted) {
            self.stopped = None;
        }
        self.in_tls = false;
    }

    /// Ending the session now would hand on nothing (no partial line, no
    /// open reply) and it has nothing to report (no warning counted, no
    /// transcript, no HELP list to compare verbs with, not encrypted).
    /// Asked after every packet, while the session is in the cache, so
    /// that closing a quiet session much later need not read it.
    pub fn finish_is_silent(&self) -> bool {
        self.client.finish_is_silent()
            && self.server.finish_is_silent()
            && !self.replies.in_multiline()
            && self.replies.dropped_lines == 0
            && self.stopped.is_none()
            && !self.transcript.is_recording()
            && self.help_list.is_none()
            && self.warnings == SessionWarnings::default()
    }

    /// Frame of the first byte of a reply still being assembled.
    pub fn pending_reply_frame(&self) -> Option<u64> {
        let line = self.server.partial_origin().map(|o| o.frame);
        let reply = self.replies.open_origin().map(|o| o.frame);
        line.into_iter().chain(reply).min()
    }

    /// The server software the greeting banner names (never guessed).
    pub fn software(&self) -> ServerSoftware<'_> {
        self.software_or(None)
    }

    /// [`Session::software`], of `banner` when the session has none yet.
    fn software_or<'a>(&'a self, banner: Option<&'a [u8]>) -> ServerSoftware<'a> {
        ServerSoftware {
            banner: self.banner.as_deref().or(banner),
            name: &self.server_software,
            from_replies: self.software_from_replies.and_then(super::identify::phrase_software),
        }
    }

    pub fn user(&self) -> Option<&[u8]> {
        self.user.as_deref().map(Command::arg)
    }

    /// Lines dropped from multi-line replies longer than `max_reply_lines`.
    pub fn reply_lines_dropped(&self) -> u64 {
        self.replies.dropped_lines
    }

    /// Verbs the client used that the server's own HELP list lacks (empty
    /// when no HELP list was seen).
    pub fn unlisted_verbs(&self) -> Vec<String> {
        let Some(list) = &self.help_list else {
            return Vec::new();
        };
        self.verbs_used.unlisted(list)
    }

    /// Telnet sub-negotiations of both directions framed as data (see
    /// [`LineFramer`]).
    pub fn subnegotiations_as_data(&self) -> u64 {
        u64::from(self.client.subnegotiation_overruns) + u64::from(self.server.subnegotiation_overruns)
    }

    pub fn line_warnings(&self) -> (u64, u64) {
        (self.client.truncated_lines + self.server.truncated_lines, self.client.cut_lines + self.server.cut_lines)
    }

    /// In-order bytes from the client.
    /// In-order bytes from the client; `server_acked` is the server stream
    /// offset their segment acknowledged, when it said.
    pub fn client_data(&mut self, data: &[u8], origin: crate::flow::Origin, server_acked: Option<u64>) {
        self.client_offset += data.len() as u64;
        if self.stopped.is_some() {
            return;
        }
        self.chunk_ack = server_acked.unwrap_or(NO_ACK);
        let mut framer = std::mem::replace(&mut self.client, LineFramer::new(0));
        framer.feed(data, origin, &mut |line| self.client_line(&line));
        self.client = framer;
    }

    /// In-order bytes from the server; `client_acked` is the client stream
    /// offset their segment acknowledged, when it said.
    pub fn server_data(
        &mut self,
        data: &[u8],
        origin: crate::flow::Origin,
        client_acked: Option<u64>,
        out: &mut dyn FnMut(Exchange<'_>),
    ) {
        self.server_offset += data.len() as u64;
        if self.stopped.is_some() {
            return;
        }
        self.chunk_ack = client_acked.unwrap_or(NO_ACK);
        let mut framer = std::mem::replace(&mut self.server, LineFramer::new(0));
        // Stop feeding as soon as the channel turns encrypted: later lines
        // in the same chunk would be TLS records.
        framer.feed(data, origin, &mut |line| {
            if self.stopped.is_none() {
                self.server_line(&line, out);
            }
        });
        self.server = framer;
    }

    /// Adds a remark to the transcript, if one is being recorded.
    pub fn note(&mut self, origin: crate::flow::Origin, text: impl FnOnce() -> String) {
        if self.transcript.is_recording() {
            self.transcript.record(TranscriptEntry::Note { frame: origin.frame, ts: origin.ts, text: text() });
        }
    }

    /// `len` client bytes are missing; a command line they cut is handed
    /// on with its head.
    pub fn client_gap(&mut self, len: u64) {
        self.client_offset += len;
        let mut framer = std::mem::replace(&mut self.client, LineFramer::new(0));
        framer.gap(&mut |line| {
            if self.stopped.is_none() {
                self.client_line(&line);
            }
        });
        self.client = framer;
    }

    /// `len` server bytes are missing; a reply line they cut is handed on
    /// with its head.
    pub fn server_gap(&mut self, len: u64, out: &mut dyn FnMut(Exchange<'_>)) {
        self.server_offset += len;
        let mut framer = std::mem::replace(&mut self.server, LineFramer::new(0));
        framer.gap(&mut |line| {
            if self.stopped.is_none() {
                self.server_line(&line, out);
            }
        });
        self.server = framer;
        self.pairing.server_gap();
        self.replies.gap();
    }

    /// End of the client's stream.
    pub fn client_end(&mut self) {
        let mut framer = std::mem::replace(&mut self.client, LineFramer::new(0));
        if self.stopped.is_none() {
            framer.finish(&mut |line| self.client_line(&line));
        }
        self.client = framer;
    }

    /// End of the server's stream: a trailing unterminated reply still counts.
    pub fn server_end(&mut self, out: &mut dyn FnMut(Exchange<'_>)) {
        if self.stopped.is_some() {
            return;
        }
        let mut framer = std::mem::replace(&mut self.server, LineFramer::new(0));
        framer.finish(&mut |line| {
            if self.stopped.is_none() {
                self.server_line(&line, out);
            }
        });
        self.server = framer;
        if let Some(reply) = self.replies.finish() {
            self.reply(reply, out);
        }
    }

    fn client_line(&mut self, line: &Line<'_>) {
        let Some(command) = Command::parse(line) else {
            return;
        };
        if line.after_cut && command.verb.known_index().is_none() {
            // The tail of the command line the gap cut, not a command.
            return;
        }
        self.commands += 1;
        if !command.verb.is_empty() {
            self.verbs_used.insert(&command.verb);
        }
        if command.is("AUTH") {
            self.auth_sent = true;
        }
        let sent_after_quit = self.state.quit_sent;
        self.state.on_send(&command.verb);
        let command = Rc::new(command);
        if command.is("USER") {
            self.user = Some(Rc::clone(&command));
        }
        let sent = SentCommand {
            number: self.commands,
            previous: self.last_command.replace(Rc::clone(&command)),
            sent_while_pending: self.pairing.waiting() || self.ack().is_some_and(|a| a < self.answered_upto),
            sent_after_quit,
            end_offset: self.client_offset,
            command,
            verdict: None,
        };
        if self.pairing.send(sent).is_some() {
            self.warnings.pending_overflow += 1;
        }
        if self.transcript.is_recording() {
            if let Some(c) = &self.last_command {
                let c = Command::clone(c);
                self.transcript.record(TranscriptEntry::Command(c));
            }
        }
    }

    fn server_line(&mut self, line: &Line<'_>, out: &mut dyn FnMut(Exchange<'_>)) {
        if (line.after_cut || line.unterminated)
            && !self.replies.in_multiline()
            && super::reply::reply_code(line.bytes).is_none()
        {
            if line.unterminated {
                // A reply cut before its code was complete: it answered
                // the oldest command all the same.
                self.warnings.replies_lost_in_gap += 1;
                self.pairing.reply_lost_in_gap();
            }
            // Else the tail of the reply line the gap cut (its head was a
            // reply).
            return;
        }
        if !self.replies.in_multiline() && self.pairing.absorbs(line.bytes) {
            return;
        }
        if let Some(cut) = self.replies.close_if_superseded(line) {
            self.reply(cut, out);
        }
        match self.replies.line(line) {
            Some(ReplyEvent::Reply(reply)) => self.reply(reply, out),
            Some(ReplyEvent::Garbage { after_gap: true, .. }) => {
                // The tail of a reply whose start is lost.
                self.warnings.replies_lost_in_gap += 1;
                self.pairing.reply_lost_in_gap();
            }
            Some(ReplyEvent::Garbage { .. }) => self.warnings.garbage_lines += 1,
            None => {}
        }
    }

    fn reply(&mut self, reply: Reply, out: &mut dyn FnMut(Exchange<'_>)) {
        let recording = self.transcript.is_recording().then(|| reply.clone());
        let mut judged: Option<&'static str> = None;
        self.reply_inner(reply, &mut |ex| {
            if ex.first_reply {
                judged = ex.violation.map(|r| r.id);
            }
            out(ex)
        });
        if let Some(reply) = recording {
            self.transcript.record(TranscriptEntry::Reply { reply, rule: judged });
        }
    }

    fn reply_inner(&mut self, reply: Reply, out: &mut dyn FnMut(Exchange<'_>)) {
        self.replies_seen += 1;
        if self.software_from_replies.is_none() && super::identify::may_name_software(reply.code) {
            let lines = reply.lines();
            if let Some(last) = lines.len().checked_sub(1).and_then(|i| lines.get(i)) {
                self.software_from_replies = super::identify::phrase_index(reply.code, last);
            }
        }
        match reply.code {
            214 => self.replies_214 += 1,
            503 => self.replies_503 += 1,
            _ => {}
        }
        if reply.flags.code_mismatch {
            self.warnings.code_mismatch += 1;
        }
        let ack = self.ack();
        let greeting = self.pairing.greeting(reply.code, ack);
        // The greeting's text becomes the banner once the reply is handed
        // on, without a copy; until then the reply stands in for it.
        let banner_from_reply = greeting && self.banner.is_none();
        let abort_pending = self.pairing.abort_pending();
        let help_commands =
            if reply.code == 214 { super::identify::help_commands(reply.lines()) } else { Default::default() };

        if reply.is_preliminary() {
            // 1xx: the command stays waiting for its final reply.
            if let Some(mut sent) = self.pairing.take_oldest(ack) {
                let first_reply = sent.verdict.is_none();
                let violation = self.verdict(&mut sent);
                out(Exchange {
                    reply: &reply,
                    sent: Some(&sent),
                    violation,
                    user: self.user(),
                    greeting: false,
                    first_reply,
                    server_software: self.software_or(banner_from_reply.then(|| reply.text())),
                    help_commands: &help_commands.names,
                    abort_pending,
                    tls_decrypted: self.in_tls,
                });
                self.state.on_reply(&sent.command.verb, sent.command.arg(), reply.code);
                self.pairing.keep_waiting(sent);
            } else {
                out(Exchange {
                    reply: &reply,
                    sent: None,
                    violation: None,
                    user: self.user(),
                    greeting,
                    first_reply: false,
                    server_software: self.software_or(banner_from_reply.then(|| reply.text())),
                    help_commands: &help_commands.names,
                    abort_pending,
                    tls_decrypted: self.in_tls,
                });
            }
            if banner_from_reply {
                self.banner = Some(reply.into_text());
            }
            return;
        }
        // The greeting and an unsolicited 421 answer nothing.
        let sent = self.pairing.answer(reply.code, greeting, ack);
        if sent.is_some() {
            self.answered_upto = self.server_offset;
        }
        if sent.is_none() && !greeting && reply.code != 421 {
            self.warnings.unpaired_replies += 1;
        }
        let mut sent = sent;
        let first_reply = sent.as_ref().is_some_and(|s| s.verdict.is_none());
        let violation = sent.as_mut().and_then(|s| self.verdict(s));
        if let Some(s) = &sent {
            match (s.command.verb.as_str(), reply.code) {
                ("USER" | "PASS" | "ACCT", 230 | 202) => self.login = Login::Ok,
                ("USER" | "PASS" | "ACCT", 530) if self.login != Login::Ok => self.login = Login::Failed,
                ("QUIT", 221) => self.quit_answered = true,
                _ => {}
            }
            if s.command.is("SYST") && reply.code == 215 && self.syst.is_none() {
                self.syst = Some(reply.text().into());
            }
            // pure-ftpd answers HELP with its SITE list: not the command list.
            let site_list = reply.lines().first().windows(4).any(|w| w == b"SITE");
            if s.command.is("HELP") && s.command.arg().is_empty() && !help_commands.is_empty() && !site_list {
                self.help_list = Some(Box::new(help_commands.clone()));
            }
        }
        out(Exchange {
            reply: &reply,
            sent: sent.as_ref(),
            violation,
            user: self.user(),
            greeting,
            first_reply,
            server_software: self.software_or(banner_from_reply.then(|| reply.text())),
            help_commands: &help_commands.names,
            abort_pending,
            tls_decrypted: self.in_tls,
        });
        let code = reply.code;
        if banner_from_reply {
            self.banner = Some(reply.into_text());
        }
        if let Some(sent) = &sent {
            self.state.on_reply(&sent.command.verb, sent.command.arg(), code);
            if sent.command.is("AUTH") && code == 234 {
                self.stopped = Some(StopReason::Encrypted);
            }
        }
    }

    fn verdict(&self, sent: &mut SentCommand) -> Option<&'static Rule> {
        if let Some(v) = sent.verdict {
            return v;
        }
        let v = rules::judge(
            &self.state,
            &Judged {
                verb: &sent.command.verb,
                sent_while_pending: sent.sent_while_pending,
                sent_after_quit: sent.sent_after_quit,
            },
        );
        sent.verdict = Some(v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Origin;
    use crate::ftp::transcript::TRANSCRIPT_BUDGET;

    /// Runs a script of (from_client, bytes) and returns
    /// (code, answered command, previous command, rule) per final reply.
    fn run(script: &[(bool, &[u8])]) -> Vec<(u16, String, String, String)> {
        let mut s = Session::new(SessionLimits::default());
        let mut rows = Vec::new();
        let mut sink = |e: Exchange<'_>| {
            if e.reply.is_preliminary() {
                return;
            }
            let c = e.sent.map(|s| String::from_utf8_lossy(&s.command.raw).into_owned()).unwrap_or_default();
            let p = e
                .sent
                .and_then(|s| s.previous.as_ref())
                .map(|c| String::from_utf8_lossy(&c.raw).into_owned())
                .unwrap_or_default();
            rows.push((e.reply.code, c, p, e.violation.map(|r| r.id.to_string()).unwrap_or_default()));
        };
        for (i, (client, bytes)) in script.iter().enumerate() {
            let origin = Origin { frame: i as u64 + 1, ..Default::default() };
            if *client {
                s.client_data(bytes, origin, None);
            } else {
                s.server_data(bytes, origin, None, &mut sink);
            }
        }
        s.client_end();
        s.server_end(&mut sink);
        rows
    }

    #[test]
    fn transcript_memory_is_bounded() {
        let mut s = Session::new(SessionLimits::default());
        s.transcript.start();
        let line = [b'A'; 1000];
        let mut sink = |_: Exchange<'_>| {};
        s.server_data(b"220 hi\r\n", Origin::default(), None, &mut sink);
        let n = 2 * TRANSCRIPT_BUDGET / line.len();
        for _ in 0..n {
            s.client_data(b"NOOP ", Origin::default(), None);
            s.client_data(&line, Origin::default(), None);
            s.client_data(b"\r\n", Origin::default(), None);
        }
        let dropped = s.transcript.dropped();
        let kept = s.transcript.take().unwrap().len();
        assert!(kept > 1000 && kept < n, "{kept}");
        assert_eq!(dropped as usize + kept, n + 1);
    }

    #[test]
    fn greeting_then_pipelined_pairs_in_order() {
        let rows = run(&[
            (false, b"220 hi\r\n"),
            (true, b"PASS x\r\nUSER a\r\nRNTO z\r\n"),
            (false, b"503 Login with USER first.\r\n331 ok\r\n503 RNFR required first.\r\n"),
        ]);
        assert_eq!(rows[0], (220, String::new(), String::new(), String::new()));
        assert_eq!(rows[1], (503, "PASS x".into(), String::new(), "pass-without-user".into()));
        assert_eq!(rows[2], (331, "USER a".into(), "PASS x".into(), "pipelined-command".into()));
        assert_eq!(rows[3], (503, "RNTO z".into(), "USER a".into(), "rnto-without-rnfr".into()));
    }

    #[test]
    fn preliminary_keeps_command_waiting() {
        let rows = run(&[
            (false, b"220 hi\r\n"),
            (true, b"PASV\r\n"),
            (false, b"227 Entering Passive Mode (1,2,3,4,5,6).\r\n"),
            (true, b"RETR f\r\n"),
            (false, b"150 here\r\n226 done\r\n"),
            (true, b"NOOP\r\n"),
            (false, b"200 ok\r\n"),
        ]);
        assert_eq!(rows[2].0, 226);
        assert_eq!(rows[2].1, "RETR f");
        assert_eq!(rows[3].1, "NOOP");
        assert_eq!(rows[3].2, "RETR f");
    }

    #[test]
    fn auth_tls_stops_parsing() {
        let mut s = Session::new(SessionLimits::default());
        let mut n = 0;
        let mut sink = |_e: Exchange<'_>| n += 1;
        s.server_data(b"220 hi\r\n", Origin::default(), None, &mut sink);
        s.client_data(b"AUTH TLS\r\n", Origin::default(), None);
        s.server_data(b"234 go\r\n\x16\x03\x01garbage\r\n503 x\r\n", Origin::default(), None, &mut sink);
        assert_eq!(s.stopped, Some(StopReason::Encrypted));
        assert_eq!(n, 2);
    }

    #[test]
    fn quit_during_transfer_gets_its_221() {
        let rows = run(&[
            (false, b"220 hi\r\n"),
            (true, b"RETR f\r\n"),
            (false, b"150 opening\r\n"),
            (true, b"QUIT\r\n"),
            (false, b"221 Goodbye.\r\n"),
        ]);
        assert_eq!(rows[1].0, 221);
        assert_eq!(rows[1].1, "QUIT");
        assert_eq!(rows[1].2, "RETR f");
    }

    #[test]
    fn unsolicited_421_answers_nothing() {
        let rows = run(&[(false, b"220 hi\r\n"), (false, b"421 Timeout.\r\n")]);
        assert_eq!(rows[1], (421, String::new(), String::new(), String::new()));
    }

    #[test]
    fn multiline_reply_split_everywhere() {
        let rows = run(&[
            (false, b"220 hi\r\n"),
            (true, b"HE"),
            (true, b"LP\r\n"),
            (false, b"21"),
            (false, b"4-The following\r\n AB"),
            (false, b"OR\r\n214 "),
            (false, b"Help OK.\r"),
            (false, b"\n"),
        ]);
        assert_eq!(rows[1].0, 214);
        assert_eq!(rows[1].1, "HELP");
    }
}
