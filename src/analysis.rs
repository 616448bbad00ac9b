//! The pipeline for one run: capture frames → TCP segments → per-direction
//! ordered bytes → FTP sessions → report rows.
//!
//! [`Analyzer`] owns what spans captures (session numbering, counters);
//! each capture gets its own flow table, finalized when the capture ends.

use crate::capture::{
    decode_tcp, decode_tcp_wanted, CaptureProblem, CaptureReader, Frame, ReadWarning, TcpSegment, Timestamp,
};
use crate::flow::{FlowMap, Origin, OverlapPolicy, Reassembler, ReassemblyLimits, StreamEvent};
use crate::ftp::rules::{Source, RFC_503_VERBS};
use crate::ftp::session::TranscriptEntry;
use crate::ftp::{Exchange, Session, SessionLimits, StopReason};
use crate::ordered::Ordered;
use crate::report::transcript::Transcript;
use crate::report::{cell, multiline_cell, IncidentRow, RowText, SessionRow};
use crate::transfer::{DataLimits, DataTracker, TransferRow};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::{IpAddr, SocketAddr};

/// Everything that shapes an analysis, validated by the CLI.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server ports of FTP control connections.
    pub ports: Vec<u16>,
    /// Also recognise control connections on any port by a `220` greeting.
    pub detect: bool,
    pub show_passwords: bool,
    /// Reply codes reported (214 and 503 by default).
    pub codes: BTreeSet<u16>,
    /// Also report every command the checker judged out of sequence, with
    /// the server's verdict.
    pub violations: bool,
    pub reassembly: ReassemblyLimits,
    pub session: SessionLimits,
    /// Flows tracked at once per capture.
    pub max_flows: usize,
    /// Out-of-order bytes buffered over all flows.
    pub max_total_buffered: usize,
    /// Flows idle this long (capture clock) are closed.
    pub idle_timeout_secs: f64,
    pub data: DataLimits,
    /// Record sessions for `ftpcap transcript`.
    pub transcript: Option<TranscriptSelect>,
    /// Follow data connections and transfers (needed by the transfers and
    /// sessions reports and by transcripts; costs time on bulk captures).
    pub track_data: bool,
    /// Produce transfer rows.
    pub transfer_rows: bool,
    /// Produce session rows.
    pub session_rows: bool,
}

/// Which sessions `ftpcap transcript` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptSelect {
    Session(u64),
    /// Either end of the control connection; any port when None.
    Endpoint(IpAddr, Option<u16>),
}

impl TranscriptSelect {
    fn matches(&self, session: u64, client: Endpoint, server: Endpoint) -> bool {
        match *self {
            TranscriptSelect::Session(id) => id == session,
            TranscriptSelect::Endpoint(ip, port) => {
                [client, server].iter().any(|e| e.ip == ip && port.is_none_or(|p| p == e.port))
            }
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ports: vec![21],
            detect: false,
            show_passwords: false,
            codes: [214, 503].into_iter().collect(),
            violations: false,
            reassembly: ReassemblyLimits::default(),
            session: SessionLimits::default(),
            max_flows: 8_192,
            max_total_buffered: 64 << 20,
            idle_timeout_secs: 3600.0,
            data: DataLimits::default(),
            transcript: None,
            track_data: false,
            transfer_rows: false,
            session_rows: false,
        }
    }
}

/// Counters for the end-of-run summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub captures: u64,
    pub frames: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub sessions: u64,
    pub replies_by_code: BTreeMap<u16, u64>,
    pub rows: u64,
    /// Warning kind → count.
    pub warnings: BTreeMap<&'static str, u64>,
    /// Frames not analysed, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Summary {
    /// Adds another run's counts (parallel jobs).
    pub fn merge(&mut self, o: &Summary) {
        self.captures += o.captures;
        self.frames += o.frames;
        self.bytes += o.bytes;
        self.tcp_segments += o.tcp_segments;
        self.sessions += o.sessions;
        self.rows += o.rows;
        for (k, v) in &o.replies_by_code {
            *self.replies_by_code.entry(*k).or_insert(0) += v;
        }
        for (k, v) in &o.warnings {
            *self.warnings.entry(k).or_insert(0) += v;
        }
        for (k, v) in &o.skipped {
            *self.skipped.entry(k).or_insert(0) += v;
        }
    }
}

impl Output {
    /// Shifts session numbers (captures analysed in parallel are numbered
    /// from 1 each, then placed after the captures before them).
    pub fn offset_session(&mut self, by: u64) {
        match self {
            Output::Incident(r) => r.session += by,
            Output::Transfer(r) => r.session += by,
            Output::Session(r) => r.session += by,
            Output::Transcript(t) => {
                t.session += by;
                for r in &mut t.transfers {
                    r.session += by;
                }
            }
        }
    }
}

/// Everything a run produces, handed to the caller as soon as its order is
/// settled, so memory does not grow with the number of rows.
#[derive(Debug)]
pub enum Output {
    Incident(IncidentRow),
    /// Boxed, as the session row: both are twice an incident's size, and
    /// incidents, by far the most, would otherwise be handed over at theirs.
    Transfer(Box<TransferRow>),
    Session(Box<SessionRow>),
    Transcript(Transcript),
}

/// At most this many detailed warning lines per kind are kept for printing.
const DETAILS_PER_KIND: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Endpoint {
    ip: IpAddr,
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct FlowKey {
    lo: Endpoint,
    hi: Endpoint,
}

impl FlowKey {
    fn of(seg: &TcpSegment<'_>) -> (FlowKey, bool) {
        let s = Endpoint { ip: seg.src, port: seg.src_port };
        let d = Endpoint { ip: seg.dst, port: seg.dst_port };
        if s <= d {
            (FlowKey { lo: s, hi: d }, true)
        } else {
            (FlowKey { lo: d, hi: s }, false)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `--detect`: waiting for the first payload to tell.
    Unknown,
    Ftp,
    /// Not FTP control: remembered only so its packets are skipped.
    NotFtp,
}

/// Per-connection identity used in rows.
#[derive(Debug, Clone, Copy)]
struct Meta {
    session_id: u64,
    client: Endpoint,
    server: Endpoint,
}

struct Conn {
    kind: Kind,
    /// Whether `key.lo` is the client; None until known.
    lo_is_client: Option<bool>,
    to_server: Reassembler,
    to_client: Reassembler,
    session: Session,
    meta: Option<Meta>,
    /// Where the connection was first seen.
    first: Origin,
    last_seen: Timestamp,
    client_ended: bool,
    server_ended: bool,
    saw_data: bool,
}

/// A flow table entry: the connection, boxed, and beside it what the
/// table's sweeps (idle, eviction, end of capture) read, so a sweep over
/// thousands of flows walks the table alone instead of one cold
/// connection after another.
struct Slot {
    key: FlowKey,
    conn: Box<Conn>,
    /// Frame number of its last packet: recency, in arrival order.
    last_frame: u64,
    /// The capture clock (latest timestamp so far) at its last packet: what
    /// idleness is measured by, so a packet stamped in the past still counts
    /// as activity.
    clock: Timestamp,
    /// Its session number, 0 until its first payload (sessions end in
    /// this order).
    session_id: u64,
    /// No FTP payload so far, or not FTP: the first to go when the table is
    /// full. Refreshed after every packet of the flow.
    droppable: bool,
    /// Finishing the connection now would emit nothing but the end of its
    /// session ([`Conn::finish_is_silent`]). Refreshed after every packet.
    silent: bool,
}

impl Slot {
    fn refresh(&mut self) {
        self.session_id = self.conn.meta.map(|m| m.session_id).unwrap_or(0);
        self.droppable = !self.conn.saw_data || self.conn.kind == Kind::NotFtp;
        self.silent = self.conn.finish_is_silent();
    }

    /// Its eviction rank (see [`Flows`]): 0 when droppable, else one past
    /// its last frame, so that the least recently active rank lowest.
    fn rank(&self) -> u64 {
        if self.droppable {
            0
        } else {
            self.last_frame.saturating_add(1).min(HOLE - 1)
        }
    }
}

/// [`Flows::rank`] of an empty position: above every flow's.
const HOLE: u64 = u64::MAX;

/// The connections of a flow table in a slab. `slots` holds them at
/// stable positions (a closed flow leaves a hole that the next new one
/// fills), two indexes find a flow's position by its key, and `rank` holds
/// every position's eviction rank in a dense array of its own: eviction
/// reads the rank of every flow, and at 8 bytes a flow those stay in the
/// cache where hash buckets of key and slot (88 bytes) did not.
///
/// Invariants: the two indexes map exactly the keys of the occupied
/// positions to them; `rank[i]` is [`Slot::rank`] of the flow at `i`, or [`HOLE`]
/// when `i` is empty; `free` lists the empty positions.
#[derive(Default)]
struct Flows {
    /// Positions of IPv4 flows (nearly all), by [`v4_key`]: 16-byte
    /// buckets, so that the index of a full table stays in a core's cache
    /// (eviction and every new flow probe it at random).
    index_v4: FlowMap<(u64, u32), u32>,
    /// Positions of the other flows, by their whole key.
    index_other: FlowMap<FlowKey, u32>,
    slots: Vec<Option<Slot>>,
    rank: Vec<u64>,
    free: Vec<u32>,
}

/// An IPv4 flow's key packed into 12 bytes: both addresses, both ports.
fn v4_key(key: &FlowKey) -> Option<(u64, u32)> {
    match (key.lo.ip, key.hi.ip) {
        (IpAddr::V4(lo), IpAddr::V4(hi)) => Some((
            u64::from(u32::from(lo)) << 32 | u64::from(u32::from(hi)),
            u32::from(key.lo.port) << 16 | u32::from(key.hi.port),
        )),
        _ => None,
    }
}

impl Flows {
    fn len(&self) -> usize {
        self.index_v4.len() + self.index_other.len()
    }

    fn position(&self, key: &FlowKey) -> Option<usize> {
        let i = match v4_key(key) {
            Some(k) => self.index_v4.get(&k),
            None => self.index_other.get(key),
        };
        i.map(|&i| i as usize)
    }

    fn contains_key(&self, key: &FlowKey) -> bool {
        self.position(key).is_some()
    }

    fn get(&self, key: &FlowKey) -> Option<&Slot> {
        self.slots.get(self.position(key)?)?.as_ref()
    }

    fn at_mut(&mut self, i: usize) -> Option<&mut Slot> {
        self.slots.get_mut(i)?.as_mut()
    }

    /// The position of `key`'s flow; a new flow from `make` when there is
    /// none (none at all if `make` gives none).
    fn position_or_insert(&mut self, key: FlowKey, make: impl FnOnce() -> Option<Slot>) -> Option<usize> {
        use std::collections::hash_map::Entry;
        // One probe of the index whether the flow is new or not.
        let vacant = match v4_key(&key) {
            Some(k) => match self.index_v4.entry(k) {
                Entry::Occupied(o) => return Some(*o.get() as usize),
                Entry::Vacant(v) => Ok(v),
            },
            None => match self.index_other.entry(key) {
                Entry::Occupied(o) => return Some(*o.get() as usize),
                Entry::Vacant(v) => Err(v),
            },
        };
        let slot = make()?;
        let i = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.slots.push(None);
                self.rank.push(HOLE);
                self.slots.len() - 1
            }
        };
        match vacant {
            Ok(v) => v.insert(i as u32),
            Err(v) => v.insert(i as u32),
        };
        if let (Some(place), Some(rank)) = (self.slots.get_mut(i), self.rank.get_mut(i)) {
            *rank = slot.rank();
            *place = Some(slot);
        }
        Some(i)
    }

    fn unindex(&mut self, key: &FlowKey) -> Option<usize> {
        let i = match v4_key(key) {
            Some(k) => self.index_v4.remove(&k),
            None => self.index_other.remove(key),
        };
        i.map(|i| i as usize)
    }

    /// Refreshes the flow at `i` after a packet ([`Slot::refresh`]) and its
    /// rank with it.
    fn refresh(&mut self, i: usize) {
        if let (Some(Some(slot)), Some(rank)) = (self.slots.get_mut(i), self.rank.get_mut(i)) {
            slot.refresh();
            *rank = slot.rank();
        }
    }

    fn remove(&mut self, key: &FlowKey) -> Option<Slot> {
        let i = self.unindex(key)?;
        self.vacate(i)
    }

    /// Takes out the flow at position `i`, if there is one.
    fn take_at(&mut self, i: usize) -> Option<Slot> {
        let slot = self.vacate(i)?;
        self.unindex(&slot.key);
        Some(slot)
    }

    fn vacate(&mut self, i: usize) -> Option<Slot> {
        let slot = self.slots.get_mut(i)?.take()?;
        if let Some(rank) = self.rank.get_mut(i) {
            *rank = HOLE;
        }
        self.free.push(i as u32);
        Some(slot)
    }

    /// Every position's rank (see [`Flows`]).
    fn ranks(&self) -> &[u64] {
        &self.rank
    }

    fn values(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().flatten()
    }
}

/// A flow that has carried no payload yet (handshake, bare ACKs): kept
/// small, so a SYN flood costs a few dozen bytes per flow, not a whole
/// connection's state. Promoted to a [`Conn`] by its first payload.
#[derive(Debug, Clone, Copy)]
struct Handshake {
    /// Whether `key.lo` is the client (the SYN's sender).
    lo_is_client: bool,
    /// The SYN sequence numbers seen: `[lo side, hi side]`.
    isn: [Option<u32>; 2],
    first: Origin,
    clock: Timestamp,
}

impl Conn {
    fn new(
        kind: Kind,
        lo_is_client: Option<bool>,
        first: Origin,
        last_seen: Timestamp,
        reassembly: ReassemblyLimits,
        session: SessionLimits,
    ) -> Conn {
        Conn {
            kind,
            lo_is_client,
            to_server: Reassembler::new(reassembly),
            to_client: Reassembler::new(reassembly),
            session: Session::new(session),
            meta: None,
            first,
            last_seen,
            client_ended: false,
            server_ended: false,
            saw_data: false,
        }
    }

    /// Becomes what [`Conn::new`] makes, in place (a kept box, see
    /// [`Spare`]): its small buffers survive, emptied, and nothing of the
    /// old connection else. Every field is named, so a new one cannot be
    /// forgotten.
    fn renew(
        &mut self,
        new_kind: Kind,
        new_lo_is_client: Option<bool>,
        new_first: Origin,
        new_last_seen: Timestamp,
        reassembly: ReassemblyLimits,
        session_limits: SessionLimits,
    ) {
        let Conn {
            kind,
            lo_is_client,
            to_server,
            to_client,
            session,
            meta,
            first,
            last_seen,
            client_ended,
            server_ended,
            saw_data,
        } = self;
        *kind = new_kind;
        *lo_is_client = new_lo_is_client;
        to_server.renew(reassembly);
        to_client.renew(reassembly);
        session.renew(session_limits);
        *meta = None;
        *first = new_first;
        *last_seen = new_last_seen;
        *client_ended = false;
        *server_ended = false;
        *saw_data = false;
    }

    /// [`finish_conn`] would do nothing but end the session (see
    /// [`Session::finish_is_silent`]): nothing buffered in either
    /// direction, no reassembly problem counted, a quiet session.
    fn finish_is_silent(&self) -> bool {
        self.to_server.finish_is_silent() && self.to_client.finish_is_silent() && self.session.finish_is_silent()
    }

    /// Frame of the first byte of a reply still being assembled (partial
    /// line, open multi-line reply, or bytes held out of order).
    fn pending_reply_frame(&self) -> Option<u64> {
        [self.session.pending_reply_frame(), self.to_client.min_buffered_frame()].into_iter().flatten().min()
    }
}

/// State shared by all connections of one capture.
struct Ctx<'a> {
    config: &'a Config,
    capture: &'a str,
    /// The capture's name, shared by its incident rows.
    capture_shared: std::sync::Arc<str>,
    summary: &'a mut Summary,
    messages: &'a mut Vec<String>,
    /// Detail lines printed so far per warning kind, in this capture.
    details: BTreeMap<&'static str, u64>,
    rows: Ordered<IncidentRow>,
    sessions: Ordered<SessionRow>,
    transfers: Ordered<TransferRow>,
    transcripts: Vec<Transcript>,
    /// Transfer rows of sessions being transcribed.
    transcript_transfers: Vec<TransferRow>,
    transcript_sessions: BTreeSet<u64>,
    data: DataTracker,
    sink: &'a mut dyn FnMut(Output),
    next_session: &'a mut u64,
    total_buffered: usize,
    /// Replies counted by code in this capture, added to the summary at the
    /// end (a map lookup per reply otherwise).
    replies_by_code: Box<[u64; 600]>,
    /// `config.codes` as a table by code, asked on every reply.
    codes: Box<[bool; 600]>,
    /// A warning kind whose detail lines are all printed, and how many
    /// more of it came in a row, not yet added to the summary: a hostile
    /// capture repeats one kind per packet (a gap each), and counting it
    /// here spares two map lookups each time.
    streak: Option<(&'static str, u64)>,
}

impl Ctx<'_> {
    fn warn(&mut self, kind: &'static str, detail: impl FnOnce() -> String) {
        if let Some((streak_kind, n)) = &mut self.streak {
            if std::ptr::eq(*streak_kind, kind) || *streak_kind == kind {
                *n += 1;
                return;
            }
        }
        self.flush_streak();
        *self.summary.warnings.entry(kind).or_insert(0) += 1;
        let n = self.details.entry(kind).or_insert(0);
        *n += 1;
        if *n <= DETAILS_PER_KIND {
            let line = format!("{}: {}", self.capture, detail());
            self.messages.push(line);
        } else {
            self.streak = Some((kind, 0));
        }
    }

    /// Adds the warnings counted in [`Ctx::streak`] to the summary.
    fn flush_streak(&mut self) {
        if let Some((kind, n)) = self.streak.take() {
            *self.summary.warnings.entry(kind).or_insert(0) += n;
        }
    }

    /// Like [`Ctx::warn`], counting `n` occurrences at once.
    fn warn_many(&mut self, kind: &'static str, n: u64, detail: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        *self.summary.warnings.entry(kind).or_insert(0) += n - 1;
        self.warn(kind, detail);
    }

    fn exchange(&mut self, meta: &Meta, ex: Exchange<'_>) {
        if self.config.track_data {
            let client = SocketAddr::new(meta.client.ip, meta.client.port);
            let server = SocketAddr::new(meta.server.ip, meta.server.port);
            self.data.exchange(meta.session_id, client, server, &ex);
        }
        let code = ex.reply.code;
        // Reply codes are 100..=599 (the parser takes no other).
        match self.replies_by_code.get_mut(usize::from(code)) {
            Some(n) => *n += 1,
            None => *self.summary.replies_by_code.entry(code).or_insert(0) += 1,
        }
        let verdict = verdict(code, ex.violation, ex.sent.is_some());
        let wanted = self.codes.get(usize::from(code)).copied().unwrap_or(false)
            || (self.config.violations && ex.first_reply && matches!(verdict, Some("accepted" | "other" | "refused")));
        if !wanted {
            return;
        }
        let sent = ex.sent;
        let show = self.config.show_passwords;
        let previous = sent.and_then(|s| s.previous.as_ref());
        let mut text = RowText::default();
        text.wire(&[ex.user.unwrap_or_default()]);
        text.wire_lines(ex.reply.text());
        text.wire(&sent.map(|s| s.command.display_parts(show)).unwrap_or_default());
        text.wire(&previous.map(|c| c.display_parts(show)).unwrap_or_default());
        let rule = diagnose(code, ex.sent, ex.violation, ex.greeting, text.plain_buf());
        text.end_plain();
        text.plain(ex.help_commands);
        text.wire(&[ex.server_software.get().unwrap_or_default().as_bytes()]);
        self.summary.rows += 1;
        let key = (ex.reply.origin.frame, meta.session_id);
        self.rows.push(
            key,
            IncidentRow::new(
                self.capture_shared.clone(),
                ex.reply.origin.frame,
                ex.reply.origin.ts,
                meta.session_id,
                (meta.client.ip, meta.client.port),
                (meta.server.ip, meta.server.port),
                code,
                sent.map(|s| s.command.origin.frame),
                previous.map(|c| c.origin.frame),
                rule,
                self.config.violations.then(|| verdict.unwrap_or("")),
                text,
            ),
        );
    }
}

/// The checker's verdict on a reply: `refused` (503 to a command that broke
/// a rule), `accepted` (1xx–3xx anyway: a lenient server), `other` (another
/// error), `server-policy` (a 503 no rule predicts).
fn verdict(code: u16, violation: Option<&'static crate::ftp::rules::Rule>, paired: bool) -> Option<&'static str> {
    match (violation.is_some(), code) {
        (true, 503) => Some("refused"),
        (true, 100..=399) => Some("accepted"),
        (true, _) => Some("other"),
        (false, 503) if paired => Some("server-policy"),
        _ => None,
    }
}

/// The rule id for a reported reply; its one-sentence diagnosis goes to
/// `out` (pieces pushed, not formatted: a busy capture has a row every few
/// packets).
fn diagnose(
    code: u16,
    sent: Option<&crate::ftp::session::SentCommand>,
    violation: Option<&'static crate::ftp::rules::Rule>,
    greeting: bool,
    out: &mut Vec<u8>,
) -> &'static str {
    use std::io::Write as _;
    let Some(sent) = sent else {
        if greeting {
            out.extend_from_slice(b"The server's greeting; it answers no command.");
            return "greeting";
        }
        if code == 421 {
            out.extend_from_slice(b"Unsolicited 421: the server is closing the control connection.");
            return "unsolicited";
        }
        let _ = write!(
            out,
            "{code} reply that answers no command in the capture (the command may not have been captured)."
        );
        return if code == 214 { "help" } else { "unpaired" };
    };
    let verb = if sent.command.verb.is_empty() { "the command" } else { sent.command.verb.as_str() };
    if code == 214 {
        let arg = String::from_utf8_lossy(sent.command.arg()).to_ascii_uppercase();
        let _ = match sent.command.verb.as_str() {
            "HELP" if arg.trim().is_empty() => write!(out, "Help reply to HELP: the commands the server recognises."),
            "HELP" => write!(out, "Help reply to HELP {}: help for one command.", escape_word(arg.trim())),
            "SITE" if arg.trim_start().starts_with("HELP") => {
                write!(out, "Help reply to SITE HELP: the server's SITE commands.")
            }
            _ => write!(out, "Help reply (214) to {verb}, which is not a HELP command."),
        };
        return "help";
    }
    if let Some(rule) = violation {
        rule.write_diagnosis(&sent.command.verb, out);
        if code == 503 && rule.source == Source::ServerPolicy {
            out.extend_from_slice(b" The 503 is this server's policy, not an RFC requirement.");
        }
        return rule.id;
    }
    if code == 503 {
        if RFC_503_VERBS.contains(&sent.command.verb.as_str()) {
            out.extend_from_slice(verb.as_bytes());
            out.extend_from_slice(b" was refused with 503 although the checker found no skipped step before it: server policy (or an earlier reply missing from the capture).");
        } else {
            out.extend_from_slice(b"503 to ");
            out.extend_from_slice(verb.as_bytes());
            out.extend_from_slice(b" goes beyond the RFCs, which allow 503 only for PASS, ACCT, RNTO, ADAT, PBSZ, PROT and HOST; no ordering rule was broken: server policy.");
        }
        return "server-policy";
    }
    ""
}

fn escape_word(s: &str) -> String {
    crate::report::escape_bytes(s.as_bytes(), false)
}

/// What one capture gave.
#[derive(Debug)]
pub struct CaptureOutcome {
    /// The problem that stopped reading early (rows before it are kept).
    pub problem: Option<CaptureProblem>,
    pub frames: u64,
}

/// Runs captures through the pipeline; owns what spans captures.
pub struct Analyzer {
    config: Config,
    next_session: u64,
    pub summary: Summary,
    /// Detailed warning lines not yet printed.
    pub messages: Vec<String>,
}

impl Analyzer {
    pub fn new(config: Config) -> Self {
        Analyzer { config, next_session: 1, summary: Summary::default(), messages: Vec::new() }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Analyses one capture read from `source`, handing every row to `sink`
    /// as soon as its place is settled: incidents in capture order (by the
    /// frame of the reply's first byte), transfers by the frame of their
    /// command, sessions by number.
    pub fn analyze(
        &mut self,
        name: &str,
        source: Box<dyn Read + Send>,
        sink: &mut dyn FnMut(Output),
    ) -> Result<CaptureOutcome, CaptureProblem> {
        let mut reader = CaptureReader::new(source)?;
        self.summary.captures += 1;
        let config = self.config.clone();
        let mut table = Table::new(&config);
        let mut ctx = Ctx {
            config: &config,
            capture: name,
            capture_shared: name.into(),
            summary: &mut self.summary,
            messages: &mut self.messages,
            details: BTreeMap::new(),
            rows: Ordered::default(),
            sessions: Ordered::default(),
            transfers: Ordered::default(),
            transcripts: Vec::new(),
            transcript_transfers: Vec::new(),
            transcript_sessions: BTreeSet::new(),
            data: DataTracker::new(config.data),
            sink,
            next_session: &mut self.next_session,
            total_buffered: 0,
            replies_by_code: Box::new([0; 600]),
            codes: Box::new(std::array::from_fn(|code| config.codes.contains(&(code as u16)))),
            streak: None,
        };
        let mut previous_ts: Option<Timestamp> = None;
        let (mut backwards, mut first_backwards) = (0u64, 0u64);
        let result = reader.for_each_frame(|frame| {
            if previous_ts.is_some_and(|p| frame.ts < p) {
                backwards += 1;
                if first_backwards == 0 {
                    first_backwards = frame.number;
                }
            }
            previous_ts = Some(frame.ts);
            table.frame(frame, &mut ctx);
            table.maybe_sweep(&mut ctx);
            table.release_due(&mut ctx, frame.number);
        });
        ctx.warn_many("timestamp earlier than the frame before", backwards, || match backwards - 1 {
            0 => format!("frame {first_backwards} is stamped earlier than the frame before it"),
            more => format!("frame {first_backwards} (and {more} more) is stamped earlier than the frame before it"),
        });
        for w in &reader.warnings {
            match w {
                ReadWarning::UnknownInterface { frame, if_id } => ctx.warn("packet on undeclared interface", || {
                    format!("frame {frame} uses interface {if_id}, never described")
                }),
                ReadWarning::BadTimeResolution { if_tsresol } => ctx.warn("bad time resolution", || {
                    format!("if_tsresol {if_tsresol:#x} is invalid; microseconds assumed")
                }),
            }
        }
        table.finish_all(&mut ctx);
        ctx.summary.frames += reader.frames();
        ctx.summary.bytes += reader.position();
        if ctx.data.expired > 0 {
            let n = ctx.data.expired;
            *ctx.summary.warnings.entry("data connection never seen").or_insert(0) += n;
        }
        if ctx.data.cap_hits > 0 {
            let n = ctx.data.cap_hits;
            ctx.warn("data tracking cap hit", || format!("{n} announced data connections not tracked (cap)"));
        }
        ctx.release_transfers(u64::MAX, true);
        let Ctx { rows, sessions, sink, .. } = &mut ctx;
        rows.release_all(&mut |r| sink(Output::Incident(r)));
        sessions.release_all(&mut |r| sink(Output::Session(Box::new(r))));
        let mut transcripts = std::mem::take(&mut ctx.transcripts);
        transcripts.sort_by_key(|t| t.session);
        for mut t in transcripts {
            t.transfers = ctx.transcript_transfers.iter().filter(|r| r.session == t.session).cloned().collect();
            (ctx.sink)(Output::Transcript(t));
        }
        ctx.flush_streak();
        for (code, n) in ctx.replies_by_code.iter().enumerate().filter(|(_, n)| **n > 0) {
            *ctx.summary.replies_by_code.entry(code as u16).or_insert(0) += n;
        }
        Ok(CaptureOutcome { problem: result.err(), frames: reader.frames() })
    }

    /// [`Analyzer::analyze`] with every output collected (tests, fuzzing).
    pub fn analyze_collect(&mut self, name: &str, source: Box<dyn Read + Send>) -> Result<Collected, CaptureProblem> {
        let mut c = Collected::default();
        let outcome = self.analyze(name, source, &mut |o| match o {
            Output::Incident(r) => c.rows.push(r),
            Output::Transfer(r) => c.transfers.push(*r),
            Output::Session(r) => c.sessions.push(*r),
            Output::Transcript(t) => c.transcripts.push(t),
        })?;
        c.problem = outcome.problem;
        c.frames = outcome.frames;
        Ok(c)
    }
}

/// Everything one capture produced, collected.
#[derive(Debug, Default)]
pub struct Collected {
    pub rows: Vec<IncidentRow>,
    pub transfers: Vec<TransferRow>,
    pub sessions: Vec<SessionRow>,
    pub transcripts: Vec<Transcript>,
    pub problem: Option<CaptureProblem>,
    pub frames: u64,
}

impl Ctx<'_> {
    /// Moves finished transfers whose data connection is over into the
    /// ordered buffer and releases those below `low`.
    fn release_transfers(&mut self, low: u64, all: bool) {
        for row in self.data.take_ready(self.capture, all) {
            if self.summary_wants_transcript(row.session) {
                self.transcript_transfers.push(row.clone());
            }
            if self.config.transfer_rows {
                self.transfers.push((row.start_frame, row.session), row);
            }
        }
        let low = low.min(self.data.lowest_open_frame().unwrap_or(u64::MAX));
        let Ctx { transfers, sink, .. } = self;
        if all {
            transfers.release_all(&mut |r| sink(Output::Transfer(Box::new(r))));
        } else {
            transfers.release(low, &mut |r| sink(Output::Transfer(Box::new(r))));
        }
    }

    fn summary_wants_transcript(&self, session: u64) -> bool {
        self.transcript_sessions.contains(&session)
    }
}

/// The control ports as a bitmap: asked twice per packet.
struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    fn of(ports: &[u16]) -> Self {
        let mut bits = Box::new([0u64; 1024]);
        for &p in ports {
            bits[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        PortSet(bits)
    }

    fn contains(&self, port: u16) -> bool {
        self.0[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

/// The flow table of one capture.
struct Table {
    /// Flows that carried payload (see [`Flows`]).
    conns: Flows,
    /// Flows with no payload yet; they count against `max_flows` too.
    handshakes: FlowMap<FlowKey, Handshake>,
    ports: PortSet,
    detect: bool,
    reassembly: ReassemblyLimits,
    session: SessionLimits,
    max_flows: usize,
    idle_nanos: i128,
    now: Timestamp,
    last_sweep: Timestamp,
    /// No flow's clock is older than this (see [`Table::sweep_idle`]).
    oldest_clock: Timestamp,
    /// Scratch for the sessions an idle sweep closes, kept to spare an
    /// allocation per sweep.
    closed: Vec<u64>,
    /// Scratch for the flows a sweep takes out of the table.
    gone: Vec<Slot>,
    /// Scratch for [`nth_smallest_rank`].
    candidates: Vec<u64>,
    /// Scratch for the positions [`Table::make_room`] evicts.
    positions: Vec<u32>,
    spare: Spare,
}

impl Table {
    fn new(config: &Config) -> Self {
        Table {
            conns: Flows::default(),
            handshakes: FlowMap::default(),
            ports: PortSet::of(&config.ports),
            detect: config.detect,
            reassembly: config.reassembly,
            session: config.session,
            max_flows: config.max_flows.max(1),
            idle_nanos: (config.idle_timeout_secs.max(1.0) * 1e9) as i128,
            now: Timestamp::default(),
            last_sweep: Timestamp::default(),
            oldest_clock: Timestamp::default(),
            closed: Vec::new(),
            gone: Vec::new(),
            candidates: Vec::new(),
            positions: Vec::new(),
            spare: Spare::default(),
        }
    }

    fn frame(&mut self, frame: &Frame<'_>, ctx: &mut Ctx<'_>) {
        // Most frames are not FTP control: without --detect, those are
        // turned away on their ports before anything else is decoded.
        let decoded = if self.detect {
            decode_tcp(frame.linktype, frame.data).map(Some)
        } else {
            let (ports, data) = (&self.ports, &ctx.data);
            decode_tcp_wanted(frame.linktype, frame.data, |s, d| {
                ports.contains(s) || ports.contains(d) || data.wants_ports(s, d)
            })
        };
        let seg = match decoded {
            Ok(Some(seg)) => seg,
            Ok(None) => {
                ctx.summary.tcp_segments += 1;
                return;
            }
            Err(reason) => {
                *ctx.summary.skipped.entry(reason.label()).or_insert(0) += 1;
                return;
            }
        };
        ctx.summary.tcp_segments += 1;
        if frame.ts > self.now {
            self.now = frame.ts;
        }
        let port_match = self.ports.contains(seg.dst_port) || self.ports.contains(seg.src_port);
        let origin = Origin { frame: frame.number, ts: frame.ts };
        if !port_match && ctx.data.wants_ports(seg.src_port, seg.dst_port) {
            ctx.data.segment(&seg, origin);
            return;
        }
        if !port_match && !self.detect {
            return;
        }
        let (key, from_lo) = FlowKey::of(&seg);
        let starts_flow = seg.flags.syn || !seg.payload.is_empty() || seg.missing_tail > 0;

        // A new SYN on a known 4-tuple with another ISN is a new connection.
        if seg.flags.syn && !seg.flags.ack {
            if let Some(Slot { conn, .. }) = self.conns.get(&key) {
                let client_side = conn.lo_is_client.map(|lo| lo == from_lo).unwrap_or(true);
                let old_isn = if client_side { conn.to_server.isn() } else { conn.to_client.isn() };
                if old_isn.is_some_and(|isn| isn != seg.seq.wrapping_add(1)) {
                    if let Some(slot) = self.conns.remove(&key) {
                        self.spare.keep(finish_conn(slot, ctx, "new connection on the same 4-tuple"));
                    }
                }
            }
        }
        let carries_data = !seg.payload.is_empty() || seg.missing_tail > 0;
        if !carries_data && !self.conns.contains_key(&key) {
            self.handshake(&seg, key, from_lo, origin, ctx);
            return;
        }
        // One hash lookup per packet on the common path.
        if starts_flow
            && self.flows() >= self.max_flows
            && !self.conns.contains_key(&key)
            && !self.handshakes.contains_key(&key)
            && !self.make_room(ctx)
        {
            ctx.warn("flow table full", || {
                format!("frame {}: more than {} flows at once; new flow not tracked", frame.number, self.max_flows)
            });
            return;
        }
        let position = self.conns.position_or_insert(key, || {
            if !starts_flow {
                return None;
            }
            {
                // Most new flows never had a handshake entry (mid-stream, or
                // a table full of sessions): skip hashing the key then.
                let hs = if self.handshakes.is_empty() { None } else { self.handshakes.remove(&key) };
                let lo_is_client = if let Some(h) = hs {
                    Some(h.lo_is_client)
                } else if seg.flags.syn {
                    // The SYN's sender is the client; a SYN-ACK's sender the server.
                    Some(from_lo != seg.flags.ack)
                } else if port_match {
                    let server_is_dst = self.ports.contains(seg.dst_port);
                    Some(if server_is_dst { from_lo } else { !from_lo })
                } else {
                    None
                };
                let kind = if port_match { Kind::Ftp } else { Kind::Unknown };
                let first = hs.map(|h| h.first).unwrap_or(origin);
                let mut conn = match self.spare.take() {
                    Some(mut kept) => {
                        kept.renew(kind, lo_is_client, first, frame.ts, self.reassembly, self.session);
                        kept
                    }
                    None => Box::new(Conn::new(kind, lo_is_client, first, frame.ts, self.reassembly, self.session)),
                };
                if let Some(h) = hs {
                    let Conn { to_server, to_client, .. } = &mut *conn;
                    let (lo, hi) = if h.lo_is_client { (to_server, to_client) } else { (to_client, to_server) };
                    if let Some(isn) = h.isn[0] {
                        lo.syn(isn);
                    }
                    if let Some(isn) = h.isn[1] {
                        hi.syn(isn);
                    }
                }
                Some(Slot {
                    key,
                    conn,
                    last_frame: frame.number,
                    clock: self.now,
                    session_id: 0,
                    droppable: true,
                    silent: true,
                })
            }
        });
        let Some(position) = position else { return };
        let Some(slot) = self.conns.at_mut(position) else { return };
        slot.last_frame = frame.number;
        slot.clock = self.now;
        let end = feed(&mut slot.conn, &seg, from_lo, origin, ctx);
        self.conns.refresh(position);
        if let Some(end) = end {
            if let Some(slot) = self.conns.take_at(position) {
                self.spare.keep(finish_conn(slot, ctx, end));
            }
        }
    }

    /// Closes idle flows once a minute of capture time. Runs after the
    /// frame was handled, so the flow a frame belongs to is never idle at
    /// it, whatever its timestamp (a jump forward closes the others only).
    fn maybe_sweep(&mut self, ctx: &mut Ctx<'_>) {
        if self.now.as_nanos() - self.last_sweep.as_nanos() > 60_000_000_000 {
            self.last_sweep = self.now;
            self.sweep_idle(ctx);
            ctx.data.expire(self.now);
        }
    }

    /// Frees table space when it is full: idle flows first, then flows
    /// that never carried FTP payload, then the least recently active
    /// eighth of the rest (Zeek and Suricata also recycle the oldest
    /// flows). Every call frees at least an eighth of the table, so a
    /// flood of new flows costs amortised constant time per flow.
    fn make_room(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.sweep_idle(ctx);
        if self.flows() < self.max_flows {
            return true;
        }
        let evicted_handshakes = self.handshakes.len() as u64;
        self.handshakes.clear();
        let max = self.max_flows;
        let target = self.max_flows - (self.max_flows / 8).max(1);
        // Recency by frame number: arrival order, even where many packets
        // share a timestamp or the clock goes backwards. A frame updates one
        // flow, so no two flows share a `last_frame` and the cut below
        // takes exactly `excess` sessions.
        let ranks = self.conns.ranks();
        let range = RankRange::of(ranks);
        let quiet = (self.conns.len() - range.count) as u64;
        let excess = range.count.saturating_sub(target);
        // Droppable flows rank 0, holes above every flow: everything ranked
        // up to the cut goes.
        let cut = if excess > 0 { nth_smallest_rank(ranks, &range, excess - 1, &mut self.candidates) } else { 0 };
        let mut positions = std::mem::take(&mut self.positions);
        if positions.len() < ranks.len() {
            positions.resize(ranks.len(), 0);
        }
        let mut taken = 0;
        for (i, &rank) in ranks.iter().enumerate() {
            // Without a branch: a random eighth of the positions goes.
            positions[taken] = i as u32;
            taken += usize::from(rank <= cut);
        }
        let mut gone = std::mem::take(&mut self.gone);
        for &i in &positions[..taken] {
            if let Some(slot) = self.conns.take_at(i as usize) {
                retire(slot, ctx, &mut gone, &mut self.spare);
            }
        }
        self.positions = positions;
        let evicted = evicted_handshakes + quiet;
        ctx.warn_many("flow evicted (flow table full)", evicted, || {
            format!("{evicted} flows without FTP payload dropped to make room (more than {max} flows at once)")
        });
        // Still too full after those: the least recently active sessions
        // go too.
        let evicted = excess as u64;
        ctx.warn_many("session evicted (flow table full)", evicted, || {
            format!(
                "{evicted} least recently active sessions closed to make room (more than {max} flows at once); \
                 a later packet of one starts a new session"
            )
        });
        finish_in_session_order(&mut gone, ctx, "evicted", &mut self.spare);
        self.spare.settle();
        self.gone = gone;
        self.flows() < self.max_flows
    }

    /// Flows tracked now (with payload or not).
    fn flows(&self) -> usize {
        self.conns.len() + self.handshakes.len()
    }

    /// A segment without payload of a flow that has carried none yet.
    fn handshake(&mut self, seg: &TcpSegment<'_>, key: FlowKey, from_lo: bool, origin: Origin, ctx: &mut Ctx<'_>) {
        let side = usize::from(!from_lo);
        if let Some(h) = self.handshakes.get_mut(&key) {
            if seg.flags.rst {
                self.handshakes.remove(&key);
                return;
            }
            h.clock = self.now;
            if !seg.flags.syn {
                return;
            }
            match h.isn[side] {
                None => {
                    h.isn[side] = Some(seg.seq);
                    return;
                }
                Some(isn) if isn == seg.seq || seg.flags.ack => return,
                // Another ISN on the same 4-tuple: a new connection.
                Some(_) => {}
            }
        } else if !seg.flags.syn {
            return;
        } else if self.flows() >= self.max_flows && !self.make_room(ctx) {
            let max = self.max_flows;
            ctx.warn("flow table full", || {
                format!("frame {}: more than {max} flows at once; new flow not tracked", origin.frame)
            });
            return;
        }
        let mut isn = [None, None];
        isn[side] = Some(seg.seq);
        // The SYN's sender is the client; a SYN-ACK's sender the server.
        let lo_is_client = from_lo != seg.flags.ack;
        self.handshakes.insert(key, Handshake { lo_is_client, isn, first: origin, clock: self.now });
    }

    /// Closes the flows idle for longer than the idle timeout, in session
    /// order. Returns at once while no flow can be idle yet: every flow's
    /// clock is at least `oldest_clock`, the lowest one left by the last
    /// sweep (a new flow starts at the capture clock, which never goes
    /// back), so a full table does not cost a scan per new flow.
    fn sweep_idle(&mut self, ctx: &mut Ctx<'_>) {
        let now = self.now.as_nanos();
        let limit = self.idle_nanos;
        if now - self.oldest_clock.as_nanos() <= limit {
            return;
        }
        self.handshakes.retain(|_, h| now - h.clock.as_nanos() <= limit);
        let mut idle = std::mem::take(&mut self.gone);
        let mut closed = std::mem::take(&mut self.closed);
        closed.clear();
        for i in 0..self.conns.ranks().len() {
            if self.conns.at_mut(i).is_some_and(|s| now - s.clock.as_nanos() > limit) {
                if let Some(slot) = self.conns.take_at(i) {
                    if slot.conn.meta.is_some() {
                        closed.push(slot.session_id);
                    }
                    retire(slot, ctx, &mut idle, &mut self.spare);
                }
            }
        }
        // Warned in session order: the table's order changes from run to run.
        closed.sort_unstable();
        for &id in &closed {
            ctx.warn("idle flow closed", || format!("session {id} idle for more than the idle timeout; closed"));
        }
        self.closed = closed;
        self.oldest_clock = self
            .conns
            .values()
            .map(|s| s.clock)
            .chain(self.handshakes.values().map(|h| h.clock))
            .min()
            .unwrap_or(self.now);
        finish_in_session_order(&mut idle, ctx, "idle-timeout", &mut self.spare);
        self.spare.settle();
        self.gone = idle;
    }

    /// Releases buffered rows whose order is settled. Incidents: below the
    /// first byte of any reply still being assembled; sessions: below the
    /// lowest live session number.
    fn release_due(&mut self, ctx: &mut Ctx<'_>, frame: u64) {
        if ctx.rows.due() {
            let low = self
                .conns
                .values()
                .filter_map(|s| s.conn.pending_reply_frame())
                .min()
                .unwrap_or(u64::MAX)
                .min(frame + 1);
            let Ctx { rows, sink, .. } = &mut *ctx;
            if rows.release(low, &mut |r| sink(Output::Incident(r))) {
                ctx.warn("rows out of order", || {
                    "more rows waited for an unfinished reply than the reorder buffer holds; some were written early"
                        .into()
                });
            }
        }
        if ctx.sessions.due() {
            let low = self
                .conns
                .values()
                .filter_map(|s| s.conn.meta.map(|m| m.session_id))
                .min()
                .unwrap_or(u64::MAX)
                .min(*ctx.next_session);
            let Ctx { sessions, sink, .. } = &mut *ctx;
            sessions.release(low, &mut |r| sink(Output::Session(Box::new(r))));
        }
        if ctx.config.track_data && (ctx.data.ready_count() >= crate::ordered::THRESHOLD || ctx.transfers.due()) {
            ctx.release_transfers(frame + 1, false);
        }
    }

    fn finish_all(&mut self, ctx: &mut Ctx<'_>) {
        self.handshakes.clear();
        let mut all: Vec<(u64, usize)> =
            (0..self.conns.ranks().len()).filter_map(|i| Some((self.conns.at_mut(i)?.session_id, i))).collect();
        all.sort_by_key(|(id, _)| *id);
        for (_, i) in all {
            if let Some(slot) = self.conns.take_at(i) {
                drop(finish_conn(slot, ctx, "capture-end"));
            }
        }
    }
}

/// Runs one segment of a flow past its protocol state (`--detect`, the
/// handshake, the first payload that makes it a session) into [`segment`];
/// says how the connection ended when it is over.
fn feed(
    conn: &mut Conn,
    seg: &TcpSegment<'_>,
    from_lo: bool,
    origin: Origin,
    ctx: &mut Ctx<'_>,
) -> Option<&'static str> {
    conn.last_seen = origin.ts;
    if conn.kind == Kind::NotFtp {
        return None;
    }
    if conn.kind == Kind::Unknown && !seg.payload.is_empty() {
        // --detect: the first payload decides. A `220` greeting names its
        // sender the server; anything else is not FTP control.
        let p = seg.payload;
        if p.len() >= 4 && &p[..3] == b"220" && (p[3] == b' ' || p[3] == b'-') {
            conn.kind = Kind::Ftp;
            conn.lo_is_client = Some(!from_lo);
        } else {
            conn.kind = Kind::NotFtp;
            return None;
        }
    }
    if conn.kind == Kind::Unknown {
        // Handshake only so far; remember the ISNs.
        if seg.flags.syn {
            let from_client = match conn.lo_is_client {
                Some(lo) => lo == from_lo,
                None => return None,
            };
            if from_client {
                conn.to_server.syn(seg.seq);
            } else {
                conn.to_client.syn(seg.seq);
            }
        }
        return None;
    }
    let from_client = conn.lo_is_client? == from_lo;
    if conn.meta.is_none() && (!seg.payload.is_empty() || seg.missing_tail > 0) {
        let (client, server) = if from_client {
            (Endpoint { ip: seg.src, port: seg.src_port }, Endpoint { ip: seg.dst, port: seg.dst_port })
        } else {
            (Endpoint { ip: seg.dst, port: seg.dst_port }, Endpoint { ip: seg.src, port: seg.src_port })
        };
        let session_id = *ctx.next_session;
        *ctx.next_session += 1;
        ctx.summary.sessions += 1;
        conn.meta = Some(Meta { session_id, client, server });
        if ctx.config.transcript.is_some_and(|sel| sel.matches(session_id, client, server)) {
            conn.session.transcript = Some(Vec::new());
            ctx.transcript_sessions.insert(session_id);
        }
    }
    segment(conn, seg, from_client, origin, ctx)
}

/// Routes one stream event of a connection into its session.
fn stream_event(ev: StreamEvent<'_>, from_client: bool, session: &mut Session, meta: &Meta, ctx: &mut Ctx<'_>) {
    match ev {
        StreamEvent::Data { bytes, origin } => {
            if from_client {
                session.client_data(bytes, origin);
            } else {
                session.server_data(bytes, origin, &mut |ex| ctx.exchange(meta, ex));
            }
        }
        StreamEvent::Gap { len, origin } => {
            let side = if from_client { "client" } else { "server" };
            session.note(origin, || format!("{len} {side} bytes missing from the capture (gap)"));
            ctx.warn("gap in stream", || {
                format!("session {}: {len} {side} bytes missing before frame {}", meta.session_id, origin.frame)
            });
            if from_client {
                session.client_gap();
            } else {
                session.server_gap();
                if ctx.config.track_data {
                    ctx.data.server_gap(meta.session_id);
                }
            }
        }
        StreamEvent::Conflict { first_frame, later_frame, len, kept } => {
            let kept = match kept {
                OverlapPolicy::First => "first",
                OverlapPolicy::Last => "last",
            };
            ctx.warn("overlapping bytes differ", || {
                format!(
                    "session {}: {len} retransmitted bytes in frame {later_frame} differ from frame {first_frame}; kept the {kept} copy",
                    meta.session_id
                )
            });
        }
    }
}

/// Feeds one segment to a connection; says how it ended when it is over.
fn segment(
    conn: &mut Conn,
    seg: &TcpSegment<'_>,
    from_client: bool,
    origin: Origin,
    ctx: &mut Ctx<'_>,
) -> Option<&'static str> {
    let Some(meta) = conn.meta else {
        // No payload yet: only the handshake and teardown matter.
        if seg.flags.syn {
            if from_client {
                conn.to_server.syn(seg.seq);
            } else {
                conn.to_client.syn(seg.seq);
            }
        }
        return seg.flags.rst.then_some("rst");
    };
    let Conn { to_server, to_client, session, saw_data, .. } = conn;
    let (own, peer) = if from_client { (to_server, to_client) } else { (to_client, to_server) };
    let before = own.buffered() + peer.buffered();
    if seg.flags.syn {
        own.syn(seg.seq);
    }
    let data_seq = if seg.flags.syn { seg.seq.wrapping_add(1) } else { seg.seq };
    if !seg.payload.is_empty() || seg.missing_tail > 0 {
        *saw_data = true;
        own.push(data_seq, seg.payload, seg.missing_tail, origin, &mut |ev| {
            stream_event(ev, from_client, session, &meta, ctx)
        });
    }
    if seg.flags.ack {
        peer.peer_ack(seg.ack, &mut |ev| stream_event(ev, !from_client, session, &meta, ctx));
    }
    if seg.flags.fin {
        own.fin(data_seq, seg.payload.len() + seg.missing_tail as usize);
    }
    let after = own.buffered() + peer.buffered();
    ctx.total_buffered = (ctx.total_buffered + after).saturating_sub(before);
    if ctx.total_buffered > ctx.config.max_total_buffered {
        ctx.warn("total buffer cap hit", || {
            format!(
                "session {}: out-of-order bytes over all flows exceeded the cap; holes declared gaps",
                meta.session_id
            )
        });
        let freed = own.buffered();
        own.finish(&mut |ev| stream_event(ev, from_client, session, &meta, ctx));
        ctx.total_buffered = ctx.total_buffered.saturating_sub(freed);
    }
    // A direction ends once every byte up to its FIN was delivered.
    if from_client && !conn.client_ended && conn.to_server.is_finished() {
        conn.client_ended = true;
        conn.session.client_end();
    }
    if !from_client && !conn.server_ended && conn.to_client.is_finished() {
        conn.server_ended = true;
        conn.session.server_end(&mut |ex| ctx.exchange(&meta, ex));
    }
    if conn.session.stopped == Some(StopReason::Encrypted) {
        // Nothing more to parse; keep the entry so its packets are skipped.
        return None;
    }
    if seg.flags.rst {
        Some("rst")
    } else if conn.client_ended && conn.server_ended {
        Some("fin")
    } else {
        None
    }
}

/// Whether eviction selects among flows of this rank (see [`Flows`]): not
/// a droppable flow (rank 0), not a hole.
fn selectable(rank: u64) -> bool {
    rank != 0 && rank != HOLE
}

/// The lowest and highest selectable rank of a table, and how many there
/// are.
struct RankRange {
    lo: u64,
    hi: u64,
    count: usize,
}

impl RankRange {
    fn of(ranks: &[u64]) -> RankRange {
        let mut range = RankRange { lo: u64::MAX, hi: 0, count: 0 };
        for &r in ranks {
            let ok = selectable(r);
            range.lo = if ok { range.lo.min(r) } else { range.lo };
            range.hi = if ok { range.hi.max(r) } else { range.hi };
            range.count += usize::from(ok);
        }
        range
    }
}

/// The `n`-th smallest (from 0) of the selectable ranks in `ranks`
/// (`range` of them, more than `n`). A histogram of them over their range
/// finds the bin holding it, and only that bin's ranks are selected among.
/// The passes have no data-dependent branches: ranks come in the table's
/// arbitrary order, where compare-and-branch selection mispredicts on most
/// of them. Exact for any spread (all in one bin: a plain selection).
fn nth_smallest_rank(ranks: &[u64], range: &RankRange, n: usize, scratch: &mut Vec<u64>) -> u64 {
    const BIN_BITS: u32 = 10;
    const MASK: u64 = (1 << BIN_BITS) - 1;
    let (lo, hi) = (range.lo, range.hi);
    if lo >= hi {
        return lo;
    }
    // Offsets from `lo` shifted down to fit 2^BIN_BITS bins (others fall
    // in some bin too, but count for nothing).
    let shift = (u64::BITS - (hi - lo).leading_zeros()).saturating_sub(BIN_BITS);
    let bin_of = |r: u64| r.wrapping_sub(lo) >> shift;
    let mut counts = [0u32; 1 << BIN_BITS];
    for &r in ranks {
        counts[(bin_of(r) & MASK) as usize] += u32::from(selectable(r));
    }
    let mut below = 0usize;
    let mut bin = 0;
    for (i, &c) in counts.iter().enumerate() {
        if below + c as usize > n {
            bin = i as u64;
            break;
        }
        below += c as usize;
    }
    if scratch.len() < ranks.len() {
        scratch.resize(ranks.len(), 0);
    }
    let mut k = 0;
    for &r in ranks {
        scratch[k] = r;
        k += usize::from(selectable(r) & (bin_of(r) == bin));
    }
    *scratch[..k].select_nth_unstable(n - below).1
}

/// Takes a flow out of the table: finishes it at once when that emits
/// nothing (a quiet session with no data connection pending, see
/// [`finish_conn`]), so its place in session order does not matter and a
/// flood of them is not sorted; else adds it to `later`, for
/// [`finish_in_session_order`].
fn retire(slot: Slot, ctx: &mut Ctx<'_>, later: &mut Vec<Slot>, spare: &mut Spare) {
    if slot.silent && !ctx.config.session_rows && !ctx.data.has_session(slot.session_id) {
        spare.keep(slot.conn);
    } else {
        later.push(slot);
    }
}

/// Finishes the connections in `slots` (emptied) in session order,
/// whatever order the table gave them in: output must not depend on the
/// hash seed. (Flows without a session all have number 0; finishing those
/// emits nothing, so their order does not matter.)
fn finish_in_session_order(slots: &mut Vec<Slot>, ctx: &mut Ctx<'_>, end: &'static str, spare: &mut Spare) {
    slots.sort_unstable_by_key(|s| s.session_id);
    for slot in slots.drain(..) {
        spare.keep(finish_conn(slot, ctx, end));
    }
}

/// Finished connections' boxes, kept for new connections: a new session
/// then reuses the box and its small buffers instead of allocating them
/// (a flood of short sessions is mostly allocation otherwise).
#[derive(Default)]
#[allow(clippy::vec_box)] // the boxes move between this list and table slots
struct Spare(Vec<Box<Conn>>);

/// Most boxes [`Spare`] keeps: an eviction's worth at the default table
/// size, about 2 MiB.
const SPARE_CONNS: usize = 1024;

impl Spare {
    fn keep(&mut self, conn: Box<Conn>) {
        if self.0.len() < SPARE_CONNS {
            self.0.push(conn);
        }
    }

    /// Orders the kept boxes so that they are handed out by ascending
    /// address. A sweep keeps them in table order; handed out in an order
    /// unrelated to their addresses, every new session would touch its
    /// cold box at random, while in address order the memory is read ahead.
    fn settle(&mut self) {
        self.0.sort_unstable_by_key(|b| std::cmp::Reverse(&**b as *const Conn as usize));
    }

    /// A kept box, to be renewed ([`Conn::renew`]) before use.
    fn take(&mut self) -> Option<Box<Conn>> {
        self.0.pop()
    }
}

/// Flushes a connection that is over (FIN/RST, idle, evicted, capture
/// end); hands back its box.
fn finish_conn(slot: Slot, ctx: &mut Ctx<'_>, end: &'static str) -> Box<Conn> {
    // A quiet connection is not read again: flows are evicted or time out
    // long after their last packet, when their memory is out of every
    // cache, and a flood of them is mostly that wait.
    if slot.silent && !ctx.config.session_rows {
        if slot.session_id != 0 {
            ctx.data.session_end(slot.session_id);
        }
        return slot.conn;
    }
    // Worked on in place: moving a connection out of its box copies a
    // kilobyte, per session.
    let mut boxed = slot.conn;
    finish_conn_in(&mut boxed, slot.last_frame, ctx, end);
    boxed
}

fn finish_conn_in(conn: &mut Conn, last_frame: u64, ctx: &mut Ctx<'_>, end: &'static str) {
    ctx.total_buffered = ctx.total_buffered.saturating_sub(conn.to_server.buffered() + conn.to_client.buffered());
    let Some(meta) = conn.meta else { return };
    let Conn { to_server, to_client, session, .. } = &mut *conn;
    to_server.finish(&mut |ev| stream_event(ev, true, session, &meta, ctx));
    to_client.finish(&mut |ev| stream_event(ev, false, session, &meta, ctx));
    session.client_end();
    session.server_end(&mut |ex| ctx.exchange(&meta, ex));
    let id = meta.session_id;
    ctx.data.session_end(id);
    let transcribed = conn.session.transcript.is_some();
    let row = (ctx.config.session_rows || transcribed).then(|| session_row(conn, last_frame, &meta, ctx, end));
    let dropped = conn.session.transcript_dropped;
    if dropped > 0 {
        ctx.warn("transcript cap hit", || {
            format!("session {id}: transcript too long; {dropped} later lines not kept in memory")
        });
    }
    if let Some(mut entries) = conn.session.transcript.take() {
        if dropped > 0 {
            let last = entries.last().map(|e| e.frame()).unwrap_or(0);
            entries.push(TranscriptEntry::Note {
                frame: last,
                ts: conn.last_seen,
                text: format!("transcript cut here: {dropped} later lines not kept (memory cap)"),
            });
        }
        if conn.session.stopped == Some(StopReason::Encrypted) {
            let last = entries.last().map(|e| e.frame()).unwrap_or(0);
            entries.push(TranscriptEntry::Note {
                frame: last,
                ts: conn.last_seen,
                text: "AUTH was accepted: the rest of the control channel is TLS and was not parsed".into(),
            });
        }
        let row = row.as_ref();
        ctx.transcripts.push(Transcript {
            capture: ctx.capture.to_string(),
            session: id,
            client: SocketAddr::new(meta.client.ip, meta.client.port).to_string(),
            server: SocketAddr::new(meta.server.ip, meta.server.port).to_string(),
            server_software: row.map(|r| r.server_software.clone()).unwrap_or_default(),
            user: row.map(|r| r.user.clone()).unwrap_or_default(),
            entries,
            transfers: Vec::new(),
            ended: row.map(|r| r.ended.clone()).unwrap_or_default(),
        });
    }
    for (r, side) in [(&conn.to_server, "client"), (&conn.to_client, "server")] {
        if r.stats.cap_hits > 0 {
            ctx.warn("reassembly cap hit", || {
                format!("session {id}: {side} stream exceeded the out-of-order buffer cap")
            });
        }
        if r.stats.out_of_window > 0 {
            ctx.warn("segment out of window", || {
                format!("session {id}: {} {side} segments far outside the stream ignored", r.stats.out_of_window)
            });
        }
    }
    let s = &conn.session;
    let unlisted = s.unlisted_verbs();
    if !unlisted.is_empty() {
        let names = unlisted.join(" ");
        ctx.warn("command not in server's HELP list", || {
            format!("session {id}: the client used {names}, which the server's HELP list does not contain")
        });
    }
    if let Some(row) = row.filter(|_| ctx.config.session_rows) {
        ctx.sessions.push((row.session, 0), row);
    }
    if s.stopped == Some(StopReason::Encrypted) {
        ctx.warn("session encrypted (AUTH TLS)", || {
            format!("session {id}: AUTH answered 234; the rest is TLS and was not parsed")
        });
    }
    let w = s.warnings;
    if w.garbage_lines > 0 {
        ctx.warn("unparsable server line", || {
            format!("session {id}: {} server lines are not replies", w.garbage_lines)
        });
    }
    if w.unpaired_replies > 0 {
        ctx.warn("reply without command", || {
            format!("session {id}: {} replies answer no captured command", w.unpaired_replies)
        });
    }
    if w.replies_lost_in_gap > 0 {
        ctx.warn("reply lost in gap", || {
            format!(
                "session {id}: {} replies began in a gap; their commands were taken as answered",
                w.replies_lost_in_gap
            )
        });
    }
    if w.pending_overflow > 0 {
        ctx.warn("pending command cap hit", || {
            format!("session {id}: {} unanswered commands dropped", w.pending_overflow)
        });
    }
    if w.code_mismatch > 0 {
        ctx.warn("multi-line reply code mismatch", || {
            format!("session {id}: {} multi-line replies closed with another code", w.code_mismatch)
        });
    }
    let (truncated, lost) = s.line_warnings();
    if truncated > 0 {
        ctx.warn("line over length cap", || format!("session {id}: {truncated} lines cut at the length cap"));
    }
    let dropped = s.reply_lines_dropped();
    if dropped > 0 {
        ctx.warn("reply line cap hit", || {
            format!("session {id}: {dropped} lines of over-long multi-line replies dropped (--max-reply-lines)")
        });
    }
    if lost > 0 {
        ctx.warn("partial line lost in gap", || format!("session {id}: {lost} partial lines dropped at gaps"));
    }
}

/// The `--sessions` row of a finished connection (transfer counts are
/// added as its transfers are reported).
fn session_row(conn: &Conn, last_frame: u64, meta: &Meta, ctx: &mut Ctx<'_>, end: &'static str) -> SessionRow {
    let s = &conn.session;
    let w = s.warnings;
    let (truncated, lost) = s.line_warnings();
    let cap_hits = conn.to_server.stats.cap_hits + conn.to_client.stats.cap_hits;
    let notes: Vec<String> = [
        ("gaps", s.gaps),
        ("reassembly-cap", cap_hits),
        ("garbage-lines", w.garbage_lines),
        ("unpaired-replies", w.unpaired_replies),
        ("replies-lost-in-gap", w.replies_lost_in_gap),
        ("pending-cap", w.pending_overflow),
        ("code-mismatch", w.code_mismatch),
        ("long-lines", truncated),
        ("reply-line-cap", s.reply_lines_dropped()),
        ("lost-partial-lines", lost),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{k}={n}"))
    .collect();
    let ended = if s.quit_answered { "quit" } else { end };
    let banner = s.banner.as_deref().unwrap_or(b"");
    let unlisted = s.unlisted_verbs();
    let (ok, failed, up, down) = ctx.data.session_totals(meta.session_id);
    SessionRow {
        capture: ctx.capture.to_string(),
        session: meta.session_id,
        client_ip: meta.client.ip.to_string(),
        client_port: meta.client.port,
        server_ip: meta.server.ip.to_string(),
        server_port: meta.server.port,
        start_time: conn.first.ts.to_string(),
        start_frame: conn.first.frame,
        end_time: conn.last_seen.to_string(),
        end_frame: last_frame,
        duration_s: format!("{:.6}", conn.last_seen.secs_since(&conn.first.ts).max(0.0)),
        user: s.user().map(cell).unwrap_or_default(),
        server_software: s.software().get().map(|v| cell(v.as_bytes())).unwrap_or_default(),
        banner: multiline_cell(banner),
        syst: s.syst.as_deref().map(multiline_cell).unwrap_or_default(),
        login: s.login.to_string(),
        commands: s.commands,
        replies_214: s.replies_214,
        replies_503: s.replies_503,
        transfers_ok: ok,
        transfers_failed: failed,
        bytes_up: up,
        bytes_down: down,
        tls: s.auth_sent,
        ended: if s.stopped == Some(StopReason::Encrypted) && ended != "quit" {
            format!("{ended} (encrypted after AUTH)")
        } else {
            ended.to_string()
        },
        unlisted_commands: unlisted.join(" "),
        warnings: notes.join(";"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian µs pcap of Ethernet/IPv4/TCP frames:
    /// `(seconds, src, dst, sport, dport, flags, seq, payload)`.
    type Pkt<'a> = (u32, [u8; 4], [u8; 4], u16, u16, u8, u32, &'a [u8]);

    fn pcap(pkts: &[Pkt<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for &(secs, src, dst, sport, dport, flags, seq, payload) in pkts {
            let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
            let total = (40 + payload.len()) as u16;
            f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 6, 0, 0]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&dst);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&seq.to_be_bytes());
            f.extend_from_slice(&0u32.to_be_bytes());
            f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
            f.extend_from_slice(payload);
            for v in [secs, 0, f.len() as u32, f.len() as u32] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&f);
        }
        out
    }

    const SYN: u8 = 0x02;
    const PSH_ACK: u8 = 0x18;
    const C: [u8; 4] = [10, 0, 0, 1];
    const S: [u8; 4] = [10, 0, 0, 2];

    fn run(config: Config, data: Vec<u8>) -> (Collected, Summary) {
        let mut a = Analyzer::new(Config { session_rows: true, ..config });
        let c = a.analyze_collect("t", Box::new(std::io::Cursor::new(data))).unwrap();
        (c, a.summary.clone())
    }

    #[test]
    fn syn_flood_is_evicted_visibly_and_the_session_survives() {
        let mut pkts: Vec<Pkt<'_>> = vec![
            (100, C, S, 40000, 21, SYN, 999, b""),
            (100, S, C, 21, 40000, SYN | 0x10, 4999, b""),
            (100, S, C, 21, 40000, PSH_ACK, 5000, b"220 hi\r\n"),
            (100, C, S, 40000, 21, PSH_ACK, 1000, b"RNTO x\r\n"),
        ];
        for i in 0..1000u32 {
            pkts.push((101, [10, 1, (i >> 8) as u8, i as u8], S, 1024, 21, SYN, i, b""));
        }
        pkts.push((102, S, C, 21, 40000, PSH_ACK, 5008, b"503 RNFR first.\r\n"));
        let (c, summary) = run(Config { max_flows: 64, ..Config::default() }, pcap(&pkts));
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].command(), "RNTO x");
        assert_eq!(summary.sessions, 1);
        // Started at the SYN (the handshake entry was promoted, ISNs kept).
        assert_eq!(c.sessions[0].start_frame, 1);
        let evicted = summary.warnings.get("flow evicted (flow table full)").copied().unwrap_or(0);
        assert!(evicted >= 900, "{:?}", summary.warnings);
    }

    #[test]
    fn a_flood_of_sessions_recycles_the_least_recently_active() {
        // 2,000 sessions that all carry payload, 64 flows allowed: the table
        // recycles the oldest sessions (each still reported) instead of
        // refusing every new one, and the session still talking survives.
        let mut pkts: Vec<Pkt<'_>> = vec![
            (100, S, C, 21, 40000, PSH_ACK, 5000, b"220 hi\r\n"),
            (100, C, S, 40000, 21, PSH_ACK, 1000, b"RNTO x\r\n"),
        ];
        for i in 0..2000u32 {
            let client = [10, 1, (i >> 8) as u8, i as u8];
            pkts.push((101, S, client, 21, 1024, PSH_ACK, 1, b"220 flood\r\n"));
            if i % 16 == 0 {
                // The first session keeps talking now and then.
                pkts.push((101, C, S, 40000, 21, PSH_ACK, 1008, b""));
            }
        }
        pkts.push((102, S, C, 21, 40000, PSH_ACK, 5008, b"503 RNFR first.\r\n"));
        let (c, summary) = run(Config { max_flows: 64, ..Config::default() }, pcap(&pkts));
        assert_eq!(summary.sessions, 2001, "{:?}", summary.warnings);
        assert_eq!(c.sessions.len(), 2001);
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].command(), "RNTO x", "the active session kept its state");
        let evicted = summary.warnings.get("session evicted (flow table full)").copied().unwrap_or(0);
        assert!(evicted >= 1900, "{:?}", summary.warnings);
        assert!(!summary.warnings.contains_key("flow table full"), "{:?}", summary.warnings);
    }

    #[test]
    fn idle_flows_close_on_the_capture_clock_and_before_any_eviction() {
        // A and B go quiet at t=100; C keeps talking. A full table (3 flows)
        // makes room at t=200 by closing the idle ones, not by evicting; C,
        // active at t=150, outlives the first sweep and is closed by a later
        // one once it too has been quiet for over a minute.
        let a = [10, 0, 1, 1];
        let b = [10, 0, 1, 2];
        let d = [10, 0, 1, 4];
        let pkts: Vec<Pkt<'_>> = vec![
            (100, S, a, 21, 1024, PSH_ACK, 1, b"220 a\r\n"),
            (100, S, b, 21, 1024, PSH_ACK, 1, b"220 b\r\n"),
            (100, S, C, 21, 1024, PSH_ACK, 1, b"220 c\r\n"),
            (150, C, S, 1024, 21, PSH_ACK, 1, b"NOOP\r\n"),
            (200, S, d, 21, 1024, PSH_ACK, 1, b"220 d\r\n"),
            (300, S, d, 21, 1024, PSH_ACK, 8, b"421 bye\r\n"),
        ];
        let (c, summary) = run(Config { max_flows: 3, idle_timeout_secs: 60.0, ..Config::default() }, pcap(&pkts));
        assert_eq!(summary.sessions, 4, "{:?}", summary.warnings);
        assert!(!summary.warnings.contains_key("session evicted (flow table full)"), "{:?}", summary.warnings);
        assert_eq!(summary.warnings.get("idle flow closed"), Some(&3), "{:?}", summary.warnings);
        let ended: Vec<(u64, &str)> = c.sessions.iter().map(|r| (r.session, r.ended.as_str())).collect();
        assert_eq!(ended, [(1, "idle-timeout"), (2, "idle-timeout"), (3, "idle-timeout"), (4, "capture-end")]);
    }

    #[test]
    fn flows_closed_together_as_idle_are_reported_in_session_order() {
        // Eight sessions go quiet at once and one sweep closes them all: the
        // detail lines name them in session order, whatever order the table
        // (seeded at random per run) holds them in.
        let clients: Vec<[u8; 4]> = (0..8u8).map(|i| [10, 0, 2, i]).collect();
        let mut pkts: Vec<Pkt<'_>> =
            clients.iter().map(|&c| (100, S, c, 21, 1024, PSH_ACK, 1, &b"220 hi\r\n"[..])).collect();
        pkts.push((300, S, C, 21, 1024, PSH_ACK, 1, b"220 late\r\n"));
        let mut a = Analyzer::new(Config { idle_timeout_secs: 60.0, ..Config::default() });
        a.analyze_collect("t", Box::new(std::io::Cursor::new(pcap(&pkts)))).unwrap();
        let idle: Vec<&str> = a.messages.iter().filter(|m| m.contains("idle")).map(String::as_str).collect();
        let expected: Vec<String> = (1..=DETAILS_PER_KIND)
            .map(|id| format!("t: session {id} idle for more than the idle timeout; closed"))
            .collect();
        assert_eq!(idle, expected);
    }

    /// A flow key, IPv4 for even `n` and IPv6 for odd (two indexes).
    fn flow_key(n: u8) -> FlowKey {
        let ip = if n.is_multiple_of(2) {
            IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, n))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(n)))
        };
        FlowKey { lo: Endpoint { ip, port: 21 }, hi: Endpoint { ip, port: 40000 } }
    }

    fn flow_slot(key: FlowKey, frame: u64) -> Slot {
        let conn = Conn::new(
            Kind::Ftp,
            None,
            Origin::default(),
            Timestamp::default(),
            ReassemblyLimits::default(),
            SessionLimits::default(),
        );
        Slot {
            key,
            conn: Box::new(conn),
            last_frame: frame,
            clock: Timestamp::default(),
            session_id: 0,
            droppable: frame.is_multiple_of(3),
            silent: true,
        }
    }

    /// The invariants documented on [`Flows`], and that it holds what
    /// `model` (key to last frame) holds.
    fn check_flows(flows: &Flows, model: &BTreeMap<u8, u64>) -> Result<(), proptest::test_runner::TestCaseError> {
        proptest::prop_assert_eq!(flows.len(), model.len());
        proptest::prop_assert_eq!(flows.slots.len(), flows.rank.len());
        for (i, (slot, &rank)) in flows.slots.iter().zip(&flows.rank).enumerate() {
            match slot {
                Some(s) => {
                    proptest::prop_assert_eq!(flows.position(&s.key), Some(i));
                    proptest::prop_assert_eq!(rank, s.rank());
                    proptest::prop_assert!(!flows.free.contains(&(i as u32)));
                }
                None => {
                    proptest::prop_assert_eq!(rank, HOLE);
                    proptest::prop_assert_eq!(flows.free.iter().filter(|&&f| f == i as u32).count(), 1);
                }
            }
        }
        for (&n, &frame) in model {
            proptest::prop_assert_eq!(flows.get(&flow_key(n)).map(|s| s.last_frame), Some(frame));
        }
        Ok(())
    }

    proptest::proptest! {
        /// Any sequence of inserts, packets, removals by key and by
        /// position keeps the slab's invariants and agrees with a map.
        #[test]
        fn flows_slab_matches_a_map(ops in proptest::collection::vec((0u8..4, 0u8..12, 0usize..16), 0..120)) {
            let mut flows = Flows::default();
            let mut model: BTreeMap<u8, u64> = BTreeMap::new();
            for (frame, (op, n, pos)) in (1u64..).zip(ops) {
                let key = flow_key(n);
                match op {
                    0 | 1 => {
                        // A packet: a new flow, or one more for a known one.
                        let i = flows.position_or_insert(key, || Some(flow_slot(key, frame)));
                        let i = i.expect("a new flow is always made");
                        if let Some(slot) = flows.at_mut(i) {
                            slot.last_frame = frame;
                        }
                        flows.refresh(i);
                        model.insert(n, frame);
                    }
                    2 => {
                        proptest::prop_assert_eq!(flows.remove(&key).map(|s| s.key), model.remove(&n).map(|_| key));
                    }
                    _ => {
                        if let Some(slot) = flows.take_at(pos) {
                            let taken = model.iter().find(|(k, _)| flow_key(**k) == slot.key).map(|(k, _)| *k);
                            proptest::prop_assert!(taken.is_some());
                            if let Some(k) = taken {
                                model.remove(&k);
                            }
                        }
                    }
                }
                check_flows(&flows, &model)?;
            }
        }
    }

    proptest::proptest! {
        /// The eviction cut is the n-th smallest selectable rank, whatever
        /// their spread and however many droppable flows and holes lie
        /// among them.
        #[test]
        fn nth_smallest_rank_matches_sorting(
            ranks in proptest::collection::vec(
                proptest::prop_oneof![0u64..50, proptest::prelude::any::<u64>(), proptest::strategy::Just(0), proptest::strategy::Just(HOLE)],
                1..200,
            ),
            pick in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let mut sorted: Vec<u64> = ranks.iter().copied().filter(|&r| selectable(r)).collect();
            sorted.sort_unstable();
            let range = RankRange::of(&ranks);
            proptest::prop_assert_eq!(range.count, sorted.len());
            if !sorted.is_empty() {
                let n = pick.index(sorted.len());
                // A scratch buffer left longer by an earlier, bigger table.
                let mut scratch = vec![7; 300];
                proptest::prop_assert_eq!(nth_smallest_rank(&ranks, &range, n, &mut scratch), sorted[n]);
            }
        }

        /// The port bitmap answers as a list of the same ports would.
        #[test]
        fn port_set_matches_the_list(ports in proptest::collection::vec(proptest::prelude::any::<u16>(), 0..8), probe in proptest::prelude::any::<u16>()) {
            let set = PortSet::of(&ports);
            for p in ports.iter().copied().chain([probe, 0, 21, u16::MAX]) {
                proptest::prop_assert_eq!(set.contains(p), ports.contains(&p));
            }
        }
    }

    #[test]
    fn a_session_fits_a_small_allocation() {
        // Most allocators serve blocks up to 1 KiB from a faster path than
        // bigger ones, and a flood of sessions allocates one per session.
        assert!(std::mem::size_of::<Conn>() <= 1024, "{}", std::mem::size_of::<Conn>());
    }

    #[test]
    fn evicted_sessions_still_flush_what_they_hold() {
        // Session 1 holds a reply with no line end and a counted warning
        // (an unpaired reply); sessions 2.. are quiet. Evicting them all
        // must still hand on the partial reply and count the warning.
        let mut pkts: Vec<Pkt<'_>> = vec![
            (100, S, C, 21, 40000, PSH_ACK, 5000, b"220 hi\r\n"),
            (100, S, C, 21, 40000, PSH_ACK, 5008, b"200 unasked\r\n"),
            (100, C, S, 40000, 21, PSH_ACK, 1000, b"RNTO x\r\n"),
            (100, S, C, 21, 40000, PSH_ACK, 5021, b"503 RNFR first."),
        ];
        for i in 0..200u32 {
            let client = [10, 1, (i >> 8) as u8, i as u8];
            pkts.push((101, S, client, 21, 1024, PSH_ACK, 1, b"220 flood\r\n"));
        }
        // Without session rows, as by default (they turn the shortcut off).
        let mut a = Analyzer::new(Config { max_flows: 16, ..Config::default() });
        let c = a.analyze_collect("t", Box::new(std::io::Cursor::new(pcap(&pkts)))).unwrap();
        let summary = a.summary.clone();
        assert!(c.sessions.is_empty());
        assert_eq!(c.rows.len(), 1, "{:?}", summary.warnings);
        assert_eq!(c.rows[0].command(), "RNTO x");
        assert_eq!(summary.warnings.get("reply without command"), Some(&1), "{:?}", summary.warnings);
        assert!(summary.warnings.get("session evicted (flow table full)").copied().unwrap_or(0) >= 180);
    }

    #[test]
    fn handshake_entries_are_small() {
        // A SYN flood costs a handshake entry per flow, not a whole connection.
        assert!(std::mem::size_of::<Handshake>() <= 64, "{}", std::mem::size_of::<Handshake>());
        assert!(std::mem::size_of::<Conn>() > 4 * std::mem::size_of::<Handshake>());
    }

    #[test]
    fn a_far_future_timestamp_does_not_close_its_own_flow() {
        let far = u32::MAX - 10;
        let pkts: Vec<Pkt<'_>> = vec![
            (100, S, C, 21, 40000, PSH_ACK, 5000, b"220 hi\r\n"),
            (far, C, S, 40000, 21, PSH_ACK, 1000, b"RNTO x\r\n"),
            (101, S, C, 21, 40000, PSH_ACK, 5008, b"503 RNFR first.\r\n"),
            (90, C, S, 40000, 21, PSH_ACK, 1008, b"RNTO y\r\n"),
            (102, S, C, 21, 40000, PSH_ACK, 5025, b"503 RNFR first.\r\n"),
        ];
        let (c, summary) = run(Config::default(), pcap(&pkts));
        assert_eq!(summary.sessions, 1, "{:?}", summary.warnings);
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.rows[1].command(), "RNTO y");
        assert_eq!(summary.warnings.get("timestamp earlier than the frame before"), Some(&2));
        assert!(!summary.warnings.contains_key("idle flow closed"));
    }

    #[test]
    fn reply_line_cap_is_a_counted_warning() {
        let reply = b"214-a\r\n 1\r\n 2\r\n 3\r\n 4\r\n214 end\r\n";
        let pkts: Vec<Pkt<'_>> = vec![
            (100, S, C, 21, 40000, PSH_ACK, 5000, b"220 hi\r\n"),
            (100, C, S, 40000, 21, PSH_ACK, 1000, b"HELP\r\n"),
            (100, S, C, 21, 40000, PSH_ACK, 5008, reply),
        ];
        let config =
            Config { session: SessionLimits { max_reply_lines: 3, ..SessionLimits::default() }, ..Config::default() };
        let (c, summary) = run(config, pcap(&pkts));
        assert_eq!(c.rows.len(), 1);
        assert_eq!(summary.warnings.get("reply line cap hit"), Some(&1));
        assert_eq!(c.sessions[0].warnings, "reply-line-cap=3");
    }
}
