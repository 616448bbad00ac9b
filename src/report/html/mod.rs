//! `--html FILE`: one self-contained page for people (totals, incidents by
//! rule, software, client and user, a timeline, the incident table and the
//! first sessions' transcripts), built from the same rows as the CSV reports.
//!
//! Memory is bounded whatever the capture: counts by key, a timeline whose
//! bins double in width when there are too many, the first
//! [`MAX_TABLE_ROWS`] incident rows and the first [`MAX_TRANSCRIPTS`]
//! transcripts. Wire text reaches the page only as HTML-escaped text or as
//! JSON inside `<script type="application/json">` with `<`, `>`, `&`,
//! U+2028 and U+2029 escaped; the page's script puts it into text nodes.

use super::sessions::SessionRow;
use super::transcript::{render, Transcript};
use super::transfers::TransferRow;
use super::IncidentRow;
use crate::capture::time::Timestamp;
use crate::diag::Summary;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

/// Incident rows kept for the page's table; the CSV has them all.
pub const MAX_TABLE_ROWS: usize = 2_000;
/// Sessions whose transcript the page shows in full.
pub const MAX_TRANSCRIPTS: u64 = 25;
/// Timeline bins at most; their width doubles past it.
const MAX_BINS: usize = 400;
/// Keys kept per breakdown (by client address, by user, …); the rest are
/// summed as `(others)`.
const MAX_KEYS: usize = 10_000;
/// Keys shown per breakdown on the page.
const SHOWN_KEYS: usize = 25;

const UPLOT_JS: &str = include_str!("uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("uPlot.min.css");
const UPLOT_LICENSE: &str = include_str!("uPlot.LICENSE");
const PAGE_JS: &str = include_str!("page.js");
const PAGE_CSS: &str = include_str!("page.css");

/// Counts by key with a cap on distinct keys.
#[derive(Default)]
struct Counts {
    by: BTreeMap<String, u64>,
    others: u64,
}

impl Counts {
    fn add(&mut self, key: &str) {
        if let Some(n) = self.by.get_mut(key) {
            *n += 1;
        } else if self.by.len() < MAX_KEYS {
            self.by.insert(key.to_string(), 1);
        } else {
            self.others += 1;
        }
    }

    /// The biggest first, then by key; at most [`SHOWN_KEYS`].
    fn top(&self) -> Value {
        let mut v: Vec<(&String, &u64)> = self.by.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rest: u64 = v.iter().skip(SHOWN_KEYS).map(|(_, n)| **n).sum::<u64>() + self.others;
        let mut out: Vec<Value> = v.iter().take(SHOWN_KEYS).map(|(k, n)| json!([k, n])).collect();
        if rest > 0 {
            out.push(json!(["(others)", rest]));
        }
        Value::Array(out)
    }
}

/// Series of the timeline, in [`Timeline::bins`] order.
const SERIES: [&str; 7] = [
    "sessions started",
    "incidents",
    "503 replies",
    "transfers complete",
    "transfers failed",
    "transfers aborted",
    "transfers incomplete-capture",
];

/// Counts per time bin; a bin is `width` seconds from `index * width`.
struct Timeline {
    width: i64,
    bins: BTreeMap<i64, [u64; SERIES.len()]>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline { width: 1, bins: BTreeMap::new() }
    }
}

impl Timeline {
    fn add(&mut self, secs: i64, series: usize) {
        let key = secs.div_euclid(self.width);
        self.bins.entry(key).or_default()[series] += 1;
        while self.bins.len() > MAX_BINS {
            self.width = self.width.saturating_mul(2);
            let old = std::mem::take(&mut self.bins);
            for (k, counts) in old {
                let slot = self.bins.entry(k.div_euclid(2)).or_default();
                for (s, n) in slot.iter_mut().zip(counts) {
                    *s += n;
                }
            }
        }
    }

    /// `[[bin start s…], [series 0…], …]`: the bins that hold something,
    /// in time order, widened so that the whole span is at most
    /// [`MAX_BINS`] bins (a run whose captures lie days apart gets bins of
    /// minutes, not seconds).
    fn data(&self) -> (i64, Value) {
        let (Some(first), Some(last)) = (self.bins.keys().next(), self.bins.keys().next_back()) else {
            return (self.width, json!([]));
        };
        let mut factor: i64 = 1;
        while (last - first) / factor > MAX_BINS as i64 {
            factor = factor.saturating_mul(2);
        }
        let mut merged: BTreeMap<i64, [u64; SERIES.len()]> = BTreeMap::new();
        for (k, counts) in &self.bins {
            let slot = merged.entry(k.div_euclid(factor)).or_default();
            for (s, n) in slot.iter_mut().zip(counts) {
                *s += n;
            }
        }
        let width = self.width.saturating_mul(factor);
        let mut cols: Vec<Vec<Value>> = vec![Vec::new(); SERIES.len() + 1];
        for (k, counts) in &merged {
            cols[0].push(json!(k.saturating_mul(width)));
            for (i, n) in counts.iter().enumerate() {
                cols[i + 1].push(json!(n));
            }
        }
        (width, json!(cols))
    }
}

/// Seconds since the epoch of an RFC 3339 UTC time as the reports write it
/// (`2024-01-02T03:04:05.123Z`); None for anything else.
fn epoch_secs(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The page, accumulated row by row.
#[derive(Default)]
pub struct HtmlReport {
    incidents: u64,
    by_code: BTreeMap<u16, u64>,
    by_rule: Counts,
    by_software: Counts,
    by_client: Counts,
    by_user: Counts,
    sessions: u64,
    sessions_tls: u64,
    sessions_undecrypted: u64,
    partial_sessions: u64,
    warnings_by_session_kind: BTreeMap<String, u64>,
    transfers: BTreeMap<String, u64>,
    timeline: Timeline,
    table: Vec<Value>,
    transcripts: Vec<(u64, String)>,
    show_passwords: bool,
}

impl HtmlReport {
    pub fn new(show_passwords: bool) -> Self {
        HtmlReport { show_passwords, ..HtmlReport::default() }
    }

    pub fn incident(&mut self, row: &IncidentRow) {
        self.incidents += 1;
        *self.by_code.entry(row.code).or_insert(0) += 1;
        let rule = if row.rule.is_empty() { "(none)" } else { row.rule };
        self.by_rule.add(rule);
        let software = row.server_software();
        self.by_software.add(if software.is_empty() { "(unknown)" } else { &software });
        self.by_client.add(&row.client_ip.to_string());
        let user = row.user();
        self.by_user.add(if user.is_empty() { "(none)" } else { &user });
        self.timeline.add(row.time.secs, 1);
        if row.code == 503 {
            self.timeline.add(row.time.secs, 2);
        }
        if self.table.len() < MAX_TABLE_ROWS {
            self.table.push(json!([
                row.capture.as_ref(),
                row.session,
                row.frame,
                time_text(&row.time),
                format!("{}:{}", row.client_ip, row.client_port),
                format!("{}:{}", row.server_ip, row.server_port),
                row.code,
                row.rule,
                user,
                row.command(),
                software,
                row.diagnosis(),
            ]));
        }
    }

    pub fn session(&mut self, row: &SessionRow) {
        self.sessions += 1;
        if row.tls {
            self.sessions_tls += 1;
            if row.tls_result != "decrypted" {
                self.sessions_undecrypted += 1;
            }
        }
        if !row.warnings.is_empty() {
            self.partial_sessions += 1;
            for part in row.warnings.split(';') {
                let (kind, n) = part.split_once('=').unwrap_or((part, "1"));
                *self.warnings_by_session_kind.entry(kind.to_string()).or_insert(0) += n.parse::<u64>().unwrap_or(1);
            }
        }
        if let Some(secs) = epoch_secs(&row.start_time) {
            self.timeline.add(secs, 0);
        }
    }

    pub fn transfer(&mut self, row: &TransferRow) {
        *self.transfers.entry(row.outcome.clone()).or_insert(0) += 1;
        let series = match row.outcome.as_str() {
            "complete" => 3,
            "failed" => 4,
            "aborted" => 5,
            _ => 6,
        };
        if let Some(secs) = epoch_secs(&row.start_time) {
            self.timeline.add(secs, series);
        }
    }

    /// A transcript of one of the first [`MAX_TRANSCRIPTS`] sessions.
    pub fn transcript(&mut self, t: &Transcript) {
        if (self.transcripts.len() as u64) < MAX_TRANSCRIPTS {
            self.transcripts.push((t.session, render(t, self.show_passwords)));
        }
    }

    /// Writes the page; `summary` is the run's (captures, warnings), and
    /// `command` the CLI command that prints one transcript (`N` for the
    /// session number).
    pub fn write(&self, summary: &Summary, command: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut totals: Vec<(String, String, u64)> = vec![
            ("captures".into(), "captures".into(), summary.captures),
            ("sessions".into(), "sessions".into(), self.sessions),
            ("incidents".into(), "incident rows".into(), self.incidents),
            ("rows-214".into(), "214 rows".into(), self.by_code.get(&214).copied().unwrap_or(0)),
            ("rows-503".into(), "503 rows".into(), self.by_code.get(&503).copied().unwrap_or(0)),
            ("transfers".into(), "transfers".into(), self.transfers.values().sum()),
        ];
        for outcome in ["complete", "failed", "aborted", "incomplete-capture"] {
            let n = self.transfers.get(outcome).copied().unwrap_or(0);
            totals.push((format!("transfers-{outcome}"), format!("transfers {outcome}"), n));
        }
        for (kind, n) in summary.warnings.iter() {
            totals.push((format!("warning-{}", kind.name()), format!("warning: {}", kind.name()), n));
        }
        let warnings: Vec<Value> = summary.warnings.iter().map(|(k, n)| json!([k.name(), n])).collect();
        let partial = json!([
            ["sessions with warnings", self.partial_sessions],
            ["FTPS sessions (AUTH sent)", self.sessions_tls],
            ["FTPS sessions not decrypted", self.sessions_undecrypted],
        ]);
        let session_warnings: Vec<Value> = self.warnings_by_session_kind.iter().map(|(k, n)| json!([k, n])).collect();
        let transcripts: serde_json::Map<String, Value> =
            self.transcripts.iter().map(|(s, t)| (s.to_string(), Value::String(t.clone()))).collect();
        let (bin_seconds, timeline) = self.timeline.data();
        let data = json!({
            "series": SERIES,
            "binSeconds": bin_seconds,
            "timeline": timeline,
            "byRule": self.by_rule.top(),
            "bySoftware": self.by_software.top(),
            "byClient": self.by_client.top(),
            "byUser": self.by_user.top(),
            "warnings": warnings,
            "sessionWarnings": session_warnings,
            "partial": partial,
            "skipped": summary.skipped,
            "columns": ["capture", "session", "frame", "time", "client", "server", "code", "rule", "user", "command", "server_software", "diagnosis"],
            "rows": self.table,
            "rowsTotal": self.incidents,
            "transcripts": transcripts,
            "transcriptCommand": command,
        });
        let mut h = String::with_capacity(128 * 1024);
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n");
        h.push_str("<title>ftpcap report</title>\n<style>");
        h.push_str(UPLOT_CSS);
        h.push_str(PAGE_CSS);
        h.push_str("</style></head><body>\n<h1>ftpcap report</h1>\n<section id=\"totals\"><h2>Totals</h2><dl>");
        for (id, label, n) in &totals {
            h.push_str(&format!(
                "<div class=\"total\" data-total=\"{}\"><dt>{}</dt><dd>{n}</dd></div>",
                escape_html(id),
                escape_html(label)
            ));
        }
        h.push_str("</dl></section>\n");
        h.push_str(concat!(
            "<section><h2>Timeline</h2><p class=\"note\" id=\"bin-note\"></p><div id=\"timeline\"></div></section>\n",
            "<section class=\"grid\"><div><h2>Incidents by rule</h2><table id=\"by-rule\"></table></div>",
            "<div><h2>By server software</h2><table id=\"by-software\"></table></div>",
            "<div><h2>By client address</h2><table id=\"by-client\"></table></div>",
            "<div><h2>By user</h2><table id=\"by-user\"></table></div></section>\n",
            "<section class=\"grid\"><div><h2>Warnings by kind</h2><table id=\"warnings\"></table></div>",
            "<div><h2>What was partial</h2><table id=\"partial\"></table><table id=\"session-warnings\"></table></div></section>\n",
            "<section><h2>Incidents</h2><p class=\"note\" id=\"rows-note\"></p>",
            "<input id=\"filter\" type=\"search\" placeholder=\"filter rows\"> <span id=\"shown\"></span>",
            "<div class=\"scroll\"><table id=\"incidents\"><thead></thead><tbody></tbody></table></div></section>\n",
            "<section><h2>Transcript</h2><p class=\"note\" id=\"transcript-note\">Click a row's session to see its transcript.</p><pre id=\"transcript\"></pre></section>\n",
        ));
        h.push_str("<script type=\"application/json\" id=\"data\">");
        h.push_str(&json_for_script(&data));
        h.push_str("</script>\n<script>/* uPlot, MIT licence:\n");
        h.push_str(&UPLOT_LICENSE.replace("*/", "* /"));
        h.push_str("*/\n");
        h.push_str(UPLOT_JS);
        h.push_str("</script>\n<script>");
        h.push_str(PAGE_JS);
        h.push_str("</script>\n</body></html>\n");
        out.write_all(h.as_bytes())?;
        out.flush()
    }
}

fn time_text(t: &Timestamp) -> String {
    let mut buf = [0u8; 30];
    t.render(&mut buf).to_string()
}

/// Text for an HTML text node or a quoted attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside `<script>`: no `</script>`, `<!--` or line separator
/// can end or change the element.
pub fn json_for_script(v: &Value) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_element() {
        let v = json!({"x": "</script><script>alert(1)</script>&\u{2028}"});
        let s = json_for_script(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&') && !s.contains('\u{2028}'));
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(escape_html("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn epoch_of_report_times() {
        assert_eq!(epoch_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_secs("2024-03-01T12:00:01.5Z"), Some(1_709_294_401));
        assert_eq!(epoch_secs("garbage"), None);
        assert_eq!(epoch_secs("2024-13-01T12:00:01Z"), None);
    }

    #[test]
    fn timeline_stays_bounded_and_keeps_counts() {
        let mut t = Timeline::default();
        for s in 0..100_000i64 {
            t.add(s * 7 - 50_000, (s % 7) as usize);
        }
        assert!(t.bins.len() <= MAX_BINS);
        let (width, data) = t.data();
        assert!(data[0].as_array().unwrap().len() <= MAX_BINS + 1);
        assert!(width >= t.width);
        let shown: u64 =
            data.as_array().unwrap()[1..].iter().flat_map(|c| c.as_array().unwrap()).map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(shown, 100_000);
        let total: u64 = t.bins.values().flat_map(|c| c.iter()).sum();
        assert_eq!(total, 100_000);
    }

    #[test]
    fn breakdowns_cap_their_keys() {
        let mut c = Counts::default();
        for i in 0..(MAX_KEYS + 5) {
            c.add(&i.to_string());
        }
        c.add("0");
        assert_eq!(c.by.len(), MAX_KEYS);
        assert_eq!(c.others, 5);
        let top = c.top();
        let arr = top.as_array().unwrap();
        assert_eq!(arr[0], json!(["0", 2]));
        assert_eq!(arr.len(), SHOWN_KEYS + 1);
    }
}
