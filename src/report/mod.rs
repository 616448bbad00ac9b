//! Stage 5: report rows and writers.
//!
//! Cells are made safe here, once: bytes that are not UTF-8, control
//! characters and backslashes are escaped visibly (`\xNN`, `\\`), so nothing
//! is lost and no terminal escape sequence survives; a cell a spreadsheet
//! would run as a formula gets a leading `'`.

pub mod transcript;
pub mod transfers;

use crate::capture::time::{TimeText, Timestamp};
use crate::word;
use serde::Serialize;
use std::borrow::Cow;
use std::io::Write;
use std::net::IpAddr;
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

    /// The cells in column order, named as in [`INCIDENT_COLUMNS`]: the one
    /// place that knows the order (CSV, JSONL and [`IncidentRow::record`]
    /// all walk it). `verdict` is not among them.
    pub fn cells(&self) -> [(&'static str, Cell<'_>); 19] {
        use Cell::*;
        [
            ("capture", Text(&self.capture)),
            ("frame", Num(Some(self.frame))),
            ("time", Time(&self.time)),
            ("session", Num(Some(self.session))),
            ("client_ip", Ip(self.client_ip)),
            ("client_port", Num(Some(self.client_port.into()))),
            ("server_ip", Ip(self.server_ip)),
            ("server_port", Num(Some(self.server_port.into()))),
            ("user", self.raw_cell(TextCell::User)),
            ("code", Num(Some(self.code.into()))),
            ("reply", self.raw_cell(TextCell::Reply)),
            ("command", self.raw_cell(TextCell::Command)),
            ("command_frame", Num(self.command_frame)),
            ("previous_command", self.raw_cell(TextCell::PreviousCommand)),
            ("previous_frame", Num(self.previous_frame)),
            ("rule", Text(self.rule)),
            ("diagnosis", self.raw_cell(TextCell::Diagnosis)),
            ("help_commands", self.raw_cell(TextCell::HelpCommands)),
            ("server_software", self.raw_cell(TextCell::ServerSoftware)),
        ]
    }

    fn write_cells(&self, with_verdict: bool, rec: &mut CsvRecord<'_>) {
        for (_, cell) in self.cells() {
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
            .map(|(_, c)| match c {
                Cell::Text(t) => t.to_string(),
                Cell::Plain(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Cell::Wire { bytes, lines } => wire_text(bytes, *lines),
                Cell::Num(n) => n.map(|n| n.to_string()).unwrap_or_default(),
                Cell::Time(t) => t.to_string(),
                Cell::Ip(ip) => ip.to_string(),
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
        let mut out = serializer.serialize_struct("IncidentRow", 20)?;
        for (name, cell) in self.cells() {
            match cell {
                Cell::Text(t) => out.serialize_field(name, t)?,
                Cell::Plain(bytes) => out.serialize_field(name, &String::from_utf8_lossy(bytes))?,
                Cell::Wire { bytes, lines } => out.serialize_field(name, &wire_text(bytes, lines))?,
                Cell::Num(n) => out.serialize_field(name, &n)?,
                Cell::Time(t) => out.serialize_field(name, t)?,
                Cell::Ip(ip) => out.serialize_field(name, &ip)?,
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

/// One CSV record written straight into a byte buffer, quoted as the csv
/// crate quotes (RFC 4180: a cell holding `"`, `,`, CR or LF is wrapped in
/// quotes with its quotes doubled; nothing else is). The incident report
/// writes a row per few packets on busy captures, and going through
/// `String` cells and `fmt` cost more than the analysis.
pub struct CsvRecord<'a> {
    out: &'a mut Vec<u8>,
    cache: &'a mut RenderCache,
    cells: usize,
}

/// Text of values that repeat from row to row, kept between rows: the
/// date and time to the second ([`TimeText`]) and the last two addresses
/// (a session's rows all name the same client and server).
#[derive(Default)]
pub struct RenderCache {
    times: TimeText,
    /// Scratch for escaping wire cells.
    escaped: Vec<u8>,
    /// The most recent address first.
    ips: [Option<(IpAddr, Vec<u8>)>; 2],
}

impl RenderCache {
    fn ip_text(&mut self, ip: IpAddr) -> &[u8] {
        match self.ips.iter().position(|e| e.as_ref().is_some_and(|(a, _)| *a == ip)) {
            Some(0) => {}
            Some(_) => self.ips.swap(0, 1),
            None => {
                let mut text = self.ips[1].take().map(|(_, t)| t).unwrap_or_default();
                text.clear();
                render_ip(&mut text, ip);
                self.ips[1] = Some((ip, text));
                self.ips.swap(0, 1);
            }
        }
        self.ips[0].as_ref().map(|(_, t)| t.as_slice()).unwrap_or_default()
    }
}

fn render_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, octet.into());
            }
        }
        // Its text form (zero runs, embedded IPv4) is std's.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

impl<'a> CsvRecord<'a> {
    /// A record appended to `out`; `cache` keeps text that repeats from
    /// row to row.
    pub fn new(out: &'a mut Vec<u8>, cache: &'a mut RenderCache) -> Self {
        CsvRecord { out, cache, cells: 0 }
    }

    fn sep(&mut self) {
        if self.cells > 0 {
            self.out.push(b',');
        }
        self.cells += 1;
    }

    pub fn text(&mut self, cell: &str) {
        self.text_bytes(cell.as_bytes());
    }

    fn text_bytes(&mut self, bytes: &[u8]) {
        self.sep();
        let special = |b: &u8| matches!(b, b'"' | b',' | b'\r' | b'\n');
        let suspect = |x: u64| word::has_below(x, 0x20) || word::has(x, b'"') || word::has(x, b',');
        let words = word::clean_prefix(bytes, suspect);
        if !bytes[words..].iter().any(special) {
            self.out.extend_from_slice(bytes);
            return;
        }
        self.out.push(b'"');
        for part in bytes.split_inclusive(|b| *b == b'"') {
            self.out.extend_from_slice(part);
            if part.ends_with(b"\"") {
                self.out.push(b'"');
            }
        }
        self.out.push(b'"');
    }

    /// Wire bytes, escaped and guarded as [`cell`] (or [`multiline_cell`]
    /// for `lines`) does, then quoted as any text.
    pub fn wire(&mut self, bytes: &[u8], lines: bool) {
        let mut escaped = std::mem::take(&mut self.cache.escaped);
        escaped.clear();
        escape_into(&mut escaped, bytes, lines);
        if starts_like_formula(&escaped) {
            escaped.insert(0, b'\'');
        }
        self.text_bytes(&escaped);
        self.cache.escaped = escaped;
    }

    pub fn cell(&mut self, cell: Cell<'_>) {
        match cell {
            Cell::Text(t) => self.text(t),
            Cell::Plain(bytes) => self.text_bytes(bytes),
            Cell::Wire { bytes, lines } => self.wire(bytes, lines),
            Cell::Num(n) => self.num(n),
            Cell::Time(t) => self.time(t),
            Cell::Ip(ip) => self.ip(ip),
        }
    }

    /// A number, or an empty cell for `None`.
    pub fn num(&mut self, v: Option<u64>) {
        self.sep();
        if let Some(v) = v {
            push_decimal(self.out, v);
        }
    }

    pub fn time(&mut self, t: &Timestamp) {
        self.sep();
        self.out.extend_from_slice(self.cache.times.text(t).as_bytes());
    }

    pub fn ip(&mut self, ip: IpAddr) {
        self.sep();
        self.out.extend_from_slice(self.cache.ip_text(ip));
    }

    /// Ends the record (`\n`, as the csv crate does).
    pub fn end(self) {
        self.out.push(b'\n');
    }
}

/// `v` in decimal, without `fmt`, two digits at a time.
fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[v as usize * 2..v as usize * 2 + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + v as u8;
    }
    // Byte by byte: a handful of digits, where a copy call costs more.
    for &digit in &buf[at..] {
        out.push(digit);
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
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + 8);
    escape_into(&mut out, bytes, keep_newlines);
    // Only ASCII runs and whole valid characters went in.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`escape_bytes`], appending to `out`. What it appends is valid UTF-8.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8], keep_newlines: bool) {
    use std::io::Write as _;
    // Printable ASCII other than the backslash is copied as is, in runs:
    // nearly every byte of an FTP line, so the slow path below is rare.
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'\\' || (keep_newlines && b == b'\n');
    // A word that may hold a byte `plain` refuses (a newline counts even
    // when kept: the byte-wise look decides).
    let suspect = |x: u64| word::has_high(x) || word::has_below(x, 0x20) || word::has(x, 0x7f) || word::has(x, b'\\');
    let mut rest = bytes;
    while !rest.is_empty() {
        let words = word::clean_prefix(rest, suspect);
        let run = words + rest[words..].iter().position(|b| !plain(*b)).unwrap_or(rest.len() - words);
        out.extend_from_slice(&rest[..run]);
        rest = &rest[run..];
        if rest.is_empty() {
            break;
        }
        // Up to the next ASCII byte: one escaped byte, or a stretch of UTF-8.
        let odd = rest.iter().position(|b| b.is_ascii() && plain(*b)).unwrap_or(rest.len());
        for chunk in rest[..odd].utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => out.extend_from_slice(b"\\\\"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c if (0x80..0xa0).contains(&(c as u32)) => {
                        let _ = write!(out, "\\u{{{:x}}}", c as u32);
                    }
                    c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        rest = &rest[odd..];
    }
}

/// A cell that no spreadsheet will evaluate: text starting with `=`, `+`,
/// `-`, `@`, tab or CR gets a leading apostrophe.
pub fn spreadsheet_safe(s: String) -> String {
    if starts_like_formula(s.as_bytes()) {
        format!("'{s}")
    } else {
        s
    }
}

/// A spreadsheet would read a cell starting so as a formula.
fn starts_like_formula(cell: &[u8]) -> bool {
    matches!(cell.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
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
    /// CSV: each record is built in `line`, then written to `out`.
    Csv {
        out: W,
        line: Vec<u8>,
        cache: RenderCache,
    },
    Jsonl(W),
}

/// One report file (incidents, transfers or sessions) in either format.
pub struct ReportWriter<W: Write> {
    out: Out<W>,
}

impl<W: Write> ReportWriter<W> {
    /// Starts a report; CSV gets its header at once, so an empty report
    /// is still a valid CSV.
    pub fn new(out: W, format: Format, columns: &[&str]) -> std::io::Result<Self> {
        let out = match format {
            Format::Csv => {
                let mut out = out;
                let mut line = Vec::with_capacity(512);
                let mut cache = RenderCache::default();
                let mut rec = CsvRecord::new(&mut line, &mut cache);
                for c in columns {
                    rec.text(c);
                }
                rec.end();
                out.write_all(&line)?;
                line.clear();
                Out::Csv { out, line, cache }
            }
            Format::Jsonl => Out::Jsonl(out),
        };
        Ok(ReportWriter { out })
    }

    /// Writes a row: serde fields in order for CSV, an object for JSONL.
    pub fn row<T: Serialize>(&mut self, row: &T) -> anyhow::Result<()> {
        match &mut self.out {
            Out::Csv { out, line, .. } => {
                {
                    let mut w =
                        csv::WriterBuilder::new().has_headers(false).buffer_capacity(256).from_writer(&mut *line);
                    w.serialize(row)?;
                    w.flush()?;
                }
                out.write_all(line)?;
                line.clear();
            }
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
            Out::Csv { out, line, cache } => {
                let mut rec = CsvRecord::new(line, cache);
                row.write_cells(with_verdict, &mut rec);
                rec.end();
                out.write_all(line)?;
                line.clear();
            }
            Out::Jsonl(_) => self.row(row)?,
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv { out, .. } => out.flush(),
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
        /// Cells come out of [`CsvRecord`] byte for byte as the csv crate
        /// writes them.
        #[test]
        fn csv_record_matches_the_csv_crate(cells in proptest::collection::vec("[a-c,\"\r\n #=']{0,12}|\\PC{0,8}", 1..6),
                                            nums in proptest::collection::vec(proptest::option::of(proptest::prelude::any::<u64>()), 0..4)) {
            let mut ours = Vec::new();
            let mut cache = RenderCache::default();
            let mut rec = CsvRecord::new(&mut ours, &mut cache);
            let mut model = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
            let mut fields: Vec<String> = Vec::new();
            for c in &cells {
                rec.text(c);
                fields.push(c.clone());
            }
            for n in &nums {
                rec.num(*n);
                fields.push(n.map(|n| n.to_string()).unwrap_or_default());
            }
            rec.ip(IpAddr::from([192, 168, 0, 255]));
            fields.push("192.168.0.255".into());
            rec.end();
            model.write_record(&fields).unwrap();
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(model.into_inner().unwrap()).unwrap());
        }

        /// Wire cells come out escaped and guarded as [`cell`] and
        /// [`multiline_cell`] make them, quoted as the csv crate quotes.
        #[test]
        fn wire_cells_match_escaping_then_the_csv_crate(
            cells in proptest::collection::vec(proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b'='), proptest::strategy::Just(b'"'), proptest::strategy::Just(b','),
                proptest::strategy::Just(b'\n'), proptest::strategy::Just(b'\\'), proptest::strategy::Just(b'-'),
                proptest::strategy::Just(b'a'), proptest::prelude::any::<u8>()], 0..16), 1..5),
            lines in proptest::prelude::any::<bool>(),
        ) {
            let mut ours = Vec::new();
            let mut cache = RenderCache::default();
            let mut rec = CsvRecord::new(&mut ours, &mut cache);
            let mut model = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
            // A record of one empty field is `""` to the csv crate; rows
            // have many fields, so start with another one.
            rec.text("x");
            let fields: Vec<String> =
                std::iter::once("x".to_string()).chain(cells.iter().map(|c| if lines { multiline_cell(c) } else { cell(c) })).collect();
            for c in &cells {
                rec.wire(c, lines);
            }
            rec.end();
            model.write_record(&fields).unwrap();
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(model.into_inner().unwrap()).unwrap());
        }

        /// However addresses repeat or alternate, the cached text is the
        /// address's own.
        #[test]
        fn address_cache_matches_display(picks in proptest::collection::vec(0usize..5, 1..40), v4 in proptest::prelude::any::<[u8; 4]>()) {
            let pool: [IpAddr; 5] = [
                "10.0.0.1".parse().unwrap(),
                "10.0.0.2".parse().unwrap(),
                "::ffff:1.2.3.4".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
                IpAddr::from(v4),
            ];
            let mut cache = RenderCache::default();
            for i in picks {
                let mut out = Vec::new();
                let mut rec = CsvRecord::new(&mut out, &mut cache);
                rec.ip(pool[i]);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), pool[i].to_string());
            }
        }

        #[test]
        fn decimal_matches_to_string(v in proptest::prelude::any::<u64>(), small in 0u64..1000) {
            for v in [v, small] {
                let mut out = Vec::new();
                push_decimal(&mut out, v);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
            }
        }

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
            None,
            text,
        );
        let names: Vec<&str> = row.cells().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, INCIDENT_COLUMNS);
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
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), INCIDENT_COLUMNS);
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
