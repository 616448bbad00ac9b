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
}

/// One complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code (of the closing line for multi-line replies).
    pub code: u16,
    /// All lines, in order, exactly as sent (line ends removed).
    pub lines: Vec<Vec<u8>>,
    /// Where the reply's first byte was captured.
    pub origin: Origin,
    pub flags: ReplyFlags,
}

impl Reply {
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// The lines joined with `\n`.
    pub fn text(&self) -> Vec<u8> {
        self.lines.join(&b'\n')
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
    open: Option<Reply>,
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
            match parsed {
                Some((code, b' ')) => {
                    if code != open.code {
                        open.flags.code_mismatch = true;
                    }
                    open.code = code;
                    self.push_line(line.bytes);
                    return self.open.take().map(ReplyEvent::Reply);
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
        let reply = Reply {
            code,
            lines: vec![line.bytes.to_vec()],
            origin: line.origin,
            flags: ReplyFlags { truncated: line.truncated, incomplete: line.after_gap, ..Default::default() },
        };
        if sep == b'-' {
            self.open = Some(reply);
            None
        } else {
            Some(ReplyEvent::Reply(reply))
        }
    }

    fn push_line(&mut self, bytes: &[u8]) {
        if let Some(open) = &mut self.open {
            if open.lines.len() < self.max_lines {
                open.lines.push(bytes.to_vec());
            } else {
                // Keep the closing line; drop the middle.
                self.dropped_lines += 1;
                open.flags.truncated = true;
                if let Some(last) = open.lines.last_mut() {
                    *last = bytes.to_vec();
                }
            }
        }
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
        self.open.take().map(|mut r| {
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
        assert_eq!(r.lines.len(), 4);
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
