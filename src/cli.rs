//! Command-line flags, turned into a validated [`Config`] before any work
//! starts, and the run itself (captures in, reports out, summary, exit code).

use crate::analysis::{Analyzer, Config, Output, TranscriptSelect};
use crate::flow::{OverlapPolicy, ReassemblyLimits};
use crate::ftp::SessionLimits;
use crate::report::{incident_columns, transcript, Format, ReportWriter, SESSION_COLUMNS};
use crate::transfer::{DataLimits, TRANSFER_COLUMNS};
use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Exit codes (documented in the README).
pub mod exit {
    /// Every capture was read to its end.
    pub const OK: i32 = 0;
    /// At least one capture was missing, unreadable, truncated or corrupt;
    /// the others (and the readable part of that one) were still analysed.
    pub const CAPTURE_PROBLEM: i32 = 1;
    /// Bad usage, or a report could not be written.
    pub const FATAL: i32 = 2;
}

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

    /// How overlapping retransmissions with different bytes are resolved.
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

    /// Seconds of capture time after which an idle flow is closed.
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    pub idle_timeout: f64,

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
        if !(self.idle_timeout.is_finite() && self.idle_timeout > 0.0) {
            bail!("--idle-timeout must be a positive number of seconds");
        }
        Ok(Config {
            ports,
            detect: self.detect,
            show_passwords: self.show_passwords,
            reassembly: ReassemblyLimits {
                max_buffered: self.max_buffer,
                max_segments: (self.max_buffer / 64).clamp(16, 65_536),
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
            max_flows: self.max_flows.max(1),
            max_total_buffered: self.max_total_buffer,
            idle_timeout_secs: self.idle_timeout,
            data: DataLimits { max_expected: self.max_expected.max(1), ..DataLimits::default() },
            ..Config::default()
        })
    }
}

fn open_capture(path: &Path) -> io::Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    Ok((Box::new(file), Some(meta.len())))
}

fn create(path: &Option<PathBuf>) -> Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(p) if p.as_os_str() != "-" => {
            Box::new(io::BufWriter::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?))
        }
        _ => Box::new(io::BufWriter::new(io::stdout())),
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>()
                .is_some_and(|ce| matches!(ce.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe))
    })
}

/// Runs the whole command; returns the exit code.
pub fn run(args: Args) -> i32 {
    let result = match &args.command {
        Some(Command::Transcript(t)) => run_transcript(t),
        None => run_report(&args.report),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => exit::OK,
        Err(e) => {
            eprintln!("ftpcap: {e:#}");
            exit::FATAL
        }
    }
}

/// What reading one capture said on stderr and how it ended.
struct CaptureReport {
    /// Lines for stderr, in order.
    lines: Vec<String>,
    failed: bool,
}

/// Analyses one capture with `analyzer`, handing outputs to `each`.
fn analyze_one(
    path: &Path,
    analyzer: &mut Analyzer,
    bar: &ProgressBar,
    each: &mut dyn FnMut(Output) -> Result<()>,
) -> Result<CaptureReport> {
    let name = path.display().to_string();
    let mut report = CaptureReport { lines: Vec::new(), failed: false };
    let (source, _len) = match open_capture(path) {
        Ok(s) => s,
        Err(e) => {
            report.lines.push(format!("ftpcap: {name}: {e}"));
            report.failed = true;
            return Ok(report);
        }
    };
    let source: Box<dyn Read + Send> = Box::new(bar.wrap_read(source));
    let mut failure: Option<anyhow::Error> = None;
    let outcome = analyzer.analyze(&name, source, &mut |o| {
        if failure.is_none() {
            if let Err(e) = each(o) {
                failure = Some(e);
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    report.lines.extend(analyzer.messages.drain(..).map(|m| format!("ftpcap: warning: {m}")));
    match outcome {
        Err(problem) => {
            report.lines.push(format!("ftpcap: {name}: {problem}"));
            report.failed = true;
        }
        Ok(outcome) => {
            if let Some(problem) = &outcome.problem {
                report
                    .lines
                    .push(format!("ftpcap: {name}: {problem} (analysed the {} frames before it)", outcome.frames));
                report.failed = true;
            }
        }
    }
    Ok(report)
}

/// Warning lines name sessions as `…: session N: …`; a capture analysed on
/// its own numbers from 1, so shift N like its rows.
fn offset_session_in_message(line: &str, offset: u64) -> String {
    const MARK: &str = ": session ";
    let Some(at) = line.find(MARK) else { return line.to_string() };
    let rest = &line[at + MARK.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[..digits].parse::<u64>() {
        Ok(n) if digits > 0 => format!("{}{MARK}{}{}", &line[..at], n + offset, &rest[digits..]),
        _ => line.to_string(),
    }
}

/// Capture files named on the command line; a directory stands for the
/// capture files in it (by extension, recursively, sorted).
fn expand_captures(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                let name = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
                let known = [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz"];
                if known.iter().any(|ext| name.ends_with(ext)) {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() != "-" && p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Reads every capture, in parallel when there are several and `--jobs`
/// allows; `each` gets every output in the order of a one-job run (captures
/// in command-line order, sessions numbered across them). Returns the exit
/// status.
fn analyze_all(common: &CommonArgs, config: &Config, mut each: impl FnMut(Output) -> Result<()>) -> Result<i32> {
    let captures = expand_captures(&common.captures);
    let show_progress = !common.quiet && io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if show_progress {
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg:20!} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}")
        {
            bar.set_style(style);
        }
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let total: u64 = captures.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    bar.set_length(total);
    let jobs = match common.jobs {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let mut status = exit::OK;
    let mut summary = crate::analysis::Summary::default();
    if jobs <= 1 || captures.len() <= 1 || config.transcript.is_some() {
        // One analyzer, streaming: constant memory whatever the row count.
        let mut analyzer = Analyzer::new(config.clone());
        for path in &captures {
            bar.set_message(path.display().to_string());
            let report = analyze_one(path, &mut analyzer, &bar, &mut each)?;
            for l in &report.lines {
                bar.suspend(|| eprintln!("{l}"));
            }
            if report.failed {
                status = exit::CAPTURE_PROBLEM;
            }
        }
        summary = analyzer.summary.clone();
    } else {
        // Each capture on its own analyzer; results are put back in order,
        // with session numbers shifted past the captures before them.
        type Done = (usize, Result<(CaptureReport, Vec<Output>, crate::analysis::Summary)>);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel::<Done>();
        std::thread::scope(|scope| -> Result<()> {
            for _ in 0..jobs.min(captures.len()) {
                let tx = tx.clone();
                let (next, captures, bar) = (&next, &captures, &bar);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = captures.get(i) else { break };
                    let mut analyzer = Analyzer::new(config.clone());
                    let mut outputs = Vec::new();
                    let result = analyze_one(path, &mut analyzer, bar, &mut |o| {
                        outputs.push(o);
                        Ok(())
                    })
                    .map(|r| (r, outputs, analyzer.summary.clone()));
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut waiting = std::collections::BTreeMap::new();
            let mut emit_next = 0usize;
            let mut offset = 0u64;
            for (i, result) in rx {
                waiting.insert(i, result);
                while let Some(result) = waiting.remove(&emit_next) {
                    let (report, outputs, part) = result?;
                    for l in &report.lines {
                        let l = offset_session_in_message(l, offset);
                        bar.suspend(|| eprintln!("{l}"));
                    }
                    if report.failed {
                        status = exit::CAPTURE_PROBLEM;
                    }
                    for mut o in outputs {
                        o.offset_session(offset);
                        each(o)?;
                    }
                    offset += part.sessions;
                    summary.merge(&part);
                    emit_next += 1;
                }
            }
            Ok(())
        })?;
    }
    bar.finish_and_clear();
    if !common.quiet {
        eprint!("{}", summary_text(&summary));
    }
    Ok(status)
}

fn run_report(args: &ReportArgs) -> Result<i32> {
    let mut config = args.common.config()?;
    config.codes = parse_codes(&args.codes)?;
    config.violations = args.violations;
    config.transfer_rows = args.transfers.is_some();
    config.session_rows = args.sessions.is_some();
    config.track_data = config.transfer_rows || config.session_rows;
    let format = match args.format {
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Jsonl => Format::Jsonl,
    };
    let mut incidents = ReportWriter::new(create(&args.output)?, format, &incident_columns(args.violations))
        .context("writing the report")?;
    let mut transfers = match &args.transfers {
        Some(p) => Some(
            ReportWriter::new(create(&Some(p.clone()))?, format, TRANSFER_COLUMNS)
                .context("writing the transfers report")?,
        ),
        None => None,
    };
    let mut sessions = match &args.sessions {
        Some(p) => Some(
            ReportWriter::new(create(&Some(p.clone()))?, format, SESSION_COLUMNS)
                .context("writing the sessions report")?,
        ),
        None => None,
    };
    // Rows are written on a thread of their own: on a capture with a row
    // every few packets, writing the CSV costs a third of the analysis,
    // and the two overlap on a second core. Batches keep the hand-over
    // cheap; the bounded channel keeps memory constant.
    std::thread::scope(|scope| -> Result<i32> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Output>>(WRITE_QUEUE);
        // Emptied batches go back to be filled again: no allocation per
        // batch, and no freeing on one thread what the other allocated.
        // Written rows' text buffers go back too (see
        // report::recycle_text_buffers).
        let (back_tx, back_rx) = std::sync::mpsc::channel::<(Vec<Output>, Vec<Vec<u8>>)>();
        let writer = scope.spawn(move || -> Result<()> {
            for mut batch in rx {
                let mut texts = Vec::with_capacity(batch.len());
                for output in batch.drain(..) {
                    match output {
                        Output::Incident(row) => {
                            incidents.incident(&row, args.violations).context("writing the report")?;
                            texts.push(row.into_text_buffer());
                        }
                        Output::Transfer(row) => {
                            if let Some(w) = &mut transfers {
                                w.row(&row).context("writing the transfers report")?;
                            }
                        }
                        Output::Session(row) => {
                            if let Some(w) = &mut sessions {
                                w.row(&row).context("writing the sessions report")?;
                            }
                        }
                        Output::Transcript(_) => {}
                    }
                }
                let _ = back_tx.send((batch, texts));
            }
            incidents.flush().context("writing the report")?;
            for w in [&mut transfers, &mut sessions].into_iter().flatten() {
                w.flush().context("writing a report")?;
            }
            Ok(())
        });
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let analysed = analyze_all(&args.common, &config, |output| {
            batch.push(output);
            if batch.len() >= WRITE_BATCH {
                let empty = match back_rx.try_recv() {
                    Ok((empty, mut texts)) => {
                        crate::report::recycle_text_buffers(&mut texts);
                        empty
                    }
                    Err(_) => Vec::with_capacity(WRITE_BATCH),
                };
                let full = std::mem::replace(&mut batch, empty);
                // Fails only once the writer stopped; its error says why.
                tx.send(full).map_err(|_| anyhow::anyhow!("the report writer stopped"))?;
            }
            Ok(())
        });
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        match writer.join() {
            Ok(written) => written?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        analysed
    })
}

/// Rows per hand-over to the report writer thread, and hand-overs queued.
const WRITE_BATCH: usize = 1024;
const WRITE_QUEUE: usize = 4;

fn run_transcript(args: &TranscriptArgs) -> Result<i32> {
    let mut config = args.common.config()?;
    config.transcript = Some(match (&args.endpoint, args.session) {
        (Some(e), _) => parse_endpoint(e)?,
        (None, Some(n)) => TranscriptSelect::Session(n),
        (None, None) => bail!("give --session N or --endpoint ADDR"),
    });
    config.track_data = true;
    let mut out = create(&args.output)?;
    let mut printed = 0;
    let show = args.common.show_passwords;
    let status = analyze_all(&args.common, &config, |output| {
        if let Output::Transcript(t) = output {
            if printed > 0 {
                writeln!(out)?;
            }
            out.write_all(transcript::render(&t, show).as_bytes())?;
            printed += 1;
        }
        Ok(())
    })?;
    out.flush()?;
    if printed == 0 {
        eprintln!("ftpcap: no session matched");
        return Ok(status.max(exit::CAPTURE_PROBLEM));
    }
    Ok(status)
}

/// The short end-of-run summary.
pub fn summary_text(s: &crate::analysis::Summary) -> String {
    let code = |c: u16| s.replies_by_code.get(&c).copied().unwrap_or(0);
    let mut out = format!(
        "ftpcap: {} capture(s), {} frames, {} bytes, {} FTP session(s), {} × 214, {} × 503, {} row(s)\n",
        s.captures,
        s.frames,
        s.bytes,
        s.sessions,
        code(214),
        code(503),
        s.rows
    );
    if !s.warnings.is_empty() {
        let parts: Vec<String> = s.warnings.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        out.push_str(&format!("ftpcap: warnings: {}\n", parts.join(", ")));
    }
    if !s.skipped.is_empty() {
        let parts: Vec<String> = s.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        out.push_str(&format!("ftpcap: frames skipped: {}\n", parts.join(", ")));
    }
    out
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
        assert_eq!(args.report.common.config().unwrap().ports, vec![21, 2121, 2122]);
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
