//! Which command each reply answers: the queue of commands waiting for
//! their replies, the greeting, and replies whose start was lost in a gap.
//!
//! RFC 959 §5.4: every final reply answers the oldest command still
//! waiting; a 1xx reply keeps it waiting; the greeting and an unsolicited
//! 421 answer nothing. QUIT and STAT may be answered while a transfer runs.

use super::command::Command;
use super::rules::Rule;
use std::collections::VecDeque;
use std::rc::Rc;

/// A command with what was known when it was sent.
#[derive(Debug, Clone)]
pub struct SentCommand {
    pub command: Rc<Command>,
    /// Its place among the session's commands (1 for the first).
    pub number: u64,
    /// The command sent just before this one in the session.
    pub previous: Option<Rc<Command>>,
    pub sent_while_pending: bool,
    pub sent_after_quit: bool,
    /// Client stream offset just past the segment that carried it: a reply
    /// whose segment acknowledged less was sent before the server had read
    /// this command, so it cannot answer it.
    pub end_offset: u64,
    /// The checker's verdict, fixed at the command's first reply (a 1xx
    /// moves the state, so the final reply must not judge it again).
    pub(super) verdict: Option<Option<&'static Rule>>,
}

/// The commands waiting for their replies, oldest first, and how many of
/// them are ABOR: asked on every reply, so counted rather than searched for.
#[derive(Debug, Default)]
struct PendingCommands {
    queue: VecDeque<SentCommand>,
    aborts: usize,
}

impl PendingCommands {
    #[inline]
    fn counted(&mut self, sent: Option<SentCommand>) -> Option<SentCommand> {
        if sent.as_ref().is_some_and(|s| s.command.is("ABOR")) {
            self.aborts = self.aborts.saturating_sub(1);
        }
        sent
    }

    #[inline]
    fn push_back(&mut self, sent: SentCommand) {
        self.aborts += usize::from(sent.command.is("ABOR"));
        if self.queue.capacity() == 0 {
            // Room for a few pipelined commands at once, instead of the
            // growth path on a session's first command.
            self.queue = VecDeque::with_capacity(4);
        }
        self.queue.push_back(sent);
    }

    #[inline]
    fn push_front(&mut self, sent: SentCommand) {
        self.aborts += usize::from(sent.command.is("ABOR"));
        self.queue.push_front(sent);
    }

    #[inline]
    fn pop_front(&mut self) -> Option<SentCommand> {
        let sent = self.queue.pop_front();
        self.counted(sent)
    }

    #[inline]
    fn remove(&mut self, i: usize) -> Option<SentCommand> {
        let sent = self.queue.remove(i);
        self.counted(sent)
    }

    fn front(&self) -> Option<&SentCommand> {
        self.queue.front()
    }

    fn iter(&self) -> impl Iterator<Item = &SentCommand> {
        self.queue.iter()
    }

    fn len(&self) -> usize {
        self.queue.len()
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// What the session makes of server lines right after a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LostReply {
    None,
    /// A line that is not a reply followed a gap: it is the tail of a reply
    /// whose start was lost. `continued` once more text lines follow (the
    /// lost reply was multi-line, so its closing `NNN ` line is still due).
    Absorbing {
        continued: bool,
    },
}

/// Pairs one session's replies with its commands.
#[derive(Debug)]
pub(super) struct Pairing {
    pending: PendingCommands,
    /// Most commands kept waiting; the oldest is dropped for a new one.
    max_pending: usize,
    /// A reply was seen (or lost in a gap): the greeting is past.
    greeted: bool,
    lost_reply: LostReply,
}

// What the session calls for each command, reply or new session is
// `#[inline]` (here and in `PendingCommands`): it is called from another
// codegen unit, and as plain calls it cost 7% more instructions on a
// control-heavy capture (cachegrind, 20,000 sessions); with it, 0.9% more
// than before the split.
impl Pairing {
    #[inline]
    pub(super) fn new(max_pending: usize) -> Self {
        Pairing { pending: PendingCommands::default(), max_pending, greeted: false, lost_reply: LostReply::None }
    }

    /// Some command waits for its reply.
    pub(super) fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// An ABOR waits for its reply.
    pub(super) fn abort_pending(&self) -> bool {
        self.pending.aborts > 0
    }

    /// A command was sent: it waits for its reply. When `max_pending`
    /// already wait, the oldest is dropped to make room and returned.
    #[inline]
    pub(super) fn send(&mut self, sent: SentCommand) -> Option<SentCommand> {
        let dropped = if self.pending.len() >= self.max_pending { self.pending.pop_front() } else { None };
        self.pending.push_back(sent);
        dropped
    }

    /// The oldest waiting command had not reached the server when it sent
    /// a reply that acknowledged the client stream up to `ack`.
    fn front_unread(&self, ack: Option<u64>) -> bool {
        matches!((ack, self.pending.front()), (Some(ack), Some(front)) if front.end_offset > ack)
    }

    /// A reply with `code`, whose segment acknowledged the client stream up
    /// to `ack`, arrived: whether it is the server's greeting. Only the
    /// first reply can be, only 120, 220 or 421 (RFC 959 §5.4), and only
    /// when no command the server had read waits for it: a client may send
    /// USER before the 220 reaches it. A 120 (ready in n minutes) leaves
    /// room for the 220 after it.
    pub(super) fn greeting(&mut self, code: u16, ack: Option<u64>) -> bool {
        let greeting =
            !self.greeted && matches!(code, 120 | 220 | 421) && (self.pending.is_empty() || self.front_unread(ack));
        if code != 120 {
            self.greeted = true;
        }
        greeting
    }

    /// A 1xx reply (acknowledging the client stream up to `ack`): the
    /// oldest waiting command, taken out while the reply is handed on;
    /// [`Pairing::keep_waiting`] puts it back. None when the server had not
    /// read it yet.
    #[inline]
    pub(super) fn take_oldest(&mut self, ack: Option<u64>) -> Option<SentCommand> {
        if self.front_unread(ack) {
            return None;
        }
        self.pending.pop_front()
    }

    /// Puts back the command a 1xx answered: it waits for its final reply.
    #[inline]
    pub(super) fn keep_waiting(&mut self, sent: SentCommand) {
        self.pending.push_front(sent);
    }

    /// A final reply (`greeting` as [`Pairing::greeting`] said; its segment
    /// acknowledged the client stream up to `ack`): the command it answers,
    /// no longer waiting. None for the greeting, an unsolicited 421, a
    /// reply sent before the server read the oldest waiting command, or
    /// when no command waits.
    #[inline]
    pub(super) fn answer(&mut self, code: u16, greeting: bool, ack: Option<u64>) -> Option<SentCommand> {
        if greeting || (code == 421 && self.pending.is_empty()) || self.front_unread(ack) {
            None
        } else if let Some(i) = self.out_of_band_target(code) {
            self.pending.remove(i)
        } else {
            self.pending.pop_front()
        }
    }

    /// RFC 959 lets QUIT and STAT be answered while a transfer is still
    /// running: when the oldest command already has its 1xx, a 221 belongs
    /// to a waiting QUIT and a 211–213 to a waiting STAT, not to the transfer.
    #[inline]
    fn out_of_band_target(&self, code: u16) -> Option<usize> {
        let front = self.pending.front()?;
        front.verdict?;
        let verb = match code {
            221 => "QUIT",
            211..=213 => "STAT",
            _ => return None,
        };
        self.pending.iter().position(|s| s.command.is(verb)).filter(|&i| i > 0)
    }

    /// Server lines that are not a reply came right after a gap: they are
    /// the tail of a reply whose start was lost, which answered the oldest
    /// waiting command, so that command must not take the next reply.
    #[inline]
    pub(super) fn reply_lost_in_gap(&mut self) {
        self.greeted = true;
        self.pending.pop_front();
        self.lost_reply = LostReply::Absorbing { continued: false };
    }

    /// A server line read while no reply is being assembled: true when it
    /// still belongs to a reply lost in a gap (and is to be skipped).
    pub(super) fn absorbs(&mut self, line: &[u8]) -> bool {
        let LostReply::Absorbing { continued } = self.lost_reply else {
            return false;
        };
        match super::reply::reply_code(line) {
            // The closing line of a multi-line reply whose head was lost.
            Some((_, b' ')) if continued => {
                self.lost_reply = LostReply::None;
                true
            }
            Some(_) => {
                self.lost_reply = LostReply::None;
                false
            }
            None => {
                self.lost_reply = LostReply::Absorbing { continued: true };
                true
            }
        }
    }

    /// Server bytes were lost: what follows is read afresh.
    pub(super) fn server_gap(&mut self) {
        self.lost_reply = LostReply::None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Origin;
    use crate::ftp::lines::Line;

    fn sent(number: u64, raw: &str) -> SentCommand {
        let line = Line {
            bytes: raw.as_bytes(),
            origin: Origin::default(),
            truncated: false,
            after_gap: false,
            unterminated: false,
            after_cut: false,
            had_telnet: false,
        };
        let command = Rc::new(Command::parse(&line).unwrap());
        SentCommand {
            command,
            number,
            previous: None,
            sent_while_pending: false,
            sent_after_quit: false,
            end_offset: 0,
            verdict: None,
        }
    }

    fn verb(s: Option<SentCommand>) -> String {
        s.map(|s| s.command.verb.as_str().to_string()).unwrap_or_default()
    }

    #[test]
    fn greeting_answers_nothing_then_replies_answer_the_oldest() {
        let mut p = Pairing::new(64);
        assert!(p.greeting(220, None));
        assert_eq!(verb(p.answer(220, true, None)), "");
        p.send(sent(1, "USER a"));
        p.send(sent(2, "PASS b"));
        assert!(p.waiting());
        assert!(!p.greeting(220, None));
        assert_eq!(verb(p.answer(331, false, None)), "USER");
        assert_eq!(verb(p.answer(230, false, None)), "PASS");
        assert!(!p.waiting());
        // A reply with nothing waiting answers nothing.
        assert_eq!(verb(p.answer(200, false, None)), "");
    }

    #[test]
    fn a_command_before_any_reply_means_no_greeting() {
        let mut p = Pairing::new(64);
        p.send(sent(1, "SYST"));
        assert!(!p.greeting(220, None));
        assert_eq!(verb(p.answer(215, false, None)), "SYST");
    }

    #[test]
    fn preliminary_keeps_the_command_waiting() {
        let mut p = Pairing::new(64);
        p.greeting(220, None);
        p.send(sent(1, "RETR f"));
        p.send(sent(2, "NOOP"));
        let mut retr = p.take_oldest(None).unwrap();
        assert_eq!(retr.command.verb, "RETR");
        retr.verdict = Some(None);
        p.keep_waiting(retr);
        assert_eq!(verb(p.answer(226, false, None)), "RETR");
        assert_eq!(verb(p.answer(200, false, None)), "NOOP");
    }

    #[test]
    fn quit_and_stat_are_answered_during_a_transfer() {
        let mut p = Pairing::new(64);
        p.greeting(220, None);
        p.send(sent(1, "RETR f"));
        p.send(sent(2, "STAT"));
        p.send(sent(3, "QUIT"));
        // Before the transfer's 1xx, replies still answer the oldest.
        assert!(p.out_of_band_target(221).is_none());
        let mut retr = p.take_oldest(None).unwrap();
        retr.verdict = Some(None);
        p.keep_waiting(retr);
        assert_eq!(verb(p.answer(213, false, None)), "STAT");
        assert_eq!(verb(p.answer(221, false, None)), "QUIT");
        assert_eq!(verb(p.answer(226, false, None)), "RETR");
    }

    #[test]
    fn unsolicited_421_answers_nothing() {
        let mut p = Pairing::new(64);
        p.greeting(220, None);
        assert_eq!(verb(p.answer(421, false, None)), "");
        // With a command waiting, the 421 answers it.
        p.send(sent(1, "LIST"));
        assert_eq!(verb(p.answer(421, false, None)), "LIST");
    }

    #[test]
    fn aborts_are_counted_and_the_oldest_is_dropped_at_the_cap() {
        let mut p = Pairing::new(2);
        p.greeting(220, None);
        assert!(p.send(sent(1, "ABOR")).is_none());
        assert!(p.abort_pending());
        assert!(p.send(sent(2, "NOOP")).is_none());
        assert_eq!(verb(p.send(sent(3, "NOOP"))), "ABOR");
        assert!(!p.abort_pending());
        let abor = sent(4, "ABOR");
        p.keep_waiting(abor);
        assert!(p.abort_pending());
        assert_eq!(verb(p.take_oldest(None)), "ABOR");
        assert!(!p.abort_pending());
    }

    #[test]
    fn a_reply_lost_in_a_gap_takes_its_command_and_its_tail() {
        let mut p = Pairing::new(64);
        p.greeting(220, None);
        p.send(sent(1, "HELP"));
        p.send(sent(2, "NOOP"));
        p.reply_lost_in_gap();
        // Text lines of the lost multi-line reply, then its closing line.
        assert!(p.absorbs(b" USER PASS"));
        assert!(p.absorbs(b"214 Help OK."));
        assert!(!p.absorbs(b"200 ok"));
        assert_eq!(verb(p.answer(200, false, None)), "NOOP");
        // A reply right after the lost one's only line is read as a reply.
        p.send(sent(3, "NOOP"));
        p.reply_lost_in_gap();
        assert!(!p.absorbs(b"200 ok"));
        assert!(!p.absorbs(b"not a reply"), "absorbing ended");
        // A new gap ends absorbing.
        p.reply_lost_in_gap();
        p.server_gap();
        assert!(!p.absorbs(b"tail"));
    }

    #[test]
    fn a_reply_lost_in_a_gap_ends_the_greeting() {
        let mut p = Pairing::new(64);
        p.reply_lost_in_gap();
        assert!(!p.greeting(220, None));
    }
}
