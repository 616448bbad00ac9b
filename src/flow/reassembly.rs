//! One direction of a TCP connection, reassembled by sequence number.
//!
//! # Invariants
//! * Stream offsets are `u64` counted from the first byte after the SYN, or,
//!   for a stream picked up without its SYN, from [`START_LOOKBACK`] bytes
//!   before the first byte seen (its start is provisional: see below);
//!   32-bit sequence numbers are mapped to offsets relative to `next`, so
//!   wrapping sequence numbers never matter and nothing can overflow.
//! * Bytes are delivered exactly once, in order: `next` only grows.
//! * `pending` holds out-of-order bytes strictly after `next`; its segments
//!   never overlap one another, and `buffered` is the sum of their lengths.
//! * `buffered <= max_buffered` and `pending.len() <= max_segments` after
//!   every call: past a cap the oldest hole is declared a gap, never an
//!   unbounded buffer.
//!
//! Release is driven by sequence numbers, not by ACKs, so one-sided captures
//! and the last reply are never lost. ACKs from the peer only serve to prove
//! that a hole was really sent, so the gap can be declared before the end of
//! the stream: once the ACK passed it and a window of [`ACKED_HOLE_FRAMES`]
//! frames or [`ACKED_HOLE_WAIT`] of capture time went by without the missing
//! bytes. The wait is for captures that show packets out of order (two taps
//! merged, multi-queue NICs, capture buffers): there the ACK can come before
//! the data it acknowledges, and the late segment fills the hole.
//!
//! The same reordering can show a stream's later bytes before its first ones,
//! or before its SYN. A stream whose first segment is not a SYN therefore
//! starts provisionally: its bytes are held, not delivered, for the same
//! window; an earlier segment (up to [`START_LOOKBACK`] bytes before) moves
//! the start back, a SYN fixes it. Then, or when the window is over, the
//! stream begins at its SYN or its lowest byte seen, with no gap before it.

use crate::capture::Timestamp;
use crate::config::ReassemblyLimits;
use std::collections::{BTreeMap, VecDeque};

/// How bytes that arrive twice with different content are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlapPolicy {
    /// Keep the bytes seen first (BSD/Windows receivers; also the only choice
    /// for bytes already delivered).
    #[default]
    First,
    /// Let later bytes replace buffered (not yet delivered) ones (Linux-like
    /// for out-of-order data).
    Last,
}

/// Where a delivered chunk came from in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin {
    pub frame: u64,
    pub ts: Timestamp,
}

/// Frames, after the peer's ACK first passed a hole, that the missing
/// segment is waited for before the hole is declared a gap.
pub const ACKED_HOLE_FRAMES: u64 = 1000;
/// Capture time, after the peer's ACK first passed a hole, that the missing
/// segment is waited for before the hole is declared a gap (nanoseconds).
pub const ACKED_HOLE_WAIT: i128 = 200_000_000;

/// How far before the first byte seen a stream picked up without its SYN
/// may turn out to begin (its earlier segments or its SYN arriving later).
pub const START_LOOKBACK: u64 = 64 * 1024;

/// What the reassembler hands on.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// The next in-order bytes of the stream, and the acknowledgement
    /// number of the segment that carried them (when its ACK flag was set):
    /// how much of the other direction their sender had received.
    Data { bytes: &'a [u8], origin: Origin, ack: Option<u32> },
    /// `len` bytes were never captured; data resumes after them.
    Gap { len: u64, origin: Origin },
    /// Bytes sent twice disagreed; `kept` says which copy survived.
    Conflict { first_frame: u64, later_frame: u64, len: u64, kept: OverlapPolicy },
}

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    origin: Origin,
    ack: Option<u32>,
}

/// [`Reassembler::wait_frame`] while nothing is waited for.
const NO_WAIT: u64 = u64::MAX;
/// [`Reassembler::start`] while the start is provisional.
const PROVISIONAL: u64 = u64::MAX;
/// [`Reassembler::fin_at`] before a FIN is seen.
const NO_FIN: u64 = u64::MAX;

/// Segments held out of order, by stream offset.
#[derive(Debug, Default)]
struct Held(BTreeMap<u64, Pending>);

impl Held {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn first(&self) -> Option<(u64, &Pending)> {
        self.0.first_key_value().map(|(k, p)| (*k, p))
    }

    fn last(&self) -> Option<(u64, &Pending)> {
        self.0.last_key_value().map(|(k, p)| (*k, p))
    }

    fn pop_first(&mut self) -> Option<(u64, Pending)> {
        self.0.pop_first()
    }

    fn get(&self, key: u64) -> Option<&Pending> {
        self.0.get(&key)
    }

    fn get_mut(&mut self, key: u64) -> Option<&mut Pending> {
        self.0.get_mut(&key)
    }

    fn insert(&mut self, key: u64, pending: Pending) {
        self.0.insert(key, pending);
    }

    fn remove(&mut self, key: u64) -> Option<Pending> {
        self.0.remove(&key)
    }

    /// Offsets of the segments overlapping `start..end`, from the last one
    /// back: those that start before `end`, as long as each reaches past
    /// `start`.
    fn overlapping(&self, start: u64, end: u64) -> Vec<u64> {
        let reaches = |k: u64, p: &Pending| k + p.data.len() as u64 > start;
        self.0.range(..end).rev().take_while(|(k, p)| reaches(**k, p)).map(|(k, _)| *k).collect()
    }

    #[cfg(test)]
    fn values(&self) -> impl Iterator<Item = &Pending> + '_ {
        self.0.values()
    }
}

/// Counters a caller may want to report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
///
/// Byte counts are `u64`; event counts `u32` (saturating), which keeps a
/// connection within its allocation size class.
pub struct ReassemblyStats {
    pub delivered: u64,
    pub retransmitted: u64,
    pub gap_bytes: u64,
    pub gaps: u32,
    pub conflicts: u32,
    pub cap_hits: u32,
    pub out_of_window: u32,
}

/// Segments further ahead than this are not believed (hostile or corrupt).
const MAX_AHEAD: u64 = 64 << 20;
/// Delivered bytes remembered to compare retransmissions against.
const RECENT: usize = 4096;
#[derive(Debug)]
pub struct Reassembler {
    /// Sequence number of stream offset 0; None until the first SYN or data.
    isn: Option<u32>,
    next: u64,
    pending: Held,
    /// `(frame, offset)` of every segment in `pending`, sorted by frame,
    /// and perhaps of some since taken out (skipped when met: see
    /// [`Reassembler::trim_held_frames`]); its first entry is current after
    /// every public call. Answers [`Reassembler::min_buffered_frame`], asked
    /// about every live flow whenever rows wait to be released, without a
    /// walk over everything buffered. Boxed: 8 bytes in every connection
    /// instead of 32, and most flows never buffer.
    #[allow(clippy::box_collection)]
    held_frames: Option<Box<VecDeque<(u64, u64)>>>,
    buffered: usize,
    /// Stream offset of the FIN, once seen; [`NO_FIN`] before (a plain
    /// `u64` keeps the connection within its allocation size class).
    fin_at: u64,
    /// Highest offset the peer acknowledged.
    peer_acked: u64,
    /// Frame and capture time (ns) at which the peer's ACK first passed the
    /// hole at `next`: the start of its wait ([`NO_WAIT`] frame while no
    /// acknowledged hole waits); while the start is provisional, of the
    /// first segment seen (the two waits never overlap: no hole is looked
    /// at before the start is settled). Two plain numbers keep a connection
    /// within its allocation size class.
    wait_frame: u64,
    wait_nanos: i64,
    /// Stream offset of the first byte: 0, or where a provisional start
    /// settled (what a consumer counting bytes from the start subtracts);
    /// [`PROVISIONAL`] while the start is provisional, its wait timed by
    /// `wait_frame` and `wait_nanos` from the first segment seen.
    start: u64,
    /// Last delivered bytes, ending at `next`.
    recent: Vec<u8>,
    /// Frame that delivered the last byte of `recent` (for conflict reports).
    recent_frame: u64,
    limits: ReassemblyLimits,
    pub stats: ReassemblyStats,
}

impl Reassembler {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            isn: None,
            next: 0,
            pending: Held::default(),
            held_frames: None,
            buffered: 0,
            fin_at: NO_FIN,
            peer_acked: 0,
            wait_frame: NO_WAIT,
            wait_nanos: 0,
            start: 0,
            recent: Vec::new(),
            recent_frame: 0,
            limits,
            stats: ReassemblyStats::default(),
        }
    }

    /// [`Reassembler::finish`] would hand on nothing, and no cap or window
    /// problem was counted.
    pub fn finish_is_silent(&self) -> bool {
        self.pending.is_empty() && self.stats.cap_hits == 0 && self.stats.out_of_window == 0
    }

    /// Bytes held out of order right now.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// The earliest frame among bytes held out of order.
    pub fn min_buffered_frame(&self) -> Option<u64> {
        if self.pending.is_empty() {
            return None;
        }
        self.held_frames.as_ref().and_then(|log| log.front()).map(|&(frame, _)| frame)
    }

    /// Stream offset just past the last byte seen (delivered or held).
    pub fn seen_end(&self) -> u64 {
        self.pending.last().map_or(self.next, |(k, p)| self.next.max(k + p.data.len() as u64))
    }

    /// Stream offset of the next byte to deliver.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    pub fn is_started(&self) -> bool {
        self.isn.is_some()
    }

    /// The initial sequence number this direction started from, if known.
    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    /// True once every byte up to the FIN has been delivered.
    pub fn is_finished(&self) -> bool {
        // `next` never reaches NO_FIN.
        self.fin_at != NO_FIN && self.next >= self.fin_at
    }

    /// Maps a sequence number to a stream offset relative to `next`
    /// (wrap-safe; negative means before `next`).
    fn relative(&self, seq: u32) -> i64 {
        let isn = self.isn.unwrap_or(seq);
        let next_seq = isn.wrapping_add(self.next as u32);
        seq.wrapping_sub(next_seq) as i32 as i64
    }

    fn offset_of(&self, seq: u32) -> Option<u64> {
        let rel = self.relative(seq);
        if rel < 0 {
            self.next.checked_sub(rel.unsigned_abs())
        } else {
            Some(self.next + rel as u64)
        }
    }

    /// A SYN from this direction: the stream starts at `seq + 1`.
    pub fn syn(&mut self, seq: u32) {
        if self.isn.is_none() {
            self.isn = Some(seq.wrapping_add(1));
        } else if self.start_is_provisional() {
            if let Some(start) = self.syn_offset(seq) {
                // Bytes between the SYN and the first one held are a hole
                // like any other; released on this direction's next call.
                self.next = start;
                self.start = start;
                self.wait_frame = NO_WAIT;
            }
        }
    }

    /// Whether a SYN at `seq` can open this direction's stream: one just
    /// before its first byte, or, while the start is provisional, one
    /// at or before the first byte held.
    pub fn accepts_syn(&self, seq: u32) -> bool {
        if self.start_is_provisional() {
            self.syn_offset(seq).is_some()
        } else {
            self.isn.is_some() && self.offset_of(seq.wrapping_add(1)) == Some(self.start)
        }
    }

    /// The offset a SYN at `seq` puts the stream's start at, while the start
    /// is provisional: inside the look-back, not after the first byte held.
    fn syn_offset(&self, seq: u32) -> Option<u64> {
        let start = self.offset_of(seq.wrapping_add(1))?;
        let first_held = self.pending.first().map_or(START_LOOKBACK, |(k, _)| k);
        (start <= first_held).then_some(start)
    }

    /// The stream was picked up without its SYN and its first bytes may
    /// still arrive: nothing is delivered yet.
    pub fn start_is_provisional(&self) -> bool {
        self.start == PROVISIONAL
    }

    /// Ends a provisional start once its window is over at `now` (or at
    /// once with `now` None): the stream begins at its lowest byte seen.
    /// Also hands on bytes a SYN put at the start. Out of line: called only
    /// while bytes are held, and it keeps the per-ACK path small.
    #[inline(never)]
    fn settle_start(&mut self, now: Option<Origin>, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        if !self.start_is_provisional() {
            self.release_in_order(sink);
            return;
        }
        if let Some(now) = now {
            let now_nanos = i64::try_from(now.ts.as_nanos()).unwrap_or(i64::MAX);
            let waited = now.frame.saturating_sub(self.wait_frame) >= ACKED_HOLE_FRAMES
                || i128::from(now_nanos) - i128::from(self.wait_nanos) >= ACKED_HOLE_WAIT;
            if !waited {
                return;
            }
        }
        self.wait_frame = NO_WAIT;
        self.start = self.next;
        if let Some((first, _)) = self.pending.first() {
            self.next = first;
            self.start = first;
        }
        self.release_in_order(sink);
    }

    /// A FIN at `seq` after `len` payload bytes.
    pub fn fin(&mut self, seq: u32, len: usize) {
        if self.isn.is_none() {
            self.isn = Some(seq);
        }
        if let Some(off) = self.offset_of(seq) {
            let end = off + len as u64;
            if self.fin_at == NO_FIN && end >= self.next && end != NO_FIN {
                self.fin_at = end;
            }
        }
    }

    /// The peer acknowledged everything before `ack` (in a segment from
    /// `now`): holes below it were really sent, so they become gaps once
    /// their wait is over and later data exists.
    pub fn peer_ack(&mut self, ack: u32, now: Origin, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        if self.isn.is_none() {
            return;
        }
        if !self.pending.is_empty() {
            self.settle_start(Some(now), sink);
        }
        let rel = self.relative(ack);
        if rel > 0 && (rel as u64) <= MAX_AHEAD {
            self.peer_acked = self.peer_acked.max(self.next + rel as u64);
            self.release_acked_holes(now, sink);
            self.trim_held_frames();
        }
    }

    /// The capture has reached `now`: acknowledged holes whose wait is over
    /// become gaps (for flows that went quiet while one waited).
    pub fn expire(&mut self, now: Origin, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        self.settle_start(Some(now), sink);
        self.release_acked_holes(now, sink);
        self.trim_held_frames();
    }

    /// The stream offset `ack` of this direction stands for (wrap-safe), if
    /// it is not before the stream's start.
    pub fn ack_offset(&self, ack: u32) -> Option<u64> {
        self.isn?;
        self.offset_of(ack)
    }

    /// Stream offset of the first byte handed on; None while the start is
    /// provisional.
    pub fn start_offset(&self) -> Option<u64> {
        (!self.start_is_provisional()).then_some(self.start)
    }

    /// How many bytes of this direction, counted from its first byte, `ack`
    /// acknowledges: what a consumer that counts the bytes handed on (gaps
    /// included) compares with. None while the start is provisional.
    pub fn acked_bytes(&self, ack: u32) -> Option<u64> {
        if self.start_is_provisional() {
            return None;
        }
        self.ack_offset(ack)?.checked_sub(self.start)
    }

    /// Adds a segment carrying `payload` at `seq`; `missing_tail` bytes
    /// followed it on the wire but were cut by the snaplen.
    pub fn push(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing_tail: u32,
        origin: Origin,
        ack: Option<u32>,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        // One way out of `push_segment`'s many: acknowledged holes are
        // looked at and the frame log is trimmed whichever way the segment
        // went.
        self.push_segment(seq, payload, missing_tail, origin, ack, sink);
        if !self.pending.is_empty() {
            self.settle_start(Some(origin), sink);
        }
        if self.peer_acked > self.next || self.wait_frame != NO_WAIT {
            self.release_acked_holes(origin, sink);
        }
        if self.held_frames.is_some() {
            self.trim_held_frames();
        }
    }

    #[inline(always)]
    fn push_segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing_tail: u32,
        origin: Origin,
        ack: Option<u32>,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if payload.is_empty() && missing_tail == 0 {
            return;
        }
        if self.isn.is_none() {
            // Picked up without the SYN: the first bytes may still come
            // (reordered capture); held until the start is settled.
            self.isn = Some(seq.wrapping_sub(START_LOOKBACK as u32));
            self.start = PROVISIONAL;
            self.wait_frame = origin.frame;
            self.wait_nanos = i64::try_from(origin.ts.as_nanos()).unwrap_or(i64::MAX);
        }
        let rel = self.relative(seq);
        let mut data = payload;
        let mut start = self.next;
        if rel < 0 {
            let behind = rel.unsigned_abs();
            if behind > self.next {
                // Before the first byte we know of (e.g. sent before a
                // mid-stream pickup): nothing to compare it with.
                self.stats.out_of_window = self.stats.out_of_window.saturating_add(1);
                return;
            }
            if behind >= data.len() as u64 {
                // Entirely old: a retransmission.
                self.stats.retransmitted += data.len() as u64;
                self.compare_with_recent(self.next - behind, data, origin, sink);
                if missing_tail > 0 && behind < (data.len() as u64 + missing_tail as u64) {
                    // The part past `next` was cut by the snaplen.
                    let lost = data.len() as u64 + missing_tail as u64 - behind;
                    self.skip(lost, origin, sink);
                }
                return;
            }
            let (old, new) = data.split_at(behind as usize);
            self.stats.retransmitted += old.len() as u64;
            self.compare_with_recent(self.next - behind, old, origin, sink);
            data = new;
        } else {
            let ahead = rel as u64;
            if ahead > MAX_AHEAD {
                self.stats.out_of_window = self.stats.out_of_window.saturating_add(1);
                return;
            }
            start = self.next + ahead;
        }
        if self.fin_at != NO_FIN {
            let fin = self.fin_at;
            // Nothing after the FIN belongs to this connection.
            if start >= fin {
                return;
            }
            let room = (fin - start) as usize;
            if data.len() > room {
                data = &data[..room];
            }
        }
        if start == self.next && self.pending.is_empty() && !self.start_is_provisional() {
            // Fast path: in order with nothing buffered, no copy.
            self.deliver(data, origin, ack, sink);
        } else {
            self.insert(start, data, origin, ack, sink);
            self.release_in_order(sink);
        }
        if missing_tail > 0 {
            let tail_start = start + data.len() as u64;
            if tail_start == self.next {
                self.skip(missing_tail as u64, origin, sink);
            }
        }
        self.enforce_caps(sink);
    }

    /// End of stream (FIN delivered, RST, eviction or end of capture): every
    /// remaining hole becomes a gap and all buffered bytes are delivered.
    pub fn finish(&mut self, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        self.settle_start(None, sink);
        while self.skip_first_hole(sink) {}
        self.trim_held_frames();
    }

    fn deliver(&mut self, data: &[u8], origin: Origin, ack: Option<u32>, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        if data.is_empty() {
            return;
        }
        self.next += data.len() as u64;
        self.stats.delivered += data.len() as u64;
        self.recent.extend_from_slice(&data[data.len().saturating_sub(RECENT)..]);
        if self.recent.len() > 2 * RECENT {
            let cut = self.recent.len() - RECENT;
            self.recent.drain(..cut);
        }
        self.recent_frame = origin.frame;
        sink(StreamEvent::Data { bytes: data, origin, ack });
    }

    /// Declares the `len` bytes at `next` lost — except those that are
    /// buffered: only the holes among them become gaps, and buffered bytes
    /// in the range are delivered, never dropped.
    fn skip(&mut self, len: u64, origin: Origin, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        let target = self.next + len;
        while self.next < target {
            let hole_end = match self.pending.first().map(|(k, _)| k) {
                Some(k) if k == self.next => {
                    self.release_in_order(sink);
                    continue;
                }
                Some(k) if k < self.next => {
                    // Never happens (pending starts after `next`); trim so the
                    // loop always advances.
                    if let Some(p) = self.pending.remove(k) {
                        self.buffered -= p.data.len();
                        let keep = (self.next - k) as usize;
                        if keep < p.data.len() {
                            let rest = p.data[keep..].to_vec();
                            self.hold(self.next, rest, p.origin, p.ack);
                        }
                    }
                    continue;
                }
                Some(k) => k.min(target),
                None => target,
            };
            let gap = hole_end - self.next;
            self.next = hole_end;
            self.stats.gaps = self.stats.gaps.saturating_add(1);
            self.stats.gap_bytes += gap;
            // What we remember no longer ends at `next`.
            self.recent.clear();
            sink(StreamEvent::Gap { len: gap, origin });
            self.release_in_order(sink);
        }
    }

    /// Jumps the first hole; false when nothing is pending.
    fn skip_first_hole(&mut self, sink: &mut dyn FnMut(StreamEvent<'_>)) -> bool {
        let Some((key, p)) = self.pending.first() else {
            return false;
        };
        let origin = p.origin;
        if key > self.next {
            self.skip(key - self.next, origin, sink);
        } else {
            self.release_in_order(sink);
        }
        true
    }

    fn release_in_order(&mut self, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        if self.start_is_provisional() {
            return;
        }
        while self.pending.first().is_some_and(|(k, _)| k == self.next) {
            let Some((_, p)) = self.pending.pop_first() else { break };
            self.buffered -= p.data.len();
            self.deliver(&p.data, p.origin, p.ack, sink);
        }
    }

    /// Declares the holes below the peer's ACK gaps once their wait (from
    /// the first ACK past the hole at `next`) is over at `now`.
    fn release_acked_holes(&mut self, now: Origin, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        if self.start_is_provisional() {
            // Nothing is a hole before the start is known.
            return;
        }
        if self.peer_acked <= self.next {
            self.wait_frame = NO_WAIT;
            return;
        }
        let now_nanos = i64::try_from(now.ts.as_nanos()).unwrap_or(i64::MAX);
        if self.wait_frame == NO_WAIT {
            self.wait_frame = now.frame;
            self.wait_nanos = now_nanos;
        }
        // No late copy can follow once this direction's FIN was
        // acknowledged: the sender has nothing left to send.
        let closed = self.fin_at != NO_FIN && self.peer_acked > self.fin_at;
        let waited = closed
            || now.frame.saturating_sub(self.wait_frame) >= ACKED_HOLE_FRAMES
            || i128::from(now_nanos) - i128::from(self.wait_nanos) >= ACKED_HOLE_WAIT;
        if !waited {
            return;
        }
        // The acknowledgement first: it is at hand, the buffer's first key
        // is a walk down the tree.
        while self.peer_acked > self.next {
            match self.pending.first() {
                Some((key, _)) if key > self.next => {
                    let _ = self.skip_first_hole(sink);
                }
                _ => break,
            }
        }
        if self.peer_acked <= self.next {
            self.wait_frame = NO_WAIT;
        }
    }

    fn enforce_caps(&mut self, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while self.buffered > self.limits.max_buffered || self.pending.len() > self.limits.max_segments as usize {
            if self.start_is_provisional() {
                self.settle_start(None, sink);
                continue;
            }
            self.stats.cap_hits = self.stats.cap_hits.saturating_add(1);
            if !self.skip_first_hole(sink) {
                break;
            }
        }
    }

    /// Stores `data` at `start` (> next or with pending data ahead), resolving
    /// overlaps with buffered segments by the policy.
    fn insert(
        &mut self,
        start: u64,
        data: &[u8],
        origin: Origin,
        ack: Option<u32>,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        let end = start + data.len() as u64;
        // Past the end of everything buffered (the usual case: data after a
        // hole arrives in order): nothing can overlap, no range search.
        let after_all = self.pending.last().is_none_or(|(k, p)| k + p.data.len() as u64 <= start);
        if after_all {
            if !data.is_empty() {
                self.hold(start, data.to_vec(), origin, ack);
            }
            return;
        }
        // Collect overlapping buffered segments (they start before `end`).
        let overlapping = self.pending.overlapping(start, end);
        if overlapping.is_empty() {
            // The usual case: nothing buffered overlaps; no pieces to cut.
            if !data.is_empty() {
                self.hold(start, data.to_vec(), origin, ack);
            }
            return;
        }
        let mut cursor = start;
        let mut pieces: Vec<(u64, &[u8])> = Vec::new();
        for key in overlapping.iter().rev() {
            let Some(existing) = self.pending.get_mut(*key) else {
                continue;
            };
            let ex_start = *key;
            let ex_end = ex_start + existing.data.len() as u64;
            if ex_start > cursor {
                let a = (cursor - start) as usize;
                let b = (ex_start - start) as usize;
                pieces.push((cursor, &data[a..b]));
            }
            let ov_start = ex_start.max(start);
            let ov_end = ex_end.min(end);
            if ov_end > ov_start {
                let new_part = &data[(ov_start - start) as usize..(ov_end - start) as usize];
                let old_part = &mut existing.data[(ov_start - ex_start) as usize..(ov_end - ex_start) as usize];
                if new_part != old_part {
                    self.stats.conflicts = self.stats.conflicts.saturating_add(1);
                    if self.limits.policy == OverlapPolicy::Last {
                        old_part.copy_from_slice(new_part);
                    }
                    sink(StreamEvent::Conflict {
                        first_frame: existing.origin.frame,
                        later_frame: origin.frame,
                        len: ov_end - ov_start,
                        kept: self.limits.policy,
                    });
                } else {
                    self.stats.retransmitted += ov_end - ov_start;
                }
            }
            cursor = cursor.max(ex_end);
        }
        if cursor < end {
            pieces.push((cursor, &data[(cursor - start) as usize..]));
        }
        for (at, bytes) in pieces {
            if bytes.is_empty() {
                continue;
            }
            self.hold(at, bytes.to_vec(), origin, ack);
        }
    }

    /// Buffers `data` at offset `at`, out of order.
    fn hold(&mut self, at: u64, data: Vec<u8>, origin: Origin, ack: Option<u32>) {
        self.buffered += data.len();
        self.pending.insert(at, Pending { data, origin, ack });
        let log = self.held_frames.get_or_insert_with(Default::default);
        let frame = origin.frame;
        if log.back().is_none_or(|&(last, _)| last <= frame) {
            // Frames only grow as packets come: nearly always at the end.
            log.push_back((frame, at));
        } else {
            // An older piece put back (see `skip`).
            let i = log.partition_point(|&(f, _)| f <= frame);
            log.insert(i, (frame, at));
        }
        if log.len() > 2 * self.pending.len() + 32 {
            let pending = &self.pending;
            log.retain(|&(f, k)| pending.get(k).is_some_and(|p| p.origin.frame == f));
        }
    }

    /// Drops the entries of segments taken out from the front of
    /// `held_frames`, so that it starts with a buffered segment's.
    fn trim_held_frames(&mut self) {
        let Some(log) = &mut self.held_frames else { return };
        let pending = &self.pending;
        while log.front().is_some_and(|&(f, k)| pending.get(k).is_none_or(|p| p.origin.frame != f)) {
            log.pop_front();
        }
    }

    /// Compares retransmitted bytes at `start` (< next) with what was delivered.
    fn compare_with_recent(&mut self, start: u64, data: &[u8], origin: Origin, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        let recent_start = self.next - self.recent.len() as u64;
        let from = start.max(recent_start);
        let to = (start + data.len() as u64).min(self.next);
        if to <= from {
            return;
        }
        let old = &self.recent[(from - recent_start) as usize..(to - recent_start) as usize];
        let new = &data[(from - start) as usize..(to - start) as usize];
        if old != new {
            self.stats.conflicts = self.stats.conflicts.saturating_add(1);
            sink(StreamEvent::Conflict {
                first_frame: self.recent_frame,
                later_frame: origin.frame,
                len: to - from,
                kept: OverlapPolicy::First,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq)]
    enum Ev {
        Data(Vec<u8>, u64),
        Gap(u64),
        Conflict(u64, u64),
    }

    fn collect(r: &mut Reassembler, f: impl FnOnce(&mut Reassembler, &mut dyn FnMut(StreamEvent<'_>))) -> Vec<Ev> {
        let mut out = Vec::new();
        f(r, &mut |e| {
            out.push(match e {
                StreamEvent::Data { bytes, origin, .. } => Ev::Data(bytes.to_vec(), origin.frame),
                StreamEvent::Gap { len, .. } => Ev::Gap(len),
                StreamEvent::Conflict { first_frame, later_frame, .. } => Ev::Conflict(first_frame, later_frame),
            })
        });
        out
    }

    fn o(frame: u64) -> Origin {
        Origin { frame, ..Default::default() }
    }

    fn push(r: &mut Reassembler, seq: u32, data: &[u8], frame: u64) -> Vec<Ev> {
        collect(r, |r, s| r.push(seq, data, 0, o(frame), None, s))
    }

    #[test]
    fn in_order_after_syn() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(999);
        assert_eq!(push(&mut r, 1000, b"ab", 1), vec![Ev::Data(b"ab".to_vec(), 1)]);
        assert_eq!(push(&mut r, 1002, b"cd", 2), vec![Ev::Data(b"cd".to_vec(), 2)]);
    }

    #[test]
    fn out_of_order_is_held_then_released() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        assert_eq!(push(&mut r, 3, b"cd", 1), vec![]);
        assert_eq!(r.buffered(), 2);
        assert_eq!(push(&mut r, 1, b"ab", 2), vec![Ev::Data(b"ab".to_vec(), 2), Ev::Data(b"cd".to_vec(), 1)]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn retransmission_same_bytes_dropped_different_bytes_reported() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        push(&mut r, 1, b"503 Bad", 1);
        assert_eq!(push(&mut r, 1, b"503 Bad", 2), vec![]);
        assert_eq!(push(&mut r, 1, b"200 Bad", 3), vec![Ev::Conflict(1, 3)]);
        // Partial overlap that extends: only the new tail is delivered.
        assert_eq!(push(&mut r, 5, b"Bad seq", 4), vec![Ev::Data(b" seq".to_vec(), 4)]);
    }

    #[test]
    fn conflicting_buffered_bytes_follow_policy() {
        for (policy, expect) in [(OverlapPolicy::First, b"xAB"), (OverlapPolicy::Last, b"xCD")] {
            let mut r = Reassembler::new(ReassemblyLimits { policy, ..Default::default() });
            r.syn(0);
            push(&mut r, 2, b"AB", 1);
            assert_eq!(push(&mut r, 2, b"CD", 2), vec![Ev::Conflict(1, 2)]);
            let got = push(&mut r, 1, b"x", 3);
            let bytes: Vec<u8> = got
                .iter()
                .flat_map(|e| match e {
                    Ev::Data(d, _) => d.clone(),
                    _ => vec![],
                })
                .collect();
            assert_eq!(&bytes, expect);
        }
    }

    #[test]
    fn wrapping_sequence_numbers() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(u32::MAX - 2);
        assert_eq!(push(&mut r, u32::MAX - 1, b"ab", 1).len(), 1);
        assert_eq!(push(&mut r, 1, b"d", 3), vec![]);
        assert_eq!(
            push(&mut r, u32::MAX.wrapping_add(1), b"c", 2),
            vec![Ev::Data(b"c".to_vec(), 2), Ev::Data(b"d".to_vec(), 3)]
        );
    }

    #[test]
    fn midstream_pickup_starts_at_first_byte_once_the_window_is_over() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        assert_eq!(push(&mut r, 123_456, b"503 x\r\n", 1), vec![], "held: earlier bytes may still come");
        assert!(r.start_is_provisional());
        assert_eq!(r.acked_bytes(123_460), None, "no count before the start is known");
        let ev = collect(&mut r, |r, s| r.peer_ack(123_463, o(1 + ACKED_HOLE_FRAMES), s));
        assert_eq!(ev, vec![Ev::Data(b"503 x\r\n".to_vec(), 1)], "no gap before the first byte");
        assert_eq!(r.acked_bytes(123_463), Some(7));
        assert_eq!(r.start_offset(), Some(START_LOOKBACK));
    }

    #[test]
    fn midstream_pickup_finishes_without_a_gap() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        push(&mut r, 9000, b"later", 1);
        push(&mut r, 9010, b"after a hole", 2);
        let ev = collect(&mut r, |r, s| r.finish(s));
        assert_eq!(ev, vec![Ev::Data(b"later".to_vec(), 1), Ev::Gap(5), Ev::Data(b"after a hole".to_vec(), 2)]);
    }

    #[test]
    fn reordered_first_bytes_move_a_provisional_start_back() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        assert_eq!(push(&mut r, 1010, b"RETR b\r\n", 1), vec![]);
        assert_eq!(
            push(&mut r, 1000, b"USER abc\r\n", 2),
            vec![],
            "ten bytes earlier, still before the start is known"
        );
        let ev = collect(&mut r, |r, s| r.finish(s));
        assert_eq!(ev, vec![Ev::Data(b"USER abc\r\n".to_vec(), 2), Ev::Data(b"RETR b\r\n".to_vec(), 1)]);
        assert_eq!(r.acked_bytes(1018), Some(18));
    }

    #[test]
    fn a_late_syn_fixes_a_provisional_start() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        push(&mut r, 1006, b"world", 1);
        assert!(r.accepts_syn(999), "a SYN before the bytes held opens this stream");
        assert!(!r.accepts_syn(1006), "not one after them");
        r.syn(999);
        assert!(!r.start_is_provisional());
        assert_eq!(
            push(&mut r, 1000, b"hello ", 3),
            vec![Ev::Data(b"hello ".to_vec(), 3), Ev::Data(b"world".to_vec(), 1)]
        );
        assert_eq!(r.acked_bytes(1011), Some(11));
        assert!(r.accepts_syn(999) && !r.accepts_syn(5));
    }

    #[test]
    fn acked_hole_becomes_gap_when_later_data_exists() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        push(&mut r, 1, b"ab", 1);
        // bytes 3..5 lost; later data arrives
        assert_eq!(push(&mut r, 5, b"ef", 3), vec![]);
        // The ACK passes the hole: the late segment is waited for...
        assert_eq!(collect(&mut r, |r, s| r.peer_ack(7, o(4), s)), vec![]);
        // ...for a window of frames, then the hole is a gap.
        let ev = collect(&mut r, |r, s| r.peer_ack(7, o(4 + ACKED_HOLE_FRAMES), s));
        assert_eq!(ev, vec![Ev::Gap(2), Ev::Data(b"ef".to_vec(), 3)]);
    }

    #[test]
    fn acked_hole_waits_on_the_capture_clock_too() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        push(&mut r, 1, b"ab", 1);
        push(&mut r, 5, b"ef", 3);
        let at = |frame, secs| Origin { frame, ts: Timestamp { secs, ..Default::default() } };
        assert_eq!(collect(&mut r, |r, s| r.peer_ack(7, at(4, 10), s)), vec![]);
        assert_eq!(collect(&mut r, |r, s| r.expire(at(5, 10), s)), vec![]);
        let ev = collect(&mut r, |r, s| r.expire(at(6, 11), s));
        assert_eq!(ev, vec![Ev::Gap(2), Ev::Data(b"ef".to_vec(), 3)]);
    }

    #[test]
    fn ack_before_the_data_it_acknowledges_is_no_gap() {
        // Two taps merged: the peer's ACK is in the capture before the
        // segment it acknowledges, and the later data before that segment.
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        push(&mut r, 1, b"ab", 1);
        collect(&mut r, |r, s| r.peer_ack(7, o(2), s));
        assert_eq!(push(&mut r, 5, b"ef", 3), vec![]);
        assert_eq!(push(&mut r, 3, b"cd", 4), vec![Ev::Data(b"cd".to_vec(), 4), Ev::Data(b"ef".to_vec(), 3)]);
        assert_eq!(r.stats.gaps, 0);
    }

    #[test]
    fn ack_first_then_later_data_is_gap_after_the_wait() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        push(&mut r, 1, b"ab", 1);
        collect(&mut r, |r, s| r.peer_ack(5, o(2), s));
        assert_eq!(push(&mut r, 5, b"ef", 3), vec![]);
        let far = 2 + ACKED_HOLE_FRAMES;
        assert_eq!(
            push(&mut r, 7, b"gh", far),
            vec![Ev::Gap(2), Ev::Data(b"ef".to_vec(), 3), Ev::Data(b"gh".to_vec(), far)]
        );
    }

    #[test]
    fn cap_forces_gap() {
        let mut r = Reassembler::new(ReassemblyLimits { max_buffered: 4, max_segments: 10, ..Default::default() });
        r.syn(0);
        push(&mut r, 10, b"abc", 1);
        let ev = push(&mut r, 20, b"def", 2);
        assert_eq!(ev[0], Ev::Gap(9));
        assert_eq!(r.stats.cap_hits, 1);
        assert!(r.buffered() <= 4);
    }

    #[test]
    fn snaplen_cut_becomes_gap() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        let ev = collect(&mut r, |r, s| r.push(1, b"ab", 3, o(1), None, s));
        assert_eq!(ev, vec![Ev::Data(b"ab".to_vec(), 1), Ev::Gap(3)]);
        assert_eq!(push(&mut r, 6, b"z", 2), vec![Ev::Data(b"z".to_vec(), 2)]);
    }

    #[test]
    fn nothing_after_fin() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        r.fin(3, 0);
        assert_eq!(push(&mut r, 1, b"abcd", 1), vec![Ev::Data(b"ab".to_vec(), 1)]);
        assert!(r.is_finished());
    }

    #[test]
    fn finish_flushes_holes() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        r.syn(0);
        push(&mut r, 4, b"d", 1);
        push(&mut r, 2, b"b", 2);
        let ev = collect(&mut r, |r, s| r.finish(s));
        assert_eq!(ev, vec![Ev::Gap(1), Ev::Data(b"b".to_vec(), 2), Ev::Gap(1), Ev::Data(b"d".to_vec(), 1)]);
    }

    proptest! {
        /// Any segmentation, reordering and duplication of a stream (with a
        /// SYN seen) reassembles to the same bytes, with no gap.
        #[test]
        fn any_segmentation_gives_same_bytes(
            stream in proptest::collection::vec(any::<u8>(), 1..400),
            cuts in proptest::collection::vec(1usize..40, 1..60),
            order in proptest::collection::vec(any::<u32>(), 60),
            dups in proptest::collection::vec(0usize..60, 0..10),
            isn in any::<u32>(),
        ) {
            let mut segs = Vec::new();
            let mut at = 0usize;
            let mut i = 0;
            while at < stream.len() {
                let len = cuts[i % cuts.len()].min(stream.len() - at);
                segs.push((at, len));
                at += len;
                i += 1;
            }
            for d in dups {
                if let Some(s) = segs.get(d % segs.len()).copied() { segs.push(s); }
            }
            let mut keyed: Vec<(u32, (usize, usize))> =
                segs.into_iter().enumerate().map(|(i, s)| (order[i % order.len()], s)).collect();
            keyed.sort_by_key(|k| k.0);
            let mut r = Reassembler::new(ReassemblyLimits::default());
            r.syn(isn);
            let mut out = Vec::new();
            let mut gaps = 0;
            for (frame, (_, (off, len))) in keyed.iter().enumerate() {
                let seq = isn.wrapping_add(1).wrapping_add(*off as u32);
                r.push(seq, &stream[*off..off + len], 0, o(frame as u64), None, &mut |e| match e {
                    StreamEvent::Data { bytes, .. } => out.extend_from_slice(bytes),
                    StreamEvent::Gap { .. } => gaps += 1,
                    StreamEvent::Conflict { .. } => panic!("no conflicts expected"),
                });
            }
            r.finish(&mut |e| if let StreamEvent::Data { bytes, .. } = e { out.extend_from_slice(bytes) });
            prop_assert_eq!(gaps, 0);
            prop_assert_eq!(out, stream);
        }

        /// The held-segment store answers as a map of offsets to lengths
        /// would, `overlapping` included.
        #[test]
        fn held_segments_match_a_tree(ops in proptest::collection::vec((0u8..6, 0u64..40, 1usize..6), 0..120)) {
            let mut held = Held::default();
            let mut model: BTreeMap<u64, usize> = BTreeMap::new();
            for (op, key, len) in ops {
                let pending = || Pending { data: vec![0; len], origin: o(key), ack: None };
                match op {
                    0 | 1 => {
                        held.insert(key, pending());
                        model.insert(key, len);
                    }
                    2 => {
                        // Mostly at the end, as data after a hole comes.
                        let key = model.last_key_value().map_or(key, |(k, _)| k + 1 + key % 3);
                        held.insert(key, pending());
                        model.insert(key, len);
                    }
                    3 => prop_assert_eq!(held.remove(key).map(|p| p.data.len()), model.remove(&key)),
                    4 => prop_assert_eq!(held.pop_first().map(|(k, p)| (k, p.data.len())), model.pop_first()),
                    _ => {
                        let want: Vec<u64> = model
                            .range(..key + len as u64)
                            .rev()
                            .take_while(|(k, l)| **k + **l as u64 > key)
                            .map(|(k, _)| *k)
                            .collect();
                        prop_assert_eq!(held.overlapping(key, key + len as u64), want);
                    }
                }
                prop_assert_eq!(held.len(), model.len());
                prop_assert_eq!(held.first().map(|(k, p)| (k, p.data.len())), model.first_key_value().map(|(k, l)| (*k, *l)));
                prop_assert_eq!(held.last().map(|(k, p)| (k, p.data.len())), model.last_key_value().map(|(k, l)| (*k, *l)));
                prop_assert_eq!(held.get(key).map(|p| p.data.len()), model.get(&key).copied());
            }
        }

        /// Arbitrary operations never panic, never exceed the caps, know the
        /// earliest frame buffered, and deliver bytes whose count matches
        /// `next` minus gap bytes.
        #[test]
        fn arbitrary_operations_respect_invariants(
            ops in proptest::collection::vec((0u8..4, any::<u32>(), proptest::collection::vec(any::<u8>(), 0..50), 0u32..20), 1..80),
        ) {
            let limits = ReassemblyLimits { max_buffered: 300, max_segments: 8, policy: OverlapPolicy::First };
            let mut r = Reassembler::new(limits);
            let mut delivered = 0u64;
            let mut gap_bytes = 0u64;
            for (i, (kind, seq, data, tail)) in ops.iter().enumerate() {
                // Keep sequence numbers near each other so overlaps happen.
                let seq = seq % 600;
                let mut sink = |e: StreamEvent<'_>| match e {
                    StreamEvent::Data { bytes, .. } => delivered += bytes.len() as u64,
                    StreamEvent::Gap { len, .. } => gap_bytes += len,
                    StreamEvent::Conflict { .. } => {}
                };
                match kind {
                    0 => r.push(seq, data, *tail, o(i as u64), None, &mut sink),
                    1 => r.peer_ack(seq, o(i as u64), &mut sink),
                    2 => r.syn(seq),
                    _ => r.fin(seq, data.len()),
                }
                prop_assert!(r.buffered() <= 300);
                prop_assert!(r.pending.len() <= 8);
                // The frame log answers as a walk over the buffer would, and
                // stays bounded.
                prop_assert_eq!(r.min_buffered_frame(), r.pending.values().map(|p| p.origin.frame).min());
                prop_assert!(r.held_frames.as_ref().map_or(0, |log| log.len()) <= 2 * r.pending.len() + 33);
            }
            r.finish(&mut |e| match e {
                StreamEvent::Data { bytes, .. } => delivered += bytes.len() as u64,
                StreamEvent::Gap { len, .. } => gap_bytes += len,
                StreamEvent::Conflict { .. } => {}
            });
            prop_assert_eq!(r.buffered(), 0);
            prop_assert_eq!(delivered + gap_bytes, r.next_offset() - r.start_offset().unwrap_or(0));
        }
    }
}
