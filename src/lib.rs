//! ftpcap: offline forensics on FTP control traffic in packet captures.
//!
//! Data flow, one stage per module:
//! capture frames ([`capture`]) → TCP flows and per-direction ordered bytes
//! ([`flow`]) → lines → commands and replies, paired and judged by the
//! sequence rules ([`ftp`]) → data connections and transfer outcomes
//! ([`data`]) → rows in the reports ([`report`]).
//! [`analysis`] wires the stages together for one capture; [`driver`] runs
//! captures and writes the reports; [`cli`] turns flags into a validated
//! [`driver::Run`] with its [`config::Config`]; [`diag`] names what went wrong.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod cli;
pub mod config;
pub mod data;
pub mod diag;
pub mod driver;
pub mod flow;
pub mod ftp;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod ordered;
pub mod report;
pub mod tls;
pub(crate) mod word;
