//! Line framing of the FTP control connection (RFC 959 §4.2 and the Telnet
//! conventions it inherits).
//!
//! * Lines end at LF; a CR right before it is dropped (CRLF and bare LF).
//! * Telnet IAC sequences are stripped: `IAC IAC` is a 0xFF data byte,
//!   `IAC WILL/WONT/DO/DONT opt` and `IAC SB … IAC SE` are negotiation,
//!   any other `IAC x` (IP, DM, …) is a two-byte command.
//! * A sub-negotiation is at most [`MAX_SUBNEGOTIATION`] bytes and holds no
//!   line end: an `IAC SB` that runs longer, meets a LF, a gap or the end of
//!   the stream was data (an un-doubled 0xFF 0xFA, Latin-1 "ÿú" in a path)
//!   and is framed as such from its 0xFF on, counted in
//!   [`LineFramer::subnegotiation_overruns`]. Before this cap it swallowed
//!   the rest of the stream.
//! * `CR NUL` is a literal CR (RFC 2640); other NULs are kept as data.
//! * Lines longer than the cap keep their first `max_line` bytes and are
//!   flagged `truncated`.
//! * After a gap the next line is flagged `after_gap`: its start may be lost.
//!
//! Framing works byte by byte across chunk boundaries, so any chunking of a
//! stream yields the same lines (a property test checks this).

use crate::flow::Origin;
use crate::word;

/// One complete line, without its line end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub bytes: &'a [u8],
    /// Where the line's first byte was captured.
    pub origin: Origin,
    /// The line was longer than the cap and was cut.
    pub truncated: bool,
    /// A gap came right before this line: its start may be missing.
    pub after_gap: bool,
    /// No line end came: the stream ended, or a gap (lost segments, a
    /// snaplen) cut the line; its head is all there is.
    pub unterminated: bool,
    /// The line right after a gap that cut a line: it may be that line's
    /// tail rather than a line of its own.
    pub after_cut: bool,
    /// Telnet commands (IP, DM, options) were stripped from this line.
    pub had_telnet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    Data,
    Iac,
    Option,
    Sub,
    SubIac,
}

const IAC: u8 = 0xff;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DONT: u8 = 254;

/// Longest Telnet sub-negotiation taken as one (bytes after `IAC SB`, up
/// to and including `IAC SE`). FTP negotiates no option; the longest real
/// ones (terminal type, window size) are a few dozen bytes.
pub const MAX_SUBNEGOTIATION: usize = 64;

/// Invariant: in the `Sub` and `SubIac` states the last `sub_len` bytes of
/// `buf` are the sub-negotiation's so far (after its `IAC SB`), never more
/// than [`MAX_SUBNEGOTIATION`]; they leave `buf` at its `IAC SE`, or are
/// framed again as data. In the other states `sub_len` is 0.
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// A u32 keeps a session within its allocation size class.
    max_line: u32,
    telnet: Telnet,
    /// Bytes of the sub-negotiation in progress at the end of `buf`.
    sub_len: u8,
    /// `origin` was set by the sub-negotiation's `IAC SB` (no line byte
    /// came before it).
    sub_set_origin: bool,
    /// Sub-negotiations framed as data: too long, or cut by a line end, a
    /// gap or the end of the stream (saturating; a u32 for the size class).
    pub subnegotiation_overruns: u32,
    origin: Option<Origin>,
    truncated: bool,
    after_gap: bool,
    /// The gap before the next line cut a line (see [`Line::after_cut`]).
    after_cut: bool,
    had_telnet: bool,
    /// The last byte stored is a CR that may end the line.
    cr_pending: bool,
    /// Lines cut by the cap so far.
    pub truncated_lines: u64,
    /// Lines a gap cut, handed on with the head that was captured.
    pub cut_lines: u64,
}

impl LineFramer {
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            buf: Vec::new(),
            max_line: u32::try_from(max_line.max(16)).unwrap_or(u32::MAX),
            telnet: Telnet::Data,
            sub_len: 0,
            sub_set_origin: false,
            subnegotiation_overruns: 0,
            origin: None,
            truncated: false,
            after_gap: false,
            after_cut: false,
            had_telnet: false,
            cr_pending: false,
            truncated_lines: 0,
            cut_lines: 0,
        }
    }

    fn store(&mut self, b: u8, origin: Origin) {
        if self.origin.is_none() {
            self.origin = Some(origin);
        }
        if b == 0 && self.cr_pending {
            // CR NUL: the CR is data, the NUL is padding.
            self.cr_pending = false;
            return;
        }
        if self.buf.len() < self.max_line as usize {
            self.buf.push(b);
        } else {
            self.truncated = true;
        }
        self.cr_pending = b == b'\r' && !self.truncated;
    }

    /// [`LineFramer::store`] for a run of bytes that holds no NUL.
    fn store_run(&mut self, run: &[u8], origin: Origin) {
        if self.origin.is_none() {
            self.origin = Some(origin);
        }
        let room = (self.max_line as usize).saturating_sub(self.buf.len());
        if run.len() > room {
            self.buf.extend_from_slice(&run[..room]);
            self.truncated = true;
        } else {
            self.buf.extend_from_slice(run);
        }
        self.cr_pending = run.last() == Some(&b'\r') && !self.truncated;
    }

    fn emit(&mut self, unterminated: bool, out: &mut dyn FnMut(Line<'_>)) {
        if self.cr_pending && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let origin = self.origin.take().unwrap_or_default();
        if self.truncated {
            self.truncated_lines += 1;
        }
        out(Line {
            bytes: &self.buf,
            origin,
            truncated: self.truncated,
            after_gap: self.after_gap,
            unterminated,
            after_cut: self.after_cut,
            had_telnet: self.had_telnet,
        });
        self.buf.clear();
        self.truncated = false;
        self.after_gap = false;
        self.after_cut = false;
        self.had_telnet = false;
        self.cr_pending = false;
    }

    /// Feeds in-order stream bytes; calls `out` for every completed line.
    pub fn feed(&mut self, data: &[u8], origin: Origin, out: &mut dyn FnMut(Line<'_>)) {
        let mut at = 0;
        while at < data.len() {
            if self.telnet == Telnet::Data {
                // Plain line bytes up to the next LF, IAC or NUL are stored
                // as one run: the per-byte state machine below is only
                // needed for those three.
                let rest = &data[at..];
                let words =
                    word::clean_prefix(rest, |x| word::has(x, b'\n') || word::has(x, IAC) || word::has_below(x, 1));
                let run = words
                    + rest[words..]
                        .iter()
                        .position(|&b| b == b'\n' || b == IAC || b == 0)
                        .unwrap_or(rest.len() - words);
                // A whole line in this chunk, nothing held from before: it is
                // handed on from `data` itself, not copied (most lines).
                let whole = data.get(at + run) == Some(&b'\n') && run <= self.max_line as usize;
                if whole && self.buf.is_empty() && self.origin.is_none() && !self.truncated {
                    let line = &data[at..at + run];
                    out(Line {
                        bytes: line.strip_suffix(b"\r").unwrap_or(line),
                        origin,
                        truncated: false,
                        after_gap: self.after_gap,
                        unterminated: false,
                        after_cut: self.after_cut,
                        had_telnet: self.had_telnet,
                    });
                    self.after_gap = false;
                    self.after_cut = false;
                    self.had_telnet = false;
                    self.cr_pending = false;
                    at += run + 1;
                    continue;
                }
                if run > 0 {
                    self.store_run(&data[at..at + run], origin);
                    at += run;
                    continue;
                }
            }
            let b = data[at];
            at += 1;
            match self.telnet {
                Telnet::Data => {
                    if b == IAC {
                        self.telnet = Telnet::Iac;
                    } else if b == b'\n' {
                        if self.origin.is_none() {
                            self.origin = Some(origin);
                        }
                        self.emit(false, out);
                    } else {
                        self.store(b, origin);
                    }
                }
                Telnet::Iac => {
                    self.telnet = match b {
                        IAC => {
                            self.store(IAC, origin);
                            Telnet::Data
                        }
                        WILL..=DONT => Telnet::Option,
                        SB => {
                            // Held in `buf` until its IAC SE says it was one.
                            self.sub_set_origin = self.origin.is_none();
                            if self.sub_set_origin {
                                self.origin = Some(origin);
                            }
                            Telnet::Sub
                        }
                        _ => Telnet::Data,
                    };
                    if b != IAC && b != SB {
                        self.had_telnet = true;
                    }
                }
                Telnet::Option => self.telnet = Telnet::Data,
                Telnet::Sub | Telnet::SubIac => {
                    if self.telnet == Telnet::SubIac && b == SE {
                        // A sub-negotiation after all: it leaves the line.
                        let start = self.buf.len() - usize::from(self.sub_len);
                        self.buf.truncate(start);
                        if self.sub_set_origin {
                            self.origin = None;
                        }
                        self.sub_len = 0;
                        self.had_telnet = true;
                        self.telnet = Telnet::Data;
                        continue;
                    }
                    self.telnet = if self.telnet == Telnet::Sub && b == IAC { Telnet::SubIac } else { Telnet::Sub };
                    self.buf.push(b);
                    self.sub_len += 1;
                    if b == b'\n' || usize::from(self.sub_len) >= MAX_SUBNEGOTIATION {
                        self.subnegotiation_as_data(out);
                    }
                }
            }
        }
    }

    /// The sub-negotiation in progress was data: frames it again as such,
    /// from its `IAC SB` on. Its bytes hold no line end but maybe the last
    /// one, so no line starts inside them and the line's origin stays
    /// right; an `IAC SB` among them starts a shorter sub-negotiation, so
    /// this recursion ends.
    fn subnegotiation_as_data(&mut self, out: &mut dyn FnMut(Line<'_>)) {
        let mut held = [0u8; MAX_SUBNEGOTIATION];
        let n = usize::from(self.sub_len);
        let start = self.buf.len() - n;
        held[..n].copy_from_slice(&self.buf[start..]);
        self.buf.truncate(start);
        self.sub_len = 0;
        self.telnet = Telnet::Data;
        self.subnegotiation_overruns = self.subnegotiation_overruns.saturating_add(1);
        // The line's origin: the IAC SB's when it set it, else the line's.
        let origin = self.origin.unwrap_or_default();
        self.store(IAC, origin);
        self.store(SB, origin);
        self.feed(&held[..n], origin, out);
    }

    /// A sub-negotiation still open where the stream stops (a gap, its end)
    /// was data (and so is one its bytes open, shorter each time).
    fn close_subnegotiation(&mut self, out: &mut dyn FnMut(Line<'_>)) {
        while matches!(self.telnet, Telnet::Sub | Telnet::SubIac) {
            self.subnegotiation_as_data(out);
        }
    }

    /// Where the line being assembled began, if one is.
    pub fn partial_origin(&self) -> Option<Origin> {
        self.origin
    }

    /// Bytes were lost at this point of the stream: a partial line is
    /// dropped (its end is missing) and the next line is marked.
    /// Bytes of the stream are missing here. A line in progress is handed
    /// on as it is, unterminated: "503 RNFR requi" is still a 503, and
    /// `RNTO renamed.t` still the command.
    pub fn gap(&mut self, out: &mut dyn FnMut(Line<'_>)) {
        self.close_subnegotiation(out);
        let cut = !self.buf.is_empty() || self.truncated;
        if cut {
            self.cut_lines += 1;
            self.emit(true, out);
        }
        self.after_cut = cut;
        self.buf.clear();
        self.origin = None;
        self.truncated = false;
        self.had_telnet = false;
        self.cr_pending = false;
        self.telnet = Telnet::Data;
        self.after_gap = true;
    }

    /// End of stream: a final line without a line end is still handed on.
    /// No partial line or sub-negotiation is held ([`LineFramer::finish`] would hand on
    /// nothing) and no line was cut or lost.
    pub fn finish_is_silent(&self) -> bool {
        self.buf.is_empty()
            && !self.truncated
            && self.truncated_lines == 0
            && self.cut_lines == 0
            && self.subnegotiation_overruns == 0
            && !matches!(self.telnet, Telnet::Sub | Telnet::SubIac)
    }

    pub fn finish(&mut self, out: &mut dyn FnMut(Line<'_>)) {
        self.close_subnegotiation(out);
        if !self.buf.is_empty() || self.truncated {
            self.emit(true, out);
        }
        self.telnet = Telnet::Data;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(chunks: &[&[u8]]) -> Vec<(Vec<u8>, u64, bool)> {
        let mut f = LineFramer::new(64);
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let origin = Origin { frame: i as u64 + 1, ..Default::default() };
            f.feed(c, origin, &mut |l| out.push((l.bytes.to_vec(), l.origin.frame, l.truncated)));
        }
        f.finish(&mut |l| out.push((l.bytes.to_vec(), l.origin.frame, l.truncated)));
        out
    }

    #[test]
    fn crlf_bare_lf_and_split_lines() {
        let got = lines(&[b"USER a\r\nPA", b"SS b\nNOOP\r", b"\n"]);
        assert_eq!(
            got,
            vec![(b"USER a".to_vec(), 1, false), (b"PASS b".to_vec(), 1, false), (b"NOOP".to_vec(), 2, false)]
        );
    }

    #[test]
    fn telnet_sequences_are_stripped() {
        let got = lines(&[b"\xff\xf4\xff\xf2ABOR\r\n", b"RETR a\xff\xffb\r\n", b"\xff\xfb\x01NOOP\r\n"]);
        assert_eq!(got[0].0, b"ABOR");
        assert_eq!(got[1].0, b"RETR a\xffb");
        assert_eq!(got[2].0, b"NOOP");
        let got = lines(&[b"\xff\xfa\x18\x01\xff\xf0STAT\r\n"]);
        assert_eq!(got[0].0, b"STAT");
    }

    #[test]
    fn an_undoubled_iac_sb_in_a_path_is_data_at_its_line_end() {
        // issue 13: Latin-1 "ÿú" (0xFF 0xFA, IAC SB) in a file name entered
        // a sub-negotiation that swallowed the rest of the stream.
        let mut f = LineFramer::new(64);
        let mut out = Vec::new();
        let mut push = |l: Line<'_>| out.push((l.bytes.to_vec(), l.origin.frame, l.had_telnet));
        f.feed(b"USER a\r\nRETR \xff\xfaile", Origin { frame: 1, ..Default::default() }, &mut push);
        f.feed(b".txt\r\nQUIT\r\n", Origin { frame: 2, ..Default::default() }, &mut push);
        assert_eq!(
            out,
            vec![
                (b"USER a".to_vec(), 1, false),
                (b"RETR \xff\xfaile.txt".to_vec(), 1, false),
                (b"QUIT".to_vec(), 2, false),
            ]
        );
        assert_eq!(f.subnegotiation_overruns, 1);
        // At the start of a line, the line starts where the 0xFF came.
        let got = lines(&[b"NOOP\r\n", b"\xff\xfa", b"x\r\n"]);
        assert_eq!(got, vec![(b"NOOP".to_vec(), 1, false), (b"\xff\xfax".to_vec(), 2, false)]);
    }

    #[test]
    fn a_subnegotiation_past_the_cap_is_data() {
        let mut stream = b"STAT \xff\xfa".to_vec();
        stream.extend_from_slice(&[b'y'; MAX_SUBNEGOTIATION + 10]);
        stream.extend_from_slice(b"\xff\xf0 end\r\n");
        let got = lines(&[&stream]);
        let mut want = b"STAT \xff\xfa".to_vec();
        want.extend_from_slice(&[b'y'; 64 - 7]);
        assert_eq!(got.len(), 1);
        assert!(got[0].2, "the line is over the 64-byte cap of this framer");
        assert_eq!(got[0].0, want);
        // One byte short of the cap, with its IAC SE: a sub-negotiation.
        let mut stream = b"STAT \xff\xfa".to_vec();
        stream.extend_from_slice(&[b'y'; MAX_SUBNEGOTIATION - 2]);
        stream.extend_from_slice(b"\xff\xf0 end\r\n");
        assert_eq!(lines(&[&stream])[0].0, b"STAT  end");
    }

    #[test]
    fn a_subnegotiation_cut_by_a_gap_or_the_end_is_data() {
        let mut f = LineFramer::new(64);
        let mut out = Vec::new();
        let mut push = |l: Line<'_>| out.push((l.bytes.to_vec(), l.unterminated));
        f.feed(b"CWD \xff\xfa\xff\xfaab", Origin::default(), &mut push);
        f.gap(&mut push);
        f.feed(b"MKD \xff\xfaq", Origin::default(), &mut push);
        assert!(!f.finish_is_silent());
        f.finish(&mut push);
        assert_eq!(out, vec![(b"CWD \xff\xfa\xff\xfaab".to_vec(), true), (b"MKD \xff\xfaq".to_vec(), true)]);
        assert_eq!(f.subnegotiation_overruns, 3, "the nested IAC SB counts too");
    }

    #[test]
    fn cr_nul_is_a_literal_cr_and_nul_is_kept() {
        let got = lines(&[b"RETR a\r\0b\0c\r\n"]);
        assert_eq!(got[0].0, b"RETR a\rb\0c");
    }

    #[test]
    fn long_line_is_capped_and_flagged() {
        let long = [b'x'; 100];
        let got = lines(&[&long, b"\r\nNOOP\r\n"]);
        assert_eq!(got[0].0.len(), 64);
        assert!(got[0].2);
        assert_eq!(got[1].0, b"NOOP");
    }

    #[test]
    fn gap_hands_on_the_head_and_marks_the_next_line() {
        let mut f = LineFramer::new(64);
        let mut out = Vec::new();
        let mut push = |l: Line<'_>| out.push((l.bytes.to_vec(), l.after_gap, l.unterminated, l.after_cut));
        f.feed(b"503 Bad se", Origin::default(), &mut push);
        f.gap(&mut push);
        f.feed(b"quence.\r\n214 ok\r\n", Origin::default(), &mut push);
        f.gap(&mut push);
        f.feed(b"200 x\r\n", Origin::default(), &mut push);
        assert_eq!(
            out,
            vec![
                (b"503 Bad se".to_vec(), false, true, false),
                (b"quence.".to_vec(), true, false, true),
                (b"214 ok".to_vec(), false, false, false),
                // A gap between lines cuts nothing.
                (b"200 x".to_vec(), true, false, false),
            ]
        );
        assert_eq!(f.cut_lines, 1);
    }

    proptest! {
        #[test]
        fn any_chunking_gives_same_lines(
            stream in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(0xffu8), Just(0u8), Just(0xf4u8), Just(0xfbu8), Just(0xfau8), Just(0xf0u8), any::<u8>(), Just(b'a')], 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..20),
        ) {
            let whole = lines(&[&stream]);
            let mut cuts = cuts;
            cuts.push(0);
            cuts.push(stream.len());
            cuts.sort();
            let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &stream[w[0].min(stream.len())..w[1].min(stream.len())]).collect();
            let split = lines(&chunks);
            let strip = |v: Vec<(Vec<u8>, u64, bool)>| v.into_iter().map(|(b, _, t)| (b, t)).collect::<Vec<_>>();
            prop_assert_eq!(strip(whole), strip(split));
        }

        /// Lines handed on straight from the input (a whole line in one
        /// chunk) match lines assembled byte by byte, flags included.
        #[test]
        fn whole_lines_match_bytewise(
            stream in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(0xffu8), Just(0u8), Just(0xf4u8), Just(0xfbu8), Just(0xfau8), Just(0xf0u8), any::<u8>(), Just(b'a')], 0..300),
            gap_at in proptest::option::of(0usize..300),
        ) {
            let run = |chunks: Vec<&[u8]>| {
                let mut f = LineFramer::new(64);
                let mut out = Vec::new();
                let mut seen = 0;
                let mut gap_due = gap_at.is_some();
                for c in chunks {
                    // Chunks are cut at the gap's offset, so it falls
                    // before the first chunk starting there.
                    if gap_due && Some(seen) == gap_at.map(|g| g.min(stream.len())) {
                        f.gap(&mut |l| out.push((l.bytes.to_vec(), l.truncated, l.had_telnet, l.after_gap, l.unterminated)));
                        gap_due = false;
                    }
                    seen += c.len();
                    f.feed(c, Origin::default(), &mut |l| out.push((l.bytes.to_vec(), l.truncated, l.had_telnet, l.after_gap, l.unterminated)));
                }
                if gap_due && Some(seen) == gap_at.map(|g| g.min(stream.len())) {
                    f.gap(&mut |l| out.push((l.bytes.to_vec(), l.truncated, l.had_telnet, l.after_gap, l.unterminated)));
                }
                f.finish(&mut |l| out.push((l.bytes.to_vec(), l.truncated, l.had_telnet, l.after_gap, l.unterminated)));
                out
            };
            // The gap falls at the same stream offset in both: split there.
            let g = gap_at.unwrap_or(0).min(stream.len());
            let whole = run(vec![&stream[..g], &stream[g..]]);
            let bytewise = run(stream.chunks(1).collect());
            prop_assert_eq!(whole, bytewise);
        }
    }
}
