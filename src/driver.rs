//! The run: captures in (files, folders, standard input; `--jobs` at once),
//! outputs back in the order of a one-job run, reports written on a thread
//! of their own, warnings and the summary on standard error, the exit code.

use crate::analysis::{Analyzer, Output};
use crate::capture::CaptureProblem;
use crate::config::Config;
use crate::diag::{Message, Summary};
use crate::report::html::HtmlReport;
use crate::report::transfers::TRANSFER_COLUMNS;
use crate::report::{incident_columns, terminal_text, transcript, Format, ReportWriter, SESSION_COLUMNS};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Exit codes (documented in the README).
pub mod exit {
    /// Every capture was read to its end.
    pub const OK: i32 = 0;
    /// At least one capture was missing, unreadable, truncated or corrupt
    /// (also when reading went on past corrupt records); the others (and
    /// the readable part of that one) were still analysed.
    pub const CAPTURE_PROBLEM: i32 = 1;
    /// Bad usage, or a report could not be written.
    pub const FATAL: i32 = 2;
}

/// A validated run, as the command line asks for it.
#[derive(Debug)]
pub struct Run {
    pub config: Config,
    /// Files, folders of them, or `-`.
    pub captures: Vec<PathBuf>,
    /// No progress bar and no summary.
    pub quiet: bool,
    /// Captures analysed at once (0: one per core).
    pub jobs: usize,
    /// Key logs to read before the analysis (`--tls-keylog`).
    pub tls_keylogs: Vec<PathBuf>,
    pub task: Task,
}

#[derive(Debug)]
pub enum Task {
    /// The incident report (standard output when None), and the transfers
    /// and sessions reports when asked for.
    Report {
        incidents: Option<PathBuf>,
        transfers: Option<PathBuf>,
        sessions: Option<PathBuf>,
        /// The `--html` page.
        html: Option<PathBuf>,
        format: Format,
    },
    /// The transcripts of the sessions `config.transcript` selects; with
    /// `index`, one line per session instead.
    Transcript { output: Option<PathBuf>, index: bool },
}

/// The files a run writes, by the option that names them.
fn outputs(run: &Run) -> Vec<(&'static str, &PathBuf)> {
    let named = match &run.task {
        Task::Report { incidents, transfers, sessions, html, .. } => {
            vec![("-o", incidents), ("--transfers", transfers), ("--sessions", sessions), ("--html", html)]
        }
        Task::Transcript { output, .. } => vec![("-o", output)],
    };
    named.into_iter().filter_map(|(flag, p)| Some((flag, p.as_ref()?))).filter(|(_, p)| p.as_os_str() != "-").collect()
}

/// An output that is an input, or two outputs that are one file, would
/// lose data: a usage error before anything is written.
fn check_outputs(run: &Run) -> Result<()> {
    // The same file by either spelling: canonical paths where they exist.
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    // Devices (/dev/null, /dev/stdout) may take several reports: nothing on
    // disk is overwritten there.
    let on_disk = |p: &Path| std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(true);
    let outputs: Vec<_> = outputs(run).into_iter().filter(|(_, p)| on_disk(p)).collect();
    for (i, (flag, out)) in outputs.iter().enumerate() {
        if let Some(input) = run.captures.iter().find(|c| same(c, out)) {
            anyhow::bail!("{flag}: {} is a capture given as input; it would be overwritten", input.display());
        }
        if let Some((other, _)) = outputs[..i].iter().find(|(_, o)| same(o, out)) {
            anyhow::bail!("{flag}: {} is also the file of {other}; one report would be lost", out.display());
        }
    }
    Ok(())
}

/// Runs the whole command; returns the exit code.
pub fn run(run: &Run) -> i32 {
    if let Err(e) = check_outputs(run) {
        eprintln!("ftpcap: {e:#}");
        return exit::FATAL;
    }
    let mut config = run.config.clone();
    if !run.tls_keylogs.is_empty() {
        config.keylog = Some(std::sync::Arc::new(read_keylogs(&run.tls_keylogs)));
    }
    let result = match &run.task {
        Task::Report { .. } => run_report(run, &config),
        Task::Transcript { output, index: false } => run_transcript(run, &config, output),
        Task::Transcript { output, index: true } => run_index(run, &config, output),
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

/// Reads the key logs; a file that cannot be read and a malformed line are
/// one line each on standard error, and the run goes on with the rest.
fn read_keylogs(paths: &[PathBuf]) -> crate::tls::keylog::KeyLog {
    let mut log = crate::tls::keylog::KeyLog::default();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                for problem in log.add(&name, &String::from_utf8_lossy(&bytes)) {
                    eprintln!("ftpcap: warning: {problem}");
                }
            }
            Err(e) => eprintln!("ftpcap: warning: {name}: {e}"),
        }
    }
    log
}

fn open_capture(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    Ok(Box::new(file))
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
            // JSONL rows: serde_json wraps the write error.
            || c.downcast_ref::<serde_json::Error>().and_then(|je| je.io_error_kind()) == Some(io::ErrorKind::BrokenPipe)
    })
}

/// A line for standard error about one capture.
enum Note {
    Warning(Message),
    /// The capture could not be read (to its end).
    Problem(String),
}

impl Note {
    /// Shifts the session number a warning names, like its capture's rows.
    fn offset_session(&mut self, by: u64) {
        if let Note::Warning(Message { session: Some(id), .. }) = self {
            *id += by;
        }
    }

    fn print(&self, bar: &ProgressBar) {
        match self {
            // Names and text from the wire: nothing that could drive or
            // reorder the terminal gets through.
            Note::Warning(m) => bar.suspend(|| eprintln!("ftpcap: warning: {}", terminal_text(&m.to_string()))),
            Note::Problem(p) => bar.suspend(|| eprintln!("ftpcap: {}", terminal_text(p))),
        }
    }
}

/// What reading one capture said on stderr and how it ended.
struct CaptureReport {
    notes: Vec<Note>,
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
    let mut report = CaptureReport { notes: Vec::new(), failed: false };
    let source = match open_capture(path) {
        Ok(s) => s,
        Err(e) => {
            report.notes.push(Note::Problem(format!("{name}: {e}")));
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
    report.notes.extend(analyzer.messages.drain(..).map(Note::Warning));
    match outcome {
        Err(problem) => {
            report.notes.push(Note::Problem(format!("{name}: {problem}")));
            report.failed = true;
        }
        Ok(outcome) => {
            if let Some(problem) = &outcome.problem {
                let frames = outcome.frames;
                let note = match problem {
                    // Reading went on past the damage.
                    CaptureProblem::Damaged { .. } => format!("{name}: {problem} ({frames} frames analysed)"),
                    _ => format!("{name}: {problem} (analysed the {frames} frames before it)"),
                };
                report.notes.push(Note::Problem(note));
                report.failed = true;
            }
        }
    }
    Ok(report)
}

/// Whether a file starts like a capture: pcap (either byte order, µs or
/// ns), pcapng, or gzip (a gzipped capture). Folders are read by content,
/// not by name: tcpdump's rotations (`cap.pcap0`, `.pcap1`, `.dmp`) count.
fn looks_like_capture(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut file) = File::open(path) else { return false };
    if file.read_exact(&mut head).is_err() {
        return false;
    }
    matches!(u32::from_be_bytes(head), 0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0x0a0d_0d0a)
        || head[..2] == [0x1f, 0x8b]
}

/// Capture files named on the command line; a directory stands for the
/// captures in it (by their first bytes, recursively, sorted by name). A
/// directory that cannot be read or holds no capture is a problem line.
fn expand_captures(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(format!("{}: {e}", dir.display()));
                return;
            }
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out, problems);
            } else if looks_like_capture(&p) {
                out.push(p);
            }
        }
    }
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for p in paths {
        if p.as_os_str() != "-" && p.is_dir() {
            let before = out.len();
            walk(p, &mut out, &mut problems);
            if out.len() == before {
                problems.push(format!("{}: no capture in this folder", p.display()));
            }
        } else {
            out.push(p.clone());
        }
    }
    (out, problems)
}

fn progress_bar(run: &Run, captures: &[PathBuf]) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if !run.quiet && io::stderr().is_terminal() {
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
    bar
}

/// Reads every capture, in parallel when there are several and `--jobs`
/// allows; `each` gets every output in the order of a one-job run (captures
/// in command-line order, sessions numbered across them). Returns the exit
/// status.
fn analyze_all(run: &Run, config: &Config, each: impl FnMut(Output) -> Result<()>) -> Result<i32> {
    analyze_all_with_summary(run, config, each).map(|(status, _)| status)
}

/// [`analyze_all`], also returning the run's summary counts.
fn analyze_all_with_summary(
    run: &Run,
    config: &Config,
    mut each: impl FnMut(Output) -> Result<()>,
) -> Result<(i32, Summary)> {
    let (captures, problems) = expand_captures(&run.captures);
    let bar = progress_bar(run, &captures);
    let jobs = match run.jobs {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let mut status = exit::OK;
    for problem in &problems {
        bar.suspend(|| eprintln!("ftpcap: {problem}"));
        status = exit::CAPTURE_PROBLEM;
    }
    let mut summary = Summary::default();
    if jobs <= 1 || captures.len() <= 1 || config.transcript.is_some() {
        // One analyzer, streaming: constant memory whatever the row count.
        let mut analyzer = Analyzer::new(config.clone());
        for path in &captures {
            bar.set_message(path.display().to_string());
            let report = analyze_one(path, &mut analyzer, &bar, &mut each)?;
            for note in &report.notes {
                note.print(&bar);
            }
            if report.failed {
                status = exit::CAPTURE_PROBLEM;
            }
        }
        summary = analyzer.summary.clone();
    } else {
        // Each capture on its own analyzer; results are put back in order,
        // with session numbers shifted past the captures before them.
        type Done = (usize, Result<(CaptureReport, Vec<Output>, Summary)>);
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
                    for mut note in report.notes {
                        note.offset_session(offset);
                        note.print(&bar);
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
    if !run.quiet {
        eprint!("{}", summary.text());
    }
    Ok((status, summary))
}

/// Rows per hand-over to the report writer thread, and hand-overs queued.
const WRITE_BATCH: usize = 1024;
const WRITE_QUEUE: usize = 4;

fn run_report(run: &Run, config: &Config) -> Result<i32> {
    let Task::Report { incidents, transfers, sessions, html, format } = &run.task else {
        unreachable!("run_report runs report tasks")
    };
    let violations = config.violations;
    let mut incidents =
        ReportWriter::new(create(incidents)?, *format, &incident_columns(violations)).context("writing the report")?;
    let mut transfers = match transfers {
        Some(p) => Some(
            ReportWriter::new(create(&Some(p.clone()))?, *format, TRANSFER_COLUMNS)
                .context("writing the transfers report")?,
        ),
        None => None,
    };
    let mut sessions = match sessions {
        Some(p) => Some(
            ReportWriter::new(create(&Some(p.clone()))?, *format, SESSION_COLUMNS)
                .context("writing the sessions report")?,
        ),
        None => None,
    };
    let html_path = html.clone();
    let mut html = html.as_ref().map(|_| HtmlReport::new(config.show_passwords));
    // Rows are written on a thread of their own: on a capture with a row
    // every few packets, writing the CSV costs a third of the analysis,
    // and the two overlap on a second core. Batches keep the hand-over
    // cheap; the bounded channel keeps memory constant.
    std::thread::scope(|scope| -> Result<i32> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Output>>(WRITE_QUEUE);
        // Emptied batches go back to be filled again: no allocation per
        // batch, and no freeing on one thread what the other allocated.
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<Output>>();
        let writer = scope.spawn(move || -> Result<Option<HtmlReport>> {
            for mut batch in rx {
                for output in batch.drain(..) {
                    match output {
                        Output::Incident(row) => {
                            incidents.incident(&row, violations).context("writing the report")?;
                            if let Some(h) = &mut html {
                                h.incident(&row);
                            }
                        }
                        Output::Transfer(row) => {
                            if let Some(h) = &mut html {
                                h.transfer(&row);
                            }
                            if let Some(w) = &mut transfers {
                                w.row(&row).context("writing the transfers report")?;
                            }
                        }
                        Output::Session(row) => {
                            if let Some(h) = &mut html {
                                h.session(&row);
                            }
                            if let Some(w) = &mut sessions {
                                w.row(&row).context("writing the sessions report")?;
                            }
                        }
                        Output::Transcript(t) => {
                            if let Some(h) = &mut html {
                                h.transcript(&t);
                            }
                        }
                    }
                }
                let _ = back_tx.send(batch);
            }
            incidents.flush().context("writing the report")?;
            for w in [&mut transfers, &mut sessions].into_iter().flatten() {
                w.flush().context("writing a report")?;
            }
            Ok(html)
        });
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let analysed = analyze_all_with_summary(run, config, |output| {
            batch.push(output);
            if batch.len() >= WRITE_BATCH {
                let empty = back_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(WRITE_BATCH));
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
        let html = match writer.join() {
            Ok(written) => written?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let (status, summary) = analysed?;
        if let (Some(page), Some(path)) = (html, &html_path) {
            let mut out = create(&Some(path.clone()))?;
            page.write(&summary, &transcript_command(run), &mut out).context("writing the html page")?;
        }
        Ok(status)
    })
}

/// The command that prints one session's transcript, `{session}` standing
/// for its number: the same captures, so sessions are numbered alike.
fn transcript_command(run: &Run) -> String {
    let quote = |p: &PathBuf| {
        let s = p.display().to_string();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b)) {
            s
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let captures: Vec<String> = run.captures.iter().map(quote).collect();
    format!("ftpcap transcript {} --session {{session}}", captures.join(" "))
}

fn run_transcript(run: &Run, config: &Config, output: &Option<PathBuf>) -> Result<i32> {
    let mut out = create(output)?;
    let mut printed = 0;
    let show = config.show_passwords;
    let (status, summary) = analyze_all_with_summary(run, config, |output| {
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
        // A selection that matches nothing is a usage error, not a broken
        // capture: say what would have matched.
        let valid = match summary.sessions {
            0 => "the captures hold no FTP session".to_string(),
            1 => "the only session is 1".to_string(),
            n => format!("sessions are 1 to {n}"),
        };
        match config.transcript {
            Some(crate::config::TranscriptSelect::Session(n)) => {
                eprintln!("ftpcap: --session {n}: no such session ({valid}; `ftpcap transcript CAPTURE` lists them)")
            }
            _ => eprintln!(
                "ftpcap: --endpoint: no session has that end ({valid}; `ftpcap transcript CAPTURE` lists them)"
            ),
        }
        // A broken capture says so (1); a readable one that lacks the
        // session was asked wrongly (2).
        return Ok(if status == exit::OK { exit::FATAL } else { status });
    }
    Ok(status)
}

/// `ftpcap transcript` without a selection: one line per session, to pick
/// one from (number, ends, user, start, commands, 214/503 counts, end).
fn run_index(run: &Run, config: &Config, output: &Option<PathBuf>) -> Result<i32> {
    let mut out = create(output)?;
    writeln!(
        out,
        "{:>7}  {:<47}  {:<16}  {:<27}  {:>8}  {:>4}  {:>4}  ended",
        "session", "client -> server", "user", "start", "commands", "214", "503"
    )?;
    let mut listed = 0u64;
    let status = analyze_all(run, config, |output| {
        if let Output::Session(s) = output {
            let ends = format!(
                "{} -> {}",
                endpoint_text(&s.client_ip, s.client_port),
                endpoint_text(&s.server_ip, s.server_port)
            );
            let user = if s.user.is_empty() { "-" } else { s.user.as_str() };
            writeln!(
                out,
                "{:>7}  {:<47}  {:<16}  {:<27}  {:>8}  {:>4}  {:>4}  {}",
                s.session, ends, user, s.start_time, s.commands, s.replies_214, s.replies_503, s.ended
            )?;
            listed += 1;
        }
        Ok(())
    })?;
    if listed > 0 {
        writeln!(out, "\n{listed} session(s); `ftpcap transcript --session N CAPTURE` prints one")?;
    }
    out.flush()?;
    if listed == 0 {
        eprintln!("ftpcap: no FTP session in the capture(s)");
        return Ok(status.max(exit::CAPTURE_PROBLEM));
    }
    Ok(status)
}

/// `ip:port`, with brackets around an IPv6 address.
fn endpoint_text(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}
