//! What shapes an analysis: the [`Config`] the command line is turned into,
//! with every limit that bounds memory and its default.

use crate::data::DataLimits;
use crate::flow::{Endpoint, ReassemblyLimits};
use crate::ftp::SessionLimits;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Everything that shapes an analysis, validated by the CLI.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server ports of FTP control connections.
    pub ports: Vec<u16>,
    /// Also recognise control connections on any port by a `220` greeting.
    pub detect: bool,
    pub show_passwords: bool,
    /// Reply codes reported (214 and 503 by default).
    pub codes: BTreeSet<u16>,
    /// Also report every command the checker judged out of sequence, with
    /// the server's verdict.
    pub violations: bool,
    /// Per stream direction: out-of-order bytes and segments held.
    pub reassembly: ReassemblyLimits,
    /// Per session: line length, reply lines, commands awaiting a reply.
    pub session: SessionLimits,
    /// Flows tracked at once per capture.
    pub max_flows: usize,
    /// Out-of-order bytes buffered over all flows.
    pub max_total_buffered: usize,
    /// Flows idle this long (capture clock) are closed.
    pub idle_timeout_secs: f64,
    /// Announced data connections awaited per capture.
    pub data: DataLimits,
    /// Record sessions for `ftpcap transcript`.
    pub transcript: Option<TranscriptSelect>,
    /// Follow data connections and transfers (needed by the transfers and
    /// sessions reports and by transcripts; costs time on bulk captures).
    pub track_data: bool,
    /// Produce transfer rows.
    pub transfer_rows: bool,
    /// Produce session rows.
    pub session_rows: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ports: vec![21],
            detect: false,
            show_passwords: false,
            codes: [214, 503].into_iter().collect(),
            violations: false,
            reassembly: ReassemblyLimits::default(),
            session: SessionLimits::default(),
            max_flows: 8_192,
            max_total_buffered: 64 << 20,
            idle_timeout_secs: 3600.0,
            data: DataLimits::default(),
            transcript: None,
            track_data: false,
            transfer_rows: false,
            session_rows: false,
        }
    }
}

/// Which sessions `ftpcap transcript` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptSelect {
    Session(u64),
    /// Either end of the control connection; any port when None.
    Endpoint(IpAddr, Option<u16>),
}

impl TranscriptSelect {
    pub fn matches(&self, session: u64, client: Endpoint, server: Endpoint) -> bool {
        match *self {
            TranscriptSelect::Session(id) => id == session,
            TranscriptSelect::Endpoint(ip, port) => {
                [client, server].iter().any(|e| e.ip == ip && port.is_none_or(|p| p == e.port))
            }
        }
    }
}
