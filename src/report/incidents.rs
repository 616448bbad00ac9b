//! The incident report's row (one per reported reply), its column table,
//! and the buffer its text cells are built in.

use super::columns::Column;
use super::{escape_bytes, spreadsheet_safe, CsvRecord};
use crate::capture::time::Timestamp;
use serde::Serialize;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The incident report's row: one per reported reply (214 and 503 by
/// default). Its cells, in column order, are [`IncidentRow::cells`], a
/// published contract.
///
/// Built for captures with a row every few packets: values shared by many
/// rows or cheap to render late (the capture name, times, addresses, rule
/// ids) are kept as they are and rendered when the row is written, and the
/// text cells live in one buffer ([`RowText`]), one allocation per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub capture: Arc<str>,
    pub frame: u64,
    pub time: Timestamp,
    pub session: u64,
    pub client_ip: IpAddr,
    pub client_port: u16,
    pub server_ip: IpAddr,
    pub server_port: u16,
    pub code: u16,
    pub command_frame: Option<u64>,
    pub previous_frame: Option<u64>,
    pub rule: &'static str,
    /// What is partial about the row's evidence.
    pub flags: RowFlags,
    /// `--violations` only: refused, accepted, other or server-policy.
    pub verdict: Option<&'static str>,
    /// The [`TextCell`]s one after another: wire bytes as captured (escaped
    /// when the row is written, off the analysis path), text ftpcap wrote
    /// as is.
    text: Vec<u8>,
    /// Where each [`TextCell`] ends in `text`.
    ends: [u32; TEXT_CELLS],
    /// Bit `i`: cell `i` holds wire bytes.
    wire: u8,
    /// Bit `i`: cell `i` holds wire lines whose joining newlines stay.
    lines: u8,
}

/// The text cells of an [`IncidentRow`], in the order [`RowText`] takes
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCell {
    User,
    Reply,
    Command,
    PreviousCommand,
    Diagnosis,
    /// For a 214: the commands it lists, space-separated, upper case.
    HelpCommands,
    /// The server software named in the session's greeting banner.
    ServerSoftware,
}

const TEXT_CELLS: usize = 7;

/// One cell of a row, before rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    Text(&'a str),
    /// Text ftpcap wrote (UTF-8), kept as bytes: the CSV writer copies it
    /// without checking it again.
    Plain(&'a [u8]),
    /// Bytes from the wire: escaped as [`cell`] does when written
    /// ([`multiline_cell`] when `lines`).
    Wire {
        bytes: &'a [u8],
        lines: bool,
    },
    /// A number, or an empty cell.
    Num(Option<u64>),
    Time(&'a Timestamp),
    Ip(IpAddr),
    /// The Community ID of the TCP connection between the two ends.
    CommunityId(SocketAddr, SocketAddr),
}

impl IncidentRow {
    /// A row from its fixed cells and its finished [`RowText`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        capture: Arc<str>,
        frame: u64,
        time: Timestamp,
        session: u64,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        code: u16,
        command_frame: Option<u64>,
        previous_frame: Option<u64>,
        rule: &'static str,
        flags: RowFlags,
        verdict: Option<&'static str>,
        text: RowText,
    ) -> Self {
        let (text, ends, wire, lines) = text.finish();
        IncidentRow {
            capture,
            frame,
            time,
            session,
            client_ip: client.0,
            client_port: client.1,
            server_ip: server.0,
            server_port: server.1,
            code,
            command_frame,
            previous_frame,
            rule,
            flags,
            verdict,
            text,
            ends,
            wire,
            lines,
        }
    }

    /// One text cell, before rendering.
    fn raw_cell(&self, cell: TextCell) -> Cell<'_> {
        let i = cell as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let bytes = self.text.get(start..self.ends[i] as usize).unwrap_or_default();
        if self.wire & (1 << i) != 0 {
            Cell::Wire { bytes, lines: self.lines & (1 << i) != 0 }
        } else {
            // Only `&str` went into text cells that are not wire bytes.
            Cell::Plain(bytes)
        }
    }

    /// One text cell as the report shows it.
    pub fn text(&self, cell: TextCell) -> Cow<'_, str> {
        match self.raw_cell(cell) {
            Cell::Wire { bytes, lines } => Cow::Owned(wire_text(bytes, lines)),
            Cell::Text(t) => Cow::Borrowed(t),
            Cell::Plain(bytes) => String::from_utf8_lossy(bytes),
            _ => Cow::Borrowed(""),
        }
    }

    pub fn user(&self) -> Cow<'_, str> {
        self.text(TextCell::User)
    }
    pub fn reply(&self) -> Cow<'_, str> {
        self.text(TextCell::Reply)
    }
    pub fn command(&self) -> Cow<'_, str> {
        self.text(TextCell::Command)
    }
    pub fn previous_command(&self) -> Cow<'_, str> {
        self.text(TextCell::PreviousCommand)
    }
    pub fn diagnosis(&self) -> Cow<'_, str> {
        self.text(TextCell::Diagnosis)
    }
    pub fn help_commands(&self) -> Cow<'_, str> {
        self.text(TextCell::HelpCommands)
    }
    pub fn server_software(&self) -> Cow<'_, str> {
        self.text(TextCell::ServerSoftware)
    }

    /// The cells in the order of [`INCIDENT_COLUMNS`], which names them
    /// (CSV, JSONL and [`IncidentRow::record`] all walk the two together).
    /// `verdict` is not among them.
    pub fn cells(&self) -> [Cell<'_>; INCIDENT_COLUMNS.len()] {
        use Cell::*;
        [
            Text(&self.capture),                      // capture
            Num(Some(self.frame)),                    // frame
            Time(&self.time),                         // time
            Num(Some(self.session)),                  // session
            Ip(self.client_ip),                       // client_ip
            Num(Some(self.client_port.into())),       // client_port
            Ip(self.server_ip),                       // server_ip
            Num(Some(self.server_port.into())),       // server_port
            self.raw_cell(TextCell::User),            // user
            Num(Some(self.code.into())),              // code
            self.raw_cell(TextCell::Reply),           // reply
            self.raw_cell(TextCell::Command),         // command
            Num(self.command_frame),                  // command_frame
            self.raw_cell(TextCell::PreviousCommand), // previous_command
            Num(self.previous_frame),                 // previous_frame
            Text(self.rule),                          // rule
            self.raw_cell(TextCell::Diagnosis),       // diagnosis
            self.raw_cell(TextCell::HelpCommands),    // help_commands
            self.raw_cell(TextCell::ServerSoftware),  // server_software
            Text(self.flags.text()),                  // flags
            CommunityId(
                SocketAddr::new(self.client_ip, self.client_port),
                SocketAddr::new(self.server_ip, self.server_port),
            ), // community_id
        ]
    }

    pub(super) fn write_cells(&self, with_verdict: bool, rec: &mut CsvRecord<'_>) {
        for cell in self.cells() {
            rec.cell(cell);
        }
        if with_verdict {
            rec.text(self.verdict.unwrap_or_default());
        }
    }

    /// The CSV record as strings, the cells the CSV writer writes (before
    /// quoting).
    pub fn record(&self, with_verdict: bool) -> Vec<String> {
        let mut r: Vec<String> = self
            .cells()
            .iter()
            .map(|c| match c {
                Cell::Text(t) => t.to_string(),
                Cell::Plain(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Cell::Wire { bytes, lines } => wire_text(bytes, *lines),
                Cell::Num(n) => n.map(|n| n.to_string()).unwrap_or_default(),
                Cell::Time(t) => t.to_string(),
                Cell::Ip(ip) => ip.to_string(),
                Cell::CommunityId(a, b) => super::community_id::tcp(*a, *b),
            })
            .collect();
        if with_verdict {
            r.push(self.verdict.unwrap_or_default().to_string());
        }
        r
    }
}

/// JSONL: the cells as an object, numbers as numbers (an empty number is
/// `null`), then `verdict` when set.
impl Serialize for IncidentRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("IncidentRow", INCIDENT_COLUMNS.len() + 1)?;
        for (column, cell) in INCIDENT_COLUMNS.iter().zip(self.cells()) {
            let name = column.name;
            match cell {
                Cell::Text(t) => out.serialize_field(name, t)?,
                Cell::Plain(bytes) => out.serialize_field(name, &String::from_utf8_lossy(bytes))?,
                Cell::Wire { bytes, lines } => out.serialize_field(name, &wire_text(bytes, lines))?,
                Cell::Num(n) => out.serialize_field(name, &n)?,
                Cell::Time(t) => out.serialize_field(name, t)?,
                Cell::Ip(ip) => out.serialize_field(name, &ip)?,
                Cell::CommunityId(a, b) => out.serialize_field(name, &super::community_id::tcp(a, b))?,
            }
        }
        match self.verdict {
            Some(v) => out.serialize_field("verdict", v)?,
            None => out.skip_field("verdict")?,
        }
        out.end()
    }
}

/// Builds the text cells of an [`IncidentRow`] into one buffer, in
/// [`TextCell`] order. Bytes from the wire are copied as they are: they are
/// escaped (as [`cell`] does, guarded against spreadsheet formulas) when
/// the row is written, on the writer's thread.
#[derive(Debug)]
pub struct RowText {
    buf: Vec<u8>,
    ends: [u32; TEXT_CELLS],
    filled: usize,
    wire: u8,
    lines: u8,
}

impl Default for RowText {
    fn default() -> Self {
        RowText { buf: Vec::with_capacity(256), ends: [0; TEXT_CELLS], filled: 0, wire: 0, lines: 0 }
    }
}

impl RowText {
    fn end_cell(&mut self, wire: bool, lines: bool) {
        if let Some(end) = self.ends.get_mut(self.filled) {
            *end = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
            self.wire |= u8::from(wire) << self.filled;
            self.lines |= u8::from(lines) << self.filled;
            self.filled += 1;
        }
    }

    /// The next cell: wire bytes, the pieces joined as they are.
    pub fn wire(&mut self, pieces: &[&[u8]]) {
        for piece in pieces {
            self.buf.extend_from_slice(piece);
        }
        self.end_cell(true, false);
    }

    /// The next cell: wire lines (a reply) joined by `\n`; the joins stay
    /// newlines, everything else is escaped as in [`RowText::wire`].
    pub fn wire_lines(&mut self, joined: &[u8]) {
        self.buf.extend_from_slice(joined);
        self.end_cell(true, true);
    }

    /// The next cell: text ftpcap wrote (already safe), used as is.
    pub fn plain(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
        self.end_cell(false, false);
    }

    /// The buffer of the cell being built, for text ftpcap writes piece by
    /// piece (UTF-8 only); [`RowText::end_plain`] closes it.
    pub fn plain_buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Closes a cell written through [`RowText::plain_buf`].
    pub fn end_plain(&mut self) {
        self.end_cell(false, false);
    }

    fn finish(mut self) -> (Vec<u8>, [u32; TEXT_CELLS], u8, u8) {
        // Cells not given are empty.
        while self.filled < TEXT_CELLS {
            self.end_cell(false, false);
        }
        (self.buf, self.ends, self.wire, self.lines)
    }
}

/// Wire bytes as a report cell ([`cell`], or [`multiline_cell`] for lines).
fn wire_text(bytes: &[u8], lines: bool) -> String {
    spreadsheet_safe(escape_bytes(bytes, lines))
}

/// The incident report's columns, in order ([`IncidentRow::cells`]);
/// [`VERDICT_COLUMN`] follows with `--violations`.
pub const INCIDENT_COLUMNS: &[Column] = &[
    Column { name: "capture", meaning: "the capture file as given on the command line (`-` for stdin)" },
    Column { name: "frame", meaning: "frame number (from 1, as Wireshark numbers them) of the packet carrying the reply's first byte" },
    Column { name: "time", meaning: "that packet's time, RFC 3339 UTC, with the capture's precision (6 digits for µs, 9 for ns)" },
    Column { name: "session", meaning: "control-connection number, unique in the run, deterministic (order of first payload)" },
    Column { name: "client_ip", meaning: "the client end" },
    Column { name: "client_port", meaning: "its port" },
    Column { name: "server_ip", meaning: "the server end" },
    Column { name: "server_port", meaning: "its port" },
    Column { name: "user", meaning: "the name from the last `USER` of the session, empty if none" },
    Column { name: "code", meaning: "the reply code (of the closing line of a multi-line reply)" },
    Column { name: "reply", meaning: "the whole reply: every line, in order, as sent" },
    Column { name: "command", meaning: "the command line the reply answers, as sent; `PASS` arguments masked" },
    Column { name: "command_frame", meaning: "frame of the command's first byte" },
    Column { name: "previous_command", meaning: "the command sent just before it in the session" },
    Column { name: "previous_frame", meaning: "its frame" },
    Column { name: "rule", meaning: "stable id of the ordering rule broken (`help` for 214; see [the sequence checker](docs/design.md#the-sequence-checker))" },
    Column { name: "diagnosis", meaning: "one sentence: what went wrong, the source, the missing step" },
    Column { name: "help_commands", meaning: "for a 214: the commands it lists, upper case, space-separated (commands a server marks unimplemented are left out)" },
    Column { name: "server_software", meaning: "the server software its greeting banner names, matched without regard to case (vsFTPd, ProFTPD, Pure-FTPd, pyftpdlib, FileZilla Server, Microsoft FTP Service, Serv-U, wu-ftpd, glFTPd, CrushFTP, Titan FTP Server, WS_FTP Server, bftpd, BusyBox ftpd, inetutils ftpd, Twisted, ftp-srv), with the version when the banner gives one; when the banner names none (or was not captured), the software a reply's wording is known to come from, the evidence said in the value: `vsFTPd (from its 331 reply)` (`331 Please specify the password.`); empty when nothing tells" },
    Column { name: "flags", meaning: "what is partial about the row's evidence, joined by `;`: `reply-cut` (a gap or a short snaplen cut the reply: its text is the head that was captured, or lines of it are missing), `command-cut` (the same for the command line), `after-gap` (bytes were missing right before the reply or the command, so its start may be lost and the pairing rests on what the capture kept), `tls-decrypted` (the reply and its command were inside TLS, decrypted with `--tls-keylog`); empty when the evidence is whole" },
    Column { name: "community_id", meaning: COMMUNITY_ID },
];

/// What the `community_id` column of the incident and sessions reports holds.
pub const COMMUNITY_ID: &str = "the control connection's [Community ID](https://github.com/corelight/community-id-spec) (v1, seed 0, base64: `1:…`), as Zeek's, Suricata's and Arkime's logs write it, to join rows with them";

/// What is partial about an incident's evidence: the `flags` column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowFlags {
    /// The reply's text is partial: a gap or a snaplen cut one of its
    /// lines, or lines of it are missing.
    pub reply_cut: bool,
    /// The command's line is partial (cut by a gap or a snaplen).
    pub command_cut: bool,
    /// Bytes were missing right before the reply or the command: its start
    /// may be lost, and the pairing rests on what the capture kept.
    pub after_gap: bool,
    /// The reply came decrypted from a TLS control channel (a key log).
    pub tls_decrypted: bool,
}

impl RowFlags {
    /// The flags set, joined by `;` (empty when none is).
    pub fn text(self) -> &'static str {
        match (self.reply_cut, self.command_cut, self.after_gap, self.tls_decrypted) {
            (false, false, false, false) => "",
            (false, false, false, true) => "tls-decrypted",
            (false, false, true, false) => "after-gap",
            (false, false, true, true) => "after-gap;tls-decrypted",
            (false, true, false, false) => "command-cut",
            (false, true, false, true) => "command-cut;tls-decrypted",
            (false, true, true, false) => "command-cut;after-gap",
            (false, true, true, true) => "command-cut;after-gap;tls-decrypted",
            (true, false, false, false) => "reply-cut",
            (true, false, false, true) => "reply-cut;tls-decrypted",
            (true, false, true, false) => "reply-cut;after-gap",
            (true, false, true, true) => "reply-cut;after-gap;tls-decrypted",
            (true, true, false, false) => "reply-cut;command-cut",
            (true, true, false, true) => "reply-cut;command-cut;tls-decrypted",
            (true, true, true, false) => "reply-cut;command-cut;after-gap",
            (true, true, true, true) => "reply-cut;command-cut;after-gap;tls-decrypted",
        }
    }
}

/// The column `--violations` adds.
pub const VERDICT_COLUMN: Column = Column {
    name: "verdict",
    meaning: "only with `--violations`: `refused` (503 to a command that broke a rule), `accepted` (the server answered 1xx–3xx anyway), `other` (another error code, e.g. 425 or 530), `server-policy` (a 503 no rule predicts)",
};

/// The incident report's columns for these options.
pub fn incident_columns(with_verdict: bool) -> Vec<Column> {
    let mut cols = INCIDENT_COLUMNS.to_vec();
    if with_verdict {
        cols.push(VERDICT_COLUMN);
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, ReportWriter};

    #[test]
    fn header_matches_struct_order() {
        let mut text = RowText::default();
        text.wire(&[b"anonymous"]);
        text.wire_lines(b"503-a\n503 =b");
        text.wire(&[b"PASS ", b"****"]);
        text.wire(&[b"=1+1"]);
        text.plain("d, \"quoted\"");
        let row = IncidentRow::new(
            "c".into(),
            1,
            Timestamp::default(),
            1,
            (IpAddr::from([10, 0, 0, 1]), 1),
            (IpAddr::from([10, 0, 0, 2]), 21),
            503,
            None,
            Some(7),
            "x",
            RowFlags::default(),
            None,
            text,
        );
        assert_eq!(row.cells().len(), INCIDENT_COLUMNS.len());
        assert_eq!(row.user(), "anonymous");
        assert_eq!(row.reply(), "503-a\n503 =b");
        assert_eq!(row.command(), "PASS ****");
        assert_eq!(row.previous_command(), "'=1+1");
        assert_eq!(row.diagnosis(), "d, \"quoted\"");
        assert_eq!(row.help_commands(), "");
        assert_eq!(row.record(false).len(), INCIDENT_COLUMNS.len());
        assert_eq!(row.record(true).len(), INCIDENT_COLUMNS.len() + 1);
        let mut out = Vec::new();
        let mut w = ReportWriter::new(&mut out, Format::Csv, &incident_columns(false)).unwrap();
        w.incident(&row, false).unwrap();
        drop(w);
        let mut r = csv::ReaderBuilder::new().from_reader(out.as_slice());
        let names: Vec<&str> = INCIDENT_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), names);
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(rec.iter().collect::<Vec<_>>(), row.record(false));
        let json: serde_json::Value = serde_json::to_value(&row).unwrap();
        assert_eq!(json["previous_frame"], 7);
        assert!(json["command_frame"].is_null());
        assert_eq!(json["client_ip"], "10.0.0.1");
        assert_eq!(json["reply"], "503-a\n503 =b");
        assert!(json.get("verdict").is_none());
    }
}
