//! Stage 5: report rows and writers.
//!
//! Cells are made safe here, once: bytes that are not UTF-8, control
//! characters and backslashes are escaped visibly (`\xNN`, `\\`), so nothing
//! is lost and no terminal escape sequence survives; a cell a spreadsheet
//! would run as a formula gets a leading `'`.

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
    /// The CSV record: the columns of [`INCIDENT_COLUMNS`], then `verdict`
    /// when `with_verdict`.
    pub fn record(&self, with_verdict: bool) -> Vec<String> {
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        let mut r = vec![
            self.capture.clone(),
            self.frame.to_string(),
            self.time.clone(),
            self.session.to_string(),
            self.client_ip.clone(),
            self.client_port.to_string(),
            self.server_ip.clone(),
            self.server_port.to_string(),
            self.user.clone(),
            self.code.to_string(),
            self.reply.clone(),
            self.command.clone(),
            opt(self.command_frame),
            self.previous_command.clone(),
            opt(self.previous_frame),
            self.rule.clone(),
            self.diagnosis.clone(),
            self.help_commands.clone(),
            self.server_software.clone(),
        ];
        if with_verdict {
            r.push(self.verdict.clone().unwrap_or_default());
        }
        r
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

/// Escapes bytes into an inert, lossless string: UTF-8 text stays as is;
/// invalid bytes, C0/C1 controls and DEL become `\xNN` (or `\u{NN}` for C1),
/// a backslash becomes `\\`. `keep_newlines` keeps `\n` (multi-line replies).
pub fn escape_bytes(bytes: &[u8], keep_newlines: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' if keep_newlines => out.push('\n'),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if (0x80..0xa0).contains(&(c as u32)) => {
                    out.push_str(&format!("\\u{{{:x}}}", c as u32));
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
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

/// Writes rows as CSV with one header line.
pub struct CsvReport<W: Write> {
    writer: csv::Writer<W>,
    with_verdict: bool,
}

impl<W: Write> CsvReport<W> {
    pub fn new(out: W, with_verdict: bool) -> Self {
        CsvReport { writer: csv::WriterBuilder::new().has_headers(false).from_writer(out), with_verdict }
    }

    /// Writes the header even when there are no rows.
    pub fn header(&mut self) -> csv::Result<()> {
        let mut cols: Vec<&str> = INCIDENT_COLUMNS.to_vec();
        if self.with_verdict {
            cols.push("verdict");
        }
        self.writer.write_record(cols)
    }

    pub fn row(&mut self, row: &IncidentRow) -> csv::Result<()> {
        self.writer.write_record(row.record(self.with_verdict))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
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
        };
        let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(Vec::new());
        w.serialize(&row).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out.lines().next().unwrap(), INCIDENT_COLUMNS.join(","));
    }
}
