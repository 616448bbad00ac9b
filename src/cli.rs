//! Command-line flags, turned into a validated [`Run`] before any work
//! starts: clap's definitions, value parsing and the limits' floors.

use crate::capture::time::Timestamp;
use crate::config::{
    Config, DataLimits, FragmentLimits, FrameFilter, ReassemblyLimits, SessionLimits, TranscriptSelect,
};
use crate::driver::{Run, Task};
use crate::flow::OverlapPolicy;
use crate::report::Format;
use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Overlap {
    /// Keep the bytes seen first.
    First,
    /// Let later bytes replace buffered ones.
    Last,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// CSV with one header line (RFC 4180).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Offline forensics on FTP control traffic: every 214 and 503 reply, with
/// the command that drew it and what the sequence checker makes of it.
#[derive(Debug, Parser)]
#[command(
    name = "ftpcap",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one session as an annotated transcript: commands and replies
    /// with frames and times, the checker's verdicts and transfer outcomes.
    Transcript(TranscriptArgs),
}

/// Options of the default command (the incident report).
#[derive(Debug, ClapArgs)]
pub struct ReportArgs {
    /// Write the incident report here instead of standard output.
    #[arg(short, long, value_name = "FILE", help_heading = "Reports")]
    pub output: Option<PathBuf>,

    /// Reply codes to report: codes and classes, e.g. `214,503,425` or `4xx,5xx`.
    #[arg(long, value_name = "LIST", default_value = "214,503", help_heading = "Reports")]
    pub codes: String,

    /// Also report every command the checker judged out of sequence that the
    /// server accepted or refused with another code, with a `verdict` column.
    #[arg(long, help_heading = "Reports")]
    pub violations: bool,

    /// Write one row per data command (RETR, STOR, LIST, …) with its data
    /// connection, outcome and cause to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub transfers: Option<PathBuf>,

    /// Write one row per control session to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub sessions: Option<PathBuf>,

    /// Write one self-contained HTML page (totals, breakdowns, timeline,
    /// incident table, the first sessions' transcripts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Format of every report.
    #[arg(long, value_enum, default_value = "csv", help_heading = "Reports")]
    pub format: OutputFormat,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of `ftpcap transcript`.
#[derive(Debug, ClapArgs)]
pub struct TranscriptArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The session number (the `session` column of the reports). Without
    /// `--session` and `--endpoint`: an index of the sessions, one a line.
    #[arg(long, value_name = "N", conflicts_with = "endpoint")]
    pub session: Option<u64>,

    /// Either end of the control connection: `IP` or `IP:PORT` (`[v6]:port`).
    #[arg(long, value_name = "ADDR")]
    pub endpoint: Option<String>,

    /// Write the transcript here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Options shared by every command.
#[derive(Debug, ClapArgs)]
pub struct CommonArgs {
    /// Capture files (pcap or pcapng, optionally gzipped) or directories of
    /// them; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// More FTP control server ports besides 21 (repeatable, or comma-separated).
    #[arg(long, value_name = "PORT", value_delimiter = ',', help_heading = "Input")]
    pub port: Vec<u16>,

    /// Also recognise control connections on any port by a `220` greeting.
    #[arg(long, help_heading = "Input")]
    pub detect: bool,

    /// Show PASS arguments instead of `****`.
    #[arg(long, help_heading = "Output and run")]
    pub show_passwords: bool,

    /// No progress bar and no summary on standard error.
    #[arg(short, long, help_heading = "Output and run")]
    pub quiet: bool,

    /// How overlapping retransmissions (and IP fragments) with different
    /// bytes are resolved.
    #[arg(long, value_enum, default_value = "first", help_heading = "Limits (tuning; defaults suit most captures)")]
    pub overlap: Overlap,

    /// Flows tracked at once per capture. When full, idle and payload-less
    /// flows go first, then the least recently active sessions. The default
    /// keeps a flood of sessions that all carry payload under 64 MiB.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8_192,
        help_heading = "Limits (tuning; defaults suit most captures)"
    )]
    pub max_flows: usize,

    /// Out-of-order bytes buffered per stream direction.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024, help_heading = "Limits (tuning; defaults suit most captures)")]
    pub max_buffer: usize,

    /// Out-of-order bytes buffered over all flows.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20, help_heading = "Limits (tuning; defaults suit most captures)")]
    pub max_total_buffer: usize,

    /// Longest command or reply line kept (longer lines are cut and flagged).
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 4096,
        help_heading = "Limits (tuning; defaults suit most captures)"
    )]
    pub max_line: usize,

    /// Most lines kept of one multi-line reply.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        help_heading = "Limits (tuning; defaults suit most captures)"
    )]
    pub max_reply_lines: usize,

    /// Most commands waiting for a reply in one session.
    #[arg(long, value_name = "N", default_value_t = 64, help_heading = "Limits (tuning; defaults suit most captures)")]
    pub max_pending: usize,

    /// Most announced data connections waiting to be seen per capture.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4096,
        help_heading = "Limits (tuning; defaults suit most captures)"
    )]
    pub max_expected: usize,

    /// Seconds of capture time after which an idle flow (control or data
    /// connection) is closed.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3600.0,
        help_heading = "Limits (tuning; defaults suit most captures)"
    )]
    pub idle_timeout: f64,

    /// NSS key log (SSLKEYLOGFILE) to decrypt FTPS control channels with
    /// (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub tls_keylog: Vec<PathBuf>,

    /// Server port whose control connections are TLS from the first byte
    /// (implicit FTPS; repeatable, or comma-separated).
    #[arg(long, value_name = "PORT", value_delimiter = ',', default_value = "990", help_heading = "Input")]
    pub implicit_tls_port: Vec<u16>,

    /// Only packets to or from this address or network, `ADDR` or
    /// `ADDR/PREFIX` (repeatable: any of them). Frame numbers stay those of
    /// the whole capture.
    #[arg(long, value_name = "ADDR[/PREFIX]", help_heading = "Input")]
    pub host: Vec<String>,

    /// Only frames stamped at or after TIME: RFC 3339
    /// (`2026-11-25T00:13:48Z`, `…+02:00`) or seconds since the epoch.
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub since: Option<String>,

    /// Only frames stamped at or before TIME (as `--since`).
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub until: Option<String>,

    /// Captures analysed at once (0: one per core). Output is the same, row
    /// for row, as with one job.
    #[arg(short, long, value_name = "N", default_value_t = 0, help_heading = "Output and run")]
    pub jobs: usize,
}

/// Parses `214,503,4xx` into the set of codes.
pub fn parse_codes(spec: &str) -> Result<BTreeSet<u16>> {
    let mut codes = BTreeSet::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let lower = part.to_ascii_lowercase();
        if lower.len() == 3 && lower.ends_with("xx") {
            let class = lower.as_bytes()[0];
            if !(b'1'..=b'5').contains(&class) {
                bail!("--codes: `{part}` is not a reply class (1xx to 5xx)");
            }
            let base = (class - b'0') as u16 * 100;
            codes.extend(base..base + 100);
        } else {
            let code: u16 = part.parse().with_context(|| format!("--codes: `{part}` is not a reply code"))?;
            if !(100..=599).contains(&code) {
                bail!("--codes: {code} is not a reply code (100 to 599)");
            }
            codes.insert(code);
        }
    }
    if codes.is_empty() {
        bail!("--codes: no codes given");
    }
    Ok(codes)
}

/// Parses `ADDR` or `ADDR/PREFIX` (`--host`).
pub fn parse_host(s: &str) -> Result<(IpAddr, u8)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let Ok(ip) = addr.trim_matches(['[', ']']).parse::<IpAddr>() else {
        bail!("--host: `{s}` is not an address or ADDR/PREFIX");
    };
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(p) => match p.parse::<u8>() {
            Ok(p) if p <= width => p,
            _ => bail!("--host: `{s}`: the prefix must be 0 to {width}"),
        },
    };
    Ok((ip, prefix))
}

/// Parses a time for `--since`/`--until`: RFC 3339 (`Z` or an offset,
/// fraction optional) or seconds since the epoch (fraction optional).
pub fn parse_time(flag: &str, s: &str) -> Result<Timestamp> {
    let bad = || anyhow::anyhow!("{flag}: `{s}` is not an RFC 3339 time (2026-11-25T00:13:48Z) or epoch seconds");
    let t = s.trim();
    // Seconds and nanoseconds of `digits[.fraction]`.
    let seconds = |text: &str| -> Option<(i64, u32)> {
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
        Some((whole.parse().ok()?, nanos))
    };
    if let Some((secs, nanos)) = seconds(t) {
        return Ok(Timestamp { secs, nanos, digits: 9 });
    }
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
    let b = t.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        let part = t.get(r).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return Err(bad());
    }
    let rest = &t[19..];
    let zone_at = rest.find(['Z', 'z', '+', '-']).ok_or_else(bad)?;
    let (frac, zone) = rest.split_at(zone_at);
    let nanos = match frac.strip_prefix('.') {
        None if frac.is_empty() => 0,
        Some(f) => seconds(&format!("0.{f}")).ok_or_else(bad)?.1,
        None => return Err(bad()),
    };
    let offset = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && z.as_bytes()[3] == b':' => {
            let (h, m) = (num(19 + zone_at + 1..19 + zone_at + 3)?, num(19 + zone_at + 4..19 + zone_at + 6)?);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(bad()),
    };
    // Howard Hinnant's days_from_civil.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(Timestamp { secs: days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanos, digits: 9 })
}

/// Parses `IP`, `IP:PORT` or `[IPv6]:PORT`.
pub fn parse_endpoint(s: &str) -> Result<TranscriptSelect> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(TranscriptSelect::Endpoint(addr.ip(), Some(addr.port())));
    }
    if let Ok(ip) = s.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(TranscriptSelect::Endpoint(ip, None));
    }
    bail!("--endpoint: `{s}` is not IP, IP:PORT or [IPv6]:PORT")
}

impl CommonArgs {
    fn into_run(self, config: Config, task: Task) -> Run {
        Run { config, captures: self.captures, quiet: self.quiet, jobs: self.jobs, tls_keylogs: self.tls_keylog, task }
    }

    /// The validated configuration.
    pub fn config(&self) -> Result<Config> {
        let mut ports = vec![21u16];
        for &p in &self.port {
            if p == 0 {
                bail!("--port: 0 is not a TCP port");
            }
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        for &p in &self.implicit_tls_port {
            if p == 0 {
                bail!("--implicit-tls-port: 0 is not a TCP port");
            }
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        // A cap of 0 cannot work: nothing could be tracked or kept.
        for (flag, value) in [
            ("--max-flows", self.max_flows),
            ("--max-buffer", self.max_buffer),
            ("--max-line", self.max_line),
            ("--max-reply-lines", self.max_reply_lines),
            ("--max-pending", self.max_pending),
            ("--max-expected", self.max_expected),
        ] {
            if value == 0 {
                bail!("{flag}: must be at least 1");
            }
        }
        let filter = FrameFilter {
            hosts: self.host.iter().map(|h| parse_host(h)).collect::<Result<_>>()?,
            since: self.since.as_deref().map(|t| parse_time("--since", t)).transpose()?,
            until: self.until.as_deref().map(|t| parse_time("--until", t)).transpose()?,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until) {
            if since > until {
                bail!("--until: must not be before --since");
            }
        }
        if !(self.idle_timeout.is_finite() && self.idle_timeout > 0.0) {
            bail!("--idle-timeout: must be a positive number of seconds");
        }
        Ok(Config {
            ports,
            detect: self.detect,
            show_passwords: self.show_passwords,
            reassembly: ReassemblyLimits {
                max_buffered: self.max_buffer,
                max_segments: (self.max_buffer / 64).clamp(16, 65_536) as u32,
                policy: match self.overlap {
                    Overlap::First => OverlapPolicy::First,
                    Overlap::Last => OverlapPolicy::Last,
                },
            },
            session: SessionLimits {
                max_line: self.max_line.max(16),
                max_reply_lines: self.max_reply_lines.max(2),
                max_pending: self.max_pending.max(1),
            },
            fragments: FragmentLimits {
                policy: match self.overlap {
                    Overlap::First => OverlapPolicy::First,
                    Overlap::Last => OverlapPolicy::Last,
                },
                ..FragmentLimits::default()
            },
            max_flows: self.max_flows.max(1),
            max_total_buffered: self.max_total_buffer,
            idle_timeout_secs: self.idle_timeout,
            data: DataLimits {
                max_expected: self.max_expected.max(1),
                // Data connections go quiet as control flows do.
                idle_secs: self.idle_timeout.ceil().min(i64::MAX as f64) as i64,
                ..DataLimits::default()
            },
            implicit_tls_ports: self.implicit_tls_port.clone(),
            filter,
            ..Config::default()
        })
    }
}

impl Args {
    /// The validated run the flags ask for.
    pub fn into_run(self) -> Result<Run> {
        match self.command {
            Some(Command::Transcript(t)) => t.into_run(),
            None => self.report.into_run(),
        }
    }
}

impl ReportArgs {
    fn into_run(self) -> Result<Run> {
        let mut config = self.common.config()?;
        config.codes = parse_codes(&self.codes)?;
        config.violations = self.violations;
        config.transfer_rows = self.transfers.is_some();
        config.session_rows = self.sessions.is_some();
        if self.html.is_some() {
            // The page counts sessions and transfers and shows transcripts.
            config.transfer_rows = true;
            config.session_rows = true;
            config.transcript = Some(TranscriptSelect::UpTo(crate::report::html::MAX_TRANSCRIPTS));
        }
        config.track_data = config.transfer_rows || config.session_rows;
        let format = match self.format {
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Jsonl => Format::Jsonl,
        };
        let task = Task::Report {
            incidents: self.output,
            transfers: self.transfers,
            sessions: self.sessions,
            html: self.html,
            format,
        };
        Ok(self.common.into_run(config, task))
    }
}

impl TranscriptArgs {
    fn into_run(self) -> Result<Run> {
        let mut config = self.common.config()?;
        // Neither: the index of sessions, to pick one from.
        config.transcript = match (&self.endpoint, self.session) {
            (Some(e), _) => Some(parse_endpoint(e)?),
            (None, Some(n)) => Some(TranscriptSelect::Session(n)),
            (None, None) => None,
        };
        let index = config.transcript.is_none();
        config.track_data = true;
        config.session_rows = index;
        let task = Task::Transcript { output: self.output, index };
        Ok(self.common.into_run(config, task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_classes() {
        assert_eq!(parse_codes("214,503").unwrap().into_iter().collect::<Vec<_>>(), vec![214, 503]);
        assert_eq!(parse_codes("4xx").unwrap().len(), 100);
        assert!(parse_codes("6xx").is_err());
        assert!(parse_codes("abc").is_err());
        assert!(parse_codes("99").is_err());
    }

    #[test]
    fn ports_repeat_and_commas() {
        let args = Args::try_parse_from(["ftpcap", "--port", "2121,2122", "--port", "21", "x.pcap"]).unwrap();
        assert_eq!(args.report.common.config().unwrap().ports, vec![21, 2121, 2122, 990]);
    }

    #[test]
    fn hosts_and_times() {
        assert_eq!(parse_host("10.0.0.0/8").unwrap(), ("10.0.0.0".parse().unwrap(), 8));
        assert_eq!(parse_host("2001:db8::1").unwrap(), ("2001:db8::1".parse().unwrap(), 128));
        assert!(parse_host("10.0.0.0/33").is_err());
        assert!(parse_host("nope").is_err());
        let t = |s: &str| parse_time("--since", s).map(|t| (t.secs, t.nanos));
        // 2026-11-25T00:13:48Z is 1795565628 (date -d ... +%s).
        assert_eq!(t("2026-11-25T00:13:48Z").unwrap(), (1_795_565_628, 0));
        assert_eq!(t("2026-11-25T02:13:48.5+02:00").unwrap(), (1_795_565_628, 500_000_000));
        assert_eq!(t("2026-11-24T23:13:48.118032-01:00").unwrap(), (1_795_565_628, 118_032_000));
        assert_eq!(t("1795565628.25").unwrap(), (1_795_565_628, 250_000_000));
        assert_eq!(t("0").unwrap(), (0, 0));
        for bad in ["yesterday", "2026-13-01T00:00:00Z", "2026-11-25T00:13:48", "2026-11-25", "-5", "1.2.3"] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn transcript_subcommand_and_endpoints() {
        let args = Args::try_parse_from(["ftpcap", "transcript", "--session", "3", "x.pcap"]).unwrap();
        assert!(matches!(args.command, Some(Command::Transcript(ref t)) if t.session == Some(3)));
        assert_eq!(
            parse_endpoint("10.0.0.1:21").unwrap(),
            TranscriptSelect::Endpoint("10.0.0.1".parse().unwrap(), Some(21))
        );
        assert_eq!(parse_endpoint("::1").unwrap(), TranscriptSelect::Endpoint("::1".parse().unwrap(), None));
        assert!(parse_endpoint("nope").is_err());
    }
}
