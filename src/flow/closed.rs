//! Connections that ended a moment ago, so that late copies of their
//! segments are known for what they are.
//!
//! Two capture points merged into one file see every packet twice, a few
//! milliseconds apart: the copy from the later tap of a connection's last
//! exchanges arrives after the earlier tap's FINs closed it. Without a
//! memory of the close, those copies would start a second connection
//! "picked up mid-stream" and its replies would pair with nothing. A
//! retransmission after the close does the same on a single tap.
//!
//! What is remembered per closed connection is, for each direction, the
//! span of sequence numbers it used (SYN to FIN). A later segment on the same
//! 4-tuple is a copy only if its sequence number falls inside its
//! direction's span: a new connection has a fresh initial sequence number
//! (RFC 6528), so it is not mistaken for a copy even when its SYN was not
//! captured.
//!
//! Invariants: at most [`MAX_CLOSED`] entries; an entry is forgotten
//! [`KEEP_NANOS`] of capture time after its close, when a SYN with another
//! initial sequence number opens the 4-tuple again, or when the table is
//! full and it is the oldest.

use super::{FlowKey, FlowMap};
use crate::capture::Timestamp;
use std::collections::VecDeque;

/// How long a close is remembered, in capture time: Linux's TIME_WAIT.
pub const KEEP_NANOS: i128 = 60_000_000_000;

/// Closed connections remembered at once; the oldest goes first.
pub const MAX_CLOSED: usize = 4096;

/// The sequence numbers one direction of a connection used: from `first`
/// (its SYN, or its first byte when the SYN was not seen) for `len` more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqSpan {
    pub first: u32,
    pub len: u32,
}

impl SeqSpan {
    /// The span of a direction whose stream starts at `isn` (the sequence
    /// number of byte 0) and ends at offset `end` (FIN included): the SYN
    /// before byte 0 and the FIN after the last byte are part of it.
    pub fn of_stream(isn: u32, end: u64) -> SeqSpan {
        let len = end.saturating_add(2).min(u64::from(u32::MAX / 2)) as u32;
        SeqSpan { first: isn.wrapping_sub(1), len }
    }

    /// Whether `seq` lies inside the span (wrap-safe).
    pub fn contains(&self, seq: u32) -> bool {
        seq.wrapping_sub(self.first) <= self.len
    }
}

/// A closed connection's spans, by the side of the key that sent them.
#[derive(Clone, Copy, Debug)]
struct Closed {
    from_lo: Option<SeqSpan>,
    from_hi: Option<SeqSpan>,
    at: i128,
}

/// Recently closed connections, keyed like the flow table.
#[derive(Debug, Default)]
pub struct RecentlyClosed {
    entries: FlowMap<FlowKey, Closed>,
    /// Keys in the order they were closed, with the time of that close
    /// (an entry closed again later leaves a stale pair, skipped when met).
    order: VecDeque<(FlowKey, i128)>,
    /// Segments recognised as copies of a closed connection.
    pub copies: u64,
}

impl RecentlyClosed {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Remembers that the connection `key` closed at `at`, having used
    /// `from_lo` and `from_hi` (None: that side's start is unknown).
    pub fn record(&mut self, key: FlowKey, from_lo: Option<SeqSpan>, from_hi: Option<SeqSpan>, at: Timestamp) {
        if from_lo.is_none() && from_hi.is_none() {
            return;
        }
        let at = at.as_nanos();
        self.entries.insert(key, Closed { from_lo, from_hi, at });
        self.order.push_back((key, at));
        while self.entries.len() > MAX_CLOSED {
            self.pop_oldest();
        }
        // Stale pairs are bounded too: never more than twice the entries.
        if self.order.len() > 2 * MAX_CLOSED {
            let entries = &self.entries;
            self.order.retain(|(k, t)| entries.get(k).is_some_and(|c| c.at == *t));
        }
    }

    /// Whether a segment with sequence number `seq` from the `from_lo` side
    /// of `key` is a copy of a connection that closed; counts it if so.
    pub fn is_copy(&mut self, key: &FlowKey, from_lo: bool, seq: u32) -> bool {
        let Some(closed) = self.entries.get(key) else { return false };
        let span = if from_lo { closed.from_lo } else { closed.from_hi };
        let copy = span.is_some_and(|s| s.contains(seq));
        self.copies += u64::from(copy);
        copy
    }

    /// A SYN from the `from_lo` side of `key` with sequence number `seq`:
    /// true when it is a copy of the closed connection's own SYN; otherwise
    /// the 4-tuple is opened again and its close is forgotten.
    pub fn syn_is_copy(&mut self, key: &FlowKey, from_lo: bool, seq: u32) -> bool {
        let Some(closed) = self.entries.get(key) else { return false };
        let span = if from_lo { closed.from_lo } else { closed.from_hi };
        if span.is_some_and(|s| s.first == seq) {
            self.copies += 1;
            return true;
        }
        self.entries.remove(key);
        false
    }

    /// Forgets the closes older than [`KEEP_NANOS`] before `now`.
    pub fn expire(&mut self, now: Timestamp) {
        let now = now.as_nanos();
        while let Some(&(_, at)) = self.order.front() {
            if now - at <= KEEP_NANOS {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        while let Some((key, at)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|c| c.at == at) {
                self.entries.remove(&key);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Endpoint;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(port: u16) -> FlowKey {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        FlowKey { lo: Endpoint { ip, port: 21 }, hi: Endpoint { ip, port } }
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0, digits: 6 }
    }

    #[test]
    fn span_covers_syn_to_fin_across_the_wrap() {
        let s = SeqSpan::of_stream(u32::MAX - 5, 100);
        assert!(s.contains(u32::MAX - 6), "the SYN");
        assert!(s.contains(u32::MAX - 5), "byte 0");
        assert!(s.contains(94), "the FIN after byte 99 wraps to 94");
        assert!(s.contains(95));
        assert!(!s.contains(96));
        assert!(!s.contains(u32::MAX - 7));
    }

    #[test]
    fn copies_inside_the_spans_only() {
        let mut closed = RecentlyClosed::default();
        closed.record(key(5000), Some(SeqSpan::of_stream(1000, 50)), Some(SeqSpan::of_stream(9000, 300)), ts(0));
        assert!(closed.is_copy(&key(5000), true, 1020));
        assert!(closed.is_copy(&key(5000), false, 9299));
        assert!(!closed.is_copy(&key(5000), true, 5_000_000), "a fresh ISN is a new connection");
        assert!(!closed.is_copy(&key(5001), true, 1020), "another 4-tuple");
        assert_eq!(closed.copies, 2);
    }

    #[test]
    fn a_new_syn_forgets_the_close_a_copied_one_does_not() {
        let mut closed = RecentlyClosed::default();
        closed.record(key(5000), Some(SeqSpan::of_stream(1000, 50)), None, ts(0));
        assert!(closed.syn_is_copy(&key(5000), true, 999), "the old SYN again");
        assert!(!closed.syn_is_copy(&key(5000), true, 777_777), "another ISN");
        assert!(closed.is_empty());
    }

    #[test]
    fn closes_expire_and_the_table_is_capped() {
        let mut closed = RecentlyClosed::default();
        closed.record(key(1), Some(SeqSpan::of_stream(1, 1)), None, ts(0));
        closed.record(key(2), Some(SeqSpan::of_stream(1, 1)), None, ts(50));
        closed.expire(ts(70));
        assert_eq!(closed.len(), 1, "the first is over a minute old");
        for port in 0..(MAX_CLOSED as u16 + 10) {
            closed.record(key(port), Some(SeqSpan::of_stream(1, 1)), None, ts(80));
        }
        assert_eq!(closed.len(), MAX_CLOSED);
        assert!(closed.order.len() <= 2 * MAX_CLOSED);
        assert!(!closed.is_copy(&key(0), true, 1), "the oldest went first");
    }
}
