//! One FTP control connection as the analysis drives it: its two stream
//! directions and its session, fed one TCP segment at a time.

use super::Ctx;
use crate::capture::{TcpSegment, Timestamp};
use crate::config::{ReassemblyLimits, SessionLimits};
use crate::diag::Warning;
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
        }
    }

    /// Finishing it would do nothing but end the session (see
    /// [`Session::finish_is_silent`]): nothing buffered in either
    /// direction, no reassembly problem counted, a quiet session.
    pub fn finish_is_silent(&self) -> bool {
        self.to_server.finish_is_silent() && self.to_client.finish_is_silent() && self.session.finish_is_silent()
    }

    /// Frame of the first byte of a reply still being assembled (partial
    /// line, open multi-line reply, or bytes held out of order).
    pub fn pending_reply_frame(&self) -> Option<u64> {
        [self.session.pending_reply_frame(), self.to_client.min_buffered_frame()].into_iter().flatten().min()
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
        if ctx.config.transcript.is_some_and(|sel| sel.matches(session_id, client, server)) {
            conn.session.transcript.start();
            ctx.transcript_sessions.insert(session_id);
        }
    }
    segment(conn, seg, from_client, origin, ctx)
}

impl Conn {
    /// The capture reached `now`: holes the peer acknowledged whose wait is
    /// over become gaps, though the connection is quiet.
    pub fn expire(&mut self, now: Origin, ctx: &mut Ctx<'_>) {
        let Some(meta) = self.meta else { return };
        let Conn { to_server, to_client, session, .. } = self;
        to_server.expire(now, &mut |ev| stream_event(ev, true, session, &meta, ctx));
        to_client.expire(now, &mut |ev| stream_event(ev, false, session, &meta, ctx));
    }
}

/// Routes one stream event of a connection into its session.
pub(super) fn stream_event(
    ev: StreamEvent<'_>,
    from_client: bool,
    session: &mut Session,
    meta: &Meta,
    ctx: &mut Ctx<'_>,
) {
    let id = meta.session_id;
    match ev {
        StreamEvent::Data { bytes, origin, .. } => {
            if from_client {
                session.client_data(bytes, origin);
            } else {
                session.server_data(bytes, origin, &mut |ex| ctx.exchange(meta, ex));
            }
        }
        StreamEvent::Gap { len, origin } => {
            let side = if from_client { "client" } else { "server" };
            session.note(origin, || format!("{len} {side} bytes missing from the capture (gap)"));
            ctx.warn_session(Warning::GapInStream, id, || {
                format!("{len} {side} bytes missing before frame {}", origin.frame)
            });
            if from_client {
                session.client_gap();
            } else {
                session.server_gap();
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
    let Conn { to_server, to_client, session, saw_data, .. } = conn;
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
            stream_event(ev, from_client, session, &meta, ctx)
        });
    }
    if seg.flags.ack {
        peer.peer_ack(seg.ack, origin, &mut |ev| stream_event(ev, !from_client, session, &meta, ctx));
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
