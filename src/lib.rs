//! ftpcap: offline forensics on FTP control traffic in packet captures.
//!
//! Data flow, one stage per module:
//! capture frames ([`capture`]) → TCP segments → per-direction ordered bytes
//! ([`flow`]) → lines → commands and replies, paired and judged by the
//! sequence rules ([`ftp`]) → rows in the report ([`report`]).
//! [`analysis`] wires the stages together for one run; [`cli`] turns flags
//! into a validated [`analysis::Config`].

#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod cli;
pub mod flow;
pub mod ftp;
#[doc(hidden)]
pub mod fuzzing;
pub mod ordered;
pub mod report;
pub mod transfer;
pub(crate) mod word;
