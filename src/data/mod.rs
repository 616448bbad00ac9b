//! Stage 4b: data connections and failed-transfer forensics.
//!
//! The control channel announces where a data connection will go (PORT,
//! EPRT, PASV, EPSV); [`tracker`] expects it, matches it to the TCP
//! connection that really appears in the capture and joins it with the
//! transfer command's replies; [`outcome`] says how the transfer ended and
//! why. The report row is [`crate::report::transfers`].

pub mod outcome;
pub mod tls;
pub mod tracker;

pub use outcome::classify;
pub use tracker::{Announcement, DataConn, DataMode, DataTracker, Transfer};
