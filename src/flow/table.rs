//! The flow table of one capture: connections by 4-tuple, the small entries
//! of flows still in their handshake, eviction when the table is full and
//! the idle sweep on the capture clock. What a flow holds is the caller's
//! (`C`); the table only knows what [`Tracked`] tells it.

use super::hash::FlowMap;
use super::reassembly::Origin;
use crate::capture::{TcpSegment, Timestamp};
use std::net::IpAddr;

/// One end of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// A connection's 4-tuple with its ends in a fixed order, so that both
/// directions find the same flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl FlowKey {
    /// The key of a segment's flow, and whether the segment comes from `lo`.
    #[inline]
    pub fn of(seg: &TcpSegment<'_>) -> (FlowKey, bool) {
        let s = Endpoint { ip: seg.src, port: seg.src_port };
        let d = Endpoint { ip: seg.dst, port: seg.dst_port };
        if s <= d {
            (FlowKey { lo: s, hi: d }, true)
        } else {
            (FlowKey { lo: d, hi: s }, false)
        }
    }
}

/// What the table reads of a flow's state, after every packet, to choose
/// what to evict.
pub trait Tracked {
    /// Its session number, 0 while it has none (sessions end in this order).
    fn session_id(&self) -> u64;
    /// Carried no FTP payload so far, or is not FTP: the first to go when
    /// the table is full.
    fn droppable(&self) -> bool;
    /// Finishing it now would emit nothing but the end of its session.
    fn silent(&self) -> bool;
}

/// A flow table entry: the flow's state, boxed, and beside it what the
/// table's sweeps (idle, eviction, end of capture) read, so that a sweep over
/// thousands of flows walks the table alone instead of one cold connection
/// after another.
pub struct Slot<C> {
    pub key: FlowKey,
    pub conn: Box<C>,
    /// Frame number of its last packet: recency, in arrival order.
    pub last_frame: u64,
    /// The capture clock (latest timestamp so far) at its last packet: what
    /// idleness is measured by, so a packet stamped in the past still counts
    /// as activity.
    pub clock: Timestamp,
    /// [`Tracked::session_id`] after its last packet.
    pub session_id: u64,
    /// [`Tracked::droppable`] after its last packet.
    pub droppable: bool,
    /// [`Tracked::silent`] after its last packet.
    pub silent: bool,
}

impl<C: Tracked> Slot<C> {
    fn refresh(&mut self) {
        self.session_id = self.conn.session_id();
        self.droppable = self.conn.droppable();
        self.silent = self.conn.silent();
    }
}

impl<C> Slot<C> {
    /// Its eviction rank (see [`Flows`]): 0 when droppable, else one past
    /// its last frame, so that the least recently active rank lowest.
    fn rank(&self) -> u64 {
        if self.droppable {
            0
        } else {
            self.last_frame.saturating_add(1).min(HOLE - 1)
        }
    }
}

/// [`Slot::rank`] of an empty position: above every flow's.
const HOLE: u64 = u64::MAX;

/// The flows of a table in a slab. `slots` holds them at stable positions
/// (a closed flow leaves a hole that the next new one fills), two indexes
/// find a flow's position by its key, and `rank` holds every position's
/// eviction rank in a dense array of its own: eviction reads the rank of
/// every flow, and at 8 bytes a flow those stay in the cache where hash
/// buckets of key and slot did not.
///
/// Invariants: the two indexes map exactly the keys of the occupied
/// positions to them; `rank[i]` is [`Slot::rank`] of the flow at `i`, or
/// [`HOLE`] when `i` is empty; `free` lists the empty positions.
struct Flows<C> {
    /// Positions of IPv4 flows (nearly all), by [`v4_key`]: 16-byte
    /// buckets, so that the index of a full table stays in a core's cache
    /// (eviction and every new flow probe it at random).
    index_v4: FlowMap<(u64, u32), u32>,
    /// Positions of the other flows, by their whole key.
    index_other: FlowMap<FlowKey, u32>,
    slots: Vec<Option<Slot<C>>>,
    rank: Vec<u64>,
    free: Vec<u32>,
}

impl<C> Default for Flows<C> {
    fn default() -> Self {
        Flows {
            index_v4: FlowMap::default(),
            index_other: FlowMap::default(),
            slots: Vec::new(),
            rank: Vec::new(),
            free: Vec::new(),
        }
    }
}

/// An IPv4 flow's key packed into 12 bytes: both addresses, both ports.
#[inline]
fn v4_key(key: &FlowKey) -> Option<(u64, u32)> {
    match (key.lo.ip, key.hi.ip) {
        (IpAddr::V4(lo), IpAddr::V4(hi)) => Some((
            u64::from(u32::from(lo)) << 32 | u64::from(u32::from(hi)),
            u32::from(key.lo.port) << 16 | u32::from(key.hi.port),
        )),
        _ => None,
    }
}

impl<C> Flows<C> {
    fn len(&self) -> usize {
        self.index_v4.len() + self.index_other.len()
    }

    #[inline]
    fn position(&self, key: &FlowKey) -> Option<usize> {
        let i = match v4_key(key) {
            Some(k) => self.index_v4.get(&k),
            None => self.index_other.get(key),
        };
        i.map(|&i| i as usize)
    }

    fn get(&self, key: &FlowKey) -> Option<&Slot<C>> {
        self.slots.get(self.position(key)?)?.as_ref()
    }

    fn at_mut(&mut self, i: usize) -> Option<&mut Slot<C>> {
        self.slots.get_mut(i)?.as_mut()
    }

    /// The position of `key`'s flow; a new flow from `make` when there is
    /// none (none at all if `make` gives none).
    fn position_or_insert(&mut self, key: FlowKey, make: impl FnOnce() -> Option<Slot<C>>) -> Option<usize> {
        use std::collections::hash_map::Entry;
        // One probe of the index whether the flow is new or not.
        let vacant = match v4_key(&key) {
            Some(k) => match self.index_v4.entry(k) {
                Entry::Occupied(o) => return Some(*o.get() as usize),
                Entry::Vacant(v) => Ok(v),
            },
            None => match self.index_other.entry(key) {
                Entry::Occupied(o) => return Some(*o.get() as usize),
                Entry::Vacant(v) => Err(v),
            },
        };
        let slot = make()?;
        let i = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.slots.push(None);
                self.rank.push(HOLE);
                self.slots.len() - 1
            }
        };
        match vacant {
            Ok(v) => v.insert(i as u32),
            Err(v) => v.insert(i as u32),
        };
        if let (Some(place), Some(rank)) = (self.slots.get_mut(i), self.rank.get_mut(i)) {
            *rank = slot.rank();
            *place = Some(slot);
        }
        Some(i)
    }

    fn unindex(&mut self, key: &FlowKey) -> Option<usize> {
        let i = match v4_key(key) {
            Some(k) => self.index_v4.remove(&k),
            None => self.index_other.remove(key),
        };
        i.map(|i| i as usize)
    }

    fn remove(&mut self, key: &FlowKey) -> Option<Slot<C>> {
        let i = self.unindex(key)?;
        self.vacate(i)
    }

    /// Takes out the flow at position `i`, if there is one.
    fn take_at(&mut self, i: usize) -> Option<Slot<C>> {
        let slot = self.vacate(i)?;
        self.unindex(&slot.key);
        Some(slot)
    }

    fn vacate(&mut self, i: usize) -> Option<Slot<C>> {
        let slot = self.slots.get_mut(i)?.take()?;
        if let Some(rank) = self.rank.get_mut(i) {
            *rank = HOLE;
        }
        self.free.push(i as u32);
        Some(slot)
    }

    fn values(&self) -> impl Iterator<Item = &Slot<C>> {
        self.slots.iter().flatten()
    }
}

impl<C: Tracked> Flows<C> {
    /// Refreshes the flow at `i` after a packet ([`Slot::refresh`]) and its
    /// rank with it.
    fn refresh(&mut self, i: usize) {
        if let (Some(Some(slot)), Some(rank)) = (self.slots.get_mut(i), self.rank.get_mut(i)) {
            slot.refresh();
            *rank = slot.rank();
        }
    }
}

/// A flow that has carried no payload yet (handshake, bare ACKs): kept
/// small, so a SYN flood costs a few dozen bytes per flow, not a whole
/// connection's state. Promoted to a flow of its own by its first payload.
#[derive(Debug, Clone, Copy)]
pub struct Handshake {
    /// Whether `key.lo` is the client (the SYN's sender).
    pub lo_is_client: bool,
    /// The SYN sequence numbers seen: `[lo side, hi side]`.
    pub isn: [Option<u32>; 2],
    /// Frame and time of its first packet.
    first_frame: u64,
    first_ts: Timestamp,
    clock: Timestamp,
}

impl Handshake {
    /// Where the flow was first seen.
    pub fn first(&self) -> Origin {
        Origin { frame: self.first_frame, ts: self.first_ts }
    }
}

/// What [`FlowTable::evict`] took out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// Flows that never carried FTP payload (handshakes among them).
    pub flows: u64,
    /// The least recently active sessions.
    pub sessions: u64,
}

/// The flow table of one capture. Flows with payload are `C`s in a slab;
/// flows without payload yet are [`Handshake`]s; both count against
/// `max_flows`. Flows leave the table to the caller (FIN/RST, idle,
/// evicted, end of capture), who finishes them.
pub struct FlowTable<C> {
    flows: Flows<C>,
    handshakes: FlowMap<FlowKey, Handshake>,
    max_flows: usize,
    idle_nanos: i128,
    /// The capture clock: the latest timestamp so far.
    now: Timestamp,
    last_sweep: Timestamp,
    /// No flow's clock is older than this (see [`FlowTable::take_idle`]).
    oldest_clock: Timestamp,
}

impl<C: Tracked> FlowTable<C> {
    pub fn new(max_flows: usize, idle_timeout_secs: f64) -> Self {
        FlowTable {
            flows: Flows::default(),
            handshakes: FlowMap::default(),
            max_flows: max_flows.max(1),
            idle_nanos: (idle_timeout_secs.max(1.0) * 1e9) as i128,
            now: Timestamp::default(),
            last_sweep: Timestamp::default(),
            oldest_clock: Timestamp::default(),
        }
    }

    pub fn max_flows(&self) -> usize {
        self.max_flows
    }

    /// Flows tracked now (with payload or not).
    pub fn len(&self) -> usize {
        self.flows.len() + self.handshakes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.len() >= self.max_flows
    }

    /// Moves the capture clock to `ts` if that is later.
    #[inline]
    pub fn advance_clock(&mut self, ts: Timestamp) {
        if ts > self.now {
            self.now = ts;
        }
    }

    pub fn clock(&self) -> Timestamp {
        self.now
    }

    /// Whether a flow with payload or a handshake is known by `key`.
    #[inline]
    pub fn knows(&self, key: &FlowKey) -> bool {
        self.flows.position(key).is_some() || self.handshakes.contains_key(key)
    }

    #[inline]
    pub fn has_flow(&self, key: &FlowKey) -> bool {
        self.flows.position(key).is_some()
    }

    pub fn get(&self, key: &FlowKey) -> Option<&C> {
        self.flows.get(key).map(|s| &*s.conn)
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<Slot<C>> {
        self.flows.remove(key)
    }

    /// The position of `key`'s flow, made by `make` from its handshake
    /// entry (if it had one) when it is new; None when it is new and
    /// `make` gives nothing.
    pub fn position_or_insert(
        &mut self,
        key: FlowKey,
        frame: u64,
        make: impl FnOnce(Option<Handshake>) -> Option<C>,
    ) -> Option<usize> {
        let (handshakes, clock) = (&mut self.handshakes, self.now);
        self.flows.position_or_insert(key, || {
            // Most new flows never had a handshake entry (mid-stream, or a
            // table full of sessions): skip hashing the key then.
            let hs = if handshakes.is_empty() { None } else { handshakes.remove(&key) };
            let conn = make(hs)?;
            Some(Slot {
                key,
                conn: Box::new(conn),
                last_frame: frame,
                clock,
                session_id: 0,
                droppable: true,
                silent: true,
            })
        })
    }

    /// The flow at `position` ([`FlowTable::position_or_insert`]), marked
    /// active at `frame`.
    #[inline]
    pub fn touch(&mut self, position: usize, frame: u64) -> Option<&mut C> {
        let clock = self.now;
        let slot = self.flows.at_mut(position)?;
        slot.last_frame = frame;
        slot.clock = clock;
        Some(&mut slot.conn)
    }

    /// Rereads the flow at `position` after a packet changed it.
    #[inline]
    pub fn refresh(&mut self, position: usize) {
        self.flows.refresh(position);
    }

    pub fn take_at(&mut self, position: usize) -> Option<Slot<C>> {
        self.flows.take_at(position)
    }

    /// The flows' states.
    pub fn values(&self) -> impl Iterator<Item = &C> {
        self.flows.values().map(|s| &*s.conn)
    }

    /// Runs `f` on every flow and rereads each after it.
    pub fn update_all(&mut self, mut f: impl FnMut(&mut C)) {
        for i in 0..self.flows.slots.len() {
            if let Some(slot) = self.flows.at_mut(i) {
                f(&mut slot.conn);
                self.flows.refresh(i);
            }
        }
    }

    /// A segment without payload of a flow that has carried none yet: starts
    /// or updates its handshake entry. When a SYN needs a new entry and the
    /// table is full, `make_room` is asked to free space; false when it could
    /// not (the flow is not tracked).
    pub fn handshake(
        &mut self,
        seg: &TcpSegment<'_>,
        key: FlowKey,
        from_lo: bool,
        origin: Origin,
        make_room: impl FnOnce(&mut Self) -> bool,
    ) -> bool {
        let side = usize::from(!from_lo);
        if let Some(h) = self.handshakes.get_mut(&key) {
            if seg.flags.rst {
                self.handshakes.remove(&key);
                return true;
            }
            h.clock = self.now;
            if !seg.flags.syn {
                return true;
            }
            match h.isn[side] {
                None => {
                    h.isn[side] = Some(seg.seq);
                    return true;
                }
                Some(isn) if isn == seg.seq || seg.flags.ack => return true,
                // Another ISN on the same 4-tuple: a new connection.
                Some(_) => {}
            }
        } else if !seg.flags.syn {
            return true;
        } else if self.is_full() && !make_room(self) {
            return false;
        }
        let mut isn = [None, None];
        isn[side] = Some(seg.seq);
        // The SYN's sender is the client; a SYN-ACK's sender the server.
        let lo_is_client = from_lo != seg.flags.ack;
        let entry = Handshake { lo_is_client, isn, first_frame: origin.frame, first_ts: origin.ts, clock: self.now };
        self.handshakes.insert(key, entry);
        true
    }

    /// Whether a minute of capture time passed since the last idle sweep
    /// (and starts the next minute if so).
    pub fn sweep_due(&mut self) -> bool {
        if self.now.as_nanos() - self.last_sweep.as_nanos() > 60_000_000_000 {
            self.last_sweep = self.now;
            true
        } else {
            false
        }
    }

    /// Takes the flows idle for longer than the idle timeout into `out` (in
    /// table order) and drops idle handshakes. Returns at once while no flow
    /// can be idle yet: every flow's clock is at least `oldest_clock`, the
    /// lowest one left by the last sweep (a new flow starts at the capture
    /// clock, which never goes back), so a full table does not cost a scan
    /// per new flow.
    pub fn take_idle(&mut self, out: &mut Vec<Slot<C>>) {
        let now = self.now.as_nanos();
        let limit = self.idle_nanos;
        if now - self.oldest_clock.as_nanos() <= limit {
            return;
        }
        self.handshakes.retain(|_, h| now - h.clock.as_nanos() <= limit);
        for i in 0..self.flows.slots.len() {
            if self.flows.at_mut(i).is_some_and(|s| now - s.clock.as_nanos() > limit) {
                out.extend(self.flows.take_at(i));
            }
        }
        self.oldest_clock = self
            .flows
            .values()
            .map(|s| s.clock)
            .chain(self.handshakes.values().map(|h| h.clock))
            .min()
            .unwrap_or(self.now);
    }

    /// Frees table space when it is full (call after [`FlowTable::take_idle`]):
    /// every flow that never carried FTP payload, then the least recently
    /// active of the rest, so that an eighth of the table is free (Zeek and
    /// Suricata also recycle the oldest flows). A flood of new flows costs
    /// amortised constant time per flow. Flows with payload are taken into
    /// `out` (in table order); handshakes are dropped.
    pub fn evict(&mut self, out: &mut Vec<Slot<C>>) -> Evicted {
        let evicted_handshakes = self.handshakes.len() as u64;
        self.handshakes.clear();
        let target = self.max_flows - (self.max_flows / 8).max(1);
        // Recency by frame number: arrival order, even where many packets
        // share a timestamp or the clock goes backwards. A frame updates one
        // flow, so no two flows share a `last_frame` and the cut below takes
        // exactly `excess` sessions.
        let mut sessions: Vec<u64> = self.flows.rank.iter().copied().filter(|&r| r != 0 && r != HOLE).collect();
        let quiet = (self.flows.len() - sessions.len()) as u64;
        let excess = sessions.len().saturating_sub(target);
        // Droppable flows rank 0, holes above every flow: everything ranked
        // up to the cut goes.
        let cut = if excess > 0 { *sessions.select_nth_unstable(excess - 1).1 } else { 0 };
        for i in 0..self.flows.rank.len() {
            if self.flows.rank[i] <= cut {
                out.extend(self.flows.take_at(i));
            }
        }
        Evicted { flows: evicted_handshakes + quiet, sessions: excess as u64 }
    }

    /// Takes every flow, in session order, into `out`; drops the handshakes.
    pub fn drain_in_session_order(&mut self, out: &mut Vec<Slot<C>>) {
        self.handshakes.clear();
        let mut all: Vec<(u64, usize)> =
            (0..self.flows.slots.len()).filter_map(|i| Some((self.flows.at_mut(i)?.session_id, i))).collect();
        all.sort_by_key(|(id, _)| *id);
        out.extend(all.into_iter().filter_map(|(_, i)| self.flows.take_at(i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A flow with no state but what the table reads.
    struct Flow {
        droppable: bool,
    }

    impl Tracked for Flow {
        fn session_id(&self) -> u64 {
            0
        }
        fn droppable(&self) -> bool {
            self.droppable
        }
        fn silent(&self) -> bool {
            true
        }
    }

    /// A flow key, IPv4 for even `n` and IPv6 for odd (two indexes).
    fn flow_key(n: u8) -> FlowKey {
        let ip = if n.is_multiple_of(2) {
            IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, n))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(n)))
        };
        FlowKey { lo: Endpoint { ip, port: 21 }, hi: Endpoint { ip, port: 40000 } }
    }

    fn flow_slot(key: FlowKey, frame: u64) -> Slot<Flow> {
        Slot {
            key,
            conn: Box::new(Flow { droppable: frame.is_multiple_of(3) }),
            last_frame: frame,
            clock: Timestamp::default(),
            session_id: 0,
            droppable: frame.is_multiple_of(3),
            silent: true,
        }
    }

    /// The invariants documented on [`Flows`], and that it holds what
    /// `model` (key to last frame) holds.
    fn check_flows(flows: &Flows<Flow>, model: &BTreeMap<u8, u64>) -> Result<(), proptest::test_runner::TestCaseError> {
        proptest::prop_assert_eq!(flows.len(), model.len());
        proptest::prop_assert_eq!(flows.slots.len(), flows.rank.len());
        for (i, (slot, &rank)) in flows.slots.iter().zip(&flows.rank).enumerate() {
            match slot {
                Some(s) => {
                    proptest::prop_assert_eq!(flows.position(&s.key), Some(i));
                    proptest::prop_assert_eq!(rank, s.rank());
                    proptest::prop_assert!(!flows.free.contains(&(i as u32)));
                }
                None => {
                    proptest::prop_assert_eq!(rank, HOLE);
                    proptest::prop_assert_eq!(flows.free.iter().filter(|&&f| f == i as u32).count(), 1);
                }
            }
        }
        for (&n, &frame) in model {
            proptest::prop_assert_eq!(flows.get(&flow_key(n)).map(|s| s.last_frame), Some(frame));
        }
        Ok(())
    }

    proptest::proptest! {
        /// Any sequence of inserts, packets, removals by key and by
        /// position keeps the slab's invariants and agrees with a map.
        #[test]
        fn flows_slab_matches_a_map(ops in proptest::collection::vec((0u8..4, 0u8..12, 0usize..16), 0..120)) {
            let mut flows = Flows::default();
            let mut model: BTreeMap<u8, u64> = BTreeMap::new();
            for (frame, (op, n, pos)) in (1u64..).zip(ops) {
                let key = flow_key(n);
                match op {
                    0 | 1 => {
                        // A packet: a new flow, or one more for a known one.
                        let i = flows.position_or_insert(key, || Some(flow_slot(key, frame)));
                        let i = i.expect("a new flow is always made");
                        if let Some(slot) = flows.at_mut(i) {
                            slot.last_frame = frame;
                        }
                        flows.refresh(i);
                        model.insert(n, frame);
                    }
                    2 => {
                        proptest::prop_assert_eq!(flows.remove(&key).map(|s| s.key), model.remove(&n).map(|_| key));
                    }
                    _ => {
                        if let Some(slot) = flows.take_at(pos) {
                            let taken = model.iter().find(|(k, _)| flow_key(**k) == slot.key).map(|(k, _)| *k);
                            proptest::prop_assert!(taken.is_some());
                            if let Some(k) = taken {
                                model.remove(&k);
                            }
                        }
                    }
                }
                check_flows(&flows, &model)?;
            }
        }

        /// Eviction takes every droppable flow and exactly the least
        /// recently active sessions beyond seven eighths of the table.
        #[test]
        fn eviction_takes_the_droppable_and_the_oldest(frames in proptest::collection::btree_set(1u64..10_000, 1..64), max in 1usize..64) {
            let mut table: FlowTable<Flow> = FlowTable::new(max, 60.0);
            for (n, &frame) in frames.iter().enumerate() {
                let key = flow_key(n as u8);
                let i = table.position_or_insert(key, frame, |_| Some(Flow { droppable: frame.is_multiple_of(3) }));
                let i = i.expect("made");
                table.touch(i, frame);
                table.refresh(i);
            }
            let sessions: Vec<u64> = frames.iter().copied().filter(|f| !f.is_multiple_of(3)).collect();
            let droppable = frames.len() - sessions.len();
            let target = max - (max / 8).max(1);
            let excess = sessions.len().saturating_sub(target);
            let mut out = Vec::new();
            let evicted = table.evict(&mut out);
            proptest::prop_assert_eq!(evicted, Evicted { flows: droppable as u64, sessions: excess as u64 });
            let mut taken: Vec<u64> = out.iter().filter(|s| !s.droppable).map(|s| s.last_frame).collect();
            taken.sort_unstable();
            proptest::prop_assert_eq!(&taken[..], &sessions[..excess]);
            proptest::prop_assert_eq!(table.len(), frames.len() - droppable - excess);
        }
    }

    #[test]
    fn handshake_entries_are_small() {
        // A SYN flood costs a handshake entry per flow, not a whole connection.
        assert!(std::mem::size_of::<Handshake>() <= 64, "{}", std::mem::size_of::<Handshake>());
    }
}
