//! Stage 5: report rows and writers.
//!
//! Cells are made safe here, once: bytes that are not UTF-8, control
//! characters and backslashes are escaped visibly (`\xNN`, `\\`), so nothing
//! is lost and no terminal escape sequence survives; a cell a spreadsheet
//! would run as a formula gets a leading `'`.

pub mod transcript;

use serde::Serialize;
use std::io::Write;

/// The incident report's row: one per reported reply (214 and 503 by
/// default). Field order is the CSV column order, a published contract.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IncidentRow {
    pub capture: String,
    pub frame: u64,
    pub time: String,
    pub session: u64,
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub user: String,
    pub code: u16,
    pub reply: String,
    pub command: String,
    pub command_frame: Option<u64>,
    pub previous_command: String,
    pub previous_frame: Option<u64>,
    pub rule: String,
    pub diagnosis: String,
    /// For a 214: the commands it lists, space-separated, upper case.
    pub help_commands: String,
    /// The server software named in the session's greeting banner.
    pub server_software: String,
    /// `--violations` only: refused, accepted, other or server-policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

impl IncidentRow {
    /// Visits the CSV cells in column order: the columns of
    /// [`INCIDENT_COLUMNS`], then `verdict` when `with_verdict`. The one
    /// place that knows the order; numbers go through one reused buffer, so
    /// writing a row allocates nothing.
    fn for_each_cell(&self, with_verdict: bool, cell: &mut dyn FnMut(&str)) {
        use std::fmt::Write as _;
        let mut buf = String::with_capacity(20);
        let mut num = |v: Option<u64>, cell: &mut dyn FnMut(&str)| {
            buf.clear();
            if let Some(v) = v {
                let _ = write!(buf, "{v}");
            }
            cell(&buf);
        };
        cell(&self.capture);
        num(Some(self.frame), cell);
        cell(&self.time);
        num(Some(self.session), cell);
        cell(&self.client_ip);
        num(Some(self.client_port.into()), cell);
        cell(&self.server_ip);
        num(Some(self.server_port.into()), cell);
        cell(&self.user);
        num(Some(self.code.into()), cell);
        cell(&self.reply);
        cell(&self.command);
        num(self.command_frame, cell);
        cell(&self.previous_command);
        num(self.previous_frame, cell);
        cell(&self.rule);
        cell(&self.diagnosis);
        cell(&self.help_commands);
        cell(&self.server_software);
        if with_verdict {
            cell(self.verdict.as_deref().unwrap_or_default());
        }
    }

    /// The CSV record as strings (see [`IncidentRow::for_each_cell`]).
    pub fn record(&self, with_verdict: bool) -> Vec<String> {
        let mut r = Vec::with_capacity(INCIDENT_COLUMNS.len() + 1);
        self.for_each_cell(with_verdict, &mut |c| r.push(c.to_string()));
        r
    }

    fn write_csv<W: Write>(&self, w: &mut csv::Writer<W>, with_verdict: bool) -> csv::Result<()> {
        let mut result = Ok(());
        self.for_each_cell(with_verdict, &mut |c| {
            if result.is_ok() {
                result = w.write_field(c);
            }
        });
        result?;
        w.write_record(None::<&[u8]>)
    }
}

/// The column names, in order (issue #2's seventeen first, then the
/// columns added since; `verdict` follows with `--violations`).
pub const INCIDENT_COLUMNS: &[&str] = &[
    "capture",
    "frame",
    "time",
    "session",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "user",
    "code",
    "reply",
    "command",
    "command_frame",
    "previous_command",
    "previous_frame",
    "rule",
    "diagnosis",
    "help_commands",
    "server_software",
];

/// The `--sessions` report's row: one per control session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionRow {
    pub capture: String,
    pub session: u64,
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub start_time: String,
    pub start_frame: u64,
    pub end_time: String,
    pub end_frame: u64,
    pub duration_s: String,
    pub user: String,
    pub server_software: String,
    pub banner: String,
    pub syst: String,
    pub login: String,
    pub commands: u64,
    pub replies_214: u64,
    pub replies_503: u64,
    pub transfers_ok: u64,
    pub transfers_failed: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub tls: bool,
    pub ended: String,
    /// Verbs the client used that the server's own HELP list lacks.
    pub unlisted_commands: String,
    pub warnings: String,
}

pub const SESSION_COLUMNS: &[&str] = &[
    "capture",
    "session",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "start_time",
    "start_frame",
    "end_time",
    "end_frame",
    "duration_s",
    "user",
    "server_software",
    "banner",
    "syst",
    "login",
    "commands",
    "replies_214",
    "replies_503",
    "transfers_ok",
    "transfers_failed",
    "bytes_up",
    "bytes_down",
    "tls",
    "ended",
    "unlisted_commands",
    "warnings",
];

/// Escapes bytes into an inert, lossless string: UTF-8 text stays as is;
/// invalid bytes, C0/C1 controls and DEL become `\xNN` (or `\u{NN}` for C1),
/// a backslash becomes `\\`. `keep_newlines` keeps `\n` (multi-line replies).
pub fn escape_bytes(bytes: &[u8], keep_newlines: bool) -> String {
    use std::fmt::Write as _;
    // Printable ASCII other than the backslash is copied as is, in runs:
    // nearly every byte of an FTP line, so the slow path below is rare.
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'\\' || (keep_newlines && b == b'\n');
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest.iter().position(|b| !plain(*b)).unwrap_or(rest.len());
        // The run is ASCII, so it is valid UTF-8 and splits on a char boundary.
        out.push_str(std::str::from_utf8(&rest[..run]).unwrap_or_default());
        rest = &rest[run..];
        // Up to the next ASCII byte: one escaped byte, or a stretch of UTF-8.
        let odd = rest.iter().position(|b| b.is_ascii() && plain(*b)).unwrap_or(rest.len());
        for chunk in rest[..odd].utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c if (0x80..0xa0).contains(&(c as u32)) => {
                        let _ = write!(out, "\\u{{{:x}}}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        rest = &rest[odd..];
    }
    out
}

/// A cell that no spreadsheet will evaluate: text starting with `=`, `+`,
/// `-`, `@`, tab or CR gets a leading apostrophe.
pub fn spreadsheet_safe(s: String) -> String {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}"),
        _ => s,
    }
}

/// Bytes from the wire to a report cell.
pub fn cell(bytes: &[u8]) -> String {
    spreadsheet_safe(escape_bytes(bytes, false))
}

/// Multi-line text (replies) to a report cell, lines joined by `\n`.
pub fn multiline_cell(bytes: &[u8]) -> String {
    spreadsheet_safe(escape_bytes(bytes, true))
}

/// Output format of every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with one header line.
    Csv,
    /// One JSON object per line, same fields.
    Jsonl,
}

enum Out<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Jsonl(W),
}

/// One report file (incidents, transfers or sessions) in either format.
pub struct ReportWriter<W: Write> {
    out: Out<W>,
}

impl<W: Write> ReportWriter<W> {
    /// Starts a report; CSV gets its header at once, so an empty report
    /// is still a valid CSV.
    pub fn new(out: W, format: Format, columns: &[&str]) -> csv::Result<Self> {
        let out = match format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(out);
                w.write_record(columns)?;
                Out::Csv(Box::new(w))
            }
            Format::Jsonl => Out::Jsonl(out),
        };
        Ok(ReportWriter { out })
    }

    /// Writes a row: serde fields in order for CSV, an object for JSONL.
    pub fn row<T: Serialize>(&mut self, row: &T) -> anyhow::Result<()> {
        match &mut self.out {
            Out::Csv(w) => w.serialize(row)?,
            Out::Jsonl(w) => {
                serde_json::to_writer(&mut *w, row)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    /// An incident row: in CSV the fixed columns (plus `verdict` when asked).
    pub fn incident(&mut self, row: &IncidentRow, with_verdict: bool) -> anyhow::Result<()> {
        match &mut self.out {
            Out::Csv(w) => row.write_csv(w, with_verdict)?,
            Out::Jsonl(_) => self.row(row)?,
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv(w) => w.flush(),
            Out::Jsonl(w) => w.flush(),
        }
    }
}

/// The incident report's columns for these options.
pub fn incident_columns(with_verdict: bool) -> Vec<&'static str> {
    let mut cols = INCIDENT_COLUMNS.to_vec();
    if with_verdict {
        cols.push("verdict");
    }
    cols
}

#[cfg(test)]
mod tests {

    /// The escaping rule stated plainly, one char at a time: the model the
    /// run-based [`escape_bytes`] must match.
    fn escape_model(bytes: &[u8], keep_newlines: bool) -> String {
        let mut out = String::new();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' if keep_newlines => out.push('\n'),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
                    c if (0x80..0xa0).contains(&(c as u32)) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                    c => out.push(c),
                }
            }
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn escape_matches_the_model(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
                                    utf8 in "\\PC{0,16}", keep in proptest::prelude::any::<bool>()) {
            let mut mixed = bytes.clone();
            mixed.extend_from_slice(utf8.as_bytes());
            mixed.extend_from_slice(&bytes);
            proptest::prop_assert_eq!(escape_bytes(&mixed, keep), escape_model(&mixed, keep));
        }
    }
    use super::*;

    #[test]
    fn escaping_is_lossless_and_inert() {
        assert_eq!(escape_bytes(b"RETR a\xffb", false), "RETR a\\xffb");
        assert_eq!(escape_bytes(b"\x1b[31mred", false), "\\x1b[31mred");
        assert_eq!(escape_bytes(b"a\\x41", false), "a\\\\x41");
        assert_eq!(escape_bytes(b"l1\nl2\r", true), "l1\nl2\\x0d");
        assert_eq!(escape_bytes("caf\u{e9} \u{9b}".as_bytes(), false), "caf\u{e9} \\u{9b}");
    }

    #[test]
    fn formulas_neutralised() {
        assert_eq!(cell(b"=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell(b"@SUM(1)"), "'@SUM(1)");
        assert_eq!(cell(b"-2+3"), "'-2+3");
        assert_eq!(cell(b"\tx"), "\\x09x");
        assert_eq!(cell(b"USER a"), "USER a");
    }

    #[test]
    fn header_matches_struct_order() {
        let row = IncidentRow {
            capture: "c".into(),
            frame: 1,
            time: "t".into(),
            session: 1,
            client_ip: "1".into(),
            client_port: 1,
            server_ip: "2".into(),
            server_port: 21,
            user: String::new(),
            code: 503,
            reply: "r".into(),
            command: String::new(),
            command_frame: None,
            previous_command: String::new(),
            previous_frame: None,
            rule: "x".into(),
            diagnosis: "d".into(),
            help_commands: String::new(),
            server_software: String::new(),
            verdict: None,
        };
        let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(Vec::new());
        w.serialize(&row).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out.lines().next().unwrap(), INCIDENT_COLUMNS.join(","));
        assert_eq!(row.record(false).len(), INCIDENT_COLUMNS.len());
        assert_eq!(row.record(true).len(), INCIDENT_COLUMNS.len() + 1);
    }
}
