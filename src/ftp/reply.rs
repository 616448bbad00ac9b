//! Server replies: single-line `NNN text` and multi-line `NNN-` … `NNN `
//! joined into one [`Reply`] (RFC 959 §4.2), tolerant of what real servers
//! send (a closing line with another code, empty text, text lines that start
//! with digits, replies cut by a gap).

use super::lines::Line;
use crate::flow::Origin;

/// Deviations from RFC 959 seen while assembling a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyFlags {
    /// A multi-line reply closed with a different code than it opened with.
    pub code_mismatch: bool,
    /// Part of the reply may be missing (a gap, a cut line, or the stream ended).
    pub incomplete: bool,
    /// A line was longer than the cap.
    pub truncated: bool,
    /// A line of it has no line end: a gap or a snaplen cut it (or the
    /// stream ended), so its text is partial.
    pub cut: bool,
    /// Its first line came right after a gap: its start may be missing.
    pub after_gap: bool,
}

/// One complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code (of the closing line for multi-line replies).
    pub code: u16,
    /// All lines, in order, exactly as sent (line ends removed), joined by
    /// `\n`: one buffer per reply, and the joined text is what most
    /// readers want.
    text: Vec<u8>,
    /// Where each `\n` joining two lines is in `text` (empty for a
    /// one-line reply). Kept rather than searched for, so a line holding
    /// a `\n` of its own (never from the line framer) stays one line.
    joins: Vec<usize>,
    /// Where the reply's first byte was captured.
    pub origin: Origin,
    pub flags: ReplyFlags,
}

impl Reply {
    /// A reply of one line so far.
    pub fn new(code: u16, first_line: &[u8], origin: Origin, flags: ReplyFlags) -> Self {
        Reply { code, text: first_line.to_vec(), joins: Vec::new(), origin, flags }
    }

    /// A reply made of `lines` (the first one even if there are none).
    pub fn from_lines<L: AsRef<[u8]>>(code: u16, lines: &[L], origin: Origin) -> Self {
        let mut reply =
            Reply::new(code, lines.first().map(AsRef::as_ref).unwrap_or_default(), origin, ReplyFlags::default());
        for line in lines.iter().skip(1) {
            reply.push_line(line.as_ref());
        }
        reply
    }

    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// The lines joined with `\n`.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The text (see [`Reply::text`]), kept without a copy.
    pub fn into_text(self) -> Box<[u8]> {
        self.text.into_boxed_slice()
    }

    /// The lines, in order.
    pub fn lines(&self) -> Lines<'_> {
        Lines { text: &self.text, joins: &self.joins }
    }

    fn push_line(&mut self, line: &[u8]) {
        self.joins.push(self.text.len());
        self.text.push(b'\n');
        self.text.extend_from_slice(line);
    }

    fn replace_last_line(&mut self, line: &[u8]) {
        let start = self.joins.last().map_or(0, |j| j + 1);
        self.text.truncate(start);
        self.text.extend_from_slice(line);
    }
}

/// The lines of a [`Reply`] (there is always one at least).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines<'a> {
    text: &'a [u8],
    joins: &'a [usize],
}

impl<'a> Lines<'a> {
    pub fn len(&self) -> usize {
        self.joins.len() + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let start = match i {
            0 => 0,
            _ => self.joins.get(i - 1)? + 1,
        };
        let end = self.joins.get(i).copied().unwrap_or(self.text.len());
        self.text.get(start..end)
    }

    pub fn first(&self) -> &'a [u8] {
        self.get(0).unwrap_or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }

    /// The lines joined with `\n`.
    pub fn text(&self) -> &'a [u8] {
        self.text
    }

    /// Where the joins are in [`Lines::text`].
    pub fn joins(&self) -> &'a [usize] {
        self.joins
    }
}

/// `NNN` followed by ` `, `-` or the end of the line.
pub fn reply_code(line: &[u8]) -> Option<(u16, u8)> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&d[0]) {
        return None;
    }
    let sep = line.get(3).copied().unwrap_or(b' ');
    if sep != b' ' && sep != b'-' {
        return None;
    }
    let code = (d[0] - b'0') as u16 * 100 + (d[1] - b'0') as u16 * 10 + (d[2] - b'0') as u16;
    Some((code, sep))
}

/// What the assembler made of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyEvent {
    Reply(Reply),
    /// A line that is neither a reply nor inside a multi-line reply.
    Garbage {
        origin: Origin,
        after_gap: bool,
    },
}

#[derive(Debug)]
pub struct ReplyAssembler {
    /// A multi-line reply still open (boxed: most replies are one line,
    /// and every session holds an assembler).
    open: Option<Box<Reply>>,
    max_lines: usize,
    /// Lines dropped because a multi-line reply had more than `max_lines`.
    pub dropped_lines: u64,
}

impl ReplyAssembler {
    pub fn new(max_lines: usize) -> Self {
        ReplyAssembler { open: None, max_lines: max_lines.max(2), dropped_lines: 0 }
    }

    /// True while a multi-line reply is open.
    pub fn in_multiline(&self) -> bool {
        self.open.is_some()
    }

    pub fn line(&mut self, line: &Line<'_>) -> Option<ReplyEvent> {
        let parsed = reply_code(line.bytes);
        if let Some(open) = &mut self.open {
            if line.truncated {
                open.flags.truncated = true;
            }
            if line.after_gap {
                open.flags.incomplete = true;
            }
            if line.unterminated {
                open.flags.cut = true;
            }
            match parsed {
                Some((code, b' ')) => {
                    if code != open.code {
                        open.flags.code_mismatch = true;
                    }
                    open.code = code;
                    self.push_line(line.bytes);
                    return self.open.take().map(|r| ReplyEvent::Reply(*r));
                }
                _ => {
                    self.push_line(line.bytes);
                    return None;
                }
            }
        }
        let Some((code, sep)) = parsed else {
            if line.bytes.is_empty() && !line.after_gap {
                return None;
            }
            return Some(ReplyEvent::Garbage { origin: line.origin, after_gap: line.after_gap });
        };
        let reply = Reply::new(
            code,
            line.bytes,
            line.origin,
            ReplyFlags {
                truncated: line.truncated,
                incomplete: line.after_gap,
                cut: line.unterminated,
                after_gap: line.after_gap,
                ..Default::default()
            },
        );
        if sep == b'-' {
            self.open = Some(Box::new(reply));
            None
        } else {
            Some(ReplyEvent::Reply(reply))
        }
    }

    fn push_line(&mut self, bytes: &[u8]) {
        if let Some(open) = &mut self.open {
            if open.lines().len() < self.max_lines {
                open.push_line(bytes);
            } else {
                // Keep the closing line; drop the middle.
                self.dropped_lines += 1;
                open.flags.truncated = true;
                open.replace_last_line(bytes);
            }
        }
    }

    /// After a gap inside an open multi-line reply, a line that starts a
    /// reply with another code begins the next reply: the gap took the
    /// closing line (a snaplen cut a one-segment HELP list). The open reply
    /// is handed on, incomplete, so that it does not swallow the replies
    /// after it. (RFC 959 lets a continuation line begin with another
    /// code; next to a gap the next reply is by far the likelier reading.)
    pub fn close_if_superseded(&mut self, line: &Line<'_>) -> Option<Reply> {
        let open = self.open.as_ref()?;
        let (code, _) = reply_code(line.bytes)?;
        // The same first line again is the next reply too: the server
        // answering a repeated command (a reply does not repeat its head).
        let repeated_head = open.lines().first() == line.bytes;
        if !open.flags.incomplete || (code == open.code && !repeated_head) {
            return None;
        }
        self.open.take().map(|r| *r)
    }

    /// Where the open multi-line reply began, if one is open.
    pub fn open_origin(&self) -> Option<Origin> {
        self.open.as_ref().map(|r| r.origin)
    }

    /// A gap in the server stream: an open reply is marked incomplete.
    pub fn gap(&mut self) {
        if let Some(open) = &mut self.open {
            open.flags.incomplete = true;
        }
    }

    /// End of stream: an open multi-line reply is handed on as incomplete.
    pub fn finish(&mut self) -> Option<Reply> {
        self.open.take().map(|r| {
            let mut r = *r;
            r.flags.incomplete = true;
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(lines: &[&[u8]]) -> Vec<ReplyEvent> {
        let mut a = ReplyAssembler::new(100);
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let line = Line {
                bytes: l,
                origin: Origin { frame: i as u64 + 1, ..Default::default() },
                truncated: false,
                after_gap: false,
                unterminated: false,
                after_cut: false,
                had_telnet: false,
            };
            out.extend(a.line(&line));
        }
        out.extend(a.finish().map(ReplyEvent::Reply));
        out
    }

    fn reply(ev: &ReplyEvent) -> &Reply {
        match ev {
            ReplyEvent::Reply(r) => r,
            other => panic!("not a reply: {other:?}"),
        }
    }

    #[test]
    fn a_reply_after_a_gap_closes_the_multiline_reply_it_cut() {
        let mut a = ReplyAssembler::new(100);
        let line = |bytes: &'static [u8], frame: u64| Line {
            bytes,
            origin: Origin { frame, ..Default::default() },
            truncated: false,
            after_gap: false,
            unterminated: false,
            after_cut: false,
            had_telnet: false,
        };
        assert_eq!(a.line(&line(b"214-The following SITE command", 1)), None);
        a.gap();
        assert!(a.close_if_superseded(&line(b" continued", 2)).is_none(), "not a code line");
        assert!(a.close_if_superseded(&line(b"214 end", 2)).is_none(), "its own closing line");
        let again = a.close_if_superseded(&line(b"214-The following SITE command", 2));
        assert_eq!(again.map(|r| r.code), Some(214), "the same head again: the next reply");
        assert_eq!(a.line(&line(b"214-The following SITE command", 2)), None);
        a.gap();
        let cut = a.close_if_superseded(&line(b"215 UNIX Type: L8", 2)).expect("the next reply");
        assert_eq!((cut.code, cut.flags.incomplete), (214, true));
        assert!(!a.in_multiline());
        // Without a gap, a line with another code is a continuation line.
        assert_eq!(a.line(&line(b"211-Features:", 3)), None);
        assert!(a.close_if_superseded(&line(b"215 x", 4)).is_none());
    }

    #[test]
    fn parses_codes() {
        assert_eq!(reply_code(b"503 Bad"), Some((503, b' ')));
        assert_eq!(reply_code(b"214-x"), Some((214, b'-')));
        assert_eq!(reply_code(b"221"), Some((221, b' ')));
        assert_eq!(reply_code(b"21"), None);
        assert_eq!(reply_code(b"2145"), None);
        assert_eq!(reply_code(b"600 x"), None);
        assert_eq!(reply_code(b"abc"), None);
    }

    #[test]
    fn multiline_with_digit_lines_inside() {
        let ev = feed(&[b"214-The following", b" USER PASS", b"214-not the end", b"211 still text?", b"214 Help OK."]);
        // RFC 959: the reply ends at the first `NNN ` line; a different code is
        // tolerated as the end and flagged.
        let r = reply(&ev[0]);
        assert_eq!(r.code, 211);
        assert!(r.flags.code_mismatch);
        assert_eq!(r.lines().len(), 4);
        assert_eq!(r.lines().get(2), Some(&b"214-not the end"[..]));
        assert_eq!(r.text(), b"214-The following\n USER PASS\n214-not the end\n211 still text?");
        assert_eq!(r.origin.frame, 1);
    }

    #[test]
    fn single_and_empty_text() {
        let ev = feed(&[b"221 ", b"503"]);
        assert_eq!(reply(&ev[0]).code, 221);
        assert_eq!(reply(&ev[1]).code, 503);
    }

    #[test]
    fn unterminated_multiline_is_incomplete() {
        let ev = feed(&[b"230-Welcome", b" more"]);
        let r = reply(&ev[0]);
        assert!(r.flags.incomplete);
        assert_eq!(r.code, 230);
    }

    #[test]
    fn garbage_outside_reply() {
        let ev = feed(&[b"hello", b"200 ok"]);
        assert!(matches!(ev[0], ReplyEvent::Garbage { .. }));
        assert_eq!(reply(&ev[1]).code, 200);
    }
}
