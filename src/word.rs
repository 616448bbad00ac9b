//! Word-at-a-time byte tests (the classic "has zero byte" bit tricks).
//! Control-channel lines and report cells are mostly plain ASCII; testing
//! eight bytes at once makes the common case (no line end, nothing to
//! escape or quote) a few operations per word.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Some byte of `x` is below `n` (exact for `n <= 128`).
pub fn has_below(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS != 0
}

/// Some byte of `x` equals `b`.
pub fn has(x: u64, b: u8) -> bool {
    has_below(x ^ (ONES * u64::from(b)), 1)
}

/// Some byte of `x` is not ASCII.
pub fn has_high(x: u64) -> bool {
    x & HIGHS != 0
}

/// Length of the prefix of `bytes` made of whole words for which
/// `suspect` is false; the bytes after it are for a byte-wise look.
pub fn clean_prefix(bytes: &[u8], suspect: impl Fn(u64) -> bool) -> usize {
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        if suspect(u64::from_le_bytes(w)) {
            break;
        }
        at += 8;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word tests agree with byte-wise tests on every word.
        #[test]
        fn word_tests_match_bytewise(bytes in proptest::prelude::any::<[u8; 8]>(), n in 0u8..=128, b in proptest::prelude::any::<u8>()) {
            let x = u64::from_le_bytes(bytes);
            proptest::prop_assert_eq!(has_below(x, n), bytes.iter().any(|c| *c < n));
            proptest::prop_assert_eq!(has(x, b), bytes.contains(&b));
            proptest::prop_assert_eq!(has_high(x), bytes.iter().any(|c| *c >= 0x80));
        }

        #[test]
        fn clean_prefix_stops_at_the_first_suspect_word(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), b in proptest::prelude::any::<u8>()) {
            let at = clean_prefix(&bytes, |x| has(x, b));
            proptest::prop_assert_eq!(at % 8, 0);
            proptest::prop_assert!(!bytes[..at].contains(&b));
            let next = &bytes[at..];
            proptest::prop_assert!(next.len() < 8 || next[..8].contains(&b));
        }
    }
}
