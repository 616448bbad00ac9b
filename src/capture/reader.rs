//! Streaming pcap / pcapng reader over pcap-parser with constant memory.
//!
//! The reader walks a fixed buffer (grown at most to [`MAX_RECORD`]), numbers
//! packets from 1 as Wireshark does, keeps the pcapng interface table per
//! section, and turns every way a file can be broken into a [`CaptureProblem`]
//! instead of a panic.
//!
//! A corrupt record (a few flipped bits in its header) does not end the
//! reading: the reader resynchronises on the next plausible record — in a
//! pcap a header whose lengths are sane, whose timestamp is near the last
//! good one and which is followed by another such header (or the end of the
//! file); in a pcapng a known block type whose trailing length repeats its
//! length — and goes on, with a [`ReadWarning::Resynced`] naming the bytes
//! skipped ([`resync`]: one pass over them, never quadratic). It works around the pcap-parser 0.17 defects listed in
//! `DEPS-NOTES.md`: short pcapng blocks are checked before the parser sees
//! them, `if_tsresol` is decoded here, and format detection reads a full
//! prefix first so pipes and stdin work.

use super::time::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use std::fmt;
use std::io::{self, Read};

/// Initial read buffer; records larger than this make it grow.
const BUFFER_SIZE: usize = 1 << 20;
/// The largest record or block we accept (grown buffer limit).
pub const MAX_RECORD: usize = 16 << 20;
/// The largest record or block a resynchronisation takes for a real one
/// (and so the most it reads ahead to check it): bigger than any real
/// packet's, well within the read buffer.
const RESYNC_MAX_RECORD: usize = 256 * 1024;
/// How far (seconds) a pcap record's timestamp may be from the last good
/// one's for a resynchronisation to take it.
const RESYNC_MAX_SECS: u32 = 86_400;
/// Bytes read before handing the stream to pcap-parser, which parses the
/// file or section header from its first read only (pipes may deliver less
/// per read, and a pcapng section header with options can be long).
const SNIFF_LEN: usize = 64 * 1024;

/// One packet as stored in the capture.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based packet number within its capture (Wireshark's `frame.number`).
    pub number: u64,
    pub ts: Timestamp,
    /// Link-layer type (pcap LINKTYPE_ value) of the interface it came from.
    pub linktype: i32,
    /// The captured bytes (may be shorter than `orig_len` when cut by snaplen).
    pub data: &'a [u8],
    pub orig_len: u32,
}

/// The capture container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

/// Why reading a capture could not start or had to stop early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureProblem {
    /// The file holds no bytes at all.
    Empty,
    /// The first bytes are not a pcap or pcapng magic number.
    NotACapture { first_bytes: Vec<u8> },
    /// The file header itself is cut short.
    TruncatedHeader,
    /// The file ends inside a record; everything before it was read.
    Truncated { offset: u64 },
    /// A record or block is malformed; reading stopped there.
    Corrupt { offset: u64, what: String },
    /// The underlying read failed.
    Io(String),
    /// Corrupt records were skipped (reading went on after each; the
    /// warnings name the byte ranges).
    Damaged { regions: u64, bytes: u64 },
}

impl fmt::Display for CaptureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureProblem::Empty => write!(f, "empty file"),
            CaptureProblem::NotACapture { first_bytes } => {
                write!(f, "not a pcap or pcapng capture (starts with")?;
                for b in first_bytes {
                    write!(f, " {b:02x}")?;
                }
                write!(f, ")")
            }
            CaptureProblem::TruncatedHeader => write!(f, "file header is truncated"),
            CaptureProblem::Truncated { offset } => {
                write!(f, "capture is truncated: last record cut at byte {offset}")
            }
            CaptureProblem::Corrupt { offset, what } => {
                write!(f, "corrupt capture at byte {offset}: {what}; stopped reading there")
            }
            CaptureProblem::Io(e) => write!(f, "read error: {e}"),
            CaptureProblem::Damaged { regions, bytes } => write!(
                f,
                "corrupt capture: {regions} damaged region(s), {bytes} bytes in all, skipped; \
                 read on at the next plausible record each time"
            ),
        }
    }
}

/// A non-fatal oddity seen while reading (reading went on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadWarning {
    /// A packet referenced an interface the section never described.
    UnknownInterface { frame: u64, if_id: u32 },
    /// An interface declared a time resolution we cannot represent; µs assumed.
    BadTimeResolution { if_tsresol: u8 },
    /// Bytes `from..to` of the file were skipped: the record at `from` was
    /// corrupt (`what`), and `to` is the next plausible record.
    Resynced { from: u64, to: u64, what: String },
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: i32,
    units_per_sec: u64,
    digits: u8,
    offset_secs: i64,
}

/// Decodes pcapng `if_tsresol`: high bit clear is 10^-n, set is 2^-n.
fn decode_tsresol(v: u8) -> Option<(u64, u8)> {
    let n = (v & 0x7f) as u32;
    if v & 0x80 == 0 {
        // 10^19 still fits in u64.
        if n > 19 {
            return None;
        }
        Some((10u64.pow(n), n.min(9) as u8))
    } else {
        if n > 63 {
            return None;
        }
        // digits needed to show 2^-n: ceil(n * log10(2))
        let digits = ((n as f64) * std::f64::consts::LOG10_2).ceil() as u8;
        Some((1u64 << n, digits.min(9)))
    }
}

enum Inner {
    Legacy(LegacyPcapReader<Box<dyn Read + Send>>),
    Ng(PcapNGReader<Box<dyn Read + Send>>),
}

/// Streams the packets of one capture.
pub struct CaptureReader {
    inner: Inner,
    format: Format,
    /// Legacy pcap: link type and precision from the file header.
    legacy: Interface,
    /// Legacy pcap: the file is big-endian.
    legacy_be: bool,
    /// Legacy pcap: the snapshot length the file header declares.
    legacy_snaplen: u32,
    /// Legacy pcap: the timestamp (seconds) of the last record whose time
    /// agreed with the record's before it.
    legacy_last_secs: Option<u32>,
    /// Legacy pcap: the timestamp (seconds) of the last record.
    legacy_prev_secs: Option<u32>,
    /// pcapng: interfaces of the current section.
    interfaces: Vec<Interface>,
    /// pcapng: byte order of the current section (for our own block guard).
    ng_big_endian: bool,
    frame_number: u64,
    buffer_size: usize,
    pub warnings: Vec<ReadWarning>,
    /// Damaged regions skipped so far and their bytes (all of them, also
    /// those past the [`MAX_WARNINGS`] kept in `warnings`).
    pub damaged_regions: u64,
    pub damaged_bytes: u64,
    /// Where reading stopped when a resynchronisation found nothing (its
    /// scan consumed the rest of the file).
    stopped_at: Option<u64>,
}

/// Most [`ReadWarning`]s kept per capture.
pub const MAX_WARNINGS: usize = 1000;

/// Reads until `buf` is full or the reader is exhausted.
fn read_prefix(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn header_error<I>(e: PcapError<I>) -> CaptureProblem {
    match e {
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => CaptureProblem::TruncatedHeader,
        PcapError::ReadError => CaptureProblem::Io("read failed".into()),
        _ => CaptureProblem::Corrupt { offset: 0, what: "bad file header".into() },
    }
}

impl CaptureReader {
    /// Detects the format from the magic number and prepares to stream.
    pub fn new(mut source: Box<dyn Read + Send>) -> Result<Self, CaptureProblem> {
        let mut prefix = vec![0u8; SNIFF_LEN];
        let n = read_prefix(&mut source, &mut prefix).map_err(|e| CaptureProblem::Io(e.to_string()))?;
        prefix.truncate(n);
        if n == 0 {
            return Err(CaptureProblem::Empty);
        }
        if prefix.starts_with(&[0x1f, 0x8b]) {
            // gzip, recognised by its magic bytes whatever the file is called.
            let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(prefix).chain(source));
            return Self::new_plain(Box::new(flate2::read::MultiGzDecoder::new(chained)), true);
        }
        Self::from_prefix(prefix, source)
    }

    /// Like [`CaptureReader::new`] but for a stream already un-gzipped.
    fn new_plain(mut source: Box<dyn Read + Send>, gzipped: bool) -> Result<Self, CaptureProblem> {
        let mut prefix = vec![0u8; SNIFF_LEN];
        let n = read_prefix(&mut source, &mut prefix)
            .map_err(|e| CaptureProblem::Io(if gzipped { format!("gzip: {e}") } else { e.to_string() }))?;
        prefix.truncate(n);
        if n == 0 {
            return Err(CaptureProblem::Empty);
        }
        Self::from_prefix(prefix, source)
    }

    fn from_prefix(prefix: Vec<u8>, source: Box<dyn Read + Send>) -> Result<Self, CaptureProblem> {
        let n = prefix.len();
        let magic = prefix.get(..4).map(|m| [m[0], m[1], m[2], m[3]]);
        let format = match magic {
            Some([0xd4, 0xc3, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0xc3, 0xd4])
            | Some([0x4d, 0x3c, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0x3c, 0x4d]) => Format::Pcap,
            Some([0x0a, 0x0d, 0x0d, 0x0a]) => Format::PcapNg,
            _ => {
                if n < 4
                    && (b"\xd4\xc3\xb2\xa1".starts_with(&prefix)
                        || b"\xa1\xb2\xc3\xd4".starts_with(&prefix)
                        || b"\x0a\x0d\x0d\x0a".starts_with(&prefix))
                {
                    return Err(CaptureProblem::TruncatedHeader);
                }
                return Err(CaptureProblem::NotACapture { first_bytes: prefix.iter().take(4).copied().collect() });
            }
        };
        let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(prefix).chain(source));
        let default_iface = Interface { linktype: 1, units_per_sec: 1_000_000, digits: 6, offset_secs: 0 };
        let inner = match format {
            Format::Pcap => Inner::Legacy(LegacyPcapReader::new(BUFFER_SIZE, chained).map_err(header_error)?),
            Format::PcapNg => Inner::Ng(PcapNGReader::new(BUFFER_SIZE, chained).map_err(header_error)?),
        };
        Ok(CaptureReader {
            inner,
            format,
            legacy: default_iface,
            legacy_be: false,
            legacy_snaplen: 0,
            legacy_last_secs: None,
            legacy_prev_secs: None,
            interfaces: Vec::new(),
            ng_big_endian: false,
            frame_number: 0,
            buffer_size: BUFFER_SIZE,
            warnings: Vec::new(),
            damaged_regions: 0,
            damaged_bytes: 0,
            stopped_at: None,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes of the file consumed so far (read up to the problem that
    /// stopped the reading).
    pub fn position(&self) -> u64 {
        if let Some(at) = self.stopped_at {
            return at;
        }
        match &self.inner {
            Inner::Legacy(r) => r.consumed() as u64,
            Inner::Ng(r) => r.consumed() as u64,
        }
    }

    /// The bytes read but not parsed yet.
    fn buffered(&self) -> &[u8] {
        match &self.inner {
            Inner::Legacy(r) => r.data(),
            Inner::Ng(r) => r.data(),
        }
    }

    /// Packets numbered so far.
    pub fn frames(&self) -> u64 {
        self.frame_number
    }

    /// Checks the next record header ourselves before pcap-parser parses it,
    /// so that absurd or short lengths become a clean error (and never reach
    /// the pcap-parser 0.17 subtraction that panics on short pcapng blocks).
    ///
    /// A pcap record whose captured length exceeds its original length or
    /// the snapshot length is taken as it is only when the record after it
    /// is sane (a flipped bit in the original length leaves the record
    /// readable); otherwise it is corrupt, before it swallows the records
    /// after it.
    fn guard_next(&mut self) -> Result<Guard, String> {
        match &self.inner {
            Inner::Legacy(r) => {
                let d = r.data();
                if let (Some(h), true) = (d.get(..16), r.consumed() > 0) {
                    let h = RecordHeader::read(h, self.legacy_be);
                    let caplen = h.caplen as usize;
                    if caplen > MAX_RECORD {
                        return Err(format!("record claims {caplen} captured bytes (limit {MAX_RECORD})"));
                    }
                    let limits = self.legacy_limits();
                    if !h.sane(&limits) {
                        let insane = || {
                            format!(
                                "record claims {caplen} captured bytes of {} (snapshot length {})",
                                h.origlen, self.legacy_snaplen
                            )
                        };
                        if caplen > RESYNC_MAX_RECORD {
                            return Err(insane());
                        }
                        let end = 16 + caplen;
                        match d.get(end..end + 16) {
                            Some(next)
                                if RecordHeader::read(next, self.legacy_be).plausible(&limits, Some(h.ts_sec)) => {}
                            None if !r.reader_exhausted() => return Ok(Guard::NeedMore),
                            None if d.len() == end => {}
                            _ => return Err(insane()),
                        }
                    }
                    // A timestamp is trusted once the record before agrees
                    // with it: one corrupt header does not move the clock
                    // a resynchronisation compares with, a real jump does.
                    if self.legacy_prev_secs.is_none_or(|p| p.abs_diff(h.ts_sec) <= RESYNC_MAX_SECS) {
                        self.legacy_last_secs = Some(h.ts_sec);
                    }
                    self.legacy_prev_secs = Some(h.ts_sec);
                }
            }
            Inner::Ng(r) => {
                let d = r.data();
                if d.len() >= 8 {
                    let ty = [d[0], d[1], d[2], d[3]];
                    let raw = [d[4], d[5], d[6], d[7]];
                    let big_endian = if ty == [0x0a, 0x0d, 0x0d, 0x0a] {
                        // A section header carries its own byte order.
                        match d.get(8..12) {
                            Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
                            Some(_) => false,
                            None => return Ok(Guard::Ready),
                        }
                    } else {
                        self.ng_big_endian
                    };
                    let len = if big_endian { u32::from_be_bytes(raw) } else { u32::from_le_bytes(raw) } as usize;
                    if len < 12 || !len.is_multiple_of(4) {
                        return Err(format!("block length {len} is not a multiple of 4 of at least 12"));
                    }
                    if len > MAX_RECORD {
                        return Err(format!("block claims {len} bytes (limit {MAX_RECORD})"));
                    }
                    let word = |b: [u8; 4]| if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) };
                    if word(ty) == 6 {
                        // Enhanced Packet Block: 28 bytes of fields, then the
                        // packet, padding and the trailing length. pcap-parser
                        // asks for more input when the lengths disagree, which
                        // would read as a truncated file.
                        if len < 32 {
                            return Err(format!(
                                "enhanced packet block of {len} bytes is shorter than its 32-byte minimum"
                            ));
                        }
                        if let Some(&[a, b, c, e]) = d.get(20..24) {
                            let caplen = word([a, b, c, e]) as usize;
                            if caplen > len - 32 {
                                return Err(format!(
                                    "enhanced packet block claims {caplen} captured bytes but holds at most {}",
                                    len - 32
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(Guard::Ready)
    }

    /// What a sane legacy pcap record header may claim.
    fn legacy_limits(&self) -> RecordLimits {
        RecordLimits {
            max_caplen: (self.legacy_snaplen as usize).clamp(RESYNC_MAX_RECORD, MAX_RECORD),
            units_per_sec: self.legacy.units_per_sec,
        }
    }

    /// Looks for the next plausible record after the corrupt one at the
    /// start of the buffer and skips to it. Returns whether one was found
    /// (and the reading can go on); `what` is why the record was corrupt.
    fn resync(&mut self, what: &str) -> Result<bool, CaptureProblem> {
        let from = self.position();
        let limits = RecordLimits { max_caplen: RESYNC_MAX_RECORD, ..self.legacy_limits() };
        let skipped = match &mut self.inner {
            Inner::Legacy(r) => {
                let (be, last) = (self.legacy_be, self.legacy_last_secs);
                resync(r, 1, |d, at, exhausted| legacy_candidate(d, at, exhausted, be, last, &limits))?
            }
            Inner::Ng(r) => {
                let (be, interfaces) = (self.ng_big_endian, self.interfaces.len());
                resync(r, 4, |d, at, exhausted| ng_candidate(d, at, exhausted, be, interfaces))?
            }
        };
        let Some(skipped) = skipped else {
            self.stopped_at = Some(from);
            return Ok(false);
        };
        self.damaged_regions += 1;
        self.damaged_bytes += skipped;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(ReadWarning::Resynced { from, to: from + skipped, what: what.to_string() });
        }
        Ok(true)
    }

    /// The [`CaptureProblem::Damaged`] summary of the regions skipped, if any.
    pub fn damage(&self) -> Option<CaptureProblem> {
        (self.damaged_regions > 0)
            .then_some(CaptureProblem::Damaged { regions: self.damaged_regions, bytes: self.damaged_bytes })
    }

    /// Calls `on_frame` for every packet, in file order. Returns `Ok(())` at a
    /// clean end, or the problem that stopped reading (frames before it were
    /// all delivered).
    pub fn for_each_frame(&mut self, mut on_frame: impl FnMut(&Frame)) -> Result<(), CaptureProblem> {
        let mut stalled_refills = 0u32;
        loop {
            let offset_before = self.position();
            let step = match self.guard_next() {
                Err(what) => Step::Corrupt(what),
                Ok(Guard::NeedMore) => Step::NeedMore,
                Ok(Guard::Ready) => self.next_record(&mut on_frame),
            };
            match step {
                Step::Advanced => stalled_refills = 0,
                Step::Eof => return Ok(()),
                Step::NeedMore => {
                    stalled_refills += 1;
                    if stalled_refills > 3 {
                        return Err(CaptureProblem::Truncated { offset: offset_before });
                    }
                    let res = match &mut self.inner {
                        Inner::Legacy(r) => r.refill().map_err(|_| ()),
                        Inner::Ng(r) => r.refill().map_err(|_| ()),
                    };
                    if res.is_err() {
                        return Err(CaptureProblem::Io("read failed".into()));
                    }
                }
                Step::TooBig => {
                    if self.buffer_size >= MAX_RECORD {
                        let what = format!("record larger than {MAX_RECORD} bytes");
                        if self.resync(&what)? {
                            continue;
                        }
                        return Err(CaptureProblem::Corrupt { offset: offset_before, what });
                    }
                    self.buffer_size = (self.buffer_size * 2).min(MAX_RECORD);
                    let grown = match &mut self.inner {
                        Inner::Legacy(r) => r.grow(self.buffer_size),
                        Inner::Ng(r) => r.grow(self.buffer_size),
                    };
                    if !grown {
                        return Err(CaptureProblem::Corrupt {
                            offset: offset_before,
                            what: "record larger than the read buffer".into(),
                        });
                    }
                    // A grown buffer must be filled before the next attempt.
                    let res = match &mut self.inner {
                        Inner::Legacy(r) => r.refill().map_err(|_| ()),
                        Inner::Ng(r) => r.refill().map_err(|_| ()),
                    };
                    if res.is_err() {
                        return Err(CaptureProblem::Io("read failed".into()));
                    }
                }
                Step::Truncated if self.buffered().is_empty() => {
                    // pcap-parser says so when the file ended at a refill
                    // made before the last records were parsed (a look-ahead
                    // or a resynchronisation read ahead): a clean end.
                    return Ok(());
                }
                Step::Truncated => {
                    // A length bit flipped up reads as a record running past
                    // the end; a plausible record after it says which.
                    if self.resync("record runs past the end of the file")? {
                        continue;
                    }
                    return Err(CaptureProblem::Truncated { offset: offset_before });
                }
                Step::Corrupt(what) => {
                    if self.resync(&what)? {
                        continue;
                    }
                    return Err(CaptureProblem::Corrupt { offset: offset_before, what });
                }
            }
        }
    }

    /// Parses the next record or block and hands its packet to `on_frame`.
    fn next_record(&mut self, on_frame: &mut impl FnMut(&Frame)) -> Step {
        match &mut self.inner {
            Inner::Legacy(r) => match r.next() {
                Ok((consumed, block)) => {
                    let frame = handle_legacy(
                        &mut self.legacy,
                        &mut self.legacy_be,
                        &mut self.legacy_snaplen,
                        &mut self.frame_number,
                        &block,
                    );
                    if let Some(frame) = frame {
                        on_frame(&frame);
                    }
                    r.consume(consumed);
                    Step::Advanced
                }
                Err(e) => classify(e),
            },
            Inner::Ng(r) => match r.next() {
                Ok((consumed, block)) => {
                    if let PcapBlockOwned::NG(block) = &block {
                        let frame = handle_ng(
                            &mut self.interfaces,
                            &mut self.ng_big_endian,
                            &mut self.frame_number,
                            &mut self.warnings,
                            block,
                        );
                        if let Some(frame) = frame {
                            on_frame(&frame);
                        }
                    }
                    r.consume(consumed);
                    Step::Advanced
                }
                Err(e) => classify(e),
            },
        }
    }
}

/// A legacy pcap record header, read in the file's byte order.
#[derive(Debug, Clone, Copy)]
struct RecordHeader {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    origlen: u32,
}

/// What a sane record header may claim.
struct RecordLimits {
    max_caplen: usize,
    units_per_sec: u64,
}

impl RecordHeader {
    /// `h` holds at least 16 bytes.
    fn read(h: &[u8], big_endian: bool) -> Self {
        let word = |at: usize| {
            let b = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        RecordHeader { ts_sec: word(0), ts_frac: word(4), caplen: word(8), origlen: word(12) }
    }

    /// Its lengths are possible: no more captured than sent, nor than the
    /// snapshot length allows.
    fn sane(&self, limits: &RecordLimits) -> bool {
        self.caplen <= self.origlen && self.caplen as usize <= limits.max_caplen
    }

    /// A record header a resynchronisation may take: sane, not empty, a
    /// fraction below one second, an original length a real packet can
    /// have, and stamped within [`RESYNC_MAX_SECS`] of `near`.
    fn plausible(&self, limits: &RecordLimits, near: Option<u32>) -> bool {
        self.sane(limits)
            && self.caplen > 0
            && self.origlen as usize <= RESYNC_MAX_RECORD
            && u64::from(self.ts_frac) < limits.units_per_sec
            && near.is_none_or(|t| self.ts_sec.abs_diff(t) <= RESYNC_MAX_SECS)
    }
}

/// What a resynchronisation scan makes of a position.
#[derive(Debug, PartialEq, Eq)]
enum Candidate {
    /// A plausible record starts here.
    Yes,
    No,
    /// Not enough bytes in the buffer to tell.
    NeedMore,
}

/// The pcap record at `at` of `d` is plausible and so is the one after it
/// (or the file ends with it).
fn legacy_candidate(
    d: &[u8],
    at: usize,
    exhausted: bool,
    big_endian: bool,
    last_secs: Option<u32>,
    limits: &RecordLimits,
) -> Candidate {
    let more = if exhausted { Candidate::No } else { Candidate::NeedMore };
    let Some(h) = d.get(at..at + 16) else { return more };
    let h = RecordHeader::read(h, big_endian);
    if !h.plausible(limits, last_secs) {
        return Candidate::No;
    }
    let end = at + 16 + h.caplen as usize;
    match d.get(end..end + 16) {
        Some(next) if RecordHeader::read(next, big_endian).plausible(limits, Some(h.ts_sec)) => Candidate::Yes,
        Some(_) => Candidate::No,
        // The last record (a header cut after it is the file's truncation).
        None if exhausted && end <= d.len() => Candidate::Yes,
        None => more,
    }
}

/// pcapng block types a resynchronisation takes: section header,
/// interface description, packet (obsolete, simple, enhanced), name
/// resolution, interface statistics, systemd journal, decryption secrets,
/// custom.
const NG_BLOCK_TYPES: [u32; 11] = [0x0a0d_0d0a, 1, 2, 3, 4, 5, 6, 9, 10, 0x0bad, 0x4000_0bad];

/// A pcapng block of a known type starts at `at` of `d`, with a length
/// its trailing copy repeats (and, for an enhanced packet block, a captured
/// length that fits and a known interface).
fn ng_candidate(d: &[u8], at: usize, exhausted: bool, big_endian: bool, interfaces: usize) -> Candidate {
    let more = if exhausted { Candidate::No } else { Candidate::NeedMore };
    let Some(h) = d.get(at..at + 12) else { return more };
    let big_endian = if h[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        match h[8..12] {
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            _ => return Candidate::No,
        }
    } else {
        big_endian
    };
    let word = |b: &[u8], at: usize| {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let (ty, len) = (word(h, 0), word(h, 4) as usize);
    if !NG_BLOCK_TYPES.contains(&ty) || len < 12 || !len.is_multiple_of(4) || len > RESYNC_MAX_RECORD {
        return Candidate::No;
    }
    if ty == 6 {
        let Some(epb) = d.get(at..at + 28) else { return more };
        let (if_id, caplen) = (word(epb, 8) as usize, word(epb, 20) as usize);
        if len < 32 || caplen > len - 32 || (interfaces > 0 && if_id >= interfaces) {
            return Candidate::No;
        }
    }
    match d.get(at + len - 4..at + len) {
        Some(t) if word(t, 0) as usize == len => Candidate::Yes,
        Some(_) => Candidate::No,
        None => more,
    }
}

/// Scans `r`'s bytes from `step` on (the corrupt record is at the start of
/// its buffer), every `step` bytes, for a position `candidate` takes, and
/// consumes the bytes before it. Returns how many bytes were skipped, or
/// None (everything consumed) when the file ends first.
///
/// One pass: every position is judged once from the bytes in the buffer;
/// when those do not suffice, the bytes before the position are dropped
/// and more are read, so that each refill moves on by nearly a buffer's
/// worth (a candidate never needs more than [`RESYNC_MAX_RECORD`] + 32
/// bytes, a fraction of the buffer).
fn resync<R: PcapReaderIterator>(
    r: &mut R,
    step: usize,
    candidate: impl Fn(&[u8], usize, bool) -> Candidate,
) -> Result<Option<u64>, CaptureProblem> {
    let mut skipped = 0u64;
    let mut at = step;
    loop {
        let exhausted = r.reader_exhausted();
        let len = r.data().len();
        if at >= len && exhausted {
            r.consume(len);
            return Ok(None);
        }
        match candidate(r.data(), at, exhausted) {
            Candidate::Yes => {
                r.consume(at);
                return Ok(Some(skipped + at as u64));
            }
            Candidate::No => at += step,
            Candidate::NeedMore => {
                let drop = at.min(len);
                r.consume(drop);
                skipped += drop as u64;
                at -= drop;
                let before = r.data().len();
                r.refill().map_err(|_| CaptureProblem::Io("read failed".into()))?;
                if r.data().len() == before && !r.reader_exhausted() {
                    // No room to read into (cannot happen with a buffer
                    // larger than a candidate): judge it as is.
                    at += step;
                }
            }
        }
    }
}

/// Whether the next record can be parsed.
enum Guard {
    Ready,
    /// More bytes are needed to judge it.
    NeedMore,
}

enum Step {
    Advanced,
    Eof,
    NeedMore,
    TooBig,
    Truncated,
    Corrupt(String),
}

fn classify<I>(e: PcapError<I>) -> Step {
    match e {
        PcapError::Eof => Step::Eof,
        PcapError::Incomplete(_) => Step::NeedMore,
        PcapError::UnexpectedEof => Step::Truncated,
        PcapError::BufferTooSmall => Step::TooBig,
        PcapError::ReadError => Step::Corrupt("read error".into()),
        PcapError::HeaderNotRecognized => Step::Corrupt("header not recognized".into()),
        // pcap-parser says Verify when a block's length fields disagree
        // (trailing length, or a length too short for the block's fields).
        PcapError::NomError(_, pcap_parser::nom::error::ErrorKind::Verify)
        | PcapError::OwnedNomError(_, pcap_parser::nom::error::ErrorKind::Verify) => {
            Step::Corrupt("inconsistent block: its length fields disagree".into())
        }
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            Step::Corrupt(format!("unparsable record ({kind:?})"))
        }
    }
}

fn handle_legacy<'a>(
    iface: &mut Interface,
    big_endian: &mut bool,
    snaplen: &mut u32,
    frame_number: &mut u64,
    block: &PcapBlockOwned<'a>,
) -> Option<Frame<'a>> {
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            iface.linktype = h.network.0;
            *big_endian = h.is_bigendian();
            *snaplen = h.snaplen;
            if h.is_nanosecond_precision() {
                iface.units_per_sec = 1_000_000_000;
                iface.digits = 9;
            }
            None
        }
        PcapBlockOwned::Legacy(b) => {
            *frame_number += 1;
            let units = b.ts_sec as u64 * iface.units_per_sec + b.ts_usec as u64;
            let caplen = (b.caplen as usize).min(b.data.len());
            Some(Frame {
                number: *frame_number,
                ts: Timestamp::from_units(units, iface.units_per_sec, iface.digits, 0),
                linktype: iface.linktype,
                data: &b.data[..caplen],
                orig_len: b.origlen,
            })
        }
        PcapBlockOwned::NG(_) => None,
    }
}

fn handle_ng<'a>(
    interfaces: &mut Vec<Interface>,
    big_endian: &mut bool,
    frame_number: &mut u64,
    warnings: &mut Vec<ReadWarning>,
    block: &Block<'a>,
) -> Option<Frame<'a>> {
    const MAX_INTERFACES: usize = 4096;
    match block {
        Block::SectionHeader(shb) => {
            interfaces.clear();
            *big_endian = shb.big_endian();
            None
        }
        Block::InterfaceDescription(idb) => {
            let (units_per_sec, digits) = decode_tsresol(idb.if_tsresol).unwrap_or_else(|| {
                warnings.push(ReadWarning::BadTimeResolution { if_tsresol: idb.if_tsresol });
                (1_000_000, 6)
            });
            // pcap-parser reads if_tsoffset little-endian even in big-endian
            // sections; swap it back there.
            let offset_secs = if *big_endian { idb.if_tsoffset.swap_bytes() } else { idb.if_tsoffset };
            if interfaces.len() < MAX_INTERFACES {
                interfaces.push(Interface { linktype: idb.linktype.0, units_per_sec, digits, offset_secs });
            }
            None
        }
        Block::EnhancedPacket(epb) => {
            *frame_number += 1;
            let Some(iface) = interfaces.get(epb.if_id as usize).copied() else {
                if warnings.len() < 1000 {
                    warnings.push(ReadWarning::UnknownInterface { frame: *frame_number, if_id: epb.if_id });
                }
                return None;
            };
            let units = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            let caplen = (epb.caplen as usize).min(epb.data.len());
            Some(Frame {
                number: *frame_number,
                ts: Timestamp::from_units(units, iface.units_per_sec, iface.digits, iface.offset_secs),
                linktype: iface.linktype,
                data: &epb.data[..caplen],
                orig_len: epb.origlen,
            })
        }
        Block::SimplePacket(spb) => {
            *frame_number += 1;
            let iface = interfaces.first().copied()?;
            let caplen = (spb.origlen as usize).min(spb.data.len());
            Some(Frame {
                number: *frame_number,
                // A simple packet block has no timestamp.
                ts: Timestamp { secs: 0, nanos: 0, digits: iface.digits },
                linktype: iface.linktype,
                data: &spb.data[..caplen],
                orig_len: spb.origlen,
            })
        }
        Block::Unknown(u) if u.block_type == 2 => {
            // Obsolete Packet Block: Wireshark still numbers it.
            *frame_number += 1;
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type FrameSummary = (u64, i32, Vec<u8>, String);

    fn read_all(bytes: Vec<u8>) -> (Vec<FrameSummary>, Result<(), CaptureProblem>) {
        let mut frames = Vec::new();
        let mut reader = match CaptureReader::new(Box::new(io::Cursor::new(bytes))) {
            Ok(r) => r,
            Err(e) => return (frames, Err(e)),
        };
        let res = reader.for_each_frame(|f| frames.push((f.number, f.linktype, f.data.to_vec(), f.ts.to_string())));
        (frames, res)
    }

    fn pcap_header(magic: u32, linktype: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&magic.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&linktype.to_le_bytes());
        v
    }

    fn record(ts: u32, frac: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [ts, frac, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_legacy_microseconds_and_nanoseconds() {
        let mut f = pcap_header(0xa1b2c3d4, 101);
        f.extend(record(1, 5, b"abc"));
        f.extend(record(2, 6, b"de"));
        let (frames, res) = read_all(f);
        assert_eq!(res, Ok(()));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].0, 2);
        assert_eq!(frames[1].1, 101);
        assert_eq!(frames[0].3, "1970-01-01T00:00:01.000005Z");

        let mut f = pcap_header(0xa1b23c4d, 1);
        f.extend(record(1, 5, b"abc"));
        let (frames, _) = read_all(f);
        assert_eq!(frames[0].3, "1970-01-01T00:00:01.000000005Z");
    }

    #[test]
    fn empty_and_foreign_files() {
        assert_eq!(read_all(vec![]).1, Err(CaptureProblem::Empty));
        assert!(matches!(read_all(b"<html>".to_vec()).1, Err(CaptureProblem::NotACapture { .. })));
        assert_eq!(read_all(vec![0xd4, 0xc3]).1, Err(CaptureProblem::TruncatedHeader));
        assert_eq!(read_all(vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).1, Err(CaptureProblem::TruncatedHeader));
    }

    #[test]
    fn truncated_last_record_keeps_earlier_frames() {
        let mut f = pcap_header(0xa1b2c3d4, 101);
        f.extend(record(1, 0, b"abcdef"));
        let mut last = record(2, 0, &[7u8; 60]);
        last.truncate(16 + 20);
        f.extend(last);
        let (frames, res) = read_all(f);
        assert_eq!(frames.len(), 1);
        assert!(matches!(res, Err(CaptureProblem::Truncated { .. })), "{res:?}");
    }

    #[test]
    fn huge_caplen_is_corrupt_not_allocation() {
        let mut f = pcap_header(0xa1b2c3d4, 101);
        f.extend(record(1, 0, b"ok"));
        let mut bad = record(2, 0, b"x");
        bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        f.extend(bad);
        let (frames, res) = read_all(f);
        assert_eq!(frames.len(), 1);
        assert!(matches!(res, Err(CaptureProblem::Corrupt { .. })), "{res:?}");
    }

    #[test]
    fn short_pcapng_block_is_corrupt_not_panic() {
        // DEPS-NOTES: SHB + a process information block of length 8.
        let mut f = Vec::new();
        f.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]);
        f.extend_from_slice(&(-1i64).to_le_bytes());
        f.extend_from_slice(&28u32.to_le_bytes());
        f.extend_from_slice(&[0x01, 0x00, 0x00, 0x80, 0x08, 0, 0, 0, 0x08, 0, 0, 0]);
        let (_, res) = read_all(f);
        assert!(matches!(res, Err(CaptureProblem::Corrupt { .. })), "{res:?}");
    }

    #[test]
    fn enhanced_packet_block_with_bogus_lengths_is_corrupt_not_truncated() {
        let shb_idb = |f: &mut Vec<u8>| {
            f.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]);
            f.extend_from_slice(&(-1i64).to_le_bytes());
            f.extend_from_slice(&28u32.to_le_bytes());
            f.extend_from_slice(&[1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 20, 0, 0, 0]);
        };
        // caplen far beyond the block (the file is complete, not truncated)
        let mut f = Vec::new();
        shb_idb(&mut f);
        for w in [6u32, 40, 0, 0, 0, 0xffff_ff00, 8] {
            f.extend_from_slice(&w.to_le_bytes());
        }
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(&40u32.to_le_bytes());
        let (_, res) = read_all(f);
        assert!(
            matches!(&res, Err(CaptureProblem::Corrupt { what, .. }) if what.contains("captured bytes")),
            "{res:?}"
        );
        // a block length below the EPB's fixed fields
        let mut f = Vec::new();
        shb_idb(&mut f);
        for w in [6u32, 20, 0, 0, 20] {
            f.extend_from_slice(&w.to_le_bytes());
        }
        let (_, res) = read_all(f);
        assert!(matches!(&res, Err(CaptureProblem::Corrupt { what, .. }) if what.contains("minimum")), "{res:?}");
    }

    /// Records `i` of `n` with an 8-byte payload naming them, 1 s apart.
    fn numbered_records(n: u32) -> Vec<Vec<u8>> {
        (0..n).map(|i| record(1_700_000_000 + i, 0, format!("rec{i:05}").as_bytes())).collect()
    }

    fn set_word(f: &mut [u8], at: usize, v: u32) {
        f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn a_flipped_caplen_is_skipped_and_reading_goes_on() {
        let recs = numbered_records(10);
        let mut f = pcap_header(0xa1b2c3d4, 101);
        let mut starts = Vec::new();
        for r in &recs {
            starts.push(f.len());
            f.extend_from_slice(r);
        }
        // Record 3: a high caplen bit (beyond any limit); record 6: a low
        // one (within the snapshot length, but more than the packet had).
        set_word(&mut f, starts[3] + 8, 8 | 1 << 28);
        set_word(&mut f, starts[6] + 8, 8 | 1 << 9);
        let mut reader = CaptureReader::new(Box::new(io::Cursor::new(f.clone()))).unwrap();
        let mut got = Vec::new();
        let res = reader.for_each_frame(|fr| got.push(String::from_utf8_lossy(fr.data).into_owned()));
        assert_eq!(res, Ok(()));
        let want: Vec<String> = [0, 1, 2, 4, 5, 7, 8, 9].iter().map(|i| format!("rec{i:05}")).collect();
        assert_eq!(got, want);
        assert_eq!(
            reader.warnings,
            vec![
                ReadWarning::Resynced {
                    from: starts[3] as u64,
                    to: starts[4] as u64,
                    what: "record claims 268435464 captured bytes (limit 16777216)".into()
                },
                ReadWarning::Resynced {
                    from: starts[6] as u64,
                    to: starts[7] as u64,
                    what: "record claims 520 captured bytes of 8 (snapshot length 65535)".into()
                },
            ]
        );
        assert_eq!(reader.damage(), Some(CaptureProblem::Damaged { regions: 2, bytes: 48 }));
        assert_eq!(reader.position(), f.len() as u64);
    }

    #[test]
    fn a_flipped_original_length_keeps_its_record() {
        // caplen > origlen, but the record after it is where caplen says.
        let mut f = pcap_header(0xa1b2c3d4, 101);
        let recs = numbered_records(3);
        f.extend_from_slice(&recs[0]);
        let at = f.len();
        f.extend_from_slice(&recs[1]);
        f.extend_from_slice(&recs[2]);
        set_word(&mut f, at + 12, 2);
        let (frames, res) = read_all(f.clone());
        assert_eq!((frames.len(), res), (3, Ok(())));
        // The last record: the file ends where its caplen says.
        set_word(&mut f, at + 12, 8);
        let last = f.len() - 24;
        set_word(&mut f, last + 12, 2);
        let (frames, res) = read_all(f);
        assert_eq!((frames.len(), res), (3, Ok(())));
    }

    #[test]
    fn nothing_plausible_after_the_damage_stops_where_it_began() {
        let mut f = pcap_header(0xa1b2c3d4, 101);
        f.extend(record(1, 0, b"ok"));
        let at = f.len();
        f.extend(record(2, 0, b"x"));
        set_word(&mut f, at + 8, u32::MAX);
        f.extend_from_slice(&[0x5a; 5000]);
        let mut reader = CaptureReader::new(Box::new(io::Cursor::new(f))).unwrap();
        let res = reader.for_each_frame(|_| {});
        assert!(matches!(res, Err(CaptureProblem::Corrupt { offset, .. }) if offset == at as u64), "{res:?}");
        assert_eq!(reader.position(), at as u64);
        assert_eq!(reader.damage(), None);
    }

    #[test]
    fn a_length_running_past_the_end_is_damage_when_records_follow() {
        let recs = numbered_records(4);
        let mut f = pcap_header(0xa1b2c3d4, 101);
        let mut starts = Vec::new();
        for r in &recs {
            starts.push(f.len());
            f.extend_from_slice(r);
        }
        // 60000 bytes: within the snapshot length, beyond the file.
        set_word(&mut f, starts[1] + 8, 60_000);
        set_word(&mut f, starts[1] + 12, 60_000);
        let (frames, res) = read_all(f.clone());
        assert_eq!(res, Ok(()));
        assert_eq!(
            frames.iter().map(|f| f.2.clone()).collect::<Vec<_>>(),
            [&recs[0], &recs[2], &recs[3]].map(|r| r[16..].to_vec())
        );
        // And cut inside the last record: the damage is skipped, the cut
        // is still a truncated capture.
        f.truncate(starts[3] + 20);
        let (frames, res) = read_all(f);
        assert_eq!(frames.len(), 2);
        assert!(matches!(res, Err(CaptureProblem::Truncated { .. })), "{res:?}");
    }

    #[test]
    fn a_pcapng_block_with_a_bad_length_is_skipped() {
        let mut f = Vec::new();
        f.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]);
        f.extend_from_slice(&(-1i64).to_le_bytes());
        f.extend_from_slice(&28u32.to_le_bytes());
        f.extend_from_slice(&[1, 0, 0, 0, 20, 0, 0, 0, 101, 0, 0, 0, 0, 0, 4, 0, 20, 0, 0, 0]);
        let mut starts = Vec::new();
        for i in 0..4u32 {
            starts.push(f.len());
            for w in [6u32, 40, 0, 0, i, 8, 8] {
                f.extend_from_slice(&w.to_le_bytes());
            }
            f.extend_from_slice(format!("blk{i:05}").as_bytes());
            f.extend_from_slice(&40u32.to_le_bytes());
        }
        // Block 1's length says 44: its trailing length disagrees.
        set_word(&mut f, starts[1] + 4, 44);
        let mut reader = CaptureReader::new(Box::new(io::Cursor::new(f))).unwrap();
        let mut got = Vec::new();
        assert_eq!(reader.for_each_frame(|fr| got.push(fr.data.to_vec())), Ok(()));
        assert_eq!(got, vec![b"blk00000".to_vec(), b"blk00002".to_vec(), b"blk00003".to_vec()]);
        assert!(
            matches!(&reader.warnings[..], [ReadWarning::Resynced { from, to, .. }]
            if *from == starts[1] as u64 && *to == starts[2] as u64),
            "{:?}",
            reader.warnings
        );
    }

    #[test]
    fn resync_looks_at_each_position_once() {
        // 3 MiB of junk (three buffers' worth) before a good record: the
        // scan judges every position once, never again after a refill.
        let mut f = pcap_header(0xa1b2c3d4, 101);
        f.extend(record(1, 0, b"ok"));
        let junk = 3 << 20;
        f.extend(std::iter::repeat_n(0x5au8, junk));
        f.extend(record(2, 0, b"a"));
        f.extend(record(3, 0, b"b"));
        let mut r = LegacyPcapReader::new(BUFFER_SIZE, io::Cursor::new(f)).unwrap();
        // Past the file header and the good record.
        for _ in 0..2 {
            let (n, _) = r.next().unwrap();
            r.consume(n);
        }
        let judged = std::cell::Cell::new(0usize);
        let limits = RecordLimits { max_caplen: RESYNC_MAX_RECORD, units_per_sec: 1_000_000 };
        let skipped = resync(&mut r, 1, |d, at, ex| {
            judged.set(judged.get() + 1);
            legacy_candidate(d, at, ex, false, Some(1), &limits)
        })
        .unwrap();
        assert_eq!(skipped, Some(junk as u64));
        assert!(judged.get() <= junk + 8, "{} positions judged for {junk} bytes", judged.get());
    }

    #[test]
    fn tsresol_decoding() {
        assert_eq!(decode_tsresol(6), Some((1_000_000, 6)));
        assert_eq!(decode_tsresol(9), Some((1_000_000_000, 9)));
        assert_eq!(decode_tsresol(0x80 | 10), Some((1024, 4)));
        assert_eq!(decode_tsresol(20), None);
        assert_eq!(decode_tsresol(0xff), None);
    }
}
