//! What shapes an analysis: the [`Config`] the command line is turned into,
//! with every limit that bounds memory and its default.

use crate::capture::time::Timestamp;
use crate::flow::{Endpoint, OverlapPolicy};
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
    /// IP fragments: datagrams and bytes held, how long they wait.
    pub fragments: FragmentLimits,
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
    /// TLS secrets (`--tls-keylog`) to decrypt FTPS control channels with.
    pub keylog: Option<std::sync::Arc<crate::tls::keylog::KeyLog>>,
    /// Server ports whose control connections are TLS from the first byte.
    pub implicit_tls_ports: Vec<u16>,
    /// Frames kept (`--host`, `--since`, `--until`); the others are passed
    /// over before any reassembly, keeping their numbers.
    pub filter: FrameFilter,
}

/// Which frames an analysis reads: by address and by time. Frames left out
/// still count, so frame numbers stay those of the whole capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameFilter {
    /// `--host`: a packet is kept when either end is in one of these
    /// networks (address, prefix length); empty keeps every packet.
    pub hosts: Vec<(IpAddr, u8)>,
    /// `--since`: frames stamped earlier are left out.
    pub since: Option<Timestamp>,
    /// `--until`: frames stamped later are left out.
    pub until: Option<Timestamp>,
}

impl FrameFilter {
    /// A frame stamped `ts` is in the time window.
    pub fn time_ok(&self, ts: &Timestamp) -> bool {
        self.since.is_none_or(|s| *ts >= s) && self.until.is_none_or(|u| *ts <= u)
    }

    /// A packet between `a` and `b` has an end in a `--host` network.
    pub fn hosts_ok(&self, a: IpAddr, b: IpAddr) -> bool {
        self.hosts.is_empty()
            || self.hosts.iter().any(|&(net, prefix)| in_network(a, net, prefix) || in_network(b, net, prefix))
    }
}

/// `ip` is in `net`/`prefix` (same family; the prefix at most the width).
pub fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    fn masked(bytes: &[u8], prefix: u8) -> impl Iterator<Item = u8> + '_ {
        bytes.iter().enumerate().map(move |(i, b)| {
            let bits = (prefix as usize).saturating_sub(i * 8).min(8);
            if bits == 0 {
                0
            } else {
                b & (0xffu8 << (8 - bits))
            }
        })
    }
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => masked(&a.octets(), prefix).eq(masked(&n.octets(), prefix)),
        (IpAddr::V6(a), IpAddr::V6(n)) => masked(&a.octets(), prefix).eq(masked(&n.octets(), prefix)),
        _ => false,
    }
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
            fragments: FragmentLimits::default(),
            session: SessionLimits::default(),
            max_flows: 8_192,
            max_total_buffered: 64 << 20,
            idle_timeout_secs: 3600.0,
            data: DataLimits::default(),
            transcript: None,
            track_data: false,
            transfer_rows: false,
            session_rows: false,
            filter: FrameFilter::default(),
            keylog: None,
            implicit_tls_ports: vec![990],
        }
    }
}

/// Which sessions `ftpcap transcript` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptSelect {
    Session(u64),
    /// Either end of the control connection; any port when None.
    Endpoint(IpAddr, Option<u16>),
    /// Sessions 1 to N (the `--html` page's transcripts).
    UpTo(u64),
}

impl TranscriptSelect {
    pub fn matches(&self, session: u64, client: Endpoint, server: Endpoint) -> bool {
        match *self {
            TranscriptSelect::Session(id) => id == session,
            TranscriptSelect::UpTo(n) => session <= n,
            TranscriptSelect::Endpoint(ip, port) => {
                [client, server].iter().any(|e| e.ip == ip && port.is_none_or(|p| p == e.port))
            }
        }
    }
}

/// Caps for one direction of a TCP stream ([`crate::flow::Reassembler`]).
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// Out-of-order bytes held.
    pub max_buffered: usize,
    /// Segments held out of order (a u32 keeps a connection within its
    /// allocation size class).
    pub max_segments: u32,
    /// Which copy of bytes sent twice with different content is kept.
    pub policy: OverlapPolicy,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits { max_buffered: 256 * 1024, max_segments: 2048, policy: OverlapPolicy::First }
    }
}

/// Caps for IP fragment reassembly ([`crate::capture::fragments`]); a
/// datagram is at most what an IP length field can say (64 KiB and its
/// header) whatever these say.
#[derive(Debug, Clone, Copy)]
pub struct FragmentLimits {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Bytes held over all of them.
    pub max_total: usize,
    /// Seconds (capture clock) a datagram may take to complete.
    pub timeout_secs: f64,
    /// Which copy of bytes received twice is kept (`--overlap`).
    pub policy: OverlapPolicy,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits { max_datagrams: 1024, max_total: 4 << 20, timeout_secs: 30.0, policy: OverlapPolicy::First }
    }
}

/// Limits for one session ([`crate::ftp::Session`]).
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Longest command or reply line kept; longer ones are cut and counted.
    pub max_line: usize,
    /// Most lines kept of one multi-line reply.
    pub max_reply_lines: usize,
    /// Most commands waiting for their replies.
    pub max_pending: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits { max_line: 4096, max_reply_lines: 1000, max_pending: 64 }
    }
}

/// Limits for data tracking ([`crate::data::DataTracker`]).
#[derive(Debug, Clone, Copy)]
pub struct DataLimits {
    /// Announced data connections waiting to be seen.
    pub max_expected: usize,
    /// Seconds (capture clock) an announcement waits before it expires.
    pub expect_secs: i64,
    /// Data connections remembered until the capture ends.
    pub max_data_conns: usize,
    /// Seconds (capture clock) an open data connection may stay silent
    /// before it is taken as over (its FIN or RST was not captured).
    pub idle_secs: i64,
}

impl Default for DataLimits {
    fn default() -> Self {
        DataLimits { max_expected: 4096, expect_secs: 300, max_data_conns: 100_000, idle_secs: 3600 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix_and_family() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(ip("10.1.2.3"), ip("10.1.0.0"), 16));
        assert!(!in_network(ip("10.2.2.3"), ip("10.1.0.0"), 16));
        assert!(in_network(ip("10.1.2.3"), ip("10.1.2.0"), 23));
        assert!(in_network(ip("10.1.2.3"), ip("10.1.2.3"), 32));
        assert!(!in_network(ip("10.1.2.4"), ip("10.1.2.3"), 32));
        assert!(in_network(ip("1.2.3.4"), ip("0.0.0.0"), 0));
        assert!(in_network(ip("2001:db8::7"), ip("2001:db8::"), 64));
        assert!(!in_network(ip("2001:db9::7"), ip("2001:db8::"), 32));
        assert!(!in_network(ip("::ffff:10.1.2.3"), ip("10.1.2.3"), 32));
        let f = FrameFilter { hosts: vec![(ip("192.0.2.0"), 24)], ..FrameFilter::default() };
        assert!(f.hosts_ok(ip("10.0.0.1"), ip("192.0.2.9")));
        assert!(!f.hosts_ok(ip("10.0.0.1"), ip("198.51.100.1")));
    }
}
