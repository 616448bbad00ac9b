//! Command-line flags, turned into a validated [`Run`] before any work
//! starts: clap's definitions, value parsing and the limits' floors.

use crate::config::{Config, DataLimits, FragmentLimits, ReassemblyLimits, SessionLimits, TranscriptSelect};
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
    #[command(flatten)]
    pub common: CommonArgs,

    /// Write the incident report here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Reply codes to report: codes and classes, e.g. `214,503,425` or `4xx,5xx`.
    #[arg(long, value_name = "LIST", default_value = "214,503")]
    pub codes: String,

    /// Also report every command the checker judged out of sequence that the
    /// server accepted or refused with another code, with a `verdict` column.
    #[arg(long)]
    pub violations: bool,

    /// Write one row per data command (RETR, STOR, LIST, …) with its data
    /// connection, outcome and cause to FILE.
    #[arg(long, value_name = "FILE")]
    pub transfers: Option<PathBuf>,

    /// Write one row per control session to FILE.
    #[arg(long, value_name = "FILE")]
    pub sessions: Option<PathBuf>,

    /// Write one self-contained HTML page (totals, breakdowns, timeline,
    /// incident table, the first sessions' transcripts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Format of every report.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutputFormat,
}

/// Options of `ftpcap transcript`.
#[derive(Debug, ClapArgs)]
pub struct TranscriptArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The session number (the `session` column of the reports).
    #[arg(long, value_name = "N", conflicts_with = "endpoint", required_unless_present = "endpoint")]
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
    #[arg(long, value_name = "PORT", value_delimiter = ',')]
    pub port: Vec<u16>,

    /// Also recognise control connections on any port by a `220` greeting.
    #[arg(long)]
    pub detect: bool,

    /// Show PASS arguments instead of `****`.
    #[arg(long)]
    pub show_passwords: bool,

    /// No progress bar and no summary on standard error.
    #[arg(short, long)]
    pub quiet: bool,

    /// How overlapping retransmissions (and IP fragments) with different
    /// bytes are resolved.
    #[arg(long, value_enum, default_value = "first")]
    pub overlap: Overlap,

    /// Flows tracked at once per capture. When full, idle and payload-less
    /// flows go first, then the least recently active sessions. The default
    /// keeps a flood of sessions that all carry payload under 64 MiB.
    #[arg(long, value_name = "N", default_value_t = 8_192)]
    pub max_flows: usize,

    /// Out-of-order bytes buffered per stream direction.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024)]
    pub max_buffer: usize,

    /// Out-of-order bytes buffered over all flows.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_total_buffer: usize,

    /// Longest command or reply line kept (longer lines are cut and flagged).
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub max_line: usize,

    /// Most lines kept of one multi-line reply.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_reply_lines: usize,

    /// Most commands waiting for a reply in one session.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_pending: usize,

    /// Most announced data connections waiting to be seen per capture.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_expected: usize,

    /// Seconds of capture time after which an idle flow (control or data
    /// connection) is closed.
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    pub idle_timeout: f64,

    /// NSS key log (SSLKEYLOGFILE) to decrypt FTPS control channels with
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    pub tls_keylog: Vec<PathBuf>,

    /// Server port whose control connections are TLS from the first byte
    /// (implicit FTPS; repeatable, or comma-separated).
    #[arg(long, value_name = "PORT", value_delimiter = ',', default_value = "990")]
    pub implicit_tls_port: Vec<u16>,

    /// Captures analysed at once (0: one per core). Output is the same, row
    /// for row, as with one job.
    #[arg(short, long, value_name = "N", default_value_t = 0)]
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
        config.transcript = Some(match (&self.endpoint, self.session) {
            (Some(e), _) => parse_endpoint(e)?,
            (None, Some(n)) => TranscriptSelect::Session(n),
            (None, None) => bail!("give --session N or --endpoint ADDR"),
        });
        config.track_data = true;
        let task = Task::Transcript { output: self.output };
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
