//! Following data connections: the announcements on the control channel
//! (PORT, PASV, EPRT, EPSV), the TCP connections that answer them, and the
//! transfer commands with their replies.
//!
//! [`DataTracker`] expects each announced address, matches it to the TCP
//! connection that really appears in the capture (by headers only: its
//! payload is counted, never buffered), and keeps every transfer command
//! until its final reply and its data connection are over; its rows are
//! judged by [`super::outcome`].

use crate::capture::{TcpSegment, Timestamp};
use crate::config::DataLimits;
use crate::flow::FlowMap;
use crate::flow::Origin;
use crate::ftp::dataaddr;
use crate::ftp::rules::TRANSFER_VERBS;
use crate::ftp::Exchange;
use crate::report::transfers::{transfer_row, TransferRow};
use crate::tls::keylog::KeyLog;
use crate::tls::Resumable;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::tls::DataTls;

/// How the data connection was set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// PORT: the server connects to the client.
    Active,
    /// PASV: the client connects to the server.
    Passive,
    /// EPRT: active, RFC 2428.
    ExtendedActive,
    /// EPSV: passive, RFC 2428.
    ExtendedPassive,
}

impl DataMode {
    pub fn label(self) -> &'static str {
        match self {
            DataMode::Active => "active",
            DataMode::Passive => "passive",
            DataMode::ExtendedActive => "extended-active",
            DataMode::ExtendedPassive => "extended-passive",
        }
    }

    pub(super) fn client_connects(self) -> bool {
        matches!(self, DataMode::Passive | DataMode::ExtendedPassive)
    }
}

/// A data connection announced on the control channel.
#[derive(Debug, Clone, Copy)]
pub struct Announcement {
    pub id: u64,
    pub session: u64,
    pub mode: DataMode,
    /// The address announced (where the connection should go).
    pub addr: SocketAddr,
    pub origin: Origin,
}

/// One direction of a data connection, counted by sequence numbers so
/// retransmissions are not counted twice.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeqCounter {
    base: Option<u32>,
    high: u64,
}

impl SeqCounter {
    pub(super) fn syn(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq.wrapping_add(1));
        }
    }

    pub(super) fn data(&mut self, seq: u32, len: u64) {
        let base = *self.base.get_or_insert(seq);
        // Offsets relative to the highest byte seen, so 4 GiB wraps are fine.
        let high_seq = base.wrapping_add(self.high as u32);
        let rel = seq.wrapping_sub(high_seq) as i32 as i64;
        let end = self.high as i64 + rel + len as i64;
        if end > self.high as i64 {
            self.high = end as u64;
        }
    }
}

/// What the capture shows of one data connection.
#[derive(Debug)]
pub struct DataConn {
    pub announcement: u64,
    /// The control session that announced it.
    pub session: u64,
    /// Who opened it (sent the SYN, or the first packet seen).
    pub initiator: SocketAddr,
    pub listener: SocketAddr,
    pub syn: bool,
    pub syn_ack: bool,
    pub rst_by_listener: bool,
    pub rst_by_initiator: bool,
    pub fin_by_initiator: bool,
    pub fin_by_listener: bool,
    pub(super) from_initiator: SeqCounter,
    pub(super) from_listener: SeqCounter,
    pub first: Origin,
    pub last: Origin,
    /// PROT P was in force when it opened: its TLS (RFC 4217).
    pub tls: Option<Box<DataTls>>,
}

impl DataConn {
    /// Only SYNs, never answered (no SYN-ACK, no RST, no data).
    pub fn unanswered(&self) -> bool {
        self.syn
            && !self.syn_ack
            && !self.rst_by_listener
            && !self.rst_by_initiator
            && self.bytes_from_initiator() == 0
            && self.bytes_from_listener() == 0
    }

    pub fn bytes_from_initiator(&self) -> u64 {
        self.from_initiator.high
    }
    pub fn bytes_from_listener(&self) -> u64 {
        self.from_listener.high
    }
}

/// A transfer command and what the control channel said about it.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub session: u64,
    pub user: String,
    pub verb: String,
    pub argument: Vec<u8>,
    pub announcement: Option<Announcement>,
    /// Reply codes in order, with the first line of the final one.
    pub replies: Vec<u16>,
    pub final_text: Vec<u8>,
    pub announced_size: Option<u64>,
    pub aborted: bool,
    /// A later command of the session got its final reply while this one
    /// still had none: the server will not send one.
    pub passed_over: bool,
    /// The data command's place among the session's commands.
    pub command_number: u64,
    /// Server bytes went missing from the capture while it was open: a
    /// final reply may have been lost in the gap.
    pub reply_gap: bool,
    pub start: Origin,
    pub end: Option<Origin>,
    /// The control server address (to spot a PASV address that differs).
    pub server_ip: IpAddr,
    /// The last data setup command before this one failed: verb and code
    /// (e.g. pyftpdlib connects at PORT time and answers 425).
    pub setup_refused: Option<(&'static str, u16)>,
}

impl Transfer {
    pub(super) fn uploads(&self) -> bool {
        matches!(self.verb.as_str(), "STOR" | "STOU" | "APPE")
    }
}

/// Per-session state for transfers.
#[derive(Debug, Default)]
struct SessionData {
    announcement: Option<Announcement>,
    /// A PORT/EPRT/PASV/EPSV refused since the last announcement.
    setup_refused: Option<(&'static str, u16)>,
    /// Transfers waiting for their final reply, oldest first.
    open: Vec<Transfer>,
    /// Sizes from `SIZE path` → 213.
    sizes: Vec<(Vec<u8>, u64)>,
    /// `PROT P` (true) or `PROT C` (false) was accepted last: data
    /// connections are TLS or not. None while no PROT was seen.
    prot_private: Option<bool>,
    /// TLS 1.2 sessions of earlier data connections, for later ones to resume.
    resumable: Vec<Resumable>,
}

/// Most TLS sessions remembered per control session for resumption.
const MAX_RESUMABLE: usize = 8;

type FlowKey = (SocketAddr, SocketAddr);

fn flow_key(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// All data tracking of one capture.
///
/// Every lookup a packet or a reply makes is a hash lookup: by endpoint
/// (`expected`), by connection (`live`), by announcement (`announced`,
/// `live_ids`, `conns`). Invariants:
/// - `expected[addr].id == id` implies `addr` is in `announced[id]`;
/// - `live[key] == id` if and only if `live_ids[id] == key`, and then
///   `conns` holds `id`;
/// - `port_refs[p]` counts the entries of `expected` and the endpoints of
///   `live` with port `p`.
///
/// Everything is bounded: `expected` by `max_expected`, `conns` (and so
/// `live`) by `max_data_conns`; announcements expire after `expect_secs`
/// and live connections idle for `idle_secs` of capture time are closed.
#[derive(Debug)]
pub struct DataTracker {
    limits: DataLimits,
    next_id: u64,
    /// Listening endpoint → announcement.
    expected: FlowMap<SocketAddr, Announcement>,
    /// Announcement → when it was made and the endpoints it is expected at.
    announced: FlowMap<u64, (Timestamp, [Option<SocketAddr>; 2])>,
    /// How many expectations or live data connections use each port: a
    /// frame whose ports are both zero here is skipped without decoding.
    port_refs: Vec<u16>,
    /// Open data connections → their announcement.
    live: FlowMap<FlowKey, u64>,
    /// The reverse of `live`: announcement → its open connection.
    live_ids: FlowMap<u64, FlowKey>,
    /// Data connections by announcement, until their transfer is reported.
    conns: FlowMap<u64, DataConn>,
    sessions: FlowMap<u64, SessionData>,
    /// Transfers with their final reply (or whose session ended), not yet
    /// reported; `counted` once their session's totals took them in.
    finished: Vec<(Transfer, bool)>,
    /// Per-session transfer totals of transfers already reported.
    totals: FlowMap<u64, SessionTotals>,
    pub expired: u64,
    /// Live data connections closed for being idle.
    pub idle_closed: u64,
    pub cap_hits: u64,
    /// Secrets to open PROT P data connections with (`--tls-keylog`).
    keylog: Option<Arc<KeyLog>>,
}

impl DataTracker {
    pub fn new(limits: DataLimits) -> Self {
        DataTracker {
            limits,
            next_id: 1,
            expected: FlowMap::default(),
            announced: FlowMap::default(),
            port_refs: vec![0; 65_536],
            live: FlowMap::default(),
            live_ids: FlowMap::default(),
            conns: FlowMap::default(),
            sessions: FlowMap::default(),
            finished: Vec::new(),
            totals: FlowMap::default(),
            expired: 0,
            idle_closed: 0,
            cap_hits: 0,
            keylog: None,
        }
    }

    /// The key log PROT P data connections are opened with.
    pub fn set_keylog(&mut self, keylog: Option<Arc<KeyLog>>) {
        self.keylog = keylog;
    }

    /// True when a frame with these ports may belong to a data connection.
    #[inline]
    pub fn wants_ports(&self, a: u16, b: u16) -> bool {
        self.port_refs[a as usize] != 0 || self.port_refs[b as usize] != 0
    }

    fn port_ref(&mut self, port: u16, up: bool) {
        let r = &mut self.port_refs[port as usize];
        *r = if up { r.saturating_add(1) } else { r.saturating_sub(1) };
    }

    /// Waits for a connection to the announced address (and `also`).
    fn await_connection(&mut self, a: Announcement, also: Option<SocketAddr>) {
        if self.expected.len() >= self.limits.max_expected {
            self.cap_hits += 1;
            return;
        }
        for addr in std::iter::once(a.addr).chain(also) {
            // A newer announcement of the same address replaces the old one.
            if self.expected.insert(addr, a).is_none() {
                self.port_ref(addr.port(), true);
            }
        }
        self.announced.insert(a.id, (a.origin.ts, [Some(a.addr), also]));
    }

    /// Feeds every control exchange of a session.
    pub fn exchange(&mut self, session: u64, client: SocketAddr, server: SocketAddr, ex: &Exchange<'_>) {
        let Some(sent) = ex.sent else { return };
        let code = ex.reply.code;
        let verb = sent.command.verb.as_str();
        let text = ex.reply.lines().first();
        let mode_addr = match (verb, code) {
            ("PORT", 200..=299) => dataaddr::parse_port(sent.command.arg()).map(|a| (DataMode::Active, a)),
            ("EPRT", 200..=299) => dataaddr::parse_eprt(sent.command.arg()).map(|a| (DataMode::ExtendedActive, a)),
            ("PASV", 227) => dataaddr::parse_pasv_reply(ex.reply.text()).map(|a| (DataMode::Passive, a)),
            ("EPSV", 229) => dataaddr::parse_epsv_reply(ex.reply.text())
                .map(|p| (DataMode::ExtendedPassive, SocketAddr::new(server.ip(), p))),
            _ => None,
        };
        if let Some((mode, addr)) = mode_addr {
            let a = Announcement { id: self.next_id, session, mode, addr, origin: ex.reply.origin };
            self.next_id += 1;
            // A passive address the client cannot use is often replaced by
            // the control server's address (curl, lftp do this): expect both.
            let also = (mode == DataMode::Passive && addr.ip() != server.ip())
                .then(|| SocketAddr::new(server.ip(), addr.port()));
            // Active: the client may announce an address it is not seen from.
            let also = also.or_else(|| {
                (!mode.client_connects() && addr.ip() != client.ip()).then(|| SocketAddr::new(client.ip(), addr.port()))
            });
            self.await_connection(a, also);
            let state = self.sessions.entry(session).or_default();
            state.announcement = Some(a);
            state.setup_refused = None;
            return;
        }
        let refused_setup =
            if code >= 400 { ["PORT", "EPRT", "PASV", "EPSV"].into_iter().find(|v| *v == verb) } else { None };
        let is_transfer = TRANSFER_VERBS.contains(&verb);
        // Most replies (login, navigation) touch no transfer state: a
        // session gets an entry only once something here needs one.
        if refused_setup.is_none()
            && !is_transfer
            && verb != "SIZE"
            && verb != "ABOR"
            && verb != "PROT"
            && !self.sessions.contains_key(&session)
        {
            return;
        }
        let state = self.sessions.entry(session).or_default();
        if verb == "PROT" {
            if (200..300).contains(&code) {
                // RFC 4217 §9: P is TLS, C cleartext (S and E are not TLS's).
                state.prot_private = Some(sent.command.arg().eq_ignore_ascii_case(b"P"));
            }
            return;
        }
        if let Some(v) = refused_setup {
            state.setup_refused = Some((v, code));
        }
        // Replies come in command order: a final reply to another command
        // means the transfers still open (opened at their first reply, so
        // sent before it) were passed over. Not so for the status a STAT
        // may get while a transfer runs (RFC 959 4.1.3), nor for ABOR,
        // whose reply follows the transfer's own.
        let out_of_band = verb == "STAT" && (211..=213).contains(&code);
        if code >= 200 && !out_of_band && verb != "ABOR" {
            for t in state.open.iter_mut().filter(|t| t.command_number < sent.number) {
                t.passed_over = true;
            }
        }
        if verb == "SIZE" && code == 213 {
            if let Some(size) = first_number(text.get(4..).unwrap_or(b"")) {
                if state.sizes.len() >= 64 {
                    state.sizes.remove(0);
                }
                state.sizes.push((sent.command.arg().to_vec(), size));
            }
            return;
        }
        if verb == "ABOR" {
            for t in &mut state.open {
                t.aborted = true;
            }
            return;
        }
        if !is_transfer {
            return;
        }
        if ex.first_reply {
            let arg = sent.command.arg().to_vec();
            let announced_size = state.sizes.iter().rev().find(|(p, _)| *p == arg).map(|(_, s)| *s);
            // A transfer uses the data connection prepared for it.
            let announcement = state.announcement.take();
            let setup_refused = if announcement.is_none() { state.setup_refused.take() } else { None };
            state.open.push(Transfer {
                session,
                user: ex.user.map(crate::report::cell).unwrap_or_default(),
                verb: verb.to_string(),
                argument: arg,
                announcement,
                replies: Vec::new(),
                final_text: Vec::new(),
                announced_size,
                aborted: false,
                passed_over: false,
                command_number: sent.number,
                reply_gap: false,
                start: sent.command.origin,
                end: None,
                server_ip: server.ip(),
                setup_refused,
            });
        }
        let Some(idx) = state.open.iter().position(|t| t.command_number == sent.number) else { return };
        let t = &mut state.open[idx];
        if t.replies.len() < 16 {
            t.replies.push(code);
        }
        if (100..200).contains(&code) {
            if let Some(n) = size_in_150(text) {
                t.announced_size = Some(n);
            }
            return;
        }
        t.final_text = text.to_vec();
        t.end = Some(ex.reply.origin);
        // The usual ABOR: 426 ends the transfer, then 226 answers ABOR, so
        // the ABOR is still waiting when the transfer's final reply comes.
        if ex.abort_pending {
            t.aborted = true;
        }
        let done = state.open.remove(idx);
        // A connection that has not come by the final reply never will.
        if let Some(a) = done.announcement {
            self.forget(a.id);
        }
        self.finished.push((done, false));
    }

    /// A TCP segment that is not on a control port. `control_tls`: None
    /// for a control session that is not TLS, else the TLS 1.2 sessions of
    /// its connection, which its PROT P data connections may resume.
    pub fn segment(
        &mut self,
        seg: &TcpSegment<'_>,
        origin: Origin,
        control_tls: &dyn Fn(u64) -> Option<Vec<Resumable>>,
    ) {
        let src = SocketAddr::new(seg.src, seg.src_port);
        let dst = SocketAddr::new(seg.dst, seg.dst_port);
        let key = flow_key(src, dst);
        if let Some(&id) = self.live.get(&key) {
            let Some(c) = self.conns.get_mut(&id) else {
                self.close_live(key);
                return;
            };
            let from_initiator = src == c.initiator;
            c.last = origin;
            if let Some(tls) = c.tls.as_deref_mut() {
                if !tls.segment(from_initiator, seg, origin, self.keylog.as_deref()) {
                    c.tls = None;
                }
            }
            let len = seg.payload.len() as u64 + seg.missing_tail as u64;
            let counter = if from_initiator { &mut c.from_initiator } else { &mut c.from_listener };
            if seg.flags.syn {
                counter.syn(seg.seq);
                if !from_initiator && seg.flags.ack {
                    c.syn_ack = true;
                }
            } else if len > 0 {
                counter.data(seg.seq, len);
            }
            if seg.flags.rst {
                if from_initiator {
                    c.rst_by_initiator = true;
                } else {
                    c.rst_by_listener = true;
                }
            }
            if seg.flags.fin {
                if from_initiator {
                    c.fin_by_initiator = true;
                } else {
                    c.fin_by_listener = true;
                }
            }
            let closed = seg.flags.rst || (c.fin_by_initiator && c.fin_by_listener);
            if closed {
                self.close_live(key);
            }
            return;
        }
        // A new connection to an announced endpoint.
        let (listener, initiator) = if self.expected.contains_key(&dst) {
            (dst, src)
        } else if self.expected.contains_key(&src) && !seg.flags.syn {
            // Picked up after its SYN: the listener is the announced side.
            (src, dst)
        } else {
            return;
        };
        let Some(a) = self.expected.get(&listener).copied() else { return };
        self.forget(a.id);
        if self.conns.len() >= self.limits.max_data_conns {
            self.cap_hits += 1;
            return;
        }
        let state = self.sessions.get(&a.session);
        let prot = state.and_then(|s| s.prot_private);
        // PROT P: TLS. No PROT seen in a TLS session (it was in a part of
        // the control channel not decrypted): perhaps; the bytes will say.
        let control = if prot == Some(false) { None } else { control_tls(a.session) };
        let tls = match (prot, control) {
            (Some(false), _) | (None, None) => None,
            (_, control) => {
                let mut offered = control.unwrap_or_default();
                offered.extend(state.iter().flat_map(|s| s.resumable.iter().cloned()));
                let mut tls = DataTls::new(a.mode.client_connects(), offered);
                tls.unsure = prot.is_none();
                Some(Box::new(tls))
            }
        };
        let mut c = DataConn {
            announcement: a.id,
            session: a.session,
            initiator,
            listener,
            syn: seg.flags.syn && !seg.flags.ack,
            syn_ack: false,
            rst_by_listener: false,
            rst_by_initiator: false,
            fin_by_initiator: false,
            fin_by_listener: false,
            from_initiator: SeqCounter::default(),
            from_listener: SeqCounter::default(),
            first: origin,
            last: origin,
            tls,
        };
        let len = seg.payload.len() as u64 + seg.missing_tail as u64;
        let from_initiator = src == initiator;
        let counter = if from_initiator { &mut c.from_initiator } else { &mut c.from_listener };
        if seg.flags.syn {
            counter.syn(seg.seq);
        } else if len > 0 {
            counter.data(seg.seq, len);
        }
        if let Some(tls) = c.tls.as_deref_mut() {
            if !tls.segment(from_initiator, seg, origin, self.keylog.as_deref()) {
                c.tls = None;
            }
        }
        if seg.flags.rst {
            // Refused at once: nothing live to track.
            c.rst_by_listener = !from_initiator;
            c.rst_by_initiator = from_initiator;
            if let Some(tls) = c.tls.as_deref_mut() {
                tls.close(None);
            }
            self.conns.insert(a.id, c);
            return;
        }
        self.conns.insert(a.id, c);
        if let Some(old) = self.live.insert(key, a.id) {
            // The same address pair answered an older announcement too and
            // never closed: that one is over now.
            self.live_ids.remove(&old);
            self.close_tls(old);
        } else {
            self.port_ref(key.0.port(), true);
            self.port_ref(key.1.port(), true);
        }
        self.live_ids.insert(a.id, key);
    }

    /// A live data connection is over.
    fn close_live(&mut self, key: FlowKey) {
        if let Some(id) = self.live.remove(&key) {
            self.live_ids.remove(&id);
            self.port_ref(key.0.port(), false);
            self.port_ref(key.1.port(), false);
            self.close_tls(id);
        }
    }

    /// The TLS of a data connection that is over: read to its end, and
    /// its sessions kept for later data connections of the session.
    fn close_tls(&mut self, id: u64) {
        let Some(c) = self.conns.get_mut(&id) else { return };
        let Some(tls) = c.tls.as_deref_mut() else { return };
        tls.close(self.keylog.as_deref());
        if tls.learned().is_empty() {
            return;
        }
        if let Some(state) = self.sessions.get_mut(&c.session) {
            for r in tls.learned() {
                if !state.resumable.contains(r) {
                    if state.resumable.len() >= MAX_RESUMABLE {
                        state.resumable.remove(0);
                    }
                    state.resumable.push(r.clone());
                }
            }
        }
    }

    /// Stops expecting every address of an announcement; returns how many
    /// were still expected for it.
    fn forget(&mut self, id: u64) -> u64 {
        let Some((_, addrs)) = self.announced.remove(&id) else { return 0 };
        let mut n = 0;
        for addr in addrs.into_iter().flatten() {
            // A newer announcement of the address took it over.
            if self.expected.get(&addr).is_some_and(|a| a.id == id) {
                self.expected.remove(&addr);
                self.port_ref(addr.port(), false);
                n += 1;
            }
        }
        n
    }

    /// Expires announcements nobody connected to within the time limit,
    /// closes live data connections idle for longer than `idle_secs`, and
    /// forgets closed connections no transfer claimed.
    pub fn expire(&mut self, now: Timestamp) {
        let limit = self.limits.expect_secs;
        let stale: Vec<u64> = self
            .announced
            .iter()
            .filter(|(_, (ts, _))| now.secs.saturating_sub(ts.secs) > limit)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.expired += self.forget(id);
        }
        let idle = self.limits.idle_secs;
        let conns = &self.conns;
        let quiet: Vec<FlowKey> = self
            .live
            .iter()
            .filter(|(_, id)| conns.get(id).is_none_or(|c| now.secs.saturating_sub(c.last.ts.secs) > idle))
            .map(|(key, _)| *key)
            .collect();
        self.idle_closed += quiet.len() as u64;
        for key in quiet {
            self.close_live(key);
        }
        // Closed connections no transfer claimed are forgotten after a while.
        let open = self.sessions.values().flat_map(|s| s.open.iter());
        let claimed: std::collections::HashSet<u64> = open
            .chain(self.finished.iter().map(|(t, _)| t))
            .filter_map(|t| t.announcement.map(|a| a.id))
            .chain(self.sessions.values().filter_map(|s| s.announcement.map(|a| a.id)))
            .collect();
        let live = &self.live_ids;
        self.conns.retain(|id, c| {
            live.contains_key(id) || claimed.contains(id) || now.secs.saturating_sub(c.last.ts.secs) <= limit
        });
    }

    /// A control session ended: its open transfers end without a reply.
    /// Server bytes of a session's control connection were lost: a final
    /// reply to an open transfer may be among them.
    pub fn server_gap(&mut self, session: u64) {
        if let Some(state) = self.sessions.get_mut(&session) {
            for t in &mut state.open {
                t.reply_gap = true;
            }
        }
    }

    /// Whether [`DataTracker::session_end`] of `session` would do anything.
    pub fn has_session(&self, session: u64) -> bool {
        !self.sessions.is_empty() && self.sessions.contains_key(&session)
    }

    pub fn session_end(&mut self, session: u64) {
        if let Some(state) = self.sessions.remove(&session) {
            self.finished.extend(state.open.into_iter().map(|t| (t, false)));
        }
    }

    fn conn_of(&self, t: &Transfer) -> Option<&DataConn> {
        t.announcement.and_then(|a| self.conns.get(&a.id))
    }

    fn is_live(&self, t: &Transfer) -> bool {
        t.announcement.is_some_and(|a| self.live_ids.contains_key(&a.id))
    }

    /// Finished transfers not yet reported.
    pub fn ready_count(&self) -> usize {
        self.finished.len()
    }

    /// The lowest command frame of a transfer not yet reported.
    pub fn lowest_open_frame(&self) -> Option<u64> {
        let open = self.sessions.values().flat_map(|s| s.open.iter().map(|t| t.start.frame));
        open.chain(self.finished.iter().map(|(t, _)| t.start.frame)).min()
    }

    /// Rows for finished transfers whose data connection is over (all of
    /// them when `all`), removing what they used.
    pub fn take_ready(&mut self, capture: &str, all: bool) -> Vec<TransferRow> {
        let mut rows = Vec::new();
        let mut keep = Vec::new();
        for (t, counted) in std::mem::take(&mut self.finished) {
            if !all && self.is_live(&t) {
                keep.push((t, counted));
                continue;
            }
            let row = transfer_row(capture, &t, self.conn_of(&t));
            if !counted {
                self.totals.entry(t.session).or_default().add(&row);
            }
            if let Some(a) = t.announcement {
                if !self.is_live(&t) {
                    self.conns.remove(&a.id);
                }
            }
            rows.push(row);
        }
        self.finished = keep;
        rows
    }

    /// Transfer totals of a session that just ended (its remaining
    /// transfers are judged now, with the data connections as they are).
    pub fn session_totals(&mut self, session: u64) -> (u64, u64, u64, u64) {
        let mut totals = self.totals.remove(&session).unwrap_or_default();
        let mut pending = Vec::new();
        for (t, counted) in self.finished.iter_mut() {
            if t.session == session && !*counted {
                *counted = true;
                pending.push(t.clone());
            }
        }
        for t in &pending {
            totals.add(&transfer_row("", t, self.conn_of(t)));
        }
        (totals.ok, totals.failed, totals.up, totals.down)
    }
}

fn first_number(text: &[u8]) -> Option<u64> {
    let s = String::from_utf8_lossy(text);
    let digits: String = s.trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.parse().ok()
}

/// `150 Opening BINARY mode data connection for f (2048 bytes).`
fn size_in_150(text: &[u8]) -> Option<u64> {
    let s = String::from_utf8_lossy(text);
    let open = s.rfind('(')?;
    let inner = &s[open + 1..];
    let num: String = inner.chars().take_while(|c| c.is_ascii_digit()).collect();
    if num.is_empty() || num.len() > 19 || !inner[num.len()..].trim_start().starts_with("bytes") {
        return None;
    }
    num.parse().ok()
}

/// Transfer counts of one session.
#[derive(Debug, Default, Clone, Copy)]
struct SessionTotals {
    ok: u64,
    failed: u64,
    up: u64,
    down: u64,
}

impl SessionTotals {
    fn add(&mut self, row: &TransferRow) {
        match row.outcome.as_str() {
            "complete" => self.ok += 1,
            "failed" | "aborted" => self.failed += 1,
            _ => {}
        }
        let bytes = row.bytes.unwrap_or(0);
        if matches!(row.command.as_str(), "STOR" | "STOU" | "APPE") {
            self.up += bytes;
        } else {
            self.down += bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_from_replies() {
        assert_eq!(size_in_150(b"150 Opening BINARY mode data connection for hello.txt (2048 bytes)."), Some(2048));
        assert_eq!(size_in_150(b"150 Here comes the directory listing."), None);
        assert_eq!(size_in_150(b"150 File status okay (a bytes)"), None);
        assert_eq!(first_number(b"2048"), Some(2048));
        assert_eq!(first_number(b"x"), None);
    }

    /// Runs a control script (client?, bytes) through a real session into
    /// a tracker and returns (command, replies, outcome, cause) per transfer.
    fn track(script: &[(bool, &[u8])]) -> Vec<(String, String, String, String)> {
        use crate::config::SessionLimits;
        use crate::ftp::session::Session;
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:21".parse().unwrap();
        let mut session = Session::new(SessionLimits::default());
        let mut tracker = DataTracker::new(DataLimits::default());
        for (i, (from_client, bytes)) in script.iter().enumerate() {
            let origin = Origin { frame: i as u64 + 1, ..Default::default() };
            if *from_client {
                session.client_data(bytes, origin, None);
            } else {
                session.server_data(bytes, origin, None, &mut |ex| tracker.exchange(1, client, server, &ex));
            }
        }
        tracker.session_end(1);
        let rows = tracker.take_ready("x", true);
        rows.into_iter().map(|r| (r.command, r.replies, r.outcome, r.cause)).collect()
    }

    fn row(cmd: &str, replies: &str, outcome: &str, cause: &str) -> (String, String, String, String) {
        (cmd.into(), replies.into(), outcome.into(), cause.into())
    }

    #[test]
    fn abor_before_the_426_marks_the_transfer_aborted() {
        // vsftpd and pyftpdlib: 426 ends RETR, then 226 answers ABOR; the
        // ABOR is on the wire before the 426.
        let got = track(&[
            (false, b"220 hi\r\n"),
            (true, b"PASV\r\n"),
            (false, b"227 Entering Passive Mode (127,0,0,1,156,64).\r\n"),
            (true, b"RETR big.bin\r\n"),
            (false, b"150 Opening BINARY mode data connection.\r\n"),
            (true, b"\xff\xf4\xff\xf2ABOR\r\n"),
            (false, b"426 Failure writing network stream.\r\n"),
            (false, b"226 ABOR successful.\r\n"),
        ]);
        assert_eq!(got, vec![row("RETR", "150 426", "aborted", "aborted-by-client")]);
        // Without ABOR the same 426 is a failure.
        let got = track(&[
            (false, b"220 hi\r\n"),
            (true, b"RETR big.bin\r\n"),
            (false, b"150 Opening BINARY mode data connection.\r\n"),
            (false, b"426 Failure writing network stream.\r\n"),
        ]);
        assert_eq!(got[0].2, "failed");
    }

    #[test]
    fn answered_quit_passes_over_a_transfer_without_final_reply() {
        // pyftpdlib: PORT refused (425), RETR gets 150 and nothing more,
        // QUIT is answered while RETR waits.
        let script: &[(bool, &[u8])] = &[
            (false, b"220 hi\r\n"),
            (true, b"PORT 127,0,0,1,160,40\r\n"),
            (false, b"425 Can't connect to specified address.\r\n"),
            (true, b"RETR hello.txt\r\n"),
            (false, b"150 File status okay. About to open data connection.\r\n"),
            (true, b"QUIT\r\n"),
            (false, b"221 Goodbye.\r\n"),
        ];
        assert_eq!(track(script), vec![row("RETR", "150", "failed", "no-data-connection")]);
        // The capture ends while RETR waits: nothing is known.
        assert_eq!(track(&script[..5]), vec![row("RETR", "150", "incomplete-capture", "no-final-reply")]);
    }

    #[test]
    fn stat_answered_during_a_transfer_does_not_pass_it_over() {
        // RFC 959: STAT may be answered while RETR runs; the capture then
        // ends before the 226. Nothing says the transfer failed.
        let script: &[(bool, &[u8])] = &[
            (false, b"220 hi\r\n"),
            (true, b"PASV\r\n"),
            (false, b"227 Entering Passive Mode (127,0,0,1,156,64).\r\n"),
            (true, b"RETR big.bin\r\n"),
            (false, b"150 Opening BINARY mode data connection.\r\n"),
            (true, b"STAT\r\n"),
            (false, b"213 Status: 1000 of 9000 bytes transferred\r\n"),
        ];
        assert_eq!(track(script), vec![row("RETR", "150", "incomplete-capture", "no-final-reply")]);
        // RETR and QUIT in one segment: the 221 still passes RETR over.
        let got = track(&[
            (false, b"220 hi\r\n"),
            (true, b"RETR big.bin\r\nQUIT\r\n"),
            (false, b"150 Opening BINARY mode data connection.\r\n"),
            (false, b"221 Goodbye.\r\n"),
        ]);
        assert_eq!(got[0].2, "failed");
    }

    /// A data segment between `from` and `to` as the capture decodes it.
    fn packet(from: SocketAddr, to: SocketAddr, syn: bool, payload: &[u8]) -> Vec<u8> {
        let (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) = (from.ip(), to.ip()) else { unreachable!() };
        let b = etherparse::PacketBuilder::ipv4(a.octets(), b.octets(), 64).tcp(from.port(), to.port(), 1, 1000);
        let b = if syn { b.syn() } else { b.ack(1) };
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn at(secs: i64, frame: u64) -> Origin {
        Origin { frame, ts: Timestamp { secs, nanos: 0, digits: 6 } }
    }

    #[test]
    fn an_open_data_connection_closes_when_idle_and_its_row_is_released() {
        use crate::config::SessionLimits;
        use crate::ftp::session::Session;
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:21".parse().unwrap();
        let data: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let data_client: SocketAddr = "127.0.0.1:50001".parse().unwrap();
        let mut session = Session::new(SessionLimits::default());
        let limits = DataLimits { idle_secs: 100, ..DataLimits::default() };
        let mut tracker = DataTracker::new(limits);
        let script: &[(bool, &[u8])] = &[
            (false, b"220 hi\r\n"),
            (true, b"PASV\r\n"),
            (false, b"227 Entering Passive Mode (127,0,0,1,156,64).\r\n"),
            (true, b"RETR a\r\n"),
            (false, b"150 Opening.\r\n"),
        ];
        let feed = |session: &mut Session, tracker: &mut DataTracker, from_client: bool, bytes: &[u8], o: Origin| {
            if from_client {
                session.client_data(bytes, o, None);
            } else {
                session.server_data(bytes, o, None, &mut |ex| tracker.exchange(1, client, server, &ex));
            }
        };
        for (i, (from_client, bytes)) in script.iter().enumerate() {
            feed(&mut session, &mut tracker, *from_client, bytes, at(10, i as u64 + 1));
        }
        // The data connection opens and carries bytes, but its FIN is never
        // captured; the 226 comes.
        for (i, (from, to, syn, payload)) in
            [(data_client, data, true, &b""[..]), (data, data_client, false, &b"hello"[..])].into_iter().enumerate()
        {
            let p = packet(from, to, syn, payload);
            let seg = crate::capture::decode_tcp(crate::capture::link::linktype::RAW, &p).unwrap();
            tracker.segment(&seg, at(11, 10 + i as u64), &|_| None);
        }
        feed(&mut session, &mut tracker, false, b"226 Done.\r\n", at(12, 20));
        assert!(tracker.wants_ports(40000, 1));
        assert!(tracker.take_ready("x", false).is_empty(), "live: the row waits for the connection's end");
        tracker.expire(Timestamp { secs: 100, nanos: 0, digits: 6 });
        assert!(tracker.take_ready("x", false).is_empty(), "not idle long enough yet");
        tracker.expire(Timestamp { secs: 112, nanos: 0, digits: 6 });
        assert_eq!(tracker.idle_closed, 1);
        assert!(!tracker.wants_ports(40000, 1) && !tracker.wants_ports(50001, 1), "port references released");
        let rows = tracker.take_ready("x", false);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].command.as_str(), rows[0].bytes), ("RETR", Some(5)));
        assert!(tracker.live.is_empty() && tracker.live_ids.is_empty() && tracker.conns.is_empty());
    }

    #[test]
    fn a_newer_announcement_of_the_same_address_keeps_it_expected() {
        let addr: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let mut tracker = DataTracker::new(DataLimits::default());
        let a =
            |id: u64, secs: i64| Announcement { id, session: 1, mode: DataMode::Passive, addr, origin: at(secs, id) };
        tracker.await_connection(a(1, 0), None);
        tracker.await_connection(a(2, 200), None);
        // The first announcement's time is up; the address is the second's.
        tracker.expire(Timestamp { secs: 400, nanos: 0, digits: 6 });
        assert_eq!(tracker.expired, 0);
        assert_eq!(tracker.expected.get(&addr).map(|a| a.id), Some(2));
        assert!(tracker.wants_ports(40000, 1));
        tracker.expire(Timestamp { secs: 501, nanos: 0, digits: 6 });
        assert_eq!(tracker.expired, 1);
        assert!(tracker.expected.is_empty() && tracker.announced.is_empty() && !tracker.wants_ports(40000, 1));
    }

    #[test]
    fn seq_counter_ignores_retransmissions_and_wraps() {
        let mut c = SeqCounter::default();
        c.syn(u32::MAX - 10);
        c.data(u32::MAX - 9, 100);
        c.data(u32::MAX - 9, 100);
        assert_eq!(c.high, 100);
        c.data((u32::MAX - 9).wrapping_add(100), 50);
        assert_eq!(c.high, 150);
    }
}
