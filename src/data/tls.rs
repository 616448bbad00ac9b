//! PROT P data connections (RFC 4217): their TLS records read for how the
//! handshake ended and, with a key log, opened to count the plaintext of
//! the transfer.
//!
//! Each direction is reassembled (out-of-order bytes bounded by
//! [`MAX_BUFFER`]) into a [`TlsConnection`], whose own buffers are bounded
//! by a record. The plaintext is counted, never kept. Without a key the
//! connection is read only up to the end of its handshake; then it is
//! counted by TCP sequence numbers like a cleartext one.

use crate::capture::TcpSegment;
use crate::config::ReassemblyLimits;
use crate::flow::{Origin, OverlapPolicy, Reassembler, StreamEvent};
use crate::tls::keylog::KeyLog;
use crate::tls::{Handshake, Resumable, TlsConnection};

/// Out-of-order bytes held per direction of a TLS data connection.
pub const MAX_BUFFER: usize = 64 * 1024;

/// What is known of a TLS data connection once it is over (or while it
/// runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataTlsFacts {
    pub handshake: Handshake,
    pub resumed: bool,
    /// Record keys were found and records opened: `plaintext` counts.
    pub decrypted: bool,
    /// Application data plaintext bytes: from the TLS client (the FTP
    /// client), from the TLS server.
    pub plaintext: [u64; 2],
}

struct Live {
    /// By TLS direction: 0 the TLS client, 1 the TLS server.
    streams: [Reassembler; 2],
    tls: TlsConnection,
}

/// The TLS side of one data connection.
pub struct DataTls {
    live: Option<Box<Live>>,
    /// The TCP initiator is the TLS client (passive mode: the FTP client
    /// connects; RFC 4217 makes the FTP client the TLS client).
    client_is_initiator: bool,
    facts: DataTlsFacts,
    /// Sessions of this connection others may resume (TLS 1.2).
    learned: Vec<Resumable>,
    /// Not known to be TLS (the PROT command was not seen: it was inside a
    /// control channel not decrypted): the first payload decides.
    pub unsure: bool,
}

impl std::fmt::Debug for DataTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataTls").field("live", &self.live.is_some()).field("facts", &self.facts).finish()
    }
}

impl DataTls {
    /// A new TLS data connection; `offered`: the sessions it may resume
    /// (its control connection's, and earlier data connections').
    pub fn new(client_is_initiator: bool, offered: Vec<Resumable>) -> DataTls {
        let limits = ReassemblyLimits {
            max_buffered: MAX_BUFFER,
            max_segments: (MAX_BUFFER / 64) as u32,
            policy: OverlapPolicy::First,
        };
        let mut tls = TlsConnection::default();
        tls.data_channel = true;
        tls.offer(offered);
        DataTls {
            live: Some(Box::new(Live { streams: [Reassembler::new(limits), Reassembler::new(limits)], tls })),
            client_is_initiator,
            facts: DataTlsFacts { handshake: Handshake::NotSeen, resumed: false, decrypted: false, plaintext: [0, 0] },
            learned: Vec::new(),
            unsure: false,
        }
    }

    /// One segment of the connection; false when its first payload shows
    /// it is not TLS after all (see [`DataTls::unsure`]).
    pub fn segment(
        &mut self,
        from_initiator: bool,
        seg: &TcpSegment<'_>,
        origin: Origin,
        keys: Option<&KeyLog>,
    ) -> bool {
        if self.unsure && !seg.payload.is_empty() {
            // A TLS connection starts with a handshake record, TLS 1.x.
            if !matches!(seg.payload, [22, 3, 0..=4, ..] | [22] | [22, 3]) {
                return false;
            }
            self.unsure = false;
        }
        let Some(live) = self.live.as_deref_mut() else { return true };
        let dir = usize::from(from_initiator != self.client_is_initiator);
        let Live { streams, tls } = live;
        let [client, server] = streams;
        let (own, peer) = if dir == 0 { (client, server) } else { (server, client) };
        if seg.flags.syn {
            own.syn(seg.seq);
        }
        let data_seq = if seg.flags.syn { seg.seq.wrapping_add(1) } else { seg.seq };
        if !seg.payload.is_empty() || seg.missing_tail > 0 {
            let ack = seg.flags.ack.then_some(seg.ack);
            own.push(data_seq, seg.payload, seg.missing_tail, origin, ack, &mut |ev| event(tls, dir, ev, keys));
        }
        if seg.flags.ack {
            peer.peer_ack(seg.ack, origin, &mut |ev| event(tls, 1 - dir, ev, keys));
        }
        if seg.flags.fin {
            own.fin(data_seq, seg.payload.len() + seg.missing_tail as usize);
        }
        if tls.nothing_more_to_learn() {
            self.close(keys);
        } else {
            self.facts = facts(tls);
        }
        true
    }

    /// The connection is over: what is buffered is read, and the state
    /// dropped (the facts stay).
    pub fn close(&mut self, keys: Option<&KeyLog>) {
        let Some(mut live) = self.live.take() else { return };
        let Live { streams, tls } = &mut *live;
        for (dir, stream) in streams.iter_mut().enumerate() {
            stream.finish(&mut |ev| event(tls, dir, ev, keys));
        }
        self.facts = facts(tls);
        self.learned = tls.resumable();
    }

    pub fn facts(&self) -> DataTlsFacts {
        self.facts
    }

    /// TLS 1.2 sessions of this connection others may resume.
    pub fn learned(&self) -> &[Resumable] {
        &self.learned
    }

    /// Plaintext bytes from the TCP initiator and from the listener.
    pub fn plaintext_by_tcp_side(&self) -> (u64, u64) {
        let [client, server] = self.facts.plaintext;
        if self.client_is_initiator {
            (client, server)
        } else {
            (server, client)
        }
    }
}

fn facts(tls: &TlsConnection) -> DataTlsFacts {
    DataTlsFacts {
        handshake: tls.handshake(),
        resumed: tls.resumed,
        decrypted: tls.keyed() && tls.decrypted > 0,
        plaintext: tls.plaintext,
    }
}

fn event(tls: &mut TlsConnection, dir: usize, ev: StreamEvent<'_>, keys: Option<&KeyLog>) {
    match ev {
        StreamEvent::Data { bytes, .. } => tls.feed(dir, bytes, keys, &mut |_, _| {}),
        StreamEvent::Gap { .. } => tls.gap(dir),
        StreamEvent::Conflict { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::TcpFlags;

    fn seg(from_client: bool, seq: u32, payload: &[u8]) -> TcpSegment<'_> {
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let (src, dst, src_port, dst_port) = if from_client { (a, b, 50000, 40000) } else { (b, a, 40000, 50000) };
        TcpSegment {
            src,
            dst,
            src_port,
            dst_port,
            seq,
            ack: 0,
            flags: TcpFlags { syn: false, ack: false, fin: false, rst: false },
            payload,
            missing_tail: 0,
            encap: None,
        }
    }

    #[test]
    fn an_unsure_connection_whose_first_bytes_are_not_tls_is_not_tls() {
        let mut tls = DataTls::new(true, Vec::new());
        tls.unsure = true;
        assert!(!tls.segment(false, &seg(false, 1, b"drwxr-xr-x 2 ftp ftp\r\n"), Origin::default(), None));
        let mut tls = DataTls::new(true, Vec::new());
        tls.unsure = true;
        assert!(tls.segment(true, &seg(true, 1, &[22, 3, 1, 0, 4, 1, 0, 0, 0]), Origin::default(), None));
        assert!(!tls.unsure);
    }

    #[test]
    fn a_server_alert_in_the_handshake_is_kept_after_the_state_is_dropped() {
        // Passive mode: the initiator is the FTP client, the TLS client.
        let mut tls = DataTls::new(true, Vec::new());
        let mut hello = vec![3, 3];
        hello.extend_from_slice(&[1; 32]);
        hello.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
        let mut record = vec![22, 3, 1, 0, hello.len() as u8 + 4, 1, 0, 0, hello.len() as u8];
        record.extend_from_slice(&hello);
        // The handshake, the ClientHello cut in two segments, then the
        // server's alert.
        for from_client in [true, false] {
            let mut syn = seg(from_client, 0, &[]);
            syn.flags.syn = true;
            tls.segment(from_client, &syn, Origin::default(), None);
        }
        tls.segment(true, &seg(true, 1, &record[..10]), Origin::default(), None);
        tls.segment(true, &seg(true, 11, &record[10..]), Origin::default(), None);
        assert_eq!(tls.facts().handshake, Handshake::Started);
        tls.segment(false, &seg(false, 1, &[21, 3, 3, 0, 2, 2, 40]), Origin::default(), None);
        assert_eq!(tls.facts().handshake, Handshake::Alert { code: 40, by_client: false });
        assert!(tls.live.is_none(), "nothing more to learn: the buffers are gone");
        assert_eq!(tls.plaintext_by_tcp_side(), (0, 0));
    }
}
