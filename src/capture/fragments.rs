//! IPv4 and IPv6 fragment reassembly: fragments in, whole IP datagrams out.
//!
//! A [`Fragment`] is a checked view of one fragment's IP packet
//! ([`Fragment::parse`] validates every length once; no accessor can panic
//! afterwards). A [`Defragmenter`] holds the datagrams in progress, keyed by
//! [`FragmentKey`] (source, destination, protocol, identification — the
//! IPv6 fragment header's for IPv6), and hands back the whole datagram, its
//! header rebuilt as if it had never been fragmented, when the fragment
//! that completes it arrives. The caller decodes that datagram as one packet.
//!
//! Everything is bounded ([`FragmentLimits`]): a datagram is at most what
//! an IP length field can say (64 KiB and its header), the bytes held over
//! all datagrams and their number are capped (the oldest datagram goes
//! first), and a datagram not complete within the timeout of capture time
//! is dropped. Bytes that arrive twice are resolved by the
//! [`OverlapPolicy`] as TCP bytes are (`--overlap`). Each of these is
//! counted in [`FragmentStats`]; nothing panics on any input.
//!
//! A datagram whose first fragment shows it does not matter (the caller's
//! `wanted` says so from its first transport bytes: TCP ports, say) keeps
//! only its byte ranges, to swallow its later fragments until it is
//! complete or times out: the first fragment holds the ports, later ones
//! do not, so those that come before it are held like any other.

use crate::capture::Timestamp;
use crate::config::FragmentLimits;
use crate::flow::{FlowMap, OverlapPolicy};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The largest payload an IP datagram's length field can describe.
const MAX_LENGTH: usize = 65_535;
/// IPv6 extension headers walked to find the fragment header.
const MAX_EXTENSIONS: usize = 8;
/// Byte ranges one datagram may be split into while it is assembled.
const MAX_RANGES: usize = 1024;

/// Which datagram a fragment belongs to (RFC 791 §3.2, RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol, or the IPv6 fragment header's next header.
    pub protocol: u8,
    /// IPv4 identification (16 bits) or IPv6 fragment identification.
    pub id: u32,
}

/// One fragment, as far as the frame holds it.
#[derive(Debug, Clone)]
pub struct Fragment<'a> {
    pub key: FragmentKey,
    /// Where its bytes go in the datagram's payload.
    pub offset: usize,
    /// More fragments follow (the MF flag).
    pub more: bool,
    /// The payload bytes present (a snaplen may have cut some).
    pub payload: &'a [u8],
    /// The payload length its header claims.
    pub claimed: usize,
    /// IPv4: its header. IPv6: the fixed header and the extension headers
    /// before the fragment header (the unfragmentable part).
    pub header: &'a [u8],
    /// IPv6: where in `header` the next-header byte that names the fragment
    /// header is (it names the payload once reassembled).
    next_header_at: usize,
    v6: bool,
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

impl<'a> Fragment<'a> {
    /// The fragment an IP packet is, or None for an unfragmented packet and
    /// for anything malformed.
    pub fn parse(ip: &'a [u8]) -> Option<Self> {
        match ip.first()? >> 4 {
            4 => Self::parse_v4(ip),
            6 => Self::parse_v6(ip),
            _ => None,
        }
    }

    fn parse_v4(ip: &'a [u8]) -> Option<Self> {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let header = ip.get(..ihl).filter(|_| ihl >= 20)?;
        let flags = be16(ip, 6)?;
        let (more, offset) = (flags & 0x2000 != 0, usize::from(flags & 0x1fff) * 8);
        if !more && offset == 0 {
            return None;
        }
        let claimed = usize::from(be16(ip, 2)?).checked_sub(ihl)?;
        let present = &ip[ihl..];
        let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
        let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
        Some(Fragment {
            key: FragmentKey { src, dst, protocol: ip[9], id: u32::from(be16(ip, 4)?) },
            offset,
            more,
            payload: &present[..present.len().min(claimed)],
            claimed,
            header,
            next_header_at: 0,
            v6: false,
        })
    }

    fn parse_v6(ip: &'a [u8]) -> Option<Self> {
        let fixed = ip.get(..40)?;
        let payload_len = usize::from(be16(fixed, 4)?);
        if payload_len == 0 {
            // A jumbogram is never fragmented.
            return None;
        }
        let (mut next, mut next_at, mut at) = (fixed[6], 6usize, 40usize);
        for _ in 0..MAX_EXTENSIONS {
            let len = match next {
                // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
                0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*ip.get(at + 1)?) + 1) * 8,
                // Authentication header: in 4-byte units.
                51 => (usize::from(*ip.get(at + 1)?) + 2) * 4,
                44 => {
                    let f = ip.get(at..at + 8)?;
                    let field = u16::from_be_bytes([f[2], f[3]]);
                    let (more, offset) = (field & 1 != 0, usize::from(field & 0xfff8));
                    if !more && offset == 0 {
                        // An atomic fragment (RFC 6946): a whole datagram.
                        return None;
                    }
                    let claimed = payload_len.checked_sub(at + 8 - 40)?;
                    let present = &ip[at + 8..];
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&fixed[8..24]);
                    let mut b = [0u8; 16];
                    b.copy_from_slice(&fixed[24..40]);
                    return Some(Fragment {
                        key: FragmentKey {
                            src: IpAddr::V6(Ipv6Addr::from(a)),
                            dst: IpAddr::V6(Ipv6Addr::from(b)),
                            protocol: f[0],
                            id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                        },
                        offset,
                        more,
                        payload: &present[..present.len().min(claimed)],
                        claimed,
                        header: &ip[..at],
                        next_header_at: next_at,
                        v6: true,
                    });
                }
                _ => return None,
            };
            next = *ip.get(at)?;
            next_at = at;
            at = at.checked_add(len)?;
        }
        None
    }

    /// The payload bytes this fragment claims: `offset..offset + claimed`.
    fn end(&self) -> usize {
        self.offset + self.claimed
    }

    /// The most payload a datagram with this header can have.
    fn max_payload(&self) -> usize {
        if self.v6 {
            MAX_LENGTH.saturating_sub(self.header.len() - 40)
        } else {
            MAX_LENGTH.saturating_sub(self.header.len())
        }
    }
}

/// Disjoint, non-adjacent byte ranges `[start, end)` in increasing order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ranges(Vec<(u32, u32)>);

impl Ranges {
    /// Adds `[start, end)`, merging what it touches.
    fn insert(&mut self, start: u32, end: u32) {
        if start >= end {
            return;
        }
        let v = &mut self.0;
        // The first range that ends at or after `start` (it may merge).
        let first = v.partition_point(|&(_, e)| e < start);
        // The ranges from `first` that begin at or before `end` merge.
        let last = first + v[first..].partition_point(|&(s, _)| s <= end);
        if first == last {
            v.insert(first, (start, end));
        } else {
            let merged = (v[first].0.min(start), v[last - 1].1.max(end));
            v.splice(first..last, std::iter::once(merged));
        }
    }

    /// Whether `[0, end)` is covered.
    fn covers(&self, end: u32) -> bool {
        end == 0 || self.0.first().is_some_and(|&(s, e)| s == 0 && e >= end)
    }

    /// Where the covered prefix `[0, n)` ends.
    fn prefix(&self) -> u32 {
        match self.0.first() {
            Some(&(0, e)) => e,
            _ => 0,
        }
    }

    /// Drops everything at or after `end`.
    fn truncate(&mut self, end: u32) {
        self.0.retain(|&(s, _)| s < end);
        if let Some(last) = self.0.last_mut() {
            last.1 = last.1.min(end);
        }
    }

    /// The parts of `[start, end)` covered.
    fn within(&self, start: u32, end: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let first = self.0.partition_point(|&(_, e)| e <= start);
        self.0[first..].iter().take_while(move |&&(s, _)| s < end).map(move |&(s, e)| (s.max(start), e.min(end)))
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A datagram being put together.
///
/// Invariants: `present` ⊆ `claimed`, both within `[0, total)` once
/// `total` is known; `data.len()` is the end of the last present range
/// (0 when `unwanted`: only the ranges are kept then, and `present` is
/// empty); `held` is what [`Datagram::cost`] was when last accounted.
#[derive(Debug, Clone, Default)]
struct Datagram {
    /// The first fragment's header, once it came.
    header: Option<Vec<u8>>,
    next_header_at: usize,
    v6: bool,
    /// The payload's protocol (IPv6: what the rebuilt header names).
    protocol: u8,
    /// The payload, by offset; bytes outside `present` are zero.
    data: Vec<u8>,
    /// Payload bytes received.
    present: Ranges,
    /// Payload bytes the fragments claimed (`present` but for the bytes a
    /// snaplen cut off).
    claimed: Ranges,
    /// The payload's length, from the last fragment.
    total: Option<u32>,
    /// Capture time of its first fragment (the defragmenter's clock).
    since: Timestamp,
    /// Its place in the defragmenter's age order.
    seq: u64,
    fragments: u32,
    /// Its first fragment said it does not matter (or it is done).
    unwanted: bool,
    /// Handed back whole: kept until its timeout only to know its
    /// fragments sent twice (merged captures, retransmitting paths) from a
    /// new datagram that reuses its identification.
    done: bool,
    /// Offset, claimed length and hash of its fragments (at most
    /// `2 * MAX_RANGES`).
    seen: Vec<(u32, u32, u64)>,
    held: usize,
}

/// FNV-1a over a fragment's bytes: tells a fragment sent twice from
/// another one at the same place.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Datagram {
    /// Bytes this datagram holds, as the total cap counts them.
    fn cost(&self) -> usize {
        self.data.len()
            + self.header.as_ref().map_or(0, Vec::len)
            + 8 * (self.present.len() + self.claimed.len())
            + 16 * self.seen.len()
    }

    /// From now on only its ranges are kept, to swallow its fragments.
    fn let_go(&mut self) {
        self.unwanted = true;
        self.data = Vec::new();
        self.present = Ranges::default();
    }

    fn complete(&self) -> bool {
        self.header.is_some() && self.total.is_some_and(|t| self.claimed.covers(t))
    }

    /// The datagram as one IP packet: the first fragment's header with the
    /// length and fragment fields of an unfragmented datagram, then the
    /// payload as far as it was captured (the length still says the whole,
    /// as for a packet the snaplen cut).
    fn build(&self) -> Option<Vec<u8>> {
        let header = self.header.as_ref()?;
        let total = self.total? as usize;
        let present = (self.present.prefix() as usize).min(total);
        let mut out = Vec::with_capacity(header.len() + present);
        out.extend_from_slice(header);
        if self.v6 {
            let length = u16::try_from(header.len() - 40 + total).ok()?;
            out[4..6].copy_from_slice(&length.to_be_bytes());
            // The fragment header's next header names the payload now.
            *out.get_mut(self.next_header_at)? = self.protocol;
        } else {
            let length = u16::try_from(header.len() + total).ok()?;
            out[2..4].copy_from_slice(&length.to_be_bytes());
            // Keep DF; no MF, offset 0.
            out[6] &= 0x40;
            out[7] = 0;
            out[10] = 0;
            out[11] = 0;
            let sum = ipv4_checksum(&out);
            out[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        out.extend_from_slice(&self.data[..present]);
        Some(out)
    }
}

/// The IPv4 header checksum of `header` (its checksum field zero).
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What the defragmenter counted (each a warning of the analysis).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragmentStats {
    /// Datagrams handed back whole.
    pub reassembled: u64,
    /// Datagrams dropped to stay within the total caps (the oldest first).
    pub evicted: u64,
    /// Datagrams dropped unfinished: timed out, or still open at the end.
    pub incomplete: u64,
    /// Datagrams whose fragments claimed more than an IP length can say.
    pub too_large: u64,
    /// Fragments whose bytes disagreed with bytes already received (or with
    /// the datagram's length); resolved by the overlap policy.
    pub overlaps: u64,
}

/// What [`Defragmenter::push`] made of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Kept until its datagram is complete.
    Held,
    /// It completed its datagram: here it is, as one IP packet.
    Complete(Vec<u8>),
    /// Its datagram does not matter (or cannot be reassembled): this many
    /// fragments of it, this one included, were let go.
    Dropped(u32),
    /// A copy of a fragment of a datagram already handed back.
    Duplicate,
}

/// The datagrams being reassembled from the fragments of one capture.
///
/// Invariants: `order` holds exactly one `(seq, key)` per datagram in
/// `datagrams`, in the order they began; `held` is the sum of their
/// [`Datagram::cost`]s, at most `limits.max_total` after every push, and
/// their number at most `limits.max_datagrams`; `now` is the latest
/// timestamp seen (the clock never goes back).
pub struct Defragmenter {
    limits: FragmentLimits,
    datagrams: FlowMap<FragmentKey, Datagram>,
    order: BTreeMap<u64, FragmentKey>,
    next_seq: u64,
    held: usize,
    now: Timestamp,
    pub stats: FragmentStats,
}

impl Defragmenter {
    pub fn new(limits: FragmentLimits) -> Self {
        Defragmenter {
            limits,
            datagrams: FlowMap::default(),
            order: BTreeMap::new(),
            next_seq: 0,
            held: 0,
            now: Timestamp::default(),
            stats: FragmentStats::default(),
        }
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// Bytes held over all datagrams in progress.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Takes one fragment captured at `ts`. `wanted` sees the first
    /// transport bytes of the datagram when its first fragment comes and
    /// says whether it matters.
    pub fn push(&mut self, frag: &Fragment<'_>, ts: Timestamp, wanted: impl FnOnce(&[u8]) -> bool) -> Pushed {
        if ts > self.now {
            self.now = ts;
        }
        self.expire();
        let key = frag.key;
        let end = frag.end();
        let sig = (frag.offset as u32, frag.claimed as u32, fingerprint(frag.payload));
        if let Some(d) = self.datagrams.get(&key).filter(|d| d.done) {
            if d.seen.contains(&sig) {
                return Pushed::Duplicate;
            }
            // Another datagram with the same identification.
            self.remove(key);
        }
        if !self.datagrams.contains_key(&key) {
            while self.datagrams.len() >= self.limits.max_datagrams.max(1) {
                if !self.evict_oldest_except(u64::MAX) {
                    break;
                }
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.order.insert(seq, key);
            let d = Datagram { since: self.now, seq, v6: frag.v6, protocol: key.protocol, ..Datagram::default() };
            self.datagrams.insert(key, d);
        }
        let Some(d) = self.datagrams.get_mut(&key) else { return Pushed::Held };
        let was_unwanted = d.unwanted;
        d.fragments = d.fragments.saturating_add(1);
        if d.seen.len() < 2 * MAX_RANGES && end <= MAX_LENGTH {
            d.seen.push(sig);
        }
        let policy = self.limits.policy;
        if end > frag.max_payload() || d.v6 != frag.v6 {
            // More than a length field can say: never a datagram.
            if !d.unwanted {
                self.stats.too_large += 1;
            }
            d.let_go();
            return self.settle(key, was_unwanted);
        }
        let (start, end) = (frag.offset as u32, end as u32);
        let mut differs = false;
        if !frag.more {
            match d.total {
                Some(t) if t != end => {
                    differs = true;
                    if policy == OverlapPolicy::Last {
                        d.total = Some(end);
                    }
                }
                Some(_) => {}
                None => d.total = Some(end),
            }
        }
        // Bytes past the datagram's end disagree with its length.
        let limit = d.total.unwrap_or(u32::MAX);
        if end > limit || d.claimed.0.last().is_some_and(|&(_, e)| e > limit) {
            differs = true;
            d.claimed.truncate(limit);
            d.present.truncate(limit);
            d.data.truncate(d.present.0.last().map_or(0, |&(_, e)| e as usize));
        }
        let (cstart, cend) = (start.min(limit), end.min(limit));
        if frag.offset == 0 && d.header.is_none() {
            d.header = Some(frag.header.to_vec());
            d.next_header_at = frag.next_header_at;
            if !d.unwanted && !wanted(frag.payload) {
                d.let_go();
            }
        }
        if !d.unwanted {
            let pend = (start as usize + frag.payload.len()).min(cend as usize) as u32;
            if pend > cstart {
                let bytes = &frag.payload[..(pend - cstart) as usize];
                if d.data.len() < pend as usize {
                    d.data.resize(pend as usize, 0);
                }
                // Bytes already here: compared, then kept per the policy.
                let filled: Vec<(u32, u32)> = d.present.within(cstart, pend).collect();
                for &(s, e) in &filled {
                    let (a, b) = ((s - cstart) as usize, (e - cstart) as usize);
                    differs |= d.data[s as usize..e as usize] != bytes[a..b];
                }
                match policy {
                    OverlapPolicy::Last => d.data[cstart as usize..pend as usize].copy_from_slice(bytes),
                    OverlapPolicy::First => {
                        let mut at = cstart;
                        for (s, e) in filled.into_iter().chain(std::iter::once((pend, pend))) {
                            if s > at {
                                let (a, b) = ((at - cstart) as usize, (s - cstart) as usize);
                                d.data[at as usize..s as usize].copy_from_slice(&bytes[a..b]);
                            }
                            at = at.max(e);
                        }
                    }
                }
                d.present.insert(cstart, pend);
            }
        }
        d.claimed.insert(cstart, cend);
        if differs {
            self.stats.overlaps += 1;
        }
        if d.present.len() > MAX_RANGES || d.claimed.len() > MAX_RANGES {
            // Split finer than any real sender splits.
            if !d.unwanted {
                self.stats.evicted += 1;
            }
            d.let_go();
            d.claimed = Ranges::default();
        }
        self.settle(key, was_unwanted)
    }

    /// Accounts for the datagram at `key` after a fragment changed it:
    /// hands it back when complete, keeps the total within its cap, and
    /// says what became of the fragment (`was_unwanted`: the datagram was
    /// let go before it came).
    fn settle(&mut self, key: FragmentKey, was_unwanted: bool) -> Pushed {
        let Some(d) = self.datagrams.get_mut(&key) else { return Pushed::Held };
        let cost = d.cost();
        self.held = self.held - d.held + cost;
        d.held = cost;
        // Fragments let go now: this one, or all so far when it was this
        // one that showed the datagram does not matter.
        let dropped = if was_unwanted { 1 } else { d.fragments };
        if d.complete() {
            let unwanted = d.unwanted;
            let built = if unwanted { None } else { d.build() };
            // Kept, without its bytes, to know its fragments if they come
            // again.
            d.let_go();
            d.done = true;
            d.header = None;
            d.claimed = Ranges::default();
            let cost = d.cost();
            self.held = self.held - d.held + cost;
            d.held = cost;
            if unwanted {
                return Pushed::Dropped(dropped);
            }
            return match built {
                Some(packet) => {
                    self.stats.reassembled += 1;
                    Pushed::Complete(packet)
                }
                None => {
                    self.stats.too_large += 1;
                    Pushed::Dropped(dropped)
                }
            };
        }
        let (unwanted, seq) = (d.unwanted, d.seq);
        while self.held > self.limits.max_total && self.evict_oldest_except(seq) {}
        if unwanted {
            Pushed::Dropped(dropped)
        } else {
            Pushed::Held
        }
    }

    fn remove(&mut self, key: FragmentKey) -> Datagram {
        let d = self.datagrams.remove(&key).unwrap_or_default();
        self.order.remove(&d.seq);
        self.held -= d.held;
        d
    }

    /// Drops the oldest datagram other than the one numbered `keep`;
    /// false when there is none.
    fn evict_oldest_except(&mut self, keep: u64) -> bool {
        let Some((_, &key)) = self.order.iter().find(|(seq, _)| **seq != keep) else { return false };
        let d = self.remove(key);
        if !d.unwanted {
            self.stats.evicted += 1;
        }
        true
    }

    /// Drops the datagrams begun longer than the timeout ago.
    fn expire(&mut self) {
        let timeout = (self.limits.timeout_secs * 1e9) as i128;
        while let Some((_, &key)) = self.order.iter().next() {
            let Some(d) = self.datagrams.get(&key) else { break };
            if self.now.as_nanos() - d.since.as_nanos() <= timeout {
                break;
            }
            let d = self.remove(key);
            if !d.unwanted {
                self.stats.incomplete += 1;
            }
        }
    }

    /// The end of the capture: what is still in progress is incomplete.
    pub fn finish(&mut self) {
        let keys: Vec<FragmentKey> = self.order.values().copied().collect();
        for key in keys {
            let d = self.remove(key);
            if !d.unwanted {
                self.stats.incomplete += 1;
            }
        }
    }
}

/// The datagrams in progress with their holes, oldest first (readable test
/// failures).
impl fmt::Display for Defragmenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for key in self.order.values() {
            let Some(d) = self.datagrams.get(key) else { continue };
            write!(f, "{} > {} proto {} id {:#x}:", key.src, key.dst, key.protocol, key.id)?;
            if d.done {
                write!(f, " done")?;
            } else if d.unwanted {
                write!(f, " unwanted")?;
            }
            for (s, e) in &d.claimed.0 {
                write!(f, " [{s}, {e})")?;
            }
            match d.total {
                Some(t) => writeln!(f, " of {t}")?,
                None => writeln!(f, " of ?")?,
            }
        }
        Ok(())
    }
}

/// Test and fuzzing support: fragmenting a datagram, checking invariants.
#[cfg(any(test, feature = "fuzzing"))]
impl Defragmenter {
    /// Panics when an invariant of [`Defragmenter`] does not hold.
    pub fn check_invariants(&self) {
        assert_eq!(self.order.len(), self.datagrams.len(), "{self}");
        let mut held = 0;
        for (seq, key) in &self.order {
            let d = &self.datagrams[key];
            assert_eq!(d.seq, *seq);
            assert_eq!(d.held, d.cost());
            held += d.held;
            for r in [&d.present, &d.claimed] {
                assert!(r.0.iter().all(|&(s, e)| s < e), "{self}");
                assert!(r.0.windows(2).all(|w| w[0].1 < w[1].0), "{self}");
                if let Some(t) = d.total {
                    assert!(r.0.last().is_none_or(|&(_, e)| e <= t), "{self}");
                }
            }
            assert_eq!(d.data.len(), d.present.0.last().map_or(0, |&(_, e)| e as usize));
            assert!(d.data.len() <= MAX_LENGTH);
            assert!(!d.unwanted || d.present.0.is_empty());
            assert!(!d.done || (d.unwanted && d.header.is_none()));
            assert!(d.seen.len() <= 2 * MAX_RANGES);
        }
        assert_eq!(held, self.held);
        assert!(self.held <= self.limits.max_total.max(MAX_LENGTH + 2048), "{} held", self.held);
        assert!(self.datagrams.len() <= self.limits.max_datagrams.max(1));
    }
}

/// Splits an unfragmented IPv4 or IPv6 packet into fragments whose payloads
/// start at `cuts` (multiples of 8 within the payload; 0 is implied), with
/// identification `id` (IPv6: a fragment header after the fixed header).
#[cfg(any(test, feature = "fuzzing"))]
pub fn split(ip: &[u8], cuts: &[usize], id: u32) -> Vec<Vec<u8>> {
    let v6 = ip[0] >> 4 == 6;
    let hlen = if v6 { 40 } else { usize::from(ip[0] & 0x0f) * 4 };
    let (header, payload) = ip.split_at(hlen);
    let mut starts: Vec<usize> = cuts.iter().map(|c| c / 8 * 8).filter(|&c| c > 0 && c < payload.len()).collect();
    starts.push(0);
    starts.sort_unstable();
    starts.dedup();
    let mut out = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(payload.len());
        let more = i + 1 < starts.len();
        let mut f = header.to_vec();
        if v6 {
            let next = f[6];
            f[6] = 44;
            let len = (8 + end - start) as u16;
            f[4..6].copy_from_slice(&len.to_be_bytes());
            let field = (start as u16) | u16::from(more);
            f.extend_from_slice(&[next, 0]);
            f.extend_from_slice(&field.to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
        } else {
            let len = (hlen + end - start) as u16;
            f[2..4].copy_from_slice(&len.to_be_bytes());
            f[4..6].copy_from_slice(&(id as u16).to_be_bytes());
            let field = (start / 8) as u16 | if more { 0x2000 } else { 0 };
            f[6..8].copy_from_slice(&field.to_be_bytes());
            f[10] = 0;
            f[11] = 0;
            let sum = ipv4_checksum(&f);
            f[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        f.extend_from_slice(&payload[start..end]);
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0, digits: 6 }
    }

    /// An IPv4 (or IPv6) TCP packet from 10.0.0.1:40000 to :21 carrying
    /// `payload`, with identification 0x1234 and DF clear.
    fn tcp(v6: bool, payload: &[u8]) -> Vec<u8> {
        let b = if v6 {
            etherparse::PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64)
        } else {
            etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        };
        let mut out = Vec::new();
        b.tcp(40000, 21, 7, 1000).ack(3).write(&mut out, payload).unwrap();
        if !v6 {
            out[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
            out[6] = 0;
            out[10] = 0;
            out[11] = 0;
            let sum = ipv4_checksum(&out[..20]);
            out[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        out
    }

    fn limits() -> FragmentLimits {
        FragmentLimits::default()
    }

    /// Pushes every fragment at time `t` with everything wanted; the
    /// datagrams that came out.
    fn push_all(d: &mut Defragmenter, frags: &[Vec<u8>], t: i64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for f in frags {
            let frag = Fragment::parse(f).expect("a fragment");
            if let Pushed::Complete(p) = d.push(&frag, ts(t), |_| true) {
                out.push(p);
            }
            d.check_invariants();
        }
        out
    }

    const LINE: &[u8] = b"RNTO a file name long enough to be split over several small fragments.txt\r\n";

    #[test]
    fn whole_packets_are_no_fragments() {
        assert!(Fragment::parse(&tcp(false, LINE)).is_none());
        assert!(Fragment::parse(&tcp(true, LINE)).is_none());
        assert!(Fragment::parse(&[0x45, 0, 0]).is_none());
        assert!(Fragment::parse(b"").is_none());
    }

    #[test]
    fn in_order_fragments_give_the_datagram_back_at_the_last() {
        for v6 in [false, true] {
            let ip = tcp(v6, LINE);
            let frags = split(&ip, &[16, 48, 72], 0x1234);
            assert_eq!(frags.len(), 4);
            let mut d = Defragmenter::new(limits());
            let mut got = Vec::new();
            for (i, f) in frags.iter().enumerate() {
                let pushed = d.push(&Fragment::parse(f).unwrap(), ts(1), |_| true);
                if i < 3 {
                    assert_eq!(pushed, Pushed::Held, "{d}");
                } else if let Pushed::Complete(p) = pushed {
                    got = p;
                }
            }
            assert_eq!(got, ip, "v6 {v6}");
            // Only its fragments' fingerprints are kept, till the timeout.
            assert_eq!((d.len(), d.held()), (1, 4 * 16));
            assert_eq!(d.stats, FragmentStats { reassembled: 1, ..FragmentStats::default() });
            d.finish();
            assert_eq!(d.stats.incomplete, 0);
        }
    }

    #[test]
    fn the_table_shows_the_holes_while_waiting() {
        let frags = split(&tcp(false, LINE), &[16, 48, 72], 0x1234);
        let mut d = Defragmenter::new(limits());
        push_all(&mut d, &[frags[3].clone(), frags[1].clone()], 1);
        assert_eq!(d.to_string(), "10.0.0.1 > 10.0.0.2 proto 6 id 0x1234: [16, 48) [72, 95) of 95\n");
        push_all(&mut d, &[frags[0].clone()], 1);
        assert_eq!(d.to_string(), "10.0.0.1 > 10.0.0.2 proto 6 id 0x1234: [0, 48) [72, 95) of 95\n");
        assert_eq!(push_all(&mut d, &[frags[2].clone()], 1).len(), 1);
        assert_eq!(d.to_string(), "10.0.0.1 > 10.0.0.2 proto 6 id 0x1234: done of 95\n");
    }

    #[test]
    fn overlapping_fragments_keep_the_first_or_the_last_copy() {
        let ip = tcp(false, LINE);
        let frags = split(&ip, &[24], 0x1234);
        // A second copy of the first fragment whose last 8 bytes differ.
        let mut other = frags[0].clone();
        let n = other.len();
        other[n - 8..].copy_from_slice(b"XXXXXXXX");
        for (policy, want_changed) in [(OverlapPolicy::First, false), (OverlapPolicy::Last, true)] {
            let mut d = Defragmenter::new(FragmentLimits { policy, ..limits() });
            let got = push_all(&mut d, &[frags[0].clone(), other.clone(), frags[1].clone()], 1);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0] != ip, want_changed, "{policy:?}");
            assert_eq!(&got[0][20 + 16..20 + 24] == b"XXXXXXXX", want_changed);
            assert_eq!(d.stats.overlaps, 1);
        }
        // The same bytes twice are no conflict.
        let mut d = Defragmenter::new(limits());
        let got = push_all(&mut d, &[frags[0].clone(), frags[0].clone(), frags[1].clone(), frags[1].clone()], 1);
        assert_eq!(got, vec![ip]);
        assert_eq!(d.stats.overlaps, 0);
    }

    #[test]
    fn a_fragment_sent_again_after_its_datagram_is_a_duplicate_not_a_new_datagram() {
        // Merged captures show every packet twice.
        let ip = tcp(false, LINE);
        let frags = split(&ip, &[40], 0x1234);
        let mut d = Defragmenter::new(limits());
        assert_eq!(push_all(&mut d, &frags, 1), vec![ip.clone()]);
        for f in &frags {
            assert_eq!(d.push(&Fragment::parse(f).unwrap(), ts(2), |_| true), Pushed::Duplicate);
        }
        // The identification used again by another datagram: a new one.
        let other = tcp(false, b"RNTO another name, long enough for two fragments...\r\n");
        let again = split(&other, &[40], 0x1234);
        assert_eq!(push_all(&mut d, &again, 3), vec![other]);
        d.finish();
        assert_eq!(d.stats, FragmentStats { reassembled: 2, ..FragmentStats::default() });
    }

    #[test]
    fn a_datagram_not_complete_within_the_timeout_is_dropped() {
        let a = split(&tcp(false, LINE), &[40], 0x1234);
        let mut d = Defragmenter::new(limits());
        push_all(&mut d, &a[..1], 100);
        // 30 s later it still completes; 31 s later it is gone.
        let mut late = Defragmenter::new(limits());
        push_all(&mut late, &a[..1], 100);
        assert_eq!(push_all(&mut d, &a[1..], 130).len(), 1);
        assert!(push_all(&mut late, &a[1..], 131).is_empty());
        assert_eq!(late.stats.incomplete, 1, "{late}");
        assert_eq!(late.len(), 1, "the late fragment starts a datagram of its own");
        late.finish();
        assert_eq!((late.stats.incomplete, late.len(), late.held()), (2, 0, 0));
    }

    #[test]
    fn the_oldest_datagram_goes_when_too_many_are_open() {
        let mut d = Defragmenter::new(FragmentLimits { max_datagrams: 3, ..limits() });
        let mut firsts = Vec::new();
        for id in 0..5u32 {
            let f = split(&tcp(false, LINE), &[40], id);
            push_all(&mut d, &f[..1], 1);
            firsts.push(f);
        }
        assert_eq!((d.len(), d.stats.evicted), (3, 2));
        // The newest three still complete.
        for f in &firsts[2..] {
            assert_eq!(push_all(&mut d, &f[1..], 1).len(), 1);
        }
        assert!(push_all(&mut d, &firsts[0][1..], 1).is_empty());
    }

    #[test]
    fn the_total_cap_holds_with_big_datagrams() {
        let big = vec![b'x'; 60_000];
        let mut d = Defragmenter::new(FragmentLimits { max_total: 100_000, ..limits() });
        for id in 0..4u32 {
            let f = split(&tcp(false, &big), &[30_000], id);
            push_all(&mut d, &f[..1], 1);
        }
        assert!(d.held() <= 100_000);
        assert_eq!(d.stats.evicted, 1, "{d}");
    }

    #[test]
    fn a_fragment_past_64k_is_never_a_datagram() {
        // The "ping of death": offset 65528 + 100 bytes.
        let frags = split(&tcp(false, LINE), &[40], 9);
        let mut evil = frags[1].clone();
        evil[6..8].copy_from_slice(&(0x1fffu16).to_be_bytes());
        let mut d = Defragmenter::new(limits());
        let f = Fragment::parse(&evil).unwrap();
        assert_eq!(d.push(&f, ts(1), |_| true), Pushed::Dropped(1));
        assert_eq!(d.stats.too_large, 1);
        // Its other fragments are let go with it.
        assert_eq!(d.push(&Fragment::parse(&frags[0]).unwrap(), ts(1), |_| true), Pushed::Dropped(1));
        d.check_invariants();
    }

    #[test]
    fn an_unwanted_datagram_keeps_no_bytes_and_swallows_its_fragments() {
        let frags = split(&tcp(false, &[b'y'; 500]), &[96, 200, 304], 3);
        let mut d = Defragmenter::new(limits());
        let f = |i: usize| Fragment::parse(&frags[i]).unwrap();
        // Later fragments first: held, as their ports are not known.
        assert_eq!(d.push(&f(2), ts(1), |_| true), Pushed::Held);
        assert_eq!(d.push(&f(1), ts(1), |_| true), Pushed::Held);
        // The first shows the ports: the three are let go.
        assert_eq!(d.push(&f(0), ts(1), |l4| l4.len() >= 4 && l4[2..4] == [0, 80]), Pushed::Dropped(3));
        assert!(d.held() < 128, "{}", d.held());
        assert_eq!(d.push(&f(3), ts(1), |_| true), Pushed::Dropped(1));
        d.finish();
        assert_eq!(d.stats, FragmentStats::default());
    }

    #[test]
    fn a_snaplen_cut_fragment_gives_the_datagram_as_far_as_captured() {
        let ip = tcp(false, LINE);
        let frags = split(&ip, &[40], 0x1234);
        let cut = &frags[1][..frags[1].len() - 10];
        let mut d = Defragmenter::new(limits());
        push_all(&mut d, &frags[..1], 1);
        let Pushed::Complete(p) = d.push(&Fragment::parse(cut).unwrap(), ts(1), |_| true) else { panic!("{d}") };
        assert_eq!(p, ip[..ip.len() - 10]);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]) as usize, ip.len(), "the length still says the whole");
        // And the tail before the head: the head's bytes are all there is.
        let mut d = Defragmenter::new(limits());
        let head_cut = &frags[0][..frags[0].len() - 8];
        d.push(&Fragment::parse(head_cut).unwrap(), ts(1), |_| true);
        let Pushed::Complete(p) = d.push(&Fragment::parse(&frags[1]).unwrap(), ts(1), |_| true) else { panic!() };
        assert_eq!(p, ip[..20 + 32]);
    }

    #[test]
    fn ranges_merge_what_they_touch() {
        let mut r = Ranges::default();
        for (s, e) in [(10, 20), (30, 40), (20, 25), (0, 5), (5, 10), (26, 29), (24, 31)] {
            r.insert(s, e);
        }
        assert_eq!(r.0, vec![(0, 40)]);
        let mut r = Ranges::default();
        r.insert(10, 20);
        r.insert(30, 40);
        assert_eq!(r.within(15, 35).collect::<Vec<_>>(), vec![(15, 20), (30, 35)]);
        assert!(!r.covers(40));
        r.truncate(35);
        assert_eq!(r.0, vec![(10, 20), (30, 35)]);
    }

    proptest! {
        /// Any fragmentation, in any order, with duplicates: the same
        /// datagram, once.
        #[test]
        fn any_fragmentation_in_any_order_gives_the_datagram(
            v6 in any::<bool>(),
            len in 1usize..3000,
            cuts in proptest::collection::vec(0usize..3000, 0..40),
            order in proptest::collection::vec(any::<u32>(), 0..80),
            dups in proptest::collection::vec(any::<u16>(), 0..8),
            last in any::<bool>(),
        ) {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let ip = tcp(v6, &payload);
            let mut frags = split(&ip, &cuts, 0x1234);
            prop_assume!(frags.len() > 1);
            for d in &dups {
                let f = frags[*d as usize % frags.len()].clone();
                frags.push(f);
            }
            // A random permutation from `order`.
            for (i, r) in order.iter().enumerate() {
                let n = frags.len();
                frags.swap(i % n, *r as usize % n);
            }
            let policy = if last { OverlapPolicy::Last } else { OverlapPolicy::First };
            let mut d = Defragmenter::new(FragmentLimits { policy, ..limits() });
            let mut got = Vec::new();
            for f in &frags {
                if let Pushed::Complete(p) = d.push(&Fragment::parse(f).unwrap(), ts(1), |_| true) {
                    got.push(p);
                }
                d.check_invariants();
            }
            prop_assert_eq!(got.len(), 1, "{}", d);
            prop_assert_eq!(&got[0], &ip);
            d.finish();
            prop_assert_eq!(d.stats, FragmentStats { reassembled: 1, ..FragmentStats::default() });
        }

        /// Whatever bytes are pushed, the invariants hold and nothing panics.
        #[test]
        fn garbage_fragments_keep_the_invariants(
            packets in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..60),
        ) {
            let mut d = Defragmenter::new(FragmentLimits { max_datagrams: 4, max_total: 70_000, ..limits() });
            for (i, (id, field, total, body)) in packets.iter().enumerate() {
                let mut ip = tcp(false, body);
                ip[5] = *id & 3;
                ip[6..8].copy_from_slice(&field.to_be_bytes());
                ip[2..4].copy_from_slice(&(total | 20).to_be_bytes());
                if let Some(f) = Fragment::parse(&ip) {
                    let _ = d.push(&f, ts(i as i64), |l4| l4.first() != Some(&0));
                }
                d.check_invariants();
            }
            d.finish();
            d.check_invariants();
            prop_assert!(d.is_empty());
        }
    }
}
