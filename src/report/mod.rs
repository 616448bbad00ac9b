//! Stage 5: the reports. The rows and their column tables are in
//! [`incidents`], [`sessions`] and [`transfers`]; here are the writers (CSV and
//! JSONL) and the escaping every cell goes through.
//!
//! Cells are made safe here, once: bytes that are not UTF-8, control
//! characters and backslashes are escaped visibly (`\xNN`, `\\`), so nothing
//! is lost and no terminal escape sequence survives; a cell a spreadsheet
//! would run as a formula gets a leading `'`.

pub mod columns;
pub mod community_id;
pub mod html;
pub mod incidents;
pub mod sessions;
pub mod transcript;
pub mod transfers;

pub use columns::Column;
pub use incidents::{incident_columns, Cell, IncidentRow, RowFlags, RowText, TextCell, INCIDENT_COLUMNS};
pub use sessions::{SessionRow, SESSION_COLUMNS};

use crate::capture::time::{TimeText, Timestamp};
use crate::word;
use serde::Serialize;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

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
    /// The last connection's Community ID.
    flow: Option<Box<((SocketAddr, SocketAddr), String)>>,
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
            Cell::CommunityId(a, b) => self.community_id(a, b),
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

    /// The Community ID of the connection between `a` and `b`; a session's
    /// rows all name one connection, so the last one is kept.
    pub fn community_id(&mut self, a: SocketAddr, b: SocketAddr) {
        self.sep();
        if self.cache.flow.as_ref().is_none_or(|flow| flow.0 != (a, b)) {
            self.cache.flow = Some(Box::new(((a, b), community_id::tcp(a, b))));
        }
        if let Some(flow) = &self.cache.flow {
            let (_, text) = &**flow;
            self.out.extend_from_slice(text.as_bytes());
        }
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
                    c if (0x80..0xa0).contains(&(c as u32)) || terminal_unsafe(c) => {
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

/// Characters that reorder or break what a terminal (or a spreadsheet)
/// shows around them, so a line from the wire could hide or disguise its
/// text ("Trojan Source", CVE-2021-42574): the bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069), the marks
/// (U+200E, U+200F, U+061C) and the line and paragraph separators
/// (U+2028, U+2029). They are escaped as `\u{NNNN}`, like C1 controls.
fn terminal_unsafe(c: char) -> bool {
    matches!(c as u32, 0x202a..=0x202e | 0x2066..=0x2069 | 0x200e | 0x200f | 0x061c | 0x2028 | 0x2029)
}

/// Text already made for a terminal (a warning, a file name) with any
/// control or [terminal-unsafe](terminal_unsafe) character left in it
/// escaped as `\u{NN}`; backslashes are kept as they are, so text that was
/// escaped once reads the same.
pub fn terminal_text(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() || terminal_unsafe(c);
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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

thread_local! {
    /// Set while a JSONL row is serialised: [`Seconds`] is then a number.
    static JSON_NUMBERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks a JSONL serialisation for as long as it lives.
struct JsonNumbers;

impl JsonNumbers {
    fn on() -> Self {
        JSON_NUMBERS.with(|c| c.set(true));
        JsonNumbers
    }
}

impl Drop for JsonNumbers {
    fn drop(&mut self) {
        JSON_NUMBERS.with(|c| c.set(false));
    }
}

/// A duration in seconds, six decimals: the CSV cell is the text
/// (`0.071324`, `1.000000`), a JSONL field the number (`0.071324`, `1.0`).
/// Both go through one `Serialize`, the csv crate would print an `f64`
/// as `1.0`, so the writer says which it is serialising.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub f64);

impl Serialize for Seconds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = format!("{:.6}", self.0);
        if JSON_NUMBERS.with(|c| c.get()) {
            // The number the text says, so both formats agree to the µs.
            if let Ok(v) = text.parse::<f64>() {
                return s.serialize_f64(v);
            }
        }
        s.serialize_str(&text)
    }
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
    pub fn new(out: W, format: Format, columns: &[Column]) -> std::io::Result<Self> {
        let out = match format {
            Format::Csv => {
                let mut out = out;
                let mut line = Vec::with_capacity(512);
                let mut cache = RenderCache::default();
                let mut rec = CsvRecord::new(&mut line, &mut cache);
                for c in columns {
                    rec.text(c.name);
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
                let _json = JsonNumbers::on();
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
                    c if (0x80..0xa0).contains(&(c as u32)) || terminal_unsafe(c) => {
                        out.push_str(&format!("\\u{{{:x}}}", c as u32))
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
        // Bidi overrides and isolates cannot reorder what follows them.
        assert_eq!(escape_bytes("RETR a\u{202e}txt.exe".as_bytes(), false), "RETR a\\u{202e}txt.exe");
        assert_eq!(escape_bytes("x\u{2066}y\u{2069}\u{200f}".as_bytes(), false), "x\\u{2066}y\\u{2069}\\u{200f}");
    }

    #[test]
    fn seconds_are_text_in_csv_and_numbers_in_jsonl() {
        #[derive(Serialize)]
        struct Row {
            duration_s: Seconds,
        }
        let rows = [Row { duration_s: Seconds(0.0713244) }, Row { duration_s: Seconds(2.0) }];
        for (format, want) in [
            (Format::Csv, "0.071324\n2.000000\n"),
            (Format::Jsonl, "{\"duration_s\":0.071324}\n{\"duration_s\":2.0}\n"),
        ] {
            let mut out = Vec::new();
            let mut w = ReportWriter::new(&mut out, format, &[]).unwrap();
            for r in &rows {
                w.row(r).unwrap();
            }
            drop(w);
            let text = String::from_utf8(out).unwrap();
            // CSV starts with the (empty) header line.
            assert_eq!(text.trim_start_matches('\n'), want);
        }
    }

    #[test]
    fn terminal_text_escapes_controls_and_bidi_only() {
        assert_eq!(terminal_text("cap.pcap: session 1: a\\x1b"), "cap.pcap: session 1: a\\x1b");
        assert_eq!(terminal_text("evil\u{202e}fdp.pcap: x\u{1b}"), "evil\\u{202e}fdp.pcap: x\\u{1b}");
    }

    #[test]
    fn formulas_neutralised() {
        assert_eq!(cell(b"=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell(b"@SUM(1)"), "'@SUM(1)");
        assert_eq!(cell(b"-2+3"), "'-2+3");
        assert_eq!(cell(b"\tx"), "\\x09x");
        assert_eq!(cell(b"USER a"), "USER a");
    }
}
