//! The analysis of one capture: frames in, the flow table, connections
//! finished in session order, rows out in capture order.
//!
//! [`Analyzer`] owns what spans captures (session numbering, counters);
//! each capture gets its own flow table, finalized when the capture ends.
//! `connection` drives one control connection, `incident` builds the
//! rows, `session_end` what a finished session leaves.

mod connection;
mod incident;
mod session_end;

use crate::capture::fragments::{Defragmenter, Fragment, Pushed};
use crate::capture::link::{ip_packet, linktype};
use crate::capture::tunnel::Encapsulation;
use crate::capture::{
    decode_tcp, decode_tcp_wanted, CaptureProblem, CaptureReader, Frame, ReadWarning, SkipReason, Timestamp,
};
use crate::config::Config;
use crate::data::DataTracker;
use crate::diag::{Message, Summary, Warning};
use crate::flow::closed::{RecentlyClosed, SeqSpan};
use crate::flow::{FlowKey, FlowTable, Origin, Reassembler, Slot};
use crate::ftp::Exchange;
use crate::ordered::Ordered;
use crate::report::transcript::Transcript;
use crate::report::transfers::TransferRow;
use crate::report::{IncidentRow, SessionRow};
use crate::tls::TlsConnection;
use connection::{feed, Conn, Kind, Meta};
use session_end::finish_conn;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::SocketAddr;

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

/// At most this many detailed warning lines per kind are kept for printing.
const DETAILS_PER_KIND: u64 = 5;

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
    pub messages: Vec<Message>,
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
            details: [0; Warning::ALL.len()],
            rows: Ordered::default(),
            sessions: Ordered::default(),
            transfers: Ordered::default(),
            transcripts: Vec::new(),
            transcript_transfers: Vec::new(),
            transcript_sessions: BTreeSet::new(),
            encapsulations: BTreeMap::new(),
            tls: BTreeMap::new(),
            data: {
                let mut data = DataTracker::new(config.data);
                data.set_keylog(config.keylog.clone());
                data
            },
            sink,
            next_session: &mut self.next_session,
            total_buffered: 0,
            replies_by_code: Box::new([0; 600]),
            codes: Box::new(std::array::from_fn(|code| config.codes.contains(&(code as u16)))),
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
            // --since/--until: a frame outside the window is passed over
            // (its number still counts).
            if config.filter.time_ok(&frame.ts) {
                table.frame(frame, &mut ctx);
            }
            table.maybe_sweep(&mut ctx, frame.number);
            table.release_due(&mut ctx, frame.number);
        });
        ctx.warn_many(Warning::TimestampBackwards, backwards, || match backwards - 1 {
            0 => format!("frame {first_backwards} is stamped earlier than the frame before it"),
            more => format!("frame {first_backwards} (and {more} more) is stamped earlier than the frame before it"),
        });
        for w in &reader.warnings {
            match w {
                ReadWarning::UnknownInterface { frame, if_id } => ctx.warn(Warning::UndeclaredInterface, || {
                    format!("frame {frame} uses interface {if_id}, never described")
                }),
                ReadWarning::BadTimeResolution { if_tsresol } => ctx.warn(Warning::BadTimeResolution, || {
                    format!("if_tsresol {if_tsresol:#x} is invalid; microseconds assumed")
                }),
                ReadWarning::Resynced { from, to, what } => ctx.warn(Warning::CaptureResynced, || {
                    format!("bytes {from}..{to} skipped: {what}; read on at the next plausible record")
                }),
            }
        }
        let listed = reader.warnings.iter().filter(|w| matches!(w, ReadWarning::Resynced { .. })).count();
        ctx.summary.warnings.add(Warning::CaptureResynced, reader.damaged_regions.saturating_sub(listed as u64));
        table.finish_all(&mut ctx);
        ctx.summary.frames += reader.frames();
        ctx.summary.bytes += reader.position();
        // Counted only: a detail line each would be one per announcement.
        ctx.summary.warnings.add(Warning::DataConnectionNeverSeen, ctx.data.expired);
        ctx.summary.warnings.add(Warning::DataConnectionIdle, ctx.data.idle_closed);
        if ctx.data.cap_hits > 0 {
            let n = ctx.data.cap_hits;
            ctx.warn(Warning::DataTrackingCapHit, || format!("{n} announced data connections not tracked (cap)"));
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
        for (code, n) in ctx.replies_by_code.iter().enumerate().filter(|(_, n)| **n > 0) {
            *ctx.summary.replies_by_code.entry(code as u16).or_insert(0) += n;
        }
        // Regions skipped still make the capture a problem (exit status 1).
        Ok(CaptureOutcome { problem: result.err().or_else(|| reader.damage()), frames: reader.frames() })
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

/// State shared by all connections of one capture.
struct Ctx<'a> {
    config: &'a Config,
    capture: &'a str,
    /// The capture's name, shared by its incident rows.
    capture_shared: std::sync::Arc<str>,
    summary: &'a mut Summary,
    messages: &'a mut Vec<Message>,
    /// Detail lines printed so far per warning kind, in this capture.
    details: [u64; Warning::ALL.len()],
    rows: Ordered<IncidentRow>,
    sessions: Ordered<SessionRow>,
    transfers: Ordered<TransferRow>,
    transcripts: Vec<Transcript>,
    /// Transfer rows of sessions being transcribed.
    transcript_transfers: Vec<TransferRow>,
    transcript_sessions: BTreeSet<u64>,
    /// The tunnel layers of the sessions that came in tunnels (few), by
    /// session number, until the session ends.
    encapsulations: BTreeMap<u64, Encapsulation>,
    /// The TLS state of the encrypted control connections, by session.
    tls: BTreeMap<u64, Box<TlsConnection>>,
    data: DataTracker,
    sink: &'a mut dyn FnMut(Output),
    next_session: &'a mut u64,
    total_buffered: usize,
    /// Replies counted by code in this capture, added to the summary at the
    /// end (a map lookup per reply otherwise).
    replies_by_code: Box<[u64; 600]>,
    /// `config.codes` as a table by code, asked on every reply.
    codes: Box<[bool; 600]>,
}

impl Ctx<'_> {
    /// Counts a warning; the first few of each kind also get a detail line.
    fn warn(&mut self, kind: Warning, detail: impl FnOnce() -> String) {
        self.message(kind, None, detail);
    }

    /// [`Ctx::warn`] about one session.
    fn warn_session(&mut self, kind: Warning, session: u64, detail: impl FnOnce() -> String) {
        self.message(kind, Some(session), detail);
    }

    fn message(&mut self, kind: Warning, session: Option<u64>, detail: impl FnOnce() -> String) {
        self.summary.warnings.add(kind, 1);
        let shown = &mut self.details[kind as usize];
        *shown += 1;
        if *shown <= DETAILS_PER_KIND {
            self.messages.push(Message { capture: self.capture.to_string(), session, text: detail() });
        }
    }

    /// Like [`Ctx::warn`], counting `n` occurrences at once.
    fn warn_many(&mut self, kind: Warning, n: u64, detail: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        self.summary.warnings.add(kind, n - 1);
        self.warn(kind, detail);
    }

    /// Numbers a new session.
    fn new_session(&mut self) -> u64 {
        let id = *self.next_session;
        *self.next_session += 1;
        self.summary.sessions += 1;
        id
    }

    /// A reply paired (or not) with its command: followed by the data
    /// tracker, counted, and made a row when the report wants it.
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
        let verdict = incident::verdict(code, ex.violation, ex.sent.is_some());
        let wanted = self.codes.get(usize::from(code)).copied().unwrap_or(false)
            || (self.config.violations && ex.first_reply && matches!(verdict, Some("accepted" | "other" | "refused")));
        if !wanted {
            return;
        }
        let shown_verdict = self.config.violations.then_some(verdict);
        let row = incident::incident_row(&self.capture_shared, meta, &ex, self.config.show_passwords, shown_verdict);
        self.summary.rows += 1;
        self.rows.push((ex.reply.origin.frame, meta.session_id), row);
    }

    /// Moves finished transfers whose data connection is over into the
    /// ordered buffer and releases those below `low`.
    fn release_transfers(&mut self, low: u64, all: bool) {
        for row in self.data.take_ready(self.capture, all) {
            if self.transcript_sessions.contains(&row.session) {
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
}

/// UDP ports of the tunnels wrapped traffic comes in (VXLAN, its Linux
/// default, GENEVE): their fragmented datagrams are reassembled too.
/// The frames-skipped label of segments that copy a closed connection's.
const COPY_AFTER_CLOSE: &str = "copies of a closed connection";

const TUNNEL_PORTS: [u16; 3] = [4789, 8472, 6081];

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

/// The control connections of one capture: which frames are FTP control,
/// the flow table they live in, and how they leave it.
struct Table {
    flows: FlowTable<Conn>,
    ports: PortSet,
    detect: bool,
    /// Scratch for the flows a sweep takes out of the table.
    gone: Vec<Slot<Conn>>,
    /// IP datagrams being put back together from their fragments.
    defrag: Defragmenter,
    /// A reassembled datagram is being decoded (it is not fragmented again).
    in_datagram: bool,
    /// Control connections that closed a moment ago, whose late copies
    /// (merged taps, retransmissions) must not start another connection.
    closed: RecentlyClosed,
}

impl Table {
    fn new(config: &Config) -> Self {
        Table {
            flows: FlowTable::new(config.max_flows, config.idle_timeout_secs),
            ports: PortSet::of(&config.ports),
            detect: config.detect,
            gone: Vec::new(),
            defrag: Defragmenter::new(config.fragments),
            in_datagram: false,
            closed: RecentlyClosed::default(),
        }
    }

    /// An IP fragment: held until its datagram is complete, which is then
    /// decoded as one packet captured with the fragment that completed it.
    /// Only datagrams that can carry FTP are reassembled: TCP (on a wanted
    /// port, once the first fragment shows the ports) and what tunnels use
    /// (UDP to a tunnel port, GRE, IP in IP).
    fn fragment(&mut self, frame: &Frame<'_>, ctx: &mut Ctx<'_>) {
        let skip = |ctx: &mut Ctx<'_>, n: u32| {
            *ctx.summary.skipped.entry(SkipReason::IpFragment.label()).or_insert(0) += u64::from(n);
        };
        let Some(frag) = ip_packet(frame.linktype, frame.data).and_then(Fragment::parse) else {
            return skip(ctx, 1);
        };
        let protocol = frag.key.protocol;
        if !matches!(protocol, 4 | 6 | 17 | 41 | 47) {
            return skip(ctx, 1);
        }
        let Table { defrag, ports, detect, .. } = self;
        let data = &ctx.data;
        let wanted = |l4: &[u8]| match (protocol, l4) {
            (6, [a, b, c, d, ..]) => {
                let (s, d) = (u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]));
                *detect || ports.contains(s) || ports.contains(d) || data.wants_ports(s, d)
            }
            (17, [a, b, c, d, ..]) => {
                [u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d])].iter().any(|p| TUNNEL_PORTS.contains(p))
            }
            // Too short to tell, or a tunnel protocol.
            _ => true,
        };
        match defrag.push(&frag, frame.ts, wanted) {
            // A copy of a fragment already used, as a retransmission is.
            Pushed::Held | Pushed::Duplicate => {}
            Pushed::Dropped(n) => skip(ctx, n),
            Pushed::Complete(datagram) => {
                let whole = Frame {
                    number: frame.number,
                    ts: frame.ts,
                    linktype: linktype::RAW,
                    data: &datagram,
                    orig_len: datagram.len() as u32,
                };
                self.in_datagram = true;
                self.frame(&whole, ctx);
                self.in_datagram = false;
            }
        }
    }

    /// What fragment reassembly met, as counted warnings (at the end).
    fn fragment_warnings(&mut self, ctx: &mut Ctx<'_>) {
        self.defrag.finish();
        let s = self.defrag.stats;
        let limits = ctx.config.fragments;
        let (max, total, secs) = (limits.max_datagrams, limits.max_total, limits.timeout_secs);
        ctx.warn_many(Warning::FragmentCapHit, s.evicted, || {
            format!(
                "{} fragmented datagrams dropped unfinished to stay within {max} datagrams or {total} bytes",
                s.evicted
            )
        });
        ctx.warn_many(Warning::FragmentOverlapDiffers, s.overlaps, || {
            format!("{} IP fragments disagree with bytes already received; kept per --overlap", s.overlaps)
        });
        ctx.warn_many(Warning::FragmentsIncomplete, s.incomplete, || {
            format!("{} fragmented datagrams never complete (within {secs} s or by the end)", s.incomplete)
        });
        ctx.warn_many(Warning::FragmentTooLarge, s.too_large, || {
            format!("{} fragmented datagrams longer than an IP length can say; dropped", s.too_large)
        });
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
            Err(SkipReason::IpFragment) if !self.in_datagram => return self.fragment(frame, ctx),
            Err(reason) => {
                *ctx.summary.skipped.entry(reason.label()).or_insert(0) += 1;
                return;
            }
        };
        // --host: before any state is touched, so leaving a packet out is
        // as cheap as decoding its headers.
        if !ctx.config.filter.hosts_ok(seg.src, seg.dst) {
            return;
        }
        ctx.summary.tcp_segments += 1;
        self.flows.advance_clock(frame.ts);
        let port_match = self.ports.contains(seg.dst_port) || self.ports.contains(seg.src_port);
        let origin = Origin { frame: frame.number, ts: frame.ts };
        if !port_match && ctx.data.wants_ports(seg.src_port, seg.dst_port) {
            let tls = &ctx.tls;
            ctx.data.segment(&seg, origin, &|session| tls.get(&session).map(|t| t.resumable()));
            return;
        }
        if !port_match && !self.detect {
            return;
        }
        let (key, from_lo) = FlowKey::of(&seg);
        let starts_flow = seg.flags.syn || !seg.payload.is_empty() || seg.missing_tail > 0;

        // A new SYN on a known 4-tuple with another ISN is a new connection.
        if seg.flags.syn && !seg.flags.ack {
            if let Some(conn) = self.flows.get(&key) {
                let client_side = conn.lo_is_client.map(|lo| lo == from_lo).unwrap_or(true);
                let own = if client_side { &conn.to_server } else { &conn.to_client };
                if own.isn().is_some() && !own.accepts_syn(seg.seq) {
                    if let Some(slot) = self.flows.remove(&key) {
                        finish_conn(slot, ctx, "new connection on the same 4-tuple");
                    }
                }
            }
        }
        let carries_data = !seg.payload.is_empty() || seg.missing_tail > 0;
        if !carries_data && !self.flows.has_flow(&key) {
            if seg.flags.syn && !self.closed.is_empty() && self.closed.syn_is_copy(&key, from_lo, seg.seq) {
                *ctx.summary.skipped.entry(COPY_AFTER_CLOSE).or_insert(0) += 1;
                return;
            }
            let gone = &mut self.gone;
            let tracked = self.flows.handshake(&seg, key, from_lo, origin, |flows| make_room(flows, gone, ctx));
            if !tracked {
                let max = self.flows.max_flows();
                ctx.warn(Warning::FlowTableFull, || {
                    format!("frame {}: more than {max} flows at once; new flow not tracked", origin.frame)
                });
            }
            return;
        }
        // One hash lookup per packet on the common path.
        if starts_flow
            && self.flows.is_full()
            && !self.flows.knows(&key)
            && !make_room(&mut self.flows, &mut self.gone, ctx)
        {
            let max = self.flows.max_flows();
            ctx.warn(Warning::FlowTableFull, || {
                format!("frame {}: more than {max} flows at once; new flow not tracked", frame.number)
            });
            return;
        }
        let config = ctx.config;
        let ports = &self.ports;
        let closed = &mut self.closed;
        let mut copy = false;
        let position = self.flows.position_or_insert(key, frame.number, |hs| {
            if !starts_flow {
                return None;
            }
            // Late copies of a connection that closed are not a new one.
            if !closed.is_empty() && closed.is_copy(&key, from_lo, seg.seq) {
                copy = true;
                return None;
            }
            let lo_is_client = if let Some(h) = hs {
                Some(h.lo_is_client)
            } else if seg.flags.syn {
                // The SYN's sender is the client; a SYN-ACK's sender the server.
                Some(from_lo != seg.flags.ack)
            } else if port_match {
                let server_is_dst = ports.contains(seg.dst_port);
                Some(if server_is_dst { from_lo } else { !from_lo })
            } else {
                None
            };
            let kind = if port_match { Kind::Ftp } else { Kind::Unknown };
            let first = hs.map(|h| h.first()).unwrap_or(origin);
            let mut conn = Conn::new(kind, lo_is_client, first, frame.ts, config.reassembly, config.session);
            if let Some(h) = hs {
                let Conn { to_server, to_client, .. } = &mut conn;
                let (lo, hi) = if h.lo_is_client { (to_server, to_client) } else { (to_client, to_server) };
                if let Some(isn) = h.isn[0] {
                    lo.syn(isn);
                }
                if let Some(isn) = h.isn[1] {
                    hi.syn(isn);
                }
            }
            Some(conn)
        });
        let Some(position) = position else {
            if copy {
                *ctx.summary.skipped.entry(COPY_AFTER_CLOSE).or_insert(0) += 1;
            }
            return;
        };
        let Some(conn) = self.flows.touch(position, frame.number) else { return };
        let end = feed(conn, &seg, from_lo, origin, ctx);
        self.flows.refresh(position);
        if let Some(end) = end {
            if let Some(slot) = self.flows.take_at(position) {
                self.remember_close(&slot, frame.ts);
                finish_conn(slot, ctx, end);
            }
        }
    }

    /// Keeps the sequence spans of a connection that closed (FIN or RST), so
    /// that copies of its segments arriving later are recognised.
    fn remember_close(&mut self, slot: &Slot<Conn>, at: Timestamp) {
        let conn = &slot.conn;
        let span = |r: &Reassembler| r.isn().map(|isn| SeqSpan::of_stream(isn, r.seen_end()));
        let (client, server) = (span(&conn.to_server), span(&conn.to_client));
        let (from_lo, from_hi) = match conn.lo_is_client {
            Some(true) => (client, server),
            Some(false) => (server, client),
            None => return,
        };
        self.closed.record(slot.key, from_lo, from_hi, at);
    }

    /// Closes idle flows once a minute of capture time. Runs after the
    /// frame was handled, so the flow a frame belongs to is never idle at
    /// it, whatever its timestamp (a jump forward closes the others only).
    fn maybe_sweep(&mut self, ctx: &mut Ctx<'_>, frame: u64) {
        if self.flows.sweep_due() {
            let now = Origin { frame, ts: self.flows.clock() };
            self.flows.update_all(|conn| conn.expire(now, ctx));
            close_idle(&mut self.flows, &mut self.gone, ctx);
            ctx.data.expire(self.flows.clock());
            self.closed.expire(self.flows.clock());
        }
    }

    /// Releases buffered rows whose order is settled. Incidents: below the
    /// first byte of any reply still being assembled; sessions: below the
    /// lowest live session number.
    fn release_due(&mut self, ctx: &mut Ctx<'_>, frame: u64) {
        if ctx.rows.due() {
            let low =
                self.flows.values().filter_map(|c| c.pending_reply_frame()).min().unwrap_or(u64::MAX).min(frame + 1);
            let Ctx { rows, sink, .. } = &mut *ctx;
            if rows.release(low, &mut |r| sink(Output::Incident(r))) {
                ctx.warn(Warning::RowsOutOfOrder, || {
                    "more rows waited for an unfinished reply than the reorder buffer holds; some were written early"
                        .into()
                });
            }
        }
        if ctx.sessions.due() {
            let low = self
                .flows
                .values()
                .filter_map(|c| c.meta.map(|m| m.session_id))
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
        self.fragment_warnings(ctx);
        let mut all = std::mem::take(&mut self.gone);
        self.flows.drain_in_session_order(&mut all);
        for slot in all.drain(..) {
            finish_conn(slot, ctx, "capture-end");
        }
        self.gone = all;
    }
}

/// Closes the flows idle for longer than the idle timeout, in session
/// order.
fn close_idle(flows: &mut FlowTable<Conn>, gone: &mut Vec<Slot<Conn>>, ctx: &mut Ctx<'_>) {
    flows.take_idle(gone);
    // In session order: the table's order changes from run to run.
    gone.sort_unstable_by_key(|s| s.session_id);
    for slot in gone.iter().filter(|s| s.session_id != 0) {
        ctx.warn_session(Warning::IdleFlowClosed, slot.session_id, || {
            "idle for more than the idle timeout; closed".into()
        });
    }
    for slot in gone.drain(..) {
        finish_conn(slot, ctx, "idle-timeout");
    }
}

/// Frees table space when it is full: idle flows first, then what
/// [`FlowTable::evict`] chooses. Says whether there is room now.
fn make_room(flows: &mut FlowTable<Conn>, gone: &mut Vec<Slot<Conn>>, ctx: &mut Ctx<'_>) -> bool {
    close_idle(flows, gone, ctx);
    if !flows.is_full() {
        return true;
    }
    let max = flows.max_flows();
    let evicted = flows.evict(gone);
    let n = evicted.flows;
    ctx.warn_many(Warning::FlowEvicted, n, || {
        format!("{n} flows without FTP payload dropped to make room (more than {max} flows at once)")
    });
    // Still too full after those: the least recently active sessions go
    // too.
    let n = evicted.sessions;
    ctx.warn_many(Warning::SessionEvicted, n, || {
        format!(
            "{n} least recently active sessions closed to make room (more than {max} flows at once); \
             a later packet of one starts a new session"
        )
    });
    // In session order: the table's order changes from run to run.
    gone.sort_unstable_by_key(|s| s.session_id);
    for slot in gone.drain(..) {
        finish_conn(slot, ctx, "evicted");
    }
    !flows.is_full()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionLimits;

    /// A little-endian µs pcap of Ethernet/IPv4/TCP frames:
    /// `(seconds, src, dst, sport, dport, flags, seq, payload)`.
    type Pkt<'a> = (u32, [u8; 4], [u8; 4], u16, u16, u8, u32, &'a [u8]);

    /// A classic pcap of the packets. Each one acknowledges what a real
    /// sender would have: everything the other side sent before it in the
    /// list, or, before the other side sent anything, its first sequence
    /// number in the list (its ISN + 1).
    fn pcap(pkts: &[Pkt<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut sent: std::collections::HashMap<(u16, u16), u32> = Default::default();
        for &(_, _, _, sport, dport, flags, seq, _) in pkts {
            let first = if flags & SYN != 0 { seq.wrapping_add(1) } else { seq };
            sent.entry((sport, dport)).or_insert(first);
        }
        for &(secs, src, dst, sport, dport, flags, seq, payload) in pkts {
            let ack = sent.get(&(dport, sport)).copied().unwrap_or(0);
            let end = seq.wrapping_add(payload.len() as u32).wrapping_add(u32::from(flags & SYN != 0));
            let own = sent.entry((sport, dport)).or_insert(end);
            if end.wrapping_sub(*own) as i32 > 0 {
                *own = end;
            }
            let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
            let total = (40 + payload.len()) as u16;
            f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 6, 0, 0]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&dst);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&seq.to_be_bytes());
            f.extend_from_slice(&ack.to_be_bytes());
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
        let evicted = summary.warnings.get(Warning::FlowEvicted);
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
        let evicted = summary.warnings.get(Warning::SessionEvicted);
        assert!(evicted >= 1900, "{:?}", summary.warnings);
        assert!(summary.warnings.get(Warning::FlowTableFull) == 0, "{:?}", summary.warnings);
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
        assert!(summary.warnings.get(Warning::SessionEvicted) == 0, "{:?}", summary.warnings);
        assert_eq!(summary.warnings.get(Warning::IdleFlowClosed), 3, "{:?}", summary.warnings);
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
        let idle: Vec<String> = a.messages.iter().map(|m| m.to_string()).filter(|m| m.contains("idle")).collect();
        let expected: Vec<String> = (1..=DETAILS_PER_KIND)
            .map(|id| format!("t: session {id}: idle for more than the idle timeout; closed"))
            .collect();
        assert_eq!(idle, expected);
    }

    proptest::proptest! {
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
        assert_eq!(summary.warnings.get(Warning::UnpairedReply), 1, "{:?}", summary.warnings);
        assert!(summary.warnings.get(Warning::SessionEvicted) >= 180);
    }

    #[test]
    fn handshake_entries_are_smaller_than_connections() {
        // A SYN flood costs a handshake entry per flow, not a whole connection.
        assert!(std::mem::size_of::<Conn>() > 4 * std::mem::size_of::<crate::flow::Handshake>());
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
        assert_eq!(summary.warnings.get(Warning::TimestampBackwards), 2);
        assert!(summary.warnings.get(Warning::IdleFlowClosed) == 0);
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
        assert_eq!(summary.warnings.get(Warning::ReplyLineCapHit), 1);
        assert_eq!(c.sessions[0].warnings, "reply-line-cap=3");
    }
}
