//! FTPS: the TLS records of an encrypted control connection (after AUTH
//! TLS, or from the first byte on an implicit-TLS port), their handshake
//! read for what it says (version, cipher suite, SNI, alerts), and with a
//! key log their application data decrypted back into control lines.
//!
//! One [`TlsConnection`] per control connection; each direction is a byte
//! stream cut into records (a record may span segments). TLS 1.3 keys come
//! from the logged traffic secrets (handshake, then application, then each
//! KeyUpdate); TLS 1.2 keys from the master secret. Which key opens a
//! record is found by trying them in order: AEAD authentication says which
//! is right, so no handshake message needs to be understood for it.

pub mod cipher;
pub mod keylog;

use cipher::{suite, RecordKey};
use keylog::KeyLog;

/// Largest record body accepted (2^14 plaintext + 2048, RFC 8446 §5.2).
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Records after a gap tried at sequence numbers this far ahead.
const RESYNC_SEQ: u64 = 64;
/// Places after a gap tried as record starts before the direction is given
/// up: each try may cost [`RESYNC_SEQ`] decryptions, and a hostile stream
/// can look like a record header at every byte.
const RESYNC_TRIES: u32 = 16;

/// A TLS 1.2 session another connection may resume: its session ID or a
/// ticket the server issued for it, and its master secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Resumable {
    pub id: Vec<u8>,
    master: Vec<u8>,
}

/// Key material never reaches a report, a warning or a transcript.
impl std::fmt::Debug for Resumable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resumable").field("id_len", &self.id.len()).finish()
    }
}

/// Most session IDs and tickets remembered per connection.
const MAX_RESUMABLE: usize = 8;
/// Longest ticket kept (RFC 5077 allows 65535; real ones are ~200 bytes).
const MAX_TICKET: usize = 2048;

/// TLS 1.2 session resumption (RFC 5246 §7.3, RFC 5077): what the hellos
/// and NewSessionTickets said, and the master secret once known.
#[derive(Default)]
struct Resumption {
    client_session_id: Vec<u8>,
    server_session_id: Vec<u8>,
    /// The ticket the ClientHello offered (session_ticket extension).
    client_ticket: Vec<u8>,
    /// Tickets the server issued in this connection.
    tickets: Vec<Vec<u8>>,
    master: Option<Vec<u8>>,
    /// Sessions this connection may resume (set by its owner).
    offered: Vec<Resumable>,
}

/// How the handshake of a connection went, as far as the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// No ClientHello seen.
    NotSeen,
    /// Started, not finished (yet).
    Started,
    /// Both sides switched to protected records (TLS 1.2: both
    /// ChangeCipherSpecs; TLS 1.3: the client's first protected record,
    /// its Finished).
    Done,
    /// An alert came before the handshake finished: its code, and whether
    /// the client sent it.
    Alert { code: u8, by_client: bool },
}

/// How a TLS session went, for the sessions report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSummary {
    /// `TLS 1.3`, `TLS 1.2`, … from the ServerHello.
    pub version: String,
    pub cipher: String,
    pub sni: String,
    /// `decrypted`, `no key`, `not decrypted (cipher)`, `alert: NAME`,
    /// `handshake incomplete`.
    pub result: String,
}

#[derive(Default)]
struct Direction {
    /// Bytes of a record not complete yet.
    pending: Vec<u8>,
    /// Handshake bytes of the cleartext hellos across records.
    handshake: Vec<u8>,
    /// Keys to try, current first (TLS 1.3: handshake then application).
    keys: Vec<RecordKey>,
    /// TLS 1.3: the secret of the last key in `keys`, for KeyUpdate.
    last_secret: Option<Vec<u8>>,
    /// TLS 1.2: records are protected after this direction's ChangeCipherSpec.
    protected: bool,
    /// A gap cut the stream: the next record boundary is unknown.
    lost: bool,
    /// Record starts still to be tried after the gap ([`RESYNC_TRIES`]).
    tries_left: u32,
    /// No way back was found after a gap: the rest is not read.
    given_up: bool,
    /// TLS ended and cleartext FTP follows (CCC, RFC 4217).
    cleartext: bool,
}

/// The TLS state of one control connection (0: client to server, 1:
/// server to client).
#[derive(Default)]
pub struct TlsConnection {
    dirs: [Direction; 2],
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    version: Option<u16>,
    suite: Option<u16>,
    sni: Option<String>,
    /// The ServerHello agreed to encrypt-then-MAC (RFC 7366).
    encrypt_then_mac: bool,
    alert: Option<u8>,
    /// Records opened, records that no key opened.
    pub decrypted: u64,
    pub undecrypted: u64,
    /// Gaps inside the TLS stream, and records skipped to find the way back.
    pub gaps: u64,
    no_key: bool,
    /// Record keys were derived (from the key log or a resumed session).
    keyed: bool,
    /// The ServerHello resumed a session (TLS 1.2: it echoed the client's
    /// session ID; TLS 1.3: it took a pre-shared key).
    pub resumed: bool,
    /// The first alert before the handshake finished.
    handshake_alert: Option<(u8, bool)>,
    /// A ClientHello was seen.
    client_hello_seen: bool,
    resumption: Option<Box<Resumption>>,
    /// Application data plaintext bytes opened, by direction.
    pub plaintext: [u64; 2],
    /// Not a control connection: cleartext after TLS is not FTP (no CCC).
    pub data_channel: bool,
}

impl std::fmt::Debug for TlsConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnection").field("version", &self.version).field("suite", &self.suite).finish()
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be24(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*d.get(at)?) << 16 | usize::from(*d.get(at + 1)?) << 8 | usize::from(*d.get(at + 2)?))
}

impl TlsConnection {
    /// In-order bytes of direction `dir` (0 client, 1 server); the plaintext
    /// of every record opened goes to `plain` (with `true`), and cleartext
    /// after the TLS session ended (CCC) too (with `false`).
    pub fn feed(&mut self, dir: usize, bytes: &[u8], keys: Option<&KeyLog>, plain: &mut dyn FnMut(&[u8], bool)) {
        let Some(d) = self.dirs.get_mut(dir) else { return };
        if d.cleartext {
            return plain(bytes, false);
        }
        if d.given_up {
            return;
        }
        d.pending.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let buf = &self.dirs[dir].pending;
            if !self.dirs[dir].lost
                && !self.data_channel
                && buf.get(at).is_some_and(|&b| b.is_ascii_alphanumeric())
                && looks_like_ftp(&buf[at..])
            {
                // Not a record but a line of FTP: the TLS session ended
                // (CCC) and the channel is cleartext again.
                let rest = buf[at..].to_vec();
                let d = &mut self.dirs[dir];
                d.cleartext = true;
                d.pending.clear();
                return plain(&rest, false);
            }
            if self.dirs[dir].lost {
                // Find the next plausible record header.
                match (at..buf.len().saturating_sub(4)).find(|&i| plausible_header(&buf[i..])) {
                    Some(i) => at = i,
                    None => {
                        at = buf.len().saturating_sub(4);
                        break;
                    }
                }
            }
            let buf = &self.dirs[dir].pending;
            let (Some(&kind), Some(len)) = (buf.get(at), be16(buf, at + 3)) else { break };
            let len = usize::from(len);
            if len > MAX_RECORD {
                // Not a record boundary: the stream is out of step.
                let d = &mut self.dirs[dir];
                if !d.lost {
                    d.lost = true;
                    d.tries_left = RESYNC_TRIES;
                }
                at += 1;
                continue;
            }
            if buf.len() < at + 5 + len {
                break;
            }
            let mut header = [0u8; 5];
            header.copy_from_slice(&buf[at..at + 5]);
            let body = buf[at + 5..at + 5 + len].to_vec();
            let was_lost = self.dirs[dir].lost;
            let opened = self.record(dir, kind, &header, &body, keys, was_lost, plain);
            if was_lost && !opened {
                // Not a record after all (or not one we can open): look on,
                // a bounded number of times.
                let d = &mut self.dirs[dir];
                d.tries_left = d.tries_left.saturating_sub(1);
                if d.tries_left == 0 {
                    d.given_up = true;
                    d.pending.clear();
                    return;
                }
                at += 1;
                continue;
            }
            self.dirs[dir].lost = false;
            at += 5 + len;
        }
        self.dirs[dir].pending.drain(..at.min(self.dirs[dir].pending.len()));
        if self.dirs[dir].pending.len() > 2 * MAX_RECORD {
            let d = &mut self.dirs[dir];
            d.pending.clear();
            d.lost = true;
            d.tries_left = RESYNC_TRIES;
        }
    }

    /// `len` bytes of direction `dir` are missing: the record they cut is
    /// lost, and the stream is read again from the next record header.
    pub fn gap(&mut self, dir: usize) {
        if let Some(d) = self.dirs.get_mut(dir) {
            d.pending.clear();
            d.lost = true;
            d.tries_left = RESYNC_TRIES;
            self.gaps += 1;
        }
    }

    /// Handles one record; true when it was read (opened, or cleartext).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        dir: usize,
        kind: u8,
        header: &[u8; 5],
        body: &[u8],
        keys: Option<&KeyLog>,
        resync: bool,
        plain: &mut dyn FnMut(&[u8], bool),
    ) -> bool {
        let tls13 = self.version == Some(0x0304);
        let protected = if tls13 { kind == 23 } else { self.dirs[dir].protected };
        if !protected {
            match kind {
                22 => {
                    self.dirs[dir].handshake.extend_from_slice(body);
                    self.hellos(dir, keys);
                }
                20 if !tls13 => self.dirs[dir].protected = true,
                21 => {
                    if let Some(&code) = body.get(1) {
                        self.note_alert(dir, code);
                    }
                }
                _ => {}
            }
            return !resync || matches!(kind, 20..=22);
        }
        if tls13 {
            // Protected records from this side: for the client, its
            // Finished (the handshake is done).
            self.dirs[dir].protected = true;
        }
        let opened = self.open(dir, header, body, resync);
        let Some(mut opened) = opened else {
            self.undecrypted += 1;
            return false;
        };
        self.decrypted += 1;
        let inner = if tls13 {
            // Strip the zero padding; the last byte left is the real type.
            while opened.last() == Some(&0) {
                opened.pop();
            }
            opened.pop().unwrap_or(0)
        } else {
            kind
        };
        match inner {
            23 => {
                if let Some(n) = self.plaintext.get_mut(dir) {
                    *n += opened.len() as u64;
                }
                plain(&opened, true)
            }
            21 => {
                if let Some(&code) = opened.get(1) {
                    self.note_alert(dir, code);
                }
            }
            22 if tls13 => self.encrypted_handshake(dir, &opened),
            _ => {}
        }
        true
    }

    /// Tries the direction's keys in order; the first that opens the record
    /// becomes the current one. After a gap, later sequence numbers too.
    fn open(&mut self, dir: usize, header: &[u8; 5], body: &[u8], resync: bool) -> Option<Vec<u8>> {
        let d = &mut self.dirs[dir];
        for i in 0..d.keys.len() {
            let key = &mut d.keys[i];
            let base = key.seq;
            let tries = if resync { RESYNC_SEQ } else { 1 };
            for ahead in 0..tries {
                key.seq = base + ahead;
                if let Some(plain) = key.open(header, body) {
                    // Keys before this one are done with.
                    d.keys.drain(..i);
                    return Some(plain);
                }
            }
            key.seq = base;
        }
        None
    }

    /// TLS 1.3 handshake messages inside protected records: a KeyUpdate
    /// adds the next application key.
    fn encrypted_handshake(&mut self, dir: usize, messages: &[u8]) {
        let mut at = 0;
        while let (Some(&kind), Some(len)) = (messages.get(at), be24(messages, at + 1)) {
            if kind == 24 {
                self.key_update(dir);
            }
            at += 4 + len;
        }
    }

    fn key_update(&mut self, dir: usize) {
        let Some((algorithm, hash)) = self.suite.and_then(suite).and_then(|s| s.aead) else { return };
        let d = &mut self.dirs[dir];
        let Some(next) = d.last_secret.as_ref().and_then(|s| RecordKey::next_secret(hash, s)) else { return };
        if let Some(key) = RecordKey::tls13(algorithm, hash, &next) {
            d.keys.push(key);
        }
        d.last_secret = Some(next);
    }

    /// Reads the cleartext ClientHello and ServerHello; once both are in,
    /// the record keys are derived from the key log.
    fn hellos(&mut self, dir: usize, keys: Option<&KeyLog>) {
        let hs = std::mem::take(&mut self.dirs[dir].handshake);
        let mut at = 0;
        while let (Some(&kind), Some(len)) = (hs.get(at), be24(&hs, at + 1)) {
            let Some(body) = hs.get(at + 4..at + 4 + len) else { break };
            match kind {
                1 => self.client_hello(body),
                2 => {
                    self.server_hello(body);
                    self.derive(keys);
                }
                // TLS 1.2 NewSessionTicket: lifetime, ticket (RFC 5077 §3.3).
                4 if self.version != Some(0x0304) => {
                    if let Some(n) = be16(body, 4).map(usize::from) {
                        if let Some(ticket) = body.get(6..6 + n).filter(|t| !t.is_empty() && t.len() <= MAX_TICKET) {
                            let r = self.resumption.get_or_insert_with(Default::default);
                            if r.tickets.len() < MAX_RESUMABLE {
                                r.tickets.push(ticket.to_vec());
                            }
                        }
                    }
                }
                _ => {}
            }
            at += 4 + len;
        }
        // Keep a message cut across records (bounded).
        if at < hs.len() && hs.len() - at <= MAX_RECORD {
            self.dirs[dir].handshake = hs[at..].to_vec();
        }
    }

    fn client_hello(&mut self, body: &[u8]) {
        self.client_hello_seen = true;
        if let Some(random) = body.get(2..34) {
            self.client_random = random.try_into().ok();
        }
        let Some(sid) = body.get(34).map(|&n| usize::from(n)) else { return };
        if let Some(id) = body.get(35..35 + sid).filter(|id| !id.is_empty() && id.len() <= 32) {
            self.resumption.get_or_insert_with(Default::default).client_session_id = id.to_vec();
        }
        let mut at = 35 + sid;
        let Some(suites) = be16(body, at) else { return };
        at += 2 + usize::from(suites);
        let Some(comp) = body.get(at).map(|&n| usize::from(n)) else { return };
        at += 1 + comp + 2;
        while let (Some(ext), Some(len)) = (be16(body, at), be16(body, at + 2)) {
            let data = body.get(at + 4..at + 4 + usize::from(len)).unwrap_or_default();
            if ext == 35 && !data.is_empty() && data.len() <= MAX_TICKET {
                // session_ticket: the ticket offered for resumption.
                self.resumption.get_or_insert_with(Default::default).client_ticket = data.to_vec();
            }
            if ext == 0 {
                // server_name: list length, type 0 (host name), length, name.
                if let (Some(0), Some(n)) = (data.get(2), be16(data, 3)) {
                    if let Some(name) = data.get(5..5 + usize::from(n)) {
                        self.sni = Some(crate::report::cell(name));
                    }
                }
            }
            at += 4 + usize::from(len);
        }
    }

    fn server_hello(&mut self, body: &[u8]) {
        self.version = be16(body, 0);
        if let Some(random) = body.get(2..34) {
            self.server_random = random.try_into().ok();
        }
        let Some(sid) = body.get(34).map(|&n| usize::from(n)) else { return };
        let server_id = body.get(35..35 + sid).filter(|id| !id.is_empty() && id.len() <= 32);
        let mut echoed = false;
        if let Some(id) = server_id {
            let r = self.resumption.get_or_insert_with(Default::default);
            r.server_session_id = id.to_vec();
            echoed = r.client_session_id == id;
        }
        let mut psk = false;
        let mut at = 35 + sid;
        self.suite = be16(body, at);
        at += 3 + 2;
        while let (Some(ext), Some(len)) = (be16(body, at), be16(body, at + 2)) {
            if ext == 0x002b {
                // supported_versions: the version really chosen (TLS 1.3).
                self.version = be16(body, at + 4);
            }
            if ext == 0x0016 {
                self.encrypt_then_mac = true;
            }
            if ext == 0x0029 {
                psk = true;
            }
            at += 4 + usize::from(len);
        }
        // TLS 1.2: the server echoed the client's session ID, an abbreviated
        // handshake resuming that session (or the ticket's). TLS 1.3 echoes
        // it always (RFC 8446 §4.1.3): there a pre_shared_key says so.
        self.resumed = if self.version == Some(0x0304) { psk } else { echoed };
    }

    fn derive(&mut self, keys: Option<&KeyLog>) {
        let (Some(random), Some(id)) = (self.client_random, self.suite) else { return };
        let Some(known) = suite(id) else { return };
        let logged = keys.and_then(|k| k.get(&random));
        // TLS 1.2 resumption: the master secret is the resumed session's,
        // logged perhaps only under the client random of its first
        // handshake (found by session ID or ticket).
        let resumed_master = || -> Option<Vec<u8>> {
            let r = self.resumption.as_deref()?;
            if !self.resumed || self.version == Some(0x0304) {
                return None;
            }
            let wanted = [&r.client_ticket, &r.server_session_id];
            let found = r.offered.iter().find(|o| wanted.iter().any(|w| !w.is_empty() && **w == o.id))?;
            Some(found.master.clone())
        };
        let master = logged.and_then(|s| s.master.clone()).or_else(resumed_master);
        if logged.is_none() && master.is_none() {
            self.no_key = true;
            return;
        }
        let empty = keylog::Secrets::default();
        let secrets = logged.unwrap_or(&empty);
        if self.version != Some(0x0304) {
            if let Some(m) = &master {
                self.resumption.get_or_insert_with(Default::default).master = Some(m.clone());
            }
        }
        if let Some(cbc) = known.cbc {
            if let (Some(master), Some(server_random), Some(0x0302 | 0x0303)) =
                (&master, self.server_random, self.version)
            {
                if let Some((client, server)) =
                    RecordKey::tls12_cbc(cbc, master, &random, &server_random, self.encrypt_then_mac)
                {
                    self.dirs[0].keys = vec![client];
                    self.dirs[1].keys = vec![server];
                    self.keyed = true;
                }
            }
            return;
        }
        let Some((algorithm, hash)) = known.aead else { return };
        if self.version == Some(0x0304) {
            let both = [
                (&secrets.client_handshake, &secrets.client_traffic),
                (&secrets.server_handshake, &secrets.server_traffic),
            ];
            for (d, (handshake, traffic)) in self.dirs.iter_mut().zip(both) {
                let tls13 = |s: &Option<Vec<u8>>| s.as_ref().and_then(|s| RecordKey::tls13(algorithm, hash, s));
                d.keys = [tls13(handshake), tls13(traffic)].into_iter().flatten().collect();
                d.last_secret = traffic.clone();
            }
            self.no_key = self.dirs.iter().all(|d| d.keys.is_empty());
            self.keyed = !self.no_key;
        } else if let (Some(master), Some(server_random)) = (&master, self.server_random) {
            if let Some((client, server)) = RecordKey::tls12(algorithm, hash, master, &random, &server_random) {
                self.dirs[0].keys = vec![client];
                self.dirs[1].keys = vec![server];
                self.keyed = true;
            }
        } else {
            self.no_key = true;
        }
    }

    fn note_alert(&mut self, dir: usize, code: u8) {
        self.alert = self.alert.or(Some(code));
        if self.handshake_alert.is_none() && self.handshake() != Handshake::Done {
            self.handshake_alert = Some((code, dir == 0));
        }
    }

    /// How far the handshake went.
    pub fn handshake(&self) -> Handshake {
        if let Some((code, by_client)) = self.handshake_alert {
            return Handshake::Alert { code, by_client };
        }
        let done = match self.version {
            Some(0x0304) => self.dirs[0].protected,
            Some(_) => self.dirs[0].protected && self.dirs[1].protected,
            None => false,
        };
        if done {
            Handshake::Done
        } else if self.client_hello_seen {
            Handshake::Started
        } else {
            Handshake::NotSeen
        }
    }

    /// Record keys were found for this connection (key log or resumption).
    pub fn keyed(&self) -> bool {
        self.keyed
    }

    /// Whether records that could not be opened were met.
    pub fn all_opened(&self) -> bool {
        self.undecrypted == 0
    }

    /// Nothing more can be learned from the rest of the stream: the
    /// handshake is over (or failed) and there is no key to open records.
    pub fn nothing_more_to_learn(&self) -> bool {
        !self.keyed && !matches!(self.handshake(), Handshake::NotSeen | Handshake::Started)
    }

    /// TLS 1.2 sessions of this connection others may resume: its session
    /// ID and the tickets it was issued, with the master secret, once known.
    pub fn resumable(&self) -> Vec<Resumable> {
        let Some(r) = self.resumption.as_deref() else { return Vec::new() };
        let Some(master) = &r.master else { return Vec::new() };
        std::iter::once(&r.server_session_id)
            .chain(&r.tickets)
            .filter(|id| !id.is_empty())
            .take(MAX_RESUMABLE)
            .map(|id| Resumable { id: id.clone(), master: master.clone() })
            .collect()
    }

    /// Sessions this connection may resume (before its handshake is read).
    pub fn offer(&mut self, sessions: Vec<Resumable>) {
        if !sessions.is_empty() {
            let r = self.resumption.get_or_insert_with(Default::default);
            r.offered = sessions;
            r.offered.truncate(2 * MAX_RESUMABLE);
        }
    }

    /// What the sessions report says of it.
    pub fn summary(&self) -> TlsSummary {
        let version = match self.version {
            Some(0x0304) => "TLS 1.3".to_string(),
            Some(0x0303) => "TLS 1.2".to_string(),
            Some(0x0302) => "TLS 1.1".to_string(),
            Some(0x0301) => "TLS 1.0".to_string(),
            Some(v) => format!("0x{v:04x}"),
            None => String::new(),
        };
        let known = self.suite.and_then(suite);
        let cipher = match (known, self.suite) {
            (Some(s), _) => s.name.to_string(),
            (None, Some(id)) => format!("0x{id:04x}"),
            (None, None) => String::new(),
        };
        // A close_notify ends a session that worked; other alerts say why
        // it did not.
        let result = if let Some(alert) = self.alert.filter(|&a| a != 0 || self.decrypted == 0) {
            format!("alert: {}", alert_name(alert))
        } else if self.decrypted > 0 {
            "decrypted".to_string()
        } else if self.version.is_none() {
            "handshake incomplete".to_string()
        } else if known.is_some_and(|s| s.aead.is_none() && (s.cbc.is_none() || self.version == Some(0x0301))) {
            "not decrypted (cipher)".to_string()
        } else if self.no_key {
            "no key".to_string()
        } else {
            "not decrypted".to_string()
        };
        TlsSummary { version, cipher, sni: self.sni.clone().unwrap_or_default(), result }
    }
}

/// Bytes that start like an FTP command or reply line (three letters or
/// digits, then printable text to a line end within 512 bytes), not a TLS
/// record (whose first byte is 20 to 23).
fn looks_like_ftp(b: &[u8]) -> bool {
    let head = &b[..b.len().min(512)];
    let Some(end) = head.iter().position(|&c| c == b'\n') else { return false };
    head.len() >= 4
        && head[..3].iter().all(u8::is_ascii_alphanumeric)
        && head[..end].iter().all(|&c| c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c))
}

/// A record header where a record could start: a known content type,
/// version 3.x, a length that fits.
fn plausible_header(b: &[u8]) -> bool {
    matches!(b.first(), Some(20..=23))
        && b.get(1) == Some(&3)
        && be16(b, 3).is_some_and(|l| usize::from(l) <= MAX_RECORD && l > 0)
}

/// RFC 8446 §6 alert names.
pub fn alert_name(code: u8) -> &'static str {
    match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_gap_a_hostile_stream_is_given_up_on_not_chewed() {
        let mut tls = TlsConnection { version: Some(0x0304), ..Default::default() };
        tls.gap(1);
        // A record header at every byte, none of which opens.
        let hostile: Vec<u8> = [0x17, 0x03, 0x03, 0x00, 0x05].iter().copied().cycle().take(100_000).collect();
        let mut plain = 0;
        tls.feed(1, &hostile, None, &mut |p, _| plain += p.len());
        assert_eq!(plain, 0);
        assert!(tls.dirs[1].given_up);
        assert!(tls.dirs[1].pending.is_empty());
        // The other direction is untouched.
        assert!(!tls.dirs[0].given_up);
    }

    /// A handshake record holding one message.
    fn hs_record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut hs = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(body);
        let mut r = vec![22, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
        r.extend_from_slice(&hs);
        r
    }

    /// A TLS 1.2 ClientHello (random `random`, session ID `sid`, suite
    /// 0xc030) and the ServerHello answering it with session ID `server_sid`.
    fn tls12_hellos(random: u8, sid: &[u8], server_sid: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut ch = vec![3, 3];
        ch.extend_from_slice(&[random; 32]);
        ch.push(sid.len() as u8);
        ch.extend_from_slice(sid);
        ch.extend_from_slice(&[0, 2, 0xc0, 0x30, 1, 0, 0, 0]);
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[0x55; 32]);
        sh.push(server_sid.len() as u8);
        sh.extend_from_slice(server_sid);
        sh.extend_from_slice(&[0xc0, 0x30, 0, 0, 0]);
        (hs_record(1, &ch), hs_record(2, &sh))
    }

    #[test]
    fn a_resumed_tls12_session_takes_the_master_secret_of_the_session_it_resumes() {
        // The control connection: a full handshake under a logged client
        // random; its session ID and a NewSessionTicket become resumable.
        let mut keys = KeyLog::default();
        let text = format!("CLIENT_RANDOM {} {}\n", "01".repeat(32), "ab".repeat(48));
        assert!(keys.add("k", &text).is_empty());
        let mut control = TlsConnection::default();
        let (ch, sh) = tls12_hellos(1, &[], &[7; 32]);
        control.feed(0, &ch, Some(&keys), &mut |_, _| {});
        let mut ticket = vec![0, 0, 0, 60, 0, 4];
        ticket.extend_from_slice(b"TKT1");
        let mut server = sh.clone();
        server.extend(hs_record(4, &ticket));
        control.feed(1, &server, Some(&keys), &mut |_, _| {});
        assert!(control.keyed() && !control.resumed);
        let resumable = control.resumable();
        assert_eq!(resumable.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [vec![7; 32], b"TKT1".to_vec()]);
        assert!(!format!("{resumable:?}").contains("171"), "no key bytes in Debug");
        // A data connection under another client random, not logged,
        // resuming by session ID: keyed from the control's master secret.
        let resume = |sid: &[u8], server_sid: &[u8]| {
            let mut data = TlsConnection::default();
            data.offer(resumable.clone());
            let (ch, sh) = tls12_hellos(2, sid, server_sid);
            data.feed(0, &ch, Some(&keys), &mut |_, _| {});
            data.feed(1, &sh, Some(&keys), &mut |_, _| {});
            (data.resumed, data.keyed())
        };
        assert_eq!(resume(&[7; 32], &[7; 32]), (true, true));
        // Not resumed (the server chose a new session ID): no key.
        assert_eq!(resume(&[7; 32], &[8; 32]), (false, false));
        // An unknown session: resumed, but nothing to resume it with.
        assert_eq!(resume(&[9; 32], &[9; 32]), (true, false));
    }

    #[test]
    fn the_handshake_ends_done_or_in_an_alert() {
        let (ch, sh) = tls12_hellos(3, &[], &[]);
        let mut tls = TlsConnection::default();
        assert_eq!(tls.handshake(), Handshake::NotSeen);
        tls.feed(0, &ch, None, &mut |_, _| {});
        assert_eq!(tls.handshake(), Handshake::Started);
        // The server refuses: handshake_failure, in cleartext.
        let mut refused = tls.clone_for_test();
        refused.feed(1, &[21, 3, 3, 0, 2, 2, 40], None, &mut |_, _| {});
        assert_eq!(refused.handshake(), Handshake::Alert { code: 40, by_client: false });
        assert!(refused.nothing_more_to_learn());
        // Both sides change cipher spec: done; a later alert is the session's.
        tls.feed(1, &sh, None, &mut |_, _| {});
        tls.feed(1, &[20, 3, 3, 0, 1, 1], None, &mut |_, _| {});
        assert_eq!(tls.handshake(), Handshake::Started);
        tls.feed(0, &[20, 3, 3, 0, 1, 1], None, &mut |_, _| {});
        assert_eq!(tls.handshake(), Handshake::Done);
        assert!(tls.nothing_more_to_learn(), "no key: nothing more to read");
    }

    impl TlsConnection {
        /// A copy of the handshake state so far (tests only).
        fn clone_for_test(&self) -> TlsConnection {
            TlsConnection {
                version: self.version,
                suite: self.suite,
                client_hello_seen: self.client_hello_seen,
                ..Default::default()
            }
        }
    }

    #[test]
    fn the_handshake_says_version_cipher_and_name() {
        // A ClientHello with SNI "ftp.example" and a TLS 1.3 ServerHello.
        let mut ch = vec![3, 3];
        ch.extend_from_slice(&[7; 32]);
        ch.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
        let name = b"ftp.example";
        let sni_len = name.len() as u16;
        let mut ext = vec![0, 0];
        ext.extend_from_slice(&(sni_len + 5).to_be_bytes());
        ext.extend_from_slice(&(sni_len + 3).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&sni_len.to_be_bytes());
        ext.extend_from_slice(name);
        ch.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        ch.extend_from_slice(&ext);
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[9; 32]);
        sh.extend_from_slice(&[0, 0x13, 0x01, 0, 0, 6, 0, 0x2b, 0, 2, 3, 4]);
        let record = |kind: u8, body: &[u8]| {
            let mut hs = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
            hs.extend_from_slice(body);
            let mut r = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
            r.extend_from_slice(&hs);
            r
        };
        let mut tls = TlsConnection::default();
        let client = record(1, &ch);
        // The ClientHello cut across two segments.
        tls.feed(0, &client[..20], None, &mut |_, _| {});
        tls.feed(0, &client[20..], None, &mut |_, _| {});
        tls.feed(1, &record(2, &sh), None, &mut |_, _| {});
        let s = tls.summary();
        assert_eq!(
            (s.version.as_str(), s.cipher.as_str(), s.sni.as_str()),
            ("TLS 1.3", "TLS_AES_128_GCM_SHA256", "ftp.example")
        );
        assert_eq!(s.result, "no key");
        // An alert (bad_certificate) says how it ended.
        tls.feed(0, &[21, 3, 3, 0, 2, 2, 42], None, &mut |_, _| {});
        assert_eq!(tls.summary().result, "alert: bad_certificate");
        // After CCC the channel is cleartext again: FTP lines, not records.
        let mut clear = Vec::new();
        tls.feed(0, b"PWD\r\n", None, &mut |p, decrypted| clear.push((p.to_vec(), decrypted)));
        tls.feed(0, b"NOOP\r\n", None, &mut |p, decrypted| clear.push((p.to_vec(), decrypted)));
        assert_eq!(clear, [(b"PWD\r\n".to_vec(), false), (b"NOOP\r\n".to_vec(), false)]);
    }
}
