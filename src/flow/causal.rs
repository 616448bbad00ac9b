//! The two directions of one connection handed on in an order the
//! endpoints could have seen: bytes are held back until the other direction
//! has delivered what their segment acknowledged.
//!
//! A capture point sees the two directions of a connection interleaved in
//! its own order, which is not always the order things happened: with two
//! taps merged (`mergecap`, clocks a few ms apart), a multi-queue NIC or a
//! reordering capture buffer, a reply can come before the command it
//! answers. Every TCP segment carries its sender's acknowledgement: how much
//! of the other direction it had received when it sent it. A segment is
//! handed on only once the other direction has been handed on up to that
//! point, so the session above sees each command before the replies the
//! server sent after reading it.
//!
//! # Invariants
//! * Each direction's events leave in the order they came (a queue per
//!   direction); only the interleaving of the two changes.
//! * `held_len[d]` is the stream length (data bytes and gap lengths) of the
//!   events held for direction `d`; `bytes` the data bytes held in all.
//! * Nothing waits forever: an event leaves once what it waits for was
//!   delivered, or after [`WAIT_FRAMES`] frames or [`WAIT_NANOS`] of capture
//!   time, or when more than [`MAX_HELD_BYTES`] are held (oldest first).

use super::reassembly::Origin;
use std::collections::VecDeque;

/// Frames an event is held at most.
pub const WAIT_FRAMES: u64 = 1000;
/// Capture time an event is held at most (nanoseconds).
pub const WAIT_NANOS: i128 = 200_000_000;
/// Data bytes held at most per connection.
pub const MAX_HELD_BYTES: usize = 64 * 1024;

/// What is held: bytes of the stream, or a gap in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldKind {
    Data(Vec<u8>),
    Gap(u64),
}

/// One held event of a direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldEvent {
    pub kind: HeldKind,
    pub origin: Origin,
    /// The acknowledgement number its segment carried.
    pub ack: Option<u32>,
    /// The other direction's stream offset that must be delivered first.
    needs: u64,
}

impl HeldEvent {
    fn len(&self) -> u64 {
        match &self.kind {
            HeldKind::Data(d) => d.len() as u64,
            HeldKind::Gap(n) => *n,
        }
    }
}

/// The events held back, per direction (0: client to server, 1: server to
/// client).
#[derive(Debug, Default)]
pub struct CausalOrder {
    queues: [VecDeque<HeldEvent>; 2],
    held_len: [u64; 2],
    bytes: usize,
}

impl CausalOrder {
    pub fn is_empty(&self) -> bool {
        self.queues[0].is_empty() && self.queues[1].is_empty()
    }

    /// Stream length held for direction `dir`.
    pub fn held_len(&self, dir: usize) -> u64 {
        self.held_len.get(dir).copied().unwrap_or(0)
    }

    /// Whether direction `dir` holds anything.
    pub fn holds(&self, dir: usize) -> bool {
        self.queues.get(dir).is_some_and(|q| !q.is_empty())
    }

    /// Frame of the earliest event held for `dir`.
    pub fn first_frame(&self, dir: usize) -> Option<u64> {
        self.queues.get(dir)?.front().map(|e| e.origin.frame)
    }

    /// Holds an event of direction `dir` that needs the other direction
    /// delivered up to `needs`.
    pub fn hold(&mut self, dir: usize, kind: HeldKind, origin: Origin, ack: Option<u32>, needs: u64) {
        let Some(queue) = self.queues.get_mut(dir) else { return };
        let event = HeldEvent { kind, origin, ack, needs };
        self.held_len[dir] += event.len();
        if let HeldKind::Data(d) = &event.kind {
            self.bytes += d.len();
        }
        queue.push_back(event);
    }

    /// The next event that may leave, given how far each direction has been
    /// delivered by its reassembler (`reassembled[d]`, the held events
    /// included) and the capture position `now`; every event when `flush`.
    /// Of two that may leave, the one captured first.
    ///
    /// `starting[d]`: direction `d`'s start is still provisional (picked up
    /// without its SYN, its first bytes may still come: see
    /// [`super::Reassembler::start_is_provisional`]); what waits for it is
    /// not let go by the time limits, as that wait is bounded by its own.
    pub fn next_ready(
        &mut self,
        reassembled: [u64; 2],
        starting: [bool; 2],
        now: Origin,
        flush: bool,
    ) -> Option<(usize, HeldEvent)> {
        let delivered =
            [reassembled[0].saturating_sub(self.held_len[0]), reassembled[1].saturating_sub(self.held_len[1])];
        let over_cap = self.bytes > MAX_HELD_BYTES;
        let ready = |dir: usize, e: &HeldEvent| {
            let waited_out = !starting[1 - dir]
                && (now.frame.saturating_sub(e.origin.frame) >= WAIT_FRAMES
                    || now.ts.as_nanos() - e.origin.ts.as_nanos() >= WAIT_NANOS);
            flush || over_cap || e.needs <= delivered[1 - dir] || waited_out
        };
        let candidate = |dir: usize| self.queues[dir].front().filter(|e| ready(dir, e)).map(|e| e.origin.frame);
        let dir = match (candidate(0), candidate(1)) {
            (Some(a), Some(b)) => usize::from(b < a),
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return None,
        };
        let event = self.queues[dir].pop_front()?;
        self.held_len[dir] -= event.len();
        if let HeldKind::Data(d) = &event.kind {
            self.bytes -= d.len();
        }
        Some((dir, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn at(frame: u64) -> Origin {
        Origin { frame, ts: Timestamp::default() }
    }

    #[test]
    fn an_event_waits_for_what_it_acknowledges() {
        let mut c = CausalOrder::default();
        // A reply (server to client) that acknowledged 6 client bytes.
        c.hold(1, HeldKind::Data(b"200 ok".to_vec()), at(1), None, 6);
        // The client has delivered nothing yet: the reply waits.
        assert_eq!(c.next_ready([0, 6], [false; 2], at(2), false), None);
        // The command arrives (held too, behind nothing): it leaves first.
        c.hold(0, HeldKind::Data(b"NOOP\r\n".to_vec()), at(3), None, 0);
        let (dir, e) = c.next_ready([6, 6], [false; 2], at(3), false).unwrap();
        assert_eq!((dir, e.kind), (0, HeldKind::Data(b"NOOP\r\n".to_vec())));
        let (dir, _) = c.next_ready([6, 6], [false; 2], at(3), false).unwrap();
        assert_eq!(dir, 1);
        assert!(c.is_empty());
    }

    #[test]
    fn nothing_waits_forever() {
        let mut c = CausalOrder::default();
        c.hold(1, HeldKind::Gap(3), at(1), None, 100);
        assert_eq!(c.next_ready([0, 3], [false; 2], at(2), false), None);
        assert!(c.next_ready([0, 3], [false; 2], at(1 + WAIT_FRAMES), false).is_some());
        c.hold(1, HeldKind::Data(vec![0; MAX_HELD_BYTES + 1]), at(5), None, 100);
        assert!(c.next_ready([0, MAX_HELD_BYTES as u64 + 1], [false; 2], at(6), false).is_some());
        c.hold(0, HeldKind::Gap(1), at(7), None, 100);
        assert!(c.next_ready([1, 0], [false; 2], at(8), true).is_some());
    }

    proptest::proptest! {
        /// Whatever is held, each direction comes out in its own order and
        /// complete, and the lengths held stay the sum of what is held.
        #[test]
        fn each_direction_keeps_its_order(events in proptest::collection::vec((0usize..2, 1u64..20, 0u64..50), 0..60)) {
            let mut c = CausalOrder::default();
            let mut reassembled = [0u64; 2];
            let mut out: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
            for (i, &(dir, len, needs)) in events.iter().enumerate() {
                c.hold(dir, HeldKind::Gap(len), at(i as u64), None, needs);
                reassembled[dir] += len;
                while let Some((d, e)) = c.next_ready(reassembled, [false; 2], at(i as u64), false) {
                    out[d].push(e.origin.frame);
                }
                proptest::prop_assert_eq!(c.held_len(0) + c.held_len(1), c.queues.iter().flatten().map(|e| e.len()).sum::<u64>());
            }
            while let Some((d, e)) = c.next_ready(reassembled, [false; 2], at(0), true) {
                out[d].push(e.origin.frame);
            }
            for (d, got) in out.iter().enumerate() {
                let want: Vec<u64> = events.iter().enumerate().filter(|(_, e)| e.0 == d).map(|(i, _)| i as u64).collect();
                proptest::prop_assert_eq!(got, &want);
            }
        }
    }
}
