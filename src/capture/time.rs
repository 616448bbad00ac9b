//! Capture timestamps: seconds since the Unix epoch, nanoseconds, and the
//! number of fractional digits the capture really recorded (6 for µs pcap,
//! 9 for ns pcap, whatever `if_tsresol` says for pcapng).

use std::fmt;

/// A point in capture time. Ordering ignores `digits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
    /// Fractional digits to print (0..=9): the capture's precision.
    pub digits: u8,
}

impl Timestamp {
    /// Builds a timestamp from `units` ticks of `units_per_sec` each; never panics.
    pub fn from_units(units: u64, units_per_sec: u64, digits: u8, offset_secs: i64) -> Self {
        let per_sec = units_per_sec.max(1);
        let secs = i64::try_from(units / per_sec).unwrap_or(i64::MAX);
        let frac = units % per_sec;
        let nanos = ((frac as u128 * 1_000_000_000u128) / per_sec as u128) as u32;
        Timestamp { secs: secs.saturating_add(offset_secs), nanos: nanos.min(999_999_999), digits: digits.min(9) }
    }

    /// Total nanoseconds, saturating; used for idle-time arithmetic.
    pub fn as_nanos(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }

    /// Seconds elapsed since `earlier` (negative when the clock went backwards).
    pub fn secs_since(&self, earlier: &Timestamp) -> f64 {
        (self.as_nanos() - earlier.as_nanos()) as f64 / 1e9
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day);
/// Howard Hinnant's `civil_from_days`, valid for the whole i64 range we feed it.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 in UTC with the capture's precision, e.g. `2026-03-01T12:00:00.123456Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(&mut [0; 30]))
    }
}

/// In reports a time is its RFC 3339 text.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.render(&mut [0; 30]))
    }
}

impl Timestamp {
    /// The [`Display`](fmt::Display) text, rendered into `buf` without `fmt`.
    pub fn render<'b>(&self, buf: &'b mut [u8; 30]) -> &'b str {
        *buf = *b"0000-00-00T00:00:00.000000000Z";
        self.render_second(buf);
        self.render_fraction(buf)
    }

    /// Date and time of day, into `buf[..19]`.
    fn render_second(&self, buf: &mut [u8; 30]) {
        // Clamp to years 0..=9999 so the output stays valid RFC 3339.
        let secs = self.secs.clamp(-62_167_219_200, 253_402_300_799);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        // Digits written by hand into a fixed buffer: a report renders one
        // time per row, and `write!` with widths cost several times more.
        put_digits(buf, 0, 4, y.max(0) as u64);
        put_digits(buf, 5, 2, mo as u64);
        put_digits(buf, 8, 2, d as u64);
        put_digits(buf, 11, 2, (rem / 3600) as u64);
        put_digits(buf, 14, 2, ((rem % 3600) / 60) as u64);
        put_digits(buf, 17, 2, (rem % 60) as u64);
    }

    /// The fraction and `Z` after the second in `buf`; returns the whole text.
    fn render_fraction<'b>(&self, buf: &'b mut [u8; 30]) -> &'b str {
        let digits = usize::from(self.digits.min(9));
        let mut len = 19;
        if digits > 0 {
            buf[19] = b'.';
            let frac = self.nanos.min(999_999_999) / 10u32.pow(9 - digits as u32);
            put_digits(buf, 20, digits, u64::from(frac));
            len = 20 + digits;
        }
        buf[len] = b'Z';
        std::str::from_utf8(&buf[..=len]).unwrap_or_default()
    }
}

/// `value`'s last `width` decimal digits into `buf[at..at + width]`.
fn put_digits(buf: &mut [u8; 30], at: usize, width: usize, value: u64) {
    let mut v = value;
    for slot in buf[at..at + width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Renders the times of a report, row after row: rows come in capture
/// order, many to a second, so the date and time of day are rendered again
/// only when the second changes; the fraction always is.
#[derive(Debug)]
pub struct TimeText {
    second: Option<i64>,
    buf: [u8; 30],
}

impl Default for TimeText {
    fn default() -> Self {
        TimeText { second: None, buf: *b"0000-00-00T00:00:00.000000000Z" }
    }
}

impl TimeText {
    /// `t`'s [`Display`](fmt::Display) text.
    pub fn text(&mut self, t: &Timestamp) -> &str {
        if self.second != Some(t.secs) {
            t.render_second(&mut self.buf);
            self.second = Some(t.secs);
        }
        t.render_fraction(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format stated with `write!`: the model the hand-written digits
    /// must match.
    fn model(t: &Timestamp) -> String {
        let secs = t.secs.clamp(-62_167_219_200, 253_402_300_799);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        let mut out = format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, mo, d, rem / 3600, (rem % 3600) / 60, rem % 60);
        if t.digits > 0 {
            let digits = t.digits.min(9) as u32;
            out += &format!(".{:0width$}", t.nanos.min(999_999_999) / 10u32.pow(9 - digits), width = digits as usize);
        }
        out + "Z"
    }

    proptest::proptest! {
        /// A run of times through one [`TimeText`] reads as each one's
        /// Display, whatever repeats and jumps the run holds.
        #[test]
        fn time_text_matches_display(times in proptest::collection::vec(
            (proptest::prop_oneof![proptest::prelude::Just(1_772_366_400i64), proptest::prelude::any::<i64>()],
             0u32..1_000_000_000, 0u8..12), 1..20)) {
            let mut text = TimeText::default();
            for (secs, nanos, digits) in times {
                let t = Timestamp { secs, nanos, digits };
                proptest::prop_assert_eq!(text.text(&t), t.to_string());
            }
        }

        #[test]
        fn display_matches_the_model(secs in proptest::prelude::any::<i64>(), nanos in 0u32..1_000_000_000, digits in 0u8..12) {
            let t = Timestamp { secs, nanos, digits };
            proptest::prop_assert_eq!(t.to_string(), model(&t));
        }
    }

    #[test]
    fn formats_epoch_and_precision() {
        let t = Timestamp { secs: 0, nanos: 0, digits: 0 };
        assert_eq!(t.to_string(), "1970-01-01T00:00:00Z");
        let t = Timestamp { secs: 1_772_366_400, nanos: 123_456_789, digits: 6 };
        assert_eq!(t.to_string(), "2026-03-01T12:00:00.123456Z");
        let t = Timestamp { secs: 1_772_366_400, nanos: 123_456_789, digits: 9 };
        assert_eq!(t.to_string(), "2026-03-01T12:00:00.123456789Z");
    }

    #[test]
    fn leap_day_and_negative() {
        let t = Timestamp { secs: 951_782_400, nanos: 0, digits: 0 };
        assert_eq!(t.to_string(), "2000-02-29T00:00:00Z");
        let t = Timestamp { secs: -1, nanos: 0, digits: 0 };
        assert_eq!(t.to_string(), "1969-12-31T23:59:59Z");
        let t = Timestamp { secs: i64::MAX, nanos: 0, digits: 0 };
        assert_eq!(t.to_string(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn from_units_binary_resolution() {
        // 2^-10 resolution: 1536 units = 1.5 s
        let t = Timestamp::from_units(1536, 1024, 4, 0);
        assert_eq!((t.secs, t.nanos), (1, 500_000_000));
        let t = Timestamp::from_units(u64::MAX, 1, 0, i64::MAX);
        assert_eq!(t.secs, i64::MAX);
    }
}
