//! Entry points shared by the cargo-fuzz targets in `fuzz/` and by the
//! seed-corpus tests, so plain `cargo test` keeps every seed green.
//! Each function must never panic, whatever the bytes.
//!
//! The library itself must never panic; the `assert!`s in here are the
//! fuzzing oracles: a panic raised by one of them is a broken invariant of
//! the library, not a bug of this module. Every function takes the raw
//! fuzzer input and interprets it as documented on the function.

use crate::analysis::Analyzer;
use crate::capture::link::linktype;
use crate::capture::{decode_tcp, decode_tcp_wanted, CaptureReader, SkipReason};
use crate::config::{Config, ReassemblyLimits, SessionLimits};
use crate::flow::{Origin, OverlapPolicy, Reassembler, StreamEvent};
use crate::ftp::lines::{Line, LineFramer};
use crate::ftp::reply::{reply_code, ReplyAssembler, ReplyEvent};
use crate::ftp::{Command, Exchange, Session, StopReason};
use crate::report::{incident_columns, Format, IncidentRow, ReportWriter, INCIDENT_COLUMNS};
use std::io::Cursor;

/// Little cursor over the fuzzer bytes: every read succeeds (zeros once the
/// input is exhausted), so any input is a valid program.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }

    fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at = self.at.saturating_add(1);
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

fn origin(frame: u64) -> Origin {
    Origin { frame, ..Default::default() }
}

/// Checks a timestamp's RFC 3339 rendering: `YYYY-MM-DDTHH:MM:SS[.f…]Z`
/// with exactly `digits` fractional digits.
fn check_timestamp(ts: &crate::capture::Timestamp) {
    let s = ts.to_string();
    let b = s.as_bytes();
    let frac = if ts.digits > 0 { ts.digits as usize + 1 } else { 0 };
    assert_eq!(b.len(), 20 + frac, "timestamp {ts:?} rendered as {s:?}");
    for (i, c) in b.iter().enumerate().take(19) {
        let want = match i {
            4 | 7 => Some(b'-'),
            10 => Some(b'T'),
            13 | 16 => Some(b':'),
            _ => None,
        };
        match want {
            Some(w) => assert_eq!(*c, w, "timestamp {ts:?} rendered as {s:?}"),
            None => assert!(c.is_ascii_digit(), "timestamp {ts:?} rendered as {s:?}"),
        }
    }
    if frac > 0 {
        assert_eq!(b[19], b'.', "timestamp {ts:?} rendered as {s:?}");
        assert!(b[20..19 + frac].iter().all(u8::is_ascii_digit), "timestamp {ts:?} rendered as {s:?}");
    }
    assert_eq!(b[b.len() - 1], b'Z');
    assert!(ts.nanos < 1_000_000_000, "{ts:?}");
    assert!(ts.digits <= 9, "{ts:?}");
}

/// Reads `data` as a pcap/pcapng capture and touches every frame.
pub fn capture_reader(data: &[u8]) {
    let mut reader = match CaptureReader::new(Box::new(Cursor::new(data.to_vec()))) {
        Ok(r) => r,
        Err(problem) => {
            let _ = problem.to_string();
            return;
        }
    };
    let _ = reader.format();
    let mut last_number = 0u64;
    let mut delivered = 0u64;
    let result = reader.for_each_frame(|frame| {
        assert!(frame.number > last_number, "frame numbers must grow: {} after {last_number}", frame.number);
        last_number = frame.number;
        delivered += 1;
        check_timestamp(&frame.ts);
        assert!(frame.data.len() <= data.len(), "a frame cannot hold more bytes than the file");
        let _ = (frame.linktype, frame.orig_len);
        let _ = decode_tcp(frame.linktype, frame.data).map(|seg| seg.payload.len());
    });
    if let Err(problem) = &result {
        let _ = problem.to_string();
    }
    assert!(reader.frames() >= last_number, "frames() {} < last number {last_number}", reader.frames());
    assert!(reader.frames() >= delivered);
    assert!(reader.position() <= data.len() as u64, "consumed {} of {} bytes", reader.position(), data.len());
    for w in &reader.warnings {
        let _ = format!("{w:?}");
    }
}

/// The link types `link_decode` chooses from; the last one is unsupported.
const LINK_TYPES: &[i32] = &[
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW_12,
    linktype::RAW_14,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    147, // LINKTYPE_USER0: not supported
];

/// The first two bytes (big-endian, modulo the table) pick a link type, the
/// rest is the frame given to [`decode_tcp`].
pub fn link_decode(data: &[u8]) {
    let mut b = Bytes::new(data);
    let pick = b.u16() as usize % LINK_TYPES.len();
    let frame = data.get(2..).unwrap_or(&[]);
    let lt = LINK_TYPES[pick];
    // The port-filtered decoder agrees with the plain one on what it keeps,
    // and keeps nothing when no port is wanted.
    if let Ok(Some(seg)) = decode_tcp_wanted(lt, frame, |_, _| true) {
        let plain = decode_tcp(lt, frame);
        assert_eq!(plain.as_ref().map(|p| format!("{p:?}")).ok(), Some(format!("{seg:?}")));
    }
    assert!(!matches!(decode_tcp_wanted(lt, frame, |_, _| false), Ok(Some(_))));
    match decode_tcp(lt, frame) {
        Ok(seg) => {
            assert_ne!(pick, LINK_TYPES.len() - 1, "unsupported link type decoded");
            let range = frame.as_ptr_range();
            let p = seg.payload.as_ptr_range();
            assert!(
                seg.payload.is_empty() || (range.start <= p.start && p.end <= range.end),
                "payload is not part of the frame"
            );
            let _ = format!("{seg:?} {} {}", seg.src, seg.dst);
        }
        Err(reason) => {
            if pick == LINK_TYPES.len() - 1 {
                assert_eq!(reason, SkipReason::UnsupportedLinkType);
            }
            let _ = reason.label();
        }
    }
}

/// A line as the framer gave it, with everything but its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnedLine {
    bytes: Vec<u8>,
    frame: u64,
    truncated: bool,
    after_gap: bool,
    unterminated: bool,
    had_telnet: bool,
}

impl OwnedLine {
    fn of(l: &Line<'_>) -> Self {
        OwnedLine {
            bytes: l.bytes.to_vec(),
            frame: l.origin.frame,
            truncated: l.truncated,
            after_gap: l.after_gap,
            unterminated: l.unterminated,
            had_telnet: l.had_telnet,
        }
    }

    fn line(&self) -> Line<'_> {
        Line {
            bytes: &self.bytes,
            origin: origin(self.frame),
            truncated: self.truncated,
            after_gap: self.after_gap,
            unterminated: self.unterminated,
            after_cut: false,
            had_telnet: self.had_telnet,
        }
    }
}

/// Frames `chunks` (chunk `i` has frame `i + 1`) and returns the lines with
/// the framer's counters.
fn frame_lines(max_line: usize, chunks: &[&[u8]]) -> (Vec<OwnedLine>, u64, u64) {
    let mut f = LineFramer::new(max_line);
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        f.feed(c, origin(i as u64 + 1), &mut |l| out.push(OwnedLine::of(&l)));
    }
    f.finish(&mut |l| out.push(OwnedLine::of(&l)));
    (out, f.truncated_lines, f.cut_lines)
}

/// Input: `[max_line, c0, c1, c2, stream…]`. The stream is framed whole and
/// cut into chunks whose sizes cycle through `c0..c2 % 24` (0 is an empty
/// chunk); both must give the same lines. Every line then goes through the
/// reply assembler and the command parser.
pub fn line_framer(data: &[u8]) {
    let mut b = Bytes::new(data);
    let max_line = b.u8() as usize;
    let sizes = [b.u8() as usize % 24, b.u8() as usize % 24, b.u8() as usize % 24];
    let stream = data.get(4..).unwrap_or(&[]);
    let cap = max_line.max(16);

    let (whole, w_trunc, w_lost) = frame_lines(max_line, &[stream]);
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut at = 0usize;
    let mut i = 0usize;
    let step_sum: usize = sizes.iter().sum();
    while at < stream.len() {
        let size = if step_sum == 0 { 1 } else { sizes[i % 3] };
        let end = (at + size).min(stream.len());
        chunks.push(&stream[at..end]);
        at = end;
        i += 1;
    }
    let (split, s_trunc, s_lost) = frame_lines(max_line, &chunks);
    let strip = |v: &[OwnedLine]| v.iter().map(|l| OwnedLine { frame: 0, ..l.clone() }).collect::<Vec<_>>();
    assert_eq!(strip(&whole), strip(&split), "chunking changed the lines");
    assert_eq!((w_trunc, w_lost), (s_trunc, s_lost), "chunking changed the counters");
    assert_eq!(w_lost, 0, "no gap, no lost partial line");

    let mut last_frame = 0;
    for (n, l) in split.iter().enumerate() {
        assert!(l.bytes.len() <= cap, "line of {} bytes over the cap {cap}", l.bytes.len());
        assert!(!l.bytes.contains(&b'\n'), "LF inside a line");
        assert!(!l.after_gap, "no gap was fed");
        assert!(!l.unterminated || n + 1 == split.len(), "only the last line may be unterminated");
        assert!(l.frame >= last_frame, "line origins go backwards");
        assert!(l.frame >= 1 && l.frame as usize <= chunks.len().max(1), "line origin outside the chunks");
        last_frame = l.frame;
    }
    assert_eq!(w_trunc, whole.iter().filter(|l| l.truncated).count() as u64);

    // Model for streams without Telnet IAC and CR: lines are the LF-split
    // pieces, cut at the cap, and a non-empty tail is unterminated.
    if !stream.contains(&0xff) && !stream.contains(&b'\r') {
        let mut want = Vec::new();
        let mut pieces: Vec<&[u8]> = stream.split(|c| *c == b'\n').collect();
        let tail = pieces.pop().unwrap_or(&[]);
        for p in pieces {
            want.push((p[..p.len().min(cap)].to_vec(), p.len() > cap, false));
        }
        if !tail.is_empty() {
            want.push((tail[..tail.len().min(cap)].to_vec(), tail.len() > cap, true));
        }
        let got: Vec<_> = whole.iter().map(|l| (l.bytes.clone(), l.truncated, l.unterminated)).collect();
        assert_eq!(got, want, "plain lines differ from the LF-split model");
        assert!(whole.iter().all(|l| !l.had_telnet));
    }

    let mut assembler = ReplyAssembler::new(2 + max_line % 5);
    let mut replies = Vec::new();
    for l in &split {
        let line = l.line();
        if let Some(c) = Command::parse(&line) {
            assert_eq!(c.raw, l.bytes);
            assert!(c.verb.len() <= 16 && c.verb.bytes().all(|v| v.is_ascii_uppercase()), "verb {:?}", c.verb);
            assert!(c.raw.ends_with(c.arg()));
            assert_eq!(c.display_raw(true), c.raw.to_vec());
            let _ = c.display_raw(false);
        } else {
            assert!(l.bytes.is_empty(), "a non-empty line must parse as a command");
        }
        match assembler.line(&line) {
            Some(ReplyEvent::Reply(r)) => replies.push(r),
            Some(ReplyEvent::Garbage { .. }) => {
                assert!(reply_code(&l.bytes).is_none(), "a code line called garbage");
            }
            None => {}
        }
    }
    replies.extend(assembler.finish());
    assert!(!assembler.in_multiline());
    for r in &replies {
        assert!((100..600).contains(&r.code), "reply code {}", r.code);
        assert!(r.lines().iter().count() == r.lines().len());
        assert_eq!(r.lines().iter().collect::<Vec<_>>().join(&b'\n'), r.text());
        let first = reply_code(r.lines().first()).map(|c| c.0);
        assert!(first.is_some(), "a reply must start with a code line");
        if r.lines().len() == 1 {
            assert_eq!(first, Some(r.code), "a one-line reply has its line's code");
        }
        let _ = (r.text(), r.is_preliminary());
    }
}

/// The byte at stream offset `o` of the single underlying stream all
/// pushes are cut from (no short period, so misplaced bytes are caught).
fn model_byte(o: i64) -> u8 {
    let x = (o as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((x >> 56) as u8) ^ (o as u8).wrapping_mul(7).wrapping_add(3)
}

/// Pushes (with their cut tails) end at or before this stream offset.
const MODEL_LIMIT: i64 = 70_000;
/// Size of the model's per-offset bitmap.
const MODEL_SPAN: usize = MODEL_LIMIT as usize + 1;

/// What the model knows about one direction.
struct Model {
    /// Stream offset the next event must be at (delivered + gap bytes).
    pos: u64,
    delivered: u64,
    gap_bytes: u64,
    /// Offsets received (pushed at or after `next`) and not delivered yet.
    held: Vec<bool>,
    /// Number of `true` entries in `held`.
    held_count: usize,
    /// Offset of the FIN the reassembler accepted, mirrored.
    fin_at: Option<u64>,
}

impl Model {
    fn event(&mut self, e: StreamEvent<'_>) {
        match e {
            StreamEvent::Data { bytes, .. } => {
                assert!(!bytes.is_empty(), "empty Data event");
                for (i, b) in bytes.iter().enumerate() {
                    let o = self.pos + i as u64;
                    assert_eq!(*b, model_byte(o as i64), "delivered byte at offset {o} is not the stream's");
                    let slot = self.held.get_mut(o as usize).expect("delivered offset beyond any push");
                    assert!(*slot, "offset {o} delivered but never received (or delivered twice)");
                    *slot = false;
                    self.held_count -= 1;
                }
                self.pos += bytes.len() as u64;
                self.delivered += bytes.len() as u64;
            }
            StreamEvent::Gap { len, .. } => {
                assert!(len > 0, "empty Gap event");
                let from = (self.pos as usize).min(self.held.len());
                let to = (self.pos.saturating_add(len) as usize).min(self.held.len());
                if let Some(o) = self.held[from..to].iter().position(|h| *h) {
                    panic!(
                        "gap of {len} bytes at offset {} covers offset {} that was received and is still held",
                        self.pos,
                        from + o
                    );
                }
                self.pos += len;
                self.gap_bytes += len;
            }
            StreamEvent::Conflict { len, .. } => {
                panic!("conflict of {len} bytes reported although every push carries the same stream")
            }
        }
    }
}

/// Interprets the input as operations on one [`Reassembler`] direction.
///
/// Header: `isn: u32, max_buffered: u8, max_segments: u8, flags: u8` (bit 0:
/// overlap policy Last; bit 1: consistent FIN mode, in which the stream ends
/// at `end: u16` that follows and nothing is pushed past it). Then
/// operations, by `opcode % 8`: push (absolute or relative to `next`),
/// push with a snaplen-cut tail, peer ACK (absolute / relative), SYN
/// (retransmitted or bogus), FIN, finish.
///
/// The model: a SYN at the ISN comes first, and every push is cut from one
/// fixed stream (`model_byte`). Then every delivered byte equals the stream
/// byte at its offset and was received; no gap covers received bytes; no
/// conflict is reported; delivered + gap bytes is `next_offset()`; the caps
/// hold after every call; the counters agree.
pub fn reassembler(data: &[u8]) {
    let mut b = Bytes::new(data);
    let isn = b.u32();
    let max_buffered = 1 + b.u8() as usize % 128;
    let max_segments = 1 + u32::from(b.u8()) % 8;
    let flags = b.u8();
    let policy = if flags & 1 == 1 { OverlapPolicy::Last } else { OverlapPolicy::First };
    let consistent_end = if flags & 2 == 2 { Some(b.u16() as u64) } else { None };
    let mut r = Reassembler::new(ReassemblyLimits { max_buffered, max_segments, policy });
    r.syn(isn);
    let start = isn.wrapping_add(1);
    assert_eq!(r.isn(), Some(start));
    let mut m =
        Model { pos: 0, delivered: 0, gap_bytes: 0, held: vec![false; MODEL_SPAN], held_count: 0, fin_at: None };
    let mut max_pushed_end = 0u64;
    let mut frame = 0u64;
    let mut ops = 0;
    while !b.is_empty() && ops < 4096 {
        ops += 1;
        frame += 1;
        let op = b.u8();
        let next = r.next_offset();
        match op % 8 {
            0..=2 => {
                // Push: 0 absolute, 1 relative to next, 2 with a cut tail.
                let off: i64 = match op % 8 {
                    1 => next as i64 + (b.u8() as i8) as i64,
                    _ => b.u16() as i64,
                };
                let mut len = b.u8() as i64 % 64;
                let mut tail = if op % 8 == 2 { b.u8() as i64 % 64 } else { 0 };
                if let Some(end) = consistent_end {
                    let end = end as i64;
                    len = len.min((end - off).max(0));
                    tail = tail.min((end - off - len).max(0));
                }
                if off + len + tail > MODEL_LIMIT {
                    // Keep every offset inside the model's bitmap.
                    (len, tail) = (0, 0);
                }
                let bytes: Vec<u8> = (off..off + len).map(model_byte).collect();
                // What the reassembler keeps: offsets >= next, before its FIN.
                let keep_to = m.fin_at.map_or(off + len, |f| (f as i64).min(off + len));
                if off >= 0 {
                    for o in (off.max(next as i64))..keep_to {
                        let slot = &mut m.held[o as usize];
                        if !*slot {
                            *slot = true;
                            m.held_count += 1;
                        }
                    }
                    // Only bytes actually kept count (an empty push far
                    // ahead receives nothing).
                    if keep_to > off.max(next as i64) {
                        max_pushed_end = max_pushed_end.max(keep_to as u64);
                    }
                }
                let seq = start.wrapping_add(off as u32);
                r.push(seq, &bytes, tail as u32, origin(frame), None, &mut |e| m.event(e));
            }
            3 | 4 => {
                let off: u64 = if op % 8 == 3 { b.u16() as u64 } else { next + b.u8() as u64 };
                r.peer_ack(start.wrapping_add(off as u32), origin(frame), &mut |e| m.event(e));
            }
            5 => {
                // A retransmitted SYN, or one with another ISN: both ignored.
                let seq = if b.u8() & 1 == 0 { isn } else { b.u32() };
                r.syn(seq);
                assert_eq!(r.isn(), Some(start), "a later SYN moved the ISN");
            }
            6 => {
                let (fin_off, len) = match consistent_end {
                    Some(end) => {
                        let len = (b.u8() as u64).min(end);
                        (end - len, len)
                    }
                    None => (b.u16() as u64, b.u8() as u64),
                };
                if m.fin_at.is_none() && fin_off + len >= next {
                    m.fin_at = Some(fin_off + len);
                }
                r.fin(start.wrapping_add(fin_off as u32), len as usize);
            }
            _ => {
                r.finish(&mut |e| m.event(e));
                assert_eq!(r.buffered(), 0, "finish left bytes buffered");
                assert!(r.next_offset() >= max_pushed_end, "finish did not deliver everything received");
            }
        }
        assert!(r.buffered() <= max_buffered, "buffered {} over the cap {max_buffered}", r.buffered());
        assert_eq!(m.pos, r.next_offset(), "delivered + gap bytes != next_offset()");
        assert!(r.next_offset() >= next, "next_offset went backwards");
        assert_eq!(m.held_count, r.buffered(), "buffered() does not match the bytes received and not delivered");
        if let Some(end) = consistent_end {
            assert!(r.next_offset() <= end, "stream went past its end");
        }
        if let Some(f) = m.fin_at {
            assert_eq!(r.is_finished(), r.next_offset() >= f);
        }
    }
    r.finish(&mut |e| m.event(e));
    assert_eq!(r.buffered(), 0);
    assert_eq!(m.pos, r.next_offset());
    assert_eq!(m.held_count, 0, "received bytes never delivered");
    assert_eq!(r.stats.delivered, m.delivered);
    assert_eq!(r.stats.gap_bytes, m.gap_bytes);
    assert_eq!(r.stats.conflicts, 0);
}

/// Input: `[separator, limits, chunk (separator chunk)*]`. Each chunk's
/// first byte says what it is: `S` server bytes, `C` client bytes, `s` / `c`
/// a server / client gap then bytes, `E` server end, `e` client end; any
/// other byte picks one of these by its value. Chunk `i` has frame `i + 1`.
pub fn session(data: &[u8]) {
    let Some((&sep, rest)) = data.split_first() else {
        return;
    };
    let Some((&lim, rest)) = rest.split_first() else {
        return;
    };
    let limits = if lim & 0x80 == 0 {
        SessionLimits::default()
    } else {
        SessionLimits {
            max_line: lim as usize % 64,
            max_reply_lines: (lim as usize >> 2) % 8,
            max_pending: (lim as usize >> 4) % 4 + 1,
        }
    };
    let mut s = Session::new(limits);
    let mut ck = ExchangeChecker::default();
    let mut stopped_at: Option<u64> = None;
    for (i, chunk) in rest.split(|c| *c == sep).enumerate() {
        let frame = i as u64 + 1;
        let Some((&kind, bytes)) = chunk.split_first() else {
            continue;
        };
        let kind = match kind {
            b'S' | b'C' | b's' | b'c' | b'E' | b'e' => kind,
            other => b"SCscEe"[other as usize % 6],
        };
        match kind {
            b'S' => s.server_data(bytes, origin(frame), None, &mut |e| ck.check(e)),
            b'C' => s.client_data(bytes, origin(frame), None),
            b's' => {
                s.server_gap(1, &mut |e| ck.check(e));
                s.server_data(bytes, origin(frame), None, &mut |e| ck.check(e));
            }
            b'c' => {
                s.client_gap(1);
                s.client_data(bytes, origin(frame), None);
            }
            b'E' => s.server_end(&mut |e| ck.check(e)),
            _ => s.client_end(),
        }
        if s.stopped == Some(StopReason::Encrypted) && stopped_at.is_none() {
            stopped_at = Some(ck.seen);
        }
    }
    s.client_end();
    s.server_end(&mut |e| ck.check(e));
    assert_eq!(ck.seen, s.replies_seen, "every reply is handed on exactly once");
    if let Some(at) = stopped_at {
        assert_eq!(ck.seen, at, "replies handed on after the session stopped");
    }
    let _ = (s.user(), s.line_warnings(), &s.banner, s.commands, s.warnings);
}

/// Checks every exchange a session hands on.
#[derive(Default)]
struct ExchangeChecker {
    seen: u64,
    last_cmd_frame: u64,
}

impl ExchangeChecker {
    fn check(&mut self, e: Exchange<'_>) {
        self.seen += 1;
        let r = e.reply;
        assert!((100..600).contains(&r.code), "reply code {}", r.code);
        assert!(r.lines().iter().count() == r.lines().len());
        let _ = r.text();
        if let Some(sent) = e.sent {
            // Replies answer commands in the order they were sent, except
            // the out-of-band answers RFC 959 allows while a transfer runs:
            // 221 to a later QUIT, 211-213 to a later STAT.
            let out_of_band = (r.code == 221 && sent.command.is("QUIT"))
                || ((211..=213).contains(&r.code) && sent.command.is("STAT"));
            if !out_of_band {
                assert!(sent.command.origin.frame >= self.last_cmd_frame, "a reply answered an older command");
                self.last_cmd_frame = sent.command.origin.frame;
            }
            let _ = sent.command.display_raw(false);
            if let Some(p) = &sent.previous {
                assert!(p.origin.frame <= sent.command.origin.frame);
            }
        } else {
            assert!(e.violation.is_none(), "a violation without a command");
        }
        if let Some(rule) = e.violation {
            let verb = e.sent.map(|s| s.command.verb.as_str()).unwrap_or("");
            assert!(!rule.id.is_empty());
            let _ = rule.diagnosis(verb);
        }
        let _ = e.user.map(String::from_utf8_lossy);
    }
}

/// Checks one report cell: inert (no control characters except `\n` where
/// allowed, no DEL or C1) and not a spreadsheet formula.
fn check_cell(name: &str, s: &str, newlines: bool) {
    for c in s.chars() {
        let u = c as u32;
        let bad = (u < 0x20 && !(newlines && c == '\n')) || u == 0x7f || (0x80..0xa0).contains(&u);
        assert!(!bad, "cell {name} holds control character {u:#x}: {s:?}");
    }
    assert!(
        !matches!(s.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')),
        "cell {name} would be evaluated as a formula: {s:?}"
    );
}

fn check_row(row: &IncidentRow) {
    let names = INCIDENT_COLUMNS.iter().chain([&crate::report::incidents::VERDICT_COLUMN]).map(|c| c.name);
    for (name, value) in names.zip(row.record(true)) {
        check_cell(name, &value, name == "reply");
    }
}

/// Runs the whole pipeline over the input as a capture, twice (default
/// config; then with `detect` and `violations`), and writes every row as
/// CSV, which must read back as one record of the right width per row.
pub fn pipeline(data: &[u8]) {
    for extra in [false, true] {
        // The second pass also follows data connections and builds transfer
        // and session rows, so the data-channel code sees hostile input too,
        // and allows only four flows, so table eviction runs all the time.
        let defaults = Config::default();
        let mut analyzer = Analyzer::new(Config {
            detect: extra,
            violations: extra,
            track_data: extra,
            transfer_rows: extra,
            session_rows: extra,
            max_flows: if extra { 4 } else { defaults.max_flows },
            ..defaults
        });
        let outcome = match analyzer.analyze_collect("fuzz", Box::new(Cursor::new(data.to_vec()))) {
            Ok(o) => o,
            Err(problem) => {
                let _ = problem.to_string();
                continue;
            }
        };
        if let Some(p) = &outcome.problem {
            let _ = p.to_string();
        }
        let mut last = (0u64, 0u64);
        for row in &outcome.rows {
            assert!((row.frame, row.session) >= last, "rows out of capture order");
            last = (row.frame, row.session);
            assert!(row.frame >= 1 && row.frame <= outcome.frames, "row frame {} of {}", row.frame, outcome.frames);
            check_row(row);
        }
        assert_eq!(analyzer.summary.rows, outcome.rows.len() as u64);
        let with_verdict = extra;
        let width = INCIDENT_COLUMNS.len() + usize::from(with_verdict);
        let mut out = Vec::new();
        {
            let mut csv =
                ReportWriter::new(&mut out, Format::Csv, &incident_columns(with_verdict)).expect("writing to memory");
            for row in &outcome.rows {
                csv.incident(row, with_verdict).expect("writing to memory");
            }
            csv.flush().expect("writing to memory");
        }
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(out.as_slice());
        assert_eq!(reader.headers().expect("the header reads back").len(), width);
        let mut records = 0;
        for rec in reader.records() {
            let rec = rec.expect("the CSV we wrote reads back");
            assert_eq!(rec.len(), width);
            let row = &outcome.rows[records];
            let want = row.record(with_verdict);
            assert_eq!(rec.iter().collect::<Vec<_>>(), want, "a row did not survive CSV");
            records += 1;
        }
        assert_eq!(records, outcome.rows.len());
        let _ = (&analyzer.messages, &analyzer.summary);
    }
}

/// Input: `[selector, text…]`. The text goes through the PORT, EPRT, 227
/// and 229 parsers (`selector` picks a prefix for the replies). Whatever a
/// parser accepts must be in range and, written back in the canonical form,
/// parse to the same address: the parsers are deterministic and lossless.
pub fn data_address(data: &[u8]) {
    use crate::ftp::dataaddr::{is_private, parse_eprt, parse_epsv_reply, parse_pasv_reply, parse_port};
    use std::net::SocketAddr;

    let selector = data.first().copied().unwrap_or(0);
    let text = data.get(1..).unwrap_or(&[]);
    let pasv_form = |a: &SocketAddr| match a {
        SocketAddr::V4(v4) => {
            let o = v4.ip().octets();
            format!("{},{},{},{},{},{}", o[0], o[1], o[2], o[3], v4.port() >> 8, v4.port() & 0xff)
        }
        SocketAddr::V6(_) => panic!("a PORT/227 address is always IPv4: {a}"),
    };
    if let Some(a) = parse_port(text) {
        assert_eq!(parse_port(pasv_form(&a).as_bytes()), Some(a), "PORT {a} does not round-trip");
        let _ = is_private(&a.ip());
    }
    if let Some(a) = parse_eprt(text) {
        assert_ne!(a.port(), 0, "EPRT accepted port 0");
        let af = if a.is_ipv4() { 1 } else { 2 };
        let canonical = format!("|{af}|{}|{}|", a.ip(), a.port());
        assert_eq!(parse_eprt(canonical.as_bytes()), Some(a), "EPRT {a} does not round-trip");
    }
    let mut reply = match selector % 3 {
        0 => b"227 ".to_vec(),
        1 => b"229 ".to_vec(),
        _ => Vec::new(),
    };
    reply.extend_from_slice(text);
    if let Some(a) = parse_pasv_reply(&reply) {
        let canonical = format!("227 Entering Passive Mode ({}).", pasv_form(&a));
        assert_eq!(parse_pasv_reply(canonical.as_bytes()), Some(a), "227 {a} does not round-trip");
    }
    if let Some(port) = parse_epsv_reply(&reply) {
        assert_ne!(port, 0, "229 accepted port 0");
        let canonical = format!("229 Entering Extended Passive Mode (|||{port}|)");
        assert_eq!(parse_epsv_reply(canonical.as_bytes()), Some(port), "229 {port} does not round-trip");
    }
}

/// Input: `[split, rest…]`. `rest` is read as a key log (any text), then
/// cut into chunks (sizes from `split`) fed to one TLS connection's two
/// directions in turn, with gaps between some: no panic, no growth past
/// the record bound, every summary printable.
pub fn tls_records(data: &[u8]) {
    use crate::tls::keylog::KeyLog;
    use crate::tls::TlsConnection;
    let mut b = Bytes::new(data);
    let split = usize::from(b.u8() % 64) + 1;
    let rest = data.get(1..).unwrap_or(&[]);
    let mut keys = KeyLog::default();
    for problem in keys.add("fuzz", &String::from_utf8_lossy(rest)) {
        assert!(problem.starts_with("fuzz:"), "a problem names the file: {problem}");
    }
    let mut tls = TlsConnection::default();
    let mut plain = 0usize;
    for (i, chunk) in rest.chunks(split).enumerate() {
        if i % 7 == 6 {
            tls.gap(i % 2);
        }
        tls.feed(i % 2, chunk, Some(&keys), &mut |p, _| plain += p.len());
    }
    assert!(plain <= rest.len(), "more plaintext than bytes");
    let s = tls.summary();
    let _ = format!("{} {} {} {}", s.version, s.cipher, s.sni, s.result);
    // The same bytes as a PROT P data connection's segments (out of order
    // when `split` is odd): its plaintext count is bounded the same way,
    // and it offers the sessions the control connection learned.
    let mut data = crate::data::tls::DataTls::new(split % 3 != 0, tls.resumable());
    data.unsure = split % 5 == 0;
    let (a, b): (std::net::IpAddr, std::net::IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
    let mut seqs = [1u32, 1u32];
    let chunks: Vec<&[u8]> = rest.chunks(split).collect();
    let order: Vec<usize> = if split % 2 == 1 {
        (0..chunks.len()).map(|i| i ^ 2).filter(|&i| i < chunks.len()).collect()
    } else {
        (0..chunks.len()).collect()
    };
    for i in order {
        let from_initiator = i % 2 == 0;
        let (src, dst) = if from_initiator { (a, b) } else { (b, a) };
        let seq = seqs[i % 2];
        seqs[i % 2] = seq.wrapping_add(chunks[i].len() as u32);
        let seg = crate::capture::TcpSegment {
            src,
            dst,
            src_port: 40000,
            dst_port: 50000,
            seq,
            ack: 0,
            flags: crate::capture::TcpFlags { syn: false, ack: false, fin: i % 11 == 10, rst: false },
            payload: chunks[i],
            missing_tail: 0,
            encap: None,
        };
        if !data.segment(from_initiator, &seg, crate::flow::Origin::default(), Some(&keys)) {
            break;
        }
    }
    data.close(Some(&keys));
    let f = data.facts();
    assert!(f.plaintext.iter().sum::<u64>() <= rest.len() as u64, "more data plaintext than bytes");
}

/// Input: `[flags, len (2), n, n cuts (2 each), m, m swaps (2+2 each), k,
/// k duplicates (2 each)]`, then raw packets, each `[len, bytes…]`.
///
/// First an oracle: a TCP datagram (IPv6 when `flags & 1`, the overlap
/// policy Last when `flags & 2`) of `len % 3000 + 1` payload bytes is split
/// at the cuts, its fragments swapped and duplicated as the input says and
/// pushed: exactly the datagram must come back, once, with nothing left
/// unfinished. Then the raw packets, each taken as an IP packet, are pushed
/// into a defragmenter with small caps one second apart: its invariants
/// must hold after every push, and what it hands back must decode without
/// a panic and be no longer than an IP length field allows.
pub fn fragments(data: &[u8]) {
    use crate::capture::fragments::{split, Defragmenter, Fragment, FragmentStats, Pushed};
    use crate::capture::Timestamp;
    use crate::config::FragmentLimits;

    let mut b = Bytes::new(data);
    let flags = b.u8();
    let len = usize::from(b.u16()) % 3000 + 1;
    let cuts: Vec<usize> = (0..b.u8() % 40).map(|_| usize::from(b.u16())).collect();
    let swaps: Vec<(usize, usize)> = (0..b.u8() % 64).map(|_| (usize::from(b.u16()), usize::from(b.u16()))).collect();
    let dups: Vec<usize> = (0..b.u8() % 8).map(|_| usize::from(b.u16())).collect();
    let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let builder = if flags & 1 == 1 {
        etherparse::PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64)
    } else {
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
    };
    let mut ip = Vec::new();
    if builder.tcp(40000, 21, 7, 1000).ack(3).write(&mut ip, &payload).is_err() {
        return;
    }
    let mut frags = split(&ip, &cuts, 0x1234);
    if ip[0] >> 4 == 4 {
        // `split` set the identification: the datagram has it too.
        if let Some(first) = frags.first() {
            // and, as fragments, DF clear.
            ip[4..6].copy_from_slice(&first[4..6]);
            ip[6] = 0;
            ip[7] = 0;
            ip[10] = 0;
            ip[11] = 0;
            let sum = ipv4_sum(&ip[..20]);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
        }
    }
    if frags.len() > 1 {
        for &d in &dups {
            let f = frags[d % frags.len()].clone();
            frags.push(f);
        }
        for &(i, j) in &swaps {
            let n = frags.len();
            frags.swap(i % n, j % n);
        }
        let policy = if flags & 2 == 2 { OverlapPolicy::Last } else { OverlapPolicy::First };
        let mut d = Defragmenter::new(FragmentLimits { policy, ..FragmentLimits::default() });
        let mut got = Vec::new();
        for f in &frags {
            let frag = Fragment::parse(f).expect("split makes fragments");
            if let Pushed::Complete(p) = d.push(&frag, Timestamp::default(), |_| true) {
                got.push(p);
            }
            d.check_invariants();
        }
        assert_eq!(got, vec![ip.clone()], "the datagram, once");
        d.finish();
        assert_eq!(d.stats, FragmentStats { reassembled: 1, ..FragmentStats::default() });
    }

    let limits = FragmentLimits { max_datagrams: 4, max_total: 100_000, ..FragmentLimits::default() };
    let mut d = Defragmenter::new(limits);
    let mut at = b.at.min(data.len());
    let mut secs = 0;
    while at < data.len() {
        let n = usize::from(data[at]);
        let packet = &data[at + 1..(at + 1 + n).min(data.len())];
        at += 1 + n;
        secs += i64::from(n as u8 & 15);
        let Some(frag) = Fragment::parse(packet) else { continue };
        let ts = Timestamp { secs, nanos: 0, digits: 6 };
        if let Pushed::Complete(p) = d.push(&frag, ts, |l4| l4.first() != Some(&0)) {
            assert!(p.len() <= 65_535 + 1024, "a datagram of {} bytes", p.len());
            let _ = decode_tcp(linktype::RAW, &p).map(|seg| seg.payload.len());
        }
        d.check_invariants();
    }
    d.finish();
    d.check_invariants();
    assert!(d.is_empty());
}

/// The IPv4 header checksum (for [`fragments`]).
fn ipv4_sum(header: &[u8]) -> u16 {
    let mut sum: u32 = header.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
