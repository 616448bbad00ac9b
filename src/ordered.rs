//! Rows waiting until no earlier row can still appear.
//!
//! Rows are keyed by where they belong in the report (a frame number, then
//! a session number) and released in key order once a watermark passes
//! them; rows with equal keys keep their arrival order.
//!
//! # Invariants
//! * `run` is sorted by (key, arrival) and holds rows that arrived in key
//!   order; every other row waits in `late`, a min-heap. Almost every row
//!   arrives in order, so pushing and releasing are O(1) then; a row out of
//!   order costs O(log n). No input makes an operation cost more.
//! * Rows leave in (key, arrival) order: the smaller head of the two goes
//!   first.
//! * At most [`HARD_CAP`] rows are held after any call: past it the oldest
//!   go out anyway, and the caller is told that order may be off.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Size at which a release is first attempted.
pub const THRESHOLD: usize = 256;
/// Most rows held.
pub const HARD_CAP: usize = 65_536;

/// A row with its key and arrival number.
struct Entry<T> {
    key: (u64, u64, u64),
    row: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
/// Reversed: `BinaryHeap` is a max-heap and the smallest key must come out
/// first.
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// See the module documentation.
pub struct Ordered<T> {
    run: VecDeque<Entry<T>>,
    late: BinaryHeap<Entry<T>>,
    seq: u64,
    /// Size at which a release is attempted; doubles when releasing frees
    /// little.
    threshold: usize,
}

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered { run: VecDeque::new(), late: BinaryHeap::new(), seq: 0, threshold: THRESHOLD }
    }
}

impl<T> Ordered<T> {
    pub fn len(&self) -> usize {
        self.run.len() + self.late.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, key: (u64, u64), row: T) {
        self.seq += 1;
        let entry = Entry { key: (key.0, key.1, self.seq), row };
        // Arrival numbers grow, so an equal (frame, session) is in order too.
        if self.run.back().is_none_or(|last| last.key <= entry.key) {
            self.run.push_back(entry);
        } else {
            self.late.push(entry);
        }
    }

    /// Worth calling [`Ordered::release`] now.
    pub fn due(&self) -> bool {
        self.len() >= self.threshold
    }

    /// The row that leaves next.
    fn pop_first(&mut self) -> Option<T> {
        let from_run = match (self.run.front(), self.late.peek()) {
            (Some(r), Some(l)) => r.key < l.key,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if from_run {
            self.run.pop_front().map(|e| e.row)
        } else {
            self.late.pop().map(|e| e.row)
        }
    }

    fn first_key(&self) -> Option<u64> {
        let r = self.run.front().map(|e| e.key.0);
        let l = self.late.peek().map(|e| e.key.0);
        match (r, l) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Releases every row whose first key is below `low`; true if the hard
    /// cap forced rows out of order.
    pub fn release(&mut self, low: u64, out: &mut dyn FnMut(T)) -> bool {
        if self.late.is_empty() {
            // Only the in-order run holds rows (nearly always): the ones
            // below `low` are a prefix of it.
            let below = self.run.partition_point(|e| e.key.0 < low);
            for entry in self.run.drain(..below) {
                out(entry.row);
            }
        }
        while self.first_key().is_some_and(|k| k < low) {
            if let Some(row) = self.pop_first() {
                out(row);
            }
        }
        let mut forced = false;
        while self.len() > HARD_CAP {
            if let Some(row) = self.pop_first() {
                out(row);
                forced = true;
            }
        }
        let held = self.len();
        self.threshold =
            if held * 2 > self.threshold { (self.threshold * 2).min(HARD_CAP) } else { THRESHOLD.max(held * 2) };
        forced
    }

    pub fn release_all(&mut self, out: &mut dyn FnMut(T)) {
        while let Some(row) = self.pop_first() {
            out(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the arrival order and watermarks, rows leave sorted by
        /// key and, for equal keys, in arrival order; nothing is lost.
        #[test]
        fn releases_in_key_then_arrival_order(
            steps in proptest::collection::vec((0u64..40, 0u64..3, proptest::option::of(0u64..45)), 0..300)
        ) {
            let mut ordered = Ordered::default();
            let mut model: Vec<((u64, u64), usize)> = Vec::new();
            let mut out: Vec<usize> = Vec::new();
            let mut expected: Vec<usize> = Vec::new();
            for (i, (frame, session, release)) in steps.into_iter().enumerate() {
                ordered.push((frame, session), i);
                model.push(((frame, session), i));
                if let Some(low) = release {
                    ordered.release(low, &mut |r| out.push(r));
                    model.sort_by_key(|(k, i)| (*k, *i));
                    let n = model.iter().take_while(|(k, _)| k.0 < low).count();
                    expected.extend(model.drain(..n).map(|(_, i)| i));
                }
                prop_assert_eq!(ordered.len(), model.len());
            }
            ordered.release_all(&mut |r| out.push(r));
            model.sort_by_key(|(k, i)| (*k, *i));
            expected.extend(model.into_iter().map(|(_, i)| i));
            prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn hard_cap_forces_the_oldest_out() {
        let mut ordered = Ordered::default();
        for i in 0..HARD_CAP as u64 + 10 {
            ordered.push((1_000_000 - i, 0), i);
        }
        let mut out = Vec::new();
        assert!(ordered.release(0, &mut |r| out.push(r)));
        assert_eq!(out.len(), 10);
        assert_eq!(ordered.len(), HARD_CAP);
        // The smallest keys (the last pushed) went out first.
        assert_eq!(out[0], HARD_CAP as u64 + 9);
    }
}
