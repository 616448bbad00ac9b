//! The hasher of the per-packet tables (flows, data connections).
//!
//! The standard SipHash cost about a tenth of the time on control-heavy
//! captures, where every packet looks its flow up. Keys here are a few
//! machine words (addresses and ports), so a multiply-and-fold over each
//! word does the job at a fraction of the cost. The starting state is drawn
//! from the standard library's random state for every table, so which keys
//! collide changes from run to run and a capture cannot carry a collision
//! set computed in advance. It is not a keyed PRF like SipHash: what bounds
//! the damage of a hostile key set is the cap on every table
//! (`--max-flows`, `--max-expected`).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A `HashMap` with [`FlowHasher`].
pub type FlowMap<K, V> = HashMap<K, V, BuildFlowHasher>;

/// Odd constant with well-spread bits (the fractional part of pi).
const MULTIPLIER: u64 = 0x243f_6a88_85a3_08d3;

/// Makes [`FlowHasher`]s that share one random seed.
#[derive(Clone, Debug)]
pub struct BuildFlowHasher {
    seed: u64,
}

impl Default for BuildFlowHasher {
    fn default() -> Self {
        BuildFlowHasher { seed: RandomState::new().hash_one(0x6674_7063_6170u64) | 1 }
    }
}

impl BuildHasher for BuildFlowHasher {
    type Hasher = FlowHasher;

    fn build_hasher(&self) -> FlowHasher {
        FlowHasher { state: self.seed }
    }
}

/// Multiply-fold hasher over 64-bit words (see the module comment).
#[derive(Clone, Debug)]
pub struct FlowHasher {
    state: u64,
}

impl FlowHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.state ^ word) * u128::from(MULTIPLIER);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for FlowHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            // The length keeps "ab" and "ab\0" apart.
            self.mix(u64::from_le_bytes(word) ^ ((tail.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.mix(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.mix(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.mix(n as u64);
        self.mix((n >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // One more round so the last word's bits reach the top bits, which
        // the table uses for its control bytes.
        let mut last = self.clone();
        last.mix(0);
        last.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    #[test]
    fn nearby_keys_spread_over_buckets() {
        // 65,536 client ports to one server: the low 16 bits of the hashes
        // (what a table of that size indexes by) must be nearly all distinct,
        // and so must the top 7 bits' combinations with them.
        let build = BuildFlowHasher::default();
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 21);
        let mut low = HashSet::new();
        for port in 0..=u16::MAX {
            let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), port);
            low.insert(build.hash_one((client, server)) & 0xffff);
        }
        // A random function fills about 63% of 65,536 buckets.
        assert!(low.len() > 39_000, "only {} distinct low halves", low.len());
    }

    #[test]
    fn seeds_differ_between_builders() {
        let (a, b) = (BuildFlowHasher::default(), BuildFlowHasher::default());
        assert_ne!(a.hash_one(1u64), b.hash_one(1u64));
    }

    #[test]
    fn tails_of_different_length_differ() {
        let build = BuildFlowHasher::default();
        let hash = |bytes: &[u8]| {
            let mut h = build.build_hasher();
            h.write(bytes);
            h.finish()
        };
        assert_ne!(hash(b"ab"), hash(b"ab\0"));
    }
}
