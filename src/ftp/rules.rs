//! The command-sequence checker: FTP ordering rules as one table of data.
//!
//! Each [`Rule`] names the commands it judges, where it comes from (an RFC
//! section, or "server policy" where the RFCs do not require it), a predicate
//! over the session's [`SequenceState`], and the sentence and missing step the
//! report prints. The state moves on *replies*, not commands (a PASS answered
//! 530 does not log in; an RNFR answered 550 arms nothing), so a command is
//! judged against the state left by every reply before its own.

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Rfc(&'static str),
    /// Real servers enforce it but no RFC requires it.
    ServerPolicy,
}

impl Source {
    pub fn label(&self) -> &'static str {
        match self {
            Source::Rfc(s) => s,
            Source::ServerPolicy => "server policy",
        }
    }
}

/// The session facts the rules look at. Only [`SequenceState::on_reply`]
/// and [`SequenceState::on_send`] change it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceState {
    /// USER was accepted (331/332/230) at some point.
    pub user_given: bool,
    /// The last answered command was USER with 331: PASS is expected now.
    pub awaiting_pass: bool,
    /// USER or PASS was answered 332: ACCT is expected now.
    pub awaiting_acct: bool,
    pub logged_in: bool,
    /// The last answered command was RNFR with 350.
    pub rnfr_pending: bool,
    /// An RNFR was accepted but another command came before any RNTO.
    pub rnfr_lapsed: bool,
    /// The last answered command was REST with 350.
    pub rest_pending: bool,
    /// PORT/EPRT/PASV/EPSV succeeded and no transfer has used it yet.
    pub data_ready: bool,
    /// EPSV ALL was accepted: only EPSV may set up data connections.
    pub epsv_all: bool,
    /// AUTH answered 234, or ADAT answered 235: the security exchange is done.
    pub auth_done: bool,
    /// AUTH answered 334: ADAT is expected.
    pub adat_expected: bool,
    pub pbsz_done: bool,
    /// QUIT was sent (judged at send time: nothing may follow it).
    pub quit_sent: bool,
}

/// What is known about a command when it is judged.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    pub verb: &'a str,
    /// Another command was still waiting for its reply when this was sent.
    pub sent_while_pending: bool,
    /// QUIT had already been sent when this was sent.
    pub sent_after_quit: bool,
}

pub const TRANSFER_VERBS: &[&str] = &["RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"];
const REST_TARGETS: &[&str] = &["RETR", "STOR", "STOU", "APPE", "REST"];
/// Commands RFC 959 allows during a transfer or at any time.
const ANYTIME_VERBS: &[&str] = &["ABOR", "STAT", "QUIT"];

/// Verbs for which an RFC lists 503 as a legal reply.
pub const RFC_503_VERBS: &[&str] = &["PASS", "ACCT", "RNTO", "ADAT", "PBSZ", "PROT", "HOST"];

/// One ordering rule.
pub struct Rule {
    /// Stable machine-readable id (the report's `rule` column).
    pub id: &'static str,
    pub source: Source,
    /// Verbs this rule judges; empty means every verb.
    pub verbs: &'static [&'static str],
    /// True when the command breaks the rule in this state.
    pub broken: fn(&SequenceState, &Judged<'_>) -> bool,
    /// What went wrong, completing "`<VERB>` …".
    pub what: &'static str,
    /// The step that was skipped.
    pub missing: &'static str,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Rule {
    pub fn applies_to(&self, verb: &str) -> bool {
        self.verbs.is_empty() || self.verbs.contains(&verb)
    }

    /// The report's one-sentence diagnosis.
    pub fn diagnosis(&self, verb: &str) -> String {
        let mut out = Vec::new();
        self.write_diagnosis(verb, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// [`Rule::diagnosis`], appended to `out` piece by piece (one per
    /// reported row, so no `format!`).
    pub fn write_diagnosis(&self, verb: &str, out: &mut Vec<u8>) {
        let verb = if verb.is_empty() { "the command" } else { verb };
        for piece in [verb, " ", self.what, " (", self.source.label(), "); missing step: ", self.missing, "."] {
            out.extend_from_slice(piece.as_bytes());
        }
    }
}

/// Every ordering rule, in the order they are tried: the first broken rule
/// is the diagnosis.
pub static RULES: &[Rule] = &[
    Rule {
        id: "command-after-quit",
        source: Source::Rfc("RFC 959 §4.1.1"),
        verbs: &[],
        broken: |_, j| j.sent_after_quit,
        what: "was sent after QUIT, when the session was already closing",
        missing: "none; nothing may follow QUIT",
    },
    Rule {
        id: "pass-when-logged-in",
        source: Source::Rfc("RFC 959 §4.1.1"),
        verbs: &["PASS"],
        broken: |s, _| s.logged_in && !s.awaiting_pass,
        what: "was sent while already logged in",
        missing: "USER (a new login starts with USER)",
    },
    Rule {
        id: "pass-without-user",
        source: Source::Rfc("RFC 959 §4.1.1"),
        verbs: &["PASS"],
        broken: |s, _| !s.awaiting_pass,
        what: "was not immediately preceded by a USER answered 331",
        missing: "USER",
    },
    Rule {
        id: "acct-without-332",
        source: Source::Rfc("RFC 959 §4.1.1"),
        verbs: &["ACCT"],
        broken: |s, _| !s.awaiting_acct,
        what: "was sent although no USER or PASS was answered 332 (account needed)",
        missing: "USER/PASS answered 332",
    },
    Rule {
        id: "rnto-not-after-rnfr",
        source: Source::Rfc("RFC 959 §4.1.3"),
        verbs: &["RNTO"],
        broken: |s, _| !s.rnfr_pending && s.rnfr_lapsed,
        what: "did not immediately follow the RNFR answered 350: another command came between them",
        missing: "RNFR right before RNTO",
    },
    Rule {
        id: "rnto-without-rnfr",
        source: Source::Rfc("RFC 959 §4.1.3"),
        verbs: &["RNTO"],
        broken: |s, _| !s.rnfr_pending,
        what: "was sent without an RNFR answered 350 before it",
        missing: "RNFR",
    },
    Rule {
        id: "rest-not-before-transfer",
        source: Source::Rfc("RFC 959 §4.1.3, RFC 3659 §5"),
        verbs: &[],
        broken: |s, j| s.rest_pending && !REST_TARGETS.contains(&j.verb),
        what: "followed a REST answered 350, which must be followed by RETR, STOR, STOU or APPE",
        missing: "RETR/STOR/STOU/APPE right after REST",
    },
    Rule {
        id: "data-setup-after-epsv-all",
        source: Source::Rfc("RFC 2428 §4"),
        verbs: &["PORT", "PASV", "EPRT"],
        broken: |s, _| s.epsv_all,
        what: "was sent after EPSV ALL was accepted, when only EPSV may set up data connections",
        missing: "none; use EPSV after EPSV ALL",
    },
    Rule {
        id: "transfer-without-data-setup",
        source: Source::ServerPolicy,
        verbs: TRANSFER_VERBS,
        broken: |s, _| !s.data_ready,
        what: "was sent with no data connection prepared (RFC 959 defines a default data port, so only servers that require one refuse this)",
        missing: "PORT, PASV, EPRT or EPSV",
    },
    Rule {
        id: "pbsz-without-auth",
        source: Source::Rfc("RFC 2228 §3"),
        verbs: &["PBSZ"],
        broken: |s, _| !s.auth_done,
        what: "was sent before a completed security exchange",
        missing: "AUTH (answered 234, or 334 then ADAT answered 235)",
    },
    Rule {
        id: "prot-without-pbsz",
        source: Source::Rfc("RFC 2228 §3"),
        verbs: &["PROT"],
        broken: |s, _| !s.pbsz_done,
        what: "was sent before a PBSZ was accepted",
        missing: "PBSZ",
    },
    Rule {
        id: "adat-without-auth",
        source: Source::Rfc("RFC 2228 §3"),
        verbs: &["ADAT"],
        broken: |s, _| !s.adat_expected,
        what: "was sent without an AUTH answered 334 before it",
        missing: "AUTH answered 334",
    },
    Rule {
        id: "host-after-user",
        source: Source::Rfc("RFC 7151 §3"),
        verbs: &["HOST"],
        broken: |s, _| s.user_given || s.logged_in,
        what: "was sent after USER; HOST must come before the login",
        missing: "HOST before USER",
    },
    Rule {
        id: "pipelined-command",
        source: Source::Rfc("RFC 959 §5.4"),
        verbs: &[],
        broken: |_, j| j.sent_while_pending && !ANYTIME_VERBS.contains(&j.verb),
        what: "was sent before the previous command was answered",
        missing: "waiting for the previous reply",
    },
];

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The first rule the command breaks in this state, if any.
pub fn judge(state: &SequenceState, cmd: &Judged<'_>) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.applies_to(cmd.verb) && (r.broken)(state, cmd))
}

impl SequenceState {
    /// Send-time facts (QUIT cannot wait for its reply to count).
    pub fn on_send(&mut self, verb: &str) {
        if verb == "QUIT" {
            self.quit_sent = true;
        }
    }

    /// Moves the state on the final (or preliminary) reply to a command.
    /// `arg` is the command's argument as sent; only its first word is
    /// looked at (`EPSV ALL`), case-insensitively.
    pub fn on_reply(&mut self, verb: &str, arg: &[u8], code: u16) {
        let ok = (200..400).contains(&code);
        let prelim = (100..200).contains(&code);
        if prelim {
            if TRANSFER_VERBS.contains(&verb) {
                self.data_ready = false;
                self.rest_pending = false;
            }
            return;
        }
        // Anything answered clears the "immediately after" expectations.
        if self.rnfr_pending && verb != "RNTO" {
            self.rnfr_lapsed = true;
        }
        self.awaiting_pass = false;
        self.rnfr_pending = false;
        if verb != "REST" {
            self.rest_pending = false;
        }
        if verb != "ACCT" && verb != "PASS" && verb != "USER" {
            self.awaiting_acct = false;
        }
        match verb {
            "USER" => match code {
                331 => {
                    self.user_given = true;
                    self.awaiting_pass = true;
                    self.logged_in = false;
                }
                332 => {
                    self.user_given = true;
                    self.awaiting_acct = true;
                }
                230 => {
                    self.user_given = true;
                    self.logged_in = true;
                }
                _ => {}
            },
            "PASS" => match code {
                230 | 202 => self.logged_in = true,
                332 => self.awaiting_acct = true,
                _ => {}
            },
            "ACCT" if code == 230 || code == 202 => {
                self.logged_in = true;
                self.awaiting_acct = false;
            }
            "RNFR" if code == 350 => {
                self.rnfr_pending = true;
                self.rnfr_lapsed = false;
            }
            "RNTO" => self.rnfr_lapsed = false,
            "REST" => self.rest_pending = code == 350,
            "PORT" | "EPRT" if ok => self.data_ready = true,
            "PASV" if code == 227 => self.data_ready = true,
            "EPSV" if arg.split(|b| *b == b' ').next().is_some_and(|w| w.eq_ignore_ascii_case(b"ALL")) => {
                self.epsv_all |= ok
            }
            "EPSV" if code == 229 => self.data_ready = true,
            "AUTH" if code == 234 => self.auth_done = true,
            "AUTH" if code == 334 => self.adat_expected = true,
            "ADAT" if code == 235 => {
                self.auth_done = true;
                self.adat_expected = false;
            }
            "PBSZ" if ok => self.pbsz_done = true,
            "REIN" if ok => {
                let quit_sent = self.quit_sent;
                *self = SequenceState { quit_sent, ..Default::default() };
            }
            v if TRANSFER_VERBS.contains(&v) => self.data_ready = false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(verb: &str) -> Judged<'_> {
        Judged { verb, sent_while_pending: false, sent_after_quit: false }
    }

    fn id(s: &SequenceState, verb: &str) -> Option<&'static str> {
        judge(s, &j(verb)).map(|r| r.id)
    }

    #[test]
    fn rule_ids_are_unique() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert_ne!(a.id, b.id);
            }
        }
    }

    #[test]
    fn login_sequence() {
        let mut s = SequenceState::default();
        assert_eq!(id(&s, "PASS"), Some("pass-without-user"));
        s.on_reply("USER", b"", 331);
        assert_eq!(id(&s, "PASS"), None);
        s.on_reply("PASS", b"", 530);
        assert_eq!(id(&s, "PASS"), Some("pass-without-user"));
        s.on_reply("USER", b"", 331);
        s.on_reply("PASS", b"", 230);
        assert_eq!(id(&s, "PASS"), Some("pass-when-logged-in"));
        assert_eq!(id(&s, "ACCT"), Some("acct-without-332"));
        assert_eq!(id(&s, "HOST"), Some("host-after-user"));
    }

    #[test]
    fn rename_sequence() {
        let mut s = SequenceState::default();
        assert_eq!(id(&s, "RNTO"), Some("rnto-without-rnfr"));
        s.on_reply("RNFR", b"", 550);
        assert_eq!(id(&s, "RNTO"), Some("rnto-without-rnfr"));
        s.on_reply("RNFR", b"", 350);
        assert_eq!(id(&s, "RNTO"), None);
        s.on_reply("PWD", b"", 257);
        assert_eq!(id(&s, "RNTO"), Some("rnto-not-after-rnfr"));
    }

    #[test]
    fn data_and_rest_and_security() {
        let mut s = SequenceState::default();
        assert_eq!(id(&s, "RETR"), Some("transfer-without-data-setup"));
        s.on_reply("PASV", b"", 227);
        assert_eq!(id(&s, "RETR"), None);
        s.on_reply("RETR", b"", 150);
        assert_eq!(id(&s, "LIST"), Some("transfer-without-data-setup"));
        s.on_reply("REST", b"", 350);
        assert_eq!(id(&s, "NOOP"), Some("rest-not-before-transfer"));
        let mut other = s.clone();
        other.on_reply("EPSV", b"allx", 200);
        assert_eq!(id(&other, "PORT"), None, "only the word ALL counts");
        s.on_reply("EPSV", b"all now", 200);
        assert_eq!(id(&s, "PORT"), Some("data-setup-after-epsv-all"));
        assert_eq!(id(&s, "PBSZ"), Some("pbsz-without-auth"));
        assert_eq!(id(&s, "PROT"), Some("prot-without-pbsz"));
        assert_eq!(id(&s, "ADAT"), Some("adat-without-auth"));
        s.on_reply("AUTH", b"", 334);
        assert_eq!(id(&s, "ADAT"), None);
    }

    #[test]
    fn send_time_rules() {
        let s = SequenceState::default();
        let mut jq = j("NOOP");
        jq.sent_after_quit = true;
        assert_eq!(judge(&s, &jq).map(|r| r.id), Some("command-after-quit"));
        let mut jp = j("NOOP");
        jp.sent_while_pending = true;
        assert_eq!(judge(&s, &jp).map(|r| r.id), Some("pipelined-command"));
        let mut ja = j("ABOR");
        ja.sent_while_pending = true;
        assert_eq!(judge(&s, &ja).map(|r| r.id), None);
    }

    #[test]
    fn rein_resets() {
        let mut s = SequenceState::default();
        s.on_reply("USER", b"", 331);
        s.on_reply("PASS", b"", 230);
        s.on_reply("REIN", b"", 220);
        assert_eq!(s, SequenceState::default());
    }
}
