//! One FTP control connection as the analysis drives it: its two stream
//! directions and its session, fed one TCP segment at a time.

use super::Ctx;
use crate::capture::{TcpSegment, Timestamp};
use crate::config::{ReassemblyLimits, SessionLimits};
use crate::diag::Warning;
use crate::flow::causal::{CausalOrder, HeldKind};
use crate::flow::{Endpoint, Origin, OverlapPolicy, Reassembler, StreamEvent, Tracked};
use crate::ftp::{Session, StopReason};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `--detect`: waiting for the first payload to tell.
    Unknown,
    Ftp,
    /// Not FTP control: remembered only so its packets are skipped.
    NotFtp,
}

/// Per-connection identity used in rows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    pub session_id: u64,
    pub client: Endpoint,
    pub server: Endpoint,
}

pub(super) struct Conn {
    pub kind: Kind,
    /// Whether `key.lo` is the client; None until known.
    pub lo_is_client: Option<bool>,
    pub to_server: Reassembler,
    pub to_client: Reassembler,
    pub session: Session,
    /// Set by its first payload, which makes it a session.
    pub meta: Option<Meta>,
    /// Where the connection was first seen.
    pub first: Origin,
    pub last_seen: Timestamp,
    pub client_ended: bool,
    pub server_ended: bool,
    pub saw_data: bool,
    /// Stream events held back until the other direction has delivered what
    /// their segment acknowledged (see [`crate::flow::causal`]); None while
    /// nothing is held, as in nearly every connection.
    pub held: Option<Box<CausalOrder>>,
}

impl Conn {
    pub fn new(
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
            held: None,
        }
    }

    /// Finishing it would do nothing but end the session (see
    /// [`Session::finish_is_silent`]): nothing buffered in either
    /// direction, no reassembly problem counted, a quiet session.
    pub fn finish_is_silent(&self) -> bool {
        self.to_server.finish_is_silent()
            && self.to_client.finish_is_silent()
            && self.session.finish_is_silent()
            && self.held.is_none()
    }

    /// Frame of the first byte of a reply still being assembled (partial
    /// line, open multi-line reply, or bytes held out of order).
    pub fn pending_reply_frame(&self) -> Option<u64> {
        let held = self.held.as_ref().and_then(|h| h.first_frame(SERVER));
        [self.session.pending_reply_frame(), self.to_client.min_buffered_frame(), held].into_iter().flatten().min()
    }
}

impl Tracked for Conn {
    fn session_id(&self) -> u64 {
        self.meta.map(|m| m.session_id).unwrap_or(0)
    }

    fn droppable(&self) -> bool {
        !self.saw_data || self.kind == Kind::NotFtp
    }

    fn silent(&self) -> bool {
        self.finish_is_silent()
    }
}

/// Runs one segment of a flow past its protocol state (`--detect`, the
/// handshake, the first payload that makes it a session) into [`segment`];
/// says how the connection ended when it is over.
pub(super) fn feed(
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
        let session_id = ctx.new_session();
        conn.meta = Some(Meta { session_id, client, server });
        if let Some(encap) = &seg.encap {
            ctx.encapsulations.insert(session_id, **encap);
        }
        if ctx.config.implicit_tls_ports.contains(&server.port) {
            // Implicit FTPS: TLS from the first byte.
            conn.session.encrypted();
            ctx.tls.insert(session_id, Box::default());
        }
        if ctx.config.transcript.is_some_and(|sel| sel.matches(session_id, client, server)) {
            conn.session.transcript.start();
            ctx.transcript_sessions.insert(session_id);
        }
    }
    segment(conn, seg, from_client, origin, ctx)
}

/// Bytes of the other direction an acknowledgement may cover beyond those
/// captured so far and still be waited for: the commands or replies in
/// flight on a control connection, which the other tap will show.
const IN_FLIGHT: u64 = 8 * 1024;

/// Directions in [`CausalOrder`].
const CLIENT: usize = 0;
const SERVER: usize = 1;

impl Conn {
    /// The capture reached `now`: holes the peer acknowledged whose wait is
    /// over become gaps, and held events whose wait is over are handed on,
    /// though the connection is quiet.
    pub fn expire(&mut self, now: Origin, ctx: &mut Ctx<'_>) {
        let Some(meta) = self.meta else { return };
        let Conn { to_server, to_client, session, held, .. } = self;
        to_server.expire(now, &mut |ev| route(ev, true, to_client, held, session, &meta, ctx));
        to_client.expire(now, &mut |ev| route(ev, false, to_server, held, session, &meta, ctx));
        self.drain(now, false, &meta, ctx);
    }

    /// Hands on the held events that may go now (all of them when `flush`).
    pub fn drain(&mut self, now: Origin, flush: bool, meta: &Meta, ctx: &mut Ctx<'_>) {
        let Conn { to_server, to_client, session, held, .. } = self;
        let Some(order) = held else { return };
        let reassembled = [to_server.next_offset(), to_client.next_offset()];
        let starting = [to_server.start_is_provisional(), to_client.start_is_provisional()];
        while let Some((dir, event)) = order.next_ready(reassembled, starting, now, flush) {
            let from_client = dir == CLIENT;
            let other: &Reassembler = if from_client { to_client } else { to_server };
            let peer_offset = event.ack.and_then(|a| other.acked_bytes(a));
            let ev = match &event.kind {
                HeldKind::Data(bytes) => StreamEvent::Data { bytes, origin: event.origin, ack: event.ack },
                HeldKind::Gap(len) => StreamEvent::Gap { len: *len, origin: event.origin },
            };
            stream_event(ev, from_client, peer_offset, session, meta, ctx);
        }
        if order.is_empty() {
            *held = None;
        }
    }

    /// Ends the directions whose every byte up to the FIN was handed on.
    fn end_finished_directions(&mut self, meta: &Meta, ctx: &mut Ctx<'_>) {
        let holds = |dir| self.held.as_ref().is_some_and(|h| h.holds(dir));
        let client_done = !self.client_ended && self.to_server.is_finished() && !holds(CLIENT);
        let server_done = !self.server_ended && self.to_client.is_finished() && !holds(SERVER);
        if client_done {
            self.client_ended = true;
            self.session.client_end();
        }
        if server_done {
            self.server_ended = true;
            self.session.server_end(&mut |ex| ctx.exchange(meta, ex));
        }
    }
}

/// Hands a stream event of one direction on to the session, or holds it
/// back (copied) while the other direction (`other`) has not yet delivered
/// what its segment acknowledged, or while earlier events of its direction
/// are held.
pub(super) fn route(
    ev: StreamEvent<'_>,
    from_client: bool,
    other: &Reassembler,
    held: &mut Option<Box<CausalOrder>>,
    session: &mut Session,
    meta: &Meta,
    ctx: &mut Ctx<'_>,
) {
    let dir = if from_client { CLIENT } else { SERVER };
    let (needs, peer_offset) = match ev {
        StreamEvent::Data { ack, .. } => {
            let offset = ack.and_then(|a| other.ack_offset(a));
            // An acknowledgement far past anything the other direction
            // showed is corrupt, not early: nothing is waited for.
            let plausible = offset.filter(|&o| o <= other.seen_end() + IN_FLIGHT);
            (plausible.unwrap_or(0), ack.and_then(|a| other.acked_bytes(a)))
        }
        StreamEvent::Gap { .. } => (0, None),
        StreamEvent::Conflict { .. } => return stream_event(ev, from_client, None, session, meta, ctx),
    };
    let other_delivered = other.next_offset().saturating_sub(held.as_ref().map_or(0, |h| h.held_len(1 - dir)));
    let must_wait = held.as_ref().is_some_and(|h| h.holds(dir)) || needs > other_delivered;
    if !must_wait {
        return stream_event(ev, from_client, peer_offset, session, meta, ctx);
    }
    let order = held.get_or_insert_with(Default::default);
    match ev {
        StreamEvent::Data { bytes, origin, ack } => order.hold(dir, HeldKind::Data(bytes.to_vec()), origin, ack, needs),
        StreamEvent::Gap { len, origin } => order.hold(dir, HeldKind::Gap(len), origin, None, needs),
        StreamEvent::Conflict { .. } => {}
    }
}

/// Hands one stream event of a connection to its session. `peer_offset`:
/// the other direction's stream offset its segment acknowledged.
pub(super) fn stream_event(
    ev: StreamEvent<'_>,
    from_client: bool,
    peer_offset: Option<u64>,
    session: &mut Session,
    meta: &Meta,
    ctx: &mut Ctx<'_>,
) {
    let id = meta.session_id;
    match ev {
        StreamEvent::Data { bytes, origin, .. } => {
            // Only a session that sent AUTH or is on an implicit-TLS port
            // can have TLS state: the lookup stays off the cleartext path.
            let maybe_tls = session.auth_sent || ctx.config.implicit_tls_ports.contains(&meta.server.port);
            if let Some(mut tls) = maybe_tls.then(|| ctx.tls.remove(&id)).flatten() {
                // The channel is TLS: its decrypted lines go to the session.
                let keylog = ctx.config.keylog.clone();
                tls.feed(usize::from(!from_client), bytes, keylog.as_deref(), &mut |plain, decrypted| {
                    if decrypted {
                        session.resume_in_tls();
                    } else {
                        session.resume_cleartext();
                    }
                    if from_client {
                        session.client_data(plain, origin, None);
                    } else {
                        session.server_data(plain, origin, None, &mut |ex| ctx.exchange(meta, ex));
                    }
                });
                ctx.tls.insert(id, tls);
                return;
            }
            if from_client {
                session.client_data(bytes, origin, peer_offset);
            } else {
                session.server_data(bytes, origin, peer_offset, &mut |ex| ctx.exchange(meta, ex));
                if session.stopped == Some(StopReason::Encrypted) {
                    // A 234 to AUTH TLS: what follows in both directions is TLS.
                    ctx.tls.insert(id, Box::default());
                }
            }
        }
        StreamEvent::Gap { len, origin } => {
            if let Some(tls) = ctx.tls.get_mut(&id) {
                // Only the records the gap touches are lost.
                tls.gap(usize::from(!from_client));
            }
            let side = if from_client { "client" } else { "server" };
            session.note(origin, || format!("{len} {side} bytes missing from the capture (gap)"));
            ctx.warn_session(Warning::GapInStream, id, || {
                format!("{len} {side} bytes missing before frame {}", origin.frame)
            });
            if from_client {
                session.client_gap(len);
            } else {
                session.server_gap(len, &mut |ex| ctx.exchange(meta, ex));
                if ctx.config.track_data {
                    ctx.data.server_gap(id);
                }
            }
        }
        StreamEvent::Conflict { first_frame, later_frame, len, kept } => {
            let kept = match kept {
                OverlapPolicy::First => "first",
                OverlapPolicy::Last => "last",
            };
            ctx.warn_session(Warning::OverlapDiffers, id, || {
                format!(
                    "{len} retransmitted bytes in frame {later_frame} differ from frame {first_frame}; kept the {kept} copy"
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
    let Conn { to_server, to_client, session, saw_data, held, .. } = conn;
    let (own, peer) = if from_client { (to_server, to_client) } else { (to_client, to_server) };
    let before = own.buffered() + peer.buffered();
    if seg.flags.syn {
        own.syn(seg.seq);
    }
    let data_seq = if seg.flags.syn { seg.seq.wrapping_add(1) } else { seg.seq };
    if !seg.payload.is_empty() || seg.missing_tail > 0 {
        *saw_data = true;
        let ack = seg.flags.ack.then_some(seg.ack);
        own.push(data_seq, seg.payload, seg.missing_tail, origin, ack, &mut |ev| {
            route(ev, from_client, peer, held, session, &meta, ctx)
        });
    }
    if seg.flags.ack {
        peer.peer_ack(seg.ack, origin, &mut |ev| route(ev, !from_client, own, held, session, &meta, ctx));
    }
    if seg.flags.fin {
        own.fin(data_seq, seg.payload.len() + seg.missing_tail as usize);
    }
    let after = own.buffered() + peer.buffered();
    ctx.total_buffered = (ctx.total_buffered + after).saturating_sub(before);
    if ctx.total_buffered > ctx.config.max_total_buffered {
        ctx.warn_session(Warning::TotalBufferCapHit, meta.session_id, || {
            "out-of-order bytes over all flows exceeded the cap; holes declared gaps".into()
        });
        let freed = own.buffered();
        own.finish(&mut |ev| route(ev, from_client, peer, held, session, &meta, ctx));
        ctx.total_buffered = ctx.total_buffered.saturating_sub(freed);
    }
    conn.drain(origin, false, &meta, ctx);
    // A direction ends once every byte up to its FIN was handed on.
    conn.end_finished_directions(&meta, ctx);
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
